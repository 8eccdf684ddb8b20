//! One test per fixture file, each with its own insta snapshot in `snapshots/`:
//! - `fixtures/ok/*.flow` compile; the snapshot holds the ASL, rules and IAM outputs;
//! - `fixtures/err/<CODE>-*.flow` fail with a diagnostic of that code, every diagnostic with
//!   a help line; the snapshot holds the rendered diagnostics (no colour, 80 columns).
//!
//! Also rejects snapshot files that no test writes, in `snapshots/` (fixtures),
//! `snapshots/cli/` (`tests/cli.rs`) and `tests/snapshots/` (insta's default place), and
//! insta's `.snap.new` / `.pending-snap` leftovers, so the sets only hold live, reviewed ones.

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
    trials.push(Trial::test(
        "cli_snapshots_are_all_referenced",
        check_unreferenced_cli,
    ));
    trials.push(Trial::test(
        "test_snapshots_are_all_referenced",
        check_unreferenced_tests,
    ));
    trials.push(Trial::test("insta_names_follow_insta", check_insta_names));
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
        if d.help.is_none() {
            return Err(format!("{} ({}) has no help", d.code, d.message).into());
        }
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

/// Rejects `snapshots/*.snap` files whose name is not `ok__<stem>` or `err__<stem>` of a
/// fixture, and any directory there other than `cli/`.
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
    let mut stale = unreferenced("snapshots", &live)?;
    stale.retain(|name| name != "cli/");
    report(stale, "snapshots without a fixture")
}

/// Rejects `snapshots/cli/*.snap` files that no `snapshot("<name>", ..)` call in
/// `tests/cli.rs` names (its helper stores them there without a module prefix).
fn check_unreferenced_cli() -> Result<(), Failed> {
    let source = read(&Path::new(ROOT).join("tests/cli.rs"))?;
    let call = regex::Regex::new(r#"\bsnapshot\(\s*"([^"]+)""#).map_err(|e| e.to_string())?;
    let live: Vec<String> = call
        .captures_iter(&source)
        .map(|c| format!("{}.snap", &c[1]))
        .collect();
    report(
        unreferenced("snapshots/cli", &live)?,
        "snapshots/cli files that no snapshot(..) call in tests/cli.rs names",
    )
}

/// Rejects `tests/snapshots/*.snap` files that no insta assertion in `tests/*.rs` writes,
/// and leftover `.pending-snap` files of inline snapshots in `tests/`.
///
/// insta's default naming (no `snapshot_path` setting in these files):
/// `<test file stem>__<name>.snap`, where `<name>` is the assertion's first argument when it
/// is a string literal, otherwise the enclosing test function without a `test_` prefix,
/// followed by `-2`, `-3`, .. for its second, third, .. unnamed assertion.
fn check_unreferenced_tests() -> Result<(), Failed> {
    let mut live = vec![];
    let dir = Path::new(ROOT).join("tests");
    for entry in std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "rs") {
            let source = read(&path)?;
            live.extend(insta_names(&stem(&path), &source));
        }
    }
    let mut stale = unreferenced("tests/snapshots", &live)?;
    stale.extend(leftovers("tests")?);
    report(
        stale,
        "tests/snapshots files that no insta assertion writes",
    )
}

/// The snapshot file names the default-named insta assertions in one test file write.
fn insta_names(module: &str, source: &str) -> Vec<String> {
    let Ok(assert) = regex::Regex::new(r#"\bassert_\w*snapshot!\(\s*(?:"([^"]+)"\s*,)?"#) else {
        return vec![];
    };
    let Ok(func) = regex::Regex::new(r"\bfn\s+(\w+)") else {
        return vec![];
    };
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    let mut names = vec![];
    for c in assert.captures_iter(source) {
        let name = match c.get(1) {
            Some(literal) => literal.as_str().to_string(),
            None => {
                let start = c.get(0).map_or(0, |m| m.start());
                let Some(f) = func.captures_iter(&source[..start]).last() else {
                    continue;
                };
                let f = f[1].strip_prefix("test_").unwrap_or(&f[1]).to_string();
                let n = counts.entry(f.clone()).or_default();
                *n += 1;
                if *n == 1 {
                    f
                } else {
                    format!("{f}-{n}")
                }
            }
        };
        names.push(format!("{module}__{name}.snap"));
    }
    names
}

/// [`insta_names`] on a made-up test file: literal names, function names without `test_`,
/// numbered repeats.
fn check_insta_names() -> Result<(), Failed> {
    let source = r#"
        #[test]
        fn test_one() { insta::assert_snapshot!(a); insta::assert_json_snapshot!(b); }
        #[test]
        fn two() { insta::assert_json_snapshot!("named", c); insta::assert_snapshot!("value"); }
    "#;
    let got = insta_names("m", source);
    let want = [
        "m__one.snap",
        "m__one-2.snap",
        "m__named.snap",
        "m__two.snap",
    ];
    if got == want {
        Ok(())
    } else {
        Err(format!("got {got:?}, want {want:?}").into())
    }
}

fn read(path: &Path) -> Result<String, Failed> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// The entries of `dir` (relative to the crate root) a test does not own: `.snap` files not
/// named in `live`, insta's leftovers (see [`is_leftover`]) and subdirectories (as `name/`).
/// Other files (`.keep`) are left alone.
fn unreferenced(dir: &str, live: &[String]) -> Result<Vec<String>, Failed> {
    let mut stale = vec![];
    for (name, is_dir) in entries(dir)? {
        if is_dir {
            stale.push(format!("{name}/"));
        } else if (name.ends_with(".snap") && !live.contains(&name)) || is_leftover(&name) {
            stale.push(name);
        }
    }
    Ok(stale)
}

/// insta's leftovers directly in `dir`, as `<dir>/<name>`.
fn leftovers(dir: &str) -> Result<Vec<String>, Failed> {
    Ok(entries(dir)?
        .into_iter()
        .filter(|(name, _)| is_leftover(name))
        .map(|(name, _)| format!("{dir}/{name}"))
        .collect())
}

/// Whether `name` is a snapshot insta wrote but nobody accepted: `<name>.snap.new` beside a
/// file snapshot, `.<file>.pending-snap` beside a test with inline snapshots.
fn is_leftover(name: &str) -> bool {
    name.ends_with(".snap.new") || name.ends_with(".pending-snap")
}

/// The entries directly in `dir` (relative to the crate root) as (name, is a directory),
/// sorted by name.
fn entries(dir: &str) -> Result<Vec<(String, bool)>, Failed> {
    let path = Path::new(ROOT).join(dir);
    let mut out: Vec<(String, bool)> = std::fs::read_dir(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.path().is_dir(),
            )
        })
        .collect();
    out.sort();
    Ok(out)
}

fn report(stale: Vec<String>, what: &str) -> Result<(), Failed> {
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{what} (delete them, or accept or reject pending ones with `cargo insta review`): {stale:?}"
        )
        .into())
    }
}
