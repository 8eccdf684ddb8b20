//! Definition hashes and the state-level diff of two ASL definitions (for `--plan` and the
//! drift check).

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Lower-case hex SHA-256 of the canonical form of a definition (JSON with object keys
/// sorted, no whitespace), so that Step Functions re-serialising the text does not count as
/// a change. Text that is not JSON is hashed as is.
pub fn definition_hash(text: &str) -> String {
    let canonical = match serde_json::from_str::<Value>(text) {
        Ok(v) => canonical(&v),
        Err(_) => text.to_string(),
    };
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// JSON text with object keys sorted recursively and no whitespace.
pub fn canonical(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let sorted: BTreeMap<&String, Value> =
                    m.iter().map(|(k, v)| (k, sort(v))).collect();
                Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

/// How one state differs between two definitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateChange {
    /// Only in the new definition.
    Added(String),
    /// Only in the old definition.
    Removed(String),
    /// In both, with these top-level fields different (sorted).
    Changed(String, Vec<String>),
}

impl std::fmt::Display for StateChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateChange::Added(s) => write!(f, "  + state {s}"),
            StateChange::Removed(s) => write!(f, "  - state {s}"),
            StateChange::Changed(s, fields) => {
                write!(f, "  ~ state {s}: {}", fields.join(", "))
            }
        }
    }
}

/// The state-level diff from `old` to `new` (ASL definitions as JSON). States nested in
/// Parallel branches and Map item processors are named by their path
/// (`Outer/branch 0/Inner`, `Map/Inner`); a nested state's change is reported on the nested
/// state, not on its container. Top-level fields other than `States` (`StartAt`, `Comment`, …)
/// are reported as a change of the pseudo-state `(machine)`.
pub fn diff(old: &Value, new: &Value) -> Vec<StateChange> {
    let (a, b) = (flatten(old), flatten(new));
    let mut out = vec![];
    for (name, sa) in &a {
        match b.get(name) {
            None => out.push(StateChange::Removed(name.clone())),
            Some(sb) => {
                let fields = changed_fields(sa, sb);
                if !fields.is_empty() {
                    out.push(StateChange::Changed(name.clone(), fields));
                }
            }
        }
    }
    out.extend(
        b.keys()
            .filter(|n| !a.contains_key(*n))
            .map(|n| StateChange::Added(n.clone())),
    );
    out
}

fn changed_fields(a: &Value, b: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (ma, mb) = (
        a.as_object().unwrap_or(&empty),
        b.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<&String> = ma.keys().chain(mb.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| ma.get(*k) != mb.get(*k))
        .map(|k| k.to_string())
        .collect()
}

/// Every state by path, with nested machines (`Branches`, `ItemProcessor`, `Iterator`)
/// replaced by a marker so that containers only report their own fields.
fn flatten(def: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut top = def.clone();
    if let Some(m) = top.as_object_mut() {
        m.remove("States");
    }
    out.insert("(machine)".to_string(), top);
    walk(def, "", &mut out);
    out
}

fn walk(machine: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
    let Some(states) = machine.get("States").and_then(Value::as_object) else {
        return;
    };
    for (name, state) in states {
        let full = format!("{path}{name}");
        let mut own = state.clone();
        if let Some(m) = own.as_object_mut() {
            for key in ["Branches", "ItemProcessor", "Iterator"] {
                if m.contains_key(key) {
                    m.insert(key.to_string(), Value::String("(nested)".into()));
                }
            }
        }
        out.insert(full.clone(), own);
        if let Some(branches) = state.get("Branches").and_then(Value::as_array) {
            for (i, b) in branches.iter().enumerate() {
                walk(b, &format!("{full}/branch {i}/"), out);
            }
        }
        for key in ["ItemProcessor", "Iterator"] {
            if let Some(p) = state.get(key) {
                walk(p, &format!("{full}/"), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_ignores_key_order_and_whitespace() {
        let a = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}"#;
        let b =
            "{ \"States\": {\"A\": {\"End\": true, \"Type\": \"Pass\"}},\n \"StartAt\": \"A\" }";
        assert_eq!(definition_hash(a), definition_hash(b));
        assert_ne!(
            definition_hash(a),
            definition_hash(&a.replace("Pass", "Succeed"))
        );
    }

    #[test]
    fn diff_names_added_removed_changed_and_nested() {
        let old = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "P"},
            "P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}]},
            "Gone": {"Type": "Succeed"}}});
        let new = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "P", "Result": 1},
            "P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true, "Result": 2}}}]},
            "New": {"Type": "Succeed"}}});
        let d = diff(&old, &new);
        assert_eq!(
            d,
            vec![
                StateChange::Changed("A".into(), vec!["Result".into()]),
                StateChange::Removed("Gone".into()),
                StateChange::Changed("P/branch 0/X".into(), vec!["Result".into()]),
                StateChange::Added("New".into()),
            ]
        );
        assert!(diff(&old, &old).is_empty());
    }
}
