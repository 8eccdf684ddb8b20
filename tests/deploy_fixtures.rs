//! Every valid fixture flow deploys to moto, and every one moto can run runs to SUCCEEDED on
//! moto's own Step Functions interpreter (Batch jobs simulated): a second, independent
//! executor of the compiled ASL.
//!
//! Not run (deployed only), because no `flowc task` runs inside moto's simulated Batch jobs:
//! flows with a foreach or a switch (their Map / Choice read `foreach.json` / `switch.json`,
//! which only the runtime writes) and flows with required parameters (no value to give).

mod support;

use flowc::aws::clients::{Aws, CallLog};
use flowc::aws::config::Settings;
use flowc::aws::{deploy, runs};
use flowc::ir::{self, Transition};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::moto::{self, Moto};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ok");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixtures/ok")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    out.sort();
    out
}

fn runnable(flow: &ir::Flow) -> bool {
    let reads_store = flow.steps.iter().any(|s| {
        matches!(
            s.next,
            Transition::Foreach { .. } | Transition::Switch { .. }
        )
    });
    !reads_store && flow.params.iter().all(|p| p.default.is_some())
}

/// Roles and queues the fixtures name in `@batch`.
fn extra_roles_and_queues(flows: &[ir::Flow]) -> (Vec<String>, Vec<String>) {
    let mut roles = vec![];
    let mut queues = vec!["flowc-queue".to_string()];
    for s in flows.iter().flat_map(|f| &f.steps) {
        if let Some(b) = &s.decorators.batch {
            roles.extend(b.value.iam_role.clone());
            queues.extend(b.value.queue.clone());
        }
    }
    roles.sort();
    roles.dedup();
    queues.sort();
    queues.dedup();
    (roles, queues)
}

#[test]
fn every_fixture_deploys_and_the_runnable_ones_succeed_on_moto() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("flowc.toml");
    std::fs::write(&config, moto.config_toml()).expect("config");
    let paths = fixtures();
    let flows: Vec<ir::Flow> = paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("read");
            flowc::check(&text, &Default::default())
                .0
                .unwrap_or_else(|| panic!("{} does not check", p.display()))
        })
        .collect();
    let (roles, queues) = extra_roles_and_queues(&flows);
    let settings = |p: &Path| Settings::load(p, Some(&config), &|_| None, &[]).expect("settings");
    let mut failures = vec![];
    let mut started = vec![];
    flowc::aws::block_on(async {
        let aws = Aws::connect(&settings(&paths[0]), CallLog::default())
            .await
            .expect("connect");
        moto::seed(&aws).await;
        moto::seed_job_queues(&aws, &queues).await;
        moto::seed_roles(&aws, &roles).await;
        for (path, flow) in paths.iter().zip(&flows) {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let desired = match deploy::prepare(path, &settings(path)) {
                Ok(d) => d,
                Err(e) => {
                    failures.push(format!("{name}: prepare: {e}"));
                    continue;
                }
            };
            if let Err(e) = deploy::run(&aws, &desired, false, false).await {
                failures.push(format!("{name}: deploy: {e}"));
                continue;
            }
            if !runnable(flow) {
                continue;
            }
            let input = flowc::backend::eventbridge::input(flow);
            match runs::trigger(&aws, flow, "live", runs::Target::Latest, &input).await {
                Ok((_, arn)) => started.push((name, arn)),
                Err(e) => failures.push(format!("{name}: trigger: {e}")),
            }
        }
        let deadline = Instant::now() + Duration::from_secs(180);
        for (name, arn) in &started {
            loop {
                let status = runs::status(&aws, arn)
                    .await
                    .unwrap_or_else(|e| e.to_string());
                if status != "RUNNING" {
                    if status != "SUCCEEDED" {
                        let why = runs::why(&aws, arn).await.unwrap_or_default();
                        failures.push(format!(
                            "{name}: {status}: {:?} {:?} in {:?}",
                            why.error, why.cause, why.state
                        ));
                    }
                    break;
                }
                if Instant::now() > deadline {
                    failures.push(format!("{name}: still RUNNING after 180 s"));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    })
    .expect("runtime");
    assert!(
        started.len() >= 10,
        "too few runnable fixtures: {started:?}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
