//! The delay line: one thread that wakes links when their queued messages become due.
//!
//! Tokio's timer has millisecond granularity, which would add up to a millisecond of error
//! to every shaped message. The delay line instead waits on a channel with a timeout (a
//! futex with a high-resolution deadline on Linux), which keeps the added error in the tens
//! of microseconds. When a wake-up is due it calls [`Wake::wake`], which moves the due
//! messages to the link's connection task and may ask for another wake-up.
//!
//! Deliberately left out: messages themselves. The line only holds (time, link) pairs; the
//! messages stay in each link's own queue, so per-link order is decided in one place.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// Something the delay line can wake: a link with a queue.
pub trait Wake: Send + Sync {
    /// Releases what is due at `now`; `woken_for` is the time this wake-up was scheduled
    /// for. Returns the next wake-up wanted, if any.
    fn wake(&self, now: Instant, woken_for: Instant) -> Option<Instant>;
}

struct Entry {
    at: Instant,
    seq: u64,
    target: Arc<dyn Wake>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

enum Cmd {
    Schedule(Instant, Arc<dyn Wake>),
    Stop,
}

/// Handle to the delay-line thread. The thread runs until [`DelayLine::stop`] or until every
/// handle is dropped; pending wake-ups are then discarded (the network is being torn down).
#[derive(Clone)]
pub struct DelayLine {
    tx: mpsc::Sender<Cmd>,
}

impl DelayLine {
    /// Starts the thread.
    pub fn start() -> std::io::Result<(DelayLine, JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel::<Cmd>();
        let handle = std::thread::Builder::new()
            .name("caplab-delay-line".into())
            .spawn(move || run(rx))?;
        Ok((DelayLine { tx }, handle))
    }

    /// Asks for `target` to be woken at `at`.
    pub fn schedule(&self, at: Instant, target: Arc<dyn Wake>) {
        // A send error means the thread is gone because the network shut down; the message
        // is then dropped with everything else in flight.
        let _ = self.tx.send(Cmd::Schedule(at, target));
    }

    /// Stops the thread (links hold handles too, so dropping ours is not enough).
    pub fn stop(&self) {
        let _ = self.tx.send(Cmd::Stop);
    }
}

fn run(rx: mpsc::Receiver<Cmd>) {
    let mut heap: BinaryHeap<Reverse<Entry>> = BinaryHeap::new();
    let mut seq = 0u64;
    loop {
        let now = Instant::now();
        // Fire everything due.
        while heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
            if let Some(Reverse(e)) = heap.pop() {
                if let Some(next) = e.target.wake(now, e.at) {
                    seq += 1;
                    heap.push(Reverse(Entry {
                        at: next,
                        seq,
                        target: e.target,
                    }));
                }
            }
        }
        let incoming = match heap.peek() {
            Some(Reverse(e)) => {
                let wait = e.at.saturating_duration_since(Instant::now());
                match rx.recv_timeout(wait) {
                    Ok(v) => Some(v),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            None => match rx.recv() {
                Ok(v) => Some(v),
                Err(_) => return,
            },
        };
        let mut next = incoming;
        while let Some(cmd) = next {
            match cmd {
                Cmd::Schedule(at, target) => {
                    seq += 1;
                    heap.push(Reverse(Entry { at, seq, target }));
                }
                Cmd::Stop => return,
            }
            // Take whatever else is waiting without blocking, to keep the heap current.
            next = rx.try_recv().ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    struct Recorder(Mutex<Vec<(Instant, Instant)>>);
    impl Wake for Recorder {
        fn wake(&self, now: Instant, woken_for: Instant) -> Option<Instant> {
            self.0.lock().unwrap().push((now, woken_for));
            None
        }
    }

    #[test]
    fn wakes_in_time_order_close_to_the_deadline() {
        let (line, handle) = DelayLine::start().unwrap();
        let rec = Arc::new(Recorder(Mutex::new(Vec::new())));
        let t0 = Instant::now();
        for ms in [30u64, 10, 20] {
            line.schedule(t0 + Duration::from_millis(ms), rec.clone());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while rec.0.lock().unwrap().len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        line.stop();
        handle.join().unwrap();
        let got = rec.0.lock().unwrap().clone();
        assert_eq!(got.len(), 3);
        assert!(got.windows(2).all(|w| w[0].1 < w[1].1));
        for (now, want) in got {
            assert!(now >= want);
        }
    }
}
