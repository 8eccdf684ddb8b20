//! `flowc deploy`: compile, package, then bring every AWS resource of the flow to the desired
//! state, each step observing first and changing only what differs.
//!
//! Order (each step's resources exist before the next needs them): roles checked → code
//! package → job definitions → state machine (create, or update publishing a version) and its
//! tags → alias → rules and schedules (and removal of those no longer declared).
//!
//! [`run`] with `dry = true` is `--plan`: the same observations, no mutating call. A redeploy
//! of an unchanged flow finds every resource unchanged and makes no mutating call.
//!
//! Convergence after a failure at any point: every step is idempotent, the state machine's
//! tags are written after its definition (a definition equal to the desired one, or one flowc
//! published but did not record, is never reported as drift, whatever its tags), the alias is
//! checked by the definition of the version it points to, and a version published by a
//! failed run is reused rather than published again, so a rerun finishes what a failed run
//! began without duplicates.

use super::clients::{aws_error, is_not_found, Aws};
use super::config::{Key, Settings};
use super::diff::{self, StateChange};
use super::jobdefs::{self, JobDef};
use super::package::{self, Package};
use super::schedules;
use super::{tags, Error, Result};
use crate::backend::eventbridge;
use crate::options::CompileOptions;
use crate::passes::lower::BATCH_SUBMIT_SYNC;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Environment variable, added to every Batch task's `ContainerOverrides`, holding the
/// `s3://` URL of the code package of the deployed version (read by `flowc task`).
pub const CODE_PACKAGE_ENV: &str = "FLOWC_CODE_PACKAGE";

/// What deploying does to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// It does not exist yet.
    Create,
    /// It exists and differs.
    Update,
    /// It exists as desired.
    Unchanged,
    /// It exists and is no longer declared.
    Delete,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Delete => "delete",
        })
    }
}

/// One line of a plan or deploy report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Resource kind (`code package`, `job definition`, `state machine`, `alias`, `rule`,
    /// `schedule`, `role`).
    pub kind: &'static str,
    /// Name, key or ARN.
    pub name: String,
    /// What was (or, for a plan, would be) done.
    pub action: Action,
}

/// What [`run`] found and did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One line per resource, in deploy order.
    pub items: Vec<Item>,
    /// State-level diff from the deployed definition to the new one (empty when new or
    /// unchanged).
    pub changes: Vec<StateChange>,
    /// State machine ARN (None in a plan of a first deploy).
    pub state_machine_arn: Option<String>,
    /// Alias ARN (None in a plan of a first deploy).
    pub alias_arn: Option<String>,
    /// The version ARN the alias points to after the deploy.
    pub version_arn: Option<String>,
}

impl Report {
    /// Whether nothing was (or would be) created, updated or deleted.
    pub fn unchanged(&self) -> bool {
        self.items.iter().all(|i| i.action == Action::Unchanged)
    }

    /// The report as text: one `ACTION  KIND  NAME` line per resource, then the state diff.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for i in &self.items {
            out.push_str(&format!("{:<10} {:<15} {}\n", i.action, i.kind, i.name));
        }
        if !self.changes.is_empty() {
            out.push_str("state machine definition:\n");
            for c in &self.changes {
                out.push_str(&format!("{c}\n"));
            }
        }
        out
    }
}

/// Everything the deploy needs, computed without AWS access.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The checked flow.
    pub flow: crate::ir::Flow,
    /// Compile options (deployment values from the settings).
    pub opts: CompileOptions,
    /// State machine name ([`eventbridge::state_machine_name`]).
    pub name: String,
    /// The definition to deploy (compiled ASL with the code package location), pretty JSON.
    pub definition: String,
    /// [`diff::definition_hash`] of `definition`.
    pub definition_hash: String,
    /// The code package.
    pub package: Package,
    /// Datastore bucket.
    pub bucket: String,
    /// S3 key of the code package.
    pub package_key: String,
    /// Job definitions flowc manages for this flow.
    pub jobdefs: Vec<JobDef>,
    /// State machine role ARN.
    pub role: String,
    /// Events role ARN (None when the flow has neither `@schedule` nor `@trigger`).
    pub events_role: Option<String>,
    /// Alias name.
    pub alias: String,
}

/// Compiles the flow at `path` with `settings` and packs its folder.
///
/// Errors: [`Error::Io`] (unreadable file or folder), [`Error::Compile`], [`Error::Config`]
/// naming the first missing setting.
pub fn prepare(path: &Path, settings: &Settings) -> Result<Desired> {
    let source = std::fs::read_to_string(path)
        .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    let mut opts = CompileOptions {
        deploy: settings.deploy.clone(),
        ..Default::default()
    };
    let (flow, diags) = crate::check(&source, &opts);
    let flow = flow.ok_or(Error::Compile(diags.clone()))?;
    let (bucket, prefix) = settings.datastore()?;
    let role = settings.require(Key::StateMachineRole)?.to_string();
    if flow.steps.iter().any(|s| {
        s.decorators
            .batch
            .as_ref()
            .and_then(|b| b.value.queue.as_ref())
            .is_none()
    }) {
        settings.require(Key::JobQueue)?;
    }
    let scheduled = flow.decorators.schedule.is_some() || flow.decorators.trigger.is_some();
    let events_role = match scheduled {
        true => Some(settings.require(Key::EventsRole)?.to_string()),
        false => None,
    };
    let (jobdefs, default) = jobdefs::desired(&flow, settings)?;
    if let Some(d) = default {
        opts.deploy.job_definition = Some(d);
    }
    let compiled = crate::compile_ir(flow, &opts, diags).map_err(Error::Compile)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let package = package::build(dir)?;
    let package_key = package.key(&prefix, &compiled.flow.name);
    let mut definition = compiled.definition;
    add_code_package(&mut definition, &format!("s3://{bucket}/{package_key}"));
    let definition = crate::driver::pretty(&definition);
    Ok(Desired {
        name: eventbridge::state_machine_name(&compiled.flow),
        definition_hash: diff::definition_hash(&definition),
        definition,
        flow: compiled.flow,
        opts,
        package,
        bucket,
        package_key,
        jobdefs,
        role,
        events_role,
        alias: settings.alias().to_string(),
    })
}

/// Adds `FLOWC_CODE_PACKAGE=url` to the `ContainerOverrides.Environment` of every Batch
/// task (nested ones included), keeping the variables sorted by name. The definition thus
/// changes with the code, so each published version runs the code it was deployed with.
pub fn add_code_package(v: &mut Value, url: &str) {
    match v {
        Value::Object(m) => {
            if m.get("Resource").and_then(Value::as_str) == Some(BATCH_SUBMIT_SYNC) {
                if let Some(o) = m
                    .get_mut("Parameters")
                    .and_then(|p| p.get_mut("ContainerOverrides"))
                    .and_then(Value::as_object_mut)
                {
                    let env = o.entry("Environment").or_insert_with(|| json!([]));
                    if let Some(list) = env.as_array_mut() {
                        list.retain(|e| e["Name"] != CODE_PACKAGE_ENV);
                        list.push(json!({"Name": CODE_PACKAGE_ENV, "Value": url}));
                        list.sort_by(|a, b| a["Name"].as_str().cmp(&b["Name"].as_str()));
                    }
                }
            }
            m.values_mut().for_each(|x| add_code_package(x, url));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| add_code_package(x, url)),
        _ => {}
    }
}

/// The role name of an IAM role ARN (`arn:aws:iam::ACCOUNT:role/PATH/NAME` → `NAME`).
pub fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Deploys (`dry = false`) or plans (`dry = true`) `d`. With `force`, a state machine changed
/// outside flowc is overwritten; without it that is [`Error::Drift`].
///
/// Errors: [`Error::NotFound`] for a missing role, [`Error::Drift`], [`Error::Aws`].
pub async fn run(aws: &Aws, d: &Desired, dry: bool, force: bool) -> Result<Report> {
    let mut r = Report::default();
    check_roles(aws, d, &mut r).await?;
    // Read once: the drift check and the update see the same state machine (nothing in
    // between touches it).
    let current = deployed(aws, &d.name).await?;
    if let (false, Some(sm)) = (force, &current) {
        check_drift(aws, d, sm).await?;
    }
    code_package(aws, d, dry, &mut r).await?;
    for jd in &d.jobdefs {
        let action = jobdefs::status(&aws.batch, jd).await?;
        if !dry && action != Action::Unchanged {
            jobdefs::register(&aws.batch, &d.flow.name, jd).await?;
        }
        r.items.push(item("job definition", &jd.name, action));
    }
    let published = state_machine(aws, d, dry, current, &mut r).await?;
    alias(aws, d, dry, published, &mut r).await?;
    triggers(aws, d, dry, &mut r).await?;
    Ok(r)
}

fn item(kind: &'static str, name: &str, action: Action) -> Item {
    Item {
        kind,
        name: name.to_string(),
        action,
    }
}

async fn check_roles(aws: &Aws, d: &Desired, r: &mut Report) -> Result<()> {
    let mut roles: Vec<&str> = vec![d.role.as_str()];
    roles.extend(d.events_role.as_deref());
    roles.extend(
        d.jobdefs
            .iter()
            .map(|j| j.role.as_str())
            .filter(|s| !s.is_empty()),
    );
    roles.sort();
    roles.dedup();
    for arn in roles {
        match aws.iam.get_role().role_name(role_name(arn)).send().await {
            Ok(_) => r.items.push(item("role", arn, Action::Unchanged)),
            Err(e) if is_not_found(&e) => {
                return Err(Error::NotFound(format!(
                    "IAM role {arn} does not exist: flowc never creates roles; create it with \
                     the policy of `flowc compile FLOW --emit iam` (see docs/deploy.md)"
                )))
            }
            Err(e) => return Err(aws_error("iam:GetRole", &e)),
        }
    }
    Ok(())
}

async fn code_package(aws: &Aws, d: &Desired, dry: bool, r: &mut Report) -> Result<()> {
    let url = format!("s3://{}/{}", d.bucket, d.package_key);
    let action = if package::exists(&aws.s3, &d.bucket, &d.package_key).await? {
        Action::Unchanged
    } else {
        if !dry {
            package::upload(&aws.s3, &d.bucket, &d.package_key, &d.package).await?;
        }
        Action::Create
    };
    r.items.push(item("code package", &url, action));
    Ok(())
}

/// The state machine of this name, if any (`ListStateMachines`, paginated).
///
/// Errors: [`Error::Aws`].
pub async fn find_state_machine(aws: &Aws, name: &str) -> Result<Option<String>> {
    let mut pages = aws.sfn.list_state_machines().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("states:ListStateMachines", &e))?;
        if let Some(sm) = page.state_machines().iter().find(|s| s.name() == name) {
            return Ok(Some(sm.state_machine_arn().to_string()));
        }
    }
    Ok(None)
}

/// A deployed state machine as [`run`] reads it before changing anything.
struct Deployed {
    arn: String,
    definition: String,
    role_arn: String,
    tags: BTreeMap<String, String>,
}

/// The state machine named `name` with its definition, role and tags, if it exists
/// (`ListStateMachines`, `DescribeStateMachine`, `ListTagsForResource`).
async fn deployed(aws: &Aws, name: &str) -> Result<Option<Deployed>> {
    let Some(arn) = find_state_machine(aws, name).await? else {
        return Ok(None);
    };
    let got = aws
        .sfn
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .map_err(|e| aws_error("states:DescribeStateMachine", &e))?;
    let tags = list_tags(aws, &arn).await?;
    Ok(Some(Deployed {
        definition: got.definition().to_string(),
        role_arn: got.role_arn().to_string(),
        tags,
        arn,
    }))
}

fn wanted_tags(d: &Desired) -> BTreeMap<String, String> {
    BTreeMap::from([
        (tags::FLOW.to_string(), d.flow.name.clone()),
        (tags::DEFINITION.to_string(), d.definition_hash.clone()),
        (tags::CODE.to_string(), d.package.sha256.clone()),
    ])
}

fn version_description(d: &Desired) -> String {
    format!(
        "flowc flow={} definition-sha256={} code-sha256={}",
        d.flow.name, d.definition_hash, d.package.sha256
    )
}

fn sfn_tags(d: &Desired) -> Vec<aws_sdk_sfn::types::Tag> {
    wanted_tags(d)
        .into_iter()
        .map(|(k, v)| aws_sdk_sfn::types::Tag::builder().key(k).value(v).build())
        .collect()
}

/// Creates or updates the state machine; returns the version ARN published in this run.
/// (Drift was checked before any change, by [`check_drift`].)
async fn state_machine(
    aws: &Aws,
    d: &Desired,
    dry: bool,
    current: Option<Deployed>,
    r: &mut Report,
) -> Result<Option<String>> {
    let Some(current) = current else {
        r.items.push(item("state machine", &d.name, Action::Create));
        if dry {
            return Ok(None);
        }
        let out = aws
            .sfn
            .create_state_machine()
            .name(&d.name)
            .definition(&d.definition)
            .role_arn(&d.role)
            .publish(true)
            .version_description(version_description(d))
            .set_tags(Some(sfn_tags(d)))
            .send()
            .await
            .map_err(|e| aws_error("states:CreateStateMachine", &e))?;
        r.state_machine_arn = Some(out.state_machine_arn().to_string());
        return Ok(out.state_machine_version_arn().map(str::to_string));
    };
    let arn = current.arn;
    r.state_machine_arn = Some(arn.clone());
    let deployed_hash = diff::definition_hash(&current.definition);
    let same_def = deployed_hash == d.definition_hash && current.role_arn == d.role;
    let tags_ok = wanted_tags(d)
        .iter()
        .all(|(k, v)| current.tags.get(k) == Some(v));
    if !same_def {
        r.changes = definition_diff(&current.definition, &d.definition);
    }
    let action = if same_def && tags_ok {
        Action::Unchanged
    } else {
        Action::Update
    };
    r.items.push(item("state machine", &d.name, action));
    if dry || action == Action::Unchanged {
        return Ok(None);
    }
    let mut published = None;
    if !same_def {
        published = Some(publish(aws, d, &arn).await?);
    }
    aws.sfn
        .tag_resource()
        .resource_arn(&arn)
        .set_tags(Some(sfn_tags(d)))
        .send()
        .await
        .map_err(|e| aws_error("states:TagResource", &e))?;
    Ok(published)
}

/// Refuses (before any change) when the deployed state machine was edited outside flowc:
/// its definition is neither the desired one nor the one flowc recorded (tag
/// `flowc:definition-sha256`), nor one flowc published without recording it
/// ([`published_by_flowc`]). The error shows the diff from the deployed definition to the
/// desired one.
async fn check_drift(aws: &Aws, d: &Desired, sm: &Deployed) -> Result<()> {
    let hash = diff::definition_hash(&sm.definition);
    let recorded = sm.tags.get(tags::DEFINITION);
    if hash == d.definition_hash || recorded.is_none_or(|h| *h == hash) {
        return Ok(());
    }
    if published_by_flowc(aws, d, &sm.arn, &hash).await {
        return Ok(());
    }
    let changes = definition_diff(&sm.definition, &d.definition);
    let text: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
    Err(Error::Drift(text.join("\n")))
}

/// Whether flowc published the deployed definition (hash `hash`) without recording it in the
/// tags, as a deploy that failed between `UpdateStateMachine` and `TagResource` leaves it:
/// the newest version ([`newest_version`]) has that definition and a description flowc wrote
/// for it ([`describes`]).
async fn published_by_flowc(aws: &Aws, d: &Desired, sm: &str, hash: &str) -> bool {
    let aliased = aliased_version(aws, &format!("{sm}:{}", d.alias))
        .await
        .ok()
        .flatten();
    let Some(newest) = newest_version(aws, sm, aliased.as_deref()).await else {
        return false;
    };
    let Ok(v) = aws
        .sfn
        .describe_state_machine()
        .state_machine_arn(&newest)
        .send()
        .await
    else {
        return false;
    };
    diff::definition_hash(v.definition()) == hash
        && v.description()
            .is_some_and(|text| describes(text, &d.flow.name, hash))
}

/// Whether a version description is the one flowc writes ([`version_description`]) for flow
/// `flow` and definition hash `hash`.
fn describes(description: &str, flow: &str, hash: &str) -> bool {
    let mut words = description.split_whitespace();
    words.next() == Some("flowc")
        && words.next() == Some(format!("flow={flow}").as_str())
        && words.next() == Some(format!("definition-sha256={hash}").as_str())
}

fn definition_diff(old: &str, new: &str) -> Vec<StateChange> {
    let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap_or(Value::Null);
    diff::diff(&parse(old), &parse(new))
}

async fn list_tags(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>> {
    let out = aws
        .sfn
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error("states:ListTagsForResource", &e))?;
    Ok(out
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect())
}

/// `UpdateStateMachine` with the desired definition and `publish = true`; returns the new
/// version's ARN. (moto 5.2.5 answers `PublishStateMachineVersion` with HTTP 500; this is
/// also one call instead of two.)
async fn publish(aws: &Aws, d: &Desired, arn: &str) -> Result<String> {
    let out = aws
        .sfn
        .update_state_machine()
        .state_machine_arn(arn)
        .definition(&d.definition)
        .role_arn(&d.role)
        .publish(true)
        .version_description(version_description(d))
        .send()
        .await
        .map_err(|e| aws_error("states:UpdateStateMachine", &e))?;
    out.state_machine_version_arn()
        .map(str::to_string)
        .ok_or_else(|| Error::Aws("states:UpdateStateMachine".into(), "no version ARN".into()))
}

/// Points the alias at a version whose definition is the desired one.
async fn alias(
    aws: &Aws,
    d: &Desired,
    dry: bool,
    published: Option<String>,
    r: &mut Report,
) -> Result<()> {
    let Some(sm) = r.state_machine_arn.clone() else {
        r.items.push(item("alias", &d.alias, Action::Create));
        return Ok(());
    };
    let alias_arn = format!("{sm}:{}", d.alias);
    r.alias_arn = Some(alias_arn.clone());
    let current = aliased_version(aws, &alias_arn).await?;
    let exists = current.is_some();
    if let (Some(v), None) = (&current, &published) {
        if version_hash(aws, v).await? == d.definition_hash {
            r.version_arn = current.clone();
            r.items.push(item("alias", &alias_arn, Action::Unchanged));
            return Ok(());
        }
    }
    let action = if exists {
        Action::Update
    } else {
        Action::Create
    };
    r.items.push(item("alias", &alias_arn, action));
    if dry {
        return Ok(());
    }
    let version = match published {
        Some(v) => v,
        None => match latest_version_if_desired(aws, d, &sm, current.as_deref()).await {
            Some(v) => v,
            None => publish(aws, d, &sm).await?,
        },
    };
    let route = aws_sdk_sfn::types::RoutingConfigurationListItem::builder()
        .state_machine_version_arn(&version)
        .weight(100)
        .build()
        .map_err(|e| Error::Aws("states:UpdateStateMachineAlias".into(), e.to_string()))?;
    if exists {
        aws.sfn
            .update_state_machine_alias()
            .state_machine_alias_arn(&alias_arn)
            .routing_configuration(route)
            .send()
            .await
            .map_err(|e| aws_error("states:UpdateStateMachineAlias", &e))?;
    } else {
        aws.sfn
            .create_state_machine_alias()
            .name(&d.alias)
            .description(format!("flowc alias of flow {}", d.flow.name))
            .routing_configuration(route)
            .send()
            .await
            .map_err(|e| aws_error("states:CreateStateMachineAlias", &e))?;
    }
    r.version_arn = Some(version);
    Ok(())
}

/// The version alias `alias_arn` routes to (its first route), None when the alias does not
/// exist.
///
/// Errors: [`Error::Aws`] from `DescribeStateMachineAlias`.
async fn aliased_version(aws: &Aws, alias_arn: &str) -> Result<Option<String>> {
    match aws
        .sfn
        .describe_state_machine_alias()
        .state_machine_alias_arn(alias_arn)
        .send()
        .await
    {
        Ok(a) => Ok(a
            .routing_configuration()
            .first()
            .map(|c| c.state_machine_version_arn().to_string())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(aws_error("states:DescribeStateMachineAlias", &e)),
    }
}

/// The newest published version when its definition is the desired one (a run that
/// published it failed before moving the alias), so a rerun does not publish a duplicate.
/// `aliased` is the version the alias points to now, if any. None when there is no such
/// version.
async fn latest_version_if_desired(
    aws: &Aws,
    d: &Desired,
    sm: &str,
    aliased: Option<&str>,
) -> Option<String> {
    let newest = newest_version(aws, sm, aliased).await?;
    let hash = version_hash(aws, &newest).await.ok()?;
    (hash == d.definition_hash).then_some(newest)
}

/// The newest published version of `sm`, from `ListStateMachineVersions`, or, when that call
/// fails (moto 5.2.5 answers it with HTTP 500), from [`newest_version_probed`] starting after
/// `aliased` (the version the alias points to: any version published since is newer).
/// Without the probe a rerun would publish again, and a `publish=true` that is not idempotent
/// (moto's; AWS returns the existing version of a revision) would leave two versions with one
/// definition. None when there is no version.
async fn newest_version(aws: &Aws, sm: &str, aliased: Option<&str>) -> Option<String> {
    let listed = aws
        .sfn
        .list_state_machine_versions()
        .state_machine_arn(sm)
        .max_results(1)
        .send()
        .await;
    match listed {
        Ok(list) => Some(
            list.state_machine_versions()
                .first()?
                .state_machine_version_arn()
                .to_string(),
        ),
        Err(_) => newest_version_probed(aws, sm, aliased).await,
    }
}

/// Most version numbers [`newest_version_probed`] tries (Step Functions quota: 1,000
/// published versions per state machine).
const VERSION_PROBE_LIMIT: u64 = 1000;

/// The newest version found by describing `SM:N`, `SM:N+1`, … until one does not exist, N
/// one after the number of `aliased` (version numbers only grow), or 1 without an alias.
/// None when `SM:N` does not exist.
async fn newest_version_probed(aws: &Aws, sm: &str, aliased: Option<&str>) -> Option<String> {
    let first = first_probe(aliased);
    let mut newest = None;
    for k in first..first.saturating_add(VERSION_PROBE_LIMIT) {
        let arn = format!("{sm}:{k}");
        let found = aws
            .sfn
            .describe_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await;
        if found.is_err() {
            break;
        }
        newest = Some(arn);
    }
    newest
}

/// The first version number to probe: one after that of version ARN `aliased`
/// (`arn:aws:states:REGION:ACCOUNT:stateMachine:NAME:N`), 1 without one or when it ends in
/// no number.
fn first_probe(aliased: Option<&str>) -> u64 {
    aliased
        .and_then(|v| v.rsplit(':').next())
        .and_then(|n| n.parse::<u64>().ok())
        .map_or(1, |n| n.saturating_add(1))
}

async fn version_hash(aws: &Aws, version_arn: &str) -> Result<String> {
    let v = aws
        .sfn
        .describe_state_machine()
        .state_machine_arn(version_arn)
        .send()
        .await
        .map_err(|e| aws_error("states:DescribeStateMachine", &e))?;
    Ok(diff::definition_hash(v.definition()))
}

/// Rules and schedules: put the declared ones, delete the ones no longer declared.
async fn triggers(aws: &Aws, d: &Desired, dry: bool, r: &mut Report) -> Result<()> {
    let alias_arn = r
        .alias_arn
        .clone()
        .unwrap_or_else(|| eventbridge::alias_arn(&d.flow, &d.opts));
    let role = d.events_role.clone().unwrap_or_default();
    let want = schedules::desired(&d.flow, &d.opts, &alias_arn, &role);
    for rule in &want.rules {
        let action = schedules::rule_status(&aws.events, rule).await?;
        if !dry && action != Action::Unchanged {
            schedules::put_rule(&aws.events, rule, &d.flow.name).await?;
        }
        r.items.push(item("rule", &rule.put_rule.name, action));
    }
    for s in &want.schedules {
        let action = schedules::schedule_status(&aws.scheduler, s).await?;
        if !dry && action != Action::Unchanged {
            schedules::put_schedule(&aws.scheduler, s, action == Action::Update).await?;
        }
        r.items.push(item("schedule", &s.name, action));
    }
    for name in schedules::candidate_names(&d.flow) {
        if !want.rules.iter().any(|x| x.put_rule.name == name)
            && schedules::rule_exists(&aws.events, &name).await?
        {
            if !dry {
                schedules::delete_rule(&aws.events, &name).await?;
            }
            r.items.push(item("rule", &name, Action::Delete));
        }
        if !want.schedules.iter().any(|x| x.name == name)
            && schedules::schedule_exists(&aws.scheduler, &name).await?
        {
            if !dry {
                schedules::delete_schedule(&aws.scheduler, &name).await?;
            }
            r.items.push(item("schedule", &name, Action::Delete));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_package_goes_into_every_batch_task_sorted() {
        let mut def = json!({"States": {
            "a": {"Resource": BATCH_SUBMIT_SYNC, "Parameters": {"ContainerOverrides": {
                "Environment": [{"Name": "ZED", "Value": "1"}, {"Name": "ALPHA", "Value": "2"}]}}},
            "p": {"Branches": [{"States": {"b": {"Resource": BATCH_SUBMIT_SYNC,
                "Parameters": {"ContainerOverrides": {}}}}}]},
            "s": {"Resource": "arn:aws:states:::aws-sdk:s3:putObject", "Parameters": {}}}});
        add_code_package(&mut def, "s3://b/k");
        let names: Vec<_> = def["States"]["a"]["Parameters"]["ContainerOverrides"]["Environment"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["Name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["ALPHA", CODE_PACKAGE_ENV, "ZED"]);
        let nested = &def["States"]["p"]["Branches"][0]["States"]["b"]["Parameters"];
        assert_eq!(
            nested["ContainerOverrides"]["Environment"][0]["Value"],
            "s3://b/k"
        );
        assert_eq!(def["States"]["s"]["Parameters"], json!({}));
    }

    #[test]
    fn only_flowc_version_descriptions_of_this_flow_and_hash_count() {
        let text = "flowc flow=Train definition-sha256=abc code-sha256=def";
        assert!(describes(text, "Train", "abc"));
        assert!(!describes(text, "Train", "ab"));
        assert!(!describes(text, "Trai", "abc"));
        assert!(!describes("edited definition-sha256=abc", "Train", "abc"));
        assert!(!describes("", "Train", "abc"));
    }

    #[test]
    fn versions_are_probed_from_the_one_after_the_aliased_version() {
        let sm = "arn:aws:states:us-east-1:1:stateMachine:Train";
        assert_eq!(first_probe(Some(&format!("{sm}:7"))), 8);
        assert_eq!(first_probe(None), 1);
        assert_eq!(first_probe(Some(sm)), 1);
    }

    #[test]
    fn role_names_from_arns() {
        assert_eq!(role_name("arn:aws:iam::1:role/a/b/name"), "name");
        assert_eq!(role_name("arn:aws:iam::1:role/x"), "x");
    }
}
