//! Property test: the JSONata evaluator never panics, whatever the expression text (AWS users
//! write these expressions; a malformed one must be an error, not a crash).

use flowc::engine::jsonata::{evaluate, validate};
use flowc::engine::vars::Vars;
use proptest::prelude::*;
use serde_json::json;

/// Fragments that combine into plausible and implausible JSONata.
const PIECES: &[&str] = &[
    "$states",
    ".input",
    ".a",
    ".b",
    "[0]",
    "[-1]",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    "'s'",
    "\"t\"",
    "1",
    "2.5",
    "-",
    "+",
    "*",
    "/",
    "%",
    "&",
    "=",
    "!=",
    "<",
    ">=",
    " and ",
    " or ",
    " in ",
    "?",
    ":",
    ";",
    ",",
    "..",
    ":=",
    "~>",
    "$x",
    "$f",
    "function($v){",
    "$v",
    "$map(",
    "$string(",
    "$sum(",
    "$substring(",
    "$range(",
    "$partition(",
    "$sort(",
    "^(",
    "/re/",
    "**",
    " ",
    "`q`",
    "null",
    "true",
    "$$",
    "$",
    "#",
    "@",
    "|",
    "'\\u00e9'",
    "1e400",
    "$pad(",
];

fn expression() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..24).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn evaluation_never_panics(expr in expression()) {
        let states = json!({"input": {"a": [1, 2, {"b": "x"}], "b": {"a": 3}}, "context": {}});
        let mut vars = Vars::new();
        vars.set("x", json!([3, 1, 2]));
        let _ = evaluate(&expr, &states, &vars);
        let _ = validate(&expr);
    }
}
