//! `flowc task` driven step by step on real flows, checking the datastore's keys and content
//! (layout: docs/runtime-layout.md).

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_flowc");

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/ok")
}

/// One run of one flow in a fresh datastore.
struct Run {
    ds: tempfile::TempDir,
    code: PathBuf,
    _code_tmp: Option<tempfile::TempDir>,
    flow: String,
    run: String,
}

impl Run {
    /// A run of a fixture flow (code dir `fixtures/ok`).
    fn fixture(flow: &str, params: Value) -> Run {
        let run = Run {
            ds: tempfile::tempdir().unwrap(),
            code: fixtures(),
            _code_tmp: None,
            flow: flow.into(),
            run: "run-1".into(),
        };
        run.save_parameters(&params);
        run
    }

    /// A run of a flow written to a fresh code dir as `flow.flow`.
    fn custom(flow: &str, source: &str, params: Value) -> Run {
        let code = tempfile::tempdir().unwrap();
        std::fs::write(code.path().join("flow.flow"), source).unwrap();
        let run = Run {
            ds: tempfile::tempdir().unwrap(),
            code: code.path().to_path_buf(),
            _code_tmp: Some(code),
            flow: flow.into(),
            run: "run-1".into(),
        };
        run.save_parameters(&params);
        run
    }

    /// What the state `flowc-SaveParameters` does.
    fn save_parameters(&self, params: &Value) {
        let dir = self.run_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("parameters.json"), params.to_string()).unwrap();
    }

    fn run_dir(&self) -> PathBuf {
        self.ds.path().join(&self.flow).join("runs").join(&self.run)
    }

    fn task_dir(&self, step: &str, index: &str) -> PathBuf {
        let d = self.run_dir().join(step);
        if index.is_empty() {
            d
        } else {
            d.join(index)
        }
    }

    fn task_args(&self, step: &str, index: &str, extra: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "task",
            &self.flow,
            step,
            "--run-id",
            &self.run,
            "--datastore",
        ])
        .arg(self.ds.path())
        .arg("--code-dir")
        .arg(&self.code)
        .args(extra)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("FLOWC_S3_ROOT");
        if !index.is_empty() {
            cmd.args(["--index", index]);
        }
        cmd.output().unwrap()
    }

    fn task(&self, step: &str, index: &str) -> Output {
        self.task_args(step, index, &[])
    }

    /// Runs a task that must succeed.
    fn ok(&self, step: &str, index: &str) -> Output {
        let out = self.task(step, index);
        assert!(
            out.status.success(),
            "task {step}[{index}] failed with {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn json(&self, path: &Path) -> Value {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    /// The task's manifest, its `done.json`.
    fn manifest(&self, step: &str, index: &str) -> Value {
        self.json(&self.task_dir(step, index).join("done.json"))
    }

    fn object(&self, sha: &str) -> Vec<u8> {
        let p = self
            .ds
            .path()
            .join(&self.flow)
            .join("objects/sha256")
            .join(&sha[..2])
            .join(sha);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// Value artifact `name` after the task.
    fn value(&self, step: &str, index: &str, name: &str) -> Option<Value> {
        let m = self.manifest(step, index);
        let sha = m["values"][name]["sha256"].as_str()?;
        Some(serde_json::from_slice(&self.object(sha)).unwrap())
    }

    /// File artifact `name` after the task.
    fn file(&self, step: &str, index: &str, name: &str) -> Option<Vec<u8>> {
        let m = self.manifest(step, index);
        let sha = m["files"][name]["sha256"].as_str()?;
        Some(self.object(sha))
    }

    fn objects(&self) -> Vec<PathBuf> {
        all_files(&self.ds.path().join(&self.flow).join("objects"))
    }
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(all_files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A step that records its whole input as file artifacts (`input.json`, `inputs.json`,
/// `env.txt`) and lists its input files.
const PROBE: &str = r#"cp \"$FLOW_INPUT\" \"$FLOW_OUTPUT_DIR/input.json\"; if [ -n \"${FLOW_INPUTS:-}\" ]; then cp \"$FLOW_INPUTS\" \"$FLOW_OUTPUT_DIR/inputs.json\"; fi; env | grep '^FLOW_' | sort > \"$FLOW_OUTPUT_DIR/env.txt\"; (cd \"$FLOW_INPUT_DIR\" && find . -type f | sort) > \"$FLOW_OUTPUT_DIR/files.txt\""#;

fn probe_json(run: &Run, step: &str, index: &str, name: &str) -> Value {
    serde_json::from_slice(&run.file(step, index, name).unwrap()).unwrap()
}

fn probe_env(run: &Run, step: &str, index: &str) -> String {
    String::from_utf8(run.file(step, index, "env.txt").unwrap()).unwrap()
}

#[test]
fn linear_artifacts_pass_and_nearer_ancestors_override() {
    let run = Run::fixture("Linear", json!({}));
    run.ok("start", "");
    let out = run.ok("double", "");
    assert!(
        stdout(&out).contains("[double] ok: count=1"),
        "{}",
        stdout(&out)
    );
    run.ok("check", "");
    run.ok("end", "");
    assert_eq!(run.value("start", "", "count"), Some(json!(1)));
    assert_eq!(run.value("check", "", "count"), Some(json!(2)));
    assert_eq!(run.value("end", "", "greeting"), Some(json!("hello")));
    // Logs are stored per attempt.
    let log =
        std::fs::read_to_string(run.task_dir("double", "").join("attempt-0.stdout.log")).unwrap();
    assert_eq!(log, "ok: count=1\n");
    // A log the command wrote nothing to is not stored (it reads as empty).
    assert!(!run
        .task_dir("end", "")
        .join("attempt-0.stderr.log")
        .exists());
    // A success ends in done.json: the attempt record stays as the claim wrote it.
    let rec = run.json(&run.task_dir("end", "").join("attempt-0.json"));
    assert_eq!(rec["status"], "running");
    let done = run.json(&run.task_dir("end", "").join("done.json"));
    assert_eq!(done["attempt"], 0);
    assert_eq!(done["started"], rec["started"]);
    assert!(done["ended"].as_str().unwrap() >= rec["started"].as_str().unwrap());
    let meta = run.json(&run.run_dir().join("run.json"));
    assert_eq!(meta["flow"], "Linear");
    assert_eq!(meta["run_id"], "run-1");
    assert_eq!(meta["code_sha256"].as_str().unwrap().len(), 64);
    // Atomic writes leave no temporary file behind.
    let left: Vec<_> = all_files(run.ds.path())
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn parameters_reach_every_task() {
    let run = Run::fixture("Params", json!({"name": "flow"}));
    let out = run.task("start", "");
    // `name` was given as "flow", not the default "world": expect_param.py fails.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let run = Run::fixture("Params", json!({}));
    for s in ["start", "inputs", "end"] {
        run.ok(s, "");
    }
    let log =
        std::fs::read_to_string(run.task_dir("end", "").join("attempt-0.stdout.log")).unwrap();
    assert_eq!(log, "hello \"world\"\n");
}

#[test]
fn an_int_parameter_must_be_an_integer() {
    let run = Run::fixture("Params", json!({"count": 2.5}));
    let out = run.task("start", "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("parameter `count` must be of type int, got 2.5"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn static_split_join_sees_agreed_artifacts_and_all_inputs() {
    let src = format!(
        r#"flow Probe {{
    step start {{ run "printf '{{\"base\": 10, \"shared\": [1]}}' > \"$FLOW_OUTPUT\"" next a, b }}
    step a {{ run "printf '{{\"x\": 1, \"shared\": [1]}}' > \"$FLOW_OUTPUT\"; echo same > \"$FLOW_OUTPUT_DIR/same.txt\"; echo a > \"$FLOW_OUTPUT_DIR/own.txt\"" next join }}
    step b {{ run "printf '{{\"x\": 2, \"only_b\": 3}}' > \"$FLOW_OUTPUT\"; echo same > \"$FLOW_OUTPUT_DIR/same.txt\"; echo b > \"$FLOW_OUTPUT_DIR/own.txt\"" next join }}
    step join {{ run "{PROBE}" next end }}
    step end {{ run "true" }}
}}"#
    );
    let run = Run::custom("Probe", &src, json!({}));
    for s in ["start", "a", "b", "join", "end"] {
        run.ok(s, "");
    }
    assert_eq!(
        probe_json(&run, "join", "", "input.json"),
        json!({"base": 10, "shared": [1]})
    );
    assert_eq!(
        probe_json(&run, "join", "", "inputs.json"),
        json!([
            {"base": 10, "shared": [1], "x": 1},
            {"base": 10, "shared": [1], "x": 2, "only_b": 3}
        ])
    );
    let files = String::from_utf8(run.file("join", "", "files.txt").unwrap()).unwrap();
    assert_eq!(files, "./same.txt\n");
    assert!(probe_env(&run, "join", "").contains("FLOW_INPUTS="));
    // The join's manifest keeps only the agreed artifacts.
    assert_eq!(run.value("end", "", "x"), None);
    assert_eq!(run.value("end", "", "base"), Some(json!(10)));
}

#[test]
fn branch_join_fixture_runs() {
    let run = Run::fixture("BranchFlow", json!({}));
    for s in ["start", "a", "b", "join", "end"] {
        run.ok(s, "");
    }
    assert_eq!(run.value("join", "", "xs"), Some(json!([1, 2])));
    assert_eq!(run.value("join", "", "total"), Some(json!(3)));
}

#[test]
fn foreach_over_a_parameter() {
    let run = Run::fixture("ForeachParam", json!({"numbers": [1, 2, 3, 4]}));
    run.ok("start", "");
    assert_eq!(
        run.json(&run.task_dir("start", "").join("foreach.json")),
        json!([0, 1, 2, 3])
    );
    for i in 0..4 {
        run.ok("square", &i.to_string());
    }
    assert_eq!(run.value("square", "2", "square"), Some(json!(9)));
    run.ok("join", "");
    run.ok("end", "");
    assert_eq!(run.value("end", "", "squares"), Some(json!([1, 4, 9, 16])));
}

#[test]
fn foreach_over_an_artifact_gives_item_and_index() {
    let src = format!(
        r#"flow Items {{
    step start {{ run ["python3", "-c", "import json,os; json.dump({{'xs': ['p', 'q', 'r']}}, open(os.environ['FLOW_OUTPUT'], 'w'))"] next body foreach xs }}
    step body {{ run "{PROBE}" next join }}
    step join {{ run "{PROBE}" next end }}
    step end {{ run "true" }}
}}"#
    );
    let run = Run::custom("Items", &src, json!({}));
    run.ok("start", "");
    assert_eq!(
        run.json(&run.task_dir("start", "").join("foreach.json")),
        json!([0, 1, 2])
    );
    for i in 0..3 {
        run.ok("body", &i.to_string());
    }
    let env = probe_env(&run, "body", "1");
    assert!(env.contains("FLOW_ITEM=\"q\"\n"), "{env}");
    assert!(env.contains("FLOW_ITEM_INDEX=1\n"), "{env}");
    assert!(env.contains("FLOW_TASK_ID=body-1\n"), "{env}");
    assert!(env.contains("FLOW_STEP=body\n"), "{env}");
    assert!(env.contains("FLOW_NAME=Items\n"), "{env}");
    assert!(env.contains("FLOW_RUN_ID=run-1\n"), "{env}");
    assert!(env.contains("FLOW_ATTEMPT=0\n"), "{env}");
    assert!(!env.contains("FLOW_INPUTS="), "{env}");
    run.ok("join", "");
    let join_env = probe_env(&run, "join", "");
    assert!(!join_env.contains("FLOW_ITEM"), "{join_env}");
    assert_eq!(
        probe_json(&run, "join", "", "inputs.json")
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Outside the body the index is refused, inside it is required.
    let out = run.task("body", "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--index needs 1 indices"),
        "{}",
        stderr(&out)
    );
    let out = run.task("body", "7");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("item index 7 is out of range"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn foreach_artifact_fixture_runs() {
    let run = Run::fixture("ForeachFlow", json!({}));
    run.ok("start", "");
    for i in 0..3 {
        run.ok("a", &i.to_string());
    }
    run.ok("join", "");
    run.ok("end", "");
    assert_eq!(run.value("a", "1", "title"), Some(json!("HOUSE OF CARDS")));
}

#[test]
fn nested_foreach_uses_index_paths() {
    let run = Run::fixture("NestedForeach", json!({"groups": [[1, 2], [3]]}));
    run.ok("start", "");
    run.ok("per_group", "0");
    run.ok("per_group", "1");
    assert_eq!(
        run.json(&run.task_dir("per_group", "0").join("foreach.json")),
        json!([0, 1])
    );
    assert_eq!(
        run.json(&run.task_dir("per_group", "1").join("foreach.json")),
        json!([0])
    );
    for idx in ["0.0", "0.1", "1.0"] {
        run.ok("square", idx);
    }
    run.ok("sum_group", "0");
    run.ok("sum_group", "1");
    run.ok("total", "");
    run.ok("end", "");
    assert_eq!(run.value("square", "0.1", "square"), Some(json!(4)));
    assert_eq!(run.value("total", "", "totals"), Some(json!([5, 9])));
}

#[test]
fn split_inside_foreach() {
    let run = Run::fixture("SplitInForeach", json!({"items": [1, 2, 3]}));
    run.ok("start", "");
    for i in ["0", "1", "2"] {
        for s in ["body", "left", "right", "merge"] {
            run.ok(s, i);
        }
    }
    run.ok("gather", "");
    run.ok("end", "");
    assert_eq!(run.value("gather", "", "all"), Some(json!([2, 8, 18])));
}

#[test]
fn switch_writes_its_value_and_the_case_that_ran_is_the_input() {
    let run = Run::fixture("Switch", json!({"size": 500}));
    run.ok("start", "");
    assert_eq!(
        run.json(&run.task_dir("start", "").join("switch.json")),
        json!("large")
    );
    run.ok("large_job", "");
    run.ok("report", "");
    run.ok("end", "");
    assert_eq!(run.value("end", "", "ran"), Some(json!("large")));
}

#[test]
fn switch_on_a_parameter_with_a_case_going_straight_on() {
    let run = Run::fixture("SwitchParam", json!({"target": "b"}));
    run.ok("start", "");
    assert_eq!(
        run.json(&run.task_dir("start", "").join("switch.json")),
        json!("b")
    );
    run.ok("path_b", "");
    run.ok("end", "");
    // Case "c" goes from start straight to end.
    let run = Run::fixture("SwitchParam", json!({"target": "c"}));
    run.ok("start", "");
    let out = run.task("end", "");
    // end's input comes from start (target=c), not from path_a/path_b: expect.py then fails
    // on `target` before reaching `chosen`.
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("artifact 'target' is 'c', expected 'b'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn switch_inside_a_branch() {
    let run = Run::fixture("SwitchInBranch", json!({}));
    for s in [
        "start",
        "checked",
        "fast_path",
        "checked_done",
        "plain",
        "join",
        "end",
    ] {
        run.ok(s, "");
    }
    assert_eq!(run.value("join", "", "total"), Some(json!(3)));
}

#[test]
fn file_artifacts_cross_steps() {
    let run = Run::fixture("FileArtifacts", json!({}));
    run.ok("start", "");
    run.ok("check", "");
    let out = run.ok("end", "");
    assert!(stdout(&out).contains("greeting.txt"));
    assert_eq!(
        run.file("end", "", "greeting.txt").unwrap(),
        b"hello from start\n"
    );
}

#[test]
fn flow_output_must_be_an_object() {
    let src = r#"flow Bad {
    step start { run "echo '[1, 2]' > \"$FLOW_OUTPUT\"" next end }
    step end { run "echo 'not json' > \"$FLOW_OUTPUT\"" }
}"#;
    let run = Run::custom("Bad", src, json!({}));
    let out = run.task("start", "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "step `start`: FLOW_OUTPUT must hold a JSON object of artifacts, found an array"
        ),
        "{}",
        stderr(&out)
    );
    assert!(!run.task_dir("start", "").join("done.json").exists());
    let rec = run.json(&run.task_dir("start", "").join("attempt-0.json"));
    assert_eq!(rec["status"], "failed");
    assert!(rec["error"].as_str().unwrap().contains("FLOW_OUTPUT"));
}

#[test]
fn failures_keep_the_exit_code_and_retries_count_attempts() {
    let run = Run::fixture("Retry", json!({}));
    for n in 0..2 {
        let out = run.task("start", "");
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let log = std::fs::read_to_string(
            run.task_dir("start", "")
                .join(format!("attempt-{n}.stderr.log")),
        )
        .unwrap();
        assert!(
            log.contains(&format!("failing on purpose at attempt {n}")),
            "{log}"
        );
    }
    run.ok("start", "");
    assert_eq!(
        run.json(&run.task_dir("start", "").join("done.json"))["attempt"],
        2
    );
    run.ok("all_arguments", "");
    assert_eq!(run.value("all_arguments", "", "attempts"), Some(json!(2)));
    let src = r#"flow Exit { step start { run "echo out; echo err >&2; exit 7" next end } step end { run "true" } }"#;
    let run = Run::custom("Exit", src, json!({}));
    let out = run.task_args("start", "", &["--attempt", "4"]);
    assert_eq!(out.status.code(), Some(7));
    assert!(stdout(&out).contains("[start] out"));
    assert!(stderr(&out).contains("[start] err"));
    let rec = run.json(&run.task_dir("start", "").join("attempt-4.json"));
    assert_eq!(
        (rec["status"].clone(), rec["exit_code"].clone()),
        (json!("failed"), json!(7))
    );
    // The successor of a failed task without @catch cannot start.
    let out = run.task("end", "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has not succeeded"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn caught_failures_pass_on_the_error_artifact() {
    let run = Run::fixture("Catch", json!({}));
    run.ok("start", "");
    let out = run.task("flaky", "");
    assert_eq!(out.status.code(), Some(3));
    // What the state flaky-RecordError writes.
    std::fs::write(
        run.task_dir("flaky", "").join("error.json"),
        r#"{"Error": "States.TaskFailed", "Cause": "exit 3"}"#,
    )
    .unwrap();
    run.ok("check_error", "");
    assert_eq!(
        run.value("check_error", "", "flaky_error"),
        Some(json!({"error": "States.TaskFailed", "cause": "exit 3"}))
    );
    assert_eq!(run.task("quiet", "").status.code(), Some(1));
    run.ok("end", "");
    assert!(run.value("end", "", "flaky_error").is_some());
}

#[test]
fn names_cannot_escape_the_datastore() {
    let src = r#"flow Esc {
    step start { run "printf '{\"../up\": 1}' > \"$FLOW_OUTPUT\"" next end }
    step end { run "true" }
}"#;
    let run = Run::custom("Esc", src, json!({}));
    let out = run.task("start", "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("artifact name `../up`"),
        "{}",
        stderr(&out)
    );
    let link = r#"flow Link {
    step start { run "ln -s /etc/hostname \"$FLOW_OUTPUT_DIR/link\"" next end }
    step end { run "true" }
}"#;
    let link_run = Run::custom("Link", link, json!({}));
    let out = link_run.task("start", "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("file artifact `link`"),
        "{}",
        stderr(&out)
    );
    assert!(!link_run.task_dir("start", "").join("done.json").exists());
    let mut bad_run = Run::custom("Esc", src, json!({}));
    bad_run.run = "../../escaped".into();
    let out = bad_run.task("start", "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid run id `../../escaped`"),
        "{}",
        stderr(&out)
    );
    let out = run.task("../start", "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("has no step `../start`"),
        "{}",
        stderr(&out)
    );
    let out = run.task("start", "../1");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid --index"), "{}", stderr(&out));
    // Nothing was written outside the datastore's flow folder.
    let top: Vec<_> = std::fs::read_dir(run.ds.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(top, vec![std::ffi::OsString::from("Esc")]);
}

#[test]
fn objects_are_deduplicated() {
    let src = r#"flow Dedup {
    step start { run "printf '{\"a\": [1, 2], \"b\": [1, 2]}' > \"$FLOW_OUTPUT\"; echo hi > \"$FLOW_OUTPUT_DIR/f\"" next again }
    step again { run "printf '{\"c\": [1, 2]}' > \"$FLOW_OUTPUT\"; echo hi > \"$FLOW_OUTPUT_DIR/g\"" next end }
    step end { run "true" }
}"#;
    let run = Run::custom("Dedup", src, json!({}));
    for s in ["start", "again", "end"] {
        run.ok(s, "");
    }
    // One object for [1,2], one for the file content.
    assert_eq!(run.objects().len(), 2, "{:?}", run.objects());
    let m = run.manifest("end", "");
    assert_eq!(m["values"]["a"], m["values"]["c"]);
    assert_eq!(m["files"]["f"], m["files"]["g"]);
    // A second run in the same datastore shares the objects.
    let mut run = run;
    run.run = "run-2".into();
    run.save_parameters(&json!({}));
    for s in ["start", "again", "end"] {
        run.ok(s, "");
    }
    assert_eq!(run.objects().len(), 2, "{:?}", run.objects());
    assert!(run.task_dir("end", "").join("done.json").is_file());
}

#[test]
fn s3_datastore_maps_to_a_local_folder() {
    let run = Run::fixture("Linear", json!({}));
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("bucket/prefix/Linear/runs/run-1");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("parameters.json"), "{}").unwrap();
    let out = Command::new(BIN)
        .args([
            "task",
            "Linear",
            "start",
            "--run-id",
            "run-1",
            "--datastore",
            "s3://bucket/prefix",
        ])
        .arg("--code-dir")
        .arg(&run.code)
        .env("FLOWC_S3_ROOT", root.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.join("start/done.json").is_file());
    let out = Command::new(BIN)
        .args([
            "task",
            "Linear",
            "start",
            "--run-id",
            "run-1",
            "--datastore",
            "s3://bucket/prefix",
        ])
        .arg("--code-dir")
        .arg(&run.code)
        .env_remove("FLOWC_S3_ROOT")
        // Without FLOWC_S3_ROOT the S3 store is used: an endpoint nobody listens on makes
        // the first read fail, naming the object.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("s3://bucket/prefix/Linear/runs/run-1/parameters.json"),
        "{err}"
    );
}

#[test]
fn missing_parameters_json_is_a_clear_error() {
    let run = Run::fixture("Linear", json!({}));
    std::fs::remove_file(run.run_dir().join("parameters.json")).unwrap();
    let out = run.task("start", "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("parameters.json does not exist"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn foreach_over_an_empty_array_joins_zero_inputs() {
    let src = format!(
        r#"flow Empty {{
    param xs: json = []
    step start {{ run "printf '{{\"seen\": true}}' > \"$FLOW_OUTPUT\"" next body foreach xs }}
    step body {{ run "true" next join }}
    step join {{ run "{PROBE}" next end }}
    step end {{ run "true" }}
}}"#
    );
    let run = Run::custom("Empty", &src, json!({}));
    run.ok("start", "");
    assert_eq!(
        run.json(&run.task_dir("start", "").join("foreach.json")),
        json!([])
    );
    run.ok("join", "");
    assert_eq!(probe_json(&run, "join", "", "inputs.json"), json!([]));
    assert_eq!(
        probe_json(&run, "join", "", "input.json"),
        json!({"xs": [], "seen": true})
    );
}

#[test]
fn a_caught_foreach_split_gives_its_join_zero_inputs() {
    let src = format!(
        r#"flow CaughtSplit {{
    param xs: json = [1, 2]
    step start {{ run "printf '{{\"a\": 1}}' > \"$FLOW_OUTPUT\"" next split }}
    @catch(var="split_error")
    step split {{ run "exit 4" next body foreach xs }}
    step body {{ run "true" next join }}
    step join {{ run "{PROBE}" next end }}
    step end {{ run "true" }}
}}"#
    );
    let run = Run::custom("CaughtSplit", &src, json!({}));
    run.ok("start", "");
    assert_eq!(run.task("split", "").status.code(), Some(4));
    assert!(!run.task_dir("split", "").join("foreach.json").exists());
    std::fs::write(
        run.task_dir("split", "").join("error.json"),
        r#"{"Error": "States.TaskFailed", "Cause": "exit 4"}"#,
    )
    .unwrap();
    run.ok("join", "");
    assert_eq!(probe_json(&run, "join", "", "inputs.json"), json!([]));
    assert_eq!(
        probe_json(&run, "join", "", "input.json"),
        json!({"xs": [1, 2], "a": 1, "split_error": {"error": "States.TaskFailed", "cause": "exit 4"}})
    );
}

#[test]
fn a_foreach_longer_than_max_items_fails_its_split() {
    let src = r#"flow Max {
    param xs: json = [1, 2, 3]
    @foreach(max_items=2)
    step start { run "true" next body foreach xs }
    step body { run "true" next join }
    step join { run "true" next end }
    step end { run "true" }
}"#;
    let run = Run::custom("Max", src, json!({}));
    let out = run.task("start", "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("foreach over `xs` has 3 items, more than @foreach(max_items=2)"),
        "{}",
        stderr(&out)
    );
    assert!(!run.task_dir("start", "").join("foreach.json").exists());
    let run = Run::custom("Max", src, json!({"xs": "no"}));
    let out = run.task("start", "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("which is a string, not a JSON array"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn inherited_files_are_read_only_and_nested_paths_work() {
    let src = r#"flow Files {
    step start { run "mkdir -p \"$FLOW_OUTPUT_DIR/sub\" && echo deep > \"$FLOW_OUTPUT_DIR/sub/f.txt\"" next end }
    step end { run "cat \"$FLOW_INPUT_DIR/sub/f.txt\" && stat -c 'mode %a' \"$FLOW_INPUT_DIR/sub/f.txt\"" }
}"#;
    let run = Run::custom("Files", src, json!({}));
    run.ok("start", "");
    let out = run.ok("end", "");
    assert!(stdout(&out).contains("[end] deep"), "{}", stdout(&out));
    // Read-only mode bits (root could still write, so the bits are what is checked).
    assert!(stdout(&out).contains("[end] mode 444"), "{}", stdout(&out));
    assert_eq!(run.file("end", "", "sub/f.txt").unwrap(), b"deep\n");
}

#[test]
fn an_unknown_step_gets_a_suggestion() {
    let run = Run::fixture("Linear", json!({}));
    let out = run.task("doubel", "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("flow `Linear` has no step `doubel` (did you mean `double`?)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_flow_file_path_sets_the_code_dir_and_the_default_datastore() {
    let code = tempfile::tempdir().unwrap();
    std::fs::write(code.path().join("marker.txt"), "here\n").unwrap();
    let src =
        r#"flow Path { step start { run "cat marker.txt" next end } step end { run "true" } }"#;
    let file = code.path().join("p.flow");
    std::fs::write(&file, src).unwrap();
    let runs = code.path().join(".flowc/Path/runs/r");
    std::fs::create_dir_all(&runs).unwrap();
    std::fs::write(runs.join("parameters.json"), "{}").unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("task")
        .arg(&file)
        .args(["start", "--run-id", "r", "--no-prefix"])
        .current_dir(elsewhere.path())
        .env_remove("FLOWC_CODE_DIR")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "here\n");
    assert!(runs.join("start/done.json").is_file());
}

#[test]
fn sigterm_reaches_the_command_and_the_attempt_is_recorded() {
    let src = r#"flow Term {
    step start { run "trap 'echo got term; exit 42' TERM; touch ready; while true; do sleep 0.1; done" next end }
    step end { run "true" }
}"#;
    let run = Run::custom("Term", src, json!({}));
    let mut child = Command::new(BIN)
        .args(["task", "Term", "start", "--run-id", &run.run, "--datastore"])
        .arg(run.ds.path())
        .arg("--code-dir")
        .arg(&run.code)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ready = run.code.join("ready");
    for _ in 0..200 {
        if ready.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ready.exists(), "the command did not start");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(42));
    let rec = run.json(&run.task_dir("start", "").join("attempt-0.json"));
    assert_eq!(rec["status"], "failed");
    assert_eq!(rec["exit_code"], 42);
    let log =
        std::fs::read_to_string(run.task_dir("start", "").join("attempt-0.stdout.log")).unwrap();
    assert_eq!(log, "got term\n");
}

#[test]
fn run_metadata_takes_the_code_hash_from_the_environment() {
    let src = r#"flow Meta { param p: int = 1 step start { run "true" next end } step end { run "true" } }"#;
    let run = Run::custom("Meta", src, json!({}));
    let out = Command::new(BIN)
        .args(["task", "Meta", "start", "--run-id", &run.run, "--datastore"])
        .arg(run.ds.path())
        .arg("--code-dir")
        .arg(&run.code)
        .env("FLOWC_CODE_SHA256", "feed")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let meta = run.json(&run.run_dir().join("run.json"));
    assert_eq!(meta["code_sha256"], "feed");
    assert_eq!(meta["parameters"], json!({"p": 1}));
    assert_eq!(meta["status"], "running");
}

#[test]
fn file_artifact_names_must_be_utf8() {
    let src = r#"flow Bytes {
    step start { run "touch \"$FLOW_OUTPUT_DIR/$(printf 'a\\377')\"" next end }
    step end { run "true" }
}"#;
    let run = Run::custom("Bytes", src, json!({}));
    let out = run.task("start", "");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("must be UTF-8"), "{}", stderr(&out));
}
