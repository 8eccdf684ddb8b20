//! The E04xx fixtures raise exactly the code in their file name, with the primary label on
//! the intended text. The `@schedule` decorator is read here with a tiny stand-in for the
//! parser (string arguments without escapes), so this holds whatever the parser's state.

mod schedule_common;

use flowc::diagnostics::Diagnostic;
use flowc::ir::{Schedule, ScheduleKind};
use flowc::span::{Span, Spanned};
use std::path::Path;

/// `name="value"` inside `line` (starting at byte `base` of the file): the value, with the
/// span of the quoted literal.
fn string_arg(line: &str, base: usize, name: &str) -> Option<Spanned<String>> {
    let start = line.find(&format!("{name}=\""))? + name.len() + 1;
    let len = line[start + 1..].find('"')?;
    let span = Span::new(base + start, base + start + len + 2);
    Some(Spanned::own(
        line[start + 1..start + 1 + len].to_string(),
        span,
    ))
}

fn schedule(source: &str) -> Schedule {
    let (base, line) = source
        .lines()
        .scan(0, |pos, l| {
            let at = *pos;
            *pos += l.len() + 1;
            Some((at, l))
        })
        .find(|(_, l)| l.starts_with("@schedule("))
        .expect("fixture has @schedule");
    let kind = match (
        string_arg(line, base, "cron"),
        string_arg(line, base, "rate"),
    ) {
        (Some(c), _) => ScheduleKind::Cron(c),
        (_, Some(r)) => ScheduleKind::Rate(r),
        // `daily=true`: the generated text carries the decorator's span.
        _ => ScheduleKind::Cron(Spanned::own(
            "0 0 * * ? *".into(),
            Span::new(base, base + line.len()),
        )),
    };
    Schedule {
        kind,
        timezone: string_arg(line, base, "timezone"),
    }
}

fn diagnostics(source: &str) -> Vec<Diagnostic> {
    let mut f = schedule_common::flow("Nightly");
    f.decorators.schedule = Some(Spanned::own(schedule(source), Span::default()));
    let mut diags = vec![];
    flowc::passes::schedule::check(&f, &mut diags);
    diags
}

#[test]
fn each_fixture_raises_its_code_at_the_intended_text() {
    let expected = [
        ("E0401-five-field-cron", "0 10 * * *"),
        ("E0402-slash-in-day-of-week", "/"),
        ("E0403-hour-out-of-range", "24"),
        ("E0404-day-of-month-and-day-of-week", "MON"),
        ("E0405-unknown-rate-unit", "mins"),
        ("E0406-plural-unit-for-one", "hours"),
        ("E0407-misspelt-time-zone", "\"Europe/Pari\""),
    ];
    for (name, label_text) in expected {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/err/{name}.flow"));
        let source = std::fs::read_to_string(&path).expect("fixture exists");
        let diags = diagnostics(&source);
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, [&name[..5]], "{name}");
        let span = diags[0].position();
        assert_eq!(&source[span.start..span.end], label_text, "{name}");
    }
}
