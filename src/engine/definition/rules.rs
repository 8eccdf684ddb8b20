//! Definition-time checks that `CreateStateMachine` makes beyond a state's own fields:
//! the shape of Choice rules (operators and operand types), and the scope rule for
//! workflow variables in Map iterations and Parallel branches.

use super::{err, unsupported, DefinitionError, Kind, StateMachine};
use crate::engine::choice::OPERATORS;
use crate::engine::jsonata;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The operand type an operator takes (ASL "Choice workflow state": `String…` and
/// `Timestamp…` compare strings, `Numeric…` numbers, `BooleanEquals` and the `Is…` tests
/// booleans, every `…Path` form a path string).
fn operand_type(op: &str) -> &'static str {
    if op.ends_with("Path") || op.starts_with("String") || op.starts_with("Timestamp") {
        "string"
    } else if op.starts_with("Numeric") {
        "number"
    } else {
        "boolean"
    }
}

fn has_type(v: &Value, ty: &str) -> bool {
    match ty {
        "string" => v.is_string(),
        "number" => v.is_number(),
        _ => v.is_boolean(),
    }
}

/// Checks one JSONPath-mode Choice rule at `path` (`$.States.C.Choices[0]`, or a nested
/// `…And[1]`). `top` is true for an element of `Choices`, the only place `Next`, `Assign`
/// (and the `Comment` AWS tolerates) may appear. Every problem goes to `errs` with the JSON
/// path of the offending field.
pub(super) fn check_jsonpath_rule(
    rule: &Value,
    path: &str,
    top: bool,
    errs: &mut Vec<DefinitionError>,
) {
    let Some(o) = rule.as_object() else {
        errs.push(err(path, "a choice rule must be an object"));
        return;
    };
    let combinators: Vec<&str> = ["And", "Or", "Not"]
        .into_iter()
        .filter(|k| o.contains_key(*k))
        .collect();
    let operators: Vec<&str> = o
        .keys()
        .map(String::as_str)
        .filter(|k| OPERATORS.contains(k))
        .collect();
    check_rule_fields(o, path, top, errs);
    match (combinators.as_slice(), operators.as_slice()) {
        ([], []) => errs.push(err(
            path,
            "a choice rule needs a comparison operator (with \"Variable\") or one of \"And\", \"Or\", \"Not\"",
        )),
        ([c], []) => check_combinator(c, &o[*c], path, errs),
        ([], [op]) => check_comparison(o, op, path, errs),
        _ => {
            let mut all = combinators.clone();
            all.extend(operators.iter().copied());
            errs.push(err(
                path,
                &format!(
                    "a choice rule must have exactly one operator, found {}",
                    all.join(", ")
                ),
            ));
        }
    }
}

/// Rejects fields that are neither an operator, a combinator, `Variable`, nor (top level
/// only) `Next`/`Assign`/`Comment`.
fn check_rule_fields(
    o: &Map<String, Value>,
    path: &str,
    top: bool,
    errs: &mut Vec<DefinitionError>,
) {
    let structural: &[&str] = if top {
        &["Variable", "And", "Or", "Not", "Next", "Assign", "Comment"]
    } else {
        &["Variable", "And", "Or", "Not"]
    };
    for k in o.keys() {
        if structural.contains(&k.as_str()) || OPERATORS.contains(&k.as_str()) {
            continue;
        }
        let msg = if matches!(k.as_str(), "Next" | "Assign") {
            format!("\"{k}\" is only allowed in a top-level choice rule")
        } else {
            let mut m = format!("unknown choice rule field or operator \"{k}\"");
            let known = OPERATORS.iter().copied().chain(structural.iter().copied());
            if let Some(s) = crate::diagnostics::suggest(k, known) {
                m.push_str(&format!(" (did you mean \"{s}\"?)"));
            }
            m
        };
        errs.push(err(&format!("{path}.{k}"), &msg));
    }
}

fn check_combinator(c: &str, v: &Value, path: &str, errs: &mut Vec<DefinitionError>) {
    let at = format!("{path}.{c}");
    match (c, v) {
        ("Not", r) => check_jsonpath_rule(r, &at, false, errs),
        (_, Value::Array(rules)) if !rules.is_empty() => {
            for (i, r) in rules.iter().enumerate() {
                check_jsonpath_rule(r, &format!("{at}[{i}]"), false, errs);
            }
        }
        _ => errs.push(err(&at, "must be a non-empty array of choice rules")),
    }
}

fn check_comparison(o: &Map<String, Value>, op: &str, path: &str, errs: &mut Vec<DefinitionError>) {
    match o.get("Variable") {
        Some(Value::String(_)) => {}
        Some(_) => errs.push(err(&format!("{path}.Variable"), "must be a string")),
        None => errs.push(err(
            &format!("{path}.Variable"),
            "required string field is missing",
        )),
    }
    let want = operand_type(op);
    if !has_type(&o[op], want) {
        errs.push(err(
            &format!("{path}.{op}"),
            &format!("the value of \"{op}\" must be a {want}, got {}", o[op]),
        ));
    }
}

/// Checks one JSONata-mode Choice rule: a `Condition` (plus `Next`, `Assign`, `Output`,
/// `Comment`); JSONPath operators are not accepted.
pub(super) fn check_jsonata_rule(rule: &Value, path: &str, errs: &mut Vec<DefinitionError>) {
    let Some(o) = rule.as_object() else {
        errs.push(err(path, "a choice rule must be an object"));
        return;
    };
    const FIELDS: [&str; 5] = ["Condition", "Next", "Assign", "Output", "Comment"];
    for k in o.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        errs.push(unsupported(k, &FIELDS, "in a JSONata choice rule", path));
    }
    if !o.contains_key("Condition") {
        errs.push(err(
            &format!("{path}.Condition"),
            "required field is missing",
        ));
    }
}

/// The variable names an `Assign` object binds (`"x.$"` binds `x` in JSONPath states).
fn assigned_names(assign: &Option<Value>) -> impl Iterator<Item = String> + '_ {
    assign
        .as_ref()
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|o| o.keys())
        .map(|k| k.strip_suffix(".$").unwrap_or(k).to_string())
}

/// Every (state name, field path relative to the state, variable) assigned by the states
/// of `sm` itself (not of nested branches or processors).
fn assignments(sm: &StateMachine) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (name, st) in &sm.states {
        for v in assigned_names(&st.assign) {
            out.push((name.clone(), format!("Assign.{v}"), v));
        }
        for (i, c) in st.catch.iter().enumerate() {
            for v in assigned_names(&c.assign) {
                out.push((name.clone(), format!("Catch[{i}].Assign.{v}"), v));
            }
        }
        if let Kind::Choice { choices, .. } = &st.kind {
            for (i, c) in choices.iter().enumerate() {
                for v in assigned_names(&c.assign) {
                    out.push((name.clone(), format!("Choices[{i}].Assign.{v}"), v));
                }
            }
        }
    }
    out
}

/// AWS Step Functions, "Passing data between states with variables", variable scope: a
/// Map iteration or Parallel branch reads the variables of its outer scopes but cannot
/// assign them: a state inside it may not `Assign` a name that an enclosing scope assigns.
/// A distributed Map's child workflow has no access to outer variables, so it starts a
/// fresh scope. `outer` holds the names assigned in the enclosing scopes.
pub(super) fn check_variable_scopes(
    sm: &StateMachine,
    path: &str,
    outer: &BTreeSet<String>,
    errs: &mut Vec<DefinitionError>,
) {
    let own = assignments(sm);
    for (state, field, var) in &own {
        if outer.contains(var) {
            errs.push(err(
                &format!("{path}.States.{state}.{field}"),
                &format!(
                    "variable \"{var}\" is assigned in an outer scope; a Map iteration or Parallel branch can read it but cannot assign it"
                ),
            ));
        }
    }
    let mut inner: BTreeSet<String> = outer.clone();
    inner.extend(own.into_iter().map(|(_, _, v)| v));
    for (name, st) in &sm.states {
        let spath = format!("{path}.States.{name}");
        match &st.kind {
            Kind::Parallel { branches } => {
                for (i, b) in branches.iter().enumerate() {
                    check_variable_scopes(b, &format!("{spath}.Branches[{i}]"), &inner, errs);
                }
            }
            Kind::Map(m) => {
                let fresh = BTreeSet::new();
                let scope = if m.distributed { &fresh } else { &inner };
                check_variable_scopes(&m.processor, &format!("{spath}.ItemProcessor"), scope, errs);
            }
            _ => {}
        }
    }
}

/// AWS's cap on `MaxInputBytesPerBatch`: 256 KiB ("ItemBatcher (Map)").
pub(super) const MAX_BATCH_BYTES: u64 = 262_144;

/// Checks an `ItemBatcher` object at `path`: only its five fields, each limit given at most
/// once (literal or `…Path`), literals positive integers, `MaxInputBytesPerBatch` at most
/// 256 KiB.
pub(super) fn check_item_batcher(v: &Value, path: &str, errs: &mut Vec<DefinitionError>) {
    let Some(o) = v.as_object() else {
        errs.push(err(path, "must be an object"));
        return;
    };
    const FIELDS: [&str; 5] = [
        "MaxItemsPerBatch",
        "MaxItemsPerBatchPath",
        "MaxInputBytesPerBatch",
        "MaxInputBytesPerBatchPath",
        "BatchInput",
    ];
    for k in o.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        errs.push(unsupported(k, &FIELDS, "in ItemBatcher", path));
    }
    for (field, cap) in [
        ("MaxItemsPerBatch", u64::MAX),
        ("MaxInputBytesPerBatch", MAX_BATCH_BYTES),
    ] {
        let at = format!("{path}.{field}");
        if o.contains_key(field) && o.contains_key(&format!("{field}Path")) {
            errs.push(err(&at, &format!("give {field} or {field}Path, not both")));
        }
        match o.get(field).map(|n| n.as_u64()) {
            Some(Some(n)) if n > 0 && n <= cap => {}
            _ if o
                .get(field)
                .and_then(Value::as_str)
                .is_some_and(jsonata::is_expression) => {}
            Some(Some(n)) if n > cap => errs.push(err(
                &at,
                &format!("must be at most {cap} bytes (256 KiB), got {n}"),
            )),
            Some(_) => errs.push(err(&at, "must be a positive integer")),
            None => {}
        }
    }
}
