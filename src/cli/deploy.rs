//! `flowc deploy FLOW [--plan] [--force]`: compile, package and deploy a flow to AWS Step
//! Functions, AWS Batch and EventBridge (see `docs/deploy.md`). Also the settings flags shared
//! by the run-management commands.

use super::common::{self, ErrorFormat};
use flowc::aws::config::{Key, Settings};
use flowc::aws::{self, Error};
use std::path::{Path, PathBuf};

/// AWS and deployment settings, each overriding `FLOWC_*` variables and `flowc.toml`.
#[derive(Debug, Clone, clap::Args)]
pub struct SettingsArgs {
    /// `flowc.toml` to read (default: the one beside the flow, if any).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// AWS Region (else `[aws] region`, `FLOWC_REGION`, the AWS chain).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Profile of the shared AWS config files.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (emulators, tests).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Datastore `s3://bucket/prefix`.
    #[arg(long, value_name = "S3URL")]
    pub datastore: Option<String>,
    /// Default AWS Batch job queue.
    #[arg(long, value_name = "QUEUE")]
    pub job_queue: Option<String>,
    /// AWS Batch job definition managed outside flowc (default: flowc registers one).
    #[arg(long, value_name = "NAME")]
    pub job_definition: Option<String>,
    /// IAM role ARN of the Batch jobs.
    #[arg(long, value_name = "ARN")]
    pub job_role: Option<String>,
    /// IAM role ARN of the state machine.
    #[arg(long, value_name = "ARN")]
    pub state_machine_role: Option<String>,
    /// IAM role ARN EventBridge and Scheduler use to start executions.
    #[arg(long, value_name = "ARN")]
    pub events_role: Option<String>,
    /// Default container image.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Alias name (default `live`).
    #[arg(long, value_name = "NAME")]
    pub alias: Option<String>,
}

impl SettingsArgs {
    /// The settings for the flow at `flow`: file, then `FLOWC_*`, then these flags.
    pub fn settings(&self, flow: &Path) -> Result<Settings, Error> {
        let flags = [
            (Key::Region, self.region.clone()),
            (Key::Profile, self.profile.clone()),
            (Key::EndpointUrl, self.endpoint_url.clone()),
            (Key::Datastore, self.datastore.clone()),
            (Key::JobQueue, self.job_queue.clone()),
            (Key::JobDefinition, self.job_definition.clone()),
            (Key::JobRole, self.job_role.clone()),
            (Key::StateMachineRole, self.state_machine_role.clone()),
            (Key::EventsRole, self.events_role.clone()),
            (Key::Image, self.image.clone()),
            (Key::Alias, self.alias.clone()),
        ];
        let env = |k: &str| std::env::var(k).ok();
        Settings::load(flow, self.config.as_deref(), &env, &flags)
    }
}

/// Arguments of `flowc deploy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The flow file; its folder is the code package.
    pub file: PathBuf,
    /// Print what would change (per resource, and per state of the definition); change
    /// nothing.
    #[arg(long)]
    pub plan: bool,
    /// Overwrite a state machine changed outside flowc.
    #[arg(long)]
    pub force: bool,
    /// Settings.
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// How compile diagnostics are printed.
    #[arg(long, value_enum, default_value_t)]
    pub error_format: ErrorFormat,
}

/// Runs `flowc deploy`.
pub fn run(args: Args) -> i32 {
    let result = args.settings.settings(&args.file).and_then(|s| {
        let desired = aws::deploy::prepare(&args.file, &s)?;
        aws::with_aws(&s, |aws| async move {
            aws::deploy::run(&aws, &desired, args.plan, args.force).await
        })
    });
    match result {
        Ok(report) => {
            common::print_stdout(&report.render());
            if let (false, Some(a)) = (args.plan, &report.alias_arn) {
                common::print_stdout(&format!("deployed: {a}\n"));
            }
            common::EXIT_OK
        }
        Err(e) => report_error(&args.file, args.error_format, &e),
    }
}

/// Prints `e` (diagnostics against the flow's source for compile errors) and returns the
/// exit code: 1 for compile errors, drift and AWS failures, 2 for settings and I/O.
pub fn report_error(file: &Path, format: ErrorFormat, e: &Error) -> i32 {
    match e {
        Error::Compile(diags) => {
            let source = std::fs::read_to_string(file).unwrap_or_default();
            common::print_diagnostics(format, &file.display().to_string(), &source, diags);
            common::EXIT_USER
        }
        Error::Drift(_) | Error::Aws(..) => {
            eprintln!("error: {e}");
            common::EXIT_USER
        }
        Error::Config(_) | Error::Io(_) | Error::NotFound(_) => {
            eprintln!("error: {e}");
            common::EXIT_USAGE
        }
    }
}

/// Checks the flow at `file` (for its name and `@project`), printing diagnostics on error.
pub fn checked_flow(file: &Path) -> Result<flowc::ir::Flow, Error> {
    let source = std::fs::read_to_string(file)
        .map_err(|e| Error::Io(format!("cannot read {}: {e}", file.display())))?;
    let (flow, diags) = flowc::check(&source, &Default::default());
    flow.ok_or(Error::Compile(diags))
}
