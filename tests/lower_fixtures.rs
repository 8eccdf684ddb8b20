//! Every valid fixture compiles to ASL (through the real parser and front passes); a few are
//! snapshotted; every `fixtures/err/E05*.flow` fails with exactly its code.

mod lower_common;

use flowc::options::CompileOptions;
use std::path::Path;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixtures(dir: &str, prefix: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .expect("fixture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    files.sort();
    files
}

fn compile(path: &Path) -> flowc::Compiled {
    let c = flowc::compile(&read(path), &CompileOptions::default())
        .unwrap_or_else(|d| panic!("{}: {d:#?}", path.display()));
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("flow");
    lower_common::dump(&format!("fixture_{stem}"), &c.asl);
    c
}

#[test]
fn every_ok_fixture_compiles() {
    let files = fixtures("fixtures/ok", "");
    assert!(!files.is_empty());
    for path in files {
        let c = compile(&path);
        assert!(c.asl.len() < 1_048_576);
        assert!(c.definition["States"].is_object());
    }
}

#[test]
fn every_e05_fixture_fails_with_its_code() {
    let files = fixtures("fixtures/err", "E05");
    assert!(files.len() >= 5, "one fixture per E05xx code");
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let code = &name[..5];
        let source = read(&path);
        assert!(
            source.starts_with('#'),
            "{name}: first line says what is wrong"
        );
        let diags = flowc::compile(&source, &CompileOptions::default()).expect_err(name);
        let errors: Vec<_> = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect();
        assert_eq!(errors, [code], "{name}");
    }
}

fn snapshot(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ok")
        .join(name);
    compile(&path).asl
}

#[test]
fn snapshot_spec_example() {
    insta::assert_snapshot!(snapshot("spec_example.flow"));
}

#[test]
fn snapshot_foreach_options() {
    insta::assert_snapshot!(snapshot("foreach_options.flow"));
}

#[test]
fn snapshot_switch_in_branch() {
    insta::assert_snapshot!(snapshot("switch_in_branch.flow"));
}

#[test]
fn explain_names_each_foreach() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ok/foreach_options.flow");
    let c = compile(&path);
    insta::assert_snapshot!(c.explain.join("\n"));
    let warnings: Vec<_> = c.warnings.iter().map(|d| d.code).collect();
    assert_eq!(
        warnings,
        ["W0501"],
        "max_items=1000 inline is wider than 40"
    );
}

#[test]
fn e05_diagnostics_render() {
    // E0502 and E0503 are left out: their fixtures hold lines thousands of characters long.
    let mut out = String::new();
    for name in [
        "E0501-state-name-too-long.flow",
        "E0504-too-many-history-events.flow",
        "E0505-inline-without-max-items.flow",
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/err")
            .join(name);
        let source = read(&path);
        let diags = flowc::compile(&source, &CompileOptions::default()).expect_err(name);
        out.push_str(&flowc::diagnostics::render_human(
            name, &source, &diags, false, 100,
        ));
    }
    insta::assert_snapshot!(out);
}
