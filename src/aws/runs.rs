//! Run management: start an execution (`trigger`), list (`runs`), stop (`terminate`),
//! remove a deployed flow (`delete`), and explain a failed run (`why`).
//!
//! A run id is the execution name (the datastore's `RUN_ID`, see `docs/runtime-layout.md`).

use super::clients::{aws_error, is_not_found, Aws};
use super::deploy::find_state_machine;
use super::schedules;
use super::{Error, Result};
use crate::ir;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use serde_json::Value;
use std::collections::HashMap;

/// Longest execution name (Step Functions `StartExecution`: 1-80 characters).
pub const EXECUTION_NAME_LIMIT: usize = 80;

/// A unique execution name: `flowc-YYYYMMDDTHHMMSSZ-<8 random hex digits>` (29 characters
/// of `[A-Za-z0-9-]`, sortable by start time).
pub fn execution_name() -> String {
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let r: u32 = rand::random();
    format!("flowc-{now}-{r:08x}")
}

/// The execution input: `{"Parameters": {K: V, …}}`, each `V` a JSON literal when it parses
/// as one (`3`, `true`, `"x"`, `[1]`), else a string (so `--param name=ml` needs no quotes).
///
/// Errors: [`Error::Config`] when an item has no `=`.
pub fn input(params: &[String]) -> Result<String> {
    let mut map = serde_json::Map::new();
    for p in params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| Error::Config(format!("--param `{p}` must be NAME=VALUE")))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        map.insert(k.trim().to_string(), value);
    }
    Ok(serde_json::json!({ "Parameters": map }).to_string())
}

/// Where a started execution runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The alias (the deployed version): what schedules and triggers start.
    Alias,
    /// The state machine's latest revision (also what AWS API emulators without alias
    /// execution support, such as moto 5.2.5, can run).
    Latest,
}

/// The state machine ARN of `flow`.
///
/// Errors: [`Error::NotFound`] when the flow is not deployed.
pub async fn state_machine_arn(aws: &Aws, flow: &ir::Flow) -> Result<String> {
    let name = crate::backend::eventbridge::state_machine_name(flow);
    find_state_machine(aws, &name).await?.ok_or_else(|| {
        Error::NotFound(format!(
            "flow {} is not deployed (no state machine {name})",
            flow.name
        ))
    })
}

/// Starts an execution of `flow` with `input`; returns `(run id, execution ARN)`.
///
/// Errors: [`Error::NotFound`], [`Error::Aws`] from `StartExecution`.
pub async fn trigger(
    aws: &Aws,
    flow: &ir::Flow,
    alias: &str,
    target: Target,
    input: &str,
) -> Result<(String, String)> {
    let sm = state_machine_arn(aws, flow).await?;
    let arn = match target {
        Target::Alias => format!("{sm}:{alias}"),
        Target::Latest => sm,
    };
    let name = execution_name();
    let out = aws
        .sfn
        .start_execution()
        .state_machine_arn(arn)
        .name(&name)
        .input(input)
        .send()
        .await
        .map_err(|e| aws_error("states:StartExecution", &e))?;
    Ok((name, out.execution_arn().to_string()))
}

/// One execution as listed by `runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Run id (execution name).
    pub id: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, …
    pub status: String,
    /// Start time, RFC 3339.
    pub started: String,
    /// Stop time, RFC 3339 (empty while running).
    pub stopped: String,
    /// Execution ARN.
    pub arn: String,
}

/// The executions of `flow`, newest first, optionally only those with `status`.
///
/// Errors: [`Error::NotFound`], [`Error::Aws`] from `ListExecutions`.
pub async fn runs(aws: &Aws, flow: &ir::Flow, status: Option<&str>) -> Result<Vec<Run>> {
    let sm = state_machine_arn(aws, flow).await?;
    let mut req = aws.sfn.list_executions().state_machine_arn(sm);
    if let Some(s) = status {
        req = req.status_filter(ExecutionStatus::from(s.to_ascii_uppercase().as_str()));
    }
    let mut out = vec![];
    let mut pages = req.into_paginator().send();
    let time = |t: Option<&aws_smithy_types::DateTime>| {
        t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
            .unwrap_or_default()
    };
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("states:ListExecutions", &e))?;
        for e in page.executions() {
            out.push(Run {
                id: e.name().to_string(),
                status: e.status().as_str().to_string(),
                started: time(Some(e.start_date())),
                stopped: time(e.stop_date()),
                arn: e.execution_arn().to_string(),
            });
        }
    }
    out.sort_by(|a, b| b.started.cmp(&a.started).then(b.id.cmp(&a.id)));
    Ok(out)
}

/// The execution ARN of `run`: `run` itself when it is an ARN, else the execution of that
/// name of the first state machine that has one (one `DescribeExecution` per state machine).
///
/// Errors: [`Error::NotFound`], [`Error::Aws`].
pub async fn execution_arn(aws: &Aws, run: &str) -> Result<String> {
    if run.starts_with("arn:") {
        return Ok(run.to_string());
    }
    let mut pages = aws.sfn.list_state_machines().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("states:ListStateMachines", &e))?;
        for sm in page.state_machines() {
            let arn = sm
                .state_machine_arn()
                .replacen(":stateMachine:", ":execution:", 1)
                + ":"
                + run;
            match aws
                .sfn
                .describe_execution()
                .execution_arn(&arn)
                .send()
                .await
            {
                Ok(_) => return Ok(arn),
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(aws_error("states:DescribeExecution", &e)),
            }
        }
    }
    Err(Error::NotFound(format!("no execution named {run}")))
}

/// Stops a running execution (`StopExecution`).
///
/// Errors: [`Error::NotFound`], [`Error::Aws`].
pub async fn terminate(aws: &Aws, run: &str) -> Result<String> {
    let arn = execution_arn(aws, run).await?;
    aws.sfn
        .stop_execution()
        .execution_arn(&arn)
        .error("flowc.Terminated")
        .cause("stopped by flowc terminate")
        .send()
        .await
        .map_err(|e| aws_error("states:StopExecution", &e))?;
    Ok(arn)
}

/// The status of an execution (`DescribeExecution`).
///
/// Errors: [`Error::Aws`].
pub async fn status(aws: &Aws, arn: &str) -> Result<String> {
    let d = aws
        .sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error("states:DescribeExecution", &e))?;
    Ok(d.status().as_str().to_string())
}

/// The states entered in execution `arn` after history event `after` (0: all), as
/// `(event id, state name)` in order, for progress output.
///
/// Errors: [`Error::Aws`] from `GetExecutionHistory`.
pub async fn entered_states(aws: &Aws, arn: &str, after: i64) -> Result<Vec<(i64, String)>> {
    let mut out = vec![];
    let mut pages = aws
        .sfn
        .get_execution_history()
        .execution_arn(arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("states:GetExecutionHistory", &e))?;
        for e in page.events() {
            if let (true, Some(d)) = (e.id() > after, e.state_entered_event_details()) {
                out.push((e.id(), d.name().to_string()));
            }
        }
    }
    Ok(out)
}

/// Deletes everything `flowc deploy` made for `flow` except the datastore: rule targets and
/// rules, schedules, aliases, the state machine (with its versions) and the flow's job
/// definitions (deregistered). Returns one line per deleted resource.
///
/// Errors: [`Error::Aws`].
pub async fn delete(aws: &Aws, flow: &ir::Flow) -> Result<Vec<String>> {
    let mut done = vec![];
    for name in schedules::candidate_names(flow) {
        if schedules::rule_exists(&aws.events, &name).await? {
            schedules::delete_rule(&aws.events, &name).await?;
            done.push(format!("rule {name}"));
        }
        if schedules::schedule_exists(&aws.scheduler, &name).await? {
            schedules::delete_schedule(&aws.scheduler, &name).await?;
            done.push(format!("schedule {name}"));
        }
    }
    let name = crate::backend::eventbridge::state_machine_name(flow);
    if let Some(sm) = find_state_machine(aws, &name).await? {
        let aliases = aws
            .sfn
            .list_state_machine_aliases()
            .state_machine_arn(&sm)
            .send()
            .await
            .map_err(|e| aws_error("states:ListStateMachineAliases", &e))?;
        for a in aliases.state_machine_aliases() {
            aws.sfn
                .delete_state_machine_alias()
                .state_machine_alias_arn(a.state_machine_alias_arn())
                .send()
                .await
                .map_err(|e| aws_error("states:DeleteStateMachineAlias", &e))?;
            done.push(format!("alias {}", a.state_machine_alias_arn()));
        }
        aws.sfn
            .delete_state_machine()
            .state_machine_arn(&sm)
            .send()
            .await
            .map_err(|e| aws_error("states:DeleteStateMachine", &e))?;
        done.push(format!("state machine {sm}"));
    }
    done.extend(deregister_job_definitions(aws, flow).await?);
    Ok(done)
}

/// Whether `name` is a job definition name flowc made for `flow`: the prefix of
/// `passes::lower::job_definition_name` (`PROJECT-FLOW-` or `flowc-FLOW-`) + 10 hex digits.
pub fn is_flow_job_definition(name: &str, flow: &ir::Flow) -> bool {
    let sample = crate::passes::lower::job_definition_name(flow, "", "", None);
    let prefix = &sample[..sample.len().saturating_sub(10)];
    name.strip_prefix(prefix)
        .is_some_and(|h| h.len() == 10 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn deregister_job_definitions(aws: &Aws, flow: &ir::Flow) -> Result<Vec<String>> {
    let mut arns = vec![];
    let mut pages = aws
        .batch
        .describe_job_definitions()
        .status("ACTIVE")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("batch:DescribeJobDefinitions", &e))?;
        for d in page.job_definitions() {
            let (Some(name), Some(arn)) = (d.job_definition_name(), d.job_definition_arn()) else {
                continue;
            };
            if is_flow_job_definition(name, flow) {
                arns.push(arn.to_string());
            }
        }
    }
    for arn in &arns {
        aws.batch
            .deregister_job_definition()
            .job_definition(arn)
            .send()
            .await
            .map_err(|e| aws_error("batch:DeregisterJobDefinition", &e))?;
    }
    Ok(arns
        .into_iter()
        .map(|a| format!("job definition {a}"))
        .collect())
}

/// Why a run failed, from its execution history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Why {
    /// The execution's status.
    pub status: String,
    /// The state whose task failed (None when no task failed, e.g. a parameter check).
    pub state: Option<String>,
    /// The step it runs (the state name up to the first `-`).
    pub step: Option<String>,
    /// Error name (`States.TaskFailed`, `flowc.MissingParameter`, …).
    pub error: Option<String>,
    /// The cause text (for a Batch task, the job description as JSON).
    pub cause: Option<String>,
    /// The Batch job's `StatusReason`.
    pub status_reason: Option<String>,
    /// The container's exit code (last attempt).
    pub exit_code: Option<i64>,
    /// Attempts made of the failed state (task scheduled events).
    pub attempts: usize,
}

/// Reads the history of `arn` and explains the failure.
///
/// Errors: [`Error::Aws`].
pub async fn why(aws: &Aws, arn: &str) -> Result<Why> {
    let mut events = vec![];
    let mut pages = aws
        .sfn
        .get_execution_history()
        .execution_arn(arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("states:GetExecutionHistory", &e))?;
        events.extend(page.events().iter().cloned());
    }
    let mut w = explain(&events);
    w.status = status(aws, arn).await?;
    Ok(w)
}

/// The failure explanation of a history (pure; see [`why`]).
pub fn explain(events: &[HistoryEvent]) -> Why {
    let by_id: HashMap<i64, &HistoryEvent> = events.iter().map(|e| (e.id(), e)).collect();
    let mut w = Why::default();
    let failed = events
        .iter()
        .rev()
        .find(|e| *e.r#type() == HistoryEventType::TaskFailed);
    if let Some(f) = failed {
        let d = f.task_failed_event_details();
        w.error = d.and_then(|d| d.error()).map(str::to_string);
        w.cause = d.and_then(|d| d.cause()).map(str::to_string);
        w.state = entered_state(f, &by_id);
    } else if let Some(f) = events
        .iter()
        .rev()
        .find(|e| *e.r#type() == HistoryEventType::ExecutionFailed)
    {
        let d = f.execution_failed_event_details();
        w.error = d.and_then(|d| d.error()).map(str::to_string);
        w.cause = d.and_then(|d| d.cause()).map(str::to_string);
        w.state = events.iter().rev().find_map(|e| {
            e.state_entered_event_details()
                .map(|d| d.name().to_string())
        });
    }
    if let Some(state) = &w.state {
        w.step = Some(state.split('-').next().unwrap_or(state).to_string());
        w.attempts = attempts(events, state, &by_id);
    }
    if let Some(cause) = w.cause.as_deref() {
        let (reason, code) = batch_cause(cause);
        w.status_reason = reason;
        w.exit_code = code;
    }
    w
}

/// The state entered before `e`, following `previousEventId`.
fn entered_state(e: &HistoryEvent, by_id: &HashMap<i64, &HistoryEvent>) -> Option<String> {
    let mut cur = by_id.get(&e.previous_event_id()).copied();
    let mut steps = 0;
    while let Some(ev) = cur {
        if let Some(d) = ev.state_entered_event_details() {
            return Some(d.name().to_string());
        }
        steps += 1;
        if steps > by_id.len() || ev.previous_event_id() == ev.id() {
            return None;
        }
        cur = by_id.get(&ev.previous_event_id()).copied();
    }
    None
}

/// Task attempts of `state`: `TaskScheduled` events whose entered state is `state`.
fn attempts(events: &[HistoryEvent], state: &str, by_id: &HashMap<i64, &HistoryEvent>) -> usize {
    events
        .iter()
        .filter(|e| *e.r#type() == HistoryEventType::TaskScheduled)
        .filter(|e| entered_state(e, by_id).as_deref() == Some(state))
        .count()
}

/// `StatusReason` and the last attempt's container exit code from a Batch task's cause (the
/// `DescribeJobs` job as JSON, PascalCase as Step Functions reports it).
pub fn batch_cause(cause: &str) -> (Option<String>, Option<i64>) {
    let Ok(v) = serde_json::from_str::<Value>(cause) else {
        return (None, None);
    };
    let get = |v: &Value, k: &str| v.get(k).or_else(|| v.get(lower_first(k))).cloned();
    let reason = get(&v, "StatusReason").and_then(|r| r.as_str().map(str::to_string));
    let from_attempts = get(&v, "Attempts")
        .and_then(|a| a.as_array().and_then(|a| a.last().cloned()))
        .and_then(|a| get(&a, "Container"))
        .and_then(|c| get(&c, "ExitCode"))
        .and_then(|c| c.as_i64());
    let from_container = get(&v, "Container")
        .and_then(|c| get(&c, "ExitCode"))
        .and_then(|c| c.as_i64());
    (reason, from_attempts.or(from_container))
}

fn lower_first(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::types::{StateEnteredEventDetails, TaskFailedEventDetails};
    use aws_smithy_types::DateTime;

    fn ev(
        id: i64,
        prev: i64,
        t: HistoryEventType,
    ) -> aws_sdk_sfn::types::builders::HistoryEventBuilder {
        HistoryEvent::builder()
            .id(id)
            .previous_event_id(prev)
            .r#type(t)
            .timestamp(DateTime::from_secs(0))
    }

    #[test]
    fn execution_names_are_unique_and_valid() {
        let (a, b) = (execution_name(), execution_name());
        assert_ne!(a, b);
        assert!(a.len() <= EXECUTION_NAME_LIMIT);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
    }

    #[test]
    fn params_are_json_or_strings() {
        let i = input(&["a=3".into(), "b=ml".into(), "c=\"x=y\"".into()]).unwrap();
        assert_eq!(i, r#"{"Parameters":{"a":3,"b":"ml","c":"x=y"}}"#);
        assert!(input(&["nope".into()]).is_err());
    }

    #[test]
    fn batch_cause_reason_and_exit_code() {
        let cause = r#"{"StatusReason":"Essential container in task exited","Attempts":[{"Container":{"ExitCode":2}},{"Container":{"ExitCode":1}}]}"#;
        assert_eq!(
            batch_cause(cause),
            (Some("Essential container in task exited".into()), Some(1))
        );
        assert_eq!(batch_cause("not json"), (None, None));
    }

    #[test]
    fn explain_finds_failed_state_and_attempts() {
        let entered = StateEnteredEventDetails::builder()
            .name("train")
            .build()
            .unwrap();
        let failed = TaskFailedEventDetails::builder()
            .resource_type("batch")
            .resource("submitJob.sync")
            .error("States.TaskFailed")
            .cause(r#"{"StatusReason":"boom","Container":{"ExitCode":3}}"#)
            .build()
            .unwrap();
        let events = vec![
            ev(1, 0, HistoryEventType::ExecutionStarted)
                .build()
                .unwrap(),
            ev(2, 1, HistoryEventType::TaskStateEntered)
                .state_entered_event_details(entered)
                .build()
                .unwrap(),
            ev(3, 2, HistoryEventType::TaskScheduled).build().unwrap(),
            ev(4, 3, HistoryEventType::TaskFailed).build().unwrap(),
            ev(5, 4, HistoryEventType::TaskScheduled).build().unwrap(),
            ev(6, 5, HistoryEventType::TaskFailed)
                .task_failed_event_details(failed)
                .build()
                .unwrap(),
        ];
        let w = explain(&events);
        assert_eq!(w.state.as_deref(), Some("train"));
        assert_eq!(w.step.as_deref(), Some("train"));
        assert_eq!(w.attempts, 2);
        assert_eq!(w.status_reason.as_deref(), Some("boom"));
        assert_eq!(w.exit_code, Some(3));
        assert_eq!(w.error.as_deref(), Some("States.TaskFailed"));
    }

    #[test]
    fn flow_job_definition_names() {
        let flow = crate::check("flow F {\n step start {\n run \"true\"\n next end\n }\n step end {\n run \"true\"\n }\n}\n", &Default::default())
            .0
            .expect("flow");
        assert!(is_flow_job_definition("flowc-F-0123456789", &flow));
        assert!(!is_flow_job_definition("flowc-F-0123", &flow));
        assert!(!is_flow_job_definition("flowc-G-0123456789", &flow));
    }
}
