//! pest pairs → AST, and pest errors → diagnostics.
//!
//! The grammar (`grammar/flow.pest`) is lenient where a precise message beats a generic one:
//! names may be reserved keywords (E0105), a parameter type is any identifier (E0107), strings
//! accept any escape (E0103) and numbers any number-like run of characters (E0106, E0104).
//! The builder reports those and keeps going, so one file can yield several diagnostics. A
//! grammar error (E0101, E0102) stops pest; `recover` then skips the member holding it and
//! parses the rest again, so errors in later members are reported too.
//!
//! Reserved keywords: `flow param step run next foreach switch with true false null`. They
//! are rejected as flow, parameter, step, argument and artifact names, but not as decorator
//! names (the `@` marks those, and `@foreach` is a decorator). The type names
//! `str int float bool json` are not reserved: they have a meaning only after `param NAME:`.

mod errors;
mod lexical;
mod recover;

use super::ast;
use crate::diagnostics::{CodeInfo, Diagnostic};
use crate::span::Span;
use pest::iterators::Pair;
use pest::Parser as _;

/// The pest parser generated from `grammar/flow.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/flow.pest"]
struct FlowParser;

/// The reserved keywords of the language (spec, "Lexical rules").
pub const KEYWORDS: &[&str] = &[
    "flow", "param", "step", "run", "next", "foreach", "switch", "with", "true", "false", "null",
];

/// Codes raised by the parser (E01xx).
pub const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "E0101",
        title: "unexpected token",
        example: "flow F {\n    step start {\n        run \"a\"\n        next switch mode { \"x\" -> end }\n    }\n}",
        explanation: "The file does not follow the grammar of the flow language at this point. The \
message lists what may come there (for example `=>` between a switch case's value and its step). \
The grammar is in the language spec, section \"Grammar (EBNF)\".",
    },
    CodeInfo {
        code: "E0102",
        title: "unterminated string",
        example: "flow F {\n    step start {\n        run \"python a.py\n    }\n}",
        explanation: "A string starts with `\"` and must end with `\"` on the same line. A line \
break inside a string is written `\\n`; a `\"` inside a string is written `\\\"`.",
    },
    CodeInfo {
        code: "E0103",
        title: "invalid escape in a string",
        example: "flow F {\n    step start {\n        run \"echo \\d\"\n    }\n}",
        explanation: "Strings use the JSON escapes: `\\\"`, `\\\\`, `\\/`, `\\b`, `\\f`, `\\n`, `\\r`, \
`\\t` and `\\uXXXX` (four hexadecimal digits; a character outside the Basic Multilingual Plane is \
written as a surrogate pair `\\uD83D\\uDE00`). A backslash meant literally is written `\\\\`.",
    },
    CodeInfo {
        code: "E0104",
        title: "number out of range",
        example: "flow F {\n    param n: int = 99999999999999999999\n}",
        explanation: "An integer literal (no `.` and no exponent) must fit in a 64-bit signed \
integer (-9223372036854775808 to 9223372036854775807); any other number must fit in a 64-bit \
floating-point number.",
    },
    CodeInfo {
        code: "E0105",
        title: "reserved keyword used as a name",
        example: "flow F {\n    step run {\n        run \"a\"\n    }\n}",
        explanation: "The keywords `flow param step run next foreach switch with true false null` \
cannot name a flow, step, parameter, argument or artifact. Decorator names are exempt (`@foreach` \
is a decorator), and the type names `str int float bool json` are not reserved.",
    },
    CodeInfo {
        code: "E0106",
        title: "invalid number",
        example: "flow F {\n    param n: int = 007\n}",
        explanation: "Numbers are JSON numbers: an optional `-`, then `0` or digits not starting \
with `0`, then an optional fraction (`.` and digits) and an optional exponent (`e` or `E`, an \
optional sign, digits). `+1`, `.5`, `1.` and `0x10` are not numbers.",
    },
    CodeInfo {
        code: "E0107",
        title: "unknown parameter type",
        example: "flow F {\n    param name: string\n}",
        explanation: "A parameter's type is one of `str` (a JSON string), `int` (a number without \
fraction or exponent), `float` (any number), `bool` (`true` or `false`) and `json` (any JSON \
value).",
    },
    CodeInfo {
        code: "E0108",
        title: "brackets nested too deeply",
        example: "flow F {\n    param p: json = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n}",
        explanation: "Brackets (`[`, `{`, `(`) may nest at most 64 levels deep, counting the \
braces of the flow and its steps. Deeper literals are better kept in a file that the step reads.",
    },
];

/// Parses a whole `.flow` file.
///
/// Errors: every syntax error found, as E01xx diagnostics sorted by position (at least one
/// when `Err`). Token-level problems (E0103 to E0107) are all collected; after a grammar error
/// (E0101, E0102) the member holding it is skipped and the rest of the file is parsed again,
/// up to [`MAX_SYNTAX_ERRORS`] times.
pub fn parse(source: &str) -> Result<ast::File, Vec<Diagnostic>> {
    lexical::check_nesting(source).map_err(|d| vec![d])?;
    let mut diags = vec![];
    let mut text = std::borrow::Cow::Borrowed(source);
    for _ in 0..MAX_SYNTAX_ERRORS {
        match FlowParser::parse(Rule::file, &text) {
            Ok(mut pairs) => {
                let mut builder = Builder { diags: vec![] };
                let file = pairs.next().map(|p| builder.file(p, source.len()));
                diags.extend(builder.diags);
                match file {
                    Some(file) if diags.is_empty() => return Ok(file),
                    _ => break,
                }
            }
            Err(e) => {
                let diagnostic = errors::from_pest(&text, &e);
                let member = recover::member_at(&text, diagnostic.position().start);
                diags.push(diagnostic);
                match member {
                    Some(member) => text = recover::blank(&text, member).into(),
                    None => break,
                }
            }
        }
    }
    if diags.is_empty() {
        let end = Span::new(source.len(), source.len());
        diags.push(
            Diagnostic::error("E0101", "expected a flow")
                .with_primary(end, "expected a flow")
                .with_help(errors::FLOW),
        );
    }
    crate::diagnostics::sort(&mut diags);
    Err(diags)
}

/// The most grammar errors reported for one file; the file is parsed once more per error.
pub const MAX_SYNTAX_ERRORS: usize = 16;

/// The span of a pair without the whitespace and comments pest includes after an optional
/// trailing part: from its start to the end of its last inner pair.
fn span(pair: &Pair<'_, Rule>) -> Span {
    let start = pair.as_span().start();
    let end = match pair.clone().into_inner().last() {
        Some(last) => span(&last).end,
        None => pair.as_span().end(),
    };
    Span::new(start, end)
}

/// Builds the AST from pest pairs, collecting token-level diagnostics.
struct Builder {
    diags: Vec<Diagnostic>,
}

impl Builder {
    fn file(&mut self, pair: Pair<'_, Rule>, len: usize) -> ast::File {
        let mut file = ast::File {
            decorators: vec![],
            name: ast::Ident {
                name: String::new(),
                span: Span::default(),
            },
            members: vec![],
            span: Span::new(0, len),
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::decorator => file.decorators.push(self.decorator(p)),
                Rule::flow_name => file.name = self.name(&p, "a flow name"),
                Rule::param => file.members.push(ast::Member::Param(self.param(p))),
                Rule::with => file.members.push(ast::Member::With(self.with(p))),
                Rule::step => file.members.push(ast::Member::Step(self.step(p))),
                _ => {}
            }
        }
        file
    }

    /// An identifier in a name position; a reserved keyword is reported (E0105) and kept.
    fn name(&mut self, pair: &Pair<'_, Rule>, what: &str) -> ast::Ident {
        let ident = ast::Ident {
            name: pair.as_str().to_string(),
            span: span(pair),
        };
        if KEYWORDS.contains(&ident.name.as_str()) {
            self.diags.push(
                Diagnostic::error(
                    "E0105",
                    format!(
                        "`{}` is a reserved keyword and cannot be {what}",
                        ident.name
                    ),
                )
                .with_primary(ident.span, "reserved keyword")
                .with_help(format!("rename it, for example to `{}_`", ident.name)),
            );
        }
        ident
    }

    fn param(&mut self, pair: Pair<'_, Rule>) -> ast::Param {
        let span = span(&pair);
        let (mut name, mut ty, mut default, mut help) = (None, None, None, None);
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::param_name => name = Some(self.name(&p, "a parameter name")),
                Rule::type_name => ty = Some(self.type_name(&p)),
                Rule::literal => default = Some(self.literal(p)),
                Rule::help => help = Some(self.string(&p)),
                _ => {}
            }
        }
        ast::Param {
            name: name.unwrap_or_else(|| empty_ident(span)),
            ty: ty.unwrap_or(ast::TypeAnnotation {
                name: ast::TypeName::Json,
                span,
            }),
            default,
            help,
            span,
        }
    }

    /// A parameter type; an unknown one is reported (E0107) and read as `json`.
    fn type_name(&mut self, pair: &Pair<'_, Rule>) -> ast::TypeAnnotation {
        let (text, span) = (pair.as_str(), span(pair));
        if let Some(name) = ast::TypeName::ALL.into_iter().find(|t| t.as_str() == text) {
            return ast::TypeAnnotation { name, span };
        }
        let help = match crate::diagnostics::suggest(
            text,
            ast::TypeName::ALL.map(ast::TypeName::as_str),
        ) {
            Some(close) => format!("a type with a similar name exists: `{close}`"),
            None => "the types are `str`, `int`, `float`, `bool` and `json`".to_string(),
        };
        self.diags.push(
            Diagnostic::error("E0107", format!("unknown parameter type `{text}`"))
                .with_primary(span, "not a type")
                .with_help(help),
        );
        ast::TypeAnnotation {
            name: ast::TypeName::Json,
            span,
        }
    }

    fn with(&mut self, pair: Pair<'_, Rule>) -> ast::With {
        let span = span(&pair);
        let decorator = pair
            .into_inner()
            .find(|p| p.as_rule() == Rule::decorator)
            .map(|p| self.decorator(p));
        ast::With {
            decorator: decorator.unwrap_or_else(|| empty_decorator(span)),
            span,
        }
    }

    fn step(&mut self, pair: Pair<'_, Rule>) -> ast::Step {
        let span = span(&pair);
        let (mut decorators, mut name, mut statements) = (vec![], None, vec![]);
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::decorator => decorators.push(self.decorator(p)),
                Rule::step_name => name = Some(self.name(&p, "a step name")),
                Rule::run_stmt => statements.push(self.run(p)),
                Rule::next_stmt => statements.push(self.next(p)),
                _ => {}
            }
        }
        ast::Step {
            decorators,
            name: name.unwrap_or_else(|| empty_ident(span)),
            statements,
            span,
        }
    }

    fn run(&mut self, pair: Pair<'_, Rule>) -> ast::Statement {
        let span = span(&pair);
        let command = pair.into_inner().find_map(|p| match p.as_rule() {
            Rule::string => Some(ast::Command::Shell(self.string(&p))),
            Rule::string_list => {
                let list_span = self::span(&p);
                let items = p
                    .into_inner()
                    .filter(|s| s.as_rule() == Rule::string)
                    .map(|s| self.string(&s));
                Some(ast::Command::Exec(items.collect(), list_span))
            }
            _ => None,
        });
        let command = command.unwrap_or(ast::Command::Exec(vec![], span));
        ast::Statement {
            kind: ast::StatementKind::Run(command),
            span,
        }
    }

    fn next(&mut self, pair: Pair<'_, Rule>) -> ast::Statement {
        let span = span(&pair);
        let next = pair.into_inner().find_map(|p| match p.as_rule() {
            Rule::next_targets => Some(self.targets(p)),
            Rule::next_foreach => Some(self.foreach(p)),
            Rule::next_switch => Some(self.switch(p)),
            _ => None,
        });
        let next = next.unwrap_or(ast::Next::Targets(vec![]));
        ast::Statement {
            kind: ast::StatementKind::Next(next),
            span,
        }
    }

    fn targets(&mut self, pair: Pair<'_, Rule>) -> ast::Next {
        let targets = pair.into_inner().filter(|p| p.as_rule() == Rule::target);
        ast::Next::Targets(targets.map(|p| self.name(&p, "a step name")).collect())
    }

    fn foreach(&mut self, pair: Pair<'_, Rule>) -> ast::Next {
        let span = span(&pair);
        let (mut body, mut over) = (None, None);
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::target => body = Some(self.name(&p, "a step name")),
                Rule::artifact_name => over = Some(self.name(&p, "a parameter or artifact name")),
                _ => {}
            }
        }
        let body = body.unwrap_or_else(|| empty_ident(span));
        ast::Next::Foreach {
            body,
            over: over.unwrap_or_else(|| empty_ident(span)),
        }
    }

    fn switch(&mut self, pair: Pair<'_, Rule>) -> ast::Next {
        let span = span(&pair);
        let (mut on, mut cases) = (None, vec![]);
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::artifact_name => on = Some(self.name(&p, "a parameter or artifact name")),
                Rule::case => cases.push(self.case(p)),
                _ => {}
            }
        }
        ast::Next::Switch {
            on: on.unwrap_or_else(|| empty_ident(span)),
            cases,
        }
    }

    fn case(&mut self, pair: Pair<'_, Rule>) -> ast::Case {
        let span = span(&pair);
        let (mut value, mut target) = (None, None);
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::case_value => value = Some(self.string(&p)),
                Rule::target => target = Some(self.name(&p, "a step name")),
                _ => {}
            }
        }
        let value = value.unwrap_or(ast::StringLit {
            value: String::new(),
            span,
        });
        ast::Case {
            value,
            target: target.unwrap_or_else(|| empty_ident(span)),
            span,
        }
    }

    fn decorator(&mut self, pair: Pair<'_, Rule>) -> ast::Decorator {
        let span = span(&pair);
        let (mut name, mut args) = (None, vec![]);
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::decorator_name => {
                    name = Some(ast::Ident {
                        name: p.as_str().to_string(),
                        span: self::span(&p),
                    })
                }
                Rule::arg => args.push(self.arg(p)),
                _ => {}
            }
        }
        ast::Decorator {
            name: name.unwrap_or_else(|| empty_ident(span)),
            args,
            span,
        }
    }

    fn arg(&mut self, pair: Pair<'_, Rule>) -> ast::Arg {
        let span = span(&pair);
        let (mut name, mut value) = (None, None);
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::arg_name => name = Some(self.name(&p, "an argument name")),
                Rule::literal => value = Some(self.literal(p)),
                _ => {}
            }
        }
        let value = value.unwrap_or(ast::Literal {
            kind: ast::LiteralKind::Null,
            span,
        });
        ast::Arg {
            name: name.unwrap_or_else(|| empty_ident(span)),
            value,
            span,
        }
    }

    /// A `literal` pair (or any of its alternatives) as an AST literal.
    fn literal(&mut self, pair: Pair<'_, Rule>) -> ast::Literal {
        let span = span(&pair);
        let kind = match pair.as_rule() {
            Rule::literal => match pair.into_inner().next() {
                Some(inner) => return self.literal(inner),
                None => ast::LiteralKind::Null,
            },
            Rule::string => ast::LiteralKind::String(self.string(&pair).value),
            Rule::number => self.number(&pair),
            Rule::kw_true => ast::LiteralKind::Bool(true),
            Rule::kw_false => ast::LiteralKind::Bool(false),
            Rule::list => {
                let items = pair.into_inner().filter(|p| p.as_rule() == Rule::literal);
                ast::LiteralKind::List(items.map(|p| self.literal(p)).collect())
            }
            Rule::object => ast::LiteralKind::Object(self.entries(pair)),
            _ => ast::LiteralKind::Null,
        };
        ast::Literal { kind, span }
    }

    fn entries(&mut self, pair: Pair<'_, Rule>) -> Vec<(ast::StringLit, ast::Literal)> {
        let entries = pair.into_inner().filter(|p| p.as_rule() == Rule::entry);
        entries
            .map(|entry| {
                let span = span(&entry);
                let (mut key, mut value) = (None, None);
                for p in entry.into_inner() {
                    match p.as_rule() {
                        Rule::string => key = Some(self.string(&p)),
                        Rule::literal => value = Some(self.literal(p)),
                        _ => {}
                    }
                }
                let key = key.unwrap_or(ast::StringLit {
                    value: String::new(),
                    span,
                });
                (
                    key,
                    value.unwrap_or(ast::Literal {
                        kind: ast::LiteralKind::Null,
                        span,
                    }),
                )
            })
            .collect()
    }

    fn number(&mut self, pair: &Pair<'_, Rule>) -> ast::LiteralKind {
        match lexical::number(pair.as_str(), span(pair)) {
            Ok(lexical::Number::Int(i)) => ast::LiteralKind::Int(i),
            Ok(lexical::Number::Float(f)) => ast::LiteralKind::Float(f),
            Err(d) => {
                self.diags.push(d);
                ast::LiteralKind::Int(0)
            }
        }
    }

    /// A string token, decoded; bad escapes are reported (E0103) and dropped.
    fn string(&mut self, pair: &Pair<'_, Rule>) -> ast::StringLit {
        let span = span(pair);
        let value = lexical::decode_string(pair.as_str(), span).unwrap_or_else(|errs| {
            self.diags.extend(errs);
            String::new()
        });
        ast::StringLit { value, span }
    }
}

/// Placeholder for a part the grammar guarantees (never reached on a successful parse).
fn empty_ident(span: Span) -> ast::Ident {
    ast::Ident {
        name: String::new(),
        span: Span::new(span.start, span.start),
    }
}

fn empty_decorator(span: Span) -> ast::Decorator {
    ast::Decorator {
        name: empty_ident(span),
        args: vec![],
        span,
    }
}

#[cfg(test)]
mod tests;
