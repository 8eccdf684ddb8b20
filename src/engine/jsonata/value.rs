//! Run-time values of the JSONata evaluator: JSON values plus `undefined`, sequences (arrays
//! that collapse to their single item) and functions, converted from and to
//! `serde_json::Value` at the edges.

use super::error::JError;
use super::parser::Lambda;
use indexmap::IndexMap;
use serde_json::{Number, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// How an array came to be (JSONata tracks this to decide flattening and collapsing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    /// A result sequence: collapses to its only item, and to undefined when empty.
    pub seq: bool,
    /// A sequence written with `[]`: keeps a single item as an array.
    pub keep: bool,
    /// Built by an array constructor `[…]`: not flattened by a path step.
    pub cons: bool,
}

/// A JSONata value.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Undef,
    Null,
    Bool(bool),
    Num(f64),
    Str(Rc<str>),
    Arr(Rc<Vec<Val>>, Flags),
    Obj(Rc<IndexMap<String, Val>>),
    Func(Rc<Func>),
    Regex(Rc<regex::Regex>),
}

/// A callable value.
#[derive(Debug)]
pub(crate) enum Func {
    /// A `function($x){…}` closed over the environment where it was defined.
    Lambda(Rc<Lambda>, Rc<Env>),
    /// A built-in function by name (without `$`).
    Native(&'static str),
    /// A partial application `$f(?, 2)`: `None` marks a placeholder.
    Partial(Val, Vec<Option<Val>>),
}

/// A scope of `:=` bindings and function parameters.
#[derive(Debug, Default)]
pub(crate) struct Env {
    vars: RefCell<HashMap<String, Val>>,
    parent: Option<Rc<Env>>,
}

impl Env {
    /// A child scope of `parent`.
    pub fn child(parent: &Rc<Env>) -> Rc<Env> {
        Rc::new(Env {
            vars: RefCell::default(),
            parent: Some(parent.clone()),
        })
    }

    /// Binds `name` here.
    pub fn bind(&self, name: &str, v: Val) {
        self.vars.borrow_mut().insert(name.to_string(), v);
    }

    /// The value of `name` in this scope or an ancestor.
    pub fn get(&self, name: &str) -> Option<Val> {
        if let Some(v) = self.vars.borrow().get(name) {
            return Some(v.clone());
        }
        self.parent.as_ref().and_then(|p| p.get(name))
    }
}

impl Val {
    pub fn str(s: &str) -> Val {
        Val::Str(Rc::from(s))
    }

    /// A result sequence of `items`.
    pub fn seq(items: Vec<Val>) -> Val {
        Val::Arr(
            Rc::new(items),
            Flags {
                seq: true,
                ..Flags::default()
            },
        )
    }

    /// A plain array (from data or a function result).
    pub fn array(items: Vec<Val>) -> Val {
        Val::Arr(Rc::new(items), Flags::default())
    }

    pub fn is_undef(&self) -> bool {
        matches!(self, Val::Undef)
    }

    /// The items when this is an array; otherwise the value as a one-item list (none when
    /// undefined), as JSONata treats every value as a sequence.
    pub fn items(&self) -> Vec<Val> {
        match self {
            Val::Undef => Vec::new(),
            Val::Arr(items, _) => items.as_ref().clone(),
            other => vec![other.clone()],
        }
    }

    /// JSONata type name (`$type`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Undef => "undefined",
            Val::Null => "null",
            Val::Bool(_) => "boolean",
            Val::Num(_) => "number",
            Val::Str(_) => "string",
            Val::Arr(..) => "array",
            Val::Obj(_) => "object",
            Val::Func(_) | Val::Regex(_) => "function",
        }
    }

    /// Converts a JSON value.
    pub fn from_json(v: &Value) -> Val {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Num(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => Val::str(s),
            Value::Array(a) => Val::array(a.iter().map(Val::from_json).collect()),
            Value::Object(o) => Val::Obj(Rc::new(
                o.iter()
                    .map(|(k, v)| (k.clone(), Val::from_json(v)))
                    .collect(),
            )),
        }
    }

    /// Converts to JSON. `Ok(None)` for undefined; undefined array items and object fields
    /// are dropped, as `JSON.stringify` does for fields.
    ///
    /// Errors: [`ToJsonError::Function`] for a function anywhere in the value,
    /// [`ToJsonError::NotFinite`] for an infinite or NaN number.
    pub fn to_json(&self) -> Result<Option<Value>, ToJsonError> {
        Ok(Some(match self {
            Val::Undef => return Ok(None),
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Num(n) => Value::Number(number(*n).ok_or(ToJsonError::NotFinite)?),
            Val::Str(s) => Value::String(s.to_string()),
            Val::Arr(items, _) => {
                let mut out = Vec::with_capacity(items.len());
                for it in items.iter() {
                    out.extend(it.to_json()?);
                }
                Value::Array(out)
            }
            Val::Obj(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map.iter() {
                    if let Some(j) = v.to_json()? {
                        out.insert(k.clone(), j);
                    }
                }
                Value::Object(out)
            }
            Val::Func(_) | Val::Regex(_) => return Err(ToJsonError::Function),
        }))
    }
}

/// Why a value has no JSON form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToJsonError {
    /// A function value.
    Function,
    /// An infinite or NaN number.
    NotFinite,
}

impl ToJsonError {
    /// The JSONata error for a value that must be JSON (e.g. inside `$string`).
    pub fn to_jerror(self) -> JError {
        match self {
            ToJsonError::Function => {
                JError::new("T0001", "Function values cannot be converted to JSON", 0)
            }
            ToJsonError::NotFinite => JError::new("D1001", "Number out of range", 0),
        }
    }
}

/// A JSON number for `n`: an integer when `n` is integral and exactly representable (so
/// `2.0` prints as `2`, as AWS outputs it), else a float; `None` when not finite.
pub(crate) fn number(n: f64) -> Option<Number> {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        // Exact: the value is integral and within 2^53.
        return Some(Number::from(n as i64));
    }
    Number::from_f64(n)
}

/// Formats a number as JavaScript does after JSONata's rounding to 15 significant digits
/// (`$string(1/3)` is `"0.333333333333333"`, `1e21` is `"1e+21"`).
pub(crate) fn format_number(n: f64) -> String {
    let rounded: f64 = format!("{n:.14e}").parse().unwrap_or(n);
    js_number(rounded)
}

/// JavaScript `Number.prototype.toString` for a finite double.
pub(crate) fn js_number(n: f64) -> String {
    if n == 0.0 {
        return "0".to_string();
    }
    let abs = n.abs();
    if (1e-6..1e21).contains(&abs) {
        return format!("{n}");
    }
    let s = format!("{n:e}");
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trip_keeps_order_and_integers() {
        let v = json!({"b": 1, "a": [1.5, "x", null, true]});
        assert_eq!(Val::from_json(&v).to_json(), Ok(Some(v)));
        assert_eq!(Val::Num(2.0).to_json(), Ok(Some(json!(2))));
        assert_eq!(Val::Num(-0.0).to_json(), Ok(Some(json!(0))));
    }

    #[test]
    fn numbers_format_like_javascript() {
        assert_eq!(format_number(1.0 / 3.0), "0.333333333333333");
        assert_eq!(format_number(1e21), "1e+21");
        assert_eq!(format_number(100.0), "100");
        assert_eq!(format_number(1e-7), "1e-7");
        assert_eq!(format_number(0.1 + 0.2), "0.3");
    }
}
