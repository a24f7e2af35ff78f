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

/// Runs CPU-heavy work that no client waits for (encoding and saving a snapshot) on a
/// thread of its own at the lowest scheduling priority (nice 19, on Linux), or
/// inline under sim.
///
/// Every node of a run shares this machine's cores, and every replica reaches its snapshot
/// index at about the same moment: at normal priority three replicas encoding a megabyte
/// each took both cores for 5-15 ms at once and stalled every node of the cluster (a lab
/// artefact: on three machines each replica would encode on its own cores). At the lowest
/// priority the work only takes cores the nodes leave idle, as a background task on a
/// server of its own would.
pub async fn background<T, F>(name: &str, f: F) -> Result<T, BlockingError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if active() {
        return Ok(f());
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            lower_this_thread();
            let _ = tx.send(f());
        })
        .map_err(|e| BlockingError(format!("starting thread {name}: {e}")))?;
    rx.await
        .map_err(|_| BlockingError(format!("thread {name} ended without a result")))
}

/// Lowers the calling thread's scheduling priority to nice 19 (on Linux the nice value is
/// per thread), for threads that do background work beside the nodes (see [`background`]).
/// Best effort: where it fails the work runs at normal priority.
pub fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    // SAFETY: `gettid` has no preconditions; `setpriority` only reads its arguments, and on
    // Linux, with the calling thread's id, changes that thread's nice value.
    unsafe {
        let tid = libc::gettid();
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[cfg(target_os = "linux")]
    #[test]
    fn background_work_runs_on_a_low_priority_thread_of_its_own() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (name, nice) = rt
            .block_on(background("caplab-test-bg", || {
                let name = std::thread::current().name().map(str::to_string);
                // SAFETY: reads this thread's nice value.
                let nice =
                    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
                (name, nice)
            }))
            .unwrap();
        assert_eq!(name.as_deref(), Some("caplab-test-bg"));
        assert_eq!(nice, 19);
        // Under sim, inline on the driving thread.
        let inline = enter(|| rt.block_on(background("x", || std::thread::current().id())));
        assert_eq!(inline.unwrap(), std::thread::current().id());
    }

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
