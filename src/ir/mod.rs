//! The typed IR of a flow: parameters with typed values, steps in an arena indexed by
//! [`StepId`], the graph (linear edges, static splits with their joins, foreach with body and
//! join, switch cases) and typed decorators with explicit units ([`Seconds`], [`MiB`]).
//!
//! Built by `passes::resolve` (which merges `with` decorators and `--with` options: a step's
//! own decorator wins), completed by `passes::validate` (which fills in the joins).

use crate::span::{Span, Spanned};
use indexmap::IndexMap;
use serde::Serialize;
use std::collections::BTreeMap;

/// Index of a step in [`Flow::steps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct StepId(pub u32);

impl StepId {
    /// The index into [`Flow::steps`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A duration in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Seconds(pub u64);

/// An amount of memory in mebibytes (MiB, 2^20 bytes), the unit of AWS Batch `MEMORY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MiB(pub u64);

/// A resolved flow.
#[derive(Debug, Clone, Serialize)]
pub struct Flow {
    /// The flow's name (`flow NAME`).
    pub name: String,
    /// Span of the name.
    pub name_span: Span,
    /// Parameters in declaration order.
    pub params: Vec<Param>,
    /// The step arena, in source order; `StepId(i)` is `steps[i]`.
    pub steps: Vec<Step>,
    /// Flow decorators.
    pub decorators: FlowDecorators,
}

impl Flow {
    /// The step with id `id`.
    pub fn step(&self, id: StepId) -> &Step {
        &self.steps[id.index()]
    }

    /// The id of the step named `name`, if any.
    pub fn step_id(&self, name: &str) -> Option<StepId> {
        self.steps
            .iter()
            .position(|s| s.name == name)
            .map(|i| StepId(i as u32))
    }

    /// The parameter named `name`, if any.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Default values of all parameters that have one, in declaration order.
    pub fn default_parameters(&self) -> IndexMap<String, serde_json::Value> {
        self.params
            .iter()
            .filter_map(|p| {
                p.default
                    .as_ref()
                    .map(|d| (p.name.clone(), d.value.clone()))
            })
            .collect()
    }
}

/// The five parameter types.
pub use crate::syntax::ast::TypeName as ParamType;

/// `param NAME: TYPE [= DEFAULT] ["help"]` after type checking.
#[derive(Debug, Clone, Serialize)]
pub struct Param {
    /// Name.
    pub name: String,
    /// Span of the name.
    pub span: Span,
    /// Declared type.
    #[serde(serialize_with = "ser_type")]
    pub ty: ParamType,
    /// Default value, already checked against `ty`; `None` means required.
    pub default: Option<Spanned<serde_json::Value>>,
    /// Help text.
    pub help: Option<String>,
}

fn ser_type<S: serde::Serializer>(t: &ParamType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_str())
}

/// A step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Its id (its index in the arena).
    pub id: StepId,
    /// Name.
    pub name: String,
    /// Span of the name.
    pub span: Span,
    /// The command.
    pub command: Command,
    /// Where control goes after it.
    pub next: Transition,
    /// Typed decorators after merging `with` and `--with`.
    pub decorators: StepDecorators,
}

/// What a step runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Command {
    /// `/bin/sh -c TEXT`.
    Shell(String),
    /// Executed directly: program and arguments.
    Exec(Vec<String>),
}

/// Where control goes after a step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Transition {
    /// The `end` step: no `next`.
    End,
    /// `next a`.
    Linear(StepId),
    /// `next a, b, …`: branches run in parallel and meet in `join` (filled by validate).
    Split {
        /// First step of each branch, in source order.
        targets: Vec<StepId>,
        /// The join step (None until validate has run, or when the split is malformed).
        join: Option<StepId>,
    },
    /// `next body foreach NAME`.
    Foreach {
        /// First step of the body.
        body: StepId,
        /// The parameter or artifact holding the array.
        over: ForeachSource,
        /// The join step (None until validate has run, or when malformed).
        join: Option<StepId>,
    },
    /// `next switch NAME { "v" => step, … }`.
    Switch {
        /// The parameter or artifact whose string value chooses the case.
        on: ForeachSource,
        /// Cases in source order: value → step.
        cases: Vec<(String, StepId)>,
    },
}

/// The name a foreach iterates over or a switch decides on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ForeachSource {
    /// A parameter of the flow (its value is known at execution start).
    Param(String),
    /// An artifact written by the splitting (or deciding) step or an ancestor.
    Artifact(String),
}

impl ForeachSource {
    /// The name written in the source.
    pub fn name(&self) -> &str {
        match self {
            ForeachSource::Param(n) | ForeachSource::Artifact(n) => n,
        }
    }
}

/// Typed step decorators; each is `Spanned` with the decorator's span and origin.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepDecorators {
    /// `@retry`.
    pub retry: Option<Spanned<Retry>>,
    /// `@catch`.
    pub catch: Option<Spanned<Catch>>,
    /// `@timeout`.
    pub timeout: Option<Spanned<Timeout>>,
    /// `@resources`.
    pub resources: Option<Spanned<Resources>>,
    /// `@batch`.
    pub batch: Option<Spanned<Batch>>,
    /// `@environment`.
    pub environment: Option<Spanned<Environment>>,
    /// `@foreach` (only meaningful on a step whose `next` is a foreach).
    pub foreach: Option<Spanned<Foreach>>,
}

/// `@retry`: retry a failed task up to `times` more times.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retry {
    /// Extra attempts after the first, 0..=10 (0 disables retries). Default 3.
    pub times: u32,
    /// Wait before the first retry (`minutes_between_retries` × 60). Default 120 s.
    pub interval: Seconds,
    /// Multiplier applied to the wait after each retry (ASL `BackoffRate`, ≥ 1.0). Default 1.0.
    pub backoff: f64,
    /// Cap on any single wait (ASL `MaxDelaySeconds`).
    pub max_delay: Option<Seconds>,
    /// Full jitter (ASL `JitterStrategy: "FULL"`).
    pub jitter: bool,
}

/// `@catch`: continue with the successor when the task still fails after its retries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catch {
    /// Artifact that receives `{"error": …, "cause": …}`.
    pub var: Option<String>,
}

/// `@timeout`: the sum of `seconds`, `minutes` and `hours`, > 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeout {
    /// Limit on one task attempt.
    pub total: Seconds,
}

/// `@resources`: what the task needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resources {
    /// vCPUs, > 0 (AWS Batch accepts fractions on Fargate). Default 1.
    pub cpu: f64,
    /// Memory, ≥ 4 MiB (AWS Batch minimum). Default 4096 MiB.
    pub memory: MiB,
    /// GPUs. Default 0.
    pub gpu: u32,
    /// `/dev/shm` size.
    pub shared_memory: Option<MiB>,
}

/// `@batch`: AWS Batch placement. Sizes combine with `@resources` (the larger wins).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Batch {
    /// Container image.
    pub image: Option<String>,
    /// Job queue name or ARN.
    pub queue: Option<String>,
    /// IAM role ARN of the job.
    pub iam_role: Option<String>,
    /// vCPUs.
    pub cpu: Option<f64>,
    /// Memory.
    pub memory: Option<MiB>,
    /// GPUs.
    pub gpu: Option<u32>,
}

/// `@environment(vars={...})`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Environment {
    /// Extra variables, sorted by name.
    pub vars: BTreeMap<String, String>,
}

/// How a foreach is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MapMode {
    /// Chosen by the budget pass.
    #[default]
    Auto,
    /// ASL inline Map (one execution history; at most 40 concurrent iterations).
    Inline,
    /// ASL distributed Map (child executions keep their own history).
    Distributed,
}

/// `@foreach` on a step whose `next` is a foreach.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Foreach {
    /// At most this many body tasks at once (default: `--max-workers`).
    pub max_concurrency: Option<u32>,
    /// Declared upper bound of the fan-out, for the budget pass.
    pub max_items: Option<u64>,
    /// Map kind.
    pub mode: MapMode,
}

/// Flow decorators.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowDecorators {
    /// `@schedule`.
    pub schedule: Option<Spanned<Schedule>>,
    /// `@trigger`.
    pub trigger: Option<Spanned<Trigger>>,
    /// `@project`.
    pub project: Option<Spanned<Project>>,
}

/// `@schedule`: exactly one of cron/rate/hourly/daily/weekly, optional timezone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    /// The expression.
    pub kind: ScheduleKind,
    /// IANA time zone name; when set, an EventBridge Scheduler schedule is emitted.
    pub timezone: Option<Spanned<String>>,
}

/// The schedule expression as written (checked by `passes::schedule`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ScheduleKind {
    /// AWS 6-field cron text (`hourly`/`daily`/`weekly` are expanded to their cron text with
    /// the decorator's span). The span is the string literal's, quotes included.
    Cron(Spanned<String>),
    /// Rate text such as `"1 hour"`; span of the string literal, quotes included.
    Rate(Spanned<String>),
}

/// `@trigger(event={...})`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trigger {
    /// EventBridge event pattern.
    pub event: serde_json::Value,
}

/// `@project(name=...)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    /// Prefix for deployed resource names.
    pub name: String,
}
