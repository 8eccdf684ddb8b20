//! The executor's adapter over the data-flow layers (JSONPath paths and templates, Choice
//! rules, JSONata). Every error is worded as AWS words it, prefixed with the state and the id
//! of its `…StateEntered` event ("An error occurred while executing the state 'X' (entered at
//! the event id #N). …").
//!
//! Until the data-flow branches are merged this holds small stand-ins (definite dotted paths,
//! `.$` keys, basic comparison rules).

use crate::engine::vars::Vars;
use crate::engine::{Scope, StatesError};
use serde_json::{Map, Value};

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
/// nothing are an error.
pub fn query(path: &str, scope: &Scope) -> Result<Value, StatesError> {
    standin_query(path, scope).ok_or_else(|| {
        StatesError::runtime(format!(
            "Invalid path '{path}' : No results for path: {path}"
        ))
    })
}

/// Evaluates a JSONPath-mode payload template (`Parameters`, `ResultSelector`,
/// `ItemSelector`): keys ending in `.$` are paths or intrinsic functions.
pub fn template(t: &Value, scope: &Scope) -> Result<Value, StatesError> {
    match t {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                if let Some(key) = k.strip_suffix(".$") {
                    let Some(expr) = v.as_str() else {
                        return Err(StatesError::runtime(format!(
                            "The value for the field '{k}' must be a string"
                        )));
                    };
                    let val = standin_query(expr, scope).ok_or_else(|| {
                        StatesError::runtime(format!(
                            "The JSONPath '{expr}' specified for the field '{k}' could not be found in the input '{}'",
                            scope.input
                        ))
                    })?;
                    out.insert(key.to_string(), val);
                } else {
                    out.insert(k.clone(), template(v, scope)?);
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(a) => a
            .iter()
            .map(|v| template(v, scope))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// Evaluates a JSONPath-mode `Assign` object: returns the bindings to apply after the state.
pub fn assign(t: &Value, scope: &Scope) -> Result<Vec<(String, Value)>, StatesError> {
    match template(t, scope)? {
        Value::Object(o) => Ok(o.into_iter().collect()),
        _ => Ok(vec![]),
    }
}

/// Evaluates a Choice rule (JSONPath mode).
pub fn choice(rule: &Value, scope: &Scope) -> Result<bool, StatesError> {
    let Some(o) = rule.as_object() else {
        return Ok(false);
    };
    if let Some(Value::Array(rs)) = o.get("And") {
        for r in rs {
            if !choice(r, scope)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(Value::Array(rs)) = o.get("Or") {
        for r in rs {
            if choice(r, scope)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if let Some(r) = o.get("Not") {
        return Ok(!choice(r, scope)?);
    }
    let var = o.get("Variable").and_then(Value::as_str).unwrap_or("$");
    let val = standin_query(var, scope);
    for (k, expect) in o {
        let r = match (k.as_str(), &val) {
            ("IsPresent", v) => Some(v.is_some() == expect.as_bool().unwrap_or(false)),
            (_, None) => Some(false),
            ("StringEquals", Some(v)) => Some(v.is_string() && v == expect),
            ("NumericEquals", Some(v)) => {
                Some(v.as_f64().is_some() && v.as_f64() == expect.as_f64())
            }
            ("BooleanEquals", Some(v)) => Some(v.is_boolean() && v == expect),
            ("IsNull", Some(v)) => Some(v.is_null() == expect.as_bool().unwrap_or(false)),
            _ => None,
        };
        if let Some(r) = r {
            return Ok(r);
        }
    }
    Ok(false)
}

/// Evaluates a JSONata-mode template (strings `{% expr %}` are expressions).
pub fn jsonata_template(
    t: &Value,
    states: &Value,
    vars: &Vars,
    field: &str,
) -> Result<Value, StatesError> {
    let _ = (states, vars);
    if contains_jsonata(t) {
        return Err(StatesError::query_evaluation(format!(
            "JSONata is not available yet (field '{field}')"
        )));
    }
    Ok(t.clone())
}

/// Evaluates a JSONata `Assign` object into bindings.
pub fn jsonata_assign(
    t: &Value,
    states: &Value,
    vars: &Vars,
) -> Result<Vec<(String, Value)>, StatesError> {
    match jsonata_template(t, states, vars, "Assign")? {
        Value::Object(o) => Ok(o.into_iter().collect()),
        _ => Ok(vec![]),
    }
}

/// True when a JSONata template string is an expression (`{% … %}`).
pub fn is_jsonata_expr(s: &str) -> bool {
    let t = s.trim();
    t.starts_with("{%") && t.ends_with("%}")
}

fn contains_jsonata(v: &Value) -> bool {
    match v {
        Value::String(s) => is_jsonata_expr(s),
        Value::Array(a) => a.iter().any(contains_jsonata),
        Value::Object(o) => o.values().any(contains_jsonata),
        _ => false,
    }
}

fn standin_query(path: &str, scope: &Scope) -> Option<Value> {
    let (root, rest) = if let Some(r) = path.strip_prefix("$$") {
        (scope.context, r)
    } else if let Some(r) = path.strip_prefix('$') {
        if r.is_empty() || r.starts_with('.') || r.starts_with('[') {
            (scope.input, r)
        } else {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            return walk(scope.vars.get(&r[..end])?, &r[end..]).cloned();
        }
    } else {
        return None;
    };
    walk(root, rest).cloned()
}

fn walk<'v>(mut v: &'v Value, mut rest: &str) -> Option<&'v Value> {
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            v = v.get(&r[..end])?;
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            v = match inner.parse::<usize>() {
                Ok(i) => v.get(i)?,
                Err(_) => v.get(inner.trim_matches('\''))?,
            };
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(v)
}

/// Evaluates a path-or-intrinsic field (`ErrorPath`, `CausePath`, …); a path that matches
/// nothing is a `States.Runtime` error naming the field.
pub fn dynamic(expr: &str, scope: &Scope, field: &str) -> Result<Value, StatesError> {
    standin_query(expr, scope).ok_or_else(|| {
        StatesError::runtime(format!(
            "The JSONPath '{expr}' specified for the field '{field}' could not be found in the input '{}'",
            scope.input
        ))
    })
}

/// `ResultPath`: writes `value` at `path` inside `target`, creating objects on the way.
pub fn set(target: Value, path: &str, value: Value) -> Result<Value, StatesError> {
    let Some(rest) = path.strip_prefix('$') else {
        return Err(StatesError::runtime(format!("Invalid ResultPath '{path}'")));
    };
    if rest.is_empty() {
        return Ok(value);
    }
    let keys: Vec<&str> = rest.trim_start_matches('.').split('.').collect();
    let mut root = if target.is_object() {
        target
    } else {
        Value::Object(Map::new())
    };
    let mut cur = &mut root;
    for (i, k) in keys.iter().enumerate() {
        let Some(obj) = cur.as_object_mut() else {
            return Err(StatesError::runtime(format!(
                "Unable to apply ResultPath '{path}'"
            )));
        };
        if i + 1 == keys.len() {
            obj.insert((*k).to_string(), value);
            break;
        }
        cur = obj
            .entry((*k).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(root)
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
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
