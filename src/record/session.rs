//! The tokio runtime a run (or every point of a sweep) records on, and its stop token.
//!
//! The real engine gets one multi-threaded runtime with I/O for the whole session. The sim
//! engine gets a fresh single-threaded runtime for every [`Session::block_on`] (one per
//! variant), whose clock starts paused (tokio auto-advances it to the next timer whenever
//! every task waits) and which has no I/O driver, so a socket opened by mistake under sim
//! fails loudly instead of silently using real time. A fresh runtime per variant, with
//! tokio's own random choices seeded, makes a variant's run the same whether it runs alone
//! (`--variant`) or after others.
//!
//! Deliberately left out: signals (see `signals`: the caller decides what cancels the
//! token, a signal in the CLI, the test itself in tests).

use std::future::Future;

use tokio_util::sync::CancellationToken;

use super::RecordError;
use crate::experiment::Engine;

/// The seed of tokio's own random choices under sim (which shard of a watch channel a
/// waiter joins, the branch order of an unbiased `select!`). A constant: everything that
/// should vary with the experiment's seed draws from that seed instead.
#[cfg(tokio_unstable)]
const SIM_TOKIO_SEED: &[u8] = b"caplab-sim";

/// True when sim runs are bit-reproducible: tokio's own random choices are seeded, which
/// needs the build flag `--cfg tokio_unstable` (set in `.cargo/config.toml`).
pub const SIM_REPRODUCIBLE: bool = cfg!(tokio_unstable);

/// A runtime for one engine and the token that stops its workload.
pub struct Session {
    /// The real engine's runtime (`None` under sim: each `block_on` builds its own).
    runtime: Option<tokio::runtime::Runtime>,
    pub engine: Engine,
    /// Cancelled to stop the running workload; what was recorded is kept.
    pub stop: CancellationToken,
}

impl Session {
    pub fn start(stop: CancellationToken, engine: Engine) -> Result<Session, RecordError> {
        let runtime = match engine {
            Engine::Real => Some(
                tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .map_err(RecordError::Runtime)?,
            ),
            Engine::Sim => {
                // Fail now rather than at the first variant.
                drop(sim_runtime()?);
                None
            }
        };
        Ok(Session {
            runtime,
            engine,
            stop,
        })
    }

    /// Runs `fut` to its end: on the session's runtime (real), or on a fresh sim runtime
    /// with this thread marked as driving a sim run.
    pub fn block_on<F: Future>(&self, fut: F) -> Result<F::Output, RecordError> {
        match &self.runtime {
            Some(rt) => Ok(rt.block_on(fut)),
            None => {
                let rt = sim_runtime()?;
                let out = crate::sim::enter(|| rt.block_on(fut));
                rt.shutdown_background();
                Ok(out)
            }
        }
    }

    pub fn interrupted(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Shuts the runtime down without waiting for tasks that never end.
    pub fn stop(self) {
        if let Some(rt) = self.runtime {
            rt.shutdown_background();
        }
    }
}

/// A current-thread runtime with a paused clock and no I/O, its random choices seeded.
fn sim_runtime() -> Result<tokio::runtime::Runtime, RecordError> {
    let mut b = tokio::runtime::Builder::new_current_thread();
    b.enable_time().start_paused(true);
    #[cfg(tokio_unstable)]
    b.rng_seed(tokio::runtime::RngSeed::from_bytes(SIM_TOKIO_SEED));
    b.build().map_err(RecordError::Runtime)
}
