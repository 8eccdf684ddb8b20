//! Scratch check of the JSONata evaluator against the AWS-recorded conformance corpus
//! (`shared/conformance/asl-aws-recorded.jsonl`, derived from LocalStack's Step Functions
//! snapshot tests recorded on AWS, Apache-2.0, copyright LocalStack contributors):
//! every `{% … %}` expression of the JSONata cases parses, and every single-Pass-state
//! JSONata machine's `Output` evaluates to the output (or the error cause) AWS recorded.

use flowc::engine::jsonata::{
    evaluate, evaluate_template, expression_text, is_expression, validate, Failure,
};
use flowc::engine::vars::Vars;
use serde_json::{json, Value};
use std::path::PathBuf;

/// The corpus: beside the repository (`../shared`, as CI lays it out) or under `/work/shared`.
fn corpus() -> Vec<Value> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("FLOWC_CONFORMANCE").map(PathBuf::from),
        Some(manifest.join("../shared/conformance/asl-aws-recorded.jsonl")),
        Some(PathBuf::from(
            "/work/shared/conformance/asl-aws-recorded.jsonl",
        )),
    ];
    let path = candidates.into_iter().flatten().find(|p| p.exists());
    let Some(path) = path else {
        panic!("conformance corpus not found (set FLOWC_CONFORMANCE)")
    };
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn is_jsonata_case(case: &Value) -> bool {
    case["features"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == "QueryLanguage:JSONata"))
}

fn expressions(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if is_expression(s) => out.push(expression_text(s).to_string()),
        Value::Array(a) => a.iter().for_each(|x| expressions(x, out)),
        Value::Object(m) => m.values().for_each(|x| expressions(x, out)),
        _ => {}
    }
}

/// JSON equality with numbers compared numerically (the corpus README's rule).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn every_corpus_expression_parses() {
    let cases: Vec<Value> = corpus().into_iter().filter(is_jsonata_case).collect();
    assert_eq!(cases.len(), 114, "the corpus has 114 JSONata cases");
    let mut exprs = Vec::new();
    cases
        .iter()
        .for_each(|c| expressions(&c["definition"], &mut exprs));
    assert!(exprs.len() > 100);
    let states = json!({"input": {}, "context": {}});
    let vars = Vars::new();
    for e in exprs {
        assert_eq!(
            validate(&e),
            Ok(()),
            "AWS accepted the definition holding {e}"
        );
        if let Err(Failure::Error(err)) = evaluate(&e, &states, &vars) {
            assert!(!err.code.starts_with('S'), "{e}: syntax error {err}");
        }
    }
}

/// The `Output` of a machine made of one JSONata Pass state, if that is what `case` is.
fn single_pass_output(case: &Value) -> Option<&Value> {
    let def = &case["definition"];
    let states = def["States"].as_object()?;
    let (_, state) = states.iter().next().filter(|_| states.len() == 1)?;
    let jsonata = def["QueryLanguage"] == "JSONata" || state["QueryLanguage"] == "JSONata";
    (jsonata && state["Type"] == "Pass" && state["End"] == true).then(|| state.get("Output"))?
}

#[test]
fn single_pass_state_outputs_match_aws() {
    let mut checked = 0;
    for case in corpus().iter().filter(|c| is_jsonata_case(c)) {
        let Some(output) = single_pass_output(case) else {
            continue;
        };
        let states = json!({"input": case["input"], "context": {}});
        let got = evaluate_template(output, &states, &Vars::new(), "Output");
        let expect = &case["expect"];
        let name = case["name"].as_str().unwrap_or("?");
        match got {
            Ok(v) => {
                assert_eq!(expect["status"], "SUCCEEDED", "{name}: got {v}");
                assert!(
                    same(&v, &expect["output"]),
                    "{name}: got {v}, AWS {}",
                    expect["output"]
                );
            }
            Err(e) => {
                assert_eq!(expect["status"], "FAILED", "{name}: got {e}");
                assert_eq!(Some(e.error.as_str()), expect["error"].as_str(), "{name}");
                let aws = expect["cause"].as_str().unwrap_or_default();
                let ours = e.cause.unwrap_or_default();
                assert!(
                    aws.ends_with(&format!("). {ours}")),
                    "{name}: ours {ours}, AWS {aws}"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 49, "checked only {checked} single-Pass cases");
}
