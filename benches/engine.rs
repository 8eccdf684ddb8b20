//! Engine benchmark (`cargo bench --bench engine`): prints milliseconds and state
//! transitions per second for
//! - a Pass/Choice loop of 12,000 transitions (~24,000 history events, under the 25,000
//!   quota);
//! - a 10,000-item inline Map (40,000+ events: over AWS's 25,000-events quota, so the quota
//!   is lifted here to time the executor alone; AWS would fail this execution);
//! - the same Map in DISTRIBUTED mode (iterations are child executions, within the quota).
//!
//! Each figure is the best of several runs of parse + execute on the real clock.

use flowc::engine::definition;
use flowc::engine::exec::{execute_blocking, ExecutionConfig, ExecutionStatus};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn loop_machine(iterations: u64) -> Value {
    json!({"StartAt": "Check", "States": {
        "Check": {"Type": "Choice",
            "Choices": [{"Variable": "$.i", "NumericGreaterThanEquals": iterations, "Next": "Done"}],
            "Default": "Inc"},
        "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)", "tag.$": "$.tag"}, "Next": "Check"},
        "Done": {"Type": "Succeed"}}})
}

fn map_machine(mode: &str) -> Value {
    json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": mode, "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "$.v"}, "End": true}}}}}})
}

struct Measure {
    best: Duration,
    events: usize,
}

fn measure(def: &Value, input: &Value, cfg: &ExecutionConfig) -> Measure {
    let mut best = Duration::MAX;
    let mut events = 0;
    for _ in 0..RUNS {
        let t0 = Instant::now();
        let sm = match definition::parse(def) {
            Ok(sm) => sm,
            Err(e) => panic!("benchmark definition rejected: {e:?}"),
        };
        let r = execute_blocking(&sm, input.clone(), cfg);
        let took = t0.elapsed();
        assert_eq!(r.status, ExecutionStatus::Succeeded, "{}", r.to_json());
        best = best.min(took);
        events = r.event_count();
    }
    Measure { best, events }
}

fn report(name: &str, transitions: usize, m: &Measure) {
    let ms = m.best.as_secs_f64() * 1000.0;
    let per_s = transitions as f64 / m.best.as_secs_f64();
    println!("{name:<44} {transitions:>7} transitions {:>7} events {ms:>9.2} ms {per_s:>12.0} transitions/s", m.events);
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let cfg = ExecutionConfig::default();
    let iterations = 6_000u64;
    let m = measure(
        &loop_machine(iterations),
        &json!({"i": 0, "tag": "bench"}),
        &cfg,
    );
    report("Pass/Choice loop", 2 * iterations as usize + 1, &m);

    let items: Vec<Value> = (0..10_000).map(|i| json!({"v": i})).collect();
    let input = Value::Array(items);
    let unbounded = ExecutionConfig {
        max_history_events: usize::MAX,
        ..ExecutionConfig::default()
    };
    let m = measure(&map_machine("INLINE"), &input, &unbounded);
    report("inline Map, 10,000 items (quota lifted)", 10_001, &m);

    let m = measure(&map_machine("DISTRIBUTED"), &input, &cfg);
    report("distributed Map, 10,000 items", 10_001, &m);

    let lean = ExecutionConfig {
        keep_payloads: false,
        ..ExecutionConfig::default()
    };
    let m = measure(
        &loop_machine(iterations),
        &json!({"i": 0, "tag": "bench"}),
        &lean,
    );
    report(
        "Pass/Choice loop, history without payloads",
        2 * iterations as usize + 1,
        &m,
    );
}
