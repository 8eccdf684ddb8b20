//! Workflow variables (`Assign`, `$name` references) with lexical scoping: a Map iteration
//! or Parallel branch sees the variables of its enclosing scope and its own; its assignments
//! do not leak out.

use indexmap::IndexMap;
use serde_json::Value;
use std::sync::Arc;

/// A scope of variables: its own bindings plus a read-only parent chain.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    parent: Option<Arc<Vars>>,
    own: IndexMap<String, Value>,
}

impl Vars {
    /// An empty top-level scope.
    pub fn new() -> Self {
        Vars::default()
    }

    /// A child scope (Map iteration, Parallel branch) that reads through to `parent`.
    pub fn child(parent: Arc<Vars>) -> Self {
        Vars {
            parent: Some(parent),
            own: IndexMap::new(),
        }
    }

    /// The value of `$name`, searching this scope then its ancestors.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self.own.get(name) {
            Some(v) => Some(v),
            None => self.parent.as_ref().and_then(|p| p.get(name)),
        }
    }

    /// Binds `name` in this scope (replacing an earlier binding here).
    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        self.own.insert(name.into(), value);
    }

    /// True when `name` is bound in an enclosing scope (not this one).
    pub fn is_outer(&self, name: &str) -> bool {
        !self.own.contains_key(name) && self.parent.as_ref().is_some_and(|p| p.get(name).is_some())
    }

    /// The bindings of this scope only, in assignment order.
    pub fn own(&self) -> &IndexMap<String, Value> {
        &self.own
    }
}
