//! budget: AWS Step Functions quotas checked at compile time, so that a flow that compiles
//! cannot be rejected by `CreateStateMachine` or fail an execution on a quota.
//!
//! [`plan_maps`] runs before lowering: it counts the worst-case history events of every
//! execution (the parent and each distributed Map's child executions), picks each foreach's
//! Map kind (inline or distributed) and records why. [`check_definition`] runs after
//! lowering, before anything is written: state names, definition size, `ContainerOverrides`.
//!
//! The worst case assumes every retrier uses all its attempts, every inline foreach has its
//! declared `max_items` items, and a switch takes its longest case.

use crate::diagnostics::{CodeInfo, Diagnostic};
use crate::ir::{self, MapMode, StepId};
use crate::options::CompileOptions;
use crate::passes::lower::{self, Lowered, THROTTLE_MAX_ATTEMPTS};
use crate::span::{Origin, Span, Spanned};
use std::collections::BTreeMap;

/// Codes raised by budget (E05xx, W05xx).
pub const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "E0501",
        title: "generated state name breaks the Step Functions rules",
        example: "step a_step_name_that_goes_on_and_on_for_more_than_eighty_characters_which_is_too_long { … }",
        explanation: "Every step becomes a state named after it (plus suffixes such as `-RecordError`). \
AWS Step Functions limits state names to 80 characters, and flowc keeps them to letters, digits, \
`-` and `_` (the characters allowed when CloudWatch logging is on). Shorten the step or parameter name.",
    },
    CodeInfo {
        code: "E0502",
        title: "state machine definition too large",
        example: "with @environment(vars={\"BIG\": \"…7,000 characters…\"})   # on 160 steps",
        explanation: "AWS Step Functions accepts definitions up to 1,048,576 bytes. Large parameter \
defaults and `@environment` values repeated on many steps count in full. Move large values into \
artifacts or a file in the code package.",
    },
    CodeInfo {
        code: "E0503",
        title: "container overrides too large",
        example: "@environment(vars={\"DATA\": \"…9,000 characters…\"})\nstep start { … }",
        explanation: "A step's AWS Batch `ContainerOverrides` (command, environment, resources) must \
stay within 8,192 characters, JSON formatting included (the Amazon ECS `overrides` limit that \
AWS Batch container jobs inherit). Shorten `@environment` values or put them in a file.",
    },
    CodeInfo {
        code: "E0504",
        title: "worst-case history events exceed the execution quota",
        example: "@foreach(mode=\"inline\", max_items=100000)\nstep fan { … next body foreach items }",
        explanation: "A Standard workflow execution may have at most 25,000 history events. flowc \
counts the worst case (all retries used, every inline foreach at its `max_items`). An inline Map \
runs all its iterations in the parent execution; a distributed Map runs each iteration as a \
child execution with its own history. Use `mode=\"distributed\"` (or `auto`), lower `max_items` \
or `@retry(times)`, or split the flow.",
    },
    CodeInfo {
        code: "E0505",
        title: "inline foreach without max_items",
        example: "@foreach(mode=\"inline\")\nstep fan { … next body foreach items }",
        explanation: "An inline Map keeps every iteration in the execution's history, so its width \
must be bounded for the 25,000-event quota to be checked. Declare `max_items`, or use \
`mode=\"distributed\"` or `mode=\"auto\"` (which picks distributed for an unbounded foreach).",
    },
    CodeInfo {
        code: "W0501",
        title: "inline foreach wider than its concurrency",
        example: "@foreach(mode=\"inline\", max_items=500)\nstep fan { … next body foreach items }",
        explanation: "An inline Map runs at most 40 iterations at once (AWS Step Functions), so a \
wider inline foreach runs in waves. A distributed Map runs up to 10,000 child executions at once.",
    },
];

/// AWS Step Functions quota: 25,000 history events per Standard workflow execution.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;
/// AWS Step Functions quota: a state machine definition is at most 1,048,576 bytes.
pub const MAX_DEFINITION_BYTES: usize = 1_048_576;
/// Amazon ECS `RunTask` overrides limit, inherited by AWS Batch container jobs: 8,192
/// characters of `ContainerOverrides`, JSON formatting included.
pub const MAX_CONTAINER_OVERRIDES: usize = 8_192;
/// AWS Step Functions API reference (`StateExitedEventDetails.name`): a state name has 1 to
/// 80 characters, and "to enable logging with CloudWatch Logs, the name should only contain
/// 0-9, A-Z, a-z, - and _", the set flowc keeps to.
pub const MAX_STATE_NAME: usize = 80;
/// AWS Step Functions: an inline Map runs at most 40 iterations concurrently.
pub const INLINE_MAP_CONCURRENCY: u64 = 40;

/// History events per state kind, as AWS Step Functions records them.
pub mod events {
    /// `ExecutionStarted`, `ExecutionSucceeded` (or `ExecutionFailed`).
    pub const EXECUTION: u64 = 2;
    /// `PassStateEntered`, `PassStateExited` (same for Choice, and Fail + `ExecutionFailed`).
    pub const PASS: u64 = 2;
    /// `TaskStateEntered`, `TaskStateExited` around the attempts of a Task.
    pub const TASK_ENTER_EXIT: u64 = 2;
    /// One `.sync` attempt: `TaskScheduled`, `TaskStarted`, `TaskSubmitted`,
    /// `TaskSucceeded` (or `TaskFailed`).
    pub const SYNC_ATTEMPT: u64 = 4;
    /// One throttled attempt: `TaskScheduled`, `TaskStarted`, `TaskSubmitFailed`.
    pub const THROTTLED_ATTEMPT: u64 = 3;
    /// A request-response SDK Task: entered, `TaskScheduled`, `TaskStarted`,
    /// `TaskSucceeded`, exited; plus `TaskScheduled`, `TaskStarted`, `TaskFailed` for each
    /// of its retries.
    pub const SDK_TASK: u64 = 5 + 3 * super::lower::SDK_MAX_ATTEMPTS as u64;
    /// Parallel: entered, `ParallelStateStarted`, `ParallelStateSucceeded`, exited.
    pub const PARALLEL: u64 = 4;
    /// Inline Map: entered, `MapStateStarted`, `MapStateSucceeded`, exited.
    pub const INLINE_MAP: u64 = 4;
    /// Per inline iteration: `MapIterationStarted`, `MapIterationSucceeded`.
    pub const INLINE_ITERATION: u64 = 2;
    /// Distributed Map in the parent: entered, `MapStateStarted`, `MapRunStarted`,
    /// `MapRunSucceeded`, `MapStateSucceeded`, exited.
    pub const DISTRIBUTED_MAP: u64 = 6;
    /// The parameter states before `start`: 2 Choice, 3 Pass (worst path), 1 SDK Task.
    pub const PRELUDE: u64 = 2 * PASS + 3 * PASS + SDK_TASK;
}

/// The Map kind chosen for a foreach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MapKind {
    /// ASL inline Map: iterations in the parent execution's history.
    Inline,
    /// ASL distributed Map: each iteration a Standard child execution.
    Distributed,
}

/// The decision for one foreach step.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MapDecision {
    /// Inline or distributed.
    pub kind: MapKind,
    /// Why, in words (for `--explain`).
    pub reason: String,
    /// Worst-case history events: of the Map state with all its iterations (inline), or of
    /// one child execution (distributed).
    pub worst_case_events: u64,
}

/// Decisions for every foreach step, by the splitting step's id.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MapDecisions {
    /// Foreach step → decision.
    pub maps: BTreeMap<StepId, MapDecision>,
    /// Worst-case history events of the parent execution.
    pub execution_events: u64,
}

impl MapDecisions {
    /// The decision for the foreach split at `step`, if it is one.
    pub fn get(&self, step: StepId) -> Option<&MapDecision> {
        self.maps.get(&step)
    }

    /// One line per foreach for `--explain`: `step per_country: distributed Map (reason)`.
    pub fn explain(&self, flow: &ir::Flow) -> Vec<String> {
        let mut lines: Vec<String> = self
            .maps
            .iter()
            .map(|(id, d)| {
                let kind = match d.kind {
                    MapKind::Inline => "inline",
                    MapKind::Distributed => "distributed",
                };
                format!("step {}: {kind} Map: {}", flow.step(*id).name, d.reason)
            })
            .collect();
        lines.push(format!(
            "worst-case history events of an execution: {} (quota {MAX_HISTORY_EVENTS})",
            self.execution_events
        ));
        lines
    }
}

/// Chooses the Map kind of every foreach of `flow` (validated) and checks the 25,000-event
/// quota of every execution. `mode="auto"` starts inline when `max_items` is declared and
/// switches to distributed, widest saving first, while some execution is over the quota.
///
/// Errors: E0505 (inline without `max_items`), E0504 (an execution over the quota).
/// Warnings: W0501 (inline `max_items` above the 40-iteration inline concurrency).
pub fn plan_maps(
    flow: &ir::Flow,
    opts: &CompileOptions,
    diags: &mut Vec<Diagnostic>,
) -> MapDecisions {
    let _ = opts;
    let mut kinds = initial_kinds(flow, diags);
    let mut switched = vec![];
    while over_budget(flow, &kinds) > 0 {
        let Some(best) = best_switch(flow, &kinds) else {
            break;
        };
        kinds.insert(best, Kind::Distributed);
        switched.push(best);
    }
    let execs = executions(flow, &kinds);
    let blamed = report_over_budget(flow, &kinds, &execs, diags);
    warn_wide_inline(flow, &kinds, &blamed, diags);
    decisions(flow, &kinds, &switched, &execs)
}

/// Internal kind: inline with its declared width, or distributed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Inline { width: u64, forced: bool },
    Distributed,
}

fn foreach_steps(flow: &ir::Flow) -> Vec<StepId> {
    flow.steps
        .iter()
        .filter(|s| matches!(s.next, ir::Transition::Foreach { .. }))
        .map(|s| s.id)
        .collect()
}

fn foreach_decorator(step: &ir::Step) -> ir::Foreach {
    step.decorators
        .foreach
        .as_ref()
        .map(|f| f.value.clone())
        .unwrap_or_default()
}

fn initial_kinds(flow: &ir::Flow, diags: &mut Vec<Diagnostic>) -> BTreeMap<StepId, Kind> {
    let mut kinds = BTreeMap::new();
    for id in foreach_steps(flow) {
        let step = flow.step(id);
        let f = foreach_decorator(step);
        let kind = match (f.mode, f.max_items) {
            (MapMode::Distributed, _) | (MapMode::Auto, None) => Kind::Distributed,
            (MapMode::Inline, Some(w)) => Kind::Inline {
                width: w,
                forced: true,
            },
            (MapMode::Auto, Some(w)) => Kind::Inline {
                width: w,
                forced: false,
            },
            (MapMode::Inline, None) => {
                diags.push(unbounded_inline(step));
                Kind::Inline {
                    width: 0,
                    forced: true,
                }
            }
        };
        kinds.insert(id, kind);
    }
    kinds
}

/// The span of a foreach step's `@foreach` decorator, or of the step's name without one.
fn foreach_span(step: &ir::Step) -> Span {
    step.decorators
        .foreach
        .as_ref()
        .map_or(step.span, |f| f.span)
}

fn unbounded_inline(step: &ir::Step) -> Diagnostic {
    let span = foreach_span(step);
    Diagnostic::error("E0505", format!("inline foreach `{}` has no max_items", step.name))
        .with_primary(span, "mode=\"inline\" needs a declared width")
        .with_secondary(step.span, "the foreach splits here")
        .with_help("declare `max_items=N` so the 25,000 history-event quota can be checked, or use mode=\"distributed\"")
}

/// One execution's worst case: the parent (owner `None`) or a distributed Map's child.
#[derive(Debug, Clone)]
struct Exec {
    owner: Option<StepId>,
    events: u64,
    inline_maps: Vec<StepId>,
}

/// Sum of events above the quota over all executions.
fn over_budget(flow: &ir::Flow, kinds: &BTreeMap<StepId, Kind>) -> u64 {
    executions(flow, kinds)
        .iter()
        .map(|e| e.events.saturating_sub(MAX_HISTORY_EVENTS))
        .fold(0, u64::saturating_add)
}

/// The not-forced inline foreach whose switch to distributed leaves the least excess, then
/// the fewest events in the largest execution (ties: the first in source order).
fn best_switch(flow: &ir::Flow, kinds: &BTreeMap<StepId, Kind>) -> Option<StepId> {
    let candidates = kinds
        .iter()
        .filter(|(_, k)| matches!(k, Kind::Inline { forced: false, .. }))
        .map(|(id, _)| *id);
    candidates.min_by_key(|id| {
        let mut trial = kinds.clone();
        trial.insert(*id, Kind::Distributed);
        let largest = executions(flow, &trial)
            .iter()
            .map(|e| e.events)
            .max()
            .unwrap_or(0);
        (over_budget(flow, &trial), largest, *id)
    })
}

/// Every execution's worst case: the parent first, then distributed children in step order.
fn executions(flow: &ir::Flow, kinds: &BTreeMap<StepId, Kind>) -> Vec<Exec> {
    let mut out = vec![];
    let Some(start) = flow.step_id("start") else {
        return out;
    };
    let mut counter = Counter {
        flow,
        kinds,
        children: vec![],
    };
    let root = counter.region(start, None);
    out.push(Exec {
        owner: None,
        events: (events::EXECUTION + events::PRELUDE).saturating_add(root.events),
        inline_maps: root.inline_maps,
    });
    out.extend(counter.children);
    out
}

/// Events of a region and the inline maps inside it.
#[derive(Debug, Clone, Default)]
struct Count {
    events: u64,
    inline_maps: Vec<StepId>,
}

struct Counter<'a> {
    flow: &'a ir::Flow,
    kinds: &'a BTreeMap<StepId, Kind>,
    children: Vec<Exec>,
}

impl Counter<'_> {
    /// Longest path (in events) through the region `entry..stop`.
    fn region(&mut self, entry: StepId, stop: Option<StepId>) -> Count {
        let order = lower::region_order(self.flow, entry, stop);
        let mut best: BTreeMap<StepId, Count> = BTreeMap::new();
        for id in order.iter().rev() {
            let own = self.step(*id);
            let tail = lower::region_successors(self.flow, *id)
                .into_iter()
                .filter_map(|t| best.get(&t))
                .max_by_key(|c| c.events)
                .cloned()
                .unwrap_or_default();
            let mut total = Count {
                events: own.events.saturating_add(tail.events),
                inline_maps: own.inline_maps,
            };
            total.inline_maps.extend(tail.inline_maps);
            best.insert(*id, total);
        }
        best.remove(&entry).unwrap_or_default()
    }

    /// Events of one step: its Task (and error recording) plus its split/foreach/switch.
    fn step(&mut self, id: StepId) -> Count {
        let step = self.flow.step(id);
        let mut count = Count {
            events: task_events(step),
            inline_maps: vec![],
        };
        let extra = match &step.next {
            ir::Transition::Split { targets, join } => {
                let mut sum = events::PARALLEL;
                for t in targets {
                    let c = self.region(*t, *join);
                    sum = sum.saturating_add(c.events);
                    count.inline_maps.extend(c.inline_maps);
                }
                sum
            }
            ir::Transition::Foreach { body, join, .. } => {
                self.foreach(id, *body, *join, &mut count)
            }
            ir::Transition::Switch { .. } => events::SDK_TASK + events::PASS,
            ir::Transition::End | ir::Transition::Linear(_) => 0,
        };
        count.events = count.events.saturating_add(extra);
        count
    }

    fn foreach(
        &mut self,
        id: StepId,
        body: StepId,
        join: Option<StepId>,
        count: &mut Count,
    ) -> u64 {
        let inner = self.region(body, join);
        match self.kinds.get(&id).copied().unwrap_or(Kind::Distributed) {
            Kind::Inline { width, .. } => {
                count.inline_maps.push(id);
                count.inline_maps.extend(inner.inline_maps);
                inline_map_events(width, inner.events).saturating_add(events::SDK_TASK)
            }
            Kind::Distributed => {
                let child = events::EXECUTION.saturating_add(inner.events);
                self.children.push(Exec {
                    owner: Some(id),
                    events: child,
                    inline_maps: inner.inline_maps,
                });
                events::DISTRIBUTED_MAP
            }
        }
    }
}

/// Worst-case events of an inline Map of `width` items whose body costs `body` events.
fn inline_map_events(width: u64, body: u64) -> u64 {
    width
        .saturating_mul(events::INLINE_ITERATION.saturating_add(body))
        .saturating_add(events::INLINE_MAP)
}

/// Worst-case events of a step's Batch Task: every throttling retry, every `@retry` attempt
/// failing, then the error recording of `@catch(var)`.
pub fn task_events(step: &ir::Step) -> u64 {
    let times = step
        .decorators
        .retry
        .as_ref()
        .map(|r| u64::from(r.value.times))
        .unwrap_or(0);
    let attempts = (times + 1) * events::SYNC_ATTEMPT
        + u64::from(THROTTLE_MAX_ATTEMPTS) * events::THROTTLED_ATTEMPT;
    let record = match &step.decorators.catch {
        Some(c) if c.value.var.is_some() => events::SDK_TASK,
        Some(_) => events::PASS,
        None => 0,
    };
    events::TASK_ENTER_EXIT + attempts + record
}

/// Pushes E0504 for each execution over the quota; returns the inline foreaches blamed.
fn report_over_budget(
    flow: &ir::Flow,
    kinds: &BTreeMap<StepId, Kind>,
    execs: &[Exec],
    diags: &mut Vec<Diagnostic>,
) -> Vec<StepId> {
    let mut blamed = vec![];
    for e in execs.iter().filter(|e| e.events > MAX_HISTORY_EVENTS) {
        let whose = match e.owner {
            None => "an execution".to_string(),
            Some(s) => format!(
                "a child execution of distributed foreach `{}`",
                flow.step(s).name
            ),
        };
        let widest = e
            .inline_maps
            .iter()
            .copied()
            .max_by_key(|id| match kinds.get(id) {
                Some(Kind::Inline { width, .. }) => *width,
                _ => 0,
            });
        let msg = format!(
            "{whose} may record {} history events, above the Step Functions quota of 25,000",
            thousands(e.events)
        );
        let d = match widest {
            Some(id) => {
                blamed.push(id);
                let step = flow.step(id);
                let span = foreach_span(step);
                Diagnostic::error("E0504", msg)
                    .with_primary(span, "this inline foreach runs every item in the same execution history")
                    .with_help("use mode=\"distributed\" (each item then gets its own execution) or lower max_items")
            }
            None => {
                let span = e.owner.map(|s| flow.step(s).span).unwrap_or(flow.name_span);
                Diagnostic::error("E0504", msg)
                    .with_primary(span, "counted from here")
                    .with_help("lower @retry(times) or split the flow into smaller flows")
            }
        };
        diags.push(d);
    }
    blamed
}

/// `2300089` as `2,300,089`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// W0501 for each inline foreach wider than 40 items, except those already blamed by E0504.
fn warn_wide_inline(
    flow: &ir::Flow,
    kinds: &BTreeMap<StepId, Kind>,
    blamed: &[StepId],
    diags: &mut Vec<Diagnostic>,
) {
    for (id, kind) in kinds.iter().filter(|(id, _)| !blamed.contains(id)) {
        if let Kind::Inline { width, .. } = kind {
            if *width > INLINE_MAP_CONCURRENCY {
                let step = flow.step(*id);
                let span = foreach_span(step);
                diags.push(
                    Diagnostic::warning(
                        "W0501",
                        format!(
                            "inline foreach `{}` may have {} items but runs at most 40 at once",
                            step.name,
                            thousands(*width)
                        ),
                    )
                    .with_primary(span, "compiled to an inline Map")
                    .with_help("mode=\"distributed\" runs up to 10,000 items at once"),
                );
            }
        }
    }
}

fn decisions(
    flow: &ir::Flow,
    kinds: &BTreeMap<StepId, Kind>,
    switched: &[StepId],
    execs: &[Exec],
) -> MapDecisions {
    let mut maps = BTreeMap::new();
    for (id, kind) in kinds {
        let step = flow.step(*id);
        let f = foreach_decorator(step);
        let decision = match kind {
            Kind::Inline { width, forced } => {
                let mut counter = Counter {
                    flow,
                    kinds,
                    children: vec![],
                };
                let body = body_events(&mut counter, step);
                let events = inline_map_events(*width, body);
                let why = if *forced {
                    "mode=\"inline\"".to_string()
                } else {
                    format!("max_items={width} fits the 25,000-event quota")
                };
                MapDecision {
                    kind: MapKind::Inline,
                    reason: format!("{why}; worst case {events} history events for the Map"),
                    worst_case_events: events,
                }
            }
            Kind::Distributed => {
                let child = execs
                    .iter()
                    .find(|e| e.owner == Some(*id))
                    .map(|e| e.events)
                    .unwrap_or(0);
                let why = if f.mode == MapMode::Distributed {
                    "mode=\"distributed\"".to_string()
                } else if f.max_items.is_none() {
                    "no max_items: the width is unbounded".to_string()
                } else if switched.contains(id) {
                    "inline, the execution would exceed the 25,000-event quota".to_string()
                } else {
                    "distributed".to_string()
                };
                MapDecision {
                    kind: MapKind::Distributed,
                    reason: format!("{why}; worst case {child} history events per child execution"),
                    worst_case_events: child,
                }
            }
        };
        maps.insert(*id, decision);
    }
    let execution_events = execs.first().map(|e| e.events).unwrap_or(0);
    MapDecisions {
        maps,
        execution_events,
    }
}

fn body_events(counter: &mut Counter, step: &ir::Step) -> u64 {
    match &step.next {
        ir::Transition::Foreach { body, join, .. } => counter.region(*body, *join).events,
        _ => 0,
    }
}

/// Checks the lowered definition against the Step Functions quotas that depend on the
/// generated text: state names (E0501: ≤ 80 characters, letters, digits, `-`, `_`),
/// definition size (E0502: ≤ 1,048,576 bytes of `asl_text`) and each Task's
/// `ContainerOverrides` (E0503: ≤ 8,192 characters).
pub fn check_definition(
    flow: &ir::Flow,
    asl_text: &str,
    lowered: &Lowered,
    diags: &mut Vec<Diagnostic>,
) {
    check_names(lowered, diags);
    if asl_text.len() > MAX_DEFINITION_BYTES {
        diags.push(
            Diagnostic::error("E0502", format!("the state machine definition has {} bytes, above the Step Functions quota of 1,048,576", thousands(asl_text.len() as u64)))
                .with_primary(flow.name_span, "this flow's definition")
                .with_help("large parameter defaults and @environment values count once per use; move them into artifacts or files"),
        );
    }
    for o in lowered
        .overrides
        .iter()
        .filter(|o| o.chars > MAX_CONTAINER_OVERRIDES)
    {
        let step = flow.step(o.step);
        let mut d = Diagnostic::error("E0503", format!("the AWS Batch container overrides of step `{}` may reach {} characters, above the limit of 8,192", step.name, thousands(o.chars as u64)))
            .with_primary(step.span, "this step's job")
            .with_help("shorten the @environment values or move them into a file of the code package");
        if let Some((span, label)) = step.decorators.environment.as_ref().and_then(env_head) {
            d = d.with_secondary(span, label);
        }
        diags.push(d);
    }
}

/// The start of an `@environment` decorator (its name, or the `with` keyword that brings
/// it) with a label: the whole decorator would underline every value, thousands of
/// characters in the case E0503 reports. `None` for `--with`, which has no source span.
fn env_head(env: &Spanned<ir::Environment>) -> Option<(Span, &'static str)> {
    match env.origin {
        Origin::Own => Some((
            env.span.sub(0, "@environment".len()),
            "environment variables set here",
        )),
        Origin::With => Some((
            env.span.sub(0, "with".len()),
            "environment variables set here for every step",
        )),
        Origin::CommandLine => None,
    }
}

fn check_names(lowered: &Lowered, diags: &mut Vec<Diagnostic>) {
    for (name, span) in &lowered.names {
        let len = name.chars().count();
        let bad_char = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'));
        if len <= MAX_STATE_NAME && bad_char.is_none() {
            continue;
        }
        let why = match bad_char {
            Some(c) if len <= MAX_STATE_NAME => format!("contains `{c}`"),
            _ => format!("has {len} characters, above the limit of 80"),
        };
        diags.push(
            Diagnostic::error("E0501", format!("state name `{name}` {why}"))
                .with_primary(*span, "the state name is derived from this name")
                .with_help("shorten the name so the generated state name fits in 80 characters"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(25_000), "25,000");
        assert_eq!(thousands(2_300_089), "2,300,089");
    }
}
