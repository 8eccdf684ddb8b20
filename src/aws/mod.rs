//! aws: `flowc deploy` and run management on AWS (Step Functions, AWS Batch, S3,
//! EventBridge, EventBridge Scheduler, IAM).
//!
//! ```text
//! flowc.toml + flags + FLOWC_* ─config─▶ Settings ─clients─▶ Aws (SDK clients + call log)
//! flow source ─compile─▶ Desired (definition, job definitions, rules, code package)
//! Desired + what AWS has ─plan─▶ Plan (create / update / unchanged per resource)
//! Plan ─deploy::apply─▶ AWS     (zero mutating calls when every resource is unchanged)
//! ```
//!
//! Every AWS call goes through SDK clients built by [`clients::Aws::connect`], which record
//! each operation in a [`clients::CallLog`] (tests count the mutating ones, and inject
//! faults). Roles are never created: deploy only checks that they exist (`iam:GetRole`).

pub mod clients;
pub mod config;
pub mod deploy;
pub mod diff;
pub mod jobdefs;
pub mod package;
pub mod runs;
pub mod schedules;
pub mod store;

use std::fmt;

/// Tag keys put on the state machine and on each published version.
pub mod tags {
    /// The flow's name.
    pub const FLOW: &str = "flowc:flow";
    /// SHA-256 (hex) of the canonical definition deployed by flowc (see
    /// [`super::diff::definition_hash`]).
    pub const DEFINITION: &str = "flowc:definition-sha256";
    /// SHA-256 (hex) of the code package (its S3 object name).
    pub const CODE: &str = "flowc:code-sha256";
}

/// Why a deploy or run-management command failed.
#[derive(Debug)]
pub enum Error {
    /// A required configuration value is missing or malformed; the text names the key and
    /// where to set it.
    Config(String),
    /// The flow does not compile (diagnostics to print against the source).
    Compile(Vec<crate::diagnostics::Diagnostic>),
    /// An AWS API call failed: `(operation, message)`.
    Aws(String, String),
    /// Reading the flow's folder or writing the package failed.
    Io(String),
    /// The deployed definition was changed outside flowc; the text shows the diff.
    Drift(String),
    /// A resource that must exist does not (a role, a state machine, an execution).
    NotFound(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m) | Error::Io(m) | Error::NotFound(m) => f.write_str(m),
            Error::Compile(d) => write!(f, "the flow does not compile ({} diagnostics)", d.len()),
            Error::Aws(op, m) => write!(f, "AWS {op} failed: {m}"),
            Error::Drift(m) => write!(
                f,
                "the deployed state machine was changed outside flowc:\n{m}\n\
                 rerun with --force to overwrite it"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Result of this module's operations.
pub type Result<T> = std::result::Result<T, Error>;

/// Runs `fut` to completion on a fresh current-thread Tokio runtime (the CLI is synchronous).
///
/// Errors: [`Error::Io`] when the runtime cannot start.
pub fn block_on<F: std::future::Future>(fut: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(fut))
}

/// Connects to AWS with `settings` ([`clients::Aws::connect`], no call log) and runs `f` on
/// the clients, on a fresh runtime ([`block_on`]): what each `flowc` AWS command does.
///
/// Errors: the runtime cannot start, the clients cannot be set up, or `f`'s error.
pub fn with_aws<T, F, Fut>(settings: &config::Settings, f: F) -> Result<T>
where
    F: FnOnce(clients::Aws) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    block_on(async {
        let aws = clients::Aws::connect(settings, clients::CallLog::default()).await?;
        f(aws).await
    })?
}
