//! Parallel and Map states: children (branches, iterations) run concurrently as futures
//! polled together, at most `limit` in flight; results keep branch and item order.

use super::flow::{self, Site};
use super::states::{ctx_for, input_path, states_var};
use super::{run_machine, task, Branch, Done, Entered, Exec};
use crate::engine::clock::Runner;
use crate::engine::definition::{MapSpec, QueryLanguage, State, StateMachine};
use crate::engine::history::Recorder;
use crate::engine::items::{self, IterationOutcome, IterationStatus};
use crate::engine::vars::Vars;
use crate::engine::{Scope, StatesError};
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// AWS Step Functions: an inline Map runs at most 40 iterations concurrently.
pub const INLINE_MAP_CONCURRENCY: usize = 40;

/// Local bound on child executions of a distributed Map in flight at once.
pub const DISTRIBUTED_MAP_CONCURRENCY: usize = 1000;

type ChildResult = Result<Value, StatesError>;
/// A child's result and the last event id of its history chain.
type ChildEnd = (ChildResult, u64);
type ChildFuture<'f> = BoxFuture<'f, (usize, ChildEnd, Runner)>;

/// Outcome of running children: each child's result (`None`: not run or aborted), the
/// indices that had started (been polled at least once, so an inline Map iteration has
/// recorded its `MapIterationStarted`) and were still in flight when the run was aborted, and
/// the end of the history chain of the child whose failure stopped the run.
struct Children {
    results: Vec<Option<ChildResult>>,
    aborted: Vec<usize>,
    failed_chain: Option<u64>,
}

/// Runs children `0..n`, at most `limit` at once. `start(i, prev)` builds child `i` whose
/// history chain continues from event `prev`: `first_prev` for the first wave, then the end
/// of the chain of the child whose slot it takes (AWS numbers a sequential Map's iterations
/// as one chain). After each completion `keep_going` says whether to go on; `false` drops
/// (cancels) every child still in flight.
async fn run_children<'f>(
    ex: &Exec,
    n: usize,
    limit: usize,
    first_prev: u64,
    mut start: impl FnMut(usize, u64) -> BoxFuture<'f, ChildEnd>,
    mut keep_going: impl FnMut(usize, &ChildResult) -> bool,
) -> Children {
    let mut results: Vec<Option<ChildResult>> = (0..n).map(|_| None).collect();
    // A child is built before it first runs; only a child that has run can be aborted (AWS
    // records no event for an iteration it never started).
    let polled: Arc<Vec<AtomicBool>> = Arc::new((0..n).map(|_| AtomicBool::new(false)).collect());
    let mut futs: FuturesUnordered<ChildFuture<'f>> = FuturesUnordered::new();
    let mut running = BTreeSet::new();
    let mut free_chains: Vec<u64> = Vec::new();
    let mut next = 0;
    let limit = limit.max(1);
    macro_rules! top_up {
        () => {
            while next < n && futs.len() < limit {
                let guard = ex.clock.runner();
                let f = start(next, free_chains.pop().unwrap_or(first_prev));
                let i = next;
                running.insert(i);
                let polled = polled.clone();
                futs.push(Box::pin(async move {
                    polled[i].store(true, Ordering::Relaxed);
                    (i, f.await, guard)
                }));
                next += 1;
            }
        };
    }
    top_up!();
    // Blocked only once the children are registered runners, so the clock cannot advance
    // in between.
    let mut blocked = (!futs.is_empty()).then(|| ex.clock.blocked());
    let mut failed_chain = None;
    while let Some((i, (r, chain), guard)) = futs.next().await {
        running.remove(&i);
        let go = keep_going(i, &r);
        if r.is_err() {
            failed_chain.get_or_insert(chain);
        }
        results[i] = Some(r);
        if !go {
            blocked.take();
            drop(futs);
            drop(guard);
            let aborted = running
                .into_iter()
                .filter(|c| polled[*c].load(Ordering::Relaxed))
                .collect();
            return Children {
                results,
                aborted,
                failed_chain: Some(chain),
            };
        }
        free_chains.push(chain);
        top_up!();
        if futs.is_empty() {
            blocked.take();
        }
        drop(guard);
    }
    Children {
        results,
        aborted: vec![],
        failed_chain,
    }
}

/// A Parallel state: every branch gets the effective input; the result is the array of
/// branch outputs in branch order. The first failing branch fails the state (others are
/// cancelled).
pub(super) async fn parallel<'b>(
    ex: &Exec,
    st: &'b State,
    branches: &[StateMachine],
    input: &Value,
    b: &mut Branch,
    entered: &Entered,
    site: Site<'_>,
) -> Done<'b> {
    let ctx = ctx_for(ex, st, entered);
    let branch_input = task::parameters(st, input, &ctx, b, site)?;
    let started = ex.record(b, "ParallelStateStarted", Value::Null)?;
    entered.started.store(true, Ordering::Relaxed);
    let parent_vars = Arc::new(b.vars.clone());
    let rec = b.rec.clone();
    let mut failure = None;
    let done = run_children(
        ex,
        branches.len(),
        branches.len(),
        started,
        |i, prev| {
            let input = branch_input.clone();
            let mut cb = Branch {
                rec: rec.clone(),
                prev,
                vars: Vars::child(parent_vars.clone()),
            };
            let sm = &branches[i];
            Box::pin(async move {
                let r = run_machine(ex, sm, input, &mut cb).await;
                (r, cb.prev)
            })
        },
        |_, r| match r {
            Ok(_) => true,
            Err(e) => {
                failure = Some(e.clone());
                false
            }
        },
    )
    .await;
    if let Some(e) = failure {
        // `ParallelStateFailed` is recorded once the error is final (not retried).
        b.prev = done.failed_chain.unwrap_or(started);
        return Err(e);
    }
    b.prev = b.rec.last_id();
    ex.record_side(b, "ParallelStateSucceeded", Value::Null)?;
    let result = Value::Array(
        done.results
            .into_iter()
            .map(|r| r.and_then(Result::ok).unwrap_or(Value::Null))
            .collect(),
    );
    task::finish(st, input, result, ctx, b, site)
}

/// The evaluated knobs of one Map run.
struct MapRun {
    items: Vec<Value>,
    limit: usize,
    tolerated_count: Option<u64>,
    tolerated_pct: Option<f64>,
}

/// A Map state (inline or distributed): one iteration per item, outputs in item order.
pub(super) async fn map<'b>(
    ex: &Exec,
    st: &'b State,
    m: &MapSpec,
    input: &Value,
    b: &mut Branch,
    entered: &Entered,
    site: Site<'_>,
) -> Done<'b> {
    let ctx = ctx_for(ex, st, entered);
    let run = prepare(ex, st, m, input, &ctx, b, entered, site)?;
    let started = ex.record(b, "MapStateStarted", json!({"length": run.items.len()}))?;
    entered.started.store(true, Ordering::Relaxed);
    if m.distributed {
        ex.record(
            b,
            "MapRunStarted",
            json!({"mapRunArn": map_run_arn(ex, st)}),
        )?;
    }
    let tally = run_iterations(ex, st, m, &run, b, started).await;
    let failed_chain = tally.children.failed_chain;
    b.prev = b.rec.last_id();
    if !m.distributed {
        for i in &tally.children.aborted {
            ex.record(
                b,
                "MapIterationAborted",
                json!({"name": st.name, "index": i}),
            )?;
        }
    }
    let tolerance = (run.tolerated_count, run.tolerated_pct);
    let failed = tally
        .first_error
        .filter(|_| !within_tolerance(tally.failures, run.items.len(), tolerance));
    let written = m.result_writer.as_ref().map(|w| {
        write_results(
            ex,
            st,
            w,
            &run.items,
            &tally.children.results,
            input,
            &ctx,
            b,
            site,
        )
    });
    if let Some(e) = failed {
        let e = tolerance_error(e, m.distributed, tolerance);
        if m.distributed {
            ex.record(
                b,
                "MapRunFailed",
                json!({"error": e.error, "cause": e.cause}),
            )?;
        } else {
            b.prev = failed_chain.unwrap_or(started);
        }
        // `MapStateFailed` is recorded once the error is final (not retried).
        return Err(e);
    }
    if m.distributed {
        ex.record(b, "MapRunSucceeded", Value::Null)?;
    }
    let result = match written {
        Some(w) => w?,
        None => outputs(tally.children.results),
    };
    ex.record_side(b, "MapStateSucceeded", Value::Null)?;
    task::finish(st, input, result, ctx, b, site)
}

/// The Map result without a `ResultWriter`: iteration outputs in item order (a tolerated
/// failure contributes its error output).
fn outputs(results: Vec<Option<ChildResult>>) -> Value {
    let out = results.into_iter().map(|r| match r {
        Some(Ok(v)) => v,
        Some(Err(e)) => super::recovery::error_output(&e),
        None => Value::Null,
    });
    Value::Array(out.collect())
}

/// What the iterations of a Map run did.
struct Tally {
    children: Children,
    failures: u64,
    first_error: Option<StatesError>,
}

/// Runs the iterations, stopping once failures exceed the tolerated threshold. Inline
/// iterations record into the execution's history and see its variables; distributed ones
/// are child executions with their own history and no outer variables.
async fn run_iterations(
    ex: &Exec,
    st: &State,
    m: &MapSpec,
    run: &MapRun,
    b: &Branch,
    started: u64,
) -> Tally {
    let n = run.items.len();
    let parent_vars = Arc::new(if m.distributed {
        Vars::new()
    } else {
        b.vars.clone()
    });
    let tolerance = (run.tolerated_count, run.tolerated_pct);
    let (mut failures, mut first_error) = (0u64, None);
    let children = run_children(
        ex,
        n,
        run.limit,
        started,
        |i, prev| {
            // A child execution has its own history under the same quota as its parent
            // (AWS: each Standard execution, child ones included, 25,000 events).
            let rec = if m.distributed {
                Arc::new(Recorder::new(ex.cfg.max_history_events, false))
            } else {
                b.rec.clone()
            };
            let mut cb = Branch {
                rec,
                prev,
                vars: Vars::child(parent_vars.clone()),
            };
            let item = run.items[i].clone();
            Box::pin(async move {
                iteration(ex, &st.name, &m.processor, i, item, &mut cb, m.distributed).await
            })
        },
        |_, r| match r {
            Ok(_) => true,
            Err(e) => {
                failures += 1;
                first_error.get_or_insert_with(|| e.clone());
                within_tolerance(failures, n, tolerance)
            }
        },
    )
    .await;
    Tally {
        children,
        failures,
        first_error,
    }
}

/// `ResultWriter`: writes the map run's results to the local S3 folder and returns the
/// Map's result `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}`.
#[allow(clippy::too_many_arguments)]
fn write_results(
    ex: &Exec,
    st: &State,
    writer: &Value,
    inputs: &[Value],
    results: &[Option<ChildResult>],
    input: &Value,
    ctx: &Value,
    b: &Branch,
    site: Site<'_>,
) -> Result<Value, StatesError> {
    // JSONPath `Parameters` read the effective input (after `InputPath`), as `ItemReader`'s do.
    let eff = match st.query_language {
        QueryLanguage::JsonPath => input_path(&st.input_path, input, ctx, &b.vars, site)?,
        QueryLanguage::Jsonata => None,
    };
    let eff = eff.as_ref().unwrap_or(input);
    let w = evaluate_resource_config(st, writer, "ResultWriter", eff, ctx, b, site)?;
    let store = ex.cfg.s3.as_ref().ok_or_else(|| {
        StatesError::new(
            "States.ResultWriterFailed",
            "No local folder stands in for S3: pass --s3-root DIR to use a ResultWriter.",
        )
    })?;
    let now = ex.clock.now().timestamp_millis().max(0) as u64;
    let outcomes: Vec<IterationOutcome> = inputs
        .iter()
        .zip(results)
        .enumerate()
        .map(|(i, (inp, r))| IterationOutcome {
            name: format!("{i:08x}-0000-4000-8000-{:012x}", i),
            execution_arn: None,
            input: inp.clone(),
            status: match r {
                Some(Ok(v)) => IterationStatus::Succeeded(v.clone()),
                Some(Err(e)) => IterationStatus::Failed(e.clone()),
                None => IterationStatus::Pending,
            },
            start_ms: r.as_ref().map(|_| now),
            stop_ms: r.as_ref().map(|_| now),
        })
        .collect();
    items::write_results(&w, &map_run_arn(ex, st), &outcomes, store)
}

/// Evaluates the `Parameters` (JSONPath, on the effective input) or `Arguments` and
/// `ReaderConfig`/`WriterConfig` (JSONata) of an `ItemReader`/`ResultWriter`; a
/// `ReaderConfig.MaxItemsPath` is replaced by `MaxItems`.
#[allow(clippy::too_many_arguments)]
fn evaluate_resource_config(
    st: &State,
    config: &Value,
    field: &str,
    eff: &Value,
    ctx: &Value,
    b: &Branch,
    site: Site<'_>,
) -> Result<Value, StatesError> {
    let mut out = config.clone();
    let Some(obj) = out.as_object_mut() else {
        return Ok(out);
    };
    if st.query_language == QueryLanguage::Jsonata {
        let sv = states_var(eff, ctx.clone(), None);
        for key in ["Arguments", "ReaderConfig", "WriterConfig"] {
            if let Some(v) = obj.get(key).cloned() {
                let r = flow::jsonata_template(&v, &sv, &b.vars, &format!("{field}/{key}"))
                    .map_err(|e| site.wrap(e))?;
                obj.insert(key.to_string(), r);
            }
        }
        return Ok(out);
    }
    let scope = Scope {
        input: eff,
        context: ctx,
        vars: &b.vars,
    };
    if let Some(p) = obj.get("Parameters").cloned() {
        let r = flow::template(&p, &scope, field).map_err(|e| site.wrap(e))?;
        obj.insert("Parameters".into(), r);
    }
    if let Some(rc) = obj.get_mut("ReaderConfig").and_then(Value::as_object_mut) {
        if let Some(p) = rc.remove("MaxItemsPath") {
            let path = p.as_str().unwrap_or("$");
            let v = flow::query(path, &scope).map_err(|e| site.wrap(e))?;
            rc.insert("MaxItems".into(), v);
        }
    }
    Ok(out)
}

/// A distributed Map whose failed items exceed the tolerated threshold (default 0) fails with
/// `States.ExceedToleratedFailureThreshold` (AWS "Setting failure thresholds for Distributed
/// Map states"); so does an inline Map given a threshold. Otherwise the first failed
/// iteration's error is the Map's error.
fn tolerance_error(
    e: StatesError,
    distributed: bool,
    tolerance: (Option<u64>, Option<f64>),
) -> StatesError {
    if !distributed && tolerance == (None, None) {
        return e;
    }
    StatesError::new(
        "States.ExceedToleratedFailureThreshold",
        "The specified tolerated failure threshold was exceeded",
    )
}

/// True while `failures` of `n` items stay within `ToleratedFailureCount` /
/// `ToleratedFailurePercentage` (both default to 0: any failure fails the Map).
fn within_tolerance(failures: u64, n: usize, (count, pct): (Option<u64>, Option<f64>)) -> bool {
    let by_count = count.is_some_and(|c| failures <= c);
    let by_pct = pct.is_some_and(|p| n > 0 && (failures as f64) * 100.0 / (n as f64) <= p);
    failures == 0 || by_count || by_pct
}

fn map_run_arn(ex: &Exec, st: &State) -> String {
    format!(
        "arn:aws:states:us-east-1:123456789012:mapRun:{}/{}:{}",
        ex.cfg.state_machine_name, st.name, ex.cfg.execution_name
    )
}

/// One Map iteration with its `MapIterationStarted`/`Succeeded`/`Failed` events (inline;
/// a distributed iteration is a child execution with its own history).
fn iteration<'f>(
    ex: &'f Exec,
    name: &'f str,
    processor: &'f StateMachine,
    index: usize,
    item: Value,
    cb: &'f mut Branch,
    distributed: bool,
) -> BoxFuture<'f, ChildEnd> {
    Box::pin(async move {
        let details = json!({"name": name, "index": index});
        if !distributed {
            if let Err(e) = ex.record(cb, "MapIterationStarted", details.clone()) {
                return (Err(e), cb.prev);
            }
        }
        let r = run_machine(ex, processor, item, cb).await;
        if !distributed {
            let kind = if r.is_ok() {
                "MapIterationSucceeded"
            } else {
                "MapIterationFailed"
            };
            ex.record_side(cb, kind, details).ok();
        }
        (r, cb.prev)
    })
}

/// Evaluates items, `ItemSelector`, `ItemBatcher`, `MaxConcurrency` and the tolerated
/// failure fields.
#[allow(clippy::too_many_arguments)]
fn prepare(
    ex: &Exec,
    st: &State,
    m: &MapSpec,
    input: &Value,
    ctx: &Value,
    b: &Branch,
    entered: &Entered,
    site: Site<'_>,
) -> Result<MapRun, StatesError> {
    let jsonata = st.query_language == QueryLanguage::Jsonata;
    let eff = if jsonata {
        None
    } else {
        input_path(&st.input_path, input, ctx, &b.vars, site)?
    };
    let eff = eff.as_ref().unwrap_or(input);
    let sv = if jsonata {
        states_var(input, ctx.clone(), None)
    } else {
        Value::Null
    };
    let num = |lit: &Option<Value>, path: &Option<String>, field: &str, float: bool| {
        number_field(lit, path, field, float, eff, ctx, &sv, b, jsonata, site)
    };
    let limit_v = num(
        &m.max_concurrency,
        &m.max_concurrency_path,
        "MaxConcurrency",
        false,
    )?;
    let count = num(
        &m.tolerated_count,
        &m.tolerated_count_path,
        "ToleratedFailureCount",
        false,
    )?;
    let pct = num(
        &m.tolerated_percentage,
        &m.tolerated_percentage_path,
        "ToleratedFailurePercentage",
        true,
    )?;
    if count.is_some_and(|c| c < 0.0) {
        return Err(site.wrap(StatesError::runtime(
            "ToleratedFailureCount cannot be negative.",
        )));
    }
    if pct.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
        return Err(site.wrap(StatesError::runtime(
            "ToleratedFailurePercentage must be between 0 and 100.",
        )));
    }
    let raw_items = items(ex, st, m, eff, ctx, &sv, b, jsonata, site)?;
    let selected = select_items(ex, st, m, raw_items, eff, &sv, b, entered, jsonata, site)?;
    let items = batch(m, selected, (eff, ctx, &sv), b, jsonata, site)?;
    let cap = if m.distributed {
        DISTRIBUTED_MAP_CONCURRENCY
    } else {
        INLINE_MAP_CONCURRENCY
    };
    let limit = match limit_v {
        Some(l) if l >= 1.0 => (l as usize).min(cap),
        _ => cap,
    };
    Ok(MapRun {
        items,
        limit,
        tolerated_count: count.map(|c| c as u64),
        tolerated_pct: pct,
    })
}

/// A numeric Map field: literal, JSONata expression, or `…Path` (whose value must be an
/// integer, or a float for the percentage).
#[allow(clippy::too_many_arguments)]
fn number_field(
    lit: &Option<Value>,
    path: &Option<String>,
    field: &str,
    float: bool,
    eff: &Value,
    ctx: &Value,
    sv: &Value,
    b: &Branch,
    jsonata: bool,
    site: Site<'_>,
) -> Result<Option<f64>, StatesError> {
    if let Some(v) = lit {
        let v = if jsonata && v.is_string() {
            flow::jsonata_template(v, sv, &b.vars, field).map_err(|e| site.wrap(e))?
        } else {
            v.clone()
        };
        return Ok(v.as_f64());
    }
    let Some(p) = path else { return Ok(None) };
    let v = flow::query(
        p,
        &Scope {
            input: eff,
            context: ctx,
            vars: &b.vars,
        },
    )
    .map_err(|e| site.wrap(e))?;
    let parsed = match &v {
        Value::Number(n) if float => n.as_f64(),
        Value::Number(n) => n.as_i64().map(|i| i as f64),
        Value::String(s) if float => s.trim().parse::<f64>().ok(),
        Value::String(s) => s.trim().parse::<i64>().ok().map(|i| i as f64),
        _ => None,
    };
    parsed.map(Some).ok_or_else(|| {
        let shown = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        let kind = if float { "float" } else { "integer" };
        site.wrap(StatesError::runtime(format!(
            "The {field}Path field refers to value \"{shown}\" which is not a valid {kind}: {p}"
        )))
    })
}

/// The items array: `ItemsPath` (default `$`) or `Items` (JSONata, default
/// `$states.input`); it must be an array.
#[allow(clippy::too_many_arguments)]
fn items(
    ex: &Exec,
    st: &State,
    m: &MapSpec,
    eff: &Value,
    ctx: &Value,
    sv: &Value,
    b: &Branch,
    jsonata: bool,
    site: Site<'_>,
) -> Result<Vec<Value>, StatesError> {
    if let Some(reader) = &m.item_reader {
        let r = evaluate_resource_config(st, reader, "ItemReader", eff, ctx, b, site)?;
        let store = ex.cfg.s3.as_ref().ok_or_else(|| {
            StatesError::new(
                "States.ItemReaderFailed",
                "No local folder stands in for S3: pass --s3-root DIR to use an ItemReader.",
            )
        })?;
        return items::read_items(&r, store);
    }
    if jsonata {
        if let Some(it) = &m.items {
            let v = flow::jsonata_template(it, sv, &b.vars, "Items").map_err(|e| site.wrap(e))?;
            return match v {
                Value::Array(a) => Ok(a),
                other => Err(site.wrap(StatesError::query_evaluation(format!(
                    "The JSONata expression '{}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {}",
                    flow::expr_text(it),
                    flow::type_name(&other),
                    other
                )))),
            };
        }
        return match sv.get("input") {
            Some(Value::Array(a)) => Ok(a.clone()),
            other => Err(site.wrap(StatesError::query_evaluation(format!(
                "Map state input must be an array but was: {}",
                other.cloned().unwrap_or(Value::Null)
            )))),
        };
    }
    let v = match &m.items_path {
        Some(p) if p != "$" => flow::query(
            p,
            &Scope {
                input: eff,
                context: ctx,
                vars: &b.vars,
            },
        )
        .map_err(|e| site.wrap(e))?,
        _ => eff.clone(),
    };
    match v {
        Value::Array(a) => Ok(a),
        other => Err(site.wrap(StatesError::runtime(format!(
            "Map state input must be an array but was: {other}"
        )))),
    }
}

/// Applies `ItemSelector` (or legacy `Parameters`) to each item, with `$$.Map.Item`.
#[allow(clippy::too_many_arguments)]
fn select_items(
    ex: &Exec,
    st: &State,
    m: &MapSpec,
    items: Vec<Value>,
    eff: &Value,
    sv: &Value,
    b: &Branch,
    entered: &Entered,
    jsonata: bool,
    site: Site<'_>,
) -> Result<Vec<Value>, StatesError> {
    let Some(sel) = &m.item_selector else {
        return Ok(items);
    };
    // One context object (and, in JSONata, one `$states`) for all items; only `Map.Item`
    // changes, so the execution input is not copied per item.
    let mut ctx = ex.context(st, entered, Some((0, &Value::Null)));
    let mut sv = if jsonata { sv.clone() } else { Value::Null };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let map_item = json!({"Item": {"Index": i, "Value": item}});
        let v = if jsonata {
            if !sv["context"].is_object() {
                sv["context"] = ctx.clone();
            }
            sv["context"]["Map"] = map_item;
            flow::jsonata_template(sel, &sv, &b.vars, "ItemSelector")
        } else {
            ctx["Map"] = map_item;
            flow::template(
                sel,
                &Scope {
                    input: eff,
                    context: &ctx,
                    vars: &b.vars,
                },
                "ItemSelector",
            )
        };
        out.push(v.map_err(|e| site.wrap(e))?);
    }
    Ok(out)
}

/// `ItemBatcher`: groups items into `{"Items":[…]}` objects (with `BatchInput` added when
/// given) of at most `MaxItemsPerBatch(Path)` items and at most `MaxInputBytesPerBatch(Path)`
/// bytes of serialized batch JSON (AWS Step Functions, "ItemBatcher (Map)": when both are
/// set, a batch holds fewer items so as not to exceed the byte size). Errors: a `…Path`
/// that selects no positive integer, or one item too large for a batch of its own
/// (`States.Runtime`).
fn batch(
    m: &MapSpec,
    items: Vec<Value>,
    (eff, ctx, sv): (&Value, &Value, &Value),
    b: &Branch,
    jsonata: bool,
    site: Site<'_>,
) -> Result<Vec<Value>, StatesError> {
    let Some(cfg) = &m.item_batcher else {
        return Ok(items);
    };
    let scope = Scope {
        input: eff,
        context: ctx,
        vars: &b.vars,
    };
    // A JSONata state may give any field as a `{% … %}` expression.
    let literal = |v: &Value, field: &str| {
        if jsonata {
            flow::jsonata_template(v, sv, &b.vars, field)
        } else {
            flow::template(v, &scope, field)
        }
    };
    let limit = |field: &str| batcher_limit(cfg, field, &scope, &literal).map_err(|e| site.wrap(e));
    let max_items = limit("MaxItemsPerBatch")?;
    let max_bytes = limit("MaxInputBytesPerBatch")?;
    let batch_input = match cfg.get("BatchInput") {
        Some(t) => Some(literal(t, "BatchInput").map_err(|e| site.wrap(e))?),
        None => None,
    };
    let groups =
        group_items(items, max_items, max_bytes, batch_input.as_ref()).map_err(|e| site.wrap(e))?;
    Ok(groups
        .into_iter()
        .map(|c| {
            let mut o = serde_json::Map::new();
            if let Some(bi) = &batch_input {
                o.insert("BatchInput".into(), bi.clone());
            }
            o.insert("Items".into(), Value::Array(c));
            Value::Object(o)
        })
        .collect())
}

/// An `ItemBatcher` limit: `field` (a number, or a JSONata expression evaluated by
/// `literal`) or `fieldPath` (a path to a positive integer, or a string holding one).
/// `None` when neither is set, or the literal is not positive.
fn batcher_limit(
    cfg: &Value,
    field: &str,
    scope: &Scope,
    literal: &dyn Fn(&Value, &str) -> Result<Value, StatesError>,
) -> Result<Option<u64>, StatesError> {
    if let Some(v) = cfg.get(field) {
        return Ok(literal(v, field)?.as_u64().filter(|&n| n > 0));
    }
    let Some(p) = cfg.get(format!("{field}Path")).and_then(Value::as_str) else {
        return Ok(None);
    };
    let v = flow::query(p, scope)?;
    let n = match &v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    n.filter(|&n| n > 0).map(Some).ok_or_else(|| {
        let shown = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        StatesError::runtime(format!(
            "The {field}Path field refers to value \"{shown}\" which is not a valid integer: {p}"
        ))
    })
}

/// Splits `items` greedily, in order, into groups of at most `max_items` items whose batch
/// JSON (`{"BatchInput":…,"Items":[…]}`) is at most `max_bytes` bytes.
fn group_items(
    items: Vec<Value>,
    max_items: Option<u64>,
    max_bytes: Option<u64>,
    batch_input: Option<&Value>,
) -> Result<Vec<Vec<Value>>, StatesError> {
    let max_items = max_items.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let Some(max_bytes) = max_bytes else {
        let size = max_items.min(items.len().max(1));
        return Ok(items.chunks(size).map(<[Value]>::to_vec).collect());
    };
    // `{"Items":[]}` plus `"BatchInput":…,` when given.
    let base = 12 + batch_input.map_or(0, |bi| 14 + json_len(bi));
    let mut groups: Vec<Vec<Value>> = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut size = base;
    for (i, item) in items.into_iter().enumerate() {
        let len = json_len(&item);
        let comma = usize::from(!current.is_empty());
        if !current.is_empty()
            && (current.len() >= max_items || (size + comma + len) as u64 > max_bytes)
        {
            groups.push(std::mem::take(&mut current));
            size = base;
        }
        if (base + len) as u64 > max_bytes {
            return Err(StatesError::runtime(format!(
                "The item at index {i} is {len} bytes, too large for a batch of at most {max_bytes} bytes (MaxInputBytesPerBatch)."
            )));
        }
        size += usize::from(!current.is_empty()) + len;
        current.push(item);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    Ok(groups)
}

/// The length of `v` serialized as compact JSON, in bytes.
fn json_len(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(0, |b| b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(groups: &[Vec<Value>]) -> Vec<usize> {
        groups.iter().map(Vec::len).collect()
    }

    #[test]
    fn batches_respect_item_and_byte_limits() {
        let items: Vec<Value> = (0..5).map(|i| json!({"n": i})).collect();
        // Each item is 7 bytes; `{"Items":[a,b]}` is 12 + 7 + 1 + 7 = 27 bytes.
        let by_count = group_items(items.clone(), Some(2), None, None).expect("ok");
        assert_eq!(sizes(&by_count), vec![2, 2, 1]);
        let by_bytes = group_items(items.clone(), None, Some(27), None).expect("ok");
        assert_eq!(sizes(&by_bytes), vec![2, 2, 1]);
        let tighter = group_items(items.clone(), None, Some(26), None).expect("ok");
        assert_eq!(sizes(&tighter), vec![1, 1, 1, 1, 1]);
        let both = group_items(items.clone(), Some(1), Some(1000), None).expect("ok");
        assert_eq!(sizes(&both), vec![1, 1, 1, 1, 1]);
        // `{"BatchInput":{},"Items":[a]}` is 12 + 14 + 2 + 7 = 35 bytes.
        let with_input = group_items(items.clone(), None, Some(35), Some(&json!({}))).expect("ok");
        assert_eq!(sizes(&with_input), vec![1, 1, 1, 1, 1]);
        assert!(group_items(items, None, Some(34), Some(&json!({}))).is_err());
    }

    #[test]
    fn batch_json_length_matches_the_estimate() {
        let items = vec![json!({"n": 0}), json!("x")];
        let whole = json!({"BatchInput": {"k": [1]}, "Items": items});
        let base = 12 + 14 + json_len(&json!({"k": [1]}));
        assert_eq!(
            json_len(&whole),
            base + json_len(&items[0]) + 1 + json_len(&items[1])
        );
    }

    #[test]
    fn tolerance_counts_and_percentages() {
        assert!(within_tolerance(0, 10, (None, None)));
        assert!(!within_tolerance(1, 10, (None, None)));
        assert!(within_tolerance(2, 10, (Some(2), None)));
        assert!(!within_tolerance(3, 10, (Some(2), None)));
        assert!(within_tolerance(1, 10, (None, Some(10.0))));
        assert!(!within_tolerance(2, 10, (None, Some(10.0))));
    }
}
