//! End-to-end tests of resolve and validate through `flowc::check`: each rule with a small
//! flow, the typed IR values they produce, and the invalid fixtures `fixtures/err/E02*`,
//! `E03*` and `W03*` (each raises exactly the code in its name).

use flowc::diagnostics::Diagnostic;
use flowc::ir::{self, ForeachSource, MiB, ScheduleKind, Seconds, Transition};
use flowc::options::{parse_with, CompileOptions};
use flowc::span::Origin;
use std::path::Path;

fn check_with(src: &str, with: &[&str]) -> (Option<ir::Flow>, Vec<Diagnostic>) {
    let opts = CompileOptions {
        with: with
            .iter()
            .map(|w| parse_with(w).expect("valid --with"))
            .collect(),
        ..CompileOptions::default()
    };
    flowc::check(src, &opts)
}

fn codes(src: &str) -> Vec<&'static str> {
    check_with(src, &[]).1.iter().map(|d| d.code).collect()
}

/// The IR of a flow that must check without errors.
fn ok(src: &str) -> ir::Flow {
    let (flow, diags) = check_with(src, &[]);
    let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
    flow.expect("an IR when there is no error")
}

/// A flow `F` with `body` between the braces.
fn flow(body: &str) -> String {
    format!("flow F {{\n{body}\n}}\n")
}

/// `start → end` plus `extra` members, with `decos` on `start`.
fn simple(decos: &str, extra: &str) -> String {
    flow(&format!(
        "{extra}\n{decos}\nstep start {{ run \"a\" next end }}\nstep end {{ run \"b\" }}"
    ))
}

fn one(src: &str) -> Diagnostic {
    let (_, diags) = check_with(src, &[]);
    assert_eq!(diags.len(), 1, "expected one diagnostic, got {diags:#?}");
    diags.into_iter().next().unwrap_or_else(|| unreachable!())
}

// ---------- fixtures ----------

#[test]
fn every_front_fixture_raises_exactly_its_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/err");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("fixtures/err exists") {
        let path = entry.expect("readable entry").path();
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let code = name.split('-').next().unwrap_or_default().to_string();
        if !(code.starts_with("E02") || code.starts_with("E03") || code.starts_with("W03")) {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("readable fixture");
        assert!(
            src.starts_with('#'),
            "{name}: first line must be a # comment"
        );
        let got = codes(&src);
        assert!(
            !got.is_empty() && got.iter().all(|c| *c == code),
            "{name}: got {got:?}"
        );
        seen += 1;
    }
    assert!(seen >= 39, "only {seen} fixtures");
}

#[test]
fn every_code_has_a_fixture_and_docs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/err");
    let names: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures/err exists")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
        .collect();
    let tables = [
        flowc::passes::resolve::CODES,
        flowc::passes::validate::CODES,
    ]
    .concat();
    for info in tables {
        assert!(
            names.iter().any(|n| n.starts_with(info.code)),
            "no fixture for {}",
            info.code
        );
        assert!(!info.title.is_empty() && !info.explanation.is_empty() && !info.example.is_empty());
    }
}

#[test]
fn spec_example_checks_and_joins_are_found() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ok/spec_example.flow");
    let Ok(src) = std::fs::read_to_string(path) else {
        return; // added by the syntax branch
    };
    let (flow, diags) = check_with(&src, &[]);
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    // `epochs` is required in a scheduled flow: a warning only.
    assert_eq!(codes, vec!["W0301"]);
    let flow = flow.expect("IR");
    let id = |n: &str| flow.step_id(n).expect("step exists");
    match &flow.step(id("start")).next {
        Transition::Split { targets, join } => {
            assert_eq!(targets, &vec![id("fit_a"), id("fit_b")]);
            assert_eq!(*join, Some(id("choose")));
        }
        other => panic!("start: {other:?}"),
    }
    match &flow.step(id("per_country")).next {
        Transition::Foreach { body, over, join } => {
            assert_eq!(*body, id("train"));
            assert_eq!(over, &ForeachSource::Param("countries".into()));
            assert_eq!(*join, Some(id("gather")));
        }
        other => panic!("per_country: {other:?}"),
    }
    let fit_b = &flow.step(id("fit_b")).decorators;
    assert_eq!(fit_b.retry.as_ref().map(|r| r.value.times), Some(3));
    assert_eq!(
        fit_b.retry.as_ref().map(|r| r.value.interval),
        Some(Seconds(60))
    );
    assert_eq!(
        fit_b.timeout.as_ref().map(|t| t.value.total),
        Some(Seconds(7200))
    );
    let fit_a = &flow.step(id("fit_a")).decorators;
    assert_eq!(
        fit_a.retry.as_ref().map(|r| (r.value.times, r.origin)),
        Some((2, Origin::With))
    );
    assert_eq!(
        fit_a.resources.as_ref().map(|r| r.value.memory),
        Some(MiB(16384))
    );
    assert_eq!(
        flow.decorators
            .project
            .as_ref()
            .map(|p| p.value.name.as_str()),
        Some("ranking")
    );
}

// ---------- resolve: names ----------

#[test]
fn duplicate_step_points_at_both() {
    let d = one(&flow(
        "step start { run \"a\" next end }\nstep start { run \"b\" next end }\nstep end { run \"c\" }",
    ));
    assert_eq!(d.code, "E0201");
    assert_eq!(d.labels.len(), 2);
    assert_eq!(d.labels[1].message, "first defined here");
}

#[test]
fn unknown_target_suggests_a_close_name() {
    let src = flow("step start { run \"a\" next trian }\nstep train { run \"b\" next end }\nstep end { run \"c\" }");
    let (ir, diags) = check_with(&src, &[]);
    assert!(ir.is_none());
    assert_eq!(
        diags.len(),
        1,
        "no cascade from the missing edge: {diags:#?}"
    );
    assert_eq!(diags[0].code, "E0204");
    assert_eq!(
        diags[0].help.as_deref(),
        Some("a step with a similar name exists: `train`")
    );
}

#[test]
fn param_names_colliding_by_case() {
    let d = one(&simple("", "param alpha: int = 1\nparam ALPHA: int = 2"));
    assert_eq!(d.code, "E0203");
    assert!(d.labels[0].message.contains("FLOW_PARAM_ALPHA"));
}

#[test]
fn foreach_and_switch_sources() {
    let f = ok(&flow(
        "param xs: json = [1]\nparam m: str = \"a\"\n\
         step start { run \"a\" next b foreach xs }\nstep b { run \"b\" next j }\n\
         step j { run \"j\" next r }\nstep r { run \"r\" next switch m { \"a\" => end } }\n\
         step end { run \"e\" }",
    ));
    let start = f.step(f.step_id("start").expect("start"));
    assert!(
        matches!(&start.next, Transition::Foreach { over: ForeachSource::Param(p), .. } if p == "xs")
    );
    let r = f.step(f.step_id("r").expect("r"));
    assert!(matches!(&r.next, Transition::Switch { on: ForeachSource::Param(p), .. } if p == "m"));
    let f = ok(&flow(
        "step start { run \"a\" next b foreach items }\nstep b { run \"b\" next end }\nstep end { run \"e\" }",
    ));
    let start = f.step(f.step_id("start").expect("start"));
    assert!(
        matches!(&start.next, Transition::Foreach { over: ForeachSource::Artifact(p), .. } if p == "items")
    );
}

// ---------- resolve: statements and parameters ----------

#[test]
fn empty_exec_list_is_rejected() {
    assert_eq!(
        codes(&flow(
            "step start { run [] next end }\nstep end { run \"c\" }"
        )),
        vec!["E0208"]
    );
    assert_eq!(
        codes(&flow(
            "step start { run [\"\", \"x\"] next end }\nstep end { run \"c\" }"
        )),
        vec!["E0208"]
    );
}

#[test]
fn param_defaults_by_type() {
    for good in [
        "param a: float = 1",
        "param a: float = 1.5",
        "param a: str = \"x\"",
        "param a: bool = false",
        "param a: json = null",
        "param a: int = -3",
    ] {
        assert!(codes(&simple("", good)).is_empty(), "{good}");
    }
    for (bad, help) in [
        ("param a: int = 1.5", "`int` takes integer literals only; declare the parameter `float` to allow fractions"),
        ("param a: str = 1", "a default of type `str` is a string such as `\"eu\"`; to keep this default, declare the parameter `int`"),
        ("param a: bool = [true]", "a default of type `bool` is `true` or `false`; to keep this default, declare the parameter `json`"),
        ("param a: bool = \"true\"", "write the default without quotes: `= true`"),
        ("param a: float = \"1\"", "write the default without quotes: `= 1`"),
        ("param a: int = \"x\"", "a default of type `int` is an integer such as `10`; to keep this default, declare the parameter `str`"),
        ("param a: int = null", "a parameter without `= …` is required; to default to null, declare it `json`"),
    ] {
        let d = one(&simple("", bad));
        assert_eq!(d.code, "E0209", "{bad}");
        assert_eq!(d.help.as_deref(), Some(help), "{bad}");
    }
}

// ---------- resolve: decorators ----------

#[test]
fn decorator_typos_get_suggestions() {
    let d = one(&simple("@retyr(times=2)", ""));
    assert_eq!(
        d.help.as_deref(),
        Some("a decorator with a similar name exists: `@retry`")
    );
    let d = one(&simple("@retry(tims=2)", ""));
    assert_eq!(d.code, "E0213");
    assert_eq!(
        d.help.as_deref(),
        Some("an argument with a similar name exists: `times`")
    );
}

#[test]
fn wrong_argument_type_names_both_types() {
    let d = one(&simple("@retry(times=-1)", ""));
    assert_eq!(d.code, "E0214");
    assert_eq!(
        d.message,
        "argument `times` of `@retry` must be a non-negative integer, not a negative integer"
    );
    let d = one(&simple("@retry(times=\"2\")", ""));
    assert_eq!(
        d.help.as_deref(),
        Some("write the value without quotes: `times=2`")
    );
    let d = one(&simple("@environment(vars={\"A\": 1})", ""));
    assert_eq!(d.code, "E0214");
    let d = one(&simple("@retry(times=-1)", ""));
    assert_eq!(
        d.help.as_deref(),
        Some("`times` is how many more times a failed task runs, from 0 to 10: `@retry(times=3)`")
    );
}

#[test]
fn retry_and_timeout_units() {
    let f = ok(&simple("@retry(minutes_between_retries=0.5, max_delay_seconds=30, jitter=true)\n@timeout(seconds=5, minutes=1, hours=1)", ""));
    let d = &f.steps[0].decorators;
    let r = &d.retry.as_ref().expect("retry").value;
    assert_eq!(
        (r.times, r.interval, r.max_delay, r.jitter),
        (3, Seconds(30), Some(Seconds(30)), true)
    );
    assert_eq!(
        d.timeout.as_ref().map(|t| t.value.total),
        Some(Seconds(3665))
    );
}

#[test]
fn resources_batch_environment_foreach_values() {
    let f = ok(&flow(
        "@resources(cpu=0.5, memory=512, gpu=1, shared_memory=64)\n@batch(image=\"i\", queue=\"q\", memory=2048)\n\
         @environment(vars={\"B\": \"2\", \"A\": \"1\"})\n@foreach(max_concurrency=3, max_items=9, mode=\"inline\")\n\
         step start { run \"a\" next b foreach xs }\nstep b { run \"b\" next end }\nstep end { run \"e\" }",
    ));
    let d = &f.steps[0].decorators;
    let r = &d.resources.as_ref().expect("resources").value;
    assert_eq!(
        (r.cpu, r.memory, r.gpu, r.shared_memory),
        (0.5, MiB(512), 1, Some(MiB(64)))
    );
    let b = &d.batch.as_ref().expect("batch").value;
    assert_eq!(
        (b.image.as_deref(), b.memory, b.cpu),
        (Some("i"), Some(MiB(2048)), None)
    );
    let env: Vec<(&String, &String)> = d
        .environment
        .as_ref()
        .expect("env")
        .value
        .vars
        .iter()
        .collect();
    assert_eq!(
        env,
        vec![
            (&"A".to_string(), &"1".to_string()),
            (&"B".to_string(), &"2".to_string())
        ]
    );
    let fe = &d.foreach.as_ref().expect("foreach").value;
    assert_eq!(
        (fe.max_concurrency, fe.max_items, fe.mode),
        (Some(3), Some(9), ir::MapMode::Inline)
    );
}

#[test]
fn schedule_shorthands_expand_to_cron() {
    for (arg, cron) in [
        ("hourly=true", "0 * * * ? *"),
        ("daily=true", "0 0 * * ? *"),
        ("weekly=true", "0 0 ? * SUN *"),
    ] {
        let src = format!(
            "@schedule({arg}, timezone=\"Europe/Paris\")\n{}",
            simple("", "")
        );
        let f = ok(&src);
        let s = &f.decorators.schedule.as_ref().expect("schedule").value;
        assert!(
            matches!(&s.kind, ScheduleKind::Cron(c) if c.value == cron),
            "{arg}"
        );
        assert_eq!(
            s.timezone.as_ref().map(|t| t.value.as_str()),
            Some("Europe/Paris")
        );
    }
    let f = ok(&format!("@schedule(rate=\"1 hour\")\n{}", simple("", "")));
    let s = &f.decorators.schedule.as_ref().expect("schedule").value;
    assert!(matches!(&s.kind, ScheduleKind::Rate(r) if r.value == "1 hour"));
    assert_eq!(
        codes(&format!("@schedule(daily=false)\n{}", simple("", ""))),
        vec!["E0217"]
    );
    assert_eq!(
        codes(&format!(
            "@schedule(cron=\"0 10 * * ? *\", rate=\"1 hour\")\n{}",
            simple("", "")
        )),
        vec!["E0217"]
    );
}

#[test]
fn trigger_and_project() {
    let f = ok(&format!(
        "@trigger(event={{\"source\": [\"aws.s3\"]}})\n@project(name=\"a-b_1\")\n{}",
        simple("", "")
    ));
    assert_eq!(
        f.decorators.trigger.as_ref().map(|t| t.value.event.clone()),
        Some(serde_json::json!({"source": ["aws.s3"]}))
    );
    assert_eq!(
        codes(&format!(
            "@project(name=\"{}\")\n{}",
            "x".repeat(41),
            simple("", "")
        )),
        vec!["E0218"]
    );
    assert_eq!(
        codes(&format!("@trigger(event=[1])\n{}", simple("", ""))),
        vec!["E0214"]
    );
}

#[test]
fn decorator_placement() {
    assert_eq!(codes(&format!("@retry\n{}", simple("", ""))), vec!["E0219"]);
    assert_eq!(codes(&simple("@project(name=\"x\")", "")), vec!["E0219"]);
    assert_eq!(
        codes(&simple("", "with @schedule(daily=true)")),
        vec!["E0219"]
    );
}

#[test]
fn with_and_command_line_merge_with_origins() {
    let src = flow(
        "with @retry(times=1)\nwith @catch\n@retry(times=5)\nstep start { run \"a\" next end }\nstep end { run \"b\" }",
    );
    let (f, diags) = check_with(
        &src,
        &["retry:times=7", "timeout:seconds=9", "catch:var=\"e\""],
    );
    assert!(diags.is_empty(), "{diags:#?}");
    let f = f.expect("IR");
    let (start, end) = (&f.steps[0].decorators, &f.steps[1].decorators);
    assert_eq!(
        start.retry.as_ref().map(|r| (r.value.times, r.origin)),
        Some((5, Origin::Own))
    );
    assert_eq!(
        end.retry.as_ref().map(|r| (r.value.times, r.origin)),
        Some((1, Origin::With))
    );
    assert_eq!(
        end.catch.as_ref().map(|c| (c.value.var.clone(), c.origin)),
        Some((None, Origin::With))
    );
    let t = end.timeout.as_ref().expect("timeout from --with");
    assert_eq!(
        (t.value.total, t.origin, t.span.is_empty()),
        (Seconds(9), Origin::CommandLine, true)
    );
}

#[test]
fn command_line_errors_have_no_labels() {
    let (_, diags) = check_with(
        &simple("", ""),
        &["retyr:times=2", "retry:times=\"x\"", "schedule:daily=true"],
    );
    let got: Vec<(&str, bool)> = diags
        .iter()
        .map(|d| (d.code, d.labels.is_empty()))
        .collect();
    assert_eq!(got, vec![("E0212", true), ("E0214", true), ("E0219", true)]);
    assert!(
        diags.iter().all(|d| d.message.contains("--with")),
        "{diags:#?}"
    );
}

#[test]
fn repeated_decorators_and_keys() {
    assert_eq!(
        codes(&simple("", "with @retry\nwith @retry(times=1)")),
        vec!["E0215"]
    );
    assert_eq!(
        codes(&simple("", "param j: json = {\"a\": 1, \"a\": 2}")),
        vec!["E0220"]
    );
    assert_eq!(
        codes(&simple("@resources(cpu=1, cpu=2)", "")),
        vec!["E0216"]
    );
}

// ---------- validate: graph ----------

#[test]
fn missing_start_and_end_both_reported() {
    let got = codes(&flow("step a { run \"a\" }"));
    assert_eq!(got, vec!["E0301", "E0302"]);
}

#[test]
fn self_loop_is_a_cycle() {
    let got = codes(&flow(
        "step start { run \"a\" next b }\nstep b { run \"b\" next switch m { \"x\" => b, \"y\" => end } }\nstep end { run \"e\" }",
    ));
    assert_eq!(got, vec!["E0306"]);
}

#[test]
fn unreachable_chain_names_its_source() {
    let (_, diags) = check_with(
        &flow("step start { run \"a\" next end }\nstep x { run \"x\" next y }\nstep y { run \"y\" next end }\nstep end { run \"e\" }"),
        &[],
    );
    let got: Vec<&str> = diags.iter().map(|d| d.code).collect();
    assert_eq!(got, vec!["E0307", "E0307"]);
    assert!(diags[1].help.as_deref().unwrap_or_default().contains("`x`"));
}

/// `start → a, b`, with the given bodies for `a`, `b` and extra steps.
fn split(a: &str, b: &str, extra: &str) -> String {
    flow(&format!(
        "step start {{ run \"s\" next a, b }}\nstep a {{ run \"a\" {a} }}\nstep b {{ run \"b\" {b} }}\n{extra}\nstep end {{ run \"e\" }}"
    ))
}

#[test]
fn split_with_end_as_join_is_fine() {
    let f = ok(&split("next end", "next end", ""));
    assert!(
        matches!(f.steps[0].next, Transition::Split { join: Some(j), .. } if f.step(j).name == "end")
    );
}

#[test]
fn switch_inside_branch_converging_before_join_is_fine() {
    ok(&split(
        "next switch m { \"x\" => p, \"y\" => q }",
        "next j",
        "step p { run \"p\" next j }\nstep q { run \"q\" next j }\nstep j { run \"j\" next end }",
    ));
}

#[test]
fn switch_case_to_the_join_itself_is_fine() {
    ok(&split(
        "next switch m { \"x\" => p, \"y\" => j }",
        "next j",
        "step p { run \"p\" next j }\nstep j { run \"j\" next end }",
    ));
}

#[test]
fn switch_escaping_a_branch_is_reported_at_the_bypass() {
    let (_, diags) = check_with(
        &split(
            "next switch m { \"x\" => j, \"y\" => end }",
            "next j",
            "step j { run \"j\" next end }",
        ),
        &[],
    );
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].code, "E0308");
    assert!(
        diags[0]
            .labels
            .iter()
            .any(|l| l.message.contains("skips `j`")),
        "{diags:#?}"
    );
}

#[test]
fn nested_split_needs_its_own_join() {
    let got = codes(&split(
        "next c, d",
        "next j",
        "step c { run \"c\" next j }\nstep d { run \"d\" next j }\nstep j { run \"j\" next end }",
    ));
    assert_eq!(got, vec!["E0308"]);
}

#[test]
fn nested_splits_with_own_joins_are_fine() {
    let f = ok(&split(
        "next c, d",
        "next j",
        "step c { run \"c\" next k }\nstep d { run \"d\" next k }\nstep k { run \"k\" next j }\nstep j { run \"j\" next end }",
    ));
    let a = f.step(f.step_id("a").expect("a"));
    assert!(matches!(a.next, Transition::Split { join: Some(k), .. } if f.step(k).name == "k"));
}

#[test]
fn branch_that_is_the_join_is_reported() {
    let got = codes(&split("next b", "next end", ""));
    assert_eq!(got, vec!["E0308"]);
}

#[test]
fn foreach_with_split_in_body_and_nested_foreach() {
    let f = ok(&flow(
        "step start { run \"s\" next a foreach xs }\nstep a { run \"a\" next b, c }\n\
         step b { run \"b\" next d }\nstep c { run \"c\" next d }\nstep d { run \"d\" next e foreach ys }\n\
         step e { run \"e\" next g }\nstep g { run \"g\" next j }\nstep j { run \"j\" next end }\nstep end { run \"z\" }",
    ));
    let join = |n: &str| match &f.step(f.step_id(n).expect("step")).next {
        Transition::Foreach { join, .. } | Transition::Split { join, .. } => {
            join.map(|j| f.step(j).name.clone())
        }
        _ => None,
    };
    assert_eq!(join("start").as_deref(), Some("j"));
    assert_eq!(join("a").as_deref(), Some("d"));
    assert_eq!(join("d").as_deref(), Some("g"));
}

#[test]
fn foreach_join_reached_from_outside() {
    let got = codes(&flow(
        "step start { run \"s\" next switch m { \"x\" => f, \"y\" => j } }\nstep f { run \"f\" next b foreach xs }\n\
         step b { run \"b\" next j }\nstep j { run \"j\" next end }\nstep end { run \"e\" }",
    ));
    assert_eq!(got, vec!["E0309"]);
}

#[test]
fn switch_cases_may_converge_anywhere() {
    ok(&flow(
        "step start { run \"s\" next switch m { \"x\" => a, \"y\" => b, \"z\" => end } }\n\
         step a { run \"a\" next b }\nstep b { run \"b\" next end }\nstep end { run \"e\" }",
    ));
}

// ---------- validate: placement, ranges, parameters ----------

#[test]
fn inherited_foreach_only_applies_to_foreach_steps() {
    let f = ok(&flow(
        "with @foreach(max_concurrency=8)\nstep start { run \"s\" next b foreach xs }\nstep b { run \"b\" next end }\nstep end { run \"e\" }",
    ));
    assert_eq!(
        f.steps[0]
            .decorators
            .foreach
            .as_ref()
            .and_then(|x| x.value.max_concurrency),
        Some(8)
    );
    assert!(f.steps[1].decorators.foreach.is_none());
}

#[test]
fn ranges_are_checked() {
    for bad in [
        "@retry(times=11)",
        "@retry(backoff=0.5)",
        "@retry(max_delay_seconds=0)",
        "@timeout(seconds=0)",
        "@timeout",
        "@resources(cpu=0)",
        "@resources(memory=3)",
        "@resources(shared_memory=0)",
        "@batch(cpu=-1)",
        "@batch(memory=2)",
    ] {
        let d = one(&simple(bad, ""));
        assert_eq!(d.code, "E0311", "{bad}");
        assert!(d.help.is_some(), "{bad} has help");
    }
    for good in [
        "@retry(times=0)",
        "@retry(times=10, backoff=1)",
        "@resources(cpu=0.25, memory=4)",
        "@timeout(minutes=1)",
    ] {
        assert!(codes(&simple(good, "")).is_empty(), "{good}");
    }
    let fe = |arg: &str| {
        codes(&flow(&format!(
            "@foreach({arg})\nstep start {{ run \"s\" next b foreach xs }}\nstep b {{ run \"b\" next end }}\nstep end {{ run \"e\" }}"
        )))
    };
    assert_eq!(fe("max_concurrency=0"), vec!["E0311"]);
    assert_eq!(fe("max_items=0"), vec!["E0311"]);
    assert!(fe("max_concurrency=1, max_items=1").is_empty());
}

#[test]
fn range_error_from_with_is_reported_once() {
    let src = flow("with @retry(times=12)\nstep start { run \"a\" next b }\nstep b { run \"b\" next end }\nstep end { run \"c\" }");
    let d = one(&src);
    assert_eq!(d.code, "E0311");
    assert!(d.labels[0].message.contains("`with`"));
    let (_, diags) = check_with(&simple("", ""), &["retry:times=12"]);
    assert_eq!(diags.len(), 1);
    assert!(diags[0].labels.is_empty() && diags[0].message.contains("--with"));
}

#[test]
fn trigger_with_required_parameter_warns() {
    let src = format!(
        "@trigger(event={{\"source\": [\"x\"]}})\n{}",
        simple("", "param n: int")
    );
    let (f, diags) = check_with(&src, &[]);
    assert!(f.is_some(), "a warning keeps the IR");
    assert_eq!(
        diags.iter().map(|d| d.code).collect::<Vec<_>>(),
        vec!["W0301"]
    );
    assert_eq!(diags[0].labels.len(), 2);
}

#[test]
fn nested_foreach_without_its_own_join() {
    let src = flow(
        "step start { run \"s\" next a foreach xs }\nstep a { run \"a\" next b foreach ys }\n\
         step b { run \"b\" next end }\nstep end { run \"e\" }",
    );
    let d = one(&src);
    assert_eq!(
        (d.code, d.message.as_str()),
        ("E0309", "the foreach at `start` has no join step")
    );
}

#[test]
fn foreach_body_of_several_steps_joins_after_the_first() {
    // The body is the block starting at `a`; `b` follows it and is the join.
    let f = ok(&flow(
        "step start { run \"s\" next a foreach xs }\nstep a { run \"a\" next b }\n\
         step b { run \"b\" next end }\nstep end { run \"e\" }",
    ));
    assert!(
        matches!(f.steps[0].next, Transition::Foreach { join: Some(j), .. } if f.step(j).name == "b")
    );
}

#[test]
fn environment_variable_names() {
    let d = one(&simple("@environment(vars={\"AWS_BATCH_X\": \"1\"})", ""));
    assert_eq!(d.code, "E0225");
    assert!(d.help.as_deref().unwrap_or_default().contains("AWS Batch"));
    assert_eq!(
        codes(&simple("@environment(vars={\"1X\": \"1\"})", "")),
        vec!["E0225"]
    );
    assert!(codes(&simple("@environment(vars={\"_X1\": \"1\"})", "")).is_empty());
}

#[test]
fn missing_start_suggests_the_entry_step() {
    let d = one(&flow(
        "step begin { run \"a\" next end }\nstep end { run \"b\" }",
    ));
    assert_eq!(d.code, "E0301");
    assert!(d
        .help
        .as_deref()
        .unwrap_or_default()
        .starts_with("rename step `begin` to `start`"));
}

#[test]
fn switch_on_parameter_default_without_case_warns() {
    let src = flow(
        "param m: str = \"b\"\nstep start { run \"a\" next switch m { \"a\" => end } }\nstep end { run \"e\" }",
    );
    let (f, diags) = check_with(&src, &[]);
    assert!(f.is_some());
    assert_eq!(
        diags.iter().map(|d| d.code).collect::<Vec<_>>(),
        vec!["W0302"]
    );
    let src = src.replace("= \"b\"", "= \"a\"");
    assert!(codes(&src).is_empty());
}

#[test]
fn every_valid_fixture_checks_and_every_split_and_foreach_is_joined() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ok");
    let entries = std::fs::read_dir(dir).expect("fixtures/ok exists");
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.extension().is_none_or(|e| e != "flow") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("readable fixture");
        let (f, diags) = check_with(&src, &[]);
        let errors: Vec<&str> = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        for step in &f.expect("IR").steps {
            let joined = match &step.next {
                Transition::Split { join, .. } | Transition::Foreach { join, .. } => join.is_some(),
                _ => true,
            };
            assert!(joined, "{}: `{}` has no join", path.display(), step.name);
        }
    }
}

#[test]
fn trigger_event_pattern_shape() {
    let with_event = |ev: &str| format!("@trigger(event={ev})\n{}", simple("", ""));
    let ok_pattern = r#"{"source": ["aws.s3"], "detail": {"key": [{"prefix": "in/"}]}}"#;
    assert_eq!(codes(&with_event(ok_pattern)), Vec::<&str>::new());
    for (ev, message) in [
        ("{}", "the event pattern of `@trigger` is empty"),
        (
            r#"{"detail": {}}"#,
            "field \"detail\" of the `@trigger` event pattern is empty",
        ),
        (r#"{"source": []}"#, "lists no value to match"),
        (
            r#"{"detail": {"state": "x"}}"#,
            "field \"detail\".\"state\"",
        ),
    ] {
        let d = one(&with_event(ev));
        assert_eq!(d.code, "E0226", "{ev}");
        assert!(d.message.contains(message), "{ev}: {}", d.message);
    }
}

#[test]
fn flow_decorator_in_with_option_says_so_once() {
    let (_, diags) = check_with(&simple("", ""), &["schedule:daily=true"]);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(
        diags[0].message,
        "`@schedule` is a flow decorator and cannot be used on steps (in a `--with` option)"
    );
}

#[test]
fn blank_names_are_rejected() {
    for decos in [
        "@batch(image=\"\")",
        "@batch(queue=\" \")",
        "@batch(iam_role=\"\")",
        "@catch(var=\"\")",
    ] {
        let d = one(&simple(decos, ""));
        assert_eq!(d.code, "E0214", "{decos}");
        assert!(
            d.message
                .ends_with("must be a non-empty string, not a blank string"),
            "{decos}: {}",
            d.message
        );
    }
    let (_, diags) = check_with(&simple("", ""), &["batch:image="]);
    assert_eq!(diags.iter().map(|d| d.code).collect::<Vec<_>>(), ["E0214"]);
}
