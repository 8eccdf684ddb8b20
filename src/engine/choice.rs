//! JSONPath-mode Choice rules (AWS Step Functions, "Choice workflow state"): a rule is
//! `And` / `Or` / `Not` over rules, or a `Variable` with exactly one comparison operator.
//!
//! AWS behaviour kept here: a comparison between values of different types is false,
//! never an error (`IsString: false` is true for a number); `IsPresent` on a path that
//! selects nothing is false, not an error; any other operator whose `Variable` (or `…Path`
//! operand) selects nothing fails with `States.Runtime`
//! `Invalid path '$.x': The choice state's condition path references an invalid value.`

#![warn(missing_docs)]

use crate::engine::jsonpath::PathError;
use crate::engine::{template, Scope, StatesError};
use chrono::{DateTime, FixedOffset};
use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;

/// The comparison operators AWS defines for JSONPath Choice rules (39, excluding the
/// `And`, `Or`, `Not` combinators).
pub const OPERATORS: [&str; 39] = [
    "StringEquals",
    "StringEqualsPath",
    "StringLessThan",
    "StringLessThanPath",
    "StringGreaterThan",
    "StringGreaterThanPath",
    "StringLessThanEquals",
    "StringLessThanEqualsPath",
    "StringGreaterThanEquals",
    "StringGreaterThanEqualsPath",
    "StringMatches",
    "NumericEquals",
    "NumericEqualsPath",
    "NumericLessThan",
    "NumericLessThanPath",
    "NumericGreaterThan",
    "NumericGreaterThanPath",
    "NumericLessThanEquals",
    "NumericLessThanEqualsPath",
    "NumericGreaterThanEquals",
    "NumericGreaterThanEqualsPath",
    "BooleanEquals",
    "BooleanEqualsPath",
    "TimestampEquals",
    "TimestampEqualsPath",
    "TimestampLessThan",
    "TimestampLessThanPath",
    "TimestampGreaterThan",
    "TimestampGreaterThanPath",
    "TimestampLessThanEquals",
    "TimestampLessThanEqualsPath",
    "TimestampGreaterThanEquals",
    "TimestampGreaterThanEqualsPath",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
];

fn bad_rule(why: impl std::fmt::Display) -> StatesError {
    StatesError::runtime(format!("Invalid Choice rule: {why}"))
}

fn invalid_value(path: &str) -> StatesError {
    StatesError::runtime(format!(
        "Invalid path '{path}': The choice state's condition path references an invalid value."
    ))
}

/// Evaluates one JSONPath-mode Choice rule (a `Choices` element without its `Next`, or a
/// nested rule) against `scope` (`$` is the Choice state's effective input). Returns
/// whether it matches. Errors: a missing `Variable`/`…Path` value (see the module docs),
/// or a malformed rule (`States.Runtime`).
pub fn evaluate_rule(rule: &Value, scope: &Scope) -> Result<bool, StatesError> {
    let obj = rule
        .as_object()
        .ok_or_else(|| bad_rule(format!("a rule must be an object, got {rule}")))?;
    if let Some(all) = obj.get("And") {
        return combine(all, scope, true);
    }
    if let Some(any) = obj.get("Or") {
        return combine(any, scope, false);
    }
    if let Some(inner) = obj.get("Not") {
        return evaluate_rule(inner, scope).map(|b| !b);
    }
    let var = obj
        .get("Variable")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_rule("a rule needs 'Variable' (a path string), 'And', 'Or' or 'Not'"))?;
    let (op, operand) = obj
        .iter()
        .find(|(k, _)| OPERATORS.contains(&k.as_str()))
        .ok_or_else(|| bad_rule(format!("no comparison operator in {rule}")))?;
    compare(var, op, operand, scope)
}

fn combine(rules: &Value, scope: &Scope, all: bool) -> Result<bool, StatesError> {
    let rules = rules
        .as_array()
        .ok_or_else(|| bad_rule("'And'/'Or' takes an array of rules"))?;
    for r in rules {
        if evaluate_rule(r, scope)? != all {
            return Ok(!all);
        }
    }
    Ok(all)
}

/// Reads a path for a Choice rule (borrowing when definite); `None` when it selects nothing.
fn lookup<'a>(path: &str, scope: &Scope<'a>) -> Result<Option<Cow<'a, Value>>, StatesError> {
    match template::read_cow(path, scope) {
        Ok(v) => Ok(Some(v)),
        Err(PathError::NotFound(_)) => Ok(None),
        Err(e) => Err(StatesError::runtime(format!("Invalid path '{path}' : {e}"))),
    }
}

fn compare(var: &str, op: &str, operand: &Value, scope: &Scope) -> Result<bool, StatesError> {
    let value = lookup(var, scope)?;
    if op == "IsPresent" {
        return Ok(value.is_some() == expect_bool(op, operand)?);
    }
    let value = value.ok_or_else(|| invalid_value(var))?;
    if let Some(kind) = op.strip_prefix("Is") {
        return Ok(has_type(kind, &value) == expect_bool(op, operand)?);
    }
    match op.strip_suffix("Path") {
        Some(base) => {
            let p = operand
                .as_str()
                .ok_or_else(|| bad_rule(format!("'{op}' takes a path string")))?;
            let other = lookup(p, scope)?.ok_or_else(|| invalid_value(p))?;
            Ok(test(base, &value, &other))
        }
        None => Ok(test(op, &value, operand)),
    }
}

fn expect_bool(op: &str, operand: &Value) -> Result<bool, StatesError> {
    operand
        .as_bool()
        .ok_or_else(|| bad_rule(format!("'{op}' takes true or false, got {operand}")))
}

fn has_type(kind: &str, v: &Value) -> bool {
    match kind {
        "Null" => v.is_null(),
        "Numeric" => v.is_number(),
        "String" => v.is_string(),
        "Boolean" => v.is_boolean(),
        "Timestamp" => v.as_str().and_then(parse_timestamp).is_some(),
        _ => false,
    }
}

/// Applies a non-`Is…` operator (without `Path`) to two values; a type mismatch is false.
fn test(op: &str, a: &Value, b: &Value) -> bool {
    let (family, rel) = split_op(op);
    let ord = match family {
        "String" if rel == "Matches" => {
            return matches!((a, b), (Value::String(s), Value::String(p)) if string_matches(s, p));
        }
        "String" => match (a, b) {
            // Java's String.compareTo orders by UTF-16 code unit.
            (Value::String(x), Value::String(y)) => Some(x.encode_utf16().cmp(y.encode_utf16())),
            _ => None,
        },
        "Numeric" => numeric_cmp(a, b),
        "Boolean" => return matches!((a, b), (Value::Bool(x), Value::Bool(y)) if x == y),
        "Timestamp" => match (
            a.as_str().and_then(parse_timestamp),
            b.as_str().and_then(parse_timestamp),
        ) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => None,
        },
        _ => None,
    };
    ord.is_some_and(|o| relation_holds(rel, o))
}

fn split_op(op: &str) -> (&str, &str) {
    for family in ["String", "Numeric", "Boolean", "Timestamp"] {
        if let Some(rel) = op.strip_prefix(family) {
            return (family, rel);
        }
    }
    ("", op)
}

fn relation_holds(rel: &str, o: Ordering) -> bool {
    match rel {
        "Equals" => o == Ordering::Equal,
        "LessThan" => o == Ordering::Less,
        "GreaterThan" => o == Ordering::Greater,
        "LessThanEquals" => o != Ordering::Greater,
        "GreaterThanEquals" => o != Ordering::Less,
        _ => false,
    }
}

/// Compares two JSON numbers exactly when both are integers, else as doubles.
fn numeric_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    let (Value::Number(x), Value::Number(y)) = (a, b) else {
        return None;
    };
    match (x.as_i64(), y.as_i64()) {
        (Some(i), Some(j)) => Some(i.cmp(&j)),
        _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
    }
}

/// A timestamp as AWS accepts it: RFC 3339 with an uppercase `T` separating date and time
/// and an uppercase `Z` when there is no numeric offset ("Choice workflow state").
pub fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    if s.as_bytes().get(10) != Some(&b'T') || s.ends_with('z') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// `StringMatches`: `*` matches any run of characters (possibly empty); `\*` is a literal
/// star and `\\` a literal backslash.
pub fn string_matches(s: &str, pattern: &str) -> bool {
    let toks = tokens(pattern);
    let chars: Vec<char> = s.chars().collect();
    glob(&toks, &chars)
}

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    Star,
    Lit(char),
}

fn tokens(pattern: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => out.push(Tok::Lit(it.next().unwrap_or('\\'))),
            '*' => out.push(Tok::Star),
            c => out.push(Tok::Lit(c)),
        }
    }
    out
}

/// Iterative wildcard match with single backtracking point (linear in practice).
fn glob(p: &[Tok], s: &[char]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(Tok::Lit(c)) if *c == s[si] => {
                pi += 1;
                si += 1;
            }
            Some(Tok::Star) => {
                star = Some((pi, si));
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests;
