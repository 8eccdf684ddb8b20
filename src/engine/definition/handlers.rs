//! `Retry` and `Catch`: retriers and catchers, checked as `CreateStateMachine` checks them
//! (it fails with `SCHEMA_VALIDATION_FAILED`), each problem with the JSON path of its field,
//! e.g. `$.States.T.Retry[0].MaxAttempts: must be an integer from 0 to 99999999, got -1`.
//!
//! Limits from the AWS Step Functions developer guide, "Handling errors in Step Functions
//! workflows" (retrier and catcher fields), and the Amazon States Language specification
//! ("Retrying after error", "Fallback states").

use super::{check_path, err, opt_string, path_field, unsupported};
use super::{Catcher, DefinitionError, QueryLanguage, Retrier};
use serde_json::{Map, Value};

/// Fields a retrier may have ("Handling errors", retrier fields; `Comment` as in states).
const RETRIER_FIELDS: [&str; 7] = [
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
];

/// Fields a catcher may have. `ResultPath` belongs to JSONPath states and `Output` to JSONata
/// states, as for the state's own fields.
const CATCHER_FIELDS: [&str; 6] = [
    "ErrorEquals",
    "Next",
    "ResultPath",
    "Output",
    "Assign",
    "Comment",
];

/// Largest `IntervalSeconds` and `MaxAttempts` ("Handling errors": "has a maximum value of
/// 99999999").
const MAX_RETRY_VALUE: u64 = 99_999_999;

/// Largest `MaxDelaySeconds` ("Handling errors": the value "must be greater than 0 and less
/// than 31622401").
const MAX_DELAY_SECONDS: u64 = 31_622_400;

/// Where a retrier or catcher sits: its JSON path and whether it is the last of its array
/// (the only place `States.ALL` may appear).
struct Entry<'a> {
    path: &'a str,
    last: bool,
    /// `retrier` or `catcher`, for messages.
    what: &'a str,
}

/// The array value of `key` (absent: `None`; not an array: an error and `None`).
fn handler_array<'v>(
    obj: &'v Map<String, Value>,
    key: &str,
    what: &str,
    path: &str,
    errs: &mut Vec<DefinitionError>,
) -> Option<&'v Vec<Value>> {
    match obj.get(key)? {
        Value::Array(a) => Some(a),
        _ => {
            errs.push(err(
                &format!("{path}.{key}"),
                &format!("must be an array of {what}s"),
            ));
            None
        }
    }
}

/// Parses `Retry` of the state at `path`: every retrier, with its defaults (`IntervalSeconds`
/// 1, `MaxAttempts` 3, `BackoffRate` 2.0, no `MaxDelaySeconds`, `JitterStrategy` `NONE`).
/// Problems go to `errs`; a malformed retrier is still returned with defaults in place of
/// its bad fields (the definition is rejected anyway).
pub(super) fn parse_retry(
    obj: &Map<String, Value>,
    path: &str,
    errs: &mut Vec<DefinitionError>,
) -> Vec<Retrier> {
    each_handler(obj, "Retry", "retrier", path, errs, |o, entry, errs| {
        Some(parse_retrier(o, entry, errs))
    })
}

fn parse_retrier(o: &Map<String, Value>, at: &Entry, errs: &mut Vec<DefinitionError>) -> Retrier {
    for k in o.keys().filter(|k| !RETRIER_FIELDS.contains(&k.as_str())) {
        errs.push(unsupported(k, &RETRIER_FIELDS, "in a retrier", at.path));
    }
    let int = |key: &str, min: u64, max: u64, default: u64, errs: &mut Vec<DefinitionError>| {
        integer_field(o, key, (min, max), at.path, errs).unwrap_or(default)
    };
    let interval = int("IntervalSeconds", 1, MAX_RETRY_VALUE, 1, errs);
    let attempts = int("MaxAttempts", 0, MAX_RETRY_VALUE, 3, errs);
    let max_delay = o
        .contains_key("MaxDelaySeconds")
        .then(|| integer_field(o, "MaxDelaySeconds", (1, MAX_DELAY_SECONDS), at.path, errs))
        .flatten();
    Retrier {
        error_equals: error_equals(o, at, errs),
        interval_seconds: interval as f64,
        max_attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        backoff_rate: backoff_rate(o, at.path, errs),
        max_delay_seconds: max_delay.map(|d| d as f64),
        jitter_full: jitter_full(o, at.path, errs),
    }
}

/// An integer field in `min..=max` (a whole number written as `3.0` counts). Absent: `None`;
/// anything else: an error and `None`.
fn integer_field(
    o: &Map<String, Value>,
    key: &str,
    (min, max): (u64, u64),
    path: &str,
    errs: &mut Vec<DefinitionError>,
) -> Option<u64> {
    let v = o.get(key)?;
    let n = v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
            .map(|f| f as u64)
    });
    match n {
        Some(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            errs.push(err(
                &format!("{path}.{key}"),
                &format!("must be an integer from {min} to {max}, got {v}"),
            ));
            None
        }
    }
}

/// `BackoffRate`: a number, at least 1.0 (ASL: "MUST be greater than or equal to 1.0");
/// default 2.0.
fn backoff_rate(o: &Map<String, Value>, path: &str, errs: &mut Vec<DefinitionError>) -> f64 {
    match o.get("BackoffRate") {
        None => 2.0,
        Some(v) => match v.as_f64() {
            Some(r) if r >= 1.0 => r,
            _ => {
                errs.push(err(
                    &format!("{path}.BackoffRate"),
                    &format!("must be a number of at least 1.0, got {v}"),
                ));
                2.0
            }
        },
    }
}

/// `JitterStrategy`: `"FULL"` or `"NONE"` (the default), case-sensitive.
fn jitter_full(o: &Map<String, Value>, path: &str, errs: &mut Vec<DefinitionError>) -> bool {
    match o.get("JitterStrategy") {
        None => false,
        Some(Value::String(s)) if s == "FULL" => true,
        Some(Value::String(s)) if s == "NONE" => false,
        Some(v) => {
            errs.push(err(
                &format!("{path}.JitterStrategy"),
                &format!("must be \"FULL\" or \"NONE\", got {v}"),
            ));
            false
        }
    }
}

/// `ErrorEquals`: a non-empty array of error names; `States.ALL` must be alone and in the
/// last retrier or catcher (AWS: "States.ALL must appear alone and at end of list").
fn error_equals(
    o: &Map<String, Value>,
    at: &Entry,
    errs: &mut Vec<DefinitionError>,
) -> Vec<String> {
    let epath = format!("{}.ErrorEquals", at.path);
    let Some(arr) = o.get("ErrorEquals").and_then(Value::as_array) else {
        errs.push(err(&epath, "required non-empty array of strings"));
        return vec![];
    };
    if arr.is_empty() {
        errs.push(err(&epath, "required non-empty array of strings"));
    }
    let mut list = Vec::new();
    for (i, e) in arr.iter().enumerate() {
        match e {
            Value::String(s) => list.push(s.clone()),
            _ => errs.push(err(&format!("{epath}[{i}]"), "must be a string")),
        }
    }
    if list.iter().any(|e| e == "States.ALL") {
        if arr.len() > 1 {
            errs.push(err(&epath, "States.ALL must appear alone in ErrorEquals"));
        }
        if !at.last {
            errs.push(err(
                &epath,
                &format!("States.ALL may only appear in the last {}", at.what),
            ));
        }
    }
    list
}

/// Parses `Catch` of the state at `path` in query language `ql`. A catcher without a string
/// `Next` is reported and left out.
pub(super) fn parse_catch(
    obj: &Map<String, Value>,
    path: &str,
    ql: QueryLanguage,
    errs: &mut Vec<DefinitionError>,
) -> Vec<Catcher> {
    each_handler(obj, "Catch", "catcher", path, errs, |o, entry, errs| {
        parse_catcher(o, entry, ql, errs)
    })
}

/// Parses each entry of the array `key` (`Retry` or `Catch`) of the state at `path` with
/// `parse`, which gets the entry's object and where it sits; an entry that is not an object
/// is reported and skipped.
fn each_handler<T>(
    obj: &Map<String, Value>,
    key: &str,
    what: &str,
    path: &str,
    errs: &mut Vec<DefinitionError>,
    mut parse: impl FnMut(&Map<String, Value>, &Entry, &mut Vec<DefinitionError>) -> Option<T>,
) -> Vec<T> {
    let Some(arr) = handler_array(obj, key, what, path, errs) else {
        return vec![];
    };
    let mut out = Vec::new();
    for (i, h) in arr.iter().enumerate() {
        let hpath = format!("{path}.{key}[{i}]");
        let Some(o) = h.as_object() else {
            errs.push(err(&hpath, &format!("a {what} must be an object")));
            continue;
        };
        let entry = Entry {
            path: &hpath,
            last: i + 1 == arr.len(),
            what,
        };
        out.extend(parse(o, &entry, errs));
    }
    out
}

fn parse_catcher(
    o: &Map<String, Value>,
    at: &Entry,
    ql: QueryLanguage,
    errs: &mut Vec<DefinitionError>,
) -> Option<Catcher> {
    check_catcher_fields(o, at.path, ql, errs);
    let error_equals = error_equals(o, at, errs);
    let result_path = path_field(o, "ResultPath", at.path, errs);
    if let (QueryLanguage::JsonPath, Some(Value::String(p))) = (ql, o.get("ResultPath")) {
        check_path(p, &format!("{}.ResultPath", at.path), errs);
    }
    let Some(next) = opt_string(o, "Next", at.path, errs) else {
        if !o.contains_key("Next") {
            errs.push(err(
                &format!("{}.Next", at.path),
                "required string field is missing",
            ));
        }
        return None;
    };
    Some(Catcher {
        error_equals,
        next,
        result_path,
        output: o.get("Output").cloned(),
        assign: o.get("Assign").cloned(),
    })
}

/// Unknown catcher fields, and `ResultPath` in JSONata / `Output` in JSONPath states (the
/// same rule as for a state's own fields).
fn check_catcher_fields(
    o: &Map<String, Value>,
    path: &str,
    ql: QueryLanguage,
    errs: &mut Vec<DefinitionError>,
) {
    for k in o.keys() {
        let at = format!("{path}.{k}");
        match (k.as_str(), ql) {
            (k, _) if !CATCHER_FIELDS.contains(&k) => {
                errs.push(unsupported(k, &CATCHER_FIELDS, "in a catcher", path));
            }
            ("ResultPath", QueryLanguage::Jsonata) => errs.push(err(
                &at,
                "field \"ResultPath\" is not supported in JSONata states",
            )),
            ("Output", QueryLanguage::JsonPath) => errs.push(err(
                &at,
                "field \"Output\" is only supported in JSONata states",
            )),
            _ => {}
        }
    }
}
