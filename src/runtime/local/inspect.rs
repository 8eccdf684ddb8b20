//! Reading local runs back: [`list_runs`] (for `flowc runs`) and the text of `flowc show
//! RUN_ID [STEP[/INDEX]]` ([`show`]).

use crate::runtime::datastore::{Datastore, IndexPath, RunMeta, TaskAddr};
use crate::runtime::store::LocalStore;
use crate::runtime::TaskError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// One run in a local datastore.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Flow name.
    pub flow: String,
    /// Run id.
    pub run_id: String,
    /// `running` (or killed), `succeeded`, `failed`, `interrupted`.
    pub status: String,
    /// Start, RFC 3339 UTC.
    pub started: String,
    /// End, when recorded.
    pub ended: Option<String>,
    /// Number of tasks recorded at the end (0 while running).
    pub tasks: usize,
    /// The run it resumed, if any.
    pub resumed_from: Option<String>,
}

/// Every run of every flow in the datastore folder `dir` (layout `FLOW/runs/RUN_ID/run.json`),
/// oldest first. A missing folder has no runs. Errors: an unreadable `run.json`.
pub fn list_runs(dir: &Path) -> Result<Vec<RunSummary>, TaskError> {
    let mut out = vec![];
    for flow in subdirs(dir) {
        let ds = open(dir, &flow)?;
        for run_id in subdirs(&dir.join(&flow).join("runs")) {
            let Some(meta) = ds.run_meta(&run_id)? else {
                continue;
            };
            out.push(summary(&ds, meta)?);
        }
    }
    out.sort_by(|a, b| (&a.started, &a.run_id).cmp(&(&b.started, &b.run_id)));
    Ok(out)
}

fn summary(ds: &Datastore, meta: RunMeta) -> Result<RunSummary, TaskError> {
    let resumed_from =
        resume_note(ds, &meta.run_id)?.and_then(|v| v["origin_run"].as_str().map(String::from));
    Ok(RunSummary {
        flow: meta.flow,
        tasks: meta.tasks.len(),
        run_id: meta.run_id,
        status: meta.status,
        started: meta.started,
        ended: meta.ended,
        resumed_from,
    })
}

fn resume_note(ds: &Datastore, run_id: &str) -> Result<Option<Value>, TaskError> {
    let key = ds.run_key(run_id)?.join("resume.json")?;
    Ok(ds
        .store()
        .get(&key)?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

fn subdirs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| e.file_name().to_str().map(String::from))
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn open(dir: &Path, flow: &str) -> Result<Datastore, TaskError> {
    Datastore::new(Box::new(LocalStore::new(dir)), flow)
}

/// The datastore of the flow that has run `run_id` in `dir`. Errors: no such run (listing
/// the known ones when few).
pub fn find_run(dir: &Path, run_id: &str) -> Result<(Datastore, RunMeta), TaskError> {
    for flow in subdirs(dir) {
        let ds = open(dir, &flow)?;
        if let Some(meta) = ds.run_meta(run_id)? {
            return Ok((ds, meta));
        }
    }
    let known: Vec<String> = list_runs(dir)?
        .into_iter()
        .rev()
        .take(5)
        .map(|r| r.run_id)
        .collect();
    let hint = if known.is_empty() {
        String::new()
    } else {
        format!(" (latest: {})", known.join(", "))
    };
    Err(TaskError::Usage(format!(
        "no run `{run_id}` in the datastore {}{hint}",
        dir.display()
    )))
}

/// The text of `flowc show RUN_ID [STEP[/INDEX]]`: without a task, the run's metadata and its
/// tasks grouped by step; with a step whose tasks are indexed and no index, that step's
/// tasks; with one task, its attempts, artifacts (values as JSON, files with their sizes) and
/// the log of its last attempt. Errors: unknown run, step or task.
pub fn show(dir: &Path, run_id: &str, task: Option<&str>) -> Result<String, TaskError> {
    let (ds, meta) = find_run(dir, run_id)?;
    let tasks = ds.task_statuses(run_id)?;
    match task {
        None => Ok(show_run(&ds, &meta, &tasks)?),
        Some(spec) => {
            let (step, index) = spec.split_once('/').unwrap_or((spec, ""));
            let index = IndexPath::parse(index)?;
            let addr = TaskAddr {
                step: step.to_string(),
                index,
            };
            if ds.task_ran(run_id, &addr)? {
                return show_task(&ds, run_id, &addr);
            }
            let prefix = format!("{step}-");
            let rows: Vec<_> = tasks
                .iter()
                .filter(|(id, _)| id.starts_with(&prefix) && addr.index.depth() == 0)
                .collect();
            if rows.is_empty() {
                return Err(TaskError::Usage(format!(
                    "run `{run_id}` has no task `{spec}`"
                )));
            }
            let mut out = String::new();
            for (id, status) in rows {
                out.push_str(&format!("{:<30} {status}\n", id.replacen('-', "/", 1)));
            }
            Ok(out)
        }
    }
}

fn show_run(
    ds: &Datastore,
    meta: &RunMeta,
    tasks: &BTreeMap<String, String>,
) -> Result<String, TaskError> {
    let mut out = format!(
        "run {} of {}: {}\n  started {}{}\n  parameters {}\n",
        meta.run_id,
        meta.flow,
        meta.status,
        meta.started,
        meta.ended
            .as_ref()
            .map(|e| format!(", ended {e}"))
            .unwrap_or_default(),
        Value::Object(meta.parameters.clone()),
    );
    if let Some(note) = resume_note(ds, &meta.run_id)? {
        out.push_str(&format!(
            "  resumed from {} (steps run again: {})\n",
            note["origin_run"].as_str().unwrap_or("?"),
            note["rerun_steps"]
        ));
    }
    let mut by_step: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for (id, status) in tasks {
        let step = id.split('-').next().unwrap_or(id);
        *by_step.entry(step).or_default().entry(status).or_default() += 1;
    }
    out.push_str("\ntasks by step:\n");
    for (step, counts) in by_step {
        let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
        out.push_str(&format!("  {step:<24} {}\n", parts.join(", ")));
    }
    Ok(out)
}

fn show_task(ds: &Datastore, run_id: &str, t: &TaskAddr) -> Result<String, TaskError> {
    let mut out = format!("task {t} of run {run_id}\n");
    let cloned = ds.task_key(run_id, t)?.join("cloned.json")?;
    if let Some(b) = ds.store().get(&cloned)? {
        let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
        out.push_str(&format!(
            "  cloned from run {} (attempt {})\n",
            v["origin_run"].as_str().unwrap_or("?"),
            v["origin_attempt"]
        ));
    }
    let attempts = ds.attempts(run_id, t)?;
    for n in &attempts {
        if let Some(r) = ds.attempt_record(run_id, t, *n)? {
            out.push_str(&format!(
                "  attempt {n}: {} (started {}{}{})\n",
                r.status,
                r.started,
                r.exit_code
                    .map(|c| format!(", exit code {c}"))
                    .unwrap_or_default(),
                r.error.map(|e| format!(", {e}")).unwrap_or_default()
            ));
        }
    }
    if let Some(arts) = ds.done_artifacts(run_id, t)? {
        out.push_str("\nartifacts:\n");
        for (name, r) in &arts.values {
            let v = ds.get_value(r)?.to_string();
            out.push_str(&format!("  {name} = {}\n", clip(&v, 200)));
        }
        for (name, r) in &arts.files {
            out.push_str(&format!("  file {name} ({} bytes)\n", r.size));
        }
    }
    if let Some(last) = attempts.last() {
        for log in ["stdout.log", "stderr.log"] {
            let key = ds.attempt_file(run_id, t, *last, log)?;
            if let Some(b) = ds.store().get(&key)?.filter(|b| !b.is_empty()) {
                out.push_str(&format!("\n{log} (attempt {last}):\n"));
                out.push_str(&String::from_utf8_lossy(&b));
            }
        }
    }
    Ok(out)
}

fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::datastore::now;

    #[test]
    fn runs_are_listed_oldest_first_and_found_by_id() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list_runs(&dir.path().join("missing")).unwrap().is_empty());
        let ds = open(dir.path(), "F").unwrap();
        for (id, started) in [
            ("b", "2026-01-02T00:00:00.000Z"),
            ("a", "2026-01-01T00:00:00.000Z"),
        ] {
            let meta = RunMeta {
                flow: "F".into(),
                run_id: id.into(),
                parameters: Default::default(),
                code_sha256: String::new(),
                started: started.into(),
                ended: Some(now()),
                status: "succeeded".into(),
                tasks: Default::default(),
            };
            ds.ensure_run_meta(&meta).unwrap();
        }
        let runs = list_runs(dir.path()).unwrap();
        let ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(find_run(dir.path(), "b").unwrap().1.flow, "F");
        let Err(e) = find_run(dir.path(), "zz") else {
            panic!("found a run that does not exist")
        };
        let e = e.to_string();
        assert!(e.contains("latest: b, a"), "{e}");
    }
}
