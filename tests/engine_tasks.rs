//! Task-state behaviour the AWS-recorded corpus lacks: Retry (intervals, backoff, jitter,
//! MaxAttempts), Catch (ResultPath, Assign), TimeoutSeconds / HeartbeatSeconds, ResultSelector,
//! the 256 KiB payload quota, the missing-integration failure, worker limits and real
//! concurrency. A scripted test integration stands in for real resources.

use flowc::engine::clock::ClockMode;
use flowc::engine::definition;
use flowc::engine::exec::{execute, ExecutionConfig, ExecutionResult, ExecutionStatus};
use flowc::engine::integrations::{Integration, TaskFuture, TaskRequest};
use flowc::engine::StatesError;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A test resource `test:<anything>`: fails its first `fail_first` calls with `Boom`, sleeps
/// `sleep` (real time), then returns its parameters (or `result` when set).
#[derive(Default)]
struct Scripted {
    fail_first: usize,
    sleep: Duration,
    result: Option<Value>,
    calls: AtomicUsize,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

struct Shared(Arc<Scripted>);

impl Integration for Shared {
    fn handles(&self, resource: &str) -> bool {
        resource.starts_with("test:")
    }

    fn invoke(&self, request: TaskRequest) -> TaskFuture<'_> {
        let s = self.0.clone();
        Box::pin(async move {
            let n = s.calls.fetch_add(1, Ordering::SeqCst);
            let now = s.running.fetch_add(1, Ordering::SeqCst) + 1;
            s.max_running.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(s.sleep).await;
            s.running.fetch_sub(1, Ordering::SeqCst);
            if n < s.fail_first {
                return Err(StatesError::new("Boom", format!("call {n} failed")));
            }
            Ok(s.result.clone().unwrap_or(request.parameters))
        })
    }
}

async fn run_with(def: Value, input: Value, s: Arc<Scripted>, workers: usize) -> ExecutionResult {
    let sm = definition::parse(&def).expect("valid definition");
    let cfg = ExecutionConfig {
        clock: ClockMode::Virtual,
        max_workers: workers,
        integrations: Arc::new(vec![Box::new(Shared(s)) as Box<dyn Integration>]),
        ..ExecutionConfig::default()
    };
    execute(&sm, input, &cfg).await
}

async fn run(def: Value, s: Arc<Scripted>) -> ExecutionResult {
    run_with(def, json!({"in": 1}), s, 8).await
}

fn kinds(r: &ExecutionResult) -> Vec<&'static str> {
    r.history.iter().map(|e| e.kind).collect()
}

fn task(extra: Value) -> Value {
    let mut t = json!({"Type": "Task", "Resource": "test:echo", "End": true});
    if let (Some(t), Some(e)) = (t.as_object_mut(), extra.as_object()) {
        t.extend(e.clone());
    }
    json!({"StartAt": "T", "States": {"T": t}})
}

#[tokio::test]
async fn retry_waits_with_backoff_then_succeeds() {
    let s = Arc::new(Scripted {
        fail_first: 2,
        ..Default::default()
    });
    let def = task(json!({
        "Parameters": {"rc.$": "$$.State.RetryCount"},
        "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 5, "MaxAttempts": 3, "BackoffRate": 2}]
    }));
    let r = run(def, s.clone()).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{:?}", r.to_json());
    assert_eq!(r.output, Some(json!({"rc": 2})));
    assert_eq!(s.calls.load(Ordering::SeqCst), 3);
    let failed: Vec<_> = r
        .history
        .iter()
        .filter(|e| e.kind == "TaskFailed")
        .map(|e| e.timestamp)
        .collect();
    let scheduled: Vec<_> = r
        .history
        .iter()
        .filter(|e| e.kind == "TaskScheduled")
        .map(|e| e.timestamp)
        .collect();
    assert_eq!((scheduled[1] - failed[0]).num_seconds(), 5);
    assert_eq!((scheduled[2] - failed[1]).num_seconds(), 10);
    assert_eq!(
        kinds(&r),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test]
async fn retry_max_delay_caps_interval() {
    let s = Arc::new(Scripted {
        fail_first: 2,
        ..Default::default()
    });
    let def = task(
        json!({"Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10,
        "BackoffRate": 10, "MaxDelaySeconds": 15}]}),
    );
    let r = run(def, s).await;
    let t: Vec<_> = r
        .history
        .iter()
        .filter(|e| e.kind == "TaskScheduled")
        .map(|e| e.timestamp)
        .collect();
    assert_eq!((t[2] - t[1]).num_seconds(), 15);
}

#[tokio::test]
async fn retries_exhausted_fail_with_the_task_error() {
    let s = Arc::new(Scripted {
        fail_first: 10,
        ..Default::default()
    });
    let def = task(json!({"Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 2}]}));
    let r = run(def, s.clone()).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("Boom"));
    assert_eq!(r.cause.as_deref(), Some("call 2 failed"));
    assert_eq!(s.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn max_attempts_zero_never_retries() {
    let s = Arc::new(Scripted {
        fail_first: 1,
        ..Default::default()
    });
    let def = task(json!({"Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 0}]}));
    let r = run(def, s.clone()).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(s.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn full_jitter_is_seeded() {
    async fn delays(seed: u64) -> Vec<i64> {
        let s = Arc::new(Scripted {
            fail_first: 3,
            ..Default::default()
        });
        let def = task(
            json!({"Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 100,
            "MaxAttempts": 3, "JitterStrategy": "FULL"}]}),
        );
        let sm = definition::parse(&def).expect("valid");
        let cfg = ExecutionConfig {
            clock: ClockMode::Virtual,
            seed,
            integrations: Arc::new(vec![Box::new(Shared(s)) as Box<dyn Integration>]),
            ..ExecutionConfig::default()
        };
        let r = execute(&sm, json!({}), &cfg).await;
        let t: Vec<_> = r
            .history
            .iter()
            .filter(|e| e.kind == "TaskScheduled")
            .map(|e| e.timestamp)
            .collect();
        t.windows(2)
            .map(|w| (w[1] - w[0]).num_milliseconds())
            .collect()
    }
    let a = delays(7).await;
    assert_eq!(a, delays(7).await);
    assert_ne!(a, delays(8).await);
    assert!(
        a.iter()
            .zip([100_000, 200_000, 400_000])
            .all(|(d, max)| *d <= max),
        "{a:?}"
    );
}

#[tokio::test]
async fn catch_puts_error_output_at_result_path_and_assigns() {
    let s = Arc::new(Scripted {
        fail_first: 1,
        ..Default::default()
    });
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "test:x", "End": true,
              "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "H",
                         "Assign": {"caught.$": "$.Error"}}]},
        "H": {"Type": "Pass", "Parameters": {"v.$": "$caught", "err.$": "$.err", "in.$": "$.in"}, "End": true}}});
    let r = run(def, s).await;
    assert_eq!(
        r.output,
        Some(json!({"v": "Boom", "err": {"Error": "Boom", "Cause": "call 0 failed"}, "in": 1}))
    );
    assert!(kinds(&r).contains(&"TaskStateExited"));
}

#[tokio::test]
async fn states_all_does_not_catch_runtime_errors() {
    let s = Arc::new(Scripted::default());
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "test:x", "End": true, "Parameters": {"v.$": "$.missing"},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}]},
        "H": {"Type": "Succeed"}}});
    let r = run(def, s).await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    let cause = r.cause.unwrap_or_default();
    assert!(
        cause.starts_with(
            "An error occurred while executing the state 'T' (entered at the event id #2)."
        ),
        "{cause}"
    );
}

#[tokio::test]
async fn task_failed_matches_task_errors_but_not_timeouts() {
    let s = Arc::new(Scripted {
        fail_first: 1,
        ..Default::default()
    });
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "test:x", "End": true,
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "H"}]},
        "H": {"Type": "Pass", "Result": "handled", "End": true}}});
    assert_eq!(run(def, s).await.output, Some(json!("handled")));
}

#[tokio::test]
async fn timeout_seconds_fails_with_states_timeout() {
    let s = Arc::new(Scripted {
        sleep: Duration::from_secs(5),
        ..Default::default()
    });
    let t0 = Instant::now();
    let r = run(task(json!({"TimeoutSeconds": 1})), s).await;
    assert_eq!(r.error.as_deref(), Some("States.Timeout"));
    assert!(kinds(&r).contains(&"TaskTimedOut"));
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(990) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[tokio::test]
async fn timeout_can_be_caught_and_retried() {
    let s = Arc::new(Scripted {
        sleep: Duration::from_secs(5),
        ..Default::default()
    });
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "test:x", "End": true, "TimeoutSeconds": 1,
              "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1, "IntervalSeconds": 1}],
              "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "H"}]},
        "H": {"Type": "Pass", "End": true}}});
    let r = run(def, s.clone()).await;
    assert_eq!(r.output, Some(json!({"Error": "States.Timeout"})));
    assert_eq!(s.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn heartbeat_seconds_fails_a_job_that_sends_no_heartbeat() {
    // A `.sync` job (or a callback task) whose worker never calls SendTaskHeartbeat:
    // locally nothing sends heartbeats, so AWS's HeartbeatTimeout is what happens.
    let s = Arc::new(Scripted {
        sleep: Duration::from_secs(5),
        ..Default::default()
    });
    let r = run(
        task(json!({"Resource": "test:job.sync", "TimeoutSeconds": 10, "HeartbeatSeconds": 1})),
        s,
    )
    .await;
    assert_eq!(r.error.as_deref(), Some("States.HeartbeatTimeout"));
    assert!(kinds(&r).contains(&"TaskTimedOut"));
}

#[tokio::test]
async fn heartbeat_seconds_does_not_limit_a_request_response_call() {
    let s = Arc::new(Scripted {
        sleep: Duration::from_millis(1500),
        ..Default::default()
    });
    let r = run(
        task(json!({"Resource": "test:call", "TimeoutSeconds": 10, "HeartbeatSeconds": 1})),
        s,
    )
    .await;
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{:?}", r.error);
}

#[tokio::test]
async fn virtual_clock_does_not_fire_timeouts_while_a_task_runs() {
    // One branch waits an hour of virtual time while the other runs a 300 ms task with a
    // 1 s timeout: the wait must not advance time past the running task.
    let s = Arc::new(Scripted {
        sleep: Duration::from_millis(300),
        ..Default::default()
    });
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}},
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "test:x", "TimeoutSeconds": 1, "End": true}}}
    ]}}});
    let t0 = Instant::now();
    let r = run(def, s).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{:?}", r.to_json());
    assert!(t0.elapsed() < Duration::from_secs(1));
    let ts = |k: &str| r.history.iter().find(|e| e.kind == k).map(|e| e.timestamp);
    let (task_done, wait_done) = (ts("TaskSucceeded"), ts("WaitStateExited"));
    assert!(
        task_done < wait_done,
        "the hour-long wait ended before the task"
    );
}

#[tokio::test]
async fn result_selector_then_result_path() {
    let s = Arc::new(Scripted {
        result: Some(json!({"a": 1, "b": 2})),
        ..Default::default()
    });
    let r = run(
        task(json!({"ResultSelector": {"x.$": "$.a"}, "ResultPath": "$.r"})),
        s,
    )
    .await;
    assert_eq!(r.output, Some(json!({"in": 1, "r": {"x": 1}})));
}

#[tokio::test]
async fn task_result_over_256_kib_is_data_limit_exceeded() {
    let big = "x".repeat(256 * 1024);
    let s = Arc::new(Scripted {
        result: Some(json!(big)),
        ..Default::default()
    });
    let r = run(task(json!({})), s).await;
    assert_eq!(r.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(
        r.cause.as_deref(),
        Some("The state/task 'T' returned a result with a size exceeding the maximum number of bytes service limit.")
    );
}

#[tokio::test]
async fn result_just_under_256_kib_passes() {
    let s = Arc::new(Scripted {
        result: Some(json!("x".repeat(256 * 1024 - 2))),
        ..Default::default()
    });
    assert_eq!(
        run(task(json!({})), s).await.status,
        ExecutionStatus::Succeeded
    );
}

#[tokio::test]
async fn unknown_resource_names_it() {
    let s = Arc::new(Scripted::default());
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}});
    let r = run(def, s).await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    let cause = r.cause.unwrap_or_default();
    assert!(
        cause.contains("arn:aws:states:::lambda:invoke") && cause.contains("not available locally"),
        "{cause}"
    );
}

#[tokio::test]
async fn max_workers_bounds_running_tasks_and_order_is_kept() {
    let s = Arc::new(Scripted {
        sleep: Duration::from_millis(50),
        ..Default::default()
    });
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "test:x", "End": true}}}}}});
    let items: Vec<Value> = (0..12).map(|i| json!({"i": i})).collect();
    let r = run_with(def, json!(items.clone()), s.clone(), 3).await;
    assert_eq!(r.output, Some(json!(items)));
    assert_eq!(s.max_running.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn map_max_concurrency_bounds_iterations() {
    let s = Arc::new(Scripted {
        sleep: Duration::from_millis(30),
        ..Default::default()
    });
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "MaxConcurrency": 2,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "test:x", "End": true}}}}}});
    run_with(def, json!([1, 2, 3, 4, 5]), s.clone(), 16).await;
    assert_eq!(s.max_running.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn parallel_branches_run_concurrently() {
    let s = Arc::new(Scripted {
        sleep: Duration::from_millis(300),
        ..Default::default()
    });
    let branch = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "test:x", "End": true}}});
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Branches": [branch.clone(), branch.clone(), branch]}}});
    let t0 = Instant::now();
    let r = run(def, s.clone()).await;
    assert!(
        t0.elapsed() < Duration::from_millis(800),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(r.output, Some(json!([{"in": 1}, {"in": 1}, {"in": 1}])));
    assert_eq!(s.max_running.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn map_catch_handles_iteration_failure() {
    let s = Arc::new(Scripted {
        fail_first: 100,
        ..Default::default()
    });
    let def = json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "Next": "Done", "ItemProcessor": {"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "test:x", "End": true}}},
            "Catch": [{"ErrorEquals": ["Boom"], "Next": "Caught", "ResultPath": "$"}]},
        "Caught": {"Type": "Pass", "Parameters": {"e.$": "$.Error"}, "End": true},
        "Done": {"Type": "Succeed"}}});
    let r = run_with(def, json!([1]), s, 1).await;
    assert_eq!(r.output, Some(json!({"e": "Boom"})));
    assert!(kinds(&r).contains(&"MapIterationFailed"));
    assert!(kinds(&r).contains(&"MapStateFailed"));
}

fn distributed_map(extra: Value) -> Value {
    let mut m = json!({"Type": "Map", "End": true, "MaxConcurrency": 1,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "test:x", "End": true}}}});
    if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    json!({"StartAt": "M", "States": {"M": m}})
}

#[tokio::test]
async fn distributed_map_failure_exceeds_default_threshold() {
    let s = Arc::new(Scripted {
        fail_first: 1,
        ..Default::default()
    });
    let r = run_with(distributed_map(json!({})), json!([1, 2, 3, 4]), s, 1).await;
    assert_eq!(
        r.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert!(kinds(&r).contains(&"MapRunFailed"));
}

#[tokio::test]
async fn distributed_map_tolerates_failures_within_threshold() {
    let s = Arc::new(Scripted {
        fail_first: 1,
        ..Default::default()
    });
    let r = run_with(
        distributed_map(json!({"ToleratedFailureCount": 1})),
        json!([1, 2, 3, 4]),
        s,
        1,
    )
    .await;
    assert_eq!(
        r.output,
        Some(json!([{"Error": "Boom", "Cause": "call 0 failed"}, 2, 3, 4]))
    );
    let s = Arc::new(Scripted {
        fail_first: 2,
        ..Default::default()
    });
    let r = run_with(
        distributed_map(json!({"ToleratedFailurePercentage": 25})),
        json!([1, 2, 3, 4]),
        s,
        1,
    )
    .await;
    assert_eq!(
        r.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
}

#[tokio::test]
async fn jsonata_task_arguments_output_assign() {
    let s = Arc::new(Scripted {
        result: Some(json!({"n": 41})),
        ..Default::default()
    });
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "test:x", "Next": "P",
              "Arguments": {"in": "{% $states.input.in %}"},
              "Assign": {"got": "{% $states.result.n %}"},
              "Output": {"plus": "{% $states.result.n + 1 %}"}},
        "P": {"Type": "Pass", "Output": {"plus": "{% $states.input.plus %}", "got": "{% $got %}"}, "End": true}}});
    let r = run(def, s).await;
    assert_eq!(
        r.output,
        Some(json!({"plus": 42, "got": 41})),
        "{:?}",
        r.to_json()
    );
}

#[tokio::test]
async fn jsonata_catch_output_sees_error_output() {
    let s = Arc::new(Scripted {
        fail_first: 1,
        ..Default::default()
    });
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "test:x", "End": true,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H",
                         "Output": {"e": "{% $states.errorOutput.Error %}", "in": "{% $states.input.in %}"}}]},
        "H": {"Type": "Succeed"}}});
    let r = run(def, s).await;
    assert_eq!(r.output, Some(json!({"e": "Boom", "in": 1})));
}
