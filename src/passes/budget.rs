//! budget: AWS Step Functions quotas checked at compile time.

use crate::diagnostics::{CodeInfo, Diagnostic};

/// Codes raised by budget (E05xx).
pub const CODES: &[CodeInfo] = &[];

#[allow(dead_code)]
fn placeholder(_: &mut Vec<Diagnostic>) {}
