//! Parsing and validating an ASL definition into typed structs.
//!
//! [`parse`] turns a JSON definition into a [`StateMachine`] and rejects what AWS Step
//! Functions' `CreateStateMachine` rejects (unknown state types, a state with neither `Next`
//! nor `End`, `Next`/`Default`/`StartAt` naming a missing state, unreachable states, a
//! malformed `Retry`/`Catch`), each [`DefinitionError`] naming the JSON path of the offending
//! field, e.g. `$.States.A.Next: state "B" does not exist`.
//!
//! Payload templates (`Parameters`, `ResultSelector`, `Arguments`, `Output`, `Assign`, …) are
//! kept as raw JSON [`Value`]s: the data-flow layer evaluates them at run time.

use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::fmt;

mod handlers;
mod rules;

/// A definition error: the JSON path of the offending field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    /// JSON path of the field, e.g. `$.States.A.Next`.
    pub path: String,
    /// What is wrong, e.g. `state "B" does not exist`.
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for DefinitionError {}

/// The query language of a state machine or state (`QueryLanguage`, default `JSONPath`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryLanguage {
    /// `JSONPath`: `InputPath`, `Parameters`, `ResultSelector`, `ResultPath`, `OutputPath`.
    JsonPath,
    /// `JSONata`: `Arguments`, `Output`, `{% … %}` expressions.
    Jsonata,
}

/// A path field (`InputPath`, `ResultPath`, `OutputPath`): absent (defaults to `$`), an
/// explicit `null`, or a path string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathField {
    /// Field absent: behaves as `$`.
    Default,
    /// `null`: `InputPath`/`OutputPath` give `{}`, `ResultPath` discards the result.
    Null,
    /// A JSONPath (or `$$…` context path, or `$var` variable path).
    Path(String),
}

/// A state machine or a branch / item processor: `StartAt` and its `States`.
#[derive(Debug, Clone)]
pub struct StateMachine {
    /// Name of the first state.
    pub start_at: String,
    /// The states, in definition order.
    pub states: IndexMap<String, State>,
    /// Top-level `TimeoutSeconds` (whole execution), if any.
    pub timeout_seconds: Option<u64>,
    /// `QueryLanguage` declared here (states inherit it).
    pub query_language: QueryLanguage,
}

/// One state: its common fields and its type-specific part.
#[derive(Debug, Clone)]
pub struct State {
    /// The state's name (its key in `States`).
    pub name: String,
    /// Effective query language (own `QueryLanguage`, else the machine's).
    pub query_language: QueryLanguage,
    /// `Next` state, if any.
    pub next: Option<String>,
    /// `End: true`.
    pub end: bool,
    /// `InputPath` (JSONPath states).
    pub input_path: PathField,
    /// `OutputPath` (JSONPath states).
    pub output_path: PathField,
    /// `ResultPath` (JSONPath states).
    pub result_path: PathField,
    /// `Parameters` (JSONPath) payload template.
    pub parameters: Option<Value>,
    /// `Arguments` (JSONata) template.
    pub arguments: Option<Value>,
    /// `ResultSelector` (JSONPath) payload template.
    pub result_selector: Option<Value>,
    /// `Output` (JSONata) template.
    pub output: Option<Value>,
    /// `Assign` template.
    pub assign: Option<Value>,
    /// `Retry` rules, in order.
    pub retry: Vec<Retrier>,
    /// `Catch` rules, in order.
    pub catch: Vec<Catcher>,
    /// True when the state's JSON mentions the context object (`$$` or `$states.context`), so
    /// the executor builds it only for states that may read it.
    pub uses_context: bool,
    /// The type-specific part.
    pub kind: Kind,
}

/// Type-specific fields of a state.
#[derive(Debug, Clone)]
pub enum Kind {
    /// `Pass` with its optional literal `Result`.
    Pass {
        /// `Result`: a literal (never evaluated), wins over `Parameters`.
        result: Option<Value>,
    },
    /// `Task`.
    Task(Box<TaskSpec>),
    /// `Choice`.
    Choice {
        /// `Choices`, in order.
        choices: Vec<ChoiceBranch>,
        /// `Default` state, if any.
        default: Option<String>,
    },
    /// `Wait`: exactly one of the four fields.
    Wait(WaitSpec),
    /// `Succeed`.
    Succeed,
    /// `Fail`.
    Fail(FailSpec),
    /// `Parallel` with its branches.
    Parallel {
        /// `Branches`, in order.
        branches: Vec<StateMachine>,
    },
    /// `Map` (inline or distributed).
    Map(Box<MapSpec>),
}

/// A `Task` state's own fields.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    /// `Resource` ARN (or a JSONata expression string).
    pub resource: String,
    /// `TimeoutSeconds` (a number) or `TimeoutSecondsPath` / JSONata string.
    pub timeout: Option<Value>,
    /// `TimeoutSecondsPath`.
    pub timeout_path: Option<String>,
    /// `HeartbeatSeconds`.
    pub heartbeat: Option<Value>,
    /// `HeartbeatSecondsPath`.
    pub heartbeat_path: Option<String>,
}

/// One element of `Choices`: the rule JSON (evaluated by the choice layer) and its target.
#[derive(Debug, Clone)]
pub struct ChoiceBranch {
    /// The rule object (without `Next`), e.g. `{"Variable":"$.x","NumericEquals":1}` or
    /// `{"Condition":"{% … %}"}`.
    pub rule: Value,
    /// `Next`.
    pub next: String,
    /// `Assign` of this choice (taken when the rule matches).
    pub assign: Option<Value>,
    /// `Output` of this choice (JSONata).
    pub output: Option<Value>,
}

/// A `Wait` state's duration.
#[derive(Debug, Clone)]
pub enum WaitSpec {
    /// `Seconds` (number, or JSONata string).
    Seconds(Value),
    /// `SecondsPath`.
    SecondsPath(String),
    /// `Timestamp` (string literal or JSONata).
    Timestamp(Value),
    /// `TimestampPath`.
    TimestampPath(String),
}

/// A `Fail` state's error and cause fields.
#[derive(Debug, Clone, Default)]
pub struct FailSpec {
    /// `Error` (literal, or JSONata).
    pub error: Option<Value>,
    /// `ErrorPath` (path or intrinsic function).
    pub error_path: Option<String>,
    /// `Cause`.
    pub cause: Option<Value>,
    /// `CausePath`.
    pub cause_path: Option<String>,
}

/// A `Map` state's own fields.
#[derive(Debug, Clone)]
pub struct MapSpec {
    /// `ItemProcessor` (or legacy `Iterator`).
    pub processor: StateMachine,
    /// True for `ProcessorConfig.Mode: DISTRIBUTED`.
    pub distributed: bool,
    /// `ItemsPath` (JSONPath).
    pub items_path: Option<String>,
    /// `Items` (JSONata expression or literal array).
    pub items: Option<Value>,
    /// `ItemSelector` (or legacy `Parameters`, JSONPath mode).
    pub item_selector: Option<Value>,
    /// `ItemReader` configuration (distributed maps).
    pub item_reader: Option<Value>,
    /// `ItemBatcher` configuration.
    pub item_batcher: Option<Value>,
    /// `ResultWriter` configuration.
    pub result_writer: Option<Value>,
    /// `MaxConcurrency` (number, or JSONata string); 0 or absent means unbounded.
    pub max_concurrency: Option<Value>,
    /// `MaxConcurrencyPath`.
    pub max_concurrency_path: Option<String>,
    /// `ToleratedFailureCount`.
    pub tolerated_count: Option<Value>,
    /// `ToleratedFailureCountPath`.
    pub tolerated_count_path: Option<String>,
    /// `ToleratedFailurePercentage`.
    pub tolerated_percentage: Option<Value>,
    /// `ToleratedFailurePercentagePath`.
    pub tolerated_percentage_path: Option<String>,
}

/// A `Retry` rule. Defaults from the ASL specification: `IntervalSeconds` 1, `MaxAttempts`
/// 3, `BackoffRate` 2.0. [`parse`] accepts only AWS's ranges ("Handling errors in Step
/// Functions workflows"): `IntervalSeconds` 1..=99,999,999, `MaxAttempts` 0..=99,999,999,
/// `MaxDelaySeconds` 1..=31,622,400, `BackoffRate` >= 1.0, `JitterStrategy` `FULL`/`NONE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `IntervalSeconds` (seconds before the first retry).
    pub interval_seconds: f64,
    /// `MaxAttempts` (0: never retry).
    pub max_attempts: u32,
    /// `BackoffRate` (multiplier per attempt, >= 1.0).
    pub backoff_rate: f64,
    /// `MaxDelaySeconds` cap on one interval.
    pub max_delay_seconds: Option<f64>,
    /// `JitterStrategy: FULL` (random interval in `[0, delay]`).
    pub jitter_full: bool,
}

/// A `Catch` rule.
#[derive(Debug, Clone)]
pub struct Catcher {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `Next`.
    pub next: String,
    /// `ResultPath` (JSONPath; default `$`).
    pub result_path: PathField,
    /// `Output` (JSONata).
    pub output: Option<Value>,
    /// `Assign`.
    pub assign: Option<Value>,
}

/// Parses and validates a definition.
///
/// Errors: every problem found (at least one), each with its JSON path.
pub fn parse(def: &Value) -> Result<StateMachine, Vec<DefinitionError>> {
    let mut errs = Vec::new();
    let sm = parse_machine(def, "$", QueryLanguage::JsonPath, true, &mut errs);
    if let Some(sm) = sm.as_ref().filter(|_| errs.is_empty()) {
        rules::check_variable_scopes(sm, "$", &Default::default(), &mut errs);
    }
    match sm {
        Some(sm) if errs.is_empty() => Ok(sm),
        _ => {
            if errs.is_empty() {
                errs.push(err("$", "invalid state machine definition"));
            }
            Err(errs)
        }
    }
}

/// Parses a definition from JSON text (see [`parse`]).
pub fn parse_str(text: &str) -> Result<StateMachine, Vec<DefinitionError>> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| vec![err("$", &format!("invalid JSON: {e}"))])?;
    parse(&v)
}

fn err(path: &str, message: &str) -> DefinitionError {
    DefinitionError {
        path: path.to_string(),
        message: message.to_string(),
    }
}

/// `{path}.{key}: field "key" is not supported {place}`, with a "did you mean" among
/// `allowed`.
fn unsupported(key: &str, allowed: &[&str], place: &str, path: &str) -> DefinitionError {
    let mut msg = format!("field \"{key}\" is not supported {place}");
    if let Some(s) = crate::diagnostics::suggest(key, allowed.iter().copied()) {
        msg.push_str(&format!(" (did you mean \"{s}\"?)"));
    }
    err(&format!("{path}.{key}"), &msg)
}

fn query_language(
    obj: &Map<String, Value>,
    path: &str,
    inherited: QueryLanguage,
    errs: &mut Vec<DefinitionError>,
) -> QueryLanguage {
    match obj.get("QueryLanguage") {
        None => inherited,
        Some(Value::String(s)) if s == "JSONPath" => QueryLanguage::JsonPath,
        Some(Value::String(s)) if s == "JSONata" => QueryLanguage::Jsonata,
        Some(_) => {
            errs.push(err(
                &format!("{path}.QueryLanguage"),
                "must be \"JSONPath\" or \"JSONata\"",
            ));
            inherited
        }
    }
}

fn parse_machine(
    v: &Value,
    path: &str,
    inherited: QueryLanguage,
    top: bool,
    errs: &mut Vec<DefinitionError>,
) -> Option<StateMachine> {
    let Some(obj) = v.as_object() else {
        errs.push(err(path, "must be an object"));
        return None;
    };
    let ql = query_language(obj, path, inherited, errs);
    let allowed: &[&str] = if top {
        &[
            "StartAt",
            "States",
            "Comment",
            "Version",
            "TimeoutSeconds",
            "QueryLanguage",
        ]
    } else {
        &[
            "StartAt",
            "States",
            "Comment",
            "ProcessorConfig",
            "QueryLanguage",
        ]
    };
    for key in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
        errs.push(unsupported(key, allowed, "here", path));
    }
    let start_at = match obj.get("StartAt") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            errs.push(err(
                &format!("{path}.StartAt"),
                "required string field is missing",
            ));
            String::new()
        }
    };
    let Some(states_obj) = obj.get("States").and_then(Value::as_object) else {
        errs.push(err(
            &format!("{path}.States"),
            "required object field is missing",
        ));
        return None;
    };
    let mut states = IndexMap::new();
    for (name, sv) in states_obj {
        let spath = format!("{path}.States.{name}");
        if let Some(s) = parse_state(name, sv, &spath, ql, errs) {
            states.insert(name.clone(), s);
        }
    }
    let timeout_seconds = if top {
        obj.get("TimeoutSeconds").and_then(Value::as_u64)
    } else {
        None
    };
    let sm = StateMachine {
        start_at,
        states,
        timeout_seconds,
        query_language: ql,
    };
    check_transitions(&sm, path, states_obj, errs);
    Some(sm)
}

/// Checks `StartAt`, every `Next`/`Default`/`Catch.Next` target, and reachability.
fn check_transitions(
    sm: &StateMachine,
    path: &str,
    raw: &Map<String, Value>,
    errs: &mut Vec<DefinitionError>,
) {
    if !sm.start_at.is_empty() && !raw.contains_key(&sm.start_at) {
        errs.push(err(
            &format!("{path}.StartAt"),
            &format!("state \"{}\" does not exist", sm.start_at),
        ));
    }
    for (name, st) in &sm.states {
        for (field, target) in transitions(st) {
            if !raw.contains_key(&target) {
                errs.push(err(
                    &format!("{path}.States.{name}.{field}"),
                    &format!("state \"{target}\" does not exist"),
                ));
            }
        }
    }
    if errs.is_empty() {
        check_reachable(sm, path, errs);
    }
}

/// Every transition of a state: (field path relative to the state, target).
fn transitions(st: &State) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(n) = &st.next {
        out.push(("Next".to_string(), n.clone()));
    }
    if let Kind::Choice { choices, default } = &st.kind {
        for (i, c) in choices.iter().enumerate() {
            out.push((format!("Choices[{i}].Next"), c.next.clone()));
        }
        if let Some(d) = default {
            out.push(("Default".to_string(), d.clone()));
        }
    }
    for (i, c) in st.catch.iter().enumerate() {
        out.push((format!("Catch[{i}].Next"), c.next.clone()));
    }
    out
}

/// AWS rejects definitions with states not reachable from `StartAt`.
fn check_reachable(sm: &StateMachine, path: &str, errs: &mut Vec<DefinitionError>) {
    let mut seen = std::collections::HashSet::new();
    let mut todo = vec![sm.start_at.clone()];
    while let Some(n) = todo.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(st) = sm.states.get(&n) {
            todo.extend(transitions(st).into_iter().map(|(_, t)| t));
        }
    }
    for name in sm.states.keys() {
        if !seen.contains(name) {
            errs.push(err(
                &format!("{path}.States.{name}"),
                &format!("state \"{name}\" is not reachable from StartAt"),
            ));
        }
    }
}

fn path_field(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    errs: &mut Vec<DefinitionError>,
) -> PathField {
    match obj.get(key) {
        None => PathField::Default,
        Some(Value::Null) => PathField::Null,
        Some(Value::String(s)) => PathField::Path(s.clone()),
        Some(_) => {
            errs.push(err(&format!("{path}.{key}"), "must be a string or null"));
            PathField::Default
        }
    }
}

fn opt_string(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    errs: &mut Vec<DefinitionError>,
) -> Option<String> {
    match obj.get(key) {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errs.push(err(&format!("{path}.{key}"), "must be a string"));
            None
        }
    }
}

const STATE_TYPES: [&str; 8] = [
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

fn parse_state(
    name: &str,
    v: &Value,
    path: &str,
    inherited: QueryLanguage,
    errs: &mut Vec<DefinitionError>,
) -> Option<State> {
    let Some(obj) = v.as_object() else {
        errs.push(err(path, "a state must be an object"));
        return None;
    };
    let ty = match obj.get("Type") {
        Some(Value::String(t)) if STATE_TYPES.contains(&t.as_str()) => t.as_str(),
        Some(Value::String(t)) => {
            let mut msg = format!("unknown state type \"{t}\"");
            if let Some(s) = crate::diagnostics::suggest(t, STATE_TYPES.iter().copied()) {
                msg.push_str(&format!(" (did you mean \"{s}\"?)"));
            }
            errs.push(err(&format!("{path}.Type"), &msg));
            return None;
        }
        _ => {
            errs.push(err(
                &format!("{path}.Type"),
                "required string field is missing",
            ));
            return None;
        }
    };
    if name.len() > 80 {
        errs.push(err(path, "state names must be at most 80 characters"));
    }
    let ql = query_language(obj, path, inherited, errs);
    check_fields(ty, obj, path, ql, errs);
    check_expressions(obj, path, ql, errs);
    let kind = parse_kind(ty, obj, path, ql, errs)?;
    let next = opt_string(obj, "Next", path, errs);
    let end = obj.get("End").and_then(Value::as_bool).unwrap_or(false);
    check_next_end(ty, &next, end, path, errs);
    Some(State {
        name: name.to_string(),
        query_language: ql,
        next,
        end,
        input_path: path_field(obj, "InputPath", path, errs),
        output_path: path_field(obj, "OutputPath", path, errs),
        result_path: path_field(obj, "ResultPath", path, errs),
        parameters: obj.get("Parameters").filter(|_| ty != "Map").cloned(),
        arguments: obj.get("Arguments").cloned(),
        result_selector: obj.get("ResultSelector").cloned(),
        output: obj.get("Output").cloned(),
        assign: obj.get("Assign").cloned(),
        retry: handlers::parse_retry(obj, path, errs),
        catch: handlers::parse_catch(obj, path, ql, errs),
        uses_context: mentions_context(v),
        kind,
    })
}

/// Fields every state type accepts (ASL specification and the JSONata additions).
const COMMON_FIELDS: [&str; 3] = ["Type", "Comment", "QueryLanguage"];

/// Fields each state type accepts besides [`COMMON_FIELDS`].
fn allowed_fields(ty: &str) -> &'static [&'static str] {
    match ty {
        "Pass" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Result",
            "Assign",
            "Output",
        ],
        "Task" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Retry",
            "Catch",
            "Credentials",
            "Arguments",
            "Output",
            "Assign",
        ],
        "Choice" => &[
            "InputPath",
            "OutputPath",
            "Choices",
            "Default",
            "Assign",
            "Output",
        ],
        "Wait" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Assign",
            "Output",
        ],
        "Succeed" => &["InputPath", "OutputPath", "Output"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Branches",
            "Retry",
            "Catch",
            "Arguments",
            "Output",
            "Assign",
        ],
        "Map" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "Items",
            "ItemSelector",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "Label",
            "Arguments",
            "Output",
            "Assign",
        ],
        _ => &[],
    }
}

/// JSONPath-only fields, rejected in JSONata states (AWS: "These fields are not supported
/// in JSONata states").
const JSONPATH_ONLY: [&str; 9] = [
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "MaxConcurrencyPath",
];

/// JSONata-only fields, rejected in JSONPath states.
const JSONATA_ONLY: [&str; 3] = ["Arguments", "Output", "Items"];

/// Rejects fields the state type does not have (with a suggestion) and fields of the other
/// query language, as `CreateStateMachine` does.
fn check_fields(
    ty: &str,
    obj: &Map<String, Value>,
    path: &str,
    ql: QueryLanguage,
    errs: &mut Vec<DefinitionError>,
) {
    let allowed = allowed_fields(ty);
    for key in obj.keys() {
        let k = key.as_str();
        if COMMON_FIELDS.contains(&k) {
            continue;
        }
        if !allowed.contains(&k) {
            errs.push(unsupported(k, allowed, &format!("by {ty} states"), path));
        } else if ql == QueryLanguage::Jsonata && JSONPATH_ONLY.contains(&k) {
            errs.push(err(
                &format!("{path}.{k}"),
                &format!("field \"{k}\" is not supported in JSONata states"),
            ));
        } else if ql == QueryLanguage::JsonPath && JSONATA_ONLY.contains(&k) {
            errs.push(err(
                &format!("{path}.{k}"),
                &format!("field \"{k}\" is only supported in JSONata states"),
            ));
        }
    }
}

/// Fields whose values hold JSONata expressions in JSONata states.
const JSONATA_FIELDS: [&str; 16] = [
    "Arguments",
    "Output",
    "Assign",
    "Items",
    "ItemSelector",
    "Choices",
    "Seconds",
    "Timestamp",
    "Error",
    "Cause",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "MaxConcurrency",
    "ToleratedFailureCount",
    "ToleratedFailurePercentage",
    "Catch",
];

/// Path fields of JSONPath states (a path, `$$…` context path, `$var…` or intrinsic).
const PATH_FIELDS: [&str; 12] = [
    "InputPath",
    "OutputPath",
    "ResultPath",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "ToleratedFailureCountPath",
];

/// Payload-template fields of JSONPath states (keys ending in `.$` hold paths or intrinsics).
const TEMPLATE_FIELDS: [&str; 5] = [
    "Parameters",
    "ResultSelector",
    "ItemSelector",
    "Assign",
    "Catch",
];

/// Rejects, as `CreateStateMachine` does, JSONata expressions that do not parse or read the
/// top-level context (JSONata states), and malformed paths and intrinsic calls (JSONPath
/// states).
fn check_expressions(
    obj: &Map<String, Value>,
    path: &str,
    ql: QueryLanguage,
    errs: &mut Vec<DefinitionError>,
) {
    match ql {
        QueryLanguage::Jsonata => {
            for key in JSONATA_FIELDS {
                if let Some(v) = obj.get(key) {
                    walk_jsonata(v, &format!("{path}.{key}"), errs);
                }
            }
        }
        QueryLanguage::JsonPath => {
            for key in PATH_FIELDS {
                if let Some(Value::String(p)) = obj.get(key) {
                    check_path(p, &format!("{path}.{key}"), errs);
                }
            }
            for key in TEMPLATE_FIELDS {
                if let Some(v) = obj.get(key) {
                    walk_template(v, &format!("{path}.{key}"), errs);
                }
            }
            if let Some(Value::Array(rules)) = obj.get("Choices") {
                for (i, r) in rules.iter().enumerate() {
                    walk_rule(r, &format!("{path}.Choices[{i}]"), errs);
                    rules::check_jsonpath_rule(r, &format!("{path}.Choices[{i}]"), true, errs);
                }
            }
        }
    }
    if ql == QueryLanguage::Jsonata {
        if let Some(Value::Array(rules)) = obj.get("Choices") {
            for (i, r) in rules.iter().enumerate() {
                rules::check_jsonata_rule(r, &format!("{path}.Choices[{i}]"), errs);
            }
        }
    }
}

fn walk_jsonata(v: &Value, path: &str, errs: &mut Vec<DefinitionError>) {
    match v {
        Value::String(s) if crate::engine::jsonata::is_expression(s) => {
            if let Err(e) =
                crate::engine::jsonata::validate(crate::engine::jsonata::expression_text(s))
            {
                errs.push(err(path, &e));
            }
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| walk_jsonata(x, &format!("{path}[{i}]"), errs)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| walk_jsonata(x, &format!("{path}.{k}"), errs)),
        _ => {}
    }
}

fn walk_template(v: &Value, path: &str, errs: &mut Vec<DefinitionError>) {
    match v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| walk_template(x, &format!("{path}[{i}]"), errs)),
        Value::Object(o) => {
            for (k, x) in o {
                let at = format!("{path}.{k}");
                match (k.ends_with(".$"), x) {
                    (true, Value::String(p)) => check_path(p, &at, errs),
                    (true, _) => errs.push(err(
                        &at,
                        "the value of a field ending in \".$\" must be a string",
                    )),
                    (false, _) => walk_template(x, &at, errs),
                }
            }
        }
        _ => {}
    }
}

/// Checks the `Variable` and `…Path` operands of a Choice rule, through `And`/`Or`/`Not`.
fn walk_rule(rule: &Value, path: &str, errs: &mut Vec<DefinitionError>) {
    let Some(o) = rule.as_object() else { return };
    for (k, v) in o {
        let at = format!("{path}.{k}");
        match (k.as_str(), v) {
            ("And" | "Or", Value::Array(a)) => a
                .iter()
                .enumerate()
                .for_each(|(i, r)| walk_rule(r, &format!("{at}[{i}]"), errs)),
            ("Not", r) => walk_rule(r, &at, errs),
            ("Assign", a) => walk_template(a, &at, errs),
            (k, Value::String(p)) if k == "Variable" || k.ends_with("Path") => {
                check_path(p, &at, errs)
            }
            _ => {}
        }
    }
}

/// A path as AWS accepts it: a JSONPath, a `$$…` context path, a `$name…` variable path or
/// an intrinsic function call.
fn check_path(p: &str, at: &str, errs: &mut Vec<DefinitionError>) {
    use crate::engine::{intrinsics, jsonpath, template};
    let problem = if intrinsics::is_call(p) {
        intrinsics::compile(p)
            .err()
            .map(|e| e.cause.unwrap_or(e.error))
    } else if let Some(ctx) = p.strip_prefix("$$") {
        jsonpath::compile(&format!("${ctx}"))
            .err()
            .map(|e| e.to_string())
    } else if let Some((_, rest)) = template::variable_split(p) {
        jsonpath::compile(&format!("${rest}"))
            .err()
            .map(|e| e.to_string())
    } else if p.starts_with('$') {
        jsonpath::compile(p).err().map(|e| e.to_string())
    } else {
        Some(format!("\"{p}\" is not a path (paths start with \"$\")"))
    };
    if let Some(m) = problem {
        errs.push(err(at, &format!("invalid path or intrinsic function: {m}")));
    }
}

fn check_next_end(
    ty: &str,
    next: &Option<String>,
    end: bool,
    path: &str,
    errs: &mut Vec<DefinitionError>,
) {
    let terminal = matches!(ty, "Choice" | "Succeed" | "Fail");
    if terminal {
        if next.is_some() {
            errs.push(err(
                &format!("{path}.Next"),
                &format!("a {ty} state cannot have Next"),
            ));
        }
        if end {
            errs.push(err(
                &format!("{path}.End"),
                &format!("a {ty} state cannot have End"),
            ));
        }
    } else if next.is_some() && end {
        errs.push(err(path, "a state cannot have both Next and End"));
    } else if next.is_none() && !end {
        errs.push(err(path, "a state must have either Next or End: true"));
    }
}

fn mentions_context(v: &Value) -> bool {
    match v {
        Value::String(s) => {
            s.contains("$$") || s.contains("$states.context") || s.contains("$states")
        }
        Value::Array(a) => a.iter().any(mentions_context),
        Value::Object(o) => o.iter().any(|(k, v)| {
            // Branches and processors are scanned separately when their states are parsed.
            k != "Branches" && k != "ItemProcessor" && k != "Iterator" && mentions_context(v)
        }),
        _ => false,
    }
}

fn parse_kind(
    ty: &str,
    obj: &Map<String, Value>,
    path: &str,
    ql: QueryLanguage,
    errs: &mut Vec<DefinitionError>,
) -> Option<Kind> {
    Some(match ty {
        "Pass" => Kind::Pass {
            result: obj.get("Result").cloned(),
        },
        "Succeed" => Kind::Succeed,
        "Task" => Kind::Task(Box::new(parse_task(obj, path, errs))),
        "Choice" => parse_choice(obj, path, errs),
        "Wait" => Kind::Wait(parse_wait(obj, path, errs)?),
        "Fail" => Kind::Fail(FailSpec {
            error: obj.get("Error").cloned(),
            error_path: opt_string(obj, "ErrorPath", path, errs),
            cause: obj.get("Cause").cloned(),
            cause_path: opt_string(obj, "CausePath", path, errs),
        }),
        "Parallel" => {
            let Some(arr) = obj.get("Branches").and_then(Value::as_array) else {
                errs.push(err(
                    &format!("{path}.Branches"),
                    "required array field is missing",
                ));
                return None;
            };
            let branches = arr
                .iter()
                .enumerate()
                .filter_map(|(i, b)| {
                    parse_machine(b, &format!("{path}.Branches[{i}]"), ql, false, errs)
                })
                .collect();
            Kind::Parallel { branches }
        }
        "Map" => Kind::Map(Box::new(parse_map(obj, path, ql, errs)?)),
        _ => return None,
    })
}

fn parse_task(obj: &Map<String, Value>, path: &str, errs: &mut Vec<DefinitionError>) -> TaskSpec {
    let resource = opt_string(obj, "Resource", path, errs).unwrap_or_else(|| {
        errs.push(err(
            &format!("{path}.Resource"),
            "required string field is missing",
        ));
        String::new()
    });
    check_heartbeat(obj, path, errs);
    TaskSpec {
        resource,
        timeout: obj.get("TimeoutSeconds").cloned(),
        timeout_path: opt_string(obj, "TimeoutSecondsPath", path, errs),
        heartbeat: obj.get("HeartbeatSeconds").cloned(),
        heartbeat_path: opt_string(obj, "HeartbeatSecondsPath", path, errs),
    }
}

/// ASL specification, Task state: "the HeartbeatSeconds interval MUST be smaller than the
/// TimeoutSeconds value" (checked when both are literal numbers).
fn check_heartbeat(obj: &Map<String, Value>, path: &str, errs: &mut Vec<DefinitionError>) {
    let num = |k: &str| obj.get(k).and_then(Value::as_f64);
    if let (Some(h), Some(t)) = (num("HeartbeatSeconds"), num("TimeoutSeconds")) {
        if h >= t {
            errs.push(err(
                &format!("{path}.HeartbeatSeconds"),
                &format!("HeartbeatSeconds ({h}) must be smaller than TimeoutSeconds ({t})"),
            ));
        }
    }
}

fn parse_choice(obj: &Map<String, Value>, path: &str, errs: &mut Vec<DefinitionError>) -> Kind {
    let mut choices = Vec::new();
    match obj.get("Choices").and_then(Value::as_array) {
        Some(arr) if !arr.is_empty() => {
            for (i, c) in arr.iter().enumerate() {
                let cpath = format!("{path}.Choices[{i}]");
                let Some(co) = c.as_object() else {
                    errs.push(err(&cpath, "a choice rule must be an object"));
                    continue;
                };
                let Some(next) = opt_string(co, "Next", &cpath, errs) else {
                    errs.push(err(
                        &format!("{cpath}.Next"),
                        "required string field is missing",
                    ));
                    continue;
                };
                let mut rule = co.clone();
                rule.remove("Next");
                let assign = rule.remove("Assign");
                let output = rule.remove("Output");
                choices.push(ChoiceBranch {
                    rule: Value::Object(rule),
                    next,
                    assign,
                    output,
                });
            }
        }
        _ => errs.push(err(
            &format!("{path}.Choices"),
            "required non-empty array field is missing",
        )),
    }
    Kind::Choice {
        choices,
        default: opt_string(obj, "Default", path, errs),
    }
}

fn parse_wait(
    obj: &Map<String, Value>,
    path: &str,
    errs: &mut Vec<DefinitionError>,
) -> Option<WaitSpec> {
    let mut found = Vec::new();
    if let Some(v) = obj.get("Seconds") {
        found.push(WaitSpec::Seconds(v.clone()));
    }
    if let Some(v) = opt_string(obj, "SecondsPath", path, errs) {
        found.push(WaitSpec::SecondsPath(v));
    }
    if let Some(v) = obj.get("Timestamp") {
        found.push(WaitSpec::Timestamp(v.clone()));
    }
    if let Some(v) = opt_string(obj, "TimestampPath", path, errs) {
        found.push(WaitSpec::TimestampPath(v));
    }
    if found.len() != 1 {
        errs.push(err(
            path,
            "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
        ));
        return None;
    }
    found.pop()
}

fn parse_map(
    obj: &Map<String, Value>,
    path: &str,
    ql: QueryLanguage,
    errs: &mut Vec<DefinitionError>,
) -> Option<MapSpec> {
    let (key, proc_v) = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
        (Some(p), _) => ("ItemProcessor", p),
        (None, Some(p)) => ("Iterator", p),
        (None, None) => {
            errs.push(err(
                &format!("{path}.ItemProcessor"),
                "required object field is missing",
            ));
            return None;
        }
    };
    let processor = parse_machine(proc_v, &format!("{path}.{key}"), ql, false, errs)?;
    let distributed = proc_v
        .pointer("/ProcessorConfig/Mode")
        .and_then(Value::as_str)
        .is_some_and(|m| m == "DISTRIBUTED");
    let item_selector = obj
        .get("ItemSelector")
        .or_else(|| obj.get("Parameters"))
        .cloned();
    Some(MapSpec {
        processor,
        distributed,
        items_path: opt_string(obj, "ItemsPath", path, errs),
        items: obj.get("Items").cloned(),
        item_selector,
        item_reader: obj.get("ItemReader").cloned(),
        item_batcher: obj
            .get("ItemBatcher")
            .cloned()
            .inspect(|b| rules::check_item_batcher(b, &format!("{path}.ItemBatcher"), errs)),
        result_writer: obj.get("ResultWriter").cloned(),
        max_concurrency: obj.get("MaxConcurrency").cloned(),
        max_concurrency_path: opt_string(obj, "MaxConcurrencyPath", path, errs),
        tolerated_count: obj.get("ToleratedFailureCount").cloned(),
        tolerated_count_path: opt_string(obj, "ToleratedFailureCountPath", path, errs),
        tolerated_percentage: obj.get("ToleratedFailurePercentage").cloned(),
        tolerated_percentage_path: opt_string(obj, "ToleratedFailurePercentagePath", path, errs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first_error(v: Value) -> String {
        parse(&v)
            .err()
            .map(|e| e[0].to_string())
            .unwrap_or_default()
    }

    #[test]
    fn next_to_missing_state_is_reported_with_path() {
        let e = first_error(json!({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}));
        assert_eq!(e, "$.States.A.Next: state \"B\" does not exist");
    }

    #[test]
    fn unknown_type_suggests() {
        let e = first_error(json!({"StartAt":"A","States":{"A":{"Type":"Pas","End":true}}}));
        assert!(
            e.starts_with("$.States.A.Type: unknown state type \"Pas\""),
            "{e}"
        );
    }

    #[test]
    fn missing_next_and_end() {
        let e = first_error(json!({"StartAt":"A","States":{"A":{"Type":"Pass"}}}));
        assert_eq!(e, "$.States.A: a state must have either Next or End: true");
    }

    #[test]
    fn unreachable_state() {
        let e = first_error(
            json!({"StartAt":"A","States":{"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}}}),
        );
        assert_eq!(e, "$.States.B: state \"B\" is not reachable from StartAt");
    }

    #[test]
    fn nested_paths_name_the_branch() {
        let e = first_error(
            json!({"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,
            "Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass","Next":"Y"}}}]}}}),
        );
        assert_eq!(
            e,
            "$.States.P.Branches[0].States.X.Next: state \"Y\" does not exist"
        );
    }

    #[test]
    fn query_language_is_inherited() {
        let sm = parse(&json!({"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}))
            .expect("valid");
        assert_eq!(sm.states["A"].query_language, QueryLanguage::Jsonata);
    }

    #[test]
    fn unknown_field_is_rejected_with_suggestion() {
        let e = first_error(
            json!({"StartAt":"A","States":{"A":{"Type":"Task","Resouce":"x","End":true}}}),
        );
        assert!(e.starts_with("$.States.A.Resouce: field \"Resouce\" is not supported by Task states (did you mean \"Resource\"?)"), "{e}");
    }

    #[test]
    fn jsonpath_fields_rejected_in_jsonata_states() {
        let e = first_error(
            json!({"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$","End":true}}}),
        );
        assert_eq!(
            e,
            "$.States.A.InputPath: field \"InputPath\" is not supported in JSONata states"
        );
    }

    #[test]
    fn malformed_paths_and_expressions_are_rejected() {
        let e = first_error(
            json!({"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Parameters":{"x.$":"$.a["}}}}),
        );
        assert!(
            e.starts_with("$.States.A.Parameters.x.$: invalid path or intrinsic function"),
            "{e}"
        );
        let e = first_error(
            json!({"StartAt":"A","States":{"A":{"Type":"Choice","Default":"B",
            "Choices":[{"Variable":"nope","IsPresent":true,"Next":"B"}]},"B":{"Type":"Succeed"}}}),
        );
        assert!(
            e.starts_with("$.States.A.Choices[0].Variable: invalid path"),
            "{e}"
        );
        let e = first_error(
            json!({"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Output":"{% $states.input. %}"}}}),
        );
        assert!(
            e.starts_with("$.States.A.Output: INVALID_JSONATA_EXPRESSION"),
            "{e}"
        );
    }

    #[test]
    fn retry_defaults() {
        let sm = parse(
            &json!({"StartAt":"A","States":{"A":{"Type":"Task","Resource":"x","End":true,
            "Retry":[{"ErrorEquals":["States.ALL"]}]}}}),
        )
        .expect("valid");
        let r = &sm.states["A"].retry[0];
        assert_eq!(
            (r.interval_seconds, r.max_attempts, r.backoff_rate),
            (1.0, 3, 2.0)
        );
    }
}
