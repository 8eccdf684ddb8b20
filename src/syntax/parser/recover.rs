//! Error recovery at member level. pest stops at the first syntax error; to report errors in
//! later members too, the member holding the error (a `param`, a `with`, or a step with its
//! decorators) is blanked out (replaced by spaces, so offsets stay) and the file is parsed
//! again. Only a member whose brackets balance is blanked: otherwise its end is not known, and
//! blanking could invent errors that are not in the file.

use crate::span::Span;

/// What starts a member at the top level of the flow body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Param,
    With,
    At,
    Step,
}

/// The byte range of the member of the flow body that contains `pos`, when that member's
/// brackets balance and the flow body is closed after it.
pub(super) fn member_at(source: &str, pos: usize) -> Option<Span> {
    let (starts, body_end) = member_starts(source)?;
    let member = group(&starts, body_end)
        .into_iter()
        .find(|m| m.start <= pos && pos < m.end)?;
    balanced(source.get(member.start..member.end)?).then_some(member)
}

/// `source` with the characters of `span` replaced by spaces (line breaks kept, so lines and
/// byte offsets do not move).
pub(super) fn blank(source: &str, span: Span) -> String {
    let mut out = String::with_capacity(source.len());
    out.push_str(&source[..span.start]);
    for c in source[span.start..span.end].chars() {
        match c {
            '\n' | '\r' => out.push(c),
            _ => out.extend(std::iter::repeat_n(' ', c.len_utf8())),
        }
    }
    out.push_str(&source[span.end..]);
    out
}

/// A lexer just good enough to find brackets and words outside strings and comments: calls
/// `visit(offset, token)` for every bracket, `@` and word.
fn scan(source: &str, mut visit: impl FnMut(usize, &str) -> bool) {
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        i += 1;
        match bytes[start] {
            b'#' => i = line_end(bytes, i),
            b'"' => i = string_end(bytes, i),
            b if b.is_ascii_alphanumeric() || b == b'_' => {
                i = start
                    + bytes[start..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                        .count();
                if !visit(start, &source[start..i]) {
                    return;
                }
            }
            b'{' | b'}' | b'[' | b']' | b'(' | b')' | b'@' if !visit(start, &source[start..i]) => {
                return
            }
            _ => {}
        }
    }
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    from + bytes[from..]
        .iter()
        .take_while(|b| **b != b'\n' && **b != b'\r')
        .count()
}

/// Index just past the closing quote, or the line end of an unterminated string.
fn string_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            b'\\' if matches!(bytes.get(i + 1), Some(b'\n' | b'\r') | None) => return i + 1,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The member-starting tokens at the top level of the flow body, and the offset of the `}`
/// closing the body (`None` when the body is never closed).
fn member_starts(source: &str) -> Option<(Vec<(usize, Start)>, usize)> {
    let (mut starts, mut end) = (vec![], None);
    let (mut braces, mut others, mut in_body) = (0usize, 0usize, false);
    scan(source, |at, token| {
        let top = in_body && braces == 1 && others == 0;
        match token {
            "{" if braces == 0 && others == 0 => (braces, in_body) = (1, true),
            "{" => braces += 1,
            "}" if top => {
                end = Some(at);
                return false;
            }
            "}" => braces = braces.saturating_sub(1),
            "[" | "(" => others += 1,
            "]" | ")" => others = others.saturating_sub(1),
            "param" if top => starts.push((at, Start::Param)),
            "with" if top => starts.push((at, Start::With)),
            "step" if top => starts.push((at, Start::Step)),
            "@" if top => starts.push((at, Start::At)),
            _ => {}
        }
        true
    });
    end.map(|end| (starts, end))
}

/// Groups the start tokens into members: `with @d`, and decorators with the step they
/// precede, are one member each. A member ends where the next begins (or at `body_end`).
fn group(starts: &[(usize, Start)], body_end: usize) -> Vec<Span> {
    let (mut members, mut i) = (vec![], 0);
    while i < starts.len() {
        let (begin, kind) = starts[i];
        i += 1;
        let next_is = |i: usize, k: Start| starts.get(i).is_some_and(|s| s.1 == k);
        match kind {
            Start::With if next_is(i, Start::At) => i += 1,
            Start::At => {
                while next_is(i, Start::At) {
                    i += 1;
                }
                if next_is(i, Start::Step) {
                    i += 1;
                }
            }
            _ => {}
        }
        let end = starts.get(i).map_or(body_end, |s| s.0);
        members.push(Span::new(begin, end));
    }
    members
}

/// True when the brackets of `text` (outside strings and comments) close in order.
fn balanced(text: &str) -> bool {
    let (mut stack, mut ok) = (vec![], true);
    scan(text, |_, token| {
        match token {
            "{" | "[" | "(" => stack.push(token.to_string()),
            "}" | "]" | ")" => {
                let open = match token {
                    "}" => "{",
                    "]" => "[",
                    _ => "(",
                };
                ok = stack.pop().as_deref() == Some(open);
            }
            _ => {}
        }
        ok
    });
    ok && stack.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member_text(src: &str, at: &str) -> Option<String> {
        let pos = src.find(at).expect("marker in source");
        member_at(src, pos).map(|m| src[m.start..m.end].trim_end().to_string())
    }

    const SRC: &str = "@project(name=\"x\")\nflow F {\n  param a: int\n  with @retry(times={\"{\": 1})\n  @catch @retry\n  step s { run \"}\" next t }\n  step t { run \"a\" }\n}\n";

    #[test]
    fn finds_each_kind_of_member() {
        assert_eq!(member_text(SRC, "a: int").as_deref(), Some("param a: int"));
        assert_eq!(
            member_text(SRC, "times").as_deref(),
            Some("with @retry(times={\"{\": 1})")
        );
        assert_eq!(
            member_text(SRC, "next t").as_deref(),
            Some("@catch @retry\n  step s { run \"}\" next t }")
        );
        assert_eq!(
            member_text(SRC, "@catch").as_deref(),
            Some("@catch @retry\n  step s { run \"}\" next t }")
        );
        assert_eq!(
            member_text(SRC, "step t").as_deref(),
            Some("step t { run \"a\" }")
        );
    }

    #[test]
    fn no_member_outside_the_body_or_when_unbalanced() {
        assert_eq!(member_text(SRC, "project"), None);
        assert_eq!(
            member_text("flow F {\n step s { run \"a\" \n step t {}\n}", "step s"),
            None
        );
        assert_eq!(
            member_text("flow F {\n step s { run \"a\" }\n", "step s"),
            None
        );
        assert_eq!(
            member_text("flow F {\n step s { run [\"a\" }\n}", "step s"),
            None
        );
    }

    #[test]
    fn blank_keeps_offsets_and_lines() {
        let src = "ab\ncé\nd";
        let out = blank(src, Span::new(1, 6));
        assert_eq!(out, "a \n   \nd");
        assert_eq!(out.len(), src.len());
    }
}
