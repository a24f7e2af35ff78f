//! How late this machine wakes a thread up while a test runs: a probe thread sleeps 1 ms
//! over and over and records by how much each sleep overshot. Timing tests widen their
//! tolerance by what it measured, so they hold on a busy machine without being loose on a
//! quiet one.
//!
//! It deliberately leaves out any model of where the wake-ups happen: a test says how many
//! wake-ups its measurement crosses.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sorted sleep overshoots in µs, measured while `busy` ran.
pub struct Noise(Vec<f64>);

impl Noise {
    /// The overshoot at quantile `q` (0..=1), in µs; 0 when nothing was measured.
    pub fn quantile_us(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0[((self.0.len() as f64 - 1.0) * q.clamp(0.0, 1.0)).round() as usize]
    }

    pub fn samples(&self) -> usize {
        self.0.len()
    }
}

/// A running probe: sleeps 1 ms over and over on a thread of its own until stopped.
pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<f64>>,
}

impl Probe {
    pub fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut over = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let t = Instant::now();
                std::thread::sleep(Duration::from_millis(1));
                over.push((t.elapsed().as_secs_f64() - 1e-3) * 1e6);
            }
            over
        });
        Self { stop, thread }
    }

    /// Stops the probe and returns what it measured.
    pub fn stop(self) -> Noise {
        self.stop.store(true, Ordering::Relaxed);
        let mut over = self.thread.join().expect("noise probe thread");
        over.sort_by(f64::total_cmp);
        Noise(over)
    }
}

/// Runs `busy` on this thread while a probe thread measures the scheduler's noise.
pub fn during<T>(busy: impl FnOnce() -> T) -> (T, Noise) {
    let probe = Probe::start();
    let out = busy();
    (out, probe.stop())
}
