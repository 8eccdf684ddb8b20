//! `flowc task` on S3 (moto 5.2.5 on 127.0.0.1): a flow with a linear step, a static
//! split/join, a foreach with file artifacts and a switch is run task by task with the real
//! binary against `s3://BUCKET/PREFIX`, the way the compiled state machine's Batch jobs run it
//! (the test plays the state machine: it writes `parameters.json` as flowc-SaveParameters
//! does and reads `foreach.json` / `switch.json` to know which tasks come next). The same
//! sequence on a local datastore folder must give the same keys and the same objects.
//!
//! Also: a task whose code comes from `FLOWC_CODE_PACKAGE` (a package built by
//! `flowc::aws::package`), run from an empty working directory; and `flowc interpret FLOW
//! --resume RUN --datastore s3://…` continuing a failed run of S3 locally.

mod support;

use flowc::aws::clients::{Aws, CallLog};
use flowc::aws::config::Settings;
use flowc::aws::store::S3Store;
use flowc::runtime::{
    attempt_record_number, Datastore, IndexPath, Key, LocalStore, ObjectStore, TaskAddr,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use support::moto::Moto;

const BIN: &str = env!("CARGO_BIN_EXE_flowc");
const BUCKET: &str = "flowc-s3";
const PREFIX: &str = "data/pipelines";
const FLOW: &str = "S3Flow";

/// Every construct a Batch task meets: linear steps, a static split whose join merges
/// artifacts (`common` agrees, `x` does not), a foreach whose body writes file artifacts, and
/// a switch on an artifact. `$1` of `end` is the expected switch case.
const FLOW_SRC: &str = r#"flow S3Flow {
    param size: int = 5 "a size"

    step start {
        run "sh steps.sh start"
        next left, right
    }
    step left {
        run "sh steps.sh branch 1"
        next join
    }
    step right {
        run "sh steps.sh branch 2"
        next join
    }
    step join {
        run "sh steps.sh join"
        next fan
    }
    step fan {
        run "sh steps.sh fan"
        next body foreach items
    }
    step body {
        run "sh steps.sh body"
        next gather
    }
    step gather {
        run "sh steps.sh gather"
        next choose
    }
    step choose {
        run "sh steps.sh choose"
        next switch mode { "small" => small, "large" => large }
    }
    step small {
        run "sh steps.sh case small"
        next end
    }
    step large {
        run "sh steps.sh case large"
        next end
    }
    step end {
        run "sh steps.sh end"
    }
}
"#;

/// The step commands (POSIX sh). `end` fails while the file `broken` exists beside it.
const STEPS_SH: &str = r#"set -eu
out() { printf '%s' "$1" > "$FLOW_OUTPUT"; }
case "$1" in
start) echo "start size=$FLOW_PARAM_SIZE"; out '{"base": 10}' ;;
branch) out "{\"x\": $2, \"common\": \"same\"}" ;;
join) out "{\"xs\": $(cat "$FLOW_INPUTS")}" ;;
fan) out '{"items": ["a", "b", "c"]}' ;;
body) printf 'item %s\n' "$FLOW_ITEM" > "$FLOW_OUTPUT_DIR/item-$FLOW_ITEM_INDEX.txt"
      out "{\"item\": $FLOW_ITEM}" ;;
gather) out "{\"n\": $(grep -o '"item"' "$FLOW_INPUTS" | wc -l)}" ;;
choose) out '{"mode": "large"}' ;;
case) out "{\"ran\": \"$2\"}" ;;
end) test ! -e broken || { echo "end is broken" >&2; exit 3; }
     grep -q '"common":"same"' "$FLOW_INPUT" || grep -q '"common": "same"' "$FLOW_INPUT"
     ls "$FLOW_INPUT_DIR"; echo "end saw $(cat "$FLOW_INPUT")" ;;
esac
"#;

/// A moto server with the bucket, and a code folder holding the flow.
struct Env {
    moto: Moto,
    settings: Settings,
    code: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let moto = Moto::start();
        let mut settings = Settings::default();
        settings.aws.region = Some("us-east-1".into());
        settings.aws.endpoint_url = Some(moto.endpoint.clone());
        let aws = flowc::aws::block_on(Aws::connect(&settings, CallLog::default()))
            .expect("runtime")
            .expect("clients");
        flowc::aws::block_on(aws.s3.create_bucket().bucket(BUCKET).send())
            .expect("runtime")
            .expect("create bucket");
        let code = tempfile::tempdir().expect("tempdir");
        support::moto::write_files(
            code.path(),
            &[("s3flow.flow", FLOW_SRC), ("steps.sh", STEPS_SH)],
        );
        Env {
            moto,
            settings,
            code,
        }
    }

    fn url(&self) -> String {
        format!("s3://{BUCKET}/{PREFIX}")
    }

    fn s3(&self) -> Datastore {
        let store = S3Store::connect(&self.settings, BUCKET, PREFIX).expect("s3 store");
        Datastore::new(Box::new(store), FLOW).expect("datastore")
    }

    /// `flowc task` with the AWS variables pointing at moto (and nothing mapping S3 to a
    /// folder).
    fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env("AWS_ENDPOINT_URL", &self.moto.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("FLOWC_S3_ROOT")
            .env_remove("FLOWC_CODE_PACKAGE")
            .env_remove("FLOWC_CODE_SHA256")
            .env_remove("FLOWC_CODE_DIR");
        cmd
    }
}

fn addr(step: &str, index: &str) -> TaskAddr {
    TaskAddr {
        step: step.into(),
        index: IndexPath::parse(index).expect("index"),
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs one task against `datastore` in `code`; returns its output.
fn task(env: &Env, code: &Path, datastore: &str, run: &str, step: &str, index: &str) -> Output {
    let mut cmd = env.command();
    cmd.args([
        "task",
        FLOW,
        step,
        "--run-id",
        run,
        "--datastore",
        datastore,
    ])
    .arg("--code-dir")
    .arg(code);
    if !index.is_empty() {
        cmd.args(["--index", index]);
    }
    cmd.output().expect("run flowc task")
}

/// Plays the state machine: every task of the flow in order, reading `foreach.json` and
/// `switch.json` from `ds` (the datastore named `datastore`). Stops at the first failed task
/// and returns its output.
fn play(env: &Env, ds: &Datastore, datastore: &str, run: &str) -> Result<(), Output> {
    let params = json!({"size": 7});
    ds.write_parameters(run, params.as_object().expect("object"))
        .expect("parameters.json");
    let code = env.code.path();
    let ok = |step: &str, index: &str| {
        let out = task(env, code, datastore, run, step, index);
        match out.status.success() {
            true => Ok(()),
            false => Err(out),
        }
    };
    for step in ["start", "left", "right", "join", "fan"] {
        ok(step, "")?;
    }
    let n = ds
        .foreach_count(run, &addr("fan", ""))
        .expect("read foreach.json")
        .expect("foreach.json written");
    assert_eq!(n, 3, "three items");
    for i in 0..n {
        ok("body", &i.to_string())?;
    }
    ok("gather", "")?;
    ok("choose", "")?;
    let case = ds
        .switch_value(run, &addr("choose", ""))
        .expect("read switch.json")
        .expect("switch.json written");
    ok(case.as_str().expect("a string case"), "")?;
    ok("end", "")
}

/// Every key of the flow with its bytes; attempt records (`attempt-N.json`), `run.json` and
/// `done.json` with their timestamps removed.
fn snapshot(store: &dyn ObjectStore) -> BTreeMap<String, Value> {
    let keys = store.list(&Key::new(FLOW).expect("key")).expect("list");
    let mut out = BTreeMap::new();
    for key in keys {
        let bytes = store.get(&key).expect("get").expect("listed key exists");
        let name = key.as_str().rsplit('/').next().unwrap_or_default();
        let v = match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut v)
                if attempt_record_number(name).is_some()
                    || ["run.json", "done.json"].contains(&name) =>
            {
                if let Some(o) = v.as_object_mut() {
                    o.remove("started");
                    o.remove("ended");
                }
                v
            }
            Ok(v) => v,
            Err(_) => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
        };
        out.insert(key.as_str().to_string(), v);
    }
    out
}

#[test]
fn tasks_on_s3_write_what_they_write_locally() {
    let env = Env::new();
    let run = "s3-run-1";
    let s3 = env.s3();
    play(&env, &s3, &env.url(), run).unwrap_or_else(|o| panic!("on S3: {}", text(&o)));

    let local_dir = tempfile::tempdir().expect("tempdir");
    let local = Datastore::new(Box::new(LocalStore::new(local_dir.path())), FLOW).expect("ds");
    let local_arg = local_dir.path().display().to_string();
    play(&env, &local, &local_arg, run).unwrap_or_else(|o| panic!("locally: {}", text(&o)));

    let on_s3 = snapshot(s3.store());
    let on_disk = snapshot(local.store());
    let keys = |m: &BTreeMap<String, Value>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&on_s3), keys(&on_disk), "the same keys");
    assert_eq!(
        on_s3, on_disk,
        "the same manifests, objects, logs and records"
    );

    // The flow really went through every construct.
    let end = s3
        .done_manifest(run, &addr("end", ""))
        .expect("read")
        .expect("end manifest");
    let values: Vec<&str> = end.artifacts.values.keys().map(String::as_str).collect();
    for name in ["base", "common", "items", "mode", "n", "ran", "xs"] {
        assert!(values.contains(&name), "{name} in {values:?}");
    }
    assert!(!values.contains(&"x"), "branches disagree on x: {values:?}");
    for (i, item) in ["a", "b", "c"].iter().enumerate() {
        let body = s3
            .done_manifest(run, &addr("body", &i.to_string()))
            .expect("read")
            .expect("body manifest");
        let file = body.artifacts.files.get(&format!("item-{i}.txt"));
        let bytes = s3.get_object(file.expect("file artifact")).expect("object");
        assert_eq!(bytes, format!("item \"{item}\"\n").as_bytes());
    }
    let ran = end.artifacts.values.get("ran").expect("ran");
    assert_eq!(s3.get_value(ran).expect("value"), json!("large"));
    assert!(on_s3.contains_key(&format!("{FLOW}/runs/{run}/choose/switch.json")));
    assert!(!on_s3.keys().any(|k| k.contains("/small/")), "one case ran");
}

#[test]
fn a_task_runs_from_the_code_package_in_an_empty_folder() {
    let env = Env::new();
    let s3 = env.s3();
    let pkg = flowc::aws::package::build(env.code.path()).expect("package");
    let key = Key::new(&pkg.key("", FLOW)).expect("package key");
    s3.store().put(&key, &pkg.bytes).expect("upload");
    let url = format!("s3://{BUCKET}/{PREFIX}/{key}");
    let run = "pkg-run";
    s3.write_parameters(run, &Default::default())
        .expect("parameters");
    let empty = tempfile::tempdir().expect("tempdir");
    let out = env
        .command()
        .args(["task", FLOW, "start", "--run-id", run, "--datastore"])
        .arg(env.url())
        .env("FLOWC_CODE_PACKAGE", &url)
        .current_dir(empty.path())
        .output()
        .expect("flowc task");
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("start size=5"));
    assert_eq!(s3.done(run, &addr("start", "")).expect("done"), Some(0));
    let meta = s3.run_meta(run).expect("run.json").expect("written");
    assert_eq!(meta.code_sha256, pkg.sha256, "run.json names the package");
    assert_eq!(std::fs::read_dir(empty.path()).expect("ls").count(), 0);

    // A package whose bytes do not match its name is refused before anything runs.
    let fake = "0".repeat(64);
    let bad = Key::new(&format!("{FLOW}/code/{fake}.tar.gz")).expect("key");
    s3.store().put(&bad, &pkg.bytes).expect("upload");
    let out = env
        .command()
        .args(["task", FLOW, "left", "--run-id", run, "--datastore"])
        .arg(env.url())
        .env(
            "FLOWC_CODE_PACKAGE",
            format!("s3://{BUCKET}/{PREFIX}/{bad}"),
        )
        .current_dir(empty.path())
        .output()
        .expect("flowc task");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SHA-256") && err.contains(&pkg.sha256),
        "{err}"
    );
    assert!(s3
        .attempts(run, &addr("left", ""))
        .expect("list")
        .is_empty());

    // A missing package is a clear error too.
    let out = env
        .command()
        .args(["task", FLOW, "left", "--run-id", run, "--datastore"])
        .arg(env.url())
        .env(
            "FLOWC_CODE_PACKAGE",
            format!(
                "s3://{BUCKET}/{PREFIX}/{FLOW}/code/{}.tar.gz",
                "1".repeat(64)
            ),
        )
        .current_dir(empty.path())
        .output()
        .expect("flowc task");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

/// A copy of the code folder with `broken` beside the flow, so `end` fails.
fn broken_copy(env: &Env) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["s3flow.flow", "steps.sh"] {
        std::fs::copy(env.code.path().join(name), dir.path().join(name)).expect("copy");
    }
    std::fs::write(dir.path().join("broken"), "").expect("write");
    dir
}

#[test]
fn a_failed_run_on_s3_resumes_locally() {
    let env = Env::new();
    let s3 = env.s3();
    let origin = "aws-run-1";
    // The origin run on S3, with the broken code: every task succeeds but `end`.
    let broken = broken_copy(&env);
    let params = json!({"size": 9});
    s3.write_parameters(origin, params.as_object().expect("object"))
        .expect("parameters");
    let order = [
        ("start", ""),
        ("left", ""),
        ("right", ""),
        ("join", ""),
        ("fan", ""),
        ("body", "0"),
        ("body", "1"),
        ("body", "2"),
        ("gather", ""),
        ("choose", ""),
        ("large", ""),
    ];
    for (step, index) in order {
        let out = task(&env, broken.path(), &env.url(), origin, step, index);
        assert!(out.status.success(), "{step}: {}", text(&out));
    }
    let out = task(&env, broken.path(), &env.url(), origin, "end", "");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    // Resume with the fixed code (`env.code` has no `broken`), as `flowc why` suggests.
    let flow_file = env.code.path().join("s3flow.flow");
    let out = env
        .command()
        .arg("interpret")
        .arg(&flow_file)
        .args(["--resume", origin, "--datastore"])
        .arg(env.url())
        .args(["--run-id", "local-1", "--quiet"])
        .output()
        .expect("flowc interpret");
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("--datastore s3://"), "{err}");

    // Without --resume an S3 datastore is refused: a local run never writes to S3.
    let out = env
        .command()
        .arg("interpret")
        .arg(&flow_file)
        .args(["--datastore", &env.url()])
        .output()
        .expect("flowc interpret");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resume RUN_ID"));

    let local = Datastore::new(
        Box::new(LocalStore::new(env.code.path().join(".flowc"))),
        FLOW,
    )
    .expect("ds");
    // Cloned: every task but `end`, from the copy of the origin run.
    for (step, index) in order {
        let t = addr(step, index);
        let key = local
            .task_key("local-1", &t)
            .expect("key")
            .join("cloned.json");
        let note = local.store().get(&key.expect("key")).expect("get");
        let note: Value =
            serde_json::from_slice(&note.unwrap_or_else(|| panic!("{step} cloned"))).expect("json");
        assert_eq!(note["origin_run"], origin);
    }
    // Re-run: `end`, which saw the cloned artifacts (objects copied from S3).
    let end = addr("end", "");
    assert_eq!(local.done("local-1", &end).expect("done"), Some(0));
    let m = local
        .done_manifest("local-1", &end)
        .expect("read")
        .expect("manifest");
    let ran = m.artifacts.values.get("ran").expect("ran");
    assert_eq!(local.get_value(ran).expect("object copied"), json!("large"));
    let body = local
        .done_manifest("local-1", &addr("body", "1"))
        .expect("read")
        .expect("cloned manifest");
    let file = body
        .artifacts
        .files
        .get("item-1.txt")
        .expect("file artifact");
    assert_eq!(
        local.get_object(file).expect("object copied"),
        b"item \"b\"\n"
    );
    assert_eq!(
        local.parameters("local-1").expect("read"),
        params.as_object().cloned(),
        "the origin's parameters"
    );
    // The origin's copy records where it came from; S3 is left as it was.
    let imported = local
        .store()
        .get(
            &local
                .run_key(origin)
                .expect("key")
                .join("origin.json")
                .expect("key"),
        )
        .expect("get")
        .expect("origin.json");
    let imported: Value = serde_json::from_slice(&imported).expect("json");
    assert_eq!(imported["datastore"], env.url());
    assert!(s3
        .store()
        .list(&s3.run_key("local-1").expect("key"))
        .expect("list")
        .is_empty());
}

#[test]
fn s3_store_follows_the_object_store_contract() {
    let env = Env::new();
    let s = S3Store::connect(&env.settings, BUCKET, PREFIX).expect("s3 store");
    let k = Key::new("F/runs/r/a.json").expect("key");
    assert_eq!(
        s.location(&k),
        format!("s3://{BUCKET}/{PREFIX}/F/runs/r/a.json")
    );
    assert_eq!(s.get(&k).expect("get"), None);
    assert!(!s.exists(&k).expect("head"));
    s.put(&k, b"1").expect("put");
    assert_eq!(s.get(&k).expect("get").as_deref(), Some(&b"1"[..]));
    assert!(s.exists(&k).expect("head"));
    assert!(!s.put_if_absent(&k, b"2").expect("conditional put"));
    assert_eq!(s.get(&k).expect("get").as_deref(), Some(&b"1"[..]), "kept");
    let k2 = Key::new("F/runs/r/x/b").expect("key");
    assert!(s.put_if_absent(&k2, b"").expect("conditional put"));
    let file = tempfile::NamedTempFile::new().expect("tempfile");
    std::fs::write(file.path(), vec![7u8; 100_000]).expect("write");
    let k3 = Key::new("F/runs/r/big").expect("key");
    s.put_file(&k3, file.path()).expect("put_file");
    assert_eq!(s.get(&k3).expect("get").map(|b| b.len()), Some(100_000));
    let listed = s.list(&Key::new("F/runs").expect("key")).expect("list");
    assert_eq!(listed, vec![k.clone(), k3, k2]);
    assert!(
        s.list(&Key::new("F/run").expect("key"))
            .expect("list")
            .is_empty(),
        "whole segments"
    );
    assert!(s
        .list(&Key::new("nothing").expect("key"))
        .expect("list")
        .is_empty());

    // More keys than one ListObjectsV2 page (1,000): every page is read, sorted.
    let many: Vec<Key> = (0..1005)
        .map(|i| Key::new(&format!("M/k{i:04}")).expect("key"))
        .collect();
    std::thread::scope(|scope| {
        for chunk in many.chunks(250) {
            let env = &env;
            scope.spawn(move || {
                let s = S3Store::connect(&env.settings, BUCKET, PREFIX).expect("s3 store");
                for key in chunk {
                    s.put(key, b"").expect("put");
                }
            });
        }
    });
    assert_eq!(s.list(&Key::new("M").expect("key")).expect("list"), many);

    // Objects outside the prefix are not seen; errors name the location.
    let other = S3Store::connect(&env.settings, "no-such-bucket", "p").expect("store");
    let e = other.get(&k).expect_err("no bucket").to_string();
    assert!(e.contains("s3://no-such-bucket/p/F/runs/r/a.json"), "{e}");
}
