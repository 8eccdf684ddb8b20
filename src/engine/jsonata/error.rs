//! Errors raised while parsing or evaluating a JSONata expression, with JSONata's own codes
//! (`S0xxx` syntax, `T1xxx`/`T2xxx` type, `D1xxx`/`D3xxx` dynamic) and messages as the
//! reference implementation (jsonata-js 2.x) words them, because AWS Step Functions quotes
//! them in `States.QueryEvaluationError` causes ("… threw an error during evaluation. T1006:
//! Attempted to invoke a non-function").

/// A JSONata error: code, message, character offset in the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JError {
    /// JSONata error code, e.g. `T1006`.
    pub code: &'static str,
    /// Message as jsonata-js words it, e.g. `Attempted to invoke a non-function`.
    pub message: String,
    /// Character offset in the expression (0 when unknown).
    pub pos: usize,
}

impl JError {
    /// An error with `code`, `message` at character offset `pos`.
    pub fn new(code: &'static str, message: impl Into<String>, pos: usize) -> Self {
        JError {
            code,
            message: message.into(),
            pos,
        }
    }
}

impl std::fmt::Display for JError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for JError {}
