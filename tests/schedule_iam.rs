//! IAM back end: the state machine role policy derived from hand-written ASL definitions.

mod schedule_common;

use flowc::backend::iam;
use flowc::options::CompileOptions;
use schedule_common::*;
use serde_json::{json, Value};

fn batch_task(queue: &str, definition: &str) -> Value {
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": {"JobName": "x", "JobQueue": queue, "JobDefinition": definition},
        "End": true
    })
}

fn statements(policy: &Value) -> Vec<Value> {
    policy["PolicyDocument"]["Statement"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn sids(policy: &Value) -> Vec<String> {
    statements(policy)
        .iter()
        .map(|s| s["Sid"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Every statement but the one AWS requires to be unscoped names real resources.
fn star_resources(policy: &Value) -> Vec<String> {
    statements(policy)
        .iter()
        .filter(|s| {
            s["Resource"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("*")))
        })
        .map(|s| s["Sid"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn linear_batch_flow() {
    let asl = json!({"StartAt": "start", "States": {"start": batch_task("ml", "flowc-task")}});
    let f = with_project(flow("Train"), "ranking");
    let policy = iam::emit(&asl, &f, &CompileOptions::default());
    assert_eq!(star_resources(&policy), ["BatchDescribeJobs"]);
    insta::assert_json_snapshot!(policy);
}

#[test]
fn nested_parallel_and_distributed_map() {
    let asl = json!({
        "StartAt": "split",
        "States": {
            "split": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "a", "States": {"a": batch_task("arn:aws:batch:us-east-1:123456789012:job-queue/gpu", "train:3")}},
                    {"StartAt": "b", "States": {"b": batch_task("cpu", "arn:aws:batch:us-east-1:123456789012:job-definition/eval:1")}}
                ],
                "Next": "fan"
            },
            "fan": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.key"}
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "body",
                    "States": {"body": batch_task("cpu", "flowc-task")}
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": "results", "Prefix": "runs/"}
                },
                "End": true
            }
        }
    });
    let mut opts = CompileOptions::default();
    opts.deploy.datastore = Some("s3://flow-data/store/".into());
    let policy = iam::emit(&asl, &flow("Fan"), &opts);
    assert_eq!(star_resources(&policy), ["BatchDescribeJobs"]);
    insta::assert_json_snapshot!(policy);
}

#[test]
fn list_objects_reader_and_sdk_get_object() {
    let asl = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "read",
        "States": {
            "read": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Arguments": {"Bucket": "flow-data", "Key": "{% $states.input.key %}"},
                "Next": "each"
            },
            "each": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:listObjectsV2",
                    "Arguments": {"Bucket": "flow-data", "Prefix": "inputs/"}
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "noop",
                    "States": {"noop": {"Type": "Pass", "End": true}}
                },
                "End": true
            }
        }
    });
    let policy = iam::emit(&asl, &flow("Listing"), &CompileOptions::default());
    // An inline Map starts no child executions; no Batch task, no Batch statements.
    assert_eq!(sids(&policy), ["S3GetObject", "S3ListBucket"]);
    insta::assert_json_snapshot!(policy);
}

#[test]
fn request_response_batch_needs_only_submit() {
    let mut task = batch_task("ml", "d");
    task["Resource"] = json!("arn:aws:states:::batch:submitJob");
    let asl = json!({"StartAt": "t", "States": {"t": task}});
    let policy = iam::emit(&asl, &flow("F"), &CompileOptions::default());
    assert_eq!(sids(&policy), ["BatchSubmitJob"]);
}

#[test]
fn dynamic_queue_is_scoped_to_the_account() {
    let task = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": {"JobName": "x", "JobQueue.$": "$.queue", "JobDefinition": "d:2"},
        "End": true
    });
    let policy = iam::emit(
        &json!({"StartAt": "t", "States": {"t": task}}),
        &flow("F"),
        &CompileOptions::default(),
    );
    assert_eq!(
        statements(&policy)[0]["Resource"],
        json!([
            "arn:aws:batch:${AWS::Region}:${AWS::AccountId}:job-queue/*",
            "arn:aws:batch:${AWS::Region}:${AWS::AccountId}:job-definition/d:2"
        ])
    );
}

#[test]
fn every_statement_has_a_comment_and_no_extra_keys() {
    let asl = json!({"StartAt": "start", "States": {"start": batch_task("ml", "d")}});
    let policy = iam::emit(&asl, &flow("F"), &CompileOptions::default());
    let comments = policy["Comments"].as_object().cloned().unwrap_or_default();
    for s in statements(&policy) {
        let keys: Vec<_> = s
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["Sid", "Effect", "Action", "Resource"]);
        assert!(comments.contains_key(s["Sid"].as_str().unwrap_or_default()));
    }
    assert_eq!(policy["PolicyDocument"]["Version"], "2012-10-17");
}

#[test]
fn events_role_for_scheduled_flows() {
    assert_eq!(
        iam::events_role(&flow("F"), &CompileOptions::default()),
        None
    );
    let f = with_project(with_rate(flow("Nightly"), "1 day"), "ranking");
    insta::assert_json_snapshot!(iam::events_role(&f, &CompileOptions::default()));
}
