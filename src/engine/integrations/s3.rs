//! Amazon S3 on a local folder (`--s3-root DIR`): bucket = subfolder of the root, key =
//! relative path below it.
//!
//! Task resources served (AWS SDK integrations, parameters and results named as in the S3
//! API, PascalCase as Step Functions writes them):
//! - `arn:aws:states:::aws-sdk:s3:getObject` (`Bucket`, `Key`) → `{Body, ContentLength,
//!   ContentType, ETag, LastModified, …}`, `Body` as a string (non-UTF-8 bytes replaced);
//! - `arn:aws:states:::aws-sdk:s3:putObject` (`Bucket`, `Key`, `Body`: a string, any other
//!   JSON value is written as its JSON text) → `{ETag, ServerSideEncryption}`;
//! - `arn:aws:states:::aws-sdk:s3:headObject` → `getObject`'s result without `Body`;
//! - `arn:aws:states:::aws-sdk:s3:copyObject` (`Bucket`, `Key`, `CopySource`:
//!   `bucket/key`, URL-encoded) → `{CopyObjectResult: {ETag, LastModified}, …}`;
//! - `arn:aws:states:::aws-sdk:s3:deleteObject` → `{}` (deleting a missing key succeeds, as
//!   in S3);
//! - `arn:aws:states:::aws-sdk:s3:listObjectsV2` (`Prefix`, `Delimiter`, `MaxKeys` (default
//!   1000), `StartAfter`, `ContinuationToken`) → `{Contents: [{Key, Size, ETag,
//!   LastModified, StorageClass}], KeyCount, IsTruncated, MaxKeys, Name, Prefix, …}`.
//!
//! Errors follow Step Functions' rule for AWS SDK integrations: `ServiceName.ErrorName` with
//! the `Exception` suffix always added (AWS Step Functions Developer Guide, "AWS SDK service
//! integrations"): `S3.NoSuchKeyException`, `S3.NoSuchBucketException`; causes worded as the
//! SDK does, e.g. `The specified key does not exist. (Service: S3, Status Code: 404, Request
//! ID: …, Extended Request ID: …)`.
//!
//! Writes are atomic (a temporary file in the target folder, then a rename). Keys that cannot
//! be a relative path (empty, absolute, with `.`/`..` segments or an empty segment, ending
//! in `/`) are refused locally with `S3.S3Exception`.

use super::{Integration, TaskFuture, TaskRequest};
use crate::engine::StatesError;
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Prefix of every S3 AWS SDK resource.
pub const SDK_PREFIX: &str = "arn:aws:states:::aws-sdk:s3:";

/// Marker in the names of temporary files (never listed).
const TMP_MARK: &str = ".flowc-tmp-";

/// Metadata of one stored object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Quoted hex MD5 of the content, as S3 gives for single-part uploads.
    pub etag: String,
    /// Last modification, seconds since the Unix epoch.
    pub last_modified: i64,
}

impl ObjectInfo {
    /// `LastModified` as the SDK integrations print it (RFC 3339, UTC, seconds).
    pub fn last_modified_text(&self) -> String {
        chrono::DateTime::from_timestamp(self.last_modified, 0)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    }
}

/// One `ListObjectsV2` page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListPage {
    /// Objects of the page, in key order.
    pub contents: Vec<ObjectInfo>,
    /// Common prefixes when a delimiter was given.
    pub common_prefixes: Vec<String>,
    /// True when more keys follow.
    pub is_truncated: bool,
    /// Token of the next page (the last key returned).
    pub next_token: Option<String>,
}

/// The options of one `ListObjectsV2` call.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRequest {
    /// Keys must start with this.
    pub prefix: String,
    /// Groups keys into `CommonPrefixes` up to the first delimiter after the prefix.
    pub delimiter: Option<String>,
    /// Page size (S3's default and maximum is 1000).
    pub max_keys: usize,
    /// Keys strictly after this one (S3 `StartAfter` or a `ContinuationToken`).
    pub start_after: Option<String>,
}

impl Default for ListRequest {
    fn default() -> Self {
        ListRequest {
            prefix: String::new(),
            delimiter: None,
            max_keys: 1000,
            start_after: None,
        }
    }
}

/// A local folder standing in for S3.
#[derive(Debug, Clone)]
pub struct S3Folder {
    root: PathBuf,
}

impl S3Folder {
    /// A store rooted at `root` (buckets are its subfolders).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        S3Folder { root: root.into() }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads an object's bytes and metadata.
    ///
    /// Errors: `S3.NoSuchBucketException`, `S3.NoSuchKeyException`, `S3.S3Exception` (bad key,
    /// I/O).
    pub fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(Vec<u8>, ObjectInfo), StatesError> {
        let path = self.object_path(bucket, key)?;
        let bytes = std::fs::read(&path).map_err(|e| read_error(e, key))?;
        let info = info_for(&path, key, &bytes)?;
        Ok((bytes, info))
    }

    /// Metadata of an object.
    ///
    /// Errors: as [`S3Folder::get_object`].
    pub fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo, StatesError> {
        self.get_object(bucket, key).map(|(_, i)| i)
    }

    /// Writes an object atomically (temporary file + rename), creating the key's folders.
    /// Returns its ETag.
    ///
    /// Errors: `S3.NoSuchBucketException`, `S3.S3Exception` (bad key, I/O).
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> Result<String, StatesError> {
        let path = self.object_path(bucket, key)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&e))?;
        let tmp = dir.join(format!("{TMP_MARK}{}", uuid::Uuid::new_v4()));
        std::fs::write(&tmp, body).map_err(|e| io_error(&e))?;
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_error(&e));
        }
        Ok(etag(body))
    }

    /// Deletes an object; a missing key is not an error (as in S3).
    ///
    /// Errors: `S3.NoSuchBucketException`, `S3.S3Exception` (bad key, I/O).
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<(), StatesError> {
        let path = self.object_path(bucket, key)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(&e)),
            _ => Ok(()),
        }
    }

    /// One `ListObjectsV2` page of `bucket`, keys in UTF-8 byte order.
    ///
    /// Errors: `S3.NoSuchBucketException`, `S3.S3Exception` (I/O).
    pub fn list_objects(&self, bucket: &str, req: &ListRequest) -> Result<ListPage, StatesError> {
        let dir = self.bucket_path(bucket)?;
        let mut keys = vec![];
        walk(&dir, "", &mut keys).map_err(|e| io_error(&e))?;
        keys.sort();
        let mut page = ListPage::default();
        let after = req.start_after.as_deref().unwrap_or("");
        for key in keys
            .iter()
            .filter(|k| k.starts_with(&req.prefix) && k.as_str() > after)
        {
            if page.contents.len() + page.common_prefixes.len() == req.max_keys {
                page.is_truncated = true;
                break;
            }
            match common_prefix(key, &req.prefix, req.delimiter.as_deref()) {
                Some(cp) if page.common_prefixes.last() == Some(&cp) => continue,
                Some(cp) => page.common_prefixes.push(cp),
                None => page.contents.push(info_for(
                    &dir.join(key),
                    key,
                    &std::fs::read(dir.join(key)).map_err(|e| io_error(&e))?,
                )?),
            }
            page.next_token = Some(key.clone());
        }
        if !page.is_truncated {
            page.next_token = None;
        }
        Ok(page)
    }

    /// The folder of `bucket`.
    ///
    /// Errors: `S3.NoSuchBucketException` when it does not exist or the name is not a plain
    /// folder name.
    fn bucket_path(&self, bucket: &str) -> Result<PathBuf, StatesError> {
        let plain = !bucket.is_empty() && !bucket.contains('/') && bucket != "." && bucket != "..";
        let path = self.root.join(bucket);
        if plain && path.is_dir() {
            Ok(path)
        } else {
            Err(sdk_error(
                "NoSuchBucket",
                "The specified bucket does not exist",
                404,
            ))
        }
    }

    /// The file of `bucket`/`key`, after checking both.
    fn object_path(&self, bucket: &str, key: &str) -> Result<PathBuf, StatesError> {
        check_key(key)?;
        Ok(self.bucket_path(bucket)?.join(key))
    }
}

/// Refuses keys that are not a clean relative path.
fn check_key(key: &str) -> Result<(), StatesError> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.contains('\0')
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == ".." || s.starts_with(TMP_MARK));
    if bad {
        let why = format!(
            "The key '{key}' cannot be stored in the local S3 folder: keys must be relative paths \
             without empty, '.' or '..' segments"
        );
        return Err(sdk_error("S3", &why, 400));
    }
    Ok(())
}

/// `CommonPrefixes` entry of `key` (prefix up to and including the first delimiter after
/// `prefix`), if any.
fn common_prefix(key: &str, prefix: &str, delimiter: Option<&str>) -> Option<String> {
    let d = delimiter.filter(|d| !d.is_empty())?;
    let rest = &key[prefix.len()..];
    rest.find(d)
        .map(|i| format!("{prefix}{}", &rest[..i + d.len()]))
}

/// Collects the keys below `dir` (relative, `/`-separated), skipping temporary files.
fn walk(dir: &Path, base: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let key = if base.is_empty() {
            name.clone()
        } else {
            format!("{base}/{name}")
        };
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), &key, out)?;
        } else if !name.starts_with(TMP_MARK) {
            out.push(key);
        }
    }
    Ok(())
}

fn info_for(path: &Path, key: &str, bytes: &[u8]) -> Result<ObjectInfo, StatesError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(&e))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Ok(ObjectInfo {
        key: key.to_string(),
        size: bytes.len() as u64,
        etag: etag(bytes),
        last_modified: mtime,
    })
}

/// S3's ETag of a single-part object: the quoted hex MD5.
pub fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Md5::digest(bytes)))
}

fn read_error(e: std::io::Error, _key: &str) -> StatesError {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            sdk_error("NoSuchKey", "The specified key does not exist.", 404)
        }
        _ if e.raw_os_error() == Some(libc::EISDIR) => {
            sdk_error("NoSuchKey", "The specified key does not exist.", 404)
        }
        _ => io_error(&e),
    }
}

fn io_error(e: &std::io::Error) -> StatesError {
    sdk_error("S3", &format!("local S3 folder I/O error: {e}"), 500)
}

/// An S3 SDK error as Step Functions reports it: `S3.<Code>Exception` and the SDK's message
/// with its service details.
pub fn sdk_error(code: &str, message: &str, status: u16) -> StatesError {
    let request_id = hex::encode_upper(&uuid::Uuid::new_v4().as_bytes()[..8]);
    let extended = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        uuid::Uuid::new_v4().as_bytes(),
    );
    StatesError::new(
        format!("S3.{code}Exception"),
        format!("{message} (Service: S3, Status Code: {status}, Request ID: {request_id}, Extended Request ID: {extended})"),
    )
}

/// The S3 AWS SDK integration over an [`S3Folder`].
#[derive(Debug, Clone)]
pub struct S3Integration {
    store: Arc<S3Folder>,
}

impl S3Integration {
    /// Serves the S3 SDK resources from `store`.
    pub fn new(store: Arc<S3Folder>) -> Self {
        S3Integration { store }
    }
}

/// The S3 API actions served.
const ACTIONS: &[&str] = &[
    "copyObject",
    "getObject",
    "putObject",
    "headObject",
    "deleteObject",
    "listObjectsV2",
];

impl Integration for S3Integration {
    fn handles(&self, resource: &str) -> bool {
        resource
            .strip_prefix(SDK_PREFIX)
            .is_some_and(|a| ACTIONS.contains(&a))
    }

    fn invoke(&self, request: TaskRequest) -> TaskFuture<'_> {
        let store = self.store.clone();
        Box::pin(async move {
            let action = request
                .resource
                .strip_prefix(SDK_PREFIX)
                .unwrap_or("")
                .to_string();
            let params = request.parameters;
            tokio::task::spawn_blocking(move || call(&store, &action, &params))
                .await
                .map_err(|e| {
                    StatesError::new("States.TaskFailed", format!("local S3 call failed: {e}"))
                })?
        })
    }
}

/// Runs one S3 action with its SDK parameters.
pub fn call(store: &S3Folder, action: &str, p: &Value) -> Result<Value, StatesError> {
    let bucket = string_param(p, "Bucket")?;
    match action {
        "getObject" => {
            let (bytes, info) = store.get_object(&bucket, &string_param(p, "Key")?)?;
            let mut out = object_json(&info);
            out.insert("Body".into(), json!(String::from_utf8_lossy(&bytes)));
            Ok(Value::Object(out))
        }
        "headObject" => Ok(Value::Object(object_json(
            &store.head_object(&bucket, &string_param(p, "Key")?)?,
        ))),
        "putObject" => {
            let body = match p.get("Body") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            let etag = store.put_object(&bucket, &string_param(p, "Key")?, body.as_bytes())?;
            Ok(json!({"ETag": etag, "ServerSideEncryption": "AES256"}))
        }
        "deleteObject" => {
            store.delete_object(&bucket, &string_param(p, "Key")?)?;
            Ok(json!({}))
        }
        "listObjectsV2" => list_json(store, &bucket, p),
        "copyObject" => copy_object(store, &bucket, p),
        other => Err(StatesError::new(
            "States.TaskFailed",
            format!("the local S3 folder does not serve '{other}'"),
        )),
    }
}

/// `CopyObject`: `CopySource` is `source-bucket/source-key` (URL-encoded, optionally with a
/// leading `/`).
fn copy_object(store: &S3Folder, bucket: &str, p: &Value) -> Result<Value, StatesError> {
    let source = string_param(p, "CopySource")?;
    let source = percent_decode(source.trim_start_matches('/'));
    let (src_bucket, src_key) = source
        .split_once('/')
        .ok_or_else(|| sdk_error("InvalidArgument", "Invalid copy source object key", 400))?;
    let (bytes, _) = store.get_object(src_bucket, src_key)?;
    let etag = store.put_object(bucket, &string_param(p, "Key")?, &bytes)?;
    let info = store.head_object(bucket, &string_param(p, "Key")?)?;
    Ok(json!({
        "CopyObjectResult": {"ETag": etag, "LastModified": info.last_modified_text()},
        "ServerSideEncryption": "AES256"
    }))
}

/// Decodes `%XX` escapes (invalid ones are kept as written).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn list_json(store: &S3Folder, bucket: &str, p: &Value) -> Result<Value, StatesError> {
    let opt = |name: &str| p.get(name).and_then(Value::as_str).map(str::to_string);
    let max_keys = p
        .get("MaxKeys")
        .and_then(Value::as_u64)
        .unwrap_or(1000)
        .min(1000) as usize;
    let token = opt("ContinuationToken");
    let req = ListRequest {
        prefix: opt("Prefix").unwrap_or_default(),
        delimiter: opt("Delimiter"),
        max_keys,
        start_after: token.clone().or(opt("StartAfter")),
    };
    let page = store.list_objects(bucket, &req)?;
    let mut out = Map::new();
    if !page.common_prefixes.is_empty() {
        let cps: Vec<Value> = page
            .common_prefixes
            .iter()
            .map(|c| json!({"Prefix": c}))
            .collect();
        out.insert("CommonPrefixes".into(), Value::Array(cps));
    }
    if !page.contents.is_empty() {
        let contents: Vec<Value> = page.contents.iter().map(content_json).collect();
        out.insert("Contents".into(), Value::Array(contents));
    }
    if let Some(t) = token {
        out.insert("ContinuationToken".into(), json!(t));
    }
    if let Some(d) = &req.delimiter {
        out.insert("Delimiter".into(), json!(d));
    }
    out.insert("IsTruncated".into(), json!(page.is_truncated));
    out.insert(
        "KeyCount".into(),
        json!(page.contents.len() + page.common_prefixes.len()),
    );
    out.insert("MaxKeys".into(), json!(max_keys));
    out.insert("Name".into(), json!(bucket));
    if let Some(t) = &page.next_token {
        out.insert("NextContinuationToken".into(), json!(t));
    }
    out.insert("Prefix".into(), json!(req.prefix));
    if let Some(s) = opt("StartAfter") {
        out.insert("StartAfter".into(), json!(s));
    }
    Ok(Value::Object(out))
}

fn content_json(i: &ObjectInfo) -> Value {
    json!({"ETag": i.etag, "Key": i.key, "LastModified": i.last_modified_text(), "Size": i.size, "StorageClass": "STANDARD"})
}

fn object_json(i: &ObjectInfo) -> Map<String, Value> {
    let v = json!({
        "AcceptRanges": "bytes",
        "ContentLength": i.size,
        "ContentType": "binary/octet-stream",
        "ETag": i.etag,
        "LastModified": i.last_modified_text(),
        "Metadata": {},
        "ServerSideEncryption": "AES256",
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A required string parameter.
///
/// Errors: `States.TaskFailed` naming the parameter.
fn string_param(p: &Value, name: &str) -> Result<String, StatesError> {
    p.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            StatesError::new(
                "States.TaskFailed",
                format!("The S3 parameter '{name}' is required and must be a string"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, S3Folder) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        let s = S3Folder::new(dir.path());
        (dir, s)
    }

    #[test]
    fn put_then_get() {
        let (_d, s) = store();
        let etag = s.put_object("b", "x/y.json", b"{\"a\":1}").unwrap();
        let (bytes, info) = s.get_object("b", "x/y.json").unwrap();
        assert_eq!(bytes, b"{\"a\":1}");
        assert_eq!(info.etag, etag);
        assert_eq!(info.size, 7);
        assert!(etag.starts_with('"') && etag.len() == 34);
    }

    #[test]
    fn missing_key_and_bucket() {
        let (_d, s) = store();
        let e = s.get_object("b", "nope").unwrap_err();
        assert_eq!(e.error, "S3.NoSuchKeyException");
        assert!(e.cause.unwrap().starts_with(
            "The specified key does not exist. (Service: S3, Status Code: 404, Request ID: "
        ));
        assert_eq!(
            s.get_object("nob", "k").unwrap_err().error,
            "S3.NoSuchBucketException"
        );
        assert_eq!(
            s.put_object("nob", "k", b"").unwrap_err().error,
            "S3.NoSuchBucketException"
        );
    }

    #[test]
    fn bad_keys_are_refused() {
        let (_d, s) = store();
        for k in [
            "../x",
            "/etc/passwd",
            "a/../../x",
            "a//b",
            "",
            "dir/",
            "./a",
        ] {
            assert_eq!(
                s.put_object("b", k, b"").unwrap_err().error,
                "S3.S3Exception",
                "{k}"
            );
        }
        assert_eq!(
            s.get_object("..", "b/x").unwrap_err().error,
            "S3.NoSuchBucketException"
        );
    }

    #[test]
    fn list_with_prefix_delimiter_and_pages() {
        let (_d, s) = store();
        for k in ["a/1", "a/2", "a/sub/3", "b"] {
            s.put_object("b", k, k.as_bytes()).unwrap();
        }
        let all = s.list_objects("b", &ListRequest::default()).unwrap();
        let keys: Vec<_> = all.contents.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["a/1", "a/2", "a/sub/3", "b"]);
        let req = ListRequest {
            prefix: "a/".into(),
            delimiter: Some("/".into()),
            ..Default::default()
        };
        let p = s.list_objects("b", &req).unwrap();
        assert_eq!(p.contents.len(), 2);
        assert_eq!(p.common_prefixes, ["a/sub/"]);
        let first = s
            .list_objects(
                "b",
                &ListRequest {
                    max_keys: 3,
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(first.is_truncated);
        assert_eq!(first.next_token.as_deref(), Some("a/sub/3"));
        let next = ListRequest {
            start_after: first.next_token,
            ..Default::default()
        };
        assert_eq!(s.list_objects("b", &next).unwrap().contents[0].key, "b");
    }

    #[test]
    fn sdk_shapes() {
        let (_d, s) = store();
        let put = call(
            &s,
            "putObject",
            &json!({"Bucket": "b", "Key": "k", "Body": {"x": 1}}),
        )
        .unwrap();
        assert_eq!(put["ServerSideEncryption"], "AES256");
        let get = call(&s, "getObject", &json!({"Bucket": "b", "Key": "k"})).unwrap();
        assert_eq!(get["Body"], "{\"x\":1}");
        assert_eq!(get["ContentLength"], 7);
        assert_eq!(get["ETag"], put["ETag"]);
        let list = call(&s, "listObjectsV2", &json!({"Bucket": "b"})).unwrap();
        assert_eq!(list["KeyCount"], 1);
        assert_eq!(list["IsTruncated"], false);
        assert_eq!(list["Contents"][0]["Key"], "k");
        assert_eq!(list["Contents"][0]["Size"], 7);
        call(&s, "deleteObject", &json!({"Bucket": "b", "Key": "k"})).unwrap();
        call(&s, "deleteObject", &json!({"Bucket": "b", "Key": "k"})).unwrap();
        let empty = call(&s, "listObjectsV2", &json!({"Bucket": "b"})).unwrap();
        assert!(empty.get("Contents").is_none());
        assert_eq!(empty["KeyCount"], 0);
    }

    #[test]
    fn copy_object_and_temp_files_are_hidden() {
        let (d, s) = store();
        s.put_object("b", "a b/src", b"data").unwrap();
        let out = call(
            &s,
            "copyObject",
            &json!({"Bucket": "b", "Key": "dst", "CopySource": "/b/a%20b/src"}),
        )
        .unwrap();
        assert_eq!(out["CopyObjectResult"]["ETag"], etag(b"data"));
        assert_eq!(s.get_object("b", "dst").unwrap().0, b"data");
        std::fs::write(d.path().join("b").join(format!("{TMP_MARK}x")), b"").unwrap();
        let keys: Vec<String> = s
            .list_objects("b", &ListRequest::default())
            .unwrap()
            .contents
            .into_iter()
            .map(|i| i.key)
            .collect();
        assert_eq!(keys, ["a b/src", "dst"]);
    }

    #[test]
    fn handles_sdk_resources_only() {
        let (_d, s) = store();
        let i = S3Integration::new(Arc::new(s));
        assert!(i.handles("arn:aws:states:::aws-sdk:s3:getObject"));
        assert!(i.handles("arn:aws:states:::aws-sdk:s3:listObjectsV2"));
        assert!(!i.handles("arn:aws:states:::aws-sdk:s3:createBucket"));
        assert!(!i.handles("arn:aws:states:::s3:getObject"));
    }
}
