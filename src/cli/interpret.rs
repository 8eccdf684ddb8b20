//! `flowc interpret --asl DEF.json`: run a state machine on the embedded engine.
//! `flowc interpret FLOW`: compile a flow and run it locally (`flowc::runtime::local`).
//!
//! Exit codes: 0 when the execution SUCCEEDED, 1 when it FAILED (or TIMED_OUT), 2 for an
//! invalid definition, input or option (reported on stderr; definition errors name the JSON
//! path of the offending field), 130 when SIGINT or SIGTERM stopped an `--asl` execution
//! (as `StopExecution`: its running Batch jobs are stopped as AWS Batch's `TerminateJob`
//! stops them, `SIGTERM` then `SIGKILL`, and `flowc` exits once they have ended).

use super::common::{read_source, EXIT_OK, EXIT_USAGE, EXIT_USER};
use flowc::engine::clock::ClockMode;
use flowc::engine::definition;
use flowc::engine::exec::{
    self, ExecutionConfig, ExecutionResult, ExecutionStatus, MAX_PAYLOAD_BYTES,
};
use flowc::engine::history;
use flowc::engine::integrations::batch::{self, BatchOptions, OutputSink, STOP_GRACE};
use flowc::engine::integrations::mock::MockIntegration;
use flowc::engine::integrations::s3::S3Folder;
use flowc::engine::integrations::{default_integrations, IntegrationOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// `--clock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ClockArg {
    /// Wall-clock time: Wait states and retry intervals really wait.
    #[default]
    Real,
    /// Virtual time: waits complete at once (task processes still run in real time).
    Virtual,
}

/// Arguments of `flowc interpret`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The flow to run locally (a `.flow` file); its tasks run as local processes.
    #[arg(conflicts_with = "asl", required_unless_present = "asl")]
    pub flow: Option<PathBuf>,
    /// The ASL definition (JSON) to run.
    #[arg(long)]
    pub asl: Option<PathBuf>,
    #[command(flatten)]
    pub flow_opts: super::show::FlowArgs,
    /// Execution input: JSON text, or `@FILE` to read it from a file (default `{}`).
    #[arg(long)]
    pub input: Option<String>,
    /// Print exactly one JSON object on stdout: `{"status","output"}` or
    /// `{"status","error","cause"}`.
    #[arg(long)]
    pub json: bool,
    /// Write the execution history (GetExecutionHistory JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Clock: `real` or `virtual`.
    #[arg(long, value_enum, default_value_t = ClockArg::Real)]
    pub clock: ClockArg,
    /// A Step Functions Local mock configuration file (with `--test-case`).
    #[arg(long, value_name = "FILE", requires = "test_case")]
    pub mock_config: Option<PathBuf>,
    /// The test case of the mock configuration to use.
    #[arg(long, value_name = "NAME", requires = "mock_config")]
    pub test_case: Option<String>,
    /// A local folder standing in for S3 (`<DIR>/<bucket>/<key>`).
    #[arg(long, value_name = "DIR")]
    pub s3_root: Option<PathBuf>,
    /// With `--asl`, most Task invocations running at once (default 8). For a flow, most task
    /// commands running at once, as the vCPUs of a compute environment (default: the number
    /// of CPUs); twice as many tasks may be in progress, and that is the default foreach
    /// `MaxConcurrency`.
    #[arg(long, value_name = "N")]
    pub max_workers: Option<usize>,
    /// Name of the state machine (`$$.StateMachine.Name`; default: the mock configuration's,
    /// else the definition file's stem).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// History events quota; AWS's is a hard 25,000 (an execution reaching it fails). Raise
    /// it only to run locally what AWS would refuse, e.g. a huge inline Map.
    #[arg(long, value_name = "N", default_value_t = flowc::engine::history::MAX_HISTORY_EVENTS)]
    pub max_history_events: usize,
    /// Seed of the random source used for retry jitter.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Runs `flowc interpret`.
pub fn run(args: Args) -> i32 {
    match run_inner(&args) {
        Ok(code) => code,
        Err(code) => code,
    }
}

fn run_inner(args: &Args) -> Result<i32, i32> {
    if let Some(flow) = &args.flow {
        return run_flow(flow, args);
    }
    let Some(asl) = &args.asl else {
        eprintln!("error: missing --asl DEF.json (the state machine definition to run)");
        return Err(EXIT_USAGE);
    };
    let text = read_source(asl)?;
    let sm = definition::parse_str(&text).map_err(|errs| {
        for e in errs {
            eprintln!("error: {}: {e}", asl.display());
        }
        EXIT_USAGE
    })?;
    let input = read_input(args.input.as_deref())?;
    let cfg = config(args, asl)?;
    let Some(res) = execute_until_interrupted(&sm, input, &cfg) else {
        return Ok(super::show::EXIT_INTERRUPTED);
    };
    if let Some(path) = &args.history {
        write_history(path, &res)?;
    }
    report(args.json, &res);
    Ok(match res.status {
        ExecutionStatus::Succeeded => EXIT_OK,
        _ => EXIT_USER,
    })
}

/// Runs the execution to its end, or until SIGINT or SIGTERM (`None`): the execution is
/// then dropped, which stops its running tasks (`batch::stop`): each Batch job runs in a
/// process group of its own, which a terminal's Ctrl-C does not reach. Returns once the
/// stopped jobs have ended: after their grace, or at once on a second signal, which kills
/// them (as the local runner's second Ctrl-C does).
fn execute_until_interrupted(
    sm: &definition::StateMachine,
    input: Value,
    cfg: &ExecutionConfig,
) -> Option<ExecutionResult> {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Some(exec::execute_blocking(sm, input, cfg));
    };
    rt.block_on(async {
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return Some(exec::execute(sm, input, cfg).await);
        };
        tokio::select! {
            res = exec::execute(sm, input, cfg) => return Some(res),
            _ = interrupted(&mut int, &mut term) => {}
        }
        eprintln!(
            "interrupted: the execution was stopped; its running Batch jobs get SIGTERM, then SIGKILL after {} s (Ctrl-C again to kill them now)",
            STOP_GRACE.as_secs()
        );
        // The execution is dropped: read its stopped jobs' output until they end.
        let ended = batch::stops_ended();
        tokio::pin!(ended);
        tokio::select! {
            _ = &mut ended => return None,
            _ = interrupted(&mut int, &mut term) => {}
        }
        batch::kill_stops_now();
        ended.await;
        None
    })
}

/// Resolves at the next SIGINT or SIGTERM.
async fn interrupted(int: &mut Signal, term: &mut Signal) {
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}

/// `flowc interpret FLOW`. With `--datastore s3://BUCKET/PREFIX` (a deployed flow's datastore,
/// as `flowc why` prints it) the datastore is only read: `--resume RUN_ID` is required, the
/// origin run is copied from S3 into the local datastore (`.flowc/` beside the flow; see
/// `runtime::local::resume::import_run`) and the new run is local.
fn run_flow(flow: &Path, args: &Args) -> Result<i32, i32> {
    let fa = &args.flow_opts;
    let Some(url) = fa
        .datastore
        .as_deref()
        .and_then(Path::to_str)
        .filter(|d| d.starts_with("s3://"))
    else {
        return Ok(super::show::run_flow(flow, args, fa));
    };
    let Some(origin) = &fa.resume else {
        eprintln!(
            "error: --datastore {url}: an S3 datastore is only read, to resume a run of a deployed flow \
             (add --resume RUN_ID); a local run writes to a local folder"
        );
        return Err(EXIT_USAGE);
    };
    let Some(name) = flow_name(flow) else {
        // Not a valid flow: the local runner reports its diagnostics.
        return Ok(super::show::run_flow(flow, args, fa));
    };
    import_from_s3(flow, &name, url, origin).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_USAGE
    })?;
    let local = super::show::FlowArgs {
        datastore: None,
        ..fa.clone()
    };
    Ok(super::show::run_flow(flow, args, &local))
}

/// The name the flow file declares, when it parses.
fn flow_name(flow: &Path) -> Option<String> {
    let src = std::fs::read_to_string(flow).ok()?;
    flowc::syntax::parse(&src).ok().map(|f| f.name.name)
}

/// Copies run `origin` of flow `name` from the S3 datastore `url` (settings: `flowc.toml`
/// beside the flow, `FLOWC_*`, the AWS chain) into `.flowc/` beside the flow.
fn import_from_s3(flow: &Path, name: &str, url: &str, origin: &str) -> Result<(), String> {
    use flowc::runtime::local::resume::import_run;
    use flowc::runtime::{Datastore, LocalStore, StoreSpec};
    let StoreSpec::S3 { bucket, prefix } = StoreSpec::parse(url)? else {
        return Err(format!("`{url}` is not an S3 datastore"));
    };
    let env = |k: &str| std::env::var(k).ok();
    let settings =
        flowc::aws::config::Settings::load(flow, None, &env, &[]).map_err(|e| e.to_string())?;
    let s3 = flowc::aws::store::S3Store::connect(&settings, &bucket, &prefix)
        .map_err(|e| e.to_string())?;
    let dir = flow
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(".flowc");
    let from = Datastore::new(Box::new(s3), name).map_err(|e| e.to_string())?;
    let to = Datastore::new(Box::new(LocalStore::new(&dir)), name).map_err(|e| e.to_string())?;
    let done = import_run(&from, &to, origin, url).map_err(|e| e.to_string())?;
    eprintln!(
        "copied run {origin} from {url} into {} ({} keys, {} objects)",
        dir.display(),
        done.keys,
        done.objects
    );
    Ok(())
}

/// Parses `--input` (JSON text or `@FILE`); AWS rejects inputs over 256 KiB.
fn read_input(arg: Option<&str>) -> Result<Value, i32> {
    let text = match arg {
        None => return Ok(Value::Object(Default::default())),
        Some(a) => match a.strip_prefix('@') {
            Some(file) => read_source(Path::new(file))?,
            None => a.to_string(),
        },
    };
    if text.len() > MAX_PAYLOAD_BYTES {
        eprintln!("error: the input is {} bytes; AWS Step Functions accepts at most {MAX_PAYLOAD_BYTES} (256 KiB)", text.len());
        return Err(EXIT_USAGE);
    }
    serde_json::from_str(&text).map_err(|e| {
        eprintln!("error: --input is not valid JSON: {e}");
        EXIT_USAGE
    })
}

fn config(args: &Args, asl: &Path) -> Result<ExecutionConfig, i32> {
    let mock = match (&args.mock_config, &args.test_case) {
        (Some(f), Some(tc)) => Some(
            MockIntegration::from_file(f, tc, args.name.as_deref()).map_err(|e| {
                eprintln!("error: {e}");
                EXIT_USAGE
            })?,
        ),
        _ => None,
    };
    let stem = asl
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "local".into());
    let name = args
        .name
        .clone()
        .or_else(|| mock.as_ref().map(|m| m.test_case().state_machine.clone()))
        .unwrap_or(stem);
    let mut batch = BatchOptions::default();
    if args.json {
        // stdout carries exactly one JSON object: job output goes to stderr.
        batch.sink = OutputSink::Lines(Arc::new(|job: &str, _stream, line: &str| {
            eprintln!("[{job}] {line}")
        }));
    }
    let integrations = default_integrations(IntegrationOptions {
        batch,
        s3_root: args.s3_root.clone(),
        mock,
    });
    Ok(ExecutionConfig {
        clock: match args.clock {
            ClockArg::Real => ClockMode::Real,
            ClockArg::Virtual => ClockMode::Virtual,
        },
        max_workers: args.max_workers.unwrap_or(8).max(1),
        execution_name: format!("{name}-{}", uuid::Uuid::new_v4()),
        state_machine_name: name,
        integrations: Arc::new(integrations),
        s3: args
            .s3_root
            .as_ref()
            .map(|r| Arc::new(S3Folder::new(r.clone()))),
        seed: args.seed,
        max_history_events: args.max_history_events,
        // Event payloads are only read when the history is written out.
        keep_payloads: args.history.is_some(),
    })
}

fn write_history(path: &Path, res: &ExecutionResult) -> Result<(), i32> {
    let j = history::to_json(&res.history);
    let text = serde_json::to_string_pretty(&j).unwrap_or_default();
    std::fs::write(path, text).map_err(|e| {
        eprintln!("error: cannot write {}: {e}", path.display());
        EXIT_USAGE
    })
}

fn report(json: bool, res: &ExecutionResult) {
    if json {
        super::common::print_stdout(&format!("{}\n", res.to_json()));
        return;
    }
    match res.status {
        ExecutionStatus::Succeeded => {
            let out = res.output.clone().unwrap_or(Value::Null);
            super::common::print_stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&out).unwrap_or_default()
            ));
            eprintln!("SUCCEEDED ({} history events)", res.event_count());
        }
        s => {
            eprintln!("{} ({} history events)", s.as_str(), res.event_count());
            eprintln!("  error: {}", res.error.as_deref().unwrap_or("(none)"));
            eprintln!("  cause: {}", res.cause.as_deref().unwrap_or("(none)"));
        }
    }
}
