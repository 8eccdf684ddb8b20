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

use crate::ir::{Flow, StepId};
use crate::runtime::datastore::{Datastore, TaskAddr};
use crate::runtime::graph::successors;
use crate::runtime::TaskError;
use serde_json::json;
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
        let Some(n) = ds.done(&self.origin, task)? else {
            return Ok(false);
        };
        let Some(mut m) = ds.manifest(&self.origin, task, n)? else {
            return Ok(false);
        };
        copy_small_files(ds, &self.origin, run_id, task)?;
        m.run_id = run_id.to_string();
        m.attempt = 0;
        ds.write_manifest(&m, task)?;
        if let Some(rec) = ds.attempt_record(&self.origin, task, n)? {
            ds.write_attempt_record(run_id, task, 0, &rec)?;
        }
        let note = json!({"origin_run": self.origin, "origin_attempt": n});
        let key = ds.task_key(run_id, task)?.join("cloned.json")?;
        ds.store()
            .put(&key, note.to_string().as_bytes())
            .map_err(TaskError::from)?;
        ds.write_done(run_id, task, 0)?;
        Ok(true)
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
