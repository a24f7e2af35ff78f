//! openraft's async runtime: tokio, with random numbers from a seeded per-thread stream.
//!
//! openraft draws its randomized election timeouts and tick jitter from
//! `AsyncRuntime::thread_rng()`. With tokio's runtime that is the OS-seeded thread RNG, so two
//! runs of the same experiment elect at different moments. [`SeededTokio`] is tokio's
//! runtime with one change: each call of `thread_rng()` returns a generator seeded from the
//! next value of a per-thread SplitMix64 stream. [`seed_this_thread`] resets that stream;
//! a Raft cluster calls it with its seed when it starts. Under the sim engine every task
//! of a run runs on one thread in a deterministic order, so the whole sequence of draws,
//! and with it every election, is the same on every run of the same seed.
//!
//! (openraft ships `DeterministicRng<RT>` for the same purpose, but it keeps its seed in a
//! task-local that must be set around every task that calls into openraft, including the
//! node tasks caplab spawns; a per-thread stream needs no such bookkeeping.)
//!
//! Deliberately left out: determinism under the real engine (its tasks run on several
//! threads in an order the OS decides; other threads' streams start from OS entropy).

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::time::Duration;

use openraft::rt::AsyncRuntime;
use openraft::OptionalSend;
use openraft_rt_tokio::TokioRuntime;
use rand010::rngs::SmallRng;
use rand010::SeedableRng;

thread_local! {
    static STREAM: Cell<u64> = Cell::new(rand::random());
}

/// Restarts this thread's stream of openraft seeds at `seed`.
pub fn seed_this_thread(seed: u64) {
    STREAM.with(|s| s.set(seed));
}

/// SplitMix64's step: a bijective mixer, so successive seeds never repeat early.
fn next_seed() -> u64 {
    STREAM.with(|s| {
        let z = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(z);
        let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// tokio's runtime for openraft, with seeded random numbers (see the module docs).
#[derive(Debug)]
pub struct SeededTokio(TokioRuntime);

type Inner = TokioRuntime;

impl AsyncRuntime for SeededTokio {
    type JoinError = <Inner as AsyncRuntime>::JoinError;
    type JoinHandle<T: OptionalSend + 'static> = <Inner as AsyncRuntime>::JoinHandle<T>;
    type Sleep = <Inner as AsyncRuntime>::Sleep;
    type Instant = <Inner as AsyncRuntime>::Instant;
    type TimeoutError = <Inner as AsyncRuntime>::TimeoutError;
    type Timeout<R, T: Future<Output = R> + OptionalSend> = <Inner as AsyncRuntime>::Timeout<R, T>;
    type ThreadLocalRng = SmallRng;

    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        Inner::spawn(future)
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        Inner::sleep(duration)
    }

    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        Inner::sleep_until(deadline)
    }

    fn timeout<R, F: Future<Output = R> + OptionalSend>(
        duration: Duration,
        future: F,
    ) -> Self::Timeout<R, F> {
        Inner::timeout(duration, future)
    }

    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(
        deadline: Self::Instant,
        future: F,
    ) -> Self::Timeout<R, F> {
        Inner::timeout_at(deadline, future)
    }

    fn is_panic(join_error: &Self::JoinError) -> bool {
        Inner::is_panic(join_error)
    }

    fn thread_rng() -> Self::ThreadLocalRng {
        SmallRng::seed_from_u64(next_seed())
    }

    type Mpsc = <Inner as AsyncRuntime>::Mpsc;
    type Watch = <Inner as AsyncRuntime>::Watch;
    type Oneshot = <Inner as AsyncRuntime>::Oneshot;
    type Mutex<T: OptionalSend + 'static> = <Inner as AsyncRuntime>::Mutex<T>;

    fn new(threads: usize) -> Self {
        SeededTokio(Inner::new(threads))
    }

    fn block_on<F, T>(&mut self, future: F) -> T
    where
        F: Future<Output = T>,
    {
        self.0.block_on(future)
    }

    fn spawn_blocking<F, T>(f: F) -> impl Future<Output = Result<T, io::Error>> + Send
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let run = crate::sim::blocking(f);
        async move { run.await.map_err(io::Error::other) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand010::RngExt;

    #[test]
    fn the_same_seed_gives_the_same_draws() {
        let draws = || {
            (0..5)
                .map(|_| SeededTokio::thread_rng().random_range(150u64..300))
                .collect::<Vec<_>>()
        };
        seed_this_thread(7);
        let a = draws();
        seed_this_thread(7);
        let b = draws();
        seed_this_thread(8);
        let c = draws();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
