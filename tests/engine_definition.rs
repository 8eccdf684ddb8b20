//! Definition-time validation that `CreateStateMachine` performs: Choice rule shapes, the
//! variable scope rule for Map iterations and Parallel branches, and the fields of retriers
//! and catchers. Each error carries the JSON path of the offending field.

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

/// A machine of one Task state `T` with the given `Retry`.
fn task_retry(retry: Value) -> Value {
    json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "End": true,
            "Retry": retry}}})
}

/// The errors of a single retrier `r` (with `ErrorEquals: ["E"]` added).
fn retrier_errors(mut r: Value) -> Vec<String> {
    if let Some(o) = r.as_object_mut() {
        o.entry("ErrorEquals").or_insert(json!(["E"]));
    }
    errors(task_retry(json!([r])))
}

#[test]
fn retrier_within_limits_parses_with_its_values() {
    let sm = definition::parse(&task_retry(json!([
        {"ErrorEquals": ["A"], "IntervalSeconds": 99_999_999, "MaxAttempts": 0,
         "BackoffRate": 1.0, "MaxDelaySeconds": 31_622_400, "JitterStrategy": "FULL",
         "Comment": "slow"},
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 99_999_999,
         "JitterStrategy": "NONE", "MaxDelaySeconds": 1}
    ])))
    .map_err(|e| format!("{e:?}"));
    let sm = match sm {
        Ok(sm) => sm,
        Err(e) => panic!("valid: {e}"),
    };
    let r = &sm.states["T"].retry;
    assert_eq!(
        (r[0].interval_seconds, r[0].max_attempts, r[0].backoff_rate),
        (99_999_999.0, 0, 1.0)
    );
    assert_eq!(
        (r[0].max_delay_seconds, r[0].jitter_full),
        (Some(31_622_400.0), true)
    );
    assert_eq!(
        (r[1].max_attempts, r[1].jitter_full, r[1].max_delay_seconds),
        (99_999_999, false, Some(1.0))
    );
}

#[test]
fn jitter_strategy_is_full_or_none() {
    let e = retrier_errors(json!({"JitterStrategy": "full"}));
    assert_eq!(
        e,
        vec![
            "$.States.T.Retry[0].JitterStrategy: must be \"FULL\" or \"NONE\", got \"full\""
                .to_string()
        ]
    );
    let e = retrier_errors(json!({"JitterStrategy": true}));
    assert!(
        has(
            &e,
            "$.States.T.Retry[0].JitterStrategy: must be \"FULL\" or \"NONE\", got true"
        ),
        "{e:?}"
    );
}

#[test]
fn max_attempts_is_an_integer_from_0_to_99999999() {
    for bad in [json!(-1), json!(2.5), json!(100_000_000), json!("3")] {
        let e = retrier_errors(json!({"MaxAttempts": bad}));
        assert_eq!(
            e,
            vec![format!(
                "$.States.T.Retry[0].MaxAttempts: must be an integer from 0 to 99999999, got {bad}"
            )]
        );
    }
    assert!(retrier_errors(json!({"MaxAttempts": 0})).is_empty());
    // A whole number written with a fraction part is still that integer.
    assert!(retrier_errors(json!({"MaxAttempts": 2.0})).is_empty());
}

#[test]
fn interval_seconds_is_an_integer_from_1_to_99999999() {
    for bad in [
        json!(0),
        json!(3.5),
        json!(100_000_000),
        json!("a"),
        json!(null),
    ] {
        let e = retrier_errors(json!({"IntervalSeconds": bad}));
        assert_eq!(
            e,
            vec![format!(
                "$.States.T.Retry[0].IntervalSeconds: must be an integer from 1 to 99999999, got {bad}"
            )]
        );
    }
}

#[test]
fn max_delay_seconds_is_more_than_0_and_less_than_31622401() {
    for bad in [json!(0), json!(-1), json!(3.5), json!(31_622_401)] {
        let e = retrier_errors(json!({"MaxDelaySeconds": bad}));
        assert_eq!(
            e,
            vec![format!(
                "$.States.T.Retry[0].MaxDelaySeconds: must be an integer from 1 to 31622400, got {bad}"
            )]
        );
    }
}

#[test]
fn backoff_rate_is_a_number_of_at_least_1() {
    for bad in [json!(0.5), json!(-2), json!("2")] {
        let e = retrier_errors(json!({"BackoffRate": bad}));
        assert_eq!(
            e,
            vec![format!(
                "$.States.T.Retry[0].BackoffRate: must be a number of at least 1.0, got {bad}"
            )]
        );
    }
    assert!(retrier_errors(json!({"BackoffRate": 1.5})).is_empty());
}

#[test]
fn unknown_retrier_field_is_rejected_with_a_suggestion() {
    let e = retrier_errors(json!({"MaxAttempt": 2}));
    assert_eq!(
        e,
        vec!["$.States.T.Retry[0].MaxAttempt: field \"MaxAttempt\" is not supported in a retrier (did you mean \"MaxAttempts\"?)".to_string()]
    );
}

#[test]
fn retry_and_catch_must_be_arrays_of_objects() {
    let e = errors(task_retry(json!({"ErrorEquals": ["E"]})));
    assert!(
        has(&e, "$.States.T.Retry: must be an array of retriers"),
        "{e:?}"
    );
    let e = errors(task_retry(json!(["E"])));
    assert!(
        has(&e, "$.States.T.Retry[0]: a retrier must be an object"),
        "{e:?}"
    );
    let e = errors(catching(
        json!({"ErrorEquals": ["E"], "Next": "H"}),
        "JSONPath",
    ));
    assert!(
        has(&e, "$.States.T.Catch: must be an array of catchers"),
        "{e:?}"
    );
}

#[test]
fn error_equals_holds_strings_and_states_all_comes_alone_and_last() {
    let e = retrier_errors(json!({"ErrorEquals": []}));
    assert!(
        has(
            &e,
            "$.States.T.Retry[0].ErrorEquals: required non-empty array of strings"
        ),
        "{e:?}"
    );
    let e = retrier_errors(json!({"ErrorEquals": ["A", 7]}));
    assert_eq!(
        e,
        vec!["$.States.T.Retry[0].ErrorEquals[1]: must be a string".to_string()]
    );
    let e = retrier_errors(json!({"ErrorEquals": ["States.ALL", "A"]}));
    assert_eq!(
        e,
        vec![
            "$.States.T.Retry[0].ErrorEquals: States.ALL must appear alone in ErrorEquals"
                .to_string()
        ]
    );
    let def = task_retry(json!([{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["A"]}]));
    assert_eq!(
        errors(def),
        vec![
            "$.States.T.Retry[0].ErrorEquals: States.ALL may only appear in the last retrier"
                .to_string()
        ]
    );
    let e = errors(catching(
        json!([{"ErrorEquals": ["States.ALL"], "Next": "H"}, {"ErrorEquals": ["A"], "Next": "H"}]),
        "JSONPath",
    ));
    assert!(
        has(
            &e,
            "$.States.T.Catch[0].ErrorEquals: States.ALL may only appear in the last catcher"
        ),
        "{e:?}"
    );
}

/// A Task state `T` in `language` with the given `Catch`, catching into `H`.
fn catching(catch: Value, language: &str) -> Value {
    json!({"QueryLanguage": language, "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "End": true,
            "Catch": catch},
        "H": {"Type": "Pass", "End": true}}})
}

#[test]
fn catcher_fields_follow_the_query_language() {
    let ok = json!([{"ErrorEquals": ["A"], "Next": "H", "ResultPath": "$.err",
        "Assign": {"x": 1}, "Comment": "c"}]);
    assert_eq!(errors(catching(ok, "JSONPath")), Vec::<String>::new());
    let ok = json!([{"ErrorEquals": ["A"], "Next": "H",
        "Output": "{% $states.errorOutput %}", "Assign": {"x": 1}, "Comment": "c"}]);
    assert_eq!(errors(catching(ok, "JSONata")), Vec::<String>::new());
    let e = errors(catching(
        json!([{"ErrorEquals": ["A"], "Next": "H", "Output": {}}]),
        "JSONPath",
    ));
    assert_eq!(
        e,
        vec![
            "$.States.T.Catch[0].Output: field \"Output\" is only supported in JSONata states"
                .to_string()
        ]
    );
    let e = errors(catching(
        json!([{"ErrorEquals": ["A"], "Next": "H", "ResultPath": "$.e"}]),
        "JSONata",
    ));
    assert_eq!(
        e,
        vec!["$.States.T.Catch[0].ResultPath: field \"ResultPath\" is not supported in JSONata states".to_string()]
    );
}

#[test]
fn unknown_catcher_field_and_bad_result_path_are_rejected() {
    let e = errors(catching(
        json!([{"ErrorEquals": ["A"], "Next": "H", "ResultPth": "$.e"}]),
        "JSONPath",
    ));
    assert_eq!(
        e,
        vec!["$.States.T.Catch[0].ResultPth: field \"ResultPth\" is not supported in a catcher (did you mean \"ResultPath\"?)".to_string()]
    );
    let e = errors(catching(
        json!([{"ErrorEquals": ["A"], "Next": "H", "ResultPath": "error"}]),
        "JSONPath",
    ));
    assert!(
        has(
            &e,
            "$.States.T.Catch[0].ResultPath: invalid path or intrinsic function"
        ),
        "{e:?}"
    );
    let e = errors(catching(json!([{"ErrorEquals": ["A"]}]), "JSONPath"));
    assert!(
        has(
            &e,
            "$.States.T.Catch[0].Next: required string field is missing"
        ),
        "{e:?}"
    );
}

#[test]
fn cli_rejects_a_bad_retrier_with_exit_code_2_and_the_json_path() {
    let d = tempfile::tempdir().expect("tmp");
    let def = task_retry(json!([{"ErrorEquals": ["E"], "MaxAttempts": -1}]));
    std::fs::write(d.path().join("bad.json"), def.to_string()).expect("write");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["interpret", "--asl", "bad.json", "--json"])
        .current_dir(d.path())
        .output()
        .expect("run flowc");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "$.States.T.Retry[0].MaxAttempts: must be an integer from 0 to 99999999, got -1"
        ),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}
