//! validate: the graph rules of the spec, decorator placement and value ranges. After it,
//! the graph is a DAG from `start` to `end` with every split and foreach joined (the `join`
//! fields of the IR are filled in).

use crate::diagnostics::{CodeInfo, Diagnostic};
use crate::ir;

/// Codes raised by validate (E03xx).
pub const CODES: &[CodeInfo] = &[];

/// Checks `flow` and fills in the joins of splits and foreaches.
pub fn validate(flow: &mut ir::Flow, diags: &mut Vec<Diagnostic>) {
    let _ = (flow, diags);
}
