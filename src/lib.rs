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

pub mod aws;
pub mod backend;
pub mod diagnostics;
pub mod driver;
pub mod engine;
pub mod ir;
pub mod options;
pub mod passes;
pub mod runtime;
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

/// A compiled flow: the IR, the ASL definition (pretty JSON with a trailing newline, and as
/// a value), the `--explain` lines and the warnings.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The validated IR.
    pub flow: ir::Flow,
    /// The state machine definition, pretty-printed, byte-identical across runs.
    pub asl: String,
    /// The same definition as JSON.
    pub definition: serde_json::Value,
    /// Why each compile choice was made (Map kinds, worst-case history events).
    pub explain: Vec<String>,
    /// Warnings (never errors).
    pub warnings: Vec<Diagnostic>,
}

/// The whole pipeline: [`check`], then budget (Map kinds) → lower → ASL text → budget checks
/// of the generated definition. Every check runs before the result is returned, so a caller
/// never writes output for a flow with an error.
///
/// Errors: every diagnostic (errors and warnings) sorted by position, when any is an error.
pub fn compile(source: &str, opts: &CompileOptions) -> Result<Compiled, Vec<Diagnostic>> {
    let (flow, diags) = check(source, opts);
    match flow {
        Some(flow) => compile_ir(flow, opts, diags),
        None => Err(diags),
    }
}

/// The back half of [`compile`] on an already checked flow (validated IR); `diags` holds the
/// diagnostics found so far (warnings), which are kept.
pub fn compile_ir(
    flow: ir::Flow,
    opts: &CompileOptions,
    mut diags: Vec<Diagnostic>,
) -> Result<Compiled, Vec<Diagnostic>> {
    let maps = passes::budget::plan_maps(&flow, opts, &mut diags);
    let lowered = passes::lower::lower(&flow, &maps, opts);
    let asl = backend::asl::to_pretty(&lowered.machine);
    passes::budget::check_definition(&flow, &asl, &lowered, &mut diags);
    diagnostics::sort(&mut diags);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    let definition = backend::asl::to_value(&lowered.machine);
    Ok(Compiled {
        explain: maps.explain(&flow),
        flow,
        asl,
        definition,
        warnings: diags,
    })
}
