//! Property tests: random definitions and inputs never panic the parser or the executor, and
//! Map / Parallel outputs keep item and branch order under any concurrency and timing.

use flowc::engine::clock::ClockMode;
use flowc::engine::definition;
use flowc::engine::exec::{execute_blocking, ExecutionConfig, ExecutionStatus};
use flowc::engine::integrations::{Integration, TaskFuture, TaskRequest};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

fn cfg() -> ExecutionConfig {
    ExecutionConfig {
        clock: ClockMode::Virtual,
        max_history_events: 300,
        ..ExecutionConfig::default()
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..100).prop_map(|n| json!(n)),
        (-1.0e3f64..1.0e3).prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "",
            "a",
            "$",
            "$.a",
            "$.b[0]",
            "$$",
            "$$.Execution.Input",
            "$x",
            "{% $states.input %}",
            "{% $x %}",
            "States.Format('{}', $.a)",
            "2016-03-14T01:59:00Z",
            "A",
            "B",
            "Pass",
            "Map",
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "x",
        "v.$",
        "a.$",
        "Type",
        "Next",
        "End",
        "Result",
        "Parameters",
        "InputPath",
        "OutputPath",
        "ResultPath",
        "Assign",
        "Output",
        "Items",
        "ItemsPath",
        "Seconds",
        "Choices",
        "Default",
        "Error",
        "Cause",
        "Branches",
        "ItemProcessor",
        "StartAt",
        "States",
        "QueryLanguage",
    ])
    .prop_map(str::to_string)
}

/// Field names of states (so that random states often parse).
fn state_key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "Result",
        "Parameters",
        "InputPath",
        "OutputPath",
        "ResultPath",
        "ResultSelector",
        "Assign",
        "Output",
        "Arguments",
        "Items",
        "ItemsPath",
        "ItemSelector",
        "MaxConcurrency",
        "Seconds",
        "SecondsPath",
        "Timestamp",
        "Error",
        "Cause",
        "ErrorPath",
        "CausePath",
        "Retry",
        "Catch",
        "Comment",
        "TimeoutSeconds",
        "ToleratedFailureCount",
    ])
    .prop_map(str::to_string)
}

const NAMES: [&str; 4] = ["A", "B", "C", "D"];

/// A random state: a type with a random selection of fields and values from small pools.
fn any_state() -> impl Strategy<Value = Value> {
    let ty = prop::sample::select(vec![
        "Pass", "Choice", "Wait", "Succeed", "Fail", "Map", "Parallel", "Task",
    ]);
    let fields = prop::collection::vec((state_key(), any_json()), 0..4);
    let next = prop::sample::select(NAMES.to_vec());
    (ty, fields, next, any::<bool>()).prop_map(|(ty, fields, next, end)| {
        let mut o: Map<String, Value> = fields.into_iter().collect();
        o.insert("Type".into(), json!(ty));
        if end {
            o.insert("End".into(), json!(true));
        } else {
            o.insert("Next".into(), json!(next));
        }
        let sub = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}});
        match ty {
            "Choice" => {
                o.remove("End");
                o.remove("Next");
                o.entry("Choices")
                    .or_insert(json!([{"Variable": "$.a", "NumericEquals": 1, "Next": next}]));
            }
            "Succeed" | "Fail" => {
                o.remove("End");
                o.remove("Next");
            }
            "Map" => {
                o.entry("ItemProcessor").or_insert(sub);
            }
            "Parallel" => {
                o.entry("Branches").or_insert(json!([sub]));
            }
            "Wait" => {
                o.entry("Seconds").or_insert(json!(1));
            }
            "Task" => {
                o.entry("Resource")
                    .or_insert(json!("arn:aws:states:::nothing"));
            }
            _ => {}
        }
        Value::Object(o)
    })
}

/// Drops random fields the state type or query language does not have, so that most random
/// machines get past validation and exercise the executor.
fn keep_supported_fields(state: &mut Value, jsonata: bool) {
    let ty = state["Type"].as_str().unwrap_or("").to_string();
    let io = ["InputPath", "OutputPath", "Assign", "Output", "Comment"];
    let result = [
        "Parameters",
        "ResultPath",
        "ResultSelector",
        "Retry",
        "Catch",
        "Arguments",
    ];
    let own: &[&str] = match ty.as_str() {
        "Pass" => &["Result", "Parameters", "ResultPath"],
        "Wait" => &["Seconds"],
        "Fail" => &["Error", "Cause", "ErrorPath", "CausePath"],
        "Map" => &[
            "Items",
            "ItemsPath",
            "ItemSelector",
            "MaxConcurrency",
            "ToleratedFailureCount",
        ],
        "Task" => &["TimeoutSeconds"],
        _ => &[],
    };
    let structural = [
        "Type",
        "Next",
        "End",
        "Choices",
        "Default",
        "Branches",
        "ItemProcessor",
        "Resource",
    ];
    let with_result = matches!(ty.as_str(), "Map" | "Parallel" | "Task");
    let jsonpath_only = [
        "InputPath",
        "OutputPath",
        "ResultPath",
        "Parameters",
        "ResultSelector",
        "ItemsPath",
        "ErrorPath",
        "CausePath",
    ];
    let jsonata_only = ["Arguments", "Output", "Items"];
    if let Some(o) = state.as_object_mut() {
        o.retain(|k, _| {
            let k = k.as_str();
            let known = structural.contains(&k)
                || own.contains(&k)
                || (ty != "Fail" && io.contains(&k))
                || (with_result && result.contains(&k));
            let language_ok = if jsonata {
                !jsonpath_only.contains(&k)
            } else {
                !jsonata_only.contains(&k)
            };
            known && language_ok
        });
    }
}

fn any_machine() -> impl Strategy<Value = Value> {
    (prop::collection::vec(any_state(), 1..5), any::<bool>()).prop_map(|(states, jsonata)| {
        let n = states.len();
        let mut o = Map::new();
        for (i, mut s) in states.into_iter().enumerate() {
            // Point `Next` at an existing state (the following one, or back to the start).
            if s.get("Next").is_some() {
                s["Next"] = json!(NAMES[(i + 1) % n]);
            }
            keep_supported_fields(&mut s, jsonata);
            o.insert(NAMES[i].to_string(), s);
        }
        let mut m = json!({"StartAt": "A", "States": o});
        if jsonata {
            m["QueryLanguage"] = json!("JSONata");
        }
        m
    })
}

/// A random JSONPath Choice rule: known and unknown operators with operands of any type,
/// combinators nested up to three levels (often invalid: the parser must reject, not panic).
fn any_rule() -> impl Strategy<Value = Value> {
    let op = prop::sample::select(vec![
        "StringEquals",
        "StringMatches",
        "NumericEquals",
        "NumericLessThanPath",
        "BooleanEquals",
        "TimestampLessThan",
        "TimestampEqualsPath",
        "IsPresent",
        "IsNull",
        "IsTimestamp",
        "NumericEqual",
    ]);
    let var = prop::sample::select(vec![
        "$",
        "$.a",
        "$.b[0]",
        "$.items[1:]",
        "$..a",
        "$$.Execution.Input",
        "$x",
        "$.a[?(@.b > 1)]",
    ]);
    let random =
        (op, var.clone(), any_json(), any::<bool>()).prop_map(|(op, var, operand, with_var)| {
            let mut r = json!({ op: operand });
            if with_var {
                r["Variable"] = json!(var);
            }
            r
        });
    let valid = (var, 0usize..3).prop_map(|(var, k)| match k {
        0 => json!({"Variable": var, "IsPresent": true}),
        1 => json!({"Variable": var, "NumericGreaterThan": 1}),
        _ => json!({"Variable": var, "StringMatches": "a*"}),
    });
    let leaf = prop_oneof![1 => random, 3 => valid];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| json!({"And": v})),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| json!({"Or": v})),
            inner.prop_map(|r| json!({"Not": r})),
        ]
    })
}

/// JSONata expressions that evaluate, fail at run time, or do not parse.
fn any_jsonata() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        "{% $states.input.a = 1 %}",
        "{% $x %}",
        "{% $count($states.input.items) > 1 %}",
        "{% $nope() %}",
        "{% 1/0 %}",
        "{% $states.input.a.b.c %}",
        "{% $string($states.input) %}",
        "{% [1,2,3][$ > 1] %}",
        "{% $states.context.Map.Item.Index %}",
        "{% ( %}",
        "{% $partition([1,2,3], 2) %}",
    ])
    .prop_map(|s| json!(s))
}

/// A machine of Map, Parallel and Choice states around random inner machines, nested up to
/// three levels, in either query language, with variables assigned at several levels.
fn nested_machine() -> impl Strategy<Value = Value> {
    let simple = prop::sample::select(vec![
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"y": 2}, "End": true}}}),
        json!({"StartAt": "A", "States": {"A": {"Type": "Fail", "Error": "E"}}}),
        json!({"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 1, "Next": "B"},
            "B": {"Type": "Pass", "End": true}}}),
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"x": 3}, "End": true}}}),
    ]);
    let leaf = prop_oneof![1 => any_machine(), 2 => simple];
    leaf.prop_recursive(3, 8, 2, |inner| {
        (
            inner.clone(),
            prop::collection::vec(inner, 1..3),
            any::<bool>(),
            any::<bool>(),
            any_rule(),
            any_jsonata(),
            prop::sample::select(vec!["a", "x", "y"]),
        )
            .prop_map(
                |(mut proc, branches, distributed, jsonata, rule, cond, var)| {
                    if distributed {
                        proc["ProcessorConfig"] =
                            json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"});
                    }
                    let choice = if jsonata {
                        json!({"Condition": cond, "Next": "P", "Assign": {var: cond}})
                    } else {
                        let mut r = rule;
                        r["Next"] = json!("P");
                        r
                    };
                    let mut m = json!({"StartAt": "C", "States": {
                        "C": {"Type": "Choice", "Choices": [choice], "Default": "M"},
                        "M": {"Type": "Map", "ItemProcessor": proc, "MaxConcurrency": 2,
                              "Assign": {var: 1}, "Next": "P"},
                        "P": {"Type": "Parallel", "Branches": branches, "End": true,
                              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}]},
                        "F": {"Type": "Fail", "Error": "Caught"}}});
                    if jsonata {
                        m["QueryLanguage"] = json!("JSONata");
                        m["States"]["M"]["Items"] = json!("{% $states.input.items %}");
                    } else {
                        m["States"]["M"]["ItemsPath"] = json!("$.items");
                    }
                    m
                },
            )
    })
}

fn any_input() -> impl Strategy<Value = Value> {
    (prop::collection::vec(any_json(), 0..4), any_json())
        .prop_map(|(items, a)| json!({"items": items, "a": a}))
}

proptest! {
    #[test]
    fn nested_machines_never_panic(def in nested_machine(), input in any_input()) {
        if let Ok(sm) = definition::parse(&def) {
            let r = execute_blocking(&sm, input, &cfg());
            prop_assert!(r.history.last().is_some_and(|e| e.kind.starts_with("Execution")));
        }
    }

    #[test]
    fn random_choice_rules_never_panic(rule in any_rule(), input in any_input()) {
        let mut r = rule;
        r["Next"] = json!("D");
        let def = json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [r], "Default": "D"},
            "D": {"Type": "Succeed"}}});
        if let Ok(sm) = definition::parse(&def) {
            let r = execute_blocking(&sm, input, &cfg());
            prop_assert!(r.history.last().is_some_and(|e| e.kind.starts_with("Execution")));
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_json_never_panics_the_parser(def in any_json()) {
        let _ = definition::parse(&def);
        let _ = definition::parse(&json!({"StartAt": "A", "States": {"A": def}}));
    }

    #[test]
    fn random_machines_never_panic(def in any_machine(), input in any_json()) {
        if let Ok(sm) = definition::parse(&def) {
            let r = execute_blocking(&sm, input, &cfg());
            prop_assert!(r.event_count() <= 300);
            prop_assert!(r.history.last().is_some_and(|e| e.kind.starts_with("Execution")));
        }
    }

    #[test]
    fn map_keeps_item_order_under_any_concurrency(
        waits in prop::collection::vec(0u64..5, 0..30),
        max_concurrency in 0u64..6,
    ) {
        let items: Vec<Value> = waits.iter().enumerate().map(|(i, w)| json!({"v": i, "w": w})).collect();
        let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "MaxConcurrency": max_concurrency,
            "ItemProcessor": {"StartAt": "W", "States": {
                "W": {"Type": "Wait", "SecondsPath": "$.w", "Next": "P"},
                "P": {"Type": "Pass", "OutputPath": "$.v", "End": true}}}}}});
        let sm = definition::parse(&def).expect("valid");
        let r = execute_blocking(&sm, Value::Array(items), &ExecutionConfig { clock: ClockMode::Virtual, ..ExecutionConfig::default() });
        let want: Vec<Value> = (0..waits.len()).map(|i| json!(i)).collect();
        prop_assert_eq!(r.output, Some(Value::Array(want)));
    }

    #[test]
    fn parallel_keeps_branch_order(waits in prop::collection::vec(0u64..10, 1..8)) {
        let branches: Vec<Value> = waits.iter().enumerate().map(|(i, w)| json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": w, "Next": "P"},
            "P": {"Type": "Pass", "Result": i, "End": true}}})).collect();
        let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": branches}}});
        let sm = definition::parse(&def).expect("valid");
        let r = execute_blocking(&sm, json!({}), &ExecutionConfig { clock: ClockMode::Virtual, ..ExecutionConfig::default() });
        let want: Vec<Value> = (0..waits.len()).map(|i| json!(i)).collect();
        prop_assert_eq!(r.output, Some(Value::Array(want)));
    }
}

/// Sleeps the number of milliseconds in its parameters, then echoes them.
struct Sleepy;

impl Integration for Sleepy {
    fn handles(&self, resource: &str) -> bool {
        resource == "test:sleep"
    }

    fn invoke(&self, request: TaskRequest) -> TaskFuture<'_> {
        Box::pin(async move {
            let ms = request
                .parameters
                .get("ms")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(request.parameters)
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn map_of_real_tasks_keeps_order(
        sleeps in prop::collection::vec(0u64..6, 0..16),
        workers in 1usize..5,
        max_concurrency in 0u64..5,
    ) {
        let items: Vec<Value> = sleeps.iter().enumerate().map(|(i, ms)| json!({"i": i, "ms": ms})).collect();
        let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "MaxConcurrency": max_concurrency,
            "ItemProcessor": {"StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": "test:sleep", "End": true}}}}}});
        let sm = definition::parse(&def).expect("valid");
        let cfg = ExecutionConfig {
            clock: ClockMode::Virtual,
            max_workers: workers,
            integrations: Arc::new(vec![Box::new(Sleepy) as Box<dyn Integration>]),
            ..ExecutionConfig::default()
        };
        let r = execute_blocking(&sm, Value::Array(items.clone()), &cfg);
        prop_assert_eq!(r.status, ExecutionStatus::Succeeded);
        prop_assert_eq!(r.output, Some(Value::Array(items)));
    }
}

/// How many of 400 machines drawn from `strategy` pass definition validation.
fn parse_count(strategy: impl Strategy<Value = Value>, runner: &mut TestRunner) -> usize {
    (0..400)
        .filter(|_| {
            let def = strategy.new_tree(runner).expect("tree").current();
            definition::parse(&def).is_ok()
        })
        .count()
}

#[test]
fn generator_produces_runnable_machines() {
    let mut runner = TestRunner::deterministic();
    let flat = parse_count(any_machine(), &mut runner);
    let nested = parse_count(nested_machine(), &mut runner);
    eprintln!("{flat}/400 random and {nested}/400 nested machines parse");
    // Below these the property tests would mostly exercise the parser, not the executor.
    assert!(flat >= 80, "only {flat}/400 random machines parse");
    assert!(nested >= 40, "only {nested}/400 nested machines parse");
}

/// Path-like and intrinsic-like text: a known prefix, then arbitrary characters (multi-byte
/// ones included, to catch slicing inside a character).
fn path_text() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "$",
        "$.",
        "$.a[",
        "$.a[?(@.",
        "$..",
        "$$.",
        "$x.",
        "States.Format('",
        "States.ArrayGetItem($.a, ",
        "States.StringSplit('",
        "States.MathAdd(",
        "States.Hash($.a, '",
    ]);
    (prefix, "\\PC{0,16}").prop_map(|(p, rest)| format!("{p}{rest}"))
}

proptest! {
    #[test]
    fn arbitrary_paths_and_intrinsics_never_panic(text in path_text()) {
        let input = json!({"a": [1, "é", {"b": 2}], "items": []});
        let _ = flowc::engine::jsonpath::query(&text, &input);
        // Through a state: the definition check, then (if accepted) the evaluation.
        let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true,
            "Parameters": {"v.$": text}}}});
        if let Ok(sm) = definition::parse(&def) {
            let r = execute_blocking(&sm, input, &cfg());
            prop_assert!(r.history.last().is_some_and(|e| e.kind.starts_with("Execution")));
        }
    }
}
