//! Retry and Catch (Task, Parallel and Map states), as the ASL specification and AWS
//! Step Functions' error-handling guide define them.

use super::flow::{self, Site};
use super::{multi, states, task, Branch, Done, Entered, Exec};
use crate::engine::definition::{Catcher, QueryLanguage, Retrier, State};
use crate::engine::{Scope, StatesError};
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Runs a Task, Parallel or Map state body, retrying and catching as its `Retry` and `Catch`
/// say.
pub(super) async fn with_retry_catch<'b>(
    ex: &'b Exec,
    st: &'b State,
    input: Value,
    b: &mut Branch,
    entered: &mut Entered,
    site: Site<'_>,
) -> Done<'b> {
    use crate::engine::definition::Kind;
    let mut attempts = vec![0u32; st.retry.len()];
    loop {
        entered.started.store(false, Ordering::Relaxed);
        let r = match &st.kind {
            Kind::Task(t) => task::run(ex, st, t, &input, b, entered, site).await,
            Kind::Parallel { branches } => {
                multi::parallel(ex, st, branches, &input, b, entered, site).await
            }
            Kind::Map(m) => multi::map(ex, st, m, &input, b, entered, site).await,
            _ => unreachable_kind(),
        };
        let err = match r {
            Ok(out) => return Ok(out),
            Err(e) => e,
        };
        if let Some(delay) = retry_delay(ex, &st.retry, &mut attempts, &err) {
            ex.clock.sleep(delay).await;
            entered.retry_count += 1;
            continue;
        }
        record_final_failure(ex, st, b, entered)?;
        return match st
            .catch
            .iter()
            .find(|c| matches_error(&c.error_equals, &err.error))
        {
            Some(c) => catch(ex, st, c, input, err, b, entered, site),
            None => Err(err),
        };
    }
}

/// `MapStateFailed` / `ParallelStateFailed`: AWS records them once, when the state's error
/// is final (not retried), and only if the attempt got as far as `…StateStarted`.
fn record_final_failure(
    ex: &Exec,
    st: &State,
    b: &mut Branch,
    entered: &Entered,
) -> Result<(), StatesError> {
    use crate::engine::definition::Kind;
    let kind = match &st.kind {
        Kind::Map(_) => "MapStateFailed",
        Kind::Parallel { .. } => "ParallelStateFailed",
        _ => return Ok(()),
    };
    if entered.started.load(Ordering::Relaxed) {
        ex.record(b, kind, Value::Null)?;
    }
    Ok(())
}

fn unreachable_kind<'b>() -> Done<'b> {
    Err(StatesError::runtime(
        "internal error: no retry/catch for this state type",
    ))
}

/// True when `ErrorEquals` matches `error`. `States.ALL` matches any error except
/// `States.Runtime` (never retried or caught) and `States.DataLimitExceeded` (terminal unless
/// named); `States.TaskFailed` matches any error but `States.Timeout` (AWS error names
/// reference).
pub fn matches_error(error_equals: &[String], error: &str) -> bool {
    if error == "States.Runtime" {
        return false;
    }
    error_equals.iter().any(|e| {
        e == error
            || (e == "States.ALL" && error != "States.DataLimitExceeded")
            || (e == "States.TaskFailed"
                && error != "States.Timeout"
                && error != "States.DataLimitExceeded")
    })
}

/// The wait before the next attempt, or `None` when no retrier applies or it is exhausted.
/// Interval: `IntervalSeconds × BackoffRate^n` (n = retries so far by this retrier), capped
/// by `MaxDelaySeconds`, and with `JitterStrategy: FULL` a uniform random part of it.
fn retry_delay(
    ex: &Exec,
    retriers: &[Retrier],
    attempts: &mut [u32],
    err: &StatesError,
) -> Option<Duration> {
    let i = retriers
        .iter()
        .position(|r| matches_error(&r.error_equals, &err.error))?;
    let r = &retriers[i];
    if attempts[i] >= r.max_attempts {
        return None;
    }
    let mut secs = r.interval_seconds * r.backoff_rate.powi(attempts[i] as i32);
    if let Some(m) = r.max_delay_seconds {
        secs = secs.min(m);
    }
    if r.jitter_full {
        secs *= ex.random();
    }
    attempts[i] += 1;
    let secs = if secs.is_finite() {
        secs.clamp(0.0, 1e9)
    } else {
        1e9
    };
    Some(Duration::from_secs_f64(secs))
}

/// The error output of a caught error: `{"Error":…,"Cause":…}`.
pub(super) fn error_output(err: &StatesError) -> Value {
    let mut o = Map::new();
    o.insert("Error".into(), json!(err.error));
    if let Some(c) = &err.cause {
        o.insert("Cause".into(), json!(c));
    }
    Value::Object(o)
}

/// Applies a matching catcher: the error output goes through `ResultPath` (JSONPath) or
/// `Output` (JSONata), `Assign` is applied, and the branch continues at `Next`.
#[allow(clippy::too_many_arguments)]
fn catch<'b>(
    ex: &'b Exec,
    st: &'b State,
    c: &'b Catcher,
    input: Value,
    err: StatesError,
    b: &mut Branch,
    entered: &Entered,
    site: Site<'_>,
) -> Done<'b> {
    let eo = error_output(&err);
    let ctx = if st.uses_context {
        ex.context(st, entered, None)
    } else {
        Value::Null
    };
    let (out, bindings) = match st.query_language {
        QueryLanguage::JsonPath => {
            let scope = Scope {
                input: &eo,
                context: &ctx,
                vars: &b.vars,
            };
            let bindings = match &c.assign {
                Some(a) => flow::assign(a, &scope).map_err(|e| site.wrap(e))?,
                None => vec![],
            };
            let out = states::result_path(&c.result_path, input, eo.clone(), &ctx, &b.vars, site)?;
            (out, bindings)
        }
        QueryLanguage::Jsonata => {
            let sv = json!({"input": input, "context": ctx, "errorOutput": eo});
            let out = match &c.output {
                Some(o) => {
                    flow::jsonata_template(o, &sv, &b.vars, "Output").map_err(|e| site.wrap(e))?
                }
                None => eo.clone(),
            };
            let bindings = match &c.assign {
                Some(a) => flow::jsonata_assign(a, &sv, &b.vars).map_err(|e| site.wrap(e))?,
                None => vec![],
            };
            (out, bindings)
        }
    };
    for (k, v) in bindings {
        b.vars.set(k, v);
    }
    Ok((out, Some(c.next.as_str())))
}
