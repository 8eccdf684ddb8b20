//! End to end: `flowc interpret FLOW` runs real flows (Python and shell steps following the
//! runtime contract) and each test checks the artifacts in the datastore, not only the exit
//! code. Flows of `fixtures/ok/` run in place with a temporary `--datastore`; flows of
//! `fixtures/run/` run in a temporary copy (some tests edit a script between a run and its
//! `--resume`, as a user fixing a step would). The virtual clock makes retry waits instant.

use flowc::runtime::{attempt_record_number, Datastore, IndexPath, LocalStore, TaskAddr};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_flowc");

fn fixtures(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(sub)
}

/// A copy of `fixtures/run` in a temporary folder.
fn run_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures("run"), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

fn command(flow: &Path, ds: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("interpret")
        .arg(flow)
        .arg("--datastore")
        .arg(ds)
        .args(["--clock", "virtual", "--max-workers", "4"])
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    c
}

/// Runs `flowc interpret FLOW --json …`; returns the JSON result (Null when none) and the
/// process output.
fn interpret(flow: &Path, ds: &Path, args: &[&str]) -> (Value, Output) {
    let out = command(flow, ds, args).arg("--json").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v = text
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    if let (Some(flow), Some(run)) = (v["flow"].as_str(), v["run_id"].as_str()) {
        task_statuses_are_what_the_store_holds(ds, flow, run);
    }
    (v, out)
}

/// The status of every task that `run.json` records at the end of a run (an in-process run
/// takes them from what it wrote) is what listing the run's folder finds.
fn task_statuses_are_what_the_store_holds(ds: &Path, flow: &str, run: &str) {
    let meta = read_json(&run_dir(ds, flow, run).join("run.json"));
    let listed = store(ds, flow).task_statuses(run).unwrap();
    assert!(!listed.is_empty(), "run {run} of {flow} recorded no task");
    assert_eq!(meta["tasks"], json!(listed), "run {run} of {flow}");
}

/// Runs and asserts the run succeeded; returns the run id.
fn succeed(flow: &Path, ds: &Path, args: &[&str]) -> String {
    let (v, out) = interpret(flow, ds, args);
    assert_eq!(
        v["status"],
        "succeeded",
        "{}: {v}\nstderr:\n{}",
        flow.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    v["run_id"].as_str().unwrap().to_string()
}

fn store(ds: &Path, flow: &str) -> Datastore {
    Datastore::new(Box::new(LocalStore::new(ds)), flow).unwrap()
}

fn addr(task: &str) -> TaskAddr {
    let (step, index) = task.split_once('/').unwrap_or((task, ""));
    TaskAddr {
        step: step.into(),
        index: IndexPath::parse(index).unwrap(),
    }
}

/// The value artifacts visible after `task` (`STEP` or `STEP/INDEX`) succeeded.
fn artifacts(ds: &Path, flow: &str, run: &str, task: &str) -> Map<String, Value> {
    let d = store(ds, flow);
    let arts = d
        .done_artifacts(run, &addr(task))
        .unwrap()
        .unwrap_or_else(|| panic!("task {task} of {flow} run {run} did not succeed"));
    arts.values
        .iter()
        .map(|(k, r)| (k.clone(), d.get_value(r).unwrap()))
        .collect()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn run_dir(ds: &Path, flow: &str, run: &str) -> PathBuf {
    ds.join(flow).join("runs").join(run)
}

fn ok_flow(name: &str) -> PathBuf {
    fixtures("ok").join(name)
}

/// A new temporary folder holding one flow file, `name` with `text`; returns both.
fn flow_in_tempdir(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let flow = dir.path().join(name);
    std::fs::write(&flow, text).unwrap();
    (dir, flow)
}

#[test]
fn spec_example_runs_with_its_scripts() {
    let ds = tempfile::tempdir().unwrap();
    let run = succeed(
        &ok_flow("spec_example.flow"),
        ds.path(),
        &["--param", "epochs=3"],
    );
    let a = artifacts(ds.path(), "CountryModels", &run, "gather");
    assert_eq!(a["scores"], json!({"us": 0.7, "ca": 0.7, "br": 0.7}));
    let meta = read_json(&run_dir(ds.path(), "CountryModels", &run).join("run.json"));
    assert_eq!(meta["status"], "succeeded");
    assert_eq!(meta["parameters"]["epochs"], 3);
    assert_eq!(meta["parameters"]["alpha"], 0.1);
}

#[test]
fn linear_artifacts_flow_to_later_steps() {
    let ds = tempfile::tempdir().unwrap();
    let run = succeed(&ok_flow("linear.flow"), ds.path(), &[]);
    let a = artifacts(ds.path(), "Linear", &run, "end");
    assert_eq!(a["count"], 2);
    assert_eq!(a["greeting"], "hello");
}

#[test]
fn static_split_joins_and_merges_artifacts() {
    let ds = tempfile::tempdir().unwrap();
    let run = succeed(&ok_flow("branch_join.flow"), ds.path(), &[]);
    assert_eq!(artifacts(ds.path(), "BranchFlow", &run, "a")["x"], 1);
    assert_eq!(artifacts(ds.path(), "BranchFlow", &run, "b")["x"], 2);
    let a = artifacts(ds.path(), "BranchFlow", &run, "end");
    assert_eq!(a["xs"], json!([1, 2]));
    assert_eq!(a["total"], 3);
    assert_eq!(a["base"], 10);
}

#[test]
fn foreach_over_a_parameter_given_on_the_command_line() {
    let ds = tempfile::tempdir().unwrap();
    let (v, out) = interpret(
        &ok_flow("foreach_param.flow"),
        ds.path(),
        &["--param", "numbers=[1, 2, 3, 4]"],
    );
    assert_eq!(v["status"], "succeeded", "{:?}", out);
    let run = v["run_id"].as_str().unwrap();
    assert_eq!(
        artifacts(ds.path(), "ForeachParam", run, "square/2")["square"],
        9
    );
    assert_eq!(
        artifacts(ds.path(), "ForeachParam", run, "join")["squares"],
        json!([1, 4, 9, 16])
    );
    let work = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "square")
        .unwrap();
    assert_eq!(work["tasks"], 4);
}

#[test]
fn foreach_over_an_artifact() {
    let ds = tempfile::tempdir().unwrap();
    let run = succeed(&ok_flow("foreach_artifact.flow"), ds.path(), &[]);
    assert_eq!(
        artifacts(ds.path(), "ForeachFlow", &run, "a/1")["title"],
        "HOUSE OF CARDS"
    );
    assert_eq!(
        artifacts(ds.path(), "ForeachFlow", &run, "join")["titles_upper"],
        json!(["STRANGER THINGS", "HOUSE OF CARDS", "NARCOS"])
    );
}

#[test]
fn nested_foreach_indexes_tasks_by_path() {
    let ds = tempfile::tempdir().unwrap();
    let run = succeed(&ok_flow("nested_foreach.flow"), ds.path(), &[]);
    assert_eq!(
        artifacts(ds.path(), "NestedForeach", &run, "square/0.1")["square"],
        4
    );
    assert_eq!(
        artifacts(ds.path(), "NestedForeach", &run, "square/1.0")["square"],
        9
    );
    assert_eq!(
        artifacts(ds.path(), "NestedForeach", &run, "sum_group/0")["group_total"],
        5
    );
    assert_eq!(
        artifacts(ds.path(), "NestedForeach", &run, "total")["totals"],
        json!([5, 9])
    );
}

#[test]
fn switch_runs_only_the_chosen_case() {
    let ds = tempfile::tempdir().unwrap();
    let run = succeed(
        &ok_flow("switch.flow"),
        ds.path(),
        &["--param", "size=5000"],
    );
    let a = artifacts(ds.path(), "Switch", &run, "report");
    assert_eq!(
        (a["mode"].clone(), a["ran"].clone()),
        (json!("large"), json!("large"))
    );
    let d = store(ds.path(), "Switch");
    assert!(!d.task_ran(&run, &addr("small_job")).unwrap());
    let (v, _) = interpret(&ok_flow("switch.flow"), ds.path(), &["--param", "size=5"]);
    assert_eq!(v["status"], "failed", "report expects the large case: {v}");
    let run = v["run_id"].as_str().unwrap();
    assert_eq!(
        artifacts(ds.path(), "Switch", run, "small_job")["ran"],
        "small"
    );
    assert!(!d.task_ran(run, &addr("large_job")).unwrap());
}

#[test]
fn retry_fails_on_attempt_0_and_succeeds_on_attempt_1_without_waiting() {
    let dir = run_copy();
    let ds = dir.path().join(".flowc");
    let t = Instant::now();
    let run = succeed(&dir.path().join("retry_once.flow"), &ds, &[]);
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "the 5-minute wait was not virtual"
    );
    assert_eq!(
        artifacts(&ds, "RetryOnce", &run, "start")["succeeded_at"],
        1
    );
    let d = store(&ds, "RetryOnce");
    assert_eq!(d.attempts(&run, &addr("start")).unwrap(), [0, 1]);
    let a0 = d.attempt_record(&run, &addr("start"), 0).unwrap().unwrap();
    assert_eq!((a0.status.as_str(), a0.exit_code), ("failed", Some(3)));
    assert_eq!(d.done(&run, &addr("start")).unwrap(), Some(1));
}

#[test]
fn catch_stores_the_error_artifact() {
    let ds = tempfile::tempdir().unwrap();
    let run = succeed(&ok_flow("catch.flow"), ds.path(), &[]);
    let a = artifacts(ds.path(), "Catch", &run, "check_error");
    assert_eq!(a["flaky_error"]["error"], "States.TaskFailed");
    let cause: Value = serde_json::from_str(a["flaky_error"]["cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["Container"]["ExitCode"], 3);
    assert!(run_dir(ds.path(), "Catch", &run)
        .join("end/done.json")
        .is_file());
}

/// Whether the process whose id is in `pid_file` has ended (gone, or a zombie waiting for
/// its reaper), allowing it a second to go.
fn gone(pid_file: &Path) -> bool {
    let pid = std::fs::read_to_string(pid_file).unwrap();
    let stat = Path::new("/proc").join(pid.trim()).join("stat");
    for _ in 0..20 {
        match std::fs::read_to_string(&stat) {
            Err(_) => return true,
            Ok(s)
                if s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z')) =>
            {
                return true
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    false
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let dir = run_copy();
    let ds = dir.path().join(".flowc");
    let t = Instant::now();
    let run = succeed(&dir.path().join("timeout.flow"), &ds, &[]);
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "the 30 s sleep was not cut"
    );
    let a = artifacts(&ds, "TimeoutKill", &run, "end");
    assert_eq!(a["slow_error"]["error"], "States.Timeout");
    assert!(
        gone(&dir.path().join("slow.pid")),
        "the step's shell survived"
    );
    assert!(
        gone(&dir.path().join("sleep.pid")),
        "the step's child survived"
    );
}

#[test]
fn file_artifacts_pass_across_steps() {
    let ds = tempfile::tempdir().unwrap();
    let run = succeed(&ok_flow("file_artifacts.flow"), ds.path(), &[]);
    let d = store(ds.path(), "FileArtifacts");
    let arts = d.done_artifacts(&run, &addr("end")).unwrap().unwrap();
    let f = &arts.files["greeting.txt"];
    assert_eq!(f.size, "hello from start\n".len() as u64);
    let stdout = run_dir(ds.path(), "FileArtifacts", &run).join("end/attempt-0.stdout.log");
    assert_eq!(
        std::fs::read_to_string(stdout).unwrap().trim(),
        "greeting.txt"
    );
}

#[test]
fn required_parameter_errors_stop_the_run_before_any_task() {
    let ds = tempfile::tempdir().unwrap();
    let flow = ok_flow("params_required.flow");
    let (_, out) = interpret(&flow, ds.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("required parameter `name`"), "{err}");
    let (_, out) = interpret(
        &flow,
        ds.path(),
        &[
            "--param",
            "name=ada",
            "--param",
            "count=two",
            "--param",
            "ratio=1",
            "--param",
            "verbose=true",
            "--param",
            "config=1",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("parameter `count` (int)"), "{err}");
    assert!(
        !ds.path().join("RequiredParams/runs").exists(),
        "a run was started"
    );
}

#[test]
fn resume_after_a_failure_clones_what_succeeded() {
    let dir = run_copy();
    let ds = dir.path().join(".flowc");
    let flow = dir.path().join("resume.flow");
    let (v, out) = interpret(&flow, &ds, &[]);
    assert_eq!(v["status"], "failed");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["failures"][0]["task"], "flaky");
    assert_eq!(v["failures"][0]["exit_code"], 4);
    let origin = v["run_id"].as_str().unwrap().to_string();
    let human = command(&flow, &ds, &["--resume", &origin])
        .output()
        .unwrap();
    assert!(!human.status.success(), "still broken: must fail again");
    let err = String::from_utf8_lossy(&human.stderr);
    assert!(err.contains("flaky: the model file is missing"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    std::fs::write(dir.path().join("scripts/flaky.sh"), "echo fixed\n").unwrap();
    let resumed = succeed(&flow, &ds, &["--resume", &origin]);
    let calls = std::fs::read_to_string(dir.path().join("calls.log")).unwrap();
    assert_eq!(calls.lines().count(), 3, "foreach tasks ran again: {calls}");
    assert_eq!(artifacts(&ds, "Resume", &resumed, "end")["total"], 5);
    let run = run_dir(&ds, "Resume", &resumed);
    assert_eq!(
        read_json(&run.join("work/2/cloned.json"))["origin_run"],
        origin
    );
    assert!(!run.join("flaky/cloned.json").exists());
    assert_eq!(
        read_json(&run.join("resume.json"))["rerun_steps"],
        json!(["end", "flaky"])
    );
    // --from: the join and what follows run again, the foreach stays cloned.
    let again = succeed(&flow, &ds, &["--resume", &resumed, "--from", "join"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("calls.log")).unwrap(),
        calls
    );
    let run = run_dir(&ds, "Resume", &again);
    assert!(run.join("work/0/cloned.json").is_file());
    assert!(!run.join("join/cloned.json").exists());
}

#[test]
fn interruption_stops_cleanly_and_resume_continues() {
    let dir = run_copy();
    let ds = dir.path().join(".flowc");
    let flow = dir.path().join("interrupt.flow");
    // The run's scratch folders go here, to check that a clean stop leaves none behind.
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut child = command(&flow, &ds, &["--run-id", "first", "--quiet"])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid_file = dir.path().join("sleep.pid");
    let t = Instant::now();
    while !pid_file.exists() {
        assert!(t.elapsed() < Duration::from_secs(60), "slow never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: sends SIGINT to the child this test spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        gone(&dir.path().join("slow.pid")) && gone(&pid_file),
        "orphaned processes"
    );
    let run = run_dir(&ds, "Interrupt", "first");
    assert_eq!(read_json(&run.join("run.json"))["status"], "interrupted");
    assert_eq!(
        read_json(&run.join("slow/attempt-0.json"))["status"],
        "failed"
    );
    assert!(!run.join("slow/done.json").exists());
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
    assert!(left.is_empty(), "temporary folders left: {left:?}");
    std::fs::write(dir.path().join("scripts/slow.sh"), "true\n").unwrap();
    let resumed = succeed(&flow, &ds, &["--resume", "first"]);
    assert_eq!(artifacts(&ds, "Interrupt", &resumed, "end")["total"], 1);
    let calls = std::fs::read_to_string(dir.path().join("calls.log")).unwrap();
    assert_eq!(calls.lines().count(), 2, "{calls}");
}

/// The movie statistics flow, checked against the quartiles computed here from the CSV.
#[test]
fn movie_stats_matches_a_direct_computation() {
    let ds = tempfile::tempdir().unwrap();
    let run = succeed(&ok_flow("movie_stats.flow"), ds.path(), &[]);
    let stats = artifacts(ds.path(), "MovieStatsFlow", &run, "join")["genre_stats"].clone();
    let csv = std::fs::read_to_string(fixtures("ok").join("data/movies.csv")).unwrap();
    let mut by_genre: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for line in csv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.rsplitn(3, ',').collect();
        let gross: f64 = cols[0].trim().parse().unwrap();
        for g in cols[1].split('|') {
            by_genre.entry(g.to_lowercase()).or_default().push(gross);
        }
    }
    assert_eq!(stats.as_object().unwrap().len(), by_genre.len());
    for (genre, mut v) in by_genre {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let at = |q: f64| {
            let pos = q * (v.len() - 1) as f64;
            let lo = pos as usize;
            let hi = (lo + 1).min(v.len() - 1);
            v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
        };
        let s = &stats[&genre];
        assert_eq!(s["count"], v.len(), "{genre}");
        for (i, q) in [0.25, 0.5, 0.75].into_iter().enumerate() {
            let got = s["quartiles"][i].as_f64().unwrap();
            assert!(
                (got - at(q)).abs() < 1e-6,
                "{genre} q{q}: {got} vs {}",
                at(q)
            );
        }
    }
}

#[test]
fn show_prints_tasks_artifacts_and_logs() {
    let ds = tempfile::tempdir().unwrap();
    let run = succeed(&ok_flow("foreach_param.flow"), ds.path(), &[]);
    let show = |args: &[&str]| {
        let out = Command::new(BIN)
            .arg("show")
            .args(args)
            .arg("--datastore")
            .arg(ds.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let all = show(&[&run]);
    assert!(
        all.contains("square                   4 succeeded"),
        "{all}"
    );
    let one = show(&[&run, "square/1"]);
    assert!(one.contains("square = 4"), "{one}");
    let end = show(&[&run, "end"]);
    assert!(end.contains("ok: squares=[1, 4, 9, 16]"), "{end}");
    let runs = flowc::runtime::local::list_runs(ds.path()).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].run_id.as_str(), runs[0].status.as_str()),
        (run.as_str(), "succeeded")
    );
}

/// The process group of the process whose id is in `pid_file`.
fn pgrp(pid_file: &Path) -> i32 {
    let pid = std::fs::read_to_string(pid_file).unwrap();
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid.trim()).join("stat")).unwrap();
    let after = stat.rsplit(')').next().unwrap();
    after.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn a_killed_interpreter_leaves_a_run_that_resume_continues() {
    let dir = run_copy();
    let ds = dir.path().join(".flowc");
    let flow = dir.path().join("interrupt.flow");
    // A SIGKILLed interpreter cannot remove its scratch folders: keep them in the test's own.
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut child = command(&flow, &ds, &["--run-id", "killed", "--quiet"])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = dir.path().join("sleep.pid");
    let t = Instant::now();
    while !pid_file.exists() {
        assert!(t.elapsed() < Duration::from_secs(60), "slow never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The task outlives a SIGKILLed interpreter (nothing can stop it); end it here.
    // SAFETY: signals the process group of the task this test's run started.
    unsafe { libc::killpg(pgrp(&pid_file), libc::SIGKILL) };
    let run = run_dir(&ds, "Interrupt", "killed");
    assert_eq!(read_json(&run.join("run.json"))["status"], "running");
    std::fs::write(dir.path().join("scripts/slow.sh"), "true\n").unwrap();
    let resumed = succeed(&flow, &ds, &["--resume", "killed"]);
    assert_eq!(artifacts(&ds, "Interrupt", &resumed, "end")["total"], 1);
    let note = read_json(&run_dir(&ds, "Interrupt", &resumed).join("resume.json"));
    assert_eq!(note["rerun_roots"], json!(["slow"]));
}

/// Every file of a run folder (relative path → comparable content): manifests (`done.json`)
/// without their times, control files and logs as they are, attempt records
/// (`attempt-N.json`) reduced to status and exit code, `run.json` to status and parameters
/// (timestamps differ between runs).
fn run_files(ds: &Path, flow: &str, run: &str) -> std::collections::BTreeMap<String, String> {
    let root = run_dir(ds, flow, run);
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            let text = std::fs::read_to_string(&p).unwrap();
            let text = match p.file_name().unwrap().to_str().unwrap() {
                name if attempt_record_number(name).is_some() => {
                    let v: Value = serde_json::from_str(&text).unwrap();
                    format!("{} {}", v["status"], v["exit_code"])
                }
                "run.json" => {
                    let v: Value = serde_json::from_str(&text).unwrap();
                    format!("{} {}", v["status"], v["parameters"])
                }
                "done.json" => {
                    let mut v: Value = serde_json::from_str(&text).unwrap();
                    let o = v.as_object_mut().unwrap();
                    let timed = [o.remove("started"), o.remove("ended")]
                        .iter()
                        .all(|t| t.as_ref().is_some_and(Value::is_string));
                    format!("{v} timed={timed}")
                }
                _ => text,
            };
            out.insert(rel, text);
        }
    }
    out
}

/// The names of the content-addressed objects of a flow's datastore.
fn objects(ds: &Path, flow: &str) -> Vec<String> {
    let dir = ds.join(flow).join("objects").join("sha256");
    let mut names: Vec<String> = walk_names(&dir);
    names.sort();
    names
}

fn walk_names(dir: &Path) -> Vec<String> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk_names(&e.path()));
        } else {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

/// The in-process task runtime (the default) and `--task-process` (a `flowc task` child per
/// task, the Batch job's command line as it is) leave the same datastore: same files, same
/// manifests, logs and control files, same objects.
#[test]
fn in_process_tasks_store_what_flowc_task_processes_store() {
    for (file, flow, args) in [
        (
            "spec_example.flow",
            "CountryModels",
            &["--param", "epochs=2"][..],
        ),
        ("nested_foreach.flow", "NestedForeach", &[][..]),
        ("file_artifacts.flow", "FileArtifacts", &[][..]),
        ("branch_join.flow", "BranchFlow", &[][..]),
    ] {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let ids = ["--run-id", "parity"];
        let run = succeed(&ok_flow(file), a.path(), &[args, &ids[..]].concat());
        let mut with_child = [args, &ids[..]].concat();
        with_child.push("--task-process");
        succeed(&ok_flow(file), b.path(), &with_child);
        let in_process = run_files(a.path(), flow, &run);
        assert!(
            in_process.keys().any(|k| k.ends_with("done.json")),
            "{file}: {in_process:?}"
        );
        assert_eq!(in_process, run_files(b.path(), flow, &run), "{file}");
        assert_eq!(objects(a.path(), flow), objects(b.path(), flow), "{file}");
    }
}

/// A step's command sees the `FLOW_*` variables its task sets, never those of the shell that
/// ran `flowc interpret` (runtime contract): in-process, and with `--task-process`.
#[test]
fn a_command_inherits_no_flow_variable_from_the_runner() {
    let (dir, flow) = flow_in_tempdir(
        "env.flow",
        "flow Env {\n  step start { run \"sh env.sh\" next end }\n  step end { run \"true\" }\n}\n",
    );
    std::fs::write(
        dir.path().join("env.sh"),
        "printf '{\"leak\": \"%s\", \"step\": \"%s\"}' \"${FLOW_LEAK-unset}\" \"$FLOW_STEP\" > \"$FLOW_OUTPUT\"\n",
    )
    .unwrap();
    let ds = dir.path().join(".flowc");
    for (run, mode) in [("inproc", None), ("child", Some("--task-process"))] {
        let mut args = vec!["--run-id", run];
        args.extend(mode);
        let out = command(&flow, &ds, &args)
            .arg("--json")
            .env("FLOW_LEAK", "from the runner")
            .env("FLOW_STEP", "not this")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let arts = artifacts(&ds, "Env", run, "start");
        assert_eq!(arts["leak"], "unset", "{run}");
        assert_eq!(arts["step"], "start", "{run}");
    }
}

/// A reader that goes away (`flowc interpret … | head -1`) stops neither the run nor the
/// logs: no panic, the run succeeds, every line of the step's output is in its log.
#[test]
fn a_closed_stdout_loses_no_log_and_no_run() {
    let (dir, flow) = flow_in_tempdir(
        "loud.flow",
        "flow Loud {\n  step start { run \"seq 1 20000\" next end }\n  step end { run \"true\" }\n}\n",
    );
    let ds = dir.path().join(".flowc");
    let mut child = command(&flow, &ds, &["--json", "--run-id", "loud"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    let log = run_dir(&ds, "Loud", "loud").join("start/attempt-0.stdout.log");
    assert_eq!(std::fs::read_to_string(log).unwrap().lines().count(), 20000);
}

/// `--max-workers N` bounds the task commands running at once (the set-up and storing of
/// tasks overlap them, the commands do not): each of 10 foreach tasks marks itself running
/// in a shared folder for 0.3 s and records how many marks it saw.
#[test]
fn max_workers_bounds_the_commands_running_at_once() {
    let (dir, flow) = flow_in_tempdir(
        "bound.flow",
        "flow Bound {
  step start { run \"sh items.sh\" next work foreach items }
  step work { run \"sh work.sh\" next join }
  step join { run \"true\" next end }
  step end { run \"true\" }
}
",
    );
    let items = r#"echo '{"items": [0,1,2,3,4,5,6,7,8,9]}' > "$FLOW_OUTPUT""#;
    std::fs::write(dir.path().join("items.sh"), items).unwrap();
    let work = "mkdir -p running seen; touch running/$FLOW_ITEM; ls running | wc -l > seen/$FLOW_ITEM; sleep 0.3; rm running/$FLOW_ITEM";
    std::fs::write(dir.path().join("work.sh"), work).unwrap();
    // In-process tasks (the blocking runner) and `flowc task` children (the async one).
    for (workers, mode) in [("1", None), ("3", None), ("2", Some("--task-process"))] {
        let _ = std::fs::remove_dir_all(dir.path().join("seen"));
        let out = Command::new(BIN)
            .arg("interpret")
            .arg(&flow)
            .args(["--clock", "virtual", "--quiet", "--max-workers", workers])
            .args(mode)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let most = (0..10)
            .map(|i| {
                let f = dir.path().join(format!("seen/{i}"));
                std::fs::read_to_string(f)
                    .unwrap()
                    .trim()
                    .parse::<u32>()
                    .unwrap()
            })
            .max()
            .unwrap();
        // At most N; with 0.3 s commands and quick set-up, N are reached.
        assert_eq!(most.to_string(), workers, "--max-workers {workers}");
    }
}

/// A task stopped from outside (here: its Parallel branch cancelled when the sibling branch
/// fails) gets SIGTERM before SIGKILL, as AWS Batch's TerminateJob gives it: with
/// `--task-process` its `flowc task` forwards the signal to the command, records the attempt
/// as failed and removes its scratch folder, instead of being killed with the attempt left
/// `running`.
#[test]
fn a_task_process_stopped_from_outside_records_its_attempt() {
    let (dir, flow) = flow_in_tempdir(
        "stopped.flow",
        "flow Stopped {\n  step start { run \"true\" next fail_fast, slow }\n  \
         step fail_fast { run \"for i in $(seq 400); do [ -s slow.pid ] && break; sleep 0.05; done; exit 1\" next mix }\n  \
         step slow { run \"echo $$ > slow.pid; exec sleep 100\" next mix }\n  \
         step mix { run \"true\" next end }\n  step end { run \"true\" }\n}\n",
    );
    let ds = dir.path().join(".flowc");
    let scratch = dir.path().join("tmp");
    std::fs::create_dir(&scratch).unwrap();
    let t = Instant::now();
    let out = command(
        &flow,
        &ds,
        &["--json", "--run-id", "stopped", "--task-process"],
    )
    .env("TMPDIR", &scratch)
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "the 100 s sleep was not stopped"
    );
    assert!(
        gone(&dir.path().join("slow.pid")),
        "the step's command survived"
    );
    let record = read_json(&run_dir(&ds, "Stopped", "stopped").join("slow/attempt-0.json"));
    assert_eq!(record["status"], "failed", "{record}");
    let left: Vec<_> = std::fs::read_dir(&scratch)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "scratch folders left: {left:?}");
}
