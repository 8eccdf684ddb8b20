//! `flowc deploy` against a moto server on 127.0.0.1 (started per test, stopped on drop).
//!
//! Known moto 5.2.5 gaps (see `shared/tools/moto/README.md`) these tests work around rather
//! than mistake for flowc bugs: executions cannot start on an alias or version ARN (runs are
//! started with `--latest`), `ListStateMachineVersions` answers HTTP 500 (versions are
//! checked through the alias and `DescribeStateMachine` on the version ARN).

mod support;

use flowc::aws::clients::{Aws, CallLog};
use flowc::aws::config::Settings;
use flowc::aws::deploy::{self, Action, Report};
use flowc::aws::{runs, Error};
use std::path::PathBuf;
use support::moto::{self, Moto};

const SCHEDULED: &str = r#"@schedule(hourly=true)
flow Deployed {
    param n: int = 3 "how many"

    step start {
        run "echo start"
        next train
    }

    @batch(image="trainer:2")
    step train {
        run "echo train"
        next end
    }

    step end {
        run "echo done"
    }
}
"#;

struct Env {
    moto: Moto,
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env::with(&[])
    }

    fn with(moto_env: &[(&str, &str)]) -> Env {
        let moto = Moto::start_with(moto_env);
        let dir = tempfile::tempdir().expect("tempdir");
        let env = Env { moto, dir };
        env.write("flowc.toml", &env.moto.config_toml());
        env.block(seed(&env.aws(CallLog::default())));
        env
    }

    fn write(&self, name: &str, text: &str) {
        moto::write_files(self.dir.path(), &[(name, text)]);
    }

    fn flow_path(&self) -> PathBuf {
        self.dir.path().join("flow.flow")
    }

    fn settings(&self) -> Settings {
        Settings::load(&self.flow_path(), None, &|_| None, &[]).expect("settings")
    }

    fn aws(&self, log: CallLog) -> Aws {
        self.block(Aws::connect(&self.settings(), log))
            .expect("connect")
    }

    fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        flowc::aws::block_on(f).expect("runtime")
    }

    /// Deploys `flow` (written to flow.flow); returns the report and the calls made.
    fn deploy(&self, flow: &str, dry: bool, force: bool) -> (Result<Report, Error>, CallLog) {
        self.write("flow.flow", flow);
        let log = CallLog::default();
        let aws = self.aws(log.clone());
        let desired = deploy::prepare(&self.flow_path(), &self.settings()).expect("prepare");
        (self.block(deploy::run(&aws, &desired, dry, force)), log)
    }
}

use support::moto::seed;

impl Env {
    /// Clears every moto resource and seeds the bucket and roles again.
    fn reset(&self) {
        assert_eq!(
            moto::http(self.moto.port, "POST", "/moto-api/reset"),
            Some(200)
        );
        self.block(seed(&self.aws(CallLog::default())));
    }

    /// Deploys `flow` with call `n` (0-based) of the deploy failing after the server applied
    /// it; returns the deploy's result and the name of the failed call.
    fn deploy_failing_at(&self, flow: &str, n: usize) -> (Result<Report, Error>, String) {
        self.write("flow.flow", flow);
        let log = CallLog::default();
        log.fail_at(Some(n));
        let aws = self.aws(log.clone());
        let desired = deploy::prepare(&self.flow_path(), &self.settings()).expect("prepare");
        let result = self.block(deploy::run(&aws, &desired, false, false));
        let call = log
            .calls()
            .get(n)
            .map(|(s, op)| format!("{s}:{op}"))
            .unwrap_or_else(|| format!("(no call {n})"));
        (result, call)
    }
}

fn actions(r: &Report) -> Vec<(&'static str, Action)> {
    r.items.iter().map(|i| (i.kind, i.action)).collect()
}

fn rule_targets(env: &Env, aws: &Aws, rule: &str) -> Vec<String> {
    env.block(aws.events.list_targets_by_rule().rule(rule).send())
        .map(|o| o.targets().iter().map(|t| t.arn().to_string()).collect())
        .unwrap_or_default()
}

fn alias_version(env: &Env, aws: &Aws, alias_arn: &str) -> String {
    let a = env
        .block(
            aws.sfn
                .describe_state_machine_alias()
                .state_machine_alias_arn(alias_arn)
                .send(),
        )
        .expect("describe alias");
    a.routing_configuration()[0]
        .state_machine_version_arn()
        .to_string()
}

#[test]
fn first_deploy_creates_everything_and_redeploy_makes_no_mutating_call() {
    let env = Env::new();
    let (r, log) = env.deploy(SCHEDULED, false, false);
    let r = r.expect("deploy");
    let kinds: Vec<_> = actions(&r);
    assert_eq!(
        kinds,
        vec![
            ("role", Action::Unchanged),
            ("role", Action::Unchanged),
            ("role", Action::Unchanged),
            ("code package", Action::Create),
            ("job definition", Action::Create),
            ("job definition", Action::Create),
            ("state machine", Action::Create),
            ("alias", Action::Create),
            ("rule", Action::Create),
        ],
        "{}",
        r.render()
    );
    let ops: Vec<String> = log.mutating().into_iter().map(|(_, op)| op).collect();
    assert_eq!(
        ops,
        [
            "PutObject",
            "RegisterJobDefinition",
            "RegisterJobDefinition",
            "CreateStateMachine",
            "CreateStateMachineAlias",
            "PutRule",
            "PutTargets"
        ]
    );
    let aws = env.aws(CallLog::default());
    let alias = r.alias_arn.clone().expect("alias arn");
    assert!(alias.ends_with(":stateMachine:Deployed:live"), "{alias}");
    assert_eq!(
        rule_targets(&env, &aws, "Deployed-schedule"),
        vec![alias.clone()]
    );
    assert_eq!(Some(alias_version(&env, &aws, &alias)), r.version_arn);

    let (again, log) = env.deploy(SCHEDULED, false, false);
    let again = again.expect("redeploy");
    assert!(again.unchanged(), "{}", again.render());
    assert_eq!(log.mutating(), vec![], "redeploy must not mutate");
    assert!(!log.calls().is_empty());
}

#[test]
fn changed_flow_publishes_a_version_and_moves_the_alias() {
    let env = Env::new();
    let (first, _) = env.deploy(SCHEDULED, false, false);
    let first = first.expect("deploy");
    let changed = SCHEDULED.replace("echo train", "echo train harder");
    let (second, log) = env.deploy(&changed, false, false);
    let second = second.expect("redeploy");
    let ops: Vec<String> = log.mutating().into_iter().map(|(_, op)| op).collect();
    assert_eq!(
        ops,
        [
            "PutObject",
            "UpdateStateMachine",
            "TagResource",
            "UpdateStateMachineAlias"
        ],
        "{}",
        second.render()
    );
    assert_ne!(first.version_arn, second.version_arn);
    let aws = env.aws(CallLog::default());
    let alias = second.alias_arn.clone().expect("alias");
    assert_eq!(Some(alias_version(&env, &aws, &alias)), second.version_arn);
    assert_eq!(rule_targets(&env, &aws, "Deployed-schedule"), vec![alias]);
    // The code changed, so did the definition (it names the code package).
    assert!(second
        .changes
        .iter()
        .any(|c| c.to_string().contains("train")));
}

#[test]
fn removing_the_schedule_removes_the_rule_and_its_targets() {
    let env = Env::new();
    env.deploy(SCHEDULED, false, false).0.expect("deploy");
    let unscheduled = SCHEDULED.replace("@schedule(hourly=true)\n", "");
    let (r, _) = env.deploy(&unscheduled, false, false);
    let r = r.expect("redeploy");
    assert!(r
        .items
        .iter()
        .any(|i| i.kind == "rule" && i.action == Action::Delete));
    let aws = env.aws(CallLog::default());
    let gone = env.block(aws.events.describe_rule().name("Deployed-schedule").send());
    assert!(gone.is_err(), "rule still there");
    let (again, log) = env.deploy(&unscheduled, false, false);
    assert!(again.expect("third").unchanged());
    assert!(log.mutating().is_empty());
}

#[test]
fn plan_mutates_nothing_and_shows_the_state_diff() {
    let env = Env::new();
    let (plan, log) = env.deploy(SCHEDULED, true, false);
    let plan = plan.expect("plan");
    assert!(log.mutating().is_empty(), "{:?}", log.mutating());
    assert!(plan
        .items
        .iter()
        .all(|i| i.kind == "role" || i.action == Action::Create));
    env.deploy(SCHEDULED, false, false).0.expect("deploy");
    let changed = SCHEDULED.replace("echo done", "echo finished");
    let (plan, log) = env.deploy(&changed, true, false);
    let plan = plan.expect("plan");
    assert!(log.mutating().is_empty());
    let text = plan.render();
    assert!(text.contains("update     state machine"), "{text}");
    assert!(text.contains("~ state end: Parameters"), "{text}");
    // Nothing was applied: a real deploy still has the update to do.
    let (r, _) = env.deploy(&changed, false, false);
    assert!(!r.expect("deploy").unchanged());
}

/// An edit outside flowc, with or without publishing a version (a published one lacks the
/// description flowc writes), is drift.
#[test]
fn drift_is_refused_without_force() {
    let env = Env::new();
    for publish in [false, true] {
        env.reset();
        let r = env.deploy(SCHEDULED, false, false).0.expect("deploy");
        let aws = env.aws(CallLog::default());
        let sm = r.state_machine_arn.clone().expect("arn");
        let edited = r#"{"StartAt":"X","States":{"X":{"Type":"Succeed"}}}"#;
        env.block(
            aws.sfn
                .update_state_machine()
                .state_machine_arn(&sm)
                .definition(edited)
                .publish(publish)
                .set_version_description(publish.then(|| "hotfix".to_string()))
                .send(),
        )
        .expect("edit outside flowc");
        let changed = SCHEDULED.replace("echo done", "echo finished");
        let (refused, log) = env.deploy(&changed, false, false);
        match refused {
            Err(Error::Drift(text)) => assert!(text.contains("- state X"), "{text}"),
            other => panic!("publish={publish}: expected drift, got {other:?}"),
        }
        assert_eq!(log.mutating(), vec![], "a refused deploy changes nothing");
        let forced = env.deploy(&changed, false, true).0.expect("forced");
        assert!(forced
            .items
            .iter()
            .any(|i| i.kind == "state machine" && i.action == Action::Update));
    }
}

#[test]
fn delete_leaves_nothing_but_the_datastore() {
    let env = Env::new();
    let r = env.deploy(SCHEDULED, false, false).0.expect("deploy");
    let aws = env.aws(CallLog::default());
    let flow = flowc::check(SCHEDULED, &Default::default())
        .0
        .expect("flow");
    let done = env.block(runs::delete(&aws, &flow)).expect("delete");
    assert!(done.iter().any(|d| d.starts_with("rule ")), "{done:?}");
    let sms = env
        .block(aws.sfn.list_state_machines().send())
        .expect("list");
    assert!(sms.state_machines().is_empty());
    assert!(env
        .block(aws.events.describe_rule().name("Deployed-schedule").send())
        .is_err());
    let jds = env
        .block(aws.batch.describe_job_definitions().status("ACTIVE").send())
        .expect("job definitions");
    assert!(jds.job_definitions().is_empty());
    let key = r.items[3]
        .name
        .trim_start_matches("s3://flowc-test/")
        .to_string();
    assert!(env
        .block(aws.s3.head_object().bucket("flowc-test").key(key).send())
        .is_ok());
    assert!(env
        .block(runs::delete(&aws, &flow))
        .expect("again")
        .is_empty());
}

/// v2 of [`SCHEDULED`]: a changed command (new definition → new version, alias moved), a
/// changed schedule, an added `@trigger` (a second rule) and a step with a new image (a new
/// job definition).
const UPDATED: &str = r#"@schedule(cron="0 10 * * ? *")
@trigger(event={"source": ["flowc.test"], "detail-type": ["Data Ready"]})
flow Deployed {
    param n: int = 3 "how many"

    step start {
        run "echo start"
        next train
    }

    @batch(image="trainer:2")
    step train {
        run "echo train harder"
        next evaluate
    }

    @batch(image="evaluator:1")
    step evaluate {
        run "echo evaluate"
        next end
    }

    step end {
        run "echo done"
    }
}
"#;

/// Deploys each flow of `before` cleanly, then `flow`: once fault-free (the reference), then
/// for every call N of that fault-free deploy, from the same starting point, with call N
/// failing after the server applied it. After each fault a clean rerun must converge to the
/// reference end state, and a third deploy must make no mutating call. Returns the number of
/// calls of the fault-free deploy.
fn every_fault_converges(before: &[&str], flow: &str) -> usize {
    let env = Env::new();
    for b in before {
        env.deploy(b, false, false).0.expect("deploy before");
    }
    let (clean, log) = env.deploy(flow, false, false);
    let clean = clean.expect("fault-free deploy");
    let total = log.calls().len();
    let reference = end_state(&env, &clean);
    eprintln!("injecting a fault at each of {total} calls");
    for n in 0..total {
        env.reset();
        for b in before {
            env.deploy(b, false, false).0.expect("deploy before");
        }
        let (failed, call) = env.deploy_failing_at(flow, n);
        assert!(failed.is_err(), "call {n} ({call}) did not fail");
        let (rerun, _) = env.deploy(flow, false, false);
        let rerun = rerun.unwrap_or_else(|e| panic!("rerun after fault at {n} ({call}): {e}"));
        assert_eq!(
            end_state(&env, &rerun),
            reference,
            "after fault at call {n} ({call})"
        );
        let (last, log) = env.deploy(flow, false, false);
        let last = last.expect("third deploy");
        assert!(last.unchanged(), "fault at {n} ({call}): {}", last.render());
        assert_eq!(log.mutating(), vec![], "fault at {n} ({call})");
    }
    total
}

/// A full first deploy makes these many calls; failing each one in turn (after the server
/// applied it), a clean rerun converges to the end state of a fault-free deploy.
#[test]
fn a_failed_call_at_any_point_of_a_first_deploy_converges_on_rerun() {
    let calls = every_fault_converges(&[], SCHEDULED);
    assert!(calls > 10, "{calls} calls");
}

/// The same for an update (v1 → v2: new definition, version and alias move, changed
/// schedule, added trigger rule, new job definition).
#[test]
fn a_failed_call_at_any_point_of_an_update_converges_on_rerun() {
    let calls = every_fault_converges(&[SCHEDULED], UPDATED);
    assert!(calls > 10, "{calls} calls");
}

/// v3 of [`SCHEDULED`]: the `@trigger` of [`UPDATED`] removed (its rule deleted) and the
/// schedule given a time zone (an EventBridge Scheduler schedule replaces the rule).
const ZONED: &str = r#"@schedule(cron="0 10 * * ? *", timezone="Europe/Paris")
flow Deployed {
    param n: int = 3 "how many"

    step start {
        run "echo start"
        next train
    }

    @batch(image="trainer:2")
    step train {
        run "echo train harder"
        next evaluate
    }

    @batch(image="evaluator:1")
    step evaluate {
        run "echo evaluate"
        next end
    }

    step end {
        run "echo done"
    }
}
"#;

/// The same for an update (from [`UPDATED`]) that deletes both rules and creates a Scheduler
/// schedule.
#[test]
fn a_failed_call_at_any_point_of_a_rule_removal_converges_on_rerun() {
    let calls = every_fault_converges(&[UPDATED], ZONED);
    assert!(calls > 10, "{calls} calls");
}

#[test]
fn the_update_makes_the_expected_changes() {
    let env = Env::new();
    let first = env.deploy(SCHEDULED, false, false).0.expect("v1");
    let (second, log) = env.deploy(UPDATED, false, false);
    let second = second.expect("v2");
    let ops: Vec<String> = log.mutating().into_iter().map(|(_, op)| op).collect();
    assert_eq!(
        ops,
        [
            "PutObject",
            "RegisterJobDefinition",
            "UpdateStateMachine",
            "TagResource",
            "UpdateStateMachineAlias",
            "PutRule",
            "PutTargets",
            "PutRule",
            "PutTargets"
        ],
        "{}",
        second.render()
    );
    assert_ne!(first.version_arn, second.version_arn);
    let state = end_state(&env, &second);
    let text = state.join("\n");
    assert!(text.contains("versions 2"), "{text}");
    assert!(text.contains("cron(0 10 * * ? *)"), "{text}");
    assert!(text.contains("flowc.test"), "{text}");
}

/// A deploy that failed after updating the definition (before or after tagging it) leaves a
/// definition the tags do not record; deploying yet another version next is not drift, since
/// flowc published that definition (the version's description says so).
#[test]
fn a_new_flow_after_a_failed_update_is_not_drift() {
    let env = Env::new();
    env.deploy(SCHEDULED, false, false).0.expect("v1");
    let (_, log) = env.deploy(UPDATED, false, false);
    let calls = log.calls();
    for op in ["UpdateStateMachine", "TagResource"] {
        let n = calls
            .iter()
            .position(|(_, o)| o == op)
            .unwrap_or_else(|| panic!("no {op} in {calls:?}"));
        env.reset();
        env.deploy(SCHEDULED, false, false).0.expect("v1");
        let (failed, call) = env.deploy_failing_at(UPDATED, n);
        assert!(failed.is_err(), "{call} did not fail");
        let (next, _) = env.deploy(ZONED, false, false);
        let next = next.unwrap_or_else(|e| panic!("after a fault at {call}: {e}"));
        let aws = env.aws(CallLog::default());
        let sm = next.state_machine_arn.clone().expect("sm");
        let alias = next.alias_arn.clone().expect("alias");
        let want = flowc::aws::diff::definition_hash(&prepared(&env, ZONED).definition);
        assert_eq!(definition_of(&env, &aws, &sm), want, "after {call}");
        let aliased = alias_version(&env, &aws, &alias);
        assert_eq!(definition_of(&env, &aws, &aliased), want, "after {call}");
        let (last, log) = env.deploy(ZONED, false, false);
        assert!(last.expect("again").unchanged(), "after {call}");
        assert_eq!(log.mutating(), vec![], "after {call}");
    }
}

fn prepared(env: &Env, flow: &str) -> deploy::Desired {
    env.write("flow.flow", flow);
    deploy::prepare(&env.flow_path(), &env.settings()).expect("prepare")
}

#[test]
fn the_rule_removal_makes_the_expected_changes() {
    let env = Env::new();
    env.deploy(UPDATED, false, false).0.expect("v2");
    let (third, log) = env.deploy(ZONED, false, false);
    let third = third.expect("v3");
    let ops: Vec<String> = log.mutating().into_iter().map(|(_, op)| op).collect();
    assert_eq!(
        ops,
        [
            "PutObject",
            "UpdateStateMachine",
            "TagResource",
            "UpdateStateMachineAlias",
            "CreateSchedule",
            "RemoveTargets",
            "DeleteRule",
            "RemoveTargets",
            "DeleteRule"
        ],
        "{}",
        third.render()
    );
    let state = end_state(&env, &third).join("\n");
    assert!(state.contains("rule Deployed-schedule absent"), "{state}");
    assert!(state.contains("rule Deployed-trigger absent"), "{state}");
    assert!(
        state.contains("schedule Deployed-trigger absent"),
        "{state}"
    );
    assert!(
        state.contains(
            "schedule Deployed-schedule Some(\"cron(0 10 * * ? *)\") Some(\"Europe/Paris\")"
        ),
        "{state}"
    );
}

/// What a deploy leaves, one line per aspect: the state machine's definition hash; every
/// published version's definition hash (found by describing `ARN:1`, `ARN:2`, … since moto
/// 5.2.5 cannot list versions); the alias and its version's definition hash; the tags; each
/// rule flowc may manage with its expression, pattern, state and targets; the ACTIVE job
/// definitions by name with their revision count and image; the code package objects.
fn end_state(env: &Env, r: &Report) -> Vec<String> {
    let aws = env.aws(CallLog::default());
    let sm = r.state_machine_arn.clone().expect("sm");
    let alias = r.alias_arn.clone().expect("alias");
    let mut out = vec![
        format!("state machine {}", definition_of(env, &aws, &sm)),
        versions(env, &aws, &sm),
        format!(
            "alias {alias} → {}",
            definition_of(env, &aws, &alias_version(env, &aws, &alias))
        ),
        tags(env, &aws, &sm),
    ];
    for name in ["Deployed-schedule", "Deployed-trigger"] {
        out.push(rule_state(env, &aws, name));
        out.push(schedule_state(env, &aws, name));
    }
    out.push(job_definitions(env, &aws));
    out.push(code_packages(env, &aws));
    out
}

fn definition_of(env: &Env, aws: &Aws, arn: &str) -> String {
    let d = env
        .block(
            aws.sfn
                .describe_state_machine()
                .state_machine_arn(arn)
                .send(),
        )
        .unwrap_or_else(|e| panic!("describe {arn}: {e:?}"));
    flowc::aws::diff::definition_hash(d.definition())
}

/// `versions N: HASH,…` for versions 1..=N (the first number that does not exist ends it).
fn versions(env: &Env, aws: &Aws, sm: &str) -> String {
    let mut hashes = vec![];
    for k in 1.. {
        let v = format!("{sm}:{k}");
        match env.block(
            aws.sfn
                .describe_state_machine()
                .state_machine_arn(&v)
                .send(),
        ) {
            Ok(d) => hashes.push(flowc::aws::diff::definition_hash(d.definition())),
            Err(_) => break,
        }
    }
    format!("versions {}: {}", hashes.len(), hashes.join(","))
}

fn tags(env: &Env, aws: &Aws, sm: &str) -> String {
    let tags = env
        .block(aws.sfn.list_tags_for_resource().resource_arn(sm).send())
        .expect("tags");
    let mut tags: Vec<String> = tags
        .tags()
        .iter()
        .map(|t| format!("{:?}={:?}", t.key(), t.value()))
        .collect();
    tags.sort();
    format!("tags {}", tags.join(","))
}

fn rule_state(env: &Env, aws: &Aws, rule: &str) -> String {
    let Ok(d) = env.block(aws.events.describe_rule().name(rule).send()) else {
        return format!("rule {rule} absent");
    };
    let targets = env
        .block(aws.events.list_targets_by_rule().rule(rule).send())
        .expect("targets");
    let targets: Vec<String> = targets
        .targets()
        .iter()
        .map(|t| {
            format!(
                "{}→{} as {:?} with {:?}",
                t.id(),
                t.arn(),
                t.role_arn(),
                t.input()
            )
        })
        .collect();
    format!(
        "rule {rule} {:?} {:?} {:?} {:?} targets [{}]",
        d.schedule_expression(),
        d.event_pattern(),
        d.state(),
        d.description(),
        targets.join("; ")
    )
}

fn schedule_state(env: &Env, aws: &Aws, name: &str) -> String {
    let Ok(s) = env.block(aws.scheduler.get_schedule().name(name).send()) else {
        return format!("schedule {name} absent");
    };
    let t = s.target();
    format!(
        "schedule {name} {:?} {:?} {:?} {:?} target {:?} as {:?} with {:?}",
        s.schedule_expression(),
        s.schedule_expression_timezone(),
        s.state(),
        s.description(),
        t.map(|t| t.arn()),
        t.map(|t| t.role_arn()),
        t.and_then(|t| t.input())
    )
}

/// `job definitions NAME×REVISIONS(IMAGE),…` over the ACTIVE revisions.
fn job_definitions(env: &Env, aws: &Aws) -> String {
    let jds = env
        .block(aws.batch.describe_job_definitions().status("ACTIVE").send())
        .expect("job definitions");
    let mut by_name: std::collections::BTreeMap<String, (usize, String)> = Default::default();
    for j in jds.job_definitions() {
        let image = j
            .container_properties()
            .and_then(|c| c.image())
            .unwrap_or_default()
            .to_string();
        let e = by_name
            .entry(j.job_definition_name().unwrap_or_default().to_string())
            .or_insert((0, image));
        e.0 += 1;
    }
    let items: Vec<String> = by_name
        .iter()
        .map(|(n, (count, image))| format!("{n}×{count}({image})"))
        .collect();
    format!("job definitions {}", items.join(","))
}

fn code_packages(env: &Env, aws: &Aws) -> String {
    let objects = env
        .block(
            aws.s3
                .list_objects_v2()
                .bucket("flowc-test")
                .prefix("data/Deployed/code/")
                .send(),
        )
        .expect("list code packages");
    let keys: Vec<&str> = objects.contents().iter().filter_map(|o| o.key()).collect();
    format!("code packages {}", keys.join(","))
}
