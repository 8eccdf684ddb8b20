//! `ItemBatcher` of a distributed Map: `MaxItemsPerBatch`, `MaxInputBytesPerBatch` and their
//! `…Path` forms (AWS Step Functions, "ItemBatcher (Map)").

use flowc::engine::clock::ClockMode;
use flowc::engine::definition;
use flowc::engine::exec::{execute_blocking, ExecutionConfig, ExecutionStatus};
use serde_json::{json, Value};

fn run(batcher: Value, input: Value) -> flowc::engine::exec::ExecutionResult {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemsPath": "$.items", "ItemBatcher": batcher,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let sm = definition::parse(&def).expect("valid definition");
    let cfg = ExecutionConfig {
        clock: ClockMode::Virtual,
        ..ExecutionConfig::default()
    };
    execute_blocking(&sm, input, &cfg)
}

/// Five 7-byte items `{"n":i}`; `{"Items":[a,b]}` is 27 bytes.
fn items() -> Value {
    Value::Array((0..5).map(|i| json!({"n": i})).collect())
}

fn batch_sizes(output: &Option<Value>) -> Vec<usize> {
    output
        .as_ref()
        .and_then(Value::as_array)
        .map(|bs| {
            bs.iter()
                .map(|b| b["Items"].as_array().map_or(0, Vec::len))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn max_input_bytes_per_batch_limits_the_batch_size() {
    let r = run(
        json!({"MaxInputBytesPerBatch": 27}),
        json!({"items": items()}),
    );
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{:?}", r.error);
    assert_eq!(batch_sizes(&r.output), vec![2, 2, 1]);
}

#[test]
fn both_limits_apply_together() {
    let r = run(
        json!({"MaxInputBytesPerBatch": 1000, "MaxItemsPerBatch": 3}),
        json!({"items": items()}),
    );
    assert_eq!(batch_sizes(&r.output), vec![3, 2]);
    let r = run(
        json!({"MaxInputBytesPerBatch": 27, "MaxItemsPerBatch": 3}),
        json!({"items": items()}),
    );
    assert_eq!(batch_sizes(&r.output), vec![2, 2, 1]);
}

#[test]
fn max_input_bytes_per_batch_path_reads_the_input() {
    let r = run(
        json!({"MaxInputBytesPerBatchPath": "$.bytes", "BatchInput": {"k": 1}}),
        json!({"items": items(), "bytes": 60}),
    );
    // `{"BatchInput":{"k":1},"Items":[a,b,c]}` is 12 + 14 + 7 + 23 = 56 bytes.
    assert_eq!(batch_sizes(&r.output), vec![3, 2]);
}

#[test]
fn invalid_path_value_fails_the_map() {
    let r = run(
        json!({"MaxInputBytesPerBatchPath": "$.bytes"}),
        json!({"items": items(), "bytes": "lots"}),
    );
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    let cause = r.cause.unwrap_or_default();
    assert!(cause.contains(
        "The MaxInputBytesPerBatchPath field refers to value \"lots\" which is not a valid integer: $.bytes"
    ), "{cause}");
}

#[test]
fn an_item_larger_than_a_batch_fails_the_map() {
    let r = run(
        json!({"MaxInputBytesPerBatch": 15}),
        json!({"items": items()}),
    );
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
}

#[test]
fn jsonata_limits_and_batch_input_are_evaluated() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "Items": "{% $states.input.items %}",
        "ItemBatcher": {"MaxItemsPerBatch": "{% $states.input.per %}",
            "BatchInput": {"k": "{% $states.input.per * 10 %}"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let sm = definition::parse(&def).expect("valid definition");
    let cfg = ExecutionConfig {
        clock: ClockMode::Virtual,
        ..ExecutionConfig::default()
    };
    let r = execute_blocking(&sm, json!({"items": items(), "per": 4}), &cfg);
    assert_eq!(batch_sizes(&r.output), vec![4, 1]);
    let first = r.output.as_ref().map(|o| o[0]["BatchInput"].clone());
    assert_eq!(first, Some(json!({"k": 40})));
}
