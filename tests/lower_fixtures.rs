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

/// Every `.$` field of `value` (recursively) with its text.
fn dynamic_fields(value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if let (true, Some(text)) = (k.ends_with(".$"), v.as_str()) {
                    out.push((k.clone(), text.to_string()));
                }
                dynamic_fields(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| dynamic_fields(v, out)),
        _ => {}
    }
}

#[test]
fn state_holds_references_only() {
    // After the parameter states, paths read only the references and fixed-size fields.
    let allowed = [
        "$.run_id",
        "$.index",
        "$.error",
        "$.foreach",
        "$.switch",
        "$.Body",
        "$.ETag",
        "$$.",
        "$)",
    ];
    for path in fixtures("fixtures/ok", "") {
        let c = compile(&path);
        let mut fields = vec![];
        for (name, state) in c.definition["States"].as_object().into_iter().flatten() {
            if !name.starts_with("flowc-") {
                dynamic_fields(state, &mut fields);
            }
        }
        for (key, text) in fields {
            for (i, _) in text.match_indices('$') {
                if text[..i].ends_with('$') {
                    continue; // the second `$` of `$$`
                }
                let rest = &text[i..];
                assert!(
                    allowed.iter().any(|a| rest.starts_with(a)),
                    "{}: {key} = {text}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn transitions_stay_in_scope() {
    for path in fixtures("fixtures/ok", "") {
        lower_common::check_scopes(&compile(&path).definition, &path.display().to_string());
    }
}
