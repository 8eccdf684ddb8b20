//! One task: [`prepare`] its inputs, [`execute`] its command, [`finish`] by storing its logs
//! and artifacts. [`run_task`] does all three; [`resolve_task_command`] gives the argv of the
//! same task as a child process (`flowc task …`), for the local runner.

use super::datastore::{
    now, Artifacts, AttemptRecord, Datastore, IndexPath, Manifest, ObjRef, TaskAddr,
};
use super::graph::Topology;
use super::lineage::{visible_value, Lineage, TaskInputs};
use super::store::{ObjectStore, StoreSpec, S3_ROOT_ENV};
use super::{code_hash, TaskError};
use crate::aws::deploy::CODE_PACKAGE_ENV;
use crate::ir::{self, ParamType, StepId, Transition};
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

/// Everything that names one task attempt (the arguments of `flowc task`).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRequest {
    /// Flow name (as in the compiled ASL), or the path of a `.flow` file.
    pub flow: String,
    /// Step name.
    pub step: String,
    /// Run id (the execution name).
    pub run_id: String,
    /// Foreach index path; must have one index per foreach around the step.
    pub index: IndexPath,
    /// Attempt number (0-based, `FLOW_ATTEMPT`); `None` claims the next free number recorded
    /// in the datastore, so retries by Step Functions (each a new Batch job) count up. When
    /// attempt `n` is already recorded, the next free number is used: an attempt's record and
    /// logs are never overwritten.
    pub attempt: Option<u32>,
    /// The code directory: working directory of the command, where the flow file is found.
    pub code_dir: PathBuf,
    /// The flow file; `None` searches `code_dir` for the `.flow` file defining `flow`.
    pub flow_file: Option<PathBuf>,
    /// Prefix each output line on the console with `[TASK_ID] `.
    pub console_prefix: bool,
}

/// The result of a task attempt that ran its command.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskOutcome {
    /// The attempt number.
    pub attempt: u32,
    /// The command's exit code (128 + signal number when killed by a signal); 0 on success.
    pub exit_code: i32,
    /// The manifest written on success.
    pub manifest: Option<Manifest>,
}

/// A task whose inputs are in place, ready to run.
pub struct PreparedTask {
    /// The flow's datastore.
    pub ds: Datastore,
    /// The checked flow.
    pub flow: Arc<ir::Flow>,
    /// The step.
    pub step: StepId,
    /// The task.
    pub addr: TaskAddr,
    /// Run id.
    pub run_id: String,
    /// Attempt number (claimed in the datastore).
    pub attempt: u32,
    /// When the attempt started (RFC 3339 UTC, as in its `attempt.json`).
    pub started: String,
    /// Parameters (declared ones, defaults filled, types checked).
    pub params: Map<String, Value>,
    /// What the predecessors passed on.
    pub inputs: TaskInputs,
    /// argv of the command (`/bin/sh -c TEXT` or the list).
    pub argv: Vec<String>,
    /// Variables set for the command (`@environment`, then the `FLOW_*` contract).
    pub env: Vec<(String, String)>,
    /// Working directory of the command.
    pub cwd: PathBuf,
    /// Scratch folder holding `input.json`, `inputs.json`, `input/`, `output.json`,
    /// `output/` and the logs; removed when dropped (or emptied for the next task, see
    /// [`ScratchPool`]).
    pub work: Scratch,
}

impl PreparedTask {
    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// The files that receive the command's stdout and stderr (`stdout.log`, `stderr.log` in
    /// the scratch folder; [`finish`] stores them in the datastore).
    pub fn log_paths(&self) -> (PathBuf, PathBuf) {
        (self.path("stdout.log"), self.path("stderr.log"))
    }
}

/// The variables of this process's environment that a command must not inherit: every
/// `FLOW_*` (the task sets its own, see the runtime contract). Read once per process (flowc
/// never sets a `FLOW_*` variable itself): a local run starts thousands of tasks, and
/// reading the environment copies each of its variables.
pub fn inherited_flow_vars() -> &'static [String] {
    static VARS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    VARS.get_or_init(|| {
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| k.starts_with("FLOW_"))
            .collect()
    })
}

/// The argv of task (`step`, `index`) of `run_id` as a child process: `EXE task FLOW STEP
/// --run-id RUN_ID [--index INDEX] --datastore DATASTORE` (the same command line the compiled
/// ASL builds).
pub fn resolve_task_command(
    exe: &str,
    flow: &str,
    step: &str,
    run_id: &str,
    index: &IndexPath,
    datastore: &str,
) -> Vec<String> {
    let mut argv: Vec<String> = vec![exe.into(), "task".into(), flow.into(), step.into()];
    argv.extend(["--run-id".into(), run_id.into()]);
    if index.depth() > 0 {
        argv.extend(["--index".into(), index.to_string()]);
    }
    argv.extend(["--datastore".into(), datastore.into()]);
    argv
}

/// Opens the datastore named by `--datastore`: a local folder, or `s3://BUCKET/PREFIX` on S3
/// ([`crate::aws::store::S3Store::from_env`]: the AWS chain, `FLOWC_REGION`,
/// `FLOWC_ENDPOINT_URL`…). With `FLOWC_S3_ROOT=DIR` an `s3://` URL maps to the local folder
/// `DIR/BUCKET/PREFIX` instead (see [`StoreSpec::open`]), as the local runner does.
///
/// Errors: [`TaskError::Usage`] for a malformed URL or an S3 client that cannot be set up
/// (no region).
pub fn open_store(datastore: &str) -> Result<Box<dyn ObjectStore>, TaskError> {
    let spec = StoreSpec::parse(datastore).map_err(TaskError::Usage)?;
    let root = std::env::var_os(S3_ROOT_ENV).map(PathBuf::from);
    spec.open(root.as_deref()).map_err(TaskError::Usage)
}

/// A code package unpacked into a temporary folder (removed when dropped).
#[derive(Debug)]
pub struct CodePackage {
    /// The folder holding the package's files: the task's code directory.
    pub dir: tempfile::TempDir,
    /// Lower-case hex SHA-256 of the `tar.gz`, checked against its name.
    pub sha256: String,
}

/// The SHA-256 a code package URL names: `s3://BUCKET/…/SHA256.tar.gz` (the name
/// `flowc deploy` gives it, see [`crate::aws::package::Package::key`]) as
/// `(bucket, object key, sha256)`.
///
/// Errors: [`TaskError::Usage`] for another shape.
pub fn parse_code_package_url(url: &str) -> Result<(String, String, String), TaskError> {
    let bad = || {
        TaskError::Usage(format!(
            "{CODE_PACKAGE_ENV}=`{url}`: expected s3://BUCKET/PREFIX/FLOW/code/SHA256.tar.gz"
        ))
    };
    let rest = url.strip_prefix("s3://").ok_or_else(bad)?;
    let (bucket, key) = rest.split_once('/').ok_or_else(bad)?;
    let name = key.rsplit('/').next().unwrap_or(key);
    let sha = name.strip_suffix(".tar.gz").ok_or_else(bad)?;
    let hex = sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit());
    if bucket.is_empty() || !hex || super::store::Key::new(key).is_err() {
        return Err(bad());
    }
    Ok((bucket.into(), key.into(), sha.to_ascii_lowercase()))
}

/// Downloads the code package `url` (`FLOWC_CODE_PACKAGE`, set by `flowc deploy` in every
/// Batch task), checks its SHA-256 against its name and unpacks it into a fresh temporary
/// folder. With `s3_root` (the value of `FLOWC_S3_ROOT`) the package is read from the local
/// file `S3_ROOT/BUCKET/KEY` instead, as [`open_store`] maps datastores.
///
/// Errors: [`TaskError::Usage`] when the URL is malformed, the package is missing or cannot
/// be read, its content does not match its name, or an entry is not a plain file or folder
/// inside the package (`..`, absolute paths, links).
pub fn fetch_code_package(url: &str, s3_root: Option<&Path>) -> Result<CodePackage, TaskError> {
    let (bucket, key, sha256) = parse_code_package_url(url)?;
    let usage = |m: String| TaskError::Usage(format!("code package {url}: {m}"));
    let dir = tempfile::Builder::new()
        .prefix("flowc-code-")
        .tempdir()
        .map_err(|e| usage(format!("cannot create a temporary folder: {e}")))?;
    let archive = dir.path().join(".package.tar.gz");
    let found = match s3_root {
        Some(root) => {
            let src = key.split('/').fold(root.join(&bucket), |p, s| p.join(s));
            match std::fs::copy(&src, &archive) {
                Ok(_) => true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => return Err(usage(format!("cannot read {}: {e}", src.display()))),
            }
        }
        None => crate::aws::store::S3Store::from_env(&bucket, "")
            .and_then(|s| s.download_object(&key, &archive))
            .map_err(|e| usage(e.to_string()))?,
    };
    if !found {
        return Err(usage("it does not exist".into()));
    }
    let actual = file_sha256(&archive).map_err(|e| usage(format!("cannot read it: {e}")))?;
    if actual != sha256 {
        return Err(usage(format!(
            "its SHA-256 is {actual}, not the {sha256} its name says (corrupt or replaced)"
        )));
    }
    let code = dir.path().join("code");
    unpack(&archive, &code).map_err(usage)?;
    let _ = std::fs::remove_file(&archive);
    Ok(CodePackage { dir, sha256 })
}

impl CodePackage {
    /// The code directory (the unpacked files).
    pub fn code_dir(&self) -> PathBuf {
        self.dir.path().join("code")
    }
}

fn file_sha256(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

/// Unpacks a `tar.gz` into `dest`, accepting only regular files and folders whose paths stay
/// inside it (relative, no `..`).
fn unpack(archive: &Path, dest: &Path) -> Result<(), String> {
    let file = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    std::fs::create_dir_all(dest).map_err(|e| e.to_string())?;
    let entries = tar.entries().map_err(|e| format!("not a tar.gz: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a tar.gz: {e}"))?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        let inside = path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside || path.as_os_str().is_empty() {
            return Err(format!("entry `{}` would leave its folder", path.display()));
        }
        let target = dest.join(&path);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
            }
            tar::EntryType::Regular => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                entry
                    .unpack(&target)
                    .map_err(|e| format!("cannot unpack `{}`: {e}", path.display()))?;
            }
            other => {
                return Err(format!(
                    "entry `{}` is a {other:?}, not a file or folder",
                    path.display()
                ))
            }
        }
    }
    Ok(())
}

/// Runs one task attempt end to end on `store`. `Ok` when the command ran (see
/// [`TaskOutcome::exit_code`]); `Err` when the task could not start or its outputs break the
/// contract (the attempt is then recorded as failed when it was claimed).
pub fn run_task(req: &TaskRequest, store: Box<dyn ObjectStore>) -> Result<TaskOutcome, TaskError> {
    run_task_observed(req, store, &|_| {})
}

/// [`run_task`], calling `on_spawn` with the command's process id once it started and with
/// 0 once it ended (e.g. to forward a `SIGTERM` from AWS Batch to the command).
pub fn run_task_observed(
    req: &TaskRequest,
    store: Box<dyn ObjectStore>,
    on_spawn: &dyn Fn(u32),
) -> Result<TaskOutcome, TaskError> {
    let p = prepare(req, store)?;
    match execute(&p, req.console_prefix, on_spawn) {
        Ok(code) => finish_recorded(&p, code),
        Err(e) => {
            let _ = record_failure(&p, None, e.to_string());
            Err(e)
        }
    }
}

/// [`finish`], recording the attempt as failed (with the error) when the outputs break the
/// contract.
pub fn finish_recorded(p: &PreparedTask, exit_code: i32) -> Result<TaskOutcome, TaskError> {
    let result = finish(p, exit_code);
    if let Err(e) = &result {
        let _ = record_failure(p, None, e.to_string());
    }
    result
}

/// Ends an attempt whose command was stopped from outside (a state timeout, an interrupted
/// run): stores the logs written so far and records the attempt as failed with `reason`.
/// Errors: the datastore cannot be written.
pub fn abandon(p: &PreparedTask, reason: &str) -> Result<(), TaskError> {
    store_logs(p)?;
    record_failure(p, None, reason.to_string())
}

/// Loads the flow, claims the attempt, and writes the task's inputs into a scratch folder.
/// Errors: unknown step, wrong index depth, missing `parameters.json`, a predecessor that did
/// not run, a datastore error.
pub fn prepare(req: &TaskRequest, store: Box<dyn ObjectStore>) -> Result<PreparedTask, TaskError> {
    let flow = load_flow(req)?;
    // A cache of its own, so that a join reading an object every input shares (the
    // foreach's item list, say) fetches it once, not once per input: on S3, one GET.
    let ds = Datastore::new(store, &flow.name)?.with_cache(Arc::default());
    prepare_checked(req, Arc::new(flow), ds, None)
}

/// Scratch folders of finished tasks, emptied, for the next tasks of a local run: creating
/// and deleting a task's three folders is, on ext4, a large part of what a task costs beyond
/// its command. Only a folder whose command ended and whose outputs were stored comes back
/// (a cancelled task's folder is deleted), so no process of an earlier task still uses it.
/// A command that leaves a process running outside its process group (`setsid`) writing into
/// its scratch folder would write into a later task's: run such steps with `--task-process`.
#[derive(Debug, Default)]
pub struct ScratchPool {
    free: std::sync::Mutex<Vec<tempfile::TempDir>>,
}

impl ScratchPool {
    /// Most folders kept (more than a run ever has tasks running at once).
    pub const MAX_FREE: usize = 256;
}

/// A task's scratch folder (see [`PreparedTask::work`]).
#[derive(Debug)]
pub struct Scratch {
    dir: tempfile::TempDir,
    /// Taken from the pool: `input/` and `output/` exist (and are empty).
    reused: bool,
}

impl Scratch {
    /// A free folder of `pool`, or a new one under the temporary directory.
    fn new(pool: Option<&Arc<ScratchPool>>) -> Result<Scratch, TaskError> {
        let free = pool.and_then(|p| p.free.lock().unwrap_or_else(|e| e.into_inner()).pop());
        let reused = free.is_some();
        let dir = match free {
            Some(dir) => dir,
            None => tempfile::Builder::new()
                .prefix("flowc-task-")
                .tempdir()
                .map_err(|e| TaskError::Usage(format!("cannot create a scratch folder: {e}")))?,
        };
        Ok(Scratch { dir, reused })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Empties the folder (keeping `input.json`, and `input/` and `output/` empty) and gives
    /// it to `pool`;
    /// deletes it when it cannot be emptied or the pool is full.
    pub fn recycle(self, pool: &ScratchPool) {
        if empty_scratch(self.dir.path()).is_err() {
            return;
        }
        let mut free = pool.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < ScratchPool::MAX_FREE {
            free.push(self.dir);
        }
    }
}

/// Removes everything in a scratch folder except `input.json` (every task rewrites it,
/// which spares the file system a new file per task) and the folders `input` and `output`,
/// which are emptied. A log (`stdout.log`, `stderr.log`) exists only if its stream was not
/// empty (`batch::LogFile`), and is usually moved into the datastore already; one left here
/// goes. Symbolic links are removed, never followed. An error when the folder cannot be
/// emptied or lacks `input/` or `output/` (the command removed one): such a folder is not
/// reused, since the next task counts on both.
fn empty_scratch(root: &Path) -> std::io::Result<()> {
    let mut kept = 0;
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = entry.file_name();
        let keep = kind.is_file()
            && name == "input.json"
            && entry.metadata().is_ok_and(|m| !m.permissions().readonly());
        if keep {
            continue;
        }
        if kind.is_dir() && (name == "input" || name == "output") {
            for inner in std::fs::read_dir(entry.path())? {
                remove_entry(&inner?)?;
            }
            kept += 1;
        } else {
            remove_entry(&entry)?;
        }
    }
    match kept {
        2 => Ok(()),
        _ => Err(std::io::Error::other("input/ or output/ is missing")),
    }
}

fn remove_entry(entry: &std::fs::DirEntry) -> std::io::Result<()> {
    match entry.file_type()?.is_dir() {
        true => std::fs::remove_dir_all(entry.path()),
        false => std::fs::remove_file(entry.path()),
    }
}

/// [`prepare`] with the flow already loaded and checked and its datastore open (a local
/// runner checks the flow once per run, not once per task, and shares an
/// [`super::datastore::ObjectCache`] between tasks); `req.flow` and `req.flow_file` are not
/// read.
pub fn prepare_checked(
    req: &TaskRequest,
    flow: Arc<ir::Flow>,
    ds: Datastore,
    pool: Option<&Arc<ScratchPool>>,
) -> Result<PreparedTask, TaskError> {
    let step = find_step(&flow, &req.step)?;
    let checked = Arc::clone(&flow);
    let topo = Topology::new(&checked);
    let depth = topo.depth(step);
    if req.index.depth() != depth {
        return Err(TaskError::Usage(format!(
            "step `{}` is inside {depth} foreach, so --index needs {depth} indices joined by `.`, got `{}`",
            req.step, req.index
        )));
    }
    let addr = TaskAddr {
        step: req.step.clone(),
        index: req.index.clone(),
    };
    let params = load_parameters(&ds, &flow, &req.run_id)?;
    let work = Scratch::new(pool)?;
    let argv = command_argv(&flow.step(step).command)?;
    let (attempt, record) = ds.start_attempt_record(&req.run_id, &addr, req.attempt)?;
    let mut p = PreparedTask {
        ds,
        step,
        addr,
        run_id: req.run_id.clone(),
        attempt,
        started: record.started,
        params,
        inputs: TaskInputs::default(),
        argv,
        env: vec![],
        cwd: req.code_dir.clone(),
        work,
        flow,
    };
    match fill_inputs(&p, req, &topo) {
        Ok((inputs, env)) => {
            p.inputs = inputs;
            p.env = env;
            Ok(p)
        }
        Err(e) => {
            let _ = record_failure(&p, None, e.to_string());
            Err(e)
        }
    }
}

/// Writes the input files into the scratch folder; returns the inputs and the environment.
fn fill_inputs(
    p: &PreparedTask,
    req: &TaskRequest,
    topo: &Topology,
) -> Result<(TaskInputs, Vec<(String, String)>), TaskError> {
    record_run(p, &req.code_dir)?;
    let lineage = Lineage {
        ds: &p.ds,
        topo,
        run_id: &p.run_id,
    };
    let inputs = lineage.inputs(p.step, &p.addr.index)?;
    let item = lineage.item(p.step, &p.addr.index, &p.params)?;
    write_visible_file(&p.ds, &p.params, &inputs.merged, &p.path("input.json"))?;
    if let Some(views) = &inputs.join_inputs {
        write_inputs_file(&p.ds, &p.params, views, &p.path("inputs.json"))?;
    }
    if !p.work.reused {
        for dir in [p.path("input"), p.path("output")] {
            std::fs::create_dir(&dir).map_err(|e| io_error("creating", &dir, e))?;
        }
    }
    materialize_files(&p.ds, &inputs.merged, &p.path("input"))?;
    let env = task_env(p, item.as_ref(), inputs.join_inputs.is_some());
    Ok((inputs, env))
}

/// Records `run.json` unless present (the first task of a run does it when no runner did).
fn record_run(p: &PreparedTask, code_dir: &Path) -> Result<(), TaskError> {
    if p.ds.store().exists(&p.ds.run_meta_key(&p.run_id)?)? {
        return Ok(());
    }
    p.ds.ensure_run_meta(&super::RunMeta {
        flow: p.flow.name.clone(),
        run_id: p.run_id.clone(),
        parameters: p.params.clone(),
        code_sha256: std::env::var(super::CODE_SHA256_ENV).unwrap_or_else(|_| code_hash(code_dir)),
        started: super::datastore::now(),
        ended: None,
        status: "running".into(),
        tasks: Default::default(),
    })?;
    Ok(())
}

/// Finds and checks the flow file. Errors: no or several files define the flow, or the flow
/// has errors.
fn load_flow(req: &TaskRequest) -> Result<ir::Flow, TaskError> {
    let path = match &req.flow_file {
        Some(p) => p.clone(),
        None if req.flow.ends_with(".flow") => PathBuf::from(&req.flow),
        None => find_flow_file(&req.code_dir, &req.flow)?,
    };
    let source = std::fs::read_to_string(&path)
        .map_err(|e| TaskError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let (flow, diags) = crate::check(&source, &crate::options::CompileOptions::default());
    let flow = flow.ok_or_else(|| {
        let first = diags
            .iter()
            .find(|d| d.is_error())
            .map(|d| d.message.clone());
        TaskError::Usage(format!(
            "{} has errors ({}); run `flowc check` on it",
            path.display(),
            first.unwrap_or_default()
        ))
    })?;
    if !req.flow.ends_with(".flow") && flow.name != req.flow {
        return Err(TaskError::Usage(format!(
            "{} defines flow `{}`, not `{}`",
            path.display(),
            flow.name,
            req.flow
        )));
    }
    Ok(flow)
}

/// The `.flow` file of `dir` (not recursive) that defines flow `name`.
pub fn find_flow_file(dir: &Path, name: &str) -> Result<PathBuf, TaskError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        TaskError::Usage(format!("cannot list code directory {}: {e}", dir.display()))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "flow"))
        .collect();
    paths.sort();
    let found: Vec<PathBuf> = paths
        .into_iter()
        .filter(|p| {
            let Ok(src) = std::fs::read_to_string(p) else {
                return false;
            };
            src.contains(name) && crate::syntax::parse(&src).is_ok_and(|f| f.name.name == name)
        })
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(TaskError::Usage(format!(
            "no .flow file in {} defines flow `{name}` (use --flow-file)",
            dir.display()
        ))),
        many => Err(TaskError::Usage(format!(
            "several .flow files in {} define flow `{name}`: {} (use --flow-file)",
            dir.display(),
            many.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn find_step(flow: &ir::Flow, name: &str) -> Result<StepId, TaskError> {
    flow.step_id(name).ok_or_else(|| {
        let hint = crate::diagnostics::suggest(name, flow.steps.iter().map(|s| s.name.as_str()))
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        TaskError::Usage(format!("flow `{}` has no step `{name}`{hint}", flow.name))
    })
}

/// The declared parameters from `parameters.json`, defaults filled in and types checked
/// (`int` must be an integer: the ASL leaves that check to the runtime).
fn load_parameters(
    ds: &Datastore,
    flow: &ir::Flow,
    run_id: &str,
) -> Result<Map<String, Value>, TaskError> {
    let given = ds.parameters(run_id)?.ok_or_else(|| {
        let key = ds.parameters_key(run_id).map(|k| ds.store().location(&k)).unwrap_or_default();
        TaskError::Usage(format!(
            "run `{run_id}` has no parameters ({key} does not exist; the state flowc-SaveParameters writes it)"
        ))
    })?;
    check_parameters(flow, &given)
}

/// Checks `given` against the flow's parameters; returns the declared ones in declaration
/// order, defaults filled in. Errors: a missing required parameter, a value of the wrong type.
pub fn check_parameters(
    flow: &ir::Flow,
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, TaskError> {
    let mut out = Map::new();
    for p in &flow.params {
        let v = match (given.get(&p.name), &p.default) {
            (Some(v), _) => v.clone(),
            (None, Some(d)) => d.value.clone(),
            (None, None) => {
                return Err(TaskError::Invalid(format!(
                    "required parameter `{}` has no value",
                    p.name
                )))
            }
        };
        let ok = match p.ty {
            ParamType::Str => v.is_string(),
            ParamType::Int => v.is_i64() || v.is_u64(),
            ParamType::Float => v.is_number(),
            ParamType::Bool => v.is_boolean(),
            ParamType::Json => true,
        };
        if !ok {
            return Err(TaskError::Invalid(format!(
                "parameter `{}` must be of type {}, got {v}",
                p.name,
                p.ty.as_str()
            )));
        }
        out.insert(p.name.clone(), v);
    }
    Ok(out)
}

fn command_argv(c: &ir::Command) -> Result<Vec<String>, TaskError> {
    match c {
        ir::Command::Shell(text) => Ok(vec!["/bin/sh".into(), "-c".into(), text.clone()]),
        ir::Command::Exec(list) if !list.is_empty() => Ok(list.clone()),
        ir::Command::Exec(_) => Err(TaskError::Usage("the step's run list is empty".into())),
    }
}

/// Parameters overlaid with the values of `arts` (nearer wins), as one JSON object.
/// Writes what a task sees as one JSON object: the parameters, then each value artifact
/// (replacing a parameter of the same name in place). Artifact values are copied as the
/// compact JSON text of their objects, never parsed, so a join of `n` inputs holding the same
/// large list costs `n` copies of bytes, not `n` parsed values in memory.
fn write_visible(
    ds: &Datastore,
    params: &Map<String, Value>,
    arts: &Artifacts,
    out: &mut impl Write,
) -> Result<(), TaskError> {
    let mut entries: Vec<(&str, Option<&ObjRef>)> =
        params.keys().map(|k| (k.as_str(), None)).collect();
    for (name, r) in &arts.values {
        match entries.iter_mut().find(|(k, _)| *k == name.as_str()) {
            Some(e) => e.1 = Some(r),
            None => entries.push((name.as_str(), Some(r))),
        }
    }
    let io = |e: std::io::Error| TaskError::Usage(format!("writing the task's input: {e}"));
    let json = |e: serde_json::Error| TaskError::Usage(format!("writing the task's input: {e}"));
    out.write_all(b"{").map_err(io)?;
    for (i, (name, r)) in entries.iter().enumerate() {
        if i > 0 {
            out.write_all(b",").map_err(io)?;
        }
        serde_json::to_writer(&mut *out, name).map_err(json)?;
        out.write_all(b":").map_err(io)?;
        match r {
            Some(r) => out.write_all(&ds.get_object_shared(r)?).map_err(io)?,
            None => serde_json::to_writer(&mut *out, &params[*name]).map_err(json)?,
        }
    }
    out.write_all(b"}").map_err(io)
}

/// `input.json`: [`write_visible`] of the merged artifacts. A reused scratch folder's
/// `input.json` is overwritten in place and then cut to its new length, never truncated to
/// zero first: on ext4 (`auto_da_alloc`) closing a file truncated to zero starts writing it to
/// disk, a cost every task would pay.
fn write_visible_file(
    ds: &Datastore,
    params: &Map<String, Value>,
    arts: &Artifacts,
    path: &Path,
) -> Result<(), TaskError> {
    use std::io::Seek;
    let io = |e| io_error("writing", path, e);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    let mut out = std::io::BufWriter::new(file);
    write_visible(ds, params, arts, &mut out)?;
    let mut file = out.into_inner().map_err(|e| io(e.into_error()))?;
    let len = file.stream_position().map_err(io)?;
    file.set_len(len).map_err(io)
}

/// `inputs.json` of a join: the array of what each input saw, written one input at a time.
fn write_inputs_file(
    ds: &Datastore,
    params: &Map<String, Value>,
    views: &[Artifacts],
    path: &Path,
) -> Result<(), TaskError> {
    let file = std::fs::File::create(path).map_err(|e| io_error("writing", path, e))?;
    // Each input's view holds every artifact it saw, often the same large list again: write
    // in big blocks (a 2,000-input join over a 2,000-item list writes 18 MB).
    let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
    let io = |e| io_error("writing", path, e);
    out.write_all(b"[").map_err(io)?;
    for (i, v) in views.iter().enumerate() {
        if i > 0 {
            out.write_all(b",").map_err(io)?;
        }
        write_visible(ds, params, v, &mut out)?;
    }
    out.write_all(b"]").map_err(io)?;
    out.flush().map_err(io)
}

fn io_error(op: &'static str, path: &Path, source: std::io::Error) -> TaskError {
    TaskError::Store(super::StoreError::Io {
        op,
        location: path.display().to_string(),
        source,
    })
}

/// Checks a file artifact's relative path: `/`-separated, no empty, `.` or `..` segment, no
/// `\` or control character. Errors name the file.
pub fn check_file_name(name: &str) -> Result<(), TaskError> {
    let bad = name.is_empty()
        || name
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        || name.chars().any(|c| c == '\\' || c.is_control());
    if bad {
        return Err(TaskError::Invalid(format!(
            "file artifact `{}`: not a relative path inside FLOW_OUTPUT_DIR",
            name.escape_debug()
        )));
    }
    Ok(())
}

/// Checks a value artifact's name: non-empty, not `.` or `..`, without `/`, `\` or control
/// characters (names may become keys; none may leave the datastore).
pub fn check_artifact_name(name: &str) -> Result<(), TaskError> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    if bad {
        return Err(TaskError::Invalid(format!(
            "artifact name `{}` in FLOW_OUTPUT is not allowed (empty, `.`, `..`, or with `/`, `\\` or a control character)",
            name.escape_debug()
        )));
    }
    Ok(())
}

/// Writes the file artifacts into `dir` (read-only files).
fn materialize_files(ds: &Datastore, arts: &Artifacts, dir: &Path) -> Result<(), TaskError> {
    for (name, r) in &arts.files {
        check_file_name(name)?;
        let path = name.split('/').fold(dir.to_path_buf(), |p, s| p.join(s));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_error("creating", parent, e))?;
        }
        std::fs::write(&path, ds.get_object(r)?).map_err(|e| io_error("writing", &path, e))?;
        set_read_only(&path);
    }
    Ok(())
}

fn set_read_only(path: &Path) {
    if let Ok(meta) = std::fs::metadata(path) {
        let mut perm = meta.permissions();
        perm.set_readonly(true);
        let _ = std::fs::set_permissions(path, perm);
    }
}

/// The task's environment: `@environment` variables, then the runtime contract.
fn task_env(p: &PreparedTask, item: Option<&Value>, join: bool) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = p
        .flow
        .step(p.step)
        .decorators
        .environment
        .iter()
        .flat_map(|e| e.value.vars.iter().map(|(k, v)| (k.clone(), v.clone())))
        .collect();
    let path = |n: &str| p.path(n).display().to_string();
    env.extend([
        ("FLOW_NAME".into(), p.flow.name.clone()),
        ("FLOW_RUN_ID".into(), p.run_id.clone()),
        ("FLOW_STEP".into(), p.addr.step.clone()),
        ("FLOW_TASK_ID".into(), p.addr.task_id()),
        ("FLOW_ATTEMPT".into(), p.attempt.to_string()),
        ("FLOW_INPUT".into(), path("input.json")),
        ("FLOW_OUTPUT".into(), path("output.json")),
        ("FLOW_INPUT_DIR".into(), path("input")),
        ("FLOW_OUTPUT_DIR".into(), path("output")),
    ]);
    for (name, v) in &p.params {
        env.push((format!("FLOW_PARAM_{}", name.to_uppercase()), v.to_string()));
    }
    if let (Some(item), Some((_, i))) = (item, p.addr.index.split_last()) {
        env.push(("FLOW_ITEM".into(), item.to_string()));
        env.push(("FLOW_ITEM_INDEX".into(), i.to_string()));
    }
    if join {
        env.push(("FLOW_INPUTS".into(), path("inputs.json")));
    }
    env
}

/// Runs the command in the code directory, streaming stdout and stderr line by line to the
/// console (prefixed with `[TASK_ID] ` when `prefix`) and to `stdout.log` / `stderr.log` in
/// the scratch folder. `on_spawn` receives the command's process id when it started, 0 when
/// it ended. Returns the exit code (128 + signal when killed). Errors: the command cannot be
/// started.
pub fn execute(p: &PreparedTask, prefix: bool, on_spawn: &dyn Fn(u32)) -> Result<i32, TaskError> {
    let mut cmd = Command::new(&p.argv[0]);
    cmd.args(&p.argv[1..])
        .current_dir(&p.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for k in inherited_flow_vars() {
        cmd.env_remove(k);
    }
    cmd.envs(p.env.iter().map(|(k, v)| (k, v)));
    let mut child = cmd.spawn().map_err(|e| {
        TaskError::Usage(format!(
            "step `{}`: cannot start `{}` in {}: {e}",
            p.addr.step,
            p.argv[0],
            p.cwd.display()
        ))
    })?;
    on_spawn(child.id());
    let tag = prefix.then(|| format!("[{}] ", p.addr.task_id()));
    let out = child
        .stdout
        .take()
        .map(|s| pump(s, p.path("stdout.log"), tag.clone(), false));
    let err = child
        .stderr
        .take()
        .map(|s| pump(s, p.path("stderr.log"), tag, true));
    let status = child.wait().map_err(|e| {
        TaskError::Usage(format!(
            "step `{}`: waiting for the command: {e}",
            p.addr.step
        ))
    })?;
    on_spawn(0);
    for h in [out, err].into_iter().flatten() {
        let _ = h.join();
    }
    Ok(exit_code(status))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Copies a stream to a log file and the console, line by line.
fn pump(
    stream: impl Read + Send + 'static,
    log: PathBuf,
    tag: Option<String>,
    to_stderr: bool,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut file = std::fs::File::create(&log).ok();
        let mut reader = BufReader::new(stream);
        let mut line = vec![];
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            if let Some(f) = file.as_mut() {
                let _ = f.write_all(&line);
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\n', '\r']);
            let tag = tag.as_deref().unwrap_or("");
            // A closed console (e.g. `| head`) must not stop the log: errors are ignored.
            let _ = if to_stderr {
                writeln!(std::io::stderr().lock(), "{tag}{text}")
            } else {
                writeln!(std::io::stdout().lock(), "{tag}{text}")
            };
            line.clear();
        }
    })
}

/// Stores the logs and, when `exit_code` is 0, the artifacts, `foreach.json` /
/// `switch.json`, the manifest and `done.json` (which records the attempt's end); otherwise
/// records the failed end in `attempt.json`. Errors: the outputs break the contract (the
/// attempt is recorded as failed by [`run_task`]).
pub fn finish(p: &PreparedTask, exit_code: i32) -> Result<TaskOutcome, TaskError> {
    store_logs(p)?;
    if exit_code != 0 {
        record_failure(
            p,
            Some(exit_code),
            format!("the command exited with code {exit_code}"),
        )?;
        return Ok(TaskOutcome {
            attempt: p.attempt,
            exit_code,
            manifest: None,
        });
    }
    let manifest = store_outputs(p)?;
    Ok(TaskOutcome {
        attempt: p.attempt,
        exit_code: 0,
        manifest: Some(manifest),
    })
}

fn store_outputs(p: &PreparedTask) -> Result<Manifest, TaskError> {
    let mut arts = p.inputs.merged.clone();
    let mut new_values = Map::new();
    for (name, v) in read_output(p)? {
        check_artifact_name(&name)?;
        arts.values.insert(name.clone(), p.ds.put_value(&v)?);
        new_values.insert(name, v);
    }
    let mut files = vec![];
    collect_output_files(&p.path("output"), "", &mut files)?;
    for (name, path) in files {
        arts.files.insert(name, p.ds.put_object_file(&path)?);
    }
    write_control_files(p, &arts)?;
    let manifest = Manifest {
        flow: p.flow.name.clone(),
        run_id: p.run_id.clone(),
        step: p.addr.step.clone(),
        index: p.addr.index.to_string(),
        attempt: p.attempt,
        started: Some(p.started.clone()),
        ended: Some(now()),
        artifacts: arts,
    };
    p.ds.write_done(&manifest, &p.addr)?;
    Ok(manifest)
}

/// `FLOW_OUTPUT`: absent or blank is `{}`; otherwise a JSON object. Errors name the step.
fn read_output(p: &PreparedTask) -> Result<Map<String, Value>, TaskError> {
    let path = p.path("output.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => {
            return Err(TaskError::Invalid(format!(
                "step `{}`: FLOW_OUTPUT is not readable UTF-8 text: {e}",
                p.addr.step
            )))
        }
    };
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(TaskError::Invalid(format!(
            "step `{}`: FLOW_OUTPUT must hold a JSON object of artifacts, found {}",
            p.addr.step,
            json_kind(&other)
        ))),
        Err(e) => Err(TaskError::Invalid(format!(
            "step `{}`: FLOW_OUTPUT is not valid JSON: {e}",
            p.addr.step
        ))),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Regular files under `dir`, as (relative `/` path, path). Errors: a symbolic link or other
/// special file (it could point outside the task).
fn collect_output_files(
    dir: &Path,
    rel: &str,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), TaskError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error("listing", dir, e))?;
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            return Err(TaskError::Invalid(format!(
                "file artifact `{}`: file names in FLOW_OUTPUT_DIR must be UTF-8",
                e.file_name().to_string_lossy()
            )));
        };
        let r = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        check_file_name(&r)?;
        let meta =
            std::fs::symlink_metadata(e.path()).map_err(|x| io_error("reading", &e.path(), x))?;
        if meta.is_dir() {
            collect_output_files(&e.path(), &r, out)?;
        } else if meta.is_file() {
            out.push((r, e.path()));
        } else {
            return Err(TaskError::Invalid(format!(
                "file artifact `{r}`: FLOW_OUTPUT_DIR may hold only regular files and folders (found a symbolic link or special file)"
            )));
        }
    }
    Ok(())
}

/// Stores the attempt's `stdout.log` and `stderr.log` when they are not empty (a missing log,
/// the usual case since a log is created at its stream's first bytes, reads as an empty
/// one; most tasks write nothing to one or both, and each stored file costs the file system
/// a new file).
fn store_logs(p: &PreparedTask) -> Result<(), TaskError> {
    for log in ["stdout.log", "stderr.log"] {
        let path = p.path(log);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
            p.ds.put_log(&p.run_id, &p.addr, p.attempt, log, &path)?;
        }
    }
    Ok(())
}

/// `foreach.json` of a foreach split step, `switch.json` of a switch step.
fn write_control_files(p: &PreparedTask, arts: &Artifacts) -> Result<(), TaskError> {
    let step = p.flow.step(p.step);
    match &step.next {
        Transition::Foreach { over, .. } => {
            let name = over.name();
            let items = visible_value(&p.ds, arts, &p.params, name)?;
            let Some(Value::Array(items)) = items else {
                return Err(TaskError::Invalid(format!(
                    "step `{}`: foreach over `{name}`, which is {}, not a JSON array",
                    step.name,
                    items
                        .as_ref()
                        .map_or("not set (no artifact or parameter of that name)", json_kind)
                )));
            };
            let max = step
                .decorators
                .foreach
                .as_ref()
                .and_then(|f| f.value.max_items);
            if let Some(max) = max.filter(|m| items.len() as u64 > *m) {
                return Err(TaskError::Invalid(format!(
                    "step `{}`: foreach over `{name}` has {} items, more than @foreach(max_items={max})",
                    step.name,
                    items.len()
                )));
            }
            p.ds.write_foreach(&p.run_id, &p.addr, items.len() as u64)
        }
        Transition::Switch { on, .. } => {
            let name = on.name();
            let v = visible_value(&p.ds, arts, &p.params, name)?.ok_or_else(|| {
                TaskError::Invalid(format!(
                    "step `{}`: switch on `{name}`, which is not set (no artifact or parameter of that name)",
                    step.name
                ))
            })?;
            p.ds.write_switch(&p.run_id, &p.addr, &v)
        }
        _ => Ok(()),
    }
}

/// Replaces the attempt record with a failed end (a success ends in `done.json` instead):
/// the command's exit code when it exited, and why the attempt failed.
fn record_failure(
    p: &PreparedTask,
    exit_code: Option<i32>,
    error: String,
) -> Result<(), TaskError> {
    let rec = AttemptRecord {
        status: "failed".into(),
        started: p.started.clone(),
        ended: Some(super::datastore::now()),
        exit_code,
        error: Some(error),
    };
    p.ds.write_attempt_record(&p.run_id, &p.addr, p.attempt, &rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{Key, StoreError};

    /// A `tar.gz` with one entry whose raw name is `name` (bypassing the tar crate's own
    /// checks, as a hostile package would).
    fn raw_package(name: &str, kind: tar::EntryType) -> Vec<u8> {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(1);
        header.set_mode(0o644);
        header.set_entry_type(kind);
        header.set_cksum();
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        tar.append(&header, &b"x"[..]).unwrap();
        tar.into_inner().unwrap().finish().unwrap()
    }

    /// A local store that counts the reads of each key.
    struct CountingStore {
        inner: super::super::LocalStore,
        gets: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    }

    impl ObjectStore for CountingStore {
        fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
            let mut gets = self.gets.lock().unwrap();
            *gets.entry(key.as_str().to_string()).or_default() += 1;
            self.inner.get(key)
        }
        fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
            self.inner.put(key, bytes)
        }
        fn put_if_absent(&self, key: &Key, bytes: &[u8]) -> Result<bool, StoreError> {
            self.inner.put_if_absent(key, bytes)
        }
        fn exists(&self, key: &Key) -> Result<bool, StoreError> {
            self.inner.exists(key)
        }
        fn list(&self, prefix: &Key) -> Result<Vec<Key>, StoreError> {
            self.inner.list(prefix)
        }
        fn location(&self, key: &Key) -> String {
            self.inner.location(key)
        }
    }

    #[test]
    fn a_join_reads_an_object_its_inputs_share_once() {
        let ds = tempfile::tempdir().unwrap();
        let code = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/run");
        let local = || Box::new(super::super::LocalStore::new(ds.path()));
        let req = |step: &str, index: &str| TaskRequest {
            flow: "BenchForeach".into(),
            step: step.into(),
            run_id: "r".into(),
            index: IndexPath::parse(index).unwrap(),
            attempt: None,
            code_dir: code.clone(),
            flow_file: Some(code.join("bench_foreach.flow")),
            console_prefix: false,
        };
        let runs = ds.path().join("BenchForeach/runs/r");
        std::fs::create_dir_all(&runs).unwrap();
        std::fs::write(runs.join("parameters.json"), r#"{"n": 3}"#).unwrap();
        let start = run_task(&req("start", ""), local()).unwrap();
        for i in ["0", "1", "2"] {
            assert_eq!(run_task(&req("work", i), local()).unwrap().exit_code, 0);
        }
        // Every input of the join sees the start step's item list: one read of it, not three.
        let gets = Arc::default();
        let store = CountingStore {
            inner: super::super::LocalStore::new(ds.path()),
            gets: Arc::clone(&gets),
        };
        let p = prepare(&req("join", ""), Box::new(store)).unwrap();
        let items = &start.manifest.unwrap().artifacts.values["items"];
        let key = p.ds.object_key(&items.sha256).unwrap();
        assert_eq!(gets.lock().unwrap().get(key.as_str()), Some(&1));
    }

    #[test]
    fn a_recycled_scratch_folder_comes_back_empty() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), b"x").unwrap();
        let pool = Arc::new(ScratchPool::default());
        let s = Scratch::new(Some(&pool)).unwrap();
        let root = s.path().to_path_buf();
        for d in ["input", "output/sub"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in ["input.json", "input/a", "output/sub/b", "stdout.log"] {
            std::fs::write(root.join(f), b"data").unwrap();
        }
        std::fs::write(root.join("stderr.log"), b"").unwrap();
        set_read_only(&root.join("input/a"));
        std::os::unix::fs::symlink(outside.path(), root.join("output/link")).unwrap();
        s.recycle(&pool);
        let again = Scratch::new(Some(&pool)).unwrap();
        assert_eq!(again.path(), root);
        let mut names: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        // The logs go, even an empty one (the next attempt must not store a log again, and
        // creates its own at its streams' first bytes).
        assert_eq!(names, ["input", "input.json", "output"]);
        assert_eq!(std::fs::read_dir(root.join("input")).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(root.join("output")).unwrap().count(), 0);
        assert!(
            outside.path().join("keep").exists(),
            "a link is removed, not followed"
        );
        drop(again);
        assert!(!root.exists(), "a folder not recycled is deleted");
    }

    #[test]
    fn a_scratch_folder_whose_command_removed_output_is_not_reused() {
        let pool = Arc::new(ScratchPool::default());
        let s = Scratch::new(Some(&pool)).unwrap();
        assert!(!s.reused);
        let root = s.path().to_path_buf();
        std::fs::create_dir(root.join("input")).unwrap();
        s.recycle(&pool);
        assert!(!root.exists(), "a folder without output/ is deleted");
        let fresh = Scratch::new(Some(&pool)).unwrap();
        assert!(!fresh.reused && fresh.path() != root);
        for d in ["input", "output"] {
            std::fs::create_dir(fresh.path().join(d)).unwrap();
        }
        let kept = fresh.path().to_path_buf();
        fresh.recycle(&pool);
        let again = Scratch::new(Some(&pool)).unwrap();
        assert!(again.reused && again.path() == kept);
    }

    #[test]
    fn input_json_is_rewritten_in_place_to_its_new_length() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Datastore::new(Box::new(super::super::LocalStore::new(dir.path())), "F").unwrap();
        let path = dir.path().join("input.json");
        let arts = Artifacts::default();
        let long: Map<String, Value> = serde_json::from_str(r#"{"a": "a long value"}"#).unwrap();
        write_visible_file(&ds, &long, &arts, &path).unwrap();
        let short: Map<String, Value> = serde_json::from_str(r#"{"b": 1}"#).unwrap();
        write_visible_file(&ds, &short, &arts, &path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), r#"{"b":1}"#);
        write_visible_file(&ds, &long, &arts, &path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            r#"{"a":"a long value"}"#
        );
    }

    #[test]
    fn a_task_sees_parameters_then_artifacts_as_stored_json_text() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Datastore::new(Box::new(super::super::LocalStore::new(dir.path())), "F").unwrap();
        let mut arts = Artifacts::default();
        arts.values.insert(
            "c".into(),
            ds.put_value(&serde_json::json!([1, {"k": "v"}])).unwrap(),
        );
        arts.values
            .insert("b".into(), ds.put_value(&serde_json::json!("x")).unwrap());
        let params: Map<String, Value> = serde_json::from_str(r#"{"a": 1, "b": 2}"#).unwrap();
        let mut out = vec![];
        write_visible(&ds, &params, &arts, &mut out).unwrap();
        // An artifact replaces the parameter of its name in place; new names follow.
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":1,"b":"x","c":[1,{"k":"v"}]}"#
        );
    }

    #[test]
    fn package_entries_must_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("p.tar.gz");
        for (name, kind) in [
            ("../evil", tar::EntryType::Regular),
            ("/etc/evil", tar::EntryType::Regular),
            ("a/../../evil", tar::EntryType::Regular),
            ("link", tar::EntryType::Symlink),
        ] {
            std::fs::write(&archive, raw_package(name, kind)).unwrap();
            let e = unpack(&archive, &dir.path().join("out")).unwrap_err();
            assert!(e.contains(name.trim_start_matches('/')), "{name}: {e}");
        }
        assert!(!dir.path().join("evil").exists());
        std::fs::write(&archive, raw_package("sub/ok.txt", tar::EntryType::Regular)).unwrap();
        unpack(&archive, &dir.path().join("out")).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("out/sub/ok.txt")).unwrap(),
            b"x"
        );
    }

    #[test]
    fn package_is_checked_against_its_name() {
        let root = tempfile::tempdir().unwrap();
        let code = tempfile::tempdir().unwrap();
        std::fs::write(
            code.path().join("f.flow"),
            "flow F { step start { run \"true\" } }",
        )
        .unwrap();
        let pkg = crate::aws::package::build(code.path()).unwrap();
        let good = root.path().join("b").join(pkg.key("p", "F"));
        std::fs::create_dir_all(good.parent().unwrap()).unwrap();
        std::fs::write(&good, &pkg.bytes).unwrap();
        let bad = good.with_file_name(format!("{}.tar.gz", "a".repeat(64)));
        std::fs::write(&bad, &pkg.bytes).unwrap();
        let fetch = |url: String| fetch_code_package(&url, Some(root.path()));
        let ok = fetch(format!("s3://b/{}", pkg.key("p", "F")));
        let wrong = fetch(format!("s3://b/p/F/code/{}.tar.gz", "a".repeat(64)));
        let missing = fetch(format!("s3://b/p/F/code/{}.tar.gz", "c".repeat(64)));
        let ok = ok.unwrap();
        assert_eq!(ok.sha256, pkg.sha256);
        assert!(ok.code_dir().join("f.flow").is_file());
        let e = wrong.unwrap_err().to_string();
        assert!(
            e.contains("its SHA-256 is") && e.contains(&pkg.sha256),
            "{e}"
        );
        assert!(missing.unwrap_err().to_string().contains("does not exist"));
    }

    #[test]
    fn package_urls_name_their_hash() {
        let sha = "ab".repeat(32);
        let (b, k, h) = parse_code_package_url(&format!("s3://bk/p/F/code/{sha}.tar.gz")).unwrap();
        assert_eq!(
            (b.as_str(), k.as_str()),
            ("bk", &*format!("p/F/code/{sha}.tar.gz"))
        );
        assert_eq!(h, sha);
        for bad in [
            "http://x/y.tar.gz".to_string(),
            "s3://bk/p/F/code/abc.tar.gz".to_string(),
            format!("s3://bk/p/../{sha}.tar.gz"),
            format!("s3:///{sha}.tar.gz"),
            format!("s3://bk/{sha}.zip"),
        ] {
            assert!(parse_code_package_url(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn task_command_line_matches_the_asl() {
        let argv =
            resolve_task_command("flowc", "F", "s", "r1", &IndexPath(vec![3, 1]), "s3://b/p");
        assert_eq!(
            argv,
            [
                "flowc",
                "task",
                "F",
                "s",
                "--run-id",
                "r1",
                "--index",
                "3.1",
                "--datastore",
                "s3://b/p"
            ]
        );
        let argv = resolve_task_command("flowc", "F", "s", "r1", &IndexPath::default(), "d");
        assert!(!argv.contains(&"--index".to_string()));
    }

    #[test]
    fn names_that_could_escape_are_rejected() {
        for bad in ["", "..", "a/../b", "/abs", "a//b", "a\\b", "a\nb"] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_file_name("sub/ok.txt").is_ok());
        assert!(check_file_name(".hidden").is_ok());
        for bad in ["", "..", "a/b", "a\\b"] {
            assert!(check_artifact_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_artifact_name("my-artifact").is_ok());
    }

    #[test]
    fn parameters_are_type_checked() {
        let src = "flow P { param n: int = 1\n param s: str\n param f: float = 2\n step start { run \"true\" next end } step end { run \"true\" } }";
        let (flow, d) = crate::check(src, &crate::options::CompileOptions::default());
        let flow = flow.unwrap_or_else(|| panic!("{d:?}"));
        let given = |v: Value| v.as_object().cloned().unwrap();
        let ok =
            check_parameters(&flow, &given(serde_json::json!({"s": "x", "extra": 1}))).unwrap();
        assert_eq!(
            Value::Object(ok),
            serde_json::json!({"n": 1, "s": "x", "f": 2})
        );
        let e =
            check_parameters(&flow, &given(serde_json::json!({"s": "x", "n": 1.5}))).unwrap_err();
        assert!(e.to_string().contains("`n` must be of type int"), "{e}");
        let e = check_parameters(&flow, &given(serde_json::json!({}))).unwrap_err();
        assert!(e.to_string().contains("required parameter `s`"), "{e}");
    }
}
