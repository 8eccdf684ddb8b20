//! Token-level checks the grammar leaves lenient on purpose: JSON string escapes, JSON number
//! syntax and range, and the nesting depth of brackets (checked before pest runs, so that a
//! deeply nested literal cannot overflow the stack of the recursive-descent parser).

use crate::diagnostics::Diagnostic;
use crate::span::Span;

/// Deepest bracket nesting (`[`, `{`, `(` together) accepted in a file. A flow uses 3 or 4
/// levels; literals nested deeper than this are surely a mistake.
pub(super) const MAX_NESTING: usize = 64;

/// A number literal after its JSON syntax was checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Number {
    /// No `.` and no exponent; fits in an `i64`.
    Int(i64),
    /// Any other finite JSON number.
    Float(f64),
}

/// Decodes the JSON escapes of a string token `text` (with its quotes) found at `span`.
///
/// Errors: one E0103 diagnostic per invalid escape, each at the escape's own bytes.
pub(super) fn decode_string(text: &str, span: Span) -> Result<String, Vec<Diagnostic>> {
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let base = span.start + 1;
    let (mut out, mut errors) = (String::with_capacity(inner.len()), vec![]);
    let mut rest = inner.char_indices().peekable();
    while let Some((i, c)) = rest.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match escape(&inner[i..]) {
            Ok((decoded, len)) => {
                out.push(decoded);
                while rest.peek().is_some_and(|(j, _)| *j < i + len) {
                    rest.next();
                }
            }
            Err((len, why)) => {
                errors.push(bad_escape(
                    &inner[i..i + len],
                    Span::new(base + i, base + i + len),
                    why,
                ));
                while rest.peek().is_some_and(|(j, _)| *j < i + len) {
                    rest.next();
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Decodes the escape at the start of `s` (which starts with `\`): the character and the
/// escape's length in bytes, or the length of the bad escape and why it is bad.
fn escape(s: &str) -> Result<(char, usize), (usize, &'static str)> {
    let Some(c) = s[1..].chars().next() else {
        return Err((1, "a `\\` must be followed by an escape character"));
    };
    let simple = match c {
        '"' => Some('"'),
        '\\' => Some('\\'),
        '/' => Some('/'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        _ => None,
    };
    match (simple, c) {
        (Some(d), _) => Ok((d, 2)),
        (None, 'u') => unicode_escape(s),
        (None, _) => Err((1 + c.len_utf8(), "not a JSON escape")),
    }
}

/// Decodes `\uXXXX` (and a `\uXXXX\uXXXX` surrogate pair) at the start of `s`.
fn unicode_escape(s: &str) -> Result<(char, usize), (usize, &'static str)> {
    let first = hex4(s, 2).ok_or_else(|| (hex_len(s, 2), "`\\u` needs four hexadecimal digits"))?;
    if !(0xD800..0xDC00).contains(&first) {
        return char::from_u32(first)
            .map(|c| (c, 6))
            .ok_or((6, "a low surrogate needs a high surrogate before it"));
    }
    let low = s.get(6..8).filter(|p| *p == "\\u").and_then(|_| hex4(s, 8));
    match low {
        Some(low @ 0xDC00..=0xDFFF) => {
            let code = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
            char::from_u32(code)
                .map(|c| (c, 12))
                .ok_or((12, "not a Unicode character"))
        }
        _ => Err((
            6,
            "a high surrogate must be followed by a `\\uDC00`..`\\uDFFF` escape",
        )),
    }
}

/// The four hexadecimal digits at byte `at` of `s`, if they are there.
fn hex4(s: &str, at: usize) -> Option<u32> {
    let digits = s.get(at..at + 4)?;
    if digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        u32::from_str_radix(digits, 16).ok()
    } else {
        None
    }
}

/// Length of `\u` plus the (up to four) hexadecimal digits following it.
fn hex_len(s: &str, at: usize) -> usize {
    at + s.as_bytes()[at..]
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_hexdigit())
        .count()
}

fn bad_escape(text: &str, span: Span, why: &str) -> Diagnostic {
    Diagnostic::error("E0103", format!("invalid escape `{text}` in a string"))
        .with_primary(span, why)
        .with_help("the JSON escapes are `\\\"`, `\\\\`, `\\/`, `\\b`, `\\f`, `\\n`, `\\r`, `\\t` and `\\uXXXX`")
}

/// Checks a number token against the JSON number syntax and range.
///
/// Errors: E0106 for a malformed number, E0104 for an integer outside `i64` or a number too
/// large for an `f64`.
pub(super) fn number(text: &str, span: Span) -> Result<Number, Diagnostic> {
    if let Err(why) = json_number_syntax(text) {
        return Err(Diagnostic::error("E0106", format!("invalid number `{text}`"))
            .with_primary(span, why)
            .with_help("numbers are written as in JSON: an optional `-`, digits without leading zeros, an optional fraction (`.5`) and an optional exponent (`e3`)"));
    }
    if !text.contains(['.', 'e', 'E']) {
        return text.parse::<i64>().map(Number::Int).map_err(|_| {
            Diagnostic::error("E0104", format!("integer `{text}` is out of range"))
                .with_primary(span, "does not fit in a 64-bit signed integer")
                .with_help("integers range from -9223372036854775808 to 9223372036854775807")
        });
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(Number::Float(f)),
        _ => Err(
            Diagnostic::error("E0104", format!("number `{text}` is out of range"))
                .with_primary(span, "too large for a 64-bit floating-point number")
                .with_help("numbers must lie within ±1.7976931348623157e308"),
        ),
    }
}

/// Checks `text` against the JSON number grammar (RFC 8259, section 6); the error says what
/// is wrong.
fn json_number_syntax(text: &str) -> Result<(), &'static str> {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    if b.first() == Some(&b'+') {
        return Err("a number cannot start with `+`");
    }
    let digits = |from: usize| {
        b[from.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    match digits(i) {
        0 => return Err("digits are needed before the fraction"),
        n if n > 1 && b[i] == b'0' => return Err("leading zeros are not allowed"),
        n => i += n,
    }
    if b.get(i) == Some(&b'.') {
        match digits(i + 1) {
            0 => return Err("digits are needed after `.`"),
            n => i += 1 + n,
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1 + usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        match digits(i) {
            0 => return Err("digits are needed in the exponent"),
            n => i += n,
        }
    }
    if i == b.len() {
        Ok(())
    } else {
        Err("unexpected characters in a number")
    }
}

/// The first bracket that opens nesting level `MAX_NESTING + 1`, outside strings and comments.
///
/// Errors: E0108 at that bracket.
pub(super) fn check_nesting(source: &str) -> Result<(), Diagnostic> {
    let (mut depth, mut chars) = (0usize, source.char_indices());
    while let Some((i, c)) = chars.next() {
        match c {
            '#' => skip_line(&mut chars),
            '"' => skip_string(&mut chars),
            '[' | '{' | '(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(Diagnostic::error("E0108", format!("brackets nested more than {MAX_NESTING} levels deep"))
                        .with_primary(Span::new(i, i + 1), "too deep")
                        .with_help("flatten the literal; deeply nested values are better read from a file by the step"));
                }
            }
            ']' | '}' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn skip_line(chars: &mut std::str::CharIndices<'_>) {
    for (_, c) in chars.by_ref() {
        if c == '\n' || c == '\r' {
            return;
        }
    }
}

/// Skips to just after the closing quote, or to the line end of an unterminated string.
fn skip_string(chars: &mut std::str::CharIndices<'_>) {
    while let Some((_, c)) = chars.next() {
        match c {
            '"' | '\n' | '\r' => return,
            '\\' => {
                if matches!(chars.next(), Some((_, '\n' | '\r')) | None) {
                    return;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Result<String, Vec<Diagnostic>> {
        decode_string(s, Span::new(10, 10 + s.len()))
    }

    #[test]
    fn decodes_every_json_escape() {
        let s = r#""a\"b\\c\/d\be\ff\ng\rh\ti\u00e9\ud83d\ude00""#;
        assert_eq!(dec(s).unwrap(), "a\"b\\c/d\u{8}e\u{c}f\ng\rh\tié😀");
    }

    #[test]
    fn keeps_non_ascii_text() {
        assert_eq!(dec("\"größe ✓\"").unwrap(), "größe ✓");
    }

    #[test]
    fn bad_escapes_point_at_the_escape() {
        let errs = dec(r#""ab\qc\u12g""#).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].code, "E0103");
        assert_eq!(errs[0].message, "invalid escape `\\q` in a string");
        assert_eq!(errs[0].labels[0].span, Span::new(13, 15));
        assert_eq!(errs[1].message, "invalid escape `\\u12` in a string");
        assert_eq!(errs[1].labels[0].span, Span::new(16, 20));
    }

    #[test]
    fn escape_of_multibyte_char_keeps_char_boundary() {
        let errs = dec("\"\\é\"").unwrap_err();
        assert_eq!(errs[0].labels[0].span, Span::new(11, 14));
    }

    #[test]
    fn lone_surrogates_are_rejected() {
        assert_eq!(dec(r#""\ud800x""#).unwrap_err()[0].code, "E0103");
        assert_eq!(dec(r#""\udc00""#).unwrap_err()[0].code, "E0103");
    }

    #[test]
    fn numbers_follow_json() {
        let sp = Span::new(0, 1);
        assert_eq!(number("0", sp).unwrap(), Number::Int(0));
        assert_eq!(number("-12", sp).unwrap(), Number::Int(-12));
        assert_eq!(number("2.5", sp).unwrap(), Number::Float(2.5));
        assert_eq!(number("1e3", sp).unwrap(), Number::Float(1000.0));
        assert_eq!(
            number("-9223372036854775808", sp).unwrap(),
            Number::Int(i64::MIN)
        );
        for bad in ["01", "+1", "1.", ".5", "1e", "1x", "-", "1.2.3", "0x10"] {
            assert_eq!(number(bad, sp).unwrap_err().code, "E0106", "{bad}");
        }
        assert_eq!(number("9223372036854775808", sp).unwrap_err().code, "E0104");
        assert_eq!(number("1e999", sp).unwrap_err().code, "E0104");
    }

    #[test]
    fn nesting_ignores_strings_and_comments() {
        let deep = "[".repeat(MAX_NESTING + 1);
        assert!(check_nesting(&format!("\"{deep}\"\n# {deep}\n")).is_ok());
        let err = check_nesting(&format!("x = {deep}")).unwrap_err();
        assert_eq!(err.code, "E0108");
        assert_eq!(
            err.labels[0].span,
            Span::new(4 + MAX_NESTING, 5 + MAX_NESTING)
        );
    }
}
