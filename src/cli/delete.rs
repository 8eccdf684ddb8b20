//! `flowc delete FLOW`: remove a deployed flow (rules, schedules, aliases, state machine, job
//! definitions); never the datastore.

use super::common;
use super::deploy::{checked_flow, report_error, SettingsArgs};
use flowc::aws::{self, runs};
use std::path::PathBuf;

/// Arguments of `flowc delete`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The flow file.
    pub file: PathBuf,
    /// Settings.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Runs `flowc delete`: one line per deleted resource.
pub fn run(args: Args) -> i32 {
    let result = (|| {
        let s = args.settings.settings(&args.file)?;
        let flow = checked_flow(&args.file)?;
        aws::with_aws(&s, |aws| async move { runs::delete(&aws, &flow).await })
    })();
    match result {
        Ok(done) => {
            for d in &done {
                common::print_stdout(&format!("deleted {d}\n"));
            }
            if done.is_empty() {
                common::print_stdout("nothing deployed\n");
            }
            common::EXIT_OK
        }
        Err(e) => report_error(&args.file, Default::default(), &e),
    }
}
