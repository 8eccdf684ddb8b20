//! The states without sub-executions: Pass, Choice, Wait, Succeed, Fail; and the JSONPath
//! input/output processing shared by all states (`InputPath`, `ResultPath`, `OutputPath`).

use super::flow::{self, Site};
use super::{apply, Branch, Done, Entered, Exec};
use crate::engine::definition::{
    ChoiceBranch, FailSpec, PathField, QueryLanguage, State, WaitSpec,
};
use crate::engine::vars::Vars;
use crate::engine::{Scope, StatesError};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// The context object when the state may read it, else `Null`.
pub(super) fn ctx_for(ex: &Exec, st: &State, entered: &Entered) -> Value {
    if st.uses_context {
        ex.context(st, entered, None)
    } else {
        Value::Null
    }
}

/// `InputPath`: `None` when it is the default `$` (the raw input is used as is).
pub(super) fn input_path(
    p: &PathField,
    raw: &Value,
    ctx: &Value,
    vars: &Vars,
    site: Site<'_>,
) -> Result<Option<Value>, StatesError> {
    match p {
        PathField::Default => Ok(None),
        PathField::Null => Ok(Some(json!({}))),
        PathField::Path(s) if s == "$" => Ok(None),
        PathField::Path(s) => {
            let scope = Scope {
                input: raw,
                context: ctx,
                vars,
            };
            flow::query(s, &scope).map(Some).map_err(|e| site.wrap(e))
        }
    }
}

/// `ResultPath`: merges `result` into the raw input (`null` keeps the raw input, default `$`
/// replaces it).
pub(super) fn result_path(
    p: &PathField,
    raw: Value,
    result: Value,
    ctx: &Value,
    vars: &Vars,
    site: Site<'_>,
) -> Result<Value, StatesError> {
    let _ = (ctx, vars);
    match p {
        PathField::Default => Ok(result),
        PathField::Null => Ok(raw),
        PathField::Path(s) => flow::set(raw, s, result).map_err(|e| site.wrap(e)),
    }
}

/// `OutputPath`: selects the state output (`null` gives `{}`).
pub(super) fn output_path(
    p: &PathField,
    v: Value,
    ctx: &Value,
    vars: &Vars,
    site: Site<'_>,
) -> Result<Value, StatesError> {
    match p {
        PathField::Default => Ok(v),
        PathField::Null => Ok(json!({})),
        PathField::Path(s) if s == "$" => Ok(v),
        PathField::Path(s) => {
            let scope = Scope {
                input: &v,
                context: ctx,
                vars,
            };
            flow::query(s, &scope).map_err(|e| site.wrap(e))
        }
    }
}

/// `$states` for a JSONata state: `input`, `context` and, once known, `result`.
pub(super) fn states_var(input: &Value, ctx: Value, result: Option<&Value>) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("input".into(), input.clone());
    o.insert("context".into(), ctx);
    if let Some(r) = result {
        o.insert("result".into(), r.clone());
    }
    Value::Object(o)
}

/// JSONata `Output` (default: `default`) and `Assign` of a state, evaluated on `$states`.
pub(super) fn jsonata_finish(
    st: &State,
    sv: &Value,
    vars: &Vars,
    default: Value,
    site: Site<'_>,
) -> Result<(Value, Vec<(String, Value)>), StatesError> {
    let bindings = match &st.assign {
        Some(a) => flow::jsonata_assign(a, sv, vars).map_err(|e| site.wrap(e))?,
        None => vec![],
    };
    let out = match &st.output {
        Some(o) => flow::jsonata_template(o, sv, vars, "Output").map_err(|e| site.wrap(e))?,
        None => default,
    };
    Ok((out, bindings))
}

/// JSONPath `Assign`, evaluated with `$` = `value`.
pub(super) fn jsonpath_assign(
    st: &State,
    value: &Value,
    ctx: &Value,
    vars: &Vars,
    site: Site<'_>,
) -> Result<Vec<(String, Value)>, StatesError> {
    match &st.assign {
        Some(a) => flow::assign(
            a,
            &Scope {
                input: value,
                context: ctx,
                vars,
            },
        )
        .map_err(|e| site.wrap(e)),
        None => Ok(vec![]),
    }
}

/// A Pass state: `Result` (literal) or `Parameters` or the effective input becomes the
/// result.
pub(super) fn pass<'b>(
    ex: &Exec,
    st: &'b State,
    result: Option<&Value>,
    mut input: Value,
    b: &mut Branch,
    entered: &Entered,
    site: Site<'_>,
) -> Done<'b> {
    let ctx = ctx_for(ex, st, entered);
    if st.query_language == QueryLanguage::Jsonata {
        let sv = states_var(&input, ctx, None);
        let (out, bindings) = jsonata_finish(st, &sv, &b.vars, input, site)?;
        apply(b, bindings);
        return Ok((out, st.next.as_deref()));
    }
    let eff = input_path(&st.input_path, &input, &ctx, &b.vars, site)?;
    let result = match (result, &st.parameters, eff) {
        (Some(r), _, _) => r.clone(),
        (None, Some(p), eff) => {
            let scope = Scope {
                input: eff.as_ref().unwrap_or(&input),
                context: &ctx,
                vars: &b.vars,
            };
            flow::template(p, &scope, "Parameters").map_err(|e| site.wrap(e))?
        }
        (None, None, Some(e)) => e,
        (None, None, None) if matches!(st.result_path, PathField::Default) => {
            std::mem::take(&mut input)
        }
        (None, None, None) => input.clone(),
    };
    finish_jsonpath(st, input, result, &ctx, b, site)
}

/// `Assign` (on the result), `ResultPath`, `OutputPath`, then the bindings take effect.
pub(super) fn finish_jsonpath<'b>(
    st: &'b State,
    raw: Value,
    result: Value,
    ctx: &Value,
    b: &mut Branch,
    site: Site<'_>,
) -> Done<'b> {
    let bindings = jsonpath_assign(st, &result, ctx, &b.vars, site)?;
    let out = result_path(&st.result_path, raw, result, ctx, &b.vars, site)?;
    let out = output_path(&st.output_path, out, ctx, &b.vars, site)?;
    apply(b, bindings);
    Ok((out, st.next.as_deref()))
}

/// A Choice state: the first matching rule's `Next`, else `Default`, else
/// `States.NoChoiceMatched`.
#[allow(clippy::too_many_arguments)]
pub(super) fn choice<'b>(
    ex: &Exec,
    st: &'b State,
    choices: &'b [ChoiceBranch],
    default: Option<&'b str>,
    input: Value,
    b: &mut Branch,
    entered: &Entered,
    site: Site<'_>,
) -> Done<'b> {
    let ctx = ctx_for(ex, st, entered);
    if st.query_language == QueryLanguage::Jsonata {
        return choice_jsonata(st, choices, default, input, ctx, b, site);
    }
    let eff = input_path(&st.input_path, &input, &ctx, &b.vars, site)?;
    let eff = eff.unwrap_or(input);
    let scope = Scope {
        input: &eff,
        context: &ctx,
        vars: &b.vars,
    };
    let mut taken = None;
    for c in choices {
        if flow::choice(&c.rule, &scope).map_err(|e| site.wrap(e))? {
            taken = Some(c);
            break;
        }
    }
    let (next, assign) = match (taken, default) {
        (Some(c), _) => (c.next.as_str(), c.assign.as_ref()),
        (None, Some(d)) => (d, st.assign.as_ref()),
        (None, None) => return Err(no_choice_matched(site)),
    };
    let bindings = match assign {
        Some(a) => flow::assign(a, &scope).map_err(|e| site.wrap(e))?,
        None => vec![],
    };
    let out = output_path(&st.output_path, eff, &ctx, &b.vars, site)?;
    apply(b, bindings);
    Ok((out, Some(next)))
}

fn no_choice_matched(site: Site<'_>) -> StatesError {
    StatesError::new(
        "States.NoChoiceMatched",
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). No Matches!",
            site.state, site.entered
        ),
    )
}

fn choice_jsonata<'b>(
    st: &'b State,
    choices: &'b [ChoiceBranch],
    default: Option<&'b str>,
    input: Value,
    ctx: Value,
    b: &mut Branch,
    site: Site<'_>,
) -> Done<'b> {
    let sv = states_var(&input, ctx, None);
    let mut taken = None;
    for c in choices {
        let cond = c
            .rule
            .get("Condition")
            .cloned()
            .unwrap_or(Value::Bool(false));
        let v =
            flow::jsonata_template(&cond, &sv, &b.vars, "Condition").map_err(|e| site.wrap(e))?;
        match v {
            Value::Bool(true) => {
                taken = Some(c);
                break;
            }
            Value::Bool(false) => {}
            other => {
                return Err(site.wrap(StatesError::query_evaluation(format!(
                    "The JSONata expression '{}' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '{}' for value: {}",
                    flow::expr_text(&cond),
                    flow::type_name(&other),
                    other
                ))))
            }
        }
    }
    let (next, assign, output) = match (taken, default) {
        (Some(c), _) => (c.next.as_str(), c.assign.as_ref(), c.output.as_ref()),
        (None, Some(d)) => (d, st.assign.as_ref(), st.output.as_ref()),
        (None, None) => return Err(no_choice_matched(site)),
    };
    let bindings = match assign {
        Some(a) => flow::jsonata_assign(a, &sv, &b.vars).map_err(|e| site.wrap(e))?,
        None => vec![],
    };
    let out = match output {
        Some(o) => flow::jsonata_template(o, &sv, &b.vars, "Output").map_err(|e| site.wrap(e))?,
        None => input,
    };
    apply(b, bindings);
    Ok((out, Some(next)))
}

/// A Wait state: sleeps on the execution clock until the computed time.
pub(super) async fn wait<'b>(
    ex: &Exec,
    st: &'b State,
    w: &WaitSpec,
    input: Value,
    b: &mut Branch,
    entered: &Entered,
    site: Site<'_>,
) -> Done<'b> {
    let ctx = ctx_for(ex, st, entered);
    if st.query_language == QueryLanguage::Jsonata {
        let sv = states_var(&input, ctx, None);
        let until = wait_until_jsonata(w, &sv, &b.vars, entered.time, site)?;
        ex.clock.sleep_until(until).await;
        let (out, bindings) = jsonata_finish(st, &sv, &b.vars, input, site)?;
        apply(b, bindings);
        return Ok((out, st.next.as_deref()));
    }
    let eff = input_path(&st.input_path, &input, &ctx, &b.vars, site)?.unwrap_or(input);
    let until = wait_until_jsonpath(w, &eff, &ctx, &b.vars, entered.time, site)?;
    ex.clock.sleep_until(until).await;
    let bindings = jsonpath_assign(st, &eff, &ctx, &b.vars, site)?;
    let out = output_path(&st.output_path, eff, &ctx, &b.vars, site)?;
    apply(b, bindings);
    Ok((out, st.next.as_deref()))
}

fn wait_until_jsonpath(
    w: &WaitSpec,
    eff: &Value,
    ctx: &Value,
    vars: &Vars,
    now: DateTime<Utc>,
    site: Site<'_>,
) -> Result<DateTime<Utc>, StatesError> {
    let scope = Scope {
        input: eff,
        context: ctx,
        vars,
    };
    match w {
        WaitSpec::Seconds(v) => Ok(after(now, v.as_f64().unwrap_or(0.0).max(0.0) as i64)),
        WaitSpec::Timestamp(v) => {
            parse_timestamp(v.as_str().unwrap_or_default()).ok_or_else(|| {
                site.wrap(StatesError::runtime(format!(
                    "The Timestamp field cannot be parsed: {v}"
                )))
            })
        }
        WaitSpec::SecondsPath(p) => {
            let v = flow::query(p, &scope).map_err(|e| site.wrap(e))?;
            match v.as_i64() {
                Some(n) if n < 0 => Err(site.wrap(StatesError::runtime(format!(
                    "The SecondsPath parameter references a negative value: {p} == {v}"
                )))),
                Some(n) => Ok(after(now, n)),
                None => Err(site.wrap(StatesError::runtime(format!(
                    "The SecondsPath parameter cannot be parsed as a long value: {p} == {v}"
                )))),
            }
        }
        WaitSpec::TimestampPath(p) => {
            let v = flow::query(p, &scope).map_err(|e| site.wrap(e))?;
            let shown = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            v.as_str().and_then(parse_timestamp).ok_or_else(|| {
                site.wrap(StatesError::runtime(format!(
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {shown}"
                )))
            })
        }
    }
}

fn wait_until_jsonata(
    w: &WaitSpec,
    sv: &Value,
    vars: &Vars,
    now: DateTime<Utc>,
    site: Site<'_>,
) -> Result<DateTime<Utc>, StatesError> {
    match w {
        WaitSpec::Seconds(v) => {
            let r = flow::jsonata_template(v, sv, vars, "Seconds").map_err(|e| site.wrap(e))?;
            match r.as_i64() {
                Some(n) if n >= 0 => Ok(after(now, n)),
                _ => Err(site.wrap(StatesError::query_evaluation(format!(
                    "The JSONata expression '{}' specified for the field 'Seconds' returned an unexpected result type. Expected 'integer', but was '{}' for value: {r}",
                    flow::expr_text(v),
                    flow::type_name(&r)
                )))),
            }
        }
        WaitSpec::Timestamp(v) => {
            let r = flow::jsonata_template(v, sv, vars, "Timestamp").map_err(|e| site.wrap(e))?;
            let shown = r
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| r.to_string());
            r.as_str().and_then(parse_timestamp).ok_or_else(|| {
                site.wrap(StatesError::query_evaluation(format!(
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {shown}"
                )))
            })
        }
        _ => Err(site.wrap(StatesError::query_evaluation(
            "SecondsPath/TimestampPath are not allowed in JSONata states",
        ))),
    }
}

/// `now` plus `n` seconds, saturating at the latest representable time (a wait that long
/// never ends in practice, and must not overflow).
fn after(now: DateTime<Utc>, n: i64) -> DateTime<Utc> {
    chrono::Duration::try_seconds(n)
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Parses an ISO-8601 extended offset date-time as AWS accepts it (`T` separator and an
/// offset required), via the Choice layer's parser.
fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    crate::engine::choice::parse_timestamp(s).map(|t| t.with_timezone(&Utc))
}

/// A Succeed state: `InputPath`/`OutputPath` (JSONPath) or `Output` (JSONata).
pub(super) fn succeed<'b>(
    ex: &Exec,
    st: &'b State,
    input: Value,
    b: &mut Branch,
    entered: &Entered,
    site: Site<'_>,
) -> Done<'b> {
    let ctx = ctx_for(ex, st, entered);
    if st.query_language == QueryLanguage::Jsonata {
        let sv = states_var(&input, ctx, None);
        let (out, bindings) = jsonata_finish(st, &sv, &b.vars, input, site)?;
        apply(b, bindings);
        return Ok((out, None));
    }
    let eff = input_path(&st.input_path, &input, &ctx, &b.vars, site)?.unwrap_or(input);
    let out = output_path(&st.output_path, eff, &ctx, &b.vars, site)?;
    Ok((out, None))
}

/// A Fail state: the error to fail the branch with (an empty error name stands for "no
/// error", as AWS reports a Fail state without `Error`).
pub(super) fn fail(
    ex: &Exec,
    st: &State,
    f: &FailSpec,
    input: &Value,
    b: &mut Branch,
    entered: &Entered,
    site: Site<'_>,
) -> StatesError {
    match fail_fields(ex, st, f, input, b, entered, site) {
        Ok((error, cause)) => StatesError {
            error: error.unwrap_or_default(),
            cause,
        },
        Err(e) => e,
    }
}

type ErrorCause = (Option<String>, Option<String>);

fn fail_fields(
    ex: &Exec,
    st: &State,
    f: &FailSpec,
    input: &Value,
    b: &mut Branch,
    entered: &Entered,
    site: Site<'_>,
) -> Result<ErrorCause, StatesError> {
    let ctx = ctx_for(ex, st, entered);
    if st.query_language == QueryLanguage::Jsonata {
        let sv = states_var(input, ctx, None);
        let eval = |v: &Option<Value>, field: &str| -> Result<Option<String>, StatesError> {
            let Some(v) = v else { return Ok(None) };
            let r = flow::jsonata_template(v, &sv, &b.vars, field).map_err(|e| site.wrap(e))?;
            Ok(Some(
                r.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| r.to_string()),
            ))
        };
        return Ok((eval(&f.error, "Error")?, eval(&f.cause, "Cause")?));
    }
    let scope = Scope {
        input,
        context: &ctx,
        vars: &b.vars,
    };
    let dynamic = |p: &Option<String>,
                   lit: &Option<Value>,
                   field: &str|
     -> Result<Option<String>, StatesError> {
        if let Some(p) = p {
            let v = flow::dynamic(p, &scope, field).map_err(|e| site.wrap(e))?;
            return Ok(Some(
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            ));
        }
        Ok(lit.as_ref().map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        }))
    };
    Ok((
        dynamic(&f.error_path, &f.error, "ErrorPath")?,
        dynamic(&f.cause_path, &f.cause, "CausePath")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_need_t_and_offset() {
        assert!(parse_timestamp("2016-03-14T01:59:00Z").is_some());
        assert!(parse_timestamp("2016-03-05T21:29:29.243167252Z").is_some());
        assert!(parse_timestamp("2016-12-05 21:29:29Z").is_none());
        assert!(parse_timestamp("2016-12-05T21:29:29").is_none());
        assert!(parse_timestamp("2016-13-05T21:29:29Z").is_none());
    }
}
