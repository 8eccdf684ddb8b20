//! ASL conformance: every execution of the corpus recorded on AWS Step Functions
//! (`asl-aws-recorded.jsonl`, derived from LocalStack's AWS-validated snapshot tests, Apache
//! License 2.0, copyright LocalStack contributors) runs as its own named test on the virtual
//! clock, and must end as AWS ended it: same status; same output (as JSON values: numbers
//! compared numerically, key order irrelevant); same error and cause (or the cause matching
//! `cause_pattern`).
//!
//! Known-unsupported cases are listed in `tests/conformance-expected-failures.txt` (one case
//! name per line, `# reason` comments). The list is enforced both ways: a listed case that
//! passes fails with a message to remove it.
//!
//! The corpus path is `$FLOWC_CONFORMANCE_CORPUS`, else
//! `../shared/conformance/asl-aws-recorded.jsonl` beside the repository (where CI puts it),
//! else `/work/shared/conformance/asl-aws-recorded.jsonl`, else
//! `tests/conformance/asl-aws-recorded.jsonl`. A summary of pass counts by feature is printed
//! at the end (`FLOWC_CONFORMANCE_SUMMARY=FILE` also writes it as JSON).

use flowc::engine::clock::ClockMode;
use flowc::engine::definition;
use flowc::engine::exec::{execute_blocking, ExecutionConfig, ExecutionResult};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

const DEFAULT_CORPUS: &str = "/work/shared/conformance/asl-aws-recorded.jsonl";
const LOCAL_CORPUS: &str = "tests/conformance/asl-aws-recorded.jsonl";
const EXPECTED_FAILURES: &str = "tests/conformance-expected-failures.txt";

/// Per-feature tallies: feature -> (passed, total).
type Tally = Arc<Mutex<BTreeMap<String, (usize, usize)>>>;

fn corpus_path() -> String {
    if let Ok(p) = std::env::var("FLOWC_CONFORMANCE_CORPUS") {
        return p;
    }
    // CI clones the repository with `shared/` beside it.
    let beside = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/conformance/asl-aws-recorded.jsonl"
    );
    [beside, DEFAULT_CORPUS]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or(LOCAL_CORPUS)
        .to_string()
}

fn expected_failures() -> HashSet<String> {
    let text = std::fs::read_to_string(EXPECTED_FAILURES).unwrap_or_default();
    text.lines()
        .map(|l| l.split(" #").next().unwrap_or("").trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// JSON equality with numbers compared numerically (`1 == 1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Runs one case; `Err` describes the first difference from AWS.
fn run_case(case: &Value) -> Result<(), String> {
    let def = case.get("definition").ok_or("case without definition")?;
    let sm = definition::parse(def).map_err(|e| {
        format!(
            "definition rejected: {}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let input = case.get("input").cloned().unwrap_or(Value::Null);
    let cfg = ExecutionConfig {
        clock: ClockMode::Virtual,
        execution_name: "conformance".into(),
        state_machine_name: "conformance".into(),
        ..ExecutionConfig::default()
    };
    let res = execute_blocking(&sm, input, &cfg);
    compare(case.get("expect").ok_or("case without expect")?, &res)
}

fn compare(expect: &Value, res: &ExecutionResult) -> Result<(), String> {
    let got = res.to_json();
    let status = expect.get("status").and_then(Value::as_str).unwrap_or("");
    if got["status"] != status {
        return Err(format!("status: expected {status}, got {got}"));
    }
    if status == "SUCCEEDED" {
        let want = expect.get("output").cloned().unwrap_or(Value::Null);
        if !json_eq(&want, &got["output"]) {
            return Err(format!(
                "output:\n  expected {want}\n  got      {}",
                got["output"]
            ));
        }
        return Ok(());
    }
    let want_err = expect.get("error").cloned().unwrap_or(Value::Null);
    if want_err != got["error"] {
        return Err(format!(
            "error: expected {want_err}, got {} (cause {})",
            got["error"], got["cause"]
        ));
    }
    match expect.get("cause_pattern").and_then(Value::as_str) {
        Some(p) => {
            let re = regex::Regex::new(p).map_err(|e| format!("bad cause_pattern: {e}"))?;
            let cause = got["cause"].as_str().unwrap_or("");
            if !re.is_match(cause) {
                return Err(format!("cause {cause:?} does not match /{p}/"));
            }
        }
        None => {
            let want = expect.get("cause").cloned().unwrap_or(Value::Null);
            if want != got["cause"] {
                return Err(format!(
                    "cause:\n  expected {want}\n  got      {}",
                    got["cause"]
                ));
            }
        }
    }
    Ok(())
}

fn record(tally: &Tally, features: &[String], passed: bool) {
    let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
    for f in features.iter().map(String::as_str).chain(["ALL"]) {
        let e = t.entry(f.to_string()).or_insert((0, 0));
        e.1 += 1;
        if passed {
            e.0 += 1;
        }
    }
}

fn trial(case: Value, expected_fail: bool, tally: Tally) -> Trial {
    let name = case["name"].as_str().unwrap_or("<unnamed>").to_string();
    let features: Vec<String> = case["features"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Trial::test(name, move || {
        let outcome = std::panic::catch_unwind(|| run_case(&case))
            .unwrap_or_else(|_| Err("the engine panicked".to_string()));
        record(&tally, &features, outcome.is_ok());
        match (outcome, expected_fail) {
            (Ok(()), false) | (Err(_), true) => Ok(()),
            (Err(e), false) => Err(Failed::from(e)),
            (Ok(()), true) => Err(Failed::from(format!(
                "this case now passes: remove it from {EXPECTED_FAILURES}"
            ))),
        }
    })
}

fn print_summary(tally: &Tally) {
    let t = tally.lock().unwrap_or_else(|p| p.into_inner());
    if t.is_empty() {
        return;
    }
    println!("\nconformance summary (passed/total by feature):");
    for (f, (p, n)) in t.iter() {
        println!("  {f:<48} {p:>4}/{n:<4}");
    }
    if let Ok(path) = std::env::var("FLOWC_CONFORMANCE_SUMMARY") {
        let j: serde_json::Map<String, Value> = t
            .iter()
            .map(|(f, (p, n))| (f.clone(), serde_json::json!({"passed": p, "total": n})))
            .collect();
        let _ = std::fs::write(path, Value::Object(j).to_string());
    }
}

fn main() {
    let args = Arguments::from_args();
    let path = corpus_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "cannot read the conformance corpus {path}: {e} (set FLOWC_CONFORMANCE_CORPUS)"
            );
            std::process::exit(101);
        }
    };
    let xfail = expected_failures();
    let tally: Tally = Arc::default();
    let mut names = HashSet::new();
    let mut trials = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = match serde_json::from_str(line) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("bad corpus line: {e}");
                std::process::exit(101);
            }
        };
        let name = case["name"].as_str().unwrap_or("").to_string();
        let listed = xfail.contains(&name);
        names.insert(name);
        trials.push(trial(case, listed, tally.clone()));
    }
    let stale: Vec<_> = xfail
        .iter()
        .filter(|n| !names.contains(*n))
        .cloned()
        .collect();
    trials.push(Trial::test(
        "expected_failures_list_names_only_corpus_cases",
        move || {
            if stale.is_empty() {
                Ok(())
            } else {
                Err(Failed::from(format!(
                    "not in the corpus, remove from {EXPECTED_FAILURES}: {stale:?}"
                )))
            }
        },
    ));
    let conclusion = libtest_mimic::run(&args, trials);
    print_summary(&tally);
    conclusion.exit();
}
