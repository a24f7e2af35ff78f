//! The tokio runtime a run (or every point of a sweep) records on, and its stop token.
//!
//! Deliberately left out: signals (see `signals`: the caller decides what cancels the
//! token, a signal in the CLI, the test itself in tests).

use tokio_util::sync::CancellationToken;

use super::RecordError;

/// A multi-threaded runtime and the token that stops its workload.
pub struct Session {
    pub runtime: tokio::runtime::Runtime,
    /// Cancelled to stop the running workload; what was recorded is kept.
    pub stop: CancellationToken,
}

impl Session {
    pub fn start(stop: CancellationToken) -> Result<Session, RecordError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(RecordError::Runtime)?;
        Ok(Session { runtime, stop })
    }

    pub fn interrupted(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Shuts the runtime down without waiting for tasks that never end.
    pub fn stop(self) {
        self.runtime.shutdown_background();
    }
}
