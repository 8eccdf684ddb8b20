//! Running an execution of a state machine, as AWS Step Functions does.
//!
//! [`execute`] runs a parsed [`StateMachine`] on an input and returns an
//! [`ExecutionResult`]: the terminal status, output or error and cause, and the history events
//! AWS's `GetExecutionHistory` would show. Design (see `docs/engine.md`):
//! - one async function per branch of control walks its states; Parallel branches and Map
//!   iterations are futures polled together (`FuturesUnordered`), so they run concurrently
//!   without `'static` bounds or cloning the definition, and Task integrations are awaited
//!   without blocking a thread;
//! - the [`Clock`] is virtual or real; virtual time advances only when every branch waits;
//! - history events go to one shared [`Recorder`] that enforces the 25,000-events quota.

mod flow;
mod multi;
mod recovery;
mod states;
mod task;

pub use recovery::matches_error;

use crate::engine::clock::{Clock, ClockMode};
use crate::engine::definition::{State, StateMachine};
use crate::engine::history::{HistoryEvent, Recorder, HISTORY_LIMIT_CAUSE, MAX_HISTORY_EVENTS};
use crate::engine::integrations::s3::S3Folder;
use crate::engine::integrations::Integration;
use crate::engine::vars::Vars;
use crate::engine::StatesError;
use chrono::{DateTime, SecondsFormat, Utc};
use flow::Site;
use futures::future::BoxFuture;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// AWS Step Functions quota: 256 KiB for a state's input or output, and for an execution's
/// input (counted as UTF-8 bytes of the JSON text).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// How to run an execution.
#[derive(Clone)]
pub struct ExecutionConfig {
    /// Virtual or real clock.
    pub clock: ClockMode,
    /// Upper bound on Task invocations running at once (`--max-workers`), over all branches.
    pub max_workers: usize,
    /// `$$.Execution.Name`.
    pub execution_name: String,
    /// `$$.StateMachine.Name`.
    pub state_machine_name: String,
    /// Task resources, in priority order: the first that serves a request runs it
    /// ([`crate::engine::integrations::select`]).
    pub integrations: Arc<Vec<Box<dyn Integration>>>,
    /// The local folder standing in for S3 (`--s3-root`), read by a Distributed Map's
    /// `ItemReader` and written by its `ResultWriter`.
    pub s3: Option<Arc<S3Folder>>,
    /// Seed of the random source (retry jitter).
    pub seed: u64,
    /// History events quota (AWS: 25,000).
    pub max_history_events: usize,
    /// Keep `input`/`output` payloads in history events.
    pub keep_payloads: bool,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        ExecutionConfig {
            clock: ClockMode::Real,
            max_workers: 16,
            execution_name: "local-execution".to_string(),
            state_machine_name: "local-state-machine".to_string(),
            integrations: Arc::new(Vec::new()),
            s3: None,
            seed: 0,
            max_history_events: MAX_HISTORY_EVENTS,
            keep_payloads: true,
        }
    }
}

impl std::fmt::Debug for ExecutionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionConfig")
            .field("clock", &self.clock)
            .field("max_workers", &self.max_workers)
            .field("execution_name", &self.execution_name)
            .field("integrations", &self.integrations.len())
            .finish()
    }
}

/// Terminal status of an execution (`DescribeExecution.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionStatus {
    /// `SUCCEEDED`.
    Succeeded,
    /// `FAILED`.
    Failed,
    /// `TIMED_OUT` (top-level `TimeoutSeconds` elapsed).
    TimedOut,
}

impl ExecutionStatus {
    /// AWS spelling: `SUCCEEDED`, `FAILED`, `TIMED_OUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
        }
    }
}

/// The outcome of an execution.
#[derive(Debug, Clone)]
pub struct ExecutionResult {
    /// Terminal status.
    pub status: ExecutionStatus,
    /// Output (SUCCEEDED only).
    pub output: Option<Value>,
    /// Error name (FAILED/TIMED_OUT), `None` where AWS gives none.
    pub error: Option<String>,
    /// Cause, `None` where AWS gives none.
    pub cause: Option<String>,
    /// History events, ids from 1.
    pub history: Vec<HistoryEvent>,
}

impl ExecutionResult {
    /// Number of history events (the quantity AWS's 25,000-events quota counts).
    pub fn event_count(&self) -> usize {
        self.history.len()
    }

    /// `{"status":"SUCCEEDED","output":…}` or `{"status":"FAILED","error":…,"cause":…}`.
    pub fn to_json(&self) -> Value {
        match self.status {
            ExecutionStatus::Succeeded => {
                json!({"status": "SUCCEEDED", "output": self.output.clone().unwrap_or(Value::Null)})
            }
            s => json!({"status": s.as_str(), "error": self.error, "cause": self.cause}),
        }
    }
}

/// Runs an execution to its end on the current tokio runtime, then waits until the Batch jobs
/// it stopped from outside have ended ([`crate::engine::integrations::batch::stops_ended`]).
pub async fn execute(sm: &StateMachine, input: Value, cfg: &ExecutionConfig) -> ExecutionResult {
    let ex = Exec::new(cfg, &input);
    let rec = Arc::new(Recorder::new(cfg.max_history_events, cfg.keep_payloads));
    // ExecutionStarted does not chain: the first state's previousEventId is 0, as in AWS.
    rec.record(
        0,
        ex.clock.now(),
        "ExecutionStarted",
        json!({"input": payload(&ex, &input), "roleArn": ROLE_ARN}),
    )
    .ok();
    let mut b = Branch {
        rec: rec.clone(),
        prev: 0,
        vars: Vars::new(),
    };
    let runner = ex.clock.runner();
    let outcome = match sm.timeout_seconds {
        Some(t) => run_with_timeout(&ex, sm, input, &mut b, t).await,
        None => run_machine(&ex, sm, input, &mut b)
            .await
            .map_err(Ending::Failed),
    };
    let (status, output, error, cause) = finish(&ex, &rec, b.prev, outcome);
    drop(runner);
    drop(b);
    let history = Arc::try_unwrap(rec)
        .map(Recorder::into_events)
        .unwrap_or_default();
    // Batch jobs this execution stopped (a failed Parallel branch, a state's timeout) get
    // their grace with their output still read on this runtime.
    crate::engine::integrations::batch::stops_ended().await;
    ExecutionResult {
        status,
        output,
        error,
        cause,
        history,
    }
}

/// Runs an execution on a fresh single-threaded tokio runtime (for callers without one).
pub fn execute_blocking(sm: &StateMachine, input: Value, cfg: &ExecutionConfig) -> ExecutionResult {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(execute(sm, input, cfg)),
        Err(e) => ExecutionResult {
            status: ExecutionStatus::Failed,
            output: None,
            error: Some("States.Runtime".into()),
            cause: Some(format!("cannot start the async runtime: {e}")),
            history: vec![],
        },
    }
}

enum Ending {
    Failed(StatesError),
    TimedOut,
}

async fn run_with_timeout(
    ex: &Exec,
    sm: &StateMachine,
    input: Value,
    b: &mut Branch,
    secs: u64,
) -> Result<Value, Ending> {
    // The timer is a runner of its own from the start, so the clock cannot advance past
    // the deadline before the timer sleeps.
    let timer_runner = ex.clock.runner();
    let timer = async move {
        ex.clock.sleep(Duration::from_secs(secs)).await;
        timer_runner
    };
    tokio::select! {
        r = run_machine(ex, sm, input, b) => r.map_err(Ending::Failed),
        // Dropped (letting the clock move) only once the running branch is dropped too.
        _runner = timer => Err(Ending::TimedOut),
    }
}

type Finished = (
    ExecutionStatus,
    Option<Value>,
    Option<String>,
    Option<String>,
);

fn finish(ex: &Exec, rec: &Recorder, prev: u64, outcome: Result<Value, Ending>) -> Finished {
    let now = ex.clock.now();
    match outcome {
        Ok(out) if exceeds(&out, MAX_PAYLOAD_BYTES) => {
            let e = StatesError::new(
                "States.DataLimitExceeded",
                "The execution output exceeds the maximum number of bytes service limit.",
            );
            finish(ex, rec, prev, Err(Ending::Failed(e)))
        }
        Ok(out) => {
            rec.record_terminal(
                prev,
                now,
                "ExecutionSucceeded",
                json!({"output": payload(ex, &out)}),
            );
            (ExecutionStatus::Succeeded, Some(out), None, None)
        }
        Err(Ending::Failed(e)) => {
            let mut d = Map::new();
            if let Some(er) = &e.error_opt() {
                d.insert("error".into(), json!(er));
            }
            if let Some(c) = &e.cause {
                d.insert("cause".into(), json!(c));
            }
            rec.record_terminal(prev, now, "ExecutionFailed", Value::Object(d));
            (ExecutionStatus::Failed, None, e.error_opt(), e.cause)
        }
        Err(Ending::TimedOut) => {
            rec.record_terminal(
                prev,
                now,
                "ExecutionTimedOut",
                json!({"error": "States.Timeout"}),
            );
            (
                ExecutionStatus::TimedOut,
                None,
                Some("States.Timeout".into()),
                None,
            )
        }
    }
}

trait ErrorOpt {
    fn error_opt(&self) -> Option<String>;
}

impl ErrorOpt for StatesError {
    /// A Fail state without `Error` fails the execution with no error name: represented
    /// internally as an empty name.
    fn error_opt(&self) -> Option<String> {
        (!self.error.is_empty()).then(|| self.error.clone())
    }
}

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/flowc-local-execution";

/// Execution-wide state shared by every branch.
pub(crate) struct Exec {
    cfg: ExecutionConfig,
    clock: Clock,
    /// `$$.Execution` (Id, Input, Name, RoleArn, StartTime, RedriveCount).
    execution: Value,
    /// `$$.StateMachine` (Id, Name).
    state_machine: Value,
    workers: tokio::sync::Semaphore,
    rng: Mutex<ChaCha8Rng>,
}

impl Exec {
    fn new(cfg: &ExecutionConfig, input: &Value) -> Self {
        let clock = Clock::new(cfg.clock);
        let sm = &cfg.state_machine_name;
        let name = &cfg.execution_name;
        Exec {
            execution: json!({
                "Id": format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{sm}:{name}"),
                "Input": input,
                "Name": name,
                "RoleArn": ROLE_ARN,
                "StartTime": timestamp(clock.now()),
                "RedriveCount": 0,
            }),
            state_machine: json!({
                "Id": format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{sm}"),
                "Name": sm,
            }),
            workers: tokio::sync::Semaphore::new(cfg.max_workers.max(1)),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(cfg.seed)),
            cfg: cfg.clone(),
            clock,
        }
    }

    /// A uniform random number in `[0, 1)` from the seeded source.
    fn random(&self) -> f64 {
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .gen::<f64>()
    }

    /// Records an event on branch `b` and advances its `previousEventId` chain.
    fn record(
        &self,
        b: &mut Branch,
        kind: &'static str,
        details: Value,
    ) -> Result<u64, StatesError> {
        let id = b
            .rec
            .record(b.prev, self.clock.now(), kind, details)
            .map_err(|_| StatesError::runtime(HISTORY_LIMIT_CAUSE))?;
        b.prev = id;
        Ok(id)
    }

    /// Records an event that does not become the `previousEventId` of the branch's next
    /// event (AWS: `ExecutionStarted`, `MapIterationSucceeded`/`Failed`, `MapStateSucceeded`,
    /// `ParallelStateSucceeded`).
    fn record_side(
        &self,
        b: &Branch,
        kind: &'static str,
        details: Value,
    ) -> Result<u64, StatesError> {
        b.rec
            .record(b.prev, self.clock.now(), kind, details)
            .map_err(|_| StatesError::runtime(HISTORY_LIMIT_CAUSE))
    }

    /// The context object `$$` for a state entered at `entered` (with `Task.Token` for
    /// `.waitForTaskToken` resources and `Map.Item` in a Map's `ItemSelector`).
    fn context(&self, st: &State, entered: &Entered, map_item: Option<(usize, &Value)>) -> Value {
        let mut c = Map::new();
        c.insert("Execution".into(), self.execution.clone());
        c.insert(
            "State".into(),
            json!({"EnteredTime": timestamp(entered.time), "Name": st.name, "RetryCount": entered.retry_count}),
        );
        c.insert("StateMachine".into(), self.state_machine.clone());
        if let crate::engine::definition::Kind::Task(t) = &st.kind {
            if t.resource.ends_with(".waitForTaskToken") {
                c.insert(
                    "Task".into(),
                    json!({"Token": uuid::Uuid::new_v4().to_string()}),
                );
            }
        }
        if let Some((i, v)) = map_item {
            c.insert("Map".into(), json!({"Item": {"Index": i, "Value": v}}));
        }
        Value::Object(c)
    }
}

/// A branch of control: its history chain and its variables.
pub(crate) struct Branch {
    rec: Arc<Recorder>,
    prev: u64,
    vars: Vars,
}

/// A state entry: its entered time and the current retry count (`$$.State`).
pub(crate) struct Entered {
    time: DateTime<Utc>,
    retry_count: u32,
    /// Set once a Map or Parallel attempt recorded its `…StateStarted` event.
    started: std::sync::atomic::AtomicBool,
}

/// What a state hands to the loop: its output and the next state (`None`: branch ends).
pub(crate) struct Step<'a> {
    output: Value,
    next: Option<&'a str>,
}

/// ISO-8601 with milliseconds and `Z`, as AWS prints times in the context object.
fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A payload for a history event (`Null` when payloads are not kept).
fn payload(ex: &Exec, v: &Value) -> Value {
    if ex.cfg.keep_payloads {
        v.clone()
    } else {
        Value::Null
    }
}

/// Walks a state machine (or branch) from `StartAt` until a state ends it.
pub(crate) fn run_machine<'b>(
    ex: &'b Exec,
    sm: &'b StateMachine,
    input: Value,
    b: &'b mut Branch,
) -> BoxFuture<'b, Result<Value, StatesError>> {
    Box::pin(async move {
        let mut name: &str = &sm.start_at;
        let mut data = input;
        loop {
            let Some(st) = sm.states.get(name) else {
                return Err(StatesError::runtime(format!(
                    "state \"{name}\" does not exist"
                )));
            };
            let step = run_state(ex, st, data, b).await?;
            match step.next {
                Some(n) => {
                    name = n;
                    data = step.output;
                }
                None => return Ok(step.output),
            }
        }
    })
}

fn entered_kind(st: &State) -> (&'static str, &'static str) {
    use crate::engine::definition::Kind::*;
    match &st.kind {
        Pass { .. } => ("PassStateEntered", "PassStateExited"),
        Task(_) => ("TaskStateEntered", "TaskStateExited"),
        Choice { .. } => ("ChoiceStateEntered", "ChoiceStateExited"),
        Wait(_) => ("WaitStateEntered", "WaitStateExited"),
        Succeed => ("SucceedStateEntered", "SucceedStateExited"),
        Fail(_) => ("FailStateEntered", "FailStateExited"),
        Parallel { .. } => ("ParallelStateEntered", "ParallelStateExited"),
        Map(_) => ("MapStateEntered", "MapStateExited"),
    }
}

/// Runs one state: records its entered event, runs it (with Retry/Catch for Task, Parallel
/// and Map), applies its `Assign`, checks the payload quota and records its exited event.
async fn run_state<'b>(
    ex: &'b Exec,
    st: &'b State,
    input: Value,
    b: &mut Branch,
) -> Result<Step<'b>, StatesError> {
    use crate::engine::definition::Kind;
    let (enter_kind, exit_kind) = entered_kind(st);
    let details = json!({"name": st.name, "input": payload(ex, &input)});
    let id = ex.record(b, enter_kind, details)?;
    let mut entered = Entered {
        time: ex.clock.now(),
        retry_count: 0,
        started: std::sync::atomic::AtomicBool::new(false),
    };
    let site = Site {
        state: &st.name,
        entered: id,
    };
    let done = match &st.kind {
        Kind::Pass { result } => states::pass(ex, st, result.as_ref(), input, b, &entered, site),
        Kind::Choice { choices, default } => states::choice(
            ex,
            st,
            choices,
            default.as_deref(),
            input,
            b,
            &entered,
            site,
        ),
        Kind::Wait(w) => states::wait(ex, st, w, input, b, &entered, site).await,
        Kind::Succeed => states::succeed(ex, st, input, b, &entered, site),
        Kind::Fail(f) => return Err(states::fail(ex, st, f, &input, b, &entered, site)),
        Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => {
            recovery::with_retry_catch(ex, st, input, b, &mut entered, site).await
        }
    };
    let (output, next) = done?;
    if exceeds(&output, MAX_PAYLOAD_BYTES) {
        return Err(StatesError::new(
            "States.DataLimitExceeded",
            format!(
                "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                st.name
            ),
        ));
    }
    ex.record(
        b,
        exit_kind,
        json!({"name": st.name, "output": payload(ex, &output)}),
    )?;
    Ok(Step { output, next })
}

/// A finished state: its output, and the next state (`None` ends the branch).
pub(crate) type Done<'b> = Result<(Value, Option<&'b str>), StatesError>;

/// Length of a number's JSON text (no allocation for integers).
fn number_len(n: &serde_json::Number) -> isize {
    let digits = |mut x: u64| {
        let mut d = 1;
        while x >= 10 {
            x /= 10;
            d += 1;
        }
        d
    };
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => digits(u),
        (None, Some(i)) => 1 + digits(i.unsigned_abs()),
        _ => n.to_string().len() as isize,
    }
}

/// Length of a string's JSON text, quotes and escapes included.
fn string_len(s: &str) -> isize {
    let escapes: isize = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum();
    s.len() as isize + 2 + escapes
}

/// True when the compact JSON text of `v` (as serde_json writes it) is longer than `limit`
/// bytes; stops counting once over.
pub fn exceeds(v: &Value, limit: usize) -> bool {
    fn size(v: &Value, budget: &mut isize) {
        if *budget < 0 {
            return;
        }
        match v {
            Value::Null => *budget -= 4,
            Value::Bool(b) => *budget -= if *b { 4 } else { 5 },
            Value::Number(n) => *budget -= number_len(n),
            Value::String(s) => *budget -= string_len(s),
            Value::Array(a) => {
                *budget -= 2 + (a.len() as isize - 1).max(0);
                for x in a {
                    size(x, budget);
                }
            }
            Value::Object(o) => {
                *budget -= 2 + (o.len() as isize - 1).max(0) + o.len() as isize;
                for (k, x) in o {
                    *budget -= string_len(k);
                    size(x, budget);
                }
            }
        }
    }
    let mut budget = limit as isize;
    size(v, &mut budget);
    budget < 0
}

/// Applies `Assign` bindings collected during a state (they take effect after it).
fn apply(b: &mut Branch, bindings: Vec<(String, Value)>) {
    for (k, v) in bindings {
        b.vars.set(k, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_all_does_not_catch_runtime() {
        let all = vec!["States.ALL".to_string()];
        assert!(matches_error(&all, "Custom"));
        assert!(!matches_error(&all, "States.Runtime"));
        assert!(!matches_error(&all, "States.DataLimitExceeded"));
        assert!(matches_error(
            &["States.DataLimitExceeded".to_string()],
            "States.DataLimitExceeded"
        ));
        assert!(!matches_error(
            &["States.TaskFailed".to_string()],
            "States.Timeout"
        ));
    }

    #[test]
    fn exceeds_counts_json_bytes() {
        let v = json!({"a": "x".repeat(100)});
        assert!(!exceeds(&v, 200));
        assert!(exceeds(&v, 50));
        for v in [
            json!([12345, -678]),
            json!({"a\"b": [null, true, 1.5, "x\ny\u{1}"], "c": {}}),
        ] {
            let n = v.to_string().len();
            assert!(!exceeds(&v, n), "{v}");
            assert!(exceeds(&v, n - 1), "{v}");
        }
    }
}
