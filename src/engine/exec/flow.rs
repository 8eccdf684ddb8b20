//! The executor's adapter over the data-flow layers (JSONPath paths and templates, Choice
//! rules, JSONata). Every error is worded as AWS words it, prefixed with the state and the id
//! of its `…StateEntered` event ("An error occurred while executing the state 'X' (entered at
//! the event id #N). …").

use crate::engine::jsonpath::{self, PathError};
use crate::engine::vars::Vars;
use crate::engine::{jsonata, template, Scope, StatesError};
use serde_json::Value;

/// Where an error happened: the state and its entered event id.
#[derive(Clone, Copy)]
pub struct Site<'a> {
    /// State name.
    pub state: &'a str,
    /// Id of the state's `…StateEntered` event.
    pub entered: u64,
}

impl Site<'_> {
    /// Prefixes a data-flow error's cause with the state and its entered event id, as AWS
    /// does for `States.Runtime`, `States.QueryEvaluationError` and `States.IntrinsicFailure`.
    pub fn wrap(&self, mut e: StatesError) -> StatesError {
        let wrap = matches!(
            e.error.as_str(),
            "States.Runtime" | "States.QueryEvaluationError" | "States.IntrinsicFailure"
        );
        if wrap {
            let c = e.cause.take().unwrap_or_default();
            e.cause = Some(
                if c.starts_with("An error occurred while executing the state") {
                    c
                } else {
                    format!(
                    "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
                    self.state, self.entered, c
                )
                },
            );
        }
        e
    }
}

/// Evaluates a path (`$…`, `$$…`, `$var…`) against the scope. Definite paths that match
/// nothing are an error: `Invalid path '$.x' : No results for path: $['x']`.
pub fn query(path: &str, scope: &Scope) -> Result<Value, StatesError> {
    template::read(path, scope)
        .map_err(|e| StatesError::runtime(format!("Invalid path '{path}' : {e}")))
}

/// Evaluates a JSONPath-mode payload template (`Parameters`, `ResultSelector`,
/// `ItemSelector`): keys ending in `.$` are paths or intrinsic functions.
pub fn template(t: &Value, scope: &Scope, field: &str) -> Result<Value, StatesError> {
    template::evaluate_template(t, scope, field)
}

/// Evaluates a JSONPath-mode `Assign` object: returns the bindings to apply after the state.
pub fn assign(t: &Value, scope: &Scope) -> Result<Vec<(String, Value)>, StatesError> {
    template::assign(t, scope).map(|m| m.into_iter().collect())
}

/// Evaluates a Choice rule (JSONPath mode).
pub fn choice(rule: &Value, scope: &Scope) -> Result<bool, StatesError> {
    crate::engine::choice::evaluate_rule(rule, scope)
}

/// Evaluates a JSONata-mode template (strings `{% expr %}` are expressions) for `field`.
pub fn jsonata_template(
    t: &Value,
    states: &Value,
    vars: &Vars,
    field: &str,
) -> Result<Value, StatesError> {
    jsonata::evaluate_template(t, states, vars, field)
}

/// Evaluates a JSONata `Assign` object into bindings (fields named `Assign/<name>`).
pub fn jsonata_assign(
    t: &Value,
    states: &Value,
    vars: &Vars,
) -> Result<Vec<(String, Value)>, StatesError> {
    match jsonata::evaluate_template(t, states, vars, "Assign")? {
        Value::Object(o) => Ok(o.into_iter().collect()),
        _ => Ok(vec![]),
    }
}

/// Evaluates a path-or-intrinsic field (`ErrorPath`, `CausePath`, …); a path that matches
/// nothing is a `States.Runtime` error naming the field.
pub fn dynamic(expr: &str, scope: &Scope, field: &str) -> Result<Value, StatesError> {
    template::evaluate_dynamic(expr, scope, field)
}

/// `ResultPath`: writes `value` at `path` inside `target`, creating objects on the way.
pub fn set(target: Value, path: &str, value: Value) -> Result<Value, StatesError> {
    jsonpath::set(target, path, value).map_err(|e| match e {
        PathError::CannotSet(m) => StatesError::runtime(m),
        other => StatesError::runtime(format!("Invalid path '{path}' : {other}")),
    })
}

/// The expression text inside `{% … %}` (or the JSON text of a non-string).
pub fn expr_text(v: &Value) -> String {
    match v.as_str() {
        Some(s) => s
            .trim()
            .trim_start_matches("{%")
            .trim_end_matches("%}")
            .trim()
            .to_string(),
        None => v.to_string(),
    }
}

/// JSON type name as AWS words it in causes: `number`, `string`, `boolean`, `object`,
/// `array`, `null`.
pub fn type_name(v: &Value) -> &'static str {
    jsonata::json_type(v)
}
