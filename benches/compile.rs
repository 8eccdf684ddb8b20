//! Compile benchmarks (not timed tests): prints milliseconds, and a ratio against a baseline
//! measured in the same run.
//!
//! - a generated 1,000-step linear flow (library call);
//! - a 200×100 nested foreach flow (`@foreach(max_items=200)` around `max_items=100`);
//! - a whole `flowc compile` process on tutorial-sized flows, against a whole `true`
//!   process as the baseline (the cost of starting any process here).
//!
//! Run: `cargo bench --bench compile` (builds the release binary first).

use flowc::options::CompileOptions;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let linear = linear_flow(1000);
    report("library: 1,000-step linear flow", 20, || compile(&linear));
    let nested = nested_foreach_flow(200, 100);
    report("library: 200x100 nested foreach flow", 200, || {
        compile(&nested)
    });
    whole_process();
}

fn compile(source: &str) {
    if let Err(d) = flowc::driver::build(source, &CompileOptions::default()) {
        panic!(
            "benchmark flow does not compile: {:?}",
            d.first().map(|d| &d.message)
        );
    }
}

/// Runs `f` `n` times; prints the median and mean in milliseconds.
fn report(name: &str, n: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    let median = times[n / 2];
    let mean = times.iter().sum::<Duration>() / n as u32;
    println!(
        "{name:<55} median {:>8.3} ms   mean {:>8.3} ms   (n={n})",
        ms(median),
        ms(mean)
    );
    median
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `start → s1 → … → s{n-2} → end`.
fn linear_flow(n: usize) -> String {
    let mut s = String::from("flow Linear {\n");
    let names: Vec<String> = std::iter::once("start".to_string())
        .chain((1..n - 1).map(|i| format!("s{i}")))
        .chain(["end".to_string()])
        .collect();
    for (i, name) in names.iter().enumerate() {
        s.push_str(&format!(
            "    step {name} {{\n        run \"python step.py {i}\"\n"
        ));
        if let Some(next) = names.get(i + 1) {
            s.push_str(&format!("        next {next}\n"));
        }
        s.push_str("    }\n");
    }
    s.push_str("}\n");
    s
}

/// An outer foreach of `outer` items, each with an inner foreach of `inner` items.
fn nested_foreach_flow(outer: u64, inner: u64) -> String {
    format!(
        r#"flow Nested {{
    param xs: json = [1, 2, 3]
    @foreach(max_items={outer}, mode="auto")
    step start {{
        run "python split.py"
        next outer foreach xs
    }}
    @foreach(max_items={inner}, mode="auto")
    step outer {{
        run "python split_inner.py"
        next inner foreach ys
    }}
    step inner {{
        run "true"
        next join_inner
    }}
    step join_inner {{
        run "true"
        next join_outer
    }}
    step join_outer {{
        run "true"
        next end
    }}
    step end {{
        run "true"
    }}
}}
"#
    )
}

/// Whole-process timings of `flowc compile` on tutorial-sized flows, against `true`.
fn whole_process() {
    let root = env!("CARGO_MANIFEST_DIR");
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet"])
        .current_dir(root)
        .status();
    if !status.is_ok_and(|s| s.success()) {
        println!("(skipping whole-process timings: release build failed)");
        return;
    }
    let bin = format!("{root}/target/release/flowc");
    let base = report("process: `true` (baseline)", 100, || {
        run(&mut Command::new("true"))
    });
    for flow in ["helloworld", "spec_example", "movie_stats"] {
        let path = format!("{root}/fixtures/ok/{flow}.flow");
        if !std::path::Path::new(&path).exists() {
            continue;
        }
        let t = report(&format!("process: flowc compile {flow}.flow"), 100, || {
            run(Command::new(&bin).args(["compile", &path]))
        });
        println!(
            "{:<55} ratio {:.2} against `true`",
            "",
            ms(t) / ms(base).max(1e-9)
        );
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("process runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
