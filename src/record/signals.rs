//! What Ctrl-C, SIGTERM and SIGHUP do: while a workload runs, stop it and keep what was
//! recorded; at any other time (analysis, charts, report), or at a second signal, stop the
//! process at once with exit code 2.
//!
//! One background thread with its own small tokio runtime waits for the three signals, so
//! they are handled the same way whether or not a run's runtime exists, and a long
//! analysis on the main thread cannot delay them.
//!
//! Deliberately left out: cooperative cancellation of the analysis (it would thread a flag
//! through every check); exiting is prompt, and the run's recorded files are complete
//! because recording is over by then (`summary.json` and the reports are rewritten by the
//! next `caplab check` or `caplab report`).

use std::sync::Arc;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

/// The exit code of a process stopped by a signal outside a workload.
pub const EXIT_INTERRUPTED: i32 = 2;

/// What the next signal does.
#[derive(Debug, Clone)]
enum Mode {
    /// Exit the process with [`EXIT_INTERRUPTED`].
    Exit,
    /// Cancel this token (a running workload stops and flushes); a second signal exits.
    Cancel(CancellationToken),
}

/// The installed signal handlers (one per process).
#[derive(Debug, Clone)]
pub struct Interrupts {
    mode: Arc<Mutex<Mode>>,
}

impl Interrupts {
    /// Starts listening for Ctrl-C, SIGTERM and SIGHUP; until told otherwise a signal
    /// exits the process.
    pub fn install() -> std::io::Result<Interrupts> {
        let mode = Arc::new(Mutex::new(Mode::Exit));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let shared = mode.clone();
        std::thread::Builder::new()
            .name("caplab-signals".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(listen(shared, ready_tx));
            })?;
        ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("the signal thread stopped at start"))??;
        Ok(Interrupts { mode })
    }

    /// From now on a signal cancels `token` (once; a second signal exits).
    pub fn cancel_on_signal(&self, token: CancellationToken) {
        *self.mode.lock() = Mode::Cancel(token);
    }

    /// From now on a signal exits the process with [`EXIT_INTERRUPTED`].
    pub fn exit_on_signal(&self) {
        *self.mode.lock() = Mode::Exit;
    }
}

async fn listen(mode: Arc<Mutex<Mode>>, ready: std::sync::mpsc::Sender<std::io::Result<()>>) {
    let mut signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    loop {
        let name = signals.next().await;
        let current = mode.lock().clone();
        match current {
            Mode::Cancel(token) if !token.is_cancelled() => {
                eprintln!(
                    "\ninterrupted ({name}): stopping the workload and saving what was recorded"
                );
                token.cancel();
            }
            _ => {
                eprintln!("\ninterrupted ({name}): stopping now");
                std::process::exit(EXIT_INTERRUPTED);
            }
        }
    }
}

#[cfg(unix)]
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The name of the next signal.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            biased;
            _ = self.int.recv() => "Ctrl-C",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals)
    }

    async fn next(&mut self) -> &'static str {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}
