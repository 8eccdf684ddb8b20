//! The SDK clients of one command, sharing one HTTPS client (rustls with ring), the AWS
//! credential chain and a [`CallLog`] interceptor that records every operation.

use super::config::{Key, Settings};
use super::{Error, Result};
use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::sync::{Arc, Mutex};

/// One recorded AWS operation: `(service, operation)`, e.g. `("SFN", "UpdateStateMachine")`.
pub type Call = (String, String);

/// Records every AWS operation made through the clients, in order, and can fail the N-th one
/// after the request reached the server (fault injection for tests: the server applied the
/// change but flowc sees an error, the hardest case for convergence).
#[derive(Debug, Clone, Default)]
pub struct CallLog {
    inner: Arc<Mutex<LogState>>,
}

#[derive(Debug, Default)]
struct LogState {
    calls: Vec<Call>,
    fail_at: Option<usize>,
}

#[derive(Debug, Clone)]
struct InjectFault;

impl Storable for InjectFault {
    type Storer = StoreReplace<Self>;
}

impl CallLog {
    /// Every operation so far.
    pub fn calls(&self) -> Vec<Call> {
        self.inner
            .lock()
            .map(|s| s.calls.clone())
            .unwrap_or_default()
    }

    /// The operations that change something (every one whose name does not start with
    /// `Get`, `Describe`, `List` or `Head`).
    pub fn mutating(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|(_, op)| is_mutating(op))
            .collect()
    }

    /// Fails the operation with 0-based index `n` (counting every operation recorded from
    /// now on is not reset: `n` counts from the first call of this log).
    pub fn fail_at(&self, n: Option<usize>) {
        if let Ok(mut s) = self.inner.lock() {
            s.fail_at = n;
        }
    }

    fn record(&self, call: Call) -> bool {
        match self.inner.lock() {
            Ok(mut s) => {
                s.calls.push(call);
                s.fail_at == Some(s.calls.len() - 1)
            }
            Err(_) => false,
        }
    }
}

/// Whether an operation name changes state (by the AWS naming convention of read-only
/// operations: `Get*`, `Describe*`, `List*`, `Head*`).
pub fn is_mutating(op: &str) -> bool {
    !["Get", "Describe", "List", "Head"]
        .iter()
        .any(|p| op.starts_with(p))
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "flowc-call-log"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        let (service, op) = match cfg.load::<Metadata>() {
            Some(m) => (m.service().to_string(), m.name().to_string()),
            None => ("?".into(), "?".into()),
        };
        if self.record((service, op)) {
            cfg.interceptor_state().store_put(InjectFault);
        }
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        match cfg.load::<InjectFault>() {
            Some(_) => Err("injected fault (flowc test harness)".into()),
            None => Ok(()),
        }
    }
}

/// The SDK clients of one command.
#[derive(Debug, Clone)]
pub struct Aws {
    /// S3 (path-style addressing when an endpoint URL is set).
    pub s3: aws_sdk_s3::Client,
    /// Step Functions.
    pub sfn: aws_sdk_sfn::Client,
    /// AWS Batch.
    pub batch: aws_sdk_batch::Client,
    /// EventBridge (rules, targets).
    pub events: aws_sdk_eventbridge::Client,
    /// EventBridge Scheduler.
    pub scheduler: aws_sdk_scheduler::Client,
    /// IAM (read-only use: `GetRole`).
    pub iam: aws_sdk_iam::Client,
    /// Every operation made through these clients.
    pub log: CallLog,
    /// The region the clients talk to.
    pub region: String,
}

impl Aws {
    /// Builds the clients from `settings` and the standard AWS chain (environment, shared
    /// config and credentials files with the profile, SSO, container and instance metadata).
    /// `[aws] endpoint_url` (or `AWS_ENDPOINT_URL`, read by the chain) sends every call there.
    ///
    /// Errors: [`Error::Config`] when no region is found anywhere.
    pub async fn connect(settings: &Settings, log: CallLog) -> Result<Aws> {
        let (sdk, region) = sdk_config(settings).await?;
        Ok(Aws {
            s3: s3_client(&sdk, &log),
            sfn: aws_sdk_sfn::Client::from_conf(
                aws_sdk_sfn::config::Builder::from(&sdk)
                    .interceptor(log.clone())
                    .build(),
            ),
            batch: aws_sdk_batch::Client::from_conf(
                aws_sdk_batch::config::Builder::from(&sdk)
                    .interceptor(log.clone())
                    .build(),
            ),
            events: aws_sdk_eventbridge::Client::from_conf(
                aws_sdk_eventbridge::config::Builder::from(&sdk)
                    .interceptor(log.clone())
                    .build(),
            ),
            scheduler: aws_sdk_scheduler::Client::from_conf(
                aws_sdk_scheduler::config::Builder::from(&sdk)
                    .interceptor(log.clone())
                    .build(),
            ),
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(&sdk)
                    .interceptor(log.clone())
                    .build(),
            ),
            log,
            region,
        })
    }
}

/// The shared SDK configuration of `settings`: one HTTPS client (rustls with ring), the
/// standard AWS chain (environment, shared config and credentials files with the profile,
/// SSO, container and instance metadata), `[aws] region`, `[aws] profile` and
/// `[aws] endpoint_url` (else `AWS_ENDPOINT_URL`, read by the chain). Returns the
/// configuration and its region.
///
/// Errors: [`Error::Config`] when no region is found anywhere.
pub async fn sdk_config(settings: &Settings) -> Result<(aws_config::SdkConfig, String)> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(r) = settings.get(Key::Region) {
        loader = loader.region(Region::new(r.to_string()));
    }
    if let Some(p) = settings.get(Key::Profile) {
        loader = loader.profile_name(p);
    }
    if let Some(e) = settings.get(Key::EndpointUrl) {
        loader = loader.endpoint_url(e);
    }
    let sdk = loader.load().await;
    let region = sdk.region().map(|r| r.to_string()).ok_or_else(|| {
        Error::Config(
            "no AWS region: set `[aws] region` in flowc.toml, `--region`, `FLOWC_REGION` \
             or `AWS_REGION`"
                .into(),
        )
    })?;
    Ok((sdk, region))
}

/// An S3 client on `sdk` recording its calls in `log`; path-style addressing
/// (`ENDPOINT/BUCKET/KEY`) when an endpoint URL is set, as emulators such as moto need.
pub fn s3_client(sdk: &aws_config::SdkConfig, log: &CallLog) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .interceptor(log.clone())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Converts an SDK error of operation `op` to [`Error::Aws`] with the service's code and
/// message (or the transport error's chain).
pub fn aws_error<E>(op: &str, e: &E) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let text = match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
    };
    Error::Aws(op.to_string(), text)
}

/// Whether an SDK error says the resource does not exist (the error codes of the services
/// flowc uses: `NoSuchEntity` (IAM), `ResourceNotFoundException` (EventBridge, Scheduler,
/// Step Functions aliases), `StateMachineDoesNotExist`, `ExecutionDoesNotExist`, `NotFound` /
/// `NoSuchKey` (S3 HEAD/GET)).
pub fn is_not_found<E: ProvideErrorMetadata>(e: &E) -> bool {
    matches!(
        e.code(),
        Some(
            "NoSuchEntity"
                | "ResourceNotFound"
                | "ResourceNotFoundException"
                | "StateMachineDoesNotExist"
                | "ExecutionDoesNotExist"
                | "NotFound"
                | "NoSuchKey"
                | "404"
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_operations_are_not_mutating() {
        for op in [
            "GetRole",
            "DescribeStateMachine",
            "ListTargetsByRule",
            "HeadObject",
        ] {
            assert!(!is_mutating(op), "{op}");
        }
        for op in ["PutObject", "UpdateStateMachine", "RegisterJobDefinition"] {
            assert!(is_mutating(op), "{op}");
        }
    }

    #[test]
    fn fault_is_injected_at_the_nth_call_only() {
        let log = CallLog::default();
        log.fail_at(Some(1));
        assert!(!log.record(("S3".into(), "HeadObject".into())));
        assert!(log.record(("S3".into(), "PutObject".into())));
        assert!(!log.record(("S3".into(), "PutObject".into())));
        assert_eq!(log.mutating().len(), 2);
    }
}
