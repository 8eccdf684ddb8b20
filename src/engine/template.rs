//! JSONPath-mode payload templates and the five I/O fields (AWS Step Functions,
//! "Processing input and output in Step Functions"; "Passing data between states with
//! variables").
//!
//! - A payload template (`Parameters`, `ResultSelector`, `ItemSelector`, a Task's
//!   `Parameters`, JSONPath-mode `Assign`) is JSON whose keys ending in `.$` are evaluated:
//!   `$…` reads the state input, `$$…` the context object, `$name…` a variable, and
//!   `States.Fn(…)` calls an intrinsic. Other values are copied literally.
//! - `InputPath`, `ResultPath`, `OutputPath` apply as [`input_path`], [`result_path`],
//!   [`output_path`].
//!
//! Every cause returned here is the part AWS writes *after* the prefix
//! `An error occurred while executing the state '<name>' (entered at the event id #<n>). `,
//! which the executor adds because it knows the state and the history.

#![warn(missing_docs)]

use crate::engine::jsonpath::{self, PathError};
use crate::engine::{intrinsics, Scope, StatesError};
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Reads a reference: `$…` from `scope.input`, `$$…` from `scope.context`, `$name…` from
/// the variable `name` (letters, digits, `_`). Errors: [`PathError::NotFound`] when
/// nothing is selected (or the variable is unbound), [`PathError::Invalid`] for bad syntax.
pub fn read(expr: &str, scope: &Scope) -> Result<Value, PathError> {
    read_cow(expr, scope).map(Cow::into_owned)
}

/// Like [`read`], borrowing from the scope when the path is definite.
pub fn read_cow<'a>(expr: &str, scope: &Scope<'a>) -> Result<Cow<'a, Value>, PathError> {
    if let Some(ctx_path) = expr.strip_prefix('$').filter(|r| r.starts_with('$')) {
        return jsonpath::compile(ctx_path)?.query_cow(scope.context);
    }
    match variable_split(expr) {
        None => jsonpath::compile(expr)?.query_cow(scope.input),
        Some((name, rest)) => {
            let vars: &'a crate::engine::vars::Vars = scope.vars;
            let value = vars.get(name).ok_or_else(|| {
                PathError::NotFound(format!("The variable '${name}' is not defined"))
            })?;
            if rest.is_empty() {
                Ok(Cow::Borrowed(value))
            } else {
                jsonpath::compile(&format!("${rest}"))?.query_cow(value)
            }
        }
    }
}

/// Splits `$name.rest` into `("name", ".rest")`; `None` for `$`, `$.x`, `$[0]`.
pub fn variable_split(expr: &str) -> Option<(&str, &str)> {
    let body = expr.strip_prefix('$')?;
    let end = body
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    (end > 0).then(|| (&body[..end], &body[end..]))
}

/// Evaluates one dynamic value (the string under a `.$` key, or a `…Path` field value):
/// an intrinsic call or a reference. `field` is the key as written (e.g. `value.$`) and is
/// quoted in the cause when the reference selects nothing:
/// `The JSONPath '$.x' specified for the field 'value.$' could not be found in the input '{…}'`
/// (`States.Runtime`). A `$…` path on a `null` input fails with AWS's
/// `Unable to apply Path transformation to null or empty input.`
pub fn evaluate_dynamic(expr: &str, scope: &Scope, field: &str) -> Result<Value, StatesError> {
    if intrinsics::is_call(expr) {
        return intrinsics::call(expr, scope, field);
    }
    if scope.input.is_null() && reads_input(expr) {
        // AWS Step Functions, observed: a `$…` path on a null state input.
        return Err(StatesError::runtime(
            "Unable to apply Path transformation to null or empty input.",
        ));
    }
    read(expr, scope).map_err(|e| match e {
        PathError::NotFound(_) => StatesError::runtime(format!(
            "The JSONPath '{expr}' specified for the field '{field}' could not be found in the input '{}'",
            scope.input
        )),
        other => StatesError::runtime(format!("Invalid path '{expr}' : {other}")),
    })
}

/// True for a path on the state input (`$`, `$.x`, `$[0]`), false for `$$…` and `$name…`.
fn reads_input(expr: &str) -> bool {
    expr.starts_with('$') && !expr.starts_with("$$") && variable_split(expr).is_none()
}

/// Same as [`evaluate_dynamic`]; the name intrinsic arguments use.
pub fn read_in_field(expr: &str, scope: &Scope, field: &str) -> Result<Value, StatesError> {
    evaluate_dynamic(expr, scope, field)
}

/// Evaluates a payload template: keys ending in `.$` lose the suffix and take the value of
/// their expression (see [`evaluate_dynamic`]); nested objects and arrays are walked;
/// everything else is literal. `field` is the ASL field (`Parameters`, `ResultSelector`,
/// `ItemSelector`, …), used when a `.$` key holds a non-string.
pub fn evaluate_template(
    template: &Value,
    scope: &Scope,
    field: &str,
) -> Result<Value, StatesError> {
    match template {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                let (key, value) = entry(k, v, scope, field)?;
                out.insert(key, value);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|v| evaluate_template(v, scope, field))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

fn entry(k: &str, v: &Value, scope: &Scope, field: &str) -> Result<(String, Value), StatesError> {
    match k.strip_suffix(".$") {
        Some(key) => match v {
            Value::String(expr) => Ok((key.to_string(), evaluate_dynamic(expr, scope, k)?)),
            other => Err(StatesError::runtime(format!(
                "The value of the field '{k}' in '{field}' must be a string holding a path or an intrinsic function, got {other}"
            ))),
        },
        None => Ok((k.to_string(), evaluate_template(v, scope, field)?)),
    }
}

/// JSONPath-mode `Assign`: evaluates the object like a payload template and returns the
/// variables to bind, name → value, in written order (`x.$` binds `x`). All expressions
/// read the scope the caller passes (the state's input/result and the variables as they
/// were before the state: a state's own assignments take effect after it).
pub fn assign(assign: &Value, scope: &Scope) -> Result<IndexMap<String, Value>, StatesError> {
    let Value::Object(map) = assign else {
        return Err(StatesError::runtime(format!(
            "The field 'Assign' must be an object, got {assign}"
        )));
    };
    let mut out = IndexMap::with_capacity(map.len());
    for (k, v) in map {
        let (name, value) = entry(k, v, scope, "Assign")?;
        out.insert(name, value);
    }
    Ok(out)
}

fn path_text<'a>(field: &str, path: &'a Value) -> Result<&'a str, StatesError> {
    path.as_str().ok_or_else(|| {
        StatesError::runtime(format!(
            "The field '{field}' must be a string or null, got {path}"
        ))
    })
}

fn invalid_path(path: &str, e: PathError) -> StatesError {
    StatesError::runtime(format!("Invalid path '{path}' : {e}"))
}

/// `InputPath`: absent → the raw input; `null` → `{}`; a path → what it selects from
/// `raw_input` (context and variables come from `scope`). Errors (`States.Runtime`):
/// `Invalid path '$.x' : No results for path: $['x']`.
pub fn input_path(
    path: Option<&Value>,
    raw_input: &Value,
    scope: &Scope,
) -> Result<Value, StatesError> {
    select_path("InputPath", path, raw_input, scope)
}

/// `OutputPath`: absent → `value`; `null` → `{}`; a path → what it selects from `value`.
/// Errors as [`input_path`].
pub fn output_path(
    path: Option<&Value>,
    value: &Value,
    scope: &Scope,
) -> Result<Value, StatesError> {
    select_path("OutputPath", path, value, scope)
}

fn select_path(
    field: &str,
    path: Option<&Value>,
    value: &Value,
    scope: &Scope,
) -> Result<Value, StatesError> {
    match path {
        None => Ok(value.clone()),
        Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(p) => {
            let p = path_text(field, p)?;
            let inner = Scope {
                input: value,
                ..*scope
            };
            read(p, &inner).map_err(|e| invalid_path(p, e))
        }
    }
}

/// `ResultPath`: absent → `result`; `null` → `raw_input` (the state input before
/// `InputPath`); `$` → `result`; otherwise `result` placed into a copy of `raw_input` at
/// the path, creating missing objects. Errors (`States.Runtime`): a step through a
/// non-object, e.g. `Unable to apply step "b" to input "text"`.
pub fn result_path(
    path: Option<&Value>,
    raw_input: &Value,
    result: Value,
) -> Result<Value, StatesError> {
    match path {
        None => Ok(result),
        Some(Value::Null) => Ok(raw_input.clone()),
        Some(p) => {
            let p = path_text("ResultPath", p)?;
            jsonpath::set(raw_input.clone(), p, result).map_err(|e| match e {
                PathError::CannotSet(m) => StatesError::runtime(m),
                other => invalid_path(p, other),
            })
        }
    }
}

#[cfg(test)]
mod tests;
