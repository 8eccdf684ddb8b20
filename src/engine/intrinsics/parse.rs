//! Parser for intrinsic function calls: `States.Name(arg, …)` where an argument is a
//! string literal in single quotes (escapes `\'`, `\{`, `\}`, `\\`), a number, `true`,
//! `false`, `null`, a path (`$.x`, `$$.x`, `$name.x`) or a nested call.

use crate::engine::StatesError;

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function name without the `States.` prefix, e.g. `Format`.
    pub name: String,
    /// The arguments in order.
    pub args: Vec<Arg>,
}

/// One argument of an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A string literal: its value with escapes resolved, and its raw text between the
    /// quotes (`States.Format` needs the raw text to tell `\{` from a placeholder).
    Str {
        /// The literal's value.
        value: String,
        /// The text between the quotes, escapes kept.
        raw: String,
    },
    /// A number, boolean or null literal.
    Literal(serde_json::Value),
    /// A path: `$…`, `$$…` or `$name…`.
    Path(String),
    /// A nested call.
    Call(Box<Call>),
}

/// The character an escape `\c` in a string literal stands for: `\n`, `\t`, `\r` are
/// control characters; any other `c` (`'`, `{`, `}`, `\\`) stands for itself.
pub fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        other => other,
    }
}

fn invalid(expr: &str, why: &str) -> StatesError {
    StatesError::intrinsic(format!("Invalid intrinsic function call '{expr}': {why}"))
}

/// Parses a whole call. Errors: `States.IntrinsicFailure` naming what is wrong.
pub fn parse(expr: &str) -> Result<Call, StatesError> {
    let mut p = P { t: expr, pos: 0 };
    p.ws();
    let call = p.call().map_err(|why| invalid(expr, &why))?;
    p.ws();
    if p.pos != expr.len() {
        return Err(invalid(
            expr,
            &format!("unexpected text '{}'", &expr[p.pos..]),
        ));
    }
    Ok(call)
}

struct P<'a> {
    t: &'a str,
    pos: usize,
}

impl P<'_> {
    fn rest(&self) -> &str {
        &self.t[self.pos..]
    }

    fn ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    fn call(&mut self) -> Result<Call, String> {
        let rest = self.rest();
        if !rest.starts_with("States.") {
            return Err("expected a function name starting with 'States.'".into());
        }
        let name_len = rest[7..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len() - 7);
        let name = rest[7..7 + name_len].to_string();
        self.pos += 7 + name_len;
        self.ws();
        if !self.rest().starts_with('(') {
            return Err(format!("expected '(' after States.{name}"));
        }
        self.pos += 1;
        let args = self.args()?;
        Ok(Call { name, args })
    }

    fn args(&mut self) -> Result<Vec<Arg>, String> {
        let mut args = Vec::new();
        self.ws();
        if self.rest().starts_with(')') {
            self.pos += 1;
            return Ok(args);
        }
        loop {
            self.ws();
            args.push(self.arg()?);
            self.ws();
            match self.rest().chars().next() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(args);
                }
                _ => return Err("expected ',' or ')' after an argument".into()),
            }
        }
    }

    fn arg(&mut self) -> Result<Arg, String> {
        let rest = self.rest();
        match rest.chars().next() {
            Some('\'') => self.string(),
            Some('$') => Ok(Arg::Path(self.path())),
            Some(_) if rest.starts_with("States.") => Ok(Arg::Call(Box::new(self.call()?))),
            Some(_) => self.literal(),
            None => Err("missing argument".into()),
        }
    }

    fn string(&mut self) -> Result<Arg, String> {
        self.pos += 1;
        let start = self.pos;
        let mut value = String::new();
        let mut chars = self.t[start..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, n)) => value.push(unescape(n)),
                    None => break,
                },
                '\'' => {
                    self.pos = start + i + 1;
                    let raw = self.t[start..start + i].to_string();
                    return Ok(Arg::Str { value, raw });
                }
                c => value.push(c),
            }
        }
        Err("unterminated string literal".into())
    }

    /// A path runs to the next `,` or `)` outside brackets, parentheses and quotes.
    fn path(&mut self) -> String {
        let start = self.pos;
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        let mut end = self.t.len();
        for (i, c) in self.t[start..].char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '[' | '(') => depth += 1,
                (None, ']') => depth = depth.saturating_sub(1),
                (None, ')') if depth == 0 => {
                    end = start + i;
                    break;
                }
                (None, ')') => depth -= 1,
                (None, ',') if depth == 0 => {
                    end = start + i;
                    break;
                }
                _ => {}
            }
        }
        self.pos = end;
        self.t[start..end].trim_end().to_string()
    }

    fn literal(&mut self) -> Result<Arg, String> {
        let rest = self.rest();
        let len = rest.find([',', ')']).unwrap_or(rest.len());
        let word = rest[..len].trim_end();
        let v: serde_json::Value = match serde_json::from_str(word) {
            Ok(
                v @ (serde_json::Value::Number(_)
                | serde_json::Value::Bool(_)
                | serde_json::Value::Null),
            ) => v,
            _ => return Err(format!("unexpected argument '{word}'")),
        };
        self.pos += len;
        Ok(Arg::Literal(v))
    }
}
