//! pest pairs → AST, and pest errors → diagnostics.

use super::ast;
use crate::diagnostics::{CodeInfo, Diagnostic};

/// Codes raised by the parser.
pub const CODES: &[CodeInfo] = &[];

/// Parses a whole `.flow` file.
///
/// Errors: every syntax error found, as E01xx diagnostics (at least one when `Err`).
pub fn parse(source: &str) -> Result<ast::File, Vec<Diagnostic>> {
    let _ = source;
    Err(vec![Diagnostic::error(
        "E0101",
        "the parser is not written yet",
    )])
}
