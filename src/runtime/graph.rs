//! The task graph of a checked flow, as the runtime needs it: each step's foreach depth and
//! innermost enclosing foreach, its predecessors, and which steps are joins of which split or
//! foreach. Built once per task from the validated IR (`flowc::check`).

use super::datastore::IndexPath;
use crate::ir::{Flow, StepId, Transition};
use std::collections::{BTreeSet, HashMap};

/// Where a task's input artifacts come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Inputs {
    /// `start`: parameters only.
    Start,
    /// One predecessor task, the one of `candidates` that ran (several after a switch whose
    /// cases converge here; one otherwise).
    Single {
        /// Predecessor steps, each with the index path of its task.
        candidates: Vec<(StepId, IndexPath)>,
    },
    /// The join of a static split: per branch (in source order), the candidate last steps of
    /// the branch, at the join's index path; exactly one per branch ran.
    SplitJoin {
        /// The splitting step.
        split: StepId,
        /// Per branch, its steps that lead to the join.
        branches: Vec<Vec<StepId>>,
    },
    /// The join of a foreach: per item `i` of the split's `foreach.json`, the candidate last
    /// steps of the body, at index path `INDEX.i`.
    ForeachJoin {
        /// The foreach split step (its task has the join's index path).
        split: StepId,
        /// The body's steps that lead to the join.
        ends: Vec<StepId>,
    },
}

/// The graph facts of one flow.
#[derive(Debug, Clone)]
pub struct Topology<'a> {
    flow: &'a Flow,
    preds: Vec<Vec<StepId>>,
    depth: Vec<usize>,
    enclosing: Vec<Option<StepId>>,
    split_of_join: HashMap<StepId, StepId>,
    foreach_of_join: HashMap<StepId, StepId>,
}

/// Steps a transition leads to.
pub fn successors(t: &Transition) -> Vec<StepId> {
    match t {
        Transition::End => vec![],
        Transition::Linear(s) => vec![*s],
        Transition::Split { targets, .. } => targets.clone(),
        Transition::Foreach { body, .. } => vec![*body],
        Transition::Switch { cases, .. } => cases.iter().map(|(_, s)| *s).collect(),
    }
}

impl<'a> Topology<'a> {
    /// Builds the topology of a validated flow (joins filled in).
    pub fn new(flow: &'a Flow) -> Topology<'a> {
        let n = flow.steps.len();
        let mut preds = vec![vec![]; n];
        let mut split_of_join = HashMap::new();
        let mut foreach_of_join = HashMap::new();
        for s in &flow.steps {
            for t in successors(&s.next) {
                if !preds[t.index()].contains(&s.id) {
                    preds[t.index()].push(s.id);
                }
            }
            match &s.next {
                Transition::Split { join: Some(j), .. } => {
                    split_of_join.insert(*j, s.id);
                }
                Transition::Foreach { join: Some(j), .. } => {
                    foreach_of_join.insert(*j, s.id);
                }
                _ => {}
            }
        }
        let mut topo = Topology {
            flow,
            preds,
            depth: vec![0; n],
            enclosing: vec![None; n],
            split_of_join,
            foreach_of_join,
        };
        topo.fill_bodies();
        topo
    }

    /// Steps reachable from `from` without passing through `stop`.
    pub fn reach(&self, from: StepId, stop: StepId) -> BTreeSet<StepId> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(s) = todo.pop() {
            if s == stop || !seen.insert(s) {
                continue;
            }
            todo.extend(successors(&self.flow.step(s).next));
        }
        seen
    }

    fn fill_bodies(&mut self) {
        let mut bodies: Vec<(StepId, BTreeSet<StepId>)> = self
            .flow
            .steps
            .iter()
            .filter_map(|s| match &s.next {
                Transition::Foreach {
                    body,
                    join: Some(j),
                    ..
                } => Some((s.id, self.reach(*body, *j))),
                _ => None,
            })
            .collect();
        // Outer bodies first, so the innermost enclosing foreach is written last.
        bodies.sort_by_key(|(_, b)| std::cmp::Reverse(b.len()));
        for (f, body) in bodies {
            for s in body {
                self.depth[s.index()] += 1;
                self.enclosing[s.index()] = Some(f);
            }
        }
    }

    /// The flow.
    pub fn flow(&self) -> &'a Flow {
        self.flow
    }

    /// Number of foreach bodies around `s` (the length of its tasks' index paths).
    pub fn depth(&self, s: StepId) -> usize {
        self.depth[s.index()]
    }

    /// The innermost foreach split step whose body contains `s`.
    pub fn enclosing_foreach(&self, s: StepId) -> Option<StepId> {
        self.enclosing[s.index()]
    }

    /// Steps with an edge to `s`.
    pub fn preds(&self, s: StepId) -> &[StepId] {
        &self.preds[s.index()]
    }

    /// Where the inputs of task (`s`, `index`) come from.
    pub fn inputs(&self, s: StepId, index: &IndexPath) -> Inputs {
        if let Some(&split) = self.split_of_join.get(&s) {
            return self.split_join(s, split);
        }
        if let Some(&split) = self.foreach_of_join.get(&s) {
            return Inputs::ForeachJoin {
                split,
                ends: self.preds(s).to_vec(),
            };
        }
        if self.preds(s).is_empty() {
            return Inputs::Start;
        }
        let candidates = self
            .preds(s)
            .iter()
            .map(|&p| match &self.flow.step(p).next {
                Transition::Foreach { body, .. } if *body == s => (
                    p,
                    index
                        .split_last()
                        .map(|(outer, _)| outer)
                        .unwrap_or_default(),
                ),
                _ => (p, index.clone()),
            })
            .collect();
        Inputs::Single { candidates }
    }

    fn split_join(&self, join: StepId, split: StepId) -> Inputs {
        let targets = match &self.flow.step(split).next {
            Transition::Split { targets, .. } => targets.clone(),
            _ => vec![],
        };
        let branches = targets
            .iter()
            .map(|&t| {
                if t == join {
                    return vec![split];
                }
                let body = self.reach(t, join);
                self.preds(join)
                    .iter()
                    .copied()
                    .filter(|p| body.contains(p))
                    .collect()
            })
            .collect();
        Inputs::SplitJoin { split, branches }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(src: &str) -> Flow {
        let (f, d) = crate::check(src, &crate::options::CompileOptions::default());
        f.unwrap_or_else(|| panic!("{d:?}"))
    }

    fn id(f: &Flow, n: &str) -> StepId {
        f.step_id(n).unwrap()
    }

    #[test]
    fn nested_foreach_depths_and_joins() {
        let src = std::fs::read_to_string("fixtures/ok/nested_foreach.flow").unwrap();
        let f = flow(&src);
        let t = Topology::new(&f);
        assert_eq!(t.depth(id(&f, "start")), 0);
        assert_eq!(t.depth(id(&f, "per_group")), 1);
        assert_eq!(t.depth(id(&f, "square")), 2);
        assert_eq!(t.depth(id(&f, "sum_group")), 1);
        assert_eq!(t.depth(id(&f, "total")), 0);
        assert_eq!(
            t.enclosing_foreach(id(&f, "square")),
            Some(id(&f, "per_group"))
        );
        assert_eq!(
            t.enclosing_foreach(id(&f, "per_group")),
            Some(id(&f, "start"))
        );
        let idx = IndexPath(vec![1, 0]);
        assert_eq!(
            t.inputs(id(&f, "square"), &idx),
            Inputs::Single {
                candidates: vec![(id(&f, "per_group"), IndexPath(vec![1]))]
            }
        );
        assert_eq!(
            t.inputs(id(&f, "sum_group"), &IndexPath(vec![1])),
            Inputs::ForeachJoin {
                split: id(&f, "per_group"),
                ends: vec![id(&f, "square")]
            }
        );
    }

    #[test]
    fn switch_in_branch_join_candidates() {
        let src = std::fs::read_to_string("fixtures/ok/switch_in_branch.flow").unwrap();
        let f = flow(&src);
        let t = Topology::new(&f);
        let Inputs::SplitJoin { branches, .. } = t.inputs(id(&f, "join"), &IndexPath::default())
        else {
            panic!("not a split join")
        };
        assert_eq!(
            branches,
            vec![vec![id(&f, "checked_done")], vec![id(&f, "plain")]]
        );
        let Inputs::Single { candidates } = t.inputs(id(&f, "checked_done"), &IndexPath::default())
        else {
            panic!("not single")
        };
        assert_eq!(candidates.len(), 2);
        assert_eq!(
            t.inputs(id(&f, "start"), &IndexPath::default()),
            Inputs::Start
        );
    }
}
