//! The switch between the two engines, for the few places whose behaviour differs.
//!
//! A run records on one of two engines ([`crate::experiment::Engine`]):
//!
//! - **real**: a multi-threaded tokio runtime, real TCP on 127.0.0.1, the OS's monotonic
//!   clock, and three helper threads that need microsecond timing (the network's delay line,
//!   the pacer, the history writer).
//! - **sim**: the same clusters, schedule, faults and checks on a single-threaded tokio
//!   runtime whose clock is paused: when every task waits, tokio moves the clock straight
//!   to the next timer, so a run takes as long as its CPU work, not its duration. The
//!   network hands frames to in-memory inboxes instead of sockets, the delay line and the
//!   pacer are tasks on that runtime, and every clock the systems read (the run clock, node
//!   wall clocks and skew, openraft's timers and leases, timeouts) is tokio's virtual one.
//!
//! The thread that drives a sim runtime marks itself with [`enter`]; because the runtime is
//! single-threaded, every task of the run sees [`active`] as true, and nothing outside it
//! does. [`now`] is the clock every record of a run uses; [`blocking`] runs work that would
//! go to tokio's blocking pool inline under sim, so that virtual time cannot move while it
//! runs and the order of events cannot depend on a thread's speed.
//!
//! What makes a sim run deterministic (same file and seed, byte-identical history, events
//! and summary) is spread over the code and listed in `docs/architecture.md` ("The sim
//! engine"): ordered maps wherever iteration order can change behaviour, `biased` selects,
//! seeded randomness everywhere (openraft's election timeouts through its
//! `DeterministicRng` runtime wrapper), and no wall-clock reads.
//!
//! Deliberately left out: the history writer thread stays a thread under sim (it only
//! writes what it is given, in the order given, so it cannot change what happens), and
//! virtual time has tokio's timer resolution: a timer fires on a whole millisecond.

use std::cell::Cell;
use std::time::Instant;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

/// True on the thread that drives a sim run (and so in every task of it).
pub fn active() -> bool {
    ACTIVE.with(|a| a.get())
}

/// Runs `f` with this thread marked as driving a sim run.
pub fn enter<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ACTIVE.with(|a| a.set(self.0));
        }
    }
    let _restore = Restore(ACTIVE.with(|a| a.replace(true)));
    f()
}

/// The time now: tokio's virtual clock under sim, the OS's monotonic clock otherwise.
pub fn now() -> Instant {
    if active() {
        tokio::time::Instant::now().into_std()
    } else {
        Instant::now()
    }
}

/// Work that blocks its thread failed to run to its end (it panicked, or the runtime is
/// shutting down).
#[derive(Debug, thiserror::Error)]
#[error("blocking task: {0}")]
pub struct BlockingError(String);

/// Runs `f` on tokio's blocking pool, or inline under sim (where a task's wall-clock time
/// must not exist: the clock could otherwise jump while `f` runs).
pub async fn blocking<T, F>(f: F) -> Result<T, BlockingError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if active() {
        Ok(f())
    } else {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| BlockingError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn enter_marks_only_this_thread_and_restores() {
        assert!(!active());
        enter(|| {
            assert!(active());
            let other = std::thread::spawn(active).join().unwrap();
            assert!(!other);
        });
        assert!(!active());
    }

    #[test]
    fn now_is_virtual_inside_a_paused_runtime() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let (virtual_elapsed, real_elapsed) = enter(|| {
            rt.block_on(async {
                let real = Instant::now();
                let t0 = now();
                tokio::time::sleep(Duration::from_secs(3600)).await;
                (now() - t0, real.elapsed())
            })
        });
        // Timers fire on whole milliseconds of the virtual clock.
        assert!(
            virtual_elapsed >= Duration::from_secs(3600)
                && virtual_elapsed < Duration::from_millis(3_600_002),
            "{virtual_elapsed:?}"
        );
        assert!(real_elapsed < Duration::from_secs(60), "{real_elapsed:?}");
    }
}
