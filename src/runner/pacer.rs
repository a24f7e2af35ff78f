//! The pacer: releases scheduled operations at their due times with microsecond-level
//! precision, from one thread.
//!
//! Tokio's timer has millisecond granularity: dispatching an open-loop schedule with it
//! releases every operation due within the same millisecond at once, so at 20,000 ops/s
//! twenty operations start together and queue behind each other — a latency the load
//! generator made, not the system. The pacer thread instead sleeps until each due time
//! (a high-resolution `clock_nanosleep` on Linux, typically 50–100 µs late) and hands the
//! indices of due operations to the async side over a channel, in schedule order.
//!
//! The runner compares each release with its due time: an operation released more than
//! [`super::PACER_LATE_LIMIT`] late (the pacer thread or the async side starved of CPU) is a
//! `lab_error`, since the load it produced is no longer the configured one.
//!
//! Under the sim engine the pacer is a task on the runtime's virtual clock instead
//! ([`Pacer::start_task`]): virtual time has no scheduler noise, and tokio's timer releases
//! each operation at the first whole millisecond at or after its due time.
//!
//! Deliberately left out: busy-waiting for the last microseconds (it would burn a core the
//! systems under test need), and running the operations (the receiver spawns them).

use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::mpsc;

/// Handle to a running pacer: the due indices arrive on [`Pacer::due`].
pub struct Pacer {
    pub due: mpsc::UnboundedReceiver<usize>,
    thread: Option<JoinHandle<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Pacer {
    /// Starts releasing `0..times.len()` at `times` (sorted, earliest first). The thread
    /// stops after the last one, or as soon as the receiver is dropped.
    pub fn start(times: Vec<Instant>) -> std::io::Result<Pacer> {
        let (tx, rx) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("caplab-pacer".into())
            .spawn(move || {
                for (i, due) in times.into_iter().enumerate() {
                    let wait = due.saturating_duration_since(Instant::now());
                    if !wait.is_zero() {
                        std::thread::sleep(wait);
                    }
                    if tx.send(i).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Pacer {
            due: rx,
            thread: Some(thread),
            task: None,
        })
    }

    /// Starts releasing `0..times.len()` at `times` from a task on tokio's clock (the sim
    /// engine's virtual time); must be called inside a tokio runtime.
    pub fn start_task(times: Vec<Instant>) -> Pacer {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            for (i, due) in times.into_iter().enumerate() {
                tokio::time::sleep_until(due.into()).await;
                if tx.send(i).is_err() {
                    return;
                }
            }
        });
        Pacer {
            due: rx,
            thread: None,
            task: Some(task),
        }
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        // Closing the channel makes the thread stop at its next release; do not wait for a
        // long sleep to end.
        self.due.close();
        drop(self.thread.take());
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn releases_in_order_close_to_the_due_times() {
        let t0 = Instant::now() + Duration::from_millis(5);
        let times: Vec<Instant> = (0..200)
            .map(|i| t0 + Duration::from_micros(i * 250))
            .collect();
        let mut pacer = Pacer::start(times.clone()).unwrap();
        for want in 0..200 {
            let i = pacer.due.recv().await.unwrap();
            assert_eq!(i, want);
            assert!(Instant::now() >= times[i], "released early");
        }
        assert!(pacer.due.recv().await.is_none(), "ends after the last");
    }

    #[tokio::test]
    async fn dropping_the_pacer_stops_it() {
        let far = Instant::now() + Duration::from_secs(3600);
        let pacer = Pacer::start(vec![Instant::now(), far]).unwrap();
        drop(pacer); // must not wait an hour
    }
}
