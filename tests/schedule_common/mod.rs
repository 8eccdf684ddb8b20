//! Shared builders for the schedule / EventBridge / IAM integration tests (`mod
//! schedule_common;` in `schedule_eventbridge.rs` and `schedule_iam.rs`).

#![allow(dead_code)]

use flowc::ir::{Flow, FlowDecorators, Param, ParamType, Project, Schedule, ScheduleKind, Trigger};
use flowc::span::{Span, Spanned};

/// A flow named `name` with two parameters (one with a default of each kind) and no steps.
pub fn flow(name: &str) -> Flow {
    let param = |n: &str, ty, default: Option<serde_json::Value>| Param {
        name: n.into(),
        span: Span::default(),
        ty,
        default: default.map(|v| Spanned::own(v, Span::default())),
        help: None,
    };
    Flow {
        name: name.into(),
        name_span: Span::default(),
        params: vec![
            param("alpha", ParamType::Float, Some(serde_json::json!(0.1))),
            param("epochs", ParamType::Int, None),
            param(
                "countries",
                ParamType::Json,
                Some(serde_json::json!(["us", "ca"])),
            ),
        ],
        steps: vec![],
        decorators: FlowDecorators::default(),
    }
}

fn lit(s: &str) -> Spanned<String> {
    Spanned::own(s.into(), Span::new(0, s.len() + 2))
}

pub fn with_cron(mut f: Flow, cron: &str, tz: Option<&str>) -> Flow {
    let kind = ScheduleKind::Cron(lit(cron));
    f.decorators.schedule = Some(Spanned::own(
        Schedule {
            kind,
            timezone: tz.map(lit),
        },
        Span::default(),
    ));
    f
}

pub fn with_rate(mut f: Flow, rate: &str) -> Flow {
    let kind = ScheduleKind::Rate(lit(rate));
    f.decorators.schedule = Some(Spanned::own(
        Schedule {
            kind,
            timezone: None,
        },
        Span::default(),
    ));
    f
}

pub fn with_trigger(mut f: Flow, event: serde_json::Value) -> Flow {
    f.decorators.trigger = Some(Spanned::own(Trigger { event }, Span::default()));
    f
}

pub fn with_project(mut f: Flow, name: &str) -> Flow {
    f.decorators.project = Some(Spanned::own(Project { name: name.into() }, Span::default()));
    f
}
