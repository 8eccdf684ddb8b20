use super::*;
use crate::engine::vars::Vars;
use serde_json::json;

fn eval_in(expr: &str, input: Value) -> Result<Value, StatesError> {
    let mut vars = Vars::new();
    vars.set("tmpl", json!("It's {}!"));
    let ctx = json!({"Execution": {"Input": {"csv": "a,b"}}});
    call(
        expr,
        &Scope {
            input: &input,
            context: &ctx,
            vars: &vars,
        },
        "FunctionResult.$",
    )
}

fn ev(expr: &str) -> Value {
    eval_in(expr, json!({})).unwrap()
}

fn err(expr: &str) -> StatesError {
    eval_in(expr, json!({})).unwrap_err()
}

#[test]
fn parses_literals_paths_and_nesting() {
    let c =
        parse::parse("States.Array('a\\'b', 1, -2.5, true, null, $.x, $$.y, $v, States.UUID())")
            .unwrap();
    assert_eq!(c.name, "Array");
    assert_eq!(c.args.len(), 9);
    assert_eq!(
        c.args[0],
        Arg::Str {
            value: "a'b".into(),
            raw: "a\\'b".into()
        }
    );
    assert_eq!(c.args[2], Arg::Literal(json!(-2.5)));
    assert_eq!(c.args[5], Arg::Path("$.x".into()));
    assert_eq!(c.args[7], Arg::Path("$v".into()));
    assert!(matches!(c.args[8], Arg::Call(_)));
}

#[test]
fn paths_with_commas_in_brackets_stay_whole() {
    let c = parse::parse("States.Array($['a,b'], $.c[0,1])").unwrap();
    assert_eq!(
        c.args,
        vec![Arg::Path("$['a,b']".into()), Arg::Path("$.c[0,1]".into())]
    );
}

#[test]
fn malformed_calls_are_intrinsic_failures() {
    for bad in [
        "States.Array(",
        "States.Array('x)",
        "States.Array(1 2)",
        "Foo(1)",
        "States.Array() x",
    ] {
        assert_eq!(err(bad).error, "States.IntrinsicFailure", "{bad}");
    }
    assert_eq!(err("States.Nope()").error, "States.IntrinsicFailure");
}

#[test]
fn format_renders_like_aws() {
    let input = json!({"o": {"Arg1": 1, "Arg2": []}, "n": null, "f": 1.1, "s": "x"});
    let r = eval_in("States.Format('{} {} {} {}', $.o, $.n, $.f, $.s)", input).unwrap();
    assert_eq!(r, json!("{Arg1=1, Arg2=[]} null 1.1 x"));
    assert_eq!(ev("States.Format('a\\{\\}b {}', 'c')"), json!("a{}b c"));
    assert_eq!(
        ev("States.Format('[{}]', States.Array('a', 2))"),
        json!("[[a, 2]]")
    );
    assert_eq!(
        ev("States.Format($tmpl, 'Pikachu')"),
        json!("It's Pikachu!")
    );
    assert_eq!(
        err("States.Format('{} {}', 1)").error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        err("States.Format('{}', 1, 2)").error,
        "States.IntrinsicFailure"
    );
}

#[test]
fn string_json_round_trips() {
    assert_eq!(ev("States.StringToJson('')"), Value::Null);
    assert_eq!(ev("States.StringToJson(' ')"), Value::Null);
    assert_eq!(ev("States.StringToJson('{\"a\": [1]}')"), json!({"a": [1]}));
    assert_eq!(ev("States.StringToJson('-0')"), json!(0));
    assert_eq!(
        err("States.StringToJson('{')").error,
        "States.IntrinsicFailure"
    );
    let r = eval_in("States.JsonToString($)", json!({"Arg1": 1, "Arg2": []})).unwrap();
    assert_eq!(r, json!("{\"Arg1\":1,\"Arg2\":[]}"));
    assert_eq!(
        ev("States.JsonToString('HelloWorld')"),
        json!("\"HelloWorld\"")
    );
}

#[test]
fn array_functions() {
    assert_eq!(ev("States.Array()"), json!([]));
    let input = json!({"a": [0, 1, 2, 3], "d": [1, 1, [1], [1], {"x": 1}, {"x": 1}, 1.0]});
    let r = eval_in("States.ArrayPartition($.a, 3)", input.clone()).unwrap();
    assert_eq!(r, json!([[0, 1, 2], [3]]));
    assert_eq!(
        err("States.ArrayPartition(States.Array(1), 0)").error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        eval_in("States.ArrayContains($.d, States.Array(1))", input.clone()).unwrap(),
        json!(true)
    );
    assert_eq!(
        eval_in("States.ArrayContains($.a, 7)", input.clone()).unwrap(),
        json!(false)
    );
    assert_eq!(
        eval_in("States.ArrayGetItem($.a, 3)", input.clone()).unwrap(),
        json!(3)
    );
    assert!(eval_in("States.ArrayGetItem($.a, 4)", input.clone()).is_err());
    assert_eq!(
        eval_in("States.ArrayLength($.a)", input.clone()).unwrap(),
        json!(4)
    );
    assert_eq!(
        eval_in("States.ArrayUnique($.d)", input).unwrap(),
        json!([1, [1], {"x": 1}])
    );
}

#[test]
fn array_range_includes_end_and_is_limited() {
    assert_eq!(ev("States.ArrayRange(0, 9, 3)"), json!([0, 3, 6, 9]));
    assert_eq!(ev("States.ArrayRange(0, 10, 3)"), json!([0, 3, 6, 9]));
    assert_eq!(ev("States.ArrayRange(1, 9, 9)"), json!([1]));
    assert_eq!(ev("States.ArrayRange(5, 1, -2)"), json!([5, 3, 1]));
    assert_eq!(ev("States.ArrayRange(5, 1, 2)"), json!([]));
    assert_eq!(
        ev("States.ArrayRange(1, 1000, 1)").as_array().map(Vec::len),
        Some(1000)
    );
    assert_eq!(
        err("States.ArrayRange(0, 1000, 1)").error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        err("States.ArrayRange(0, 3, 0)").error,
        "States.IntrinsicFailure"
    );
    assert_eq!(ev("States.ArrayRange(0, 3.5, 1.2)"), json!([0, 1, 2, 3, 4]));
    assert_eq!(
        err("States.ArrayRange(0, '3', 1)").error,
        "States.IntrinsicFailure"
    );
}

#[test]
fn base64_and_hash() {
    assert_eq!(
        ev("States.Base64Encode('Data to encode')"),
        json!("RGF0YSB0byBlbmNvZGU=")
    );
    assert_eq!(
        ev("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')"),
        json!("Data to encode")
    );
    assert_eq!(ev("States.Base64Encode('')"), json!(""));
    assert_eq!(
        err("States.Base64Decode('%%%')").error,
        "States.IntrinsicFailure"
    );
    let long = json!({"s": "x".repeat(10_001)});
    assert!(eval_in("States.Base64Encode($.s)", long.clone()).is_err());
    assert!(eval_in("States.Hash($.s, 'MD5')", long).is_err());
    assert_eq!(
        ev("States.Hash('input data', 'MD5')"),
        json!("812f45842bc6d66ee14572ce20db8e86")
    );
    assert_eq!(
        ev("States.Hash('input data', 'SHA-1')"),
        json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
    );
    assert_eq!(
        ev("States.Hash('input data', 'SHA-256')"),
        json!("b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3")
    );
    assert_eq!(
        ev("States.Hash('a', 'SHA-384')").as_str().map(str::len),
        Some(96)
    );
    assert_eq!(
        ev("States.Hash('a', 'SHA-512')").as_str().map(str::len),
        Some(128)
    );
    assert_eq!(
        err("States.Hash('a', 'SHA-3')").error,
        "States.IntrinsicFailure"
    );
}

#[test]
fn json_merge_is_shallow_only() {
    let input = json!({"a": {"x": {"p": 1}, "b": 2}, "b": {"x": {"q": 1}, "c": 3}});
    let r = eval_in("States.JsonMerge($.a, $.b, false)", input.clone()).unwrap();
    assert_eq!(r, json!({"x": {"q": 1}, "b": 2, "c": 3}));
    assert_eq!(
        eval_in("States.JsonMerge($.a, $.b, true)", input)
            .unwrap_err()
            .error,
        "States.IntrinsicFailure"
    );
    assert!(eval_in("States.JsonMerge(1, 2, false)", json!({})).is_err());
}

#[test]
fn math_add_rounds_each_operand_half_up() {
    let cases = [
        (1.49, 1.5, 3),
        (1.5, 1.51, 4),
        (-1.49, -1.5, -2),
        (-1.5, -1.51, -3),
        (-0.5, 0.5, 1),
        (-2.5, 0.0, -2),
        (2.5, 0.0, 3),
        (1.49, -1.49, 0),
    ];
    for (a, b, want) in cases {
        let r = eval_in("States.MathAdd($.a, $.b)", json!({"a": a, "b": b})).unwrap();
        assert_eq!(r, json!(want), "{a} + {b}");
    }
    assert_eq!(ev("States.MathAdd(-9, 3)"), json!(-6));
    assert_eq!(
        err("States.MathAdd('1', 2)").error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        err("States.MathAdd(2147483648, 0)").error,
        "States.IntrinsicFailure"
    );
}

#[test]
fn math_random_is_in_range_and_seedable() {
    for _ in 0..50 {
        let n = ev("States.MathRandom(1, 5)").as_i64().unwrap_or(-1);
        assert!((1..5).contains(&n));
    }
    assert_eq!(
        ev("States.MathRandom(0, 1000, 7)"),
        ev("States.MathRandom(0, 1000, 7)")
    );
    assert_eq!(
        err("States.MathRandom(5, 5)").error,
        "States.IntrinsicFailure"
    );
}

#[test]
fn string_split_on_any_delimiter_char() {
    assert_eq!(
        ev("States.StringSplit('This.is+a,test=string', '.+,=')"),
        json!(["This", "is", "a", "test", "string"])
    );
    assert_eq!(ev("States.StringSplit(', , ,', ',')"), json!([" ", " "]));
    assert_eq!(ev("States.StringSplit(',,,,', ',')"), json!([]));
    assert_eq!(
        ev("States.StringSplit($$.Execution.Input.csv, ',')"),
        json!(["a", "b"])
    );
}

#[test]
fn uuid_is_v4() {
    let u = ev("States.UUID()");
    let s = u.as_str().unwrap_or_default();
    assert_eq!(s.len(), 36);
    assert_eq!(s.as_bytes()[14], b'4');
    assert_ne!(ev("States.UUID()"), u);
}

#[test]
fn missing_path_argument_is_runtime_error_naming_field() {
    let e = eval_in("States.Format('{}', $.nope)", json!({})).unwrap_err();
    assert_eq!(e.error, "States.Runtime");
    assert!(e
        .cause
        .unwrap()
        .contains("'$.nope' specified for the field 'FunctionResult.$'"));
}

#[test]
fn format_writes_doubles_as_java_does() {
    use functions::number_text;
    let t = |f: f64| number_text(&serde_json::Number::from_f64(f).unwrap_or_else(|| 0.into()));
    assert_eq!(t(100.0), "100.0");
    assert_eq!(t(1.1), "1.1");
    assert_eq!(t(1e7), "1.0E7");
    assert_eq!(t(1.5e-4), "1.5E-4");
    assert_eq!(t(-2.5e21), "-2.5E21");
    assert_eq!(t(0.001), "0.001");
    assert_eq!(number_text(&serde_json::Number::from(12)), "12");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary call text never panics the parser or evaluator.
        #[test]
        fn any_call_text_is_handled(text in "States\\.[A-Za-z]{0,14}\\([$a-z0-9.,' {}\\\\()-]{0,30}") {
            let _ = eval_in(&text, json!({"a": [1, 2], "s": "x,y"}));
        }

        /// StringSplit never yields empty pieces, and joining pieces loses only delimiters.
        #[test]
        fn string_split_pieces_are_nonempty(s in "[a-c,;]{0,20}") {
            let out = eval_in("States.StringSplit($.s, ',;')", json!({"s": s.clone()})).unwrap();
            let pieces: Vec<String> = serde_json::from_value(out).unwrap();
            prop_assert!(pieces.iter().all(|p| !p.is_empty()));
            let kept: String = s.chars().filter(|c| !",;".contains(*c)).collect();
            prop_assert_eq!(pieces.concat(), kept);
        }
    }
}

#[test]
fn control_escapes_in_literals() {
    assert_eq!(ev("States.StringSplit('a\\nb', '\\n')"), json!(["a", "b"]));
    assert_eq!(ev("States.Format('x\\ty{}', '\\\\')"), json!("x\ty\\"));
}

#[test]
fn json_to_string_writes_doubles_as_jackson() {
    let r = eval_in(
        "States.JsonToString($)",
        json!({"big": 1e7, "small": 1.5, "i": 3, "s": "é/"}),
    )
    .unwrap();
    assert_eq!(
        r,
        json!("{\"big\":1.0E7,\"small\":1.5,\"i\":3,\"s\":\"é/\"}")
    );
}
