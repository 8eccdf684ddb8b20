//! `@retry` and `@catch` as deployed, executed by moto's Step Functions interpreter (an
//! executor of the compiled ASL independent of ours) with every simulated Batch job failing
//! (`MOTO_SIMPLE_BATCH_FAIL_AFTER=0`). One moto server per test.
//!
//! What the compiled ASL implies (`flowc compile FLOW --emit asl`, rules in
//! `docs/runtime-layout.md`): `@retry(times=2, minutes_between_retries=0)` is a retrier on
//! `States.TaskFailed`/`States.Timeout` with `MaxAttempts: 2` and `IntervalSeconds: 1`, so the
//! Task is attempted 1 + 2 times; `@catch(var="err")` is a `Catch` on `States.ALL` with
//! `ResultPath: "$.error"` into `STEP-RecordError`, which writes `{"Error", "Cause"}` to
//! `PREFIX/FLOW/runs/RUN_ID/STEP/error.json` and goes on to the successor; `@catch` without
//! `var` goes straight on, and on `end` to the terminal Pass `end-Caught`. A step without
//! `@retry` keeps only the Batch API throttling retrier, which `States.TaskFailed` does not
//! match: it is attempted once. moto 5.2.5 cannot start executions on an alias, so runs start
//! the state machine's latest revision.

mod support;

use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use flowc::aws::clients::{Aws, CallLog};
use flowc::aws::config::Settings;
use flowc::aws::deploy;
use flowc::aws::runs::{self, Target};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::moto::{self, Moto};

/// Every step fails under `MOTO_SIMPLE_BATCH_FAIL_AFTER=0`; every failure is caught, so the
/// run succeeds.
const CAUGHT: &str = r#"flow Caught {
    @retry(times=2, minutes_between_retries=0)
    @catch(var="err")
    step start {
        run "exit 3"
        next after
    }

    @catch
    step after {
        run "echo after"
        next end
    }

    @catch
    step end {
        run "echo done"
    }
}
"#;

/// `start` fails every attempt and nothing catches it.
const RETRIED: &str = r#"flow Retried {
    @retry(times=2, minutes_between_retries=0, backoff=2.0)
    step start {
        run "exit 3"
        next end
    }

    step end {
        run "echo done"
    }
}
"#;

/// A moto whose Batch jobs all fail, with the bucket, roles and job queue of the test config,
/// and a folder holding `flow.flow` and `flowc.toml`.
struct Env {
    _moto: Moto,
    dir: tempfile::TempDir,
    aws: Aws,
}

impl Env {
    fn new(flow: &str) -> Env {
        let moto = Moto::start_with(&[("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")]);
        let dir = tempfile::tempdir().expect("tempdir");
        moto::write_files(
            dir.path(),
            &[("flow.flow", flow), ("flowc.toml", &moto.config_toml())],
        );
        let settings = settings(&dir);
        let aws = block(Aws::connect(&settings, CallLog::default())).expect("connect");
        block(async {
            moto::seed(&aws).await;
            moto::seed_job_queue(&aws).await;
        });
        Env {
            _moto: moto,
            dir,
            aws,
        }
    }

    /// Deploys the flow, runs it with default parameters and waits for the end (at most
    /// 120 s); returns the run id, execution ARN and final status.
    fn deploy_and_run(&self) -> (String, String, String) {
        let path = self.dir.path().join("flow.flow");
        let desired = deploy::prepare(&path, &settings(&self.dir)).expect("prepare");
        block(deploy::run(&self.aws, &desired, false, false)).expect("deploy");
        let input = runs::input(&[]).expect("input");
        let (run_id, arn) = block(runs::trigger(
            &self.aws,
            &desired.flow,
            &desired.alias,
            Target::Latest,
            &input,
        ))
        .expect("trigger");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let status = block(runs::status(&self.aws, &arn)).expect("status");
            if status != "RUNNING" {
                return (run_id, arn, status);
            }
            assert!(
                Instant::now() < deadline,
                "{run_id} still running after 120 s"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// The execution history, oldest first.
    fn history(&self, arn: &str) -> Vec<HistoryEvent> {
        block(async {
            let mut out = vec![];
            let mut pages = self
                .aws
                .sfn
                .get_execution_history()
                .execution_arn(arn)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                out.extend(page.expect("history").events().iter().cloned());
            }
            out
        })
    }

    /// An object of the datastore bucket as JSON. moto stores the string `Body` of an
    /// `aws-sdk:s3:putObject` Task JSON-encoded (a quoted string; AWS and `flowc interpret`
    /// store the string itself), so a JSON string is decoded once more.
    fn object(&self, key: &str) -> serde_json::Value {
        block(async {
            let o = self
                .aws
                .s3
                .get_object()
                .bucket("flowc-test")
                .key(key)
                .send()
                .await
                .unwrap_or_else(|e| panic!("s3://flowc-test/{key}: {e:?}"));
            let bytes = o.body.collect().await.expect("body").into_bytes();
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
            match v.as_str() {
                Some(text) => serde_json::from_str(text).expect("JSON in a JSON string"),
                None => v,
            }
        })
    }
}

fn settings(dir: &tempfile::TempDir) -> Settings {
    Settings::load(&dir.path().join("flow.flow"), None, &|_| None, &[]).expect("settings")
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    flowc::aws::block_on(f).expect("runtime")
}

/// The states entered, in order (the flows here have no Parallel or Map, so events of one
/// state follow its `StateEntered` without interleaving).
fn entered(events: &[HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e.state_entered_event_details())
        .map(|d| d.name().to_string())
        .collect()
}

/// For each Task state: the times (history timestamps) of its `TaskScheduled` events, one
/// per attempt, and how many of them ended in `TaskFailed`.
fn attempts(events: &[HistoryEvent]) -> BTreeMap<String, (Vec<f64>, usize)> {
    let mut out: BTreeMap<String, (Vec<f64>, usize)> = BTreeMap::new();
    let mut state = String::new();
    for e in events {
        if let Some(d) = e.state_entered_event_details() {
            state = d.name().to_string();
        }
        let entry = out.entry(state.clone());
        match e.r#type() {
            HistoryEventType::TaskScheduled => {
                entry.or_default().0.push(e.timestamp().as_secs_f64())
            }
            HistoryEventType::TaskFailed => entry.or_default().1 += 1,
            _ => continue,
        }
    }
    out
}

fn execution_failed(events: &[HistoryEvent]) -> Option<(String, String)> {
    events
        .iter()
        .find_map(|e| e.execution_failed_event_details())
        .map(|d| {
            (
                d.error().unwrap_or_default().to_string(),
                d.cause().unwrap_or_default().to_string(),
            )
        })
}

#[test]
fn retry_then_catch_records_the_error_and_the_run_goes_on() {
    let env = Env::new(CAUGHT);
    let (run_id, arn, status) = env.deploy_and_run();
    let events = env.history(&arn);
    assert_eq!(status, "SUCCEEDED", "{events:#?}");
    let tries = attempts(&events);
    let (start, start_failed) = &tries["start"];
    assert_eq!(
        (start.len(), *start_failed),
        (3, 3),
        "@retry(times=2): 1 + 2 attempts, all failing"
    );
    for (kind, state) in [("after", "after"), ("end", "end")] {
        assert_eq!(tries[state].0.len(), 1, "{kind}: no @retry, one attempt");
        assert_eq!(tries[state].1, 1, "{kind}: the attempt failed");
    }
    let states = entered(&events);
    let tail: Vec<&str> = states
        .iter()
        .map(String::as_str)
        .skip_while(|s| *s != "start")
        .collect();
    assert_eq!(
        tail,
        ["start", "start-RecordError", "after", "end", "end-Caught"],
        "the Catch routes to RecordError, then on to the successor"
    );
    let error = env.object(&format!("data/Caught/runs/{run_id}/start/error.json"));
    assert_eq!(error["Error"], "States.TaskFailed", "{error}");
    let cause = error["Cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("flowc-Caught-start"),
        "the cause is the failed Batch job: {error}"
    );
    // Nothing is recorded for a @catch without `var`.
    let listed = block(
        env.aws
            .s3
            .list_objects_v2()
            .bucket("flowc-test")
            .prefix(format!("data/Caught/runs/{run_id}/"))
            .send(),
    )
    .expect("list run objects");
    let mut keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort();
    let prefix = format!("data/Caught/runs/{run_id}/");
    assert_eq!(
        keys,
        [
            format!("{prefix}parameters.json"),
            format!("{prefix}start/error.json")
        ]
    );
}

#[test]
fn retry_without_catch_fails_with_task_failed_after_every_attempt() {
    let env = Env::new(RETRIED);
    let (_, arn, status) = env.deploy_and_run();
    let events = env.history(&arn);
    assert_eq!(status, "FAILED", "{events:#?}");
    let (error, cause) = execution_failed(&events).expect("ExecutionFailed event");
    assert_eq!(error, "States.TaskFailed");
    assert!(cause.contains("flowc-Retried-start"), "{cause}");
    let tries = attempts(&events);
    let (start, failed) = &tries["start"];
    assert_eq!((start.len(), *failed), (3, 3), "1 + 2 attempts");
    // IntervalSeconds 1, BackoffRate 2.0: waits of at least 1 s, then 2 s.
    let waits: Vec<f64> = start.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(waits[0] >= 1.0 && waits[1] >= 2.0, "{waits:?}");
    assert!(!entered(&events).contains(&"end".to_string()));
    let why = block(runs::why(&env.aws, &arn)).expect("why");
    assert_eq!(why.step.as_deref(), Some("start"), "{why:?}");
    assert_eq!(why.error.as_deref(), Some("States.TaskFailed"));
    assert_eq!(why.attempts, 3, "{why:?}");
}
