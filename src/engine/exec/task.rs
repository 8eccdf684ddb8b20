//! The Task state: evaluates the parameters, picks the integration serving the resource,
//! runs it under the execution's worker limit with `TimeoutSeconds`/`HeartbeatSeconds`
//! enforced (in real time: dropping the integration's future cancels the task), and records
//! `TaskScheduled`, `TaskStarted`, `TaskSucceeded`/`TaskFailed`/`TaskTimedOut`.

use super::flow::{self, Site};
use super::states::{ctx_for, finish_jsonpath, input_path, jsonata_finish, states_var};
use super::{apply, Branch, Done, Entered, Exec};
use crate::engine::definition::{QueryLanguage, State, TaskSpec};
use crate::engine::integrations::{self, Integration, TaskRequest};
use crate::engine::{Scope, StatesError};
use serde_json::{json, Value};
use std::time::Duration;

/// `resourceType` and `resource` of history events, from the ARN:
/// `arn:aws:states:::batch:submitJob.sync` → (`batch`, `submitJob.sync`); other ARNs →
/// (their service, the whole ARN).
pub fn resource_parts(arn: &str) -> (String, String) {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "states", "", "", rest] => match rest.split_once(':') {
            Some((svc, action)) => (svc.to_string(), action.to_string()),
            None => (rest.to_string(), String::new()),
        },
        ["arn", _, svc, ..] => (svc.to_string(), arn.to_string()),
        _ => ("unknown".to_string(), arn.to_string()),
    }
}

/// Runs one attempt of a Task state.
pub(super) async fn run<'b>(
    ex: &Exec,
    st: &'b State,
    t: &TaskSpec,
    input: &Value,
    b: &mut Branch,
    entered: &Entered,
    site: Site<'_>,
) -> Done<'b> {
    let ctx = ctx_for(ex, st, entered);
    let params = parameters(st, input, &ctx, b, site)?;
    let timeout = seconds_field(
        st,
        &t.timeout,
        &t.timeout_path,
        input,
        &ctx,
        b,
        site,
        "TimeoutSeconds",
    )?;
    let heartbeat = seconds_field(
        st,
        &t.heartbeat,
        &t.heartbeat_path,
        input,
        &ctx,
        b,
        site,
        "HeartbeatSeconds",
    )?;
    let (rtype, res) = resource_parts(&t.resource);
    let mut details = json!({"resourceType": rtype, "resource": res, "region": "us-east-1",
        "parameters": super::payload(ex, &params)});
    if let Some(t) = timeout {
        details["timeoutInSeconds"] = json!(t);
    }
    if let Some(h) = heartbeat {
        details["heartbeatInSeconds"] = json!(h);
    }
    let request = TaskRequest {
        resource: t.resource.clone(),
        parameters: params,
        state_machine: ex.cfg.state_machine_name.clone(),
        state: st.name.clone(),
        execution_name: ex.cfg.execution_name.clone(),
        attempt: entered.retry_count,
        timeout_seconds: timeout,
    };
    let integration = integrations::select(&ex.cfg.integrations, &request)
        .ok_or_else(|| not_available(ex, &t.resource, site))?;
    ex.record(b, "TaskScheduled", details)?;
    let permit = ex.workers.acquire().await.ok();
    ex.record(
        b,
        "TaskStarted",
        json!({"resourceType": rtype, "resource": res}),
    )?;
    let heartbeat = heartbeat.filter(|_| expects_heartbeats(&t.resource));
    let outcome = invoke(integration, request, timeout, heartbeat).await;
    drop(permit);
    let result = match outcome {
        Ok(v) => {
            ex.record(
                b,
                "TaskSucceeded",
                json!({"resourceType": rtype, "resource": res, "output": super::payload(ex, &v)}),
            )?;
            v
        }
        Err(e) => {
            let kind = if e.error == "States.Timeout" || e.error == "States.HeartbeatTimeout" {
                "TaskTimedOut"
            } else {
                "TaskFailed"
            };
            let mut d = json!({"resourceType": rtype, "resource": res, "error": e.error});
            if let Some(c) = &e.cause {
                d["cause"] = json!(c);
            }
            ex.record(b, kind, d)?;
            return Err(e);
        }
    };
    finish(st, input, result, ctx, b, site)
}

/// Evaluates `Parameters` (JSONPath, after `InputPath`) or `Arguments` (JSONata): a Task's
/// parameters, or the input every Parallel branch receives.
pub(super) fn parameters(
    st: &State,
    input: &Value,
    ctx: &Value,
    b: &Branch,
    site: Site<'_>,
) -> Result<Value, StatesError> {
    if st.query_language == QueryLanguage::Jsonata {
        return match &st.arguments {
            Some(a) => {
                let sv = states_var(input, ctx.clone(), None);
                flow::jsonata_template(a, &sv, &b.vars, "Arguments").map_err(|e| site.wrap(e))
            }
            None => Ok(input.clone()),
        };
    }
    let eff = input_path(&st.input_path, input, ctx, &b.vars, site)?;
    let eff_ref = eff.as_ref().unwrap_or(input);
    match &st.parameters {
        Some(p) => flow::template(
            p,
            &Scope {
                input: eff_ref,
                context: ctx,
                vars: &b.vars,
            },
            "Parameters",
        )
        .map_err(|e| site.wrap(e)),
        None => Ok(eff_ref.clone()),
    }
}

/// `ResultSelector`, then `Assign`/`ResultPath`/`OutputPath` (JSONPath) or
/// `Output`/`Assign` (JSONata).
pub(super) fn finish<'b>(
    st: &'b State,
    input: &Value,
    result: Value,
    ctx: Value,
    b: &mut Branch,
    site: Site<'_>,
) -> Done<'b> {
    if st.query_language == QueryLanguage::Jsonata {
        let sv = states_var(input, ctx, Some(&result));
        let (out, bindings) = jsonata_finish(st, &sv, &b.vars, result, site)?;
        apply(b, bindings);
        return Ok((out, st.next.as_deref()));
    }
    let result = match &st.result_selector {
        Some(rs) => flow::template(
            rs,
            &Scope {
                input: &result,
                context: &ctx,
                vars: &b.vars,
            },
            "ResultSelector",
        )
        .map_err(|e| site.wrap(e))?,
        None => result,
    };
    finish_jsonpath(st, input.clone(), result, &ctx, b, site)
}

fn not_available(ex: &Exec, resource: &str, site: Site<'_>) -> StatesError {
    let n = ex.cfg.integrations.len();
    site.wrap(StatesError::runtime(format!(
        "The resource '{resource}' is not available locally: none of the {n} configured integrations handles it (integration not available locally)."
    )))
}

/// `TimeoutSeconds`/`HeartbeatSeconds` (literal, JSONata expression) or their `…Path` form:
/// a positive integer number of seconds.
#[allow(clippy::too_many_arguments)]
fn seconds_field(
    st: &State,
    lit: &Option<Value>,
    path: &Option<String>,
    input: &Value,
    ctx: &Value,
    b: &Branch,
    site: Site<'_>,
    field: &str,
) -> Result<Option<u64>, StatesError> {
    let v = match (lit, path) {
        (Some(Value::String(s)), _) if st.query_language == QueryLanguage::Jsonata => {
            let sv = states_var(input, ctx.clone(), None);
            flow::jsonata_template(&Value::String(s.clone()), &sv, &b.vars, field)
                .map_err(|e| site.wrap(e))?
        }
        (Some(v), _) => v.clone(),
        (None, Some(p)) => flow::query(
            p,
            &Scope {
                input,
                context: ctx,
                vars: &b.vars,
            },
        )
        .map_err(|e| site.wrap(e))?,
        (None, None) => return Ok(None),
    };
    match v.as_u64() {
        Some(n) if n > 0 => Ok(Some(n)),
        _ => Err(site.wrap(StatesError::runtime(format!(
            "The {field} field must be a positive integer, but was: {v}"
        )))),
    }
}

/// True when AWS measures `HeartbeatSeconds` for this resource: the job-run (`.sync`,
/// `.sync:2`) and callback (`.waitForTaskToken`) patterns and activities, whose workers
/// report progress with `SendTaskHeartbeat` (AWS Step Functions API reference,
/// "SendTaskHeartbeat": used by activity workers, callback tasks, and optionally job-run
/// tasks). A request-response call returns as soon as the API answers, so no heartbeat is
/// awaited.
pub fn expects_heartbeats(resource: &str) -> bool {
    let (_, action) = resource.rsplit_once('.').unwrap_or(("", ""));
    matches!(action, "sync" | "sync:2" | "waitForTaskToken")
        || resource
            .split(':')
            .nth(5)
            .is_some_and(|kind| kind == "activity")
}

/// Runs the integration's future, failing with `States.Timeout` after `timeout` seconds or
/// `States.HeartbeatTimeout` after `heartbeat` seconds (no local integration sends
/// heartbeats), whichever is first. Both are measured in real time, so a virtual clock never
/// fires them early. Dropping the future cancels the task.
async fn invoke(
    integration: &dyn Integration,
    request: TaskRequest,
    timeout: Option<u64>,
    heartbeat: Option<u64>,
) -> Result<Value, StatesError> {
    let limit = |s: Option<u64>| s.map(Duration::from_secs).unwrap_or(Duration::MAX);
    let (t, h) = (limit(timeout), limit(heartbeat));
    let (d, err) = if h < t {
        (h, "States.HeartbeatTimeout")
    } else {
        (t, "States.Timeout")
    };
    let fut = integration.invoke(request);
    if d == Duration::MAX {
        return fut.await;
    }
    match tokio::time::timeout(d, fut).await {
        Ok(r) => r,
        Err(_) => Err(StatesError {
            error: err.to_string(),
            cause: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_parts_split_service_integrations() {
        assert_eq!(
            resource_parts("arn:aws:states:::batch:submitJob.sync"),
            ("batch".to_string(), "submitJob.sync".to_string())
        );
        let l = "arn:aws:lambda:us-east-1:123456789012:function:f";
        assert_eq!(resource_parts(l), ("lambda".to_string(), l.to_string()));
    }

    #[test]
    fn heartbeats_are_awaited_for_jobs_callbacks_and_activities_only() {
        for r in [
            "arn:aws:states:::batch:submitJob.sync",
            "arn:aws:states:::states:startExecution.sync:2",
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "arn:aws:states:us-east-1:123456789012:activity:work",
        ] {
            assert!(expects_heartbeats(r), "{r}");
        }
        for r in [
            "arn:aws:states:::batch:submitJob",
            "arn:aws:states:::aws-sdk:s3:getObject",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
        ] {
            assert!(!expects_heartbeats(r), "{r}");
        }
    }
}
