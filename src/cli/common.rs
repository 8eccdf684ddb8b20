//! Helpers shared by subcommands: diagnostic output format, file reading, exit codes.

use flowc::diagnostics::{self, Diagnostic};
use std::io::{IsTerminal, Write};
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
        print_stderr(&format!("error: cannot read {}: {e}\n", path.display()));
        EXIT_USAGE
    })
}

/// Writes `text` to stdout. A reader that went away (a broken pipe, as in
/// `flowc compile f.flow | head`) is not an error: `EXIT_OK`. Any other failure is reported
/// on stderr and gives `EXIT_USAGE`. (`print!` would panic in both cases.)
pub fn print_stdout(text: &str) -> i32 {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => EXIT_OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            print_stderr(&format!("error: cannot write to stdout: {e}\n"));
            EXIT_USAGE
        }
    }
}

/// Writes `text` to stderr, ignoring failures: there is nowhere left to report them, and
/// `eprint!` would panic.
pub fn print_stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
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
            print_stderr(&diagnostics::render_human(
                file,
                source,
                diags,
                stderr_color(),
                width,
            ));
        }
        ErrorFormat::Json => {
            for d in diags {
                print_stderr(&format!("{}\n", diagnostics::to_json(file, source, d)));
            }
        }
    }
}
