//! The `States.*` intrinsic functions of JSONPath-mode states (AWS Step Functions,
//! "Intrinsic functions for JSONPath states"). [`call`] parses (once per thread per text)
//! and evaluates an expression such as `States.Format('{} items', States.ArrayLength($.a))`.
//!
//! Errors: a path argument that selects nothing is `States.Runtime` worded as for any
//! `.$` field; a wrong argument (type, count, range) is `States.IntrinsicFailure`.

#![warn(missing_docs)]

pub mod functions;
mod parse;

pub use parse::{Arg, Call};

use crate::engine::jsonpath::TextMap;
use crate::engine::{template, Scope, StatesError};
use serde_json::Value;
use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    static CACHE: RefCell<TextMap<Arc<Call>>> = RefCell::new(TextMap::default());
}

/// True when `expr` is written as an intrinsic call (`States.` prefix), as AWS decides
/// whether a `.$` value is a path or a function.
pub fn is_call(expr: &str) -> bool {
    expr.trim_start().starts_with("States.")
}

/// Parses `expr` (cached per thread). Errors: `States.IntrinsicFailure` for a malformed
/// call.
pub fn compile(expr: &str) -> Result<Arc<Call>, StatesError> {
    if let Some(c) = CACHE.with(|c| c.borrow().get(expr).cloned()) {
        return Ok(c);
    }
    let call = Arc::new(parse::parse(expr)?);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 4096 {
            c.clear();
        }
        c.insert(expr.to_string(), call.clone());
    });
    Ok(call)
}

/// Parses and evaluates the intrinsic call `expr` against `scope`. `field` is the ASL
/// field being evaluated (e.g. `FunctionResult.$`), quoted in AWS's cause when a path
/// argument selects nothing. Returns the function's JSON result.
pub fn call(expr: &str, scope: &Scope, field: &str) -> Result<Value, StatesError> {
    let c = compile(expr)?;
    eval_call(&c, scope, field)
}

/// Evaluates a parsed call.
pub fn eval_call(c: &Call, scope: &Scope, field: &str) -> Result<Value, StatesError> {
    let args = c
        .args
        .iter()
        .map(|a| eval_arg(a, scope, field))
        .collect::<Result<Vec<_>, _>>()?;
    if c.name == "Format" {
        if let Some(Arg::Str { raw, .. }) = c.args.first() {
            return functions::format(raw, &args[1..]);
        }
    }
    functions::dispatch(&c.name, args)
}

fn eval_arg(a: &Arg, scope: &Scope, field: &str) -> Result<Value, StatesError> {
    match a {
        Arg::Str { value, .. } => Ok(Value::String(value.clone())),
        Arg::Literal(v) => Ok(v.clone()),
        Arg::Path(p) => template::read_in_field(p, scope, field),
        Arg::Call(c) => eval_call(c, scope, field),
    }
}

#[cfg(test)]
mod tests;
