//! The JSONPath-mode data-flow layer composed as a state applies it (InputPath →
//! Parameters → result → ResultSelector → ResultPath → OutputPath), checked on the examples
//! of the AWS Step Functions guide ("Processing input and output in Step Functions",
//! "Specifying state output using ResultPath").

use flowc::engine::vars::Vars;
use flowc::engine::{template, Scope, StatesError};
use serde_json::{json, Value};

/// The fields of one state that shape its data.
#[derive(Default)]
struct Fields {
    input_path: Option<Value>,
    parameters: Option<Value>,
    result_selector: Option<Value>,
    result_path: Option<Value>,
    output_path: Option<Value>,
}

/// Runs a state whose task returns `task(effective input)`.
fn run(f: &Fields, raw: &Value, task: impl Fn(&Value) -> Value) -> Result<Value, StatesError> {
    let vars = Vars::new();
    let ctx = json!({"Execution": {"Id": "arn:aws:states:us-east-1:123:execution:sm:run-1"}});
    let scope = |input| Scope {
        input,
        context: &ctx,
        vars: &vars,
    };
    let effective = template::input_path(f.input_path.as_ref(), raw, &scope(raw))?;
    let effective = match &f.parameters {
        Some(p) => template::evaluate_template(p, &scope(&effective), "Parameters")?,
        None => effective,
    };
    let result = task(&effective);
    let result = match &f.result_selector {
        Some(rs) => template::evaluate_template(rs, &scope(&result), "ResultSelector")?,
        None => result,
    };
    let combined = template::result_path(f.result_path.as_ref(), raw, result)?;
    template::output_path(f.output_path.as_ref(), &combined, &scope(&combined))
}

fn echo(v: &Value) -> Value {
    v.clone()
}

#[test]
fn input_path_selects_part_of_the_input() {
    let raw = json!({
        "comment": "Example for InputPath.",
        "dataset1": {"val1": 1, "val2": 2, "val3": 3},
        "dataset2": {"val1": "a", "val2": "b", "val3": "c"}
    });
    let f = Fields {
        input_path: Some(json!("$.dataset2")),
        ..Fields::default()
    };
    assert_eq!(
        run(&f, &raw, echo).unwrap(),
        json!({"val1": "a", "val2": "b", "val3": "c"})
    );
}

#[test]
fn parameters_mix_static_and_selected_values() {
    let raw = json!({
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock", "sku": "2317", "cost": "$23"
        }
    });
    let f = Fields {
        parameters: Some(json!({
            "comment": "Selecting what I care about.",
            "MyDetails": {
                "size.$": "$.product.details.size",
                "exists.$": "$.product.availability",
                "StaticValue": "foo"
            }
        })),
        ..Fields::default()
    };
    assert_eq!(
        run(&f, &raw, echo).unwrap(),
        json!({
            "comment": "Selecting what I care about.",
            "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}
        })
    );
}

#[test]
fn result_selector_reshapes_the_task_result() {
    let f = Fields {
        result_selector: Some(json!({
            "ClusterId.$": "$.output.ClusterId",
            "ResourceType.$": "$.resourceType"
        })),
        result_path: Some(json!("$.EMROutput")),
        ..Fields::default()
    };
    let task = |_: &Value| {
        json!({
            "resourceType": "elasticmapreduce",
            "resource": "createCluster.sync",
            "output": {"SdkHttpMetadata": {"HttpStatusCode": 200}, "ClusterId": "AKIAIOSFODNN7EXAMPLE"}
        })
    };
    let out = run(&f, &json!({"in": 1}), task).unwrap();
    assert_eq!(
        out,
        json!({"in": 1, "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}})
    );
}

#[test]
fn result_path_variants_from_the_guide() {
    let raw =
        json!({"comment": "This is a test", "details": "Default example", "who": "Step Functions"});
    let hello = |_: &Value| json!("Hello, Step Functions!");
    let with = |rp: Option<Value>| Fields {
        result_path: rp,
        ..Fields::default()
    };
    assert_eq!(
        run(&with(None), &raw, hello).unwrap(),
        json!("Hello, Step Functions!")
    );
    assert_eq!(
        run(&with(Some(json!("$"))), &raw, hello).unwrap(),
        json!("Hello, Step Functions!")
    );
    assert_eq!(run(&with(Some(Value::Null)), &raw, hello).unwrap(), raw);
    let mut expected = raw.clone();
    expected["taskresult"] = json!("Hello, Step Functions!");
    assert_eq!(
        run(&with(Some(json!("$.taskresult"))), &raw, hello).unwrap(),
        expected
    );
}

#[test]
fn result_path_into_a_child_node() {
    let raw =
        json!({"comment": "An input comment.", "strings": {"string1": "foo", "string2": "bar"}});
    let f = Fields {
        result_path: Some(json!("$.strings.lambdaresult")),
        ..Fields::default()
    };
    let out = run(&f, &raw, |_| json!("Hello, Step Functions!")).unwrap();
    assert_eq!(
        out,
        json!({
            "comment": "An input comment.",
            "strings": {"string1": "foo", "string2": "bar", "lambdaresult": "Hello, Step Functions!"}
        })
    );
}

#[test]
fn result_path_null_keeps_the_raw_input_even_after_input_path() {
    let raw = json!({"a": {"b": 1}, "keep": true});
    let f = Fields {
        input_path: Some(json!("$.a")),
        result_path: Some(Value::Null),
        ..Fields::default()
    };
    assert_eq!(run(&f, &raw, |_| json!("ignored")).unwrap(), raw);
}

#[test]
fn output_path_filters_the_combined_output() {
    let f = Fields {
        parameters: Some(json!({"id.$": "$$.Execution.Id", "n.$": "States.MathAdd($.n, 1)"})),
        result_path: Some(json!("$.r")),
        output_path: Some(json!("$.r")),
        ..Fields::default()
    };
    let out = run(&f, &json!({"n": 41}), echo).unwrap();
    assert_eq!(
        out,
        json!({"id": "arn:aws:states:us-east-1:123:execution:sm:run-1", "n": 42})
    );
}

#[test]
fn null_input_and_output_paths_give_empty_objects() {
    let f = Fields {
        input_path: Some(Value::Null),
        output_path: Some(Value::Null),
        ..Fields::default()
    };
    assert_eq!(run(&f, &json!({"a": 1}), echo).unwrap(), json!({}));
    let f = Fields {
        input_path: Some(Value::Null),
        ..Fields::default()
    };
    assert_eq!(run(&f, &json!({"a": 1}), echo).unwrap(), json!({}));
}

#[test]
fn missing_paths_fail_with_aws_causes() {
    let f = Fields {
        input_path: Some(json!("$.NoSuchInputPath")),
        ..Fields::default()
    };
    let e = run(&f, &json!({}), echo).unwrap_err();
    assert_eq!(e.error, "States.Runtime");
    assert_eq!(
        e.cause.as_deref(),
        Some("Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']")
    );
    let f = Fields {
        parameters: Some(json!({"value.$": "$.x"})),
        ..Fields::default()
    };
    let e = run(&f, &json!({"y": 1}), echo).unwrap_err();
    assert_eq!(
        e.cause.as_deref(),
        Some("The JSONPath '$.x' specified for the field 'value.$' could not be found in the input '{\"y\":1}'")
    );
}

#[test]
fn indefinite_paths_with_no_match_give_empty_arrays() {
    for p in [
        "$[*]",
        "$.items[*]",
        "$.items[1:]",
        "$.item.items[:1]",
        "$.items[*].itemValue",
    ] {
        let f = Fields {
            parameters: Some(json!({"item.$": p})),
            ..Fields::default()
        };
        assert_eq!(
            run(&f, &json!({}), echo).unwrap(),
            json!({"item": []}),
            "{p}"
        );
    }
}
