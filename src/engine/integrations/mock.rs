//! Step Functions Local mock configurations (`MockConfigFile.json`), as described in the AWS
//! Step Functions Developer Guide, "Using mocked service integrations for testing in Step
//! Functions Local":
//!
//! ```json
//! {"StateMachines": {"<state machine>": {"TestCases": {"<test case>": {"<state>": "<response>"}}}},
//!  "MockedResponses": {"<response>": {"0": {"Return": {…}},
//!                                     "1-2": {"Throw": {"Error": "…", "Cause": "…"}}}}}
//! ```
//!
//! Each Task state of the test case answers its n-th invocation (0-based, retries included,
//! counted per execution, state machine and state) with the response whose key is `"n"` or a
//! range `"a-b"` containing n. As in Step Functions Local, the keys of one response must be
//! consecutive from `"0"` without gaps or overlaps, and each entry holds exactly one of
//! `Return` (any JSON: the task result) or `Throw` (`Error` string, optional `Cause`). An
//! invocation past the last key fails the execution with `States.Runtime` ("No mocked
//! response definition for state … and invocation number …").
//!
//! States the test case does not name are served by the fallback integrations (the real
//! local Batch/S3), as Step Functions Local calls the real service for unmocked states.

use super::{Integration, TaskFuture, TaskRequest};
use crate::engine::StatesError;
use indexmap::IndexMap;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// One mocked answer.
#[derive(Debug, Clone, PartialEq)]
pub enum MockStep {
    /// `Return`: the task result.
    Return(Value),
    /// `Throw`: the task fails with this error.
    Throw(StatesError),
}

/// A mocked response: its answers by invocation number (ranges expanded).
#[derive(Debug, Clone, PartialEq)]
pub struct MockedResponse {
    /// Name in `MockedResponses`.
    pub name: String,
    /// `steps[n]` answers invocation n.
    pub steps: Vec<MockStep>,
}

/// A malformed mock configuration: where (a JSON path such as
/// `$.MockedResponses.Retry["1-2"].Throw.Error`) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mock configuration {file}: at {path}: {message}")]
pub struct MockConfigError {
    /// The file (or `<text>`).
    pub file: String,
    /// JSON path of the offending value.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The mocked states of one test case of one state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct MockTestCase {
    /// State machine name (key of `StateMachines`).
    pub state_machine: String,
    /// Test case name.
    pub test_case: String,
    /// Mocked response of each state.
    pub states: IndexMap<String, MockedResponse>,
}

type Counters = HashMap<(String, String, String), usize>;

/// Serves mocked responses for the states of a test case, other states through `fallback`.
pub struct MockIntegration {
    case: MockTestCase,
    counters: Mutex<Counters>,
    fallback: Vec<Arc<dyn Integration>>,
}

impl MockIntegration {
    /// Reads `path` and selects `test_case` of `state_machine` (when `None`, the only state
    /// machine that has a test case of that name).
    ///
    /// Errors: unreadable file, invalid JSON, wrong shapes (with the JSON path), unknown
    /// state machine or test case, a test case naming an unknown response, non-consecutive
    /// invocation keys.
    pub fn from_file(
        path: &Path,
        test_case: &str,
        state_machine: Option<&str>,
    ) -> Result<Self, MockConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| MockConfigError {
            file: file.clone(),
            path: "$".into(),
            message: format!("cannot read: {e}"),
        })?;
        Self::from_str(&text, &file, test_case, state_machine)
    }

    /// As [`MockIntegration::from_file`], from text; `file` names it in errors.
    pub fn from_str(
        text: &str,
        file: &str,
        test_case: &str,
        state_machine: Option<&str>,
    ) -> Result<Self, MockConfigError> {
        let err = |path: &str, message: String| MockConfigError {
            file: file.into(),
            path: path.into(),
            message,
        };
        let root: Value =
            serde_json::from_str(text).map_err(|e| err("$", format!("not valid JSON: {e}")))?;
        let case = parse_test_case(&root, test_case, state_machine).map_err(|(p, m)| err(&p, m))?;
        Ok(MockIntegration {
            case,
            counters: Mutex::new(HashMap::new()),
            fallback: vec![],
        })
    }

    /// Adds integrations serving the states the test case does not mock (first match wins).
    pub fn with_fallback(mut self, fallback: Vec<Arc<dyn Integration>>) -> Self {
        self.fallback = fallback;
        self
    }

    /// The selected test case.
    pub fn test_case(&self) -> &MockTestCase {
        &self.case
    }

    /// True when `state` of `state_machine` is mocked by this test case.
    pub fn mocks(&self, state_machine: &str, state: &str) -> bool {
        state_machine == self.case.state_machine && self.case.states.contains_key(state)
    }

    /// The answer to the next invocation of the request's state (and counts it).
    fn next_step(&self, req: &TaskRequest) -> Result<MockStep, StatesError> {
        let response = self
            .case
            .states
            .get(&req.state)
            .ok_or_else(|| StatesError::runtime("state is not mocked"))?;
        let key = (
            req.execution_name.clone(),
            req.state_machine.clone(),
            req.state.clone(),
        );
        let n = {
            let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
            let c = counters.entry(key).or_insert(0);
            *c += 1;
            *c - 1
        };
        response.steps.get(n).cloned().ok_or_else(|| {
            StatesError::runtime(format!(
                "No mocked response definition for state '{}' and invocation number '{n}' (mocked response '{}' defines {} invocations)",
                req.state,
                response.name,
                response.steps.len()
            ))
        })
    }
}

impl Integration for MockIntegration {
    /// Any resource may belong to a mocked state; use [`Integration::handles_request`] (which
    /// also looks at the state) to choose precisely.
    fn handles(&self, resource: &str) -> bool {
        !self.case.states.is_empty() || self.fallback.iter().any(|f| f.handles(resource))
    }

    fn handles_request(&self, request: &TaskRequest) -> bool {
        self.mocks(&request.state_machine, &request.state)
            || self.fallback.iter().any(|f| f.handles_request(request))
    }

    fn invoke(&self, request: TaskRequest) -> TaskFuture<'_> {
        if !self.mocks(&request.state_machine, &request.state) {
            return match self.fallback.iter().find(|f| f.handles_request(&request)) {
                Some(f) => f.invoke(request),
                None => Box::pin(async move {
                    Err(StatesError::new(
                        "States.TaskFailed",
                        format!(
                            "No integration serves the resource '{}' (state '{}')",
                            request.resource, request.state
                        ),
                    ))
                }),
            };
        }
        let step = self.next_step(&request);
        Box::pin(async move {
            match step? {
                MockStep::Return(v) => Ok(v),
                MockStep::Throw(e) => Err(e),
            }
        })
    }
}

/// A JSON path error: (path, message).
type PathError = (String, String);

/// Child path `parent.key`, or `parent["key"]` when the key is not an identifier.
fn child(parent: &str, key: &str) -> String {
    if !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit())
    {
        format!("{parent}.{key}")
    } else {
        format!("{parent}[{}]", Value::String(key.into()))
    }
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a serde_json::Map<String, Value>, PathError> {
    v.as_object()
        .ok_or_else(|| (path.to_string(), "expected a JSON object".to_string()))
}

fn field<'a>(
    obj: &'a serde_json::Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Value, PathError> {
    obj.get(key)
        .ok_or_else(|| (path.to_string(), format!("missing field \"{key}\"")))
}

fn parse_test_case(
    root: &Value,
    test_case: &str,
    sm: Option<&str>,
) -> Result<MockTestCase, PathError> {
    let root_obj = object(root, "$")?;
    let machines = object(field(root_obj, "StateMachines", "$")?, "$.StateMachines")?;
    let responses = object(
        field(root_obj, "MockedResponses", "$")?,
        "$.MockedResponses",
    )?;
    let sm_name = pick_state_machine(machines, test_case, sm)?;
    let sm_path = child("$.StateMachines", &sm_name);
    let sm_obj = object(&machines[&sm_name], &sm_path)?;
    let cases_path = child(&sm_path, "TestCases");
    let cases = object(field(sm_obj, "TestCases", &sm_path)?, &cases_path)?;
    let case_path = child(&cases_path, test_case);
    let case = cases.get(test_case).ok_or_else(|| {
        let known: Vec<&String> = cases.keys().collect();
        (
            cases_path.clone(),
            format!("no test case \"{test_case}\" (test cases: {known:?})"),
        )
    })?;
    let mut states = IndexMap::new();
    for (state, name) in object(case, &case_path)? {
        let state_path = child(&case_path, state);
        let name = name.as_str().ok_or_else(|| {
            (
                state_path.clone(),
                "expected the name of a mocked response".into(),
            )
        })?;
        let raw = responses.get(name).ok_or_else(|| {
            (
                state_path.clone(),
                format!("no mocked response \"{name}\" in $.MockedResponses"),
            )
        })?;
        states.insert(
            state.clone(),
            parse_response(name, raw, &child("$.MockedResponses", name))?,
        );
    }
    Ok(MockTestCase {
        state_machine: sm_name,
        test_case: test_case.into(),
        states,
    })
}

fn pick_state_machine(
    machines: &serde_json::Map<String, Value>,
    test_case: &str,
    sm: Option<&str>,
) -> Result<String, PathError> {
    if let Some(name) = sm {
        return match machines.contains_key(name) {
            true => Ok(name.to_string()),
            false => Err((
                "$.StateMachines".into(),
                format!("no state machine \"{name}\""),
            )),
        };
    }
    let having: Vec<&String> = machines
        .iter()
        .filter(|(_, m)| m.get("TestCases").and_then(|t| t.get(test_case)).is_some())
        .map(|(k, _)| k)
        .collect();
    match having.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err((
            "$.StateMachines".into(),
            format!("no state machine has a test case \"{test_case}\""),
        )),
        many => Err((
            "$.StateMachines".into(),
            format!("several state machines have a test case \"{test_case}\": {many:?}; name one"),
        )),
    }
}

/// Parses one mocked response: consecutive invocation keys from 0.
fn parse_response(name: &str, raw: &Value, path: &str) -> Result<MockedResponse, PathError> {
    let mut ranges = vec![];
    for (key, entry) in object(raw, path)? {
        let entry_path = child(path, key);
        let (lo, hi) = parse_range(key).ok_or_else(|| {
            (
                entry_path.clone(),
                format!("\"{key}\" is not an invocation number (\"0\") or range (\"1-2\")"),
            )
        })?;
        ranges.push((lo, hi, parse_step(entry, &entry_path)?, entry_path));
    }
    ranges.sort_by_key(|r| r.0);
    let mut steps = vec![];
    for (lo, hi, step, entry_path) in ranges {
        if lo != steps.len() {
            let msg = format!(
                "invocation keys must be consecutive from 0: expected {}, found {lo}",
                steps.len()
            );
            return Err((entry_path, msg));
        }
        steps.extend(std::iter::repeat_n(step, hi - lo + 1));
    }
    if steps.is_empty() {
        return Err((
            path.to_string(),
            "a mocked response needs at least the invocation \"0\"".into(),
        ));
    }
    Ok(MockedResponse {
        name: name.into(),
        steps,
    })
}

/// `"3"` → (3, 3); `"1-2"` → (1, 2); `None` for anything else or a reversed range.
fn parse_range(key: &str) -> Option<(usize, usize)> {
    let (lo, hi) = match key.split_once('-') {
        Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
        None => {
            let n = key.trim().parse().ok()?;
            (n, n)
        }
    };
    (lo <= hi).then_some((lo, hi))
}

fn parse_step(entry: &Value, path: &str) -> Result<MockStep, PathError> {
    let obj = object(entry, path)?;
    match (obj.get("Return"), obj.get("Throw")) {
        (Some(v), None) => Ok(MockStep::Return(v.clone())),
        (None, Some(t)) => {
            let tpath = child(path, "Throw");
            let t = object(t, &tpath)?;
            let error = field(t, "Error", &tpath)?
                .as_str()
                .ok_or_else(|| (child(&tpath, "Error"), "expected a string".to_string()))?;
            let cause = match t.get("Cause") {
                None => None,
                Some(c) => Some(
                    c.as_str()
                        .ok_or_else(|| (child(&tpath, "Cause"), "expected a string".to_string()))?
                        .to_string(),
                ),
            };
            Ok(MockStep::Throw(StatesError {
                error: error.into(),
                cause,
            }))
        }
        (Some(_), Some(_)) => Err((
            path.into(),
            "a response holds either \"Return\" or \"Throw\", not both".into(),
        )),
        (None, None) => Err((
            path.into(),
            "a response needs \"Return\" or \"Throw\"".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONFIG: &str = r#"{
      "StateMachines": {"sm": {"TestCases": {"Retry": {"Work": "Flaky"}, "Happy": {"Work": "Ok"}}}},
      "MockedResponses": {
        "Flaky": {"0": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "timed out"}},
                  "1-2": {"Throw": {"Error": "Custom", "Cause": "again"}},
                  "3": {"Return": {"n": 3}}},
        "Ok": {"0": {"Return": {"ok": true}}}
      }}"#;

    fn req(state: &str) -> TaskRequest {
        TaskRequest {
            resource: "arn:aws:states:::lambda:invoke".into(),
            parameters: json!({}),
            state_machine: "sm".into(),
            state: state.into(),
            execution_name: "e1".into(),
            attempt: 0,
            timeout_seconds: None,
        }
    }

    fn load(case: &str) -> MockIntegration {
        MockIntegration::from_str(CONFIG, "<text>", case, None).unwrap()
    }

    #[tokio::test]
    async fn throws_then_returns_by_invocation() {
        let m = load("Retry");
        let errors: Vec<String> = vec![
            m.invoke(req("Work")).await.unwrap_err().error,
            m.invoke(req("Work")).await.unwrap_err().error,
            m.invoke(req("Work")).await.unwrap_err().error,
        ];
        assert_eq!(errors, ["Lambda.TimeoutException", "Custom", "Custom"]);
        assert_eq!(m.invoke(req("Work")).await.unwrap(), json!({"n": 3}));
        let past = m.invoke(req("Work")).await.unwrap_err();
        assert_eq!(past.error, "States.Runtime");
        assert!(past.cause.unwrap().contains("invocation number '4'"));
    }

    #[tokio::test]
    async fn counters_are_per_execution() {
        let m = load("Happy");
        assert!(m.invoke(req("Work")).await.is_ok());
        let mut other = req("Work");
        other.execution_name = "e2".into();
        assert!(m.invoke(other).await.is_ok());
        assert!(m.invoke(req("Work")).await.is_err());
    }

    #[tokio::test]
    async fn unmocked_state_without_fallback_fails() {
        let m = load("Happy");
        assert!(!m.handles_request(&req("Other")));
        assert!(m.handles_request(&req("Work")));
        assert_eq!(
            m.invoke(req("Other")).await.unwrap_err().error,
            "States.TaskFailed"
        );
    }

    fn bad(text: &str) -> MockConfigError {
        MockIntegration::from_str(text, "f.json", "C", None)
            .err()
            .unwrap()
    }

    #[test]
    fn malformed_files_name_the_json_path() {
        let e = bad(
            r#"{"StateMachines": {"sm": {"TestCases": {"C": {"S": "R"}}}},
                       "MockedResponses": {"R": {"0": {"Throw": {"Cause": "x"}}}}}"#,
        );
        assert_eq!(e.path, "$.MockedResponses.R[\"0\"].Throw");
        assert!(e.message.contains("\"Error\""));
        let e = bad(
            r#"{"StateMachines": {"sm": {"TestCases": {"C": {"S": "R"}}}},
                       "MockedResponses": {"R": {"0": {"Return": 1}, "2": {"Return": 2}}}}"#,
        );
        assert_eq!(e.path, "$.MockedResponses.R[\"2\"]");
        let e = bad(
            r#"{"StateMachines": {"sm": {"TestCases": {"C": {"S": "Missing"}}}}, "MockedResponses": {}}"#,
        );
        assert_eq!(e.path, "$.StateMachines.sm.TestCases.C.S");
        let e = bad(
            r#"{"StateMachines": {"sm": {"TestCases": {"C": {"S": "R"}}}},
                       "MockedResponses": {"R": {"0": {"Return": 1, "Throw": {"Error": "x"}}}}}"#,
        );
        assert!(e.message.contains("not both"));
        assert_eq!(bad("{").path, "$");
        assert!(bad(r#"{"StateMachines": {}, "MockedResponses": {}}"#)
            .message
            .contains("no state machine"));
        assert!(bad(r#"{"StateMachines": {}}"#)
            .message
            .contains("MockedResponses"));
        let e = bad(
            r#"{"StateMachines": {"sm": {"TestCases": {"C": {"S": "R"}}}}, "MockedResponses": {"R": {"x": {"Return": 1}}}}"#,
        );
        assert!(e.message.contains("invocation number"));
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("0"), Some((0, 0)));
        assert_eq!(parse_range("1-2"), Some((1, 2)));
        assert_eq!(parse_range("2-1"), None);
        assert_eq!(parse_range("a"), None);
    }
}
