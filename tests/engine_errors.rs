//! Reserved error names that cannot arise locally on their own (docs/engine.md, "Errors
//! that cannot arise locally"): `States.BranchFailed` is never raised (a failed branch fails
//! the Parallel state with its own error), and `States.Permissions`, when an integration
//! (a mock) throws it, is handled like any task error. And `States.NoChoiceMatched`, which a
//! Choice state with no matching rule and no `Default` raises.

use flowc::engine::clock::ClockMode;
use flowc::engine::definition;
use flowc::engine::exec::{execute_blocking, ExecutionConfig, ExecutionStatus};
use flowc::engine::history;
use flowc::engine::integrations::{Integration, TaskFuture, TaskRequest};
use flowc::engine::StatesError;
use serde_json::{json, Value};
use std::sync::Arc;

/// `test:deny` always fails with `States.Permissions`, as a mock `Throw` would.
struct Deny;

impl Integration for Deny {
    fn handles(&self, resource: &str) -> bool {
        resource == "test:deny"
    }

    fn invoke(&self, _request: TaskRequest) -> TaskFuture<'_> {
        Box::pin(async {
            Err(StatesError::new(
                "States.Permissions",
                "not authorized to perform: batch:SubmitJob",
            ))
        })
    }
}

fn run(def: Value) -> flowc::engine::exec::ExecutionResult {
    let sm = definition::parse(&def).expect("valid definition");
    let cfg = ExecutionConfig {
        clock: ClockMode::Virtual,
        integrations: Arc::new(vec![Box::new(Deny) as Box<dyn Integration>]),
        ..ExecutionConfig::default()
    };
    execute_blocking(&sm, json!({}), &cfg)
}

fn parallel_catching(error: &str) -> Value {
    json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true,
            "Catch": [{"ErrorEquals": [error], "Next": "H"}],
            "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Own", "Cause": "why"}}}]},
        "H": {"Type": "Pass", "End": true}}})
}

#[test]
fn a_failed_branch_fails_the_parallel_with_its_own_error_not_branch_failed() {
    let r = run(parallel_catching("States.BranchFailed"));
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("Own"));
    assert_eq!(r.cause.as_deref(), Some("why"));
    let r = run(parallel_catching("Own"));
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(r.output, Some(json!({"Error": "Own", "Cause": "why"})));
}

#[test]
fn states_permissions_from_an_integration_is_caught_by_task_failed() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "test:deny", "End": true,
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "H"}]},
        "H": {"Type": "Pass", "End": true}}});
    let r = run(def);
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(
        r.output.as_ref().map(|o| o["Error"].clone()),
        Some(json!("States.Permissions"))
    );
}

/// A Choice state `C` whose only rule needs a `null` input (the runs here pass `{}`), without
/// `Default`.
fn choice_without_default() -> Value {
    json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$", "IsNull": true, "Next": "S"}]},
        "S": {"Type": "Succeed"}}})
}

#[test]
fn no_matching_rule_and_no_default_fails_with_no_choice_matched() {
    let r = run(choice_without_default());
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.NoChoiceMatched"));
    // AWS's cause names the state and the id of its ChoiceStateEntered event.
    let cause =
        "An error occurred while executing the state 'C' (entered at the event id #2). No Matches!";
    assert_eq!(r.cause.as_deref(), Some(cause));
    let kinds: Vec<_> = r.history.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        ["ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"]
    );
    let j = history::to_json(&r.history);
    assert_eq!(
        j["events"][2]["executionFailedEventDetails"],
        json!({"error": "States.NoChoiceMatched", "cause": cause})
    );
}

#[test]
fn no_choice_matched_in_a_branch_is_caught_by_the_parallel_state() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true, "Branches": [choice_without_default()],
            "Catch": [{"ErrorEquals": ["States.NoChoiceMatched"], "Next": "H"}]},
        "H": {"Type": "Pass", "End": true}}});
    let r = run(def);
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(
        r.output.as_ref().map(|o| o["Error"].clone()),
        Some(json!("States.NoChoiceMatched"))
    );
}

/// An inline Map `M` over the input; an iteration waits 10 s and succeeds on item 1 and
/// fails with `E` on any other item.
fn map_failing_unless_one() -> Value {
    json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "W"}],
                "Default": "F"},
            "W": {"Type": "Wait", "Seconds": 10, "End": true},
            "F": {"Type": "Fail", "Error": "E"}}}}}})
}

fn run_on(def: Value, input: Value) -> flowc::engine::exec::ExecutionResult {
    let sm = definition::parse(&def).expect("valid definition");
    let cfg = ExecutionConfig {
        clock: ClockMode::Virtual,
        ..ExecutionConfig::default()
    };
    execute_blocking(&sm, input, &cfg)
}

fn iteration_events(r: &flowc::engine::exec::ExecutionResult) -> Vec<(&'static str, Value)> {
    r.history
        .iter()
        .filter(|e| e.kind.starts_with("MapIteration"))
        .map(|e| (e.kind, e.details["index"].clone()))
        .collect()
}

#[test]
fn a_failed_iteration_aborts_only_iterations_that_started() {
    // Iteration 0 fails before iterations 1 and 2 ever run: as in AWS's recordings, an
    // iteration that never started has no events at all (no MapIterationAborted).
    let r = run_on(map_failing_unless_one(), json!([2, 3, 4]));
    assert_eq!(r.error.as_deref(), Some("E"));
    assert_eq!(
        iteration_events(&r),
        [
            ("MapIterationStarted", json!(0)),
            ("MapIterationFailed", json!(0))
        ]
    );
    // Iteration 0 is waiting when iteration 1 fails: it started, so it is aborted.
    let r = run_on(map_failing_unless_one(), json!([1, 2]));
    assert_eq!(r.error.as_deref(), Some("E"));
    assert_eq!(
        iteration_events(&r),
        [
            ("MapIterationStarted", json!(0)),
            ("MapIterationStarted", json!(1)),
            ("MapIterationFailed", json!(1)),
            ("MapIterationAborted", json!(0))
        ]
    );
}
