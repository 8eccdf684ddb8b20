//! Distributed Map `ItemReader` and `ResultWriter` on the local S3 folder
//! ([`S3Folder`]), as AWS Step Functions reads items from and writes map run results to S3
//! (AWS Step Functions Developer Guide, "ItemReader (Map)" and "ResultWriter (Map)").
//!
//! The executor evaluates `Parameters`/`Arguments` (and `ReaderConfig.MaxItemsPath`, see
//! [`read_items`]) first, then calls [`read_items`] before the map run and
//! [`write_results`] after it.

use crate::engine::integrations::s3::{ListRequest, S3Folder};
use crate::engine::StatesError;
use serde_json::{json, Map, Value};

/// `ItemReader.Resource` reading one object.
pub const READ_OBJECT: &str = "arn:aws:states:::s3:getObject";
/// `ItemReader.Resource` listing objects.
pub const LIST_OBJECTS: &str = "arn:aws:states:::s3:listObjectsV2";
/// `ResultWriter.Resource` writing the map run results.
pub const WRITE_OBJECT: &str = "arn:aws:states:::s3:putObject";

/// Most items a map run reads (AWS Step Functions quota for `MaxItems`: 100,000,000).
pub const MAX_ITEMS_LIMIT: u64 = 100_000_000;

fn reader_failed(cause: impl Into<String>) -> StatesError {
    StatesError::new("States.ItemReaderFailed", cause)
}

fn writer_failed(cause: impl Into<String>) -> StatesError {
    StatesError::new("States.ResultWriterFailed", cause)
}

/// Reads the items of a Distributed Map from its evaluated `ItemReader` object:
/// `{"Resource", "Parameters" | "Arguments": {"Bucket", "Key" | "Prefix", …},
/// "ReaderConfig": {…}}`.
///
/// - `arn:aws:states:::s3:getObject` with `ReaderConfig.InputType`:
///   - `JSON`: the object is a JSON array (or, with `ReaderConfig.ItemsPointer`, the array
///     at that JSON Pointer); its elements are the items;
///   - `JSONL`: one JSON value per non-empty line;
///   - `CSV`: one object per row, `{header: value}` with string values (missing trailing
///     fields are `""`); headers from the first row (`CSVHeaderLocation: FIRST_ROW`, the
///     default) or `CSVHeaders` (`GIVEN`); `CSVDelimiter` `COMMA` (default), `PIPE`,
///     `SEMICOLON`, `SPACE` or `TAB`;
/// - `arn:aws:states:::s3:listObjectsV2` (`Bucket`, optional `Prefix`): one item per object,
///   `{"Etag", "Key", "LastModified" (epoch seconds), "Size", "StorageClass"}` as AWS passes
///   them, every page read.
///
/// `ReaderConfig.MaxItems` (or `MaxItemsPath` already replaced by its number) keeps the
/// first items only (0 means no limit, at most 100,000,000).
///
/// Errors: `States.ItemReaderFailed` for an unknown resource or input type (`MANIFEST` and
/// `PARQUET` are not read locally), a missing bucket or key (with the S3 cause), a JSON file
/// that is not an array ("Attempting to map over non-iterable node."), unparsable JSON,
/// JSONL or CSV, duplicate CSV headers ("CSV headers cannot contain duplicates."), or a bad
/// `MaxItems`.
pub fn read_items(reader: &Value, store: &S3Folder) -> Result<Vec<Value>, StatesError> {
    let resource = reader.get("Resource").and_then(Value::as_str).unwrap_or("");
    let params = reader
        .get("Parameters")
        .or_else(|| reader.get("Arguments"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    let config = reader
        .get("ReaderConfig")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let max = max_items(&config)?;
    let items = match resource {
        READ_OBJECT => read_object_items(&params, &config, store, max)?,
        LIST_OBJECTS => list_items(&params, store)?,
        other => {
            return Err(reader_failed(format!(
                "The ItemReader resource '{other}' is not supported"
            )))
        }
    };
    Ok(match max {
        Some(m) => items.into_iter().take(m).collect(),
        None => items,
    })
}

/// `MaxItems` (or a resolved `MaxItemsPath`): `None` for no limit.
fn max_items(config: &Value) -> Result<Option<usize>, StatesError> {
    let Some(v) = config
        .get("MaxItems")
        .or_else(|| config.get("MaxItemsPath"))
    else {
        return Ok(None);
    };
    match v.as_u64() {
        Some(0) => Ok(None),
        Some(n) if n <= MAX_ITEMS_LIMIT => Ok(Some(n as usize)),
        _ => Err(reader_failed(format!(
            "MaxItems must be an integer between 0 and {MAX_ITEMS_LIMIT}, found {v}"
        ))),
    }
}

fn str_param(params: &Value, name: &str) -> Result<String, StatesError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            reader_failed(format!(
                "The ItemReader parameter '{name}' is required and must be a string"
            ))
        })
}

fn read_object_items(
    params: &Value,
    config: &Value,
    store: &S3Folder,
    max: Option<usize>,
) -> Result<Vec<Value>, StatesError> {
    let (bucket, key) = (str_param(params, "Bucket")?, str_param(params, "Key")?);
    let (bytes, _) = store
        .get_object(&bucket, &key)
        .map_err(|e| reader_failed(e.cause.unwrap_or(e.error)))?;
    let text = String::from_utf8_lossy(&bytes);
    match config.get("InputType").and_then(Value::as_str) {
        Some("JSON") => json_items(&text, config),
        Some("JSONL") => jsonl_items(&text, max),
        Some("CSV") => csv_items(&text, config, max),
        Some(other) => Err(reader_failed(format!(
            "The ItemReader InputType '{other}' is not supported locally (JSON, JSONL, CSV are)"
        ))),
        None => Err(reader_failed(
            "The ItemReader ReaderConfig.InputType is required for s3:getObject",
        )),
    }
}

fn json_items(text: &str, config: &Value) -> Result<Vec<Value>, StatesError> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| reader_failed(format!("The ItemReader object is not valid JSON: {e}")))?;
    let node = match config.get("ItemsPointer").and_then(Value::as_str) {
        Some(ptr) => doc
            .pointer(ptr)
            .cloned()
            .ok_or_else(|| reader_failed(format!("ItemsPointer '{ptr}' selects nothing")))?,
        None => doc,
    };
    match node {
        Value::Array(items) => Ok(items),
        _ => Err(reader_failed("Attempting to map over non-iterable node.")),
    }
}

fn jsonl_items(text: &str, max: Option<usize>) -> Result<Vec<Value>, StatesError> {
    let lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    lines
        .take(max.unwrap_or(usize::MAX))
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                reader_failed(format!(
                    "Line {} of the JSONL object is not valid JSON: {e}",
                    i + 1
                ))
            })
        })
        .collect()
}

/// The byte of a `CSVDelimiter` name.
fn delimiter(config: &Value) -> Result<u8, StatesError> {
    match config
        .get("CSVDelimiter")
        .and_then(Value::as_str)
        .unwrap_or("COMMA")
    {
        "COMMA" => Ok(b','),
        "PIPE" => Ok(b'|'),
        "SEMICOLON" => Ok(b';'),
        "SPACE" => Ok(b' '),
        "TAB" => Ok(b'\t'),
        other => Err(reader_failed(format!(
            "CSVDelimiter must be COMMA, PIPE, SEMICOLON, SPACE or TAB, found '{other}'"
        ))),
    }
}

fn csv_items(text: &str, config: &Value, max: Option<usize>) -> Result<Vec<Value>, StatesError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(config)?)
        .from_reader(text.as_bytes());
    let mut rows = reader.records();
    let bad_row = |e: csv::Error| reader_failed(format!("The CSV object cannot be read: {e}"));
    let headers: Vec<String> = match config
        .get("CSVHeaderLocation")
        .and_then(Value::as_str)
        .unwrap_or("FIRST_ROW")
    {
        "FIRST_ROW" => match rows.next() {
            Some(r) => r.map_err(bad_row)?.iter().map(str::to_string).collect(),
            None => return Ok(vec![]),
        },
        "GIVEN" => given_headers(config)?,
        other => {
            return Err(reader_failed(format!(
                "CSVHeaderLocation must be FIRST_ROW or GIVEN, found '{other}'"
            )))
        }
    };
    let unique: std::collections::HashSet<&String> = headers.iter().collect();
    if unique.len() < headers.len() {
        return Err(reader_failed("CSV headers cannot contain duplicates."));
    }
    rows.take(max.unwrap_or(usize::MAX))
        .map(|r| {
            let r = r.map_err(bad_row)?;
            let mut item = Map::new();
            for (i, h) in headers.iter().enumerate() {
                item.insert(h.clone(), json!(r.get(i).unwrap_or("")));
            }
            Ok(Value::Object(item))
        })
        .collect()
}

fn given_headers(config: &Value) -> Result<Vec<String>, StatesError> {
    let list = config.get("CSVHeaders").and_then(Value::as_array);
    let headers: Option<Vec<String>> =
        list.and_then(|l| l.iter().map(|h| h.as_str().map(str::to_string)).collect());
    headers.ok_or_else(|| {
        reader_failed("CSVHeaderLocation GIVEN needs CSVHeaders, an array of strings")
    })
}

fn list_items(params: &Value, store: &S3Folder) -> Result<Vec<Value>, StatesError> {
    let bucket = str_param(params, "Bucket")?;
    let prefix = params
        .get("Prefix")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut req = ListRequest {
        prefix,
        ..Default::default()
    };
    let mut items = vec![];
    loop {
        let page = store
            .list_objects(&bucket, &req)
            .map_err(|e| reader_failed(e.cause.unwrap_or(e.error)))?;
        items.extend(page.contents.iter().map(|o| {
            json!({"Etag": o.etag, "Key": o.key, "LastModified": o.last_modified, "Size": o.size, "StorageClass": "STANDARD"})
        }));
        match page.next_token {
            Some(t) if page.is_truncated => req.start_after = Some(t),
            _ => return Ok(items),
        }
    }
}

/// How one child workflow execution (one item) of a map run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum IterationStatus {
    /// Ended with this output.
    Succeeded(Value),
    /// Failed (or timed out / was aborted) with this error.
    Failed(StatesError),
    /// Never ran because the map run stopped first (e.g. tolerated failures exceeded).
    Pending,
}

/// One child workflow execution of a map run, as [`write_results`] records it.
#[derive(Debug, Clone, PartialEq)]
pub struct IterationOutcome {
    /// Child execution name (AWS uses a UUID-like name per item).
    pub name: String,
    /// Child execution ARN; `None` to derive it from the map run ARN
    /// (`…:execution:<state machine>/<map label>:<name>`).
    pub execution_arn: Option<String>,
    /// The item's input (after `ItemSelector`).
    pub input: Value,
    /// How it ended.
    pub status: IterationStatus,
    /// Start, epoch milliseconds (`None` for pending items).
    pub start_ms: Option<u64>,
    /// Stop, epoch milliseconds (`None` for pending items).
    pub stop_ms: Option<u64>,
}

/// Writes a map run's results as AWS does from the evaluated `ResultWriter`
/// `{"Resource": "arn:aws:states:::s3:putObject", "Parameters" | "Arguments": {"Bucket",
/// "Prefix"}, "WriterConfig"?: {"Transformation", "OutputType"}}`.
///
/// Under `<Prefix>/<map run id>/` (the id is the last `:` part of `map_run_arn`,
/// `arn:aws:states:<region>:<account>:mapRun:<state machine>/<map label>:<id>`) it writes
/// `SUCCEEDED_0.json`, `FAILED_0.json`, `PENDING_0.json` (only those with entries) and
/// `manifest.json` = `{"DestinationBucket", "MapRunArn", "ResultFiles": {"FAILED": [{"Key",
/// "Size"}], "PENDING": […], "SUCCEEDED": […]}}`.
/// Each entry (`Transformation: NONE`, the default with S3) is the child execution's
/// description: `{ExecutionArn, Input (JSON text), InputDetails, Name, Output (JSON text),
/// OutputDetails, RedriveCount, RedriveStatus, RedriveStatusReason, StartDate,
/// StateMachineArn, Status, StopDate}` with `Error`/`Cause` instead of `Output` for failures.
/// `COMPACT` writes only the outputs of succeeded items and `FLATTEN` also flattens array
/// outputs (failed entries stay whole, as AWS keeps them); `OutputType: JSONL` writes one
/// entry per line instead of a JSON array.
///
/// Returns the Map state's output `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}`,
/// `Key` being the manifest's.
///
/// Errors: `States.ResultWriterFailed` for an unknown resource, a missing `Bucket`, an
/// unknown transformation or output type, or an S3 write failure (with the S3 cause).
pub fn write_results(
    writer: &Value,
    map_run_arn: &str,
    results: &[IterationOutcome],
    store: &S3Folder,
) -> Result<Value, StatesError> {
    let resource = writer.get("Resource").and_then(Value::as_str).unwrap_or("");
    if resource != WRITE_OBJECT {
        return Err(writer_failed(format!(
            "The ResultWriter resource '{resource}' is not supported"
        )));
    }
    let params = writer
        .get("Parameters")
        .or_else(|| writer.get("Arguments"))
        .unwrap_or(&Value::Null);
    let bucket = params
        .get("Bucket")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            writer_failed("The ResultWriter parameter 'Bucket' is required and must be a string")
        })?;
    let prefix = params.get("Prefix").and_then(Value::as_str).unwrap_or("");
    let format = WriterFormat::from_config(writer.get("WriterConfig"))?;
    let run_id = map_run_arn.rsplit(':').next().unwrap_or(map_run_arn);
    let dir = match prefix.trim_end_matches('/') {
        "" => run_id.to_string(),
        p => format!("{p}/{run_id}"),
    };
    let arns = RunArns::new(map_run_arn);
    let mut files = Map::new();
    for status in ["FAILED", "PENDING", "SUCCEEDED"] {
        let entries = entries_for(status, results, &arns, &format);
        let mut listed = vec![];
        if !entries.is_empty() {
            let key = format!("{dir}/{status}_0.json");
            let body = format.render(&entries);
            put(store, bucket, &key, body.as_bytes())?;
            listed.push(json!({"Key": key, "Size": body.len()}));
        }
        files.insert(status.into(), Value::Array(listed));
    }
    let manifest =
        json!({"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files});
    let manifest_key = format!("{dir}/manifest.json");
    put(
        store,
        bucket,
        &manifest_key,
        manifest.to_string().as_bytes(),
    )?;
    Ok(
        json!({"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}),
    )
}

fn put(store: &S3Folder, bucket: &str, key: &str, body: &[u8]) -> Result<(), StatesError> {
    store
        .put_object(bucket, key, body)
        .map(|_| ())
        .map_err(|e| writer_failed(e.cause.unwrap_or(e.error)))
}

/// `WriterConfig`: transformation of succeeded entries and file layout.
struct WriterFormat {
    transformation: String,
    jsonl: bool,
}

impl WriterFormat {
    fn from_config(config: Option<&Value>) -> Result<Self, StatesError> {
        let get = |k: &str, d: &str| {
            config
                .and_then(|c| c.get(k))
                .and_then(Value::as_str)
                .unwrap_or(d)
                .to_string()
        };
        let transformation = get("Transformation", "NONE");
        let output_type = get("OutputType", "JSON");
        if !["NONE", "COMPACT", "FLATTEN"].contains(&transformation.as_str()) {
            return Err(writer_failed(format!(
                "Unknown WriterConfig Transformation '{transformation}'"
            )));
        }
        if !["JSON", "JSONL"].contains(&output_type.as_str()) {
            return Err(writer_failed(format!(
                "Unknown WriterConfig OutputType '{output_type}'"
            )));
        }
        Ok(WriterFormat {
            transformation,
            jsonl: output_type == "JSONL",
        })
    }

    fn render(&self, entries: &[Entry<'_>]) -> String {
        if self.jsonl {
            let mut out = String::new();
            for e in entries {
                out.push_str(&serde_json::to_string(e).unwrap_or_default());
                out.push('\n');
            }
            out
        } else {
            serde_json::to_string(entries).unwrap_or_default()
        }
    }
}

/// One entry of a result file: an iteration's output (`COMPACT`, `FLATTEN`) or its child
/// execution's description.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Entry<'a> {
    Output(&'a Value),
    Execution(Box<ExecutionEntry<'a>>),
}

/// The child execution's description as written in result files, keys in AWS's order.
/// Serialized as it is built: a 2,000-item map run writes 1.4 MB of these.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct ExecutionEntry<'a> {
    execution_arn: String,
    /// The input's JSON text.
    input: String,
    input_details: Included,
    name: &'a str,
    /// The output's JSON text (succeeded only).
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_details: Option<Included>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'a str>,
    redrive_count: u32,
    redrive_status: &'static str,
    redrive_status_reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_date: Option<String>,
    state_machine_arn: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_date: Option<String>,
}

/// `{"Included": true}`.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Included {
    included: bool,
}

fn entries_for<'a>(
    status: &str,
    results: &'a [IterationOutcome],
    arns: &'a RunArns,
    f: &WriterFormat,
) -> Vec<Entry<'a>> {
    let mut out = vec![];
    let mut dates = DateText::default();
    for r in results.iter().filter(|r| status_name(&r.status) == status) {
        match (&r.status, f.transformation.as_str()) {
            (IterationStatus::Succeeded(v), "COMPACT") => out.push(Entry::Output(v)),
            (IterationStatus::Succeeded(Value::Array(a)), "FLATTEN") => {
                out.extend(a.iter().map(Entry::Output))
            }
            (IterationStatus::Succeeded(v), "FLATTEN") => out.push(Entry::Output(v)),
            _ => out.push(Entry::Execution(Box::new(execution_entry(
                r, arns, &mut dates,
            )))),
        }
    }
    out
}

fn status_name(s: &IterationStatus) -> &'static str {
    match s {
        IterationStatus::Succeeded(_) => "SUCCEEDED",
        IterationStatus::Failed(_) => "FAILED",
        IterationStatus::Pending => "PENDING",
    }
}

/// The ARNs a map run's child executions derive theirs from.
struct RunArns {
    /// `arn:aws:states:…:stateMachine:<state machine>/<map label>`.
    state_machine: String,
    /// `arn:aws:states:…:execution:<state machine>/<map label>:` (the name follows).
    execution_prefix: String,
}

impl RunArns {
    fn new(map_run_arn: &str) -> RunArns {
        let state_machine = map_run_arn
            .rsplit_once(':')
            .map(|(head, _)| head.replacen(":mapRun:", ":stateMachine:", 1))
            .unwrap_or_default();
        let execution_prefix = format!(
            "{}:",
            state_machine.replacen(":stateMachine:", ":execution:", 1)
        );
        RunArns {
            state_machine,
            execution_prefix,
        }
    }
}

/// [`iso_ms`], remembering the last time formatted (iterations often share it).
#[derive(Default)]
struct DateText {
    last: Option<(u64, String)>,
}

impl DateText {
    fn text(&mut self, ms: u64) -> String {
        match &self.last {
            Some((m, t)) if *m == ms => t.clone(),
            _ => {
                let t = iso_ms(ms);
                self.last = Some((ms, t.clone()));
                t
            }
        }
    }
}

/// The child execution's description as written in result files.
fn execution_entry<'a>(
    r: &'a IterationOutcome,
    arns: &'a RunArns,
    dates: &mut DateText,
) -> ExecutionEntry<'a> {
    let status = status_name(&r.status);
    let (output, error, cause) = match &r.status {
        IterationStatus::Succeeded(out) => (Some(out.to_string()), None, None),
        IterationStatus::Failed(err) => (None, Some(err.error.as_str()), err.cause.as_deref()),
        IterationStatus::Pending => (None, None, None),
    };
    ExecutionEntry {
        execution_arn: r
            .execution_arn
            .clone()
            .unwrap_or_else(|| format!("{}{}", arns.execution_prefix, r.name)),
        input: r.input.to_string(),
        input_details: Included { included: true },
        name: &r.name,
        output_details: output.as_ref().map(|_| Included { included: true }),
        output,
        error,
        cause,
        redrive_count: 0,
        redrive_status: "NOT_REDRIVABLE",
        redrive_status_reason: format!("Execution is {status} and cannot be redriven"),
        start_date: r.start_ms.map(|ms| dates.text(ms)),
        state_machine_arn: &arns.state_machine,
        status,
        stop_date: r.stop_ms.map(|ms| dates.text(ms)),
    }
}

/// Epoch milliseconds as `2024-01-02T03:04:05.678Z`.
fn iso_ms(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(files: &[(&str, &str)]) -> (tempfile::TempDir, S3Folder) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        let s = S3Folder::new(dir.path());
        for (k, body) in files {
            s.put_object("b", k, body.as_bytes()).unwrap();
        }
        (dir, s)
    }

    fn get(key: &str, config: Value) -> Value {
        json!({"Resource": READ_OBJECT, "Parameters": {"Bucket": "b", "Key": key}, "ReaderConfig": config})
    }

    #[test]
    fn json_array_and_max_items() {
        let (_d, s) = store_with(&[("a.json", "[1, {\"x\": 2}, 3]")]);
        assert_eq!(
            read_items(&get("a.json", json!({"InputType": "JSON"})), &s).unwrap(),
            vec![json!(1), json!({"x": 2}), json!(3)]
        );
        let two = read_items(
            &get("a.json", json!({"InputType": "JSON", "MaxItems": 2})),
            &s,
        )
        .unwrap();
        assert_eq!(two.len(), 2);
    }

    #[test]
    fn json_non_array_fails_as_aws() {
        let (_d, s) = store_with(&[("o.json", "{\"a\": 1}")]);
        let e = read_items(&get("o.json", json!({"InputType": "JSON"})), &s).unwrap_err();
        assert_eq!(
            e,
            reader_failed("Attempting to map over non-iterable node.")
        );
    }

    #[test]
    fn items_pointer() {
        let (_d, s) = store_with(&[("o.json", "{\"data\": {\"rows\": [\"a\"]}}")]);
        let items = read_items(
            &get(
                "o.json",
                json!({"InputType": "JSON", "ItemsPointer": "/data/rows"}),
            ),
            &s,
        )
        .unwrap();
        assert_eq!(items, vec![json!("a")]);
    }

    #[test]
    fn jsonl_lines() {
        let (_d, s) = store_with(&[("l.jsonl", "{\"a\":1}\n\n[2]\n3\n")]);
        let items = read_items(&get("l.jsonl", json!({"InputType": "JSONL"})), &s).unwrap();
        assert_eq!(items, vec![json!({"a": 1}), json!([2]), json!(3)]);
        let (_d, s) = store_with(&[("bad.jsonl", "{\"a\":1}\n{oops\n")]);
        let e = read_items(&get("bad.jsonl", json!({"InputType": "JSONL"})), &s).unwrap_err();
        assert!(e.cause.unwrap().starts_with("Line 2 "));
    }

    #[test]
    fn csv_first_row_and_given() {
        let (_d, s) = store_with(&[
            ("c.csv", "id,name\n1,\"a, b\"\n2\n"),
            ("p.csv", "1|x\n2|y\n"),
        ]);
        let items = read_items(
            &get(
                "c.csv",
                json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}),
            ),
            &s,
        )
        .unwrap();
        assert_eq!(
            items,
            vec![
                json!({"id": "1", "name": "a, b"}),
                json!({"id": "2", "name": ""})
            ]
        );
        let cfg = json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["n", "v"], "CSVDelimiter": "PIPE", "MaxItems": 1});
        assert_eq!(
            read_items(&get("p.csv", cfg), &s).unwrap(),
            vec![json!({"n": "1", "v": "x"})]
        );
    }

    #[test]
    fn csv_duplicate_headers() {
        let (_d, s) = store_with(&[("d.csv", "a,a\n1,2\n")]);
        let e = read_items(&get("d.csv", json!({"InputType": "CSV"})), &s).unwrap_err();
        assert_eq!(
            e.cause.as_deref(),
            Some("CSV headers cannot contain duplicates.")
        );
    }

    #[test]
    fn missing_object_and_unsupported() {
        let (_d, s) = store_with(&[]);
        let e = read_items(&get("nope", json!({"InputType": "JSON"})), &s).unwrap_err();
        assert_eq!(e.error, "States.ItemReaderFailed");
        assert!(e
            .cause
            .unwrap()
            .starts_with("The specified key does not exist."));
        let e = read_items(&get("nope", json!({"InputType": "MANIFEST"})), &s).unwrap_err();
        assert_eq!(e.error, "States.ItemReaderFailed");
        let e = read_items(&json!({"Resource": "arn:aws:states:::s3:foo"}), &s).unwrap_err();
        assert_eq!(e.error, "States.ItemReaderFailed");
    }

    #[test]
    fn list_objects_items() {
        let (_d, s) = store_with(&[("in/a", "1"), ("in/b", "22"), ("out/c", "")]);
        let reader =
            json!({"Resource": LIST_OBJECTS, "Parameters": {"Bucket": "b", "Prefix": "in/"}});
        let items = read_items(&reader, &s).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1]["Key"], "in/b");
        assert_eq!(items[1]["Size"], 2);
        assert!(items[1]["LastModified"].is_u64());
        assert!(items[1]["Etag"].as_str().unwrap().starts_with('"'));
    }

    const RUN: &str = "arn:aws:states:us-east-1:123456789012:mapRun:sm/Map:0f1e2d3c";

    fn outcomes() -> Vec<IterationOutcome> {
        let base = IterationOutcome {
            name: "n0".into(),
            execution_arn: None,
            input: json!({"i": 0}),
            status: IterationStatus::Succeeded(json!([1, 2])),
            start_ms: Some(1_700_000_000_000),
            stop_ms: Some(1_700_000_000_500),
        };
        let failed = IterationOutcome {
            name: "n1".into(),
            status: IterationStatus::Failed(StatesError::new("States.TaskFailed", "boom")),
            ..base.clone()
        };
        vec![base, failed]
    }

    fn read_json(s: &S3Folder, key: &str) -> Value {
        serde_json::from_slice(&s.get_object("b", key).unwrap().0).unwrap()
    }

    #[test]
    fn result_writer_files() {
        let (_d, s) = store_with(&[]);
        let writer =
            json!({"Resource": WRITE_OBJECT, "Parameters": {"Bucket": "b", "Prefix": "out/"}});
        let out = write_results(&writer, RUN, &outcomes(), &s).unwrap();
        assert_eq!(
            out["ResultWriterDetails"],
            json!({"Bucket": "b", "Key": "out/0f1e2d3c/manifest.json"})
        );
        let manifest = read_json(&s, "out/0f1e2d3c/manifest.json");
        assert_eq!(manifest["MapRunArn"], RUN);
        assert_eq!(manifest["ResultFiles"]["PENDING"], json!([]));
        assert_eq!(
            manifest["ResultFiles"]["SUCCEEDED"][0]["Key"],
            "out/0f1e2d3c/SUCCEEDED_0.json"
        );
        let ok = read_json(&s, "out/0f1e2d3c/SUCCEEDED_0.json");
        assert_eq!(ok[0]["Output"], "[1,2]");
        assert_eq!(ok[0]["Input"], "{\"i\":0}");
        assert_eq!(ok[0]["Status"], "SUCCEEDED");
        assert_eq!(
            ok[0]["ExecutionArn"],
            "arn:aws:states:us-east-1:123456789012:execution:sm/Map:n0"
        );
        assert_eq!(ok[0]["StartDate"], "2023-11-14T22:13:20.000Z");
        let failed = read_json(&s, "out/0f1e2d3c/FAILED_0.json");
        assert_eq!(failed[0]["Error"], "States.TaskFailed");
        assert_eq!(failed[0]["Cause"], "boom");
        assert!(failed[0].get("Output").is_none());
    }

    #[test]
    fn result_writer_flatten_jsonl() {
        let (_d, s) = store_with(&[]);
        let writer = json!({"Resource": WRITE_OBJECT, "Parameters": {"Bucket": "b"},
                            "WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSONL"}});
        write_results(&writer, RUN, &outcomes(), &s).unwrap();
        let text =
            String::from_utf8(s.get_object("b", "0f1e2d3c/SUCCEEDED_0.json").unwrap().0).unwrap();
        assert_eq!(text, "1\n2\n");
    }

    #[test]
    fn result_writer_failures() {
        let (_d, s) = store_with(&[]);
        let no_bucket = json!({"Resource": WRITE_OBJECT, "Parameters": {"Bucket": "missing"}});
        let e = write_results(&no_bucket, RUN, &outcomes(), &s).unwrap_err();
        assert_eq!(e.error, "States.ResultWriterFailed");
        assert!(e
            .cause
            .unwrap()
            .starts_with("The specified bucket does not exist"));
        let e = write_results(&json!({"Resource": "x"}), RUN, &[], &s).unwrap_err();
        assert_eq!(e.error, "States.ResultWriterFailed");
    }
}
