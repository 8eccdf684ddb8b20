//! `flowc task FLOW STEP --run-id RUN_ID [--index INDEX] --datastore DIR|s3://BUCKET/PREFIX`:
//! run one task of a run (what each compiled Batch job runs). Exit code: the command's on
//! failure, 0 on success, 1 when the outputs break the runtime contract, 2 when the task
//! cannot start.

use flowc::aws::deploy::CODE_PACKAGE_ENV;
use flowc::runtime::{self, task, IndexPath, TaskRequest};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};

/// Process id of the running command (0: none), for [`forward_sigterm`].
static CHILD: AtomicI32 = AtomicI32::new(0);

/// Forwards `SIGTERM` to the command. AWS Batch stops a container (job timeout
/// `AttemptDurationSeconds`, `TerminateJob`) with `SIGTERM` to its main process, then
/// `SIGKILL` after a grace period; forwarding lets the command stop cleanly while `flowc task`
/// still stores its logs and records the failed attempt.
extern "C" fn forward_sigterm(sig: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe; pid is a child this process spawned.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

fn install_sigterm_forwarding() {
    let handler = forward_sigterm as extern "C" fn(libc::c_int);
    // SAFETY: installs a handler that only reads an atomic and calls kill(2).
    unsafe {
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
    }
}

/// Arguments of `flowc task`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The flow's name (as in the compiled state machine), or the path of its `.flow` file.
    pub flow: String,
    /// The step to run.
    pub step: String,
    /// The run id (the execution name).
    #[arg(long)]
    pub run_id: String,
    /// Foreach index path inside a foreach body: item indices joined by `.` (`3`, `3.1`).
    #[arg(long)]
    pub index: Option<String>,
    /// The datastore: a folder, or `s3://BUCKET/PREFIX` on S3 (the AWS chain; with
    /// `FLOWC_S3_ROOT=DIR`, the local folder `DIR/BUCKET/PREFIX`). Default: `.flowc` in the
    /// code directory.
    #[arg(long)]
    pub datastore: Option<String>,
    /// Attempt number (0-based, `FLOW_ATTEMPT`). Default: one more than the last attempt
    /// recorded for this task in the datastore.
    #[arg(long)]
    pub attempt: Option<u32>,
    /// The flow's code directory (working directory of the command). Default: the code
    /// package `FLOWC_CODE_PACKAGE=s3://…/SHA256.tar.gz` (set by `flowc deploy`), downloaded,
    /// checked against its SHA-256 and unpacked into a temporary folder; else the folder of
    /// the flow file when one is named; else the current directory.
    #[arg(long, env = "FLOWC_CODE_DIR")]
    pub code_dir: Option<PathBuf>,
    /// The flow file (default: the `.flow` file of the code directory defining FLOW).
    #[arg(long)]
    pub flow_file: Option<PathBuf>,
    /// Do not prefix the command's output lines with `[TASK_ID] `.
    #[arg(long)]
    pub no_prefix: bool,
}

/// Runs `flowc task`.
pub fn run(args: Args) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err((what, e)) => {
            eprintln!("error: {what}: {e}");
            e.exit_code()
        }
    }
}

fn run_inner(args: Args) -> Result<i32, (String, runtime::TaskError)> {
    let what = format!("task {} of run {}", task_name(&args), args.run_id);
    let fail = |e| (what.clone(), e);
    let named_file = args.flow_file.clone().or_else(|| {
        args.flow
            .ends_with(".flow")
            .then(|| PathBuf::from(&args.flow))
    });
    let package = code_package(args.code_dir.is_none()).map_err(fail)?;
    let code_dir = match (args.code_dir, named_file, &package) {
        (Some(d), _, _) => d,
        (None, _, Some(p)) => p.code_dir(),
        (None, Some(f), None) => f
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), PathBuf::from),
        (None, None, None) => std::env::current_dir().map_err(|e| {
            fail(runtime::TaskError::Usage(format!(
                "no current directory: {e}"
            )))
        })?,
    };
    let datastore = args
        .datastore
        .unwrap_or_else(|| code_dir.join(".flowc").display().to_string());
    let req = TaskRequest {
        flow: args.flow,
        step: args.step,
        run_id: args.run_id,
        index: IndexPath::parse(args.index.as_deref().unwrap_or("")).map_err(fail)?,
        attempt: args.attempt,
        code_dir,
        flow_file: args.flow_file,
        console_prefix: !args.no_prefix,
    };
    let store = task::open_store(&datastore).map_err(fail)?;
    install_sigterm_forwarding();
    let outcome = task::run_task_observed(&req, store, &|pid| {
        CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst)
    })
    .map_err(fail)?;
    if outcome.exit_code != 0 {
        eprintln!(
            "error: {what}: attempt {} failed: the command exited with code {}",
            outcome.attempt, outcome.exit_code
        );
    }
    Ok(outcome.exit_code)
}

/// The code package of `FLOWC_CODE_PACKAGE`, fetched when `wanted` (no `--code-dir`) and the
/// variable is set. Sets `FLOWC_CODE_SHA256` to the package's hash (unless already set) so
/// `run.json` records it, before any thread is started.
fn code_package(wanted: bool) -> Result<Option<task::CodePackage>, runtime::TaskError> {
    let url = std::env::var(CODE_PACKAGE_ENV).unwrap_or_default();
    if !wanted || url.is_empty() {
        return Ok(None);
    }
    let (_, _, sha256) = task::parse_code_package_url(&url)?;
    if std::env::var_os(runtime::CODE_SHA256_ENV).is_none() {
        std::env::set_var(runtime::CODE_SHA256_ENV, &sha256);
    }
    let s3_root = std::env::var_os(runtime::store::S3_ROOT_ENV).map(PathBuf::from);
    task::fetch_code_package(&url, s3_root.as_deref()).map(Some)
}

fn task_name(args: &Args) -> String {
    match args.index.as_deref() {
        None | Some("") => args.step.clone(),
        Some(i) => format!("{}[{i}]", args.step),
    }
}
