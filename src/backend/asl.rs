//! Amazon States Language (ASL) output: serde structs for the subset of ASL that flowc
//! emits (JSONPath query language only), serialised with fields in a fixed order and `None`
//! fields skipped, so that the same plan always gives byte-identical JSON.
//!
//! Field names follow the current ASL specification (`ItemProcessor`, `ItemSelector`, not the
//! deprecated `Iterator` / `Parameters` on Map). Payload templates (`Parameters`,
//! `ResultSelector`, `ItemSelector`) are plain JSON values whose keys ending in `.$` hold a
//! path or an intrinsic function call.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

/// A state machine definition (the top level) or a Parallel branch / Map `ItemProcessor`
/// (which add nothing but `ProcessorConfig`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateMachine {
    /// Human-readable description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Name of the first state.
    pub start_at: String,
    /// The states, in emission order (topological from `StartAt`).
    pub states: IndexMap<String, State>,
}

/// A Map state's `ItemProcessor`: a nested state machine plus its processor mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemProcessor {
    /// INLINE or DISTRIBUTED (+ execution type).
    pub processor_config: ProcessorConfig,
    /// Name of the first state of one iteration.
    pub start_at: String,
    /// The states of one iteration.
    pub states: IndexMap<String, State>,
}

/// `ProcessorConfig` of a Map state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessorConfig {
    /// `"INLINE"` or `"DISTRIBUTED"`.
    pub mode: String,
    /// `"STANDARD"` for a distributed Map (child executions are Standard workflows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_type: Option<String>,
}

/// Where a state goes next: `Next` or `End: true` (flattened into the state).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Transition {
    /// `"Next": NAME`.
    Next(String),
    /// `"End": true`.
    End(bool),
}

impl Transition {
    /// `End: true`.
    pub fn end() -> Self {
        Transition::End(true)
    }
}

/// One state. Serialised with `"Type"` first, then the variant's fields in declaration order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "Type")]
#[allow(clippy::large_enum_variant)] // built once per compile and serialised; boxing buys nothing
pub enum State {
    /// A Task state.
    Task(Task),
    /// A Pass state.
    Pass(Pass),
    /// A Choice state.
    Choice(Choice),
    /// A Parallel state.
    Parallel(Parallel),
    /// A Map state.
    Map(Map),
    /// A Fail state.
    Fail(Fail),
}

impl State {
    /// The nested state machines of a Parallel (its branches) or Map (its item processor),
    /// as `(StartAt, States)` pairs; empty for other kinds.
    pub fn children(&self) -> Vec<&IndexMap<String, State>> {
        match self {
            State::Parallel(p) => p.branches.iter().map(|b| &b.states).collect(),
            State::Map(m) => vec![&m.item_processor.states],
            _ => vec![],
        }
    }
}

/// A Task state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Integration ARN, e.g. `arn:aws:states:::batch:submitJob.sync`.
    pub resource: String,
    /// Payload template of the API call.
    pub parameters: Value,
    /// Payload template applied to the result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Value>,
    /// Where the result goes; `Value::Null` discards it (output = input).
    pub result_path: Value,
    /// Limit in seconds on the whole Task (ASL `TimeoutSeconds`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// Retriers, evaluated in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    /// Catchers, evaluated in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    /// Next state or end.
    #[serde(flatten, with = "transition")]
    pub transition: Transition,
}

/// A Pass state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Pass {
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Payload template producing the output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// A literal result (not interpreted: keys ending in `.$` stay literal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Where the result goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_path: Option<Value>,
    /// Next state or end.
    #[serde(flatten, with = "transition")]
    pub transition: Transition,
}

/// A Choice state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Choice {
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Choice rules (JSON objects with `Variable`, a comparison and `Next`), in order.
    pub choices: Vec<Value>,
    /// State taken when no rule matches.
    pub default: String,
}

/// A Parallel state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parallel {
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// One state machine per branch.
    pub branches: Vec<StateMachine>,
    /// Where the branch outputs go (`Value::Null`: discarded).
    pub result_path: Value,
    /// Next state or end.
    #[serde(flatten, with = "transition")]
    pub transition: Transition,
}

/// A Map state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Map {
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Reads the items from S3 (distributed Map).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_reader: Option<Value>,
    /// Path of the items array in the input (inline Map).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_path: Option<String>,
    /// Payload template giving each iteration's input.
    pub item_selector: Value,
    /// The iteration's state machine and mode.
    pub item_processor: ItemProcessor,
    /// Iterations running at once (0: no limit).
    pub max_concurrency: u32,
    /// Human-readable label of the Map Run (distributed only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Writes the iteration results to S3 (distributed only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_writer: Option<Value>,
    /// Payload template applied to the array of iteration results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Value>,
    /// Where the (selected) result goes.
    pub result_path: Value,
    /// Next state or end.
    #[serde(flatten, with = "transition")]
    pub transition: Transition,
}

/// A Fail state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Fail {
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Error name.
    pub error: String,
    /// Literal cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Cause computed at run time (a path or `States.Format(...)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause_path: Option<String>,
}

/// One entry of a `Retry` array.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Retrier {
    /// Error names matched.
    pub error_equals: Vec<String>,
    /// Wait before the first retry, seconds (≥ 1).
    pub interval_seconds: u64,
    /// Retries after the first attempt.
    pub max_attempts: u32,
    /// Multiplier of the wait after each retry (≥ 1.0).
    pub backoff_rate: f64,
    /// Cap on one wait, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_delay_seconds: Option<u64>,
    /// `"FULL"` for full jitter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_strategy: Option<String>,
}

/// One entry of a `Catch` array.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Catcher {
    /// Error names matched.
    pub error_equals: Vec<String>,
    /// Where the error object `{"Error", "Cause"}` goes.
    pub result_path: Value,
    /// State taken.
    pub next: String,
}

/// Serialises [`Transition`] as a flattened `"Next": …` or `"End": true` field.
mod transition {
    use super::Transition;
    use serde::ser::SerializeMap;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Transition, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match t {
            Transition::Next(n) => map.serialize_entry("Next", n)?,
            Transition::End(e) => map.serialize_entry("End", e)?,
        }
        map.end()
    }
}

/// The definition as pretty-printed JSON (two-space indent) with a trailing newline.
pub fn to_pretty(machine: &StateMachine) -> String {
    let mut text = serde_json::to_string_pretty(machine).unwrap_or_default();
    text.push('\n');
    text
}

/// The definition as a JSON value.
pub fn to_value(machine: &StateMachine) -> Value {
    serde_json::to_value(machine).unwrap_or(Value::Null)
}

/// Quotes `text` as a string literal inside an ASL intrinsic function call: wraps
/// [`intrinsic_escape`]`(text)` in single quotes.
pub fn intrinsic_string(text: &str) -> String {
    format!("'{}'", intrinsic_escape(text))
}

/// Escapes `'`, `{`, `}` and `\` with a backslash (ASL specification, "Intrinsic functions":
/// these four characters are reserved in string literals), so that `text` stays literal inside
/// a quoted argument or a `States.Format` template.
pub fn intrinsic_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\'' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn intrinsic_string_escapes_reserved_characters() {
        assert_eq!(intrinsic_string("a'b{c}d\\e"), r"'a\'b\{c\}d\\e'");
        assert_eq!(intrinsic_string("plain"), "'plain'");
    }

    #[test]
    fn state_serialises_type_first_and_skips_none() {
        let pass = State::Pass(Pass {
            comment: None,
            parameters: None,
            result: Some(json!({"a": 1})),
            result_path: Some(json!("$.d")),
            transition: Transition::Next("x".into()),
        });
        let text = serde_json::to_string(&pass).unwrap();
        assert_eq!(
            text,
            r#"{"Type":"Pass","Result":{"a":1},"ResultPath":"$.d","Next":"x"}"#
        );
    }

    #[test]
    fn end_transition_and_null_result_path() {
        let map = State::Fail(Fail {
            comment: None,
            error: "E".into(),
            cause: None,
            cause_path: Some("$.c".into()),
        });
        assert_eq!(
            serde_json::to_string(&map).unwrap(),
            r#"{"Type":"Fail","Error":"E","CausePath":"$.c"}"#
        );
        let par = State::Parallel(Parallel {
            comment: None,
            branches: vec![],
            result_path: Value::Null,
            transition: Transition::end(),
        });
        assert_eq!(
            serde_json::to_string(&par).unwrap(),
            r#"{"Type":"Parallel","Branches":[],"ResultPath":null,"End":true}"#
        );
    }
}
