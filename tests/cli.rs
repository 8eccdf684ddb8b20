//! Drives the real `flowc` binary: exit codes, output files, options, help text.

use std::path::Path;
use std::process::{Command, Output};

const SPEC_EXAMPLE: &str = "fixtures/ok/spec_example.flow";

fn flowc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the flowc binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts `content` against `snapshots/cli/<name>.snap`. Pass `name` as a string literal at
/// the call: `tests/fixtures.rs` finds the live snapshot names by those literals.
fn snapshot(name: &str, content: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/cli"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, content));
}

/// The first invalid fixture whose name starts with `prefix`.
fn err_fixture(prefix: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/err");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".flow"))
        .collect();
    names.sort();
    format!(
        "fixtures/err/{}",
        names.first().expect("a fixture with that prefix")
    )
}

/// The help text `flowc <args>` prints on stdout, asserting it exits 0.
fn help(args: &[&str]) -> String {
    let out = flowc(args);
    assert!(out.status.success());
    text(&out.stdout)
}

#[test]
fn help_texts() {
    snapshot("help", &help(&["--help"]));
    snapshot("help_compile", &help(&["compile", "--help"]));
    snapshot("help_check", &help(&["check", "--help"]));
}

#[test]
fn check_valid_flow_exits_0() {
    let out = flowc(&["check", SPEC_EXAMPLE]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn check_invalid_flow_exits_1_with_code() {
    let fixture = err_fixture("E03");
    let out = flowc(&["check", &fixture]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("flowc::E03"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "NO_COLOR output has no escape codes"
    );
}

/// Runs `flowc <args>` under a pseudo-terminal (util-linux `script`), so that its stderr is a
/// terminal as in an interactive shell, with `NO_COLOR` set to `no_color` (unset if `None`).
/// Returns the terminal's output (stdout and stderr together), or `None` if `script` is not
/// installed.
fn flowc_on_terminal(args: &[&str], no_color: Option<&str>) -> Option<String> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let command: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_flowc"))
        .chain(args.iter().copied())
        .map(quote)
        .collect();
    let mut script = Command::new("script");
    script
        .args(["-qec", &command.join(" "), "/dev/null"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR");
    if let Some(value) = no_color {
        script.env("NO_COLOR", value);
    }
    match script.output() {
        Ok(out) => Some(text(&out.stdout)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("script runs: {e}"),
    }
}

#[test]
fn diagnostics_are_coloured_on_a_terminal_unless_no_color() {
    let fixture = err_fixture("E0204");
    let args = ["check", fixture.as_str()];
    let Some(coloured) = flowc_on_terminal(&args, None) else {
        eprintln!(
            "SKIPPED: `script` (util-linux) is not installed; no pseudo-terminal to test colour on"
        );
        return;
    };
    assert!(coloured.contains("flowc::E0204"), "{coloured}");
    assert!(
        coloured.contains("\u{1b}["),
        "a terminal gets ANSI colours: {coloured:?}"
    );
    // no-color.org: set and not empty disables colour; empty is as if unset.
    let plain = flowc_on_terminal(&args, Some("1")).unwrap_or_default();
    assert!(plain.contains("flowc::E0204"), "{plain}");
    assert!(
        !plain.contains('\u{1b}'),
        "NO_COLOR=1 gives no escapes: {plain:?}"
    );
    let empty = flowc_on_terminal(&args, Some("")).unwrap_or_default();
    assert!(
        empty.contains("\u{1b}["),
        "an empty NO_COLOR is ignored: {empty:?}"
    );
}

#[test]
fn check_missing_file_exits_2() {
    let out = flowc(&["check", "no/such/file.flow"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read no/such/file.flow"));
}

#[test]
fn error_format_json_is_one_object_per_diagnostic() {
    let fixture = err_fixture("E03");
    let out = flowc(&["check", "--error-format", "json", &fixture]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = text(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert!(!lines.is_empty());
    for d in &lines {
        assert!(d["code"].as_str().unwrap().starts_with("flowc::E"));
        assert_eq!(d["file"], fixture.as_str());
        assert!(d["labels"][0]["line"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn compile_error_format_json_is_one_object_per_diagnostic() {
    // Two diagnostics: `run` as a step name in `next run` and in `step run`.
    let fixture = err_fixture("E0105");
    let out = flowc(&["compile", "--error-format", "json", &fixture]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "no ASL for an invalid flow");
    let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&fixture))
        .expect("the fixture reads");
    let expected = match flowc::driver::build(&source, &Default::default()) {
        Err(diags) => diags.len(),
        Ok(_) => panic!("{fixture} compiles"),
    };
    let lines: Vec<serde_json::Value> = text(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} is not JSON: {e}")))
        .collect();
    assert_eq!(lines.len(), expected, "one line per diagnostic");
    assert!(expected >= 2, "the fixture gives several diagnostics");
    for d in &lines {
        assert_eq!(d["code"], "flowc::E0105");
        assert_eq!(d["severity"], "error");
        assert_eq!(d["file"], fixture.as_str());
        let label = &d["labels"][0];
        let (start, end) = (label["start"].as_u64(), label["end"].as_u64());
        let span = start.zip(end).map(|(s, e)| &source[s as usize..e as usize]);
        assert_eq!(span, Some("run"), "the label spans the keyword: {d}");
        assert!(label["line"].as_u64().is_some_and(|l| l >= 1), "{d}");
        assert!(label["column"].as_u64().is_some_and(|c| c >= 1), "{d}");
    }
}

#[test]
fn compile_prints_asl_on_stdout() {
    let out = flowc(&["compile", SPEC_EXAMPLE]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let asl: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is the ASL JSON");
    assert!(asl["States"].is_object() && asl["StartAt"].is_string());
}

#[test]
fn compile_writes_selected_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = flowc(&[
        "compile",
        SPEC_EXAMPLE,
        "-o",
        d,
        "--emit",
        "asl,rules,iam,ir",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for suffix in ["asl", "rules", "iam", "ir"] {
        let path = dir.path().join(format!("CountryModels.{suffix}.json"));
        let body =
            std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} written", path.display()));
        serde_json::from_str::<serde_json::Value>(&body).expect("valid JSON");
    }
    let only = tempfile::tempdir().unwrap();
    let out = flowc(&[
        "compile",
        SPEC_EXAMPLE,
        "-o",
        only.path().to_str().unwrap(),
        "--emit",
        "iam",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let files: Vec<_> = std::fs::read_dir(only.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        files,
        vec![std::ffi::OsString::from("CountryModels.iam.json")]
    );
}

#[test]
fn compile_is_byte_identical_across_runs() {
    let a = flowc(&["compile", SPEC_EXAMPLE]);
    let b = flowc(&["compile", SPEC_EXAMPLE]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn deploy_values_come_from_flags_and_flowc_toml() {
    let dir = tempfile::tempdir().unwrap();
    let flow = dir.path().join("f.flow");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEC_EXAMPLE),
        &flow,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("flowc.toml"),
        "[deploy]\njob_queue = \"queue-from-toml\"\ndatastore = \"s3://bkt/pre\"\n",
    )
    .unwrap();
    let flow = flow.to_str().unwrap();
    let out = flowc(&["compile", flow, "--with", "batch:queue=unused"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let asl = text(&out.stdout);
    assert!(
        asl.contains("bkt"),
        "datastore bucket from flowc.toml reaches the ASL"
    );
    let out = flowc(&["compile", flow, "--datastore", "s3://flagbucket/p"]);
    assert!(
        text(&out.stdout).contains("flagbucket"),
        "the flag overrides flowc.toml"
    );
}

/// `flowc <args>` run in `dir` (no colour), as [`flowc`] runs in the crate root.
fn flowc_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the flowc binary runs")
}

/// The stderr of a usage error (exit 2, nothing on stdout), with `dir` written `[TMP]` so
/// that a snapshot does not depend on where temporary files go.
fn usage_error(out: &Output, dir: &Path) -> String {
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "no output after a usage error");
    text(&out.stderr).replace(&dir.display().to_string(), "[TMP]")
}

#[test]
fn bad_with_is_a_usage_error() {
    let out = flowc(&["compile", SPEC_EXAMPLE, "--with", "retry:times"]);
    let stderr = usage_error(&out, Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(stderr.contains("flowc::E0601"), "{stderr}");
    snapshot("E0601_malformed_with", &stderr);
}

#[test]
fn bad_flowc_toml_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEC_EXAMPLE),
        dir.path().join("f.flow"),
    )
    .unwrap();
    std::fs::write(dir.path().join("flowc.toml"), "[deploy]\nqueue = \"x\"\n").unwrap();
    let out = flowc_in(dir.path(), &["compile", "f.flow"]);
    let stderr = usage_error(&out, dir.path());
    assert!(stderr.contains("flowc::E0602"), "{stderr}");
    snapshot("E0602_bad_flowc_toml", &stderr);
}
#[test]
fn explain_known_and_unknown_codes() {
    let out = flowc(&["explain", "flowc::E0601"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("--with"));
    let out = flowc(&["explain", "E9999"]);
    assert_eq!(out.status.code(), Some(2));
    let out = flowc(&["explain"]);
    assert!(text(&out.stdout).lines().count() >= 2);
}

/// A flow with `n` steps in a line, whose ASL is far larger than a pipe buffer.
fn long_flow(n: usize) -> String {
    let mut s = String::from("flow Long {\nstep start { run \"a\" next s0 }\n");
    for i in 0..n {
        let next = if i + 1 < n {
            format!("s{}", i + 1)
        } else {
            "end".into()
        };
        s += &format!("step s{i} {{ run \"a\" next {next} }}\n");
    }
    s + "step end { run \"e\" }\n}\n"
}

#[test]
fn compile_to_a_closed_pipe_exits_quietly() {
    use std::process::Stdio;
    let dir = std::env::temp_dir().join(format!("flowc-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("Long.flow");
    std::fs::write(&file, long_flow(400)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .arg("compile")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the flowc binary runs");
    drop(child.stdout.take()); // the reader goes away, as `| head -c 0` does
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_missing_config_file_is_a_usage_error() {
    let out = flowc(&["compile", SPEC_EXAMPLE, "--config", "no/such/flowc.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read no/such/flowc.toml"));
    assert!(out.stdout.is_empty());
}

#[test]
fn max_workers_zero_is_rejected() {
    // ASL reads `MaxConcurrency: 0` as unlimited, the opposite of what 0 workers suggests.
    let out = flowc(&["compile", SPEC_EXAMPLE, "--max-workers", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn check_reports_every_file_even_after_an_unreadable_one() {
    let bad = err_fixture("E0204");
    let out = flowc(&["check", "no/such.flow", &bad]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an I/O error outranks user errors"
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cannot read no/such.flow"), "{stderr}");
    assert!(stderr.contains("flowc::E0204"), "{stderr}");
}

#[test]
fn a_datastore_that_is_not_s3_is_a_usage_error() {
    let out = flowc(&["compile", SPEC_EXAMPLE, "--datastore", "file:///tmp/runs"]);
    let stderr = usage_error(&out, Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(stderr.contains("flowc::E0603"), "{stderr}");
    snapshot("E0603_datastore_not_s3", &stderr);
}

/// `flowc runs FLOW` lists a deployed flow's executions; without AWS set up it says so and
/// names `--local`, which lists the runs of `flowc interpret`.
#[test]
fn runs_of_a_flow_without_aws_settings_points_at_local() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowc"));
    cmd.args(["runs", "fixtures/ok/helloworld.flow"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for var in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "FLOWC_REGION",
        "AWS_PROFILE",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().expect("the flowc binary runs");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("error: no AWS region"), "{err}");
    assert!(
        err.contains("`flowc runs --local fixtures/ok/helloworld.flow`"),
        "{err}"
    );
}

#[test]
fn runs_lists_local_runs() {
    let ds = tempfile::tempdir().unwrap();
    let ds = ds.path().to_str().unwrap();
    let flow = "fixtures/ok/helloworld.flow";
    let out = flowc(&[
        "interpret",
        flow,
        "--datastore",
        ds,
        "--run-id",
        "r1",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = flowc(&["runs", "--datastore", ds]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    let fields: Vec<&str> = listing
        .lines()
        .next()
        .unwrap_or_default()
        .split('\t')
        .collect();
    assert_eq!(fields[..3], ["r1", "HelloFlow", "succeeded"], "{listing}");
    let out = flowc(&["runs", "--datastore", ds, "--status", "failed"]);
    assert_eq!(text(&out.stdout), "", "no failed runs");
}
