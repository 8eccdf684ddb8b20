//! AWS Batch job definitions: one per distinct (image, job role, shared memory) set, named by
//! `passes::lower::job_definition_name` (`flowc-<flow>-<10 hex digits of the content hash>`),
//! registered only when no ACTIVE revision with that name and content exists. Per-step sizes
//! are not part of a job definition: the state machine passes them in `ContainerOverrides`.

use super::clients::aws_error;
use super::config::{Key, Settings};
use super::deploy::Action;
use super::Result;
use crate::ir;
use crate::passes::lower::job_definition_name;
use aws_sdk_batch::types::{
    ContainerProperties, JobDefinitionType, LinuxParameters, ResourceRequirement, ResourceType,
};

/// vCPUs of a job definition (steps without `@resources`/`@batch` sizes get this).
pub const DEFAULT_VCPU: &str = "1";
/// Memory (MiB) of a job definition (AWS Batch minimum for a container job is 4 MiB; flowc
/// picks a size that fits a Python interpreter).
pub const DEFAULT_MEMORY_MIB: &str = "2048";

/// One job definition flowc manages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct JobDef {
    /// Name (`flowc-<flow>-<hash>`).
    pub name: String,
    /// Container image.
    pub image: String,
    /// Job role ARN (`[deploy] job_role` or `@batch(iam_role)`), empty for none.
    pub role: String,
    /// `@resources(shared_memory)` in MiB.
    pub shared_memory: Option<u64>,
}

impl JobDef {
    fn new(flow: &ir::Flow, image: String, role: String, shm: Option<u64>) -> JobDef {
        JobDef {
            name: job_definition_name(flow, &image, &role, shm),
            image,
            role,
            shared_memory: shm,
        }
    }
}

/// The job definitions `flow` needs, sorted by name, and the name of the default one (None
/// when `[deploy] job_definition` names a job definition managed outside flowc).
///
/// Errors: [`super::Error::Config`] when a step needs a flowc-managed job definition and no
/// image is configured.
pub fn desired(flow: &ir::Flow, s: &Settings) -> Result<(Vec<JobDef>, Option<String>)> {
    let role = s.get(Key::JobRole).unwrap_or_default().to_string();
    let mut out = vec![];
    let mut default = None;
    for step in &flow.steps {
        let d = &step.decorators;
        let image = d.batch.as_ref().and_then(|b| b.value.image.clone());
        let own_role = d.batch.as_ref().and_then(|b| b.value.iam_role.clone());
        let shm = d
            .resources
            .as_ref()
            .and_then(|r| r.value.shared_memory)
            .map(|m| m.0);
        if image.is_none() && own_role.is_none() && shm.is_none() {
            if s.get(Key::JobDefinition).is_some() {
                continue;
            }
            let jd = JobDef::new(flow, s.require(Key::Image)?.into(), role.clone(), None);
            default = Some(jd.name.clone());
            out.push(jd);
            continue;
        }
        let image = match image {
            Some(i) => i,
            None => s.require(Key::Image)?.to_string(),
        };
        out.push(JobDef::new(
            flow,
            image,
            own_role.unwrap_or_else(|| role.clone()),
            shm,
        ));
    }
    out.sort();
    out.dedup();
    Ok((out, default))
}

/// What registering `jd` would do: unchanged when an ACTIVE revision with its name has the
/// same image, role and shared memory; else create (no revision) or update (a new revision).
///
/// Errors: [`super::Error::Aws`] from `DescribeJobDefinitions`.
pub async fn status(batch: &aws_sdk_batch::Client, jd: &JobDef) -> Result<Action> {
    let mut any = false;
    let mut pages = batch
        .describe_job_definitions()
        .job_definition_name(&jd.name)
        .status("ACTIVE")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("batch:DescribeJobDefinitions", &e))?;
        for d in page.job_definitions() {
            any = true;
            if d.container_properties().is_some_and(|c| same(c, jd)) {
                return Ok(Action::Unchanged);
            }
        }
    }
    Ok(if any { Action::Update } else { Action::Create })
}

fn same(c: &ContainerProperties, jd: &JobDef) -> bool {
    let shm = c
        .linux_parameters()
        .and_then(|l| l.shared_memory_size())
        .map(|m| m as u64);
    c.image() == Some(jd.image.as_str())
        && c.job_role_arn().unwrap_or_default() == jd.role
        && shm == jd.shared_memory
}

/// Registers a new revision of `jd` (tagged with the flow's name).
///
/// Errors: [`super::Error::Aws`] from `RegisterJobDefinition`.
pub async fn register(batch: &aws_sdk_batch::Client, flow: &str, jd: &JobDef) -> Result<()> {
    let req = |t, v: &str| ResourceRequirement::builder().r#type(t).value(v).build();
    let mut props = ContainerProperties::builder()
        .image(&jd.image)
        .command("flowc")
        .resource_requirements(req(ResourceType::Vcpu, DEFAULT_VCPU))
        .resource_requirements(req(ResourceType::Memory, DEFAULT_MEMORY_MIB));
    if !jd.role.is_empty() {
        props = props.job_role_arn(&jd.role);
    }
    if let Some(shm) = jd.shared_memory {
        let mib = i32::try_from(shm).unwrap_or(i32::MAX);
        props = props.linux_parameters(LinuxParameters::builder().shared_memory_size(mib).build());
    }
    batch
        .register_job_definition()
        .job_definition_name(&jd.name)
        .r#type(JobDefinitionType::Container)
        .container_properties(props.build())
        .tags(super::tags::FLOW, flow)
        .send()
        .await
        .map_err(|e| aws_error("batch:RegisterJobDefinition", &e))?;
    Ok(())
}
