//! Filter expressions inside `[?( … )]`: comparisons (`==`, `!=`, `<`, `<=`, `>`, `>=`,
//! `in`, `nin`), existence tests (`@.x`), `!`, `&&`, `||` and parentheses. Operands are
//! `@…` (the current element), `$…` (the document root), numbers, quoted strings, `true`,
//! `false`, `null` and JSON arrays. As in Jayway JsonPath, a comparison with a missing
//! operand is false.

use super::{compile, Path};
use serde_json::Value;
use std::cmp::Ordering;
use std::sync::Arc;

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `a || b`.
    Or(Box<Filter>, Box<Filter>),
    /// `a && b`.
    And(Box<Filter>, Box<Filter>),
    /// `!a`.
    Not(Box<Filter>),
    /// `@.x`: the operand exists (and, for a literal, is truthy).
    Exists(Operand),
    /// `lhs op rhs`.
    Compare(Operand, Op, Operand),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`: the left value is an element of the right array.
    In,
    /// `nin`: not `in`.
    Nin,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A path from the current element (`@`) or from the root (`$`).
    Path {
        /// True for `@`, false for `$`.
        relative: bool,
        /// The path, with its root written as `$`.
        path: Arc<Path>,
    },
    /// A literal value.
    Literal(Value),
}

impl Filter {
    /// Parses the text between `?(` and `)`. Errors are human-readable reasons.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut p = FParser { t: text, pos: 0 };
        let f = p.or()?;
        p.ws();
        if p.pos < text.len() {
            return Err(format!("unexpected '{}' in filter", &text[p.pos..]));
        }
        Ok(f)
    }

    /// True when the filter holds for `cur` (an element) in the document `root`.
    pub fn holds(&self, cur: &Value, root: &Value) -> bool {
        match self {
            Filter::Or(a, b) => a.holds(cur, root) || b.holds(cur, root),
            Filter::And(a, b) => a.holds(cur, root) && b.holds(cur, root),
            Filter::Not(a) => !a.holds(cur, root),
            Filter::Exists(o) => match o {
                Operand::Literal(v) => !matches!(v, Value::Null | Value::Bool(false)),
                _ => o.value(cur, root).is_some(),
            },
            Filter::Compare(l, op, r) => match (l.value(cur, root), r.value(cur, root)) {
                (Some(a), Some(b)) => compare(&a, *op, &b),
                _ => false,
            },
        }
    }
}

impl Operand {
    fn value(&self, cur: &Value, root: &Value) -> Option<Value> {
        match self {
            Operand::Literal(v) => Some(v.clone()),
            Operand::Path { relative, path } => {
                let base = if *relative { cur } else { root };
                path.query(base).ok()
            }
        }
    }
}

/// JSON equality with numbers compared by value (`1 == 1.0`), as Jayway filters and
/// `States.ArrayContains` compare.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn compare(a: &Value, op: Op, b: &Value) -> bool {
    match op {
        Op::Eq => json_eq(a, b),
        Op::Ne => !json_eq(a, b),
        Op::Lt => order(a, b) == Some(Ordering::Less),
        Op::Le => matches!(order(a, b), Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => order(a, b) == Some(Ordering::Greater),
        Op::Ge => matches!(order(a, b), Some(Ordering::Greater | Ordering::Equal)),
        Op::In => b
            .as_array()
            .is_some_and(|xs| xs.iter().any(|x| json_eq(a, x))),
        Op::Nin => !b
            .as_array()
            .is_some_and(|xs| xs.iter().any(|x| json_eq(a, x))),
    }
}

struct FParser<'a> {
    t: &'a str,
    pos: usize,
}

impl FParser<'_> {
    fn rest(&self) -> &str {
        &self.t[self.pos..]
    }

    fn ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.t.len() - trimmed.len();
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.ws();
        if self.rest().starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut l = self.and()?;
        while self.eat("||") {
            l = Filter::Or(Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut l = self.unary()?;
        while self.eat("&&") {
            l = Filter::And(Box::new(l), Box::new(self.unary()?));
        }
        Ok(l)
    }

    fn unary(&mut self) -> Result<Filter, String> {
        if self.eat("!") {
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let f = self.or()?;
            if !self.eat(")") {
                return Err("expected ')' in filter".into());
            }
            return Ok(f);
        }
        let l = self.operand()?;
        match self.op() {
            Some(op) => Ok(Filter::Compare(l, op, self.operand()?)),
            None => Ok(Filter::Exists(l)),
        }
    }

    fn op(&mut self) -> Option<Op> {
        const OPS: [(&str, Op); 8] = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("<", Op::Lt),
            (">", Op::Gt),
            ("nin ", Op::Nin),
            ("in ", Op::In),
        ];
        OPS.iter().find(|(t, _)| self.eat(t)).map(|(_, op)| *op)
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.ws();
        let rest = self.rest();
        let first = rest.chars().next().ok_or("expected an operand in filter")?;
        match first {
            '@' | '$' => self.path_operand(first == '@'),
            '\'' | '"' => self.string(first),
            '[' | '{' => self.json_literal(),
            _ => self.word(),
        }
    }

    fn path_operand(&mut self, relative: bool) -> Result<Operand, String> {
        let start = self.pos;
        self.pos += 1;
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        for (i, c) in self.t[self.pos..].char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '[') => depth += 1,
                (None, ']') => depth = depth.saturating_sub(1),
                (None, c) if depth == 0 && !(c.is_alphanumeric() || "._-*$".contains(c)) => {
                    self.pos += i;
                    return self.finish_path(start, relative);
                }
                _ => {}
            }
        }
        self.pos = self.t.len();
        self.finish_path(start, relative)
    }

    fn finish_path(&self, start: usize, relative: bool) -> Result<Operand, String> {
        let text = format!("${}", &self.t[start + 1..self.pos]);
        let path = compile(&text).map_err(|e| e.to_string())?;
        Ok(Operand::Path { relative, path })
    }

    fn string(&mut self, q: char) -> Result<Operand, String> {
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.t[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '\\' {
                if let Some((_, n)) = chars.next() {
                    out.push(n);
                }
            } else if c == q {
                self.pos += i + 1;
                return Ok(Operand::Literal(Value::String(out)));
            } else {
                out.push(c);
            }
        }
        Err("unterminated string in filter".into())
    }

    fn json_literal(&mut self) -> Result<Operand, String> {
        let mut de = serde_json::Deserializer::from_str(self.rest()).into_iter::<Value>();
        match de.next() {
            Some(Ok(v)) => {
                self.pos += de.byte_offset();
                Ok(Operand::Literal(v))
            }
            _ => Err("invalid JSON literal in filter".into()),
        }
    }

    fn word(&mut self) -> Result<Operand, String> {
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || "+-.".contains(c)))
            .unwrap_or(rest.len());
        let w = &rest[..end];
        let v: Value =
            serde_json::from_str(w).map_err(|_| format!("unexpected '{w}' in filter"))?;
        self.pos += end;
        Ok(Operand::Literal(v))
    }
}
