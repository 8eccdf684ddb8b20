//! The compile driver: one straight-line function from source text to every output file.
//! It validates everything first and serialises last, so a semantic error is never
//! discovered halfway through writing output.

use crate::diagnostics::Diagnostic;
use crate::options::CompileOptions;

/// Everything `flowc compile` can write for one flow.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// The flow's name; output files are `<name>.asl.json`, `<name>.rules.json`, ….
    pub flow_name: String,
    /// The ASL definition, pretty-printed JSON with a trailing newline.
    pub asl: String,
    /// EventBridge rules / Scheduler schedules (pretty JSON), when the flow has `@schedule`
    /// or `@trigger`.
    pub rules: Option<String>,
    /// The IAM policy document the state machine role needs (pretty JSON).
    pub iam: String,
    /// The typed IR, rendered only when asked for (`--emit ir`, [`Artifacts::ir_json`]).
    pub flow: crate::ir::Flow,
    /// Reasons for compile choices, for `--explain` (one line each).
    pub explain: Vec<String>,
    /// Warnings (compilation succeeded).
    pub warnings: Vec<Diagnostic>,
}

/// Compiles `source` with `opts` into every output.
///
/// Errors: all diagnostics (sorted by position) when any is an error.
pub fn build(source: &str, opts: &CompileOptions) -> Result<Artifacts, Vec<Diagnostic>> {
    let compiled = crate::compile(source, opts)?;
    let rules = crate::backend::eventbridge::emit(&compiled.flow, opts);
    let iam = crate::backend::iam::emit(&compiled.definition, &compiled.flow, opts);
    Ok(Artifacts {
        flow_name: compiled.flow.name.clone(),
        asl: compiled.asl,
        rules: rules.as_ref().map(pretty),
        iam: pretty(&iam),
        flow: compiled.flow,
        explain: compiled.explain,
        warnings: compiled.warnings,
    })
}

impl Artifacts {
    /// The typed IR as pretty JSON with a trailing newline (for `--emit ir`).
    pub fn ir_json(&self) -> String {
        pretty(&serde_json::to_value(&self.flow).unwrap_or_default())
    }
}

/// Pretty JSON with a trailing newline (the format of every emitted file).
pub fn pretty(value: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}
