//! Property tests: random definitions and inputs never panic the parser or the executor, and
//! Map / Parallel outputs keep item and branch order under any concurrency and timing.

use flowc::engine::clock::ClockMode;
use flowc::engine::definition;
use flowc::engine::exec::{execute_blocking, ExecutionConfig, ExecutionStatus};
use flowc::engine::integrations::{Integration, TaskFuture, TaskRequest};
use proptest::prelude::*;
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

#[test]
fn generator_produces_runnable_machines() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = any_machine();
    let mut parsed = 0;
    for _ in 0..400 {
        let def = strategy.new_tree(&mut runner).expect("tree").current();
        parsed += usize::from(definition::parse(&def).is_ok());
    }
    assert!(
        parsed >= 80,
        "only {parsed}/400 random machines parse: the property test would be weak"
    );
    eprintln!("{parsed}/400 random machines parse");
}
