//! Operators and built-in functions: the JSONata 2.x function library (docs.jsonata.org
//! "Function library") that state machines use, plus the functions AWS Step Functions adds in
//! JSONata mode (`$partition`, `$range`, `$hash`, `$random`, `$uuid`, `$parse`; AWS Step
//! Functions Developer Guide, "Transforming data with JSONata").

use super::error::JError;
use super::eval::{collapse, Evaluator};
use super::parser::BinOp;
use super::value::{format_number, Val};
use indexmap::IndexMap;
use std::cmp::Ordering;
use std::rc::Rc;

type R = Result<Val, JError>;

/// Names of the built-in functions (without `$`).
const NATIVES: &[&str] = &[
    "string",
    "length",
    "substring",
    "substringBefore",
    "substringAfter",
    "uppercase",
    "lowercase",
    "trim",
    "pad",
    "contains",
    "split",
    "join",
    "replace",
    "base64encode",
    "base64decode",
    "number",
    "abs",
    "floor",
    "ceil",
    "round",
    "power",
    "sqrt",
    "sum",
    "max",
    "min",
    "average",
    "count",
    "boolean",
    "not",
    "exists",
    "append",
    "reverse",
    "sort",
    "distinct",
    "zip",
    "keys",
    "lookup",
    "spread",
    "merge",
    "each",
    "sift",
    "error",
    "assert",
    "type",
    "map",
    "filter",
    "reduce",
    "single",
    "now",
    "millis",
    "fromMillis",
    "toMillis",
    "partition",
    "range",
    "hash",
    "random",
    "uuid",
    "parse",
    "shuffle",
    "match",
    "formatNumber",
    "formatBase",
    "encodeUrl",
    "encodeUrlComponent",
    "decodeUrl",
    "decodeUrlComponent",
    "clone",
];

/// The built-in function called `name`, if any.
pub(crate) fn native(name: &str) -> Option<&'static str> {
    NATIVES.iter().copied().find(|n| *n == name)
}

fn arg_err(n: usize, name: &str) -> JError {
    JError::new(
        "T0410",
        format!("Argument {n} of function \"{name}\" does not match function signature"),
        0,
    )
}

fn arg(args: &[Val], i: usize) -> Val {
    args.get(i).cloned().unwrap_or(Val::Undef)
}

fn str_arg(args: &[Val], i: usize, name: &str) -> Result<Option<Rc<str>>, JError> {
    match arg(args, i) {
        Val::Undef => Ok(None),
        Val::Str(s) => Ok(Some(s)),
        _ => Err(arg_err(i + 1, name)),
    }
}

fn num_arg(args: &[Val], i: usize, name: &str) -> Result<Option<f64>, JError> {
    match arg(args, i) {
        Val::Undef => Ok(None),
        Val::Num(n) => Ok(Some(n)),
        _ => Err(arg_err(i + 1, name)),
    }
}

/// Calls built-in `name`. Functions whose first argument may default to the context
/// (`$string()`, `$length()`, …) receive `input` when called without arguments.
pub(crate) fn call(ev: &Evaluator, name: &str, mut args: Vec<Val>, input: &Val) -> R {
    let ctx_default = matches!(
        name,
        "string"
            | "length"
            | "uppercase"
            | "lowercase"
            | "trim"
            | "number"
            | "boolean"
            | "keys"
            | "base64encode"
            | "base64decode"
            | "substring"
            | "substringBefore"
            | "substringAfter"
            | "contains"
            | "split"
            | "join"
            | "replace"
            | "pad"
    );
    let min_args = if matches!(
        name,
        "substring"
            | "substringBefore"
            | "substringAfter"
            | "contains"
            | "split"
            | "replace"
            | "pad"
    ) {
        2
    } else {
        1
    };
    if ctx_default && args.len() + 1 == min_args {
        args.insert(0, input.clone());
    }
    match name {
        "string" | "length" | "substring" | "substringBefore" | "substringAfter" | "uppercase"
        | "lowercase" | "trim" | "pad" | "contains" | "split" | "join" | "replace" | "match"
        | "base64encode" | "base64decode" => strings(name, &args),
        "number" | "abs" | "floor" | "ceil" | "round" | "power" | "sqrt" | "sum" | "max"
        | "min" | "average" | "count" => numbers(name, &args),
        "map" | "filter" | "reduce" | "single" | "each" | "sift" | "sort" => {
            higher_order(ev, name, &args, input)
        }
        "partition" | "range" | "hash" | "random" | "uuid" | "parse" => {
            super::aws::call(name, &args)
        }
        "formatNumber" | "formatBase" | "encodeUrl" | "encodeUrlComponent" | "decodeUrl"
        | "decodeUrlComponent" | "clone" => formatting(name, &args),
        _ => misc(name, &args),
    }
}

fn strings(name: &str, args: &[Val]) -> R {
    if name == "string" {
        return match arg(args, 0) {
            Val::Undef => Ok(Val::Undef),
            v => Ok(Val::str(&to_string(&v)?)),
        };
    }
    if name == "join" {
        return join(args);
    }
    let Some(s) = str_arg(args, 0, name)? else {
        return Ok(Val::Undef);
    };
    Ok(match name {
        "length" => Val::Num(s.chars().count() as f64),
        "uppercase" => Val::str(&s.to_uppercase()),
        "lowercase" => Val::str(&s.to_lowercase()),
        "trim" => Val::str(&s.split_whitespace().collect::<Vec<_>>().join(" ")),
        "substring" => substring(&s, args)?,
        "substringBefore" | "substringAfter" => {
            let Some(sep) = str_arg(args, 1, name)? else {
                return Ok(Val::Str(s));
            };
            match s.split_once(sep.as_ref()) {
                None => Val::Str(s),
                Some((a, b)) => Val::str(if name == "substringBefore" { a } else { b }),
            }
        }
        "match" => regex_match(&s, args)?,
        "contains" => Val::Bool(match arg(args, 1) {
            Val::Str(p) => s.contains(p.as_ref()),
            Val::Regex(r) => r.is_match(&s),
            _ => return Err(arg_err(2, name)),
        }),
        "split" => split(&s, args)?,
        "replace" => replace(&s, args)?,
        "pad" => pad(&s, args)?,
        "base64encode" => {
            use base64::Engine as _;
            Val::str(&base64::engine::general_purpose::STANDARD.encode(s.as_bytes()))
        }
        _ => {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|_| JError::new("D3137", "Invalid base64 input", 0))?;
            Val::str(&String::from_utf8_lossy(&bytes))
        }
    })
}

fn substring(s: &str, args: &[Val]) -> R {
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len() as i64;
    let start = num_arg(args, 1, "substring")?.ok_or_else(|| arg_err(2, "substring"))? as i64;
    let start = if start < 0 {
        len.saturating_add(start).max(0)
    } else {
        start.min(len)
    };
    let end = match num_arg(args, 2, "substring")? {
        None => len,
        Some(n) => start.saturating_add((n as i64).max(0)).min(len),
    };
    Ok(Val::str(
        &chars[start as usize..end.max(start) as usize]
            .iter()
            .collect::<String>(),
    ))
}

/// `$match(str, regex, limit?)`: one `{match, index, groups}` object per match.
fn regex_match(s: &str, args: &[Val]) -> R {
    let Val::Regex(r) = arg(args, 1) else {
        return Err(arg_err(2, "match"));
    };
    let limit = num_arg(args, 2, "match")?.map_or(usize::MAX, |n| n.max(0.0) as usize);
    let mut out = Vec::new();
    for caps in r.captures_iter(s).take(limit) {
        let Some(m) = caps.get(0) else { continue };
        let groups = caps
            .iter()
            .skip(1)
            .map(|g| Val::str(g.map_or("", |g| g.as_str())))
            .collect();
        let index = s[..m.start()].chars().count() as f64;
        out.push(Val::Obj(Rc::new(IndexMap::from([
            ("match".to_string(), Val::str(m.as_str())),
            ("index".to_string(), Val::Num(index)),
            ("groups".to_string(), Val::array(groups)),
        ]))));
    }
    Ok(collapse(Val::seq(out)))
}

fn split(s: &str, args: &[Val]) -> R {
    let limit = num_arg(args, 2, "split")?.map(|n| n.max(0.0) as usize);
    let parts: Vec<String> = match arg(args, 1) {
        Val::Str(sep) if sep.is_empty() => s.chars().map(String::from).collect(),
        Val::Str(sep) => s.split(sep.as_ref()).map(String::from).collect(),
        Val::Regex(r) => r.split(s).map(String::from).collect(),
        _ => return Err(arg_err(2, "split")),
    };
    let n = limit.unwrap_or(parts.len());
    Ok(Val::array(
        parts.into_iter().take(n).map(|p| Val::str(&p)).collect(),
    ))
}

fn replace(s: &str, args: &[Val]) -> R {
    let Val::Str(rep) = arg(args, 2) else {
        return Err(arg_err(3, "replace"));
    };
    let limit = num_arg(args, 3, "replace")?.map(|n| n.max(0.0) as usize);
    Ok(Val::str(&match arg(args, 1) {
        Val::Str(p) if p.is_empty() => {
            return Err(JError::new(
                "D3010",
                "Second argument of replace function cannot be an empty string",
                0,
            ))
        }
        Val::Str(p) => match limit {
            Some(n) => s.replacen(p.as_ref(), &rep, n),
            None => s.replace(p.as_ref(), &rep),
        },
        Val::Regex(r) => r
            .replacen(s, limit.unwrap_or(0), |caps: &regex::Captures| {
                expand(&rep, caps)
            })
            .into_owned(),
        _ => return Err(arg_err(2, "replace")),
    }))
}

/// Expands a JSONata replacement string: `$$` is `$`, `$n` is group `n` (using as many digits
/// as name an existing group), `$0` the whole match; any other `$` is literal.
fn expand(rep: &str, caps: &regex::Captures) -> String {
    let mut out = String::new();
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'$') {
            chars.next();
            out.push('$');
            continue;
        }
        let mut group: Option<usize> = None;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            let next = group.unwrap_or(0) * 10 + d as usize;
            if group.is_some() && next >= caps.len() {
                break;
            }
            group = Some(next);
            chars.next();
        }
        match group {
            None => out.push('$'),
            Some(g) => out.push_str(caps.get(g).map_or("", |m| m.as_str())),
        }
    }
    out
}

fn pad(s: &str, args: &[Val]) -> R {
    let width = num_arg(args, 1, "pad")?.ok_or_else(|| arg_err(2, "pad"))? as i64;
    let fill = str_arg(args, 2, "pad")?.map_or(" ".to_string(), |c| c.to_string());
    let fill = if fill.is_empty() {
        " ".to_string()
    } else {
        fill
    };
    let len = s.chars().count() as i64;
    let need =
        usize::try_from(width.unsigned_abs().saturating_sub(len as u64)).unwrap_or(usize::MAX);
    if need > MAX_STRING {
        return Err(memory_limit());
    }
    let padding: String = fill.chars().cycle().take(need).collect();
    Ok(Val::str(&if width < 0 {
        format!("{padding}{s}")
    } else {
        format!("{s}{padding}")
    }))
}

/// Longest string a function builds in characters (AWS bounds values an expression builds at
/// about 7 MB).
const MAX_STRING: usize = 8 * 1024 * 1024;

/// AWS's refusal of a value that is too large. AWS's wording is reported by emulators
/// measured against it; the code is ours (`U1002`), as the corpus does not show AWS's.
pub(crate) fn memory_limit() -> JError {
    JError::new("U1002", "Expression evaluation memory limit exceeded", 0)
}

fn join(args: &[Val]) -> R {
    let items = match arg(args, 0) {
        Val::Undef => return Ok(Val::Undef),
        v => v.items(),
    };
    let sep = str_arg(args, 1, "join")?.map_or(String::new(), |s| s.to_string());
    let mut parts = Vec::with_capacity(items.len());
    for it in items {
        match it {
            Val::Str(s) => parts.push(s.to_string()),
            _ => return Err(arg_err(1, "join")),
        }
    }
    Ok(Val::str(&parts.join(&sep)))
}

fn numbers(name: &str, args: &[Val]) -> R {
    match name {
        "number" => to_number(&arg(args, 0)),
        "sum" | "max" | "min" | "average" => aggregate(name, args),
        "count" => Ok(Val::Num(arg(args, 0).items().len() as f64)),
        "power" => {
            let (Some(b), Some(e)) = (num_arg(args, 0, name)?, num_arg(args, 1, name)?) else {
                return Ok(Val::Undef);
            };
            finite(b.powf(e))
        }
        _ => {
            let Some(n) = num_arg(args, 0, name)? else {
                return Ok(Val::Undef);
            };
            Ok(Val::Num(match name {
                "abs" => n.abs(),
                "floor" => n.floor(),
                "ceil" => n.ceil(),
                "sqrt" if n < 0.0 => {
                    return Err(JError::new(
                        "D3060",
                        format!(
                            "The sqrt function cannot be applied to a negative number: {}",
                            format_number(n)
                        ),
                        0,
                    ))
                }
                "sqrt" => n.sqrt(),
                _ => round_half_even(n, num_arg(args, 1, name)?.unwrap_or(0.0) as i32),
            }))
        }
    }
}

fn finite(n: f64) -> R {
    if n.is_finite() {
        Ok(Val::Num(n))
    } else {
        let js = if n.is_nan() {
            "NaN"
        } else if n > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        };
        Err(JError::new(
            "D1001",
            format!("Number out of range: {js}"),
            0,
        ))
    }
}

/// `$formatNumber`, `$formatBase`, the URL codecs and `$clone`.
fn formatting(name: &str, args: &[Val]) -> R {
    use super::format;
    if name == "clone" {
        return Ok(arg(args, 0));
    }
    if name == "formatNumber" || name == "formatBase" {
        let Some(n) = num_arg(args, 0, name)? else {
            return Ok(Val::Undef);
        };
        if name == "formatBase" {
            let radix = num_arg(args, 1, name)?.unwrap_or(10.0);
            return Ok(Val::str(&format::format_base(n, radix)?));
        }
        let picture = str_arg(args, 1, name)?.ok_or_else(|| arg_err(2, name))?;
        return Ok(Val::str(&format::format_number(n, &picture)?));
    }
    let Some(s) = str_arg(args, 0, name)? else {
        return Ok(Val::Undef);
    };
    Ok(Val::str(&match name {
        "encodeUrl" => format::encode_url(&s, true),
        "encodeUrlComponent" => format::encode_url(&s, false),
        "decodeUrl" => format::decode_url(&s, true)?,
        _ => format::decode_url(&s, false)?,
    }))
}

/// JSONata `$round`: half to even at `precision` decimal places, shifting the decimal point
/// in the number's text (so `$round(1.255, 2)` is `1.26`, not the binary `1.25`).
pub(crate) fn round_half_even(n: f64, precision: i32) -> f64 {
    let shift = |v: f64, p: i32| format!("{v}e{p}").parse::<f64>().unwrap_or(v);
    let x = shift(n, precision);
    let mut r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r -= x.signum();
    }
    shift(r, -precision)
}

fn to_number(v: &Val) -> R {
    match v {
        Val::Undef => Ok(Val::Undef),
        Val::Num(n) => Ok(Val::Num(*n)),
        Val::Bool(b) => Ok(Val::Num(if *b { 1.0 } else { 0.0 })),
        Val::Str(s) => parse_number(s).map(Val::Num).ok_or_else(|| {
            JError::new(
                "D3030",
                format!("Unable to cast value to a number: \"{s}\""),
                0,
            )
        }),
        other => Err(JError::new(
            "D3030",
            format!("Unable to cast value to a number: {}", describe(other)),
            0,
        )),
    }
}

/// A string `$number` accepts: `-?digits(.digits)?(e[+-]?digits)?` (jsonata-js's test, so
/// `"01"` is 1 and `" 2"` is refused) or a `0x`/`0o`/`0b` integer literal.
fn parse_number(s: &str) -> Option<f64> {
    let radix = |p: &str, r: u32| {
        s.strip_prefix(p)
            .and_then(|d| i64::from_str_radix(d, r).ok())
            .map(|n| n as f64)
    };
    if let Some(n) = radix("0x", 16)
        .or_else(|| radix("0o", 8))
        .or_else(|| radix("0b", 2))
    {
        return Some(n);
    }
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let body = s.strip_prefix('-').unwrap_or(s);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let exp_ok = exp.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    if !(digits(int) && frac.is_none_or(digits) && exp_ok) {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn aggregate(name: &str, args: &[Val]) -> R {
    let v = arg(args, 0);
    if v.is_undef() {
        return Ok(Val::Undef);
    }
    let mut nums = Vec::new();
    for it in v.items() {
        match it {
            Val::Num(n) => nums.push(n),
            _ => {
                return Err(JError::new(
                    "T0412",
                    format!("Argument 1 of function \"{name}\" must be an array of numbers"),
                    0,
                ))
            }
        }
    }
    if nums.is_empty() {
        return Ok(if name == "sum" {
            Val::Num(0.0)
        } else {
            Val::Undef
        });
    }
    let sum: f64 = nums.iter().sum();
    Ok(Val::Num(match name {
        "sum" => sum,
        "average" => sum / nums.len() as f64,
        "max" => nums.iter().copied().fold(f64::MIN, f64::max),
        _ => nums.iter().copied().fold(f64::MAX, f64::min),
    }))
}

fn misc(name: &str, args: &[Val]) -> R {
    let a = arg(args, 0);
    Ok(match name {
        "boolean" if a.is_undef() => Val::Undef,
        "boolean" => Val::Bool(boolean(&a)),
        "not" if a.is_undef() => Val::Undef,
        "not" => Val::Bool(!boolean(&a)),
        "exists" => Val::Bool(!a.is_undef()),
        "type" if a.is_undef() => Val::Undef,
        "type" => Val::str(a.type_name()),
        "append" => append(a, arg(args, 1)),
        "reverse" if a.is_undef() => Val::Undef,
        "reverse" => Val::array(a.items().into_iter().rev().collect()),
        "shuffle" => a,
        "distinct" => distinct(a),
        "zip" => zip(args),
        "keys" => keys(&a),
        "lookup" => lookup_all(&a, &str_arg(args, 1, name)?.unwrap_or_else(|| Rc::from(""))),
        "spread" => spread(a),
        "merge" => merge(&a)?,
        "error" => {
            let msg = str_arg(args, 0, name)?
                .map_or("$error() function evaluated".to_string(), |s| s.to_string());
            return Err(JError::new("D3137", msg, 0));
        }
        "assert" => {
            if !boolean(&a) {
                let msg = str_arg(args, 1, name)?
                    .map_or("$assert() statement failed".to_string(), |s| s.to_string());
                return Err(JError::new("D3141", msg, 0));
            }
            Val::Undef
        }
        "now" | "fromMillis" | "toMillis" if args.len() > usize::from(name != "now") => {
            return Err(JError::new(
                "U1003",
                format!("flowc does not support picture strings or timezones in ${name}"),
                0,
            ))
        }
        "now" => Val::str(&super::aws::now_iso()),
        "millis" => Val::Num(super::aws::now_millis() as f64),
        "fromMillis" => match num_arg(args, 0, name)? {
            None => Val::Undef,
            Some(ms) => {
                Val::str(&super::aws::iso_from_millis(ms as i64).ok_or_else(|| arg_err(1, name))?)
            }
        },
        "toMillis" => match str_arg(args, 0, name)? {
            None => Val::Undef,
            Some(s) => Val::Num(super::aws::millis_from_iso(&s).ok_or_else(|| {
                let msg = format!("The argument of the toMillis function must be an ISO 8601 formatted timestamp. Given {}", describe(&Val::Str(s.clone())));
                JError::new("D3110", msg, 0)
            })? as f64),
        },
        _ => {
            return Err(JError::new(
                "T1006",
                "Attempted to invoke a non-function",
                0,
            ))
        }
    })
}

fn append(a: Val, b: Val) -> Val {
    match (a.is_undef(), b.is_undef()) {
        (true, _) => b,
        (_, true) => a,
        _ => {
            let mut items = a.items();
            items.extend(b.items());
            Val::array(items)
        }
    }
}

fn distinct(a: Val) -> Val {
    let Val::Arr(items, _) = &a else { return a };
    let mut out: Vec<Val> = Vec::new();
    for it in items.iter() {
        if !out.iter().any(|o| deep_equal(o, it)) {
            out.push(it.clone());
        }
    }
    Val::array(out)
}

fn zip(args: &[Val]) -> Val {
    let lists: Vec<Vec<Val>> = args.iter().map(Val::items).collect();
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Val::array(
        (0..n)
            .map(|i| Val::array(lists.iter().map(|l| l[i].clone()).collect()))
            .collect(),
    )
}

fn keys(a: &Val) -> Val {
    let mut out: Vec<String> = Vec::new();
    for it in a.items() {
        if let Val::Obj(m) = it {
            for k in m.keys() {
                if !out.contains(k) {
                    out.push(k.clone());
                }
            }
        }
    }
    collapse(Val::seq(out.iter().map(|k| Val::str(k)).collect()))
}

/// `$lookup(obj, key)`: the field of an object as it is; over an array of objects, the
/// fields flattened into one sequence.
fn lookup_all(a: &Val, key: &str) -> Val {
    if let Val::Obj(m) = a {
        return m.get(key).cloned().unwrap_or(Val::Undef);
    }
    let mut out = Vec::new();
    for it in a.items() {
        if let Val::Obj(m) = it {
            if let Some(v) = m.get(key) {
                match v {
                    Val::Arr(x, _) => out.extend(x.iter().cloned()),
                    v => out.push(v.clone()),
                }
            }
        }
    }
    collapse(Val::seq(out))
}

fn spread(a: Val) -> Val {
    match &a {
        Val::Obj(m) => collapse(Val::seq(
            m.iter()
                .map(|(k, v)| Val::Obj(Rc::new(IndexMap::from([(k.clone(), v.clone())]))))
                .collect(),
        )),
        Val::Arr(items, _) => collapse(Val::seq(
            items
                .iter()
                .flat_map(|i| spread(i.clone()).items())
                .collect(),
        )),
        _ => a,
    }
}

fn merge(a: &Val) -> R {
    if a.is_undef() {
        return Ok(Val::Undef);
    }
    let mut out = IndexMap::new();
    for it in a.items() {
        match it {
            Val::Obj(m) => out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
            _ => return Err(arg_err(1, "merge")),
        }
    }
    Ok(Val::Obj(Rc::new(out)))
}

/// Arguments for a callback: value, index, whole array, as many as the callback declares.
fn callback_args(ev: &Evaluator, f: &Val, v: &Val, i: usize, all: &Val) -> Vec<Val> {
    let mut a = vec![v.clone(), Val::Num(i as f64), all.clone()];
    a.truncate(ev.arity(f).max(1));
    a
}

fn higher_order(ev: &Evaluator, name: &str, args: &[Val], input: &Val) -> R {
    let a = arg(args, 0);
    let f = arg(args, 1);
    if name == "sort" {
        return sort(ev, a, &f, input);
    }
    if name == "each" || name == "sift" {
        return each_sift(ev, name, &a, &f, input);
    }
    if a.is_undef() {
        return Ok(Val::Undef);
    }
    let items = a.items();
    let all = Val::array(items.clone());
    match name {
        "map" => {
            let mut out = Vec::new();
            for (i, v) in items.iter().enumerate() {
                let r = ev.apply(&f, callback_args(ev, &f, v, i, &all), input)?;
                if !r.is_undef() {
                    out.push(r);
                }
            }
            Ok(collapse(Val::seq(out)))
        }
        "filter" | "single" => {
            let mut out = Vec::new();
            for (i, v) in items.iter().enumerate() {
                let keep = match &f {
                    Val::Undef if name == "single" => true,
                    _ => boolean(&ev.apply(&f, callback_args(ev, &f, v, i, &all), input)?),
                };
                if keep {
                    out.push(v.clone());
                }
            }
            if name == "filter" {
                return Ok(collapse(Val::seq(out)));
            }
            match out.len() {
                1 => Ok(out.swap_remove(0)),
                0 => Err(JError::new("D3139", "The $single() function expected exactly 1 matching result.  Instead it matched 0.", 0)),
                _ => Err(JError::new("D3138", "The $single() function expected exactly 1 matching result.  Instead it matched more.", 0)),
            }
        }
        _ => reduce(ev, items, &f, arg(args, 2), input),
    }
}

fn reduce(ev: &Evaluator, items: Vec<Val>, f: &Val, init: Val, input: &Val) -> R {
    let mut it = items.into_iter();
    let mut acc = if init.is_undef() {
        it.next().unwrap_or(Val::Undef)
    } else {
        init
    };
    for v in it {
        acc = ev.apply(f, vec![acc, v], input)?;
    }
    Ok(acc)
}

fn each_sift(ev: &Evaluator, name: &str, a: &Val, f: &Val, input: &Val) -> R {
    let Val::Obj(m) = a else {
        return Ok(Val::Undef);
    };
    let mut seq = Vec::new();
    let mut obj = IndexMap::new();
    for (k, v) in m.iter() {
        let mut cargs = vec![v.clone(), Val::str(k), a.clone()];
        cargs.truncate(ev.arity(f).max(1));
        let r = ev.apply(f, cargs, input)?;
        if name == "each" {
            if !r.is_undef() {
                seq.push(r);
            }
        } else if boolean(&r) {
            obj.insert(k.clone(), v.clone());
        }
    }
    Ok(match name {
        "each" => collapse(Val::seq(seq)),
        _ if obj.is_empty() => Val::Undef,
        _ => Val::Obj(Rc::new(obj)),
    })
}

fn sort(ev: &Evaluator, a: Val, f: &Val, input: &Val) -> R {
    if a.is_undef() {
        return Ok(Val::Undef);
    }
    let items = a.items();
    let sorted = if f.is_undef() {
        merge_sort(items, &mut |x, y| {
            Ok(compare_values(x, y)? == Ordering::Greater)
        })?
    } else {
        // `f(a, b)` true means a goes after b (the jsonata-js comparator contract).
        merge_sort(items, &mut |x, y| {
            Ok(boolean(&ev.apply(f, vec![x.clone(), y.clone()], input)?))
        })?
    };
    Ok(Val::array(sorted))
}

/// Stable merge sort with a fallible "goes after" test (never panics on inconsistent
/// comparators, unlike `slice::sort_by`).
pub(crate) fn merge_sort<T: Clone>(
    items: Vec<T>,
    after: &mut dyn FnMut(&T, &T) -> Result<bool, JError>,
) -> Result<Vec<T>, JError> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mut left = items;
    let right = left.split_off(left.len() / 2);
    let (left, right) = (merge_sort(left, after)?, merge_sort(right, after)?);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if after(&left[i], &right[j])? {
            out.push(right[j].clone());
            j += 1;
        } else {
            out.push(left[i].clone());
            i += 1;
        }
    }
    out.extend_from_slice(&left[i..]);
    out.extend_from_slice(&right[j..]);
    Ok(out)
}

/// JSONata truthiness (`$boolean`): empty strings, zero, null, empty arrays and objects,
/// functions and undefined are false; an array is true when any item is.
pub(crate) fn boolean(v: &Val) -> bool {
    match v {
        Val::Undef | Val::Null | Val::Func(_) | Val::Regex(_) => false,
        Val::Bool(b) => *b,
        Val::Num(n) => *n != 0.0,
        Val::Str(s) => !s.is_empty(),
        Val::Arr(a, _) => a.iter().any(boolean),
        Val::Obj(m) => !m.is_empty(),
    }
}

/// Deep equality as JSONata's `=` uses it.
pub(crate) fn deep_equal(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Num(x), Val::Num(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Arr(x, _), Val::Arr(y, _)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Val::Obj(x), Val::Obj(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        _ => false,
    }
}

/// Orders two numbers or two strings (`$sort`, order-by); undefined sorts last.
///
/// Errors: `T2008` when a value is neither a number nor a string, `T2007` when one is a
/// number and the other a string.
pub(crate) fn compare_values(a: &Val, b: &Val) -> Result<Ordering, JError> {
    match (a, b) {
        (Val::Num(x), Val::Num(y)) => Ok(x.partial_cmp(y).unwrap_or(Ordering::Equal)),
        (Val::Str(x), Val::Str(y)) => Ok(x.cmp(y)),
        (Val::Undef, Val::Undef) => Ok(Ordering::Equal),
        (Val::Undef, _) => Ok(Ordering::Greater),
        (_, Val::Undef) => Ok(Ordering::Less),
        (Val::Num(_) | Val::Str(_), Val::Num(_) | Val::Str(_)) => {
            let msg = format!(
                "Type mismatch when comparing values {} and {} in order-by clause",
                describe(a),
                describe(b)
            );
            Err(JError::new("T2007", msg, 0))
        }
        _ => Err(JError::new(
            "T2008",
            "The expressions within an order-by clause must evaluate to numeric or string values",
            0,
        )),
    }
}

/// A value as JSONata quotes it in error messages (JSON text).
pub(crate) fn describe(v: &Val) -> String {
    to_json_text(v).unwrap_or_else(|_| v.type_name().to_string())
}

/// `$string`: strings as they are, numbers as JavaScript prints them after rounding to 15
/// significant digits, everything else as compact JSON (functions as `""`).
pub(crate) fn to_string(v: &Val) -> Result<String, JError> {
    match v {
        Val::Str(s) => Ok(s.to_string()),
        Val::Func(_) | Val::Regex(_) => Ok(String::new()),
        Val::Num(n) if !n.is_finite() => Err(JError::new(
            "D3001",
            "Attempting to invoke string function on Infinity or NaN",
            0,
        )),
        other => to_json_text(other),
    }
}

fn to_json_text(v: &Val) -> Result<String, JError> {
    let mut out = String::new();
    write_json(v, &mut out)?;
    Ok(out)
}

fn write_json(v: &Val, out: &mut String) -> Result<(), JError> {
    match v {
        Val::Undef | Val::Func(_) | Val::Regex(_) => out.push_str(""),
        Val::Null => out.push_str("null"),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Num(n) if !n.is_finite() => out.push_str("null"),
        Val::Num(n) => out.push_str(&format_number(*n)),
        Val::Str(s) => out.push_str(&serde_json::Value::String(s.to_string()).to_string()),
        Val::Arr(items, _) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if matches!(it, Val::Undef | Val::Func(_) | Val::Regex(_)) {
                    out.push_str("null");
                } else {
                    write_json(it, out)?;
                }
            }
            out.push(']');
        }
        Val::Obj(m) => {
            out.push('{');
            let mut first = true;
            for (k, it) in m
                .iter()
                .filter(|(_, x)| !matches!(x, Val::Undef | Val::Func(_) | Val::Regex(_)))
            {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_json(it, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// Applies a binary operator to evaluated operands.
///
/// Errors: `T2001`/`T2002` (non-number operand of arithmetic), `T2009`/`T2010` (comparison
/// of mismatched or non-comparable values), `D1001` (result out of range).
pub(crate) fn binary(op: BinOp, l: &Val, r: &Val) -> R {
    match op {
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => arithmetic(op, l, r),
        BinOp::Eq => Ok(Val::Bool(
            !l.is_undef() && !r.is_undef() && deep_equal(l, r),
        )),
        BinOp::Ne => Ok(Val::Bool(
            !l.is_undef() && !r.is_undef() && !deep_equal(l, r),
        )),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => comparison(op, l, r),
        BinOp::Concat => {
            let s = |v: &Val| {
                if v.is_undef() {
                    Ok(String::new())
                } else {
                    to_string(v)
                }
            };
            Ok(Val::str(&(s(l)? + &s(r)?)))
        }
        BinOp::In => Ok(Val::Bool(
            !l.is_undef() && r.items().iter().any(|x| deep_equal(l, x)),
        )),
        BinOp::Range => Err(JError::new("S0201", "Syntax error: ..", 0)),
    }
}

fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        _ => "=",
    }
}

fn arithmetic(op: BinOp, l: &Val, r: &Val) -> R {
    let sym = op_symbol(op);
    let side = |v: &Val, code: &'static str, which: &str| match v {
        Val::Undef => Ok(None),
        Val::Num(n) => Ok(Some(*n)),
        _ => Err(JError::new(
            code,
            format!("The {which} side of the \"{sym}\" operator must evaluate to a number"),
            0,
        )),
    };
    let (a, b) = (side(l, "T2001", "left")?, side(r, "T2002", "right")?);
    let (Some(a), Some(b)) = (a, b) else {
        return Ok(Val::Undef);
    };
    finite(match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        _ => a % b,
    })
}

fn comparison(op: BinOp, l: &Val, r: &Val) -> R {
    let comparable = |v: &Val| matches!(v, Val::Undef | Val::Str(_) | Val::Num(_));
    if !comparable(l) || !comparable(r) {
        return Err(JError::new("T2010", format!("The expressions either side of operator \"{}\" must evaluate to numeric or string values", op_symbol(op)), 0));
    }
    if l.is_undef() || r.is_undef() {
        return Ok(Val::Bool(false));
    }
    let ord = match (l, r) {
        (Val::Num(a), Val::Num(b)) => a.partial_cmp(b),
        (Val::Str(a), Val::Str(b)) => Some(a.cmp(b)),
        _ => {
            return Err(JError::new(
                "T2009",
                format!(
                "The values {} and {} either side of operator \"{}\" must be of the same data type",
                describe(l),
                describe(r),
                op_symbol(op)
            ),
                0,
            ))
        }
    };
    let Some(ord) = ord else {
        return Ok(Val::Bool(false));
    };
    Ok(Val::Bool(match op {
        BinOp::Lt => ord == Ordering::Less,
        BinOp::Le => ord != Ordering::Greater,
        BinOp::Gt => ord == Ordering::Greater,
        _ => ord != Ordering::Less,
    }))
}
