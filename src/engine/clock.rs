//! Time for an execution: the real clock, or a virtual clock under which `Wait` states and
//! retry intervals take no real time.
//!
//! Virtual time only advances when nothing in the execution can make progress without it:
//! every live *runner* (a branch of the execution: the top level, a Parallel branch, a Map
//! iteration) is either sleeping on the clock or *blocked* waiting for its children. A runner
//! running a Task holds its guard and does not sleep, so virtual time never moves while a real
//! task process runs, and task timeouts (measured in real time) never fire early.
//!
//! Accounting is RAII: [`Clock::runner`] returns a [`Runner`] guard, [`Clock::blocked`] a
//! [`Blocked`] guard, and [`Clock::sleep_until`] registers a sleeper that is removed when its
//! future completes or is dropped, so aborted branches never leave the count wrong.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;

/// Which clock an execution uses (`--clock virtual|real`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockMode {
    /// Wall-clock time; `Wait` really waits.
    #[default]
    Real,
    /// Virtual time starting at the wall-clock time of creation; waits complete instantly
    /// once every runner is waiting.
    Virtual,
}

/// A shared clock handle (cheap to clone).
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Option<Arc<Mutex<VState>>>,
}

#[derive(Debug)]
struct VState {
    now: DateTime<Utc>,
    runners: usize,
    blocked: usize,
    /// Sleepers by (deadline, sequence number).
    sleepers: BTreeMap<(DateTime<Utc>, u64), oneshot::Sender<()>>,
    seq: u64,
}

impl Clock {
    /// A clock of the given mode.
    pub fn new(mode: ClockMode) -> Self {
        match mode {
            ClockMode::Real => Clock { inner: None },
            ClockMode::Virtual => Clock {
                inner: Some(Arc::new(Mutex::new(VState {
                    now: Utc::now(),
                    runners: 0,
                    blocked: 0,
                    sleepers: BTreeMap::new(),
                    seq: 0,
                }))),
            },
        }
    }

    /// True for the virtual clock.
    pub fn is_virtual(&self) -> bool {
        self.inner.is_some()
    }

    fn lock(state: &Mutex<VState>) -> MutexGuard<'_, VState> {
        state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current time (UTC).
    pub fn now(&self) -> DateTime<Utc> {
        match &self.inner {
            None => Utc::now(),
            Some(s) => Self::lock(s).now,
        }
    }

    /// Registers a runner (a branch that makes progress on its own); dropping the guard
    /// unregisters it.
    pub fn runner(&self) -> Runner {
        if let Some(s) = &self.inner {
            Self::lock(s).runners += 1;
        }
        Runner {
            clock: self.clone(),
        }
    }

    /// Marks one runner as blocked on its children until the guard is dropped.
    pub fn blocked(&self) -> Blocked {
        if let Some(s) = &self.inner {
            let mut st = Self::lock(s);
            st.blocked += 1;
            advance_if_idle(&mut st);
        }
        Blocked {
            clock: self.clone(),
        }
    }

    /// Sleeps for `d` (virtual or real).
    pub async fn sleep(&self, d: Duration) {
        let until = ChronoDuration::from_std(d)
            .ok()
            .and_then(|d| self.now().checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.sleep_until(until).await;
    }

    /// Sleeps until `t`; returns at once when `t` is not in the future.
    pub async fn sleep_until(&self, t: DateTime<Utc>) {
        let Some(s) = &self.inner else {
            let d = (t - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::time::sleep(d).await;
            return;
        };
        let (tx, rx) = oneshot::channel();
        let key = {
            let mut st = Self::lock(s);
            if t <= st.now {
                return;
            }
            st.seq += 1;
            let key = (t, st.seq);
            st.sleepers.insert(key, tx);
            advance_if_idle(&mut st);
            key
        };
        let registration = Sleeper {
            state: s.clone(),
            key,
        };
        let _ = rx.await;
        drop(registration);
    }
}

/// Wakes the earliest sleepers when every runner is sleeping or blocked.
fn advance_if_idle(st: &mut VState) {
    while !st.sleepers.is_empty() && st.runners <= st.sleepers.len() + st.blocked {
        let Some((&(deadline, _), _)) = st.sleepers.iter().next() else {
            return;
        };
        if deadline > st.now {
            st.now = deadline;
        }
        let due: Vec<_> = st
            .sleepers
            .range(..=(st.now, u64::MAX))
            .map(|(k, _)| *k)
            .collect();
        for k in due {
            if let Some(tx) = st.sleepers.remove(&k) {
                let _ = tx.send(());
            }
        }
    }
}

struct Sleeper {
    state: Arc<Mutex<VState>>,
    key: (DateTime<Utc>, u64),
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let mut st = Clock::lock(&self.state);
        if st.sleepers.remove(&self.key).is_some() {
            advance_if_idle(&mut st);
        }
    }
}

/// A live runner (see [`Clock::runner`]).
#[derive(Debug)]
pub struct Runner {
    clock: Clock,
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some(s) = &self.clock.inner {
            let mut st = Clock::lock(s);
            st.runners = st.runners.saturating_sub(1);
            advance_if_idle(&mut st);
        }
    }
}

/// A runner blocked on its children (see [`Clock::blocked`]).
#[derive(Debug)]
pub struct Blocked {
    clock: Clock,
}

impl Drop for Blocked {
    fn drop(&mut self) {
        if let Some(s) = &self.clock.inner {
            let mut st = Clock::lock(s);
            st.blocked = st.blocked.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn virtual_sleep_takes_no_real_time_and_advances() {
        let c = Clock::new(ClockMode::Virtual);
        let _r = c.runner();
        let t0 = c.now();
        let real = std::time::Instant::now();
        c.sleep(Duration::from_secs(3600)).await;
        assert!(real.elapsed() < Duration::from_secs(1));
        assert_eq!((c.now() - t0).num_seconds(), 3600);
    }

    #[tokio::test]
    async fn virtual_time_waits_for_busy_runner() {
        let c = Clock::new(ClockMode::Virtual);
        let busy = c.runner();
        let sleeper = c.runner();
        let c2 = c.clone();
        let h = tokio::spawn(async move {
            c2.sleep(Duration::from_secs(10)).await;
            drop(sleeper);
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !h.is_finished(),
            "virtual time advanced while a runner was busy"
        );
        drop(busy);
        h.await.expect("join");
    }

    #[tokio::test]
    async fn dropped_sleeper_unregisters() {
        let c = Clock::new(ClockMode::Virtual);
        let r1 = c.runner();
        let _r2 = c.runner();
        let fut = Box::pin(c.sleep(Duration::from_secs(5)));
        let mut fut = fut;
        let _ = futures::poll!(&mut fut);
        drop(fut);
        drop(r1);
        let t0 = c.now();
        c.sleep(Duration::from_secs(1)).await;
        assert_eq!((c.now() - t0).num_seconds(), 1);
    }
}
