//! resolve: AST → typed IR. Checks names, decorator names and arguments (types, unknown,
//! repeated), parameter defaults against their types; merges `with` decorators and `--with`
//! options (a step's own decorator wins). After it, every IR value has its declared type.
//!
//! Decorator placement that the IR cannot represent (a flow decorator on a step or in `with`,
//! a step decorator before `flow`) is checked here too (E0219); placement of `@foreach` on a
//! step without a foreach is checked by validate.

mod decorators;

use crate::diagnostics::{suggest, CodeInfo, Diagnostic};
use crate::ir::{self, ForeachSource, ParamType, StepId, Transition};
use crate::span::{Origin, Span, Spanned};
use crate::syntax::ast::{self, LiteralKind};
use decorators::{Place, Site};
use std::collections::HashMap;

/// Codes raised by resolve (E02xx).
pub const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "E0201",
        title: "duplicate step name",
        example: "step a { run \"x\" next end }\nstep a { run \"y\" next end }",
        explanation:
            "Step names are unique within a flow: a `next` names a step, so two steps with \
one name would make it ambiguous. Rename one of them.",
    },
    CodeInfo {
        code: "E0202",
        title: "duplicate parameter name",
        example: "param alpha: float = 0.1\nparam alpha: int = 1",
        explanation: "Parameter names are unique within a flow. Rename or remove one of them.",
    },
    CodeInfo {
        code: "E0203",
        title: "parameter names differ only in case",
        example: "param alpha: int = 1\nparam ALPHA: int = 2",
        explanation: "Every task sees parameter `NAME` in the environment variable \
`FLOW_PARAM_<NAME>` with the name upper-cased, so two names equal up to case would share one \
variable. Rename one of them.",
    },
    CodeInfo {
        code: "E0204",
        title: "unknown step in `next`",
        example: "step start { run \"x\" next fti }\nstep fit { run \"y\" next end }",
        explanation: "Every name after `next` (a target, a foreach body, a switch case) must be \
a step of the flow. Check the spelling or add the step.",
    },
    CodeInfo {
        code: "E0205",
        title: "step without `run`",
        example: "step start { next end }",
        explanation: "A step has exactly one `run` statement: the command its task executes. \
Add `run \"…\"` or `run [\"prog\", \"arg\"]`.",
    },
    CodeInfo {
        code: "E0206",
        title: "step with more than one `run`",
        example: "step start { run \"a\" run \"b\" next end }",
        explanation: "A step has exactly one `run` statement. To run several commands, write a \
script, or chain them in one shell command (`run \"a && b\"`).",
    },
    CodeInfo {
        code: "E0207",
        title: "step with more than one `next`",
        example: "step start { run \"x\" next a next b }",
        explanation: "A step has at most one `next`. To run several steps in parallel after it, \
list them in one statement: `next a, b`.",
    },
    CodeInfo {
        code: "E0208",
        title: "empty command",
        example: "step start { run \"\" next end }",
        explanation: "`run \"…\"` needs a non-blank shell command and `run [..]` a non-empty list \
whose first element (the program) is not empty.",
    },
    CodeInfo {
        code: "E0209",
        title: "parameter default of the wrong type",
        example: "param epochs: int = 2.5",
        explanation: "A parameter's default must have its declared type: `str` a string, `int` an \
integer literal, `float` any number (an integer literal is accepted), `bool` `true` or \
`false`, `json` any value.",
    },
    CodeInfo {
        code: "E0210",
        title: "foreach over a parameter that is not `json`",
        example: "param n: int = 3\nstep start { run \"x\" next body foreach n }",
        explanation: "A foreach iterates over a JSON array. When its name is a parameter, the \
parameter must be declared `json` (its value an array).",
    },
    CodeInfo {
        code: "E0211",
        title: "switch on a parameter that is not `str`",
        example: "param n: int = 3\nstep start { run \"x\" next switch n { \"3\" => end } }",
        explanation: "A switch chooses its case by a string value. When its name is a parameter, \
the parameter must be declared `str`.",
    },
    CodeInfo {
        code: "E0212",
        title: "unknown decorator",
        example: "@retyr(times=2)\nstep start { run \"x\" next end }",
        explanation: "Step decorators are `@retry`, `@catch`, `@timeout`, `@resources`, `@batch`, \
`@environment` and `@foreach`; flow decorators are `@schedule`, `@trigger` and `@project`.",
    },
    CodeInfo {
        code: "E0213",
        title: "unknown decorator argument",
        example: "@retry(tims=2)",
        explanation: "Each decorator takes a fixed set of keyword arguments (see the decorator \
table of the language spec). Check the spelling.",
    },
    CodeInfo {
        code: "E0214",
        title: "decorator argument of the wrong type",
        example: "@retry(times=\"2\")",
        explanation: "Each decorator argument has a type: counts and sizes are non-negative \
integers, `cpu` and `backoff` numbers, `minutes_between_retries` a non-negative number, names \
and images non-empty strings, `jitter` and `hourly` booleans, `event` an object, `vars` an object of \
strings.",
    },
    CodeInfo {
        code: "E0215",
        title: "repeated decorator",
        example: "@retry(times=1)\n@retry(times=2)\nstep start { run \"x\" next end }",
        explanation: "A decorator appears at most once on a step, once among the flow's `with` \
members, once among `--with` options and once before `flow`. Merge the arguments into one.",
    },
    CodeInfo {
        code: "E0216",
        title: "repeated decorator argument",
        example: "@retry(times=1, times=2)",
        explanation: "An argument appears at most once in a decorator. Remove one.",
    },
    CodeInfo {
        code: "E0217",
        title: "`@schedule` without exactly one schedule",
        example: "@schedule(daily=true, cron=\"0 10 * * ? *\")",
        explanation: "`@schedule` takes exactly one of `cron=\"…\"`, `rate=\"…\"`, `hourly=true`, \
`daily=true` or `weekly=true` (plus an optional `timezone`).",
    },
    CodeInfo {
        code: "E0218",
        title: "invalid project name",
        example: "@project(name=\"my project\")",
        explanation: "`@project(name=…)` prefixes every deployed resource name (state machine, \
rules, roles), whose allowed characters and lengths are limited by AWS: a project name has 1 to \
40 characters among ASCII letters, digits, `_` and `-`.",
    },
    CodeInfo {
        code: "E0219",
        title: "decorator in the wrong place",
        example: "@schedule(daily=true)\nstep start { run \"x\" next end }",
        explanation: "Flow decorators (`@schedule`, `@trigger`, `@project`) are written before \
`flow` and cannot be used on a step, in `with` or in `--with`; step decorators are written before \
`step`, in `with` or in `--with`, not before `flow`.",
    },
    CodeInfo {
        code: "E0220",
        title: "repeated key in an object",
        example: "@environment(vars={\"A\": \"1\", \"A\": \"2\"})",
        explanation: "A key appears at most once in an object literal.",
    },
    CodeInfo {
        code: "E0221",
        title: "unknown `@foreach` mode",
        example: "@foreach(mode=\"fast\")",
        explanation: "`mode` of `@foreach` is \"auto\" (chosen by the budget check), \"inline\" \
(an inline Map state) or \"distributed\" (a distributed Map state).",
    },
    CodeInfo {
        code: "E0222",
        title: "missing required decorator argument",
        example: "@trigger()",
        explanation: "`@trigger` needs `event`, `@project` needs `name` and `@environment` needs \
`vars`.",
    },
    CodeInfo {
        code: "E0223",
        title: "step named twice in one `next`",
        example: "step start { run \"x\" next a, a }",
        explanation: "The targets of a split are different steps, each the first step of one \
parallel branch.",
    },
    CodeInfo {
        code: "E0224",
        title: "repeated switch case",
        example: "next switch mode { \"a\" => x, \"a\" => y }",
        explanation: "Each value of a switch chooses exactly one case, so case values are unique.",
    },
    CodeInfo {
        code: "E0225",
        title: "invalid environment variable name",
        example: "@environment(vars={\"FLOW_STEP\": \"x\"})",
        explanation: "Names in `@environment(vars=…)` are `[A-Za-z_][A-Za-z0-9_]*` and do not \
start with `FLOW_` (the variables of the runtime contract, such as `FLOW_INPUT`) or `AWS_BATCH` \
(reserved by AWS Batch).",
    },
    CodeInfo {
        code: "E0226",
        title: "invalid EventBridge event pattern",
        example: "@trigger(event={\"source\": \"aws.s3\"})",
        explanation: "`@trigger(event=…)` is an Amazon EventBridge event pattern: a non-empty \
object whose fields hold either a nested non-empty object or an array of one or more values to \
match (\"The value of each field in an event pattern is an array containing one or more \
values\", EventBridge user guide). `PutRule` rejects anything else, so flowc does too.",
    },
];

/// Builds the IR of `file`. `command_line` holds the `--with` decorators (spans 0..0), which
/// apply to every step that sets neither the decorator itself nor through `with`.
///
/// Returns `None` when the file is too broken to build an IR (diagnostics were pushed): when a
/// `next` names a step that does not exist, since every graph check would only repeat that
/// error. Otherwise returns the best IR it can build, even when it pushed errors.
pub fn resolve(
    file: &ast::File,
    command_line: &[ast::Decorator],
    diags: &mut Vec<Diagnostic>,
) -> Option<ir::Flow> {
    let mut r = Resolver {
        diags,
        broken: false,
    };
    let params = r.params(file);
    let flow_decorators = r.flow_decorators(&file.decorators);
    let with = r.with_decorators(file);
    let cli = r.command_line(command_line);
    let asts = r.unique_steps(file);
    let names: HashMap<&str, StepId> = asts
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.name.as_str(), StepId(i as u32)))
        .collect();
    let cx = StepContext {
        names: &names,
        params: &params,
        with: &with,
        cli: &cli,
    };
    let steps: Vec<ir::Step> = asts
        .iter()
        .enumerate()
        .map(|(i, s)| r.step(StepId(i as u32), s, &cx))
        .collect();
    if r.broken {
        return None;
    }
    Some(ir::Flow {
        name: file.name.name.clone(),
        name_span: file.name.span,
        params,
        steps,
        decorators: flow_decorators,
    })
}

/// The state of one resolve run.
struct Resolver<'d> {
    diags: &'d mut Vec<Diagnostic>,
    /// Set when the graph cannot be built (a `next` names an unknown step).
    broken: bool,
}

/// What every step needs to resolve its names and decorators.
struct StepContext<'a> {
    names: &'a HashMap<&'a str, StepId>,
    params: &'a [ir::Param],
    with: &'a ir::StepDecorators,
    cli: &'a ir::StepDecorators,
}

const OWN: Site = Site {
    origin: Origin::Own,
    span: Span { start: 0, end: 0 },
};

impl Resolver<'_> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Parameters with checked defaults; a duplicate (E0202) is dropped, a case collision
    /// (E0203) reported.
    fn params(&mut self, file: &ast::File) -> Vec<ir::Param> {
        let mut out: Vec<ir::Param> = vec![];
        for p in file.members.iter().filter_map(|m| match m {
            ast::Member::Param(p) => Some(p),
            _ => None,
        }) {
            if let Some(prev) = out
                .iter()
                .find(|q| q.name.eq_ignore_ascii_case(&p.name.name))
            {
                self.param_clash(prev, &p.name);
                if prev.name == p.name.name {
                    continue;
                }
            }
            let default = p.default.as_ref().filter(|d| self.check_default(p, d));
            out.push(ir::Param {
                name: p.name.name.clone(),
                span: p.name.span,
                ty: p.ty.name,
                default: default.map(|d| Spanned::own(d.to_json(), d.span)),
                help: p.help.as_ref().map(|h| h.value.clone()),
            });
        }
        out
    }

    fn param_clash(&mut self, prev: &ir::Param, name: &ast::Ident) {
        let d = if prev.name == name.name {
            Diagnostic::error(
                "E0202",
                format!("parameter `{}` is defined twice", name.name),
            )
            .with_primary(name.span, "defined again here")
            .with_secondary(prev.span, "first defined here")
            .with_help("rename or remove one of them")
        } else {
            let var = format!("FLOW_PARAM_{}", name.name.to_ascii_uppercase());
            Diagnostic::error(
                "E0203",
                format!(
                    "parameters `{}` and `{}` differ only in case",
                    prev.name, name.name
                ),
            )
            .with_primary(name.span, format!("also becomes `{var}`"))
            .with_secondary(prev.span, format!("becomes `{var}`"))
            .with_help(
                "tasks see parameters as upper-cased environment variables; rename one of them",
            )
        };
        self.push(d);
    }

    /// True when the default `d` of `p` has the declared type (E0209 otherwise).
    fn check_default(&mut self, p: &ast::Param, d: &ast::Literal) -> bool {
        self.check_keys(d, OWN);
        let ok = fits(p.ty.name, &d.kind);
        if !ok {
            let ty = p.ty.name.as_str();
            let diag = Diagnostic::error(
                "E0209",
                format!(
                    "default of parameter `{}` is {}, but its type is `{ty}`",
                    p.name.name,
                    d.kind_name()
                ),
            )
            .with_primary(d.span, format!("{} is not `{ty}`", d.kind_name()))
            .with_secondary(p.ty.span, "type declared here")
            .with_help(default_help(p.ty.name, d));
            self.push(diag);
        }
        ok
    }

    /// The steps, without later duplicates (E0201).
    fn unique_steps<'f>(&mut self, file: &'f ast::File) -> Vec<&'f ast::Step> {
        let mut out: Vec<&ast::Step> = vec![];
        for s in file.members.iter().filter_map(|m| match m {
            ast::Member::Step(s) => Some(s),
            _ => None,
        }) {
            if let Some(prev) = out.iter().find(|t| t.name.name == s.name.name) {
                let d =
                    Diagnostic::error("E0201", format!("step `{}` is defined twice", s.name.name))
                        .with_primary(s.name.span, "defined again here")
                        .with_secondary(prev.name.span, "first defined here")
                        .with_help(
                            "rename one of the steps; a `next` refers to a step by its name",
                        );
                self.push(d);
                continue;
            }
            out.push(s);
        }
        out
    }

    /// Flow decorators written before `flow`.
    fn flow_decorators(&mut self, decs: &[ast::Decorator]) -> ir::FlowDecorators {
        let mut set = ir::FlowDecorators::default();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for dec in decs {
            let Some(spec) = self.known(dec, OWN) else {
                continue;
            };
            if spec.place == Place::Step {
                self.misplaced(
                    dec,
                    "a step decorator",
                    "write it before a `step`, or as `with` inside the flow",
                );
                continue;
            }
            if self.repeated(dec, &mut seen, OWN) {
                continue;
            }
            if let Some(d) = self.flow_deco(dec, spec, OWN) {
                decorators::store_flow(
                    &mut set,
                    d,
                    Site {
                        origin: Origin::Own,
                        span: dec.span,
                    },
                    dec,
                );
            }
        }
        set
    }

    /// The flow's `with` decorators, each spanned with its `with` member.
    fn with_decorators(&mut self, file: &ast::File) -> ir::StepDecorators {
        let mut set = ir::StepDecorators::default();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for w in file.members.iter().filter_map(|m| match m {
            ast::Member::With(w) => Some(w),
            _ => None,
        }) {
            let site = Site {
                origin: Origin::With,
                span: w.span,
            };
            self.step_decorator(&w.decorator, site, &mut seen, &mut set);
        }
        set
    }

    /// The `--with` decorators; their errors have no span.
    fn command_line(&mut self, decs: &[ast::Decorator]) -> ir::StepDecorators {
        let mut set = ir::StepDecorators::default();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let site = Site {
            origin: Origin::CommandLine,
            span: Span::default(),
        };
        for dec in decs {
            self.step_decorator(dec, site, &mut seen, &mut set);
        }
        set
    }

    /// Checks one step decorator written at `site` and stores it into `set`.
    fn step_decorator<'a>(
        &mut self,
        dec: &'a ast::Decorator,
        site: Site,
        seen: &mut HashMap<&'a str, Span>,
        set: &mut ir::StepDecorators,
    ) {
        let Some(spec) = self.known(dec, site) else {
            return;
        };
        if spec.place == Place::Flow {
            self.flow_only(dec, site);
            return;
        }
        if self.repeated(dec, seen, site) {
            return;
        }
        let stored_site = if site.origin == Origin::Own {
            Site {
                origin: Origin::Own,
                span: dec.span,
            }
        } else {
            site
        };
        if let Some(d) = self.step_deco(dec, spec, site) {
            decorators::store_step(set, d, stored_site, dec);
        }
    }

    /// The spec of `dec`, or `None` after reporting an unknown decorator (E0212).
    fn known(&mut self, dec: &ast::Decorator, site: Site) -> Option<&'static decorators::Spec> {
        let spec = decorators::spec(&dec.name.name);
        if spec.is_none() {
            let name = &dec.name.name;
            let d = site.primary(
                Diagnostic::error("E0212", format!("unknown decorator `@{name}`")),
                dec.name.span,
                "unknown decorator",
            );
            let names: Vec<&str> = decorators::SPECS.iter().map(|s| s.name).collect();
            let help = match suggest(name, names.iter().copied()) {
                Some(s) => format!("a decorator with a similar name exists: `@{s}`"),
                None => format!("the decorators are {}", decorators::quote_list(&names)),
            };
            self.push(d.with_help(help));
        }
        spec
    }

    /// True (after E0215) when `dec` was already seen in the same list.
    fn repeated<'a>(
        &mut self,
        dec: &'a ast::Decorator,
        seen: &mut HashMap<&'a str, Span>,
        site: Site,
    ) -> bool {
        let name = dec.name.name.as_str();
        let Some(&prev) = seen.get(name) else {
            seen.insert(name, dec.span);
            return false;
        };
        let where_ = match site.origin {
            Origin::Own => "",
            Origin::With => " in `with`",
            Origin::CommandLine => "",
        };
        let d = Diagnostic::error(
            "E0215",
            format!("decorator `@{name}` is given twice{where_}"),
        );
        let d = site.primary(d, dec.span, "given again here");
        let d = site.secondary(d, prev, "first given here");
        self.push(d.with_help("merge the arguments into one decorator"));
        true
    }

    /// A flow decorator in `with`, `--with` or on a step (E0219).
    fn flow_only(&mut self, dec: &ast::Decorator, site: Site) {
        let name = &dec.name.name;
        let where_ = match site.origin {
            Origin::Own => "on a step",
            Origin::With => "in `with`",
            // `site.primary` adds "(in a `--with` option)".
            Origin::CommandLine => "on steps",
        };
        let d = Diagnostic::error(
            "E0219",
            format!("`@{name}` is a flow decorator and cannot be used {where_}"),
        );
        let d = site.primary(d, dec.span, "flow decorator");
        self.push(d.with_help(format!("write `@{name}(…)` before `flow`")));
    }

    fn misplaced(&mut self, dec: &ast::Decorator, what: &str, help: &str) {
        let name = &dec.name.name;
        let d = Diagnostic::error(
            "E0219",
            format!("`@{name}` is {what} and cannot be written before `flow`"),
        )
        .with_primary(dec.span, what.to_string())
        .with_help(help.to_string());
        self.push(d);
    }

    /// One step: command, transition and merged decorators.
    fn step(&mut self, id: StepId, s: &ast::Step, cx: &StepContext) -> ir::Step {
        let command = self.command(s);
        let next = self.transition(s, cx);
        let mut decorators = ir::StepDecorators::default();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for dec in &s.decorators {
            self.step_decorator(dec, OWN, &mut seen, &mut decorators);
        }
        decorators::inherit(&mut decorators, cx.with);
        decorators::inherit(&mut decorators, cx.cli);
        ir::Step {
            id,
            name: s.name.name.clone(),
            span: s.name.span,
            command,
            next,
            decorators,
        }
    }

    /// The single `run` of `s` (E0205 when missing, E0206 when repeated, E0208 when empty).
    fn command(&mut self, s: &ast::Step) -> ir::Command {
        let runs: Vec<(&ast::Command, Span)> = s
            .statements
            .iter()
            .filter_map(|st| match &st.kind {
                ast::StatementKind::Run(c) => Some((c, st.span)),
                _ => None,
            })
            .collect();
        let Some(&(first, first_span)) = runs.first() else {
            let d = Diagnostic::error("E0205", format!("step `{}` has no `run`", s.name.name))
                .with_primary(s.name.span, "this step runs nothing")
                .with_help("add the command of its task, e.g. `run \"python step.py\"`");
            self.push(d);
            return ir::Command::Shell(String::new());
        };
        for &(_, span) in &runs[1..] {
            let d = Diagnostic::error("E0206", format!("step `{}` has more than one `run`", s.name.name))
                .with_primary(span, "second `run`")
                .with_secondary(first_span, "first `run` here")
                .with_help("a step runs one command; chain commands in one shell string (`run \"a && b\"`) or a script");
            self.push(d);
        }
        self.check_command(first);
        match first {
            ast::Command::Shell(s) => ir::Command::Shell(s.value.clone()),
            ast::Command::Exec(items, _) => {
                ir::Command::Exec(items.iter().map(|i| i.value.clone()).collect())
            }
        }
    }

    fn check_command(&mut self, c: &ast::Command) {
        let (span, what) = match c {
            ast::Command::Shell(s) if s.value.trim().is_empty() => {
                (s.span, "the shell command is blank")
            }
            ast::Command::Exec(items, span) if items.is_empty() => {
                (*span, "the program list is empty")
            }
            ast::Command::Exec(items, _) => match items.first() {
                Some(p) if p.value.is_empty() => (p.span, "the program name is empty"),
                _ => return,
            },
            ast::Command::Shell(_) => return,
        };
        let d = Diagnostic::error("E0208", format!("empty command: {what}"))
            .with_primary(span, "nothing to run")
            .with_help("write `run \"cmd args\"` (run by /bin/sh -c) or `run [\"prog\", \"arg\"]` (run directly)");
        self.push(d);
    }

    /// The transition of `s` (E0207 for a second `next`).
    fn transition(&mut self, s: &ast::Step, cx: &StepContext) -> Transition {
        let nexts: Vec<(&ast::Next, Span)> = s
            .statements
            .iter()
            .filter_map(|st| match &st.kind {
                ast::StatementKind::Next(n) => Some((n, st.span)),
                _ => None,
            })
            .collect();
        let Some(&(first, first_span)) = nexts.first() else {
            return Transition::End;
        };
        for &(_, span) in &nexts[1..] {
            let d = Diagnostic::error(
                "E0207",
                format!("step `{}` has more than one `next`", s.name.name),
            )
            .with_primary(span, "second `next`")
            .with_secondary(first_span, "first `next` here")
            .with_help("to run several steps in parallel, list them in one `next a, b`");
            self.push(d);
        }
        self.next(first, cx)
    }

    fn next(&mut self, n: &ast::Next, cx: &StepContext) -> Transition {
        match n {
            ast::Next::Targets(targets) => {
                let targets = self.distinct_targets(targets);
                let ids: Vec<StepId> = targets.iter().filter_map(|t| self.target(t, cx)).collect();
                match ids.as_slice() {
                    [one] => Transition::Linear(*one),
                    _ => Transition::Split {
                        targets: ids,
                        join: None,
                    },
                }
            }
            ast::Next::Foreach { body, over } => {
                let body = self.target(body, cx);
                let over = self.source(over, cx, ParamType::Json);
                body.map_or(Transition::End, |body| Transition::Foreach {
                    body,
                    over,
                    join: None,
                })
            }
            ast::Next::Switch { on, cases } => {
                let on = self.source(on, cx, ParamType::Str);
                let cases = self
                    .distinct_cases(cases)
                    .into_iter()
                    .filter_map(|c| {
                        self.target(&c.target, cx)
                            .map(|t| (c.value.value.clone(), t))
                    })
                    .collect();
                Transition::Switch { on, cases }
            }
        }
    }

    /// `targets` without repeated names (E0223 for each repetition).
    fn distinct_targets<'a>(&mut self, targets: &'a [ast::Ident]) -> Vec<&'a ast::Ident> {
        let mut out: Vec<&ast::Ident> = vec![];
        for t in targets {
            match out.iter().find(|u| u.name == t.name) {
                Some(prev) => {
                    let d = Diagnostic::error(
                        "E0223",
                        format!("step `{}` is named twice in one `next`", t.name),
                    )
                    .with_primary(t.span, "named again here")
                    .with_secondary(prev.span, "first named here")
                    .with_help("each branch of a split is a different step; remove the repetition");
                    self.push(d);
                }
                None => out.push(t),
            }
        }
        out
    }

    /// `cases` without repeated values (E0224 for each repetition).
    fn distinct_cases<'a>(&mut self, cases: &'a [ast::Case]) -> Vec<&'a ast::Case> {
        let mut out: Vec<&ast::Case> = vec![];
        for c in cases {
            match out.iter().find(|u| u.value.value == c.value.value) {
                Some(prev) => {
                    let d = Diagnostic::error(
                        "E0224",
                        format!("switch case \"{}\" is given twice", c.value.value),
                    )
                    .with_primary(c.value.span, "repeated case")
                    .with_secondary(prev.value.span, "first case with this value")
                    .with_help("a value chooses exactly one case; remove or change one of them");
                    self.push(d);
                }
                None => out.push(c),
            }
        }
        out
    }

    /// The id of step `t` (E0204 when there is no such step).
    fn target(&mut self, t: &ast::Ident, cx: &StepContext) -> Option<StepId> {
        let id = cx.names.get(t.name.as_str()).copied();
        if id.is_none() {
            self.broken = true;
            let d = Diagnostic::error("E0204", format!("there is no step `{}`", t.name))
                .with_primary(t.span, "unknown step");
            let help = match suggest(&t.name, cx.names.keys().copied()) {
                Some(s) => format!("a step with a similar name exists: `{s}`"),
                None => format!("add `step {} {{ … }}` or name an existing step", t.name),
            };
            self.push(d.with_help(help));
        }
        id
    }

    /// What a foreach iterates over or a switch decides on: a parameter (which must have
    /// type `ty`, E0210/E0211) or else an artifact.
    fn source(&mut self, name: &ast::Ident, cx: &StepContext, ty: ParamType) -> ForeachSource {
        let Some(p) = cx.params.iter().find(|p| p.name == name.name) else {
            return ForeachSource::Artifact(name.name.clone());
        };
        if p.ty != ty {
            let (code, what) = if ty == ParamType::Json {
                ("E0210", "a foreach")
            } else {
                ("E0211", "a switch")
            };
            let need = ty.as_str();
            let d = Diagnostic::error(
                code,
                format!("{what} needs a `{need}` value, but parameter `{}` is `{}`", p.name, p.ty.as_str()),
            )
            .with_primary(name.span, format!("`{}` is not `{need}`", p.name))
            .with_secondary(p.span, "parameter declared here")
            .with_help(if ty == ParamType::Json {
                "declare the parameter `json` with an array value, or iterate over an artifact the step writes"
            } else {
                "declare the parameter `str`, or switch on an artifact the step writes"
            });
            self.push(d);
        }
        ForeachSource::Param(p.name.clone())
    }
}

/// True when a literal of `kind` is a value of parameter type `ty` (an integer literal is
/// accepted for `float`; spec, "Parameters").
fn fits(ty: ParamType, kind: &LiteralKind) -> bool {
    matches!(
        (ty, kind),
        (ParamType::Json, _)
            | (ParamType::Str, LiteralKind::String(_))
            | (ParamType::Int, LiteralKind::Int(_))
            | (
                ParamType::Float,
                LiteralKind::Int(_) | LiteralKind::Float(_)
            )
            | (ParamType::Bool, LiteralKind::Bool(_))
    )
}

/// The help of E0209 for a default `d` that is not of type `ty`: the quotes to drop, or what
/// a default of `ty` looks like and which type fits this default.
fn default_help(ty: ParamType, d: &ast::Literal) -> String {
    if let LiteralKind::String(text) = &d.kind {
        let parsed = serde_json::from_str(text.trim()).map(|v| crate::options::literal(&v));
        if parsed.is_ok_and(|l| fits(ty, &l.kind)) {
            return format!("write the default without quotes: `= {}`", text.trim());
        }
    }
    let like = match ty {
        ParamType::Int => "an integer such as `10`",
        ParamType::Float => "a number such as `0.5`",
        ParamType::Bool => "`true` or `false`",
        ParamType::Str | ParamType::Json => "a string such as `\"eu\"`",
    };
    let keep = match d.kind {
        LiteralKind::String(_) => "str",
        LiteralKind::Int(_) => "int",
        LiteralKind::Float(_) => "float",
        LiteralKind::Bool(_) => "bool",
        LiteralKind::Null | LiteralKind::List(_) | LiteralKind::Object(_) => "json",
    };
    match (ty, &d.kind) {
        (ParamType::Int, LiteralKind::Float(_)) => {
            "`int` takes integer literals only; declare the parameter `float` to allow fractions"
                .to_string()
        }
        (_, LiteralKind::Null) => {
            "a parameter without `= …` is required; to default to null, declare it `json`"
                .to_string()
        }
        _ => format!(
            "a default of type `{}` is {like}; to keep this default, declare the parameter `{keep}`",
            ty.as_str()
        ),
    }
}
