//! `flowc trigger FLOW [--param K=V]... [--wait]`: start a run of a deployed flow.

use super::common::{self, ErrorFormat};
use super::deploy::{checked_flow, report_error, SettingsArgs};
use flowc::aws::clients::Aws;
use flowc::aws::runs::{self, Target};
use flowc::aws::{self, Error};
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `flowc trigger`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The flow file.
    pub file: PathBuf,
    /// A parameter value `NAME=VALUE` (VALUE a JSON literal, else a string); repeatable.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Wait for the run to finish, printing its status; exit 1 unless it SUCCEEDED.
    #[arg(long)]
    pub wait: bool,
    /// Seconds between status polls with `--wait`.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub poll: u64,
    /// Start the state machine's latest revision instead of the alias (for emulators that
    /// cannot start an alias, such as moto 5.2.5).
    #[arg(long)]
    pub latest: bool,
    /// Settings.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Runs `flowc trigger`.
pub fn run(args: Args) -> i32 {
    let result = (|| {
        let s = args.settings.settings(&args.file)?;
        let flow = checked_flow(&args.file)?;
        let input = runs::input(&args.params)?;
        let target = if args.latest {
            Target::Latest
        } else {
            Target::Alias
        };
        let alias = s.alias();
        aws::with_aws(&s, |aws| async move {
            let (id, arn) = runs::trigger(&aws, &flow, alias, target, &input).await?;
            common::print_stdout(&format!("{id}\n"));
            eprintln!("started {arn}");
            if !args.wait {
                return Ok::<_, Error>("SUCCEEDED".to_string());
            }
            wait(&aws, &arn, Duration::from_secs(args.poll.max(1))).await
        })
    })();
    match result {
        Ok(status) if status == "SUCCEEDED" => common::EXIT_OK,
        Ok(_) => common::EXIT_USER,
        Err(e) => report_error(&args.file, ErrorFormat::Human, &e),
    }
}

/// Polls until the execution leaves RUNNING, printing each state entered and each status
/// change on stderr; returns the final status (also printed on stdout).
async fn wait(aws: &Aws, arn: &str, every: Duration) -> Result<String, Error> {
    let mut last = String::new();
    let mut seen = 0;
    loop {
        for (id, state) in runs::entered_states(aws, arn, seen).await? {
            eprintln!("entered {state}");
            seen = id;
        }
        let status = runs::status(aws, arn).await?;
        if status != last {
            eprintln!("status: {status}");
            last = status.clone();
        }
        if status != "RUNNING" && status != "PENDING_REDRIVE" {
            common::print_stdout(&format!("{status}\n"));
            return Ok(status);
        }
        tokio::time::sleep(every).await;
    }
}
