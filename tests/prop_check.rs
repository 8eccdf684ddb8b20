//! Property tests of the pipeline (`flowc::check`, then `flowc::driver::build`): it never
//! panics, on any input, and every diagnostic label lies inside the source on character
//! boundaries (so that miette can render it), every diagnostic has a help line, and in a file
//! that parses, names and strings sit at their spans.
//! Inputs: arbitrary strings, strings over the language's own characters, and the spec example
//! with random characters inserted and deleted.

use flowc::diagnostics::Diagnostic;
use flowc::syntax::ast;
use proptest::prelude::*;

const SPEC_EXAMPLE: &str = include_str!("../fixtures/ok/spec_example.flow");

/// Characters that matter to the lexer, so that random text reaches deep into the grammar.
const ALPHABET: &[char] = &[
    '{', '}', '(', ')', '[', ']', ',', ':', '=', '>', '@', '"', '\\', '#', '\n', ' ', '-', '.',
    '0', '1', '9', 'e', 'u', 'a', '_', 'é', '😀', '\r', '\t',
];

/// Words of the language, inserted whole by the mutator.
const WORDS: &[&str] = &[
    "flow",
    "step",
    "param",
    "run",
    "next",
    "foreach",
    "switch",
    "with",
    "true",
    "null",
    "@retry",
    "=>",
    "\"x\"",
    "json",
    "int",
    "1e999",
    "99999999999999999999",
    "922337203685477580",
    "\"\\u00e9\"",
    "\"\\ud800\"",
    "start",
    "end",
];

/// Asserts the span invariants of every diagnostic of `src`, and that each has a help line.
fn assert_spans_valid(src: &str, diags: &[Diagnostic]) -> Result<(), TestCaseError> {
    for d in diags {
        prop_assert!(d.help.is_some(), "{} ({}) has no help", d.code, d.message);
        for l in &d.labels {
            let s = l.span;
            prop_assert!(
                s.start <= s.end && s.end <= src.len(),
                "{}: span {:?} outside 0..={}",
                d.code,
                s,
                src.len()
            );
            prop_assert!(
                src.is_char_boundary(s.start) && src.is_char_boundary(s.end),
                "{}: span {:?} splits a character",
                d.code,
                s
            );
        }
    }
    Ok(())
}

/// Every identifier's span covers exactly its name, and every string literal's span starts
/// and ends with a quote, in a file that parsed.
fn assert_ast_spans(src: &str, file: &ast::File) -> Result<(), TestCaseError> {
    let mut idents = vec![&file.name];
    let mut strings = vec![];
    let mut decorators: Vec<&ast::Decorator> = file.decorators.iter().collect();
    for member in &file.members {
        match member {
            ast::Member::Param(p) => {
                idents.push(&p.name);
                strings.extend(&p.help);
            }
            ast::Member::With(w) => decorators.push(&w.decorator),
            ast::Member::Step(s) => {
                idents.push(&s.name);
                decorators.extend(&s.decorators);
                for st in &s.statements {
                    statement_parts(st, &mut idents, &mut strings);
                }
            }
        }
    }
    for d in decorators {
        idents.push(&d.name);
        idents.extend(d.args.iter().map(|a| &a.name));
    }
    for id in idents {
        prop_assert_eq!(src.get(id.span.start..id.span.end), Some(id.name.as_str()));
    }
    for s in strings {
        let text = src.get(s.span.start..s.span.end).unwrap_or("");
        prop_assert!(
            text.len() >= 2 && text.starts_with('"') && text.ends_with('"'),
            "string span {:?}",
            s.span
        );
    }
    Ok(())
}

fn statement_parts<'a>(
    st: &'a ast::Statement,
    idents: &mut Vec<&'a ast::Ident>,
    strings: &mut Vec<&'a ast::StringLit>,
) {
    match &st.kind {
        ast::StatementKind::Run(ast::Command::Shell(s)) => strings.push(s),
        ast::StatementKind::Run(ast::Command::Exec(args, _)) => strings.extend(args),
        ast::StatementKind::Next(ast::Next::Targets(t)) => idents.extend(t),
        ast::StatementKind::Next(ast::Next::Foreach { body, over }) => idents.extend([body, over]),
        ast::StatementKind::Next(ast::Next::Switch { on, cases }) => {
            idents.push(on);
            for c in cases {
                idents.push(&c.target);
                strings.push(&c.value);
            }
        }
    }
}

fn check(src: &str) -> Result<(), TestCaseError> {
    let (_, diags) = flowc::check(src, &Default::default());
    match flowc::syntax::parse(src) {
        Ok(file) => assert_ast_spans(src, &file)?,
        Err(_) => prop_assert!(
            diags.iter().any(Diagnostic::is_error),
            "a parse failure yields an error"
        ),
    }
    assert_spans_valid(src, &diags)?;
    // The back half (budget, lower, ASL, rules, IAM) must not panic either.
    if let Err(diags) = flowc::driver::build(src, &Default::default()) {
        assert_spans_valid(src, &diags)?;
    }
    Ok(())
}

/// One edit of the mutator: insert a character or a word at a position, or delete a range.
#[derive(Debug, Clone)]
enum Edit {
    InsertChar(usize, char),
    InsertWord(usize, &'static str),
    Delete(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), prop::sample::select(ALPHABET)).prop_map(|(p, c)| Edit::InsertChar(p, c)),
        (any::<usize>(), prop::sample::select(WORDS)).prop_map(|(p, w)| Edit::InsertWord(p, w)),
        (any::<usize>(), 1usize..12).prop_map(|(p, n)| Edit::Delete(p, n)),
    ]
}

/// The char boundary at or before `pos % (len + 1)`.
fn boundary(s: &str, pos: usize) -> usize {
    let mut p = pos % (s.len() + 1);
    while !s.is_char_boundary(p) {
        p -= 1;
    }
    p
}

fn apply(src: &str, edits: &[Edit]) -> String {
    let mut s = src.to_string();
    for e in edits {
        match *e {
            Edit::InsertChar(p, c) => s.insert(boundary(&s, p), c),
            Edit::InsertWord(p, w) => s.insert_str(boundary(&s, p), w),
            Edit::Delete(p, n) => {
                let start = boundary(&s, p);
                let end = boundary(&s, start.saturating_add(n).min(s.len()));
                s.replace_range(start..end.max(start), "");
            }
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(src in any::<String>()) {
        check(&src)?;
    }

    #[test]
    fn language_alphabet_strings_never_panic(chars in prop::collection::vec(prop::sample::select(ALPHABET), 0..200)) {
        check(&chars.into_iter().collect::<String>())?;
    }

    #[test]
    fn mutated_spec_example_never_panics(edits in prop::collection::vec(edit(), 1..6)) {
        check(&apply(SPEC_EXAMPLE, &edits))?;
    }
}

#[test]
fn spec_example_checks_without_parse_errors() {
    let (_, diags) = flowc::check(SPEC_EXAMPLE, &Default::default());
    assert!(
        diags.iter().all(|d| !d.code.starts_with("E01")),
        "{diags:#?}"
    );
}
