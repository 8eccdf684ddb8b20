//! What the user sees while a flow runs locally: a live display on a terminal (one line per
//! step: tasks done, running, failed, retries, elapsed; `indicatif`), plain lines otherwise,
//! task output prefixed by `step/INDEX`, and the end-of-run summary table.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// A live display (indicatif) on stderr: for terminals.
    Live,
    /// One line per finished task on stderr, task output prefixed: for logs and CI.
    Plain,
    /// Only task output, failures and the summary.
    Quiet,
    /// Nothing but task output on stderr (stdout carries one JSON object at the end).
    Json,
}

/// Counters of one step.
#[derive(Debug, Clone, Default)]
pub struct StepStats {
    /// Tasks that succeeded (run or cloned).
    pub done: u64,
    /// Of which cloned from the origin run of a resume.
    pub cloned: u64,
    /// Tasks running now.
    pub running: u64,
    /// Attempts that failed (retried or not).
    pub failed_attempts: u64,
    /// Tasks whose last attempt failed.
    pub failed: u64,
    /// Attempts started (retries included; clones excluded).
    pub attempts: u64,
    /// Attempts beyond the first (`@retry`).
    pub retries: u64,
    /// Sum of the attempts' durations.
    pub busy: Duration,
    /// First start and last end, since the run started.
    pub span: Option<(Duration, Duration)>,
}

impl StepStats {
    /// `succeeded`, `failed`, `running`, `cloned` or `not run`.
    pub fn status(&self) -> &'static str {
        if self.running > 0 {
            "running"
        } else if self.failed > 0 {
            "failed"
        } else if self.done > 0 && self.done == self.cloned {
            "cloned"
        } else if self.done > 0 {
            "succeeded"
        } else {
            "not run"
        }
    }
}

/// The failure of a task's last attempt, from the Batch job description.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `step/INDEX`.
    pub label: String,
    /// The command line that ran.
    pub command: Vec<String>,
    /// Exit code, when the process ran.
    pub exit_code: Option<i64>,
    /// Last lines of its stderr (`Container.Reason`).
    pub stderr_tail: String,
    /// `StatusReason` (e.g. a timeout).
    pub reason: String,
}

impl Failure {
    /// Reads a failed job description (the cause of `States.TaskFailed`); a cause that is not
    /// one (e.g. `States.Timeout`'s) is kept whole as the stderr tail.
    pub fn from_cause(label: &str, cause: &str) -> Failure {
        let v: Value = serde_json::from_str(cause).unwrap_or(Value::Null);
        let c = &v["Container"];
        Failure {
            label: label.to_string(),
            command: c["Command"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            exit_code: c["ExitCode"].as_i64(),
            stderr_tail: c["Reason"].as_str().unwrap_or(cause).to_string(),
            reason: v["StatusReason"].as_str().unwrap_or("").to_string(),
        }
    }
}

struct Inner {
    steps: BTreeMap<usize, (String, StepStats)>,
    order: HashMap<String, usize>,
    failures: BTreeMap<String, Failure>,
    bars: HashMap<String, ProgressBar>,
}

/// The progress of one local run, shared by every task invocation.
pub struct Progress {
    mode: Display,
    started: Instant,
    multi: Option<MultiProgress>,
    /// The first line of the live display: run totals and elapsed time.
    header: Option<ProgressBar>,
    inner: Mutex<Inner>,
}

impl Progress {
    /// A display for `steps` (in source order) in `mode`, headed by `title` (e.g. `run ID of
    /// FLOW`) in the live display.
    pub fn new(mode: Display, steps: &[String], title: &str) -> Progress {
        let multi = (mode == Display::Live)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8)));
        let header = multi.as_ref().map(|m| {
            let b = m.add(ProgressBar::new_spinner());
            let style =
                ProgressStyle::with_template("{spinner} {prefix} · {msg} · {elapsed_precise}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
            b.set_style(style);
            b.set_prefix(title.to_string());
            b.set_message("starting");
            b.enable_steady_tick(Duration::from_millis(125));
            b
        });
        let order = steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        let steps = steps
            .iter()
            .enumerate()
            .map(|(i, s)| (i, (s.clone(), StepStats::default())))
            .collect();
        Progress {
            mode,
            started: Instant::now(),
            multi,
            header,
            inner: Mutex::new(Inner {
                steps,
                order,
                failures: BTreeMap::new(),
                bars: HashMap::new(),
            }),
        }
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn with_step<R>(&self, step: &str, f: impl FnOnce(&mut StepStats) -> R) -> R {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let i = g.order.get(step).copied().unwrap_or(usize::MAX);
        let entry = g
            .steps
            .entry(i)
            .or_insert_with(|| (step.to_string(), StepStats::default()));
        let r = f(&mut entry.1);
        let stats = entry.1.clone();
        self.draw(&mut g, step, &stats);
        r
    }

    fn draw(&self, g: &mut Inner, step: &str, s: &StepStats) {
        let Some(multi) = &self.multi else { return };
        if let Some(h) = &self.header {
            h.set_message(totals(g.steps.values().map(|(_, s)| s)));
        }
        let bar = g.bars.entry(step.to_string()).or_insert_with(|| {
            let b = multi.add(ProgressBar::new_spinner());
            let style = ProgressStyle::with_template("{spinner} {prefix:<20} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            b.set_style(style);
            b.set_prefix(step.to_string());
            b.enable_steady_tick(Duration::from_millis(125));
            b
        });
        let mut msg = format!("{} done, {} running", s.done, s.running);
        if s.failed_attempts > 0 {
            msg.push_str(&format!(", {} failed", s.failed_attempts));
        }
        if s.retries > 0 {
            msg.push_str(&format!(", {} retries", s.retries));
        }
        if s.cloned > 0 {
            msg.push_str(&format!(", {} cloned", s.cloned));
        }
        bar.set_message(msg);
        if s.running == 0 && !bar.is_finished() && (s.done > 0 || s.failed > 0) {
            let tick = if s.failed > 0 { "✗" } else { "✓" };
            bar.set_style(
                ProgressStyle::with_template(&format!("{tick} {{prefix:<20}} {{msg}}"))
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.tick();
        } else if s.running > 0 && bar.is_finished() {
            bar.reset();
        }
    }

    /// A task attempt started (`attempt` 0-based): it is being set up, runs its command or
    /// stores its outputs. Only its command counts as running ([`Progress::process`]).
    pub fn started(&self, step: &str, attempt: u32) {
        self.with_step(step, |s| {
            s.attempts += 1;
            if attempt > 0 {
                s.retries += 1;
            }
        });
    }

    /// A task's command started (`true`) or ended (`false`): what `running` counts, at most
    /// `--max-workers` at once.
    pub fn process(&self, step: &str, started: bool) {
        self.with_step(step, |s| match started {
            true => s.running += 1,
            false => s.running = s.running.saturating_sub(1),
        });
    }

    /// A task was cloned from the origin run.
    pub fn cloned(&self, step: &str, label: &str) {
        let at = self.elapsed();
        self.with_step(step, |s| {
            s.done += 1;
            s.cloned += 1;
            widen(&mut s.span, at, at);
        });
        if self.mode == Display::Plain {
            self.plain(&format!("{label} cloned"));
        }
    }

    /// A task attempt ended after `took`; `failure` when it failed.
    pub fn finished(
        &self,
        step: &str,
        label: &str,
        attempt: u32,
        took: Duration,
        failure: Option<Failure>,
    ) {
        let end = self.elapsed();
        let ok = failure.is_none();
        let was_failed = {
            let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            match failure {
                Some(f) => g.failures.insert(label.to_string(), f).is_some(),
                None => g.failures.remove(label).is_some(),
            }
        };
        self.with_step(step, |s| {
            s.busy += took;
            widen(&mut s.span, end.saturating_sub(took), end);
            match (ok, was_failed) {
                (true, true) => {
                    s.failed = s.failed.saturating_sub(1);
                    s.done += 1;
                }
                (true, false) => s.done += 1,
                (false, true) => s.failed_attempts += 1,
                (false, false) => {
                    s.failed += 1;
                    s.failed_attempts += 1;
                }
            }
        });
        let word = if ok { "succeeded" } else { "failed" };
        if self.mode == Display::Plain || (!ok && self.mode != Display::Json) {
            self.plain(&format!(
                "{label} {word} (attempt {attempt}, {})",
                secs(took)
            ));
        }
    }

    /// One line of a task's output, printed as `step/INDEX | line` (stdout lines on stdout
    /// except in JSON mode).
    pub fn line(&self, label: &str, stdout: bool, line: &str) {
        let text = format!("{label} | {line}");
        let to_stdout = stdout && self.mode != Display::Json;
        let print = || {
            if to_stdout {
                let mut o = std::io::stdout().lock();
                let _ = writeln!(o, "{text}");
            } else {
                let mut e = std::io::stderr().lock();
                let _ = writeln!(e, "{text}");
            }
        };
        match &self.multi {
            Some(m) => m.suspend(print),
            None => print(),
        }
    }

    /// Prints a status line on stderr, above the live display when there is one.
    pub fn plain(&self, text: &str) {
        let line = format!("[{}] {text}", clock(self.elapsed()));
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    /// Stops the live display.
    pub fn stop(&self) {
        if let Some(h) = &self.header {
            h.finish();
        }
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for b in g.bars.values() {
            if !b.is_finished() {
                b.abandon();
            }
        }
    }

    /// The steps' counters in source order (steps never reached included).
    pub fn steps(&self) -> Vec<(String, StepStats)> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.steps.values().cloned().collect()
    }

    /// Failures of tasks whose last attempt failed.
    pub fn failures(&self) -> Vec<Failure> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.failures.values().cloned().collect()
    }
}

/// `N tasks: D done, R running, F failed, T retries` over every step.
fn totals<'a>(steps: impl Iterator<Item = &'a StepStats>) -> String {
    let (mut done, mut running, mut failed, mut retries) = (0, 0, 0, 0);
    for s in steps {
        done += s.done;
        running += s.running;
        failed += s.failed;
        retries += s.retries;
    }
    format!("tasks: {done} done, {running} running, {failed} failed, {retries} retries")
}

fn widen(span: &mut Option<(Duration, Duration)>, start: Duration, end: Duration) {
    *span = Some(match *span {
        None => (start, end),
        Some((a, b)) => (a.min(start), b.max(end)),
    });
}

/// `1.2s`, `3m04s`.
pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s as u64) % 60)
    }
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}.{}", s / 60, s % 60, d.subsec_millis() / 100)
}

/// The summary table: one row per step (tasks, cloned, attempts, failed attempts, task time,
/// wall time, status), fixed-width columns.
pub fn summary_table(steps: &[(String, StepStats)]) -> String {
    let w = steps.iter().map(|(n, _)| n.len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "{:<w$}  {:>6}  {:>6}  {:>8}  {:>6}  {:>9}  {:>9}  status\n",
        "step", "tasks", "cloned", "attempts", "failed", "task time", "wall"
    );
    for (name, s) in steps {
        let wall = s
            .span
            .map(|(a, b)| secs(b.saturating_sub(a)))
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "{:<w$}  {:>6}  {:>6}  {:>8}  {:>6}  {:>9}  {:>9}  {}\n",
            name,
            s.done + s.failed,
            s.cloned,
            s.attempts,
            s.failed_attempts,
            secs(s.busy),
            wall,
            s.status()
        ));
    }
    out
}

/// The steps' counters as JSON (for `--json`).
pub fn steps_json(steps: &[(String, StepStats)]) -> Value {
    steps
        .iter()
        .map(|(name, s)| {
            json!({
                "step": name,
                "tasks": s.done + s.failed,
                "succeeded": s.done,
                "cloned": s.cloned,
                "failed": s.failed,
                "attempts": s.attempts,
                "failed_attempts": s.failed_attempts,
                "task_seconds": s.busy.as_secs_f64(),
                "status": s.status(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retried_task_that_succeeds_is_not_failed() {
        let p = Progress::new(Display::Quiet, &["a".into()], "t");
        let f = Failure::from_cause("a", r#"{"Container":{"ExitCode":3,"Reason":"boom"}}"#);
        assert_eq!(f.exit_code, Some(3));
        p.started("a", 0);
        p.finished("a", "a", 0, Duration::from_millis(10), Some(f));
        assert_eq!(p.steps()[0].1.status(), "failed");
        p.started("a", 1);
        p.finished("a", "a", 1, Duration::from_millis(10), None);
        let s = &p.steps()[0].1;
        assert_eq!(
            (s.done, s.failed, s.attempts, s.retries, s.failed_attempts),
            (1, 0, 2, 1, 1)
        );
        assert_eq!(s.status(), "succeeded");
        assert!(p.failures().is_empty());
        let t = summary_table(&p.steps());
        assert!(t.lines().nth(1).unwrap().starts_with("a "), "{t}");
    }

    #[test]
    fn only_a_running_command_counts_as_running() {
        let p = Progress::new(Display::Quiet, &["a".into()], "t");
        p.started("a", 0);
        p.started("a", 0);
        let running = |p: &Progress| p.steps()[0].1.running;
        assert_eq!(running(&p), 0, "being set up");
        p.process("a", true);
        assert_eq!(running(&p), 1);
        assert_eq!(p.steps()[0].1.status(), "running");
        p.process("a", false);
        assert_eq!(running(&p), 0, "storing its outputs");
        p.finished("a", "a/0", 0, Duration::from_millis(10), None);
        p.finished("a", "a/1", 0, Duration::from_millis(10), None);
        let s = &p.steps()[0].1;
        assert_eq!((s.done, s.running), (2, 0));
    }
}
