//! S3 on a local folder through the Task integration, and Distributed Map ItemReader /
//! ResultWriter over it.

use flowc::engine::integrations::s3::{S3Folder, S3Integration};
use flowc::engine::integrations::{Integration, TaskRequest};
use flowc::engine::items::{read_items, write_results, IterationOutcome, IterationStatus};
use flowc::engine::StatesError;
use serde_json::{json, Value};
use std::sync::Arc;

fn task(action: &str, parameters: Value) -> TaskRequest {
    TaskRequest {
        resource: format!("arn:aws:states:::aws-sdk:s3:{action}"),
        parameters,
        state_machine: "sm".into(),
        state: "S3".into(),
        execution_name: "e".into(),
        attempt: 0,
        timeout_seconds: None,
    }
}

fn root_with_bucket() -> (tempfile::TempDir, Arc<S3Folder>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let store = Arc::new(S3Folder::new(dir.path()));
    (dir, store)
}

#[tokio::test]
async fn put_get_list_through_the_integration() {
    let (dir, store) = root_with_bucket();
    let s3 = S3Integration::new(store);
    let put = s3
        .invoke(task(
            "putObject",
            json!({"Bucket": "data", "Key": "runs/1/out.txt", "Body": "hello"}),
        ))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("data/runs/1/out.txt")).unwrap(),
        "hello"
    );
    let get = s3
        .invoke(task(
            "getObject",
            json!({"Bucket": "data", "Key": "runs/1/out.txt"}),
        ))
        .await
        .unwrap();
    assert_eq!(get["Body"], "hello");
    assert_eq!(get["ETag"], put["ETag"]);
    assert_eq!(get["ContentLength"], 5);
    let list = s3
        .invoke(task(
            "listObjectsV2",
            json!({"Bucket": "data", "Prefix": "runs/"}),
        ))
        .await
        .unwrap();
    assert_eq!(list["KeyCount"], 1);
    assert_eq!(list["Contents"][0]["Key"], "runs/1/out.txt");
    let missing = s3
        .invoke(task("getObject", json!({"Bucket": "data", "Key": "nope"})))
        .await
        .unwrap_err();
    assert_eq!(missing.error, "S3.NoSuchKeyException");
    let escape = s3
        .invoke(task(
            "putObject",
            json!({"Bucket": "data", "Key": "../x", "Body": ""}),
        ))
        .await
        .unwrap_err();
    assert_eq!(escape.error, "S3.S3Exception");
    assert!(!dir.path().join("x").exists());
}

fn fixture_store() -> (tempfile::TempDir, S3Folder) {
    let (dir, store) = root_with_bucket();
    for f in ["items.csv", "items.json", "items.jsonl"] {
        let body = std::fs::read(format!("fixtures/asl/integrations/{f}")).unwrap();
        store.put_object("data", &format!("in/{f}"), &body).unwrap();
    }
    (dir, (*store).clone())
}

fn reader(key: &str, config: Value) -> Value {
    json!({"Resource": "arn:aws:states:::s3:getObject",
           "Parameters": {"Bucket": "data", "Key": key}, "ReaderConfig": config})
}

#[test]
fn item_reader_formats() {
    let (_d, s) = fixture_store();
    let csv = read_items(
        &reader(
            "in/items.csv",
            json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}),
        ),
        &s,
    )
    .unwrap();
    assert_eq!(csv.len(), 3);
    assert_eq!(
        csv[1],
        json!({"id": "2", "model": "lin, reg", "lr": "0.01"})
    );
    assert_eq!(csv[2]["lr"], "");
    let jsonl = read_items(&reader("in/items.jsonl", json!({"InputType": "JSONL"})), &s).unwrap();
    assert_eq!(
        jsonl,
        vec![json!({"id": 1}), json!({"id": 2}), json!({"id": 3})]
    );
    let json = read_items(
        &reader("in/items.json", json!({"InputType": "JSON", "MaxItems": 3})),
        &s,
    )
    .unwrap();
    assert_eq!(json.len(), 3);
    let listed = read_items(
        &json!({"Resource": "arn:aws:states:::s3:listObjectsV2",
                                     "Parameters": {"Bucket": "data", "Prefix": "in/items.j"}}),
        &s,
    )
    .unwrap();
    let keys: Vec<&str> = listed.iter().map(|i| i["Key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["in/items.json", "in/items.jsonl"]);
}

#[test]
fn result_writer_files_on_disk() {
    let (dir, s) = fixture_store();
    let results = vec![
        IterationOutcome {
            name: "a".into(),
            execution_arn: None,
            input: json!({"id": 1}),
            status: IterationStatus::Succeeded(json!({"score": 0.9})),
            start_ms: Some(0),
            stop_ms: Some(1),
        },
        IterationOutcome {
            name: "b".into(),
            execution_arn: None,
            input: json!({"id": 2}),
            status: IterationStatus::Failed(StatesError::new("States.TaskFailed", "exit 1")),
            start_ms: Some(0),
            stop_ms: Some(1),
        },
        IterationOutcome {
            name: "c".into(),
            execution_arn: None,
            input: json!({"id": 3}),
            status: IterationStatus::Pending,
            start_ms: None,
            stop_ms: None,
        },
    ];
    let writer = json!({"Resource": "arn:aws:states:::s3:putObject",
                        "Parameters": {"Bucket": "data", "Prefix": "results"}});
    let run = "arn:aws:states:us-east-1:123456789012:mapRun:TrainFlow/Foreach:7a1b";
    let out = write_results(&writer, run, &results, &s).unwrap();
    assert_eq!(
        out["ResultWriterDetails"]["Key"],
        "results/7a1b/manifest.json"
    );
    let base = dir.path().join("data/results/7a1b");
    for f in [
        "manifest.json",
        "SUCCEEDED_0.json",
        "FAILED_0.json",
        "PENDING_0.json",
    ] {
        assert!(base.join(f).is_file(), "{f} missing");
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(base.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["DestinationBucket"], "data");
    let size = std::fs::metadata(base.join("FAILED_0.json")).unwrap().len();
    assert_eq!(manifest["ResultFiles"]["FAILED"][0]["Size"], size);
    // Byte for byte, keys in AWS's order (the output is deterministic).
    assert_eq!(
        std::fs::read_to_string(base.join("FAILED_0.json")).unwrap(),
        concat!(
            r#"[{"ExecutionArn":"arn:aws:states:us-east-1:123456789012:execution:TrainFlow/Foreach:b","#,
            r#""Input":"{\"id\":2}","InputDetails":{"Included":true},"Name":"b","#,
            r#""Error":"States.TaskFailed","Cause":"exit 1","RedriveCount":0,"#,
            r#""RedriveStatus":"NOT_REDRIVABLE","#,
            r#""RedriveStatusReason":"Execution is FAILED and cannot be redriven","#,
            r#""StartDate":"1970-01-01T00:00:00.000Z","#,
            r#""StateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:TrainFlow/Foreach","#,
            r#""Status":"FAILED","StopDate":"1970-01-01T00:00:00.001Z"}]"#
        )
    );
    let pending: Value =
        serde_json::from_str(&std::fs::read_to_string(base.join("PENDING_0.json")).unwrap())
            .unwrap();
    assert_eq!(pending[0]["Status"], "PENDING");
    assert_eq!(pending[0]["Input"], "{\"id\":3}");
}
