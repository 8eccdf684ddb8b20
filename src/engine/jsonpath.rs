//! JSONPath as AWS Step Functions evaluates it in JSONPath-mode states (Jayway JsonPath
//! semantics): `$`, `.name`, `['name']`, `[0]`, `[-1]`, `[*]`, `.*`, `..name`, slices
//! `[1:3]`, unions `[0,2]` / `['a','b']`, and filters `[?(@.x > 1)]`.
//!
//! A *definite* path (only names and single indexes) yields one value or
//! [`PathError::NotFound`]; an *indefinite* one yields an array of every match, `[]` when
//! nothing matches (AWS Step Functions: "an indefinite path that matches nothing yields
//! `[]`").
//!
//! Compiled paths are cached per thread ([`compile`]), so evaluating the same path string
//! in a loop parses it once.
//!
//! Not supported (rejected as [`PathError::Invalid`]): Jayway's regex filter `=~` and path
//! functions such as `.length()` (AWS offers `States.ArrayLength` instead).

#![warn(missing_docs)]

mod filter;
mod parse;

use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

pub use filter::{json_eq, Filter};

/// Why a path could not be evaluated or applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// A definite path selected nothing. The message is Jayway's, e.g.
    /// `No results for path: $['a']['b']` or `Missing property in path $['a']`.
    NotFound(String),
    /// The path text is not valid JSONPath (the reason says where and why).
    Invalid(String),
    /// `set` could not place the value, e.g. a step goes through a string
    /// (`Unable to apply step "b" to input "x"`).
    CannotSet(String),
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::NotFound(m) | PathError::Invalid(m) | PathError::CannotSet(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for PathError {}

/// One step of a compiled path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// `.name` or `['name']`.
    Child(String),
    /// `[3]` or `[-1]` (negative counts from the end).
    Index(i64),
    /// `.*` or `[*]`: every member of an object or element of an array.
    Wildcard,
    /// `[start:end:step]`, Python-style bounds.
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// `['a','b']`: several names.
    Names(Vec<String>),
    /// `[0,2]`: several indexes.
    Indexes(Vec<i64>),
    /// `..` followed by a segment: applies the segment at every depth.
    Descend(Box<Segment>),
    /// `[?(…)]`: elements (or members) for which the filter holds.
    Filter(Arc<Filter>),
}

impl Segment {
    fn is_definite(&self) -> bool {
        matches!(self, Segment::Child(_) | Segment::Index(_))
    }
}

/// A parsed JSONPath, cheap to clone (shared with the thread-local cache).
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Steps after the root `$`.
    pub segments: Vec<Segment>,
}

impl Path {
    /// True when the path can select at most one value (names and single indexes only).
    pub fn is_definite(&self) -> bool {
        self.segments.iter().all(Segment::is_definite)
    }

    /// Evaluates against `root`: a definite path gives its value (or `NotFound`), an
    /// indefinite one the array of matches.
    pub fn query(&self, root: &Value) -> Result<Value, PathError> {
        self.query_cow(root).map(Cow::into_owned)
    }

    /// Like [`Path::query`], borrowing the selected value when the path is definite (no
    /// copy of the input for a Choice rule or a path read).
    pub fn query_cow<'v>(&self, root: &'v Value) -> Result<Cow<'v, Value>, PathError> {
        if self.is_definite() {
            self.query_definite(root).map(Cow::Borrowed)
        } else {
            let mut out = Vec::new();
            select(&self.segments, root, root, &mut out);
            Ok(Cow::Owned(Value::Array(out.into_iter().cloned().collect())))
        }
    }

    /// Like [`Path::query`] for a definite path, by reference.
    fn query_definite<'v>(&self, root: &'v Value) -> Result<&'v Value, PathError> {
        let mut cur = root;
        for (i, seg) in self.segments.iter().enumerate() {
            let last = i + 1 == self.segments.len();
            cur = match seg {
                Segment::Child(name) => self.child_step(cur, name, i, last)?,
                Segment::Index(ix) => match index(cur, *ix) {
                    Some(v) => v,
                    None if cur.is_array() => return Err(self.no_results()),
                    None => return Err(self.not_array(i, cur)),
                },
                _ => return Err(self.no_results()),
            };
        }
        Ok(cur)
    }

    fn child_step<'v>(
        &self,
        cur: &'v Value,
        name: &str,
        i: usize,
        last: bool,
    ) -> Result<&'v Value, PathError> {
        match cur {
            Value::Object(map) => match map.get(name) {
                Some(v) => Ok(v),
                None if last => Err(self.no_results()),
                None => Err(PathError::NotFound(format!(
                    "Missing property in path {}",
                    normalized(&self.segments[..=i])
                ))),
            },
            other => Err(PathError::NotFound(format!(
                "Expected to find an object with property ['{}'] in path {} but found '{}'. \
                 This is not a json object according to the JsonProvider: \
                 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'.",
                name,
                normalized(&self.segments[..i]),
                java_type(other)
            ))),
        }
    }

    fn no_results(&self) -> PathError {
        PathError::NotFound(format!(
            "No results for path: {}",
            normalized(&self.segments)
        ))
    }

    /// Jayway's errors for an index step on a non-array: `The path $['a'] is null`, or
    /// `Filter: [0] can only be applied to arrays. Current context is: …`.
    fn not_array(&self, i: usize, cur: &Value) -> PathError {
        if cur.is_null() {
            let prefix = normalized(&self.segments[..i]);
            return PathError::NotFound(format!("The path {prefix} is null"));
        }
        PathError::NotFound(format!(
            "Filter: {} can only be applied to arrays. Current context is: {}",
            normalized(&self.segments[i..=i]).trim_start_matches('$'),
            cur
        ))
    }
}

/// Jayway's normalized form of a path: `$['a'][0]['b']`.
pub fn normalized(segments: &[Segment]) -> String {
    let mut s = String::from("$");
    for seg in segments {
        push_segment(&mut s, seg);
    }
    s
}

fn push_segment(s: &mut String, seg: &Segment) {
    use std::fmt::Write;
    match seg {
        Segment::Child(n) => {
            let _ = write!(s, "['{n}']");
        }
        Segment::Index(i) => {
            let _ = write!(s, "[{i}]");
        }
        Segment::Wildcard => s.push_str("[*]"),
        Segment::Slice(a, b, _) => {
            let f = |x: &Option<i64>| x.map(|v| v.to_string()).unwrap_or_default();
            let _ = write!(s, "[{}:{}]", f(a), f(b));
        }
        Segment::Names(ns) => {
            let parts: Vec<String> = ns.iter().map(|n| format!("'{n}'")).collect();
            let _ = write!(s, "[{}]", parts.join(","));
        }
        Segment::Indexes(is) => {
            let parts: Vec<String> = is.iter().map(|n| n.to_string()).collect();
            let _ = write!(s, "[{}]", parts.join(","));
        }
        Segment::Descend(inner) => {
            s.push_str("..");
            push_segment(s, inner);
        }
        Segment::Filter(_) => s.push_str("[?]"),
    }
}

/// The Java class name Jayway (with Jackson) reports for a JSON value.
fn java_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) if n.is_f64() => "java.lang.Double",
        Value::Number(_) => "java.lang.Integer",
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Object(_) => "java.util.LinkedHashMap",
    }
}

/// Element `ix` of an array (negative counts from the end), `None` when out of range or
/// not an array.
fn index(v: &Value, ix: i64) -> Option<&Value> {
    let arr = v.as_array()?;
    let len = arr.len() as i64;
    let eff = if ix < 0 { len + ix } else { ix };
    if eff < 0 {
        return None;
    }
    arr.get(eff as usize)
}

/// Appends to `out` every value the segments select from `cur`.
fn select<'v>(segs: &[Segment], root: &'v Value, cur: &'v Value, out: &mut Vec<&'v Value>) {
    let Some((first, rest)) = segs.split_first() else {
        out.push(cur);
        return;
    };
    let mut step = Vec::new();
    apply(first, root, cur, &mut step);
    for v in step {
        select(rest, root, v, out);
    }
}

/// Applies one segment to one value.
fn apply<'v>(seg: &Segment, root: &'v Value, cur: &'v Value, out: &mut Vec<&'v Value>) {
    match seg {
        Segment::Child(n) => out.extend(cur.as_object().and_then(|m| m.get(n))),
        Segment::Index(i) => out.extend(index(cur, *i)),
        Segment::Wildcard => out.extend(children(cur)),
        Segment::Slice(a, b, c) => slice(cur, *a, *b, *c, out),
        Segment::Names(ns) => {
            if let Some(m) = cur.as_object() {
                out.extend(ns.iter().filter_map(|n| m.get(n)));
            }
        }
        Segment::Indexes(is) => out.extend(is.iter().filter_map(|i| index(cur, *i))),
        Segment::Descend(inner) => descend(inner, root, cur, out),
        // Jayway applies a filter to each element of an array, but to an object itself.
        Segment::Filter(f) => match cur {
            Value::Object(_) => out.extend(Some(cur).filter(|c| f.holds(c, root))),
            _ => out.extend(children(cur).filter(|c| f.holds(c, root))),
        },
    }
}

fn children(v: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match v {
        Value::Array(a) => Box::new(a.iter()),
        Value::Object(m) => Box::new(m.values()),
        _ => Box::new(std::iter::empty()),
    }
}

/// `..` followed by `inner`, in document pre-order. A deep-scan filter (`$..[?(…)]`) tests
/// each object or array node itself once, as Jayway's scan does, rather than the children
/// of every container (which would report array elements twice).
fn descend<'v>(inner: &Segment, root: &'v Value, cur: &'v Value, out: &mut Vec<&'v Value>) {
    match inner {
        Segment::Filter(f) => out.extend(Some(cur).filter(|c| f.holds(c, root))),
        _ => apply(inner, root, cur, out),
    }
    for c in children(cur) {
        if c.is_array() || c.is_object() {
            descend(inner, root, c, out);
        }
    }
}

fn slice<'v>(
    cur: &'v Value,
    a: Option<i64>,
    b: Option<i64>,
    step: Option<i64>,
    out: &mut Vec<&'v Value>,
) {
    let Some(arr) = cur.as_array() else { return };
    let len = arr.len() as i64;
    let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
    let step = step.unwrap_or(1);
    if step <= 0 {
        return;
    }
    let (start, end) = (norm(a.unwrap_or(0)), norm(b.unwrap_or(len)));
    let mut i = start;
    while i < end {
        out.extend(arr.get(i as usize));
        i += step;
    }
}

/// FNV-1a: the caches key on short path texts, for which SipHash dominates lookup time.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A map keyed by expression text, hashed with [`Fnv`].
pub(crate) type TextMap<V> = HashMap<String, V, std::hash::BuildHasherDefault<Fnv>>;

thread_local! {
    static CACHE: RefCell<TextMap<Arc<Path>>> = RefCell::new(TextMap::default());
}

/// Parses `path` (which must start with `$`), reusing an earlier parse of the same text on
/// this thread. Errors: [`PathError::Invalid`] with the reason.
pub fn compile(path: &str) -> Result<Arc<Path>, PathError> {
    if let Some(p) = CACHE.with(|c| c.borrow().get(path).cloned()) {
        return Ok(p);
    }
    let parsed = Arc::new(parse::parse(path)?);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 4096 {
            c.clear();
        }
        c.insert(path.to_string(), parsed.clone());
    });
    Ok(parsed)
}

/// Evaluates `path` against `root`. A definite path gives the value it names
/// ([`PathError::NotFound`] if missing); an indefinite path (`$[*]`, `$..a`, `$.a[1:]`,
/// filters, unions) gives the array of matches, `[]` when none.
pub fn query(path: &str, root: &Value) -> Result<Value, PathError> {
    compile(path)?.query(root)
}

/// True when `path` parses and can select at most one value (an ASL *reference path*).
pub fn is_definite(path: &str) -> bool {
    compile(path).map(|p| p.is_definite()).unwrap_or(false)
}

/// Places `value` at `path` inside `target`, as `ResultPath` does: `$` replaces the whole
/// target; missing intermediate object members are created as objects; an existing array
/// element can be replaced. Errors: the path is invalid or indefinite
/// ([`PathError::Invalid`]), or a step goes through a value that is not an object (or an
/// array index out of range) ([`PathError::CannotSet`], worded as AWS:
/// `Unable to apply step "b" to input "text"`).
pub fn set(target: Value, path: &str, value: Value) -> Result<Value, PathError> {
    let p = compile(path)?;
    if !p.is_definite() {
        return Err(PathError::Invalid(format!(
            "The path '{path}' is not a reference path (it can select several values)"
        )));
    }
    let mut target = target;
    set_in(&mut target, &p.segments, value)?;
    Ok(target)
}

fn set_in(cur: &mut Value, segs: &[Segment], value: Value) -> Result<(), PathError> {
    let Some((first, rest)) = segs.split_first() else {
        *cur = value;
        return Ok(());
    };
    match first {
        Segment::Child(name) => {
            if cur.is_null() && !rest.is_empty() {
                *cur = Value::Object(Map::new());
            }
            let Value::Object(map) = cur else {
                return Err(cannot_apply(&name.to_string(), cur));
            };
            let slot = map.entry(name.clone()).or_insert(Value::Null);
            if rest.is_empty() {
                *slot = value;
                return Ok(());
            }
            if slot.is_null() {
                *slot = Value::Object(Map::new());
            }
            set_in(slot, rest, value)
        }
        Segment::Index(ix) => {
            let len = cur.as_array().map(|a| a.len() as i64).unwrap_or(0);
            let eff = if *ix < 0 { len + ix } else { *ix };
            let snapshot = cur.clone();
            match cur
                .as_array_mut()
                .and_then(|a| usize::try_from(eff).ok().and_then(|e| a.get_mut(e)))
            {
                Some(slot) => set_in(slot, rest, value),
                None => Err(cannot_apply(&format!("[{ix}]"), &snapshot)),
            }
        }
        _ => Err(PathError::Invalid("indefinite segment".into())),
    }
}

fn cannot_apply(step: &str, input: &Value) -> PathError {
    let shown = match input {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    PathError::CannotSet(format!(
        "Unable to apply step \"{step}\" to input \"{shown}\""
    ))
}

#[cfg(test)]
mod tests;
