//! A small builder of validated IR for the lower/budget tests, so they do not depend on the
//! parser and the front passes.

#![allow(dead_code)]

use flowc::ir::{self, Command, Flow, Param, Step, StepDecorators, StepId, Transition};
use flowc::span::{Span, Spanned};

/// Edges by step name.
pub enum Next<'a> {
    End,
    To(&'a str),
    Split(&'a [&'a str], &'a str),
    Foreach(&'a str, &'a str, &'a str),
    Switch(&'a str, &'a [(&'a str, &'a str)]),
}

/// A flow named `name` with `steps` (name, edge) in source order; each step runs
/// `python <name>.py`; step `i` has the span `1000*(i+1) .. +len(name)`.
pub fn flow(name: &str, steps: &[(&str, Next)]) -> Flow {
    let id = |n: &str| {
        StepId(
            steps
                .iter()
                .position(|(s, _)| *s == n)
                .unwrap_or_else(|| panic!("no step {n}")) as u32,
        )
    };
    let built = steps
        .iter()
        .enumerate()
        .map(|(i, (n, next))| Step {
            id: StepId(i as u32),
            name: n.to_string(),
            span: Span::new(1000 * (i + 1), 1000 * (i + 1) + n.len()),
            command: Command::Shell(format!("python {n}.py")),
            next: match next {
                Next::End => Transition::End,
                Next::To(t) => Transition::Linear(id(t)),
                Next::Split(ts, j) => Transition::Split {
                    targets: ts.iter().map(|t| id(t)).collect(),
                    join: Some(id(j)),
                },
                Next::Foreach(b, over, j) => Transition::Foreach {
                    body: id(b),
                    over: ir::ForeachSource::Artifact(over.to_string()),
                    join: Some(id(j)),
                },
                Next::Switch(on, cases) => Transition::Switch {
                    on: ir::ForeachSource::Artifact(on.to_string()),
                    cases: cases.iter().map(|(v, t)| (v.to_string(), id(t))).collect(),
                },
            },
            decorators: StepDecorators::default(),
        })
        .collect();
    Flow {
        name: name.to_string(),
        name_span: Span::new(5, 5 + name.len()),
        params: vec![],
        steps: built,
        decorators: Default::default(),
    }
}

/// Mutable decorators of step `name`.
pub fn deco<'a>(flow: &'a mut Flow, name: &str) -> &'a mut StepDecorators {
    let id = flow.step_id(name).expect("step exists");
    &mut flow.steps[id.index()].decorators
}

/// `value` as written on the step at `span`.
pub fn own<T>(value: T, span: (usize, usize)) -> Option<Spanned<T>> {
    Some(Spanned::own(value, Span::new(span.0, span.1)))
}

/// Adds a parameter.
pub fn param(flow: &mut Flow, name: &str, ty: ir::ParamType, default: Option<serde_json::Value>) {
    let span = Span::new(
        100 + 10 * flow.params.len(),
        100 + 10 * flow.params.len() + name.len(),
    );
    flow.params.push(Param {
        name: name.into(),
        span,
        ty,
        default: default.map(|d| Spanned::own(d, span)),
        help: None,
    });
}

/// A foreach decorator.
pub fn foreach(
    mode: ir::MapMode,
    max_items: Option<u64>,
    max_concurrency: Option<u32>,
) -> Option<Spanned<ir::Foreach>> {
    own(
        ir::Foreach {
            max_concurrency,
            max_items,
            mode,
        },
        (900, 908),
    )
}

/// A `@retry(times)` with the spec's defaults otherwise.
pub fn retry(times: u32) -> Option<Spanned<ir::Retry>> {
    own(
        ir::Retry {
            times,
            interval: ir::Seconds(120),
            backoff: 1.0,
            max_delay: None,
            jitter: false,
        },
        (800, 806),
    )
}

/// Writes `asl` to `$FLOWC_ASL_DUMP/<name>.json` when that variable is set (to run
/// `asl-validator` on every definition the tests produce).
pub fn dump(name: &str, asl: &str) {
    if let Ok(dir) = std::env::var("FLOWC_ASL_DUMP") {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(format!("{dir}/{name}.json"), asl);
    }
}

/// Every transition of `machine` (and of its nested machines) names a state of its own scope,
/// and every state is reachable from `StartAt` (what `asl-validator` also checks).
pub fn check_scopes(machine: &serde_json::Value, file: &str) {
    let states = machine["States"].as_object().expect("States");
    let mut targets = vec![machine["StartAt"].as_str().expect("StartAt").to_string()];
    for state in states.values() {
        let choices = state["Choices"].as_array().into_iter().flatten();
        let catches = state["Catch"].as_array().into_iter().flatten();
        let nexts = [&state["Next"], &state["Default"]].into_iter();
        for t in nexts
            .chain(choices.map(|c| &c["Next"]))
            .chain(catches.map(|c| &c["Next"]))
        {
            if let Some(t) = t.as_str() {
                assert!(states.contains_key(t), "{file}: `{t}` is not in this scope");
                targets.push(t.to_string());
            }
        }
        for b in state["Branches"].as_array().into_iter().flatten() {
            check_scopes(b, file);
        }
        if state.get("ItemProcessor").is_some() {
            check_scopes(&state["ItemProcessor"], file);
        }
    }
    for name in states.keys() {
        assert!(
            targets.contains(name),
            "{file}: state `{name}` is unreachable"
        );
    }
}
