//! Keeps `docs/errors.md` equal to the CODES tables (`FLOWC_BLESS=1` rewrites it) and every
//! code documented once.

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn errors_md_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/errors.md");
    let want = flowc::diagnostics::errors_markdown();
    if std::env::var_os("FLOWC_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/errors.md is stale: run `FLOWC_BLESS=1 cargo test --test docs`"
    );
}

#[test]
fn codes_are_unique_and_documented() {
    let codes = flowc::diagnostics::all_codes();
    let mut seen = BTreeSet::new();
    for c in &codes {
        assert!(seen.insert(c.code), "code {} is declared twice", c.code);
        assert!(
            !c.title.is_empty() && !c.explanation.is_empty() && !c.example.is_empty(),
            "{} lacks docs",
            c.code
        );
    }
}

/// Every flow-level code (all but the E06xx command-line codes) has an invalid fixture
/// `fixtures/err/<CODE>-*.flow` that the fixture harness checks raises it.
#[test]
fn every_code_has_a_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/err");
    let names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let missing: Vec<&str> = flowc::diagnostics::all_codes()
        .iter()
        .map(|c| c.code)
        .filter(|code| !code.starts_with("E06"))
        .filter(|code| {
            !names
                .iter()
                .any(|n| n.starts_with(&format!("{code}-")) && n.ends_with(".flow"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a fixture in fixtures/err: {missing:?}"
    );
}

/// The language tour in README.md is a valid flow.
#[test]
fn readme_tour_is_valid() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("# Train one model per country")
        .expect("the tour is in README.md");
    let end = start
        + readme[start..]
            .find("\n```")
            .expect("the tour's code block ends");
    let (flow, diags) = flowc::check(&readme[start..end], &Default::default());
    assert!(flow.is_some(), "{diags:?}");
}
