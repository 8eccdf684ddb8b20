//! The E04xx fixtures raise exactly the code in their file name, through the whole front
//! half of the pipeline (`flowc::check`), with the primary label on the intended text.

use flowc::options::CompileOptions;
use std::path::Path;

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
        assert!(
            source.starts_with('#'),
            "{name}: first line says what is wrong"
        );
        let (flow, diags) = flowc::check(&source, &CompileOptions::default());
        assert!(flow.is_none(), "{name}");
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, [&name[..5]], "{name}");
        let span = diags[0].position();
        assert_eq!(&source[span.start..span.end], label_text, "{name}");
    }
}

#[test]
fn generated_schedules_are_valid() {
    for kind in ["hourly", "daily", "weekly"] {
        let source = format!(
            "@schedule({kind}=true, timezone=\"America/New_York\")\nflow F {{\n    step start {{\n        run \"true\"\n        next end\n    }}\n\n    step end {{\n        run \"true\"\n    }}\n}}\n"
        );
        let (flow, diags) = flowc::check(&source, &CompileOptions::default());
        assert!(diags.is_empty(), "{kind}: {diags:#?}");
        assert!(flow.is_some(), "{kind}");
    }
}
