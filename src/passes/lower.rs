//! lower: validated IR + Map decisions → an ASL state machine ([`asl::StateMachine`]).
//!
//! After it, every step is one AWS Batch Task state (`batch:submitJob.sync`) that runs
//! `flowc task` in the container; static splits are Parallel states, foreaches Map states
//! (inline or distributed as `budget::plan_maps` decided), switches a Task reading the stored
//! value plus a Choice state. The state that travels between states holds references only
//! (`run_id`, foreach `index`); parameters, items and switch values live in the datastore.
//! The layout is documented in `docs/runtime-layout.md`; keep the two in step.

use crate::backend::asl::{self, intrinsic_string, State, Transition};
use crate::ir::{self, StepId};
use crate::options::CompileOptions;
use crate::passes::budget::{MapDecisions, MapKind};
use crate::span::Span;
use indexmap::IndexMap;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// ASL resource of a Batch job run to completion (Step Functions "Run a Job (.sync)").
pub const BATCH_SUBMIT_SYNC: &str = "arn:aws:states:::batch:submitJob.sync";
/// ASL resource of the AWS SDK integration `S3.GetObject`.
pub const S3_GET_OBJECT: &str = "arn:aws:states:::aws-sdk:s3:getObject";
/// ASL resource of the AWS SDK integration `S3.PutObject`.
pub const S3_PUT_OBJECT: &str = "arn:aws:states:::aws-sdk:s3:putObject";
/// Error names of AWS Batch API throttling, retried on every Batch Task. Step Functions names
/// service exceptions `<Service>.<Exception>`; AWS Batch answers throttled calls with HTTP 429
/// `TooManyRequestsException` (AWS re:Post, "AWS Batch requests error") and SDK-level failures
/// as `AWSBatchException`.
pub const BATCH_THROTTLE_ERRORS: [&str; 2] =
    ["Batch.AWSBatchException", "Batch.TooManyRequestsException"];
/// Retries of the throttling retrier (each waits 2 s × 2^k, at most 60 s, full jitter).
pub const THROTTLE_MAX_ATTEMPTS: u32 = 5;
/// Retries of the S3 SDK Tasks (reading items and switch values, writing parameters/errors).
pub const SDK_MAX_ATTEMPTS: u32 = 3;
/// AWS Batch minimum of `Timeout.attemptDurationSeconds` (AWS Batch API `JobTimeout`).
pub const BATCH_MIN_ATTEMPT_SECONDS: u64 = 60;
/// Placeholder bucket of the datastore when `deploy.datastore` is not configured.
pub const PLACEHOLDER_DATASTORE: &str = "s3://flowc-placeholder-datastore/flowc";
/// Placeholder job queue when neither `@batch(queue)` nor `deploy.job_queue` is set.
pub const PLACEHOLDER_JOB_QUEUE: &str = "flowc-placeholder-job-queue";
/// Placeholder job definition when `deploy.job_definition` is not set.
pub const PLACEHOLDER_JOB_DEFINITION: &str = "flowc-placeholder-job-definition";

/// The result of lowering: the state machine plus what the budget checks need to point
/// back into the source.
#[derive(Debug, Clone)]
pub struct Lowered {
    /// The state machine.
    pub machine: asl::StateMachine,
    /// Every generated state name with the span it was derived from (a step or parameter
    /// name), in emission order.
    pub names: Vec<(String, Span)>,
    /// Every Batch Task state with its step and the worst-case `ContainerOverrides` size.
    pub overrides: Vec<OverridesSize>,
}

/// Size of one Task's `ContainerOverrides`, for the 8,192-character check.
#[derive(Debug, Clone, PartialEq)]
pub struct OverridesSize {
    /// The Task state's name.
    pub state: String,
    /// The step it runs.
    pub step: StepId,
    /// Characters of the serialised overrides plus [`RUNTIME_ALLOWANCE`] per run-time value.
    pub chars: usize,
}

/// Characters reserved for one value substituted at run time into `ContainerOverrides`
/// (an execution name is at most 80 characters; an index path a few digits per level).
pub const RUNTIME_ALLOWANCE: usize = 80;

/// The S3 location of the datastore, parsed from `deploy.datastore` (`s3://bucket/prefix`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datastore {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix without leading or trailing `/` (may be empty).
    pub prefix: String,
}

impl Datastore {
    /// Parses `s3://bucket/prefix`; the `s3://` scheme is optional. Absent: the placeholder.
    pub fn from_options(opts: &CompileOptions) -> Datastore {
        let text = opts
            .deploy
            .datastore
            .as_deref()
            .unwrap_or(PLACEHOLDER_DATASTORE);
        let rest = text.strip_prefix("s3://").unwrap_or(text).trim_matches('/');
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        Datastore {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        }
    }

    /// `s3://bucket/prefix` as passed to `flowc task --datastore`.
    pub fn url(&self) -> String {
        match self.prefix.as_str() {
            "" => format!("s3://{}", self.bucket),
            p => format!("s3://{}/{}", self.bucket, p),
        }
    }

    /// Static key prefix of every object of a run of `flow` (`PREFIX/FLOW/runs`).
    pub fn runs_prefix(&self, flow: &str) -> String {
        self.join(&[flow, "runs"])
    }

    /// Joins `parts` under the prefix with `/`.
    pub fn join(&self, parts: &[&str]) -> String {
        let mut all: Vec<&str> = vec![];
        if !self.prefix.is_empty() {
            all.push(&self.prefix);
        }
        all.extend(parts);
        all.join("/")
    }
}

/// Name of the AWS Batch job definition used by steps with their own `@batch(image)`,
/// `@batch(iam_role)` or `@resources(shared_memory)` (which job overrides cannot change):
/// `<prefix>-<flow>-<first 10 hex digits of SHA-256 of "image\nrole\nshm">`, where the prefix
/// is the `@project` name or `flowc`, cut to AWS Batch's 128 characters. Deterministic, so the
/// deploy step registers the same name.
pub fn job_definition_name(
    flow: &ir::Flow,
    image: &str,
    role: &str,
    shared_memory: Option<u64>,
) -> String {
    let shm = shared_memory.map(|m| m.to_string()).unwrap_or_default();
    let digest = Sha256::digest(format!("{image}\n{role}\n{shm}").as_bytes());
    let hash = &hex::encode(digest)[..10];
    let prefix = flow
        .decorators
        .project
        .as_ref()
        .map(|p| p.value.name.as_str())
        .unwrap_or("flowc");
    let head: String = format!("{prefix}-{}", flow.name)
        .chars()
        .take(128 - 11)
        .collect();
    format!("{head}-{hash}")
}

/// Generated state names use `-`, which step names (identifiers) cannot contain, so they
/// never collide with a step's own state.
pub fn state_name(step: &str, suffix: &str) -> String {
    format!("{step}-{suffix}")
}

/// Lowers `flow` (validated: every split and foreach has its join) to a state machine.
pub fn lower(flow: &ir::Flow, maps: &MapDecisions, opts: &CompileOptions) -> Lowered {
    let mut cx = Lowerer {
        flow,
        maps,
        opts,
        store: Datastore::from_options(opts),
        names: vec![],
        overrides: vec![],
    };
    let mut states = IndexMap::new();
    let first = flow
        .step_id("start")
        .map(|s| flow.step(s).name.clone())
        .unwrap_or_else(|| "start".into());
    let prelude_start = cx.prelude(&mut states, &first);
    if let Some(start) = flow.step_id("start") {
        let (_, body) = cx.region(start, None, 0);
        states.extend(body);
    }
    let machine = asl::StateMachine {
        comment: Some(format!(
            "flow {} (generated by flowc; do not edit)",
            flow.name
        )),
        start_at: prelude_start,
        states,
    };
    Lowered {
        machine,
        names: cx.names,
        overrides: cx.overrides,
    }
}

/// The steps of the region entered at `entry` and left at `stop` (exclusive), in topological
/// order (ties broken by source order). Nested splits and foreaches count as their splitting
/// step: the region goes on at their join.
pub fn region_order(flow: &ir::Flow, entry: StepId, stop: Option<StepId>) -> Vec<StepId> {
    let mut members = vec![];
    let mut stack = vec![entry];
    while let Some(s) = stack.pop() {
        if Some(s) == stop || members.contains(&s) || s.index() >= flow.steps.len() {
            continue;
        }
        members.push(s);
        stack.extend(region_successors(flow, s));
    }
    topological(flow, &members)
}

/// Successors of `step` inside its own region (a split or foreach continues at its join).
pub fn region_successors(flow: &ir::Flow, step: StepId) -> Vec<StepId> {
    match &flow.step(step).next {
        ir::Transition::End => vec![],
        ir::Transition::Linear(t) => vec![*t],
        ir::Transition::Split { join, .. } | ir::Transition::Foreach { join, .. } => {
            join.iter().copied().collect()
        }
        ir::Transition::Switch { cases, .. } => cases.iter().map(|(_, t)| *t).collect(),
    }
}

/// Kahn's algorithm over `members`, smallest `StepId` first among the ready steps.
fn topological(flow: &ir::Flow, members: &[StepId]) -> Vec<StepId> {
    let mut indegree: IndexMap<StepId, usize> = members.iter().map(|s| (*s, 0)).collect();
    for s in members {
        for t in region_successors(flow, *s) {
            if let Some(d) = indegree.get_mut(&t) {
                *d += 1;
            }
        }
    }
    let mut order = vec![];
    while let Some(next) = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(s, _)| *s)
        .min()
    {
        indegree.shift_remove(&next);
        order.push(next);
        for t in region_successors(flow, next) {
            if let Some(d) = indegree.get_mut(&t) {
                *d = d.saturating_sub(1);
            }
        }
    }
    order
}

struct Lowerer<'a> {
    flow: &'a ir::Flow,
    maps: &'a MapDecisions,
    opts: &'a CompileOptions,
    store: Datastore,
    names: Vec<(String, Span)>,
    overrides: Vec<OverridesSize>,
}

type States = IndexMap<String, State>;

impl Lowerer<'_> {
    fn add(&mut self, states: &mut States, name: String, span: Span, state: State) {
        self.names.push((name.clone(), span));
        states.insert(name, state);
    }

    // ---- prelude: parameters -------------------------------------------------------------

    /// Emits the parameter states; returns the name of the first one. They read
    /// `$.Parameters` (object or JSON string), merge the defaults, fail on a missing or
    /// mistyped parameter, write the parameters to the datastore and reset the state to
    /// `{"run_id": <execution name>}`.
    fn prelude(&mut self, states: &mut States, first_step: &str) -> String {
        let span = self.flow.name_span;
        let names = PreludeNames::default();
        let choices = vec![
            json!({"Variable": "$.Parameters", "IsPresent": false, "Next": names.empty}),
            json!({"Variable": "$.Parameters", "IsNull": true, "Next": names.empty}),
            json!({"Variable": "$.Parameters", "IsString": true, "Next": names.parse}),
        ];
        let read = asl::Choice {
            comment: Some("accept {\"Parameters\": {…}} or its JSON-string form".into()),
            choices,
            default: names.defaults.into(),
        };
        self.add(states, names.read.into(), span, State::Choice(read));
        let empty = pass(
            None,
            Some(json!({})),
            Some(json!("$.Parameters")),
            names.defaults,
        );
        self.add(states, names.empty.into(), span, State::Pass(empty));
        let parse = pass(
            Some(json!({"Parameters.$": "States.StringToJson($.Parameters)"})),
            None,
            None,
            names.defaults,
        );
        self.add(states, names.parse.into(), span, State::Pass(parse));
        let defaults = Value::Object(self.flow.default_parameters().into_iter().collect());
        let defaults = pass(None, Some(defaults), Some(json!("$.Defaults")), names.merge);
        self.add(states, names.defaults.into(), span, State::Pass(defaults));
        let merge = json!({"Parameters.$": "States.JsonMerge($.Defaults, $.Parameters, false)"});
        // ASL requires at least one Choice rule: without rules to check, skip the Choice.
        let checked = self
            .flow
            .params
            .iter()
            .any(|p| p.default.is_none() || type_test(p.ty).is_some());
        let after_merge = if checked { names.check } else { names.save };
        self.add(
            states,
            names.merge.into(),
            span,
            State::Pass(pass(Some(merge), None, None, after_merge)),
        );
        if checked {
            self.check_parameters(states, &names);
        }
        let save = self.save_parameters(first_step);
        self.add(states, names.save.into(), span, State::Task(save));
        names.read.into()
    }

    /// The Choice failing on a missing or mistyped parameter, and its Fail states.
    fn check_parameters(&mut self, states: &mut States, names: &PreludeNames) {
        let mut choices = vec![];
        let mut fails = vec![];
        for p in &self.flow.params {
            let var = format!("$.Parameters.{}", p.name);
            if p.default.is_none() {
                let fail = format!("flowc-Missing-{}", p.name);
                choices.push(json!({"Variable": var, "IsPresent": false, "Next": fail}));
                let cause = format!("required parameter `{}` was not given: start the execution with {{\"Parameters\": {{\"{}\": …}}}}", p.name, p.name);
                fails.push((fail, p.span, "flowc.MissingParameter", cause));
            }
            if let Some(test) = type_test(p.ty) {
                let fail = format!("flowc-Invalid-{}", p.name);
                let rule = json!({"And": [{"Variable": var, "IsPresent": true}, {"Not": {"Variable": var, test: true}}], "Next": fail});
                choices.push(rule);
                let cause = format!("parameter `{}` must be of type {}", p.name, p.ty.as_str());
                fails.push((fail, p.span, "flowc.InvalidParameter", cause));
            }
        }
        let check = asl::Choice {
            comment: None,
            choices,
            default: names.save.into(),
        };
        self.add(
            states,
            names.check.into(),
            self.flow.name_span,
            State::Choice(check),
        );
        for (name, span, error, cause) in fails {
            let fail = asl::Fail {
                comment: None,
                error: error.into(),
                cause: Some(cause),
                cause_path: None,
            };
            self.add(states, name, span, State::Fail(fail));
        }
    }

    /// The Task writing the merged parameters to `RUNS/<run>/parameters.json`; its result is
    /// replaced by the references-only state `{"run_id": …}`.
    fn save_parameters(&self, first_step: &str) -> asl::Task {
        let key = format_call(&[
            Part::Lit(self.store.runs_prefix(&self.flow.name) + "/"),
            Part::Arg("$$.Execution.Name"),
            Part::Lit("/parameters.json".into()),
        ]);
        asl::Task {
            comment: Some(
                "store the parameters in the datastore; the state keeps references only".into(),
            ),
            resource: S3_PUT_OBJECT.into(),
            parameters: json!({"Bucket": self.store.bucket, "Key.$": key, "Body.$": "States.JsonToString($.Parameters)"}),
            result_selector: Some(json!({"run_id.$": "$$.Execution.Name"})),
            result_path: json!("$"),
            timeout_seconds: None,
            retry: vec![sdk_retrier()],
            catch: vec![],
            transition: Transition::Next(first_step.into()),
        }
    }

    // ---- regions ---------------------------------------------------------------------------

    /// Emits the states of the region `entry..stop` at foreach depth `depth`; returns the
    /// name of its first state and the states.
    fn region(&mut self, entry: StepId, stop: Option<StepId>, depth: u32) -> (String, States) {
        let mut states = States::new();
        for step in region_order(self.flow, entry, stop) {
            self.step(&mut states, step, stop, depth);
        }
        (self.flow.step(entry).name.clone(), states)
    }

    /// Where control goes to reach `target` from inside the region ending at `stop`.
    fn goto(&self, target: StepId, stop: Option<StepId>) -> Transition {
        if Some(target) == stop {
            Transition::end()
        } else {
            Transition::Next(self.flow.step(target).name.clone())
        }
    }

    /// Emits the states of one step: its Task, error recording, and its transition.
    fn step(&mut self, states: &mut States, id: StepId, stop: Option<StepId>, depth: u32) {
        let step = self.flow.step(id);
        let after = self.after_task(id, stop);
        let mut task = self.batch_task(id, depth, after.clone());
        let caught = self.after_caught(id, stop, after);
        let extra = self.with_catch(&mut task, id, caught, depth);
        self.add(states, step.name.clone(), step.span, State::Task(task));
        for (name, span, state) in extra {
            self.add(states, name, span, state);
        }
        match &step.next {
            ir::Transition::Split { targets, join } => {
                self.split(states, id, targets, *join, stop, depth)
            }
            ir::Transition::Foreach { body, join, .. } => {
                self.foreach(states, id, *body, *join, stop, depth)
            }
            ir::Transition::Switch { cases, .. } => self.switch(states, id, cases, stop, depth),
            ir::Transition::End | ir::Transition::Linear(_) => {}
        }
    }

    /// The transition following a step's Task state.
    fn after_task(&self, id: StepId, stop: Option<StepId>) -> Transition {
        let step = self.flow.step(id);
        let name = &step.name;
        match &step.next {
            ir::Transition::End => Transition::end(),
            ir::Transition::Linear(t) => self.goto(*t, stop),
            ir::Transition::Split { .. } => Transition::Next(state_name(name, "Split")),
            ir::Transition::Foreach { .. } => match self.map_kind(id) {
                MapKind::Inline => Transition::Next(state_name(name, "ReadItems")),
                MapKind::Distributed => Transition::Next(state_name(name, "Foreach")),
            },
            ir::Transition::Switch { .. } => Transition::Next(state_name(name, "ReadSwitch")),
        }
    }

    fn map_kind(&self, id: StepId) -> MapKind {
        self.maps
            .get(id)
            .map(|d| d.kind)
            .unwrap_or(MapKind::Distributed)
    }

    /// Where a caught failure continues: the successor, except that a foreach skips its Map
    /// (no items were written: the join sees zero inputs) and a switch fails, since the
    /// value that chooses the case was never written.
    fn after_caught(&self, id: StepId, stop: Option<StepId>, after: Transition) -> Transition {
        let step = self.flow.step(id);
        match &step.next {
            ir::Transition::Foreach { join, .. } => join
                .map(|j| self.goto(j, stop))
                .unwrap_or_else(Transition::end),
            ir::Transition::Switch { .. } => Transition::Next(state_name(&step.name, "NoValue")),
            _ => after,
        }
    }

    /// Adds the `@catch` catcher to `task`; returns the states it needs (the error-recording
    /// Task for `var`, a terminal Pass when the step ends its region, the Fail of a switch).
    fn with_catch(
        &self,
        task: &mut asl::Task,
        id: StepId,
        after: Transition,
        depth: u32,
    ) -> Vec<(String, Span, State)> {
        let step = self.flow.step(id);
        let Some(catch) = &step.decorators.catch else {
            return vec![];
        };
        let record = catch.value.var.is_some();
        let target = match (&after, record) {
            (_, true) => state_name(&step.name, "RecordError"),
            (Transition::Next(n), false) => n.clone(),
            (Transition::End(_), false) => state_name(&step.name, "Caught"),
        };
        let result_path = if record {
            json!("$.error")
        } else {
            Value::Null
        };
        task.catch.push(asl::Catcher {
            error_equals: vec!["States.ALL".into()],
            result_path,
            next: target.clone(),
        });
        if record {
            vec![(
                target,
                step.span,
                State::Task(self.record_error(id, depth, after)),
            )]
        } else if matches!(after, Transition::End(_)) {
            let done = asl::Pass {
                transition: Transition::end(),
                ..pass(None, None, None, "")
            };
            vec![(target, step.span, State::Pass(done))]
        } else {
            vec![]
        }
    }

    /// The Task writing the caught error to `…/<step>[/<index>]/error.json`, read by the
    /// runtime to set the `@catch(var)` artifact.
    fn record_error(&self, id: StepId, depth: u32, after: Transition) -> asl::Task {
        asl::Task {
            comment: Some("record the caught error for the @catch(var) artifact".into()),
            resource: S3_PUT_OBJECT.into(),
            parameters: json!({"Bucket": self.store.bucket, "Key.$": self.task_key(id, depth, "error.json"), "Body.$": "States.JsonToString($.error)"}),
            result_selector: Some(json!({"ETag.$": "$.ETag"})),
            result_path: json!("$.error"),
            timeout_seconds: None,
            retry: vec![sdk_retrier()],
            catch: vec![],
            transition: after,
        }
    }

    // ---- the Batch Task --------------------------------------------------------------------

    fn batch_task(&mut self, id: StepId, depth: u32, transition: Transition) -> asl::Task {
        let step = self.flow.step(id);
        let d = &step.decorators;
        let overrides = self.container_overrides(step, depth);
        let chars = serde_json::to_string(&overrides)
            .map(|s| s.len())
            .unwrap_or(0)
            + RUNTIME_ALLOWANCE * (1 + depth as usize);
        self.overrides.push(OverridesSize {
            state: step.name.clone(),
            step: id,
            chars,
        });
        let mut params = json!({
            "JobName": job_name(&self.flow.name, &step.name),
            "JobQueue": self.job_queue(step),
            "JobDefinition": self.job_definition(step),
            "ContainerOverrides": overrides,
        });
        if let Some(t) = &d.timeout {
            params["Timeout"] =
                json!({"AttemptDurationSeconds": t.value.total.0.max(BATCH_MIN_ATTEMPT_SECONDS)});
        }
        asl::Task {
            comment: None,
            resource: BATCH_SUBMIT_SYNC.into(),
            parameters: params,
            result_selector: None,
            result_path: Value::Null,
            timeout_seconds: d.timeout.as_ref().map(|t| t.value.total.0),
            retry: retriers(d.retry.as_ref().map(|r| &r.value)),
            catch: vec![],
            transition,
        }
    }

    /// `ContainerOverrides`: the `flowc task` command line, `@environment`, resources.
    fn container_overrides(&self, step: &ir::Step, depth: u32) -> Value {
        let mut args = vec![
            intrinsic_string("flowc"),
            intrinsic_string("task"),
            intrinsic_string(&self.flow.name),
            intrinsic_string(&step.name),
            intrinsic_string("--run-id"),
            "$.run_id".to_string(),
        ];
        if depth > 0 {
            args.extend([intrinsic_string("--index"), "$.index".to_string()]);
        }
        args.extend([
            intrinsic_string("--datastore"),
            intrinsic_string(&self.store.url()),
        ]);
        let mut o = json!({"Command.$": format!("States.Array({})", args.join(", "))});
        if let Some(env) = &step.decorators.environment {
            let vars: Vec<Value> = env
                .value
                .vars
                .iter()
                .map(|(k, v)| json!({"Name": k, "Value": v}))
                .collect();
            o["Environment"] = Value::Array(vars);
        }
        if let Some(req) = resource_requirements(&step.decorators) {
            o["ResourceRequirements"] = req;
        }
        o
    }

    fn job_queue(&self, step: &ir::Step) -> String {
        let own = step
            .decorators
            .batch
            .as_ref()
            .and_then(|b| b.value.queue.clone());
        own.or_else(|| self.opts.deploy.job_queue.clone())
            .unwrap_or_else(|| PLACEHOLDER_JOB_QUEUE.into())
    }

    fn job_definition(&self, step: &ir::Step) -> String {
        let d = &step.decorators;
        let image = d.batch.as_ref().and_then(|b| b.value.image.clone());
        let role = d.batch.as_ref().and_then(|b| b.value.iam_role.clone());
        let shm = d
            .resources
            .as_ref()
            .and_then(|r| r.value.shared_memory)
            .map(|m| m.0);
        if image.is_none() && role.is_none() && shm.is_none() {
            let default = self.opts.deploy.job_definition.clone();
            return default.unwrap_or_else(|| PLACEHOLDER_JOB_DEFINITION.into());
        }
        let image = image
            .or_else(|| self.opts.deploy.image.clone())
            .unwrap_or_default();
        let role = role
            .or_else(|| self.opts.deploy.job_role.clone())
            .unwrap_or_default();
        job_definition_name(self.flow, &image, &role, shm)
    }

    // ---- split, foreach, switch ------------------------------------------------------------

    fn split(
        &mut self,
        states: &mut States,
        id: StepId,
        targets: &[StepId],
        join: Option<StepId>,
        stop: Option<StepId>,
        depth: u32,
    ) {
        let step = self.flow.step(id);
        let branches = targets
            .iter()
            .map(|t| {
                let (start_at, states) = self.region(*t, join, depth);
                asl::StateMachine {
                    comment: None,
                    start_at,
                    states,
                }
            })
            .collect();
        let transition = join
            .map(|j| self.goto(j, stop))
            .unwrap_or_else(Transition::end);
        let par = asl::Parallel {
            comment: None,
            branches,
            result_path: Value::Null,
            transition,
        };
        self.add(
            states,
            state_name(&step.name, "Split"),
            step.span,
            State::Parallel(par),
        );
    }

    fn foreach(
        &mut self,
        states: &mut States,
        id: StepId,
        body: StepId,
        join: Option<StepId>,
        stop: Option<StepId>,
        depth: u32,
    ) {
        let step = self.flow.step(id);
        let kind = self.map_kind(id);
        let key = self.task_key(id, depth, "foreach.json");
        if kind == MapKind::Inline {
            let read = self.read_json(
                key.clone(),
                "$.foreach",
                "read the foreach indices [0, …, n-1] the split task wrote",
                state_name(&step.name, "Foreach"),
            );
            self.add(
                states,
                state_name(&step.name, "ReadItems"),
                step.span,
                State::Task(read),
            );
        }
        let (start_at, body_states) = self.region(body, join, depth + 1);
        let index = match depth {
            0 => "States.Format('{}', $$.Map.Item.Index)",
            _ => "States.Format('{}.{}', $.index, $$.Map.Item.Index)",
        };
        let concurrency = self
            .flow
            .step(id)
            .decorators
            .foreach
            .as_ref()
            .and_then(|f| f.value.max_concurrency);
        let (mode, exec) = match kind {
            MapKind::Inline => ("INLINE", None),
            MapKind::Distributed => ("DISTRIBUTED", Some("STANDARD".to_string())),
        };
        let mut map = asl::Map {
            comment: None,
            item_reader: None,
            items_path: None,
            item_selector: json!({"run_id.$": "$.run_id", "index.$": index}),
            item_processor: asl::ItemProcessor {
                processor_config: asl::ProcessorConfig {
                    mode: mode.into(),
                    execution_type: exec,
                },
                start_at,
                states: body_states,
            },
            max_concurrency: concurrency.unwrap_or(self.opts.max_workers),
            label: None,
            result_writer: None,
            result_selector: None,
            result_path: Value::Null,
            transition: join
                .map(|j| self.goto(j, stop))
                .unwrap_or_else(Transition::end),
        };
        match kind {
            MapKind::Inline => {
                map.items_path = Some("$.foreach.value".into());
                map.result_selector = Some(json!({"items.$": "States.ArrayLength($)"}));
                map.result_path = json!("$.foreach");
            }
            MapKind::Distributed => {
                map.item_reader = Some(json!({
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": self.store.bucket, "Key.$": key},
                }));
                map.label = Some(label(&step.name));
                let prefix = self.store.join(&[&self.flow.name, "map-runs", &step.name]);
                map.result_writer = Some(
                    json!({"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": self.store.bucket, "Prefix": prefix}}),
                );
            }
        }
        self.add(
            states,
            state_name(&step.name, "Foreach"),
            step.span,
            State::Map(map),
        );
    }

    fn switch(
        &mut self,
        states: &mut States,
        id: StepId,
        cases: &[(String, StepId)],
        stop: Option<StepId>,
        depth: u32,
    ) {
        let step = self.flow.step(id);
        let name = &step.name;
        let key = self.task_key(id, depth, "switch.json");
        let read = self.read_json(
            key,
            "$.switch",
            "read the switch value the task wrote",
            state_name(name, "Switch"),
        );
        self.add(
            states,
            state_name(name, "ReadSwitch"),
            step.span,
            State::Task(read),
        );
        let mut done = false;
        let choices = cases
            .iter()
            .map(|(value, target)| {
                let next = match self.goto(*target, stop) {
                    Transition::Next(n) => n,
                    Transition::End(_) => {
                        done = true;
                        state_name(name, "Done")
                    }
                };
                json!({"Variable": "$.switch.value", "StringEquals": value, "Next": next})
            })
            .collect();
        let unknown = state_name(name, "UnknownValue");
        let choice = asl::Choice {
            comment: None,
            choices,
            default: unknown.clone(),
        };
        self.add(
            states,
            state_name(name, "Switch"),
            step.span,
            State::Choice(choice),
        );
        let names: Vec<String> = cases.iter().map(|(v, _)| format!("\"{v}\"")).collect();
        let on = match &step.next {
            ir::Transition::Switch { on, .. } => on.name().to_string(),
            _ => String::new(),
        };
        let cause = format_call(&[
            Part::Lit(format!("step {name}: switch value ")),
            Part::Arg("States.JsonToString($.switch.value)"),
            Part::Lit(format!(
                " of `{on}` matches no case (cases: {})",
                names.join(", ")
            )),
        ]);
        let fail = asl::Fail {
            comment: None,
            error: "flowc.UnknownSwitchValue".into(),
            cause: None,
            cause_path: Some(cause),
        };
        self.add(states, unknown, step.span, State::Fail(fail));
        if step.decorators.catch.is_some() {
            let cause = format!("step {name} failed and its error was caught, so the value of `{on}` that chooses the switch case was never written");
            let fail = asl::Fail {
                comment: None,
                error: "flowc.UnknownSwitchValue".into(),
                cause: Some(cause),
                cause_path: None,
            };
            self.add(
                states,
                state_name(name, "NoValue"),
                step.span,
                State::Fail(fail),
            );
        }
        if done {
            let end = asl::Pass {
                transition: Transition::end(),
                ..pass(None, None, None, "")
            };
            self.add(
                states,
                state_name(name, "Done"),
                step.span,
                State::Pass(end),
            );
        }
    }

    /// A Task reading a JSON object from the datastore into `result_path.value`.
    fn read_json(&self, key: String, result_path: &str, comment: &str, next: String) -> asl::Task {
        asl::Task {
            comment: Some(comment.into()),
            resource: S3_GET_OBJECT.into(),
            parameters: json!({"Bucket": self.store.bucket, "Key.$": key}),
            result_selector: Some(json!({"value.$": "States.StringToJson($.Body)"})),
            result_path: json!(result_path),
            timeout_seconds: None,
            retry: vec![sdk_retrier()],
            catch: vec![],
            transition: Transition::Next(next),
        }
    }

    // ---- keys ------------------------------------------------------------------------------

    /// `States.Format` giving `RUNS/<run_id>/<step>[/<index>]/<file>` for a task of `id`.
    fn task_key(&self, id: StepId, depth: u32, file: &str) -> String {
        let step = &self.flow.step(id).name;
        let mut parts = vec![
            Part::Lit(self.store.runs_prefix(&self.flow.name) + "/"),
            Part::Arg("$.run_id"),
            Part::Lit(format!("/{step}/")),
        ];
        if depth > 0 {
            parts.extend([Part::Arg("$.index"), Part::Lit("/".into())]);
        }
        parts.push(Part::Lit(file.into()));
        format_call(&parts)
    }
}

/// `States.Format('template', args…)` from literal text (escaped, so that `{}` or `'` in a
/// datastore prefix or a case value stays literal) and arguments (each a `{}`).
fn format_call(parts: &[Part]) -> String {
    let mut template = String::new();
    let mut args = vec![];
    for p in parts {
        match p {
            Part::Lit(text) => template.push_str(&asl::intrinsic_escape(text)),
            Part::Arg(path) => {
                template.push_str("{}");
                args.push(*path);
            }
        }
    }
    format!("States.Format('{template}', {})", args.join(", "))
}

/// A piece of a `States.Format` call: literal text or a path argument.
enum Part {
    Lit(String),
    Arg(&'static str),
}

/// Names of the parameter states, all prefixed `flowc-`.
struct PreludeNames {
    read: &'static str,
    empty: &'static str,
    parse: &'static str,
    defaults: &'static str,
    merge: &'static str,
    check: &'static str,
    save: &'static str,
}

impl Default for PreludeNames {
    fn default() -> Self {
        PreludeNames {
            read: "flowc-ReadParameters",
            empty: "flowc-NoParameters",
            parse: "flowc-ParseParameters",
            defaults: "flowc-Defaults",
            merge: "flowc-MergeDefaults",
            check: "flowc-CheckParameters",
            save: "flowc-SaveParameters",
        }
    }
}

fn pass(
    parameters: Option<Value>,
    result: Option<Value>,
    result_path: Option<Value>,
    next: &str,
) -> asl::Pass {
    asl::Pass {
        comment: None,
        parameters,
        result,
        result_path,
        transition: Transition::Next(next.into()),
    }
}

/// The Choice comparison testing a parameter's JSON type (`int` is checked by the runtime).
fn type_test(ty: ir::ParamType) -> Option<&'static str> {
    match ty {
        ir::ParamType::Str => Some("IsString"),
        ir::ParamType::Int | ir::ParamType::Float => Some("IsNumeric"),
        ir::ParamType::Bool => Some("IsBoolean"),
        ir::ParamType::Json => None,
    }
}

/// Retriers of a Batch Task: Batch API throttling first (always), then `@retry`
/// (`times = 0`: none) on task failures and timeouts.
fn retriers(retry: Option<&ir::Retry>) -> Vec<asl::Retrier> {
    let mut all = vec![asl::Retrier {
        error_equals: BATCH_THROTTLE_ERRORS
            .iter()
            .map(|e| e.to_string())
            .collect(),
        interval_seconds: 2,
        max_attempts: THROTTLE_MAX_ATTEMPTS,
        backoff_rate: 2.0,
        max_delay_seconds: Some(60),
        jitter_strategy: Some("FULL".into()),
    }];
    if let Some(r) = retry.filter(|r| r.times > 0) {
        all.push(asl::Retrier {
            error_equals: vec!["States.TaskFailed".into(), "States.Timeout".into()],
            interval_seconds: r.interval.0.max(1),
            max_attempts: r.times,
            backoff_rate: r.backoff.max(1.0),
            max_delay_seconds: r.max_delay.map(|m| m.0.max(1)),
            jitter_strategy: r.jitter.then(|| "FULL".to_string()),
        });
    }
    all
}

/// Retrier of the S3 SDK Tasks: throttling and transient service errors.
fn sdk_retrier() -> asl::Retrier {
    asl::Retrier {
        error_equals: vec!["S3.SdkClientException".into(), "S3.S3Exception".into()],
        interval_seconds: 1,
        max_attempts: SDK_MAX_ATTEMPTS,
        backoff_rate: 2.0,
        max_delay_seconds: None,
        jitter_strategy: Some("FULL".into()),
    }
}

/// `ResourceRequirements` from `@resources` and `@batch` (the larger of the two wins), or
/// `None` when neither sets a size. Values are strings, as AWS Batch requires.
fn resource_requirements(d: &ir::StepDecorators) -> Option<Value> {
    let res = d.resources.as_ref().map(|r| &r.value);
    let bat = d.batch.as_ref().map(|b| &b.value);
    let cpu = max_opt(res.map(|r| r.cpu), bat.and_then(|b| b.cpu));
    let mem = max_opt(
        res.map(|r| r.memory.0),
        bat.and_then(|b| b.memory.map(|m| m.0)),
    );
    let gpu = max_opt(res.map(|r| r.gpu), bat.and_then(|b| b.gpu));
    let mut req = vec![];
    if let Some(c) = cpu {
        req.push(json!({"Type": "VCPU", "Value": number_text(c)}));
    }
    if let Some(m) = mem {
        req.push(json!({"Type": "MEMORY", "Value": m.to_string()}));
    }
    if let Some(g) = gpu.filter(|g| *g > 0) {
        req.push(json!({"Type": "GPU", "Value": g.to_string()}));
    }
    (!req.is_empty()).then_some(Value::Array(req))
}

fn max_opt<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b > a { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// `4` for 4.0, `0.25` for 0.25.
fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// Batch job name `flowc-<flow>-<step>`, cut to AWS Batch's 128 characters.
fn job_name(flow: &str, step: &str) -> String {
    format!("flowc-{flow}-{step}").chars().take(128).collect()
}

/// Map Run label: at most 40 characters (Step Functions `Label` limit).
fn label(step: &str) -> String {
    step.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datastore_parses_bucket_and_prefix() {
        let mut opts = CompileOptions::default();
        opts.deploy.datastore = Some("s3://b/p/q/".into());
        let d = Datastore::from_options(&opts);
        assert_eq!((d.bucket.as_str(), d.prefix.as_str()), ("b", "p/q"));
        assert_eq!(d.runs_prefix("F"), "p/q/F/runs");
        opts.deploy.datastore = Some("s3://b".into());
        assert_eq!(Datastore::from_options(&opts).runs_prefix("F"), "F/runs");
        assert_eq!(Datastore::from_options(&opts).url(), "s3://b");
    }

    #[test]
    fn format_call_keeps_placeholders_and_escapes_literal_text() {
        let call = format_call(&[
            Part::Lit("a{}b'c/".into()),
            Part::Arg("$.x"),
            Part::Lit("'".into()),
        ]);
        assert_eq!(call, r"States.Format('a\{\}b\'c/{}\'', $.x)");
    }

    #[test]
    fn job_definition_name_is_stable_and_distinct() {
        let mut f = ir::Flow {
            name: "F".into(),
            name_span: Span::default(),
            params: vec![],
            steps: vec![],
            decorators: Default::default(),
        };
        let a = job_definition_name(&f, "img:1", "", None);
        assert_eq!(a, job_definition_name(&f, "img:1", "", None));
        assert_ne!(a, job_definition_name(&f, "img:2", "", None));
        assert_ne!(a, job_definition_name(&f, "img:1", "", Some(64)));
        assert!(a.starts_with("flowc-F-") && a.len() == "flowc-F-".len() + 10);
        let project = ir::Project {
            name: "ranking".into(),
        };
        f.decorators.project = Some(crate::span::Spanned::own(project, Span::default()));
        let b = job_definition_name(&f, "img:1", "", None);
        assert_eq!(b, format!("ranking-F-{}", &a["flowc-F-".len()..]));
        f.name = "x".repeat(200);
        assert_eq!(job_definition_name(&f, "img:1", "", None).len(), 128);
    }

    #[test]
    fn numbers_as_batch_strings() {
        assert_eq!(number_text(4.0), "4");
        assert_eq!(number_text(0.25), "0.25");
    }

    #[test]
    fn retry_zero_keeps_only_throttling() {
        let r = ir::Retry {
            times: 0,
            interval: ir::Seconds(0),
            backoff: 1.0,
            max_delay: None,
            jitter: false,
        };
        assert_eq!(retriers(Some(&r)).len(), 1);
        let r = ir::Retry { times: 2, ..r };
        let all = retriers(Some(&r));
        assert_eq!(all[1].max_attempts, 2);
        assert_eq!(
            all[1].interval_seconds, 1,
            "ASL IntervalSeconds is at least 1"
        );
    }
}
