//! EventBridge back end: rules, Scheduler schedules, names and placeholders.

mod schedule_common;

use flowc::backend::eventbridge;
use flowc::options::CompileOptions;
use schedule_common::*;

fn emit(f: &flowc::ir::Flow) -> serde_json::Value {
    eventbridge::emit(f, &CompileOptions::default()).expect("flow has a schedule or trigger")
}

#[test]
fn no_schedule_no_trigger_no_output() {
    assert_eq!(
        eventbridge::emit(&flow("Plain"), &CompileOptions::default()),
        None
    );
}

#[test]
fn cron_rule_in_utc() {
    let f = with_project(
        with_cron(flow("CountryModels"), "0  10 * * ? *", None),
        "ranking",
    );
    insta::assert_json_snapshot!(emit(&f));
}

#[test]
fn rate_rule_with_deploy_values() {
    let f = with_rate(flow("Nightly"), "1 hour");
    let mut opts = CompileOptions::default();
    opts.deploy.events_role = Some("arn:aws:iam::123456789012:role/flow-events".into());
    opts.deploy.alias = Some("prod".into());
    insta::assert_json_snapshot!(eventbridge::emit(&f, &opts));
}

#[test]
fn time_zone_gives_a_scheduler_schedule() {
    let f = with_cron(flow("Report"), "0 8 ? * MON-FRI *", Some("Europe/Paris"));
    insta::assert_json_snapshot!(emit(&f));
}

#[test]
fn schedule_and_trigger_together() {
    let pattern = serde_json::json!({"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": ["raw"]}}});
    let f = with_trigger(
        with_cron(flow("Ingest"), "0 0 * * ? *", Some("UTC")),
        pattern,
    );
    insta::assert_json_snapshot!(emit(&f));
}

#[test]
fn input_keeps_declaration_order_and_skips_required_parameters() {
    assert_eq!(
        eventbridge::input(&flow("F")),
        r#"{"Parameters":{"alpha":0.1,"countries":["us","ca"]}}"#
    );
}

#[test]
fn long_names_are_cut_with_a_stable_hash() {
    let long = "a".repeat(80);
    let f = with_project(with_rate(flow(&long), "5 minutes"), "p");
    let out = emit(&f);
    let name = out["Rules"][0]["PutRule"]["Name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(name.len(), 64);
    assert!(name.ends_with("-schedule"), "{name}");
    assert_eq!(name, emit(&f)["Rules"][0]["PutRule"]["Name"]);
    let other = with_project(with_rate(flow(&format!("{long}b")), "5 minutes"), "p");
    assert_ne!(emit(&other)["Rules"][0]["PutRule"]["Name"], name.as_str());
}

#[test]
fn names_keep_only_allowed_characters() {
    let f = with_project(flow("Flow"), "my team/ml");
    assert_eq!(eventbridge::base_name(&f), "my-team-ml-Flow");
    assert!(eventbridge::name("x", "schedule")
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)));
}
