//! One file per subcommand, each with its own clap `Args` struct and `run`.

pub mod check;
pub mod common;
pub mod compile;
pub mod delete;
pub mod deploy;
pub mod explain;
pub mod interpret;
pub mod runs;
pub mod show;
pub mod task;
pub mod terminate;
pub mod trigger;
pub mod why;

use clap::{Parser, Subcommand};

/// flowc: compile flows to AWS Step Functions, run them locally, deploy them.
#[derive(Debug, Parser)]
#[command(name = "flowc", version, about, long_about = None)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and validate flow files; print diagnostics.
    Check(check::Args),
    /// Compile a flow to ASL, EventBridge rules and IAM policy JSON.
    Compile(compile::Args),
    /// Run a flow (or a state machine with `--asl`) locally on the embedded ASL engine.
    Interpret(interpret::Args),
    /// Describe a diagnostic code, with an example.
    Explain(explain::Args),
    /// Deploy a flow to AWS (Step Functions, Batch, EventBridge); `--plan` changes nothing.
    Deploy(deploy::Args),
    /// Start a run of a deployed flow.
    Trigger(trigger::Args),
    /// List runs: a deployed flow's executions, or the local datastore's (`--local`).
    Runs(runs::Args),
    /// Stop a running run.
    Terminate(terminate::Args),
    /// Remove a deployed flow (never the datastore).
    Delete(delete::Args),
    /// Explain why a run failed, and how to resume it locally.
    Why(why::Args),
    /// Run one task of a flow run (what each compiled AWS Batch job runs).
    Task(task::Args),
    /// Print a local run's tasks, or one task's artifacts and log.
    Show(show::Args),
}

/// Runs the subcommand; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Check(a) => check::run(a),
        Command::Compile(a) => compile::run(a),
        Command::Interpret(a) => interpret::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Deploy(a) => deploy::run(a),
        Command::Trigger(a) => trigger::run(a),
        Command::Runs(a) => runs::run(a),
        Command::Terminate(a) => terminate::run(a),
        Command::Delete(a) => delete::run(a),
        Command::Why(a) => why::run(a),
        Command::Task(a) => task::run(a),
        Command::Show(a) => show::run(a),
    }
}
