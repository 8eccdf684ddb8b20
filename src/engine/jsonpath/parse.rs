//! The JSONPath parser: text → [`Path`]. Jayway syntax: dot names, bracket names in single
//! or double quotes (`\'` escapes a quote; other backslashes are kept), indexes, slices,
//! unions, wildcards, `..` and `?(…)` filters.

use super::filter::Filter;
use super::{Path, PathError, Segment};
use std::sync::Arc;

/// Parses a whole path; it must start with `$`.
pub(super) fn parse(text: &str) -> Result<Path, PathError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: 0,
    };
    if !text.starts_with('$') {
        return Err(p.err("a path must start with '$'"));
    }
    p.pos = 1;
    let mut segments = Vec::new();
    while p.pos < p.s.len() {
        segments.push(p.segment()?);
    }
    Ok(Path { segments })
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, why: &str) -> PathError {
        PathError::Invalid(format!(
            "Invalid path '{}': {} (at character {})",
            self.text, why, self.pos
        ))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn segment(&mut self) -> Result<Segment, PathError> {
        match self.peek() {
            Some(b'.') => {
                self.pos += 1;
                if self.peek() == Some(b'.') {
                    self.pos += 1;
                    let inner = if self.peek() == Some(b'[') {
                        self.bracket()?
                    } else {
                        self.dot_name()?
                    };
                    return Ok(Segment::Descend(Box::new(inner)));
                }
                self.dot_name()
            }
            Some(b'[') => self.bracket(),
            _ => Err(self.err("expected '.' or '['")),
        }
    }

    fn dot_name(&mut self) -> Result<Segment, PathError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == b'.' || c == b'[' {
                break;
            }
            self.pos += 1;
        }
        let name = &self.text[start..self.pos];
        match name {
            "" => Err(self.err("empty property name")),
            n if n.ends_with(')') => {
                Err(self.err("path functions such as length() are not supported"))
            }
            "*" => Ok(Segment::Wildcard),
            _ => Ok(Segment::Child(name.to_string())),
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c == b' ' || c == b'\t') {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), PathError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    fn bracket(&mut self) -> Result<Segment, PathError> {
        self.pos += 1;
        self.skip_ws();
        let seg = match self.peek() {
            Some(b'*') => {
                self.pos += 1;
                Segment::Wildcard
            }
            Some(b'\'') | Some(b'"') => self.names()?,
            Some(b'?') => self.filter()?,
            _ => self.numbers()?,
        };
        self.expect(b']')?;
        Ok(seg)
    }

    fn names(&mut self) -> Result<Segment, PathError> {
        let mut names = vec![self.quoted()?];
        loop {
            self.skip_ws();
            if self.peek() != Some(b',') {
                break;
            }
            self.pos += 1;
            self.skip_ws();
            names.push(self.quoted()?);
        }
        Ok(if names.len() == 1 {
            Segment::Child(names.remove(0))
        } else {
            Segment::Names(names)
        })
    }

    /// A quoted name; `\` before the closing quote character escapes it.
    fn quoted(&mut self) -> Result<String, PathError> {
        let q = self
            .peek()
            .ok_or_else(|| self.err("expected a quoted name"))?;
        if q != b'\'' && q != b'"' {
            return Err(self.err("expected a quoted name"));
        }
        self.pos += 1;
        let mut out = String::new();
        let rest = &self.text[self.pos..];
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\\' && chars.peek().is_some_and(|(_, n)| *n as u32 == q as u32) {
                let (_, n) = chars.next().unwrap_or((i, c));
                out.push(n);
            } else if c as u32 == q as u32 {
                self.pos += i + 1;
                return Ok(out);
            } else {
                out.push(c);
            }
        }
        Err(self.err("unterminated quoted name"))
    }

    fn int(&mut self) -> Result<Option<i64>, PathError> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let t = &self.text[start..self.pos];
        if t.is_empty() {
            return Ok(None);
        }
        t.parse()
            .map(Some)
            .map_err(|_| self.err("expected an integer"))
    }

    fn numbers(&mut self) -> Result<Segment, PathError> {
        let first = self.int()?;
        self.skip_ws();
        match self.peek() {
            Some(b':') => self.slice(first),
            Some(b',') => {
                let mut all = vec![first.ok_or_else(|| self.err("expected an index"))?];
                while self.peek() == Some(b',') {
                    self.pos += 1;
                    all.push(self.int()?.ok_or_else(|| self.err("expected an index"))?);
                    self.skip_ws();
                }
                Ok(Segment::Indexes(all))
            }
            _ => first
                .map(Segment::Index)
                .ok_or_else(|| self.err("expected an index, name, '*' or filter")),
        }
    }

    fn slice(&mut self, start: Option<i64>) -> Result<Segment, PathError> {
        self.pos += 1;
        let end = self.int()?;
        self.skip_ws();
        let step = if self.peek() == Some(b':') {
            self.pos += 1;
            self.int()?
        } else {
            None
        };
        Ok(Segment::Slice(start, end, step))
    }

    fn filter(&mut self) -> Result<Segment, PathError> {
        self.pos += 1;
        self.expect(b'(')?;
        let start = self.pos;
        let mut depth = 1usize;
        let mut quote: Option<u8> = None;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match (quote, c) {
                (Some(q), b'\\') if self.peek() == Some(q) => self.pos += 1,
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, b'\'' | b'"') => quote = Some(c),
                (None, b'(') => depth += 1,
                (None, b')') => {
                    depth -= 1;
                    if depth == 0 {
                        let body = &self.text[start..self.pos - 1];
                        let f = Filter::parse(body).map_err(|e| self.err(&e))?;
                        return Ok(Segment::Filter(Arc::new(f)));
                    }
                }
                _ => {}
            }
        }
        Err(self.err("unterminated filter"))
    }
}
