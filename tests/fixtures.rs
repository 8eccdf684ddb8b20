//! One test per fixture file, each with its own insta snapshot in `snapshots/`:
//! - `fixtures/ok/*.flow` compile; the snapshot holds the ASL, rules and IAM outputs;
//! - `fixtures/err/<CODE>-*.flow` fail with a diagnostic of that code; the snapshot holds
//!   the rendered diagnostics (no colour, 80 columns).
//!
//! Also rejects snapshot files that no fixture references, so the set only holds live ones.

use flowc::diagnostics::render_human;
use flowc::options::CompileOptions;
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn main() {
    let args = Arguments::from_args();
    let mut trials = vec![];
    for path in flows("fixtures/ok") {
        trials.push(trial("ok", path, check_ok));
    }
    for path in flows("fixtures/err") {
        trials.push(trial("err", path, check_err));
    }
    trials.push(Trial::test(
        "snapshots_are_all_referenced",
        check_unreferenced,
    ));
    libtest_mimic::run(&args, trials).exit();
}

/// The `.flow` files directly in `dir` (relative to the crate root), sorted.
fn flows(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join(dir))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.extension().is_some_and(|e| e == "flow"));
    out.sort();
    out
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

fn trial(kind: &'static str, path: PathBuf, f: fn(&Path, &str) -> Result<(), Failed>) -> Trial {
    let name = format!("{kind}::{}", stem(&path));
    Trial::test(name, move || {
        let source =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        f(&path, &source)
    })
}

fn relative(path: &Path) -> String {
    path.strip_prefix(ROOT)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Runs an insta assertion with the project's snapshot settings, turning a mismatch panic
/// into a test failure.
fn snapshot(kind: &str, path: &Path, content: String) -> Result<(), Failed> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(ROOT).join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_input_file(path);
    settings.set_omit_expression(true);
    let name = format!("{kind}__{}", stem(path));
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name.clone(), content))
    }))
    .map_err(|_| {
        Failed::from(format!(
            "snapshot {name} does not match (see the diff above)"
        ))
    })
}

fn check_ok(path: &Path, source: &str) -> Result<(), Failed> {
    let out = flowc::driver::build(source, &CompileOptions::default()).map_err(|diags| {
        format!(
            "expected to compile, got:\n{}",
            render_human(&relative(path), source, &diags, false, 80)
        )
    })?;
    let again = flowc::driver::build(source, &CompileOptions::default())
        .map_err(|_| "second compile failed")?;
    if again.asl != out.asl || again.rules != out.rules || again.iam != out.iam {
        return Err("output is not deterministic: two compiles differ".into());
    }
    let mut text = format!("--- ASL ---\n{}", out.asl);
    if let Some(rules) = &out.rules {
        text.push_str(&format!("--- rules ---\n{rules}"));
    }
    text.push_str(&format!("--- IAM ---\n{}", out.iam));
    if !out.warnings.is_empty() {
        text.push_str(&format!(
            "--- warnings ---\n{}",
            render_human(&relative(path), source, &out.warnings, false, 80)
        ));
    }
    snapshot("ok", path, text)
}

fn check_err(path: &Path, source: &str) -> Result<(), Failed> {
    let code = stem(path).split('-').next().unwrap_or_default().to_string();
    let diags = match flowc::driver::build(source, &CompileOptions::default()) {
        Ok(out) => out.warnings,
        Err(diags) => diags,
    };
    if !diags.iter().any(|d| d.code == code) {
        let got: Vec<&str> = diags.iter().map(|d| d.code).collect();
        return Err(format!("expected a diagnostic {code}, got {got:?}").into());
    }
    for d in &diags {
        for l in &d.labels {
            if l.span.end > source.len()
                || !source.is_char_boundary(l.span.start)
                || !source.is_char_boundary(l.span.end)
            {
                return Err(format!(
                    "{}: label span {:?} is not inside the source",
                    d.code, l.span
                )
                .into());
            }
        }
    }
    snapshot(
        "err",
        path,
        render_human(&relative(path), source, &diags, false, 80),
    )
}

fn check_unreferenced() -> Result<(), Failed> {
    let live: Vec<String> = flows("fixtures/ok")
        .iter()
        .map(|p| format!("ok__{}.snap", stem(p)))
        .chain(
            flows("fixtures/err")
                .iter()
                .map(|p| format!("err__{}.snap", stem(p))),
        )
        .collect();
    let dir = Path::new(ROOT).join("snapshots");
    let mut stale = vec![];
    for entry in std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".snap") && name.contains("__") && !live.contains(&name) {
            stale.push(name);
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!("snapshots without a fixture (delete them): {stale:?}").into())
    }
}
