use super::*;
use ast::{Command, LiteralKind, Member, Next, StatementKind, TypeName};

const SPEC_EXAMPLE: &str = include_str!("../../../fixtures/ok/spec_example.flow");

fn ok(src: &str) -> ast::File {
    match parse(src) {
        Ok(f) => f,
        Err(d) => panic!("expected {src:?} to parse, got {d:#?}"),
    }
}

/// The single diagnostic of `src`: (code, message, primary span text).
fn err(src: &str) -> (&'static str, String, Span) {
    let diags = parse(src).expect_err("expected an error");
    let d = &diags[0];
    (d.code, d.message.clone(), d.position())
}

fn wrap_step(body: &str) -> String {
    format!("flow F {{\n  step start {{\n    {body}\n  }}\n}}\n")
}

fn steps(f: &ast::File) -> Vec<&ast::Step> {
    f.members
        .iter()
        .filter_map(|m| match m {
            Member::Step(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn first_next(src: &str) -> Next {
    let f = ok(src);
    let st = steps(&f)[0].statements.iter().find_map(|s| match &s.kind {
        StatementKind::Next(n) => Some(n.clone()),
        _ => None,
    });
    st.expect("a next statement")
}

fn names(ids: &[ast::Ident]) -> Vec<&str> {
    ids.iter().map(|i| i.name.as_str()).collect()
}

#[test]
fn spec_example_parses() {
    let f = ok(SPEC_EXAMPLE);
    assert_eq!(f.name.name, "CountryModels");
    assert_eq!(
        f.decorators
            .iter()
            .map(|d| d.name.name.as_str())
            .collect::<Vec<_>>(),
        ["schedule", "project"]
    );
    let params = f
        .members
        .iter()
        .filter(|m| matches!(m, Member::Param(_)))
        .count();
    let withs = f
        .members
        .iter()
        .filter(|m| matches!(m, Member::With(_)))
        .count();
    assert_eq!((params, withs, steps(&f).len()), (3, 2, 10));
    assert_eq!(f.span, Span::new(0, SPEC_EXAMPLE.len()));
}

#[test]
fn spec_example_switch_and_foreach() {
    let f = ok(SPEC_EXAMPLE);
    let route = steps(&f)
        .into_iter()
        .find(|s| s.name.name == "route")
        .expect("route step");
    let StatementKind::Next(Next::Switch { on, cases }) = &route.statements[1].kind else {
        panic!("route has a switch");
    };
    assert_eq!(on.name, "mode");
    let cases: Vec<_> = cases
        .iter()
        .map(|c| (c.value.value.as_str(), c.target.name.as_str()))
        .collect();
    assert_eq!(cases, [("publish", "publish"), ("skip", "end")]);
    let pc = steps(&f)
        .into_iter()
        .find(|s| s.name.name == "per_country")
        .expect("per_country");
    assert_eq!(pc.decorators[0].name.name, "foreach");
    assert!(matches!(&pc.statements[1].kind,
        StatementKind::Next(Next::Foreach { body, over }) if body.name == "train" && over.name == "countries"));
}

#[test]
fn params_with_types_defaults_and_help() {
    let f = ok("flow F {\n param a: float = 0.1 \"lr\"\n param b: json = [\"x\", 1,]\n param c: int\n param d: str = \"s\"\n param e: bool = true\n}");
    let params: Vec<&ast::Param> = f
        .members
        .iter()
        .filter_map(|m| {
            if let Member::Param(p) = m {
                Some(p)
            } else {
                None
            }
        })
        .collect();
    let tys: Vec<_> = params.iter().map(|p| p.ty.name).collect();
    assert_eq!(
        tys,
        [
            TypeName::Float,
            TypeName::Json,
            TypeName::Int,
            TypeName::Str,
            TypeName::Bool
        ]
    );
    assert_eq!(
        params[0].default.as_ref().map(|l| l.kind.clone()),
        Some(LiteralKind::Float(0.1))
    );
    assert_eq!(
        params[0].help.as_ref().map(|h| h.value.as_str()),
        Some("lr")
    );
    assert_eq!(
        params[1].default.as_ref().map(|l| l.to_json()),
        Some(serde_json::json!(["x", 1]))
    );
    assert!(params[2].default.is_none() && params[2].help.is_none());
}

#[test]
fn param_span_excludes_trailing_comment() {
    let src = "flow F {\n  param c: int   # required\n}";
    let f = ok(src);
    let Member::Param(p) = &f.members[0] else {
        panic!("a param")
    };
    assert_eq!(&src[p.span.start..p.span.end], "param c: int");
    assert_eq!(&src[p.ty.span.start..p.ty.span.end], "int");
}

#[test]
fn run_shell_and_exec() {
    let f = ok(&wrap_step(
        "run \"echo \\\"hi\\\"\"\n run [\"python\", \"x.py\",]",
    ));
    let st = &steps(&f)[0].statements;
    assert!(
        matches!(&st[0].kind, StatementKind::Run(Command::Shell(s)) if s.value == "echo \"hi\"")
    );
    let StatementKind::Run(Command::Exec(args, _)) = &st[1].kind else {
        panic!("exec")
    };
    assert_eq!(
        args.iter().map(|a| a.value.as_str()).collect::<Vec<_>>(),
        ["python", "x.py"]
    );
}

#[test]
fn next_forms() {
    let Next::Targets(t) = first_next(&wrap_step("next a")) else {
        panic!()
    };
    assert_eq!(names(&t), ["a"]);
    let Next::Targets(t) = first_next(&wrap_step("next a, b ,c")) else {
        panic!()
    };
    assert_eq!(names(&t), ["a", "b", "c"]);
    assert!(matches!(first_next(&wrap_step("next body foreach items")),
        Next::Foreach { body, over } if body.name == "body" && over.name == "items"));
    let Next::Switch { on, cases } =
        first_next(&wrap_step("next switch m { \"a\" => x, \"b\" => y, }"))
    else {
        panic!()
    };
    assert_eq!((on.name.as_str(), cases.len()), ("m", 2));
}

#[test]
fn statements_are_not_limited_by_the_grammar() {
    let f = ok(&wrap_step("run \"a\" run \"b\" next x next y"));
    assert_eq!(steps(&f)[0].statements.len(), 4);
    let f = ok(&wrap_step(""));
    assert!(steps(&f)[0].statements.is_empty());
}

#[test]
fn decorators_with_and_without_args() {
    let src = "@project(name=\"p\",)\nflow F {\n with @catch\n @retry(times=2, backoff=2.0) @environment(vars={\"A\": \"1\",}) step s { run \"a\" }\n}";
    let f = ok(src);
    assert_eq!(
        f.decorators[0].args[0].value.to_json(),
        serde_json::json!("p")
    );
    let Member::With(w) = &f.members[0] else {
        panic!("with")
    };
    assert_eq!(&src[w.span.start..w.span.end], "with @catch");
    assert_eq!(&src[w.decorator.span.start..w.decorator.span.end], "@catch");
    let s = steps(&f)[0];
    assert_eq!(s.decorators.len(), 2);
    assert_eq!(&src[s.span.start..s.span.start + 6], "@retry");
    assert_eq!(
        s.decorators[1].args[0].value.to_json(),
        serde_json::json!({"A": "1"})
    );
}

#[test]
fn literals_of_every_kind() {
    let src = "@d(a=null, b=true, c=false, d=-3, e=1e3, f=\"s\", g=[], h={}, i=[1, [2]], j={\"k\": {\"l\": null}})\nflow F {}";
    let f = ok(src);
    let json: Vec<_> = f.decorators[0]
        .args
        .iter()
        .map(|a| a.value.to_json())
        .collect();
    let expected = serde_json::json!([null, true, false, -3, 1000.0, "s", [], {}, [1, [2]], {"k": {"l": null}}]);
    assert_eq!(serde_json::Value::Array(json), expected);
    assert_eq!(f.decorators[0].args[3].value.kind, LiteralKind::Int(-3));
    assert_eq!(
        f.decorators[0].args[4].value.kind,
        LiteralKind::Float(1000.0)
    );
}

#[test]
fn object_keeps_duplicate_keys_in_order() {
    let f = ok("@d(o={\"a\": 1, \"a\": 2})\nflow F {}");
    let LiteralKind::Object(entries) = &f.decorators[0].args[0].value.kind else {
        panic!("object")
    };
    assert_eq!(
        entries
            .iter()
            .map(|(k, _)| k.value.as_str())
            .collect::<Vec<_>>(),
        ["a", "a"]
    );
}

#[test]
fn exact_spans() {
    // 0         1         2         3         4
    // 0123456789012345678901234567890123456789012345
    let src = "flow Fx {\n step start { run \"a\\n\" next end }\n}";
    let f = ok(src);
    assert_eq!(f.name.span, Span::new(5, 7));
    let s = steps(&f)[0];
    assert_eq!(s.span, Span::new(11, 44));
    assert_eq!(s.name.span, Span::new(16, 21));
    let run = &s.statements[0];
    assert_eq!(run.span, Span::new(24, 33));
    let StatementKind::Run(Command::Shell(cmd)) = &run.kind else {
        panic!("shell")
    };
    assert_eq!((cmd.span, cmd.value.as_str()), (Span::new(28, 33), "a\n"));
    assert_eq!(s.statements[1].span, Span::new(34, 42));
}

#[test]
fn decorator_spans() {
    let src = "@retry(times = 2 ) @catch\nflow F {}";
    let f = ok(src);
    let d = &f.decorators[0];
    assert_eq!((d.span, d.name.span), (Span::new(0, 18), Span::new(1, 6)));
    assert_eq!(d.args[0].span, Span::new(7, 16));
    assert_eq!(d.args[0].value.span, Span::new(15, 16));
    assert_eq!(f.decorators[1].span, Span::new(19, 25));
}

#[test]
fn comments_and_whitespace_anywhere() {
    let src = "# head\n@a # c1\n( # c2\n x = 1 , # c3\n) flow # c4\n F { # c5\n step s # c6\n { run # c7\n \"a # not a comment\" } }";
    let f = ok(src);
    let StatementKind::Run(Command::Shell(s)) = &steps(&f)[0].statements[0].kind else {
        panic!("run")
    };
    assert_eq!(s.value, "a # not a comment");
}

#[test]
fn crlf_line_endings_parse_with_the_same_shape() {
    let crlf = SPEC_EXAMPLE.replace('\n', "\r\n");
    let f = ok(&crlf);
    assert_eq!(steps(&f).len(), 10);
    let end = steps(&f).into_iter().last().expect("a step");
    assert_eq!(&crlf[end.name.span.start..end.name.span.end], "end");
}

#[test]
fn type_names_are_not_reserved() {
    let f = ok("flow json {\n param int: str\n step str { run \"a\" next float }\n}");
    assert_eq!(f.name.name, "json");
}

#[test]
fn foreach_is_a_decorator_name_but_a_reserved_step_name() {
    assert!(parse("flow F { @foreach(mode=\"auto\") step s { run \"a\" } }").is_ok());
    assert_eq!(err("flow F { step foreach { run \"a\" } }").0, "E0105");
}

// ---- errors -------------------------------------------------------------------------

#[test]
fn e0101_names_what_was_expected() {
    let src = wrap_step("next switch m { \"a\" -> x }");
    let (code, msg, span) = err(&src);
    assert_eq!((code, msg.as_str()), ("E0101", "expected `=>`, found `-`"));
    assert_eq!(&src[span.start..span.end], "-");
}

#[test]
fn e0101_in_step_body() {
    let src = wrap_step("run \"a\" nxt b");
    let (_, msg, span) = err(&src);
    assert_eq!(msg, "expected `run`, `next` or `}`, found `nxt`");
    assert_eq!(&src[span.start..span.end], "nxt");
}

#[test]
fn e0101_after_next_target() {
    let (_, msg, _) = err(&wrap_step("next b c"));
    assert_eq!(
        msg,
        "expected `run`, `next`, `foreach`, `,` or `}`, found `c`"
    );
}

#[test]
fn e0101_in_flow_body() {
    let (_, msg, _) = err("flow F {\n stp start {}\n}");
    assert_eq!(
        msg,
        "expected a decorator, `step`, `param`, `with` or `}`, found `stp`"
    );
}

#[test]
fn e0101_at_end_of_file_is_an_empty_span_at_the_end() {
    let src = "flow F {\n step start { run \"a\" }\n";
    let (code, msg, span) = err(src);
    assert_eq!(code, "E0101");
    assert!(msg.ends_with("found end of file"), "{msg}");
    assert_eq!(span, Span::new(src.len(), src.len()));
}

#[test]
fn e0101_identifier_is_not_a_value() {
    let src = "@retry(times=three)\nflow F {}";
    let (_, msg, span) = err(src);
    assert_eq!(msg, "expected a value, found `three`");
    assert_eq!(span, Span::new(13, 18));
}

#[test]
fn e0101_empty_file_and_trailing_junk() {
    assert_eq!(
        err("").1,
        "expected a decorator or `flow`, found end of file"
    );
    assert_eq!(err("flow F {} x").1, "expected end of file, found `x`");
    assert_eq!(err("flow 1 {}").1, "expected a flow name, found `1`");
}

#[test]
fn e0101_stray_closing_brace_says_it_closes_nothing() {
    let diags = parse("flow F {}\n}").expect_err("expected an error");
    assert_eq!(diags[0].message, "expected end of file, found `}`");
    assert_eq!(
        diags[0].help.as_deref(),
        Some("this `}` closes nothing: the flow's `{` is already closed")
    );
}

#[test]
fn e0101_empty_switch() {
    let (_, msg, _) = err(&wrap_step("next switch x { }"));
    assert_eq!(msg, "expected a case (`\"value\" => step`), found `}`");
}

#[test]
fn e0101_param_type() {
    assert_eq!(err("flow F { param x int }").1, "expected `:`, found `int`");
    let (code, msg, _) = err("flow F { param x: 3 }");
    assert_eq!(
        (code, msg.as_str()),
        (
            "E0101",
            "expected a type (`str`, `int`, `float`, `bool` or `json`), found `3`"
        )
    );
}

#[test]
fn e0101_hints_for_common_slips() {
    let cases = [
        (wrap_step("next a b"), "the steps of a split are separated by commas: `next a, b`"),
        (wrap_step("next foreach items"), "a foreach is written `next BODY foreach NAME`"),
        (wrap_step("run python x.py"), "a command is a string, `run \"python train.py\"`, or a list of strings, `run [\"python\", \"train.py\"]`"),
        (wrap_step("run 'x'"), "strings are written in double quotes: `\"…\"`"),
        (wrap_step("run \"x\";"), "statements need no `;`"),
        ("Flow F {}".to_string(), "keywords are lower case: `flow`"),
        ("@retry(jitter=True)\nflow F {}".to_string(), "keywords are lower case: `true`"),
        ("@d(x=None)\nflow F {}".to_string(), "JSON's null is written `null`"),
        ("@retry(times: 2)\nflow F {}".to_string(), "decorator arguments are written `name=value`"),
        ("@d(x=abc)\nflow F {}".to_string(), "names are not values; a string is written in double quotes, e.g. `\"text\"`"),
        ("flow F {\n with retry\n}".to_string(), "a decorator starts with `@`: `@retry`"),
        ("@d(x={a: 1})\nflow F {}".to_string(), "object keys are strings in double quotes: `\"a\"`"),
        ("flow F {\n step s { run \"a\" }\n".to_string(), "the file ends before a closing `}`"),
    ];
    for (src, help) in cases {
        let diags = parse(&src).expect_err(&src);
        assert_eq!(diags[0].help.as_deref(), Some(help), "{src}");
    }
}

#[test]
fn e0101_without_a_slip_gives_the_expected_form() {
    let help = |src: &str| {
        let diags = parse(src).expect_err(src);
        diags[0].help.clone().unwrap_or_default()
    };
    let starts = |src: &str, form: &str| {
        let h = help(src);
        assert!(h.starts_with(form), "{src}: {h}");
    };
    starts(
        &wrap_step("next switch m { \"a\" -> end }"),
        "a switch case is written",
    );
    starts("flow F { step s { run \"a\" nxt } }", "a step is written");
    starts("flow F { param x int }", "a parameter is written");
    starts("@d(x={\"a\" 1})\nflow F {}", "an object is written");
    starts(
        "@retry(times 2)\nflow F {}",
        "decorator arguments are written",
    );
    starts("@1\nflow F {}", "a decorator is written");
    starts("flow F {\n with 3\n}", "`with` applies a decorator");
    starts(
        &wrap_step("next a foreach 3"),
        "`foreach` and `switch` name",
    );
    starts("@d(x=[1 2])\nflow F {}", "list items are separated");
    starts(&wrap_step("next 3"), "`next` names what follows");
    starts(
        "flow F { stp s {} }",
        "a flow holds `param`, `with` and `step`",
    );
    starts("flow F {} flow G {}", "a file holds one flow;");
    starts("flow F step", "a block opens with `{`");
    starts("", "a file holds one flow:");
}

#[test]
fn e0102_unterminated_string() {
    let src = wrap_step("run \"python a.py\n next end");
    let (code, msg, span) = err(&src);
    assert_eq!((code, msg.as_str()), ("E0102", "unterminated string"));
    assert_eq!(&src[span.start..span.end], "\"python a.py");
    let src = "flow F { step s { run \"a\\\"";
    assert_eq!(err(src).2, Span::new(22, src.len()));
}

#[test]
fn e0103_invalid_escape_is_collected() {
    let src = wrap_step("run \"a\\qb\" run \"\\x\"");
    let diags = parse(&src).expect_err("two bad escapes");
    assert_eq!(diags.len(), 2);
    assert_eq!(diags[0].code, "E0103");
    assert_eq!(diags[0].message, "invalid escape `\\q` in a string");
    let s = diags[0].position();
    assert_eq!(&src[s.start..s.end], "\\q");
}

#[test]
fn e0104_integer_out_of_range() {
    let src = "flow F { param n: int = 99999999999999999999 }";
    let (code, msg, span) = err(src);
    assert_eq!(
        (code, msg.as_str()),
        ("E0104", "integer `99999999999999999999` is out of range")
    );
    assert_eq!(&src[span.start..span.end], "99999999999999999999");
}

#[test]
fn e0105_reserved_keyword_reported_and_parsing_continues() {
    let src = "flow F { param with: int step run { run \"a\" next switch } }";
    let diags = parse(src).expect_err("keywords as names");
    let msgs: Vec<_> = diags.iter().map(|d| (d.code, d.message.as_str())).collect();
    assert_eq!(
        msgs,
        [
            (
                "E0105",
                "`with` is a reserved keyword and cannot be a parameter name"
            ),
            (
                "E0105",
                "`run` is a reserved keyword and cannot be a step name"
            ),
            (
                "E0105",
                "`switch` is a reserved keyword and cannot be a step name"
            ),
        ]
    );
    assert_eq!(diags[1].position(), Span::new(30, 33));
}

#[test]
fn e0106_invalid_number() {
    let src = "flow F { param n: int = 007 }";
    let (code, msg, span) = err(src);
    assert_eq!((code, msg.as_str()), ("E0106", "invalid number `007`"));
    assert_eq!(&src[span.start..span.end], "007");
}

#[test]
fn e0107_unknown_type_suggests() {
    let src = "flow F { param n: string }";
    let diags = parse(src).expect_err("unknown type");
    assert_eq!(
        (diags[0].code, diags[0].message.as_str()),
        ("E0107", "unknown parameter type `string`")
    );
    assert_eq!(
        diags[0].help.as_deref(),
        Some("a type with a similar name exists: `str`")
    );
}

#[test]
fn e0108_deep_nesting_is_refused_but_64_levels_parse() {
    let ok_depth = super::lexical::MAX_NESTING - 1; // `flow F {` takes one level
    let src = format!(
        "flow F {{ param p: json = {}{} }}",
        "[".repeat(ok_depth),
        "]".repeat(ok_depth)
    );
    assert!(parse(&src).is_ok());
    let deep = format!(
        "flow F {{ param p: json = {}{} }}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert_eq!(err(&deep).0, "E0108");
}

#[test]
fn every_code_is_documented_once() {
    let codes: Vec<_> = CODES.iter().map(|c| c.code).collect();
    assert_eq!(
        codes,
        ["E0101", "E0102", "E0103", "E0104", "E0105", "E0106", "E0107", "E0108"]
    );
}

#[test]
fn every_documented_example_raises_its_code() {
    for info in CODES {
        let diags = parse(info.example).expect_err(info.code);
        assert_eq!(diags[0].code, info.code, "{}", info.example);
    }
}

#[test]
fn every_error_fixture_raises_exactly_its_code() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/err");
    let mut seen = vec![];
    for entry in std::fs::read_dir(dir).expect("fixtures/err") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if !name.starts_with("E01") || !name.ends_with(".flow") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("readable fixture");
        assert!(src.starts_with('#'), "{name} starts with a comment");
        let diags = parse(&src).expect_err(&name);
        assert!(
            diags.iter().all(|d| name.starts_with(d.code)),
            "{name}: {diags:#?}"
        );
        seen.push(name[..5].to_string());
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen, CODES.iter().map(|c| c.code).collect::<Vec<_>>());
}

#[test]
fn every_ok_fixture_parses() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ok");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("fixtures/ok") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("flow") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("readable fixture");
        if let Err(diags) = parse(&src) {
            panic!("{}: {diags:#?}", path.display());
        }
        count += 1;
    }
    assert!(count >= 25, "only {count} valid fixtures");
}

/// Invalid fixtures of the later passes (every code but E01xx) must parse: their error is
/// semantic, and a parse error would hide it.
#[test]
fn semantic_error_fixtures_are_syntactically_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/err");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("fixtures/err") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.ends_with(".flow") || name.starts_with("E01") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("readable fixture");
        assert!(
            src.starts_with('#'),
            "{} starts with a comment",
            path.display()
        );
        if let Err(diags) = parse(&src) {
            panic!("{}: {diags:#?}", path.display());
        }
        count += 1;
    }
    assert!(count >= 40, "only {count} semantic error fixtures");
}

#[test]
fn recovery_reports_errors_in_several_members() {
    let src = "flow F {\n  param a int\n  step start { run \"a\" next b c }\n  step b { run 'x' }\n  step run { run \"a\" }\n}";
    let diags = parse(src).expect_err("several errors");
    let found: Vec<_> = diags
        .iter()
        .map(|d| (d.code, &src[d.position().start..d.position().end]))
        .collect();
    assert_eq!(
        found,
        [
            ("E0101", "int"),
            ("E0101", "c"),
            ("E0101", "'"),
            ("E0105", "run")
        ]
    );
}

#[test]
fn recovery_stops_at_an_unbalanced_member() {
    let src = "flow F {\n  step start { run \"a\" next b\n  step b { run \"a\" }\n}";
    let diags = parse(src).expect_err("missing brace");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(
        diags[0].message,
        "expected `run`, `next`, `foreach`, `,` or `}`, found `step`"
    );
    assert_eq!(
        diags[0].help.as_deref(),
        Some("the step before has no closing `}`")
    );
}

#[test]
fn recovery_is_bounded() {
    let src = format!("flow F {{\n{}}}", "  param a int\n".repeat(100));
    assert_eq!(
        parse(&src).expect_err("many errors").len(),
        MAX_SYNTAX_ERRORS
    );
}
