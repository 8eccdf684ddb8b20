//! The step graph as adjacency lists, and the algorithms validate needs: reachability,
//! back edges (cycles), post-order and immediate post-dominators, and the region of a branch
//! (the steps reachable from its first step without passing its join).

use crate::ir::{self, StepId, Transition};

/// Successors and predecessors of every step, indexed by [`StepId::index`]. Edges of a split
/// or switch are listed once per target, in source order.
#[derive(Debug, Clone)]
pub(super) struct Graph {
    succ: Vec<Vec<StepId>>,
    pred: Vec<Vec<StepId>>,
}

/// The steps a transition leads to, in source order.
pub(super) fn successors(t: &Transition) -> Vec<StepId> {
    match t {
        Transition::End => vec![],
        Transition::Linear(s) => vec![*s],
        Transition::Split { targets, .. } => targets.clone(),
        Transition::Foreach { body, .. } => vec![*body],
        Transition::Switch { cases, .. } => {
            let mut out: Vec<StepId> = vec![];
            for (_, s) in cases {
                if !out.contains(s) {
                    out.push(*s);
                }
            }
            out
        }
    }
}

impl Graph {
    /// The graph of `flow`.
    pub(super) fn new(flow: &ir::Flow) -> Self {
        let succ: Vec<Vec<StepId>> = flow.steps.iter().map(|s| successors(&s.next)).collect();
        let mut pred = vec![vec![]; succ.len()];
        for (i, out) in succ.iter().enumerate() {
            for s in out {
                pred[s.index()].push(StepId(i as u32));
            }
        }
        Graph { succ, pred }
    }

    /// Successors of `id`.
    pub(super) fn succ(&self, id: StepId) -> &[StepId] {
        &self.succ[id.index()]
    }

    /// Predecessors of `id`.
    pub(super) fn pred(&self, id: StepId) -> &[StepId] {
        &self.pred[id.index()]
    }

    /// Number of steps.
    pub(super) fn len(&self) -> usize {
        self.succ.len()
    }

    /// Steps reachable from `root` (itself included).
    pub(super) fn reachable(&self, root: StepId) -> Vec<bool> {
        self.region(root, None)
    }

    /// Steps reachable from `entry` without passing `stop` (`stop` itself excluded).
    pub(super) fn region(&self, entry: StepId, stop: Option<StepId>) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut todo = vec![entry];
        while let Some(n) = todo.pop() {
            if Some(n) == stop || seen[n.index()] {
                continue;
            }
            seen[n.index()] = true;
            todo.extend(self.succ(n).iter().copied());
        }
        seen
    }

    /// Depth-first search from `root`: the post-order of the reached steps, and the back
    /// edges `(from, to)` (edges to a step still on the DFS path: each closes a cycle).
    pub(super) fn dfs(&self, root: StepId) -> (Vec<StepId>, Vec<(StepId, StepId)>) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnPath,
            Done,
        }
        let mut mark = vec![Mark::New; self.len()];
        let (mut order, mut back) = (vec![], vec![]);
        // Stack of (step, index of the next successor to visit).
        let mut stack = vec![(root, 0usize)];
        mark[root.index()] = Mark::OnPath;
        while let Some((n, i)) = stack.pop() {
            let Some(&m) = self.succ(n).get(i) else {
                mark[n.index()] = Mark::Done;
                order.push(n);
                continue;
            };
            stack.push((n, i + 1));
            match mark[m.index()] {
                Mark::New => {
                    mark[m.index()] = Mark::OnPath;
                    stack.push((m, 0));
                }
                Mark::OnPath => back.push((n, m)),
                Mark::Done => {}
            }
        }
        (order, back)
    }

    /// Immediate post-dominators of the steps in `post_order` (the DFS post-order from
    /// `start` of an acyclic graph whose only step without successors is the first in that
    /// order, `end`). `ipdom[end] == end`; steps outside `post_order` get `None`.
    ///
    /// Cooper, Harvey and Kennedy's "A Simple, Fast Dominance Algorithm" on the reversed
    /// graph; on a DAG one pass in post-order suffices because every successor of a step
    /// comes before it.
    pub(super) fn post_dominators(&self, post_order: &[StepId]) -> Vec<Option<StepId>> {
        let mut rank = vec![usize::MAX; self.len()];
        for (i, n) in post_order.iter().enumerate() {
            rank[n.index()] = i;
        }
        let mut ipdom: Vec<Option<StepId>> = vec![None; self.len()];
        let Some(&exit) = post_order.first() else {
            return ipdom;
        };
        ipdom[exit.index()] = Some(exit);
        for &n in &post_order[1..] {
            let mut done = self
                .succ(n)
                .iter()
                .copied()
                .filter(|s| ipdom[s.index()].is_some());
            let Some(first) = done.next() else { continue };
            let meet = done.fold(first, |a, b| intersect(&ipdom, &rank, a, b));
            ipdom[n.index()] = Some(meet);
        }
        ipdom
    }
}

/// The nearest common post-dominator of `a` and `b`: walk the finger with the higher rank up
/// the post-dominator tree until both meet.
fn intersect(ipdom: &[Option<StepId>], rank: &[usize], mut a: StepId, mut b: StepId) -> StepId {
    while a != b {
        while rank[a.index()] > rank[b.index()] {
            match ipdom[a.index()] {
                Some(p) if p != a => a = p,
                _ => return b,
            }
        }
        while rank[b.index()] > rank[a.index()] {
            match ipdom[b.index()] {
                Some(p) if p != b => b = p,
                _ => return a,
            }
        }
    }
    a
}

/// True when `x` post-dominates `n` (every path from `n` to the exit passes `x`), `n` included.
pub(super) fn post_dominates(ipdom: &[Option<StepId>], x: StepId, mut n: StepId) -> bool {
    loop {
        if n == x {
            return true;
        }
        match ipdom[n.index()] {
            Some(p) if p != n => n = p,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A graph from successor lists.
    fn graph(succ: &[&[u32]]) -> Graph {
        let succ: Vec<Vec<StepId>> = succ
            .iter()
            .map(|s| s.iter().map(|&i| StepId(i)).collect())
            .collect();
        let mut pred = vec![vec![]; succ.len()];
        for (i, out) in succ.iter().enumerate() {
            for s in out {
                pred[s.index()].push(StepId(i as u32));
            }
        }
        Graph { succ, pred }
    }

    #[test]
    fn diamond_post_dominators() {
        // 0 → 1, 2; 1 → 3; 2 → 3; 3 → 4 (end)
        let g = graph(&[&[1, 2], &[3], &[3], &[4], &[]]);
        let (order, back) = g.dfs(StepId(0));
        assert!(back.is_empty());
        assert_eq!(order[0], StepId(4));
        let ipdom = g.post_dominators(&order);
        assert_eq!(ipdom[0], Some(StepId(3)));
        assert_eq!(ipdom[1], Some(StepId(3)));
        assert_eq!(ipdom[3], Some(StepId(4)));
        assert!(post_dominates(&ipdom, StepId(4), StepId(0)));
        assert!(!post_dominates(&ipdom, StepId(1), StepId(0)));
    }

    #[test]
    fn back_edge_found() {
        // 0 → 1 → 2 → 1
        let g = graph(&[&[1], &[2], &[1]]);
        let (_, back) = g.dfs(StepId(0));
        assert_eq!(back, vec![(StepId(2), StepId(1))]);
    }

    #[test]
    fn region_stops_at_join() {
        let g = graph(&[&[1, 2], &[3], &[3], &[4], &[]]);
        let r = g.region(StepId(1), Some(StepId(3)));
        assert_eq!(r, vec![false, true, false, false, false]);
        assert_eq!(g.pred(StepId(3)), &[StepId(1), StepId(2)]);
    }
}
