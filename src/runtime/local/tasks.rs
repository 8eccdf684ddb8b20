//! The Batch side of a local run: every `batch:submitJob.sync` Task of the compiled state
//! machine runs the `flowc task …` command line it carries (through [`LocalBatch`], so the
//! result, retries and timeouts are shaped as AWS Batch's). By default the runtime's work
//! (`task::prepare_checked`, `task::finish`) runs in-process around the step's command,
//! which runs as a local process in its own process group: the same functions `flowc task`
//! runs in a Batch container, without starting a second executable and checking the flow
//! again per task. With [`InProcess`] unset, the command line runs as it is, with the
//! program `flowc` mapped to the running executable (a child `flowc task` process per task,
//! byte for byte what the Batch job runs). Before a task starts, a resumed run may clone it
//! from its origin instead; each start and end feeds the progress display.

use super::progress::{Failure, Progress};
use super::resume::ResumePlan;
use crate::engine::integrations::batch::{
    AttemptHook, AttemptStart, BatchHook, JobSpec, Launch, LocalBatch, SUBMIT_JOB, SUBMIT_JOB_SYNC,
};
use crate::engine::integrations::{Integration, TaskFuture, TaskRequest};
use crate::engine::StatesError;
use crate::ir;
use crate::runtime::datastore::{Datastore, IndexPath, ObjectCache, TaskAddr};
use crate::runtime::store::{ObjectStore, StoreSpec};
use crate::runtime::task;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Error name of a task refused because the run is being interrupted.
pub const INTERRUPTED: &str = "flowc.Interrupted";

/// State shared by every task of a local run.
pub struct Shared {
    /// The flow's datastore (for clones).
    pub ds: Datastore,
    /// The run id.
    pub run_id: String,
    /// What to clone, when resuming.
    pub resume: Option<ResumePlan>,
    /// The display.
    pub progress: Arc<Progress>,
    /// Set on SIGINT/SIGTERM: no new task starts.
    pub interrupted: AtomicBool,
    /// Task processes running now.
    pub active: AtomicUsize,
    /// Tasks cloned so far.
    pub cloned: AtomicUsize,
}

/// Maps the ASL's `flowc task …` to the current executable, without the console prefix
/// (the runner prefixes output itself), and names the job `step/INDEX` for the output prefix.
/// With [`TaskHook::in_process`], runs the task's runtime work in this process instead.
pub struct TaskHook {
    /// `std::env::current_exe()`.
    pub exe: PathBuf,
    /// The flow file being run, passed as `--flow-file` so a task does not search the code
    /// directory for the file that defines the flow.
    pub flow_file: PathBuf,
    /// Run the runtime in-process (see the module docs); `None`: a `flowc task` child.
    pub in_process: Option<InProcess>,
}

/// What the in-process runtime needs beyond the task's command line.
pub struct InProcess {
    /// The flow, checked once for the run (with the run's `--with` decorators).
    pub flow: Arc<ir::Flow>,
    /// The folder `s3://BUCKET/PREFIX` datastore URLs map to (as `FLOWC_S3_ROOT` does for a
    /// child `flowc task`).
    pub s3_root: PathBuf,
    /// The folder the run's own bucket ([`super::LOCAL_BUCKET`]) maps to, with symbolic
    /// links resolved; `None`: through `s3_root`.
    pub datastore_dir: Option<PathBuf>,
    /// The code directory (working directory of every command).
    pub code_dir: PathBuf,
    /// Objects read by the run's tasks so far.
    pub cache: Arc<ObjectCache>,
    /// Scratch folders of finished tasks, for the next ones.
    pub scratch: Arc<task::ScratchPool>,
}

impl InProcess {
    /// The store of a task's `--datastore`: S3 URLs map under `s3_root`, the run's own bucket
    /// straight to `datastore_dir`.
    fn open_store(&self, spec: StoreSpec) -> Result<Box<dyn ObjectStore>, String> {
        match (&spec, &self.datastore_dir) {
            (StoreSpec::S3 { bucket, prefix }, Some(dir)) if bucket == super::LOCAL_BUCKET => {
                let dir = prefix
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .fold(dir.clone(), |d, seg| d.join(seg));
                StoreSpec::Local(dir).open(None)
            }
            _ => spec.open(Some(&self.s3_root)),
        }
    }
}

impl BatchHook for TaskHook {
    fn prepare(&self, job: &mut JobSpec) -> Result<(), String> {
        if job.command.first().map(String::as_str) == Some("flowc") {
            job.command[0] = self.exe.display().to_string();
            job.command.push("--no-prefix".into());
            job.command.push("--flow-file".into());
            job.command.push(self.flow_file.display().to_string());
        }
        if let Some(t) = task_of(&job.command) {
            job.job_name = label(&t);
        }
        Ok(())
    }

    fn start_attempt(&self, job: &JobSpec, _attempt: u32) -> AttemptStart {
        let (Some(ip), Some(args)) = (&self.in_process, TaskArgs::parse(&job.command)) else {
            return AttemptStart::Spawn;
        };
        let addr = TaskAddr {
            step: args.step.clone(),
            index: args.index.clone(),
        };
        // As `flowc task` names the task in its messages.
        let what = format!("task {addr} of run {}", args.run_id);
        let ended = |e: crate::runtime::TaskError| AttemptStart::Ended {
            code: e.exit_code(),
            stderr: vec![format!("error: {what}: {e}")],
        };
        let store = match StoreSpec::parse(&args.datastore).and_then(|spec| ip.open_store(spec)) {
            Ok(s) => s,
            Err(e) => return ended(crate::runtime::TaskError::Usage(e)),
        };
        let req = task::TaskRequest {
            flow: ip.flow.name.clone(),
            step: args.step.clone(),
            run_id: args.run_id.clone(),
            index: args.index.clone(),
            attempt: None,
            code_dir: ip.code_dir.clone(),
            flow_file: Some(self.flow_file.clone()),
            console_prefix: false,
        };
        let ds = match Datastore::new(store, &ip.flow.name) {
            Ok(ds) => ds.with_cache(ip.cache.clone()),
            Err(e) => return ended(e),
        };
        match task::prepare_checked(&req, ip.flow.clone(), ds, Some(&ip.scratch)) {
            Ok(p) => {
                AttemptStart::Wrapped(Box::new(InProcessAttempt::new(p, what, ip.scratch.clone())))
            }
            Err(e) => ended(e),
        }
    }
}

/// The arguments of a `flowc task FLOW STEP --run-id R [--index I] --datastore D …` argv.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskArgs {
    /// FLOW.
    pub flow: String,
    /// STEP.
    pub step: String,
    /// `--run-id`.
    pub run_id: String,
    /// `--index` (empty when absent).
    pub index: IndexPath,
    /// `--datastore`.
    pub datastore: String,
}

impl TaskArgs {
    /// Reads the command line the compiled ASL builds (see `docs/runtime-layout.md`, "The
    /// `flowc task` command line"); `None` for any other command or a malformed one.
    pub fn parse(argv: &[String]) -> Option<TaskArgs> {
        let pos = argv.iter().position(|a| a == "task")?;
        let value = |flag: &str| {
            argv.iter()
                .position(|a| a == flag)
                .and_then(|i| argv.get(i + 1))
                .cloned()
        };
        Some(TaskArgs {
            flow: argv.get(pos + 1)?.clone(),
            step: argv.get(pos + 2)?.clone(),
            run_id: value("--run-id")?,
            index: match value("--index") {
                Some(i) => IndexPath::parse(&i).ok()?,
                None => IndexPath::default(),
            },
            datastore: value("--datastore")?,
        })
    }
}

/// One in-process task attempt around its command. Dropped before
/// [`AttemptHook::finish`] (the state timed out, the run was interrupted), it stores the
/// logs so far and records the attempt as failed, as `flowc task` does on SIGTERM.
struct InProcessAttempt {
    task: Option<task::PreparedTask>,
    launch: Launch,
    what: String,
    scratch: Arc<task::ScratchPool>,
}

impl InProcessAttempt {
    fn new(
        p: task::PreparedTask,
        what: String,
        scratch: Arc<task::ScratchPool>,
    ) -> InProcessAttempt {
        let launch = Launch {
            argv: p.argv.clone(),
            env: p.env.clone(),
            env_remove: task::inherited_flow_vars().to_vec(),
            cwd: p.cwd.clone(),
            logs: Some(p.log_paths()),
        };
        InProcessAttempt {
            task: Some(p),
            launch,
            what,
            scratch,
        }
    }
}

impl AttemptHook for InProcessAttempt {
    fn launch(&self) -> &Launch {
        &self.launch
    }

    fn finish(mut self: Box<Self>, code: i32, timed_out: bool) -> (i32, Vec<String>) {
        let Some(p) = self.task.take() else {
            return (code, vec![]);
        };
        let what = &self.what;
        let result = task::finish_recorded(&p, code);
        // The command has ended and its outputs are stored: the folder can serve again.
        p.work.recycle(&self.scratch);
        match result {
            Ok(o) if o.exit_code == 0 => (0, vec![]),
            Ok(o) => {
                let how = match timed_out {
                    true => "was stopped by the job's attempt timeout".to_string(),
                    false => format!("exited with code {}", o.exit_code),
                };
                let line = format!(
                    "error: {what}: attempt {} failed: the command {how}",
                    o.attempt
                );
                (o.exit_code, vec![line])
            }
            Err(e) => (e.exit_code(), vec![format!("error: {what}: {e}")]),
        }
    }
}

/// Why a task ended without an exit code of its own: its task future was dropped.
const STOPPED: &str =
    "stopped from outside: its state timed out, another branch failed or the run was interrupted";

impl Drop for InProcessAttempt {
    fn drop(&mut self) {
        if let Some(p) = self.task.take() {
            let _ = task::abandon(&p, STOPPED);
        }
    }
}

/// `step` or `step/INDEX`: how a task is named on the console.
pub fn label(t: &TaskAddr) -> String {
    if t.index.depth() == 0 {
        t.step.clone()
    } else {
        format!("{}/{}", t.step, t.index)
    }
}

/// The task named by a `flowc task FLOW STEP --run-id R [--index I] …` argv.
pub fn task_of(argv: &[String]) -> Option<TaskAddr> {
    TaskArgs::parse(argv).map(|a| TaskAddr {
        step: a.step,
        index: a.index,
    })
}

fn command_of(parameters: &Value) -> Vec<String> {
    parameters["ContainerOverrides"]["Command"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The Batch integration of a local run.
pub struct LocalTasks {
    /// Runs the processes.
    pub batch: LocalBatch,
    /// Run state.
    pub shared: Arc<Shared>,
}

/// One running task attempt: counts it active, and reports its end to the display, also
/// when the invocation is dropped (a state timeout or an interruption cancelled it).
struct Running<'a> {
    shared: &'a Shared,
    task: TaskAddr,
    attempt: u32,
    start: Instant,
    ended: bool,
}

impl<'a> Running<'a> {
    fn start(shared: &'a Shared, task: TaskAddr, attempt: u32) -> Running<'a> {
        shared.active.fetch_add(1, Ordering::SeqCst);
        shared.progress.started(&task.step, attempt);
        Running {
            shared,
            task,
            attempt,
            start: Instant::now(),
            ended: false,
        }
    }

    fn end(&mut self, failure: Option<Failure>) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        self.shared.active.fetch_sub(1, Ordering::SeqCst);
        let lbl = label(&self.task);
        self.shared.progress.finished(
            &self.task.step,
            &lbl,
            self.attempt,
            self.start.elapsed(),
            failure,
        );
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let f = Failure {
            label: label(&self.task),
            command: vec![],
            exit_code: None,
            stderr_tail: String::new(),
            reason: STOPPED.into(),
        };
        self.end(Some(f));
    }
}

impl LocalTasks {
    fn clone_task(&self, t: &TaskAddr) -> Result<bool, StatesError> {
        let Some(plan) = &self.shared.resume else {
            return Ok(false);
        };
        let s = &self.shared;
        let done = plan
            .try_clone(&s.ds, &s.run_id, t)
            .map_err(|e| StatesError::new("States.TaskFailed", format!("cloning task {t}: {e}")))?;
        if done {
            s.cloned.fetch_add(1, Ordering::SeqCst);
            s.progress.cloned(&t.step, &label(t));
        }
        Ok(done)
    }

    async fn run(&self, request: TaskRequest) -> Result<Value, StatesError> {
        let s = &self.shared;
        if s.interrupted.load(Ordering::SeqCst) {
            return Err(StatesError::new(INTERRUPTED, "the run was interrupted"));
        }
        let Some(t) = task_of(&command_of(&request.parameters)) else {
            return self.batch.invoke(request).await;
        };
        if self.clone_task(&t)? {
            return Ok(
                json!({"Status": "SUCCEEDED", "JobName": label(&t), "ClonedFrom": s.resume.as_ref().map(|p| p.origin.clone())}),
            );
        }
        let lbl = label(&t);
        let mut running = Running::start(s, t, request.attempt);
        let result = self.batch.invoke(request).await;
        let failure = result
            .as_ref()
            .err()
            .map(|e| Failure::from_cause(&lbl, e.cause.as_deref().unwrap_or(&e.error)));
        running.end(failure);
        result
    }
}

impl Integration for LocalTasks {
    fn handles(&self, resource: &str) -> bool {
        resource == SUBMIT_JOB_SYNC || resource == SUBMIT_JOB
    }

    fn invoke(&self, request: TaskRequest) -> TaskFuture<'_> {
        Box::pin(self.run(request))
    }
}

/// Sends `sig` to the process group of every child of this process (each task runs in its
/// own group, led by the `flowc task` process). Linux: reads `/proc/self/task/*/children`.
/// Returns how many groups were signalled.
pub fn signal_children(sig: i32) -> usize {
    let mut n = 0;
    let Ok(threads) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    for t in threads.flatten() {
        let Ok(text) = std::fs::read_to_string(t.path().join("children")) else {
            continue;
        };
        for pid in text
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            // SAFETY: killpg only sends a signal; a group that is gone yields ESRCH.
            if unsafe { libc::killpg(pid, sig) } == 0 {
                n += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn the_task_is_read_from_the_command_line() {
        let t = task_of(&argv(
            "flowc task F train --run-id r --index 3.1 --datastore s3://b",
        ))
        .unwrap();
        assert_eq!(label(&t), "train/3.1");
        let t = task_of(&argv("flowc task F start --run-id r --datastore s3://b")).unwrap();
        assert_eq!(label(&t), "start");
        assert!(task_of(&argv("sh -c true")).is_none());
    }

    #[test]
    fn the_hook_maps_flowc_to_the_executable() {
        let hook = TaskHook {
            exe: "/x/flowc".into(),
            flow_file: "/code/f.flow".into(),
            in_process: None,
        };
        let mut job = JobSpec {
            job_name: "flowc-F-train".into(),
            job_queue: "q".into(),
            job_definition: "d".into(),
            command: argv("flowc task F train --run-id r --index 2 --datastore s3://b"),
            environment: vec![],
            cwd: ".".into(),
            parameters: Value::Null,
        };
        hook.prepare(&mut job).unwrap();
        assert_eq!(job.command[0], "/x/flowc");
        assert_eq!(
            job.command[job.command.len() - 3..],
            ["--no-prefix", "--flow-file", "/code/f.flow"]
        );
        assert_eq!(job.job_name, "train/2");
    }
}
