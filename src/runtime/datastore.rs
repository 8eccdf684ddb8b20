//! The datastore layout on an [`ObjectStore`]: content-addressed objects, per-attempt
//! manifests and logs, the run's parameters and metadata, and the small files the compiled
//! state machine reads (`foreach.json`, `switch.json`) or writes (`parameters.json`,
//! `error.json`). Keys are documented in `docs/runtime-layout.md` ("Task-side datastore
//! layout"); every key is built here and nowhere else.

use super::store::{check_segment, Key, ObjectStore, StoreError};
use super::TaskError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A foreach index path: item indices from the outermost foreach inward, written joined by
/// `.` (`3`, `3.1`); empty outside any foreach.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndexPath(pub Vec<u64>);

impl IndexPath {
    /// Parses `3.1` (digits joined by `.`); the empty text is the empty path. Errors: any
    /// other text.
    pub fn parse(text: &str) -> Result<IndexPath, TaskError> {
        if text.is_empty() {
            return Ok(IndexPath::default());
        }
        text.split('.')
            .map(|p| {
                (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| p.parse::<u64>().ok())
                    .flatten()
            })
            .collect::<Option<Vec<_>>>()
            .map(IndexPath)
            .ok_or_else(|| {
                TaskError::Usage(format!(
                    "invalid --index `{text}`: expected item indices joined by `.`, e.g. `3` or `3.1`"
                ))
            })
    }

    /// The path one foreach further in.
    pub fn child(&self, i: u64) -> IndexPath {
        let mut v = self.0.clone();
        v.push(i);
        IndexPath(v)
    }

    /// The path without its innermost index, and that index (`None` when empty).
    pub fn split_last(&self) -> Option<(IndexPath, u64)> {
        let (last, rest) = self.0.split_last()?;
        Some((IndexPath(rest.to_vec()), *last))
    }

    /// Number of enclosing foreach.
    pub fn depth(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for IndexPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// One task of a run: a step and its index path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskAddr {
    /// Step name.
    pub step: String,
    /// Index path (empty outside a foreach).
    pub index: IndexPath,
}

impl TaskAddr {
    /// `FLOW_TASK_ID`: `STEP` outside a foreach, `STEP-INDEX` inside (`square-3.1`); `-` never
    /// occurs in a step name, so the id is unambiguous and usable as a file name.
    pub fn task_id(&self) -> String {
        if self.index.0.is_empty() {
            self.step.clone()
        } else {
            format!("{}-{}", self.step, self.index)
        }
    }
}

impl fmt::Display for TaskAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.index.0.is_empty() {
            write!(f, "{}", self.step)
        } else {
            write!(f, "{}[{}]", self.step, self.index)
        }
    }
}

/// A stored object: hex SHA-256 of the bytes and their size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjRef {
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The artifacts visible after a task: inherited references and the task's own, merged
/// (nearer wins). Parameters are not included (they come from `parameters.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Artifacts {
    /// Value artifacts: name → object holding the value's JSON text.
    pub values: BTreeMap<String, ObjRef>,
    /// File artifacts: relative path (`/`-separated) → object holding the file's bytes.
    pub files: BTreeMap<String, ObjRef>,
}

/// `STEP[/INDEX]/done.json`, a task's manifest: everything visible after its successful
/// attempt, and that attempt's number and times. Written last (after the task's objects and
/// `foreach.json` / `switch.json`): a task succeeded iff it has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Flow name.
    pub flow: String,
    /// Run id.
    pub run_id: String,
    /// Step name.
    pub step: String,
    /// Index path text (`""` outside a foreach).
    pub index: String,
    /// The successful attempt (0-based, as `FLOW_ATTEMPT`).
    pub attempt: u32,
    /// When that attempt started, RFC 3339 UTC; absent in a cloned task's manifest (the
    /// attempt record it copies from the origin run holds the times).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// When that attempt ended, RFC 3339 UTC; absent as `started` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// The artifacts (inherited and new).
    #[serde(flatten)]
    pub artifacts: Artifacts,
}

/// `attempt-N.json`: the record of one attempt, written (`running`) when it starts
/// and replaced when it fails. A successful attempt's end is in the task's `done.json`
/// instead (one file fewer per task); [`Datastore::attempt_record`] merges the two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// Start, RFC 3339 UTC.
    pub started: String,
    /// End, RFC 3339 UTC, when ended.
    #[serde(default)]
    pub ended: Option<String>,
    /// The command's exit code, when it exited.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Why the attempt failed, when it did.
    #[serde(default)]
    pub error: Option<String>,
}

/// The attempt whose record a file name is (`attempt-N.json` → `N`), `None` for any other
/// file of a task (its logs `attempt-N.stdout.log`, `done.json`, …).
pub fn attempt_record_number(file_name: &str) -> Option<u32> {
    file_name
        .strip_prefix("attempt-")?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

/// What a `done.json` says of the successful attempt, without its artifacts: the fields both
/// a manifest and an earlier build's `done.json` (a pointer to `attempt-N/manifest.json`)
/// hold at the top level.
#[derive(Deserialize)]
struct DoneHead {
    attempt: u32,
    #[serde(default)]
    started: Option<String>,
    #[serde(default)]
    ended: Option<String>,
}

/// `runs/RUN_ID/run.json`: a run's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// Flow name.
    pub flow: String,
    /// Run id.
    pub run_id: String,
    /// The run's parameters (defaults merged).
    pub parameters: Map<String, Value>,
    /// Hex SHA-256 of the code directory (see [`super::code_hash`]).
    pub code_sha256: String,
    /// Start, RFC 3339 UTC (the first task's start when no runner recorded it).
    pub started: String,
    /// End, when the runner recorded it.
    #[serde(default)]
    pub ended: Option<String>,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// Status per task (`TASK_ID` → status of its last attempt), filled by [`Datastore::finish_run`].
    #[serde(default)]
    pub tasks: BTreeMap<String, String>,
}

/// Longest switch value stored as is in `switch.json`, in characters.
pub const SWITCH_MAX_CHARS: usize = 1024;
/// Length of the JSON text kept in `{"not_a_case": …}`, in characters.
pub const SWITCH_TEXT_CHARS: usize = 200;

/// What `switch.json` holds for switch value `v` (see [`Datastore::write_switch`]).
pub fn switch_record(v: &Value) -> Value {
    match v {
        Value::String(s) if s.chars().count() <= SWITCH_MAX_CHARS => v.clone(),
        _ => {
            let text: String = v.to_string().chars().take(SWITCH_TEXT_CHARS).collect();
            serde_json::json!({ "not_a_case": text })
        }
    }
}

/// Now as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The datastore of one flow on an object store: every key is under `FLOW/`.
pub struct Datastore {
    store: Box<dyn ObjectStore>,
    flow: String,
    root: Key,
    cache: Option<Arc<ObjectCache>>,
}

/// Objects already read and checked against their hash, with their parsed JSON values, and
/// the files a run writes once (`parameters.json`, the manifests in `done.json`), shared by the
/// tasks of one local run (an object never changes: its key is its SHA-256).
/// A foreach of `n` items then reads and parses the item list once, not once per item.
/// Holds at most [`ObjectCache::BUDGET`] bytes of object text; when full it is emptied.
#[derive(Debug, Default)]
pub struct ObjectCache {
    inner: Mutex<CacheInner>,
    /// Runs whose every attempt record and `done.json` is written through this cache (see
    /// [`ObjectCache::track_run`]), with what was written: run id → task id → journal.
    runs: Mutex<HashMap<String, BTreeMap<String, TaskJournal>>>,
}

/// What a tracked run's datastore holds for one task, as [`Datastore::task_statuses`] reads
/// it from the store.
#[derive(Debug, Default, Clone)]
struct TaskJournal {
    /// The highest attempt recorded (`attempt-N.json`) and the status that record
    /// holds.
    last: Option<(u32, String)>,
    /// The attempt `done.json` names.
    done: Option<u32>,
}

#[derive(Debug, Default)]
struct CacheInner {
    bytes: HashMap<String, Arc<Vec<u8>>>,
    /// Files written once per run, by key.
    files: HashMap<String, Arc<Vec<u8>>>,
    values: HashMap<String, Arc<Value>>,
    size: usize,
}

impl ObjectCache {
    /// Most bytes of object text held (64 MiB; parsed values count by their text's size).
    pub const BUDGET: usize = 64 << 20;

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bytes(&self, sha: &str) -> Option<Arc<Vec<u8>>> {
        self.lock().bytes.get(sha).cloned()
    }

    fn value(&self, sha: &str) -> Option<Arc<Value>> {
        self.lock().values.get(sha).cloned()
    }

    /// Makes room for `n` more bytes: empties the cache when they would not fit. `false`
    /// when `n` alone exceeds the budget (not cached).
    fn admit(inner: &mut CacheInner, n: usize) -> bool {
        if n > Self::BUDGET {
            return false;
        }
        if inner.size + n > Self::BUDGET {
            *inner = CacheInner::default();
        }
        inner.size += n;
        true
    }

    fn put_bytes(&self, sha: &str, b: Arc<Vec<u8>>) {
        let mut inner = self.lock();
        if !inner.bytes.contains_key(sha) && Self::admit(&mut inner, b.len()) {
            inner.bytes.insert(sha.to_string(), b);
        }
    }

    fn file(&self, key: &str) -> Option<Arc<Vec<u8>>> {
        self.lock().files.get(key).cloned()
    }

    fn put_file(&self, key: &str, b: Arc<Vec<u8>>) {
        let mut inner = self.lock();
        if !inner.files.contains_key(key) && Self::admit(&mut inner, b.len()) {
            inner.files.insert(key.to_string(), b);
        }
    }

    /// Declares that every attempt record and `done.json` of run `run_id` from now on is
    /// written through this cache (a local run whose tasks all run in-process), so that
    /// [`Datastore::task_statuses`] answers from what was written instead of listing the
    /// run (2,000 folders for a 2,000-task run). Call before the run's first attempt. Holds
    /// one small entry per task of the run, outside the cache's byte budget.
    pub fn track_run(&self, run_id: &str) {
        self.journals().entry(run_id.to_string()).or_default();
    }

    fn journals(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<String, TaskJournal>>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes, for a tracked run, a change `f` to a task's journal.
    fn note(&self, run_id: &str, task: &TaskAddr, f: impl FnOnce(&mut TaskJournal)) {
        if let Some(run) = self.journals().get_mut(run_id) {
            f(run.entry(task.task_id()).or_default());
        }
    }

    /// The statuses of a tracked run, as [`Datastore::task_statuses`] documents them.
    fn statuses(&self, run_id: &str) -> Option<BTreeMap<String, String>> {
        let journals = self.journals();
        let run = journals.get(run_id)?;
        Some(
            run.iter()
                .filter_map(|(task, j)| {
                    let (n, status) = j.last.as_ref()?;
                    let status = match j.done == Some(*n) {
                        true => "succeeded".to_string(),
                        false => status.clone(),
                    };
                    Some((task.clone(), status))
                })
                .collect(),
        )
    }

    fn put_value(&self, sha: &str, size: usize, v: Arc<Value>) {
        let mut inner = self.lock();
        if !inner.values.contains_key(sha) && Self::admit(&mut inner, size) {
            inner.values.insert(sha.to_string(), v);
        }
    }
}

/// The pretty-printed JSON text stored at `key`.
fn json_text<T: Serialize>(key: &Key, v: &T) -> Result<Vec<u8>, TaskError> {
    serde_json::to_vec_pretty(v).map_err(|e| TaskError::Invalid(format!("{key}: {e}")))
}

/// Records attempt `n`'s `status` in `j` when no later attempt is recorded.
fn note_attempt(j: &mut TaskJournal, n: u32, status: &str) {
    if j.last.as_ref().is_none_or(|(m, _)| n >= *m) {
        j.last = Some((n, status.to_string()));
    }
}

impl Datastore {
    /// The datastore of flow `flow` on `store`. Errors: a flow name that cannot be a key
    /// segment.
    pub fn new(store: Box<dyn ObjectStore>, flow: &str) -> Result<Datastore, TaskError> {
        let root = Key::new(flow)?;
        if flow.contains('/') {
            return Err(TaskError::Usage(format!("invalid flow name `{flow}`")));
        }
        Ok(Datastore {
            store,
            flow: flow.to_string(),
            root,
            cache: None,
        })
    }

    /// This datastore reading objects through `cache` (shared by the tasks of a local run).
    pub fn with_cache(mut self, cache: Arc<ObjectCache>) -> Datastore {
        self.cache = Some(cache);
        self
    }

    /// The cache this datastore reads through, if any.
    pub fn cache(&self) -> Option<Arc<ObjectCache>> {
        self.cache.clone()
    }

    /// The underlying store.
    pub fn store(&self) -> &dyn ObjectStore {
        self.store.as_ref()
    }

    /// The flow name.
    pub fn flow(&self) -> &str {
        &self.flow
    }

    /// `FLOW/runs/RUN_ID`. Errors: a run id that is not a key segment.
    pub fn run_key(&self, run_id: &str) -> Result<Key, TaskError> {
        check_segment(run_id)
            .map_err(|r| TaskError::Usage(format!("invalid run id `{run_id}`: {r}")))?;
        Ok(self.root.join("runs")?.join(run_id)?)
    }

    /// `FLOW/runs/RUN_ID/STEP[/INDEX]`.
    pub fn task_key(&self, run_id: &str, task: &TaskAddr) -> Result<Key, TaskError> {
        let key = self.run_key(run_id)?.join(&task.step)?;
        if task.index.0.is_empty() {
            Ok(key)
        } else {
            Ok(key.join(&task.index.to_string())?)
        }
    }

    /// `…/STEP[/INDEX]/attempt-N.SUFFIX`: a file of attempt `n` in its task's folder, with
    /// `SUFFIX` `json` (the attempt record), `stdout.log` or `stderr.log`.
    ///
    /// The files of an attempt sit beside the task's other files rather than in a folder
    /// per attempt: one folder fewer to create per task; on a local disk every new file or
    /// folder counts (docs/runtime-layout.md).
    pub fn attempt_file(
        &self,
        run_id: &str,
        task: &TaskAddr,
        n: u32,
        suffix: &str,
    ) -> Result<Key, TaskError> {
        Ok(self
            .task_key(run_id, task)?
            .join(&format!("attempt-{n}.{suffix}"))?)
    }

    /// `FLOW/objects/sha256/AB/ABCDEF…` (shared by all runs, so identical content is stored
    /// once).
    pub fn object_key(&self, sha256: &str) -> Result<Key, TaskError> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TaskError::Invalid(format!(
                "invalid object hash `{sha256}` in a manifest"
            )));
        }
        Ok(self
            .root
            .join("objects")?
            .join("sha256")?
            .join(&sha256[..2])?
            .join(sha256)?)
    }

    /// Stores `bytes` as an object unless already present. Returns its reference.
    pub fn put_object(&self, bytes: &[u8]) -> Result<ObjRef, TaskError> {
        let r = ObjRef {
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
        };
        let key = self.object_key(&r.sha256)?;
        if !self.store.exists(&key)? {
            self.store.put_if_absent(&key, bytes)?;
        }
        Ok(r)
    }

    /// Stores the file at `path` as an object unless already present (hashing it first,
    /// streaming). Returns its reference.
    pub fn put_object_file(&self, path: &Path) -> Result<ObjRef, TaskError> {
        let io = |source| StoreError::Io {
            op: "reading",
            location: path.display().to_string(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        let r = ObjRef {
            sha256: hex::encode(hasher.finalize()),
            size,
        };
        let key = self.object_key(&r.sha256)?;
        if !self.store.exists(&key)? {
            self.store.put_file(&key, path)?;
        }
        Ok(r)
    }

    /// The bytes of an object, checked against its hash. Errors: missing or corrupt object.
    pub fn get_object(&self, r: &ObjRef) -> Result<Vec<u8>, TaskError> {
        self.get_object_shared(r).map(Arc::unwrap_or_clone)
    }

    /// [`Datastore::get_object`], through the cache when there is one.
    pub fn get_object_shared(&self, r: &ObjRef) -> Result<Arc<Vec<u8>>, TaskError> {
        if let Some(b) = self.cache.as_ref().and_then(|c| c.bytes(&r.sha256)) {
            return Ok(b);
        }
        let b = Arc::new(self.read_object(r)?);
        if let Some(c) = &self.cache {
            c.put_bytes(&r.sha256, b.clone());
        }
        Ok(b)
    }

    fn read_object(&self, r: &ObjRef) -> Result<Vec<u8>, TaskError> {
        let key = self.object_key(&r.sha256)?;
        let bytes = self.store.get(&key)?.ok_or_else(|| {
            TaskError::Invalid(format!("object {} is missing", self.store.location(&key)))
        })?;
        if sha256_hex(&bytes) != r.sha256 {
            return Err(TaskError::Invalid(format!(
                "object {} is corrupt (its content does not match its SHA-256)",
                self.store.location(&key)
            )));
        }
        Ok(bytes)
    }

    /// The JSON value held by a value object.
    pub fn get_value(&self, r: &ObjRef) -> Result<Value, TaskError> {
        self.get_value_shared(r).map(Arc::unwrap_or_clone)
    }

    /// [`Datastore::get_value`], parsed once per run when there is a cache.
    pub fn get_value_shared(&self, r: &ObjRef) -> Result<Arc<Value>, TaskError> {
        if let Some(v) = self.cache.as_ref().and_then(|c| c.value(&r.sha256)) {
            return Ok(v);
        }
        let bytes = self.get_object_shared(r)?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| TaskError::Invalid(format!("object {} is not JSON: {e}", r.sha256)))?;
        let v = Arc::new(v);
        if let Some(c) = &self.cache {
            c.put_value(&r.sha256, bytes.len(), v.clone());
        }
        Ok(v)
    }

    /// Stores a JSON value as an object (its compact JSON text).
    pub fn put_value(&self, v: &Value) -> Result<ObjRef, TaskError> {
        self.put_object(v.to_string().as_bytes())
    }

    fn get_json<T: serde::de::DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, TaskError> {
        match self.store.get(key)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                TaskError::Invalid(format!("{}: invalid JSON: {e}", self.store.location(key)))
            }),
        }
    }

    /// [`Datastore::get_json`] for a file written once and never changed in a run
    /// (`parameters.json`, the manifests in `done.json`): found once, it is kept in the cache.
    /// An absent file is not remembered (it may be written later).
    fn get_json_written_once<T: serde::de::DeserializeOwned>(
        &self,
        key: &Key,
    ) -> Result<Option<T>, TaskError> {
        let Some(bytes) = self.get_written_once(key)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            TaskError::Invalid(format!("{}: invalid JSON: {e}", self.store.location(key)))
        })
    }

    /// The bytes of a file written once (see [`Datastore::get_json_written_once`]).
    fn get_written_once(&self, key: &Key) -> Result<Option<Arc<Vec<u8>>>, TaskError> {
        let Some(cache) = &self.cache else {
            return Ok(self.store.get(key)?.map(Arc::new));
        };
        if let Some(b) = cache.file(key.as_str()) {
            return Ok(Some(b));
        }
        Ok(self.store.get(key)?.map(|b| {
            let b = Arc::new(b);
            cache.put_file(key.as_str(), b.clone());
            b
        }))
    }

    fn put_json<T: Serialize>(&self, key: &Key, v: &T) -> Result<(), TaskError> {
        Ok(self.store.put(key, &json_text(key, v)?)?)
    }

    /// [`Datastore::put_json`] for a file written once and never changed in a run (see
    /// [`Datastore::get_json_written_once`]): once written it is also kept in the cache, so
    /// that the tasks of a local run read what an earlier one wrote (a join, its inputs'
    /// manifests) without going to the store.
    fn put_json_written_once<T: Serialize>(&self, key: &Key, v: &T) -> Result<(), TaskError> {
        let text = json_text(key, v)?;
        self.store.put(key, &text)?;
        if let Some(cache) = &self.cache {
            cache.put_file(key.as_str(), Arc::new(text));
        }
        Ok(())
    }

    /// `runs/RUN_ID/parameters.json` (written by the state `flowc-SaveParameters`).
    pub fn parameters_key(&self, run_id: &str) -> Result<Key, TaskError> {
        Ok(self.run_key(run_id)?.join("parameters.json")?)
    }

    /// The run's parameters, `None` when `parameters.json` does not exist. Errors: not a JSON
    /// object.
    pub fn parameters(&self, run_id: &str) -> Result<Option<Map<String, Value>>, TaskError> {
        let key = self.parameters_key(run_id)?;
        match self.get_json_written_once::<Value>(&key)? {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(TaskError::Invalid(format!(
                "{} must hold a JSON object",
                self.store.location(&key)
            ))),
        }
    }

    /// Writes `parameters.json` (what `flowc-SaveParameters` does on AWS).
    pub fn write_parameters(&self, run_id: &str, p: &Map<String, Value>) -> Result<(), TaskError> {
        self.put_json_written_once(&self.parameters_key(run_id)?, p)
    }

    /// `STEP[/INDEX]/done.json`.
    fn done_key(&self, run_id: &str, task: &TaskAddr) -> Result<Key, TaskError> {
        Ok(self.task_key(run_id, task)?.join("done.json")?)
    }

    /// The task's manifest (`done.json`), `None` when it has not succeeded. A `done.json`
    /// written before 2026-11-21 (`{attempt, manifest: "attempt-N/manifest.json", started,
    /// ended}`) is read with the manifest it points at. Errors: neither.
    pub fn done_manifest(
        &self,
        run_id: &str,
        task: &TaskAddr,
    ) -> Result<Option<Manifest>, TaskError> {
        let key = self.done_key(run_id, task)?;
        let Some(bytes) = self.get_written_once(&key)? else {
            return Ok(None);
        };
        match serde_json::from_slice::<Manifest>(&bytes) {
            Ok(m) => Ok(Some(m)),
            Err(e) => match self.earlier_done(run_id, task, &bytes)? {
                Some(m) => Ok(Some(m)),
                None => Err(TaskError::Invalid(format!(
                    "{}: not a manifest: {e}",
                    self.store.location(&key)
                ))),
            },
        }
    }

    /// The manifest an earlier build's `done.json` (`bytes`) points at, with the attempt's
    /// times from `done.json`; `None` when `bytes` is not one or its manifest is missing.
    fn earlier_done(
        &self,
        run_id: &str,
        task: &TaskAddr,
        bytes: &[u8],
    ) -> Result<Option<Manifest>, TaskError> {
        let Ok(done) = serde_json::from_slice::<DoneHead>(bytes) else {
            return Ok(None);
        };
        let key = self
            .task_key(run_id, task)?
            .join(&format!("attempt-{}", done.attempt))?
            .join("manifest.json")?;
        Ok(self.get_json::<Manifest>(&key)?.map(|m| Manifest {
            started: done.started,
            ended: done.ended,
            ..m
        }))
    }

    /// The successful attempt of a task (the one its `done.json` names), if any.
    pub fn done(&self, run_id: &str, task: &TaskAddr) -> Result<Option<u32>, TaskError> {
        Ok(self.done_head(run_id, task)?.map(|d| d.attempt))
    }

    /// The head of the task's `done.json` (attempt and times), without parsing its artifacts.
    fn done_head(&self, run_id: &str, task: &TaskAddr) -> Result<Option<DoneHead>, TaskError> {
        self.get_json_written_once(&self.done_key(run_id, task)?)
    }

    /// Writes the task's manifest, `done.json`, which marks it succeeded: last, after its
    /// objects and `foreach.json` / `switch.json`. `m.started` and `m.ended` end the
    /// attempt's record (see [`Datastore::attempt_record`]).
    pub fn write_done(&self, m: &Manifest, task: &TaskAddr) -> Result<(), TaskError> {
        self.put_json_written_once(&self.done_key(&m.run_id, task)?, m)?;
        if let Some(c) = &self.cache {
            c.note(&m.run_id, task, |j| j.done = Some(m.attempt));
        }
        Ok(())
    }

    /// The artifacts after a task's successful attempt, `None` when it has not succeeded.
    pub fn done_artifacts(
        &self,
        run_id: &str,
        task: &TaskAddr,
    ) -> Result<Option<Artifacts>, TaskError> {
        Ok(self.done_manifest(run_id, task)?.map(|m| m.artifacts))
    }

    /// Attempt numbers recorded for a task (`attempt-N.json`), ascending.
    pub fn attempts(&self, run_id: &str, task: &TaskAddr) -> Result<Vec<u32>, TaskError> {
        let prefix = self.task_key(run_id, task)?;
        let mut out: Vec<u32> = self
            .store
            .list(&prefix)?
            .iter()
            .filter_map(|k| attempt_record_number(k.strip_prefix(&prefix)?))
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// Records the start of an attempt. With `n = None` claims the next free number (one more
    /// than the highest recorded); `put_if_absent` makes two claimants never share one.
    pub fn start_attempt(
        &self,
        run_id: &str,
        task: &TaskAddr,
        n: Option<u32>,
    ) -> Result<u32, TaskError> {
        self.start_attempt_record(run_id, task, n).map(|(n, _)| n)
    }

    /// [`Datastore::start_attempt`], also returning the record written (its `started` time
    /// is needed again at the attempt's end).
    pub fn start_attempt_record(
        &self,
        run_id: &str,
        task: &TaskAddr,
        n: Option<u32>,
    ) -> Result<(u32, AttemptRecord), TaskError> {
        let mut n = match n {
            Some(n) => n,
            None => self.attempts(run_id, task)?.last().map_or(0, |l| l + 1),
        };
        let record = AttemptRecord {
            status: "running".into(),
            started: now(),
            ended: None,
            exit_code: None,
            error: None,
        };
        let text = serde_json::to_vec_pretty(&record).unwrap_or_default();
        loop {
            let key = self.attempt_file(run_id, task, n, "json")?;
            if self.store.put_if_absent(&key, &text)? {
                if let Some(c) = &self.cache {
                    c.note(run_id, task, |j| note_attempt(j, n, &record.status));
                }
                return Ok((n, record));
            }
            n += 1;
        }
    }

    /// The record of an attempt, if any: its `attempt-N.json`, or, while that says `running`,
    /// the end recorded in `done.json` when it names this attempt.
    pub fn attempt_record(
        &self,
        run_id: &str,
        task: &TaskAddr,
        n: u32,
    ) -> Result<Option<AttemptRecord>, TaskError> {
        let key = self.attempt_file(run_id, task, n, "json")?;
        let rec = match self.get_json::<AttemptRecord>(&key)? {
            Some(r) if r.status == "running" => r,
            other => return Ok(other),
        };
        let done = self.done_head(run_id, task)?.filter(|d| d.attempt == n);
        let Some(done) = done else {
            return Ok(Some(rec));
        };
        // Succeeded: exit code 0 and the times done.json records (a cloned task's has none).
        Ok(Some(AttemptRecord {
            status: "succeeded".into(),
            started: done.started.unwrap_or(rec.started),
            ended: done.ended,
            exit_code: Some(0),
            error: None,
        }))
    }

    /// Replaces the record of an attempt (when it fails; or a cloned task's).
    pub fn write_attempt_record(
        &self,
        run_id: &str,
        task: &TaskAddr,
        n: u32,
        r: &AttemptRecord,
    ) -> Result<(), TaskError> {
        self.put_json(&self.attempt_file(run_id, task, n, "json")?, r)?;
        if let Some(c) = &self.cache {
            c.note(run_id, task, |j| note_attempt(j, n, &r.status));
        }
        Ok(())
    }

    /// Stores a log file of an attempt as `attempt-N.NAME` (`stdout.log`, `stderr.log`). The
    /// file is the task's scratch copy: it may be moved into place (see
    /// [`ObjectStore::put_file_owned`]).
    pub fn put_log(
        &self,
        run_id: &str,
        task: &TaskAddr,
        n: u32,
        name: &str,
        path: &Path,
    ) -> Result<(), TaskError> {
        let key = self.attempt_file(run_id, task, n, name)?;
        Ok(self.store.put_file_owned(&key, path)?)
    }

    /// `STEP[/INDEX]/foreach.json`: the item indices `[0, …, n-1]` of a foreach split task.
    pub fn foreach_count(&self, run_id: &str, task: &TaskAddr) -> Result<Option<u64>, TaskError> {
        let key = self.task_key(run_id, task)?.join("foreach.json")?;
        match self.get_json::<Value>(&key)? {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.len() as u64)),
            Some(_) => Err(TaskError::Invalid(format!(
                "{} must hold a JSON array",
                self.store.location(&key)
            ))),
        }
    }

    /// Writes `foreach.json` = `[0, 1, …, n-1]`.
    pub fn write_foreach(&self, run_id: &str, task: &TaskAddr, n: u64) -> Result<(), TaskError> {
        let key = self.task_key(run_id, task)?.join("foreach.json")?;
        let list: Vec<u64> = (0..n).collect();
        let text = serde_json::to_vec(&list).unwrap_or_default();
        Ok(self.store.put(&key, &text)?)
    }

    /// Writes `switch.json`: the switch value when it is a string of at most
    /// [`SWITCH_MAX_CHARS`] characters, otherwise `{"not_a_case": TEXT}` (TEXT its JSON text cut
    /// to [`SWITCH_TEXT_CHARS`] characters), which matches no case; the state that reads it
    /// stays small (docs/runtime-layout.md, `switch.json`).
    pub fn write_switch(&self, run_id: &str, task: &TaskAddr, v: &Value) -> Result<(), TaskError> {
        let key = self.task_key(run_id, task)?.join("switch.json")?;
        Ok(self
            .store
            .put(&key, switch_record(v).to_string().as_bytes())?)
    }

    /// The value in `switch.json`, if written.
    pub fn switch_value(&self, run_id: &str, task: &TaskAddr) -> Result<Option<Value>, TaskError> {
        self.get_json(&self.task_key(run_id, task)?.join("switch.json")?)
    }

    /// `error.json` of a caught failure (`{"Error", "Cause"}` written by `STEP-RecordError`),
    /// as the artifact value `{"error", "cause"}`.
    pub fn caught_error(&self, run_id: &str, task: &TaskAddr) -> Result<Option<Value>, TaskError> {
        let key = self.task_key(run_id, task)?.join("error.json")?;
        Ok(self.get_json::<Value>(&key)?.map(|v| {
            serde_json::json!({
                "error": v.get("Error").cloned().unwrap_or(Value::Null),
                "cause": v.get("Cause").cloned().unwrap_or(Value::Null),
            })
        }))
    }

    /// Whether a task left any trace in this run: an attempt record, `done.json` or
    /// `error.json` (a task whose job never started but was caught has only the latter).
    pub fn task_ran(&self, run_id: &str, task: &TaskAddr) -> Result<bool, TaskError> {
        let key = self.task_key(run_id, task)?;
        Ok(self.store.exists(&key.join("done.json")?)?
            || self.store.exists(&key.join("error.json")?)?
            || !self.attempts(run_id, task)?.is_empty())
    }

    /// `runs/RUN_ID/run.json`.
    pub fn run_meta_key(&self, run_id: &str) -> Result<Key, TaskError> {
        Ok(self.run_key(run_id)?.join("run.json")?)
    }

    /// The run's metadata, if recorded.
    pub fn run_meta(&self, run_id: &str) -> Result<Option<RunMeta>, TaskError> {
        self.get_json(&self.run_meta_key(run_id)?)
    }

    /// Records the run's metadata unless already recorded (the first task or the runner).
    pub fn ensure_run_meta(&self, meta: &RunMeta) -> Result<bool, TaskError> {
        let key = self.run_meta_key(&meta.run_id)?;
        if self.store.exists(&key)? {
            return Ok(false);
        }
        let text = serde_json::to_vec_pretty(meta).unwrap_or_default();
        Ok(self.store.put_if_absent(&key, &text)?)
    }

    /// Status of the last attempt of every task of a run: `TASK_ID` → `running`,
    /// `succeeded` or `failed`.
    ///
    /// For a run its cache tracks (see [`ObjectCache::track_run`]), from what was written;
    /// otherwise by listing the run.
    pub fn task_statuses(&self, run_id: &str) -> Result<BTreeMap<String, String>, TaskError> {
        if let Some(s) = self.cache.as_ref().and_then(|c| c.statuses(run_id)) {
            return Ok(s);
        }
        let prefix = self.run_key(run_id)?;
        // TASK_ID → (last attempt, its record `attempt-N.json`, the task's done.json).
        let mut last: BTreeMap<String, (u32, Key, Key)> = BTreeMap::new();
        let mut done_keys = std::collections::BTreeSet::new();
        for key in self.store.list(&prefix)? {
            if key.as_str().ends_with("/done.json") {
                done_keys.insert(key.as_str().to_string());
                continue;
            }
            let Some(rest) = key.strip_prefix(&prefix) else {
                continue;
            };
            let segs: Vec<&str> = rest.split('/').collect();
            let (task, task_key, file) = match segs.as_slice() {
                [step, file] => (step.to_string(), prefix.join(step)?, *file),
                [step, index, file] => (
                    format!("{step}-{index}"),
                    prefix.join(step)?.join(index)?,
                    *file,
                ),
                _ => continue,
            };
            let Some(n) = attempt_record_number(file) else {
                continue;
            };
            if last.get(&task).is_none_or(|(m, _, _)| n >= *m) {
                last.insert(task, (n, key, task_key.join("done.json")?));
            }
        }
        let mut out = BTreeMap::new();
        for (task, (n, key, done)) in last {
            // Most tasks succeeded: their done.json (often cached: the join read it) settles
            // it without reading the attempt record; otherwise that record is the whole story.
            let status = match done_keys.contains(done.as_str()) {
                true if self
                    .get_json_written_once::<DoneHead>(&done)?
                    .is_some_and(|d| d.attempt == n) =>
                {
                    "succeeded".to_string()
                }
                _ => self
                    .get_json::<AttemptRecord>(&key)?
                    .map_or_else(|| "unknown".into(), |r| r.status),
            };
            out.insert(task, status);
        }
        Ok(out)
    }

    /// Records the end of a run in `run.json` (status `succeeded` or `failed`, the end time
    /// and the status of every task). Errors: no `run.json`.
    pub fn finish_run(&self, run_id: &str, status: &str) -> Result<RunMeta, TaskError> {
        let key = self.run_meta_key(run_id)?;
        let mut meta = self.run_meta(run_id)?.ok_or_else(|| {
            TaskError::Invalid(format!("{} does not exist", self.store.location(&key)))
        })?;
        meta.ended = Some(now());
        meta.status = status.to_string();
        meta.tasks = self.task_statuses(run_id)?;
        self.put_json(&key, &meta)?;
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::LocalStore;
    use super::*;

    fn ds(dir: &Path) -> Datastore {
        Datastore::new(Box::new(LocalStore::new(dir)), "F").unwrap()
    }

    fn addr(step: &str, index: &str) -> TaskAddr {
        TaskAddr {
            step: step.into(),
            index: IndexPath::parse(index).unwrap(),
        }
    }

    /// The manifest of attempt `n` of `task` in run `r`, without artifacts; `started`: the
    /// attempt's start (it then ends now).
    fn manifest(task: &TaskAddr, n: u32, started: Option<&str>) -> Manifest {
        Manifest {
            flow: "F".into(),
            run_id: "r".into(),
            step: task.step.clone(),
            index: task.index.to_string(),
            attempt: n,
            started: started.map(String::from),
            ended: started.map(|_| now()),
            artifacts: Artifacts::default(),
        }
    }

    #[test]
    fn index_paths() {
        assert_eq!(IndexPath::parse("3.1").unwrap().0, vec![3, 1]);
        assert_eq!(IndexPath::parse("").unwrap().depth(), 0);
        for bad in ["a", "1.", ".1", "1..2", "-1", "+1", "1 "] {
            assert!(IndexPath::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(addr("sq", "3.1").task_id(), "sq-3.1");
        assert_eq!(addr("sq", "").task_id(), "sq");
    }

    #[test]
    fn objects_are_deduplicated_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let d = ds(dir.path());
        let a = d.put_object(b"hello").unwrap();
        let b = d.put_object(b"hello").unwrap();
        assert_eq!(a, b);
        let key = d.object_key(&a.sha256).unwrap();
        assert!(key
            .as_str()
            .starts_with(&format!("F/objects/sha256/{}/", &a.sha256[..2])));
        assert_eq!(d.get_object(&a).unwrap(), b"hello");
        std::fs::write(LocalStore::new(dir.path()).path(&key), b"evil").unwrap();
        assert!(d
            .get_object(&a)
            .unwrap_err()
            .to_string()
            .contains("corrupt"));
        assert!(d.object_key("../../x").is_err());
    }

    #[test]
    fn the_cache_parses_an_object_once_and_is_shared() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(ObjectCache::default());
        let a = ds(dir.path()).with_cache(cache.clone());
        let r = a.put_value(&serde_json::json!([1, 2, 3])).unwrap();
        let first = a.get_value_shared(&r).unwrap();
        // Another task's datastore with the same cache; the file is gone, the cache answers.
        std::fs::remove_file(LocalStore::new(dir.path()).path(&a.object_key(&r.sha256).unwrap()))
            .unwrap();
        let b = ds(dir.path()).with_cache(cache);
        assert!(Arc::ptr_eq(&first, &b.get_value_shared(&r).unwrap()));
        assert_eq!(b.get_object(&r).unwrap(), b"[1,2,3]");
        assert!(
            ds(dir.path()).get_value(&r).is_err(),
            "without the cache: missing"
        );
    }

    #[test]
    fn what_a_cached_datastore_writes_once_is_read_back_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(ObjectCache::default());
        let a = ds(dir.path()).with_cache(cache.clone());
        let task = addr("work", "3");
        a.write_done(&manifest(&task, 0, None), &task).unwrap();
        // Another task's datastore with the same cache (a join): the files are gone, the
        // cache answers; without it they are missing.
        std::fs::remove_dir_all(dir.path().join("F/runs/r/work/3")).unwrap();
        let b = ds(dir.path()).with_cache(cache);
        assert_eq!(b.done("r", &task).unwrap(), Some(0));
        assert_eq!(
            b.done_artifacts("r", &task).unwrap(),
            Some(Artifacts::default())
        );
        assert_eq!(ds(dir.path()).done("r", &task).unwrap(), None);
    }

    #[test]
    fn the_cache_empties_itself_when_full() {
        let mut inner = CacheInner::default();
        assert!(!ObjectCache::admit(&mut inner, ObjectCache::BUDGET + 1));
        assert!(ObjectCache::admit(&mut inner, ObjectCache::BUDGET - 10));
        inner.bytes.insert("x".into(), Arc::new(vec![]));
        assert!(ObjectCache::admit(&mut inner, 20));
        assert!(inner.bytes.is_empty());
        assert_eq!(inner.size, 20);
    }

    #[test]
    fn attempts_are_claimed_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = ds(dir.path());
        let t = addr("s", "2");
        assert!(!d.task_ran("r", &t).unwrap());
        assert_eq!(d.start_attempt("r", &t, None).unwrap(), 0);
        assert_eq!(d.start_attempt("r", &t, None).unwrap(), 1);
        assert_eq!(d.start_attempt("r", &t, Some(1)).unwrap(), 2);
        assert_eq!(d.attempts("r", &t).unwrap(), vec![0, 1, 2]);
        assert!(d.task_ran("r", &t).unwrap());
        let st = d.task_statuses("r").unwrap();
        assert_eq!(st.get("s-2").map(String::as_str), Some("running"));
    }

    #[test]
    fn a_task_recorded_by_an_earlier_build_is_read_with_its_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let d = ds(dir.path());
        let t = addr("work", "3");
        let folder = dir.path().join("F/runs/r/work/3");
        std::fs::create_dir_all(folder.join("attempt-1")).unwrap();
        let earlier = |m: &Manifest| {
            let mut v = serde_json::to_value(m).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("started");
            o.remove("ended");
            v.to_string()
        };
        let m = manifest(&t, 1, Some("2026-11-20T00:00:00.000Z"));
        std::fs::write(folder.join("attempt-1/manifest.json"), earlier(&m)).unwrap();
        let done = serde_json::json!({"attempt": 1, "manifest": "attempt-1/manifest.json",
            "started": m.started, "ended": m.ended});
        std::fs::write(folder.join("done.json"), done.to_string()).unwrap();
        assert_eq!(d.done_manifest("r", &t).unwrap(), Some(m.clone()));
        assert_eq!(d.done("r", &t).unwrap(), Some(1));
        // Its manifest gone: an error naming the file, not a panic or a success.
        std::fs::remove_file(folder.join("attempt-1/manifest.json")).unwrap();
        let e = d.done_manifest("r", &t).unwrap_err().to_string();
        assert!(e.contains("done.json: not a manifest"), "{e}");
    }

    #[test]
    fn an_attempts_files_sit_in_its_task_folder() {
        let dir = tempfile::tempdir().unwrap();
        let d = ds(dir.path());
        let t = addr("work", "3");
        let n = d.start_attempt("r", &t, None).unwrap();
        let log = dir.path().join("scratch.log");
        std::fs::write(&log, b"hi\n").unwrap();
        d.put_log("r", &t, n, "stdout.log", &log).unwrap();
        let m = manifest(&t, n, Some("2026-11-21T00:00:00.000Z"));
        d.write_done(&m, &t).unwrap();
        let folder = dir.path().join("F/runs/r/work/3");
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                assert!(e.file_type().unwrap().is_file(), "{:?}", e.path());
                e.file_name().into_string().unwrap()
            })
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["attempt-0.json", "attempt-0.stdout.log", "done.json"]
        );
        // done.json is the manifest, with the attempt's times.
        let done: Value =
            serde_json::from_slice(&std::fs::read(folder.join("done.json")).unwrap()).unwrap();
        assert_eq!(done["attempt"], 0);
        assert_eq!(done["started"], "2026-11-21T00:00:00.000Z");
        assert_eq!(done["values"], serde_json::json!({}));
        // Only the record names an attempt: a log does not claim one.
        let numbers: Vec<Option<u32>> = names.iter().map(|n| attempt_record_number(n)).collect();
        assert_eq!(numbers, [Some(0), None, None]);
        assert_eq!(attempt_record_number("attempt-12.json"), Some(12));
        assert_eq!(attempt_record_number("attempt-x.json"), None);
        assert_eq!(attempt_record_number("attempt-1.stdout.log"), None);
        assert_eq!(d.attempts("r", &t).unwrap(), vec![0]);
        assert_eq!(d.done_manifest("r", &t).unwrap(), Some(m));
    }
    #[test]
    fn finish_run_records_the_status_of_every_task() {
        finish_run_records_every_task(false);
    }

    #[test]
    fn a_tracked_run_records_at_its_end_what_listing_it_finds() {
        finish_run_records_every_task(true);
    }

    /// A task that succeeded after a failure, one running, and one running again after the
    /// attempt its `done.json` names; `tracked`:
    /// through a cache that tracks the run, so that its end does not list the run.
    fn finish_run_records_every_task(tracked: bool) {
        let dir = tempfile::tempdir().unwrap();
        let d = match tracked {
            true => {
                let cache = Arc::new(ObjectCache::default());
                cache.track_run("r");
                ds(dir.path()).with_cache(cache)
            }
            false => ds(dir.path()),
        };
        assert!(d.finish_run("r", "succeeded").is_err());
        let meta = RunMeta {
            flow: "F".into(),
            run_id: "r".into(),
            parameters: Map::new(),
            code_sha256: "0".repeat(64),
            started: now(),
            ended: None,
            status: "running".into(),
            tasks: BTreeMap::new(),
        };
        assert!(d.ensure_run_meta(&meta).unwrap());
        assert!(!d.ensure_run_meta(&meta).unwrap());
        let (a, b, c) = (addr("a", ""), addr("b", "1.2"), addr("c", "0"));
        let failed = AttemptRecord {
            status: "failed".into(),
            started: now(),
            ended: Some(now()),
            exit_code: Some(1),
            error: Some("the command exited with code 1".into()),
        };
        let (first, rec) = d.start_attempt_record("r", &a, None).unwrap();
        d.write_attempt_record("r", &a, first, &failed).unwrap();
        // A success is recorded by done.json alone: the attempt record still says running.
        let n = d.start_attempt("r", &a, None).unwrap();
        d.write_done(&manifest(&a, n, Some(&rec.started)), &a)
            .unwrap();
        let merged = d.attempt_record("r", &a, n).unwrap().unwrap();
        assert_eq!(
            (merged.status.as_str(), merged.exit_code, &merged.started),
            ("succeeded", Some(0), &rec.started)
        );
        assert!(merged.ended.is_some());
        assert_eq!(d.attempt_record("r", &a, first).unwrap(), Some(failed));
        d.start_attempt("r", &b, None).unwrap();
        // done.json naming another attempt does not end this one.
        d.write_done(&manifest(&c, 0, None), &c).unwrap();
        d.start_attempt("r", &c, None).unwrap();
        d.start_attempt("r", &c, None).unwrap();
        let m = d.finish_run("r", "failed").unwrap();
        assert_eq!(m.status, "failed");
        assert!(m.ended.is_some());
        let tasks: Vec<(&str, &str)> = m
            .tasks
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            tasks,
            [("a", "succeeded"), ("b-1.2", "running"), ("c-0", "running")]
        );
        assert_eq!(ds(dir.path()).task_statuses("r").unwrap(), m.tasks);
        assert_eq!(d.run_meta("r").unwrap(), Some(m));
    }

    #[test]
    fn switch_records_stay_small() {
        assert_eq!(switch_record(&Value::from("large")), Value::from("large"));
        assert_eq!(
            switch_record(&Value::from(3)),
            serde_json::json!({"not_a_case": "3"})
        );
        let long = "x".repeat(SWITCH_MAX_CHARS + 1);
        let rec = switch_record(&Value::from(long));
        assert_eq!(
            rec["not_a_case"].as_str().unwrap().chars().count(),
            SWITCH_TEXT_CHARS
        );
        let ok = "é".repeat(SWITCH_MAX_CHARS);
        assert_eq!(switch_record(&Value::from(ok.clone())), Value::from(ok));
    }

    #[test]
    fn run_ids_cannot_escape() {
        let dir = tempfile::tempdir().unwrap();
        let d = ds(dir.path());
        assert!(d.run_key("..").is_err());
        assert!(d.run_key("a/b").is_err());
        assert!(d.run_key("").is_err());
    }
}
