//! validate: the graph rules of the spec, decorator placement and value ranges. After it,
//! the graph is a DAG from `start` to `end` with every split and foreach joined (the `join`
//! fields of the IR are filled in).
//!
//! The join of a split or foreach is the immediate post-dominator of the splitting step (of
//! the body's first step for a foreach): the first step every path from it must pass. The
//! structure is well formed when each branch (the steps reachable from the branch's first
//! step without passing the join) is entered only through its first step, the branches are
//! disjoint, and the join is reached only from inside the branches; this is what makes each
//! branch a self-contained sub-graph, i.e. a well-formed ASL Parallel branch or Map iterator.
//! A switch inside a branch therefore has to converge before the join. Every step reaching
//! `end` follows from the other rules (acyclic, every non-`end` step has a `next`), so it has
//! no code of its own.

mod graph;

use crate::diagnostics::{CodeInfo, Diagnostic};
use crate::ir::{self, ForeachSource, StepId, Transition};
use crate::span::{Origin, Span};
use graph::Graph;
use std::collections::HashSet;

/// Codes raised by validate (E03xx, W03xx).
pub const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "E0301",
        title: "no `start` step",
        example: "flow F { step end { run \"x\" } }",
        explanation:
            "Every run begins with the step named `start`. Add it, or rename the first step.",
    },
    CodeInfo {
        code: "E0302",
        title: "no `end` step",
        example: "flow F { step start { run \"x\" } }",
        explanation: "Every run finishes with the step named `end`, the only step without `next`. \
Add it, or rename the last step.",
    },
    CodeInfo {
        code: "E0303",
        title: "a `next` leads to `start`",
        example: "step a { run \"x\" next start }",
        explanation: "`start` is where every run begins: no step may lead to it.",
    },
    CodeInfo {
        code: "E0304",
        title: "`end` has a `next`",
        example: "step end { run \"x\" next a }",
        explanation: "`end` is the last step of every run and has no `next`. Remove it, or move \
the work into a step before `end`.",
    },
    CodeInfo {
        code: "E0305",
        title: "step without `next`",
        example: "step train { run \"x\" }",
        explanation: "Every step except `end` says where the run continues with exactly one \
`next` statement (`next end` at the least).",
    },
    CodeInfo {
        code: "E0306",
        title: "cycle",
        example: "step a { run \"x\" next b }\nstep b { run \"y\" next a }",
        explanation: "A flow is a directed acyclic graph: no `next` may lead back to a step that \
comes before it. To repeat work, use a foreach, or `@retry` for failures.",
    },
    CodeInfo {
        code: "E0307",
        title: "unreachable step",
        example: "step start { run \"x\" next end }\nstep orphan { run \"y\" next end }",
        explanation: "Every step is reached from `start` through `next` statements; a step that \
is never reached would never run. Lead to it from another step, or remove it.",
    },
    CodeInfo {
        code: "E0308",
        title: "malformed split",
        example: "step start { run \"x\" next a, b }\n\
step a { run \"y\" next switch m { \"1\" => j, \"2\" => end } }\n\
step b { run \"z\" next j }\nstep j { run \"w\" next end }",
        explanation: "The branches of a static split `next a, b` run in parallel and all meet in \
one join step, which receives their outputs. Each branch is a self-contained part of the graph: \
it is entered only from the split, nothing leaves it except through the join (a switch inside a \
branch must converge before the join), and the join is reached only through the branches. A \
nested split has its own join.",
    },
    CodeInfo {
        code: "E0309",
        title: "malformed foreach",
        example: "step start { run \"x\" next switch m { \"all\" => fan, \"one\" => body } }\n\
step fan { run \"y\" next body foreach items }\nstep body { run \"z\" next j }",
        explanation:
            "The body of `next body foreach NAME` runs once per item and ends in one join \
step, which receives the outputs of all items. The body is the step `body`, and when `body` \
splits, iterates or switches, everything up to that structure's own join (or convergence); \
the step after it is the foreach's join. The body is entered only from the foreach step, and \
its join is reached only from the body.",
    },
    CodeInfo {
        code: "E0310",
        title: "`@foreach` on a step without a foreach",
        example: "@foreach(max_concurrency=4)\nstep a { run \"x\" next end }",
        explanation: "`@foreach` configures the fan-out of `next body foreach NAME` and belongs \
on the step with that `next`. (Given in `with` or `--with`, it applies to foreach steps only.)",
    },
    CodeInfo {
        code: "E0311",
        title: "decorator argument out of range",
        example: "@retry(times=20)",
        explanation: "Allowed ranges: `@retry` `times` 0 to 10, `backoff` ≥ 1.0 (ASL \
`BackoffRate`), `minutes_between_retries` at most 1,666,666 (ASL `IntervalSeconds` ≤ \
99,999,999), `max_delay_seconds` 1 to 31,622,400 (ASL `MaxDelaySeconds`); `@timeout` total \
1 to 99,999,999 seconds (ASL `TimeoutSeconds`); `cpu` > 0; `memory` ≥ 4 \
MiB (AWS Batch minimum); `shared_memory` > 0; `@foreach` `max_concurrency` ≥ 1 (ASL reads 0 as \
unlimited, which flowc does not allow to be written by accident) and `max_items` ≥ 1.",
    },
    CodeInfo {
        code: "E0312",
        title: "foreach over a parameter whose default is not a list",
        example: "param items: json = {\"a\": 1}\nstep start { run \"x\" next body foreach items }",
        explanation: "A foreach runs its body once per element of a JSON array, so a `json` \
parameter used by a foreach must default to a list.",
    },
    CodeInfo {
        code: "E0313",
        title: "splits and foreaches nested too deeply",
        example: "step s1 { … next s2 foreach xs }   # … 17 levels of split or foreach inside each other",
        explanation: "Splits and foreaches may nest at most 16 levels deep. Each level becomes an \
ASL `Parallel` branch or a Map `ItemProcessor`; deeper definitions exceed the JSON nesting that \
tools reading the state machine accept. Move the inner part into a flow of its own.",
    },
    CodeInfo {
        code: "W0301",
        title: "scheduled or triggered flow with a required parameter",
        example: "@schedule(daily=true)\nflow F {\n    param epochs: int\n    …\n}",
        explanation: "`@schedule` and `@trigger` start executions with the default parameters, \
and an execution without a required parameter fails before any task runs. Give the parameter a \
default. (A warning, not an error: the language spec's own example has this shape.)",
    },
    CodeInfo {
        code: "W0302",
        title: "switch without a case for a parameter's default",
        example: "param mode: str = \"full\"\nstep start { run \"x\" next switch mode { \"fast\" => end } }",
        explanation: "A switch whose value has no case fails the run. When a switch decides on a \
`str` parameter, a run with the default value would fail at the switch. Add a case for the \
default, or change the default.",
    },
];

/// Checks `flow` and fills in the joins of splits and foreaches.
///
/// Pushes E03xx errors and W03xx warnings; the join analysis only runs when the basic shape
/// (start, end, every `next` present, no cycle, everything reachable) holds, so that one
/// mistake is not reported many times. `@foreach` inherited from `with`/`--with` is removed
/// from steps without a foreach.
pub fn validate(flow: &mut ir::Flow, diags: &mut Vec<Diagnostic>) {
    let graph = Graph::new(flow);
    let errors_before = diags.len();
    shape(flow, &graph, diags);
    if diags.len() == errors_before {
        joins(flow, &graph, diags);
    }
    foreach_placement(flow, diags);
    ranges(flow, diags);
    parameters(flow, diags);
}

/// `start`/`end` present, edges into `start`, `end` without `next`, every other step with a
/// `next`, cycles, reachability.
fn shape(flow: &ir::Flow, graph: &Graph, diags: &mut Vec<Diagnostic>) {
    let start = flow.step_id("start");
    let end = flow.step_id("end");
    for (name, id, code) in [("start", start, "E0301"), ("end", end, "E0302")] {
        if id.is_none() {
            diags.push(missing_step(flow, graph, name, code));
        }
    }
    let before = diags.len();
    if end.is_some() {
        for step in &flow.steps {
            next_present(step, end, diags);
        }
    }
    let missing_next = diags[before..].iter().any(|d| d.code == "E0305");
    let Some(start) = start else { return };
    // An edge from `end` is already reported as E0304.
    for &p in graph.pred(start).iter().filter(|&&p| Some(p) != end) {
        diags.push(
            Diagnostic::error(
                "E0303",
                format!("step `{}` leads back to `start`", flow.step(p).name),
            )
            .with_primary(flow.step(p).span, "its `next` names `start`")
            .with_secondary(flow.step(start).span, "every run begins here")
            .with_help("`start` is the entry of the flow; no `next` may name it"),
        );
    }
    let (_, back) = graph.dfs(start);
    // Edges into `start` and out of `end` were reported above.
    let reported = |from: StepId, to: StepId| to == start || Some(from) == end;
    for (from, to) in back.into_iter().filter(|&(f, t)| !reported(f, t)) {
        diags.push(cycle(flow, from, to));
    }
    // A step without `next` (E0305) already explains why `end` is not reached.
    let skip = if missing_next { end } else { None };
    unreachable(flow, graph, start, skip, diags);
}

fn missing_step(flow: &ir::Flow, graph: &Graph, name: &str, code: &'static str) -> Diagnostic {
    let role = if name == "start" {
        "every run begins with it"
    } else {
        "every run finishes with it"
    };
    Diagnostic::error(code, format!("flow `{}` has no `{name}` step", flow.name))
        .with_primary(flow.name_span, format!("no step named `{name}`"))
        .with_help(missing_help(flow, graph, name, role))
}

/// Help for a missing `start`/`end`: names the steps that look like the intended one.
fn missing_help(flow: &ir::Flow, graph: &Graph, name: &str, role: &str) -> String {
    let candidates: Vec<&str> = flow
        .steps
        .iter()
        .filter(|s| match name {
            "end" => s.next == Transition::End,
            _ => graph.pred(s.id).is_empty() && s.next != Transition::End,
        })
        .map(|s| s.name.as_str())
        .collect();
    match candidates.as_slice() {
        [one] => format!("rename step `{one}` to `{name}`, or add `step {name} {{ … }}`: {role}"),
        _ => format!("add `step {name} {{ … }}`: {role}"),
    }
}

/// E0304 for `end` with a `next`, E0305 for another step without one.
fn next_present(step: &ir::Step, end: Option<StepId>, diags: &mut Vec<Diagnostic>) {
    let is_end = Some(step.id) == end;
    let has_next = step.next != Transition::End;
    if is_end && has_next {
        diags.push(
            Diagnostic::error("E0304", "step `end` has a `next`")
                .with_primary(step.span, "the last step of every run")
                .with_help(
                    "remove the `next` of `end`, or move this work into a step before `end`",
                ),
        );
    } else if !is_end && !has_next {
        let help = "add `next end`, or `next` with the step that follows";
        diags.push(
            Diagnostic::error("E0305", format!("step `{}` has no `next`", step.name))
                .with_primary(step.span, "the run cannot continue after this step")
                .with_help(help),
        );
    }
}

fn cycle(flow: &ir::Flow, from: StepId, to: StepId) -> Diagnostic {
    let (f, t) = (flow.step(from), flow.step(to));
    let d = Diagnostic::error(
        "E0306",
        format!(
            "the flow has a cycle: `{}` leads back to `{}`",
            f.name, t.name
        ),
    )
    .with_primary(f.span, format!("its `next` leads back to `{}`", t.name));
    let d = if from == to {
        d
    } else {
        d.with_secondary(t.span, "the cycle starts here")
    };
    d.with_help("a flow is acyclic; to repeat work over items use `next body foreach NAME`")
}

/// E0307 for every step not reachable from `start`.
fn unreachable(
    flow: &ir::Flow,
    graph: &Graph,
    start: StepId,
    skip: Option<StepId>,
    diags: &mut Vec<Diagnostic>,
) {
    let reached = graph.reachable(start);
    let unreported = |s: &&ir::Step| !reached[s.id.index()] && Some(s.id) != skip;
    for step in flow.steps.iter().filter(unreported) {
        let preds = graph.pred(step.id);
        let help = if preds.is_empty() {
            format!(
                "no `next` names `{}`; lead to it from another step, or remove it",
                step.name
            )
        } else {
            let names: Vec<&str> = preds.iter().map(|p| flow.step(*p).name.as_str()).collect();
            format!(
                "it is only reached from steps that are themselves unreachable: `{}`",
                names.join("`, `")
            )
        };
        diags.push(
            Diagnostic::error(
                "E0307",
                format!("step `{}` is never reached from `start`", step.name),
            )
            .with_primary(step.span, "unreachable step")
            .with_help(help),
        );
    }
}

/// Finds and checks the join of every split and foreach; fills in `join` when well formed.
fn joins(flow: &mut ir::Flow, graph: &Graph, diags: &mut Vec<Diagnostic>) {
    let Some(start) = flow.step_id("start") else {
        return;
    };
    let (order, _) = graph.dfs(start);
    let ipdom = graph.post_dominators(&order);
    let errors_before = diags.len();
    for i in 0..flow.steps.len() {
        if let Transition::Split { targets, .. } = &flow.steps[i].next {
            let joined = split_join(flow, graph, &ipdom, StepId(i as u32), targets, diags);
            if let Transition::Split { join, .. } = &mut flow.steps[i].next {
                *join = joined;
            }
        }
    }
    for i in 0..flow.steps.len() {
        if let Transition::Foreach { body, .. } = &flow.steps[i].next {
            let joined = foreach_join(flow, graph, &ipdom, StepId(i as u32), *body, diags);
            if let Transition::Foreach { join, .. } = &mut flow.steps[i].next {
                *join = joined;
            }
        }
    }
    if diags.len() == errors_before {
        nesting(flow, &order, diags);
    }
}

/// The flowc limit on splits and foreaches nested inside one another. Each level nests an ASL
/// `Parallel` branch or `ItemProcessor` (up to four JSON levels); 16 levels keep the definition
/// within the 128-level nesting that JSON readers such as serde_json accept, and the
/// compiler's recursion bounded.
pub const MAX_NESTING: usize = 16;

/// E0313 for the first split or foreach (in graph order) nested deeper than [`MAX_NESTING`].
/// Needs the joins filled in; `post_order` is the DFS post-order from `start` of the acyclic
/// graph.
fn nesting(flow: &ir::Flow, post_order: &[StepId], diags: &mut Vec<Diagnostic>) {
    let mut depth = vec![0usize; flow.steps.len()];
    let mut is_join = vec![false; flow.steps.len()];
    for &n in post_order.iter().rev() {
        let d = depth[n.index()];
        let (inner, join) = match &flow.step(n).next {
            Transition::Split { targets, join } => (targets.clone(), *join),
            Transition::Foreach { body, join, .. } => (vec![*body], *join),
            t => {
                for s in graph::successors(t) {
                    if !is_join[s.index()] {
                        depth[s.index()] = d;
                    }
                }
                continue;
            }
        };
        if d == MAX_NESTING {
            diags.push(too_deep(flow, n));
            return;
        }
        for s in inner {
            depth[s.index()] = d + 1;
        }
        if let Some(j) = join {
            depth[j.index()] = d;
            is_join[j.index()] = true;
        }
    }
}

fn too_deep(flow: &ir::Flow, at: StepId) -> Diagnostic {
    let step = flow.step(at);
    Diagnostic::error(
        "E0313",
        format!(
            "step `{}` nests a split or foreach more than {MAX_NESTING} levels deep",
            step.name
        ),
    )
    .with_primary(step.span, format!("level {} of nesting", MAX_NESTING + 1))
    .with_help("move the inner part into a flow of its own, or flatten some of the levels")
}

/// Why a block has no step after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoExit {
    /// The block runs until the end of the flow.
    FlowEnds,
    /// A split inside it is malformed (already reported).
    Malformed,
}

/// The step that follows the block starting at `n`: its successor for a linear step; for a
/// split, the step after its join's block; for a foreach, the step after the block of its
/// join; for a switch, the step where its cases converge. Split joins must be filled in
/// already; the graph is acyclic.
fn block_exit(flow: &ir::Flow, ipdom: &[Option<StepId>], n: StepId) -> Result<StepId, NoExit> {
    match &flow.step(n).next {
        Transition::End => Err(NoExit::FlowEnds),
        Transition::Linear(m) => Ok(*m),
        Transition::Split { join, .. } => block_exit(flow, ipdom, join.ok_or(NoExit::Malformed)?),
        Transition::Foreach { body, .. } => {
            let join = block_exit(flow, ipdom, *body)?;
            block_exit(flow, ipdom, join)
        }
        Transition::Switch { .. } => ipdom[n.index()].ok_or(NoExit::Malformed),
    }
}

/// The join of the split at `at`, or `None` after reporting why it is malformed (E0308).
fn split_join(
    flow: &ir::Flow,
    graph: &Graph,
    ipdom: &[Option<StepId>],
    at: StepId,
    targets: &[StepId],
    diags: &mut Vec<Diagnostic>,
) -> Option<StepId> {
    let join = ipdom[at.index()]?;
    let name = |id: StepId| flow.step(id).name.as_str();
    let split = |d: Diagnostic| d.with_secondary(flow.step(at).span, "the split");
    if let Some(&t) = targets.iter().find(|&&t| t == join) {
        diags.push(split(
            Diagnostic::error(
                "E0308",
                format!(
                    "branch `{}` of the split at `{}` is its join",
                    name(t),
                    name(at)
                ),
            )
            .with_primary(flow.step(t).span, "the other branches meet here")
            .with_help(
                "every branch runs at least one step before the join; add a step to this branch",
            ),
        ));
        return None;
    }
    let regions: Vec<Vec<bool>> = targets
        .iter()
        .map(|&t| graph.region(t, Some(join)))
        .collect();
    if let Some(d) = overlap(flow, ipdom, (at, targets), &regions, join) {
        diags.push(split(d.with_help(
            "nothing may leave a branch except through the join; a switch inside a branch must \
             converge before the join",
        )));
        return None;
    }
    let mut ok = true;
    for (&t, region) in targets.iter().zip(&regions) {
        ok &= entries(flow, graph, at, t, region, "a branch of the split", diags);
    }
    let inside = |p: StepId| regions.iter().any(|r| r[p.index()]);
    ok &= join_inputs(flow, graph, at, join, &inside, "split", diags);
    ok.then_some(join)
}

/// The first step two branches share before the join, reported with the step where a path of
/// a branch bypasses it when there is one.
fn overlap(
    flow: &ir::Flow,
    ipdom: &[Option<StepId>],
    (at, targets): (StepId, &[StepId]),
    regions: &[Vec<bool>],
    join: StepId,
) -> Option<Diagnostic> {
    let shared = (0..flow.steps.len()).find(|&n| regions.iter().filter(|r| r[n]).count() > 1)?;
    let x = StepId(shared as u32);
    let name = |id: StepId| flow.step(id).name.as_str();
    let branches: Vec<&str> = targets
        .iter()
        .zip(regions)
        .filter(|(_, r)| r[shared])
        .map(|(t, _)| name(*t))
        .collect();
    let meet = format!("reached from branches `{}`", branches.join("` and `"));
    // A step of a branch from which some path reaches `x` and some path avoids it.
    let bypass = (0..flow.steps.len()).map(|n| StepId(n as u32)).find(|&n| {
        regions.iter().any(|r| r[n.index()] && r[shared])
            && !graph::post_dominates(ipdom, x, n)
            && graph::successors(&flow.step(n).next)
                .iter()
                .any(|&s| graph::post_dominates(ipdom, x, s))
    });
    let Some(n) = bypass else {
        let msg = format!(
            "branches `{}` of the split at `{}` meet at `{}` before their join `{}`",
            branches.join("` and `"),
            name(at),
            name(x),
            name(join)
        );
        return Some(Diagnostic::error("E0308", msg).with_primary(flow.step(x).span, meet));
    };
    let msg = format!(
        "a path leaves a branch of the split at `{}` without passing `{}`, where the branches meet",
        name(at),
        name(x)
    );
    Some(
        Diagnostic::error("E0308", msg)
            .with_primary(
                flow.step(n).span,
                format!("a path from here skips `{}`", name(x)),
            )
            .with_secondary(flow.step(x).span, meet),
    )
}

/// Checks that `region` (entered at `entry` from `at`) has no other entry; E0308/E0309.
fn entries(
    flow: &ir::Flow,
    graph: &Graph,
    at: StepId,
    entry: StepId,
    region: &[bool],
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let code = if what.contains("split") {
        "E0308"
    } else {
        "E0309"
    };
    let mut ok = true;
    for n in (0..region.len())
        .filter(|&n| region[n])
        .map(|n| StepId(n as u32))
    {
        for &p in graph.pred(n) {
            let legal = if n == entry {
                p == at
            } else {
                region[p.index()]
            };
            if legal {
                continue;
            }
            ok = false;
            let (pn, nn, an) = (&flow.step(p).name, &flow.step(n).name, &flow.step(at).name);
            diags.push(
                Diagnostic::error(
                    code,
                    format!("step `{pn}` enters {what} at `{an}` from outside"),
                )
                .with_primary(flow.step(p).span, format!("leads to `{nn}`"))
                .with_secondary(flow.step(n).span, format!("inside {what} at `{an}`"))
                .with_help(format!(
                    "steps of {what} are reached only from `{an}` and from each other"
                )),
            );
        }
    }
    ok
}

/// Checks that `join` is reached only from inside the structure at `at`; E0308/E0309.
fn join_inputs(
    flow: &ir::Flow,
    graph: &Graph,
    at: StepId,
    join: StepId,
    inside: &dyn Fn(StepId) -> bool,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let code = if what == "split" { "E0308" } else { "E0309" };
    let mut ok = true;
    for &p in graph.pred(join).iter().filter(|&&p| !inside(p)) {
        ok = false;
        let (pn, jn, an) = (
            &flow.step(p).name,
            &flow.step(join).name,
            &flow.step(at).name,
        );
        diags.push(
            Diagnostic::error(code, format!("`{jn}` joins the {what} at `{an}`, but `{pn}` leads to it too"))
                .with_primary(flow.step(p).span, format!("leads to `{jn}` from outside the {what}"))
                .with_secondary(flow.step(join).span, format!("join of the {what} at `{an}`"))
                .with_help(format!(
                    "a join receives the outputs of its {what} only; a nested {what} needs its own join step"
                )),
        );
    }
    ok
}

/// The join of the foreach at `at` (body first step `body`), or `None` (E0309): the step
/// after the body's block (see [`block_exit`]), so `next b foreach xs` with `b → j` joins at
/// `j`, and a body that starts with a split runs through that split's join.
fn foreach_join(
    flow: &ir::Flow,
    graph: &Graph,
    ipdom: &[Option<StepId>],
    at: StepId,
    body: StepId,
    diags: &mut Vec<Diagnostic>,
) -> Option<StepId> {
    let join = match block_exit(flow, ipdom, body) {
        Ok(join) => join,
        Err(NoExit::Malformed) => return None,
        Err(NoExit::FlowEnds) => {
            diags.push(no_foreach_join(flow, at, body));
            return None;
        }
    };
    let region = graph.region(body, Some(join));
    let mut ok = entries(
        flow,
        graph,
        at,
        body,
        &region,
        "the body of the foreach",
        diags,
    );
    let inside = |p: StepId| region[p.index()];
    ok &= join_inputs(flow, graph, at, join, &inside, "foreach", diags);
    ok.then_some(join)
}

fn no_foreach_join(flow: &ir::Flow, at: StepId, body: StepId) -> Diagnostic {
    let at = &flow.step(at);
    Diagnostic::error(
        "E0309",
        format!("the foreach at `{}` has no join step", at.name),
    )
    .with_primary(
        flow.step(body).span,
        "this body runs until the end of the flow",
    )
    .with_secondary(at.span, "the foreach")
    .with_help(
        "a join step after the body gathers the results of all items; add one before `end` \
             (a nested foreach or split needs its own join)",
    )
}

/// E0310 for `@foreach` written on a step without a foreach; an inherited one is dropped.
fn foreach_placement(flow: &mut ir::Flow, diags: &mut Vec<Diagnostic>) {
    for step in &mut flow.steps {
        if matches!(step.next, Transition::Foreach { .. }) {
            continue;
        }
        let Some(f) = step.decorators.foreach.take() else {
            continue;
        };
        if f.origin == Origin::Own {
            diags.push(
                Diagnostic::error(
                    "E0310",
                    format!(
                        "`@foreach` on step `{}`, whose `next` is not a foreach",
                        step.name
                    ),
                )
                .with_primary(f.span, "`@foreach` configures a foreach")
                .with_secondary(step.span, "this step has no `next … foreach …`")
                .with_help("move it to the step with `next body foreach NAME`, or remove it"),
            );
        }
    }
}

/// ASL maximum of `TimeoutSeconds` and of a retrier's `IntervalSeconds` (AWS Step Functions
/// developer guide, "Task" and "Handling errors": 99,999,999).
const ASL_MAX_SECONDS: u64 = 99_999_999;
/// ASL bound of a retrier's `MaxDelaySeconds`: "greater than 0 and less than 31622401" (AWS
/// Step Functions developer guide, "Handling errors").
const ASL_MAX_DELAY_SECONDS: u64 = 31_622_400;

/// E0311 for decorator values out of range, once per written decorator.
fn ranges(flow: &ir::Flow, diags: &mut Vec<Diagnostic>) {
    let mut seen: HashSet<(Span, &'static str)> = HashSet::new();
    for step in &flow.steps {
        let mut problems = vec![];
        range_problems(&step.decorators, &mut problems);
        for p in problems {
            if seen.insert((p.site.0, p.what)) {
                diags.push(p.into_diagnostic());
            }
        }
    }
}

/// (span, origin) of a decorator.
type Site = (Span, Origin);

/// One out-of-range value.
struct Problem {
    /// The decorator it is in.
    site: Site,
    /// `argument of @decorator`, also the key that reports an inherited decorator once.
    what: &'static str,
    /// The rule and the value, e.g. "between 0 and 10, not 20".
    rule: String,
    /// What the argument is and why the bound exists, with a valid value.
    help: &'static str,
}

impl Problem {
    fn into_diagnostic(self) -> Diagnostic {
        let message = format!("{} must be {}", self.what, self.rule);
        let d = match self.site.1 {
            Origin::CommandLine => {
                Diagnostic::error("E0311", format!("{message} (in a `--with` option)"))
            }
            Origin::With => Diagnostic::error("E0311", message).with_primary(
                self.site.0,
                "out of range (applies to every step through `with`)",
            ),
            Origin::Own => {
                Diagnostic::error("E0311", message).with_primary(self.site.0, "out of range")
            }
        };
        d.with_help(self.help)
    }
}

/// Help of a `cpu` out of range.
const CPU_HELP: &str = "`cpu` is the number of vCPUs the task needs, e.g. `cpu=2`";

/// Help of a `memory` out of range (AWS Batch: a container needs at least 4 MiB).
const MEM_HELP: &str = "memory is in MiB; AWS Batch needs at least 4 MiB";

/// Pushes every out-of-range value among `d` onto `out`.
fn range_problems(d: &ir::StepDecorators, out: &mut Vec<Problem>) {
    let mut check =
        |site: Site, bad: bool, what: &'static str, rule: String, help: &'static str| {
            if bad {
                out.push(Problem {
                    site,
                    what,
                    rule,
                    help,
                });
            }
        };
    if let Some(r) = &d.retry {
        let v = &r.value;
        let at = |arg: &str| (r.arg_span(arg), r.origin);
        check(
            at("times"),
            v.times > 10,
            "`times` of `@retry`",
            format!("between 0 and 10, not {}", v.times),
            "`times` is how many more times a failed task runs, from 0 (no retries) to 10: \
             `@retry(times=3)`",
        );
        let backoff_help =
            "ASL `BackoffRate` is at least 1.0: the wait never shrinks between retries";
        check(
            at("backoff"),
            v.backoff < 1.0,
            "`backoff` of `@retry`",
            format!("at least 1.0, not {}", v.backoff),
            backoff_help,
        );
        check(
            at("minutes_between_retries"),
            v.interval.0 > ASL_MAX_SECONDS,
            "`minutes_between_retries` of `@retry`",
            "at most 1,666,666 (99,999,999 seconds)".into(),
            "ASL `IntervalSeconds` is at most 99,999,999",
        );
        let bad_delay = v
            .max_delay
            .is_some_and(|m| m.0 == 0 || m.0 > ASL_MAX_DELAY_SECONDS);
        check(
            at("max_delay_seconds"),
            bad_delay,
            "`max_delay_seconds` of `@retry`",
            "between 1 and 31,622,400".into(),
            "ASL `MaxDelaySeconds` is more than 0 and less than 31,622,401",
        );
    }
    if let Some(t) = &d.timeout {
        let help = "give `seconds`, `minutes` or `hours` (they add up), e.g. `@timeout(hours=2)`";
        check(
            (t.span, t.origin),
            t.value.total.0 == 0,
            "the total of `@timeout`",
            "more than 0 seconds".into(),
            help,
        );
        check(
            (t.span, t.origin),
            t.value.total.0 > ASL_MAX_SECONDS,
            "the total of `@timeout`",
            "at most 99,999,999 seconds (about 3 years)".into(),
            "ASL `TimeoutSeconds` is at most 99,999,999",
        );
    }
    if let Some(r) = &d.resources {
        let v = &r.value;
        let at = |arg: &str| (r.arg_span(arg), r.origin);
        check(
            at("cpu"),
            v.cpu <= 0.0,
            "`cpu` of `@resources`",
            format!("more than 0, not {}", v.cpu),
            CPU_HELP,
        );
        check(
            at("memory"),
            v.memory.0 < 4,
            "`memory` of `@resources`",
            format!("at least 4 MiB, not {}", v.memory.0),
            MEM_HELP,
        );
        let zero_shm = v.shared_memory.is_some_and(|m| m.0 == 0);
        check(
            at("shared_memory"),
            zero_shm,
            "`shared_memory` of `@resources`",
            "more than 0 MiB".into(),
            "`shared_memory` is the size of `/dev/shm` in MiB; leave it out to keep the \
             container's default",
        );
    }
    if let Some(b) = &d.batch {
        let v = &b.value;
        let at = |arg: &str| (b.arg_span(arg), b.origin);
        if let Some(cpu) = v.cpu {
            check(
                at("cpu"),
                cpu <= 0.0,
                "`cpu` of `@batch`",
                format!("more than 0, not {cpu}"),
                CPU_HELP,
            );
        }
        if let Some(mem) = v.memory {
            check(
                at("memory"),
                mem.0 < 4,
                "`memory` of `@batch`",
                format!("at least 4 MiB, not {}", mem.0),
                MEM_HELP,
            );
        }
    }
    if let Some(f) = &d.foreach {
        let v = &f.value;
        let at = |arg: &str| (f.arg_span(arg), f.origin);
        let conc_help = "ASL reads `MaxConcurrency: 0` as unlimited; write a bound, or leave it \
                         out to use `--max-workers` (100 by default)";
        check(
            at("max_concurrency"),
            v.max_concurrency == Some(0),
            "`max_concurrency` of `@foreach`",
            "at least 1".into(),
            conc_help,
        );
        let items_help = "`max_items` is the declared upper bound of the number of items";
        check(
            at("max_items"),
            v.max_items == Some(0),
            "`max_items` of `@foreach`",
            "at least 1".into(),
            items_help,
        );
    }
}

/// E0312 for a foreach over a parameter whose default is not a list; W0301 for a required
/// parameter in a scheduled or triggered flow.
fn parameters(flow: &ir::Flow, diags: &mut Vec<Diagnostic>) {
    for step in &flow.steps {
        let Transition::Foreach {
            over: ForeachSource::Param(name),
            ..
        } = &step.next
        else {
            continue;
        };
        // A parameter of another type was reported by resolve (E0210).
        let json = flow.param(name).filter(|p| p.ty == ir::ParamType::Json);
        let Some(default) = json.and_then(|p| p.default.as_ref()) else {
            continue;
        };
        if !default.value.is_array() {
            diags.push(
                Diagnostic::error("E0312", format!("foreach over parameter `{name}`, whose default is not a list"))
                    .with_primary(default.span, "not a list")
                    .with_secondary(step.span, format!("iterates over `{name}`"))
                    .with_help("a foreach runs its body once per element of a JSON array: make the default a list"),
            );
        }
    }
    for step in &flow.steps {
        switch_default(flow, step, diags);
    }
    required_with_schedule(flow, diags);
}

/// W0302 when a switch on a `str` parameter has no case for the parameter's default.
fn switch_default(flow: &ir::Flow, step: &ir::Step, diags: &mut Vec<Diagnostic>) {
    let Transition::Switch {
        on: ForeachSource::Param(name),
        cases,
    } = &step.next
    else {
        return;
    };
    let Some(default) = flow.param(name).and_then(|p| p.default.as_ref()) else {
        return;
    };
    let Some(value) = default.value.as_str() else {
        return;
    };
    if cases.iter().any(|(v, _)| v == value) {
        return;
    }
    diags.push(
        Diagnostic::warning("W0302", format!("no case of the switch in `{}` matches the default of `{name}`", step.name))
            .with_primary(default.span, "no case for this value")
            .with_secondary(step.span, format!("switches on `{name}`"))
            .with_help(format!("a run with the default fails at this switch; add a case \"{value}\" or change the default")),
    );
}

fn required_with_schedule(flow: &ir::Flow, diags: &mut Vec<Diagnostic>) {
    let starter = match (&flow.decorators.schedule, &flow.decorators.trigger) {
        (Some(s), _) => (s.span, "@schedule"),
        (None, Some(t)) => (t.span, "@trigger"),
        (None, None) => return,
    };
    for p in flow.params.iter().filter(|p| p.default.is_none()) {
        diags.push(
            Diagnostic::warning(
                "W0301",
                format!(
                    "parameter `{}` is required, but `{}` starts runs without parameters",
                    p.name, starter.1
                ),
            )
            .with_primary(p.span, "required: no default")
            .with_secondary(starter.0, "starts executions with the default parameters")
            .with_help(format!(
                "every execution started by `{}` will fail; give `{}` a default",
                starter.1, p.name
            )),
        );
    }
}
