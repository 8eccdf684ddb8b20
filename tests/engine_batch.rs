//! Task states on `arn:aws:states:::batch:submitJob.sync` run as real local processes through
//! `flowc interpret --asl`: Retry on a command that fails twice then succeeds, TimeoutSeconds
//! on one that sleeps, Catch on one that always fails. Checks the execution result and the
//! history, not only the exit code.

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

/// A Batch Task running `sh -c SCRIPT` with optional extra state fields.
fn task(script: &str, extra: Value) -> Value {
    let mut t = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": {
            "JobName": "job", "JobQueue": "q", "JobDefinition": "d",
            "ContainerOverrides": {"Command": ["sh", "-c", script]}
        },
        "End": true
    });
    if let (Some(t), Some(extra)) = (t.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            t.insert(k.clone(), v.clone());
        }
    }
    t
}

/// Runs `definition` in `dir` with the virtual clock; returns (result JSON, history JSON).
fn interpret(dir: &Path, definition: &Value) -> (Value, Value) {
    let def = dir.join("def.json");
    std::fs::write(&def, definition.to_string()).unwrap();
    let history = dir.join("history.json");
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["interpret", "--clock", "virtual", "--json", "--asl"])
        .arg(&def)
        .arg("--history")
        .arg(&history)
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| {
            panic!(
                "no JSON result: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let history: Value = serde_json::from_str(&std::fs::read_to_string(&history).unwrap()).unwrap();
    (result, history)
}

fn event_types(history: &Value) -> Vec<String> {
    history["events"]
        .as_array()
        .or(history.as_array())
        .expect("history has events")
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn retry_runs_the_job_again_until_it_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    // Fails while fewer than 2 marks exist: attempts 1 and 2 fail, attempt 3 succeeds.
    let script = "n=$(ls marks 2>/dev/null | wc -l); mkdir -p marks; touch marks/$n; [ $n -ge 2 ]";
    let retry = json!({"Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 30, "MaxAttempts": 3}]});
    let def = json!({"StartAt": "T", "States": {"T": task(script, retry)}});
    let (result, history) = interpret(dir.path(), &def);
    assert_eq!(result["status"], "SUCCEEDED", "{result}");
    assert_eq!(result["output"]["Status"], "SUCCEEDED");
    assert_eq!(
        std::fs::read_dir(dir.path().join("marks")).unwrap().count(),
        3
    );
    let types = event_types(&history);
    assert_eq!(
        types.iter().filter(|t| *t == "TaskFailed").count(),
        2,
        "{types:?}"
    );
    assert_eq!(
        types.iter().filter(|t| *t == "TaskSucceeded").count(),
        1,
        "{types:?}"
    );
}

#[test]
fn timeout_fails_the_task_with_states_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let def =
        json!({"StartAt": "T", "States": {"T": task("sleep 30", json!({"TimeoutSeconds": 1}))}});
    let started = std::time::Instant::now();
    let (result, history) = interpret(dir.path(), &def);
    assert!(
        started.elapsed().as_secs() < 20,
        "the sleeping job was killed at the timeout"
    );
    assert_eq!(result["status"], "FAILED", "{result}");
    assert_eq!(result["error"], "States.Timeout");
    assert!(event_types(&history).contains(&"TaskTimedOut".to_string()));
}

#[test]
fn catch_routes_a_failed_job_to_its_handler() {
    let dir = tempfile::tempdir().unwrap();
    let catch = json!({"Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}]});
    let t = task("echo boom >&2; exit 3", catch);
    let def = json!({"StartAt": "T", "States": {"T": t, "Handled": {"Type": "Pass", "End": true}}});
    let (result, _) = interpret(dir.path(), &def);
    assert_eq!(result["status"], "SUCCEEDED", "{result}");
    let error = &result["output"]["error"];
    assert_eq!(error["Error"], "States.TaskFailed");
    let cause: Value = serde_json::from_str(error["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Container"]["ExitCode"], 3);
}
