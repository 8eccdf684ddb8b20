//! The intrinsic functions themselves, on already-evaluated arguments. Limits are AWS Step
//! Functions' ("Intrinsic functions for JSONPath states"): `ArrayRange` at most 1,000
//! elements; `Base64Encode`/`Base64Decode`/`Hash` inputs at most 10,000 characters;
//! `MathAdd`/`MathRandom` operands in the Java `int` range.

use crate::engine::jsonpath::json_eq;
use crate::engine::StatesError;
use base64::Engine as _;
use serde_json::{Map, Number, Value};

type R = Result<Value, StatesError>;

/// AWS quota: an `ArrayRange` result holds at most 1,000 elements.
pub const MAX_RANGE: usize = 1000;
/// AWS quota: `Base64Encode`, `Base64Decode` and `Hash` take at most 10,000 characters.
pub const MAX_TEXT: usize = 10_000;

fn fail(name: &str, why: impl std::fmt::Display) -> StatesError {
    StatesError::intrinsic(format!("Invalid arguments in States.{name}: {why}"))
}

fn arity(
    name: &str,
    args: &[Value],
    n: std::ops::RangeInclusive<usize>,
) -> Result<(), StatesError> {
    if n.contains(&args.len()) {
        return Ok(());
    }
    let want = if n.start() == n.end() {
        n.start().to_string()
    } else {
        format!("{} to {}", n.start(), n.end())
    };
    Err(fail(
        name,
        format!("expected {want} arguments, got {}", args.len()),
    ))
}

/// Calls the function `name` (without `States.`). Errors: unknown name, wrong arity or
/// argument types, limits exceeded (`States.IntrinsicFailure`).
pub fn dispatch(name: &str, args: Vec<Value>) -> R {
    match name {
        "Array" => Ok(Value::Array(args)),
        "ArrayPartition" => array_partition(args),
        "ArrayContains" => array_contains(args),
        "ArrayRange" => array_range(args),
        "ArrayGetItem" => array_get_item(args),
        "ArrayLength" => array_length(args),
        "ArrayUnique" => array_unique(args),
        "Base64Encode" => base64_encode(args),
        "Base64Decode" => base64_decode(args),
        "Hash" => hash(args),
        "JsonMerge" => json_merge(args),
        "JsonToString" => json_to_string(args),
        "StringToJson" => string_to_json(args),
        "MathRandom" => math_random(args),
        "MathAdd" => math_add(args),
        "StringSplit" => string_split(args),
        "UUID" => uuid(args),
        "Format" => format_value_template(args),
        _ => Err(StatesError::intrinsic(format!(
            "Unknown intrinsic function: States.{name}"
        ))),
    }
}

fn array<'a>(name: &str, v: &'a Value, what: &str) -> Result<&'a Vec<Value>, StatesError> {
    v.as_array()
        .ok_or_else(|| fail(name, format!("{what} must be an array, got {v}")))
}

fn string<'a>(name: &str, v: &'a Value, what: &str) -> Result<&'a str, StatesError> {
    v.as_str()
        .ok_or_else(|| fail(name, format!("{what} must be a string, got {v}")))
}

/// An integer argument: a JSON integer, or a number with no fractional part.
fn int(name: &str, v: &Value, what: &str) -> Result<i64, StatesError> {
    let bad = || fail(name, format!("{what} must be an integer, got {v}"));
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(i),
            None => n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
                .ok_or_else(bad),
        },
        _ => Err(bad()),
    }
}

/// A numeric argument rounded half-up to an integer (AWS Step Functions rounds
/// non-integer range bounds to the nearest integer).
fn rounded_int(name: &str, v: &Value, what: &str) -> Result<i64, StatesError> {
    match v.as_f64() {
        Some(f) if v.is_f64() && f.is_finite() && f.abs() < 9.0e15 => Ok(round_half_up(f) as i64),
        _ => int(name, v, what),
    }
}

fn array_partition(args: Vec<Value>) -> R {
    arity("ArrayPartition", &args, 2..=2)?;
    let arr = array("ArrayPartition", &args[0], "the first argument")?;
    let size = int("ArrayPartition", &args[1], "the chunk size")?;
    if size <= 0 {
        return Err(fail(
            "ArrayPartition",
            format!("the chunk size must be positive, got {size}"),
        ));
    }
    let chunks = arr.chunks(size as usize).map(|c| Value::Array(c.to_vec()));
    Ok(Value::Array(chunks.collect()))
}

fn array_contains(args: Vec<Value>) -> R {
    arity("ArrayContains", &args, 2..=2)?;
    let arr = array("ArrayContains", &args[0], "the first argument")?;
    Ok(Value::Bool(arr.iter().any(|x| json_eq(x, &args[1]))))
}

fn array_range(args: Vec<Value>) -> R {
    arity("ArrayRange", &args, 3..=3)?;
    let start = rounded_int("ArrayRange", &args[0], "the start")?;
    let end = rounded_int("ArrayRange", &args[1], "the end")?;
    let step = rounded_int("ArrayRange", &args[2], "the step")?;
    if step == 0 {
        return Err(fail("ArrayRange", "the step must not be 0"));
    }
    let count = if (step > 0 && end < start) || (step < 0 && end > start) {
        0
    } else {
        ((end - start) / step + 1) as u64
    };
    if count > MAX_RANGE as u64 {
        return Err(fail(
            "ArrayRange",
            format!("the result would have {count} elements; at most {MAX_RANGE} are allowed"),
        ));
    }
    let items = (0..count as i64).map(|i| Value::from(start + i * step));
    Ok(Value::Array(items.collect()))
}

fn array_get_item(args: Vec<Value>) -> R {
    arity("ArrayGetItem", &args, 2..=2)?;
    let arr = array("ArrayGetItem", &args[0], "the first argument")?;
    let i = int("ArrayGetItem", &args[1], "the index")?;
    usize::try_from(i)
        .ok()
        .and_then(|i| arr.get(i))
        .cloned()
        .ok_or_else(|| {
            fail(
                "ArrayGetItem",
                format!(
                    "index {i} is out of bounds for an array of length {}",
                    arr.len()
                ),
            )
        })
}

fn array_length(args: Vec<Value>) -> R {
    arity("ArrayLength", &args, 1..=1)?;
    Ok(Value::from(
        array("ArrayLength", &args[0], "the argument")?.len(),
    ))
}

fn array_unique(args: Vec<Value>) -> R {
    arity("ArrayUnique", &args, 1..=1)?;
    let arr = array("ArrayUnique", &args[0], "the argument")?;
    let mut out: Vec<Value> = Vec::new();
    for v in arr {
        if !out.iter().any(|o| json_eq(o, v)) {
            out.push(v.clone());
        }
    }
    Ok(Value::Array(out))
}

fn limited_text<'a>(name: &str, v: &'a Value) -> Result<&'a str, StatesError> {
    let s = string(name, v, "the input")?;
    if s.chars().count() > MAX_TEXT {
        return Err(fail(
            name,
            format!("the input must be at most {MAX_TEXT} characters"),
        ));
    }
    Ok(s)
}

fn base64_encode(args: Vec<Value>) -> R {
    arity("Base64Encode", &args, 1..=1)?;
    let s = limited_text("Base64Encode", &args[0])?;
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(s),
    ))
}

fn base64_decode(args: Vec<Value>) -> R {
    arity("Base64Decode", &args, 1..=1)?;
    let s = limited_text("Base64Decode", &args[0])?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| {
            fail(
                "Base64Decode",
                format!("the input is not valid base64 ({e})"),
            )
        })?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| fail("Base64Decode", "the decoded data is not UTF-8 text"))
}

fn hash(args: Vec<Value>) -> R {
    use sha2::Digest;
    arity("Hash", &args, 2..=2)?;
    let data = limited_text("Hash", &args[0])?.as_bytes();
    let algo = string("Hash", &args[1], "the algorithm")?;
    let digest = match algo {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        other => {
            return Err(fail(
                "Hash",
                format!(
                "unsupported algorithm '{other}'; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
            ),
            ))
        }
    };
    Ok(Value::String(hex::encode(digest)))
}

fn json_merge(args: Vec<Value>) -> R {
    arity("JsonMerge", &args, 3..=3)?;
    let bad = |v: &Value| {
        fail(
            "JsonMerge",
            format!("both inputs must be JSON objects, got {v}"),
        )
    };
    let a = args[0].as_object().ok_or_else(|| bad(&args[0]))?;
    let b = args[1].as_object().ok_or_else(|| bad(&args[1]))?;
    match args[2] {
        Value::Bool(false) => {}
        Value::Bool(true) => {
            return Err(fail(
                "JsonMerge",
                "deep merge is not supported; the third argument must be false",
            ))
        }
        ref other => {
            return Err(fail(
                "JsonMerge",
                format!("the third argument must be a boolean, got {other}"),
            ))
        }
    }
    let mut out: Map<String, Value> = a.clone();
    for (k, v) in b {
        out.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(out))
}

fn json_to_string(args: Vec<Value>) -> R {
    arity("JsonToString", &args, 1..=1)?;
    Ok(Value::String(java_json(&args[0])))
}

/// Compact JSON text as Jackson writes it: doubles in Java's `Double.toString` form
/// (`1.0E7`), everything else as usual.
pub fn java_json(v: &Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, JavaFormatter);
    match v.serialize(&mut ser) {
        Ok(()) => String::from_utf8(out).unwrap_or_else(|_| v.to_string()),
        Err(_) => v.to_string(),
    }
}

struct JavaFormatter;

impl serde_json::ser::Formatter for JavaFormatter {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, f: f64) -> std::io::Result<()> {
        w.write_all(java_double(f).as_bytes())
    }
}

fn string_to_json(args: Vec<Value>) -> R {
    arity("StringToJson", &args, 1..=1)?;
    let s = string("StringToJson", &args[0], "the argument")?;
    if s.trim().is_empty() {
        return Ok(Value::Null);
    }
    let v: Value = serde_json::from_str(s).map_err(|e| {
        fail(
            "StringToJson",
            format!("the argument is not valid JSON ({e})"),
        )
    })?;
    // Jackson reads the integer `-0` as the integer 0 (serde_json gives the double -0.0).
    Ok(match v.as_f64() {
        Some(f) if f == 0.0 && f.is_sign_negative() && s.trim() == "-0" => Value::from(0),
        _ => v,
    })
}

/// Java's `Math.round`: half rounds towards positive infinity.
fn round_half_up(f: f64) -> f64 {
    (f + 0.5).floor()
}

fn java_int(name: &str, v: &Value, what: &str) -> Result<i64, StatesError> {
    let f = v
        .as_f64()
        .ok_or_else(|| fail(name, format!("{what} must be a number, got {v}")))?;
    let i = if v.is_f64() {
        round_half_up(f) as i64
    } else {
        v.as_i64().unwrap_or(f as i64)
    };
    if i < i32::MIN as i64 || i > i32::MAX as i64 {
        return Err(fail(
            name,
            format!(
                "{what} must be between {} and {}, got {v}",
                i32::MIN,
                i32::MAX
            ),
        ));
    }
    Ok(i)
}

fn math_add(args: Vec<Value>) -> R {
    arity("MathAdd", &args, 2..=2)?;
    let a = java_int("MathAdd", &args[0], "the first argument")?;
    let b = java_int("MathAdd", &args[1], "the second argument")?;
    Ok(Value::from(a + b))
}

fn math_random(args: Vec<Value>) -> R {
    use rand::{Rng, SeedableRng};
    arity("MathRandom", &args, 2..=3)?;
    let start = java_int("MathRandom", &args[0], "the start")?;
    let end = java_int("MathRandom", &args[1], "the end")?;
    if end <= start {
        return Err(fail("MathRandom", "the end must be greater than the start"));
    }
    let n = match args.get(2) {
        Some(seed) => {
            let seed = java_int("MathRandom", seed, "the seed")?;
            rand_chacha::ChaCha8Rng::seed_from_u64(seed as u64).gen_range(start..end)
        }
        None => rand::thread_rng().gen_range(start..end),
    };
    Ok(Value::from(n))
}

fn string_split(args: Vec<Value>) -> R {
    arity("StringSplit", &args, 2..=2)?;
    let s = string("StringSplit", &args[0], "the first argument")?;
    let delims = string("StringSplit", &args[1], "the delimiter")?;
    let pieces = s
        .split(|c: char| delims.contains(c))
        .filter(|p| !p.is_empty())
        .map(|p| Value::String(p.to_string()));
    Ok(Value::Array(pieces.collect()))
}

fn uuid(args: Vec<Value>) -> R {
    arity("UUID", &args, 0..=0)?;
    Ok(Value::String(uuid::Uuid::new_v4().to_string()))
}

/// `States.Format` whose template came from a path (escapes in it are honoured too).
fn format_value_template(args: Vec<Value>) -> R {
    let Some((first, rest)) = args.split_first() else {
        return Err(fail("Format", "expected a template string"));
    };
    let t = string("Format", first, "the template")?;
    format(t, rest)
}

/// `States.Format(template, args…)`: each `{}` in `raw` (escapes `\{`, `\}`, `\'`, `\\`
/// resolved) is replaced by the next argument rendered as Java renders it (strings
/// unquoted, objects `{k=v, …}`, arrays `[a, b]`). The placeholder and argument counts
/// must match.
pub fn format(raw: &str, args: &[Value]) -> R {
    let mut out = String::with_capacity(raw.len());
    let mut next = args.iter();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next().map(super::parse::unescape)),
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let v = next
                    .next()
                    .ok_or_else(|| fail("Format", "more placeholders '{}' than arguments"))?;
                render(v, &mut out);
            }
            c => out.push(c),
        }
    }
    if next.next().is_some() {
        return Err(fail("Format", "more arguments than placeholders '{}'"));
    }
    Ok(Value::String(out))
}

/// Renders a value inside `States.Format` output.
fn render(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                render(x, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A number as Java's `Long.toString` / `Double.toString` write it: integers plainly;
/// doubles in `[1e-3, 1e7)` as decimals with at least one fractional digit (`100.0`),
/// others as `d.dddE±n` (`1.0E7`, `1.5E-4`).
pub fn number_text(n: &Number) -> String {
    match (n.is_f64(), n.as_f64()) {
        (true, Some(f)) => java_double(f),
        _ => n.to_string(),
    }
}

fn java_double(f: f64) -> String {
    let a = f.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) || !f.is_finite() {
        let s = format!("{f:?}");
        return s;
    }
    // Shortest round-trip digits, then Java's layout.
    let sci = format!("{f:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let mant = if mant.contains('.') {
        mant.to_string()
    } else {
        format!("{mant}.0")
    };
    format!("{mant}E{exp}")
}
