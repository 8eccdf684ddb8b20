//! An attempt run whole on one blocking thread: the hook's start, the process, its output
//! and the hook's end, with no hand-off between threads in between.
//!
//! The async path ([`super::run_process`]) moves each attempt between threads four times
//! (hook start on the blocking pool, spawn and output pumps on the runtime, hook end on the
//! pool again), and the runtime thread is suspended while each child is set up (`vfork`).
//! With thousands of short tasks those hand-offs, not the work, set the pace, so attempts
//! that have a hook run here instead: one blocking thread per running attempt, `poll(2)` on
//! the two pipes and a pidfd (Linux ≥ 5.3; without it the child is polled every 20 ms).
//!
//! Cancellation (the task future dropped: state timeout, failed execution, interruption)
//! goes through [`Cancel`]: the process group gets `SIGTERM`, and `SIGKILL` once
//! [`BatchOptions::stop_grace`] has passed or the main process has exited (as
//! [`super::stop`] stops a job without a hook); the attempt then ends without calling the
//! hook's `finish` (the [`AttemptHook`] contract). This thread still reads the output
//! meanwhile, and the runtime that spawned it waits for it before it shuts down.

use super::{
    clip, command, emit, exit_code, push_tail, start, AttemptHook, AttemptStart, BatchHook,
    BatchOptions, GroupGuard, JobSpec, Launch, OutputLines, ProcessOutcome, ProcessSeen, Stream,
};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Poll interval for the child's exit when no pidfd can be opened.
const EXIT_POLL: Duration = Duration::from_millis(20);

/// Longest wait on a running process before looking whether its attempt was cancelled
/// (a cancellation only sends `SIGTERM`; the `SIGKILL` after the grace is sent from here).
const CANCEL_CHECK: Duration = Duration::from_millis(100);

/// What a blocking attempt came to.
pub(super) enum Ran {
    /// The hook did not wrap the attempt: the caller handles it as before.
    NotWrapped(AttemptStart),
    /// The wrapped process ran (or could not start: `Err`) and the hook finished it; the
    /// outcome's code and tail include what the hook's `finish` reported.
    Finished(Result<ProcessOutcome, String>),
    /// Cancelled while running; the hook was dropped without `finish`.
    Cancelled,
}

/// The cancellation state shared by an attempt's future and its blocking thread.
#[derive(Default)]
pub(super) struct Cancel {
    state: Mutex<CancelState>,
    /// Notified once on cancellation: wakes the thread if it waits for a slot
    /// ([`wait_for_slot`]). `notify_one` keeps the notification when nobody waits yet.
    wake: tokio::sync::Notify,
}

#[derive(Default)]
enum CancelState {
    /// No process: not started yet, or reaped.
    #[default]
    Idle,
    /// The process runs, leading the process group with this id.
    Running(i32),
    /// The attempt's future was dropped, at this instant.
    Cancelled(Instant),
}

impl Cancel {
    /// Records the process group `pgid`; `false` when the attempt was already cancelled
    /// (the caller kills the group).
    fn started(&self, pgid: i32) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match *s {
            CancelState::Cancelled(_) => false,
            _ => {
                *s = CancelState::Running(pgid);
                true
            }
        }
    }

    /// The process was reaped: a later cancellation must not signal its group id, which the
    /// system may give to another process.
    fn ended(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let CancelState::Running(_) = *s {
            *s = CancelState::Idle;
        }
    }

    /// Marks the attempt cancelled and sends `SIGTERM` to its process group if it runs
    /// (the thread running it sends `SIGKILL` after the grace).
    pub(super) fn cancel(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match *s {
            CancelState::Running(pgid) => {
                // `Running` ends right after the leader is reaped (`ended`), so until then the
                // id is this attempt's group's.
                super::signal_group(Some(pgid), libc::SIGTERM);
            }
            CancelState::Cancelled(_) => return,
            CancelState::Idle => {}
        }
        *s = CancelState::Cancelled(Instant::now());
        self.wake.notify_one();
    }

    /// When the attempt was cancelled, if it was.
    fn cancelled_at(&self) -> Option<Instant> {
        match *self.state.lock().unwrap_or_else(|e| e.into_inner()) {
            CancelState::Cancelled(at) => Some(at),
            _ => None,
        }
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled_at().is_some()
    }
}

/// Cancels the attempt when dropped before [`CancelOnDrop::disarm`].
pub(super) struct CancelOnDrop(pub(super) Option<Arc<Cancel>>);

impl CancelOnDrop {
    /// The attempt ended on its own: nothing to cancel.
    pub(super) fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.cancel();
        }
    }
}

/// One attempt of the job `spec` (attempt `n`, 1-based) with its `hook`, on the calling
/// (blocking) thread.
pub(super) fn attempt(
    hook: &dyn BatchHook,
    spec: &JobSpec,
    n: u32,
    opts: &BatchOptions,
    (batch_env, timeout): (&[(String, String)], Option<u64>),
    cancel: &Cancel,
) -> Ran {
    let wrapper = match hook.start_attempt(spec, n) {
        AttemptStart::Wrapped(w) => w,
        other => return Ran::NotWrapped(other),
    };
    if cancel.is_cancelled() {
        return Ran::Cancelled;
    }
    let outcome = run(spec, wrapper.launch(), opts, (batch_env, timeout), cancel);
    if cancel.is_cancelled() {
        return Ran::Cancelled;
    }
    Ran::Finished(outcome.map(|o| finish(wrapper, o, spec, opts)))
}

/// Hands the process's end to the hook; its code replaces the process's and its lines go
/// to the sink and the tail.
fn finish(
    wrapper: Box<dyn AttemptHook>,
    mut o: ProcessOutcome,
    spec: &JobSpec,
    opts: &BatchOptions,
) -> ProcessOutcome {
    let (code, lines) = wrapper.finish(o.code, o.timed_out);
    o.code = code;
    for line in lines {
        emit(&opts.sink, &spec.job_name, Stream::Stderr, &line);
        push_tail(&mut o.tail, clip(line), opts.stderr_tail_lines);
    }
    o
}

/// Runs `launch` in a new process group as [`super::run_process`] does, on this thread.
fn run(
    spec: &JobSpec,
    launch: &Launch,
    opts: &BatchOptions,
    (batch_env, timeout): (&[(String, String)], Option<u64>),
    cancel: &Cancel,
) -> Result<ProcessOutcome, String> {
    let mut slot = match &opts.slots {
        Some(slots) => Some(wait_for_slot(slots, cancel).ok_or("the attempt was cancelled")?),
        None => None,
    };
    let mut child = start(spec, launch, opts, batch_env, |file, program, args| {
        command((file, program), args, spec, launch, opts, batch_env).spawn()
    })?;
    let pid = child.id() as i32;
    let mut guard = GroupGuard(Some(pid));
    let mut seen = ProcessSeen::new(opts, &spec.job_name);
    if !cancel.started(pid) {
        guard.kill();
    }
    let (out_log, err_log) = match &launch.logs {
        Some((o, e)) => (Some(o.as_path().into()), Some(e.as_path().into())),
        None => (None, None),
    };
    let stdout = child.stdout.take().map(OwnedFd::from);
    let stderr = child.stderr.take().map(OwnedFd::from);
    let job = spec.job_name.as_str();
    let mut streams = [
        Lines::new(
            stdout,
            OutputLines::new(Stream::Stdout, out_log, 0, opts, job),
        ),
        Lines::new(
            stderr,
            OutputLines::new(Stream::Stderr, err_log, opts.stderr_tail_lines, opts, job),
        ),
    ];
    let deadline = timeout.map(|t| Instant::now() + Duration::from_secs(t));
    let pidfd = pidfd_open(pid);
    let mut status = None;
    let mut timed_out = false;
    // When the attempt's duration ran out (`SIGTERM` sent; `SIGKILL` after the grace).
    let mut terminated_at = None;
    let status = loop {
        if status.is_none() {
            status = child.try_wait().ok().flatten();
            if status.is_some() {
                // AWS Batch stops the container when its essential process exits.
                guard.kill();
                cancel.ended();
                seen.end();
                // The process is gone: another job may start while this one's output
                // drains and the hook stores its results.
                drop(slot.take());
            }
        }
        if let Some(s) = status.filter(|_| streams.iter().all(Lines::ended)) {
            break s;
        }
        let mut wait = None;
        if status.is_none() {
            if let Some(d) = deadline.filter(|_| !timed_out) {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    // AWS Batch terminates an attempt past its duration as TerminateJob does.
                    timed_out = true;
                    super::signal_group(guard.0, libc::SIGTERM);
                    terminated_at = Some(Instant::now());
                    continue;
                }
                wait = Some(left);
            }
            if pidfd.is_none() {
                wait = Some(wait.map_or(EXIT_POLL, |w| w.min(EXIT_POLL)));
            }
            // Until the group is killed: the grace of a stop (a cancellation or the attempt's
            // duration), or the next look for a cancellation.
            if guard.0.is_some() {
                let stopped = cancel.cancelled_at().into_iter().chain(terminated_at).min();
                let check = match stopped {
                    Some(at) => (at + opts.stop_grace).saturating_duration_since(Instant::now()),
                    None => CANCEL_CHECK,
                };
                if check.is_zero() {
                    guard.kill();
                    continue;
                }
                wait = Some(wait.map_or(check, |w| w.min(check)));
            }
        }
        let exit_fd = pidfd.as_ref().filter(|_| status.is_none());
        poll_once(&mut streams, exit_fd.map(AsRawFd::as_raw_fd), wait);
    };
    let [stdout, stderr] = streams;
    stdout.out.end();
    Ok(ProcessOutcome {
        code: exit_code(status),
        tail: stderr.out.end(),
        timed_out,
    })
}

/// A permit of `slots` for one process, waiting on this thread until one is free; `None`
/// when the attempt is cancelled first.
fn wait_for_slot(
    slots: &Arc<tokio::sync::Semaphore>,
    cancel: &Cancel,
) -> Option<tokio::sync::OwnedSemaphorePermit> {
    if let Ok(p) = slots.clone().try_acquire_owned() {
        return Some(p);
    }
    futures::executor::block_on(async {
        let acquire = std::pin::pin!(slots.clone().acquire_owned());
        let cancelled = std::pin::pin!(cancel.wake.notified());
        match futures::future::select(acquire, cancelled).await {
            futures::future::Either::Left((permit, _)) => permit.ok(),
            futures::future::Either::Right(_) => None,
        }
    })
}

/// One `poll(2)` over the open streams (and `exit_fd`, the child's pidfd) for at most
/// `wait` (`None`: until one is ready); reads what is ready.
fn poll_once(streams: &mut [Lines; 2], exit_fd: Option<RawFd>, wait: Option<Duration>) {
    let mut fds: Vec<libc::pollfd> = streams
        .iter()
        .filter_map(|l| l.file.as_ref().map(AsRawFd::as_raw_fd))
        .chain(exit_fd)
        .map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = wait.map_or(-1, |w| w.as_millis().clamp(1, i32::MAX as u128) as i32);
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structures for the whole call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if n <= 0 {
        return;
    }
    for lines in streams.iter_mut() {
        let Some(fd) = lines.file.as_ref().map(AsRawFd::as_raw_fd) else {
            continue;
        };
        if fds.iter().any(|p| p.fd == fd && p.revents != 0) {
            lines.read();
        }
    }
}

/// A pidfd for `pid` (readable once it exits), `None` where the kernel has none.
pub(super) fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative result is a descriptor this process now owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// One output pipe of the process and the lines read from it.
struct Lines<'a> {
    /// The pipe; `None` once it reached its end.
    file: Option<std::fs::File>,
    out: OutputLines<'a>,
}

impl<'a> Lines<'a> {
    fn new(fd: Option<OwnedFd>, out: OutputLines<'a>) -> Lines<'a> {
        Lines {
            file: fd.map(std::fs::File::from),
            out,
        }
    }

    fn ended(&self) -> bool {
        self.file.is_none()
    }

    /// Reads what is available; closes the pipe at its end.
    fn read(&mut self) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let mut buf = [0u8; 8192];
        match file.read(&mut buf) {
            Ok(0) => self.file = None,
            Ok(n) => self.out.feed(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => self.file = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{LocalBatch, OutputSink, SUBMIT_JOB_SYNC, TIMED_OUT};
    use super::*;
    use crate::engine::integrations::{Integration, TaskRequest};
    use serde_json::{json, Value};

    /// A runtime that wraps every attempt around `sh -c SCRIPT` in `dir` and records how
    /// `finish` was called.
    struct Wrap {
        script: String,
        dir: std::path::PathBuf,
        finished: Arc<Mutex<Option<(i32, bool)>>>,
    }

    struct WrapAttempt {
        launch: Launch,
        finished: Arc<Mutex<Option<(i32, bool)>>>,
    }

    impl BatchHook for Wrap {
        fn prepare(&self, _job: &mut JobSpec) -> Result<(), String> {
            Ok(())
        }

        fn start_attempt(&self, _job: &JobSpec, _attempt: u32) -> AttemptStart {
            AttemptStart::Wrapped(Box::new(WrapAttempt {
                launch: Launch {
                    argv: vec!["sh".into(), "-c".into(), self.script.clone()],
                    cwd: self.dir.clone(),
                    ..Launch::default()
                },
                finished: self.finished.clone(),
            }))
        }
    }

    impl AttemptHook for WrapAttempt {
        fn launch(&self) -> &Launch {
            &self.launch
        }

        fn finish(self: Box<Self>, code: i32, timed_out: bool) -> (i32, Vec<String>) {
            *self.finished.lock().unwrap() = Some((code, timed_out));
            (code, vec![])
        }
    }

    type Seen = Arc<Mutex<Vec<(Stream, String)>>>;

    struct Setup {
        batch: LocalBatch,
        dir: tempfile::TempDir,
        finished: Arc<Mutex<Option<(i32, bool)>>>,
        seen: Seen,
    }

    fn wrapped(script: &str) -> Setup {
        wrapped_with(script, super::super::STOP_GRACE)
    }

    /// [`wrapped`] with `stop_grace`.
    fn wrapped_with(script: &str, stop_grace: Duration) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let finished = Arc::new(Mutex::new(None));
        let seen: Seen = Arc::default();
        let sink_seen = seen.clone();
        let batch = LocalBatch::new(BatchOptions {
            sink: OutputSink::Lines(Arc::new(move |_job: &str, w: Stream, line: &str| {
                sink_seen.lock().unwrap().push((w, line.to_string()));
            })),
            hook: Some(Arc::new(Wrap {
                script: script.into(),
                dir: dir.path().to_path_buf(),
                finished: finished.clone(),
            })),
            stop_grace,
            ..Default::default()
        });
        Setup {
            batch,
            dir,
            finished,
            seen,
        }
    }

    fn request(timeout: Option<u64>) -> TaskRequest {
        let mut parameters = json!({
            "JobName": "train", "JobQueue": "ml", "JobDefinition": "def",
            "ContainerOverrides": {"Command": ["unused"]}
        });
        if let Some(t) = timeout {
            parameters["Timeout"] = json!({"AttemptDurationSeconds": t});
        }
        TaskRequest {
            resource: SUBMIT_JOB_SYNC.into(),
            parameters,
            state_machine: "sm".into(),
            state: "Train".into(),
            execution_name: "exec".into(),
            attempt: 0,
            timeout_seconds: None,
        }
    }

    fn cause(err: crate::engine::StatesError) -> Value {
        serde_json::from_str(err.cause.as_deref().unwrap()).unwrap()
    }

    fn alive(pid: i32) -> bool {
        // SAFETY: signal 0 only checks that the process exists.
        unsafe { libc::kill(pid, 0) == 0 }
    }

    #[tokio::test]
    async fn lines_reach_the_sink_and_the_tail_even_without_a_last_newline() {
        let s = wrapped("printf 'a\\nb'; printf 'x\\n\\377\\ny' >&2; exit 3");
        let err = s.batch.invoke(request(None)).await.unwrap_err();
        let c = cause(err);
        assert_eq!(c["Container"]["ExitCode"], 3);
        assert_eq!(c["Container"]["Reason"], "x\n\u{fffd}\ny");
        let seen = s.seen.lock().unwrap().clone();
        let out: Vec<_> = seen.iter().filter(|(w, _)| *w == Stream::Stdout).collect();
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].1.as_str(), out[1].1.as_str()), ("a", "b"));
        assert_eq!(*s.finished.lock().unwrap(), Some((3, false)));
    }

    #[tokio::test]
    async fn long_output_on_both_streams_does_not_block() {
        // More than a pipe buffer on each stream, interleaved.
        let s = wrapped(
            "for i in $(seq 3000); do echo \"out $i\"; echo \"err $i\" >&2; done; \
             head -c 3000 /dev/zero | tr '\\0' x >&2",
        );
        let run = s.batch.invoke(request(None));
        let out = tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(out["Status"], "SUCCEEDED");
        let seen = s.seen.lock().unwrap();
        assert_eq!(
            seen.iter().filter(|(w, _)| *w == Stream::Stdout).count(),
            3000
        );
        let last = seen
            .iter()
            .rev()
            .find(|(w, _)| *w == Stream::Stderr)
            .unwrap();
        assert_eq!(last.1.len(), 3000);
    }

    /// `SIGTERM` first (exit code 143 for a shell without a handler), as AWS Batch
    /// terminates an attempt past its duration; the group goes with the shell.
    #[tokio::test]
    async fn the_attempt_duration_stops_the_group_and_finish_hears_it() {
        let s = wrapped("sleep 30 & echo $! > bg; sleep 30");
        let started = Instant::now();
        let err = s.batch.invoke(request(Some(1))).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        let c = cause(err);
        assert_eq!(c["StatusReason"], TIMED_OUT);
        assert_eq!(c["Container"]["ExitCode"], 143);
        assert_eq!(*s.finished.lock().unwrap(), Some((143, true)));
        let bg: i32 = std::fs::read_to_string(s.dir.path().join("bg"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(wait_gone(bg), "a process of the group outlived the timeout");
    }

    /// A command that ignores `SIGTERM` past its attempt duration is killed after the grace.
    #[tokio::test]
    async fn the_attempt_duration_kills_what_ignores_sigterm_after_the_grace() {
        let grace = Duration::from_millis(500);
        let s = wrapped_with("trap '' TERM; while :; do sleep 0.05; done", grace);
        let started = Instant::now();
        let err = s.batch.invoke(request(Some(1))).await.unwrap_err();
        assert!(started.elapsed() >= Duration::from_secs(1) + grace);
        assert_eq!(cause(err)["Container"]["ExitCode"], 137);
        assert_eq!(*s.finished.lock().unwrap(), Some((137, true)));
    }

    /// `true` once `pid` is gone (within 5 s); a killed child of a killed shell is reaped
    /// by init, which may take a moment.
    fn wait_gone(pid: i32) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if !alive(pid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Starts the attempt and drops it after 700 ms, while its command still runs.
    async fn drop_while_running(s: &Setup) {
        let run = s.batch.invoke(request(None));
        let cut = tokio::time::timeout(Duration::from_millis(700), run).await;
        assert!(cut.is_err(), "the attempt must still be running");
    }

    /// The pid the command wrote to `file` in its folder.
    fn pid_in(s: &Setup, file: &str) -> i32 {
        std::fs::read_to_string(s.dir.path().join(file))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    #[tokio::test]
    async fn a_dropped_attempt_kills_its_group_and_is_not_finished() {
        let s = wrapped("sleep 30 & echo $! > bg; echo $$ > pid; sleep 30");
        drop_while_running(&s).await;
        let (bg, main) = (pid_in(&s, "bg"), pid_in(&s, "pid"));
        assert!(
            wait_gone(main) && wait_gone(bg),
            "the group outlived its attempt"
        );
        // The blocking thread notices the end and returns without finishing.
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(*s.finished.lock().unwrap(), None);
    }

    /// As AWS Batch's `TerminateJob`: `SIGTERM` first, so the command can clean up.
    #[tokio::test]
    async fn a_dropped_attempt_gets_sigterm_before_sigkill() {
        let s = wrapped("trap 'echo cleaned > cleaned; exit 3' TERM; echo $$ > pid; while :; do sleep 0.05; done");
        drop_while_running(&s).await;
        let main = pid_in(&s, "pid");
        assert!(wait_gone(main), "the command outlived its attempt");
        assert_eq!(
            std::fs::read_to_string(s.dir.path().join("cleaned")).unwrap_or_default(),
            "cleaned\n",
            "the command's SIGTERM handler did not run"
        );
    }

    /// A command that ignores `SIGTERM` is killed with its group once the grace has passed.
    #[tokio::test]
    async fn a_dropped_attempt_that_ignores_sigterm_is_killed_after_the_grace() {
        let grace = Duration::from_millis(600);
        let s = wrapped_with(
            "trap '' TERM; echo $$ > pid; sleep 30 & echo $! > bg; while :; do sleep 0.05; done",
            grace,
        );
        drop_while_running(&s).await;
        let stopped = Instant::now();
        let (main, bg) = (pid_in(&s, "pid"), pid_in(&s, "bg"));
        std::thread::sleep(grace / 3);
        assert!(alive(main), "killed at once instead of getting SIGTERM");
        assert!(
            wait_gone(main) && wait_gone(bg),
            "the group outlived the grace"
        );
        // `stopped` is taken just after the drop: allow for the instants between.
        assert!(
            stopped.elapsed() + Duration::from_millis(50) >= grace,
            "killed before the grace"
        );
    }

    #[test]
    fn an_attempt_cancelled_before_its_process_starts_is_not_recorded_as_running() {
        let c = Cancel::default();
        c.cancel();
        assert!(c.is_cancelled());
        assert!(!c.started(i32::MAX));
    }

    /// A wrapped process is reported when it starts and when it ends, once each.
    #[tokio::test]
    async fn a_wrapped_process_is_reported_when_it_starts_and_ends() {
        let dir = tempfile::tempdir().unwrap();
        let finished = Arc::new(Mutex::new(None));
        let (on_process, events) = super::super::tests::process_events();
        let batch = LocalBatch::new(BatchOptions {
            sink: OutputSink::Discard,
            on_process: Some(on_process),
            hook: Some(Arc::new(Wrap {
                script: "exit 3".into(),
                dir: dir.path().to_path_buf(),
                finished: finished.clone(),
            })),
            ..Default::default()
        });
        assert!(batch.invoke(request(None)).await.is_err());
        let seen = events.lock().unwrap().clone();
        assert_eq!(
            seen,
            [("train".to_string(), true), ("train".to_string(), false)]
        );
        assert_eq!(*finished.lock().unwrap(), Some((3, false)));
    }

    #[test]
    fn a_slot_is_waited_for_and_a_cancellation_ends_the_wait() {
        let slots = Arc::new(tokio::sync::Semaphore::new(1));
        let held = wait_for_slot(&slots, &Cancel::default()).expect("a free slot");
        // Cancelled before waiting: the notification is kept, the wait ends at once.
        let early = Cancel::default();
        early.cancel();
        assert!(wait_for_slot(&slots, &early).is_none());
        // Cancelled while waiting on another thread.
        let late = Arc::new(Cancel::default());
        let waiter = {
            let (slots, late) = (slots.clone(), late.clone());
            std::thread::spawn(move || wait_for_slot(&slots, &late).is_some())
        };
        std::thread::sleep(Duration::from_millis(100));
        late.cancel();
        assert!(!waiter.join().unwrap(), "a cancelled wait gets no slot");
        // A slot given back goes to the next waiter.
        let next = {
            let slots = slots.clone();
            std::thread::spawn(move || wait_for_slot(&slots, &Cancel::default()).is_some())
        };
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        assert!(next.join().unwrap());
        assert_eq!(slots.available_permits(), 1, "every permit came back");
    }
}
