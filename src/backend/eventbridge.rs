//! eventbridge: the requests that start a flow's executions from `@schedule` and `@trigger`.
//!
//! The output is JSON in the shape of the AWS API requests, so a deployer sends each object as
//! is:
//!
//! ```text
//! {
//!   "Rules": [                      one per EventBridge rule (schedule without time zone, trigger)
//!     { "PutRule":    { Name, ScheduleExpression | EventPattern, State, Description },
//!       "PutTargets": { Rule, Targets: [ { Id, Arn, RoleArn, Input } ] } } ],
//!   "Schedules": [                  EventBridge Scheduler, for a schedule with a time zone
//!     { Name, ScheduleExpression, ScheduleExpressionTimezone, FlexibleTimeWindow: {Mode: "OFF"},
//!       Target: { Arn, RoleArn, Input }, State, Description } ]
//! }
//! ```
//!
//! (EventBridge API reference: `PutRule`, `PutTargets`; EventBridge Scheduler API reference:
//! `CreateSchedule`.) Rules carry no time zone: EventBridge evaluates their cron in UTC.
//!
//! ## Placeholders
//! Values only known at deploy time are written in the `Fn::Sub` convention of CloudFormation:
//! the pseudo parameters `${AWS::Region}` and `${AWS::AccountId}`, and `${EventsRoleArn}` for
//! the role that EventBridge assumes when `[deploy] events_role` is not set. A deployer
//! substitutes them textually (or wraps the strings in `Fn::Sub`).

use crate::ir;
use crate::options::CompileOptions;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Placeholder for the AWS Region (CloudFormation pseudo parameter).
pub const REGION: &str = "${AWS::Region}";
/// Placeholder for the AWS account id (CloudFormation pseudo parameter).
pub const ACCOUNT: &str = "${AWS::AccountId}";
/// Placeholder for the IAM role EventBridge and EventBridge Scheduler assume to call
/// `states:StartExecution`, used when `[deploy] events_role` is not set.
pub const EVENTS_ROLE: &str = "${EventsRoleArn}";
/// Alias used when `[deploy] alias` is not set.
pub const DEFAULT_ALIAS: &str = "live";
/// Longest rule or schedule name (EventBridge `PutRule` and Scheduler `CreateSchedule`: 1-64
/// characters of `[.\-_A-Za-z0-9]`).
pub const NAME_LIMIT: usize = 64;

/// The whole output of this back end.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    /// EventBridge rules with their targets.
    pub rules: Vec<Rule>,
    /// EventBridge Scheduler schedules.
    pub schedules: Vec<CreateSchedule>,
}

/// One EventBridge rule: the `PutRule` request and the `PutTargets` request for it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    /// `PutRule` request.
    pub put_rule: PutRule,
    /// `PutTargets` request.
    pub put_targets: PutTargets,
}

/// EventBridge `PutRule` request (default event bus).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRule {
    /// Rule name, ≤ 64 characters of `[.\-_A-Za-z0-9]`.
    pub name: String,
    /// `cron(…)` or `rate(…)`, evaluated in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_expression: Option<String>,
    /// The event pattern as JSON text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_pattern: Option<String>,
    /// Always `"ENABLED"`.
    pub state: &'static str,
    /// Human-readable description (≤ 512 characters).
    pub description: String,
}

/// EventBridge `PutTargets` request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutTargets {
    /// The rule's name.
    pub rule: String,
    /// One target: the state machine alias.
    pub targets: Vec<Target>,
}

/// One `PutTargets` target.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    /// Target id, unique within the rule.
    pub id: String,
    /// State machine alias ARN.
    pub arn: String,
    /// Role EventBridge assumes to call `states:StartExecution`.
    pub role_arn: String,
    /// Execution input as JSON text: `{"Parameters": {…defaults…}}`.
    pub input: String,
}

/// EventBridge Scheduler `CreateSchedule` request (default schedule group).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSchedule {
    /// Schedule name, ≤ 64 characters of `[.\-_A-Za-z0-9]`.
    pub name: String,
    /// `cron(…)` or `rate(…)`.
    pub schedule_expression: String,
    /// IANA time zone the expression is evaluated in.
    pub schedule_expression_timezone: String,
    /// Always `{"Mode": "OFF"}`: start at the scheduled minute.
    pub flexible_time_window: FlexibleTimeWindow,
    /// The state machine alias to start.
    pub target: ScheduleTarget,
    /// Always `"ENABLED"`.
    pub state: &'static str,
    /// Human-readable description (≤ 512 characters).
    pub description: String,
}

/// Scheduler `FlexibleTimeWindow`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FlexibleTimeWindow {
    /// `"OFF"`.
    pub mode: &'static str,
}

/// Scheduler `Target` (templated target `states:StartExecution`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleTarget {
    /// State machine alias ARN.
    pub arn: String,
    /// Role Scheduler assumes to call `states:StartExecution`.
    pub role_arn: String,
    /// Execution input as JSON text.
    pub input: String,
}

/// The rules and schedules of `flow` as JSON, or None when the flow has neither `@schedule`
/// nor `@trigger`. Assumes `passes::schedule::check` accepted the schedule.
pub fn emit(flow: &ir::Flow, opts: &CompileOptions) -> Option<serde_json::Value> {
    let out = build(flow, opts)?;
    // Serialising plain structs of strings cannot fail.
    serde_json::to_value(out).ok()
}

/// The typed form of [`emit`].
pub fn build(flow: &ir::Flow, opts: &CompileOptions) -> Option<Output> {
    let d = &flow.decorators;
    if d.schedule.is_none() && d.trigger.is_none() {
        return None;
    }
    let mut out = Output {
        rules: vec![],
        schedules: vec![],
    };
    if let Some(s) = &d.schedule {
        schedule(flow, opts, &s.value, &mut out);
    }
    if let Some(t) = &d.trigger {
        out.rules.push(trigger_rule(flow, opts, &t.value));
    }
    Some(out)
}

fn schedule(flow: &ir::Flow, opts: &CompileOptions, s: &ir::Schedule, out: &mut Output) {
    let expression = crate::passes::schedule::expression(&s.kind);
    let name = name(&base_name(flow), "schedule");
    let Some(tz) = &s.timezone else {
        let description = format!("Starts flow {} on {expression} (UTC)", flow.name);
        let put_rule = PutRule {
            name: name.clone(),
            schedule_expression: Some(expression),
            event_pattern: None,
            state: "ENABLED",
            description,
        };
        out.rules.push(Rule {
            put_targets: targets(flow, opts, name),
            put_rule,
        });
        return;
    };
    out.schedules.push(CreateSchedule {
        name,
        description: format!("Starts flow {} on {expression} ({})", flow.name, tz.value),
        schedule_expression: expression,
        schedule_expression_timezone: tz.value.clone(),
        flexible_time_window: FlexibleTimeWindow { mode: "OFF" },
        target: ScheduleTarget {
            arn: alias_arn(flow, opts),
            role_arn: events_role(opts),
            input: input(flow),
        },
        state: "ENABLED",
    });
}

fn trigger_rule(flow: &ir::Flow, opts: &CompileOptions, t: &ir::Trigger) -> Rule {
    let name = name(&base_name(flow), "trigger");
    let put_rule = PutRule {
        name: name.clone(),
        schedule_expression: None,
        event_pattern: Some(t.event.to_string()),
        state: "ENABLED",
        description: format!("Starts flow {} when a matching event arrives", flow.name),
    };
    Rule {
        put_targets: targets(flow, opts, name),
        put_rule,
    }
}

fn targets(flow: &ir::Flow, opts: &CompileOptions, rule: String) -> PutTargets {
    let target = Target {
        id: "state-machine".into(),
        arn: alias_arn(flow, opts),
        role_arn: events_role(opts),
        input: input(flow),
    };
    PutTargets {
        rule,
        targets: vec![target],
    }
}

/// The execution input: `{"Parameters": {…}}` with the parameter defaults in declaration order,
/// as JSON text.
pub fn input(flow: &ir::Flow) -> String {
    serde_json::json!({ "Parameters": flow.default_parameters() }).to_string()
}

fn events_role(opts: &CompileOptions) -> String {
    opts.deploy
        .events_role
        .clone()
        .unwrap_or_else(|| EVENTS_ROLE.to_string())
}

/// The name shared by every deployed resource of the flow: `<project>-<flow>` (or `<flow>`
/// without `@project`), with characters outside `[.\-_A-Za-z0-9]` replaced by `-`. Also the
/// state machine's name (Step Functions allows 80 characters; this is kept ≤ 64).
pub fn base_name(flow: &ir::Flow) -> String {
    let raw = match &flow.decorators.project {
        Some(p) => format!("{}-{}", p.value.name, flow.name),
        None => flow.name.clone(),
    };
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    fit(&clean, "")
}

/// The state machine's name (see [`base_name`]).
pub fn state_machine_name(flow: &ir::Flow) -> String {
    base_name(flow)
}

/// `arn:aws:states:${AWS::Region}:${AWS::AccountId}:stateMachine:<name>:<alias>`, the alias
/// being `[deploy] alias` or `live`.
pub fn alias_arn(flow: &ir::Flow, opts: &CompileOptions) -> String {
    let alias = opts.deploy.alias.as_deref().unwrap_or(DEFAULT_ALIAS);
    format!(
        "arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{}:{alias}",
        state_machine_name(flow)
    )
}

/// `<base>-<suffix>` within [`NAME_LIMIT`] (see [`fit`]).
pub fn name(base: &str, suffix: &str) -> String {
    fit(base, &format!("-{suffix}"))
}

/// `base + suffix` when it fits in [`NAME_LIMIT`] characters; otherwise `base` is cut and an
/// 8-hex-digit SHA-256 prefix of the full name is put before `suffix`, so that distinct long
/// names stay distinct and the result is deterministic. `base` and `suffix` are ASCII.
pub fn fit(base: &str, suffix: &str) -> String {
    let full = format!("{base}{suffix}");
    if full.len() <= NAME_LIMIT {
        return full;
    }
    let hash = hex::encode(Sha256::digest(full.as_bytes()));
    let keep = NAME_LIMIT.saturating_sub(suffix.len() + 9);
    let cut: String = base.chars().take(keep).collect();
    format!("{cut}-{}{suffix}", &hash[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept() {
        assert_eq!(name("proj-Flow", "schedule"), "proj-Flow-schedule");
        assert_eq!(fit(&"a".repeat(64), ""), "a".repeat(64));
    }

    #[test]
    fn long_names_get_a_hash_before_the_suffix() {
        let n = name(&"a".repeat(60), "trigger");
        assert_eq!(n.len(), NAME_LIMIT);
        assert!(n.starts_with(&"a".repeat(47)));
        assert!(n.ends_with("-trigger"));
        let hash = &n[48..56];
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()), "{n}");
        assert_ne!(n, name(&"a".repeat(61), "trigger"));
        assert_eq!(fit(&"b".repeat(65), "").len(), NAME_LIMIT);
    }
}
