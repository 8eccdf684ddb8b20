//! iam: the IAM policy the state machine's role needs, derived from the ASL definition.
//!
//! The definition is scanned recursively (top-level `States`, `Parallel` `Branches`, `Map`
//! `ItemProcessor`/`Iterator`, `ItemReader`, `ResultWriter`) for the service integrations it
//! uses, and each use becomes one statement scoped as narrowly as AWS allows:
//!
//! | use in the definition                         | statement                                   |
//! |-----------------------------------------------|---------------------------------------------|
//! | `arn:aws:states:::batch:submitJob[.sync]`     | `batch:SubmitJob` on the job queues and job definitions named in the Task's `Parameters`/`Arguments` |
//! | `…batch:submitJob.sync`                       | `batch:DescribeJobs` (`*`), `batch:TerminateJob` (jobs of the account), `events:PutTargets/PutRule/DescribeRule` on the managed rule `StepFunctionsGetEventsForBatchJobsRule` |
//! | `s3:getObject` (Task or `ItemReader`)         | `s3:GetObject` on the object (or datastore prefix) |
//! | `s3:listObjectsV2` (Task or `ItemReader`)     | `s3:ListBucket` on the bucket, limited to the prefix |
//! | `s3:putObject` (Task)                         | `s3:PutObject` on the object                 |
//! | Map `ResultWriter`                            | `s3:PutObject`, `GetObject`, `ListMultipartUploadParts`, `AbortMultipartUpload` under the prefix |
//! | `Map` with `ProcessorConfig.Mode: DISTRIBUTED` | `states:StartExecution` on the state machine, `states:DescribeExecution`/`StopExecution` on its executions |
//!
//! (AWS Step Functions developer guide: "IAM policies for AWS Batch", "IAM policies for using
//! Distributed Map states".)
//!
//! ## Output shape
//! IAM policy documents have no comment field and reject unknown keys, so the document is
//! wrapped:
//!
//! ```text
//! { "PolicyName": "<flow>-state-machine",
//!   "PolicyDocument": { "Version": "2012-10-17", "Statement": [ { "Sid", "Effect", "Action", "Resource", ["Condition"] } ] },
//!   "Comments": { "<Sid>": "why this statement exists" } }
//! ```
//!
//! `PolicyDocument` alone is what `aws iam put-role-policy --policy-document` takes; `Comments`
//! explains each statement by its `Sid`. Placeholders follow [`super::eventbridge`]
//! (`${AWS::Region}`, `${AWS::AccountId}`); job queues, job definitions and the datastore are
//! taken from the definition as `passes::lower` wrote them (its own placeholders included).
//! S3 keys computed at run time are scoped by their static start (`States.Format('prefix/{}…')`
//! gives `prefix/*`), else to the datastore prefix. Statement order is fixed (Batch, events, S3, Step
//! Functions) and resources are sorted, so the output is deterministic.

use super::eventbridge::{self, ACCOUNT, REGION};
use crate::ir;
use crate::options::CompileOptions;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The EventBridge rule Step Functions manages for `.sync` AWS Batch jobs (AWS Step Functions
/// developer guide, "IAM policies for AWS Batch").
pub const BATCH_SYNC_RULE: &str = "StepFunctionsGetEventsForBatchJobsRule";

/// What the definition uses, collected by the scan.
#[derive(Debug, Default)]
struct Uses {
    /// `batch:submitJob` in either pattern.
    submit: bool,
    /// `batch:submitJob.sync`.
    sync: bool,
    queues: BTreeSet<String>,
    definitions: BTreeSet<String>,
    /// `s3:GetObject` resources.
    get: BTreeSet<String>,
    /// (bucket ARN, prefix pattern) for `s3:ListBucket`.
    list: BTreeSet<(String, String)>,
    /// `s3:PutObject` resources.
    put: BTreeSet<String>,
    /// Map `ResultWriter` prefixes (as object ARN patterns).
    results: BTreeSet<String>,
    distributed: bool,
}

/// One IAM statement plus its explanation.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    sid: String,
    effect: &'static str,
    action: Vec<&'static str>,
    resource: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    condition: Option<Value>,
    #[serde(skip)]
    why: String,
}

/// The policy for the state machine role of `flow`, given its ASL `definition`:
/// `{"PolicyName", "PolicyDocument": {"Version", "Statement"}, "Comments": {Sid: why}}`.
///
/// Never fails: unknown shapes in the definition are skipped, and values computed at run time
/// (`"Key.$"` paths, JSONata `{% … %}`) are scoped to the datastore or to the account.
pub fn emit(definition: &Value, flow: &ir::Flow, opts: &CompileOptions) -> Value {
    let mut uses = Uses::default();
    let store = Datastore::of(opts);
    scan_states(definition, &store, &mut uses);
    let statements = statements(&uses, flow);
    let comments: Map<String, Value> = statements
        .iter()
        .map(|s| (s.sid.clone(), Value::String(s.why.clone())))
        .collect();
    serde_json::json!({
        "PolicyName": eventbridge::name(&eventbridge::base_name(flow), "state-machine"),
        "PolicyDocument": { "Version": "2012-10-17", "Statement": statements },
        "Comments": comments,
    })
}

/// The role EventBridge rules and EventBridge Scheduler schedules assume to start executions
/// (needed when `[deploy] events_role` is not set; its ARN replaces `${EventsRoleArn}`):
/// `{"RoleName", "AssumeRolePolicyDocument", "PolicyName", "PolicyDocument", "Comments"}`.
///
/// The trust policy admits `events.amazonaws.com` and `scheduler.amazonaws.com`; the policy
/// allows `states:StartExecution` on the alias ARN the targets name (starting through an alias
/// is authorised on the alias ARN). None when the flow has neither `@schedule` nor `@trigger`.
pub fn events_role(flow: &ir::Flow, opts: &CompileOptions) -> Option<Value> {
    let d = &flow.decorators;
    if d.schedule.is_none() && d.trigger.is_none() {
        return None;
    }
    let base = eventbridge::base_name(flow);
    let start = allow(
        "StartFlowExecution",
        vec!["states:StartExecution"],
        vec![eventbridge::alias_arn(flow, opts)],
        "EventBridge rules and Scheduler schedules start executions of the flow through its alias.",
    );
    let comments = Map::from_iter([(start.sid.clone(), Value::String(start.why.clone()))]);
    Some(serde_json::json!({
        "RoleName": eventbridge::name(&base, "events"),
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": ["events.amazonaws.com", "scheduler.amazonaws.com"] },
                "Action": "sts:AssumeRole"
            }]
        },
        "PolicyName": eventbridge::name(&base, "start-execution"),
        "PolicyDocument": { "Version": "2012-10-17", "Statement": [start] },
        "Comments": comments,
    }))
}

/// The datastore's bucket and key prefix (no trailing `/`), as `passes::lower` reads them
/// (its placeholder when `[deploy] datastore` is not set).
struct Datastore {
    bucket: String,
    prefix: String,
}

impl Datastore {
    fn of(opts: &CompileOptions) -> Self {
        let d = crate::passes::lower::Datastore::from_options(opts);
        Datastore {
            bucket: d.bucket,
            prefix: d.prefix,
        }
    }

    /// The bucket, literal or (when computed) the datastore's.
    fn bucket(&self, params: Option<&Map<String, Value>>) -> String {
        param(params, "Bucket").unwrap_or_else(|| self.bucket.clone())
    }

    /// The ARN pattern of the objects `Bucket`/`Key` may name: the literal key, the static
    /// start of a computed key plus `*`, or (nothing known) the datastore prefix when the
    /// bucket is the datastore's, else the whole bucket.
    fn object(&self, params: Option<&Map<String, Value>>) -> String {
        let bucket = self.bucket(params);
        let key = match location(params, "Key") {
            Location::Exact(k) => k,
            Location::StartsWith(p) => format!("{p}*"),
            Location::Unknown => self.fallback(&bucket),
        };
        format!("arn:aws:s3:::{bucket}/{key}")
    }

    /// The key pattern under `Prefix` (a ResultWriter's or listObjectsV2's folder).
    fn under_prefix(&self, params: Option<&Map<String, Value>>, bucket: &str) -> String {
        match location(params, "Prefix") {
            Location::Exact(p) if p.is_empty() => "*".into(),
            Location::Exact(p) => format!("{}/*", p.trim_end_matches('/')),
            Location::StartsWith(p) => format!("{p}*"),
            Location::Unknown => self.fallback(bucket),
        }
    }

    /// `<prefix>/*` of the datastore for its own bucket (`*` at the bucket root); `*` (the
    /// whole bucket) for another bucket.
    fn fallback(&self, bucket: &str) -> String {
        if bucket != self.bucket || self.prefix.is_empty() {
            "*".into()
        } else {
            format!("{}/*", self.prefix)
        }
    }
}

/// What is known at compile time about a key or prefix parameter.
#[derive(Debug, PartialEq)]
enum Location {
    /// A literal value.
    Exact(String),
    /// Computed, but always starting with this text (from `States.Format('text{}…', …)`).
    StartsWith(String),
    /// Computed, nothing known.
    Unknown,
}

/// Reads `name` (literal) or `name.$` (a path or intrinsic) from the parameters.
fn location(params: Option<&Map<String, Value>>, name: &str) -> Location {
    if let Some(v) = param(params, name) {
        return Location::Exact(v);
    }
    let computed = params
        .and_then(|p| p.get(&format!("{name}.$")))
        .and_then(Value::as_str);
    computed.map_or(Location::Unknown, format_start)
}

/// The static start of a `States.Format('…', …)` template: `Exact` when it has no `{}`,
/// `StartsWith` the text before the first `{}` otherwise (`Unknown` when that is empty or the
/// template uses escapes).
fn format_start(expr: &str) -> Location {
    let Some(rest) = expr.trim().strip_prefix("States.Format('") else {
        return Location::Unknown;
    };
    let Some(end) = rest.find('\'') else {
        return Location::Unknown;
    };
    let template = &rest[..end];
    if template.contains('\\') {
        return Location::Unknown;
    }
    match template.find("{}") {
        None => Location::Exact(template.to_string()),
        Some(0) => Location::Unknown,
        Some(i) => Location::StartsWith(template[..i].to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// scan

fn scan_states(container: &Value, store: &Datastore, uses: &mut Uses) {
    let Some(states) = container.get("States").and_then(Value::as_object) else {
        return;
    };
    for state in states.values() {
        scan_state(state, store, uses);
    }
}

fn scan_state(state: &Value, store: &Datastore, uses: &mut Uses) {
    match state.get("Type").and_then(Value::as_str) {
        Some("Task") => task(state, store, uses),
        Some("Parallel") => {
            for branch in state
                .get("Branches")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                scan_states(branch, store, uses);
            }
        }
        Some("Map") => map(state, store, uses),
        _ => {}
    }
}

fn map(state: &Value, store: &Datastore, uses: &mut Uses) {
    let processor = state.get("ItemProcessor").or_else(|| state.get("Iterator"));
    if let Some(p) = processor {
        let mode = p.pointer("/ProcessorConfig/Mode").and_then(Value::as_str);
        uses.distributed |= mode == Some("DISTRIBUTED");
        scan_states(p, store, uses);
    }
    if let Some(reader) = state.get("ItemReader") {
        task(reader, store, uses);
    }
    if let Some(writer) = state.get("ResultWriter") {
        let params = arguments(writer);
        let bucket = store.bucket(params);
        let prefix = store.under_prefix(params, &bucket);
        uses.results
            .insert(format!("arn:aws:s3:::{bucket}/{prefix}"));
    }
}

/// The service integrations the scan understands (`Resource` of a Task or `ItemReader`);
/// any other resource gets no statement.
pub const KNOWN_RESOURCES: &[&str] = &[
    "arn:aws:states:::batch:submitJob",
    "arn:aws:states:::batch:submitJob.sync",
    "arn:aws:states:::s3:getObject",
    "arn:aws:states:::aws-sdk:s3:getObject",
    "arn:aws:states:::s3:listObjectsV2",
    "arn:aws:states:::aws-sdk:s3:listObjectsV2",
    "arn:aws:states:::s3:putObject",
    "arn:aws:states:::aws-sdk:s3:putObject",
];

/// A Task state, or an `ItemReader` (same `Resource` + `Parameters`/`Arguments` shape).
fn task(state: &Value, store: &Datastore, uses: &mut Uses) {
    let Some(resource) = state.get("Resource").and_then(Value::as_str) else {
        return;
    };
    let params = arguments(state);
    let action = resource
        .strip_prefix("arn:aws:states:::aws-sdk:")
        .or_else(|| resource.strip_prefix("arn:aws:states:::"))
        .unwrap_or("");
    match action {
        "batch:submitJob" | "batch:submitJob.sync" => {
            uses.submit = true;
            uses.sync |= action.ends_with(".sync");
            uses.queues.insert(queue_arn(param(params, "JobQueue")));
            uses.definitions
                .insert(definition_arn(param(params, "JobDefinition")));
        }
        "s3:getObject" => {
            uses.get.insert(store.object(params));
        }
        "s3:listObjectsV2" => {
            let bucket = store.bucket(params);
            let prefix = match location(params, "Prefix") {
                Location::Exact(p) | Location::StartsWith(p) => format!("{p}*"),
                Location::Unknown => store.fallback(&bucket),
            };
            uses.list.insert((format!("arn:aws:s3:::{bucket}"), prefix));
        }
        "s3:putObject" => {
            uses.put.insert(store.object(params));
        }
        _ => {}
    }
}

/// `Parameters` (JSONPath) or `Arguments` (JSONata), if an object.
fn arguments(state: &Value) -> Option<&Map<String, Value>> {
    state
        .get("Parameters")
        .or_else(|| state.get("Arguments"))
        .and_then(Value::as_object)
}

/// A literal string parameter; None when absent or computed at run time (`"Key.$"`, or a
/// JSONata `{% … %}` string).
fn param(params: Option<&Map<String, Value>>, key: &str) -> Option<String> {
    let v = params?.get(key)?.as_str()?;
    (!v.trim_start().starts_with("{%")).then(|| v.to_string())
}

/// Job queue ARN from a name or ARN; all queues of the account when unknown.
fn queue_arn(queue: Option<String>) -> String {
    match queue {
        Some(q) if q.starts_with("arn:") => q,
        Some(q) => format!("arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{q}"),
        None => format!("arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/*"),
    }
}

/// Job definition ARN from `name`, `name:revision` or an ARN; without a revision, every
/// revision (`name:*`), since `SubmitJob` with a bare name uses the latest active one.
fn definition_arn(def: Option<String>) -> String {
    match def {
        Some(d) if d.starts_with("arn:") => d,
        Some(d) if d.contains(':') => {
            format!("arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{d}")
        }
        Some(d) => format!("arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{d}:*"),
        None => format!("arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/*"),
    }
}

// ---------------------------------------------------------------------------------------------
// statements

fn statements(uses: &Uses, flow: &ir::Flow) -> Vec<Statement> {
    let mut out = vec![];
    batch(uses, &mut out);
    s3(uses, &mut out);
    if uses.distributed {
        distributed_map(flow, &mut out);
    }
    out
}

fn allow(sid: &str, action: Vec<&'static str>, resource: Vec<String>, why: &str) -> Statement {
    Statement {
        sid: sid.to_string(),
        effect: "Allow",
        action,
        resource,
        condition: None,
        why: why.to_string(),
    }
}

fn batch(uses: &Uses, out: &mut Vec<Statement>) {
    if !uses.submit {
        return;
    }
    let resources = uses
        .queues
        .iter()
        .chain(&uses.definitions)
        .cloned()
        .collect();
    out.push(allow(
        "BatchSubmitJob",
        vec!["batch:SubmitJob"],
        resources,
        "Task states submit AWS Batch jobs (batch:submitJob) to these job queues with these job definitions.",
    ));
    if !uses.sync {
        return;
    }
    out.push(allow(
        "BatchDescribeJobs",
        vec!["batch:DescribeJobs"],
        vec!["*".into()],
        "The .sync integration polls job status; batch:DescribeJobs supports no resource-level permissions, so AWS requires \"Resource\": \"*\".",
    ));
    out.push(allow(
        "BatchTerminateJob",
        vec!["batch:TerminateJob"],
        vec![format!("arn:aws:batch:{REGION}:{ACCOUNT}:job/*")],
        "The .sync integration terminates the job when the execution is stopped or the state times out; job ids are only known at run time.",
    ));
    out.push(allow(
        "BatchSyncEventsRule",
        vec!["events:DescribeRule", "events:PutRule", "events:PutTargets"],
        vec![format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{BATCH_SYNC_RULE}")],
        "Step Functions creates and reads the managed EventBridge rule that reports AWS Batch job completion to .sync tasks.",
    ));
}

fn s3(uses: &Uses, out: &mut Vec<Statement>) {
    if !uses.get.is_empty() {
        out.push(allow(
            "S3GetObject",
            vec!["s3:GetObject"],
            uses.get.iter().cloned().collect(),
            "Task states or a Map ItemReader read these objects (s3:getObject).",
        ));
    }
    for (i, (bucket, prefix)) in uses.list.iter().enumerate() {
        let mut s = allow(
            &if i == 0 {
                "S3ListBucket".to_string()
            } else {
                format!("S3ListBucket{}", i + 1)
            },
            vec!["s3:ListBucket"],
            vec![bucket.clone()],
            "A Map ItemReader or Task state lists objects under this prefix (s3:listObjectsV2).",
        );
        s.condition = Some(serde_json::json!({ "StringLike": { "s3:prefix": [prefix] } }));
        out.push(s);
    }
    if !uses.results.is_empty() {
        out.push(allow(
            "MapResultWriter",
            vec![
                "s3:AbortMultipartUpload",
                "s3:GetObject",
                "s3:ListMultipartUploadParts",
                "s3:PutObject",
            ],
            uses.results.iter().cloned().collect(),
            "A distributed Map's ResultWriter writes its manifest and result files under this prefix, in multipart uploads (AWS Step Functions guide, \"IAM policies for using Distributed Map states\").",
        ));
    }
    if !uses.put.is_empty() {
        out.push(allow(
            "S3PutObject",
            vec!["s3:PutObject"],
            uses.put.iter().cloned().collect(),
            "Task states write these objects (s3:putObject).",
        ));
    }
}

fn distributed_map(flow: &ir::Flow, out: &mut Vec<Statement>) {
    let name = eventbridge::state_machine_name(flow);
    let machine = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}");
    out.push(allow(
        "DistributedMapStartExecution",
        vec!["states:StartExecution"],
        vec![machine.clone(), format!("{machine}:*")],
        "A distributed Map state runs its iterations as child executions of this state machine (and of its versions and aliases, through which the parent may run).",
    ));
    out.push(allow(
        "DistributedMapChildExecutions",
        vec!["states:DescribeExecution", "states:StopExecution"],
        vec![format!(
            "arn:aws:states:{REGION}:{ACCOUNT}:execution:{name}/*"
        )],
        "A distributed Map state tracks and stops its child executions.",
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn job_definition_arns() {
        let prefix = "arn:aws:batch:${AWS::Region}:${AWS::AccountId}:job-definition";
        assert_eq!(definition_arn(Some("d".into())), format!("{prefix}/d:*"));
        assert_eq!(definition_arn(Some("d:4".into())), format!("{prefix}/d:4"));
        assert_eq!(definition_arn(None), format!("{prefix}/*"));
        let arn = "arn:aws:batch:eu-west-1:1:job-definition/d:1";
        assert_eq!(definition_arn(Some(arn.into())), arn);
    }

    #[test]
    fn computed_parameters_are_not_literal() {
        let p = json!({"Key": "{% $states.input.k %}", "Bucket": "b", "Prefix.$": "$.p"});
        let p = p.as_object();
        assert_eq!(param(p, "Key"), None);
        assert_eq!(param(p, "Bucket"), Some("b".into()));
        assert_eq!(param(p, "Prefix"), None);
    }

    fn params(v: Value) -> Option<Map<String, Value>> {
        v.as_object().cloned()
    }

    #[test]
    fn datastore_scoping_of_computed_keys() {
        let mut opts = CompileOptions::default();
        opts.deploy.datastore = Some("s3://bkt/a/b/".into());
        let store = Datastore::of(&opts);
        let computed = params(json!({"Bucket": "bkt", "Key.$": "$.key"}));
        assert_eq!(store.object(computed.as_ref()), "arn:aws:s3:::bkt/a/b/*");
        let other = params(json!({"Bucket": "other", "Key.$": "$.key"}));
        assert_eq!(store.object(other.as_ref()), "arn:aws:s3:::other/*");
        let literal = params(json!({"Bucket": "x", "Key": "k.json"}));
        assert_eq!(store.object(literal.as_ref()), "arn:aws:s3:::x/k.json");
        opts.deploy.datastore = Some("s3://root".into());
        let root = Datastore::of(&opts);
        assert_eq!(root.object(computed.as_ref()), "arn:aws:s3:::bkt/*");
    }

    #[test]
    fn static_start_of_format_templates() {
        let f = |s: &str| format_start(s);
        assert_eq!(
            f("States.Format('p/F/runs/{}/x.json', $.run_id)"),
            Location::StartsWith("p/F/runs/".into())
        );
        assert_eq!(
            f("States.Format('p/x.json')"),
            Location::Exact("p/x.json".into())
        );
        assert_eq!(f("States.Format('{}/x', $.a)"), Location::Unknown);
        assert_eq!(f("States.Format('it\\'s/{}', $.a)"), Location::Unknown);
        assert_eq!(f("$.key"), Location::Unknown);
    }

    #[test]
    fn result_writer_prefixes() {
        let store = Datastore::of(&CompileOptions::default());
        let p = params(json!({"Bucket": "b", "Prefix": "runs/"}));
        assert_eq!(store.under_prefix(p.as_ref(), "b"), "runs/*");
        let root = params(json!({"Bucket": "b", "Prefix": ""}));
        assert_eq!(store.under_prefix(root.as_ref(), "b"), "*");
    }

    #[test]
    fn empty_definition_gives_no_statements() {
        let f = ir::Flow {
            name: "F".into(),
            name_span: Default::default(),
            params: vec![],
            steps: vec![],
            decorators: Default::default(),
        };
        let policy = emit(
            &json!({"StartAt": "p", "States": {"p": {"Type": "Pass", "End": true}}}),
            &f,
            &CompileOptions::default(),
        );
        assert_eq!(policy["PolicyDocument"]["Statement"], json!([]));
        assert_eq!(policy["PolicyName"], "F-state-machine");
    }
}
