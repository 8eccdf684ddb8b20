//! Lineage: which artifacts a task sees. A manifest holds every artifact visible after its
//! task (inherited references plus the task's own), so a task reads only its immediate
//! predecessor task(s): the one that ran among the graph predecessors (after a switch, the
//! case that ran), every branch's last task at a split join, every item's last body task at a
//! foreach join. A predecessor that failed under `@catch` passes on its own input plus the
//! `@catch(var)` artifact read from its `error.json`.

use super::datastore::{Artifacts, Datastore, IndexPath, ObjRef, TaskAddr};
use super::graph::{Inputs, Topology};
use super::TaskError;
use crate::ir::{StepId, Transition};
use serde_json::{Map, Value};
use std::sync::Arc;

/// What a task receives from its predecessors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskInputs {
    /// Artifacts for `FLOW_INPUT` / `FLOW_INPUT_DIR` (parameters excluded); at a join, those
    /// on which all inputs agree.
    pub merged: Artifacts,
    /// At a join: each input's artifacts, in branch or item order (`FLOW_INPUTS`).
    pub join_inputs: Option<Vec<Artifacts>>,
}

/// Reads lineage from a run's datastore.
pub struct Lineage<'a> {
    /// The datastore.
    pub ds: &'a Datastore,
    /// The flow's graph.
    pub topo: &'a Topology<'a>,
    /// The run.
    pub run_id: &'a str,
}

impl Lineage<'_> {
    fn addr(&self, s: StepId, index: &IndexPath) -> TaskAddr {
        TaskAddr {
            step: self.topo.flow().step(s).name.clone(),
            index: index.clone(),
        }
    }

    /// The inputs of task (`s`, `index`).
    pub fn inputs(&self, s: StepId, index: &IndexPath) -> Result<TaskInputs, TaskError> {
        match self.topo.inputs(s, index) {
            Inputs::Start => Ok(TaskInputs::default()),
            Inputs::Single { candidates } => {
                let (p, pi) = self.which_ran(s, index, &candidates)?;
                Ok(TaskInputs {
                    merged: self.output_of(p, &pi)?,
                    join_inputs: None,
                })
            }
            Inputs::SplitJoin { branches, .. } => {
                let views = branches
                    .iter()
                    .map(|b| {
                        let cands: Vec<_> = b.iter().map(|&p| (p, index.clone())).collect();
                        let (p, pi) = self.which_ran(s, index, &cands)?;
                        self.output_of(p, &pi)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                self.join(views, None)
            }
            Inputs::ForeachJoin { split, ends } => {
                let addr = self.addr(split, index);
                let Some(n) = self.ds.foreach_count(self.run_id, &addr)? else {
                    // The split step failed under @catch: no foreach.json, zero inputs.
                    let base = self.output_of(split, index)?;
                    return self.join(vec![], Some(base));
                };
                let views = (0..n)
                    .map(|i| {
                        let child = index.child(i);
                        let cands: Vec<_> = ends.iter().map(|&p| (p, child.clone())).collect();
                        let (p, pi) = self.which_ran(s, index, &cands)?;
                        self.output_of(p, &pi)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let base = if n == 0 {
                    Some(self.output_of(split, index)?)
                } else {
                    None
                };
                self.join(views, base)
            }
        }
    }

    /// Picks the candidate predecessor task that ran. Errors: none or several ran.
    fn which_ran(
        &self,
        s: StepId,
        index: &IndexPath,
        candidates: &[(StepId, IndexPath)],
    ) -> Result<(StepId, IndexPath), TaskError> {
        let mut ran = vec![];
        for (p, pi) in candidates {
            if candidates.len() == 1 || self.led_to(*p, pi, s)? {
                ran.push((*p, pi.clone()));
            }
        }
        let names = |v: &[(StepId, IndexPath)]| {
            v.iter()
                .map(|(p, pi)| self.addr(*p, pi).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match ran.len() {
            1 => Ok(ran.remove(0)),
            0 => Err(TaskError::Invalid(format!(
                "task {} of run {}: none of its predecessors ran ({})",
                self.addr(s, index),
                self.run_id,
                names(candidates)
            ))),
            _ => Err(TaskError::Invalid(format!(
                "task {} of run {}: several of its predecessors ran ({}); a switch runs exactly one case",
                self.addr(s, index),
                self.run_id,
                names(&ran)
            ))),
        }
    }

    /// Whether task (`p`, `index`) ran and control went from it to step `s`: for a switch
    /// step, its `switch.json` value must choose a case leading to `s`.
    fn led_to(&self, p: StepId, index: &IndexPath, s: StepId) -> Result<bool, TaskError> {
        let addr = self.addr(p, index);
        if !self.ds.task_ran(self.run_id, &addr)? {
            return Ok(false);
        }
        let Transition::Switch { cases, .. } = &self.topo.flow().step(p).next else {
            return Ok(true);
        };
        let Some(Value::String(v)) = self.ds.switch_value(self.run_id, &addr)? else {
            return Ok(false);
        };
        Ok(cases.iter().any(|(case, t)| *t == s && *case == v))
    }

    /// The artifacts after task (`p`, `index`): its manifest when it succeeded; when it failed
    /// under `@catch`, its own input plus the `@catch(var)` artifact.
    pub fn output_of(&self, p: StepId, index: &IndexPath) -> Result<Artifacts, TaskError> {
        let addr = self.addr(p, index);
        if let Some(a) = self.ds.done_artifacts(self.run_id, &addr)? {
            return Ok(a);
        }
        let step = self.topo.flow().step(p);
        let Some(catch) = &step.decorators.catch else {
            return Err(TaskError::Invalid(format!(
                "task {addr} of run {} has not succeeded (no done.json) and has no @catch",
                self.run_id
            )));
        };
        let mut out = self.inputs(p, index)?.merged;
        if let Some(var) = &catch.value.var {
            if let Some(err) = self.ds.caught_error(self.run_id, &addr)? {
                out.values.insert(var.clone(), self.ds.put_value(&err)?);
            }
        }
        Ok(out)
    }

    /// Join inputs: `merged` holds what all inputs agree on (`base` when there are none).
    fn join(
        &self,
        views: Vec<Artifacts>,
        base: Option<Artifacts>,
    ) -> Result<TaskInputs, TaskError> {
        let merged = match views.split_first() {
            None => base.unwrap_or_default(),
            Some((first, rest)) => {
                let mut m = first.clone();
                for v in rest {
                    m.values = self.agree(&m.values, &v.values, true)?;
                    m.files = self.agree(&m.files, &v.files, false)?;
                }
                m
            }
        };
        Ok(TaskInputs {
            merged,
            join_inputs: Some(views),
        })
    }

    /// Entries of `a` that `b` has with the same content (for values, also the same JSON
    /// value written with another key order).
    fn agree(
        &self,
        a: &std::collections::BTreeMap<String, ObjRef>,
        b: &std::collections::BTreeMap<String, ObjRef>,
        values: bool,
    ) -> Result<std::collections::BTreeMap<String, ObjRef>, TaskError> {
        let mut out = std::collections::BTreeMap::new();
        for (name, ra) in a {
            let Some(rb) = b.get(name) else { continue };
            let same = ra.sha256 == rb.sha256
                || (values && self.ds.get_value_shared(ra)? == self.ds.get_value_shared(rb)?);
            if same {
                out.insert(name.clone(), ra.clone());
            }
        }
        Ok(out)
    }

    /// `FLOW_ITEM` of task (`s`, `index`) in a foreach body: element `i` (the innermost
    /// index) of the array the enclosing foreach iterates over, read from the split task's
    /// visible artifacts (parameters, overridden by artifacts). `None` outside a foreach.
    pub fn item(
        &self,
        s: StepId,
        index: &IndexPath,
        params: &Map<String, Value>,
    ) -> Result<Option<Value>, TaskError> {
        let Some(f) = self.topo.enclosing_foreach(s) else {
            return Ok(None);
        };
        let Some((outer, i)) = index.split_last() else {
            return Ok(None);
        };
        let Transition::Foreach { over, .. } = &self.topo.flow().step(f).next else {
            return Ok(None);
        };
        let arts = self.output_of(f, &outer)?;
        let items = match arts.values.get(over.name()) {
            Some(r) => Some(self.ds.get_value_shared(r)?),
            None => params.get(over.name()).cloned().map(Arc::new),
        };
        let split = self.addr(f, &outer);
        match items.as_deref() {
            Some(Value::Array(a)) if (i as usize) < a.len() => Ok(Some(a[i as usize].clone())),
            Some(Value::Array(a)) => Err(TaskError::Invalid(format!(
                "task {}: item index {i} is out of range: `{}` of {split} has {} items",
                self.addr(s, index),
                over.name(),
                a.len()
            ))),
            _ => Err(TaskError::Invalid(format!(
                "task {}: `{}` of {split} is not a JSON array",
                self.addr(s, index),
                over.name()
            ))),
        }
    }
}

/// The value of `name` as a task sees it: the artifact when there is one, else the
/// parameter.
pub fn visible_value(
    ds: &Datastore,
    arts: &Artifacts,
    params: &Map<String, Value>,
    name: &str,
) -> Result<Option<Value>, TaskError> {
    match arts.values.get(name) {
        Some(r) => ds.get_value(r).map(Some),
        None => Ok(params.get(name).cloned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::datastore::Manifest;
    use crate::runtime::store::LocalStore;

    const SRC: &str = r#"flow J {
    step start { run "true" next a, b }
    step a { run "true" next join }
    step b { run "true" next join }
    step join { run "true" next end }
    step end { run "true" }
}"#;

    fn succeed(ds: &Datastore, step: &str, values: &[(&str, &str)]) {
        let addr = TaskAddr {
            step: step.into(),
            index: IndexPath::default(),
        };
        let mut artifacts = Artifacts::default();
        for (k, text) in values {
            let r = ds.put_object(text.as_bytes()).unwrap();
            artifacts.values.insert(k.to_string(), r);
        }
        let n = ds.start_attempt("r", &addr, None).unwrap();
        let m = Manifest {
            flow: "J".into(),
            run_id: "r".into(),
            step: step.into(),
            index: String::new(),
            attempt: n,
            started: None,
            ended: None,
            artifacts,
        };
        ds.write_done(&m, &addr).unwrap();
    }

    #[test]
    fn a_join_keeps_values_equal_as_json_even_with_other_key_order() {
        let (flow, d) = crate::check(SRC, &crate::options::CompileOptions::default());
        let flow = flow.unwrap_or_else(|| panic!("{d:?}"));
        let topo = Topology::new(&flow);
        let dir = tempfile::tempdir().unwrap();
        let ds = Datastore::new(Box::new(LocalStore::new(dir.path())), "J").unwrap();
        succeed(
            &ds,
            "a",
            &[("o", r#"{"x":1,"y":2}"#), ("n", "1"), ("only_a", "0")],
        );
        succeed(&ds, "b", &[("o", r#"{"y":2,"x":1}"#), ("n", "2")]);
        let lineage = Lineage {
            ds: &ds,
            topo: &topo,
            run_id: "r",
        };
        let join = flow.step_id("join").unwrap();
        let inputs = lineage.inputs(join, &IndexPath::default()).unwrap();
        let names: Vec<&String> = inputs.merged.values.keys().collect();
        assert_eq!(names, ["o"]);
        assert_eq!(inputs.join_inputs.map(|v| v.len()), Some(2));
        // `end` reads the join, which has not run: a clear error naming it.
        let end = flow.step_id("end").unwrap();
        let e = lineage.inputs(end, &IndexPath::default()).unwrap_err();
        assert!(
            e.to_string()
                .contains("task join of run r has not succeeded"),
            "{e}"
        );
    }
}
