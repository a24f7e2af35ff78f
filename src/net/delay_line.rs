//! The delay line: wakes links when their queued messages become due.
//!
//! On the TCP transport it is one thread. Tokio's timer has millisecond granularity, which
//! would add up to a millisecond of error to every shaped message; the thread instead waits
//! on a channel with a timeout (a futex with a high-resolution deadline on Linux), which
//! keeps the added error in the tens of microseconds. When a wake-up is due it calls
//! [`Wake::wake`], which moves the due messages to the link's connection task and may ask
//! for another wake-up.
//!
//! On the in-memory transport (the sim engine, in virtual time) it is a tokio task that
//! sleeps on tokio's clock: the runtime's paused clock jumps straight to its next timer.
//! Tokio timers fire on whole milliseconds, so the task wakes [`HALF_TICK`] before a
//! wake-up and releases everything due within the next half millisecond: a delivery time
//! lands on the nearest millisecond of virtual time rather than always the next one, which
//! keeps the mean delay of every link unbiased (a delay under half a millisecond becomes
//! zero).
//!
//! Deliberately left out: messages themselves. The line only holds (time, link) pairs; the
//! messages stay in each link's own queue, so per-link order is decided in one place.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Half of tokio's timer resolution: how early the in-memory delay line wakes, and how far
/// ahead it releases.
pub const HALF_TICK: Duration = Duration::from_micros(500);

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

/// Handle to the delay line. It runs until [`DelayLine::stop`] or until every handle is
/// dropped; pending wake-ups are then discarded (the network is being torn down).
#[derive(Clone)]
pub struct DelayLine {
    tx: Tx,
}

#[derive(Clone)]
enum Tx {
    Thread(mpsc::Sender<Cmd>),
    Task(tokio::sync::mpsc::UnboundedSender<Cmd>),
}

impl DelayLine {
    /// Starts the thread (real time).
    pub fn start() -> std::io::Result<(DelayLine, JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel::<Cmd>();
        let handle = std::thread::Builder::new()
            .name("caplab-delay-line".into())
            .spawn(move || run(rx))?;
        Ok((DelayLine { tx: Tx::Thread(tx) }, handle))
    }

    /// Starts the line as a task on `runtime`, on tokio's clock (virtual time when the
    /// runtime's clock is paused).
    pub fn start_task(
        runtime: &tokio::runtime::Handle,
    ) -> (DelayLine, tokio::task::JoinHandle<()>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Cmd>();
        let handle = runtime.spawn(run_task(rx));
        (DelayLine { tx: Tx::Task(tx) }, handle)
    }

    /// Asks for `target` to be woken at `at`.
    pub fn schedule(&self, at: Instant, target: Arc<dyn Wake>) {
        // A send error means the line is gone because the network shut down; the message
        // is then dropped with everything else in flight.
        self.send(Cmd::Schedule(at, target));
    }

    /// Stops the line (links hold handles too, so dropping ours is not enough).
    pub fn stop(&self) {
        self.send(Cmd::Stop);
    }

    fn send(&self, cmd: Cmd) {
        match &self.tx {
            Tx::Thread(tx) => drop(tx.send(cmd)),
            Tx::Task(tx) => drop(tx.send(cmd)),
        }
    }
}

/// Wake-ups ordered by time, then by the order they were asked for.
#[derive(Default)]
struct Heap {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl Heap {
    fn push(&mut self, at: Instant, target: Arc<dyn Wake>) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            at,
            seq: self.seq,
            target,
        }));
    }

    fn next_at(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    /// Wakes every target due by `now` (telling each it is `now`), in time order, and
    /// keeps the wake-ups they ask for next.
    fn fire(&mut self, now: Instant) {
        while self.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
            if let Some(Reverse(e)) = self.heap.pop() {
                if let Some(next) = e.target.wake(now, e.at) {
                    self.push(next, e.target);
                }
            }
        }
    }
}

async fn run_task(mut rx: tokio::sync::mpsc::UnboundedReceiver<Cmd>) {
    let mut heap = Heap::default();
    loop {
        heap.fire(tokio::time::Instant::now().into_std() + HALF_TICK);
        let cmd = match heap.next_at() {
            Some(at) => {
                let wake = tokio::time::Instant::from_std(at.checked_sub(HALF_TICK).unwrap_or(at));
                tokio::select! {
                    biased;
                    c = rx.recv() => match c {
                        Some(c) => Some(c),
                        None => return,
                    },
                    _ = tokio::time::sleep_until(wake) => None,
                }
            }
            None => match rx.recv().await {
                Some(c) => Some(c),
                None => return,
            },
        };
        match cmd {
            Some(Cmd::Schedule(at, target)) => heap.push(at, target),
            Some(Cmd::Stop) => return,
            None => {}
        }
    }
}

fn run(rx: mpsc::Receiver<Cmd>) {
    let mut heap = Heap::default();
    loop {
        heap.fire(Instant::now());
        let incoming = match heap.next_at() {
            Some(at) => {
                let wait = at.saturating_duration_since(Instant::now());
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
                Cmd::Schedule(at, target) => heap.push(at, target),
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

    #[test]
    fn the_task_line_wakes_on_the_nearest_virtual_millisecond() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let got = rt.block_on(async {
            let (line, handle) = DelayLine::start_task(&tokio::runtime::Handle::current());
            let rec = Arc::new(Recorder(Mutex::new(Vec::new())));
            let t0 = tokio::time::Instant::now().into_std();
            for us in [30_400u64, 10_600, 20_000] {
                line.schedule(t0 + Duration::from_micros(us), rec.clone());
            }
            while rec.0.lock().unwrap().len() < 3 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            line.stop();
            handle.await.unwrap();
            let got = rec.0.lock().unwrap().clone();
            got.into_iter()
                .map(|(now, want)| {
                    (
                        (now - t0).as_micros() as u64,
                        (want - t0).as_micros() as u64,
                    )
                })
                .collect::<Vec<_>>()
        });
        // Woken in time order, at the nearest whole millisecond (told "now" half a tick
        // later, so everything due by then is released).
        assert_eq!(
            got,
            vec![(11_500, 10_600), (20_500, 20_000), (30_500, 30_400)]
        );
    }
}
