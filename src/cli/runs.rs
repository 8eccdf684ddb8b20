//! `flowc runs`: list runs.
//!
//! - `flowc runs FLOW [--status STATUS]`: the executions of the deployed flow on AWS Step
//!   Functions, newest first;
//! - `flowc runs [--local] [FLOW] [--datastore DIR] [--status STATUS]`: the runs of the local
//!   datastore (`.flowc/` beside FLOW, or in the current folder without FLOW), oldest first.
//!   Without FLOW, or with a `--datastore` that is a folder (not `s3://…`), the local
//!   datastore is the default.

use super::common;
use super::deploy::{checked_flow, report_error, SettingsArgs};
use flowc::aws::{self, runs, Error};
use std::path::PathBuf;

/// Arguments of `flowc runs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The flow file (required for AWS; optional with `--local`).
    pub file: Option<PathBuf>,
    /// List the runs of the local datastore instead of the deployed flow's executions.
    #[arg(long)]
    pub local: bool,
    /// Only runs with this status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED).
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Settings.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Runs `flowc runs`: one `RUN_ID  STATUS  STARTED  STOPPED` line per run.
pub fn run(args: Args) -> i32 {
    let local_dir = local_datastore(&args);
    let file = match &args.file {
        Some(file) if !args.local && local_dir.is_none() => file.clone(),
        _ => return run_local(&args, local_dir),
    };
    let result = (|| {
        let s = args.settings.settings(&file)?;
        let flow = checked_flow(&file)?;
        aws::with_aws(&s, |aws| async move {
            runs::runs(&aws, &flow, args.status.as_deref()).await
        })
    })();
    match result {
        Ok(list) => {
            for r in list {
                common::print_stdout(&format!(
                    "{}\t{}\t{}\t{}\n",
                    r.id, r.status, r.started, r.stopped
                ));
            }
            common::EXIT_OK
        }
        Err(e) => {
            let code = report_error(&file, Default::default(), &e);
            if matches!(e, Error::Config(_)) {
                // Most often a local user who has not set AWS up: say where their runs are.
                eprintln!(
                    "help: with a flow file, `flowc runs` lists the deployed flow's executions; \
                     `flowc runs --local {}` lists the runs of `flowc interpret`",
                    file.display()
                );
            }
            code
        }
    }
}

/// `--datastore` when it names a local folder rather than an `s3://` location.
fn local_datastore(args: &Args) -> Option<PathBuf> {
    let d = args.settings.datastore.as_deref()?;
    (!d.starts_with("s3://")).then(|| PathBuf::from(d))
}

/// Lists the runs of the local datastore: `RUN_ID  FLOW  STATUS  STARTED  ENDED  TASKS`,
/// only those of FLOW's flow when FLOW is given.
fn run_local(args: &Args, dir: Option<PathBuf>) -> i32 {
    let dir = match (dir, &args.file) {
        (Some(d), _) => d,
        (None, Some(f)) => f
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join(".flowc"),
        (None, None) => PathBuf::from(".flowc"),
    };
    let flow_name = match &args.file {
        Some(f) => match checked_flow(f) {
            Ok(flow) => Some(flow.name),
            Err(e) => return report_error(f, Default::default(), &e),
        },
        None => None,
    };
    let runs = match flowc::runtime::local::list_runs(&dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return common::EXIT_USAGE;
        }
    };
    let wanted = |r: &flowc::runtime::local::RunSummary| {
        flow_name.as_ref().is_none_or(|n| *n == r.flow)
            && args
                .status
                .as_ref()
                .is_none_or(|s| s.eq_ignore_ascii_case(&r.status))
    };
    for r in runs.iter().filter(|r| wanted(r)) {
        let ended = r.ended.as_deref().unwrap_or("-");
        common::print_stdout(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            r.run_id, r.flow, r.status, r.started, ended, r.tasks
        ));
    }
    common::EXIT_OK
}
