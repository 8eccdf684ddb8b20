//! Every valid fixture flow deploys to moto and runs to SUCCEEDED on moto's own Step Functions
//! interpreter (Batch jobs simulated): a second, independent executor of the compiled ASL.
//!
//! moto's simulated Batch jobs run no container, so no `flowc task` writes the files the
//! state machine reads (`foreach.json` for a foreach's Map, `switch.json` for a switch's
//! Choice). For flows with a foreach or a switch the test therefore runs the flow's tasks
//! first, with `flowc task --datastore s3://…` against moto's S3 (see [`pre_run`]), under a
//! chosen run id, then starts the execution with that run id as its name: the Map and Choice
//! read the real files. Flows with required parameters get the values `fixtures/ok/
//! run_params.json` gives them (as `runtime_e2e` does), in the execution input.

mod support;

use flowc::aws::clients::{Aws, CallLog};
use flowc::aws::config::Settings;
use flowc::aws::{deploy, runs};
use flowc::ir::{self, StepId, Transition};
use flowc::runtime::{IndexPath, TaskAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::moto::{self, Moto};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ok");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixtures/ok")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    out.sort();
    out
}

/// `fixtures/ok/run_params.json`: parameter values per fixture file, for required parameters.
fn run_params() -> serde_json::Map<String, serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ok/run_params.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("run_params.json"))
        .expect("run_params.json is a JSON object")
}

/// The parameters a run of `flow` (file `name`) gets: `run_params.json`'s values for it;
/// `None` when a required parameter has no value there.
fn given(
    flow: &ir::Flow,
    name: &str,
    all: &serde_json::Map<String, serde_json::Value>,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    let given = all
        .get(name)
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default();
    flow.params
        .iter()
        .all(|p| p.default.is_some() || given.contains_key(&p.name))
        .then_some(given)
}

/// Whether the state machine reads files only `flowc task` writes (see the module docs).
fn reads_store(flow: &ir::Flow) -> bool {
    flow.steps.iter().any(|s| {
        matches!(
            s.next,
            Transition::Foreach { .. } | Transition::Switch { .. }
        )
    })
}

/// Roles and queues the fixtures name in `@batch`.
fn extra_roles_and_queues(flows: &[ir::Flow]) -> (Vec<String>, Vec<String>) {
    let mut roles = vec![];
    let mut queues = vec!["flowc-queue".to_string()];
    for s in flows.iter().flat_map(|f| &f.steps) {
        if let Some(b) = &s.decorators.batch {
            roles.extend(b.value.iam_role.clone());
            queues.extend(b.value.queue.clone());
        }
    }
    roles.sort();
    roles.dedup();
    queues.sort();
    queues.dedup();
    (roles, queues)
}

#[test]
fn every_fixture_deploys_and_succeeds_on_moto() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("flowc.toml");
    std::fs::write(&config, moto.config_toml()).expect("config");
    let paths = fixtures();
    let flows: Vec<ir::Flow> = paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("read");
            flowc::check(&text, &Default::default())
                .0
                .unwrap_or_else(|| panic!("{} does not check", p.display()))
        })
        .collect();
    let (roles, queues) = extra_roles_and_queues(&flows);
    let settings = |p: &Path| Settings::load(p, Some(&config), &|_| None, &[]).expect("settings");
    let mut failures = vec![];
    let mut started = vec![];
    let mut pre_ran: Vec<String> = vec![];
    let all_params = run_params();
    flowc::aws::block_on(async {
        let aws = Aws::connect(&settings(&paths[0]), CallLog::default())
            .await
            .expect("connect");
        moto::seed(&aws).await;
        moto::seed_job_queues(&aws, &queues).await;
        moto::seed_roles(&aws, &roles).await;
        for (path, flow) in paths.iter().zip(&flows) {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let desired = match deploy::prepare(path, &settings(path)) {
                Ok(d) => d,
                Err(e) => {
                    failures.push(format!("{name}: prepare: {e}"));
                    continue;
                }
            };
            if let Err(e) = deploy::run(&aws, &desired, false, false).await {
                failures.push(format!("{name}: deploy: {e}"));
                continue;
            }
            let Some(params) = given(flow, &name, &all_params) else {
                failures.push(format!(
                    "{name}: a required parameter has no value in run_params.json"
                ));
                continue;
            };
            let input = serde_json::json!({ "Parameters": params }).to_string();
            if reads_store(flow) {
                let run = format!("prerun-{}", started.len());
                let ran = std::thread::scope(|s| {
                    s.spawn(|| pre_run(&moto.endpoint, flow, &run, &params))
                        .join()
                });
                match ran {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        failures.push(format!("{name}: pre-run: {e}"));
                        continue;
                    }
                    Err(_) => {
                        failures.push(format!("{name}: pre-run panicked"));
                        continue;
                    }
                }
                match start_named(&aws, flow, &run, &input).await {
                    Ok(arn) => {
                        pre_ran.push(name.clone());
                        started.push((name, arn))
                    }
                    Err(e) => failures.push(format!("{name}: start: {e}")),
                }
                continue;
            }
            match runs::trigger(&aws, flow, "live", runs::Target::Latest, &input).await {
                Ok((_, arn)) => started.push((name, arn)),
                Err(e) => failures.push(format!("{name}: trigger: {e}")),
            }
        }
        let deadline = Instant::now() + Duration::from_secs(180);
        for (name, arn) in &started {
            loop {
                let status = runs::status(&aws, arn)
                    .await
                    .unwrap_or_else(|e| e.to_string());
                if status != "RUNNING" {
                    if status != "SUCCEEDED" {
                        let why = runs::why(&aws, arn).await.unwrap_or_default();
                        failures.push(format!(
                            "{name}: {status}: {:?} {:?} in {:?}",
                            why.error, why.cause, why.state
                        ));
                    }
                    break;
                }
                if Instant::now() > deadline {
                    failures.push(format!("{name}: still RUNNING after 180 s"));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    })
    .expect("runtime");
    assert_eq!(
        started.len(),
        paths.len(),
        "not every fixture ran: {started:?}\n{}",
        failures.join("\n")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every flow with a foreach or a switch ran (10 fixtures when this was written).
    assert!(pre_ran.len() >= 8, "too few pre-run fixtures: {pre_ran:?}");
}

/// Runs every task of `flow` (in `fixtures/ok`) as `flowc task` against moto's S3 under run
/// `run`, the way its Batch jobs would on AWS: `parameters.json` first (as
/// flowc-SaveParameters writes it; defaults are filled by the runtime), then the steps in
/// order, reading `foreach.json` for the number of body tasks and `switch.json` for the case.
/// Called from a plain thread (the S3 store blocks on its own runtime).
fn pre_run(
    endpoint: &str,
    flow: &ir::Flow,
    run: &str,
    params: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), String> {
    let settings = moto_settings(endpoint);
    let store = flowc::aws::store::S3Store::connect(&settings, "flowc-test", "data")
        .map_err(|e| e.to_string())?;
    let ds =
        flowc::runtime::Datastore::new(Box::new(store), &flow.name).map_err(|e| e.to_string())?;
    ds.write_parameters(run, params)
        .map_err(|e| e.to_string())?;
    let player = Player {
        endpoint,
        flow,
        run,
        ds: &ds,
    };
    let start = flow.step_id("start").ok_or("no start step")?;
    player.walk(start, &IndexPath::default(), None)
}

fn moto_settings(endpoint: &str) -> Settings {
    let mut settings = Settings::default();
    settings.aws.region = Some("us-east-1".into());
    settings.aws.endpoint_url = Some(endpoint.to_string());
    settings
}

/// Plays a flow's state machine task by task (see [`pre_run`]).
struct Player<'a> {
    endpoint: &'a str,
    flow: &'a ir::Flow,
    run: &'a str,
    ds: &'a flowc::runtime::Datastore,
}

impl Player<'_> {
    /// Runs the tasks from `step` at `index` until `stop` (a join) or the end.
    fn walk(
        &self,
        mut step: StepId,
        index: &IndexPath,
        stop: Option<StepId>,
    ) -> Result<(), String> {
        loop {
            if Some(step) == stop {
                return Ok(());
            }
            let s = self.flow.step(step);
            self.task(&s.name, index)?;
            let addr = TaskAddr {
                step: s.name.clone(),
                index: index.clone(),
            };
            let err = |e: flowc::runtime::TaskError| e.to_string();
            step = match &s.next {
                Transition::End => return Ok(()),
                Transition::Linear(next) => *next,
                Transition::Split { targets, join } => {
                    let join = join.ok_or("split without join")?;
                    for t in targets {
                        self.walk(*t, index, Some(join))?;
                    }
                    join
                }
                Transition::Foreach { body, join, .. } => {
                    let join = join.ok_or("foreach without join")?;
                    let n = self.ds.foreach_count(self.run, &addr).map_err(err)?;
                    for i in 0..n.ok_or(format!("{} wrote no foreach.json", s.name))? {
                        self.walk(*body, &index.child(i), Some(join))?;
                    }
                    join
                }
                Transition::Switch { cases, .. } => {
                    let v = self.ds.switch_value(self.run, &addr).map_err(err)?;
                    let case = cases
                        .iter()
                        .find(|(c, _)| v.as_ref().and_then(|v| v.as_str()) == Some(c));
                    case.ok_or(format!("{}: no case for switch value {v:?}", s.name))?
                        .1
                }
            };
        }
    }

    fn task(&self, step: &str, index: &IndexPath) -> Result<(), String> {
        let code = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ok");
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_flowc"));
        cmd.args(["task", &self.flow.name, step, "--run-id", self.run])
            .args(["--datastore", "s3://flowc-test/data", "--code-dir"])
            .arg(&code)
            .env("AWS_ENDPOINT_URL", self.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("FLOWC_S3_ROOT")
            .env_remove("FLOWC_CODE_PACKAGE");
        if index.depth() > 0 {
            cmd.args(["--index", &index.to_string()]);
        }
        let out = cmd.output().map_err(|e| e.to_string())?;
        match out.status.success() {
            true => Ok(()),
            false => Err(format!(
                "task {step}[{index}] of {}: {}",
                self.flow.name,
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    }
}

#[test]
fn a_foreach_fixture_runs_on_moto_when_its_tasks_ran_on_s3() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("flowc.toml");
    std::fs::write(&config, moto.config_toml()).expect("config");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ok/foreach_artifact.flow");
    let text = std::fs::read_to_string(&path).expect("read");
    let flow = flowc::check(&text, &Default::default()).0.expect("checks");
    let settings = Settings::load(&path, Some(&config), &|_| None, &[]).expect("settings");
    let run = "prerun-foreach-1";
    flowc::aws::block_on(async {
        let aws = Aws::connect(&settings, CallLog::default())
            .await
            .expect("connect");
        moto::seed(&aws).await;
        moto::seed_job_queue(&aws).await;
        let desired = deploy::prepare(&path, &settings).expect("prepare");
        deploy::run(&aws, &desired, false, false)
            .await
            .expect("deploy");
    })
    .expect("runtime");
    pre_run(&moto.endpoint, &flow, run, &Default::default()).expect("pre-run");
    flowc::aws::block_on(async {
        let aws = Aws::connect(&settings, CallLog::default())
            .await
            .expect("connect");
        let sm = runs::state_machine_arn(&aws, &flow).await.expect("arn");
        let input = flowc::backend::eventbridge::input(&flow);
        // Without the tasks' files the Map has nothing to read: the execution fails.
        let (status, _) = execute(&aws, &sm, "prerun-foreach-none", &input).await;
        assert_eq!(status, "FAILED");
        let (status, arn) = execute(&aws, &sm, run, &input).await;
        let why = runs::why(&aws, &arn).await.unwrap_or_default();
        assert_eq!(status, "SUCCEEDED", "{why:?}");
        let history = aws
            .sfn
            .get_execution_history()
            .execution_arn(&arn)
            .max_results(1000)
            .send()
            .await
            .expect("history");
        let types: Vec<&str> = history
            .events()
            .iter()
            .map(|e| e.r#type().as_str())
            .collect();
        assert!(types.contains(&"MapRunSucceeded"), "{types:?}");
        let map_runs = aws
            .sfn
            .list_map_runs()
            .execution_arn(&arn)
            .send()
            .await
            .expect("ListMapRuns");
        let map_run = map_runs.map_runs().first().expect("one Map Run");
        let described = aws
            .sfn
            .describe_map_run()
            .map_run_arn(map_run.map_run_arn())
            .send()
            .await
            .expect("DescribeMapRun");
        let counts = described.item_counts().expect("item counts");
        assert_eq!(counts.succeeded(), 3, "one item per entry of foreach.json");
    })
    .expect("runtime");
}

/// Starts an execution named `name` (the run id) and waits for its end (at most 120 s);
/// returns `(status, execution ARN)`.
async fn execute(aws: &Aws, sm: &str, name: &str, input: &str) -> (String, String) {
    let out = aws
        .sfn
        .start_execution()
        .state_machine_arn(sm)
        .name(name)
        .input(input)
        .send()
        .await
        .expect("start");
    let arn = out.execution_arn().to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = runs::status(aws, &arn).await.expect("status");
        if status != "RUNNING" || Instant::now() > deadline {
            return (status, arn);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Starts an execution of `flow`'s latest revision named `run` (the run id); returns its ARN.
async fn start_named(aws: &Aws, flow: &ir::Flow, run: &str, input: &str) -> Result<String, String> {
    let sm = runs::state_machine_arn(aws, flow)
        .await
        .map_err(|e| e.to_string())?;
    let out = aws
        .sfn
        .start_execution()
        .state_machine_arn(sm)
        .name(run)
        .input(input)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(out.execution_arn().to_string())
}
