//! Local AWS Batch: `arn:aws:states:::batch:submitJob.sync` and
//! `arn:aws:states:::batch:submitJob` run the job's `ContainerOverrides.Command` as a local
//! process.
//!
//! What is taken from the parameters (AWS Batch `SubmitJob` request, PascalCase as Step
//! Functions writes it): `JobName`, `JobQueue`, `JobDefinition` (recorded in the result),
//! `ContainerOverrides.Command` (argv, exec'd directly, no shell) and
//! `ContainerOverrides.Environment` (`[{"Name", "Value"}]`, added to the parent environment).
//! Also honoured as AWS Batch does: `Parameters` (an argument `Ref::name` becomes the value
//! of `name`), `RetryStrategy.Attempts` (1–10 runs until one exits 0; `EvaluateOnExit` is
//! not read), `Timeout.AttemptDurationSeconds` (the attempt is stopped as `TerminateJob`
//! stops a job, `SIGTERM` then `SIGKILL` after [`BatchOptions::stop_grace`]; `StatusReason`
//! "Job attempt duration exceeded timeout"), and the variables `AWS_BATCH_JOB_ID`,
//! `AWS_BATCH_JQ_NAME`, `AWS_BATCH_JOB_ATTEMPT` (1-based). The image, resources and array
//! properties are ignored locally.
//!
//! The process runs in its own process group; dropping the task future (cancellation, state
//! timeout enforced by the executor) stops the whole group (`SIGTERM`, then `SIGKILL`: see
//! `stop`), and the end of the job's main process kills it with `SIGKILL` (as AWS Batch stops
//! the container when its essential process exits), so no grandchild outlives its job.
//!
//! Results mimic Step Functions' Batch integration:
//! - `.sync`: the AWS Batch `DescribeJobs` job description with PascalCase keys
//!   (`JobName`, `JobId`, `JobArn`, `JobQueue`, `JobDefinition`, `Status: "SUCCEEDED"`,
//!   `StatusReason`, `Attempts`, `Container`, `CreatedAt`/`StartedAt`/`StoppedAt` in epoch
//!   milliseconds, …);
//! - without `.sync`: the `SubmitJob` response `{JobArn, JobId, JobName}` at once, the
//!   process going on in the background.
//!
//! A failed `.sync` job is the error `States.TaskFailed` whose cause is the JSON job
//! description with `Status: "FAILED"`, as Step Functions reports it. Locally the last lines
//! of the job's stderr are added as `Container.Reason` so the cause says why.

use super::{Integration, TaskFuture, TaskRequest};
use crate::engine::StatesError;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};

mod blocking;
mod stop;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
pub use stop::{kill_stops_now, stops_ended, wait_for_stops};
use tokio::io::{AsyncRead, AsyncReadExt};

/// `Resource` of a Batch job Step Functions waits for.
pub const SUBMIT_JOB_SYNC: &str = "arn:aws:states:::batch:submitJob.sync";
/// `Resource` of a Batch job Step Functions only submits.
pub const SUBMIT_JOB: &str = "arn:aws:states:::batch:submitJob";

/// `StatusReason` AWS Batch gives a job whose container exited (zero or not).
pub const ESSENTIAL_EXITED: &str = "Essential container in task exited";
/// `StatusReason` AWS Batch gives a job whose container could not start.
pub const FAILED_TO_START: &str = "Task failed to start";
/// `StatusReason` AWS Batch gives an attempt stopped by `Timeout.AttemptDurationSeconds`.
pub const TIMED_OUT: &str = "Job attempt duration exceeded timeout";

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The job's standard output.
    Stdout,
    /// The job's standard error.
    Stderr,
}

/// Receives each line a job writes: `(job name, stream, line without its newline)`.
pub type LineCallback = Arc<dyn Fn(&str, Stream, &str) + Send + Sync>;

/// Told a job's name and `true` once its process has started, `false` once it has ended
/// (reaped, or abandoned with its attempt).
pub type ProcessCallback = Arc<dyn Fn(&str, bool) + Send + Sync>;

/// Reports a job's process to [`BatchOptions::on_process`]: started when made, ended when
/// [`ProcessSeen::end`] is called or when dropped (an attempt cancelled while it ran).
pub(super) struct ProcessSeen<'a> {
    on: Option<&'a ProcessCallback>,
    job: &'a str,
}

impl<'a> ProcessSeen<'a> {
    pub(super) fn new(opts: &'a BatchOptions, job: &'a str) -> Self {
        let on = opts.on_process.as_ref();
        if let Some(f) = on {
            f(job, true);
        }
        ProcessSeen { on, job }
    }

    pub(super) fn end(&mut self) {
        if let Some(f) = self.on.take() {
            f(self.job, false);
        }
    }
}

impl Drop for ProcessSeen<'_> {
    fn drop(&mut self) {
        self.end();
    }
}

/// Where the job's output goes. Lines are always read (stderr's last lines feed the failure
/// cause), then handed to the sink.
#[derive(Clone, Default)]
pub enum OutputSink {
    /// Each line to the parent's stdout/stderr, prefixed with `[JobName] ` (the default).
    #[default]
    Prefixed,
    /// Each line to a callback.
    Lines(LineCallback),
    /// Dropped.
    Discard,
}

/// A local job about to start: what the hook may inspect and rewrite.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    /// `JobName` of the request.
    pub job_name: String,
    /// `JobQueue` as written (name or ARN).
    pub job_queue: String,
    /// `JobDefinition` as written (name, `name:revision` or ARN).
    pub job_definition: String,
    /// argv: `ContainerOverrides.Command`.
    pub command: Vec<String>,
    /// `ContainerOverrides.Environment`, in order, on top of the parent environment and
    /// [`BatchOptions::env`].
    pub environment: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
    /// The whole evaluated `Parameters`, for hooks that need more.
    pub parameters: Value,
}

/// Lets a runtime (e.g. `flowc task`) rewrite a job before it starts: wrap the command, add
/// variables, change the directory. An `Err(reason)` fails the job as a start failure with
/// `reason` in `Container.Reason`.
pub trait BatchHook: Send + Sync {
    /// Called once per job, before spawning.
    fn prepare(&self, job: &mut JobSpec) -> Result<(), String>;

    /// Called before each attempt (`attempt` 1-based, as `AWS_BATCH_JOB_ATTEMPT`), on a
    /// blocking thread (it may do file I/O): [`AttemptStart::Spawn`] (the default) runs
    /// `job.command`; a hook that runs the container's runtime in-process instead returns
    /// [`AttemptStart::Wrapped`] or [`AttemptStart::Ended`].
    fn start_attempt(&self, job: &JobSpec, attempt: u32) -> AttemptStart {
        let _ = (job, attempt);
        AttemptStart::Spawn
    }
}

/// How one attempt of a job begins (see [`BatchHook::start_attempt`]).
pub enum AttemptStart {
    /// Spawn the job's command as it is.
    Spawn,
    /// Spawn the wrapper's [`AttemptHook::launch`] process instead, and tell the wrapper how
    /// it ended.
    Wrapped(Box<dyn AttemptHook>),
    /// The attempt ended before any process started, as a container whose runtime exits
    /// early: the exit code and the lines it wrote to stderr (they reach the output sink and
    /// `Container.Reason`).
    Ended {
        /// The attempt's exit code.
        code: i32,
        /// Lines written to stderr.
        stderr: Vec<String>,
    },
}

/// The process an [`AttemptHook`] runs for one attempt. The environment is the parent's,
/// then the AWS Batch variables, [`BatchOptions::env`] and the job's `Environment`, then
/// `env_remove` removed, then `env` added.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Launch {
    /// argv (non-empty).
    pub argv: Vec<String>,
    /// Variables set last.
    pub env: Vec<(String, String)>,
    /// Variables removed before `env` is added.
    pub env_remove: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Files that receive a copy of the process's stdout and stderr, byte for byte: appended
    /// to, created when absent (pass absent or empty files; not truncating an empty file
    /// spares the file system the work of a truncation per process).
    pub logs: Option<(PathBuf, PathBuf)>,
}

/// One attempt run by a runtime in-process around a process (e.g. the local runner running
/// `flowc task`'s work itself around the step's command). Dropped without
/// [`AttemptHook::finish`] when the attempt is cancelled (state timeout, interruption).
pub trait AttemptHook: Send {
    /// The process to run.
    fn launch(&self) -> &Launch;
    /// Called on a blocking thread once the process ended with `code` (128 + signal when
    /// killed; `timed_out` when `Timeout.AttemptDurationSeconds` stopped it); returns the
    /// attempt's exit code (e.g. 1 when the runtime finds the outputs broken) and lines the
    /// runtime adds to stderr.
    fn finish(self: Box<Self>, code: i32, timed_out: bool) -> (i32, Vec<String>);
}

/// Settings of the local Batch integration.
#[derive(Clone)]
pub struct BatchOptions {
    /// Working directory of jobs; `None` is the current directory.
    pub cwd: Option<PathBuf>,
    /// Variables added to every job (below the job's own `Environment`).
    pub env: Vec<(String, String)>,
    /// Where job output goes.
    pub sink: OutputSink,
    /// Optional rewrite of each job before it starts.
    pub hook: Option<Arc<dyn BatchHook>>,
    /// Region used in ARNs (default `us-east-1`).
    pub region: String,
    /// Account used in ARNs (default `123456789012`).
    pub account_id: String,
    /// How many last stderr lines are kept for the failure cause (default 20).
    pub stderr_tail_lines: usize,
    /// The local compute environment's capacity, as the vCPUs of an AWS Batch compute
    /// environment: a permit is held from just before a job's process starts until it is
    /// reaped, so at most this many processes run at once; a job waits for one (as a
    /// `RUNNABLE` job waits in its job queue) after its hook's start and before its end,
    /// which run outside it. `None` (the default): no bound here (the engine's
    /// `max_workers` bounds Task invocations).
    pub slots: Option<Arc<tokio::sync::Semaphore>>,
    /// Told when each job's process starts and ends (e.g. to count what runs now).
    pub on_process: Option<ProcessCallback>,
    /// How long a job stopped from outside (its task future dropped: a state's
    /// `TimeoutSeconds`, a failed or stopped execution) gets between `SIGTERM` and `SIGKILL`
    /// to its process group (default [`STOP_GRACE`]); `SIGKILL` comes earlier when the job's
    /// main process exits first.
    pub stop_grace: Duration,
}

/// Default [`BatchOptions::stop_grace`]: 5 s. AWS Batch on ECS waits 30 s
/// (`ECS_CONTAINER_STOP_TIMEOUT`) before `SIGKILL`; locally an execution that ends waits for
/// the jobs it stopped ([`stops_ended`]), so the wait is shorter.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            cwd: None,
            env: vec![],
            sink: OutputSink::default(),
            hook: None,
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            stderr_tail_lines: 20,
            slots: None,
            on_process: None,
            stop_grace: STOP_GRACE,
        }
    }
}

/// The local AWS Batch integration.
#[derive(Clone, Default)]
pub struct LocalBatch {
    opts: Arc<BatchOptions>,
}

impl LocalBatch {
    /// A Batch integration with `opts`.
    pub fn new(opts: BatchOptions) -> Self {
        LocalBatch {
            opts: Arc::new(opts),
        }
    }
}

impl Integration for LocalBatch {
    fn handles(&self, resource: &str) -> bool {
        resource == SUBMIT_JOB_SYNC || resource == SUBMIT_JOB
    }

    fn invoke(&self, request: TaskRequest) -> TaskFuture<'_> {
        let opts = self.opts.clone();
        Box::pin(async move {
            let job = Job::from_request(&request, &opts)?;
            if request.resource == SUBMIT_JOB_SYNC {
                job.run(&opts).await
            } else {
                let response = job.submit_response();
                tokio::spawn(async move {
                    let _ = job.run(&opts).await;
                });
                Ok(response)
            }
        })
    }
}

/// One submitted job and its identity.
struct Job {
    spec: JobSpec,
    id: String,
    arn: String,
    queue_arn: String,
    definition_arn: String,
    created_at: u64,
    /// `Parameters` of the request (substituted for `Ref::name` command arguments).
    batch_parameters: Value,
    /// `RetryStrategy.Attempts` (1 to 10, default 1).
    max_attempts: u32,
    /// `Timeout.AttemptDurationSeconds`.
    timeout: Option<u64>,
}

impl Job {
    /// Reads the `SubmitJob` parameters.
    ///
    /// Errors: `States.TaskFailed` when `JobName`, `JobQueue` or `JobDefinition` is missing or
    /// not a string, when `ContainerOverrides.Command` is missing (the local runner cannot
    /// read the job definition's command), or when the command/environment is malformed.
    fn from_request(req: &TaskRequest, opts: &BatchOptions) -> Result<Job, StatesError> {
        let p = &req.parameters;
        let field = |name: &str| -> Result<String, StatesError> {
            p.get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad_params(format!("the parameter '{name}' must be a string")))
        };
        let (job_name, job_queue, job_definition) = (
            field("JobName")?,
            field("JobQueue")?,
            field("JobDefinition")?,
        );
        let overrides = p.get("ContainerOverrides").ok_or_else(|| {
            bad_params(
                "the parameter 'ContainerOverrides' is missing: the local Batch runner needs \
                 ContainerOverrides.Command (it cannot read the job definition's command)"
                    .into(),
            )
        })?;
        let batch_parameters = p.get("Parameters").cloned().unwrap_or_else(|| json!({}));
        let command = substitute_refs(read_command(overrides)?, &batch_parameters);
        let environment = read_environment(overrides)?;
        let cwd = match &opts.cwd {
            Some(d) => d.clone(),
            None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        };
        let id = uuid::Uuid::new_v4().to_string();
        let arn_base = format!("arn:aws:batch:{}:{}", opts.region, opts.account_id);
        Ok(Job {
            arn: format!("{arn_base}:job/{id}"),
            queue_arn: to_arn(&arn_base, "job-queue", &job_queue, false),
            definition_arn: to_arn(&arn_base, "job-definition", &job_definition, true),
            id,
            created_at: now_ms(),
            batch_parameters,
            max_attempts: retry_attempts(p)?,
            timeout: attempt_timeout(p)?,
            spec: JobSpec {
                job_name,
                job_queue,
                job_definition,
                command,
                environment,
                cwd,
                parameters: p.clone(),
            },
        })
    }

    /// The AWS Batch `SubmitJob` response.
    fn submit_response(&self) -> Value {
        json!({"JobArn": self.arn, "JobId": self.id, "JobName": self.spec.job_name})
    }

    /// Runs the job to its end, retrying per `RetryStrategy.Attempts`: the job description
    /// when an attempt exits with code 0, `States.TaskFailed` with the FAILED job description
    /// as cause otherwise.
    async fn run(mut self, opts: &Arc<BatchOptions>) -> Result<Value, StatesError> {
        if let Some(hook) = &opts.hook {
            if let Err(reason) = hook.prepare(&mut self.spec) {
                return Err(self.start_failure(reason));
            }
        }
        let mut attempts = vec![];
        for n in 1..=self.max_attempts {
            let started = now_ms();
            let outcome = self.run_attempt(opts, n).await;
            let stopped = now_ms();
            match outcome {
                Err(reason) => return Err(self.start_failure(reason)),
                Ok(o) => {
                    let done = o.code == 0 && !o.timed_out;
                    attempts.push(Attempt {
                        outcome: o,
                        started,
                        stopped,
                    });
                    if done {
                        break;
                    }
                }
            }
        }
        let desc = self.description(&attempts);
        match desc["Status"] == "SUCCEEDED" {
            true => Ok(desc),
            false => Err(StatesError::new("States.TaskFailed", desc.to_string())),
        }
    }

    /// Runs attempt `n` (1-based): the job's command, or what the hook runs in its place.
    /// With a hook, the hook's start, a wrapped process and the hook's end run on one
    /// blocking thread (see [`blocking`]).
    async fn run_attempt(
        &self,
        opts: &Arc<BatchOptions>,
        n: u32,
    ) -> Result<ProcessOutcome, String> {
        let batch_env = self.attempt_env(n);
        let Some(hook) = opts.hook.clone() else {
            return run_process(&self.spec, &self.launch(), opts, &batch_env, self.timeout).await;
        };
        let cancel = Arc::new(blocking::Cancel::default());
        let on_drop = blocking::CancelOnDrop(Some(cancel.clone()));
        let (spec, env, timeout, o) = (
            self.spec.clone(),
            batch_env.clone(),
            self.timeout,
            opts.clone(),
        );
        let ran = tokio::task::spawn_blocking(move || {
            blocking::attempt(hook.as_ref(), &spec, n, &o, (&env, timeout), &cancel)
        })
        .await
        .map_err(|e| format!("the runtime failed during the attempt: {e}"));
        on_drop.disarm();
        match ran? {
            blocking::Ran::Finished(outcome) => outcome,
            blocking::Ran::Cancelled => Err("the attempt was cancelled".into()),
            blocking::Ran::NotWrapped(AttemptStart::Ended { code, stderr }) => {
                Ok(ended_early(&self.spec, opts, code, stderr))
            }
            blocking::Ran::NotWrapped(_) => {
                run_process(&self.spec, &self.launch(), opts, &batch_env, self.timeout).await
            }
        }
    }

    /// The job's own command as a [`Launch`].
    fn launch(&self) -> Launch {
        Launch {
            argv: self.spec.command.clone(),
            cwd: self.spec.cwd.clone(),
            ..Launch::default()
        }
    }

    /// The variables AWS Batch sets in a job's container (attempt `n`, 1-based).
    fn attempt_env(&self, n: u32) -> Vec<(String, String)> {
        vec![
            ("AWS_BATCH_JOB_ID".into(), self.id.clone()),
            (
                "AWS_BATCH_JQ_NAME".into(),
                base_name(&self.spec.job_queue).into(),
            ),
            ("AWS_BATCH_JOB_ATTEMPT".into(), n.to_string()),
        ]
    }

    /// `States.TaskFailed` for a job whose process never started.
    fn start_failure(&self, reason: String) -> StatesError {
        let now = now_ms();
        let mut desc = self.description(&[]);
        desc["Status"] = json!("FAILED");
        desc["StatusReason"] = json!(FAILED_TO_START);
        desc["Container"]["Reason"] = json!(format!("CannotStartContainerError: {reason}"));
        desc["StartedAt"] = json!(now);
        desc["StoppedAt"] = json!(now);
        StatesError::new("States.TaskFailed", desc.to_string())
    }

    fn log_stream(&self) -> String {
        format!(
            "{}/default/{}",
            base_name(&self.spec.job_definition),
            self.id
        )
    }

    /// The `DescribeJobs` job description (PascalCase, as Step Functions returns it), from
    /// the attempts run (none: the process did not start).
    fn description(&self, attempts: &[Attempt]) -> Value {
        let last = attempts.last();
        let ok = last.is_some_and(|a| a.outcome.code == 0 && !a.outcome.timed_out);
        let mut container = Map::new();
        container.insert("Command".into(), json!(self.spec.command));
        container.insert("Environment".into(), env_json(&self.spec.environment));
        if let Some(a) = last {
            container.insert("ExitCode".into(), json!(a.outcome.code));
        }
        container.insert("LogStreamName".into(), json!(self.log_stream()));
        if let Some(a) = last.filter(|a| !ok && !a.outcome.tail.is_empty()) {
            container.insert(
                "Reason".into(),
                json!(Vec::from(a.outcome.tail.clone()).join("\n")),
            );
        }
        let mut desc = json!({
            "Attempts": attempts.iter().map(|a| self.attempt_json(a)).collect::<Vec<_>>(),
            "Container": container,
            "CreatedAt": self.created_at,
            "DependsOn": [],
            "JobArn": self.arn,
            "JobDefinition": self.definition_arn,
            "JobId": self.id,
            "JobName": self.spec.job_name,
            "JobQueue": self.queue_arn,
            "Parameters": self.batch_parameters,
            "Status": if ok { "SUCCEEDED" } else { "FAILED" },
            "StatusReason": last.map(|a| status_reason(&a.outcome)).unwrap_or(FAILED_TO_START),
            "Tags": {},
        });
        if let Some(a) = last {
            desc["StartedAt"] = json!(a.started);
            desc["StoppedAt"] = json!(a.stopped);
        }
        if self.max_attempts > 1 {
            desc["RetryStrategy"] = json!({"Attempts": self.max_attempts});
        }
        if let Some(t) = self.timeout {
            desc["Timeout"] = json!({"AttemptDurationSeconds": t});
        }
        desc
    }

    fn attempt_json(&self, a: &Attempt) -> Value {
        json!({
            "Container": {"ExitCode": a.outcome.code, "LogStreamName": self.log_stream()},
            "StartedAt": a.started,
            "StatusReason": status_reason(&a.outcome),
            "StoppedAt": a.stopped,
        })
    }
}

/// AWS Batch's `StatusReason` of an attempt.
fn status_reason(o: &ProcessOutcome) -> &'static str {
    if o.timed_out {
        TIMED_OUT
    } else {
        ESSENTIAL_EXITED
    }
}

/// One run of the job's process.
struct Attempt {
    outcome: ProcessOutcome,
    started: u64,
    stopped: u64,
}

/// How a process ended.
struct ProcessOutcome {
    /// Exit code (128 + signal when killed by a signal, as a shell reports it).
    code: i32,
    /// Last stderr lines.
    tail: VecDeque<String>,
    /// Stopped because `Timeout.AttemptDurationSeconds` elapsed.
    timed_out: bool,
}

/// `RetryStrategy.Attempts`: 1 to 10 (AWS Batch's range), default 1.
fn retry_attempts(p: &Value) -> Result<u32, StatesError> {
    match p.get("RetryStrategy").and_then(|r| r.get("Attempts")) {
        None => Ok(1),
        Some(v) => match v.as_u64() {
            Some(n @ 1..=10) => Ok(n as u32),
            _ => Err(bad_params(format!(
                "'RetryStrategy.Attempts' must be an integer from 1 to 10, found {v}"
            ))),
        },
    }
}

/// `Timeout.AttemptDurationSeconds`: at least 60 on AWS; any positive number locally.
fn attempt_timeout(p: &Value) -> Result<Option<u64>, StatesError> {
    match p
        .get("Timeout")
        .and_then(|t| t.get("AttemptDurationSeconds"))
    {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => Ok(Some(n)),
            _ => Err(bad_params(format!(
                "'Timeout.AttemptDurationSeconds' must be a positive integer, found {v}"
            ))),
        },
    }
}

/// Replaces each argument `Ref::name` by the string `Parameters.name`, as AWS Batch
/// substitutes job parameters into the command.
fn substitute_refs(command: Vec<String>, params: &Value) -> Vec<String> {
    command
        .into_iter()
        .map(|arg| {
            let value = arg
                .strip_prefix("Ref::")
                .and_then(|name| params.get(name))
                .and_then(Value::as_str);
            value.map(str::to_string).unwrap_or(arg)
        })
        .collect()
}

/// `ContainerOverrides.Command`: a non-empty array of strings.
fn read_command(overrides: &Value) -> Result<Vec<String>, StatesError> {
    let items = overrides
        .get("Command")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad_params(
                "'ContainerOverrides.Command' must be an array of strings (the argv to run)".into(),
            )
        })?;
    let argv: Option<Vec<String>> = items
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect();
    match argv {
        Some(a) if !a.is_empty() => Ok(a),
        Some(_) => Err(bad_params("'ContainerOverrides.Command' is empty".into())),
        None => Err(bad_params(
            "'ContainerOverrides.Command' must contain only strings".into(),
        )),
    }
}

/// `ContainerOverrides.Environment`: `[{"Name": …, "Value": …}]`, absent meaning none.
fn read_environment(overrides: &Value) -> Result<Vec<(String, String)>, StatesError> {
    let Some(list) = overrides.get("Environment") else {
        return Ok(vec![]);
    };
    let bad = || {
        bad_params(
            "'ContainerOverrides.Environment' must be an array of {\"Name\", \"Value\"} strings"
                .into(),
        )
    };
    let list = list.as_array().ok_or_else(bad)?;
    list.iter()
        .map(|e| {
            let name = e.get("Name").and_then(Value::as_str).ok_or_else(bad)?;
            let value = e.get("Value").and_then(Value::as_str).unwrap_or("");
            Ok((name.to_string(), value.to_string()))
        })
        .collect()
}

fn env_json(env: &[(String, String)]) -> Value {
    env.iter()
        .map(|(n, v)| json!({"Name": n, "Value": v}))
        .collect()
}

fn bad_params(why: String) -> StatesError {
    StatesError::new(
        "States.TaskFailed",
        format!("Invalid parameters for the local AWS Batch job: {why}"),
    )
}

/// A name or ARN as an ARN: `arn_base:kind/name` (job definitions get `:1` when they have no
/// revision, standing for the latest active revision AWS would pick).
fn to_arn(arn_base: &str, kind: &str, name: &str, revision: bool) -> String {
    if name.starts_with("arn:") {
        return name.to_string();
    }
    if revision && !name.contains(':') {
        return format!("{arn_base}:{kind}/{name}:1");
    }
    format!("{arn_base}:{kind}/{name}")
}

/// `name` of `name:3` or `arn:…:job-definition/name:3`.
fn base_name(def: &str) -> &str {
    let tail = def.rsplit('/').next().unwrap_or(def);
    tail.split(':').next().unwrap_or(tail)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Sends `SIGKILL` to process group `pgid`, if any.
fn kill_group(pgid: Option<i32>) {
    signal_group(pgid, libc::SIGKILL);
}

/// Sends `sig` to process group `pgid`, if any.
fn signal_group(pgid: Option<i32>, sig: i32) {
    if let Some(pgid) = pgid {
        // SAFETY: killpg only sends a signal; a stale group id yields ESRCH, ignored.
        unsafe {
            libc::killpg(pgid, sig);
        }
    }
}

/// The main process of a job run by [`run_process`]; when dropped while it holds the
/// process (the task future cancelled), stops the job as [`stop`] describes.
struct StopOnDrop {
    child: Option<tokio::process::Child>,
    grace: Duration,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            stop::stop(child, self.grace);
        }
    }
}

/// Kills a process group with `SIGKILL` when dropped (cancellation) or when told to.
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn kill(&mut self) {
        kill_group(self.0.take());
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The outcome of an attempt that ended before its process started (see
/// [`AttemptStart::Ended`]): its stderr lines go to the sink and the tail.
fn ended_early(
    spec: &JobSpec,
    opts: &BatchOptions,
    code: i32,
    stderr: Vec<String>,
) -> ProcessOutcome {
    let mut tail = VecDeque::new();
    for line in stderr {
        emit(&opts.sink, &spec.job_name, Stream::Stderr, &line);
        push_tail(&mut tail, clip(line), opts.stderr_tail_lines);
    }
    ProcessOutcome {
        code,
        tail,
        timed_out: false,
    }
}

/// Appends `line` to the last-lines buffer `tail`, keeping at most `keep` lines.
fn push_tail(tail: &mut VecDeque<String>, line: String, keep: usize) {
    if keep == 0 {
        return;
    }
    if tail.len() == keep {
        tail.pop_front();
    }
    tail.push_back(line);
}

/// Starts the process of `launch` with `spawn(file, argv0, args)`, `file` being its program
/// as found on the `PATH` it gets (cached per run, see [`resolve_program`]); when that file is
/// gone, the system searches `PATH` again. `Err`: an empty command, or why it cannot run.
fn start<T>(
    spec: &JobSpec,
    launch: &Launch,
    opts: &BatchOptions,
    batch_env: &[(String, String)],
    spawn: impl Fn(&Path, &str, &[String]) -> std::io::Result<T>,
) -> Result<T, String> {
    let Some((program, args)) = launch.argv.split_first() else {
        return Err("the command is empty".into());
    };
    let path_var = effective_path(spec, launch, opts, batch_env);
    let resolved = path_var
        .as_deref()
        .and_then(|p| resolve_program(program, p));
    match spawn(
        resolved.as_deref().unwrap_or(Path::new(program)),
        program,
        args,
    ) {
        // The cached file is gone: let the system search PATH again.
        Err(_) if resolved.is_some() => spawn(Path::new(program), program, args),
        other => other,
    }
    .map_err(|e| format!("cannot run {:?} in {}: {e}", program, launch.cwd.display()))
}

/// Spawns `launch` for job `spec` in a new process group (with `batch_env`, the variables
/// AWS Batch sets), streams its output, waits for it or for `timeout` seconds (then kills
/// the group). `Err` when the process could not be spawned. Holds one of
/// [`BatchOptions::slots`] from just before the spawn until the process is reaped, as the
/// blocking runner does.
async fn run_process(
    spec: &JobSpec,
    launch: &Launch,
    opts: &BatchOptions,
    batch_env: &[(String, String)],
    timeout: Option<u64>,
) -> Result<ProcessOutcome, String> {
    let slot = match opts.slots.clone() {
        Some(slots) => slots.acquire_owned().await.ok(),
        None => None,
    };
    let child = start(spec, launch, opts, batch_env, |file, program, args| {
        spawn((file, program), args, spec, launch, opts, batch_env)
    })?;
    let pgid = child.id().map(|p| p as i32);
    // This future dropped before the process is reaped: the job is stopped as AWS Batch's
    // TerminateJob stops it (SIGTERM, then SIGKILL), in the background.
    let mut running = StopOnDrop {
        child: Some(child),
        grace: opts.stop_grace,
    };
    let Some(child) = running.child.as_mut() else {
        return Err("the job's process is gone".into());
    };
    let mut seen = ProcessSeen::new(opts, &spec.job_name);
    let (out_log, err_log) = match &launch.logs {
        Some((o, e)) => (Some(o.clone()), Some(e.clone())),
        None => (None, None),
    };
    let out = child
        .stdout
        .take()
        .map(|s| pump(s, Stream::Stdout, spec, opts, 0, out_log));
    let err = child.stderr.take().map(|s| {
        pump(
            s,
            Stream::Stderr,
            spec,
            opts,
            opts.stderr_tail_lines,
            err_log,
        )
    });
    let waited = match timeout {
        Some(t) => tokio::time::timeout(Duration::from_secs(t), child.wait())
            .await
            .ok(),
        None => Some(child.wait().await),
    };
    let (status, timed_out) = match waited {
        Some(status) => (status, false),
        None => {
            // AWS Batch terminates an attempt past its duration as TerminateJob does.
            signal_group(pgid, libc::SIGTERM);
            let status = match tokio::time::timeout(opts.stop_grace, child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    kill_group(pgid);
                    child.wait().await
                }
            };
            (status, true)
        }
    };
    // Reaped (or waiting failed): nothing is left to stop.
    running.child = None;
    seen.end();
    drop(slot);
    // AWS Batch stops the container when its essential process exits.
    kill_group(pgid);
    if let Some(h) = out {
        let _ = h.await;
    }
    let tail = match err {
        Some(h) => h.await.unwrap_or_default(),
        None => VecDeque::new(),
    };
    let status = status.map_err(|e| format!("waiting for {:?} failed: {e}", launch.argv[0]))?;
    Ok(ProcessOutcome {
        code: exit_code(status),
        tail,
        timed_out,
    })
}

/// The `PATH` the process of `launch` gets: the last of its layers that sets it, else this
/// process's; `None` when a layer removes it or it is unset.
fn effective_path(
    spec: &JobSpec,
    launch: &Launch,
    opts: &BatchOptions,
    batch_env: &[(String, String)],
) -> Option<std::ffi::OsString> {
    let find = |vars: &[(String, String)]| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| std::ffi::OsString::from(v))
    };
    if let Some(v) = find(&launch.env) {
        return Some(v);
    }
    if launch.env_remove.iter().any(|k| k == "PATH") {
        return None;
    }
    find(&spec.environment)
        .or_else(|| find(&opts.env))
        .or_else(|| find(batch_env))
        .or_else(|| std::env::var_os("PATH"))
}

/// Programs already found on a `PATH`: `(PATH, name)` → file.
type PathCache = Mutex<HashMap<(std::ffi::OsString, String), PathBuf>>;

/// The file `program` names when it has no `/`: the first executable `DIR/program` of `path`
/// (as `execvp` searches), remembered for the next jobs. A search in the child costs one
/// failed `execve` per directory before the match, while the runner's thread waits for the
/// child to start; searching once per run keeps that off every task. `None` when `program`
/// has a `/`, `path` has a relative directory (it would depend on the working directory), or
/// nothing matches (the child searches and reports the error).
fn resolve_program(program: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    static CACHE: OnceLock<PathCache> = OnceLock::new();
    if program.is_empty() || program.contains('/') {
        return None;
    }
    let cache = CACHE.get_or_init(PathCache::default);
    let key = (path.to_os_string(), program.to_string());
    if let Some(found) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Some(found.clone());
    }
    let dirs: Vec<PathBuf> = std::env::split_paths(path).collect();
    if dirs.iter().any(|d| !d.is_absolute()) {
        return None;
    }
    let found = dirs
        .into_iter()
        .map(|d| d.join(program))
        .find(|f| is_executable(f))?;
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, found.clone());
    Some(found)
}

fn is_executable(f: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(f).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The command that runs `program` (argv[0] `arg0`) with `args` as the process of `launch`
/// (see [`run_process`]), in a process group of its own.
fn command(
    (program, arg0): (&Path, &str),
    args: &[String],
    spec: &JobSpec,
    launch: &Launch,
    opts: &BatchOptions,
    batch_env: &[(String, String)],
) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(program);
    // argv[0] stays the name the job gave, as when the system searches PATH.
    cmd.arg0(arg0)
        .args(args)
        .envs(batch_env.iter().map(|(k, v)| (k, v)))
        .envs(opts.env.iter().map(|(k, v)| (k, v)))
        .envs(spec.environment.iter().map(|(k, v)| (k, v)));
    for k in &launch.env_remove {
        cmd.env_remove(k);
    }
    cmd.envs(launch.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&launch.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    cmd
}

/// Spawns [`command`] as a tokio child, killed when dropped.
fn spawn(
    program: (&Path, &str),
    args: &[String],
    spec: &JobSpec,
    launch: &Launch,
    opts: &BatchOptions,
    batch_env: &[(String, String)],
) -> std::io::Result<tokio::process::Child> {
    let mut cmd =
        tokio::process::Command::from(command(program, args, spec, launch, opts, batch_env));
    cmd.kill_on_drop(true);
    cmd.spawn()
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// Reads `stream` into an [`OutputLines`] until its end; returns the kept tail.
fn pump<R: AsyncRead + Unpin + Send + 'static>(
    mut stream: R,
    which: Stream,
    spec: &JobSpec,
    opts: &BatchOptions,
    keep: usize,
    log: Option<PathBuf>,
) -> tokio::task::JoinHandle<VecDeque<String>> {
    let mut lines = OutputLines::new(which, log.map(Cow::Owned), keep, opts, &spec.job_name);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => lines.feed(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        lines.end()
    })
}

/// One output stream of a job, split into lines as its bytes arrive: each line goes to the
/// sink, the bytes to the log file, the last `keep` lines (clipped) to the tail. Bytes, not
/// text: invalid UTF-8 is replaced in the line and must not stop the reading (later lines
/// would be lost and the job would get `SIGPIPE`).
struct OutputLines<'a> {
    which: Stream,
    sink: OutputSink,
    job: String,
    /// `None` when there is none or it cannot be created or written: the output still
    /// reaches the sink.
    log: Option<LogFile<'a>>,
    partial: Vec<u8>,
    tail: VecDeque<String>,
    keep: usize,
}

/// The log file of an [`OutputLines`]: created or appended to at the stream's first bytes,
/// so that a stream that stays empty (most commands write nothing to one or both) costs no
/// file system call; a missing log reads as an empty one. Borrowed by a runner that outlives
/// the stream (the blocking one), owned by one that does not (a spawned reading task).
enum LogFile<'a> {
    Unopened(Cow<'a, Path>),
    Open(std::fs::File),
}

impl<'a> OutputLines<'a> {
    fn new(
        which: Stream,
        log: Option<Cow<'a, Path>>,
        keep: usize,
        opts: &BatchOptions,
        job: &str,
    ) -> OutputLines<'a> {
        OutputLines {
            which,
            sink: opts.sink.clone(),
            job: job.to_string(),
            log: log.map(LogFile::Unopened),
            partial: Vec::new(),
            tail: VecDeque::new(),
            keep,
        }
    }

    /// Takes the next bytes of the stream.
    fn feed(&mut self, bytes: &[u8]) {
        if let Some(LogFile::Unopened(path)) = &self.log {
            self.log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
                .map(LogFile::Open);
        }
        if let Some(LogFile::Open(log)) = self.log.as_mut() {
            if log.write_all(bytes).is_err() {
                self.log = None;
            }
        }
        let mut pending = std::mem::take(&mut self.partial);
        pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(i) = pending[start..].iter().position(|&b| b == b'\n') {
            self.line(&pending[start..start + i]);
            start += i + 1;
        }
        pending.drain(..start);
        self.partial = pending;
    }

    /// The end of the stream: the last line, even without its newline, then the tail.
    fn end(mut self) -> VecDeque<String> {
        if !self.partial.is_empty() {
            let last = std::mem::take(&mut self.partial);
            self.line(&last);
        }
        self.tail
    }

    fn line(&mut self, raw: &[u8]) {
        let line = String::from_utf8_lossy(raw);
        let line = line.trim_end_matches(['\n', '\r']);
        emit(&self.sink, &self.job, self.which, line);
        push_tail(&mut self.tail, clip(line.to_string()), self.keep);
    }
}

/// Most characters of one stderr line kept for the failure cause.
const TAIL_LINE_CHARS: usize = 1000;

/// `line` cut to [`TAIL_LINE_CHARS`] characters (marked with `…`).
fn clip(line: String) -> String {
    match line.char_indices().nth(TAIL_LINE_CHARS) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

fn emit(sink: &OutputSink, job: &str, which: Stream, line: &str) {
    match sink {
        // A closed console (e.g. `| head`) must not stop the job: write errors are ignored.
        OutputSink::Prefixed if which == Stream::Stdout => {
            let _ = writeln!(std::io::stdout().lock(), "[{job}] {line}");
        }
        OutputSink::Prefixed => {
            let _ = writeln!(std::io::stderr().lock(), "[{job}] {line}");
        }
        OutputSink::Lines(f) => f(job, which, line),
        OutputSink::Discard => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn request(resource: &str, command: &[&str]) -> TaskRequest {
        TaskRequest {
            resource: resource.into(),
            parameters: json!({
                "JobName": "train",
                "JobQueue": "ml",
                "JobDefinition": "flow-def",
                "ContainerOverrides": {
                    "Command": command,
                    "Environment": [{"Name": "FLOWC_X", "Value": "42"}]
                }
            }),
            state_machine: "sm".into(),
            state: "Train".into(),
            execution_name: "exec".into(),
            attempt: 0,
            timeout_seconds: None,
        }
    }

    fn quiet() -> LocalBatch {
        LocalBatch::new(BatchOptions {
            sink: OutputSink::Discard,
            ..Default::default()
        })
    }

    /// Options of a quiet `LocalBatch` whose jobs run in `dir`.
    fn options_in(dir: &std::path::Path) -> BatchOptions {
        BatchOptions {
            sink: OutputSink::Discard,
            cwd: Some(dir.to_path_buf()),
            ..Default::default()
        }
    }

    #[test]
    fn handles_only_submit_job() {
        let b = quiet();
        assert!(b.handles(SUBMIT_JOB_SYNC));
        assert!(b.handles(SUBMIT_JOB));
        assert!(!b.handles("arn:aws:states:::batch:submitJob.waitForTaskToken"));
        assert!(!b.handles("arn:aws:states:::lambda:invoke"));
    }

    #[tokio::test]
    async fn sync_success_is_a_job_description() {
        let out = quiet()
            .invoke(request(
                SUBMIT_JOB_SYNC,
                &["sh", "-c", "test \"$FLOWC_X\" = 42"],
            ))
            .await
            .unwrap();
        assert_eq!(out["Status"], "SUCCEEDED");
        assert_eq!(out["JobName"], "train");
        assert_eq!(
            out["JobQueue"],
            "arn:aws:batch:us-east-1:123456789012:job-queue/ml"
        );
        assert_eq!(
            out["JobDefinition"],
            "arn:aws:batch:us-east-1:123456789012:job-definition/flow-def:1"
        );
        assert_eq!(out["Container"]["ExitCode"], 0);
        assert_eq!(out["Attempts"][0]["Container"]["ExitCode"], 0);
        assert_eq!(out["Container"]["Environment"][0]["Name"], "FLOWC_X");
        let id = out["JobId"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok());
        assert!(out["StoppedAt"].as_u64().unwrap() >= out["StartedAt"].as_u64().unwrap());
    }

    #[tokio::test]
    async fn nonzero_exit_is_task_failed_with_stderr_tail() {
        let cmd = ["sh", "-c", "echo first >&2; echo boom >&2; exit 3"];
        let err = quiet()
            .invoke(request(SUBMIT_JOB_SYNC, &cmd))
            .await
            .unwrap_err();
        assert_eq!(err.error, "States.TaskFailed");
        let cause: Value = serde_json::from_str(err.cause.as_deref().unwrap()).unwrap();
        assert_eq!(cause["Status"], "FAILED");
        assert_eq!(cause["StatusReason"], ESSENTIAL_EXITED);
        assert_eq!(cause["Container"]["ExitCode"], 3);
        assert_eq!(cause["Container"]["Reason"], "first\nboom");
    }

    #[tokio::test]
    async fn unspawnable_command_fails_to_start() {
        let err = quiet()
            .invoke(request(SUBMIT_JOB_SYNC, &["/nonexistent/flowc-xyz"]))
            .await
            .unwrap_err();
        assert_eq!(err.error, "States.TaskFailed");
        let cause: Value = serde_json::from_str(err.cause.as_deref().unwrap()).unwrap();
        assert_eq!(cause["StatusReason"], FAILED_TO_START);
        let reason = cause["Container"]["Reason"].as_str().unwrap();
        assert!(reason.starts_with("CannotStartContainerError:"), "{reason}");
        assert!(reason.contains("/nonexistent/flowc-xyz"), "{reason}");
    }

    #[tokio::test]
    async fn missing_container_overrides_is_a_clear_failure() {
        let mut req = request(SUBMIT_JOB_SYNC, &["true"]);
        req.parameters
            .as_object_mut()
            .unwrap()
            .remove("ContainerOverrides");
        let err = quiet().invoke(req).await.unwrap_err();
        assert_eq!(err.error, "States.TaskFailed");
        assert!(err.cause.unwrap().contains("ContainerOverrides"));
    }

    #[tokio::test]
    async fn missing_job_name_fails() {
        let mut req = request(SUBMIT_JOB_SYNC, &["true"]);
        req.parameters.as_object_mut().unwrap().remove("JobName");
        let err = quiet().invoke(req).await.unwrap_err();
        assert!(err.cause.unwrap().contains("'JobName'"));
    }

    #[tokio::test]
    async fn submit_without_sync_returns_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("done");
        let script = format!("sleep 0.3; touch {}", marker.display());
        let out = quiet()
            .invoke(request(SUBMIT_JOB, &["sh", "-c", &script]))
            .await
            .unwrap();
        assert_eq!(out.as_object().unwrap().len(), 3);
        assert!(out["JobArn"]
            .as_str()
            .unwrap()
            .ends_with(out["JobId"].as_str().unwrap()));
        assert!(!marker.exists());
        for _ in 0..50 {
            if marker.exists() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the background job did not finish");
    }

    #[tokio::test]
    async fn lines_go_to_the_sink() {
        let seen = Arc::new(Mutex::new(vec![]));
        let s = seen.clone();
        let sink = OutputSink::Lines(Arc::new(move |job: &str, w: Stream, l: &str| {
            s.lock().unwrap().push((job.to_string(), w, l.to_string()))
        }));
        let b = LocalBatch::new(BatchOptions {
            sink,
            ..Default::default()
        });
        b.invoke(request(
            SUBMIT_JOB_SYNC,
            &["sh", "-c", "echo out; echo err >&2"],
        ))
        .await
        .unwrap();
        let seen = seen.lock().unwrap();
        assert!(seen.contains(&("train".into(), Stream::Stdout, "out".into())));
        assert!(seen.contains(&("train".into(), Stream::Stderr, "err".into())));
    }

    /// A process run without a hook is reported when it starts and when it ends, once each
    /// (the blocking runner's counterpart is in `blocking`'s tests).
    #[tokio::test]
    async fn a_process_is_reported_when_it_starts_and_ends() {
        let (on_process, events) = process_events();
        let b = LocalBatch::new(BatchOptions {
            sink: OutputSink::Discard,
            on_process: Some(on_process),
            ..Default::default()
        });
        b.invoke(request(SUBMIT_JOB_SYNC, &["true"])).await.unwrap();
        let seen = events.lock().unwrap().clone();
        assert_eq!(
            seen,
            [("train".to_string(), true), ("train".to_string(), false)]
        );
    }

    /// Process events as [`BatchOptions::on_process`] reports them: `(job name, started)`.
    pub(super) type ProcessEvents = Arc<Mutex<Vec<(String, bool)>>>;

    /// A callback for [`BatchOptions::on_process`] and the events it records.
    pub(super) fn process_events() -> (ProcessCallback, ProcessEvents) {
        let events = ProcessEvents::default();
        let e = events.clone();
        let on: ProcessCallback = Arc::new(move |job: &str, started: bool| {
            e.lock().unwrap().push((job.to_string(), started))
        });
        (on, events)
    }

    fn hooked(hook: impl BatchHook + 'static) -> LocalBatch {
        LocalBatch::new(BatchOptions {
            sink: OutputSink::Discard,
            hook: Some(Arc::new(hook)),
            ..Default::default()
        })
    }

    /// The job description a failed `.sync` job carries as its cause.
    async fn failed(b: &LocalBatch, command: &[&str]) -> Value {
        let err = b
            .invoke(request(SUBMIT_JOB_SYNC, command))
            .await
            .unwrap_err();
        serde_json::from_str(err.cause.as_deref().unwrap()).unwrap()
    }

    struct Wrap;
    impl BatchHook for Wrap {
        fn prepare(&self, job: &mut JobSpec) -> Result<(), String> {
            job.command = vec!["sh".into(), "-c".into(), "exit 7".into()];
            Ok(())
        }
    }

    #[tokio::test]
    async fn hook_rewrites_the_job() {
        let cause = failed(&hooked(Wrap), &["true"]).await;
        assert_eq!(cause["Container"]["ExitCode"], 7);
    }

    /// A runtime that runs its own process around each attempt (as the local runner's
    /// in-process `flowc task` does).
    struct Around {
        dir: PathBuf,
        /// Exit code the runtime reports when the process exited 0.
        after_success: i32,
    }

    struct AroundAttempt {
        launch: Launch,
        after_success: i32,
    }

    impl BatchHook for Around {
        fn prepare(&self, _job: &mut JobSpec) -> Result<(), String> {
            Ok(())
        }

        fn start_attempt(&self, _job: &JobSpec, attempt: u32) -> AttemptStart {
            AttemptStart::Wrapped(Box::new(AroundAttempt {
                launch: Launch {
                    argv: [
                        "sh",
                        "-c",
                        "echo out; echo err >&2; test \"$W\" = 1 && test -z \"$GONE\"",
                    ]
                    .map(String::from)
                    .to_vec(),
                    env: vec![("W".into(), attempt.to_string())],
                    env_remove: vec!["GONE".into()],
                    cwd: self.dir.clone(),
                    logs: Some((self.dir.join("out.log"), self.dir.join("err.log"))),
                },
                after_success: self.after_success,
            }))
        }
    }

    impl AttemptHook for AroundAttempt {
        fn launch(&self) -> &Launch {
            &self.launch
        }

        fn finish(self: Box<Self>, code: i32, _timed_out: bool) -> (i32, Vec<String>) {
            match code {
                0 => (self.after_success, vec!["runtime: outputs checked".into()]),
                c => (c, vec![]),
            }
        }
    }

    fn around(after_success: i32) -> (LocalBatch, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBatch::new(BatchOptions {
            sink: OutputSink::Discard,
            env: vec![("GONE".into(), "set".into())],
            hook: Some(Arc::new(Around {
                dir: dir.path().to_path_buf(),
                after_success,
            })),
            ..Default::default()
        });
        (b, dir)
    }

    #[tokio::test]
    async fn a_wrapping_runtime_runs_its_process_with_its_environment_and_logs() {
        let (b, dir) = around(0);
        let out = b
            .invoke(request(SUBMIT_JOB_SYNC, &["false"]))
            .await
            .unwrap();
        assert_eq!(out["Status"], "SUCCEEDED");
        assert_eq!(out["Container"]["ExitCode"], 0);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out.log")).unwrap(),
            "out\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("err.log")).unwrap(),
            "err\n"
        );
    }

    #[tokio::test]
    async fn a_wrapping_runtime_can_fail_an_attempt_whose_process_succeeded() {
        let (b, _dir) = around(1);
        let cause = failed(&b, &["true"]).await;
        assert_eq!(cause["Status"], "FAILED");
        assert_eq!(cause["Container"]["ExitCode"], 1);
        assert_eq!(
            cause["Container"]["Reason"],
            "err\nruntime: outputs checked"
        );
    }

    struct EndsEarly;

    impl BatchHook for EndsEarly {
        fn prepare(&self, _job: &mut JobSpec) -> Result<(), String> {
            Ok(())
        }

        fn start_attempt(&self, _job: &JobSpec, _attempt: u32) -> AttemptStart {
            AttemptStart::Ended {
                code: 2,
                stderr: vec!["error: no parameters.json".into()],
            }
        }
    }

    #[tokio::test]
    async fn an_attempt_that_ends_before_its_process_fails_the_job() {
        let cause = failed(&hooked(EndsEarly), &["true"]).await;
        assert_eq!(cause["Container"]["ExitCode"], 2);
        assert_eq!(cause["Container"]["Reason"], "error: no parameters.json");
        assert_eq!(cause["StatusReason"], ESSENTIAL_EXITED);
    }

    #[test]
    fn a_log_file_is_created_at_its_streams_first_bytes_only() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options_in(dir.path());
        let silent = dir.path().join("silent.log");
        let lines = OutputLines::new(
            Stream::Stdout,
            Some(silent.as_path().into()),
            0,
            &opts,
            "job",
        );
        assert!(lines.end().is_empty());
        assert!(!silent.exists(), "an empty stream costs no file");

        let talking = dir.path().join("talking.log");
        std::fs::write(&talking, "before\n").unwrap();
        let mut lines = OutputLines::new(
            Stream::Stderr,
            Some(talking.as_path().into()),
            5,
            &opts,
            "job",
        );
        lines.feed(b"one\ntw");
        lines.feed(b"o");
        assert_eq!(lines.end(), ["one", "two"]);
        assert_eq!(
            std::fs::read_to_string(&talking).unwrap(),
            "before\none\ntwo",
            "appended to, byte for byte"
        );
    }

    #[test]
    fn programs_are_found_on_absolute_paths_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("flowc-test-tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.path().join("flowc-plain"), "").unwrap();
        let path = std::env::join_paths(["/nonexistent".into(), dir.path().to_path_buf()]).unwrap();
        assert_eq!(
            resolve_program("flowc-test-tool", &path),
            Some(tool.clone())
        );
        // Remembered: found again without looking.
        assert_eq!(resolve_program("flowc-test-tool", &path), Some(tool));
        assert_eq!(
            resolve_program("flowc-plain", &path),
            None,
            "not executable"
        );
        assert_eq!(resolve_program("./flowc-test-tool", &path), None);
        let relative = std::env::join_paths(["bin", "/usr/bin"]).unwrap();
        assert_eq!(resolve_program("sh", &relative), None);
    }

    #[tokio::test]
    async fn a_job_path_decides_where_its_program_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let mut req = request(SUBMIT_JOB_SYNC, &["flowc-only-here"]);
        let err = quiet().invoke(req.clone()).await.unwrap_err();
        assert!(err.cause.unwrap().contains("cannot run"));
        let tool = dir.path().join("flowc-only-here");
        std::fs::write(&tool, "#!/bin/sh\nexit 0\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        req.parameters["ContainerOverrides"]["Environment"] =
            json!([{"Name": "PATH", "Value": format!("{}:/usr/bin:/bin", dir.path().display())}]);
        let out = quiet().invoke(req).await.unwrap();
        assert_eq!(out["Status"], "SUCCEEDED");
    }

    #[tokio::test]
    async fn retry_strategy_reruns_the_job() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBatch::new(options_in(dir.path()));
        let mut req = request(
            SUBMIT_JOB_SYNC,
            &["sh", "-c", "test \"$AWS_BATCH_JOB_ATTEMPT\" = 3"],
        );
        req.parameters["RetryStrategy"] = json!({"Attempts": 3});
        let out = b.invoke(req).await.unwrap();
        let attempts = out["Attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 3);
        assert_eq!(attempts[0]["Container"]["ExitCode"], 1);
        assert_eq!(attempts[2]["Container"]["ExitCode"], 0);
        assert_eq!(out["RetryStrategy"]["Attempts"], 3);
    }

    /// The attempt gets `SIGTERM` (exit code 143 for a shell without a handler), as AWS
    /// Batch terminates an attempt past its duration.
    #[tokio::test]
    async fn attempt_duration_timeout_fails_the_job() {
        let mut req = request(SUBMIT_JOB_SYNC, &["sh", "-c", "sleep 30 & sleep 30"]);
        req.parameters["Timeout"] = json!({"AttemptDurationSeconds": 1});
        let started = std::time::Instant::now();
        let err = quiet().invoke(req).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        let cause: Value = serde_json::from_str(err.cause.as_deref().unwrap()).unwrap();
        assert_eq!(cause["Status"], "FAILED");
        assert_eq!(cause["StatusReason"], TIMED_OUT);
        assert_eq!(cause["Container"]["ExitCode"], 143);
    }

    /// A command past its attempt duration can clean up on `SIGTERM`; one that ignores it
    /// is killed after the grace (exit code 137).
    #[tokio::test]
    async fn attempt_duration_timeout_sends_sigterm_then_sigkill() {
        let dir = tempfile::tempdir().unwrap();
        let grace = Duration::from_millis(500);
        let b = LocalBatch::new(BatchOptions {
            stop_grace: grace,
            ..options_in(dir.path())
        });
        let job = |script: &str| {
            let mut req = request(SUBMIT_JOB_SYNC, &["sh", "-c", script]);
            req.parameters["Timeout"] = json!({"AttemptDurationSeconds": 1});
            req
        };
        let exit_code = |err: StatesError| -> Value {
            let cause: Value = serde_json::from_str(err.cause.as_deref().unwrap()).unwrap();
            assert_eq!(cause["StatusReason"], TIMED_OUT);
            cause["Container"]["ExitCode"].clone()
        };
        let handled = "trap 'echo cleaned > cleaned; exit 3' TERM; while :; do sleep 0.05; done";
        let err = b.invoke(job(handled)).await.unwrap_err();
        assert_eq!(exit_code(err), 3);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("cleaned")).unwrap(),
            "cleaned\n"
        );
        let started = std::time::Instant::now();
        let ignored = "trap '' TERM; while :; do sleep 0.05; done";
        let err = b.invoke(job(ignored)).await.unwrap_err();
        assert_eq!(exit_code(err), 137);
        assert!(started.elapsed() >= Duration::from_secs(1) + grace);
    }

    #[tokio::test]
    async fn parameters_and_batch_variables_reach_the_command() {
        let mut req = request(
            SUBMIT_JOB_SYNC,
            &["sh", "-c", "test \"$1\" = v && test \"$AWS_BATCH_JQ_NAME\" = ml && test -n \"$AWS_BATCH_JOB_ID\"", "sh", "Ref::p"],
        );
        req.parameters["Parameters"] = json!({"p": "v"});
        let out = quiet().invoke(req).await.unwrap();
        assert_eq!(out["Parameters"], json!({"p": "v"}));
        assert_eq!(out["Container"]["Command"][4], "v");
    }

    #[tokio::test]
    async fn invalid_utf8_output_does_not_block_the_job() {
        // 200 KiB of 0xff bytes (more than a pipe buffer) on stderr before its last line.
        let script =
            "head -c 204800 /dev/zero | tr '\\0' '\\377' >&2; echo >&2; echo last >&2; exit 2";
        let batch = quiet();
        let run = batch.invoke(request(SUBMIT_JOB_SYNC, &["sh", "-c", script]));
        let err = tokio::time::timeout(Duration::from_secs(20), run)
            .await
            .unwrap()
            .unwrap_err();
        let cause: Value = serde_json::from_str(err.cause.as_deref().unwrap()).unwrap();
        let reason = cause["Container"]["Reason"].as_str().unwrap();
        let lines: Vec<&str> = reason.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].chars().count(), TAIL_LINE_CHARS + 1);
        assert_eq!(lines[1], "last");
    }

    struct Empty;
    impl BatchHook for Empty {
        fn prepare(&self, job: &mut JobSpec) -> Result<(), String> {
            job.command.clear();
            Ok(())
        }
    }

    #[tokio::test]
    async fn hook_emptying_the_command_fails_to_start() {
        let cause = failed(&hooked(Empty), &["true"]).await;
        assert_eq!(cause["StatusReason"], FAILED_TO_START);
        assert!(cause["Container"]["Reason"]
            .as_str()
            .unwrap()
            .contains("empty"));
    }

    #[test]
    fn arns_and_names() {
        let base = "arn:aws:batch:r:1";
        assert_eq!(
            to_arn(base, "job-definition", "d:4", true),
            "arn:aws:batch:r:1:job-definition/d:4"
        );
        assert_eq!(to_arn(base, "job-queue", "arn:x", false), "arn:x");
        assert_eq!(base_name("arn:aws:batch:r:1:job-definition/d:4"), "d");
    }
}
