//! pest errors → diagnostics. pest reports the rules it expected at the farthest position it
//! reached; [`expected_words`] is the one table that says each of them in words, and the
//! primary label marks the token found there (an empty span at the end of the file).

use super::Rule;
use crate::diagnostics::Diagnostic;
use crate::span::Span;
use pest::error::{Error, ErrorVariant, InputLocation};

/// Converts a pest error on `source` into one diagnostic: E0102 when an unterminated string
/// starts at the error position, else E0101 naming what was expected and what was found.
pub(super) fn from_pest(source: &str, err: &Error<Rule>) -> Diagnostic {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((start, _)) => start,
    }
    .min(source.len());
    if let Some(d) = unterminated_string(source, pos) {
        return d;
    }
    let rules: &[Rule] = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives,
        ErrorVariant::CustomError { .. } => &[],
    };
    // pest sorts the rules in grammar order; closing tokens read best last.
    let mut rules = rules.to_vec();
    rules.sort_by_key(|r| matches!(r, Rule::rbrace | Rule::rparen | Rule::rbracket | Rule::EOI));
    let mut words: Vec<&str> = vec![];
    for w in rules.iter().flat_map(|r| expected_words(*r)) {
        if !words.contains(w) {
            words.push(w);
        }
    }
    let span = token_at(source, pos);
    let found = describe(source, span);
    let (message, label) = if words.is_empty() {
        (format!("unexpected {found}"), "unexpected".to_string())
    } else {
        let expected = join_or(&words);
        (
            format!("expected {expected}, found {found}"),
            format!("expected {expected}"),
        )
    };
    let before = source.get(..span.start).unwrap_or("");
    let found = source.get(span.start..span.end).unwrap_or("");
    let help = hint(&rules, found, before).unwrap_or_else(|| grammar_help(&rules, before));
    Diagnostic::error("E0101", message)
        .with_primary(span, label)
        .with_help(help)
}

/// The form the grammar (`grammar/flow.pest`) expects where `expected` rules were wanted, with
/// a tiny example: the help of an E0101 that no [`hint`] for a common slip explains. The
/// most specific construct among `expected` wins; `before` (the source before the error)
/// tells an object entry's `:` from a parameter's.
fn grammar_help(expected: &[Rule], before: &str) -> String {
    let wants = |rules: &[Rule]| rules.iter().any(|r| expected.contains(r));
    let after_string = before.trim_end().ends_with('"');
    let form = if wants(&[Rule::arrow, Rule::case, Rule::case_value]) {
        "a switch case is written `\"value\" => step`: `next switch mode { \"fast\" => train, \"full\" => end }`"
    } else if wants(&[Rule::colon]) && after_string {
        OBJECT
    } else if wants(&[Rule::param_name, Rule::colon, Rule::type_name, Rule::help]) {
        "a parameter is written `param NAME: TYPE [= DEFAULT] [\"help\"]`: `param epochs: int = 10 \"passes over the data\"`"
    } else if wants(&[Rule::arg, Rule::arg_name, Rule::eq, Rule::rparen]) {
        "decorator arguments are written `name=value`, separated by commas: `@retry(times=3, backoff=2.0)`"
    } else if wants(&[Rule::decorator_name]) {
        "a decorator is written `@name` or `@name(argument=value, …)`: `@retry(times=3)`"
    } else if wants(&[Rule::decorator, Rule::at]) && !wants(&[Rule::step, Rule::kw_flow]) {
        "`with` applies a decorator to every step: `with @retry(times=2)`"
    } else if wants(&[Rule::artifact_name]) {
        "`foreach` and `switch` name a parameter or artifact: `next body foreach items`, `next switch mode { \"a\" => a }`"
    } else if wants(&[Rule::entry]) {
        OBJECT
    } else if wants(&[Rule::literal, Rule::list, Rule::object, Rule::number]) {
        "a value is written as in JSON: `\"text\"`, `3`, `0.5`, `true`, `null`, `[1, 2]` or `{\"key\": 1}`"
    } else if wants(&[Rule::rbracket]) {
        "list items are separated by commas and the list ends with `]`: `[\"us\", \"ca\"]`"
    } else if wants(&[Rule::string, Rule::string_list]) {
        "a command is a string or a list of strings: `run \"python train.py\"`, `run [\"python\", \"train.py\"]`"
    } else if wants(&[
        Rule::target,
        Rule::next_targets,
        Rule::next_switch,
        Rule::kw_foreach,
    ]) {
        "`next` names what follows: `next train`, a split `next a, b`, a foreach `next body foreach items` or a switch `next switch mode { \"x\" => a }`"
    } else if wants(&[
        Rule::step_name,
        Rule::run_stmt,
        Rule::kw_run,
        Rule::next_stmt,
        Rule::kw_next,
    ]) {
        "a step is written `step NAME { run \"command\" next … }`; a step without `next` ends the flow: `step end { run \"echo done\" }`"
    } else if wants(&[Rule::param, Rule::with, Rule::step, Rule::kw_step]) {
        "a flow holds `param`, `with` and `step` declarations: `flow Train { param epochs: int = 10  step start { run \"python train.py\" } }`"
    } else if wants(&[Rule::EOI]) {
        "a file holds one flow; nothing may follow its closing `}`"
    } else if wants(&[Rule::lbrace]) {
        "a block opens with `{`: `flow Name { … }`, `step name { … }`, `next switch mode { … }`"
    } else if wants(&[Rule::comma, Rule::rbrace]) {
        "items in braces are separated by commas, and every `{` needs a matching `}`"
    } else {
        FLOW
    };
    form.to_string()
}

/// The form of an object literal.
const OBJECT: &str =
    "an object is written `{\"key\": value, …}` with string keys: `{\"region\": \"eu\", \"retries\": 2}`";

/// The form of a whole flow file.
pub(super) const FLOW: &str =
    "a file holds one flow: `flow Name { step start { run \"python main.py\" } }`, optionally preceded by flow decorators such as `@schedule(daily=true)`";

/// Help for common slips (habits from Python, YAML or other languages), given the expected
/// rules, the text of the token found and the source before it.
fn hint(expected: &[Rule], found: &str, before: &str) -> Option<String> {
    let wants = |r: Rule| expected.contains(&r);
    let is_ident = found.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    let value = wants(Rule::literal) || wants(Rule::string);
    let after_foreach = before.trim_end().ends_with("foreach");
    let keyword = super::KEYWORDS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(found) && **k != found);
    if let Some(kw) = keyword {
        return Some(format!("keywords are lower case: `{kw}`"));
    }
    match found {
        "'" if value || wants(Rule::case_value) => Some("strings are written in double quotes: `\"…\"`".into()),
        "None" if value => Some("JSON's null is written `null`".into()),
        ":" if wants(Rule::eq) => Some("decorator arguments are written `name=value`".into()),
        ";" => Some("statements need no `;`".into()),
        "}" if wants(Rule::EOI) => Some("this `}` closes nothing: the flow's `{` is already closed".into()),
        "step" if wants(Rule::kw_run) && wants(Rule::rbrace) => Some("the step before has no closing `}`".into()),
        "" if wants(Rule::rbrace) => Some("the file ends before a closing `}`".into()),
        _ if is_ident && wants(Rule::string) && wants(Rule::lbracket) => Some(
            "a command is a string, `run \"python train.py\"`, or a list of strings, `run [\"python\", \"train.py\"]`".into(),
        ),
        _ if is_ident && wants(Rule::literal) => {
            Some("names are not values; a string is written in double quotes, e.g. `\"text\"`".into())
        }
        _ if is_ident && (wants(Rule::decorator) || wants(Rule::at)) && !wants(Rule::step) => {
            Some(format!("a decorator starts with `@`: `@{found}`"))
        }
        _ if is_ident && wants(Rule::string) && wants(Rule::rbrace) => {
            Some(format!("object keys are strings in double quotes: `\"{found}\"`"))
        }
        _ if is_ident && after_foreach => Some("a foreach is written `next BODY foreach NAME`".into()),
        _ if is_ident && wants(Rule::comma) && wants(Rule::kw_foreach) => {
            Some("the steps of a split are separated by commas: `next a, b`".into())
        }
        _ => None,
    }
}

/// What each rule pest may report as expected means, in words. Rules that pest cannot report
/// (silent or inner rules of atomic ones) and `SOI` map to nothing.
fn expected_words(rule: Rule) -> &'static [&'static str] {
    match rule {
        Rule::file => &["a decorator", "`flow`"],
        Rule::param | Rule::kw_param => &["`param`"],
        Rule::with | Rule::kw_with => &["`with`"],
        Rule::step => &["a decorator", "`step`"],
        Rule::help => &["a help string"],
        Rule::type_name => &["a type (`str`, `int`, `float`, `bool` or `json`)"],
        Rule::run_stmt | Rule::kw_run => &["`run`"],
        Rule::string_list => &["a list of strings"],
        Rule::next_stmt | Rule::kw_next => &["`next`"],
        Rule::next_switch | Rule::kw_switch => &["`switch`"],
        Rule::case | Rule::case_value => &["a case (`\"value\" => step`)"],
        Rule::next_foreach | Rule::next_targets | Rule::target | Rule::step_name => {
            &["a step name"]
        }
        Rule::decorator | Rule::at => &["a decorator"],
        Rule::arg => &["an argument (`name=value`)"],
        Rule::literal => &["a value"],
        Rule::list => &["a list"],
        Rule::object => &["an object"],
        Rule::entry => &["an object entry (`\"key\": value`)"],
        Rule::flow_name => &["a flow name"],
        Rule::param_name => &["a parameter name"],
        Rule::artifact_name => &["a parameter or artifact name"],
        Rule::decorator_name => &["a decorator name"],
        Rule::arg_name => &["an argument name"],
        Rule::string => &["a string"],
        Rule::number => &["a number"],
        Rule::kw_flow => &["`flow`"],
        Rule::kw_step => &["`step`"],
        Rule::kw_foreach => &["`foreach`"],
        Rule::kw_true => &["`true`"],
        Rule::kw_false => &["`false`"],
        Rule::kw_null => &["`null`"],
        Rule::lbrace => &["`{`"],
        Rule::rbrace => &["`}`"],
        Rule::lparen => &["`(`"],
        Rule::rparen => &["`)`"],
        Rule::lbracket => &["`[`"],
        Rule::rbracket => &["`]`"],
        Rule::comma => &["`,`"],
        Rule::colon => &["`:`"],
        Rule::eq => &["`=`"],
        Rule::arrow => &["`=>`"],
        Rule::EOI => &["end of file"],
        _ => &[],
    }
}

/// "a", "a or b", "a, b or c".
fn join_or(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The span of the token starting at `pos`: an identifier, a number, a string (up to its
/// closing quote or the end of the line), `=>`, or one character; empty at the end of file.
pub(super) fn token_at(source: &str, pos: usize) -> Span {
    let Some(rest) = source.get(pos..) else {
        return Span::new(source.len(), source.len());
    };
    let Some(first) = rest.chars().next() else {
        return Span::new(pos, pos);
    };
    let len = match first {
        c if c.is_ascii_alphanumeric() || c == '_' => {
            run_len(rest, |c| c.is_ascii_alphanumeric() || c == '_')
        }
        '-' | '+' | '.' if rest[1..].starts_with(|c: char| c.is_ascii_digit()) => {
            1 + run_len(&rest[1..], |c| c.is_ascii_alphanumeric() || c == '.')
        }
        '"' => string_token(rest).0,
        '=' if rest.starts_with("=>") => 2,
        c => c.len_utf8(),
    };
    Span::new(pos, pos + len)
}

fn run_len(s: &str, keep: impl Fn(char) -> bool) -> usize {
    s.find(|c: char| !keep(c)).unwrap_or(s.len())
}

/// The string token at the start of `s` (which starts with `"`): its length through the
/// closing quote, or up to the end of the line when it has none, and whether it is closed.
fn string_token(s: &str) -> (usize, bool) {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            '\n' | '\r' => return (i, false),
            '"' if !escaped => return (i + 1, true),
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
    }
    (s.len(), false)
}

/// The found token in words: "end of file", "`text`" (cut after 30 characters), or a
/// control character by its code point.
fn describe(source: &str, span: Span) -> String {
    let text = source.get(span.start..span.end).unwrap_or("");
    match text.chars().next() {
        None => "end of file".to_string(),
        Some(c) if c.is_control() || c == '`' => format!("character U+{:04X}", u32::from(c)),
        Some(_) if text.chars().count() > 30 => {
            format!("`{}…`", text.chars().take(30).collect::<String>())
        }
        Some(_) => format!("`{text}`"),
    }
}

/// E0102 when a string starting at `pos` has no closing quote on its line.
fn unterminated_string(source: &str, pos: usize) -> Option<Diagnostic> {
    let rest = source.get(pos..)?;
    if !rest.starts_with('"') {
        return None;
    }
    let (len, closed) = string_token(rest);
    if closed {
        return None;
    }
    Some(
        Diagnostic::error("E0102", "unterminated string")
            .with_primary(Span::new(pos, pos + len), "this string has no closing `\"`")
            .with_help("a string ends with `\"` on the line where it starts; a line break inside a string is written `\\n`"),
    )
}
