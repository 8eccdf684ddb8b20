//! Execution history: event sequences as AWS documents them for each state type, ids and
//! `previousEventId`, virtual-clock timestamps, the JSON shape of `GetExecutionHistory`, and
//! the 25,000-events quota (AWS Step Functions: event 25,000 may only be
//! `ExecutionSucceeded`; otherwise the execution fails).

use flowc::engine::clock::ClockMode;
use flowc::engine::definition;
use flowc::engine::exec::{execute_blocking, ExecutionConfig, ExecutionResult, ExecutionStatus};
use flowc::engine::history::{self, MAX_HISTORY_EVENTS};
use serde_json::{json, Value};

fn run_cfg(def: Value, input: Value, cfg: ExecutionConfig) -> ExecutionResult {
    let sm = definition::parse(&def).expect("valid definition");
    execute_blocking(&sm, input, &cfg)
}

fn run(def: Value, input: Value) -> ExecutionResult {
    run_cfg(
        def,
        input,
        ExecutionConfig {
            clock: ClockMode::Virtual,
            ..ExecutionConfig::default()
        },
    )
}

fn kinds(r: &ExecutionResult) -> Vec<&'static str> {
    r.history.iter().map(|e| e.kind).collect()
}

#[test]
fn pass_machine_events_and_ids() {
    let r = run(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
        json!({"x": 1}),
    );
    assert_eq!(
        kinds(&r),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    let ids: Vec<_> = r
        .history
        .iter()
        .map(|e| (e.id, e.previous_event_id))
        .collect();
    // As AWS records it: ExecutionStarted does not chain, so the first state's
    // previousEventId is 0.
    assert_eq!(ids, [(1, 0), (2, 0), (3, 2), (4, 3)]);
    assert_eq!(r.event_count(), 4);
}

#[test]
fn fail_state_ends_with_execution_failed() {
    let r = run(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}),
        json!({}),
    );
    assert_eq!(
        kinds(&r),
        ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    );
    let j = history::to_json(&r.history);
    assert_eq!(
        j["events"][2]["executionFailedEventDetails"],
        json!({"error": "E", "cause": "C"})
    );
}

#[test]
fn choice_wait_succeed_sequence() {
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.go", "BooleanEquals": true, "Next": "W"}], "Default": "S"},
        "W": {"Type": "Wait", "Seconds": 3600, "Next": "S"},
        "S": {"Type": "Succeed"}}});
    let r = run(def, json!({"go": true}));
    assert_eq!(
        kinds(&r),
        [
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    let (entered, exited) = (r.history[3].timestamp, r.history[4].timestamp);
    assert_eq!(
        (exited - entered).num_seconds(),
        3600,
        "virtual time advanced by the wait"
    );
}

#[test]
fn inline_map_sequence() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let r = run(def, json!([1, 2]));
    assert_eq!(
        kinds(&r),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapIterationStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    // The first iteration chains from MapStateStarted (#3); a sequential Map continues the
    // chain from the previous iteration's last state event (#6), skipping
    // MapIterationSucceeded (#7), as AWS records it.
    assert_eq!(r.history[3].previous_event_id, 3);
    assert_eq!(r.history[7].previous_event_id, 6);
    let j = history::to_json(&r.history);
    assert_eq!(
        j["events"][2]["mapStateStartedEventDetails"],
        json!({"length": 2})
    );
    assert_eq!(
        j["events"][3]["mapIterationStartedEventDetails"],
        json!({"name": "M", "index": 0})
    );
}

#[test]
fn parallel_sequence() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}]}}});
    let r = run(def, json!({}));
    assert_eq!(
        kinds(&r),
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "PassStateEntered",
            "PassStateExited",
            "ParallelStateSucceeded",
            "ParallelStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn distributed_map_iterations_are_child_executions() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let r = run(def, json!([1, 2, 3]));
    assert_eq!(r.output, Some(json!([1, 2, 3])));
    assert_eq!(
        kinds(&r),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn history_json_carries_payloads_as_strings() {
    let r = run(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
        json!({"x": 1}),
    );
    let j = history::to_json(&r.history);
    let d = &j["events"][1]["stateEnteredEventDetails"];
    assert_eq!(d["name"], json!("A"));
    assert_eq!(d["input"], json!("{\"x\":1}"));
    assert_eq!(
        j["events"][3]["executionSucceededEventDetails"]["output"],
        json!("{\"x\":1}")
    );
    assert!(j["events"][0]["timestamp"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
}

#[test]
fn error_causes_quote_entered_event_ids_inside_maps() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true, "OutputPath": "$.a"}}}}}});
    let r = run(def, json!([{"a": 1}, {"b": 2}]));
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    // #1 started, #2 MapStateEntered, #3 MapStateStarted, #4-#7 iteration 0, #8 iteration 1
    // started, #9 its PassStateEntered.
    let cause = r.cause.unwrap_or_default();
    assert!(
        cause.starts_with(
            "An error occurred while executing the state 'P' (entered at the event id #9)."
        ),
        "{cause}"
    );
}

#[test]
fn context_object_fields() {
    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Pass", "End": true, "Parameters": {
        "exec.$": "$$.Execution.Name", "sm.$": "$$.StateMachine.Name", "state.$": "$$.State.Name",
        "retry.$": "$$.State.RetryCount", "input.$": "$$.Execution.Input", "t.$": "$$.State.EnteredTime"}}}});
    let cfg = ExecutionConfig {
        clock: ClockMode::Virtual,
        execution_name: "e1".into(),
        state_machine_name: "m1".into(),
        ..ExecutionConfig::default()
    };
    let r = run_cfg(def, json!({"k": true}), cfg);
    let out = r.output.unwrap_or(Value::Null);
    assert_eq!(out["exec"], json!("e1"));
    assert_eq!(out["sm"], json!("m1"));
    assert_eq!(out["state"], json!("S"));
    assert_eq!(out["retry"], json!(0));
    assert_eq!(out["input"], json!({"k": true}));
    let t = out["t"].as_str().unwrap_or("");
    assert!(
        chrono::DateTime::parse_from_rfc3339(t).is_ok() && t.ends_with('Z'),
        "{t}"
    );
}

fn infinite_loop() -> Value {
    json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}})
}

#[test]
fn history_quota_fails_the_execution_at_25000_events() {
    let r = run(infinite_loop(), json!({}));
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.event_count(), MAX_HISTORY_EVENTS);
    let last = r.history.last().map(|e| (e.id, e.kind));
    assert_eq!(last, Some((25_000, "ExecutionFailed")));
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert_eq!(r.cause.as_deref(), Some(history::HISTORY_LIMIT_CAUSE));
}

#[test]
fn history_quota_last_slot_is_for_execution_succeeded() {
    // Started, Entered, Exited, Entered, Exited, Succeeded: exactly 6 events.
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": true}}});
    let cfg = |limit| ExecutionConfig {
        clock: ClockMode::Virtual,
        max_history_events: limit,
        ..ExecutionConfig::default()
    };
    let ok = run_cfg(def.clone(), json!({}), cfg(6));
    assert_eq!(ok.status, ExecutionStatus::Succeeded);
    assert_eq!(ok.event_count(), 6);
    let failed = run_cfg(def, json!({}), cfg(5));
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(failed.event_count(), 5);
    assert_eq!(
        failed.history.last().map(|e| e.kind),
        Some("ExecutionFailed")
    );
}

#[test]
fn history_quota_stops_concurrent_branches_too() {
    let looping = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}});
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Branches": [looping.clone(), looping],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}]}, "H": {"Type": "Succeed"}}});
    let r = run(def, json!({}));
    assert_eq!(
        r.status,
        ExecutionStatus::Failed,
        "the quota is not catchable"
    );
    assert_eq!(r.event_count(), MAX_HISTORY_EVENTS);
}

#[test]
fn execution_timeout_seconds_times_out() {
    let def = json!({"StartAt": "W", "TimeoutSeconds": 10, "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}});
    let r = run(def, json!({}));
    assert_eq!(r.status, ExecutionStatus::TimedOut);
    assert_eq!(r.error.as_deref(), Some("States.Timeout"));
    assert_eq!(r.history.last().map(|e| e.kind), Some("ExecutionTimedOut"));
    let span = r
        .history
        .last()
        .map(|e| e.timestamp)
        .zip(r.history.first().map(|e| e.timestamp));
    assert_eq!(span.map(|(b, a)| (b - a).num_seconds()), Some(10));
}

#[test]
fn virtual_time_orders_waits_across_branches() {
    // Branch 0 waits 10 s; branch 1 runs a Map whose iterations wait 1 s each (sequentially).
    // Branch 1's Map must finish (at +3 s) before branch 0's wait ends.
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": true}}},
        {"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "MaxConcurrency": 1,
            "ItemProcessor": {"StartAt": "W1", "States": {"W1": {"Type": "Wait", "Seconds": 1, "End": true}}}}}}
    ]}}});
    let r = run(def, json!([1, 2, 3]));
    let t0 = r.history[0].timestamp;
    let at = |k: &str| {
        r.history
            .iter()
            .find(|e| e.kind == k)
            .map(|e| (e.timestamp - t0).num_seconds())
    };
    assert_eq!(at("MapStateExited"), Some(3));
    let wait_exits: Vec<i64> = r
        .history
        .iter()
        .filter(|e| e.kind == "WaitStateExited")
        .map(|e| (e.timestamp - t0).num_seconds())
        .collect();
    assert_eq!(wait_exits, [1, 2, 3, 10]);
}

#[test]
fn enormous_waits_do_not_overflow() {
    let def = json!({"StartAt": "W", "TimeoutSeconds": 5, "States": {
        "W": {"Type": "Wait", "Seconds": 9_000_000_000_000_000_000u64, "End": true}}});
    let r = run(def, json!({}));
    assert_eq!(r.status, ExecutionStatus::TimedOut);
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}});
    let r = run(def, json!({"s": i64::MAX}));
    assert_eq!(r.status, ExecutionStatus::Succeeded);
}

/// (type, id, previousEventId) of every event.
fn chain(r: &ExecutionResult) -> Vec<(&'static str, u64, u64)> {
    r.history
        .iter()
        .map(|e| (e.kind, e.id, e.previous_event_id))
        .collect()
}

fn map_fixture(extra: Value) -> Value {
    let mut m = json!({"Type": "Map", "ResultPath": null, "InputPath": "$.arr", "MaxConcurrency": 1,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "HandleItemFail", "States": {
            "HandleItemFail": {"Type": "Fail", "Error": "HandleItemFailError", "Cause": "HandleItemFailCause"}}},
        "Next": "Final"});
    if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    json!({"StartAt": "StartState", "States": {
        "StartState": {"Type": "Pass", "Result": [1], "ResultPath": "$.arr", "Next": "MapState"},
        "MapState": m,
        "FinalCaught": {"Type": "Pass", "End": true},
        "Final": {"Type": "Pass", "End": true}}})
}

#[test]
fn map_retry_history_matches_aws_recording() {
    // AWS-recorded history of LocalStack's `test_map_state_retry` (AWS-validated snapshot).
    let mut def =
        map_fixture(json!({"Retry": [{"ErrorEquals": ["HandleItemFailError"], "MaxAttempts": 2}]}));
    if let Some(states) = def["States"].as_object_mut() {
        states.remove("FinalCaught");
    }
    let r = run(def, json!({}));
    assert_eq!(
        chain(&r),
        [
            ("ExecutionStarted", 1, 0),
            ("PassStateEntered", 2, 0),
            ("PassStateExited", 3, 2),
            ("MapStateEntered", 4, 3),
            ("MapStateStarted", 5, 4),
            ("MapIterationStarted", 6, 5),
            ("FailStateEntered", 7, 6),
            ("MapIterationFailed", 8, 7),
            ("MapStateStarted", 9, 7),
            ("MapIterationStarted", 10, 9),
            ("FailStateEntered", 11, 10),
            ("MapIterationFailed", 12, 11),
            ("MapStateStarted", 13, 11),
            ("MapIterationStarted", 14, 13),
            ("FailStateEntered", 15, 14),
            ("MapIterationFailed", 16, 15),
            ("MapStateFailed", 17, 15),
            ("ExecutionFailed", 18, 17),
        ]
    );
}

#[test]
fn map_catch_history_matches_aws_recording() {
    // AWS-recorded history of LocalStack's `test_map_state_catch`.
    let r = run(
        map_fixture(
            json!({"Catch": [{"ErrorEquals": ["HandleItemFailError"], "Next": "FinalCaught"}]}),
        ),
        json!({}),
    );
    assert_eq!(
        chain(&r),
        [
            ("ExecutionStarted", 1, 0),
            ("PassStateEntered", 2, 0),
            ("PassStateExited", 3, 2),
            ("MapStateEntered", 4, 3),
            ("MapStateStarted", 5, 4),
            ("MapIterationStarted", 6, 5),
            ("FailStateEntered", 7, 6),
            ("MapIterationFailed", 8, 7),
            ("MapStateFailed", 9, 7),
            ("MapStateExited", 10, 9),
            ("PassStateEntered", 11, 10),
            ("PassStateExited", 12, 11),
            ("ExecutionSucceeded", 13, 12),
        ]
    );
}

#[test]
fn map_success_tail_matches_aws_recording() {
    // AWS (LocalStack `test_map_state`): MapStateSucceeded and MapStateExited both point at
    // the last MapIterationSucceeded.
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1, "End": true,
        "ItemProcessor": {"StartAt": "H", "States": {"H": {"Type": "Pass", "End": true}}}}}});
    let r = run(def, json!([1, 2]));
    let c = chain(&r);
    assert_eq!(
        &c[c.len() - 4..],
        [
            ("MapIterationSucceeded", 11, 10),
            ("MapStateSucceeded", 12, 11),
            ("MapStateExited", 13, 11),
            ("ExecutionSucceeded", 14, 13)
        ]
    );
}

#[test]
fn parallel_tail_matches_aws_recording() {
    // AWS (LocalStack `test_parallel_state`): ParallelStateExited points past
    // ParallelStateSucceeded at the last branch event.
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}]}}});
    let r = run(def, json!({}));
    let c = chain(&r);
    assert_eq!(
        &c[c.len() - 3..],
        [
            ("ParallelStateSucceeded", 6, 5),
            ("ParallelStateExited", 7, 5),
            ("ExecutionSucceeded", 8, 7)
        ]
    );
}

#[test]
fn a_child_execution_of_a_distributed_map_has_its_own_events_quota() {
    // Each iteration of a distributed Map is a child execution with its own history and the
    // same quota (AWS: every Standard execution, child ones included, may record 25,000
    // events). A child that loops forever fails at its quota instead of running unbounded;
    // the parent's history stays short and its Map fails on the default failure threshold.
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "A", "States": {
                "A": {"Type": "Pass", "Next": "B"},
                "B": {"Type": "Pass", "Next": "A"}}}}}});
    let r = run_cfg(
        def,
        json!([1, 2]),
        ExecutionConfig {
            clock: ClockMode::Virtual,
            max_history_events: 50,
            ..ExecutionConfig::default()
        },
    );
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(
        r.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert!(r.event_count() < 50, "{} events", r.event_count());
}
