//! The EventBridge and IAM back ends on real compiler output: every `fixtures/ok` flow goes
//! through the parser, the front passes and `passes::lower`, and its definition through
//! `backend::iam`.

use flowc::backend::{eventbridge, iam};
use flowc::options::CompileOptions;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn ok_fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ok");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixtures/ok")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    files.sort();
    files
}

fn compile(path: &Path) -> flowc::Compiled {
    let source = std::fs::read_to_string(path).expect("readable fixture");
    flowc::compile(&source, &CompileOptions::default())
        .unwrap_or_else(|d| panic!("{}: {d:#?}", path.display()))
}

/// Every `"Resource"` string anywhere in the definition.
fn resources(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("Resource", Value::String(s)) => out.push(s.clone()),
                    _ => resources(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| resources(v, out)),
        _ => {}
    }
}

fn statements(policy: &Value) -> Vec<Value> {
    policy["PolicyDocument"]["Statement"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn iam_knows_every_integration_lower_emits() {
    for path in ok_fixtures() {
        let c = compile(&path);
        let mut used = vec![];
        resources(&c.definition, &mut used);
        for r in used {
            assert!(
                iam::KNOWN_RESOURCES.contains(&r.as_str()),
                "{}: {r} has no IAM statement",
                path.display()
            );
        }
    }
}

#[test]
fn iam_uses_star_only_where_aws_requires_it() {
    for path in ok_fixtures() {
        let c = compile(&path);
        let policy = iam::emit(&c.definition, &c.flow, &CompileOptions::default());
        for s in statements(&policy) {
            let text = s["Resource"].to_string();
            let star = s["Resource"]
                .as_array()
                .is_some_and(|r| r.contains(&Value::from("*")));
            assert!(
                !star || s["Sid"] == "BatchDescribeJobs",
                "{}: {text}",
                path.display()
            );
            let sid = s["Sid"].as_str().unwrap_or_default();
            assert!(
                policy["Comments"][sid].is_string(),
                "{}: {sid} has no comment",
                path.display()
            );
        }
        let distributed = c.asl.contains("\"DISTRIBUTED\"");
        let has_start = statements(&policy)
            .iter()
            .any(|s| s["Sid"] == "DistributedMapStartExecution");
        assert_eq!(distributed, has_start, "{}", path.display());
    }
}

#[test]
fn rules_exist_exactly_for_scheduled_or_triggered_flows() {
    for path in ok_fixtures() {
        let c = compile(&path);
        let d = &c.flow.decorators;
        let rules = eventbridge::emit(&c.flow, &CompileOptions::default());
        assert_eq!(
            rules.is_some(),
            d.schedule.is_some() || d.trigger.is_some(),
            "{}",
            path.display()
        );
        let Some(rules) = rules else { continue };
        let names = rules["Rules"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| &r["PutRule"]["Name"])
            .chain(
                rules["Schedules"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| &s["Name"]),
            );
        for name in names {
            let name = name.as_str().unwrap_or_default();
            assert!(!name.is_empty() && name.len() <= 64, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)),
                "{name}"
            );
        }
    }
}

#[test]
fn spec_example_outputs() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ok/spec_example.flow");
    let c = compile(&path);
    let opts = CompileOptions::default();
    insta::assert_json_snapshot!("spec_example_rules", eventbridge::emit(&c.flow, &opts));
    insta::assert_json_snapshot!("spec_example_iam", iam::emit(&c.definition, &c.flow, &opts));
}

#[test]
fn foreach_options_iam() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ok/foreach_options.flow");
    let c = compile(&path);
    let mut opts = CompileOptions::default();
    opts.deploy.datastore = Some("s3://flowc-placeholder-datastore/flowc".into());
    insta::assert_json_snapshot!(iam::emit(&c.definition, &c.flow, &opts));
}
