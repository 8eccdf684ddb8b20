//! The Batch side of a local run: every `batch:submitJob.sync` Task of the compiled state
//! machine runs the `flowc task …` command line it carries as a local process (through
//! [`LocalBatch`]), with the program `flowc` mapped to the running executable. Before a task
//! starts, a resumed run may clone it from its origin instead; each start and end feeds the
//! progress display.

use super::progress::{Failure, Progress};
use super::resume::ResumePlan;
use crate::engine::integrations::batch::{
    BatchHook, JobSpec, LocalBatch, SUBMIT_JOB, SUBMIT_JOB_SYNC,
};
use crate::engine::integrations::{Integration, TaskFuture, TaskRequest};
use crate::engine::StatesError;
use crate::runtime::datastore::{Datastore, IndexPath, TaskAddr};
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
pub struct TaskHook {
    /// `std::env::current_exe()`.
    pub exe: PathBuf,
}

impl BatchHook for TaskHook {
    fn prepare(&self, job: &mut JobSpec) -> Result<(), String> {
        if job.command.first().map(String::as_str) == Some("flowc") {
            job.command[0] = self.exe.display().to_string();
            job.command.push("--no-prefix".into());
        }
        if let Some(t) = task_of(&job.command) {
            job.job_name = label(&t);
        }
        Ok(())
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
    let pos = argv.iter().position(|a| a == "task")?;
    let step = argv.get(pos + 2)?.clone();
    let index = argv
        .iter()
        .position(|a| a == "--index")
        .and_then(|i| argv.get(i + 1))
        .map(|s| IndexPath::parse(s).ok())
        .unwrap_or_else(|| Some(IndexPath::default()))?;
    Some(TaskAddr { step, index })
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
            reason: "stopped: the state timed out or the run was interrupted".into(),
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
        assert_eq!(job.command.last().unwrap(), "--no-prefix");
        assert_eq!(job.job_name, "train/2");
    }
}
