//! Decorator checking for resolve: the table of known decorators and their arguments (the
//! spec's "Decorators" section), argument checks (unknown, repeated, wrong type) and the
//! conversion of checked arguments into the typed IR values with explicit units.

use super::Resolver;
use crate::diagnostics::{suggest, Diagnostic};
use crate::ir::{self, MiB, Seconds};
use crate::span::{Origin, Span, Spanned};
use crate::syntax::ast::{self, LiteralKind};
use std::collections::{BTreeMap, HashMap};

/// Where a decorator may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// On a step, in `with`, or in `--with`.
    Step,
    /// Before `flow` only.
    Flow,
}

/// The type an argument value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    /// `true` / `false`.
    Bool,
    /// A string.
    Str,
    /// A string with a non-blank character (names AWS rejects when empty: image, queue,
    /// role, artifact).
    Name,
    /// An integer ≥ 0.
    Count,
    /// An integer from 0 to `u32::MAX` (retry counts, GPUs, concurrency: stored as `u32`,
    /// so a larger value would otherwise be clamped without a word).
    Count32,
    /// Any number (integer or not); ranges are checked by validate.
    Number,
    /// A number ≥ 0 (integer or not).
    Duration,
    /// A JSON object.
    Object,
    /// A JSON object whose values are strings.
    StrMap,
}

impl Ty {
    /// How the expected type is named in messages.
    fn describe(self) -> &'static str {
        match self {
            Ty::Bool => "a boolean",
            Ty::Str => "a string",
            Ty::Name => "a non-empty string",
            Ty::Count | Ty::Count32 => "a non-negative integer",
            Ty::Number => "a number",
            Ty::Duration => "a non-negative number",
            Ty::Object => "an object",
            Ty::StrMap => "an object of strings",
        }
    }

    /// True when `lit` has this type (for `StrMap`, only the outer object is checked here).
    fn accepts(self, lit: &ast::Literal) -> bool {
        match (self, &lit.kind) {
            (Ty::Bool, LiteralKind::Bool(_)) | (Ty::Str, LiteralKind::String(_)) => true,
            (Ty::Name, LiteralKind::String(s)) => !s.trim().is_empty(),
            (Ty::Count, LiteralKind::Int(i)) => *i >= 0,
            (Ty::Count32, LiteralKind::Int(i)) => u32::try_from(*i).is_ok(),
            (Ty::Number, LiteralKind::Int(_) | LiteralKind::Float(_)) => true,
            (Ty::Duration, LiteralKind::Int(i)) => *i >= 0,
            (Ty::Duration, LiteralKind::Float(f)) => *f >= 0.0,
            (Ty::Object | Ty::StrMap, LiteralKind::Object(_)) => true,
            _ => false,
        }
    }
}

/// One known decorator: name, place and arguments with their types.
pub(super) struct Spec {
    /// Name without `@`.
    pub name: &'static str,
    /// Where it may be written.
    pub place: Place,
    /// Arguments and their types.
    args: &'static [(&'static str, Ty)],
    /// Arguments that must be given.
    required: &'static [&'static str],
}

/// The decorator table of the spec (section "Decorators"), with the argument names of
/// Metaflow where Metaflow has the decorator.
pub(super) const SPECS: &[Spec] = &[
    Spec {
        name: "retry",
        place: Place::Step,
        args: &[
            ("times", Ty::Count32),
            ("minutes_between_retries", Ty::Duration),
            ("backoff", Ty::Number),
            ("max_delay_seconds", Ty::Count),
            ("jitter", Ty::Bool),
        ],
        required: &[],
    },
    Spec {
        name: "catch",
        place: Place::Step,
        args: &[("var", Ty::Name)],
        required: &[],
    },
    Spec {
        name: "timeout",
        place: Place::Step,
        args: &[
            ("seconds", Ty::Count),
            ("minutes", Ty::Count),
            ("hours", Ty::Count),
        ],
        required: &[],
    },
    Spec {
        name: "resources",
        place: Place::Step,
        args: &[
            ("cpu", Ty::Number),
            ("memory", Ty::Count),
            ("gpu", Ty::Count32),
            ("shared_memory", Ty::Count),
        ],
        required: &[],
    },
    Spec {
        name: "batch",
        place: Place::Step,
        args: &[
            ("image", Ty::Name),
            ("queue", Ty::Name),
            ("iam_role", Ty::Name),
            ("cpu", Ty::Number),
            ("memory", Ty::Count),
            ("gpu", Ty::Count32),
        ],
        required: &[],
    },
    Spec {
        name: "environment",
        place: Place::Step,
        args: &[("vars", Ty::StrMap)],
        required: &["vars"],
    },
    Spec {
        name: "foreach",
        place: Place::Step,
        args: &[
            ("max_concurrency", Ty::Count32),
            ("max_items", Ty::Count),
            ("mode", Ty::Str),
        ],
        required: &[],
    },
    Spec {
        name: "schedule",
        place: Place::Flow,
        args: &[
            ("cron", Ty::Str),
            ("rate", Ty::Str),
            ("hourly", Ty::Bool),
            ("daily", Ty::Bool),
            ("weekly", Ty::Bool),
            ("timezone", Ty::Str),
        ],
        required: &[],
    },
    Spec {
        name: "trigger",
        place: Place::Flow,
        args: &[("event", Ty::Object)],
        required: &["event"],
    },
    Spec {
        name: "project",
        place: Place::Flow,
        args: &[("name", Ty::Str)],
        required: &["name"],
    },
];

/// The spec of decorator `name`, if it is known.
pub(super) fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// Where a decorator being checked was written; decides how diagnostics are located.
#[derive(Debug, Clone, Copy)]
pub(super) struct Site {
    /// Own (on the step or flow), `with`, or `--with`.
    pub origin: Origin,
    /// The span recorded in the IR (the `with` member's span for `with`, 0..0 for `--with`).
    pub span: Span,
}

impl Site {
    /// True for a `--with` decorator, which has no source span.
    fn is_cli(self) -> bool {
        self.origin == Origin::CommandLine
    }

    /// Adds the primary label, or for `--with` marks the message instead.
    pub(super) fn primary(self, d: Diagnostic, span: Span, label: impl Into<String>) -> Diagnostic {
        if self.is_cli() {
            let message = format!("{} (in a `--with` option)", d.message);
            Diagnostic { message, ..d }
        } else {
            d.with_primary(span, label)
        }
    }

    /// Adds a secondary label unless the decorator came from `--with`.
    pub(super) fn secondary(
        self,
        d: Diagnostic,
        span: Span,
        label: impl Into<String>,
    ) -> Diagnostic {
        if self.is_cli() {
            d
        } else {
            d.with_secondary(span, label)
        }
    }

    /// Wraps `value` with this site's span and origin, and the spans of `dec`'s arguments.
    fn spanned<T>(self, value: T, dec: &ast::Decorator) -> Spanned<T> {
        let args = match self.origin {
            Origin::Own => dec
                .args
                .iter()
                .map(|a| (a.name.name.clone(), a.value.span))
                .collect(),
            Origin::With | Origin::CommandLine => vec![],
        };
        Spanned {
            value,
            span: self.span,
            origin: self.origin,
            args,
        }
    }
}

/// A decorator's arguments after the checks: only well-typed arguments are kept.
struct Args<'a> {
    by_name: HashMap<&'a str, &'a ast::Literal>,
}

impl<'a> Args<'a> {
    fn get(&self, name: &str) -> Option<&'a ast::Literal> {
        self.by_name.get(name).copied()
    }

    fn count(&self, name: &str) -> Option<u64> {
        match self.get(name)?.kind {
            LiteralKind::Int(i) => u64::try_from(i).ok(),
            _ => None,
        }
    }

    /// A `Ty::Count32` argument (checked to fit, so never clamped).
    fn count32(&self, name: &str) -> Option<u32> {
        self.count(name).and_then(|c| u32::try_from(c).ok())
    }

    fn number(&self, name: &str) -> Option<f64> {
        match self.get(name)?.kind {
            LiteralKind::Int(i) => Some(i as f64),
            LiteralKind::Float(f) => Some(f),
            _ => None,
        }
    }

    fn boolean(&self, name: &str) -> Option<bool> {
        match self.get(name)?.kind {
            LiteralKind::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn string(&self, name: &str) -> Option<String> {
        match &self.get(name)?.kind {
            LiteralKind::String(s) => Some(s.clone()),
            _ => None,
        }
    }

    fn spanned_string(&self, name: &str) -> Option<Spanned<String>> {
        let lit = self.get(name)?;
        self.string(name).map(|s| Spanned::own(s, lit.span))
    }
}

/// A typed step decorator.
pub(super) enum StepDeco {
    Retry(ir::Retry),
    Catch(ir::Catch),
    Timeout(ir::Timeout),
    Resources(ir::Resources),
    Batch(ir::Batch),
    Environment(ir::Environment),
    Foreach(ir::Foreach),
}

/// A typed flow decorator.
pub(super) enum FlowDeco {
    Schedule(ir::Schedule),
    Trigger(ir::Trigger),
    Project(ir::Project),
}

/// Stores `deco` into `set` (the slot of its kind), returning false when the slot was
/// already taken.
pub(super) fn store_step(
    set: &mut ir::StepDecorators,
    deco: StepDeco,
    site: Site,
    dec: &ast::Decorator,
) -> bool {
    match deco {
        StepDeco::Retry(v) => put_in(&mut set.retry, site.spanned(v, dec)),
        StepDeco::Catch(v) => put_in(&mut set.catch, site.spanned(v, dec)),
        StepDeco::Timeout(v) => put_in(&mut set.timeout, site.spanned(v, dec)),
        StepDeco::Resources(v) => put_in(&mut set.resources, site.spanned(v, dec)),
        StepDeco::Batch(v) => put_in(&mut set.batch, site.spanned(v, dec)),
        StepDeco::Environment(v) => put_in(&mut set.environment, site.spanned(v, dec)),
        StepDeco::Foreach(v) => put_in(&mut set.foreach, site.spanned(v, dec)),
    }
}

/// Stores `value` into an empty `slot`; false when the slot was already taken.
fn put_in<T>(slot: &mut Option<Spanned<T>>, value: Spanned<T>) -> bool {
    let free = slot.is_none();
    if free {
        *slot = Some(value);
    }
    free
}

/// Stores `deco` into the flow decorators.
pub(super) fn store_flow(
    set: &mut ir::FlowDecorators,
    deco: FlowDeco,
    site: Site,
    dec: &ast::Decorator,
) {
    match deco {
        FlowDeco::Schedule(v) => set.schedule = Some(site.spanned(v, dec)),
        FlowDeco::Trigger(v) => set.trigger = Some(site.spanned(v, dec)),
        FlowDeco::Project(v) => set.project = Some(site.spanned(v, dec)),
    }
}

/// Fills every decorator `to` lacks from `from` (a step's own decorator wins).
pub(super) fn inherit(to: &mut ir::StepDecorators, from: &ir::StepDecorators) {
    fn pick<T: Clone>(a: &mut Option<T>, b: &Option<T>) {
        if a.is_none() {
            a.clone_from(b);
        }
    }
    pick(&mut to.retry, &from.retry);
    pick(&mut to.catch, &from.catch);
    pick(&mut to.timeout, &from.timeout);
    pick(&mut to.resources, &from.resources);
    pick(&mut to.batch, &from.batch);
    pick(&mut to.environment, &from.environment);
    pick(&mut to.foreach, &from.foreach);
}

impl Resolver<'_> {
    /// Checks the arguments of `dec` against `spec`: unknown (E0213), repeated (E0216), wrong
    /// type (E0214), duplicate object keys (E0220), missing required (E0222).
    fn check_args<'a>(&mut self, dec: &'a ast::Decorator, spec: &Spec, site: Site) -> Args<'a> {
        let mut by_name: HashMap<&'a str, &'a ast::Literal> = HashMap::new();
        let mut first: HashMap<&str, Span> = HashMap::new();
        for arg in &dec.args {
            let name = arg.name.name.as_str();
            let Some(&(_, ty)) = spec.args.iter().find(|(n, _)| *n == name) else {
                self.unknown_arg(dec, spec, arg, site);
                continue;
            };
            if let Some(&prev) = first.get(name) {
                let d = Diagnostic::error(
                    "E0216",
                    format!("argument `{name}` of `@{}` is given twice", spec.name),
                );
                let d = site.primary(d, arg.name.span, "given again here");
                self.push(
                    site.secondary(d, prev, "first given here")
                        .with_help("remove one of them"),
                );
                continue;
            }
            first.insert(name, arg.name.span);
            if self.check_type(spec, arg, ty, site) {
                by_name.insert(name, &arg.value);
            }
        }
        self.check_required(dec, spec, &first, site);
        Args { by_name }
    }

    fn unknown_arg(&mut self, dec: &ast::Decorator, spec: &Spec, arg: &ast::Arg, site: Site) {
        let name = &arg.name.name;
        let known: Vec<&str> = spec.args.iter().map(|(n, _)| *n).collect();
        let d = Diagnostic::error(
            "E0213",
            format!("`@{}` has no argument `{name}`", dec.name.name),
        );
        let d = site.primary(d, arg.name.span, "unknown argument");
        let help = match suggest(name, known.iter().copied()) {
            Some(s) => format!("an argument with a similar name exists: `{s}`"),
            None => format!(
                "the arguments of `@{}` are {}",
                spec.name,
                quote_list(&known)
            ),
        };
        self.push(d.with_help(help));
    }

    /// Checks one argument's type; false when it is wrong (and reported).
    fn check_type(&mut self, spec: &Spec, arg: &ast::Arg, ty: Ty, site: Site) -> bool {
        let name = &arg.name.name;
        if !ty.accepts(&arg.value) {
            let got = match arg.value.kind {
                LiteralKind::Int(i) if i < 0 => "a negative integer".to_string(),
                LiteralKind::Int(i) if ty == Ty::Count32 => {
                    format!("{i} (the largest is 4,294,967,295)")
                }
                LiteralKind::Float(f) if f < 0.0 => "a negative number".to_string(),
                LiteralKind::String(ref t) if t.trim().is_empty() => "a blank string".to_string(),
                _ => arg.value.kind_name().to_string(),
            };
            let msg = format!(
                "argument `{name}` of `@{}` must be {}, not {got}",
                spec.name,
                ty.describe()
            );
            let d = site.primary(
                Diagnostic::error("E0214", msg),
                arg.value.span,
                format!("expected {}", ty.describe()),
            );
            let help = match unquoted(&arg.value, ty) {
                Some(text) => format!("write the value without quotes: `{name}={text}`"),
                None => {
                    let (meaning, example) = argument_help(spec.name, name);
                    format!("`{name}` is {meaning}: `@{}({name}={example})`", spec.name)
                }
            };
            self.push(d.with_help(help));
            return false;
        }
        self.check_keys(&arg.value, site);
        if ty == Ty::StrMap {
            return self.check_str_values(spec, arg, site);
        }
        true
    }

    /// For `Ty::StrMap`: every value must be a string.
    fn check_str_values(&mut self, spec: &Spec, arg: &ast::Arg, site: Site) -> bool {
        let LiteralKind::Object(entries) = &arg.value.kind else {
            return false;
        };
        let mut ok = true;
        for (key, value) in entries {
            if !matches!(value.kind, LiteralKind::String(_)) {
                let msg = format!(
                    "value of `{}` in `{}` of `@{}` must be a string, not {}",
                    key.value,
                    arg.name.name,
                    spec.name,
                    value.kind_name()
                );
                let d = site.primary(
                    Diagnostic::error("E0214", msg),
                    value.span,
                    "expected a string",
                );
                self.push(d.with_help("environment variables are strings: quote the value"));
                ok = false;
            }
            ok &= self.check_env_name(key, site);
        }
        ok
    }

    /// An environment variable name is `[A-Za-z_][A-Za-z0-9_]*` (POSIX shells accept no
    /// other) and does not start with `FLOW_` (the runtime contract's variables) or
    /// `AWS_BATCH` (reserved by AWS Batch); E0225 otherwise.
    fn check_env_name(&mut self, key: &ast::StringLit, site: Site) -> bool {
        let name = key.value.as_str();
        let mut chars = name.chars();
        let ident = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        let reserved = ["FLOW_", "AWS_BATCH"]
            .into_iter()
            .find(|p| name.starts_with(p));
        let (label, help) = match (ident, reserved) {
            (false, _) => (
                "not a variable name",
                "a variable name has letters, digits and `_`, and does not start with a digit"
                    .to_string(),
            ),
            (true, Some(prefix)) => (
                "reserved name",
                format!(
                    "names starting with `{prefix}` are reserved {}; choose another name",
                    if prefix == "FLOW_" {
                        "for the flow runtime (FLOW_INPUT, FLOW_STEP, …)"
                    } else {
                        "by AWS Batch"
                    }
                ),
            ),
            (true, None) => return true,
        };
        let d = Diagnostic::error(
            "E0225",
            format!("\"{name}\" cannot be an environment variable"),
        );
        self.push(site.primary(d, key.span, label).with_help(help));
        false
    }

    fn check_required(
        &mut self,
        dec: &ast::Decorator,
        spec: &Spec,
        given: &HashMap<&str, Span>,
        site: Site,
    ) {
        for req in spec.required {
            if !given.contains_key(req) {
                let d = Diagnostic::error(
                    "E0222",
                    format!("`@{}` needs the argument `{req}`", spec.name),
                );
                let d = site.primary(d, dec.span, format!("`{req}` is missing"));
                self.push(d.with_help(format!("write it as `@{}({req}=…)`", spec.name)));
            }
        }
    }

    /// Reports repeated keys in every object inside `lit` (E0220).
    pub(super) fn check_keys(&mut self, lit: &ast::Literal, site: Site) {
        match &lit.kind {
            LiteralKind::List(items) => items.iter().for_each(|i| self.check_keys(i, site)),
            LiteralKind::Object(entries) => {
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for (key, value) in entries {
                    if let Some(&prev) = seen.get(key.value.as_str()) {
                        let d = Diagnostic::error(
                            "E0220",
                            format!("key \"{}\" appears twice in this object", key.value),
                        );
                        let d = site.primary(d, key.span, "repeated key");
                        let d = site.secondary(d, prev, "first here");
                        self.push(d.with_help("remove one of them; keys of an object are unique"));
                    } else {
                        seen.insert(&key.value, key.span);
                    }
                    self.check_keys(value, site);
                }
            }
            _ => {}
        }
    }

    /// Checks and converts a step decorator (known, with `place == Step`).
    pub(super) fn step_deco(
        &mut self,
        dec: &ast::Decorator,
        spec: &Spec,
        site: Site,
    ) -> Option<StepDeco> {
        let a = self.check_args(dec, spec, site);
        Some(match spec.name {
            "retry" => StepDeco::Retry(retry(&a)),
            "catch" => StepDeco::Catch(ir::Catch {
                var: a.string("var"),
            }),
            "timeout" => StepDeco::Timeout(timeout(&a)),
            "resources" => StepDeco::Resources(resources(&a)),
            "batch" => StepDeco::Batch(batch(&a)),
            "environment" => StepDeco::Environment(environment(&a)),
            "foreach" => StepDeco::Foreach(self.foreach(&a, site)),
            _ => return None,
        })
    }

    /// Checks and converts a flow decorator (known, with `place == Flow`).
    pub(super) fn flow_deco(
        &mut self,
        dec: &ast::Decorator,
        spec: &Spec,
        site: Site,
    ) -> Option<FlowDeco> {
        let a = self.check_args(dec, spec, site);
        match spec.name {
            "schedule" => self.schedule(dec, &a).map(FlowDeco::Schedule),
            "trigger" => {
                let event = a.get("event")?;
                self.event_pattern(event)?;
                Some(FlowDeco::Trigger(ir::Trigger {
                    event: event.to_json(),
                }))
            }
            "project" => self.project(&a).map(FlowDeco::Project),
            _ => None,
        }
    }

    fn foreach(&mut self, a: &Args, site: Site) -> ir::Foreach {
        let mode = match a.string("mode").as_deref() {
            None | Some("auto") => ir::MapMode::Auto,
            Some("inline") => ir::MapMode::Inline,
            Some("distributed") => ir::MapMode::Distributed,
            Some(other) => {
                let modes = ["auto", "inline", "distributed"];
                let d = Diagnostic::error(
                    "E0221",
                    format!("`mode` of `@foreach` cannot be \"{other}\""),
                );
                let span = a.get("mode").map(|l| l.span).unwrap_or_default();
                let d = site.primary(d, span, "unknown mode");
                let help = match suggest(other, modes) {
                    Some(s) => format!("a mode with a similar name exists: \"{s}\""),
                    None => "the modes are \"auto\", \"inline\" and \"distributed\"".to_string(),
                };
                self.push(d.with_help(help));
                ir::MapMode::Auto
            }
        };
        ir::Foreach {
            max_concurrency: a.count32("max_concurrency"),
            max_items: a.count("max_items"),
            mode,
        }
    }

    fn schedule(&mut self, dec: &ast::Decorator, a: &Args) -> Option<ir::Schedule> {
        const KINDS: [&str; 5] = ["cron", "rate", "hourly", "daily", "weekly"];
        let chosen: Vec<&ast::Arg> = dec
            .args
            .iter()
            .filter(|arg| {
                KINDS.contains(&arg.name.name.as_str()) && a.get(&arg.name.name).is_some()
            })
            .filter(|arg| arg.value.kind != LiteralKind::Bool(false))
            .collect();
        let [one] = chosen.as_slice() else {
            self.schedule_count(dec, &chosen);
            return None;
        };
        let name = one.name.name.as_str();
        let cron = |text: &str| ir::ScheduleKind::Cron(Spanned::own(text.to_string(), dec.span));
        let kind = match name {
            "hourly" => cron("0 * * * ? *"),
            "daily" => cron("0 0 * * ? *"),
            "weekly" => cron("0 0 ? * SUN *"),
            "rate" => ir::ScheduleKind::Rate(a.spanned_string("rate")?),
            _ => ir::ScheduleKind::Cron(a.spanned_string("cron")?),
        };
        Some(ir::Schedule {
            kind,
            timezone: a.spanned_string("timezone"),
        })
    }

    fn schedule_count(&mut self, dec: &ast::Decorator, chosen: &[&ast::Arg]) {
        let help = "write exactly one of `cron=\"…\"`, `rate=\"…\"`, `hourly=true`, `daily=true`, `weekly=true`";
        let d = match chosen {
            [] => Diagnostic::error("E0217", "`@schedule` does not say when to run")
                .with_primary(dec.span, "no schedule given"),
            [first, rest @ ..] => {
                let mut d = Diagnostic::error(
                    "E0217",
                    format!(
                        "`@schedule` gives more than one schedule: `{}` and `{}`",
                        first.name.name, rest[0].name.name
                    ),
                )
                .with_secondary(first.name.span, "first schedule");
                for r in rest {
                    d = d.with_primary(r.name.span, "another schedule");
                }
                d
            }
        };
        self.push(d.with_help(help));
    }

    /// Checks an EventBridge event pattern (E0226): a non-empty object whose fields hold a
    /// non-empty object or a non-empty array. `None` when it was reported.
    fn event_pattern(&mut self, pattern: &ast::Literal) -> Option<()> {
        let Some((span, message, label)) = pattern_problem(pattern, "") else {
            return Some(());
        };
        let d = Diagnostic::error("E0226", message)
            .with_primary(span, label)
            .with_help("an event pattern is an object whose fields hold an array of the values to match or a nested object, e.g. `event={\"source\": [\"aws.s3\"]}`");
        self.push(d);
        None
    }

    fn project(&mut self, a: &Args) -> Option<ir::Project> {
        let name = a.string("name")?;
        let valid = !name.is_empty()
            && name.len() <= 40
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            let span = a.get("name").map(|l| l.span).unwrap_or_default();
            let d = Diagnostic::error("E0218", format!("\"{name}\" is not a valid project name"))
                .with_primary(span, "invalid project name")
                .with_help(
                    "a project name has 1 to 40 characters among letters, digits, `_` and `-`; it prefixes \
                     every deployed resource name",
                );
            self.push(d);
            return None;
        }
        Some(ir::Project { name })
    }
}

/// The first problem in event pattern object `lit` (`path` names it in messages, empty for
/// the whole pattern): its span, message and label; `None` when it is a valid pattern.
fn pattern_problem(lit: &ast::Literal, path: &str) -> Option<(Span, String, &'static str)> {
    let whole = path.is_empty();
    match &lit.kind {
        LiteralKind::Object(fields) if fields.is_empty() => {
let message = if whole {
                "the event pattern of `@trigger` is empty".to_string()
            } else {
                format!("{path} of the `@trigger` event pattern is empty")
            };
            Some((lit.span, message, "an empty pattern matches nothing"))
        }
        LiteralKind::Object(fields) => fields.iter().find_map(|(key, value)| {
            let field = if whole { format!("field \"{}\"", key.value) } else { format!("{path}.\"{}\"", key.value) };
            match &value.kind {
                LiteralKind::Object(_) => pattern_problem(value, &field),
                LiteralKind::List(items) if items.is_empty() => Some((
                    value.span,
                    format!("{field} of the `@trigger` event pattern lists no value to match"),
                    "needs at least one value",
                )),
                LiteralKind::List(_) => None,
                _ => Some((
                    value.span,
                    format!("{field} of the `@trigger` event pattern must be an array of values or an object"),
                    "write the value in an array: `[…]`",
                )),
            }
        }),
        _ => Some((lit.span, "the event pattern of `@trigger` must be an object".into(), "expected an object")),
    }
}

fn retry(a: &Args) -> ir::Retry {
    let minutes = a.number("minutes_between_retries").unwrap_or(2.0);
    ir::Retry {
        times: a.count32("times").unwrap_or(3),
        interval: Seconds(minutes_to_seconds(minutes)),
        backoff: a.number("backoff").unwrap_or(1.0),
        max_delay: a.count("max_delay_seconds").map(Seconds),
        jitter: a.boolean("jitter").unwrap_or(false),
    }
}

/// Minutes (≥ 0, possibly fractional) to whole seconds, rounding up so that a wait is never
/// shorter than written (ASL `IntervalSeconds` is an integer).
fn minutes_to_seconds(minutes: f64) -> u64 {
    let s = (minutes * 60.0).ceil();
    if s.is_finite() && s >= 0.0 {
        // Saturating float-to-int conversion.
        s as u64
    } else {
        0
    }
}

fn timeout(a: &Args) -> ir::Timeout {
    let s = a.count("seconds").unwrap_or(0);
    let m = a.count("minutes").unwrap_or(0).saturating_mul(60);
    let h = a.count("hours").unwrap_or(0).saturating_mul(3600);
    ir::Timeout {
        total: Seconds(s.saturating_add(m).saturating_add(h)),
    }
}

fn resources(a: &Args) -> ir::Resources {
    ir::Resources {
        cpu: a.number("cpu").unwrap_or(1.0),
        memory: MiB(a.count("memory").unwrap_or(4096)),
        gpu: a.count32("gpu").unwrap_or(0),
        shared_memory: a.count("shared_memory").map(MiB),
    }
}

fn batch(a: &Args) -> ir::Batch {
    ir::Batch {
        image: a.string("image"),
        queue: a.string("queue"),
        iam_role: a.string("iam_role"),
        cpu: a.number("cpu"),
        memory: a.count("memory").map(MiB),
        gpu: a.count32("gpu"),
    }
}

fn environment(a: &Args) -> ir::Environment {
    let mut vars = BTreeMap::new();
    if let Some(LiteralKind::Object(entries)) = a.get("vars").map(|l| &l.kind) {
        for (k, v) in entries {
            if let LiteralKind::String(s) = &v.kind {
                vars.insert(k.value.clone(), s.clone());
            }
        }
    }
    ir::Environment { vars }
}

/// For a string literal whose text would have type `ty` unquoted (`"2"` for a count, `"true"`
/// for a boolean), that text.
fn unquoted(lit: &ast::Literal, ty: Ty) -> Option<String> {
    let LiteralKind::String(text) = &lit.kind else {
        return None;
    };
    let value: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
    let fits = crate::options::literal(&value);
    ty.accepts(&fits).then(|| text.trim().to_string())
}

/// What argument `arg` of decorator `decorator` means and a valid value of it (JSON text),
/// for the help of E0214; the spec's "Decorators" table. Falls back to a generic wording for
/// a pair not in [`SPECS`].
fn argument_help(decorator: &str, arg: &str) -> (&'static str, &'static str) {
    match (decorator, arg) {
        ("retry", "times") => ("how many more times a failed task runs, from 0 to 10", "3"),
        ("retry", "minutes_between_retries") => {
            ("the wait before the first retry, in minutes", "2")
        }
        ("retry", "backoff") => (
            "the factor the wait grows by after each retry, at least 1.0",
            "2.0",
        ),
        ("retry", "max_delay_seconds") => ("the longest wait between retries, in seconds", "600"),
        ("retry", "jitter") => ("whether the waits are randomised (full jitter)", "true"),
        ("catch", "var") => ("the artifact that stores the failure", "\"train_error\""),
        ("timeout", "seconds") => (
            "a whole number of seconds, added to `minutes` and `hours`",
            "30",
        ),
        ("timeout", "minutes") => (
            "a whole number of minutes, added to `seconds` and `hours`",
            "10",
        ),
        ("timeout", "hours") => (
            "a whole number of hours, added to `seconds` and `minutes`",
            "2",
        ),
        (_, "cpu") => ("the number of vCPUs the task needs", "2"),
        (_, "memory") => ("the memory the task needs, in MiB", "16384"),
        (_, "gpu") => ("the number of GPUs the task needs", "1"),
        ("resources", "shared_memory") => ("the size of `/dev/shm`, in MiB", "1024"),
        ("batch", "image") => ("the container image", "\"python:3.12\""),
        ("batch", "queue") => ("the AWS Batch job queue", "\"gpu-queue\""),
        ("batch", "iam_role") => (
            "the IAM role the job runs as",
            "\"arn:aws:iam::123456789012:role/task\"",
        ),
        ("environment", "vars") => (
            "an object of variable names to string values",
            "{\"LOG_LEVEL\": \"debug\"}",
        ),
        ("foreach", "max_concurrency") => ("the most body tasks running at once, at least 1", "10"),
        ("foreach", "max_items") => ("the declared upper bound of the number of items", "1000"),
        ("foreach", "mode") => (
            "the Map kind: \"auto\", \"inline\" or \"distributed\"",
            "\"distributed\"",
        ),
        ("schedule", "cron") => ("an AWS cron expression with 6 fields", "\"0 10 * * ? *\""),
        ("schedule", "rate") => ("an EventBridge rate", "\"1 hour\""),
        ("schedule", "hourly") => ("`true` to run at the start of every hour", "true"),
        ("schedule", "daily") => ("`true` to run every day at midnight", "true"),
        ("schedule", "weekly") => ("`true` to run every Sunday at midnight", "true"),
        ("schedule", "timezone") => ("an IANA time zone name", "\"Europe/Paris\""),
        ("trigger", "event") => (
            "an EventBridge event pattern, an object of the event fields to match",
            "{\"source\": [\"aws.s3\"], \"detail-type\": [\"Object Created\"]}",
        ),
        ("project", "name") => ("the prefix of every deployed resource name", "\"ranking\""),
        _ => ("an argument of this decorator", "…"),
    }
}

/// `a`, `b` and `c` with backquotes.
pub(super) fn quote_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_argument_has_help_with_a_valid_example() {
        for spec in SPECS {
            for &(arg, ty) in spec.args {
                let (meaning, example) = argument_help(spec.name, arg);
                let value: serde_json::Value = serde_json::from_str(example)
                    .unwrap_or_else(|e| panic!("@{}({arg}): {example}: {e}", spec.name));
                assert!(
                    ty.accepts(&crate::options::literal(&value)),
                    "@{}({arg}={example}) has the wrong type",
                    spec.name
                );
                assert_ne!(
                    meaning, "an argument of this decorator",
                    "@{}({arg})",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn minutes_round_up_to_whole_seconds() {
        assert_eq!(minutes_to_seconds(2.0), 120);
        assert_eq!(minutes_to_seconds(0.01), 1);
        assert_eq!(minutes_to_seconds(0.0), 0);
    }

    #[test]
    fn quote_list_joins_with_and() {
        assert_eq!(quote_list(&["a"]), "`a`");
        assert_eq!(quote_list(&["a", "b", "c"]), "`a`, `b` and `c`");
    }

    #[test]
    fn every_spec_name_is_unique() {
        for (i, s) in SPECS.iter().enumerate() {
            assert!(
                SPECS[i + 1..].iter().all(|t| t.name != s.name),
                "{}",
                s.name
            );
        }
    }
}
