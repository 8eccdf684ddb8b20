//! Front end: pest grammar (`grammar/flow.pest`) → [`ast::File`]. This is the only module
//! that sees pest; parse errors become [`Diagnostic`](crate::diagnostics::Diagnostic)s (codes E01xx) that name what was
//! expected in words, at the right span.

pub mod ast;
mod parser;

pub use parser::{parse, CODES, KEYWORDS, MAX_SYNTAX_ERRORS};
