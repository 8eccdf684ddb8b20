//! The `flowc` binary: parses the command line and dispatches to `cli::*`.
//!
//! Exit codes: 0 success; 1 user errors found (diagnostics, failed execution); 2 usage or
//! I/O error, invalid definition or input. A panic is a flowc bug.

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    let code = cli::run(args);
    // Batch jobs stopped from outside get their grace before SIGKILL; none outlives flowc.
    flowc::engine::integrations::batch::wait_for_stops();
    std::process::exit(code);
}
