//! `flowc why RUN_ID`: explain a failed run from its execution history, and print the command
//! that resumes it locally.

use super::common;
use super::deploy::{report_error, SettingsArgs};
use flowc::aws::runs::{self, Why};
use flowc::aws::{self, Error};
use std::path::{Path, PathBuf};

/// Arguments of `flowc why`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run id (execution name) or execution ARN.
    pub run_id: String,
    /// The flow file (for the step's source line and the resume command).
    #[arg(long, value_name = "FILE")]
    pub flow: Option<PathBuf>,
    /// Settings.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Runs `flowc why`.
pub fn run(args: Args) -> i32 {
    let file = args
        .flow
        .clone()
        .unwrap_or_else(|| PathBuf::from("FLOW.flow"));
    let result = args.settings.settings(&file).and_then(|s| {
        let run_id = &args.run_id;
        let why = aws::with_aws(&s, |aws| async move {
            let arn = runs::execution_arn(&aws, run_id).await?;
            runs::why(&aws, &arn).await
        })?;
        Ok::<_, Error>((why, s))
    });
    match result {
        Ok((why, s)) => {
            common::print_stdout(&render(&args, &file, &why, s.deploy.datastore.as_deref()));
            common::EXIT_OK
        }
        Err(e) => report_error(Path::new(""), Default::default(), &e),
    }
}

/// `file:line` of step `step`, when the flow file is given and has it.
fn step_location(file: &Path, step: &str) -> Option<String> {
    let source = std::fs::read_to_string(file).ok()?;
    let (flow, _) = flowc::check(&source, &Default::default());
    let span = flow?.steps.iter().find(|s| s.name == step)?.span;
    let line = source.get(..span.start)?.matches('\n').count() + 1;
    Some(format!("{}:{line}", file.display()))
}

fn render(args: &Args, file: &Path, w: &Why, datastore: Option<&str>) -> String {
    let mut out = format!("run {}: {}\n", args.run_id, w.status);
    if let Some(step) = &w.step {
        let at = args
            .flow
            .as_deref()
            .and_then(|f| step_location(f, step))
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        out += &format!(
            "  failed step: {step}{at}, state {}\n",
            w.state.as_deref().unwrap_or(step)
        );
    }
    if let Some(e) = &w.error {
        out += &format!("  error: {e}\n");
    }
    if let Some(r) = &w.status_reason {
        out += &format!("  batch status reason: {r}\n");
    }
    if let Some(c) = w.exit_code {
        out += &format!("  exit code: {c}\n");
    }
    if w.attempts > 0 {
        out += &format!("  attempts: {}\n", w.attempts);
    }
    if w.status_reason.is_none() {
        if let Some(c) = &w.cause {
            out += &format!("  cause: {c}\n");
        }
    }
    if w.status != "SUCCEEDED" && w.status != "RUNNING" {
        out += &format!(
            "resume locally:\n  flowc interpret {} --resume {} --datastore {}\n",
            file.display(),
            args.run_id,
            datastore.unwrap_or("s3://BUCKET/PREFIX")
        );
    }
    out
}
