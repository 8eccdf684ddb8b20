//! `flowc runs FLOW [--status STATUS]`: list the runs of a deployed flow, newest first.

use super::common;
use super::deploy::{checked_flow, report_error, SettingsArgs};
use flowc::aws::clients::{Aws, CallLog};
use flowc::aws::{self, runs};
use std::path::PathBuf;

/// Arguments of `flowc runs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The flow file.
    pub file: PathBuf,
    /// Only runs with this status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED).
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Settings.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Runs `flowc runs`: one `RUN_ID  STATUS  STARTED  STOPPED` line per run.
pub fn run(args: Args) -> i32 {
    let result = (|| {
        let s = args.settings.settings(&args.file)?;
        let flow = checked_flow(&args.file)?;
        aws::block_on(async {
            let aws = Aws::connect(&s, CallLog::default()).await?;
            runs::runs(&aws, &flow, args.status.as_deref()).await
        })?
    })();
    match result {
        Ok(list) => {
            for r in list {
                println!("{}\t{}\t{}\t{}", r.id, r.status, r.started, r.stopped);
            }
            common::EXIT_OK
        }
        Err(e) => report_error(&args.file, Default::default(), &e),
    }
}
