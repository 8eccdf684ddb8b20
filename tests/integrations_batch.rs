//! Local AWS Batch behaviours that Retry, Catch and TimeoutSeconds rely on.

use flowc::engine::integrations::batch::{BatchOptions, LocalBatch, OutputSink, SUBMIT_JOB_SYNC};
use flowc::engine::integrations::{Integration, TaskRequest};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

fn request(command: &[&str]) -> TaskRequest {
    TaskRequest {
        resource: SUBMIT_JOB_SYNC.into(),
        parameters: json!({
            "JobName": "step",
            "JobQueue": "q",
            "JobDefinition": "d",
            "ContainerOverrides": {"Command": command}
        }),
        state_machine: "sm".into(),
        state: "Step".into(),
        execution_name: "e".into(),
        attempt: 0,
        timeout_seconds: None,
    }
}

/// Options of a quiet `LocalBatch` whose jobs run in `dir`.
fn options_in(dir: &Path) -> BatchOptions {
    BatchOptions {
        cwd: Some(dir.to_path_buf()),
        sink: OutputSink::Discard,
        ..Default::default()
    }
}

fn batch_in(dir: &Path) -> LocalBatch {
    LocalBatch::new(options_in(dir))
}

#[tokio::test]
async fn fails_twice_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch_in(dir.path());
    // Each run appends a line to `count` (relative: the job's cwd is the tempdir) and fails
    // until the third run.
    let script = "echo x >> count; n=$(wc -l < count); if [ $n -lt 3 ]; then echo \"attempt $n\" >&2; exit 1; fi";
    let mut outcomes = vec![];
    for _ in 0..3 {
        outcomes.push(b.invoke(request(&["sh", "-c", script])).await);
    }
    let first = outcomes[0].as_ref().unwrap_err();
    assert_eq!(first.error, "States.TaskFailed");
    let cause: Value = serde_json::from_str(first.cause.as_deref().unwrap()).unwrap();
    assert_eq!(cause["Container"]["Reason"], "attempt 1");
    assert!(outcomes[1].is_err());
    assert_eq!(outcomes[2].as_ref().unwrap()["Status"], "SUCCEEDED");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("count"))
            .unwrap()
            .lines()
            .count(),
        3
    );
}

/// Processes (not zombies) whose process group is `pgid`, from /proc.
fn live_members(pgid: i32) -> Vec<String> {
    let mut found = vec![];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp …: split after the closing parenthesis of comm.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z" {
            found.push(stat);
        }
    }
    found
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch_in(dir.path());
    let req = request(&["sh", "-c", "echo $$ > pid; sleep 100 & sleep 100"]);
    let res = tokio::time::timeout(Duration::from_millis(500), b.invoke(req)).await;
    assert!(
        res.is_err(),
        "the job should still be running at the timeout"
    );
    let pgid: i32 = std::fs::read_to_string(dir.path().join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut left = live_members(pgid);
    for _ in 0..40 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = live_members(pgid);
    }
    assert!(left.is_empty(), "orphans remain: {left:?}");
}

#[tokio::test]
async fn grandchildren_do_not_outlive_a_finished_job() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch_in(dir.path());
    let req = request(&["sh", "-c", "echo $$ > pid; sleep 100 & exit 0"]);
    let out = tokio::time::timeout(Duration::from_secs(10), b.invoke(req))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out["Status"], "SUCCEEDED");
    let pgid: i32 = std::fs::read_to_string(dir.path().join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(live_members(pgid).is_empty());
}

/// The process group id a job's `sh` wrote to `pid` in `dir`, once it is there.
async fn job_pgid(dir: &Path) -> i32 {
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(dir.join("pid")) {
            if let Ok(pgid) = text.trim().parse() {
                return pgid;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the job never wrote its pid");
}

#[tokio::test]
async fn a_job_stopped_from_outside_gets_sigterm_before_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch_in(dir.path());
    // As a container's main process on AWS Batch: clean up on SIGTERM, then exit.
    let script = "trap 'echo cleaned > cleaned; exit 3' TERM; echo $$ > pid; \
                  while :; do sleep 0.05; done";
    let res = tokio::time::timeout(
        Duration::from_millis(500),
        b.invoke(request(&["sh", "-c", script])),
    )
    .await;
    assert!(res.is_err(), "the job should still be running when stopped");
    let pgid = job_pgid(dir.path()).await;
    flowc::engine::integrations::batch::wait_for_stops();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cleaned")).unwrap_or_default(),
        "cleaned\n",
        "the job's SIGTERM handler did not run"
    );
    assert!(live_members(pgid).is_empty());
}

#[tokio::test]
async fn a_job_that_ignores_sigterm_is_killed_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let grace = Duration::from_millis(700);
    let b = LocalBatch::new(BatchOptions {
        stop_grace: grace,
        ..options_in(dir.path())
    });
    // Ignored signals stay ignored across exec: the `sleep`s ignore SIGTERM too.
    let script = "trap '' TERM; echo $$ > pid; sleep 100 & while :; do sleep 0.05; done";
    let res = tokio::time::timeout(
        Duration::from_millis(500),
        b.invoke(request(&["sh", "-c", script])),
    )
    .await;
    let stopped = std::time::Instant::now();
    assert!(res.is_err(), "the job should still be running when stopped");
    let pgid = job_pgid(dir.path()).await;
    assert!(
        !live_members(pgid).is_empty(),
        "the job was killed at once instead of getting SIGTERM"
    );
    flowc::engine::integrations::batch::wait_for_stops();
    // `stopped` is taken just after the drop: allow for the instants between.
    assert!(
        stopped.elapsed() + Duration::from_millis(50) >= grace,
        "killed before the grace: {:?}",
        stopped.elapsed()
    );
    assert!(
        live_members(pgid).is_empty(),
        "orphans remain: {:?}",
        live_members(pgid)
    );
}
