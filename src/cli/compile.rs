//! `flowc compile FILE`: ASL, EventBridge rules, IAM policy (and the IR) as JSON files.

use super::common::{self, ErrorFormat};
use flowc::driver::{self, Artifacts};
use flowc::options::{self, CompileOptions, ConfigFile};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// The outputs `--emit` can select.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    /// `<Flow>.asl.json`: the state machine definition.
    Asl,
    /// `<Flow>.rules.json`: EventBridge rules / Scheduler schedules (scheduled or triggered
    /// flows only).
    Rules,
    /// `<Flow>.iam.json`: the policy the state machine role needs.
    Iam,
    /// `<Flow>.ir.json`: the typed IR (for debugging).
    Ir,
}

/// Arguments of `flowc compile`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The flow file.
    pub file: PathBuf,
    /// Output directory; without it the ASL is printed on stdout.
    #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// What to write (comma-separated). Default: asl,rules,iam.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Emit::Asl, Emit::Rules, Emit::Iam])]
    pub emit: Vec<Emit>,
    /// Decorators applied to every step that does not set them: `DECORATOR[:k=v,...]`.
    #[arg(long = "with", value_name = "DECORATOR")]
    pub with: Vec<String>,
    /// Default foreach `MaxConcurrency`, at least 1 (ASL reads 0 as unlimited).
    #[arg(
        long,
        value_name = "N",
        default_value_t = options::DEFAULT_MAX_WORKERS,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_workers: u32,
    /// AWS Batch job queue (overrides `flowc.toml`).
    #[arg(long, value_name = "Q")]
    pub job_queue: Option<String>,
    /// AWS Batch job definition (overrides `flowc.toml`).
    #[arg(long, value_name = "ARN")]
    pub job_definition: Option<String>,
    /// Datastore location `s3://bucket/prefix` (overrides `flowc.toml`).
    #[arg(long, value_name = "S3URL")]
    pub datastore: Option<String>,
    /// `flowc.toml` to read (default: the one beside the flow, if any).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the reasons for compile choices (Map kinds, …) on stderr.
    #[arg(long)]
    pub explain: bool,
    /// How diagnostics are printed.
    #[arg(long, value_enum, default_value_t)]
    pub error_format: ErrorFormat,
}

/// Runs `flowc compile`.
pub fn run(args: Args) -> i32 {
    let file_name = args.file.display().to_string();
    let source = match common::read_source(&args.file) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let config = match config_text(&args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let opts = match options_from(&args, config) {
        Ok(o) => o,
        Err(e) => {
            let (name, text, d) = *e;
            common::print_diagnostics(args.error_format, &name, &text, &[d]);
            return common::EXIT_USAGE;
        }
    };
    match driver::build(&source, &opts) {
        Ok(out) => {
            common::print_diagnostics(args.error_format, &file_name, &source, &out.warnings);
            if args.explain {
                for line in &out.explain {
                    common::print_stderr(&format!("explain: {line}\n"));
                }
            }
            write_outputs(&args, &out)
        }
        Err(diags) => {
            common::print_diagnostics(args.error_format, &file_name, &source, &diags);
            common::EXIT_USER
        }
    }
}

/// A bad option: the file name and text to render it against, and the diagnostic.
type OptionError = Box<(String, String, flowc::diagnostics::Diagnostic)>;

/// Builds the compile options: `flowc.toml` first, then flags.
fn options_from(
    args: &Args,
    config: Option<(PathBuf, String)>,
) -> Result<CompileOptions, OptionError> {
    let mut opts = CompileOptions {
        max_workers: args.max_workers,
        explain: args.explain,
        ..Default::default()
    };
    if let Some((path, text)) = config {
        let cfg = ConfigFile::parse(&text)
            .map_err(|d| Box::new((path.display().to_string(), text.clone(), d)))?;
        opts.deploy = cfg.deploy;
    }
    for w in &args.with {
        opts.with.push(
            options::parse_with(w)
                .map_err(|d| Box::new(("--with".to_string(), String::new(), d)))?,
        );
    }
    let d = &mut opts.deploy;
    for (flag, slot) in [
        (&args.job_queue, &mut d.job_queue),
        (&args.job_definition, &mut d.job_definition),
        (&args.datastore, &mut d.datastore),
    ] {
        if flag.is_some() {
            slot.clone_from(flag);
        }
    }
    if let Some(ds) = &opts.deploy.datastore {
        options::check_datastore(ds)
            .map_err(|d| Box::new(("--datastore".to_string(), String::new(), d)))?;
    }
    Ok(opts)
}

/// The text of the config file: `--config` (which must be readable), else `flowc.toml`
/// beside the flow if present. Errors: the `--config` file cannot be read (reported).
fn config_text(args: &Args) -> Result<Option<(PathBuf, String)>, i32> {
    match &args.config {
        Some(path) => common::read_source(path).map(|t| Some((path.clone(), t))),
        None => {
            let dir = args.file.parent().unwrap_or(Path::new("."));
            let path = dir.join("flowc.toml");
            Ok(std::fs::read_to_string(&path).ok().map(|t| (path, t)))
        }
    }
}

/// Writes the selected outputs into `--out-dir`, or the ASL on stdout.
fn write_outputs(args: &Args, out: &Artifacts) -> i32 {
    let Some(dir) = &args.out_dir else {
        return common::print_stdout(&out.asl);
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        common::print_stderr(&format!("error: cannot create {}: {e}\n", dir.display()));
        return common::EXIT_USAGE;
    }
    for emit in &args.emit {
        let (suffix, text) = match emit {
            Emit::Asl => ("asl", Some(Cow::from(&out.asl))),
            Emit::Rules => ("rules", out.rules.as_ref().map(Cow::from)),
            Emit::Iam => ("iam", Some(Cow::from(&out.iam))),
            Emit::Ir => ("ir", Some(Cow::from(out.ir_json()))),
        };
        let Some(text) = text else { continue };
        let path = dir.join(format!("{}.{suffix}.json", out.flow_name));
        if let Err(e) = std::fs::write(&path, text.as_bytes()) {
            common::print_stderr(&format!("error: cannot write {}: {e}\n", path.display()));
            return common::EXIT_USAGE;
        }
    }
    common::EXIT_OK
}
