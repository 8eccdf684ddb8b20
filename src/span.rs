//! Byte-offset spans into a flow source file.

use serde::Serialize;

/// A half-open byte range `start..end` into the source text.
///
/// Every AST node and every IR item that came from the source carries one, so that
/// diagnostics about generated or merged items still point into the user's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
pub struct Span {
    /// First byte of the range.
    pub start: usize,
    /// One past the last byte of the range.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (bytes). `end` is clamped to be at least `start`.
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start,
            end: end.max(start),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True for a zero-length span (an insertion point).
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// A sub-span `offset..offset+len` relative to this span's start (used to point at one
    /// field inside a string literal, e.g. one cron field).
    pub fn sub(self, offset: usize, len: usize) -> Span {
        let start = (self.start + offset).min(self.end);
        Span::new(start, (start + len).min(self.end))
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        miette::SourceSpan::new(s.start.into(), s.len())
    }
}

/// Where a value in the IR came from: written on the item itself, inherited from a flow-level
/// `with` decorator, or given on the command line (`--with`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Origin {
    /// Written on the step (or flow) itself; the span is the decorator's.
    Own,
    /// Inherited from a `with` decorator; the span is that `with` decorator's.
    With,
    /// Given as `--with` on the command line; the span is empty (0..0).
    CommandLine,
}

/// A value with the span of the source text it came from and its origin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written (for `Origin::CommandLine`, an empty span).
    pub span: Span,
    /// How it reached this place.
    pub origin: Origin,
    /// For a decorator written in the source: the span of each argument's value, by
    /// argument name, so that a problem with one argument points at that value. Empty for
    /// `--with` decorators and for values that are not decorators.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<(String, Span)>,
}

impl<T> Spanned<T> {
    /// A value written at `span` on the item itself.
    pub fn own(value: T, span: Span) -> Self {
        Spanned {
            value,
            span,
            origin: Origin::Own,
            args: vec![],
        }
    }

    /// The span of argument `name`'s value when it was written on the item itself, else the
    /// span of the whole decorator (or `with` member).
    pub fn arg_span(&self, name: &str) -> Span {
        match self.origin {
            Origin::Own => self
                .args
                .iter()
                .find(|(n, _)| n == name)
                .map_or(self.span, |(_, s)| *s),
            Origin::With | Origin::CommandLine => self.span,
        }
    }
}
