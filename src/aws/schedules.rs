//! EventBridge rules (`@schedule` without time zone, `@trigger`) and EventBridge Scheduler
//! schedules (`@schedule` with `timezone`), from `backend::eventbridge::build`, targeting the
//! state machine's alias.
//!
//! Rule and schedule names are deterministic (`<project>-<flow>-schedule`,
//! `<project>-<flow>-trigger`), so a redeploy finds the ones an earlier deploy created and
//! removes those the flow no longer declares.

use super::clients::{aws_error, is_not_found};
use super::deploy::Action;
use super::diff::canonical;
use super::Result;
use crate::backend::eventbridge::{self, CreateSchedule, Rule};
use crate::ir;
use crate::options::CompileOptions;
use aws_sdk_eventbridge::types::{RuleState, Target};
use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, ScheduleState};

/// What the flow declares, with the alias ARN and events role filled in.
#[derive(Debug, Default)]
pub struct Desired {
    /// EventBridge rules with their targets.
    pub rules: Vec<Rule>,
    /// Scheduler schedules.
    pub schedules: Vec<CreateSchedule>,
}

/// Every name flowc may have used for this flow's rules and schedules.
pub fn candidate_names(flow: &ir::Flow) -> Vec<String> {
    let base = eventbridge::base_name(flow);
    vec![
        eventbridge::name(&base, "schedule"),
        eventbridge::name(&base, "trigger"),
    ]
}

/// The rules and schedules of `flow`, targeting `alias_arn` with role `events_role`.
pub fn desired(
    flow: &ir::Flow,
    opts: &CompileOptions,
    alias_arn: &str,
    events_role: &str,
) -> Desired {
    let Some(mut out) = eventbridge::build(flow, opts) else {
        return Desired::default();
    };
    for r in &mut out.rules {
        for t in &mut r.put_targets.targets {
            t.arn = alias_arn.to_string();
            t.role_arn = events_role.to_string();
        }
    }
    for s in &mut out.schedules {
        s.target.arn = alias_arn.to_string();
        s.target.role_arn = events_role.to_string();
    }
    Desired {
        rules: out.rules,
        schedules: out.schedules,
    }
}

fn same_json_text(a: Option<&str>, b: Option<&str>) -> bool {
    let canon = |t: Option<&str>| {
        t.map(|t| {
            serde_json::from_str::<serde_json::Value>(t)
                .map(|v| canonical(&v))
                .unwrap_or_else(|_| t.to_string())
        })
    };
    canon(a) == canon(b)
}

/// What applying `rule` would do.
///
/// Errors: [`super::Error::Aws`] from `DescribeRule` / `ListTargetsByRule`.
pub async fn rule_status(ev: &aws_sdk_eventbridge::Client, rule: &Rule) -> Result<Action> {
    let want = &rule.put_rule;
    let got = match ev.describe_rule().name(&want.name).send().await {
        Ok(r) => r,
        Err(e) if is_not_found(&e) => return Ok(Action::Create),
        Err(e) => return Err(aws_error("events:DescribeRule", &e)),
    };
    let same_rule = got.schedule_expression() == want.schedule_expression.as_deref()
        && same_json_text(got.event_pattern(), want.event_pattern.as_deref())
        && got.state().map(|s| s.as_str()) == Some(want.state)
        && got.description().unwrap_or_default() == want.description;
    let targets = ev
        .list_targets_by_rule()
        .rule(&want.name)
        .send()
        .await
        .map_err(|e| aws_error("events:ListTargetsByRule", &e))?;
    let got_t: Vec<_> = targets
        .targets()
        .iter()
        .map(|t| {
            (
                t.id().to_string(),
                t.arn().to_string(),
                t.role_arn().unwrap_or_default().to_string(),
                t.input().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let want_t: Vec<_> = rule
        .put_targets
        .targets
        .iter()
        .map(|t| {
            (
                t.id.clone(),
                t.arn.clone(),
                t.role_arn.clone(),
                t.input.clone(),
            )
        })
        .collect();
    Ok(if same_rule && got_t == want_t {
        Action::Unchanged
    } else {
        Action::Update
    })
}

/// Puts `rule` and its targets, removing targets of other ids.
///
/// Errors: [`super::Error::Aws`] from `PutRule`, `ListTargetsByRule`, `RemoveTargets`,
/// `PutTargets`.
pub async fn put_rule(ev: &aws_sdk_eventbridge::Client, rule: &Rule, flow: &str) -> Result<()> {
    let r = &rule.put_rule;
    ev.put_rule()
        .name(&r.name)
        .set_schedule_expression(r.schedule_expression.clone())
        .set_event_pattern(r.event_pattern.clone())
        .state(RuleState::from(r.state))
        .description(&r.description)
        .tags(tag(super::tags::FLOW, flow)?)
        .send()
        .await
        .map_err(|e| aws_error("events:PutRule", &e))?;
    let keep: Vec<&str> = rule
        .put_targets
        .targets
        .iter()
        .map(|t| t.id.as_str())
        .collect();
    remove_targets(ev, &r.name, &keep).await?;
    let mut put = ev.put_targets().rule(&r.name);
    for t in &rule.put_targets.targets {
        put = put.targets(
            Target::builder()
                .id(&t.id)
                .arn(&t.arn)
                .role_arn(&t.role_arn)
                .input(&t.input)
                .build()
                .map_err(|e| super::Error::Aws("events:PutTargets".into(), e.to_string()))?,
        );
    }
    put.send()
        .await
        .map_err(|e| aws_error("events:PutTargets", &e))?;
    Ok(())
}

fn tag(k: &str, v: &str) -> Result<aws_sdk_eventbridge::types::Tag> {
    aws_sdk_eventbridge::types::Tag::builder()
        .key(k)
        .value(v)
        .build()
        .map_err(|e| super::Error::Aws("events:PutRule".into(), e.to_string()))
}

/// Removes the targets of rule `name` whose ids are not in `keep`.
async fn remove_targets(ev: &aws_sdk_eventbridge::Client, name: &str, keep: &[&str]) -> Result<()> {
    let got = ev
        .list_targets_by_rule()
        .rule(name)
        .send()
        .await
        .map_err(|e| aws_error("events:ListTargetsByRule", &e))?;
    let extra: Vec<String> = got
        .targets()
        .iter()
        .map(|t| t.id().to_string())
        .filter(|id| !keep.contains(&id.as_str()))
        .collect();
    if !extra.is_empty() {
        ev.remove_targets()
            .rule(name)
            .set_ids(Some(extra))
            .send()
            .await
            .map_err(|e| aws_error("events:RemoveTargets", &e))?;
    }
    Ok(())
}

/// Whether rule `name` exists.
///
/// Errors: [`super::Error::Aws`] from `DescribeRule` other than not found.
pub async fn rule_exists(ev: &aws_sdk_eventbridge::Client, name: &str) -> Result<bool> {
    match ev.describe_rule().name(name).send().await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(aws_error("events:DescribeRule", &e)),
    }
}

/// Removes every target of rule `name`, then the rule.
///
/// Errors: [`super::Error::Aws`].
pub async fn delete_rule(ev: &aws_sdk_eventbridge::Client, name: &str) -> Result<()> {
    remove_targets(ev, name, &[]).await?;
    match ev.delete_rule().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(aws_error("events:DeleteRule", &e)),
    }
}

/// What applying `s` would do.
///
/// Errors: [`super::Error::Aws`] from `GetSchedule`.
pub async fn schedule_status(sc: &aws_sdk_scheduler::Client, s: &CreateSchedule) -> Result<Action> {
    let got = match sc.get_schedule().name(&s.name).send().await {
        Ok(g) => g,
        Err(e) if is_not_found(&e) => return Ok(Action::Create),
        Err(e) => return Err(aws_error("scheduler:GetSchedule", &e)),
    };
    let target = got.target();
    let same = got.schedule_expression() == Some(s.schedule_expression.as_str())
        && got.schedule_expression_timezone() == Some(s.schedule_expression_timezone.as_str())
        && got.description().unwrap_or_default() == s.description
        && got.state().map(|x| x.as_str()) == Some(s.state)
        && target.is_some_and(|t| {
            t.arn() == s.target.arn
                && t.role_arn() == s.target.role_arn
                && t.input().unwrap_or_default() == s.target.input
        });
    Ok(if same {
        Action::Unchanged
    } else {
        Action::Update
    })
}

/// Creates (`update == false`) or updates schedule `s`.
///
/// Errors: [`super::Error::Aws`] from `CreateSchedule` / `UpdateSchedule`.
pub async fn put_schedule(
    sc: &aws_sdk_scheduler::Client,
    s: &CreateSchedule,
    update: bool,
) -> Result<()> {
    let op = if update {
        "scheduler:UpdateSchedule"
    } else {
        "scheduler:CreateSchedule"
    };
    let bad = |e: aws_sdk_scheduler::error::BuildError| super::Error::Aws(op.into(), e.to_string());
    let target = aws_sdk_scheduler::types::Target::builder()
        .arn(&s.target.arn)
        .role_arn(&s.target.role_arn)
        .input(&s.target.input)
        .build()
        .map_err(bad)?;
    let window = FlexibleTimeWindow::builder()
        .mode(FlexibleTimeWindowMode::Off)
        .build()
        .map_err(bad)?;
    let state = ScheduleState::from(s.state);
    let sent = if update {
        sc.update_schedule()
            .name(&s.name)
            .schedule_expression(&s.schedule_expression)
            .schedule_expression_timezone(&s.schedule_expression_timezone)
            .flexible_time_window(window)
            .target(target)
            .state(state)
            .description(&s.description)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error(op, &e))
    } else {
        sc.create_schedule()
            .name(&s.name)
            .schedule_expression(&s.schedule_expression)
            .schedule_expression_timezone(&s.schedule_expression_timezone)
            .flexible_time_window(window)
            .target(target)
            .state(state)
            .description(&s.description)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error(op, &e))
    };
    sent
}

/// Whether schedule `name` exists.
///
/// Errors: [`super::Error::Aws`] from `GetSchedule` other than not found.
pub async fn schedule_exists(sc: &aws_sdk_scheduler::Client, name: &str) -> Result<bool> {
    match sc.get_schedule().name(name).send().await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(aws_error("scheduler:GetSchedule", &e)),
    }
}

/// Deletes schedule `name` (absent is fine).
///
/// Errors: [`super::Error::Aws`] from `DeleteSchedule`.
pub async fn delete_schedule(sc: &aws_sdk_scheduler::Client, name: &str) -> Result<()> {
    match sc.delete_schedule().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(aws_error("scheduler:DeleteSchedule", &e)),
    }
}
