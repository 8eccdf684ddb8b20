//! The JSONata evaluator: walks a [`Node`] tree against a context value, following the
//! semantics of the reference implementation (jsonata-js 2.x `jsonata.js`): location paths map
//! over sequences and flatten, result sequences of one item collapse to the item, `undefined`
//! propagates through paths and operators.

use super::error::JError;
use super::functions;
use super::parser::{BinOp, Node, Step};
use super::value::{Env, Flags, Func, Val};
use crate::engine::vars::Vars;
use indexmap::IndexMap;
use serde_json::Value;
use std::rc::Rc;

/// Deepest nesting of evaluation before `U1001` is raised. AWS evaluates JSONata with a
/// depth ceiling of 100 nested evaluations (`1+1+…+1` with 100 terms passes, 101 fails, as
/// reported by emulators measured against AWS); it also keeps runaway recursion in user
/// functions from overflowing the native stack.
const MAX_DEPTH: usize = 100;

/// What the expression can see besides its own bindings: `$states` and the workflow
/// variables, converted on first use.
pub(crate) struct Evaluator<'a> {
    pub states: &'a Value,
    pub vars: &'a Vars,
    depth: std::cell::Cell<usize>,
    /// `$states` and workflow variables already converted to [`Val`].
    converted: std::cell::RefCell<std::collections::HashMap<String, Val>>,
}

type R = Result<Val, JError>;

impl<'a> Evaluator<'a> {
    pub fn new(states: &'a Value, vars: &'a Vars) -> Self {
        Evaluator {
            states,
            vars,
            depth: std::cell::Cell::new(0),
            converted: Default::default(),
        }
    }

    /// Evaluates `node` with context `input`, collapsing result sequences as JSONata does.
    pub fn eval(&self, node: &Node, input: &Val, env: &Rc<Env>) -> R {
        let d = self.depth.get();
        if d >= MAX_DEPTH {
            let msg = format!("Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive. Depth={} max={MAX_DEPTH}", d + 1);
            return Err(JError::new("U1001", msg, 0));
        }
        self.depth.set(d + 1);
        let r = self.eval_node(node, input, env);
        self.depth.set(d);
        r.map(collapse)
    }

    fn eval_node(&self, node: &Node, input: &Val, env: &Rc<Env>) -> R {
        match node {
            Node::Num(n) => Ok(Val::Num(*n)),
            Node::Str(s) => Ok(Val::Str(s.clone())),
            Node::Bool(b) => Ok(Val::Bool(*b)),
            Node::Null => Ok(Val::Null),
            Node::Regex(r) => Ok(Val::Regex(r.clone())),
            Node::Name(n) => Ok(lookup(input, n)),
            Node::Var(name) => Ok(self.variable(name, input, env)),
            Node::Wildcard => Ok(wildcard(input)),
            Node::Descendants => Ok(descendants(input)),
            Node::Path(steps, keep) => self.path(steps, *keep, input, env),
            Node::Neg(e) => self.negate(e, input, env),
            Node::Bin(op, l, r) => self.binary(*op, l, r, input, env),
            Node::And(l, r) => Ok(Val::Bool(
                self.truthy(l, input, env)? && self.truthy(r, input, env)?,
            )),
            Node::Or(l, r) => Ok(Val::Bool(
                self.truthy(l, input, env)? || self.truthy(r, input, env)?,
            )),
            Node::Cond(c, t, e) => self.condition(c, t, e.as_deref(), input, env),
            Node::Elvis(l, r) => {
                let v = self.eval(l, input, env)?;
                if functions::boolean(&v) {
                    Ok(v)
                } else {
                    self.eval(r, input, env)
                }
            }
            Node::Coalesce(l, r) => {
                let v = self.eval(l, input, env)?;
                if v.is_undef() {
                    self.eval(r, input, env)
                } else {
                    Ok(v)
                }
            }
            Node::Array(items) => self.array(items, input, env),
            Node::Object(pairs) => self.group(&input.items_or_self(), pairs, env),
            Node::Group(e, pairs) => {
                let v = self.eval(e, input, env)?;
                self.group(&v.items(), pairs, env)
            }
            Node::Block(items) => self.block(items, input, env),
            Node::Bind(name, e) => {
                let v = self.eval(e, input, env)?;
                env.bind(name, v.clone());
                Ok(v)
            }
            Node::Call(f, args) => self.call_node(f, args, input, env),
            Node::Placeholder => Err(JError::new("S0201", "Syntax error: ?", 0)),
            Node::Lambda(l) => Ok(Val::Func(Rc::new(Func::Lambda(l.clone(), env.clone())))),
            Node::Chain(l, r) => self.chain(l, r, input, env),
            Node::Filter(e, pred) => {
                let v = self.eval(e, input, env)?;
                self.filter(pred, &v, env)
            }
            Node::Sort(e, terms) => {
                let v = self.eval(e, input, env)?;
                self.sort(v, terms, env)
            }
        }
    }

    /// `$name`: local bindings, then `$states`, then workflow variables, then built-ins.
    fn variable(&self, name: &str, input: &Val, env: &Rc<Env>) -> Val {
        match name {
            "" => return input.clone(),
            "$" => return env.get("$").unwrap_or(Val::Undef),
            _ => {}
        }
        if let Some(v) = env.get(name) {
            return v;
        }
        if let Some(v) = self.converted.borrow().get(name) {
            return v.clone();
        }
        let found = if name == "states" {
            Some(Val::from_json(self.states))
        } else {
            self.vars.get(name).map(Val::from_json)
        };
        if let Some(v) = found {
            self.converted
                .borrow_mut()
                .insert(name.to_string(), v.clone());
            return v;
        }
        functions::native(name).map_or(Val::Undef, |f| Val::Func(Rc::new(Func::Native(f))))
    }

    fn truthy(&self, node: &Node, input: &Val, env: &Rc<Env>) -> Result<bool, JError> {
        Ok(functions::boolean(&self.eval(node, input, env)?))
    }

    fn condition(&self, c: &Node, t: &Node, e: Option<&Node>, input: &Val, env: &Rc<Env>) -> R {
        if self.truthy(c, input, env)? {
            self.eval(t, input, env)
        } else {
            e.map_or(Ok(Val::Undef), |e| self.eval(e, input, env))
        }
    }

    fn negate(&self, e: &Node, input: &Val, env: &Rc<Env>) -> R {
        match self.eval(e, input, env)? {
            Val::Undef => Ok(Val::Undef),
            Val::Num(n) => Ok(Val::Num(-n)),
            other => Err(JError::new(
                "D1002",
                format!(
                    "Cannot negate a non-numeric value: {}",
                    functions::describe(&other)
                ),
                0,
            )),
        }
    }

    fn block(&self, items: &[Node], input: &Val, env: &Rc<Env>) -> R {
        let scope = Env::child(env);
        let mut last = Val::Undef;
        for it in items {
            last = self.eval(it, input, &scope)?;
        }
        Ok(last)
    }

    fn array(&self, items: &[Node], input: &Val, env: &Rc<Env>) -> R {
        let mut out = Vec::new();
        for it in items {
            if let Node::Bin(BinOp::Range, lo, hi) = it {
                out.extend(self.range(lo, hi, input, env)?);
                continue;
            }
            match self.eval(it, input, env)? {
                Val::Undef => {}
                Val::Arr(a, _) if !matches!(it, Node::Array(_)) => out.extend(a.iter().cloned()),
                v => out.push(v),
            }
        }
        Ok(Val::Arr(
            Rc::new(out),
            Flags {
                cons: true,
                ..Flags::default()
            },
        ))
    }

    fn range(&self, lo: &Node, hi: &Node, input: &Val, env: &Rc<Env>) -> Result<Vec<Val>, JError> {
        let (l, h) = (self.eval(lo, input, env)?, self.eval(hi, input, env)?);
        let int = |v: &Val, code: &'static str, side: &str| match v {
            Val::Undef => Ok(None),
            Val::Num(n) if n.fract() == 0.0 => Ok(Some(*n as i64)),
            _ => Err(JError::new(
                code,
                format!("The {side} side of the range operator (..) must evaluate to an integer"),
                0,
            )),
        };
        let (Some(l), Some(h)) = (int(&l, "T2003", "left")?, int(&h, "T2004", "right")?) else {
            return Ok(Vec::new());
        };
        if h.saturating_sub(l) > 10_000_000 {
            return Err(JError::new("D2014", format!("The size of the sequence allocated by the range operator (..) must not exceed 1e7.  Attempted to allocate {}.", h.saturating_sub(l).saturating_add(1)), 0));
        }
        Ok((l..=h).map(|i| Val::Num(i as f64)).collect())
    }

    /// Object constructor over `items` (each item's keys and values; values of items that
    /// share a key are evaluated over all of them together).
    fn group(&self, items: &[Val], pairs: &[(Node, Node)], env: &Rc<Env>) -> R {
        let mut groups: IndexMap<String, (Vec<Val>, usize)> = IndexMap::new();
        let items: Vec<Val> = if items.is_empty() {
            vec![Val::Undef]
        } else {
            items.to_vec()
        };
        for item in &items {
            for (idx, (k, _)) in pairs.iter().enumerate() {
                let key = match self.eval(k, item, env)? {
                    Val::Str(s) => s.to_string(),
                    Val::Undef => continue,
                    other => {
                        return Err(JError::new(
                            "T1003",
                            format!(
                                "Key in object structure must evaluate to a string; got: {}",
                                functions::describe(&other)
                            ),
                            0,
                        ))
                    }
                };
                let entry = groups.entry(key.clone()).or_insert((Vec::new(), idx));
                if entry.1 != idx {
                    return Err(JError::new(
                        "D1009",
                        format!("Multiple key definitions evaluate to same key: \"{key}\""),
                        0,
                    ));
                }
                if !item.is_undef() {
                    entry.0.push(item.clone());
                }
            }
        }
        let mut out = IndexMap::new();
        for (key, (members, idx)) in groups {
            let ctx = if members.len() == 1 {
                members[0].clone()
            } else {
                Val::seq(members)
            };
            let v = self.eval(&pairs[idx].1, &ctx, env)?;
            if !v.is_undef() {
                out.insert(key, v);
            }
        }
        Ok(Val::Obj(Rc::new(out)))
    }

    fn chain(&self, l: &Node, r: &Node, input: &Val, env: &Rc<Env>) -> R {
        let arg = self.eval(l, input, env)?;
        match r {
            Node::Call(f, args) => {
                let fv = self.eval(f, input, env)?;
                let mut vals = vec![arg];
                for a in args {
                    vals.push(self.eval(a, input, env)?);
                }
                self.apply(&fv, vals, input)
            }
            _ => {
                let fv = self.eval(r, input, env)?;
                self.apply(&fv, vec![arg], input)
            }
        }
    }

    fn call_node(&self, f: &Node, args: &[Node], input: &Val, env: &Rc<Env>) -> R {
        let fv = self.eval(f, input, env)?;
        if args.iter().any(|a| matches!(a, Node::Placeholder)) {
            let mut bound = Vec::new();
            for a in args {
                bound.push(match a {
                    Node::Placeholder => None,
                    a => Some(self.eval(a, input, env)?),
                });
            }
            if !matches!(fv, Val::Func(_)) {
                return Err(JError::new(
                    "T1008",
                    "Attempted to partially apply a non-function",
                    0,
                ));
            }
            return Ok(Val::Func(Rc::new(Func::Partial(fv, bound))));
        }
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a, input, env)?);
        }
        self.apply(&fv, vals, input)
    }

    /// Calls a function value with evaluated arguments; `input` is the context for built-ins
    /// that default to it.
    pub fn apply(&self, f: &Val, args: Vec<Val>, input: &Val) -> R {
        let Val::Func(func) = f else {
            return Err(JError::new(
                "T1006",
                "Attempted to invoke a non-function",
                0,
            ));
        };
        match func.as_ref() {
            Func::Native(name) => functions::call(self, name, args, input),
            Func::Lambda(l, closure) => {
                let scope = Env::child(closure);
                for (i, p) in l.params.iter().enumerate() {
                    scope.bind(p, args.get(i).cloned().unwrap_or(Val::Undef));
                }
                self.eval(&l.body, input, &scope)
            }
            Func::Partial(inner, bound) => {
                let mut rest = args.into_iter();
                let full = bound
                    .iter()
                    .map(|b| {
                        b.clone()
                            .unwrap_or_else(|| rest.next().unwrap_or(Val::Undef))
                    })
                    .collect();
                self.apply(inner, full, input)
            }
        }
    }

    /// Number of parameters a function value declares (for `$map` and friends, which pass
    /// index and array only when asked).
    pub fn arity(&self, f: &Val) -> usize {
        match f {
            Val::Func(func) => match func.as_ref() {
                Func::Lambda(l, _) => l.params.len(),
                Func::Native(_) => 1,
                Func::Partial(_, bound) => bound.iter().filter(|b| b.is_none()).count(),
            },
            _ => 0,
        }
    }

    fn path(&self, steps: &[Step], keep: bool, input: &Val, env: &Rc<Env>) -> R {
        let first_is_var = matches!(steps.first().map(|s| &s.node), Some(Node::Var(_)));
        let mut seq: Vec<Val> = match input {
            Val::Arr(items, _) if !first_is_var => items.as_ref().clone(),
            other => vec![other.clone()],
        };
        let mut is_seq = true;
        for (i, step) in steps.iter().enumerate() {
            (seq, is_seq) = self.step(step, &seq, env, i + 1 == steps.len())?;
            if seq.is_empty() {
                break;
            }
        }
        Ok(Val::Arr(
            Rc::new(seq),
            Flags {
                seq: is_seq,
                keep,
                cons: false,
            },
        ))
    }

    /// One path step: evaluates the step over each item, applies its predicates, flattens.
    /// The flag is false when the result is a single JSON array from the last step, which
    /// JSONata returns as it is (not as a sequence that would collapse).
    fn step(
        &self,
        step: &Step,
        input: &[Val],
        env: &Rc<Env>,
        last: bool,
    ) -> Result<(Vec<Val>, bool), JError> {
        let mut results = Vec::new();
        for item in input {
            let mut v = self.eval(&step.node, item, env)?;
            for stage in &step.stages {
                v = collapse(self.filter(stage, &v, env)?);
            }
            if !v.is_undef() {
                results.push(v);
            }
        }
        if last && results.len() == 1 {
            if let Val::Arr(items, f) = &results[0] {
                if !f.seq {
                    return Ok((items.as_ref().clone(), false));
                }
            }
        }
        let mut flat = Vec::new();
        for r in results {
            match r {
                Val::Arr(items, f) if !f.cons => flat.extend(items.iter().cloned()),
                other => flat.push(other),
            }
        }
        Ok((flat, true))
    }

    /// `value[pred]`: an index (negative counts from the end) or a filter per item.
    fn filter(&self, pred: &Node, value: &Val, env: &Rc<Env>) -> R {
        let items = value.items();
        if let Node::Num(n) = pred {
            return Ok(index(&items, *n).map_or(Val::seq(Vec::new()), |v| Val::seq(vec![v])));
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let r = self.eval(pred, item, env)?;
            let keep = match &r {
                Val::Num(n) => index_matches(*n, i, items.len()),
                Val::Arr(a, _) if !a.is_empty() && a.iter().all(|x| matches!(x, Val::Num(_))) => a
                    .iter()
                    .any(|x| matches!(x, Val::Num(n) if index_matches(*n, i, items.len()))),
                other => functions::boolean(other),
            };
            if keep {
                out.push(item.clone());
            }
        }
        Ok(Val::seq(out))
    }

    fn sort(&self, v: Val, terms: &[(Node, bool)], env: &Rc<Env>) -> R {
        let items = v.items();
        let mut keyed = Vec::with_capacity(items.len());
        for it in items {
            let mut keys = Vec::with_capacity(terms.len());
            for (t, _) in terms {
                keys.push(self.eval(t, &it, env)?);
            }
            keyed.push((keys, it));
        }
        let mut after = |(a, _): &(Vec<Val>, Val), (b, _): &(Vec<Val>, Val)| {
            for (i, (_, desc)) in terms.iter().enumerate() {
                match functions::compare_values(&a[i], &b[i])? {
                    std::cmp::Ordering::Equal => continue,
                    o => return Ok((o == std::cmp::Ordering::Greater) != *desc),
                }
            }
            Ok(false)
        };
        let sorted = functions::merge_sort(keyed, &mut after)?;
        Ok(Val::seq(sorted.into_iter().map(|(_, v)| v).collect()))
    }

    fn binary(&self, op: BinOp, l: &Node, r: &Node, input: &Val, env: &Rc<Env>) -> R {
        let lv = self.eval(l, input, env)?;
        let rv = self.eval(r, input, env)?;
        functions::binary(op, &lv, &rv)
    }
}

impl Val {
    /// The object constructor's context: the items of a sequence, else the value itself.
    fn items_or_self(&self) -> Vec<Val> {
        match self {
            Val::Arr(items, _) => items.as_ref().clone(),
            Val::Undef => Vec::new(),
            other => vec![other.clone()],
        }
    }
}

/// Collapses a result sequence: empty → undefined, one item → the item (unless kept).
pub(crate) fn collapse(v: Val) -> Val {
    match v {
        Val::Arr(items, f) if f.seq => match items.len() {
            0 => Val::Undef,
            1 if !f.keep => items[0].clone(),
            _ => Val::Arr(items, f),
        },
        other => other,
    }
}

fn index(items: &[Val], n: f64) -> Option<Val> {
    let i = n.floor() as i64;
    let i = if i < 0 {
        (items.len() as i64).saturating_add(i)
    } else {
        i
    };
    usize::try_from(i).ok().and_then(|i| items.get(i).cloned())
}

fn index_matches(n: f64, i: usize, len: usize) -> bool {
    let k = n.floor() as i64;
    let k = if k < 0 {
        (len as i64).saturating_add(k)
    } else {
        k
    };
    k == i as i64
}

/// Field lookup: on an object its field; on an array, the field of each item, flattened.
fn lookup(input: &Val, key: &str) -> Val {
    match input {
        Val::Obj(m) => m.get(key).cloned().unwrap_or(Val::Undef),
        Val::Arr(items, _) => {
            let mut out = Vec::new();
            for it in items.iter() {
                match lookup(it, key) {
                    Val::Undef => {}
                    Val::Arr(a, _) => out.extend(a.iter().cloned()),
                    v => out.push(v),
                }
            }
            Val::seq(out)
        }
        _ => Val::Undef,
    }
}

fn wildcard(input: &Val) -> Val {
    let mut out = Vec::new();
    if let Val::Obj(m) = input {
        for v in m.values() {
            match v {
                Val::Arr(a, _) => out.extend(a.iter().cloned()),
                v => out.push(v.clone()),
            }
        }
    }
    Val::seq(out)
}

fn descendants(input: &Val) -> Val {
    fn walk(v: &Val, out: &mut Vec<Val>) {
        if !matches!(v, Val::Arr(..)) {
            out.push(v.clone());
        }
        match v {
            Val::Arr(a, _) => a.iter().for_each(|x| walk(x, out)),
            Val::Obj(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(input, &mut out);
    Val::seq(out)
}
