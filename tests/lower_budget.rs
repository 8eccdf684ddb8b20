//! Budget pass: one test per code, the Map-kind choice and the history-event counts.

mod lower_common;

use flowc::diagnostics::{Diagnostic, Severity};
use flowc::ir::{self, MapMode};
use flowc::options::CompileOptions;
use flowc::passes::budget::{self, MapKind};
use lower_common::{deco, flow, foreach, own, retry, Next::*};
use std::collections::BTreeMap;

fn fan(mode: MapMode, max_items: Option<u64>) -> ir::Flow {
    let mut f = flow(
        "Fan",
        &[
            ("start", Foreach("body", "items", "join")),
            ("body", To("join")),
            ("join", To("end")),
            ("end", End),
        ],
    );
    deco(&mut f, "start").foreach = foreach(mode, max_items, None);
    f
}

fn plan(f: &ir::Flow) -> (budget::MapDecisions, Vec<Diagnostic>) {
    let mut diags = vec![];
    let plan = budget::plan_maps(f, &CompileOptions::default(), &mut diags);
    (plan, diags)
}

fn codes(diags: &[Diagnostic]) -> Vec<&'static str> {
    diags.iter().map(|d| d.code).collect()
}

fn compile_err(f: ir::Flow) -> Vec<Diagnostic> {
    flowc::compile_ir(f, &CompileOptions::default(), vec![]).expect_err("must fail")
}

#[test]
fn batch_task_events_count_every_attempt() {
    let mut f = fan(MapMode::Auto, None);
    let start = f.step_id("start").unwrap();
    // entered/exited 2 + one .sync attempt 4 + 5 throttled attempts × 3.
    assert_eq!(budget::task_events(f.step(start)), 2 + 4 + 15);
    deco(&mut f, "start").retry = retry(3);
    deco(&mut f, "start").catch = own(
        ir::Catch {
            var: Some("e".into()),
        },
        (1, 2),
    );
    // ...and the error recording: an SDK Task of 5 events plus 3 retries × 3.
    assert_eq!(budget::task_events(f.step(start)), 2 + 4 * 4 + 15 + 5 + 9);
}

#[test]
fn linear_flow_events() {
    let f = flow("L", &[("start", To("end")), ("end", End)]);
    let (p, d) = plan(&f);
    assert!(d.is_empty());
    assert_eq!(p.execution_events, 2 + budget::events::PRELUDE + 2 * 21);
}

#[test]
fn auto_bounded_foreach_is_inline() {
    let (p, d) = plan(&fan(MapMode::Auto, Some(10)));
    assert!(d.is_empty(), "{d:?}");
    let m = p.get(ir::StepId(0)).unwrap();
    assert_eq!(m.kind, MapKind::Inline);
    // Map 4 + 10 × (iteration 2 + body task 21).
    assert_eq!(m.worst_case_events, 4 + 10 * 23);
    assert_eq!(
        p.execution_events,
        2 + budget::events::PRELUDE + 21 + (5 + 9) + 234 + 21 + 21
    );
}

#[test]
fn auto_unbounded_foreach_is_distributed() {
    let (p, d) = plan(&fan(MapMode::Auto, None));
    assert!(d.is_empty());
    let m = p.get(ir::StepId(0)).unwrap();
    assert_eq!(m.kind, MapKind::Distributed);
    assert!(m.reason.contains("unbounded"), "{}", m.reason);
    assert_eq!(
        m.worst_case_events,
        2 + 21,
        "one child execution: start/end + the body task"
    );
}

#[test]
fn auto_too_wide_foreach_switches_to_distributed() {
    let (p, d) = plan(&fan(MapMode::Auto, Some(5000)));
    assert!(d.is_empty(), "{d:?}");
    let m = p.get(ir::StepId(0)).unwrap();
    assert_eq!(m.kind, MapKind::Distributed);
    assert!(m.reason.contains("exceed"), "{}", m.reason);
}

#[test]
fn auto_switches_only_what_is_needed() {
    // Two sibling foreaches in sequence: one of 1000 items fits alone, so only the wider
    // one (switching it saves the most) becomes distributed.
    let mut f = flow(
        "Two",
        &[
            ("start", Foreach("a", "xs", "a_join")),
            ("a", To("a_join")),
            ("a_join", Foreach("b", "ys", "b_join")),
            ("b", To("b_join")),
            ("b_join", To("end")),
            ("end", End),
        ],
    );
    deco(&mut f, "start").foreach = foreach(MapMode::Auto, Some(800), None);
    deco(&mut f, "a_join").foreach = foreach(MapMode::Auto, Some(900), None);
    let (p, d) = plan(&f);
    assert!(d.iter().all(|d| d.severity == Severity::Warning), "{d:?}");
    assert_eq!(p.get(ir::StepId(0)).unwrap().kind, MapKind::Inline);
    assert_eq!(p.get(ir::StepId(2)).unwrap().kind, MapKind::Distributed);
    assert!(p.execution_events <= budget::MAX_HISTORY_EVENTS);
}

#[test]
fn e0505_inline_without_max_items() {
    let (_, d) = plan(&fan(MapMode::Inline, None));
    assert_eq!(codes(&d), ["E0505"]);
    assert_eq!(
        d[0].position().start,
        900,
        "label on the @foreach decorator"
    );
}

#[test]
fn e0504_inline_too_wide() {
    let (_, d) = plan(&fan(MapMode::Inline, Some(100_000)));
    assert_eq!(codes(&d), ["E0504"], "no W0501 on the foreach E0504 blames");
    assert!(
        d[0].message
            .contains("above the Step Functions quota of 25,000"),
        "{}",
        d[0].message
    );
}

#[test]
fn e0504_in_a_child_execution() {
    let mut f = flow(
        "Child",
        &[
            ("start", Foreach("outer", "xs", "join")),
            ("outer", Foreach("inner", "ys", "outer_join")),
            ("inner", To("outer_join")),
            ("outer_join", To("join")),
            ("join", To("end")),
            ("end", End),
        ],
    );
    deco(&mut f, "start").foreach = foreach(MapMode::Distributed, None, None);
    deco(&mut f, "outer").foreach = foreach(MapMode::Inline, Some(5000), None);
    let (_, d) = plan(&f);
    assert_eq!(codes(&d), ["E0504"], "no W0501 on the foreach E0504 blames");
    assert!(
        d[0].message
            .contains("child execution of distributed foreach `start`"),
        "{}",
        d[0].message
    );
}

#[test]
fn w0501_inline_wider_than_concurrency() {
    let (p, d) = plan(&fan(MapMode::Inline, Some(100)));
    assert_eq!(codes(&d), ["W0501"]);
    assert_eq!(p.get(ir::StepId(0)).unwrap().kind, MapKind::Inline);
    let (_, d) = plan(&fan(MapMode::Inline, Some(40)));
    assert!(d.is_empty());
}

#[test]
fn e0501_long_generated_state_name() {
    let long = "s".repeat(75);
    let mut f = flow(
        "N",
        &[("start", To(&long)), (&long, To("end")), ("end", End)],
    );
    deco(&mut f, &long).catch = own(
        ir::Catch {
            var: Some("e".into()),
        },
        (1, 2),
    );
    let d = compile_err(f);
    assert_eq!(codes(&d), ["E0501"]);
    assert!(d[0].message.contains("-RecordError"));
    assert_eq!(d[0].position().start, 2000, "label on the step name");
}

#[test]
fn e0503_container_overrides_too_large() {
    let mut f = flow("O", &[("start", To("end")), ("end", End)]);
    let vars = BTreeMap::from([("DATA".to_string(), "x".repeat(8200))]);
    deco(&mut f, "start").environment = own(ir::Environment { vars }, (50, 60));
    let d = compile_err(f);
    assert_eq!(codes(&d), ["E0503"]);
    assert_eq!(d[0].labels.len(), 2, "step name and @environment");
}

#[test]
fn e0502_definition_too_large() {
    let names: Vec<String> = (0..160).map(|i| format!("s{i}")).collect();
    let mut steps: Vec<(&str, lower_common::Next)> = vec![("start", To("s0"))];
    for (i, n) in names.iter().enumerate() {
        steps.push((n, To(names.get(i + 1).map(String::as_str).unwrap_or("end"))));
    }
    steps.push(("end", End));
    let mut f = flow("Big", &steps);
    for s in &mut f.steps {
        let vars = BTreeMap::from([("BIG".to_string(), "y".repeat(7000))]);
        s.decorators.environment = own(ir::Environment { vars }, (50, 60));
    }
    let d = compile_err(f);
    assert_eq!(codes(&d), ["E0502"]);
}

#[test]
fn every_raised_code_is_documented() {
    let documented: Vec<&str> = budget::CODES.iter().map(|c| c.code).collect();
    for code in ["E0501", "E0502", "E0503", "E0504", "E0505", "W0501"] {
        assert!(documented.contains(&code), "{code}");
    }
}

#[test]
fn e0504_without_inline_foreach_points_at_the_flow() {
    // 1,200 steps × 21 events (one attempt plus the throttling retries) exceed 25,000.
    let names: Vec<String> = (0..1200).map(|i| format!("s{i}")).collect();
    let mut steps: Vec<(&str, lower_common::Next)> = vec![("start", To("s0"))];
    for (i, n) in names.iter().enumerate() {
        steps.push((n, To(names.get(i + 1).map(String::as_str).unwrap_or("end"))));
    }
    steps.push(("end", End));
    let (_, d) = plan(&flow("Long", &steps));
    assert_eq!(codes(&d), ["E0504"]);
    assert_eq!(d[0].position().start, 5, "label on the flow name");
    assert!(d[0]
        .help
        .as_deref()
        .unwrap_or("")
        .contains("split the flow"));
}
