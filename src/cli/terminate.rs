//! `flowc terminate RUN_ID`: stop a running execution.

use super::common;
use super::deploy::{report_error, SettingsArgs};
use flowc::aws::{self, runs};
use std::path::{Path, PathBuf};

/// Arguments of `flowc terminate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run id (execution name) or execution ARN.
    pub run_id: String,
    /// A flow file whose folder's `flowc.toml` gives the settings (optional).
    #[arg(long, value_name = "FILE")]
    pub flow: Option<PathBuf>,
    /// Settings.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Runs `flowc terminate`.
pub fn run(args: Args) -> i32 {
    let file = args
        .flow
        .clone()
        .unwrap_or_else(|| PathBuf::from("flow.flow"));
    let result = args.settings.settings(&file).and_then(|s| {
        aws::with_aws(&s, |aws| async move {
            runs::terminate(&aws, &args.run_id).await
        })
    });
    match result {
        Ok(arn) => {
            common::print_stdout(&format!("terminated {arn}\n"));
            common::EXIT_OK
        }
        Err(e) => report_error(Path::new(""), Default::default(), &e),
    }
}
