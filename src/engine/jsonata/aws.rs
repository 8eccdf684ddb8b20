//! The functions AWS Step Functions adds to JSONata (AWS Step Functions Developer Guide,
//! "Transforming data with JSONata in Step Functions", section "JSONata functions provided by
//! Step Functions"), the seedable random source behind `$random` and `$uuid`, and the clock
//! behind `$now` and `$millis`.

use super::error::JError;
use super::value::Val;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;

thread_local! {
    /// When set, `$random()` and `$uuid()` draw from this generator (tests, replays).
    static SEEDED: RefCell<Option<ChaCha8Rng>> = const { RefCell::new(None) };
    /// When set, `$now()` and `$millis()` read this time (milliseconds since the Unix epoch).
    static CLOCK: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
}

/// Makes `$now()` and `$millis()` answer `millis` (milliseconds since the Unix epoch) on the
/// current thread, e.g. the engine's virtual clock; `None` reads the system clock again.
pub fn set_clock_millis(millis: Option<i64>) {
    CLOCK.with(|c| c.set(millis));
}

/// Makes `$random()` and `$uuid()` deterministic on the current thread from `seed`, or random
/// again with `None`. Thread-local: each test (and each thread of an executor) seeds its own.
pub fn set_random_seed(seed: Option<u64>) {
    SEEDED.with(|s| *s.borrow_mut() = seed.map(ChaCha8Rng::seed_from_u64));
}

fn fill_random(bytes: &mut [u8]) {
    SEEDED.with(|s| match s.borrow_mut().as_mut() {
        Some(rng) => rng.fill_bytes(bytes),
        None => rand::thread_rng().fill_bytes(bytes),
    });
}

fn random_unit() -> f64 {
    SEEDED.with(|s| match s.borrow_mut().as_mut() {
        Some(rng) => rng.gen::<f64>(),
        None => rand::thread_rng().gen::<f64>(),
    })
}

fn arg(args: &[Val], i: usize) -> Val {
    args.get(i).cloned().unwrap_or(Val::Undef)
}

fn bad_arg(n: usize, name: &str) -> JError {
    JError::new(
        "T0410",
        format!("Argument {n} of function \"{name}\" does not match function signature"),
        0,
    )
}

/// Calls AWS function `name` (`partition`, `range`, `hash`, `random`, `uuid`, `parse`).
pub(crate) fn call(name: &str, args: &[Val]) -> Result<Val, JError> {
    match name {
        "partition" => partition(args),
        "range" => range(args),
        "hash" => hash(args),
        "random" => random(args),
        "uuid" => {
            let mut bytes = [0u8; 16];
            fill_random(&mut bytes);
            Ok(Val::str(
                &uuid::Builder::from_random_bytes(bytes)
                    .into_uuid()
                    .to_string(),
            ))
        }
        _ => parse(args),
    }
}

/// A numeric argument truncated towards zero (AWS: `$partition(items, 2.9)` chunks by 2);
/// `None` when undefined.
fn int_arg(args: &[Val], i: usize, name: &str) -> Result<Option<i64>, JError> {
    match arg(args, i) {
        Val::Undef => Ok(None),
        Val::Num(n) if n.is_finite() => Ok(Some(n.trunc() as i64)),
        _ => Err(bad_arg(i + 1, name)),
    }
}

/// `$partition(array, size)`: consecutive chunks of `size` items, the last one holding the
/// remainder. Undefined for an empty array or a size below 1.
fn partition(args: &[Val]) -> Result<Val, JError> {
    let items = match arg(args, 0) {
        Val::Undef => return Ok(Val::Undef),
        Val::Arr(items, _) => items,
        _ => return Err(bad_arg(1, "partition")),
    };
    let size = int_arg(args, 1, "partition")?.unwrap_or(0);
    if items.is_empty() || size < 1 {
        return Ok(Val::Undef);
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Val::array(
        items.chunks(size).map(|c| Val::array(c.to_vec())).collect(),
    ))
}

/// Most items `$range` builds (AWS refuses larger ranges as exceeding its memory limit).
const RANGE_LIMIT: i64 = 360_145;

/// `$range(start, end, step)`: `start, start+step, …` while not past `end` (inclusive when a
/// step lands on it); a result of one number collapses to that number (AWS returns `1` for
/// `$range(1, 9, 9)`). Undefined without a step, or when the step's sign points away from
/// `end`.
fn range(args: &[Val]) -> Result<Val, JError> {
    let start = int_arg(args, 0, "range")?;
    let end = int_arg(args, 1, "range")?;
    let step = int_arg(args, 2, "range")?;
    let (Some(start), Some(end), Some(step)) = (start, end, step) else {
        return Ok(Val::Undef);
    };
    let span = i128::from(end) - i128::from(start);
    if step == 0 || span.signum() * i128::from(step.signum()) < 0 {
        return Ok(Val::Undef);
    }
    let count = span / i128::from(step) + 1;
    if count > i128::from(RANGE_LIMIT) {
        return Err(super::functions::memory_limit());
    }
    let items = (0..count)
        .map(|i| Val::Num((i128::from(start) + i * i128::from(step)) as f64))
        .collect();
    Ok(super::eval::collapse(Val::seq(items)))
}

/// `$hash(data, algorithm)`: lowercase hex digest of the UTF-8 string; algorithms `MD5`,
/// `SHA-1`, `SHA-256`, `SHA-384`, `SHA-512` (case-sensitive). Undefined without an
/// algorithm.
fn hash(args: &[Val]) -> Result<Val, JError> {
    use sha2::Digest;
    let data = match arg(args, 0) {
        Val::Undef => return Ok(Val::Undef),
        Val::Str(s) => s,
        _ => return Err(bad_arg(1, "hash")),
    };
    let alg = match arg(args, 1) {
        Val::Undef => return Ok(Val::Undef),
        Val::Str(a) => a,
        _ => return Err(bad_arg(2, "hash")),
    };
    let b = data.as_bytes();
    let digest = match alg.as_ref() {
        "MD5" => hex::encode(md5::Md5::digest(b)),
        "SHA-1" => hex::encode(sha1::Sha1::digest(b)),
        "SHA-256" => hex::encode(sha2::Sha256::digest(b)),
        "SHA-384" => hex::encode(sha2::Sha384::digest(b)),
        "SHA-512" => hex::encode(sha2::Sha512::digest(b)),
        _ => return Err(bad_arg(2, "hash")),
    };
    Ok(Val::str(&digest))
}

/// `$random([seed])`: a number in `[0, 1)`; the same seed always gives the same number.
fn random(args: &[Val]) -> Result<Val, JError> {
    match arg(args, 0) {
        Val::Undef => Ok(Val::Num(random_unit())),
        Val::Num(n) if n.fract() == 0.0 => Ok(Val::Num(
            ChaCha8Rng::seed_from_u64(n as i64 as u64).gen::<f64>(),
        )),
        _ => Err(bad_arg(1, "random")),
    }
}

/// `$parse(jsonString)`: the JSON value the string holds.
fn parse(args: &[Val]) -> Result<Val, JError> {
    let Val::Str(s) = arg(args, 0) else {
        return Err(bad_arg(1, "parse"));
    };
    serde_json::from_str::<serde_json::Value>(&s)
        .map(|v| Val::from_json(&v))
        .map_err(|_| JError::new("D3140", format!("Malformed JSON string: {s}"), 0))
}

/// The current time as `$now()` prints it: ISO 8601 UTC with milliseconds.
pub(crate) fn now_iso() -> String {
    iso_from_millis(now_millis()).unwrap_or_default()
}

/// Milliseconds since the Unix epoch (`$millis()`): the clock set with [`set_clock_millis`],
/// else the system clock.
pub(crate) fn now_millis() -> i64 {
    CLOCK
        .with(|c| c.get())
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis())
}

/// `$fromMillis(ms)` without a picture: ISO 8601 UTC with milliseconds.
pub(crate) fn iso_from_millis(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// `$toMillis(iso)` without a picture: an ISO 8601 timestamp with offset.
pub(crate) fn millis_from_iso(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}
