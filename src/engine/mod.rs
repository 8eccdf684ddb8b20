//! The ASL engine: runs any Amazon States Language state machine locally, as AWS Step
//! Functions does. Independent of the flow language.
//!
//! Layers (see ARCHITECTURE.md):
//! - [`jsonpath`], [`intrinsics`], [`template`], [`choice`]: JSONPath-mode data flow
//!   (paths, `States.*` functions, payload templates with `.$` keys, Choice rules);
//! - [`jsonata`]: JSONata-mode expressions (`{% … %}`) and AWS's added functions;
//! - [`definition`], [`exec`], [`history`], [`clock`]: parsing a definition, running an
//!   execution, recording AWS-numbered history events, virtual and real time;
//! - [`integrations`]: Task resources behind one trait (local AWS Batch jobs, a local folder
//!   standing in for S3, Step Functions Local mock configurations).

pub mod choice;
pub mod clock;
pub mod definition;
pub mod exec;
pub mod history;
pub mod integrations;
pub mod intrinsics;
pub mod items;
pub mod jsonata;
pub mod jsonpath;
pub mod template;
pub mod vars;

use serde_json::Value;

/// An ASL error as AWS reports it: an error name (`States.Runtime`, `States.TaskFailed`, a
/// custom name from a Fail state or a task) and an optional cause string worded as AWS words
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatesError {
    /// Error name, matched by `ErrorEquals`.
    pub error: String,
    /// Human-readable cause (AWS wording), `None` where AWS gives none.
    pub cause: Option<String>,
}

impl StatesError {
    /// An error with a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        StatesError {
            error: error.into(),
            cause: Some(cause.into()),
        }
    }

    /// `States.Runtime` with `cause` (data-flow failure in a JSONPath machine).
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new("States.Runtime", cause)
    }

    /// `States.QueryEvaluationError` with `cause` (data-flow failure in a JSONata machine).
    pub fn query_evaluation(cause: impl Into<String>) -> Self {
        Self::new("States.QueryEvaluationError", cause)
    }

    /// `States.IntrinsicFailure` with `cause`.
    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Self::new("States.IntrinsicFailure", cause)
    }
}

impl std::fmt::Display for StatesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cause {
            Some(c) => write!(f, "{}: {}", self.error, c),
            None => f.write_str(&self.error),
        }
    }
}

impl std::error::Error for StatesError {}

/// What a JSONPath-mode expression can read: the state's (effective) input `$`, the context
/// object `$$`, and the variables in scope `$name`.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// `$`: the value paths are evaluated against.
    pub input: &'a Value,
    /// `$$`: the context object (Execution, State, StateMachine, Task, Map).
    pub context: &'a Value,
    /// Variables visible to the state.
    pub vars: &'a vars::Vars,
}
