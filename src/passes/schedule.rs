//! schedule: AWS EventBridge cron and rate expressions, and schedule time zones.
//!
//! After this pass, `flow.decorators.schedule` (if any) holds an expression that EventBridge
//! (`PutRule`) and EventBridge Scheduler (`CreateSchedule`) accept, and a time zone that is an
//! IANA name. [`expression`] turns it into the `cron(…)` / `rate(…)` text the back end emits.
//!
//! Rules follow the AWS EventBridge user guide, "Cron expressions reference" and "Rate
//! expressions reference":
//!
//! | field        | values          | wildcards          |
//! |--------------|-----------------|--------------------|
//! | minutes      | 0-59            | `, - * /`          |
//! | hours        | 0-23            | `, - * /`          |
//! | day-of-month | 1-31            | `, - * ? / L W`    |
//! | month        | 1-12 or JAN-DEC | `, - * /`          |
//! | day-of-week  | 1-7 or SUN-SAT  | `, - * ? L #`      |
//! | year         | 1970-2199       | `, - * /`          |
//!
//! plus: exactly one of day-of-month and day-of-week is `?`; a `#` field holds one expression
//! only (`3#1,6#3` is invalid). Where AWS is silent, flowc is strict rather than emit something
//! AWS may reject at deploy time: `L`, `W` and `#` forms stand alone in their field, and a
//! range must not run backwards (`FRI-MON`).

use crate::diagnostics::{suggest, CodeInfo, Diagnostic};
use crate::ir;
use crate::span::{Span, Spanned};

/// Codes raised by schedule (E04xx).
pub const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "E0401",
        title: "cron expression does not have six fields",
        example: "@schedule(cron=\"0 10 * * *\")",
        explanation: "An EventBridge cron expression has six fields separated by spaces: \
`minutes hours day-of-month month day-of-week year`. A five-field Unix cron needs a year field \
(`*`) and `?` in day-of-month or day-of-week: `0 10 * * *` becomes `0 10 * * ? *`. A seven-field \
Quartz cron starts with a seconds field, which EventBridge does not have. Write the fields only: \
flowc adds the `cron(…)` around them.",
    },
    CodeInfo {
        code: "E0402",
        title: "malformed cron field",
        example: "@schedule(cron=\"0 10 ? * 1/2 *\")",
        explanation:
            "Each field is `*`, a value, a range `low-high`, an increment `start/step`, or \
a list of these separated by `,`. `?` is allowed only in day-of-month and day-of-week; `L` only \
in day-of-month (`L`, `LW`) and day-of-week (`L`, `6L`); `W` only in day-of-month (`3W`); `#` only \
in day-of-week (`3#2`, the second Tuesday); `/` not in day-of-week (AWS EventBridge cron \
reference). Ranges go from low to high.",
    },
    CodeInfo {
        code: "E0403",
        title: "cron value out of range",
        example: "@schedule(cron=\"0 24 * * ? *\")",
        explanation: "Values are limited per field: minutes 0-59, hours 0-23, day-of-month 1-31, \
month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT (1 is Sunday), year 1970-2199. The `n` of \
`day#n` is 1-5. An increment's step is at least 1 and at most the field's number of values.",
    },
    CodeInfo {
        code: "E0404",
        title: "day-of-month and day-of-week conflict",
        example: "@schedule(cron=\"0 10 * * MON *\")",
        explanation: "EventBridge cannot combine day-of-month and day-of-week in one expression: \
exactly one of the two must be `?`. Use `0 10 * * ? *` for every day, `0 10 ? * MON *` for \
Mondays, `0 10 1 * ? *` for the first of every month.",
    },
    CodeInfo {
        code: "E0405",
        title: "malformed rate expression",
        example: "@schedule(rate=\"5 mins\")",
        explanation: "A rate is `VALUE UNIT`: a positive whole number and one of `minute`, \
`minutes`, `hour`, `hours`, `day`, `days` (AWS EventBridge rate expressions reference). Write it \
without `rate(…)`: flowc adds it.",
    },
    CodeInfo {
        code: "E0406",
        title: "rate unit does not agree with the value",
        example: "@schedule(rate=\"1 hours\")",
        explanation: "AWS requires a singular unit when the value is 1 and a plural unit \
otherwise: `1 hour` and `5 hours` are valid, `1 hours` and `5 hour` are not.",
    },
    CodeInfo {
        code: "E0407",
        title: "unknown time zone",
        example: "@schedule(daily=true, timezone=\"Europe/Pari\")",
        explanation: "`timezone` is an IANA time zone name such as `Europe/Paris`, \
`America/New_York` or `UTC` (names are case-sensitive). EventBridge Scheduler evaluates the \
expression in that zone, daylight saving time included.",
    },
];

/// The EventBridge cron field order, shown in every cron help text.
pub const FIELD_ORDER: &str = "minutes hours day-of-month month day-of-week year";

/// Checks the flow's `@schedule`, if any: the cron or rate expression and the time zone.
///
/// Errors: E0401-E0404 for cron, E0405-E0406 for rate, E0407 for the time zone. Every problem
/// found is reported (one per field at most).
pub fn check(flow: &ir::Flow, diags: &mut Vec<Diagnostic>) {
    let Some(schedule) = &flow.decorators.schedule else {
        return;
    };
    match &schedule.value.kind {
        ir::ScheduleKind::Cron(text) => check_cron(&Literal::of(text), diags),
        ir::ScheduleKind::Rate(text) => check_rate(&Literal::of(text), diags),
    }
    if let Some(tz) = &schedule.value.timezone {
        check_timezone(tz, diags);
    }
}

/// The schedule expression as EventBridge takes it (`ScheduleExpression`): `cron(0 10 * * ? *)`
/// or `rate(1 hour)`, with runs of white space collapsed to one space. Meaningful only for a
/// schedule that [`check`] accepted.
pub fn expression(kind: &ir::ScheduleKind) -> String {
    let (func, text) = match kind {
        ir::ScheduleKind::Cron(t) => ("cron", &t.value),
        ir::ScheduleKind::Rate(t) => ("rate", &t.value),
    };
    format!(
        "{func}({})",
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

/// A string value and how to map byte offsets in it to source spans.
struct Literal<'a> {
    text: &'a str,
    span: Span,
    /// True when `span` is exactly the quoted literal (`"` + text + `"`), so offsets map 1:1.
    exact: bool,
}

impl<'a> Literal<'a> {
    fn of(s: &'a Spanned<String>) -> Self {
        Literal {
            text: &s.value,
            span: s.span,
            exact: s.span.len() == s.value.len() + 2,
        }
    }

    /// The source span of `len` bytes at `offset` in the text, or the whole span when the text
    /// does not map 1:1 (escapes, or a value generated from `hourly=true` and the like).
    fn at(&self, offset: usize, len: usize) -> Span {
        if self.exact {
            self.span.sub(1 + offset, len)
        } else {
            self.span
        }
    }
}

/// White-space separated words with their byte offsets.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = vec![];
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// cron

/// What one cron field accepts.
struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names standing for `min`, `min + 1`, … (JAN-DEC, SUN-SAT).
    names: &'static [&'static str],
    /// The special characters allowed besides digits and names.
    wildcards: &'static str,
}

const FIELDS: [FieldSpec; 6] = [
    FieldSpec {
        name: "minutes",
        min: 0,
        max: 59,
        names: &[],
        wildcards: ",-*/",
    },
    FieldSpec {
        name: "hours",
        min: 0,
        max: 23,
        names: &[],
        wildcards: ",-*/",
    },
    FieldSpec {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
        wildcards: ",-*?/LW",
    },
    FieldSpec {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
        wildcards: ",-*/",
    },
    FieldSpec {
        name: "day-of-week",
        min: 1,
        max: 7,
        names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
        wildcards: ",-*?L#",
    },
    FieldSpec {
        name: "year",
        min: 1970,
        max: 2199,
        names: &[],
        wildcards: ",-*/",
    },
];

const DOM: usize = 2;
const DOW: usize = 4;

impl FieldSpec {
    /// "1-7 or SUN-SAT".
    fn values(&self) -> String {
        match (self.names.first(), self.names.last()) {
            (Some(a), Some(b)) => format!("{}-{} or {a}-{b}", self.min, self.max),
            _ => format!("{}-{}", self.min, self.max),
        }
    }

    /// The help shown with every error about this field.
    fn help(&self) -> String {
        let wild: Vec<String> = self.wildcards.chars().map(|c| format!("`{c}`")).collect();
        format!(
            "EventBridge cron fields are `{FIELD_ORDER}`; {} takes {} and the wildcards {}",
            self.name,
            self.values(),
            wild.join(" ")
        )
    }
}

/// One cron field's text and where it sits in the literal.
struct Field<'l, 'a> {
    spec: &'static FieldSpec,
    text: &'a str,
    offset: usize,
    lit: &'l Literal<'a>,
}

impl Field<'_, '_> {
    /// Span of `len` bytes at `offset` within this field.
    fn at(&self, offset: usize, len: usize) -> Span {
        self.lit.at(self.offset + offset, len)
    }

    /// An error with this field's help, labelled at `offset..offset+len` of the field.
    fn error(
        &self,
        code: &'static str,
        msg: String,
        offset: usize,
        len: usize,
        label: &str,
    ) -> Diagnostic {
        Diagnostic::error(code, msg)
            .with_primary(self.at(offset, len), label)
            .with_help(self.spec.help())
    }

    fn malformed(&self, msg: String, offset: usize, len: usize) -> Diagnostic {
        self.error(
            "E0402",
            msg,
            offset,
            len,
            &format!("in the {} field", self.spec.name),
        )
    }
}

fn check_cron(lit: &Literal, diags: &mut Vec<Diagnostic>) {
    let words = words(lit.text);
    if words.len() != 6 || lit.text.trim_start().starts_with("cron(") {
        diags.push(field_count(lit, &words));
        return;
    }
    let mut ok = [true; 6];
    for (i, (offset, text)) in words.iter().enumerate() {
        let field = Field {
            spec: &FIELDS[i],
            text,
            offset: *offset,
            lit,
        };
        if let Err(d) = check_field(&field) {
            diags.push(d);
            ok[i] = false;
        }
    }
    let (dom, dow) = (words[DOM], words[DOW]);
    let both = |v: &str| format!("day-of-month and day-of-week are both {v}");
    let problem = match (dom.1 == "?", dow.1 == "?") {
        _ if !ok[DOM] || !ok[DOW] => None,
        (true, true) => Some(both("`?`")),
        (false, false) => Some(both("set")),
        _ => None,
    };
    if let Some(msg) = problem {
        diags.push(
            Diagnostic::error("E0404", msg)
                .with_primary(lit.at(dow.0, dow.1.len()), "day-of-week")
                .with_secondary(lit.at(dom.0, dom.1.len()), "day-of-month")
                .with_help(format!(
                    "exactly one of day-of-month and day-of-week must be `?` (fields: `{FIELD_ORDER}`), \
e.g. `0 10 * * ? *` (every day) or `0 10 ? * MON *` (Mondays)"
                )),
        );
    }
}

/// E0401 with help fitted to the likely origin: Unix cron (5 fields), Quartz (7 fields with
/// seconds), or a `cron(…)` wrapper written inside the string.
fn field_count(lit: &Literal, words: &[(usize, &str)]) -> Diagnostic {
    let help = if lit.text.trim_start().starts_with("cron(") {
        "write only the fields; flowc adds `cron(…)` around them".to_string()
    } else {
        match words.len() {
            5 => unix_help(words),
            7 => "EventBridge cron has no seconds field: drop the first field".to_string(),
            _ => format!("EventBridge cron has 6 fields: `{FIELD_ORDER}`"),
        }
    };
    let message = if lit.text.trim_start().starts_with("cron(") {
        "cron expression is written with `cron(…)`".to_string()
    } else {
        format!("cron expression has {} fields, expected 6", words.len())
    };
    Diagnostic::error("E0401", message)
        .with_primary(lit.at(0, lit.text.len()), format!("{} fields", words.len()))
        .with_help(help)
}

/// Help for a 5-field Unix cron, with the EventBridge equivalent when it is unambiguous.
fn unix_help(words: &[(usize, &str)]) -> String {
    let w: Vec<&str> = words.iter().map(|(_, t)| *t).collect();
    let base = "EventBridge cron has 6 fields; add a year field `*` and use `?` for day-of-month \
or day-of-week";
    let numeric_dow = w[4].bytes().any(|b| b.is_ascii_digit());
    if w.contains(&"?") {
        return format!(
            "EventBridge cron has 6 fields; the year is missing: `{} *`",
            w.join(" ")
        );
    }
    match (w[2], w[4]) {
        (_, "*") => format!("{base}: `{} {} {} {} ? *`", w[0], w[1], w[2], w[3]),
        ("*", dow) if !numeric_dow => format!("{base}: `{} {} ? {} {dow} *`", w[0], w[1], w[3]),
        _ if numeric_dow => format!(
            "{base}; note that EventBridge numbers days of the week 1-7 from Sunday (Unix cron: 0-6)"
        ),
        _ => base.to_string(),
    }
}

/// Checks one field on its own (the day-of-month/day-of-week rule is checked by the caller).
fn check_field(f: &Field) -> Result<(), Diagnostic> {
    for (i, c) in f.text.char_indices() {
        let special = ",-*/?#".contains(c);
        if special && !f.spec.wildcards.contains(c) {
            return Err(f.malformed(
                format!("`{c}` is not allowed in the {} field", f.spec.name),
                i,
                1,
            ));
        }
        if !special && !c.is_ascii_alphanumeric() {
            return Err(f.malformed(
                format!("unexpected character `{c}` in the {} field", f.spec.name),
                i,
                c.len_utf8(),
            ));
        }
    }
    if f.text == "?" || f.text == "*" {
        return Ok(());
    }
    if let Some(i) = f.text.find('?') {
        return Err(f.malformed(
            format!("`?` must stand alone in the {} field", f.spec.name),
            i,
            1,
        ));
    }
    if let Some(result) = special_form(f) {
        return result;
    }
    let mut offset = 0;
    for item in f.text.split(',') {
        check_item(f, item, offset)?;
        offset += item.len() + 1;
    }
    Ok(())
}

/// The whole-field forms `L`, `LW`, `3W` (day-of-month) and `L`, `6L`, `3#2` (day-of-week);
/// None when the field is not one of them (and contains no `L`/`W`/`#` use).
fn special_form(f: &Field) -> Option<Result<(), Diagnostic>> {
    let t = f.text;
    let upper = t.to_ascii_uppercase();
    let (dom, dow) = (f.spec.name == "day-of-month", f.spec.name == "day-of-week");
    if (dom || dow) && upper == "L" || dom && upper == "LW" {
        return Some(Ok(()));
    }
    if let Some(i) = t.find('#') {
        return Some(nth_weekday(f, i));
    }
    let last = upper.len().checked_sub(1).map(|i| &upper[i..]);
    let suffix = match last {
        Some("W") if dom => 'W',
        Some("L") if dow => 'L',
        _ => return None,
    };
    let base = &t[..t.len() - 1];
    if base.contains(',') || base.contains('-') || base.contains('/') || base.contains('*') {
        return Some(Err(f.malformed(
            format!(
                "`{suffix}` cannot be combined with a list, range or increment in the {} field",
                f.spec.name
            ),
            0,
            t.len(),
        )));
    }
    Some(value(f, base, 0).map(|_| ()))
}

/// `day#n`: the nth such weekday of the month (n 1-5), alone in day-of-week.
fn nth_weekday(f: &Field, hash: usize) -> Result<(), Diagnostic> {
    if f.text.contains(',') {
        return Err(f.malformed(
            "a day-of-week with `#` holds one expression only".to_string(),
            0,
            f.text.len(),
        ));
    }
    value(f, &f.text[..hash], 0)?;
    let n_text = &f.text[hash + 1..];
    let (off, len) = (hash + 1, n_text.len());
    match n_text.parse::<u32>() {
        Ok(n) if (1..=5).contains(&n) => Ok(()),
        Ok(n) => Err(f.error(
            "E0403",
            format!("day-of-week occurrence #{n} is out of range 1-5"),
            off,
            len,
            "a month has at most 5 of each weekday",
        )),
        Err(_) if n_text.is_empty() => Err(f.malformed(
            "`#` must be followed by the occurrence, a number 1-5".to_string(),
            hash,
            1,
        )),
        Err(_) => Err(f.malformed(
            format!("`{n_text}` after `#` is not a number 1-5"),
            off,
            len.max(1),
        )),
    }
}

/// One list item: `*`, `v`, `a-b`, each optionally followed by `/step`.
fn check_item(f: &Field, item: &str, offset: usize) -> Result<(), Diagnostic> {
    if item.is_empty() {
        return Err(f.malformed(
            format!("empty list item in the {} field", f.spec.name),
            offset,
            0,
        ));
    }
    let (base, step) = match item.split_once('/') {
        Some((b, s)) => (b, Some(s)),
        None => (item, None),
    };
    if let Some(step) = step {
        check_step(f, step, offset + base.len() + 1)?;
    }
    if base == "*" {
        return Ok(());
    }
    match base.split_once('-') {
        Some((lo, hi)) => check_range(f, lo, hi, offset),
        None => value(f, base, offset).map(|_| ()),
    }
}

fn check_range(f: &Field, lo: &str, hi: &str, offset: usize) -> Result<(), Diagnostic> {
    let low = value(f, lo, offset)?;
    let high = value(f, hi, offset + lo.len() + 1)?;
    if low > high {
        let len = lo.len() + 1 + hi.len();
        return Err(f.malformed(
            format!("{} range `{lo}-{hi}` runs backwards", f.spec.name),
            offset,
            len,
        ));
    }
    Ok(())
}

/// The increment after `/`: a whole number from 1 to the field's number of values.
fn check_step(f: &Field, step: &str, offset: usize) -> Result<(), Diagnostic> {
    let span = f.spec.max - f.spec.min + 1;
    match step.parse::<u32>() {
        Ok(n) if (1..=span).contains(&n) => Ok(()),
        Ok(n) => Err(f.error(
            "E0403",
            format!("{} increment {n} is out of range 1-{span}", f.spec.name),
            offset,
            step.len(),
            "increment",
        )),
        Err(_) => Err(f.malformed(
            format!(
                "increment `{step}` in the {} field is not a whole number",
                f.spec.name
            ),
            offset,
            step.len().max(1),
        )),
    }
}

/// A single value: a number in range or one of the field's names (any case).
fn value(f: &Field, text: &str, offset: usize) -> Result<u32, Diagnostic> {
    let spec = f.spec;
    let len = text.len().max(1);
    if text.is_empty() {
        return Err(f.malformed(
            format!("missing value in the {} field", spec.name),
            offset,
            0,
        ));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let n = text.parse::<u32>().unwrap_or(u32::MAX);
        if n < spec.min || n > spec.max {
            let msg = format!(
                "{} value {text} is out of range {}",
                spec.name,
                spec.values()
            );
            return Err(f.error("E0403", msg, offset, len, "out of range"));
        }
        return Ok(n);
    }
    let upper = text.to_ascii_uppercase();
    if let Some(i) = spec.names.iter().position(|n| *n == upper) {
        return Ok(spec.min + i as u32);
    }
    let mut d = f.malformed(
        format!("`{text}` is not a valid {} value", spec.name),
        offset,
        len,
    );
    if let Some(s) = suggest(&upper, spec.names.iter().copied()) {
        d = d.with_help(format!(
            "a {} name with similar spelling exists: `{s}`",
            spec.name
        ));
    }
    Err(d)
}

// ---------------------------------------------------------------------------------------------
// rate

const UNITS: [&str; 6] = ["minute", "minutes", "hour", "hours", "day", "days"];

const RATE_HELP: &str = "a rate is `VALUE UNIT` with a positive whole number and one of \
`minute(s)`, `hour(s)`, `day(s)`, e.g. `1 hour` or `5 minutes`";

fn check_rate(lit: &Literal, diags: &mut Vec<Diagnostic>) {
    if let Err(d) = rate(lit) {
        diags.push(d);
    }
}

fn rate(lit: &Literal) -> Result<(), Diagnostic> {
    let malformed = |msg: String, span: Span, label: &str| {
        Diagnostic::error("E0405", msg)
            .with_primary(span, label)
            .with_help(RATE_HELP)
    };
    let words = words(lit.text);
    if lit.text.trim_start().starts_with("rate(") {
        return Err(malformed(
            "rate is written with `rate(…)`".into(),
            lit.at(0, lit.text.len()),
            "",
        )
        .with_help("write only `VALUE UNIT`, e.g. `1 hour`; flowc adds `rate(…)`"));
    }
    let [(v_off, v_text), (u_off, u_text)] = words[..] else {
        let msg = format!(
            "rate expression has {} words, expected 2 (value and unit)",
            words.len()
        );
        return Err(malformed(
            msg,
            lit.at(0, lit.text.len()),
            "not `VALUE UNIT`",
        ));
    };
    let v_span = lit.at(v_off, v_text.len());
    let u_span = lit.at(u_off, u_text.len());
    let value = match v_text.parse::<u64>() {
        Ok(n) if n > 0 && v_text.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => {
            return Err(malformed(
                format!("rate value `{v_text}` is not a positive whole number"),
                v_span,
                "value",
            ))
        }
    };
    if !UNITS.contains(&u_text) {
        let mut d = malformed(format!("`{u_text}` is not a rate unit"), u_span, "unit");
        let wanted = UNITS
            .iter()
            .copied()
            .filter(|u| u.ends_with('s') != (value == 1));
        if let Some(s) = suggest(&u_text.to_ascii_lowercase(), wanted) {
            d = d.with_help(format!("a unit with similar spelling exists: `{s}`"));
        }
        return Err(d);
    }
    agreement(value, u_text, v_span, u_span)
}

/// E0406: AWS "If the value is equal to 1, then the unit must be singular. Similarly, for
/// values greater than 1, the unit must be plural."
fn agreement(value: u64, unit: &str, v_span: Span, u_span: Span) -> Result<(), Diagnostic> {
    let plural = unit.ends_with('s');
    let (fixed, kind) = match (value == 1, plural) {
        (true, true) => (unit.trim_end_matches('s').to_string(), "plural"),
        (false, false) => (format!("{unit}s"), "singular"),
        _ => return Ok(()),
    };
    let msg = format!("rate unit `{unit}` is {kind} but the value is {value}");
    Err(Diagnostic::error("E0406", msg)
        .with_primary(u_span, format!("{kind} unit"))
        .with_secondary(v_span, "value")
        .with_help(format!(
            "AWS takes a singular unit for 1 and a plural one otherwise: write `{value} {fixed}`"
        )))
}

// ---------------------------------------------------------------------------------------------
// time zone

fn check_timezone(tz: &Spanned<String>, diags: &mut Vec<Diagnostic>) {
    if tz.value.parse::<chrono_tz::Tz>().is_ok() {
        return;
    }
    let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
    let exact_but_case = names.clone().find(|n| n.eq_ignore_ascii_case(&tz.value));
    let mut d = Diagnostic::error("E0407", format!("unknown time zone `{}`", tz.value))
        .with_primary(tz.span, "not an IANA time zone name");
    d = match exact_but_case.or_else(|| suggest(&tz.value, names)) {
        Some(s) => d.with_help(format!(
            "an IANA time zone with a similar name exists: `{s}`"
        )),
        None => d.with_help(
            "use an IANA time zone name such as `Europe/Paris`, `America/New_York` or `UTC`",
        ),
    };
    diags.push(d);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Flow, FlowDecorators, Schedule, ScheduleKind};

    /// The literal starts at byte 10 of an imaginary source; its text at byte 11.
    const AT: usize = 11;

    fn lit(text: &str) -> Spanned<String> {
        Spanned::own(text.to_string(), Span::new(AT - 1, AT + 1 + text.len()))
    }

    fn flow(kind: ScheduleKind, timezone: Option<&str>) -> Flow {
        let schedule = Schedule {
            kind,
            timezone: timezone.map(lit),
        };
        Flow {
            name: "F".into(),
            name_span: Span::default(),
            params: vec![],
            steps: vec![],
            decorators: FlowDecorators {
                schedule: Some(Spanned::own(schedule, Span::new(0, 40))),
                ..Default::default()
            },
        }
    }

    fn run(kind: ScheduleKind, tz: Option<&str>) -> Vec<Diagnostic> {
        let mut diags = vec![];
        check(&flow(kind, tz), &mut diags);
        diags
    }

    /// (code, primary label start..end relative to the text) of every diagnostic.
    fn cron(text: &str) -> Vec<(&'static str, usize, usize)> {
        summary(run(ScheduleKind::Cron(lit(text)), None))
    }

    fn rate(text: &str) -> Vec<(&'static str, usize, usize)> {
        summary(run(ScheduleKind::Rate(lit(text)), None))
    }

    fn summary(diags: Vec<Diagnostic>) -> Vec<(&'static str, usize, usize)> {
        diags
            .iter()
            .map(|d| (d.code, d.position().start - AT, d.position().end - AT))
            .collect()
    }

    fn only(mut diags: Vec<Diagnostic>) -> Diagnostic {
        assert_eq!(diags.len(), 1, "{diags:#?}");
        diags.remove(0)
    }

    #[test]
    fn valid_crons_from_the_aws_reference() {
        for text in [
            "0 10 * * ? *",
            "15 12 * * ? *",
            "0 18 ? * MON-FRI *",
            "0 8 1 * ? *",
            "0/15 * * * ? *",
            "0/10 * ? * MON-FRI *",
            "0/5 8-17 ? * MON-FRI *",
            "0 9 ? * 2#1 *",
            "1/10 * * JAN,FEB,MAR ? 2020-2030",
            "0 0 L * ? *",
            "0 0 LW * ? *",
            "0 0 3W * ? *",
            "0 0 ? * L *",
            "0 0 ? * 6L *",
            "0 0 ? * fri *",
            "*/5 */2 1-15/2 */3 ? 1970/10",
            "59 23 31 12 ? 2199",
            "  0   10 * * ? *  ",
        ] {
            assert_eq!(cron(text), vec![], "{text}");
        }
    }

    #[test]
    fn out_of_range_values_point_at_the_value() {
        assert_eq!(cron("60 10 * * ? *"), vec![("E0403", 0, 2)]);
        assert_eq!(cron("0 24 * * ? *"), vec![("E0403", 2, 4)]);
        assert_eq!(cron("0 10 0 * ? *"), vec![("E0403", 5, 6)]);
        assert_eq!(cron("0 10 32 * ? *"), vec![("E0403", 5, 7)]);
        assert_eq!(cron("0 10 * 13 ? *"), vec![("E0403", 7, 9)]);
        assert_eq!(cron("0 10 ? * 8 *"), vec![("E0403", 9, 10)]);
        assert_eq!(cron("0 10 ? * 0 *"), vec![("E0403", 9, 10)]);
        assert_eq!(cron("0 10 * * ? 1969"), vec![("E0403", 11, 15)]);
        assert_eq!(cron("0 10 * * ? 2200"), vec![("E0403", 11, 15)]);
        assert_eq!(cron("0 1-99 * * ? *"), vec![("E0403", 4, 6)]);
        assert_eq!(cron("0 1,2,30 * * ? *"), vec![("E0403", 6, 8)]);
    }

    #[test]
    fn out_of_range_message_names_the_field_and_range() {
        let d = only(run(ScheduleKind::Cron(lit("0 10 ? * 8 *")), None));
        assert_eq!(
            d.message,
            "day-of-week value 8 is out of range 1-7 or SUN-SAT"
        );
        assert!(d.help.as_deref().unwrap_or("").contains(FIELD_ORDER));
    }

    #[test]
    fn every_field_error_is_reported() {
        assert_eq!(
            cron("60 24 * * ? *"),
            vec![("E0403", 0, 2), ("E0403", 3, 5)]
        );
    }

    #[test]
    fn wildcards_outside_their_fields() {
        assert_eq!(cron("? 10 * * ? *"), vec![("E0402", 0, 1)]);
        assert_eq!(cron("0 10 * * ? L"), vec![("E0402", 11, 12)]);
        assert_eq!(cron("0 L * * ? *"), vec![("E0402", 2, 3)]);
        assert_eq!(cron("0 10 3#2 * ? *"), vec![("E0402", 6, 7)]);
        assert_eq!(cron("0 10 ? * 3W *"), vec![("E0402", 9, 11)]);
        // AWS lists no `/` for day-of-week.
        assert_eq!(cron("0 10 ? * 1/2 *"), vec![("E0402", 10, 11)]);
        assert_eq!(cron("0 10 * * ?,1 *"), vec![("E0402", 9, 10)]);
        assert_eq!(cron("0 10 * * ? *;"), vec![("E0402", 12, 13)]);
    }

    #[test]
    fn malformed_items() {
        assert_eq!(cron("0 1, * * ? *"), vec![("E0402", 4, 4)]);
        assert_eq!(cron("0 1- * * ? *"), vec![("E0402", 4, 4)]);
        assert_eq!(cron("0 5-2 * * ? *"), vec![("E0402", 2, 5)]);
        assert_eq!(cron("0 10 ? * FRI-MON *"), vec![("E0402", 9, 16)]);
        assert_eq!(cron("0 10 * FOO ? *"), vec![("E0402", 7, 10)]);
        assert_eq!(cron("x 10 * * ? *"), vec![("E0402", 0, 1)]);
        assert_eq!(cron("0/x 10 * * ? *"), vec![("E0402", 2, 3)]);
    }

    #[test]
    fn hash_without_occurrence_points_at_the_hash() {
        let d = only(run(ScheduleKind::Cron(lit("0 10 ? * MON# *")), None));
        assert_eq!(
            d.message,
            "`#` must be followed by the occurrence, a number 1-5"
        );
        assert_eq!(summary(vec![d]), vec![("E0402", 12, 13)]);
    }

    #[test]
    fn misspelt_names_get_a_suggestion() {
        let d = only(run(ScheduleKind::Cron(lit("0 10 ? * MOM *")), None));
        assert_eq!(d.code, "E0402");
        assert_eq!(
            d.help.as_deref(),
            Some("a day-of-week name with similar spelling exists: `MON`")
        );
    }

    #[test]
    fn increments() {
        assert_eq!(cron("0/0 * * * ? *"), vec![("E0403", 2, 3)]);
        assert_eq!(cron("0/61 * * * ? *"), vec![("E0403", 2, 4)]);
        assert_eq!(cron("0/60 * * * ? *"), vec![]);
    }

    #[test]
    fn nth_weekday() {
        assert_eq!(cron("0 10 ? * 3#5 *"), vec![]);
        assert_eq!(cron("0 10 ? * 3#6 *"), vec![("E0403", 11, 12)]);
        assert_eq!(cron("0 10 ? * 3#0 *"), vec![("E0403", 11, 12)]);
        assert_eq!(cron("0 10 ? * 9#1 *"), vec![("E0403", 9, 10)]);
        assert_eq!(cron("0 10 ? * 3#1,6#3 *"), vec![("E0402", 9, 16)]);
        assert_eq!(cron("0 10 ? * 3# *"), vec![("E0402", 10, 11)]);
    }

    #[test]
    fn last_and_weekday_forms() {
        assert_eq!(cron("0 10 32W * ? *"), vec![("E0403", 5, 7)]);
        assert_eq!(cron("0 10 1-3W * ? *"), vec![("E0402", 5, 9)]);
        assert_eq!(cron("0 10 ? * 8L *"), vec![("E0403", 9, 10)]);
    }

    #[test]
    fn day_of_month_and_day_of_week() {
        let d = only(run(ScheduleKind::Cron(lit("0 10 * * MON *")), None));
        assert_eq!(d.code, "E0404");
        assert_eq!(d.message, "day-of-month and day-of-week are both set");
        assert_eq!(
            (d.labels[0].span.start - AT, d.labels[0].span.end - AT),
            (9, 12)
        );
        assert_eq!(
            (d.labels[1].span.start - AT, d.labels[1].span.end - AT),
            (5, 6)
        );
        assert!(!d.labels[1].primary);
        assert_eq!(cron("0 10 * * * *"), vec![("E0404", 9, 10)]);
        assert_eq!(cron("0 10 ? * ? *"), vec![("E0404", 9, 10)]);
        // Not reported on top of an error in one of the two fields.
        assert_eq!(cron("0 10 * * 9 *"), vec![("E0403", 9, 10)]);
    }

    #[test]
    fn field_count() {
        let d = only(run(ScheduleKind::Cron(lit("0 10 * * *")), None));
        assert_eq!(d.code, "E0401");
        assert_eq!(d.message, "cron expression has 5 fields, expected 6");
        assert!(d
            .help
            .as_deref()
            .unwrap_or("")
            .starts_with("EventBridge cron has 6 fields; add a year field `*`"));
        assert_eq!(cron("0 10 * * *"), vec![("E0401", 0, 10)]);
        let seven = only(run(ScheduleKind::Cron(lit("0 0 10 * * ? *")), None));
        assert!(seven
            .help
            .as_deref()
            .unwrap_or("")
            .contains("no seconds field"));
        let wrapped = only(run(ScheduleKind::Cron(lit("cron(0 10 * * ? *)")), None));
        assert!(wrapped
            .help
            .as_deref()
            .unwrap_or("")
            .contains("flowc adds `cron(…)`"));
        assert_eq!(cron(""), vec![("E0401", 0, 0)]);
    }

    #[test]
    fn unix_cron_help_gives_the_eventbridge_form() {
        let help = |t: &str| {
            only(run(ScheduleKind::Cron(lit(t)), None))
                .help
                .unwrap_or_default()
        };
        assert!(help("0 10 * * *").ends_with(": `0 10 * * ? *`"));
        assert!(help("0 10 * * MON-FRI").ends_with(": `0 10 ? * MON-FRI *`"));
        assert!(help("0 10 * * 1-5").contains("1-7 from Sunday (Unix cron: 0-6)"));
        assert!(help("0 10 1 * MON").ends_with("day-of-month or day-of-week"));
        assert!(help("0 10 * * ?").ends_with("the year is missing: `0 10 * * ? *`"));
        assert!(help("0 10 ? * *").ends_with("the year is missing: `0 10 ? * * *`"));
    }

    #[test]
    fn generated_cron_uses_the_decorator_span() {
        // `daily=true`: the text is generated, the span is the decorator's (not text + 2).
        let kind = ScheduleKind::Cron(Spanned::own("0 0 * * ? 1900".into(), Span::new(100, 115)));
        let d = only(run(kind, None));
        assert_eq!(d.position(), Span::new(100, 115));
    }

    #[test]
    fn rates() {
        for ok in [
            "1 minute",
            "5 minutes",
            "1 hour",
            "12 hours",
            "1 day",
            "7 days",
            " 2  days ",
        ] {
            assert_eq!(rate(ok), vec![], "{ok}");
        }
        assert_eq!(rate("1 hours"), vec![("E0406", 2, 7)]);
        assert_eq!(rate("5 hour"), vec![("E0406", 2, 6)]);
        assert_eq!(rate("0 minutes"), vec![("E0405", 0, 1)]);
        assert_eq!(rate("-1 minutes"), vec![("E0405", 0, 2)]);
        assert_eq!(rate("1.5 hours"), vec![("E0405", 0, 3)]);
        assert_eq!(rate("5 weeks"), vec![("E0405", 2, 7)]);
        assert_eq!(rate("hourly"), vec![("E0405", 0, 6)]);
        assert_eq!(rate("rate(1 hour)"), vec![("E0405", 0, 12)]);
    }

    #[test]
    fn rate_messages() {
        let d = only(run(ScheduleKind::Rate(lit("1 hours")), None));
        assert_eq!(d.message, "rate unit `hours` is plural but the value is 1");
        assert_eq!(
            d.help.as_deref(),
            Some("AWS takes a singular unit for 1 and a plural one otherwise: write `1 hour`")
        );
        let d = only(run(ScheduleKind::Rate(lit("5 mins")), None));
        assert_eq!(
            d.help.as_deref(),
            Some("a unit with similar spelling exists: `minutes`")
        );
    }

    #[test]
    fn time_zones() {
        let daily = || ScheduleKind::Cron(lit("0 0 * * ? *"));
        assert!(run(daily(), Some("Europe/Paris")).is_empty());
        assert!(run(daily(), Some("UTC")).is_empty());
        let d = only(run(daily(), Some("Europe/Pari")));
        assert_eq!(d.code, "E0407");
        assert_eq!(
            d.position(),
            Span::new(AT - 1, AT + 1 + "Europe/Pari".len())
        );
        assert_eq!(
            d.help.as_deref(),
            Some("an IANA time zone with a similar name exists: `Europe/Paris`")
        );
        let d = only(run(daily(), Some("europe/paris")));
        assert_eq!(
            d.help.as_deref(),
            Some("an IANA time zone with a similar name exists: `Europe/Paris`")
        );
        let d = only(run(daily(), Some("Mars/Olympus")));
        assert!(d
            .help
            .as_deref()
            .unwrap_or("")
            .starts_with("use an IANA time zone name"));
    }

    #[test]
    fn no_schedule_no_diagnostics() {
        let mut f = flow(ScheduleKind::Cron(lit("bad")), None);
        f.decorators.schedule = None;
        let mut diags = vec![];
        check(&f, &mut diags);
        assert!(diags.is_empty());
    }

    #[test]
    fn expressions_are_normalised() {
        assert_eq!(
            expression(&ScheduleKind::Cron(lit(" 0  10 * * ? * "))),
            "cron(0 10 * * ? *)"
        );
        assert_eq!(
            expression(&ScheduleKind::Rate(lit("1  hour"))),
            "rate(1 hour)"
        );
    }

    #[test]
    fn codes_table_covers_every_code() {
        let codes: Vec<_> = CODES.iter().map(|c| c.code).collect();
        assert_eq!(
            codes,
            ["E0401", "E0402", "E0403", "E0404", "E0405", "E0406", "E0407"]
        );
    }
}
