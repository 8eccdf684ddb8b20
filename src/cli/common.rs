//! Helpers shared by subcommands: diagnostic output format, file reading, exit codes.

use flowc::diagnostics::{self, Diagnostic};
use std::io::IsTerminal;
use std::path::Path;

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: user errors found (diagnostics with severity error, a FAILED execution).
pub const EXIT_USER: i32 = 1;
/// Exit code: usage or I/O error, invalid definition or input.
pub const EXIT_USAGE: i32 = 2;

/// `--error-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ErrorFormat {
    /// Rendered with source snippets (colour on a terminal unless `NO_COLOR` is set).
    #[default]
    Human,
    /// One JSON object per line on stderr.
    Json,
}

/// Reads a file as UTF-8, or prints an error and returns `Err(EXIT_USAGE)`.
pub fn read_source(path: &Path) -> Result<String, i32> {
    std::fs::read_to_string(path).map_err(|e| {
        eprintln!("error: cannot read {}: {e}", path.display());
        EXIT_USAGE
    })
}

/// Whether to colour output on stderr: a terminal and no `NO_COLOR`.
pub fn stderr_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Prints `diags` about `file` on stderr in `format`.
pub fn print_diagnostics(format: ErrorFormat, file: &str, source: &str, diags: &[Diagnostic]) {
    match format {
        ErrorFormat::Human => {
            let width = if stderr_color() { 100 } else { 80 };
            eprint!(
                "{}",
                diagnostics::render_human(file, source, diags, stderr_color(), width)
            );
        }
        ErrorFormat::Json => {
            for d in diags {
                eprintln!("{}", diagnostics::to_json(file, source, d));
            }
        }
    }
}
