//! Property test of the back half on random well-nested flows (splits, foreaches, switches):
//! whenever `flowc::check` accepts a flow, `compile` does not panic, fails only with budget
//! codes, and produces deterministic ASL whose transitions stay in scope, with exactly one
//! Task state per step.

mod lower_common;

use flowc::options::CompileOptions;
use proptest::prelude::*;

/// A piece of a well-nested flow: a step, a split with branches, a foreach body, or a
/// switch whose cases converge on what follows.
#[derive(Debug, Clone)]
enum Block {
    Step,
    Split(Vec<Vec<Block>>),
    Foreach(Vec<Block>),
    Switch(Vec<Vec<Block>>),
}

fn blocks() -> impl Strategy<Value = Vec<Block>> {
    let leaf = Just(Block::Step);
    let block = leaf.prop_recursive(3, 24, 3, |inner| {
        let seq = prop::collection::vec(inner, 1..3);
        prop_oneof![
            prop::collection::vec(seq.clone(), 2..4).prop_map(Block::Split),
            seq.clone().prop_map(Block::Foreach),
            prop::collection::vec(seq, 1..3).prop_map(Block::Switch),
        ]
    });
    prop::collection::vec(block, 1..4)
}

/// Renders flows as source text; `decorators` go on every step.
struct Render {
    steps: Vec<String>,
    decorators: String,
}

impl Render {
    fn step(&mut self, next: String) -> String {
        let name = format!("s{}", self.steps.len());
        self.steps.push(format!(
            "{} step {name} {{ run \"x\" {next} }}\n",
            self.decorators
        ));
        name
    }

    /// Emits `seq` continuing at `cont`; returns its entry step.
    fn seq(&mut self, seq: &[Block], cont: String) -> String {
        seq.iter().rev().fold(cont, |cont, b| self.block(b, cont))
    }

    fn block(&mut self, b: &Block, cont: String) -> String {
        match b {
            Block::Step => self.step(format!("next {cont}")),
            Block::Split(branches) => {
                let join = self.step(format!("next {cont}"));
                let entries: Vec<String> =
                    branches.iter().map(|s| self.seq(s, join.clone())).collect();
                self.step(format!("next {}", entries.join(", ")))
            }
            Block::Foreach(body) => {
                let join = self.step(format!("next {cont}"));
                let entry = self.seq(body, join);
                self.step(format!("next {entry} foreach items"))
            }
            Block::Switch(cases) => {
                let entries: Vec<String> = cases
                    .iter()
                    .enumerate()
                    .map(|(k, s)| format!("\"{k}\" => {}", self.seq(s, cont.clone())))
                    .collect();
                self.step(format!("next switch mode {{ {} }}", entries.join(", ")))
            }
        }
    }
}

fn source(seq: &[Block], decorators: &str) -> String {
    let mut r = Render {
        steps: vec![],
        decorators: decorators.to_string(),
    };
    let entry = r.seq(seq, "end".into());
    let mut src = String::from("flow R {\n param items: json = [1, 2]\n param mode: str = \"0\"\n");
    src.push_str(&format!(" step start {{ run \"x\" next {entry} }}\n"));
    for s in r.steps.iter().rev() {
        src.push_str(s);
    }
    src.push_str(" step end { run \"x\" }\n}\n");
    src
}

fn flows() -> impl Strategy<Value = String> {
    let decorators = prop_oneof![
        Just(""),
        Just("@retry(times=2)"),
        Just("@catch(var=\"err\")"),
        Just("@timeout(seconds=5) @resources(cpu=2)"),
    ];
    (blocks(), decorators).prop_map(|(b, d)| source(&b, d))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn accepted_flows_compile(src in flows()) {
        let opts = CompileOptions::default();
        let (flow, _) = flowc::check(&src, &opts);
        let Some(flow) = flow else { return Ok(()) };
        match flowc::compile(&src, &opts) {
            Ok(c) => {
                lower_common::check_scopes(&c.definition, &src);
                let again = flowc::compile(&src, &opts).expect("compiles twice");
                prop_assert_eq!(&c.asl, &again.asl);
                for step in &flow.steps {
                    let n = c.asl.matches(&format!("\"{}\": {{\n", step.name)).count();
                    prop_assert_eq!(n, 1, "step {} in\n{}", step.name, src);
                }
            }
            Err(diags) => {
                for d in diags.iter().filter(|d| d.is_error()) {
                    prop_assert!(d.code.starts_with("E05"), "{:?}\n{}", d, src);
                }
            }
        }
    }
}

/// Guards the property above against a generator that the front end always rejects.
#[test]
fn generator_yields_accepted_flows_of_every_kind() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let opts = CompileOptions::default();
    let mut accepted = vec![];
    for _ in 0..400 {
        let src = flows().new_tree(&mut runner).expect("value").current();
        if flowc::check(&src, &opts).0.is_some() {
            accepted.push(src);
        }
    }
    assert!(accepted.len() >= 300, "only {} accepted", accepted.len());
    for (i, src) in accepted.iter().enumerate() {
        if let Ok(c) = flowc::compile(src, &opts) {
            lower_common::dump(&format!("random_{i:03}"), &c.asl);
        }
    }
    for construct in [" foreach ", "next switch", ", "] {
        assert!(
            accepted.iter().any(|s| s.contains(construct)),
            "no accepted flow with `{construct}`"
        );
    }
}
