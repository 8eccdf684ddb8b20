//! JSONata-mode expressions (`QueryLanguage: "JSONata"`): `{% … %}` strings in `Arguments`,
//! `Output`, `Assign`, `Condition`, `Items`, `TimeoutSeconds`, … evaluated with `$states`
//! (`input`, `result`, `errorOutput`, `context`) and the workflow variables bound.
//!
//! Our own JSONata 2.x implementation (lexer → Pratt parser → evaluator over run-time values
//! converted from `serde_json::Value` with key order kept), plus the functions AWS adds
//! (`$partition`, `$range`, `$hash`, `$random`, `$uuid`, `$parse`). The crate `jsonata-rs`
//! was evaluated and not used: unordered objects, input passed as text and re-parsed on every
//! evaluation, arena-bound parsed expressions that cannot be cached, callbacks limited to plain
//! `fn` pointers.
//!
//! Errors are `States.QueryEvaluationError` whose cause is AWS's sentence about the
//! expression, e.g. `The JSONata expression '$x' specified for the field 'Output' returned
//! nothing (undefined).`; the executor prefixes the state sentence (`An error occurred while
//! executing the state 'S' (entered at the event id #N). `).
//!
//! Use from the executor: `Arguments`, `Output`, `Assign`, `ItemSelector`, `Items` (and a
//! literal `Condition: true`) go through [`evaluate_template`] with the field name (`Output`,
//! `Assign`, `Choices[0]/Condition`, …); then check types (e.g. `Items` must be an array:
//! [`unexpected_type`]). Single-expression fields (`TimeoutSeconds`, `Seconds`, `Timestamp`)
//! can use [`evaluate_field`] on [`expression_text`]. [`validate`] serves definition-time
//! checks. `$random()`/`$uuid()` are deterministic after [`set_random_seed`], `$now()` and
//! `$millis()` follow [`set_clock_millis`] (both per thread).
//!
//! Parsed expressions are cached per thread (keyed by the expression text), so a Map state
//! evaluating one expression per item parses it once.
//!
//! Supported: literals, paths with predicates (`a[0]`, `a[-1]`, `a[b > 1]`, `a[]`), wildcards
//! `*` and `**`, array constructors and ranges `[1..5]`, object constructors `{k: v}` and
//! grouping `a{k: v}`, order-by `a^(>k)`, arithmetic, `&`, comparisons, `in`, `and`/`or`,
//! `? :`, `?:`, `??`, blocks `( ; )` with `:=`, `function($x){…}` (signatures skipped),
//! partial application `$f(?, 1)`, `~>`, regex literals `/re/im`; functions `$string`
//! `$length` `$substring` `$substringBefore` `$substringAfter` `$uppercase` `$lowercase`
//! `$trim` `$pad` `$contains` `$split` `$join` `$replace` `$match` `$base64encode`
//! `$base64decode` `$number` `$abs` `$floor` `$ceil` `$round` `$power` `$sqrt` `$sum` `$max`
//! `$min` `$average` `$count` `$boolean` `$not` `$exists` `$append` `$reverse` `$sort`
//! `$distinct` `$zip` `$keys` `$lookup` `$spread` `$merge` `$each` `$sift` `$error` `$assert`
//! `$type` `$map` `$filter` `$reduce` `$single` `$shuffle` (identity) `$now` `$millis`
//! `$fromMillis` `$toMillis` (ISO 8601 only), `$formatNumber` (no exponents), `$formatBase`,
//! `$encodeUrl` `$encodeUrlComponent` `$decodeUrl` `$decodeUrlComponent` `$clone`, and AWS's
//! six.
//!
//! Not supported (a call is `T1006`, syntax is `S02xx`): the parent operator `%`, focus and
//! index bindings `@`/`#`, the transform `|…|…|`, `$formatInteger`, `$parseInteger`,
//! `$eval` (AWS disables it too), date picture strings, function-valued `$replace` replacements,
//! signature checking; integers beyond 2^53 lose precision (numbers are doubles).

mod aws;
mod error;
mod eval;
mod format;
mod functions;
mod lexer;
mod parser;
mod value;

pub use aws::{set_clock_millis, set_random_seed};
pub use error::JError;

use crate::engine::vars::Vars;
use crate::engine::StatesError;
use parser::Node;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use value::{Env, ToJsonError, Val};

/// Most distinct expressions kept parsed per thread; the cache is emptied when full.
const CACHE_LIMIT: usize = 1024;

thread_local! {
    static CACHE: RefCell<HashMap<String, Rc<Node>>> = RefCell::new(HashMap::new());
}

/// True when `s` is a JSONata expression string: it starts with `{%` and ends with `%}`
/// (no surrounding spaces: AWS treats `" {% x %} "` as a literal string).
pub fn is_expression(s: &str) -> bool {
    s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}")
}

/// The expression inside `{% … %}`, trimmed (as AWS quotes it in causes); `s` itself when it
/// is not an expression string.
pub fn expression_text(s: &str) -> &str {
    if is_expression(s) {
        s[2..s.len() - 2].trim()
    } else {
        s
    }
}

/// How an evaluation went wrong, before it is worded for a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The expression raised a JSONata error (syntax or evaluation).
    Error(JError),
    /// The result is a function (or contains one): not a JSON value.
    Unsupported,
}

impl Failure {
    /// The AWS-worded `States.QueryEvaluationError` for expression text `expr` (without
    /// `{% %}`) in ASL field `field` (`Output`, `Output/result`, `Items`, `Assign/x`).
    pub fn into_states_error(self, expr: &str, field: &str) -> StatesError {
        let head = format!("The JSONata expression '{expr}' specified for the field '{field}'");
        StatesError::query_evaluation(match self {
            Failure::Error(e) => format!(
                "{head} threw an error during evaluation. {}: {}",
                e.code, e.message
            ),
            Failure::Unsupported => format!("{head} returned an unsupported result type."),
        })
    }
}

/// Evaluates expression text `expr` (the text inside `{% … %}`) with `$states` bound to
/// `states` (an object with `input`, `context`, and where the state has them `result`,
/// `errorOutput`) and `$name` to the variables in `vars`.
///
/// Returns `Ok(None)` when the result is undefined (JSONata's "no value": a missing field, an
/// unbound variable), which most fields treat as an error (see [`evaluate_template`]).
///
/// Errors: [`Failure::Error`] for a JSONata error, [`Failure::Unsupported`] for a function
/// result; word them with [`Failure::into_states_error`].
pub fn evaluate(expr: &str, states: &Value, vars: &Vars) -> Result<Option<Value>, Failure> {
    let node = parsed(expr).map_err(Failure::Error)?;
    let ev = eval::Evaluator::new(states, vars);
    let env = Rc::new(Env::default());
    let v = ev.eval(&node, &Val::Undef, &env).map_err(Failure::Error)?;
    v.to_json().map_err(|e| match e {
        ToJsonError::Function => Failure::Unsupported,
        ToJsonError::NotFinite => Failure::Error(e.to_jerror()),
    })
}

/// [`evaluate`], with failures and an undefined result worded as AWS words them for `field`.
///
/// Errors: `States.QueryEvaluationError` with cause `The JSONata expression '<expr>' specified
/// for the field '<field>' returned nothing (undefined).`, `… returned an unsupported result
/// type.` or `… threw an error during evaluation. <code>: <message>`.
pub fn evaluate_field(
    expr: &str,
    states: &Value,
    vars: &Vars,
    field: &str,
) -> Result<Value, StatesError> {
    match evaluate(expr, states, vars) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(StatesError::query_evaluation(format!(
            "The JSONata expression '{expr}' specified for the field '{field}' returned nothing (undefined)."
        ))),
        Err(f) => Err(f.into_states_error(expr, field)),
    }
}

/// Evaluates a JSONata-mode template: a `"{% … %}"` string is an expression; other strings,
/// numbers, booleans and null are literals; objects and arrays are evaluated member by member
/// (keys are never evaluated). `field` names the ASL field (`Output`, `Arguments`, `Items`);
/// members extend it as AWS does: `Output/result` for key `result`, `Items[1]` for index 1.
///
/// Errors: as [`evaluate_field`], for the first member that fails.
pub fn evaluate_template(
    template: &Value,
    states: &Value,
    vars: &Vars,
    field: &str,
) -> Result<Value, StatesError> {
    match template {
        Value::String(s) if is_expression(s) => {
            evaluate_field(expression_text(s), states, vars, field)
        }
        Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, v) in map {
                out.insert(
                    k.clone(),
                    evaluate_template(v, states, vars, &format!("{field}/{k}"))?,
                );
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.iter().enumerate() {
                out.push(evaluate_template(
                    v,
                    states,
                    vars,
                    &format!("{field}[{i}]"),
                )?);
            }
            Ok(Value::Array(out))
        }
        other => Ok(other.clone()),
    }
}

/// The cause AWS gives when a field's expression returns a value of the wrong type, e.g. for
/// `Items`: `The JSONata expression '$x' specified for the field 'Items' returned an
/// unexpected result type. Expected 'array', but was 'string' for value: "s"`.
pub fn unexpected_type(expr: &str, field: &str, expected: &str, value: &Value) -> StatesError {
    StatesError::query_evaluation(format!(
        "The JSONata expression '{expr}' specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {value}",
        json_type(value)
    ))
}

/// The JSON type name AWS uses in causes: `null`, `boolean`, `number`, `string`, `array`,
/// `object`.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks expression text `expr` as AWS does when a state machine is created: it must parse
/// (`INVALID_JSONATA_EXPRESSION`), and it must not read the top-level context, which AWS leaves
/// empty: a path starting with a field name (`phone` rather than `$states.input.phone`) or `$$`
/// (`UNSUPPORTED_JSONATA_EXPRESSION`). Names in later path steps, predicates, sort terms and
/// grouping bodies are fine; lambda bodies and object constructors see the top-level context.
///
/// Errors: the message AWS puts after the location, e.g. `UNSUPPORTED_JSONATA_EXPRESSION:
/// Reference to 'phone' at the top level is not supported.` (wording as reported by
/// emulators measured against AWS; not in our corpus).
pub fn validate(expr: &str) -> Result<(), String> {
    let node =
        parser::parse(expr).map_err(|e| format!("INVALID_JSONATA_EXPRESSION: {}", e.message))?;
    match parser::top_level_reference(&node) {
        None => Ok(()),
        Some(name) if name == "$$" => Err("UNSUPPORTED_JSONATA_EXPRESSION: Reference to '$$' is not supported.".into()),
        Some(name) => Err(format!(
            "UNSUPPORTED_JSONATA_EXPRESSION: Reference to '{name}' at the top level is not supported."
        )),
    }
}

/// The parsed form of `expr`, from the thread's cache or freshly parsed.
fn parsed(expr: &str) -> Result<Rc<Node>, JError> {
    if let Some(n) = CACHE.with(|c| c.borrow().get(expr).cloned()) {
        return Ok(n);
    }
    let node = Rc::new(parser::parse(expr)?);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_LIMIT {
            c.clear();
        }
        c.insert(expr.to_string(), node.clone());
    });
    Ok(node)
}

#[cfg(test)]
mod tests;
