//! The deploy and run-management commands end to end, as a user runs them, against a moto
//! server on 127.0.0.1. Runs execute on moto's own Step Functions interpreter (a second,
//! independent executor of the compiled ASL) with simulated Batch jobs. moto 5.2.5 cannot
//! start executions on an alias, so runs use `trigger --latest`.

mod support;

use flowc::aws::clients::{Aws, CallLog};
use flowc::aws::config::Settings;
use std::path::Path;
use std::process::{Command, Output};
use support::moto::{self, Moto};

const FLOW: &str = r#"flow Simple {
    param n: int = 3 "how many"

    @retry(times=1, minutes_between_retries=0)
    step start {
        run "echo start"
        next end
    }

    step end {
        run "echo done"
    }
}
"#;

fn flowc(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(args)
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run flowc")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A folder with flow.flow ([`FLOW`]) and flowc.toml, and a moto with bucket, roles and job
/// queue.
fn setup(moto_env: &[(&str, &str)]) -> (Moto, tempfile::TempDir) {
    setup_flow(FLOW, moto_env)
}

/// [`setup`] with another flow.
fn setup_flow(flow: &str, moto_env: &[(&str, &str)]) -> (Moto, tempfile::TempDir) {
    let moto = Moto::start_with(moto_env);
    let dir = tempfile::tempdir().expect("tempdir");
    moto::write_files(
        dir.path(),
        &[("flow.flow", flow), ("flowc.toml", &moto.config_toml())],
    );
    let settings =
        Settings::load(&dir.path().join("flow.flow"), None, &|_| None, &[]).expect("settings");
    flowc::aws::block_on(async {
        let aws = Aws::connect(&settings, CallLog::default())
            .await
            .expect("connect");
        moto::seed(&aws).await;
        moto::seed_job_queue(&aws).await;
    })
    .expect("runtime");
    (moto, dir)
}

#[test]
fn deploy_trigger_wait_runs_and_terminate() {
    let (_moto, dir) = setup(&[]);
    let d = dir.path();
    let out = flowc(d, &["deploy", "flow.flow"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).contains("create     state machine   Simple"),
        "{}",
        text(&out)
    );
    let out = flowc(d, &["deploy", "flow.flow", "--plan"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!stdout(&out).contains("create"), "{}", text(&out));

    let out = flowc(
        d,
        &[
            "trigger",
            "flow.flow",
            "--latest",
            "--wait",
            "--poll",
            "1",
            "--param",
            "n=5",
        ],
    );
    assert!(
        out.status.success(),
        "the run must succeed on moto: {}",
        text(&out)
    );
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(
        lines.last().map(String::as_str),
        Some("SUCCEEDED"),
        "{}",
        text(&out)
    );
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("entered start\n"), "{}", text(&out));
    assert!(progress.contains("status: SUCCEEDED"), "{}", text(&out));
    let run_id = lines[0].clone();
    assert!(run_id.starts_with("flowc-"), "{run_id}");

    let out = flowc(d, &["runs", "flow.flow", "--status", "succeeded"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).contains(&format!("{run_id}\tSUCCEEDED")),
        "{}",
        text(&out)
    );

    let out = flowc(d, &["trigger", "flow.flow", "--latest"]);
    assert!(out.status.success(), "{}", text(&out));
    let second = stdout(&out).trim().to_string();
    let out = flowc(d, &["terminate", &second, "--flow", "flow.flow"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout(&out).contains(&second), "{}", text(&out));
    let out = flowc(d, &["runs", "flow.flow"]);
    assert!(stdout(&out).contains(&second), "{}", text(&out));

    let out = flowc(d, &["delete", "flow.flow"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).contains("deleted state machine"),
        "{}",
        text(&out)
    );
    let out = flowc(d, &["runs", "flow.flow"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not deployed"), "{}", text(&out));
}

#[test]
fn why_explains_a_failed_run() {
    let (_moto, dir) = setup(&[("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")]);
    let d = dir.path();
    let out = flowc(d, &["deploy", "flow.flow"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = flowc(
        d,
        &["trigger", "flow.flow", "--latest", "--wait", "--poll", "1"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stdout(&out).ends_with("FAILED\n"), "{}", text(&out));
    let run_id = stdout(&out).lines().next().unwrap_or_default().to_string();
    let out = flowc(d, &["why", &run_id, "--flow", "flow.flow"]);
    assert!(out.status.success(), "{}", text(&out));
    let why = stdout(&out);
    assert!(why.contains("FAILED"), "{why}");
    assert!(why.contains("failed step: start (flow.flow:5)"), "{why}");
    assert!(
        why.contains("attempts: 2"),
        "@retry(times=1) makes two attempts: {why}"
    );
    assert!(
        why.contains(&format!(
            "flowc interpret flow.flow --resume {run_id} --datastore s3://flowc-test/data"
        )),
        "{why}"
    );
}

/// Every Batch job fails; `start` is caught (after its retry) and `end` too, so the run
/// succeeds and `trigger --wait` exits 0, its progress showing the Catch's route.
#[test]
fn a_caught_failure_lets_the_run_succeed() {
    let flow = r#"flow Caught {
    @retry(times=1, minutes_between_retries=0)
    @catch(var="err")
    step start {
        run "exit 3"
        next end
    }

    @catch
    step end {
        run "echo done"
    }
}
"#;
    let (_moto, dir) = setup_flow(flow, &[("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")]);
    let d = dir.path();
    let out = flowc(d, &["deploy", "flow.flow"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = flowc(
        d,
        &["trigger", "flow.flow", "--latest", "--wait", "--poll", "1"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout(&out).ends_with("SUCCEEDED\n"), "{}", text(&out));
    let progress = String::from_utf8_lossy(&out.stderr);
    for state in ["start", "start-RecordError", "end", "end-Caught"] {
        assert!(
            progress.contains(&format!("entered {state}\n")),
            "{state}: {}",
            text(&out)
        );
    }
}

#[test]
fn a_missing_setting_names_the_key_and_where_to_set_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    moto::write_files(
        dir.path(),
        &[
            ("flow.flow", FLOW),
            ("flowc.toml", "[deploy]\ndatastore = \"s3://b/p\"\n"),
        ],
    );
    let out = flowc(dir.path(), &["deploy", "flow.flow", "--plan"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing `[deploy] state_machine_role`"),
        "{err}"
    );
    assert!(
        err.contains("--state-machine-role") && err.contains("FLOWC_STATE_MACHINE_ROLE"),
        "{err}"
    );
}
