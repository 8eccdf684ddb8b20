//! `flowc interpret FLOW`: run a flow locally on its compiled state machine.
//!
//! The flow is compiled with the datastore `s3://flowc-local` ([`LOCAL_BUCKET`]); the engine's
//! S3 integration and every task see a temporary S3 root whose bucket `flowc-local` is a
//! symbolic link to the local datastore folder, so the keys the ASL writes
//! (`parameters.json`, `error.json`) and the keys the task runtime writes land in the same
//! folder, with the layout of `docs/runtime-layout.md`. Each `batch:submitJob.sync` Task
//! carries the `flowc task …` command line of the Batch job; the runner runs that task's
//! runtime (the same `runtime::task` functions `flowc task` runs) in-process around the step's
//! command, which runs as a local process in its own process group with the flow's folder as
//! working directory; `--task-process` runs the command line itself instead, a `flowc task`
//! child per task ([`tasks`]). [`resume`] clones tasks of an earlier run; [`progress`] is the
//! display; [`inspect`] reads runs back (`flowc runs`, `flowc show`).
//!
//! Interruption: on SIGINT or SIGTERM no new task starts, the running tasks' process groups
//! get SIGTERM (the runtime then records each failed attempt with its logs), and after at
//! most [`GRACE`] the rest are killed; the run is marked `interrupted` in `run.json`. A run
//! whose interpreter was killed stays `running`; both can be continued with `--resume`.

pub mod inspect;
pub mod params;
pub mod progress;
pub mod resume;
pub mod tasks;

pub use inspect::{list_runs, RunSummary};
pub use progress::Display;

use crate::diagnostics::Diagnostic;
use crate::engine::clock::ClockMode;
use crate::engine::definition;
use crate::engine::exec::{self, ExecutionConfig, ExecutionResult, ExecutionStatus};
use crate::engine::integrations::batch::{BatchOptions, LocalBatch, OutputSink, Stream};
use crate::engine::integrations::s3::{S3Folder, S3Integration};
use crate::engine::integrations::Integration;
use crate::options::CompileOptions;
use crate::runtime::datastore::{now, Datastore, ObjectCache, RunMeta};
use crate::runtime::store::{LocalStore, S3_ROOT_ENV};
use progress::{Failure, Progress, StepStats};
use resume::ResumePlan;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tasks::{InProcess, LocalTasks, Shared, TaskHook};

/// The bucket of the datastore URL a locally run flow is compiled with.
pub const LOCAL_BUCKET: &str = "flowc-local";

/// How long interrupted tasks get to record their end after SIGTERM before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

/// Longest run id: a Step Functions execution name has at most 80 characters.
pub const MAX_RUN_ID: usize = 80;

/// Everything `flowc interpret FLOW` takes.
#[derive(Debug, Clone)]
pub struct LocalRunOptions {
    /// The `.flow` file.
    pub flow_file: PathBuf,
    /// `--param NAME=VALUE`, as written.
    pub params: Vec<String>,
    /// `--max-workers`: task commands running at once (the local compute environment's
    /// capacity, [`BatchOptions::slots`]); twice as many tasks are in progress (being set up,
    /// running or storing), which is also the default foreach `MaxConcurrency`.
    pub max_workers: usize,
    /// `--with DECORATOR`, as written.
    pub with: Vec<String>,
    /// `--run-id` (default: `YYYYMMDDTHHMMSSZ-XXXXXX`, UTC time and 6 random hex digits).
    pub run_id: Option<String>,
    /// `--datastore DIR` (default `.flowc/` beside the flow).
    pub datastore: Option<PathBuf>,
    /// `--history FILE`: the execution history (GetExecutionHistory JSON).
    pub history: Option<PathBuf>,
    /// `--clock`.
    pub clock: ClockMode,
    /// `--resume RUN_ID`.
    pub resume: Option<String>,
    /// `--from STEP` (with `resume`).
    pub from: Option<String>,
    /// How progress is shown.
    pub display: Display,
    /// The executable standing for `flowc` in task command lines.
    pub exe: PathBuf,
    /// `--task-process`: run each task as a child `flowc task` process (the Batch job's
    /// command line as it is) instead of running the runtime in-process around the command.
    pub task_process: bool,
}

/// Why a local run could not start.
#[derive(Debug)]
pub enum LocalError {
    /// The flow does not compile: render `diags` against `source`.
    Compile {
        /// The flow's source text.
        source: String,
        /// Errors and warnings.
        diags: Vec<Diagnostic>,
    },
    /// Anything else, one line (unreadable file, bad parameter, unknown origin run…).
    Usage(String),
}

impl std::fmt::Display for LocalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocalError::Compile { diags, .. } => write!(f, "{} compile error(s)", diags.len()),
            LocalError::Usage(s) => f.write_str(s),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// The execution SUCCEEDED.
    Succeeded,
    /// The execution FAILED or TIMED_OUT.
    Failed,
    /// Stopped by SIGINT/SIGTERM.
    Interrupted,
}

impl RunStatus {
    /// `succeeded`, `failed`, `interrupted` (as in `run.json`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// The result of a local run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Flow name.
    pub flow: String,
    /// Run id.
    pub run_id: String,
    /// How it ended.
    pub status: RunStatus,
    /// The execution's error and cause, when it failed.
    pub error: Option<(String, String)>,
    /// Per step counters, in source order.
    pub steps: Vec<(String, StepStats)>,
    /// Tasks whose last attempt failed.
    pub failures: Vec<Failure>,
    /// Tasks cloned from the origin run.
    pub cloned: usize,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The datastore folder.
    pub datastore: PathBuf,
}

/// Compiles and runs a flow locally (see the module docs). Errors: the run could not start
/// ([`LocalError`]); a run that started always yields a [`RunOutcome`].
pub fn run(opts: &LocalRunOptions) -> Result<RunOutcome, LocalError> {
    let usage = |e: String| LocalError::Usage(e);
    let source = std::fs::read_to_string(&opts.flow_file)
        .map_err(|e| usage(format!("cannot read {}: {e}", opts.flow_file.display())))?;
    let compiled = compile(&source, opts)?;
    let flow = &compiled.flow;
    let code_dir = code_dir(&opts.flow_file)?;
    let ds_dir = datastore_dir(opts, &code_dir)?;
    let ds = Datastore::new(Box::new(LocalStore::new(&ds_dir)), &flow.name)
        .map_err(|e| usage(e.to_string()))?;
    let plan = match &opts.resume {
        Some(origin) => Some(
            ResumePlan::new(&ds, flow, origin, opts.from.as_deref())
                .map_err(|e| usage(e.to_string()))?,
        ),
        None => None,
    };
    let parameters = parameters(opts, flow, &ds, plan.as_ref())?;
    let run_id = run_id(opts, &ds)?;
    // Shared by the runner and the in-process tasks (see `config`); set once the origin of a
    // resume is read, as the cache holds only files written once.
    let cache = Arc::new(ObjectCache::default());
    if !opts.task_process {
        // Every attempt record and done.json of the run is then written through this cache
        // (by the runner, or by a task running in-process), so its end need not list it.
        cache.track_run(&run_id);
    }
    let ds = ds.with_cache(cache);
    let sm = definition::parse(&compiled.definition).map_err(|errs| {
        usage(format!(
            "flowc bug: the compiled state machine does not load: {}",
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let s3_root = s3_root(&ds_dir)?;
    // Hashed once per run; every task reads it from the environment instead of hashing the
    // whole code directory again.
    let code_sha256 = crate::runtime::code_hash(&code_dir);
    record_start(&ds, &run_id, &parameters, &code_sha256, plan.as_ref(), opts)?;
    let steps: Vec<String> = flow.steps.iter().map(|s| s.name.clone()).collect();
    let title = format!("{} run {run_id}", flow.name);
    let progress = Arc::new(Progress::new(opts.display, &steps, &title));
    let shared = Arc::new(Shared {
        ds,
        run_id: run_id.clone(),
        resume: plan,
        progress: progress.clone(),
        interrupted: AtomicBool::new(false),
        active: AtomicUsize::new(0),
        cloned: AtomicUsize::new(0),
    });
    let cfg = config(
        opts,
        flow,
        &run_id,
        (&code_dir, &code_sha256),
        s3_root.path(),
        &shared,
    );
    let input = json!({ "Parameters": Value::Object(parameters) });
    let (res, interrupted) = execute(&sm, input, &cfg, &shared);
    progress.stop();
    if let (Some(path), Some(res)) = (&opts.history, &res) {
        let text = serde_json::to_string_pretty(&crate::engine::history::to_json(&res.history))
            .unwrap_or_default();
        std::fs::write(path, text)
            .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let status = match (&res, interrupted) {
        (_, true) | (None, _) => RunStatus::Interrupted,
        (Some(r), _) if r.status == ExecutionStatus::Succeeded => RunStatus::Succeeded,
        _ => RunStatus::Failed,
    };
    let _ = shared.ds.finish_run(&run_id, status.as_str());
    let error = res
        .as_ref()
        .filter(|r| r.status != ExecutionStatus::Succeeded)
        .map(|r| {
            (
                r.error.clone().unwrap_or_default(),
                r.cause.clone().unwrap_or_default(),
            )
        });
    Ok(RunOutcome {
        flow: flow.name.clone(),
        run_id,
        status,
        error,
        steps: progress.steps(),
        failures: progress.failures(),
        cloned: shared.cloned.load(Ordering::SeqCst),
        elapsed: progress.elapsed(),
        datastore: ds_dir,
    })
}

fn compile(source: &str, opts: &LocalRunOptions) -> Result<crate::Compiled, LocalError> {
    let mut co = CompileOptions::default();
    for w in &opts.with {
        let d = crate::options::parse_with(w).map_err(|d| LocalError::Compile {
            source: String::new(),
            diags: vec![d],
        })?;
        co.with.push(d);
    }
    co.max_workers = in_flight(opts);
    co.deploy.datastore = Some(format!("s3://{LOCAL_BUCKET}"));
    crate::compile(source, &co).map_err(|diags| LocalError::Compile {
        source: source.to_string(),
        diags,
    })
}

/// Tasks in progress at once: per `--max-workers` slot, one whose command runs and one being
/// set up or stored. Both the engine's bound on Task invocations and the default foreach
/// `MaxConcurrency` (which keeps the iterations a nested foreach holds in memory at a few per
/// slot, not the 100 per level of a deployed state machine).
fn in_flight(opts: &LocalRunOptions) -> u32 {
    u32::try_from(opts.max_workers.max(1).saturating_mul(2)).unwrap_or(u32::MAX)
}

/// The flow's folder, absolute.
fn code_dir(flow_file: &Path) -> Result<PathBuf, LocalError> {
    let dir = flow_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.canonicalize()
        .map_err(|e| LocalError::Usage(format!("cannot open the folder {}: {e}", dir.display())))
}

fn datastore_dir(opts: &LocalRunOptions, code_dir: &Path) -> Result<PathBuf, LocalError> {
    let dir = opts
        .datastore
        .clone()
        .unwrap_or_else(|| code_dir.join(".flowc"));
    std::fs::create_dir_all(&dir)
        .and_then(|_| dir.canonicalize())
        .map_err(|e| {
            LocalError::Usage(format!(
                "cannot create the datastore {}: {e}",
                dir.display()
            ))
        })
}

/// The run's parameters: `--param` values typed and checked; for a resume, the origin's
/// (which `--param` may not change, as in Metaflow).
fn parameters(
    opts: &LocalRunOptions,
    flow: &crate::ir::Flow,
    ds: &Datastore,
    plan: Option<&ResumePlan>,
) -> Result<Map<String, Value>, LocalError> {
    let Some(plan) = plan else {
        return params::resolve(flow, &opts.params).map_err(LocalError::Usage);
    };
    if !opts.params.is_empty() {
        return Err(LocalError::Usage(
            "--param cannot be used with --resume: a resumed run keeps the parameters of its origin"
                .into(),
        ));
    }
    let given = ds
        .parameters(&plan.origin)
        .map_err(|e| LocalError::Usage(e.to_string()))?
        .unwrap_or_default();
    params::complete(flow, given)
        .map_err(|e| LocalError::Usage(format!("run `{}`: {e}", plan.origin)))
}

/// `--run-id`, checked (`[A-Za-z0-9_-]`, at most 80 characters, not used yet), or a new one.
fn run_id(opts: &LocalRunOptions, ds: &Datastore) -> Result<String, LocalError> {
    let id = match &opts.run_id {
        Some(id) => id.clone(),
        None => new_run_id(),
    };
    let valid = !id.is_empty()
        && id.len() <= MAX_RUN_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(LocalError::Usage(format!(
            "invalid run id `{id}`: use 1 to {MAX_RUN_ID} letters, digits, `-` or `_` (a Step Functions execution name)"
        )));
    }
    let key = ds
        .run_key(&id)
        .map_err(|e| LocalError::Usage(e.to_string()))?;
    let used = !ds.store().list(&key).map(|k| k.is_empty()).unwrap_or(true);
    if used {
        return Err(LocalError::Usage(format!(
            "run `{id}` already exists in {}",
            ds.store().location(&key)
        )));
    }
    Ok(id)
}

/// `YYYYMMDDTHHMMSSZ-XXXXXX`: sorts by start time.
pub fn new_run_id() -> String {
    let t = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let r = uuid::Uuid::new_v4().simple().to_string();
    format!("{t}-{}", &r[..6])
}

/// A temporary S3 root whose bucket [`LOCAL_BUCKET`] is a symbolic link to the datastore.
fn s3_root(ds_dir: &Path) -> Result<tempfile::TempDir, LocalError> {
    let dir = tempfile::Builder::new()
        .prefix("flowc-s3-")
        .tempdir()
        .map_err(|e| LocalError::Usage(format!("cannot create a temporary folder: {e}")))?;
    std::os::unix::fs::symlink(ds_dir, dir.path().join(LOCAL_BUCKET))
        .map_err(|e| LocalError::Usage(format!("cannot link the datastore: {e}")))?;
    Ok(dir)
}

fn record_start(
    ds: &Datastore,
    run_id: &str,
    parameters: &Map<String, Value>,
    code_sha256: &str,
    plan: Option<&ResumePlan>,
    opts: &LocalRunOptions,
) -> Result<(), LocalError> {
    let err = |e: crate::runtime::TaskError| LocalError::Usage(e.to_string());
    let meta = RunMeta {
        flow: ds.flow().to_string(),
        run_id: run_id.to_string(),
        parameters: parameters.clone(),
        code_sha256: code_sha256.to_string(),
        started: now(),
        ended: None,
        status: "running".into(),
        tasks: Default::default(),
    };
    ds.ensure_run_meta(&meta).map_err(err)?;
    if let Some(plan) = plan {
        let note = json!({
            "origin_run": plan.origin,
            "from": opts.from,
            "rerun_roots": plan.roots,
            "rerun_steps": plan.rerun,
        });
        let key = ds.run_key(run_id).map_err(err)?;
        let key = key.join("resume.json").map_err(|e| err(e.into()))?;
        ds.store()
            .put(&key, note.to_string().as_bytes())
            .map_err(|e| err(e.into()))?;
    }
    Ok(())
}

fn config(
    opts: &LocalRunOptions,
    flow: &crate::ir::Flow,
    run_id: &str,
    (code_dir, code_sha256): (&Path, &str),
    s3_root: &Path,
    shared: &Arc<Shared>,
) -> ExecutionConfig {
    let progress = shared.progress.clone();
    let batch = LocalBatch::new(BatchOptions {
        cwd: Some(code_dir.to_path_buf()),
        env: vec![
            (S3_ROOT_ENV.into(), s3_root.display().to_string()),
            (
                crate::runtime::CODE_SHA256_ENV.into(),
                code_sha256.to_string(),
            ),
        ],
        sink: OutputSink::Lines(Arc::new(move |job: &str, w: Stream, line: &str| {
            progress.line(job, w == Stream::Stdout, line)
        })),
        hook: Some(Arc::new(TaskHook {
            exe: opts.exe.clone(),
            // Absolute: tasks run in the code directory, not in the caller's.
            flow_file: std::fs::canonicalize(&opts.flow_file).unwrap_or(opts.flow_file.clone()),
            in_process: (!opts.task_process).then(|| InProcess {
                flow: Arc::new(flow.clone()),
                s3_root: s3_root.to_path_buf(),
                // The bucket is a symbolic link: resolved once here, not by every file
                // operation of every task.
                datastore_dir: std::fs::canonicalize(s3_root.join(LOCAL_BUCKET)).ok(),
                code_dir: code_dir.to_path_buf(),
                // The runner's: what tasks read (manifests, done.json) serves its end too.
                cache: shared.ds.cache().unwrap_or_default(),
                scratch: Arc::default(),
            }),
        })),
        on_process: Some({
            let progress = shared.progress.clone();
            // Job names are task labels, `step` or `step/INDEX`.
            Arc::new(move |job: &str, started: bool| {
                progress.process(job.split('/').next().unwrap_or(job), started)
            })
        }),
        slots: Some(Arc::new(tokio::sync::Semaphore::new(
            opts.max_workers.max(1),
        ))),
        ..BatchOptions::default()
    });
    let folder = Arc::new(S3Folder::new(s3_root));
    let integrations: Vec<Box<dyn Integration>> = vec![
        Box::new(LocalTasks {
            batch,
            shared: shared.clone(),
        }),
        Box::new(S3Integration::new(folder.clone())),
    ];
    ExecutionConfig {
        clock: opts.clock,
        max_workers: in_flight(opts) as usize,
        execution_name: run_id.to_string(),
        state_machine_name: flow.name.clone(),
        integrations: Arc::new(integrations),
        s3: Some(folder),
        keep_payloads: opts.history.is_some(),
        ..ExecutionConfig::default()
    }
}

/// Runs the execution until it ends or a signal stops it; `(None, true)` when it was cut
/// short.
fn execute(
    sm: &definition::StateMachine,
    input: Value,
    cfg: &ExecutionConfig,
    shared: &Arc<Shared>,
) -> (Option<ExecutionResult>, bool) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(_) => return (Some(exec::execute_blocking(sm, input, cfg)), false),
    };
    rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return (Some(exec::execute(sm, input, cfg).await), false);
        };
        let run = exec::execute(sm, input, cfg);
        tokio::pin!(run);
        tokio::select! {
            res = &mut run => return (Some(res), false),
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        shared.interrupted.store(true, Ordering::SeqCst);
        shared
            .progress
            .plain("interrupted: stopping the running tasks (Ctrl-C again to kill them now)");
        tasks::signal_children(libc::SIGTERM);
        let deadline = tokio::time::sleep(GRACE);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                res = &mut run => return (Some(res), true),
                _ = &mut deadline => break,
                _ = int.recv() => break,
                _ = tokio::time::sleep(Duration::from_millis(50)) => {
                    if shared.active.load(Ordering::SeqCst) == 0 { break; }
                }
            }
        }
        // The grace is over, or Ctrl-C came again: kill what is left now, rather than let
        // dropping the execution stop each job with a grace of its own (batch::stop).
        tasks::signal_children(libc::SIGKILL);
        (None, true)
    })
}

/// The end-of-run report for a terminal: the summary table, and for a failed or interrupted
/// run the failing tasks (command, exit code, last stderr lines) and the command line that
/// resumes it. `resume_cmd` is how to call the interpreter on this flow (`flowc interpret
/// FILE [--datastore DIR]`).
pub fn report(o: &RunOutcome, resume_cmd: &str) -> String {
    let tasks: u64 = o.steps.iter().map(|(_, s)| s.done + s.failed).sum();
    let mut out = format!(
        "\nrun {} of {}: {} in {} ({tasks} tasks{})\n",
        o.run_id,
        o.flow,
        o.status.as_str(),
        progress::secs(o.elapsed),
        if o.cloned > 0 {
            format!(", {} cloned", o.cloned)
        } else {
            String::new()
        }
    );
    out.push_str(&progress::summary_table(&o.steps));
    if o.status == RunStatus::Succeeded {
        return out;
    }
    let interrupted = o.status == RunStatus::Interrupted;
    for f in &o.failures {
        out.push_str(&failure_text(f, interrupted));
    }
    if let (true, Some((error, cause))) = (o.failures.is_empty(), &o.error) {
        out.push_str(&format!(
            "\nerror: {error}\n  cause: {}\n",
            clip(cause, 2000)
        ));
    }
    out.push_str(&format!(
        "\nto continue this run (succeeded tasks are cloned, the others run again):\n  {resume_cmd} --resume {}\n",
        o.run_id
    ));
    out
}

/// A failed task: command, exit code, last stderr lines (`interrupted`: stopped by the
/// run's interruption rather than failed on its own).
fn failure_text(f: &Failure, interrupted: bool) -> String {
    // Shown as the ASL builds it: `flowc task …`, without the runner's `--no-prefix`.
    let mut cmd: Vec<String> = f.command.clone();
    if cmd.get(1).map(String::as_str) == Some("task") {
        cmd[0] = "flowc".into();
        cmd.retain(|a| a != "--no-prefix");
    }
    let exit = f
        .exit_code
        .map(|c| format!("exit code {c}"))
        .unwrap_or_else(|| "did not finish".into());
    let mut out = format!(
        "\ntask {} {}: {exit}{}\n  command: {}\n  stderr (last lines):\n",
        f.label,
        if interrupted {
            "was stopped by the interruption"
        } else {
            "failed"
        },
        if f.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", f.reason)
        },
        cmd.join(" ")
    );
    for line in f
        .stderr_tail
        .lines()
        .rev()
        .take(10)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        out.push_str(&format!("    {line}\n"));
    }
    out
}

fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The JSON result of `--json`: `{"run_id","flow","status","datastore","steps":[…],
/// "cloned","failures":[{"task","exit_code","command","stderr_tail"}],"error","cause"}`.
pub fn outcome_json(o: &RunOutcome) -> Value {
    json!({
        "run_id": o.run_id,
        "flow": o.flow,
        "status": o.status.as_str(),
        "datastore": o.datastore,
        "seconds": o.elapsed.as_secs_f64(),
        "cloned": o.cloned,
        "steps": progress::steps_json(&o.steps),
        "failures": o.failures.iter().map(|f| json!({
            "task": f.label, "exit_code": f.exit_code, "command": f.command,
            "stderr_tail": f.stderr_tail, "reason": f.reason,
        })).collect::<Vec<_>>(),
        "error": o.error.as_ref().map(|e| &e.0),
        "cause": o.error.as_ref().map(|e| &e.1),
    })
}
