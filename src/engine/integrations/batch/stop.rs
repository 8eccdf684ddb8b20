//! Stopping a job from outside as AWS Batch's `TerminateJob` stops its container: `SIGTERM`
//! to the job's process group, then `SIGKILL` once [`BatchOptions::stop_grace`] has passed,
//! or at once when the job's main process exits first (as when a job ends on its own, no
//! grandchild outlives it).
//!
//! A job is stopped from outside when its task future is dropped while its process runs: a
//! state's `TimeoutSeconds`, a failed or stopped execution, a failed Parallel branch. This
//! module stops the jobs that [`super::run_process`] runs on the tokio runtime; an attempt
//! that a hook wraps runs on a thread of its own, which stops it the same way
//! (`blocking::Cancel`). Step
//! Functions does not wait for the job to stop, so neither does the engine: the stop goes on
//! in the background, on one thread shared by all stops. Meanwhile the job's output is still
//! read (by the tasks of the tokio runtime that started it: a job writing to a closed pipe
//! would die of `SIGPIPE` before its `SIGTERM` handler ends), so whoever owns that runtime
//! awaits [`stops_ended`] before dropping it: [`crate::engine::exec::execute`] does at the
//! end of every execution. [`wait_for_stops`] waits without a runtime; the `flowc` binary
//! calls it before it exits, so that no job outlives the process that ran it.
//!
//! The main process is reaped only after its group was sent `SIGKILL`: until then the
//! group's id cannot be given to another process, so the signal cannot reach an unrelated
//! group. (Where the kernel has no pidfd, before Linux 5.3, the main process's exit is
//! found by reaping it; the group id is then held only by the group's other processes, if
//! any.)
//!
//! [`BatchOptions::stop_grace`]: super::BatchOptions::stop_grace

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How often the stopping thread looks at the jobs it stops.
const POLL: Duration = Duration::from_millis(20);

/// A job being stopped.
struct Stopping {
    child: tokio::process::Child,
    /// The job's process group (its main process's pid).
    pgid: i32,
    /// Readable once the main process has exited (not reaped).
    pidfd: Option<OwnedFd>,
    /// When `SIGKILL` goes to the group if the main process still runs.
    kill_at: Instant,
    /// `SIGKILL` was sent: what is left is reaping the main process.
    killed: bool,
}

impl Stopping {
    /// Moves the stop on; `true` once the main process is reaped (the stop has ended).
    fn advance(&mut self, now: Instant) -> bool {
        if !self.killed {
            let exited = match &self.pidfd {
                Some(fd) => readable(fd),
                None => !matches!(self.child.try_wait(), Ok(None)),
            };
            if exited || now >= self.kill_at {
                super::kill_group(Some(self.pgid));
                self.killed = true;
            }
        }
        self.killed && !matches!(self.child.try_wait(), Ok(None))
    }
}

/// Whether `fd` (a pidfd) is readable now.
fn readable(fd: &OwnedFd) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd structure for the whole call; a zero timeout does not block.
    unsafe { libc::poll(&mut p, 1, 0) > 0 }
}

/// The jobs being stopped, and the thread that stops them.
struct Stops {
    jobs: Mutex<Vec<Stopping>>,
    /// Notified when a job is added (wakes the thread) and when the list empties (wakes
    /// [`wait_for_stops`]).
    changed: Condvar,
}

static STOPS: Stops = Stops {
    jobs: Mutex::new(Vec::new()),
    changed: Condvar::new(),
};

/// Whether the stopping thread runs; set when the first stop begins.
static THREAD: OnceLock<bool> = OnceLock::new();

impl Stops {
    fn jobs(&self) -> MutexGuard<'_, Vec<Stopping>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The stopping thread's loop: sleeps while there is nothing to stop.
    fn run(&self) {
        let mut jobs = self.jobs();
        loop {
            if jobs.is_empty() {
                jobs = self.changed.wait(jobs).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            let now = Instant::now();
            jobs.retain_mut(|j| !j.advance(now));
            if jobs.is_empty() {
                self.changed.notify_all();
                continue;
            }
            jobs = self
                .changed
                .wait_timeout(jobs, POLL)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Stops the job whose main process is `child` (leading its own process group): `SIGTERM`
/// to the group now, `SIGKILL` after `grace` or when the main process exits, whichever
/// comes first; returns at once. A child already reaped has had its group killed.
pub(super) fn stop(child: tokio::process::Child, grace: Duration) {
    let Some(pid) = child.id() else {
        return;
    };
    let pgid = pid as i32;
    // The main process is not reaped, so the group id is still this job's.
    super::signal_group(Some(pgid), libc::SIGTERM);
    let mut job = Stopping {
        child,
        pgid,
        pidfd: super::blocking::pidfd_open(pgid),
        kill_at: Instant::now() + grace,
        killed: false,
    };
    let thread = THREAD.get_or_init(|| {
        std::thread::Builder::new()
            .name("flowc-batch-stop".into())
            .spawn(|| STOPS.run())
            .is_ok()
    });
    if *thread {
        STOPS.jobs().push(job);
        STOPS.changed.notify_all();
        return;
    }
    // No thread to stop it in the background: kill the group now.
    job.kill_at = Instant::now();
    while !job.advance(Instant::now()) {
        std::thread::sleep(POLL);
    }
}

/// Waits until every job stopped from outside (see the module documentation) has been
/// killed and reaped: at most the longest grace left, plus the time the kernel takes to end
/// the processes. Returns at once when none is being stopped.
pub fn wait_for_stops() {
    if THREAD.get().is_none() {
        return;
    }
    let mut jobs = STOPS.jobs();
    while !jobs.is_empty() {
        jobs = STOPS.changed.wait(jobs).unwrap_or_else(|e| e.into_inner());
    }
}

/// Sends `SIGKILL` now to the groups of the jobs being stopped, instead of at the end of
/// their grace (a second Ctrl-C: the user does not want to wait). Returns at once; the
/// stopping thread sends the signals within 20 ms and reaps the main processes.
pub fn kill_stops_now() {
    if THREAD.get().is_none() {
        return;
    }
    let now = Instant::now();
    for job in STOPS.jobs().iter_mut() {
        job.kill_at = job.kill_at.min(now);
    }
    STOPS.changed.notify_all();
}

/// [`wait_for_stops`] for async callers: resolves once no job is being stopped, polling
/// every 20 ms, so the runtime that awaits it goes on reading the stopped jobs' output.
pub async fn stops_ended() {
    while THREAD.get().is_some() && !STOPS.jobs().is_empty() {
        tokio::time::sleep(POLL).await;
    }
}
