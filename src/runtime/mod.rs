//! The task runtime (`flowc task`): what one Batch job of a compiled flow runs, and what the
//! local runner runs for each task.
//!
//! A task is one step of one run at one foreach index path. [`task::prepare`] assembles its
//! inputs from the datastore (`FLOW_INPUT`, `FLOW_INPUTS`, `FLOW_INPUT_DIR`, `FLOW_ITEM`,
//! `FLOW_ITEM_INDEX`, `FLOW_PARAM_*`, the names), [`task::execute`] runs the step's command
//! (`/bin/sh -c TEXT` or exec of a list) in the code directory while streaming its output,
//! and [`task::finish`] stores the logs and, on exit 0, the artifacts (the `FLOW_OUTPUT`
//! object and the files of `FLOW_OUTPUT_DIR`), `foreach.json` or `switch.json`, the manifest
//! and `done.json`. [`task::run_task`] does all three.
//!
//! Storage: [`store`] (the [`store::ObjectStore`] trait, a local folder implementation),
//! [`datastore`] (the key layout, documented in `docs/runtime-layout.md`), [`graph`] (which
//! task precedes which) and [`lineage`] (which artifacts a task sees). The contract is the
//! spec's "Runtime contract" (`/work/shared/spec/flow-language.md`).

pub mod datastore;
pub mod graph;
pub mod lineage;
pub mod local;
pub mod store;
pub mod task;

pub use datastore::{
    attempt_record_number, Artifacts, Datastore, IndexPath, Manifest, ObjRef, RunMeta, TaskAddr,
};
pub use store::{Key, LocalStore, ObjectStore, StoreError, StoreSpec};
pub use task::{
    open_store, resolve_task_command, run_task, run_task_observed, PreparedTask, TaskOutcome,
    TaskRequest,
};

/// Environment variable that gives the code's SHA-256 for `run.json` (e.g. the hash of the
/// deployed code package); without it [`code_hash`] hashes the code directory.
pub const CODE_SHA256_ENV: &str = "FLOWC_CODE_SHA256";

/// Exit code of a task that failed in the runtime rather than in its command (invalid
/// `FLOW_OUTPUT`, an artifact name that could escape the datastore, a foreach value that is
/// not an array…).
pub const EXIT_TASK_INVALID: i32 = 1;
/// Exit code of a task that could not start (unknown step, bad `--index`, unreadable flow or
/// datastore).
pub const EXIT_TASK_USAGE: i32 = 2;

/// A runtime error, worded as one line naming the step, artifact or key involved.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The datastore could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key would leave the datastore.
    #[error(transparent)]
    Key(#[from] store::KeyError),
    /// The task's inputs or outputs break the runtime contract.
    #[error("{0}")]
    Invalid(String),
    /// The task cannot be located or started (arguments, flow file).
    #[error("{0}")]
    Usage(String),
}

impl TaskError {
    /// The process exit code for this error: [`EXIT_TASK_INVALID`] for a broken contract or
    /// a rejected name, [`EXIT_TASK_USAGE`] otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            TaskError::Invalid(_) | TaskError::Key(_) => EXIT_TASK_INVALID,
            TaskError::Store(_) | TaskError::Usage(_) => EXIT_TASK_USAGE,
        }
    }
}

/// Hex SHA-256 identifying the code directory: over the sorted relative paths and contents of
/// its regular files, skipping hidden entries (`.flowc/`, `.git/`…) and `__pycache__`.
/// Unreadable entries are skipped (the hash is informative, recorded in `run.json`).
pub fn code_hash(dir: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    let mut files = vec![];
    collect_files(dir, "", &mut files);
    files.sort();
    let mut h = Sha256::new();
    for (rel, path) in files {
        if let Ok(bytes) = std::fs::read(&path) {
            h.update(rel.as_bytes());
            h.update([0]);
            h.update(datastore::sha256_hex(&bytes).as_bytes());
            h.update([b'\n']);
        }
    }
    hex::encode(h.finalize())
}

fn collect_files(dir: &std::path::Path, rel: &str, out: &mut Vec<(String, std::path::PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('.') || name == "__pycache__" {
            continue;
        }
        let r = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        match e.file_type() {
            Ok(t) if t.is_dir() => collect_files(&e.path(), &r, out),
            Ok(t) if t.is_file() => out.push((r, e.path())),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn code_hash_changes_with_content_only() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.py"), "1").unwrap();
        let h1 = super::code_hash(d.path());
        std::fs::create_dir(d.path().join(".flowc")).unwrap();
        std::fs::write(d.path().join(".flowc/x"), "y").unwrap();
        assert_eq!(super::code_hash(d.path()), h1);
        std::fs::write(d.path().join("a.py"), "2").unwrap();
        assert_ne!(super::code_hash(d.path()), h1);
    }
}
