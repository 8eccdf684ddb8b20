//! The integrations `flowc interpret` uses by default, in priority order.

use super::batch::{BatchOptions, LocalBatch};
use super::mock::MockIntegration;
use super::s3::{S3Folder, S3Integration};
use super::Integration;
use std::path::PathBuf;
use std::sync::Arc;

/// What [`default_integrations`] assembles.
#[derive(Default)]
pub struct IntegrationOptions {
    /// Settings of the local AWS Batch runner.
    pub batch: BatchOptions,
    /// `--s3-root DIR`: the folder standing in for S3; `None` leaves S3 resources unserved.
    pub s3_root: Option<PathBuf>,
    /// A loaded Step Functions Local mock configuration (`--mock-config FILE --test-case NAME`),
    /// see [`MockIntegration::from_file`].
    pub mock: Option<MockIntegration>,
}

/// The integrations in priority order: the mock configuration first (it answers the states
/// its test case names and hands the others to Batch and S3, as Step Functions Local calls the
/// real services for unmocked states), then local AWS Batch, then S3 on a local folder.
/// Choose among them with [`super::select`].
pub fn default_integrations(opts: IntegrationOptions) -> Vec<Box<dyn Integration>> {
    let batch = LocalBatch::new(opts.batch);
    let s3 = opts
        .s3_root
        .map(|root| S3Integration::new(Arc::new(S3Folder::new(root))));
    let mut real: Vec<Arc<dyn Integration>> = vec![Arc::new(batch.clone())];
    if let Some(s3) = &s3 {
        real.push(Arc::new(s3.clone()));
    }
    let mut out: Vec<Box<dyn Integration>> = vec![];
    if let Some(mock) = opts.mock {
        out.push(Box::new(mock.with_fallback(real)));
    }
    out.push(Box::new(batch));
    if let Some(s3) = s3 {
        out.push(Box::new(s3));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{select, TaskRequest};
    use super::*;
    use serde_json::json;

    fn req(resource: &str, state: &str) -> TaskRequest {
        TaskRequest {
            resource: resource.into(),
            parameters: json!({"Bucket": "b", "Key": "k"}),
            state_machine: "sm".into(),
            state: state.into(),
            execution_name: "e".into(),
            attempt: 0,
            timeout_seconds: None,
        }
    }

    #[tokio::test]
    async fn mock_first_then_real_services() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("b/k"), "real").unwrap();
        let cfg = r#"{"StateMachines": {"sm": {"TestCases": {"T": {"Get": "R"}}}},
                      "MockedResponses": {"R": {"0": {"Return": {"Body": "mocked"}}}}}"#;
        let mock = MockIntegration::from_str(cfg, "<text>", "T", None).unwrap();
        let all = default_integrations(IntegrationOptions {
            s3_root: Some(dir.path().to_path_buf()),
            mock: Some(mock),
            ..Default::default()
        });
        assert_eq!(all.len(), 3);
        let get = "arn:aws:states:::aws-sdk:s3:getObject";
        let mocked = select(&all, &req(get, "Get"))
            .unwrap()
            .invoke(req(get, "Get"))
            .await
            .unwrap();
        assert_eq!(mocked["Body"], "mocked");
        let real = select(&all, &req(get, "Other"))
            .unwrap()
            .invoke(req(get, "Other"))
            .await
            .unwrap();
        assert_eq!(real["Body"], "real");
        assert!(select(&all, &req("arn:aws:states:::lambda:invoke", "Other")).is_none());
    }

    #[test]
    fn without_s3_root_or_mock_only_batch() {
        let all = default_integrations(IntegrationOptions::default());
        assert_eq!(all.len(), 1);
        assert!(all[0].handles("arn:aws:states:::batch:submitJob.sync"));
    }
}
