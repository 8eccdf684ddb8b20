//! JSONata tokens: turns expression text into a list of [`Token`]s with character offsets.
//!
//! Follows the JSONata 2.x grammar (docs.jsonata.org): string literals in single or double
//! quotes with JSON escapes, numbers, names (plain or back-quoted), `$variables`, operators,
//! `/* comments */` and regular expression literals (`/pattern/flags`, recognised where an
//! operand may start).

use super::error::JError;

/// One token of a JSONata expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A number literal (always a double, as in JSONata).
    Num(f64),
    /// A string literal with escapes resolved.
    Str(String),
    /// A field name (plain identifier or back-quoted name) or the keywords `and`, `or`, `in`,
    /// `true`, `false`, `null`, `function`, `λ`.
    Name(String),
    /// A `$name` variable reference; `$` alone is `""`, `$$` is `"$"`.
    Var(String),
    /// A regular expression literal: pattern and flags.
    Regex(String, String),
    /// An operator or punctuation, e.g. `.`, `:=`, `~>`, `!=`.
    Op(&'static str),
}

/// A token and the character offset where it starts (for error positions).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: usize,
}

/// Operators, longest first so that `:=` wins over `:`.
const OPS: [&str; 30] = [
    "..", ":=", "!=", ">=", "<=", "**", "~>", "?:", "??", ".", "[", "]", "{", "}", "(", ")", ",",
    "@", "#", ";", ":", "?", "+", "-", "*", "/", "%", "|", "=", "<",
];

/// Splits `src` into tokens.
///
/// Errors: `S0101` (unterminated string), `S0102` (number out of range), `S0105`
/// (unterminated quoted name), `S0106` (unterminated comment), `S0302` (unterminated regex),
/// `S0204` (unknown character).
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, JError> {
    let chars: Vec<char> = src.chars().collect();
    let mut lx = Lexer {
        chars,
        pos: 0,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    out: Vec<Token>,
}

impl Lexer {
    fn peek(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    fn push(&mut self, tok: Tok, pos: usize) {
        self.out.push(Token { tok, pos });
    }

    fn run(&mut self) -> Result<(), JError> {
        while let Some(c) = self.peek(0) {
            let start = self.pos;
            if c.is_whitespace() {
                self.pos += 1;
            } else if c == '/' && self.peek(1) == Some('*') {
                self.comment()?;
            } else if c == '/' && self.regex_allowed() {
                let tok = self.regex()?;
                self.push(tok, start);
            } else if c == '"' || c == '\'' {
                let tok = self.string(c)?;
                self.push(tok, start);
            } else if c == '`' {
                let tok = self.quoted_name()?;
                self.push(tok, start);
            } else if c.is_ascii_digit() {
                let tok = self.number()?;
                self.push(tok, start);
            } else if c == '$' {
                self.pos += 1;
                let name = self.ident();
                let name = if name.is_empty() && self.peek(0) == Some('$') {
                    self.pos += 1;
                    "$".to_string()
                } else {
                    name
                };
                self.push(Tok::Var(name), start);
            } else if let Some(op) = self.op() {
                self.pos += op.chars().count();
                self.push(Tok::Op(op), start);
            } else if is_name_char(c) {
                let name = self.ident();
                self.push(Tok::Name(name), start);
            } else {
                return Err(JError::new(
                    "S0204",
                    format!("Unknown operator: \"{c}\""),
                    start,
                ));
            }
        }
        Ok(())
    }

    fn op(&self) -> Option<&'static str> {
        OPS.iter()
            .copied()
            .find(|op| {
                op.chars()
                    .enumerate()
                    .all(|(i, oc)| self.peek(i) == Some(oc))
            })
            .or(match self.peek(0) {
                Some('>') => Some(">"),
                Some('&') => Some("&"),
                Some('^') => Some("^"),
                _ => None,
            })
    }

    /// A `/` starts a regex unless the previous token ends an operand.
    fn regex_allowed(&self) -> bool {
        match self.out.last().map(|t| &t.tok) {
            None => true,
            Some(Tok::Num(_) | Tok::Str(_) | Tok::Var(_) | Tok::Regex(..)) => false,
            Some(Tok::Name(n)) => matches!(n.as_str(), "and" | "or" | "in"),
            Some(Tok::Op(op)) => !matches!(*op, ")" | "]" | "}" | "*" | "%"),
        }
    }

    fn comment(&mut self) -> Result<(), JError> {
        let start = self.pos;
        self.pos += 2;
        while self.pos + 1 < self.chars.len() {
            if self.peek(0) == Some('*') && self.peek(1) == Some('/') {
                self.pos += 2;
                return Ok(());
            }
            self.pos += 1;
        }
        Err(JError::new("S0106", "Comment has no closing tag", start))
    }

    fn regex(&mut self) -> Result<Tok, JError> {
        let start = self.pos;
        self.pos += 1;
        let mut pattern = String::new();
        loop {
            match self.peek(0) {
                None => {
                    return Err(JError::new(
                        "S0302",
                        "No terminating / in regular expression",
                        start,
                    ))
                }
                Some('\\') => {
                    pattern.push('\\');
                    if let Some(n) = self.peek(1) {
                        pattern.push(n);
                    }
                    self.pos += 2;
                }
                Some('/') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => {
                    pattern.push(c);
                    self.pos += 1;
                }
            }
        }
        if pattern.is_empty() {
            return Err(JError::new(
                "S0301",
                "Empty regular expressions are not allowed",
                start,
            ));
        }
        let mut flags = String::new();
        while let Some(c @ ('i' | 'm')) = self.peek(0) {
            flags.push(c);
            self.pos += 1;
        }
        Ok(Tok::Regex(pattern, flags))
    }

    fn string(&mut self, quote: char) -> Result<Tok, JError> {
        let start = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek(0) {
                None => {
                    return Err(JError::new(
                        "S0101",
                        "String literal must be terminated by a matching quote",
                        start,
                    ))
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(Tok::Str(s));
                }
                Some('\\') => {
                    self.pos += 1;
                    s.push(self.escape()?);
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// Reads the escape after a backslash (JSON escapes, as JSONata).
    fn escape(&mut self) -> Result<char, JError> {
        let at = self.pos;
        let c = self.peek(0).ok_or_else(|| {
            JError::new(
                "S0101",
                "String literal must be terminated by a matching quote",
                at,
            )
        })?;
        self.pos += 1;
        Ok(match c {
            '"' | '\\' | '/' | '\'' => c,
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hex: String = (0..4).filter_map(|i| self.peek(i)).collect();
                let code = u32::from_str_radix(&hex, 16).map_err(|_| {
                    JError::new(
                        "S0104",
                        "The escape sequence \\u must be followed by 4 hex digits",
                        at,
                    )
                })?;
                self.pos += 4;
                char::from_u32(code).unwrap_or('\u{fffd}')
            }
            other => {
                return Err(JError::new(
                    "S0103",
                    format!("Unsupported escape sequence: \\{other}"),
                    at,
                ))
            }
        })
    }

    fn quoted_name(&mut self) -> Result<Tok, JError> {
        let start = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek(0) {
                None => {
                    return Err(JError::new(
                        "S0105",
                        "Quoted property name must be terminated with a backquote (`)",
                        start,
                    ))
                }
                Some('`') => {
                    self.pos += 1;
                    return Ok(Tok::Name(s));
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn number(&mut self) -> Result<Tok, JError> {
        let start = self.pos;
        self.take_digits();
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            self.take_digits();
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek(1), Some('+' | '-')));
            if self.peek(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1 + sign;
                self.take_digits();
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Tok::Num(n)),
            _ => Err(JError::new(
                "S0102",
                format!("Number out of range: {text}"),
                start,
            )),
        }
    }

    fn take_digits(&mut self) {
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while self.peek(0).is_some_and(is_name_char) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }
}

/// Characters allowed in an unquoted name: anything that is not an operator, quote or space.
fn is_name_char(c: char) -> bool {
    !c.is_whitespace() && !".[]{}(),@#;:?+-*/%|=<>!~^&$\"'`".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s)
            .map(|v| v.into_iter().map(|t| t.tok).collect())
            .unwrap_or_default()
    }

    #[test]
    fn paths_and_variables() {
        assert_eq!(
            toks("$states.input.x"),
            vec![
                Tok::Var("states".into()),
                Tok::Op("."),
                Tok::Name("input".into()),
                Tok::Op("."),
                Tok::Name("x".into())
            ]
        );
        assert_eq!(
            toks("$ $$"),
            vec![Tok::Var("".into()), Tok::Var("$".into())]
        );
    }

    #[test]
    fn strings_numbers_operators() {
        assert_eq!(
            toks(r#"'a\'b' "c\n" 1.5e2 := != ~>"#),
            vec![
                Tok::Str("a'b".into()),
                Tok::Str("c\n".into()),
                Tok::Num(150.0),
                Tok::Op(":="),
                Tok::Op("!="),
                Tok::Op("~>"),
            ]
        );
    }

    #[test]
    fn regex_versus_division() {
        assert_eq!(
            toks(r"f(/^a\$/i)")[2],
            Tok::Regex(r"^a\$".into(), "i".into())
        );
        assert_eq!(toks("a / 2")[1], Tok::Op("/"));
        assert_eq!(toks("/* c */ 1"), vec![Tok::Num(1.0)]);
    }

    #[test]
    fn errors_carry_codes() {
        assert_eq!(tokenize("'abc").map_err(|e| e.code), Err("S0101"));
        assert_eq!(tokenize("/* x").map_err(|e| e.code), Err("S0106"));
    }
}
