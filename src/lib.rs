//! # flowc
//!
//! A compiler and toolchain for data and ML pipelines. A `.flow` file (a DAG of steps,
//! Metaflow-style) compiles to an Amazon States Language state machine plus EventBridge rules;
//! the embedded ASL engine runs that state machine locally.
//!
//! ```text
//! source ─syntax::parse─▶ AST ─resolve─▶ IR ─validate─▶ IR (joins) ─schedule─▶
//!        ─budget─▶ map decisions ─lower─▶ plan ─backend─▶ ASL / rules / IAM JSON
//! ```
//!
//! See `ARCHITECTURE.md` for the stage table.

pub mod backend;
pub mod diagnostics;
pub mod driver;
pub mod engine;
pub mod ir;
pub mod options;
pub mod passes;
pub mod span;
pub mod syntax;

use diagnostics::Diagnostic;
use options::CompileOptions;

/// The front half of the pipeline: parse, resolve, validate, schedule.
///
/// Returns the IR when no error was found, and every diagnostic (errors and warnings) sorted
/// by position.
pub fn check(source: &str, opts: &CompileOptions) -> (Option<ir::Flow>, Vec<Diagnostic>) {
    let mut diags = vec![];
    let flow = match syntax::parse(source) {
        Ok(file) => passes::resolve::resolve(&file, &opts.with, &mut diags),
        Err(errors) => {
            diags.extend(errors);
            None
        }
    };
    let flow = flow.map(|mut flow| {
        passes::validate::validate(&mut flow, &mut diags);
        passes::schedule::check(&flow, &mut diags);
        flow
    });
    diagnostics::sort(&mut diags);
    let ok = !diags.iter().any(Diagnostic::is_error);
    (flow.filter(|_| ok), diags)
}
