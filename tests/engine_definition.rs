//! Definition-time validation that `CreateStateMachine` performs: Choice rule shapes and
//! the variable scope rule for Map iterations and Parallel branches. Each error carries the
//! JSON path of the offending field.

use flowc::engine::definition;
use serde_json::{json, Value};

/// The errors of an invalid definition, as `path: message` lines.
fn errors(def: Value) -> Vec<String> {
    match definition::parse(&def) {
        Ok(_) => Vec::new(),
        Err(es) => es.iter().map(ToString::to_string).collect(),
    }
}

fn choice(rule: Value) -> Value {
    json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [rule], "Default": "D"},
        "D": {"Type": "Succeed"}}})
}

fn has(errs: &[String], prefix: &str) -> bool {
    errs.iter().any(|e| e.starts_with(prefix))
}

#[test]
fn unknown_operator_is_rejected_with_a_suggestion() {
    let e = errors(choice(
        json!({"Variable": "$.a", "NumericEqual": 1, "Next": "D"}),
    ));
    assert!(
        has(&e, "$.States.C.Choices[0].NumericEqual: unknown choice rule field or operator \"NumericEqual\" (did you mean \"NumericEquals\"?)"),
        "{e:?}"
    );
}

#[test]
fn two_operators_in_one_rule_are_rejected() {
    let e = errors(choice(
        json!({"Variable": "$.a", "NumericEquals": 1, "NumericLessThan": 3, "Next": "D"}),
    ));
    assert!(
        has(&e, "$.States.C.Choices[0]: a choice rule must have exactly one operator, found NumericEquals, NumericLessThan"),
        "{e:?}"
    );
}

#[test]
fn combinator_and_operator_together_are_rejected() {
    let e = errors(choice(json!({"Variable": "$.a", "IsPresent": true,
        "Not": {"Variable": "$.a", "IsNull": true}, "Next": "D"})));
    assert!(
        has(
            &e,
            "$.States.C.Choices[0]: a choice rule must have exactly one operator"
        ),
        "{e:?}"
    );
}

#[test]
fn missing_next_in_a_top_level_rule() {
    let e = errors(choice(json!({"Variable": "$.a", "IsPresent": true})));
    assert!(
        has(
            &e,
            "$.States.C.Choices[0].Next: required string field is missing"
        ),
        "{e:?}"
    );
}

#[test]
fn next_in_a_nested_rule_is_rejected() {
    let e = errors(choice(
        json!({"And": [{"Variable": "$.a", "IsPresent": true, "Next": "D"}], "Next": "D"}),
    ));
    assert!(
        has(&e, "$.States.C.Choices[0].And[0].Next: \"Next\" is only allowed in a top-level choice rule"),
        "{e:?}"
    );
}

#[test]
fn missing_variable_is_rejected() {
    let e = errors(choice(json!({"StringEquals": "x", "Next": "D"})));
    assert!(
        has(
            &e,
            "$.States.C.Choices[0].Variable: required string field is missing"
        ),
        "{e:?}"
    );
    let e = errors(choice(json!({"Or": [{"IsNull": true}], "Next": "D"})));
    assert!(
        has(
            &e,
            "$.States.C.Choices[0].Or[0].Variable: required string field is missing"
        ),
        "{e:?}"
    );
}

#[test]
fn rule_without_operator_is_rejected() {
    let e = errors(choice(json!({"Variable": "$.a", "Next": "D"})));
    assert!(
        has(
            &e,
            "$.States.C.Choices[0]: a choice rule needs a comparison operator"
        ),
        "{e:?}"
    );
}

#[test]
fn operand_types_are_checked() {
    for (op, bad, want) in [
        ("NumericEquals", json!("1"), "number"),
        ("StringEquals", json!(1), "string"),
        ("BooleanEquals", json!("true"), "boolean"),
        ("IsPresent", json!(1), "boolean"),
        ("TimestampLessThan", json!(5), "string"),
        ("NumericEqualsPath", json!(5), "string"),
    ] {
        let mut rule = json!({"Variable": "$.a", "Next": "D"});
        rule[op] = bad;
        let e = errors(choice(rule));
        let want = format!("$.States.C.Choices[0].{op}: the value of \"{op}\" must be a {want}");
        assert!(has(&e, &want), "{op}: {e:?}");
    }
}

#[test]
fn combinators_need_non_empty_arrays() {
    let e = errors(choice(json!({"And": [], "Next": "D"})));
    assert!(
        has(
            &e,
            "$.States.C.Choices[0].And: must be a non-empty array of choice rules"
        ),
        "{e:?}"
    );
}

#[test]
fn valid_rules_still_parse() {
    let def = choice(json!({"And": [
        {"Variable": "$.a", "NumericGreaterThanEqualsPath": "$.b"},
        {"Not": {"Variable": "$.s", "StringMatches": "x*"}},
        {"Variable": "$.t", "TimestampLessThan": "2024-01-01T00:00:00Z"}],
        "Next": "D", "Comment": "ok"}));
    assert_eq!(errors(def), Vec::<String>::new());
}

#[test]
fn jsonata_rules_need_a_condition() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "D"}], "Default": "D"},
        "D": {"Type": "Succeed"}}});
    let e = errors(def);
    assert!(
        has(
            &e,
            "$.States.C.Choices[0].Condition: required field is missing"
        ),
        "{e:?}"
    );
    assert!(has(&e, "$.States.C.Choices[0].Variable: field \"Variable\" is not supported in a JSONata choice rule"), "{e:?}");
}

fn map_assigning(inner: &str, mode: &str) -> Value {
    json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Assign": {"total": 0}, "Next": "M"},
        "M": {"Type": "Map", "End": true, "ItemProcessor": {
            "ProcessorConfig": {"Mode": mode},
            "StartAt": "I", "States": {
                "I": {"Type": "Pass", "Assign": {inner: 1}, "End": true}}}}}})
}

#[test]
fn map_iteration_cannot_assign_an_outer_variable() {
    let e = errors(map_assigning("total", "INLINE"));
    assert!(
        has(&e, "$.States.M.ItemProcessor.States.I.Assign.total: variable \"total\" is assigned in an outer scope"),
        "{e:?}"
    );
    assert_eq!(
        errors(map_assigning("mine", "INLINE")),
        Vec::<String>::new()
    );
}

#[test]
fn distributed_map_starts_a_fresh_scope() {
    assert_eq!(
        errors(map_assigning("total", "DISTRIBUTED")),
        Vec::<String>::new()
    );
}

#[test]
fn parallel_branch_cannot_assign_an_outer_variable_but_siblings_may_share_names() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true, "Assign": {"x.$": "$"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F", "Assign": {"err": 1}}],
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"local": 1}, "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Assign": {"local": 2, "err.$": "$"}, "End": true}}}]},
        "F": {"Type": "Fail"}}});
    let e = errors(def);
    assert_eq!(
        e,
        vec!["$.States.P.Branches[1].States.B.Assign.err: variable \"err\" is assigned in an outer scope; a Map iteration or Parallel branch can read it but cannot assign it".to_string()]
    );
}

#[test]
fn nested_scopes_see_all_enclosing_assignments() {
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Default": "M",
            "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "M", "Assign": {"seen": true}}]},
        "M": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "X", "States": {
                "X": {"Type": "Pass", "Assign": {"seen": false}, "End": true}}}]}}}}}});
    let e = errors(def);
    assert!(
        has(
            &e,
            "$.States.M.ItemProcessor.States.P.Branches[0].States.X.Assign.seen:"
        ),
        "{e:?}"
    );
}

#[test]
fn heartbeat_must_be_smaller_than_timeout() {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync", "End": true,
        "TimeoutSeconds": 10, "HeartbeatSeconds": 10}}});
    let e = errors(def);
    assert_eq!(
        e,
        vec!["$.States.T.HeartbeatSeconds: HeartbeatSeconds (10) must be smaller than TimeoutSeconds (10)".to_string()]
    );
}

fn batcher(b: Value) -> Value {
    json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemBatcher": b,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}})
}

#[test]
fn item_batcher_limits_are_checked() {
    let e = errors(batcher(json!({"MaxInputBytesPerBatch": 262_145})));
    assert_eq!(
        e,
        vec!["$.States.M.ItemBatcher.MaxInputBytesPerBatch: must be at most 262144 bytes (256 KiB), got 262145".to_string()]
    );
    let e = errors(batcher(json!({"MaxItemsPerBatch": 0})));
    assert!(
        has(
            &e,
            "$.States.M.ItemBatcher.MaxItemsPerBatch: must be a positive integer"
        ),
        "{e:?}"
    );
    let e = errors(batcher(
        json!({"MaxItemsPerBatch": 2, "MaxItemsPerBatchPath": "$.n"}),
    ));
    assert!(has(&e, "$.States.M.ItemBatcher.MaxItemsPerBatch: give MaxItemsPerBatch or MaxItemsPerBatchPath, not both"), "{e:?}");
    let e = errors(batcher(json!({"MaxInputBytes": 10})));
    assert!(has(&e, "$.States.M.ItemBatcher.MaxInputBytes: field \"MaxInputBytes\" is not supported in ItemBatcher (did you mean \"MaxInputBytesPerBatch\"?)"), "{e:?}");
    assert_eq!(
        errors(batcher(
            json!({"MaxInputBytesPerBatch": 262_144, "MaxItemsPerBatchPath": "$.n"})
        )),
        Vec::<String>::new()
    );
}
