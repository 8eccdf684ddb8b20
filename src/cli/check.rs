//! `flowc check FILE...`: parse, validate and check the AWS quotas (everything `compile`
//! does short of writing output); print diagnostics; exit 0 if none are errors.

use super::common::{self, ErrorFormat};
use flowc::options::{self, CompileOptions};
use std::path::PathBuf;

/// Arguments of `flowc check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Flow files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Decorators applied to every step that does not set them: `DECORATOR[:k=v,...]`.
    #[arg(long = "with", value_name = "DECORATOR")]
    pub with: Vec<String>,
    /// How diagnostics are printed.
    #[arg(long, value_enum, default_value_t)]
    pub error_format: ErrorFormat,
}

/// Runs `flowc check`.
pub fn run(args: Args) -> i32 {
    let mut opts = CompileOptions::default();
    for w in &args.with {
        match options::parse_with(w) {
            Ok(d) => opts.with.push(d),
            Err(d) => {
                common::print_diagnostics(args.error_format, "--with", "", &[d]);
                return common::EXIT_USAGE;
            }
        }
    }
    let mut code = common::EXIT_OK;
    for path in &args.files {
        let source = match common::read_source(path) {
            Ok(s) => s,
            Err(c) => {
                // Keep checking the other files; the worst outcome decides the exit code.
                code = code.max(c);
                continue;
            }
        };
        // The whole pipeline short of writing files, so budget problems are reported too.
        let diags = match flowc::compile(&source, &opts) {
            Ok(compiled) => compiled.warnings,
            Err(diags) => diags,
        };
        common::print_diagnostics(
            args.error_format,
            &path.display().to_string(),
            &source,
            &diags,
        );
        if diags.iter().any(|d| d.is_error()) {
            code = code.max(common::EXIT_USER);
        }
    }
    code
}
