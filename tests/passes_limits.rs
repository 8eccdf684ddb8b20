//! Extreme numbers in decorator arguments: the whole pipeline (`flowc::compile`) never panics
//! or overflows, and a value beyond what AWS accepts is a range error (E0311) instead of a
//! definition that `CreateStateMachine` would reject; a count stored in 32 bits is checked
//! to fit (E0214) instead of being clamped.

use flowc::diagnostics::Diagnostic;
use flowc::options::CompileOptions;

/// `start → end` with `decos` on `start`.
fn simple(decos: &str) -> String {
    format!(
        "flow F {{\n{decos}\nstep start {{ run \"a\" next end }}\nstep end {{ run \"b\" }}\n}}\n"
    )
}

/// A foreach over a parameter with `decos` on the splitting step and `@retry` on the body.
fn fan(decos: &str) -> String {
    format!(
        "flow F {{\nparam xs: json = [1]\n{decos}\nstep start {{ run \"a\" next body foreach xs }}\n\
         @retry(times=10)\nstep body {{ run \"b\" next join }}\nstep join {{ run \"j\" next end }}\n\
         step end {{ run \"e\" }}\n}}\n"
    )
}

/// The error codes of compiling `src` (empty when it compiles).
fn codes(src: &str) -> Vec<&'static str> {
    match flowc::compile(src, &CompileOptions::default()) {
        Ok(_) => vec![],
        Err(diags) => diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect(),
    }
}

fn first_error(src: &str) -> Diagnostic {
    let diags = flowc::compile(src, &CompileOptions::default()).expect_err("must fail");
    diags
        .into_iter()
        .find(Diagnostic::is_error)
        .expect("an error")
}

const HUGE: &str = "9223372036854775807";

#[test]
fn huge_inline_max_items_is_a_budget_error_not_an_overflow() {
    let src = fan(&format!("@foreach(mode=\"inline\", max_items={HUGE})"));
    assert_eq!(codes(&src), ["E0504"]);
}

#[test]
fn huge_auto_max_items_compiles_to_a_distributed_map() {
    let src = fan(&format!("@foreach(max_items={HUGE}, max_concurrency=4)"));
    assert_eq!(codes(&src), Vec::<&str>::new());
}

#[test]
fn timeout_above_the_asl_maximum_is_out_of_range() {
    for args in [
        format!("hours={HUGE}"),
        format!("seconds={HUGE}, minutes={HUGE}"),
        "seconds=100000000".to_string(),
    ] {
        let src = simple(&format!("@timeout({args})"));
        assert_eq!(codes(&src), ["E0311"], "{args}");
    }
    assert_eq!(
        codes(&simple("@timeout(seconds=99999999)")),
        Vec::<&str>::new()
    );
}

#[test]
fn retry_interval_above_the_asl_maximum_is_out_of_range() {
    let d = first_error(&simple(&format!("@retry(minutes_between_retries={HUGE})")));
    assert_eq!(d.code, "E0311");
    assert!(
        d.message.contains("minutes_between_retries"),
        "{}",
        d.message
    );
    assert_eq!(
        codes(&simple("@retry(minutes_between_retries=1e300)")),
        ["E0311"]
    );
    // 99,999,999 s is the ASL maximum of `IntervalSeconds`: 1,666,666 minutes fit.
    let ok = simple("@retry(minutes_between_retries=1666666)");
    assert_eq!(codes(&ok), Vec::<&str>::new());
}

#[test]
fn max_delay_at_or_above_the_asl_bound_is_out_of_range() {
    // ASL: `MaxDelaySeconds` is more than 0 and less than 31,622,401.
    let src = simple("@retry(max_delay_seconds=31622401)");
    assert_eq!(codes(&src), ["E0311"]);
    assert_eq!(
        codes(&simple("@retry(max_delay_seconds=31622400)")),
        Vec::<&str>::new()
    );
}

#[test]
fn counts_beyond_32_bits_are_rejected_not_silently_clamped() {
    for decos in [
        "@resources(gpu=4294967296)",
        "@batch(gpu=4294967296)",
        "@retry(times=4294967296)",
    ] {
        assert_eq!(codes(&simple(decos)), ["E0214"], "{decos}");
    }
    let d = first_error(&fan("@foreach(max_concurrency=4294967296)"));
    assert_eq!(d.code, "E0214");
    assert!(d.message.contains("not 4294967296"), "{}", d.message);
}

#[test]
fn huge_sizes_never_panic() {
    for decos in [
        format!("@resources(cpu={HUGE}, memory={HUGE}, shared_memory={HUGE})"),
        format!("@batch(cpu={HUGE}, memory={HUGE})"),
        "@resources(cpu=1e308, memory=4)".to_string(),
        format!("@retry(backoff=1e308, max_delay_seconds={HUGE})"),
    ] {
        let _ = codes(&simple(&decos));
    }
}

/// `levels` foreaches nested inside each other.
fn nested_foreach(levels: usize) -> String {
    let mut s =
        String::from("flow Deep {\nparam xs: json = [1]\nstep start { run \"a\" next f1 }\n");
    for i in 1..=levels {
        let next = if i < levels {
            format!("f{}", i + 1)
        } else {
            "body".into()
        };
        s += &format!("step f{i} {{ run \"a\" next {next} foreach xs }}\n");
    }
    s += &format!("step body {{ run \"b\" next j{levels} }}\n");
    s + &joins_to_end(levels)
}

/// The joins `j<levels>` → … → `j1` → `end`, the `end` step and the flow's closing brace.
fn joins_to_end(levels: usize) -> String {
    let mut s = String::new();
    for i in (1..=levels).rev() {
        let next = if i > 1 {
            format!("j{}", i - 1)
        } else {
            "end".into()
        };
        s += &format!("step j{i} {{ run \"j\" next {next} }}\n");
    }
    s + "step end { run \"e\" }\n}\n"
}

/// `levels` static splits, each nested in the first branch of the one before.
fn nested_split(levels: usize) -> String {
    let mut s = String::from("flow Deep {\nstep start { run \"a\" next s1 }\n");
    for i in 1..=levels {
        let inner = if i < levels {
            format!("s{}", i + 1)
        } else {
            "y".into()
        };
        s += &format!("step s{i} {{ run \"a\" next {inner}, x{i} }}\n");
        s += &format!("step x{i} {{ run \"x\" next j{i} }}\n");
    }
    s += &format!("step y {{ run \"y\" next j{levels} }}\n");
    s + &joins_to_end(levels)
}

#[test]
fn sixteen_nested_levels_compile_to_json_that_reads_back() {
    for src in [nested_foreach(16), nested_split(16)] {
        let c = flowc::compile(&src, &CompileOptions::default()).expect("compiles");
        let back: Result<serde_json::Value, _> = serde_json::from_str(&c.asl);
        assert!(back.is_ok(), "{back:?}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for src in [
        nested_foreach(17),
        nested_split(17),
        nested_foreach(600),
        nested_split(600),
    ] {
        assert_eq!(codes(&src), ["E0313"]);
    }
    let d = first_error(&nested_foreach(17));
    assert!(d.message.contains("`f17`"), "{}", d.message);
}
