//! Task integrations behind one trait, so that the local runtime can plug in its own.

pub mod batch;
pub mod mock;
pub mod s3;
mod setup;

pub use setup::{default_integrations, IntegrationOptions};

use super::StatesError;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// One invocation of a Task state's resource, after `Parameters`/`Arguments` were evaluated.
#[derive(Debug, Clone)]
pub struct TaskRequest {
    /// The `Resource` ARN, e.g. `arn:aws:states:::batch:submitJob.sync`.
    pub resource: String,
    /// The evaluated parameters (JSONPath `Parameters` or JSONata `Arguments`).
    pub parameters: Value,
    /// Name of the state machine (for mock configurations).
    pub state_machine: String,
    /// Name of the Task state.
    pub state: String,
    /// The execution's name (`$$.Execution.Name`).
    pub execution_name: String,
    /// 0-based attempt of this state entry (0 first, 1 first retry, …), for mock responses.
    pub attempt: u32,
    /// `TimeoutSeconds` of the state, if any (the executor also enforces it).
    pub timeout_seconds: Option<u64>,
}

/// The future an integration returns.
pub type TaskFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, StatesError>> + Send + 'a>>;

/// A Task resource implementation.
///
/// Dropping the returned future cancels the task: implementations that run processes must
/// kill them (whole process group) on drop.
pub trait Integration: Send + Sync {
    /// True when this integration serves `resource`.
    fn handles(&self, resource: &str) -> bool;

    /// True when this integration serves this very invocation. Defaults to
    /// [`Integration::handles`] on the resource; a mock configuration overrides it to also look
    /// at the state machine and state. Prefer it (through [`select`]) to `handles`.
    fn handles_request(&self, request: &TaskRequest) -> bool {
        self.handles(&request.resource)
    }

    /// Runs the task; `Ok` is the task result (before `ResultSelector`), `Err` a task failure
    /// (`States.TaskFailed` with an AWS-like cause, or the error a mock says to throw).
    fn invoke(&self, request: TaskRequest) -> TaskFuture<'_>;
}

/// The first of `integrations` (in priority order) that serves `request`, by
/// [`Integration::handles_request`].
pub fn select<'a>(
    integrations: &'a [Box<dyn Integration>],
    request: &TaskRequest,
) -> Option<&'a dyn Integration> {
    integrations
        .iter()
        .find(|i| i.handles_request(request))
        .map(|i| i.as_ref())
}
