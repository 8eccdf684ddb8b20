//! ASL produced by `compile_ir` for hand-built flows: snapshots plus checks of the
//! properties the compile scheme promises (references-only state, command line, retries,
//! Map kinds, determinism).

mod lower_common;

use flowc::ir::{self, MapMode, MiB, Seconds};
use flowc::options::CompileOptions;
use lower_common::{deco, dump, flow, foreach, own, param, Next::*};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn compile(name: &str, f: ir::Flow, opts: &CompileOptions) -> flowc::Compiled {
    let c = flowc::compile_ir(f, opts, vec![]).unwrap_or_else(|d| panic!("{name}: {d:#?}"));
    dump(name, &c.asl);
    c
}

fn linear() -> ir::Flow {
    let mut f = flow(
        "Linear",
        &[("start", To("work")), ("work", To("end")), ("end", End)],
    );
    param(&mut f, "alpha", ir::ParamType::Float, Some(json!(0.1)));
    param(&mut f, "epochs", ir::ParamType::Int, None);
    param(
        &mut f,
        "config",
        ir::ParamType::Json,
        Some(json!({"a.$": "not a path", "b": [1, 2]})),
    );
    let d = deco(&mut f, "work");
    d.retry = own(
        ir::Retry {
            times: 3,
            interval: Seconds(60),
            backoff: 2.0,
            max_delay: Some(Seconds(600)),
            jitter: true,
        },
        (10, 20),
    );
    d.timeout = own(ir::Timeout { total: Seconds(30) }, (20, 30));
    d.resources = own(
        ir::Resources {
            cpu: 4.0,
            memory: MiB(16384),
            gpu: 1,
            shared_memory: None,
        },
        (30, 40),
    );
    d.batch = own(
        ir::Batch {
            memory: Some(MiB(32768)),
            cpu: Some(0.5),
            queue: Some("gpu-queue".into()),
            ..Default::default()
        },
        (40, 50),
    );
    let vars = BTreeMap::from([
        ("B".to_string(), "2".to_string()),
        ("A".to_string(), "x'{y}".to_string()),
    ]);
    d.environment = own(ir::Environment { vars }, (50, 60));
    d.catch = own(
        ir::Catch {
            var: Some("work_error".into()),
        },
        (60, 70),
    );
    deco(&mut f, "end").catch = own(ir::Catch { var: None }, (70, 80));
    f
}

fn split() -> ir::Flow {
    flow(
        "Split",
        &[
            ("start", Split(&["a", "b"], "join")),
            ("a", Split(&["a1", "a2"], "a_join")),
            ("a1", To("a_join")),
            ("a2", To("a_join")),
            ("a_join", To("join")),
            ("b", To("join")),
            ("join", To("end")),
            ("end", End),
        ],
    )
}

fn nested_foreach() -> ir::Flow {
    let mut f = flow(
        "Nested",
        &[
            ("start", Foreach("outer", "countries", "gather")),
            ("outer", Foreach("inner", "models", "outer_join")),
            ("inner", To("outer_join")),
            ("outer_join", To("gather")),
            ("gather", To("end")),
            ("end", End),
        ],
    );
    deco(&mut f, "start").foreach = foreach(MapMode::Auto, Some(10), Some(5));
    deco(&mut f, "outer").foreach = foreach(MapMode::Auto, None, None);
    f
}

fn switch() -> ir::Flow {
    flow(
        "Switch",
        &[
            ("start", Split(&["route", "side"], "join")),
            (
                "route",
                Switch("mode", &[("publish", "publish"), ("it's {odd}", "join")]),
            ),
            ("publish", To("join")),
            ("side", To("join")),
            ("join", Switch("mode", &[("a", "end"), ("b", "end")])),
            ("end", End),
        ],
    )
}

fn deployed() -> CompileOptions {
    let mut opts = CompileOptions::default();
    opts.deploy.datastore = Some("s3://my-bucket/flows/".into());
    opts.deploy.job_queue = Some("default-queue".into());
    opts.deploy.job_definition = Some("flowc-runtime:3".into());
    opts
}

#[test]
fn snapshot_linear() {
    insta::assert_snapshot!(compile("linear", linear(), &CompileOptions::default()).asl);
}

#[test]
fn snapshot_split() {
    insta::assert_snapshot!(compile("split", split(), &deployed()).asl);
}

#[test]
fn snapshot_nested_foreach() {
    insta::assert_snapshot!(compile("nested_foreach", nested_foreach(), &deployed()).asl);
}

#[test]
fn snapshot_switch() {
    insta::assert_snapshot!(compile("switch", switch(), &deployed()).asl);
}

/// All states of a definition, nested ones included, by name.
fn all_states(def: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    collect(def, &mut out);
    out
}

fn collect(machine: &Value, out: &mut BTreeMap<String, Value>) {
    for (name, state) in machine["States"].as_object().into_iter().flatten() {
        out.insert(name.clone(), state.clone());
        for b in state["Branches"].as_array().into_iter().flatten() {
            collect(b, out);
        }
        if state.get("ItemProcessor").is_some() {
            collect(&state["ItemProcessor"], out);
        }
    }
}

#[test]
fn output_is_deterministic() {
    for (f, opts) in [
        (linear(), CompileOptions::default()),
        (nested_foreach(), deployed()),
        (switch(), deployed()),
    ] {
        let a = flowc::compile_ir(f.clone(), &opts, vec![])
            .expect("compiles")
            .asl;
        let b = flowc::compile_ir(f, &opts, vec![]).expect("compiles").asl;
        assert_eq!(a, b);
        assert!(a.ends_with("}\n"));
    }
}

#[test]
fn user_command_and_parameters_never_reach_the_container_command() {
    let c = compile("linear", linear(), &CompileOptions::default());
    assert!(
        !c.asl.contains("python work.py"),
        "the runtime reads commands from the code package"
    );
    let states = all_states(&c.definition);
    let work = &states["work"];
    let cmd = work["Parameters"]["ContainerOverrides"]["Command.$"]
        .as_str()
        .expect("command");
    assert_eq!(
        cmd,
        "States.Array('flowc', 'task', 'Linear', 'work', '--run-id', $.run_id, '--datastore', 's3://flowc-placeholder-datastore/flowc')"
    );
    assert!(!cmd.contains("Parameters"));
}

#[test]
fn parameters_are_merged_checked_and_stored() {
    let c = compile("linear", linear(), &CompileOptions::default());
    let s = all_states(&c.definition);
    assert_eq!(c.definition["StartAt"], "flowc-ReadParameters");
    assert_eq!(
        s["flowc-Defaults"]["Result"],
        json!({"alpha": 0.1, "config": {"a.$": "not a path", "b": [1, 2]}})
    );
    assert_eq!(s["flowc-Missing-epochs"]["Error"], "flowc.MissingParameter");
    assert!(s["flowc-Missing-epochs"]["Cause"]
        .as_str()
        .unwrap()
        .contains("`epochs`"));
    let rules = s["flowc-CheckParameters"]["Choices"].as_array().unwrap();
    let missing = rules
        .iter()
        .find(|r| r["Next"] == "flowc-Missing-epochs")
        .expect("rule");
    assert_eq!(
        missing,
        &json!({"Variable": "$.Parameters.epochs", "IsPresent": false, "Next": "flowc-Missing-epochs"})
    );
    assert_eq!(
        rules[0]["Next"], "flowc-Invalid-alpha",
        "alpha must be a number"
    );
    assert_eq!(
        s["flowc-SaveParameters"]["ResultSelector"],
        json!({"run_id.$": "$$.Execution.Name"})
    );
    assert_eq!(s["flowc-SaveParameters"]["Next"], "start");
}

#[test]
fn decorators_map_to_retry_timeout_resources_environment() {
    let c = compile("linear", linear(), &CompileOptions::default());
    let work = &all_states(&c.definition)["work"];
    assert_eq!(work["TimeoutSeconds"], 30);
    assert_eq!(
        work["Parameters"]["Timeout"]["AttemptDurationSeconds"], 60,
        "AWS Batch minimum"
    );
    assert_eq!(work["Parameters"]["JobQueue"], "gpu-queue");
    let req = &work["Parameters"]["ContainerOverrides"]["ResourceRequirements"];
    assert_eq!(
        req,
        &json!([{"Type": "VCPU", "Value": "4"}, {"Type": "MEMORY", "Value": "32768"}, {"Type": "GPU", "Value": "1"}])
    );
    let env = &work["Parameters"]["ContainerOverrides"]["Environment"];
    assert_eq!(
        env,
        &json!([{"Name": "A", "Value": "x'{y}"}, {"Name": "B", "Value": "2"}])
    );
    let retry = work["Retry"].as_array().unwrap();
    assert_eq!(
        retry[0]["ErrorEquals"],
        json!(["Batch.AWSBatchException", "Batch.TooManyRequestsException"])
    );
    assert_eq!(
        retry[1],
        json!({"ErrorEquals": ["States.TaskFailed", "States.Timeout"], "IntervalSeconds": 60, "MaxAttempts": 3,
               "BackoffRate": 2.0, "MaxDelaySeconds": 600, "JitterStrategy": "FULL"})
    );
}

#[test]
fn catch_records_the_error_and_continues() {
    let c = compile("linear", linear(), &CompileOptions::default());
    let s = all_states(&c.definition);
    assert_eq!(
        s["work"]["Catch"],
        json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "work-RecordError"}])
    );
    assert_eq!(s["work-RecordError"]["Next"], "end");
    assert_eq!(
        s["work-RecordError"]["Parameters"]["Body.$"],
        "States.JsonToString($.error)"
    );
    // Without `var` the error is dropped; `end` has no successor, so a terminal Pass.
    assert_eq!(
        s["end"]["Catch"],
        json!([{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": "end-Caught"}])
    );
    assert_eq!(s["end-Caught"]["End"], true);
}

#[test]
fn split_becomes_parallel_with_join_as_next() {
    let c = compile("split", split(), &deployed());
    let s = all_states(&c.definition);
    let par = &s["start-Split"];
    assert_eq!(par["Type"], "Parallel");
    assert_eq!(par["Next"], "join");
    assert_eq!(par["ResultPath"], Value::Null);
    assert_eq!(par["Branches"][0]["StartAt"], "a");
    assert_eq!(par["Branches"][1]["StartAt"], "b");
    assert_eq!(
        s["a_join"]["End"], true,
        "a branch ends where its join would start"
    );
    assert_eq!(s["a-Split"]["Next"], "a_join");
}

#[test]
fn foreach_maps_pass_indices_and_choose_kinds() {
    let c = compile("nested_foreach", nested_foreach(), &deployed());
    let s = all_states(&c.definition);
    let outer = &s["start-Foreach"];
    assert_eq!(
        outer["ItemProcessor"]["ProcessorConfig"],
        json!({"Mode": "INLINE"})
    );
    assert_eq!(outer["MaxConcurrency"], 5);
    assert_eq!(outer["ItemsPath"], "$.foreach.value");
    assert_eq!(
        outer["ItemSelector"]["index.$"],
        "States.Format('{}', $$.Map.Item.Index)"
    );
    let inner = &s["outer-Foreach"];
    assert_eq!(
        inner["ItemProcessor"]["ProcessorConfig"],
        json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"})
    );
    assert_eq!(inner["MaxConcurrency"], 100, "--max-workers default");
    assert_eq!(
        inner["ItemSelector"]["index.$"],
        "States.Format('{}.{}', $.index, $$.Map.Item.Index)"
    );
    assert_eq!(
        inner["ItemReader"]["Parameters"]["Key.$"],
        "States.Format('flows/Nested/runs/{}/outer/{}/foreach.json', $.run_id, $.index)"
    );
    let cmd = s["inner"]["Parameters"]["ContainerOverrides"]["Command.$"]
        .as_str()
        .unwrap();
    assert!(cmd.contains("'--index', $.index"));
    assert!(c
        .explain
        .iter()
        .any(|l| l.contains("outer: distributed Map: no max_items")));
    assert!(c
        .explain
        .iter()
        .any(|l| l.contains("start: inline Map: max_items=10")));
}

#[test]
fn switch_reads_value_and_fails_on_unknown() {
    let c = compile("switch", switch(), &deployed());
    let s = all_states(&c.definition);
    let choice = &s["route-Switch"];
    assert_eq!(
        choice["Choices"][0],
        json!({"Variable": "$.switch.value", "StringEquals": "publish", "Next": "publish"})
    );
    assert_eq!(
        choice["Choices"][1]["Next"], "route-Done",
        "a case going to the join ends the branch"
    );
    assert_eq!(choice["Default"], "route-UnknownValue");
    let fail = &s["route-UnknownValue"];
    assert_eq!(fail["Error"], "flowc.UnknownSwitchValue");
    assert!(fail["CausePath"]
        .as_str()
        .unwrap()
        .contains(r#""it\'s \{odd\}""#));
    assert_eq!(s["join-Switch"]["Choices"][0]["Next"], "end");
}

#[test]
fn caught_foreach_skips_its_map_and_caught_switch_fails() {
    let mut f = nested_foreach();
    deco(&mut f, "start").catch = own(
        ir::Catch {
            var: Some("e".into()),
        },
        (1, 2),
    );
    let c = compile("caught_foreach", f, &deployed());
    let s = all_states(&c.definition);
    assert_eq!(s["start"]["Next"], "start-ReadItems");
    assert_eq!(s["start"]["Catch"][0]["Next"], "start-RecordError");
    assert_eq!(
        s["start-RecordError"]["Next"], "gather",
        "zero items: straight to the join"
    );

    let mut f = switch();
    deco(&mut f, "route").catch = own(ir::Catch { var: None }, (1, 2));
    let c = compile("caught_switch", f, &deployed());
    let s = all_states(&c.definition);
    assert_eq!(s["route"]["Catch"][0]["Next"], "route-NoValue");
    assert_eq!(s["route-NoValue"]["Error"], "flowc.UnknownSwitchValue");
}

/// Every `States.Format(…)` string in `v` (a definition), with the field it sits in.
fn format_calls(v: &Value, field: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) if s.starts_with("States.Format(") => {
            out.push((field.to_string(), s.clone()))
        }
        Value::Array(items) => items.iter().for_each(|i| format_calls(i, field, out)),
        Value::Object(m) => m.iter().for_each(|(k, i)| format_calls(i, k, out)),
        _ => {}
    }
}

#[test]
fn braces_and_quotes_in_user_text_stay_literal_in_states_format() {
    // The datastore prefix and switch case values reach `States.Format` templates, where `{}`
    // is a placeholder and `'` ends the template.
    let src = "flow F {\nparam xs: json = [1]\nstep start { run \"a\" next b foreach xs }\n\
               step b { run \"b\" next j }\nstep j { run \"j\" next switch m { \"x{}'\" => end } }\n\
               step end { run \"e\" }\n}\n";
    let opts = CompileOptions {
        deploy: flowc::options::DeployConfig {
            datastore: Some("s3://bucket/pre{}fix'/".into()),
            ..Default::default()
        },
        ..CompileOptions::default()
    };
    let c = flowc::compile(src, &opts).expect("compiles");
    let mut calls = vec![];
    format_calls(&c.definition, "", &mut calls);
    assert!(calls.len() >= 3, "{calls:#?}");
    let input = json!({"run_id": "r1", "index": "0", "switch": {"value": "y"}});
    let context = json!({"Execution": {"Name": "r1"}, "Map": {"Item": {"Index": 0}}});
    let vars = flowc::engine::vars::Vars::default();
    let scope = flowc::engine::Scope {
        input: &input,
        context: &context,
        vars: &vars,
    };
    for (field, call) in &calls {
        let out = flowc::engine::intrinsics::call(call, &scope, field)
            .unwrap_or_else(|e| panic!("{field}: {call}: {e:?}"));
        let text = out.as_str().unwrap_or_default().to_string();
        if field == "Key.$" {
            assert!(
                text.starts_with("pre{}fix'/F/runs/r1/"),
                "{call} gave {text}"
            );
        }
        if field == "CausePath" {
            assert!(text.contains("\"x{}'\""), "{call} gave {text}");
        }
    }
}

/// Task requests as (state name, evaluated parameters), in the order they were made.
type Requests = std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>;

/// Stands in for AWS: records every Task request; S3 PutObject (flowc-SaveParameters)
/// succeeds, any other resource (the first step's Batch job) fails with `test.Stop`, so the
/// execution ends at the first step (after its retries).
struct StopAtFirstStep(Requests);

impl flowc::engine::integrations::Integration for StopAtFirstStep {
    fn handles(&self, _resource: &str) -> bool {
        true
    }

    fn invoke(
        &self,
        request: flowc::engine::integrations::TaskRequest,
    ) -> flowc::engine::integrations::TaskFuture<'_> {
        let s3 = request.resource.ends_with(":s3:putObject");
        if let Ok(mut seen) = self.0.lock() {
            seen.push((request.state, request.parameters));
        }
        Box::pin(async move {
            if s3 {
                Ok(json!({"ETag": "\"0\""}))
            } else {
                Err(flowc::engine::StatesError::new(
                    "test.Stop",
                    "first step reached",
                ))
            }
        })
    }
}

/// Runs the compiled `fixtures/ok/spec_example.flow` (params `alpha = 0.1`,
/// `countries = ["us", "ca", "br"]`, required `epochs: int`) on the embedded engine with
/// `input`; returns the result and the Task requests made.
fn run_spec_example(input: Value) -> (flowc::engine::exec::ExecutionResult, Vec<(String, Value)>) {
    use flowc::engine::{clock::ClockMode, definition, exec};
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ok/spec_example.flow");
    let source = std::fs::read_to_string(&path).expect("the fixture reads");
    let c = flowc::compile(&source, &CompileOptions::default()).expect("compiles");
    let sm = definition::parse(&c.definition).expect("the engine accepts the ASL");
    let requests = Requests::default();
    let cfg = exec::ExecutionConfig {
        clock: ClockMode::Virtual,
        execution_name: "r1".into(),
        state_machine_name: "CountryModels".into(),
        integrations: std::sync::Arc::new(vec![Box::new(StopAtFirstStep(requests.clone()))]),
        ..Default::default()
    };
    let result = exec::execute_blocking(&sm, input, &cfg);
    let seen = requests.lock().map(|r| r.clone()).unwrap_or_default();
    (result, seen)
}

#[test]
fn parameters_as_a_json_string_work_like_the_object_form() {
    // The console and older tools start executions with `Parameters` as a JSON string.
    let (by_string, string_requests) = run_spec_example(json!({"Parameters": "{\"epochs\":3}"}));
    let (by_object, object_requests) = run_spec_example(json!({"Parameters": {"epochs": 3}}));
    for (result, requests) in [
        (&by_string, &string_requests),
        (&by_object, &object_requests),
    ] {
        assert_eq!(
            result.error.as_deref(),
            Some("test.Stop"),
            "{:?}",
            result.to_json()
        );
        let mut states: Vec<&str> = requests.iter().map(|(s, _)| s.as_str()).collect();
        states.dedup(); // `start` is retried: States.TaskFailed matches any task error
        assert_eq!(states, ["flowc-SaveParameters", "start"]);
        let body = requests[0].1["Body"].as_str().expect("a JSON text body");
        let stored: Value = serde_json::from_str(body).expect("the body is JSON");
        assert_eq!(
            stored,
            json!({"alpha": 0.1, "countries": ["us", "ca", "br"], "epochs": 3}),
            "the given parameter merged over the defaults"
        );
    }
    assert_eq!(
        string_requests, object_requests,
        "both forms reach the first step alike"
    );
}

#[test]
fn parameter_errors_are_the_same_in_the_json_string_form() {
    for (object, error) in [
        (json!({"alpha": 0.2}), "flowc.MissingParameter"),
        (json!({"epochs": "3"}), "flowc.InvalidParameter"),
    ] {
        let (by_object, object_requests) = run_spec_example(json!({"Parameters": object}));
        let (by_string, string_requests) =
            run_spec_example(json!({"Parameters": object.to_string()}));
        assert_eq!(by_object.error.as_deref(), Some(error), "{object}");
        assert!(
            by_object
                .cause
                .as_deref()
                .is_some_and(|c| c.contains("`epochs`")),
            "{:?}",
            by_object.cause
        );
        assert_eq!(by_string.error, by_object.error, "{object}");
        assert_eq!(by_string.cause, by_object.cause, "{object}");
        assert!(
            object_requests.is_empty() && string_requests.is_empty(),
            "no task runs"
        );
    }
}
