use super::*;
use crate::engine::vars::Vars;
use serde_json::json;

struct Env {
    input: Value,
    ctx: Value,
    vars: Vars,
}

impl Env {
    fn new(input: Value) -> Self {
        let mut vars = Vars::new();
        vars.set("v", json!({"k": [10, 20]}));
        let ctx = json!({"Execution": {"Id": "arn:x", "Input": {"orig": true}}});
        Env { input, ctx, vars }
    }
    fn scope(&self) -> Scope<'_> {
        Scope {
            input: &self.input,
            context: &self.ctx,
            vars: &self.vars,
        }
    }
}

#[test]
fn reads_input_context_and_variables() {
    let env = Env::new(json!({"a": {"b": 1}}));
    let s = env.scope();
    assert_eq!(read("$.a.b", &s).unwrap(), json!(1));
    assert_eq!(read("$", &s).unwrap(), json!({"a": {"b": 1}}));
    assert_eq!(read("$$.Execution.Id", &s).unwrap(), json!("arn:x"));
    assert_eq!(read("$v.k[1]", &s).unwrap(), json!(20));
    assert_eq!(read("$v", &s).unwrap(), json!({"k": [10, 20]}));
    assert!(matches!(read("$nope", &s), Err(PathError::NotFound(_))));
}

#[test]
fn variable_names_split_from_paths() {
    assert_eq!(variable_split("$x.y"), Some(("x", ".y")));
    assert_eq!(variable_split("$my_var[0]"), Some(("my_var", "[0]")));
    assert_eq!(variable_split("$.x"), None);
    assert_eq!(variable_split("$"), None);
}

#[test]
fn template_evaluates_dollar_keys_recursively() {
    let env = Env::new(json!({"a": 1, "s": "hi"}));
    let t = json!({
        "lit": "$.a",
        "val.$": "$.a",
        "ctx.$": "$$.Execution.Input.orig",
        "var.$": "$v.k",
        "fn.$": "States.Format('{} there', $.s)",
        "nested": {"x.$": "$.s", "arr": [{"y.$": "$.a"}, 3]}
    });
    let out = evaluate_template(&t, &env.scope(), "Parameters").unwrap();
    assert_eq!(
        out,
        json!({
            "lit": "$.a", "val": 1, "ctx": true, "var": [10, 20], "fn": "hi there",
            "nested": {"x": "hi", "arr": [{"y": 1}, 3]}
        })
    );
}

#[test]
fn missing_template_path_has_aws_cause() {
    let env = Env::new(json!({"int-literal": 0}));
    let t = json!({"value.$": "$.no_such_jsonpath"});
    let e = evaluate_template(&t, &env.scope(), "Parameters").unwrap_err();
    assert_eq!(e.error, "States.Runtime");
    assert_eq!(
        e.cause.as_deref(),
        Some(
            "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be \
             found in the input '{\"int-literal\":0}'"
        )
    );
}

#[test]
fn non_string_dollar_value_is_an_error() {
    let env = Env::new(json!({}));
    assert!(evaluate_template(&json!({"x.$": 3}), &env.scope(), "Parameters").is_err());
}

#[test]
fn assign_returns_names_without_suffix_in_order() {
    let env = Env::new(json!({"a": 1}));
    let a = json!({"z.$": "$.a", "lit": "$.a", "obj": {"q.$": "$v.k[0]"}});
    let out = assign(&a, &env.scope()).unwrap();
    let names: Vec<&str> = out.keys().map(String::as_str).collect();
    assert_eq!(names, ["z", "lit", "obj"]);
    assert_eq!(out["z"], json!(1));
    assert_eq!(out["lit"], json!("$.a"));
    assert_eq!(out["obj"], json!({"q": 10}));
    assert!(assign(&json!([1]), &env.scope()).is_err());
}

#[test]
fn input_and_output_paths() {
    let env = Env::new(json!({}));
    let s = env.scope();
    let raw = json!({"a": {"b": 2}});
    assert_eq!(input_path(None, &raw, &s).unwrap(), raw);
    assert_eq!(input_path(Some(&Value::Null), &raw, &s).unwrap(), json!({}));
    assert_eq!(
        input_path(Some(&json!("$.a")), &raw, &s).unwrap(),
        json!({"b": 2})
    );
    assert_eq!(
        output_path(Some(&json!("$.a.b")), &raw, &s).unwrap(),
        json!(2)
    );
    assert_eq!(
        output_path(Some(&Value::Null), &raw, &s).unwrap(),
        json!({})
    );
    let e = input_path(Some(&json!("$.NoSuchInputPath")), &raw, &s).unwrap_err();
    assert_eq!(
        e.cause.as_deref(),
        Some("Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']")
    );
    assert!(output_path(Some(&json!(5)), &raw, &s).is_err());
}

#[test]
fn result_path_variants() {
    let raw = json!({"a": 1});
    assert_eq!(result_path(None, &raw, json!("r")).unwrap(), json!("r"));
    assert_eq!(
        result_path(Some(&Value::Null), &raw, json!("r")).unwrap(),
        raw
    );
    assert_eq!(
        result_path(Some(&json!("$")), &raw, json!("r")).unwrap(),
        json!("r")
    );
    assert_eq!(
        result_path(Some(&json!("$.x.y")), &raw, json!("r")).unwrap(),
        json!({"a": 1, "x": {"y": "r"}})
    );
    let e = result_path(Some(&json!("$.a.b")), &raw, json!("r")).unwrap_err();
    assert_eq!(e.error, "States.Runtime");
    assert_eq!(
        e.cause.as_deref(),
        Some("Unable to apply step \"b\" to input \"1\"")
    );
}

#[test]
fn dynamic_values_dispatch_on_intrinsic_prefix() {
    let env = Env::new(json!({"n": 2}));
    let s = env.scope();
    assert_eq!(
        evaluate_dynamic("States.MathAdd($.n, 1)", &s, "x.$").unwrap(),
        json!(3)
    );
    assert_eq!(evaluate_dynamic("$.n", &s, "x.$").unwrap(), json!(2));
    let e = evaluate_dynamic("$.a[", &s, "x.$").unwrap_err();
    assert!(e.cause.unwrap().starts_with("Invalid path '$.a['"));
}

#[test]
fn input_paths_on_null_input_fail_as_aws() {
    let env = Env::new(Value::Null);
    let s = env.scope();
    let e = evaluate_template(&json!({"Input.$": "$"}), &s, "Parameters").unwrap_err();
    assert_eq!(
        e.cause.as_deref(),
        Some("Unable to apply Path transformation to null or empty input.")
    );
    assert_eq!(
        evaluate_dynamic("$$.Execution.Id", &s, "x.$").unwrap(),
        json!("arn:x")
    );
    assert_eq!(evaluate_dynamic("$v.k[0]", &s, "x.$").unwrap(), json!(10));
}
