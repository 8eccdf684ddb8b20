//! schedule: AWS EventBridge cron and rate expressions, and schedule time zones.

use crate::diagnostics::{CodeInfo, Diagnostic};
use crate::ir;

/// Codes raised by schedule (E04xx).
pub const CODES: &[CodeInfo] = &[];

/// Checks the flow's `@schedule`, if any.
pub fn check(flow: &ir::Flow, diags: &mut Vec<Diagnostic>) {
    let _ = (flow, diags);
}
