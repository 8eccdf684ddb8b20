//! `flowc show RUN_ID [STEP[/INDEX]]`: a local run's tasks, or one task's attempts,
//! artifacts and log. Also the flow-run half of `flowc interpret FLOW` ([`FlowArgs`],
//! [`run_flow`]), so that `interpret.rs` only dispatches.
//!
//! Exit codes of `flowc interpret FLOW`: 0 the run succeeded, 1 it failed (or the flow has
//! compile errors), 2 a usage error (bad parameter or `--with`, unknown run…; nothing ran), 130 it was
//! interrupted (SIGINT/SIGTERM; continue it with `--resume`).

use super::common::{print_diagnostics, ErrorFormat, EXIT_OK, EXIT_USAGE, EXIT_USER};
use flowc::engine::clock::ClockMode;
use flowc::runtime::local::{self, Display, LocalError, LocalRunOptions, RunStatus};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Exit code of an interrupted run (128 + SIGINT, as a shell reports it).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Arguments of `flowc show`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run id.
    pub run_id: String,
    /// A step (its tasks) or a task `STEP/INDEX` (its attempts, artifacts and log).
    pub task: Option<String>,
    /// The datastore folder (default `.flowc` in the current directory).
    #[arg(long, value_name = "DIR", default_value = ".flowc")]
    pub datastore: PathBuf,
}

/// Runs `flowc show`.
pub fn run(args: Args) -> i32 {
    match local::inspect::show(&args.datastore, &args.run_id, args.task.as_deref()) {
        Ok(text) => {
            super::common::print_stdout(&text);
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}

/// The options of `flowc interpret FLOW` besides those it shares with `--asl`.
#[derive(Debug, Clone, clap::Args)]
pub struct FlowArgs {
    /// A parameter value `NAME=VALUE`, typed by its declaration (JSON text for `json`).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub param: Vec<String>,
    /// A decorator applied to every step: `DECORATOR` or `DECORATOR:key=value,…`.
    #[arg(long = "with", value_name = "DECORATOR")]
    pub with: Vec<String>,
    /// The run id (default: UTC start time and a random suffix).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// The datastore folder (default `.flowc` beside the flow). With `--resume`, also
    /// `s3://BUCKET/PREFIX`: the origin run is copied from there into `.flowc` beside the flow,
    /// where the new run is written.
    #[arg(long, value_name = "DIR")]
    pub datastore: Option<PathBuf>,
    /// Start a new run continuing RUN_ID: its succeeded tasks are cloned, the failed steps
    /// (or `--from STEP`) and everything downstream run again.
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
    /// With `--resume`: run again from this step.
    #[arg(long, value_name = "STEP", requires = "resume")]
    pub from: Option<String>,
    /// No progress display: only task output, failures and the summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Run each task as a child `flowc task` process, the Batch job's command line as it is
    /// (slower), instead of running the task runtime in-process around the step's command.
    #[arg(long)]
    pub task_process: bool,
}

/// Runs `flowc interpret FLOW` with the shared options of `args`.
pub fn run_flow(flow: &Path, args: &super::interpret::Args, fa: &FlowArgs) -> i32 {
    let display = if args.json {
        Display::Json
    } else if fa.quiet {
        Display::Quiet
    } else if std::io::stderr().is_terminal() {
        Display::Live
    } else {
        Display::Plain
    };
    let opts = LocalRunOptions {
        flow_file: flow.to_path_buf(),
        params: fa.param.clone(),
        max_workers: args.max_workers.unwrap_or_else(default_workers),
        with: fa.with.clone(),
        run_id: fa.run_id.clone(),
        datastore: fa.datastore.clone(),
        history: args.history.clone(),
        clock: match args.clock {
            super::interpret::ClockArg::Real => ClockMode::Real,
            super::interpret::ClockArg::Virtual => ClockMode::Virtual,
        },
        resume: fa.resume.clone(),
        from: fa.from.clone(),
        display,
        exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("flowc")),
        task_process: fa.task_process,
    };
    match local::run(&opts) {
        Ok(o) => {
            if args.json {
                super::common::print_stdout(&format!("{}\n", local::outcome_json(&o)));
            } else {
                eprint!("{}", local::report(&o, &resume_command(flow, fa)));
            }
            match o.status {
                RunStatus::Succeeded => EXIT_OK,
                RunStatus::Failed => EXIT_USER,
                RunStatus::Interrupted => EXIT_INTERRUPTED,
            }
        }
        Err(LocalError::Compile { source, diags }) => {
            let format = if args.json {
                ErrorFormat::Json
            } else {
                ErrorFormat::Human
            };
            print_diagnostics(format, &flow.display().to_string(), &source, &diags);
            // A malformed option (E06xx) is a usage error; anything else is in the flow.
            match diags.iter().all(|d| d.code.starts_with("E06")) {
                true => EXIT_USAGE,
                false => EXIT_USER,
            }
        }
        Err(LocalError::Usage(e)) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}

/// The number of CPUs (1 when unknown).
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `flowc interpret FLOW [--datastore DIR]`: the start of the resume line.
fn resume_command(flow: &Path, fa: &FlowArgs) -> String {
    let mut s = format!("flowc interpret {}", flow.display());
    if let Some(d) = &fa.datastore {
        s.push_str(&format!(" --datastore {}", d.display()));
    }
    s
}
