//! Execution history: the events AWS Step Functions' `GetExecutionHistory` shows, numbered
//! as AWS numbers them (ids from 1 in recording order; `previousEventId` is the preceding
//! event of the same branch of control, 0 for the first event).
//!
//! AWS Step Functions quota: 25,000 history events per execution (a hard quota). When 24,999
//! events exist, event 25,000 may only be `ExecutionSucceeded`; anything else makes the
//! execution fail ("Avoid reaching the history quota", Step Functions developer guide).
//! [`Recorder::record`] enforces it by refusing the event, and the executor then records
//! `ExecutionFailed` as event 25,000.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use std::sync::Mutex;

/// AWS Step Functions hard quota: history events per execution.
pub const MAX_HISTORY_EVENTS: usize = 25_000;

/// The cause AWS reports (with error `States.Runtime`) when an execution reaches the history
/// quota, as real executions show it (e.g. github.com/loads/ardere issue #86).
pub const HISTORY_LIMIT_CAUSE: &str =
    "The execution reached the maximum number of history events (25000).";

/// One history event.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// 1-based id in recording order.
    pub id: u64,
    /// Id of the preceding event of the same branch of control (0 for none).
    pub previous_event_id: u64,
    /// When the event happened (virtual or real clock).
    pub timestamp: DateTime<Utc>,
    /// AWS event type, e.g. `PassStateEntered`.
    pub kind: &'static str,
    /// The details object (e.g. `{"name":…,"input":…}`), `Null` for none.
    pub details: Value,
}

impl HistoryEvent {
    /// The AWS JSON form: `{"timestamp","type","id","previousEventId","<x>EventDetails":{…}}`.
    /// Payloads (`input`, `output`, `parameters`) are serialized to strings as AWS does.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert(
            "timestamp".into(),
            json!(self.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true)),
        );
        o.insert("type".into(), json!(self.kind));
        o.insert("id".into(), json!(self.id));
        o.insert("previousEventId".into(), json!(self.previous_event_id));
        if !self.details.is_null() {
            o.insert(details_key(self.kind), stringify_payloads(&self.details));
        }
        Value::Object(o)
    }
}

/// The name of the details field for an event type, as in the `HistoryEvent` API shape.
pub fn details_key(kind: &str) -> String {
    let base = if kind.ends_with("StateEntered") {
        "StateEntered"
    } else if kind.ends_with("StateExited") {
        "StateExited"
    } else {
        kind
    };
    let mut chars = base.chars();
    let first = chars
        .next()
        .map(|c| c.to_ascii_lowercase())
        .unwrap_or_default();
    format!("{first}{}EventDetails", chars.as_str())
}

fn stringify_payloads(details: &Value) -> Value {
    let Some(o) = details.as_object() else {
        return details.clone();
    };
    let mut out = Map::new();
    for (k, v) in o {
        let is_payload = matches!(k.as_str(), "input" | "output" | "parameters");
        let v = if is_payload && !v.is_string() {
            json!(v.to_string())
        } else {
            v.clone()
        };
        if k == "input" || k == "output" {
            out.insert(format!("{k}Details"), json!({"truncated": false}));
        }
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

/// Why an event could not be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimitReached;

/// A thread-safe, append-only history with the events quota.
#[derive(Debug)]
pub struct Recorder {
    events: Mutex<Vec<HistoryEvent>>,
    limit: usize,
    keep_payloads: bool,
}

impl Recorder {
    /// An empty history with the given quota (normally [`MAX_HISTORY_EVENTS`]).
    /// `keep_payloads: false` drops `input`/`output` details to save memory; counts and
    /// types are unaffected.
    pub fn new(limit: usize, keep_payloads: bool) -> Self {
        Recorder {
            events: Mutex::new(Vec::new()),
            limit: limit.max(2),
            keep_payloads,
        }
    }

    /// Whether payload details are kept.
    pub fn keeps_payloads(&self) -> bool {
        self.keep_payloads
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<HistoryEvent>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a non-terminal event and returns its id, or refuses it when it would take the
    /// last slot of the quota (which only `ExecutionSucceeded`/`ExecutionFailed` may take).
    pub fn record(
        &self,
        previous: u64,
        at: DateTime<Utc>,
        kind: &'static str,
        details: Value,
    ) -> Result<u64, HistoryLimitReached> {
        let mut ev = self.lock();
        if ev.len() + 1 >= self.limit {
            return Err(HistoryLimitReached);
        }
        Ok(push(&mut ev, previous, at, kind, details))
    }

    /// Appends a terminal execution event (always fits: it may take the last slot).
    pub fn record_terminal(
        &self,
        previous: u64,
        at: DateTime<Utc>,
        kind: &'static str,
        details: Value,
    ) -> u64 {
        let mut ev = self.lock();
        push(&mut ev, previous, at, kind, details)
    }

    /// Number of events recorded so far.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no event was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Id of the last event (0 when empty).
    pub fn last_id(&self) -> u64 {
        self.lock().len() as u64
    }

    /// Takes the events out.
    pub fn into_events(self) -> Vec<HistoryEvent> {
        self.events.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

fn push(
    ev: &mut Vec<HistoryEvent>,
    previous: u64,
    at: DateTime<Utc>,
    kind: &'static str,
    details: Value,
) -> u64 {
    let id = ev.len() as u64 + 1;
    ev.push(HistoryEvent {
        id,
        previous_event_id: previous,
        timestamp: at,
        kind,
        details,
    });
    id
}

/// The history as the JSON `GetExecutionHistory` returns: `{"events":[…]}`.
pub fn to_json(events: &[HistoryEvent]) -> Value {
    json!({ "events": events.iter().map(HistoryEvent::to_json).collect::<Vec<_>>() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_keys_follow_aws_shape() {
        assert_eq!(details_key("PassStateEntered"), "stateEnteredEventDetails");
        assert_eq!(details_key("MapStateExited"), "stateExitedEventDetails");
        assert_eq!(
            details_key("ExecutionStarted"),
            "executionStartedEventDetails"
        );
        assert_eq!(
            details_key("MapIterationStarted"),
            "mapIterationStartedEventDetails"
        );
    }

    #[test]
    fn quota_reserves_last_slot_for_terminal_event() {
        let r = Recorder::new(3, true);
        let now = Utc::now();
        assert_eq!(r.record(0, now, "ExecutionStarted", Value::Null), Ok(1));
        assert_eq!(r.record(1, now, "PassStateEntered", Value::Null), Ok(2));
        assert_eq!(
            r.record(2, now, "PassStateExited", Value::Null),
            Err(HistoryLimitReached)
        );
        assert_eq!(r.record_terminal(2, now, "ExecutionFailed", Value::Null), 3);
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn json_stringifies_payloads() {
        let r = Recorder::new(10, true);
        r.record(
            0,
            Utc::now(),
            "PassStateEntered",
            json!({"name":"A","input":{"x":1}}),
        )
        .ok();
        let j = to_json(&r.into_events());
        assert_eq!(
            j["events"][0]["stateEnteredEventDetails"]["input"],
            json!("{\"x\":1}")
        );
        assert_eq!(j["events"][0]["previousEventId"], json!(0));
    }
}
