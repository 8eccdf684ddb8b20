//! Step Functions Local mock configurations: Throw then Return by invocation, ranges, and
//! hand-off of unmocked states.

use flowc::engine::integrations::mock::MockIntegration;
use flowc::engine::integrations::{
    default_integrations, select, Integration, IntegrationOptions, TaskRequest,
};
use serde_json::json;
use std::path::Path;

const FILE: &str = "fixtures/asl/integrations/MockConfigFile.json";

fn req(state: &str, execution: &str) -> TaskRequest {
    TaskRequest {
        resource: "arn:aws:states:::batch:submitJob.sync".into(),
        parameters: json!({}),
        state_machine: "TrainFlow".into(),
        state: state.into(),
        execution_name: execution.into(),
        attempt: 0,
        timeout_seconds: None,
    }
}

#[tokio::test]
async fn retry_path_throws_three_times_then_returns() {
    let m = MockIntegration::from_file(Path::new(FILE), "RetryPath", Some("TrainFlow")).unwrap();
    let mut seen = vec![];
    for attempt in 0..4 {
        let mut r = req("Train", "e1");
        r.attempt = attempt;
        seen.push(m.invoke(r).await);
    }
    let errors: Vec<_> = seen[..3]
        .iter()
        .map(|r| r.as_ref().unwrap_err().error.clone())
        .collect();
    assert_eq!(
        errors,
        [
            "States.TaskFailed",
            "Batch.AWSBatchException",
            "Batch.AWSBatchException"
        ]
    );
    assert_eq!(
        seen[1].as_ref().unwrap_err().cause.as_deref(),
        Some("Rate exceeded")
    );
    assert_eq!(seen[3].as_ref().unwrap()["Status"], "SUCCEEDED");
    // A fifth invocation has no response: the execution fails as Step Functions Local does.
    assert_eq!(
        m.invoke(req("Train", "e1")).await.unwrap_err().error,
        "States.Runtime"
    );
    // Another execution starts counting afresh.
    assert!(m.invoke(req("Train", "e2")).await.is_err());
}

#[tokio::test]
async fn unmocked_states_go_to_the_real_integrations() {
    let m = MockIntegration::from_file(Path::new(FILE), "HappyPath", None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let all = default_integrations(IntegrationOptions {
        mock: Some(m),
        batch: flowc::engine::integrations::batch::BatchOptions {
            cwd: Some(dir.path().to_path_buf()),
            sink: flowc::engine::integrations::batch::OutputSink::Discard,
            ..Default::default()
        },
        ..Default::default()
    });
    let train = select(&all, &req("Train", "e"))
        .unwrap()
        .invoke(req("Train", "e"))
        .await
        .unwrap();
    assert_eq!(train["JobName"], "train");
    let mut real = req("Evaluate", "e");
    real.parameters = json!({"JobName": "eval", "JobQueue": "q", "JobDefinition": "d",
                             "ContainerOverrides": {"Command": ["touch", "ran"]}});
    let out = select(&all, &real).unwrap().invoke(real).await.unwrap();
    assert_eq!(out["Status"], "SUCCEEDED");
    assert!(dir.path().join("ran").exists());
}

#[test]
fn unknown_test_case_is_a_clear_error() {
    let e = MockIntegration::from_file(Path::new(FILE), "SadPath", Some("TrainFlow"))
        .err()
        .unwrap();
    assert_eq!(e.path, "$.StateMachines.TrainFlow.TestCases");
    assert!(e.to_string().contains("no test case \"SadPath\""), "{e}");
    let e = MockIntegration::from_file(Path::new("fixtures/asl/integrations/none.json"), "C", None)
        .err()
        .unwrap();
    assert!(e.message.starts_with("cannot read"));
}
