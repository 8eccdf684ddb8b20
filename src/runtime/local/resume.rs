//! `--resume RUN_ID [--from STEP]` (Metaflow's `resume`): which tasks of the origin run are
//! cloned into the new run, and the cloning itself.
//!
//! A task is cloned when it succeeded in the origin run (`done.json`) and its step is not in
//! the *rerun set*: the steps with a task that did not succeed in the origin (failed, or still
//! `running` after an interruption or a killed interpreter) — or `--from STEP` when given —
//! and every step downstream of them. Cloning copies the successful attempt's manifest (the
//! artifacts are content-addressed objects shared by every run of the flow, so nothing else
//! is copied), its attempt record, `foreach.json`/`switch.json`, and writes `cloned.json`
//! (`{"origin_run", "origin_attempt"}`) so the new run records where each clone came from.
//!
//! Resuming a run of AWS (`flowc interpret FLOW --resume RUN_ID --datastore s3://…`, what
//! `flowc why` prints): [`import_run`] first copies the origin run from S3 into the local
//! datastore under the same run id (its keys, and the objects its manifests name), with
//! `origin.json` (`{"datastore": "s3://…", "run_id"}`) recording where it came from; the new
//! run is then an ordinary local resume of that copy, written to the local datastore only.
//! S3 is only read.

use crate::ir::{Flow, StepId};
use crate::runtime::datastore::{Datastore, Manifest, ObjRef, TaskAddr};
use crate::runtime::graph::successors;
use crate::runtime::store::Key;
use crate::runtime::TaskError;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// What a resumed run reuses from its origin.
#[derive(Debug, Clone)]
pub struct ResumePlan {
    /// The origin run id.
    pub origin: String,
    /// Steps that run again (names), the roots and everything downstream.
    pub rerun: BTreeSet<String>,
    /// The roots of the rerun set: `--from STEP`, or the origin's unfinished steps.
    pub roots: Vec<String>,
}

impl ResumePlan {
    /// Plans resuming `origin`. Errors: the origin run does not exist, `from` names no step
    /// (with "did you mean"), or the origin has nothing to resume (every task succeeded and
    /// no `--from`).
    pub fn new(
        ds: &Datastore,
        flow: &Flow,
        origin: &str,
        from: Option<&str>,
    ) -> Result<ResumePlan, TaskError> {
        if ds.parameters(origin)?.is_none() {
            return Err(TaskError::Usage(format!(
                "run `{origin}` of flow `{}` not found in {} (no parameters.json)",
                flow.name,
                ds.store().location(&ds.run_key(origin)?)
            )));
        }
        let roots = match from {
            Some(step) => vec![check_step(flow, step)?],
            None => unfinished_steps(ds, flow, origin)?,
        };
        if roots.is_empty() {
            return Err(TaskError::Usage(format!(
                "run `{origin}` has no failed or unfinished step to resume from; name one with --from STEP"
            )));
        }
        let ids: Vec<StepId> = roots.iter().filter_map(|s| flow.step_id(s)).collect();
        let rerun = downstream(flow, &ids)
            .into_iter()
            .map(|id| flow.step(id).name.clone())
            .collect();
        Ok(ResumePlan {
            origin: origin.to_string(),
            rerun,
            roots,
        })
    }

    /// Clones `task` from the origin into `run_id` when it is clonable; returns whether it
    /// was. Errors: a datastore error while copying (the task then runs instead only if the
    /// caller chooses so; the local runner fails the task).
    pub fn try_clone(
        &self,
        ds: &Datastore,
        run_id: &str,
        task: &TaskAddr,
    ) -> Result<bool, TaskError> {
        if self.rerun.contains(&task.step) {
            return Ok(false);
        }
        let Some(mut m) = ds.done_manifest(&self.origin, task)? else {
            return Ok(false);
        };
        let n = m.attempt;
        copy_small_files(ds, &self.origin, run_id, task)?;
        if let Some(rec) = ds.attempt_record(&self.origin, task, n)? {
            ds.write_attempt_record(run_id, task, 0, &rec)?;
        }
        let note = json!({"origin_run": self.origin, "origin_attempt": n});
        let key = ds.task_key(run_id, task)?.join("cloned.json")?;
        ds.store()
            .put(&key, note.to_string().as_bytes())
            .map_err(TaskError::from)?;
        // The clone's attempt record holds the origin's times.
        m.run_id = run_id.to_string();
        m.attempt = 0;
        m.started = None;
        m.ended = None;
        ds.write_done(&m, task)?;
        Ok(true)
    }
}

/// Name of the file of an imported run (beside `run.json`) naming where it was copied from:
/// `{"datastore": "s3://BUCKET/PREFIX", "run_id": RUN_ID, "imported": RFC 3339 time}`.
pub const ORIGIN_FILE: &str = "origin.json";

/// What [`import_run`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Imported {
    /// Keys of the run copied (records, manifests, logs, control files).
    pub keys: usize,
    /// Objects copied (those the manifests name and the local datastore lacked).
    pub objects: usize,
}

/// Copies run `run_id` of `origin` (e.g. an S3 datastore, named `origin_url` in messages and
/// in [`ORIGIN_FILE`]) into `local` under the same run id: every key of the run, then every
/// object its manifests name (checked against their SHA-256 on the way). Copying again
/// refreshes the copy. Objects are held in memory one at a time.
///
/// Errors: the run does not exist in `origin` (no `parameters.json`); `local` already has a
/// run `run_id` that is not a copy of `origin_url`; a read or write failed.
pub fn import_run(
    origin: &Datastore,
    local: &Datastore,
    run_id: &str,
    origin_url: &str,
) -> Result<Imported, TaskError> {
    if origin.parameters(run_id)?.is_none() {
        return Err(TaskError::Usage(format!(
            "run `{run_id}` of flow `{}` not found in {origin_url} (no {})",
            origin.flow(),
            origin.store().location(&origin.parameters_key(run_id)?)
        )));
    }
    check_copy_target(local, run_id, origin_url)?;
    let prefix = origin.run_key(run_id)?;
    let mut done = Imported::default();
    let mut refs: Vec<ObjRef> = vec![];
    for key in origin.store().list(&prefix)? {
        let Some(bytes) = origin.store().get(&key)? else {
            continue; // deleted since listed
        };
        if let Some(m) = manifest_in(&key, &bytes)
            .map_err(|e| TaskError::Invalid(format!("{}: {e}", origin.store().location(&key))))?
        {
            refs.extend(m.artifacts.values.into_values());
            refs.extend(m.artifacts.files.into_values());
        }
        local.store().put(&key, &bytes)?;
        done.keys += 1;
    }
    refs.sort_by(|a, b| a.sha256.cmp(&b.sha256));
    refs.dedup_by(|a, b| a.sha256 == b.sha256);
    for r in refs {
        if !local.store().exists(&local.object_key(&r.sha256)?)? {
            local.put_object(&origin.get_object(&r)?)?;
            done.objects += 1;
        }
    }
    let note = json!({"datastore": origin_url, "run_id": run_id, "imported": crate::runtime::datastore::now()});
    let key = local.run_key(run_id)?.join(ORIGIN_FILE)?;
    local.store().put(&key, note.to_string().as_bytes())?;
    Ok(done)
}

/// The manifest held by the file at `key` of a run: its `done.json`, or, as builds before
/// 2026-11-21 wrote it, `attempt-N/manifest.json` (their `done.json` only pointed at it:
/// `{"attempt": N, "manifest": "attempt-N/manifest.json", …}`). `None` for any other file.
/// Errors: a file of either name that holds neither.
fn manifest_in(key: &Key, bytes: &[u8]) -> Result<Option<Manifest>, serde_json::Error> {
    let name = key.as_str().rsplit('/').next().unwrap_or_default();
    if !matches!(name, "done.json" | "manifest.json") {
        return Ok(None);
    }
    match serde_json::from_slice::<Manifest>(bytes) {
        Ok(m) => Ok(Some(m)),
        Err(e) => match serde_json::from_slice::<Value>(bytes) {
            Ok(v) if name == "done.json" && v.get("manifest").is_some_and(Value::is_string) => {
                Ok(None)
            }
            _ => Err(e),
        },
    }
}

/// Refuses to overwrite a local run that is not an earlier copy of the same origin.
fn check_copy_target(local: &Datastore, run_id: &str, origin_url: &str) -> Result<(), TaskError> {
    let prefix = local.run_key(run_id)?;
    if local.store().list(&prefix)?.is_empty() {
        return Ok(());
    }
    let note = local.store().get(&prefix.join(ORIGIN_FILE)?)?;
    let from: Option<String> = note
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["datastore"].as_str().map(str::to_string));
    match from {
        Some(url) if url == origin_url => Ok(()),
        _ => Err(TaskError::Usage(format!(
            "run `{run_id}` already exists in {} and is not a copy of {origin_url}; \
             remove it or use another datastore",
            local.store().location(&prefix)
        ))),
    }
}

/// Copies `foreach.json` and `switch.json` of a task as they are.
fn copy_small_files(
    ds: &Datastore,
    origin: &str,
    run_id: &str,
    task: &TaskAddr,
) -> Result<(), TaskError> {
    for name in ["foreach.json", "switch.json"] {
        let from = ds.task_key(origin, task)?.join(name)?;
        if let Some(bytes) = ds.store().get(&from)? {
            let to = ds.task_key(run_id, task)?.join(name)?;
            ds.store().put(&to, &bytes)?;
        }
    }
    Ok(())
}

fn check_step(flow: &Flow, step: &str) -> Result<String, TaskError> {
    if flow.step_id(step).is_some() {
        return Ok(step.to_string());
    }
    let hint = crate::diagnostics::suggest(step, flow.steps.iter().map(|s| s.name.as_str()))
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    Err(TaskError::Usage(format!(
        "--from: flow `{}` has no step `{step}`{hint}",
        flow.name
    )))
}

/// Steps with a task whose last attempt did not succeed and that has no `done.json`.
fn unfinished_steps(ds: &Datastore, flow: &Flow, origin: &str) -> Result<Vec<String>, TaskError> {
    let mut out = BTreeSet::new();
    for (task_id, status) in ds.task_statuses(origin)? {
        if status == "succeeded" {
            continue;
        }
        let step = task_id.split('-').next().unwrap_or(&task_id).to_string();
        if flow.step_id(&step).is_some() {
            out.insert(step);
        }
    }
    Ok(out.into_iter().collect())
}

/// `roots` and every step reachable from them.
pub fn downstream(flow: &Flow, roots: &[StepId]) -> BTreeSet<StepId> {
    let mut seen: BTreeSet<StepId> = BTreeSet::new();
    let mut todo: Vec<StepId> = roots.to_vec();
    while let Some(s) = todo.pop() {
        if seen.insert(s) {
            todo.extend(successors(&flow.step(s).next));
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::store::LocalStore;

    #[test]
    fn import_copies_the_run_and_its_objects_once() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let origin = Datastore::new(Box::new(LocalStore::new(a.path())), "F").unwrap();
        let local = Datastore::new(Box::new(LocalStore::new(b.path())), "F").unwrap();
        assert!(import_run(&origin, &local, "r", "s3://b/p").is_err());
        origin.write_parameters("r", &Default::default()).unwrap();
        let r = origin.put_value(&json!(42)).unwrap();
        let unrelated = origin.put_value(&json!("not named")).unwrap();
        let t = TaskAddr {
            step: "start".into(),
            index: Default::default(),
        };
        let mut m = Manifest {
            flow: "F".into(),
            run_id: "r".into(),
            step: "start".into(),
            index: String::new(),
            attempt: 0,
            started: None,
            ended: None,
            artifacts: Default::default(),
        };
        m.artifacts.values.insert("x".into(), r.clone());
        origin.write_done(&m, &t).unwrap();
        let done = import_run(&origin, &local, "r", "s3://b/p").unwrap();
        assert_eq!(
            done,
            Imported {
                keys: 2,
                objects: 1
            }
        );
        assert_eq!(local.get_value(&r).unwrap(), json!(42));
        assert!(local.get_object(&unrelated).is_err(), "only named objects");
        assert_eq!(local.done("r", &t).unwrap(), Some(0));
        // Again from the same origin: refreshed; from another: refused.
        let again = import_run(&origin, &local, "r", "s3://b/p").unwrap();
        assert_eq!(again.objects, 0);
        assert!(import_run(&origin, &local, "r", "s3://other/p").is_err());
    }

    #[test]
    fn import_reads_the_manifests_of_a_run_an_earlier_build_wrote() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let origin = Datastore::new(Box::new(LocalStore::new(a.path())), "F").unwrap();
        let local = Datastore::new(Box::new(LocalStore::new(b.path())), "F").unwrap();
        origin.write_parameters("r", &Default::default()).unwrap();
        let r = origin.put_value(&json!(42)).unwrap();
        let manifest = json!({"flow": "F", "run_id": "r", "step": "start", "index": "",
            "attempt": 0, "values": {"x": r}, "files": {}});
        let task = a.path().join("F/runs/r/start");
        std::fs::create_dir_all(task.join("attempt-0")).unwrap();
        std::fs::write(task.join("attempt-0/manifest.json"), manifest.to_string()).unwrap();
        let pointer = json!({"attempt": 0, "manifest": "attempt-0/manifest.json"});
        std::fs::write(task.join("done.json"), pointer.to_string()).unwrap();
        let done = import_run(&origin, &local, "r", "s3://b/p").unwrap();
        assert_eq!(
            done,
            Imported {
                keys: 3,
                objects: 1
            }
        );
        let t = TaskAddr {
            step: "start".into(),
            index: Default::default(),
        };
        let arts = local.done_artifacts("r", &t).unwrap().unwrap();
        assert_eq!(local.get_value(&arts.values["x"]).unwrap(), json!(42));
        // A done.json that is neither a manifest nor a pointer to one is refused.
        std::fs::write(task.join("done.json"), b"{\"attempt\": 0}").unwrap();
        let e = import_run(&origin, &local, "r", "s3://b/p").unwrap_err();
        assert!(e.to_string().contains("done.json"), "{e}");
    }

    #[test]
    fn downstream_follows_splits_and_joins() {
        let src = r#"flow D {
            step start { run "true" next a, b }
            step a { run "true" next join }
            step b { run "true" next join }
            step join { run "true" next end }
            step end { run "true" }
        }"#;
        let (f, d) = crate::check(src, &Default::default());
        let f = f.unwrap_or_else(|| panic!("{d:?}"));
        let a = f.step_id("a").unwrap();
        let names: Vec<String> = downstream(&f, &[a])
            .into_iter()
            .map(|s| f.step(s).name.clone())
            .collect();
        assert_eq!(names, ["a", "join", "end"]);
    }
}
