//! `flowc interpret`: exit codes (0 SUCCEEDED, 1 FAILED, 2 invalid definition or input), the
//! one-object `--json` output, `--input @FILE`, `--history`, `--clock virtual`, mock
//! configurations and `--s3-root`.

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

fn flowc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .arg("interpret")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run flowc")
}

fn write(dir: &Path, name: &str, v: &Value) {
    std::fs::write(dir.join(name), v.to_string()).expect("write");
}

fn stdout_json(o: &Output) -> Value {
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text.trim().lines().count(),
        1,
        "exactly one line on stdout: {text}"
    );
    serde_json::from_str(text.trim()).expect("stdout is JSON")
}

#[test]
fn json_success_and_failure_exit_codes() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        "ok.json",
        &json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"r": 1}, "End": true}}}),
    );
    let o = flowc(&["--asl", "ok.json", "--json"], d.path());
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout_json(&o),
        json!({"status": "SUCCEEDED", "output": {"r": 1}})
    );

    write(
        d.path(),
        "fail.json",
        &json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}),
    );
    let o = flowc(&["--asl", "fail.json", "--json"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout_json(&o),
        json!({"status": "FAILED", "error": "E", "cause": null})
    );
}

#[test]
fn invalid_definition_reports_the_json_path() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        "bad.json",
        &json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}),
    );
    let o = flowc(&["--asl", "bad.json", "--json"], d.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("$.States.A.Next: state \"B\" does not exist"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn invalid_input_is_a_usage_error() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        "ok.json",
        &json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
    );
    let o = flowc(&["--asl", "ok.json", "--input", "{nope"], d.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn input_from_file_history_and_virtual_clock() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        "w.json",
        &json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 86400, "End": true}}}),
    );
    write(d.path(), "in.json", &json!({"k": [1, 2]}));
    let t0 = std::time::Instant::now();
    let o = flowc(
        &[
            "--asl",
            "w.json",
            "--input",
            "@in.json",
            "--json",
            "--clock",
            "virtual",
            "--history",
            "h.json",
        ],
        d.path(),
    );
    assert!(t0.elapsed().as_secs() < 5);
    assert_eq!(
        stdout_json(&o),
        json!({"status": "SUCCEEDED", "output": {"k": [1, 2]}})
    );
    let h: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("h.json")).expect("history"))
            .expect("json");
    let types: Vec<&str> = h["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn mock_configuration_answers_task_states() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        "sm.json",
        &json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke", "End": true, "ResultSelector": {"v.$": "$.Payload"}}}}),
    );
    write(
        d.path(),
        "mock.json",
        &json!({
            "StateMachines": {"sm": {"TestCases": {"happy": {"T": "ok"}}}},
            "MockedResponses": {"ok": {"0": {"Return": {"Payload": 42}}}}
        }),
    );
    let o = flowc(
        &[
            "--asl",
            "sm.json",
            "--json",
            "--mock-config",
            "mock.json",
            "--test-case",
            "happy",
        ],
        d.path(),
    );
    assert_eq!(
        stdout_json(&o),
        json!({"status": "SUCCEEDED", "output": {"v": 42}}),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn distributed_map_reads_items_from_the_s3_folder() {
    let d = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(d.path().join("s3/bucket")).expect("mkdir");
    std::fs::write(
        d.path().join("s3/bucket/items.json"),
        "[{\"n\":1},{\"n\":2}]",
    )
    .expect("write");
    write(
        d.path(),
        "m.json",
        &json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": "bucket", "Key": "items.json"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": "$.n", "End": true}}}}}}),
    );
    let o = flowc(&["--asl", "m.json", "--json", "--s3-root", "s3"], d.path());
    assert_eq!(
        stdout_json(&o),
        json!({"status": "SUCCEEDED", "output": [1, 2]}),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn missing_s3_root_fails_the_item_reader() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        "m.json",
        &json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "b", "Key": "k"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": true}}}}}}),
    );
    let o = flowc(&["--asl", "m.json", "--json"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout_json(&o)["error"], json!("States.ItemReaderFailed"));
}

#[test]
fn result_writer_writes_the_map_run_to_the_s3_folder() {
    let d = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(d.path().join("s3/out")).expect("mkdir");
    write(
        d.path(),
        "m.json",
        &json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket.$": "$.bucket", "Prefix": "runs"}},
        "ItemsPath": "$.items",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}),
    );
    let o = flowc(
        &[
            "--asl",
            "m.json",
            "--json",
            "--s3-root",
            "s3",
            "--input",
            r#"{"bucket":"out","items":[1,2]}"#,
        ],
        d.path(),
    );
    let v = stdout_json(&o);
    assert_eq!(
        v["status"],
        json!("SUCCEEDED"),
        "{v} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let key = v["output"]["ResultWriterDetails"]["Key"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert_eq!(v["output"]["ResultWriterDetails"]["Bucket"], json!("out"));
    assert!(
        key.starts_with("runs/") && key.ends_with("manifest.json"),
        "{key}"
    );
    assert!(
        d.path().join("s3/out").join(&key).exists(),
        "manifest written"
    );
}

/// Starts `flowc interpret --asl` on a one-Task machine whose Batch job runs `sh -c SCRIPT`
/// in `dir`, and waits until the job has written its pid to `job.pid`.
fn start_asl_job(dir: &Path, script: &str) -> std::process::Child {
    write(
        dir,
        "job.json",
        &json!({"StartAt": "Job", "States": {"Job": {
            "Type": "Task",
            "Resource": "arn:aws:states:::batch:submitJob.sync",
            "Parameters": {"JobName": "j", "JobQueue": "q", "JobDefinition": "d",
                "ContainerOverrides": {"Command": ["sh", "-c", script]}},
            "End": true}}}),
    );
    let child = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["interpret", "--asl", "job.json"])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run flowc");
    let t = std::time::Instant::now();
    while std::fs::read_to_string(dir.join("job.pid")).map_or(true, |s| s.trim().is_empty()) {
        assert!(t.elapsed().as_secs() < 60, "the job never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

/// Whether the process whose pid `dir/job.pid` holds still runs (a zombie does not).
fn job_alive(dir: &Path) -> bool {
    let pid = std::fs::read_to_string(dir.join("job.pid")).expect("pid");
    let stat = Path::new("/proc").join(pid.trim()).join("stat");
    std::fs::read_to_string(stat).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| !r.trim_start().starts_with('Z'))
    })
}

/// Sends `sig` to the `flowc` this test started.
fn signal(child: &std::process::Child, sig: i32) {
    // SAFETY: sends a signal to the child this test spawned (not yet reaped).
    unsafe { libc::kill(child.id() as i32, sig) };
}

/// SIGINT (a terminal's Ctrl-C) stops an `--asl` execution as `StopExecution` does: its
/// Batch job, in a process group of its own that the terminal's signal does not reach, gets
/// SIGTERM (and runs its handler), `flowc` waits for it and exits with 130.
#[test]
fn sigint_stops_the_execution_and_its_batch_jobs() {
    let d = tempfile::tempdir().expect("tmp");
    let script = "trap 'echo stopped > stopped; exit 143' TERM; echo $$ > job.pid; \
                  while :; do sleep 0.05; done";
    let child = start_asl_job(d.path(), script);
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().expect("wait for flowc");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(
        std::fs::read_to_string(d.path().join("stopped")).unwrap_or_default(),
        "stopped\n",
        "the job's SIGTERM handler did not run"
    );
    assert!(!job_alive(d.path()), "the job outlived flowc");
}

/// A second SIGINT does not wait for the grace (5 s) of a job that ignores its SIGTERM: the
/// job is killed at once and `flowc` exits with 130.
#[test]
fn a_second_sigint_kills_the_stopped_jobs_at_once() {
    let d = tempfile::tempdir().expect("tmp");
    // The handler notes the SIGTERM and the loop goes on (its `sleep`s die of theirs).
    let script = "trap 'echo term >> got' TERM; echo $$ > job.pid; while :; do sleep 0.05; done";
    let child = start_asl_job(d.path(), script);
    let first = std::time::Instant::now();
    signal(&child, libc::SIGINT);
    while std::fs::read_to_string(d.path().join("got")).is_err() {
        assert!(first.elapsed().as_secs() < 4, "the job got no SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().expect("wait for flowc");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    // The grace alone would end the job 5 s after the first SIGINT.
    assert!(
        first.elapsed() < std::time::Duration::from_secs(4),
        "flowc waited {:?} after the first SIGINT",
        first.elapsed()
    );
    assert!(err.contains("Ctrl-C again to kill them now"), "{err}");
    assert!(!job_alive(d.path()), "the job outlived flowc");
}
