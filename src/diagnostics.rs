//! Diagnostics: errors and warnings as data, rendered late and in one place.
//!
//! Every diagnostic has a stable code (`flowc::E0101`), grouped by pass:
//!
//! | range  | pass                         |
//! |--------|------------------------------|
//! | E01xx  | syntax (parse)               |
//! | E02xx  | resolve (names, decorators, parameter types) |
//! | E03xx  | validate (graph rules, placement, ranges) |
//! | E04xx  | schedule (cron / rate / timezone) |
//! | E05xx  | budget (AWS Step Functions quotas) |
//! | E06xx  | command line and configuration (`--with`, `flowc.toml`) |
//! | W0xxx  | warnings (same grouping) |
//!
//! Each pass declares the codes it can raise in a `CODES` table of [`CodeInfo`]; [`all_codes`]
//! joins them for `flowc explain` and `docs/errors.md`.

use crate::span::Span;
use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Compilation continues; output is still produced.
    Warning,
    /// No output is produced; exit code 1.
    Error,
}

/// One labelled span of a diagnostic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Label {
    /// The span in the flow source.
    pub span: Span,
    /// Short text shown at the span (may be empty).
    pub message: String,
    /// The primary label marks the smallest useful span; others are context
    /// ("first defined here").
    pub primary: bool,
}

/// A user-facing problem found in a flow file or in the options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Stable code, e.g. `"E0301"`; rendered as `flowc::E0301`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// One-line message, lower case, no trailing period.
    pub message: String,
    /// Labels; the first primary one decides the sort position.
    pub labels: Vec<Label>,
    /// Help text, written without "you" (for example "did you mean `fit_a`?" is phrased
    /// "a step with a similar name exists: `fit_a`").
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with code `code` and `message`, no labels yet.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            labels: vec![],
            help: None,
        }
    }

    /// A warning with code `code` and `message`, no labels yet.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Warning,
            message: message.into(),
            labels: vec![],
            help: None,
        }
    }

    /// Adds the primary label.
    pub fn with_primary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    /// Adds a secondary label.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    /// Sets the help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Span of the first primary label (or of the first label; 0..0 when none), used to
    /// sort diagnostics by position.
    pub fn position(&self) -> Span {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
            .unwrap_or_default()
    }
}

/// Sorts diagnostics by source position, then code, so output is deterministic.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (a.position(), a.code, &a.message).cmp(&(b.position(), b.code, &b.message))
    });
}

/// "Did you mean" support: the candidate closest to `name` by Jaro-Winkler similarity, if
/// any is close enough (similarity ≥ 0.8) and different from `name`.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

/// Documentation of one diagnostic code, for `flowc explain CODE` and `docs/errors.md`.
#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    /// The code, e.g. `"E0301"`.
    pub code: &'static str,
    /// Short title, e.g. `"missing start step"`.
    pub title: &'static str,
    /// A tiny flow (or flow fragment) that triggers it.
    pub example: &'static str,
    /// What the rule is and how to fix the input.
    pub explanation: &'static str,
}

/// Every diagnostic code of every pass, in code order.
pub fn all_codes() -> Vec<CodeInfo> {
    let mut all: Vec<CodeInfo> = [
        crate::syntax::CODES,
        crate::passes::resolve::CODES,
        crate::passes::validate::CODES,
        crate::passes::schedule::CODES,
        crate::passes::budget::CODES,
        crate::options::CODES,
    ]
    .concat();
    all.sort_by_key(|c| c.code);
    all
}

/// A source file paired with its diagnostics, ready for miette to render.
#[derive(Debug)]
pub struct Report {
    /// The diagnostic.
    pub diagnostic: Diagnostic,
    /// File name and text for the snippet.
    pub source: miette::NamedSource<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("flowc::{}", self.diagnostic.code)))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        if self.diagnostic.labels.is_empty() {
            None
        } else {
            Some(&self.source)
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(self.diagnostic.labels.iter().map(|l| {
            let text = if l.message.is_empty() {
                None
            } else {
                Some(l.message.clone())
            };
            if l.primary {
                miette::LabeledSpan::new_primary_with_span(text, l.span)
            } else {
                miette::LabeledSpan::new_with_span(text, l.span)
            }
        })))
    }
}

/// Renders diagnostics as text without colour at `width` columns (for snapshots and
/// `NO_COLOR`), or with colour when `color` is true.
pub fn render_human(
    file_name: &str,
    source: &str,
    diags: &[Diagnostic],
    color: bool,
    width: usize,
) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(width);
    let mut out = String::new();
    for d in diags {
        let report = Report {
            diagnostic: d.clone(),
            source: miette::NamedSource::new(file_name, source.to_string()),
        };
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, &report);
    }
    out
}

/// One diagnostic as JSON for `--error-format json`: code, severity, message, help, and
/// labels with byte offsets plus 1-based line/column of each label start.
pub fn to_json(file_name: &str, source: &str, d: &Diagnostic) -> serde_json::Value {
    let labels: Vec<serde_json::Value> = d
        .labels
        .iter()
        .map(|l| {
            let (line, col) = line_col(source, l.span.start);
            serde_json::json!({
                "start": l.span.start, "end": l.span.end, "line": line, "column": col,
                "message": l.message, "primary": l.primary,
            })
        })
        .collect();
    serde_json::json!({
        "file": file_name,
        "code": format!("flowc::{}", d.code),
        "severity": d.severity,
        "message": d.message,
        "help": d.help,
        "labels": labels,
    })
}

/// 1-based line and column (in characters) of byte `offset` in `source`.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}
