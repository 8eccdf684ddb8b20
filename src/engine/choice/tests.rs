use super::*;
use crate::engine::vars::Vars;
use serde_json::json;

fn eval(rule: Value, input: Value) -> Result<bool, StatesError> {
    let vars = Vars::new();
    let ctx = json!({});
    evaluate_rule(
        &rule,
        &Scope {
            input: &input,
            context: &ctx,
            vars: &vars,
        },
    )
}

#[test]
fn string_comparisons() {
    let i = json!({"s": "b", "t": "b", "n": 1});
    assert!(eval(json!({"Variable": "$.s", "StringEquals": "b"}), i.clone()).unwrap());
    assert!(eval(
        json!({"Variable": "$.s", "StringEqualsPath": "$.t"}),
        i.clone()
    )
    .unwrap());
    assert!(eval(json!({"Variable": "$.s", "StringLessThan": "c"}), i.clone()).unwrap());
    assert!(eval(
        json!({"Variable": "$.s", "StringGreaterThan": "a"}),
        i.clone()
    )
    .unwrap());
    assert!(eval(
        json!({"Variable": "$.s", "StringLessThanEquals": "b"}),
        i.clone()
    )
    .unwrap());
    assert!(eval(
        json!({"Variable": "$.s", "StringGreaterThanEqualsPath": "$.t"}),
        i.clone()
    )
    .unwrap());
    assert!(!eval(json!({"Variable": "$.n", "StringEquals": "1"}), i).unwrap());
}

#[test]
fn numeric_comparisons() {
    let i = json!({"n": 3, "f": 3.0, "s": "3"});
    assert!(eval(json!({"Variable": "$.n", "NumericEquals": 3}), i.clone()).unwrap());
    assert!(eval(json!({"Variable": "$.f", "NumericEquals": 3}), i.clone()).unwrap());
    assert!(eval(
        json!({"Variable": "$.n", "NumericEqualsPath": "$.f"}),
        i.clone()
    )
    .unwrap());
    assert!(eval(
        json!({"Variable": "$.n", "NumericLessThan": 3.5}),
        i.clone()
    )
    .unwrap());
    assert!(eval(
        json!({"Variable": "$.n", "NumericGreaterThanEquals": 3}),
        i.clone()
    )
    .unwrap());
    assert!(!eval(
        json!({"Variable": "$.n", "NumericGreaterThan": 3}),
        i.clone()
    )
    .unwrap());
    assert!(eval(
        json!({"Variable": "$.n", "NumericLessThanEqualsPath": "$.n"}),
        i.clone()
    )
    .unwrap());
    assert!(!eval(json!({"Variable": "$.s", "NumericEquals": 3}), i).unwrap());
}

#[test]
fn boolean_and_type_tests() {
    let i = json!({"b": true, "z": null, "n": 1, "s": "x", "t": "2016-03-14T01:59:00Z"});
    assert!(eval(json!({"Variable": "$.b", "BooleanEquals": true}), i.clone()).unwrap());
    assert!(eval(
        json!({"Variable": "$.b", "BooleanEqualsPath": "$.b"}),
        i.clone()
    )
    .unwrap());
    assert!(eval(json!({"Variable": "$.z", "IsNull": true}), i.clone()).unwrap());
    assert!(eval(json!({"Variable": "$.n", "IsNumeric": true}), i.clone()).unwrap());
    assert!(eval(json!({"Variable": "$.n", "IsString": false}), i.clone()).unwrap());
    assert!(eval(json!({"Variable": "$.b", "IsBoolean": true}), i.clone()).unwrap());
    assert!(eval(json!({"Variable": "$.t", "IsTimestamp": true}), i.clone()).unwrap());
    assert!(eval(json!({"Variable": "$.s", "IsTimestamp": false}), i).unwrap());
}

#[test]
fn is_present_never_fails() {
    let i = json!({"a": 1});
    assert!(eval(json!({"Variable": "$.a", "IsPresent": true}), i.clone()).unwrap());
    assert!(!eval(json!({"Variable": "$.b", "IsPresent": true}), i.clone()).unwrap());
    assert!(eval(json!({"Variable": "$.b.c", "IsPresent": false}), i).unwrap());
}

#[test]
fn missing_variable_is_a_runtime_error() {
    let e = eval(json!({"Variable": "$.b", "NumericEquals": 1}), json!({})).unwrap_err();
    assert_eq!(e.error, "States.Runtime");
    assert_eq!(
        e.cause.as_deref(),
        Some("Invalid path '$.b': The choice state's condition path references an invalid value.")
    );
    let e = eval(
        json!({"Variable": "$.a", "NumericEqualsPath": "$.q"}),
        json!({"a": 1}),
    )
    .unwrap_err();
    assert!(e.cause.unwrap().contains("'$.q'"));
}

#[test]
fn timestamps_compare_as_instants() {
    let i = json!({"t": "2016-03-14T01:59:00Z", "u": "2016-03-14T02:59:00+01:00"});
    assert!(eval(
        json!({"Variable": "$.t", "TimestampEqualsPath": "$.u"}),
        i.clone()
    )
    .unwrap());
    assert!(eval(
        json!({"Variable": "$.t", "TimestampLessThan": "2016-03-14T02:00:00Z"}),
        i.clone()
    )
    .unwrap());
    assert!(eval(
        json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2016-03-14T01:59:00Z"}),
        i.clone()
    )
    .unwrap());
    assert!(!eval(
        json!({"Variable": "$.t", "TimestampEquals": "not a time"}),
        i
    )
    .unwrap());
    assert!(parse_timestamp("2016-03-14t01:59:00Z").is_none());
    assert!(parse_timestamp("2016-03-14T01:59:00z").is_none());
    assert!(parse_timestamp("2016-03-14T01:59:00.123Z").is_some());
    assert!(parse_timestamp("2016-03-05T21:29:29.243167252Z").is_some());
    assert!(parse_timestamp("2016-12-05 21:29:29Z").is_none());
    assert!(parse_timestamp("2016-12-05T21:29:29").is_none());
    assert!(parse_timestamp("2016-13-05T21:29:29Z").is_none());
    assert!(parse_timestamp("2016-12-05T25:29:29Z").is_none());
}

#[test]
fn string_matches_wildcards_and_escapes() {
    assert!(string_matches("log-2023.txt", "log-*.txt"));
    assert!(string_matches("abc", "*"));
    assert!(string_matches("", "*"));
    assert!(!string_matches("abc", "a*d"));
    assert!(string_matches("a*c", "a\\*c"));
    assert!(!string_matches("abc", "a\\*c"));
    assert!(string_matches("a\\b", "a\\\\b"));
    assert!(string_matches("aXbYb", "a*b"));
}

#[test]
fn combinators() {
    let i = json!({"n": 5});
    let gt = json!({"Variable": "$.n", "NumericGreaterThan": 1});
    let lt = json!({"Variable": "$.n", "NumericLessThan": 1});
    assert!(eval(json!({"And": [gt.clone(), {"Not": lt.clone()}]}), i.clone()).unwrap());
    assert!(eval(json!({"Or": [lt.clone(), gt.clone()]}), i.clone()).unwrap());
    assert!(!eval(json!({"And": [gt, lt]}), i).unwrap());
}

#[test]
fn variables_can_be_compared() {
    let mut vars = Vars::new();
    vars.set("x", json!({"k": 2}));
    let input = json!({});
    let ctx = json!({});
    let scope = Scope {
        input: &input,
        context: &ctx,
        vars: &vars,
    };
    assert!(evaluate_rule(&json!({"Variable": "$x.k", "NumericEquals": 2}), &scope).unwrap());
}

#[test]
fn malformed_rules_are_errors() {
    assert!(eval(json!({"Variable": "$.n"}), json!({"n": 1})).is_err());
    assert!(eval(json!({"Variable": "$.n", "IsNull": "yes"}), json!({"n": 1})).is_err());
}

#[test]
fn strings_order_by_utf16_code_units_as_java() {
    // U+FF61 sorts after U+1F600 in UTF-16 (surrogates are 0xD83D…) but before it in UTF-8.
    let i = json!({"s": "\u{FF61}"});
    assert!(eval(
        json!({"Variable": "$.s", "StringGreaterThan": "\u{1F600}"}),
        i
    )
    .unwrap());
}
