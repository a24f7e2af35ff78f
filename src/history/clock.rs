//! The run's single monotonic clock.
//!
//! All records of a run (operations, events, fault windows) use [`RunClock::now_us`], so
//! their times can be compared directly. The clock is an `Instant` captured at the run's
//! start; it is `Copy`, so every task carries its own.
//!
//! Under the sim engine the clock is tokio's virtual one ([`crate::sim::now`]).
//!
//! Deliberately left out: wall-clock time. Nodes that need a wall clock (last-writer-wins)
//! derive it from this clock plus their own skew.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    start: Instant,
}

impl RunClock {
    /// Starts the clock now.
    pub fn start() -> Self {
        RunClock {
            start: crate::sim::now(),
        }
    }

    pub fn start_instant(&self) -> Instant {
        self.start
    }

    /// Microseconds since the run's start.
    pub fn now_us(&self) -> u64 {
        self.us_at(crate::sim::now())
    }

    /// Microseconds from the run's start to `t` (0 for instants before the start).
    pub fn us_at(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.start).as_micros() as u64
    }

    /// The instant that is `offset` after the run's start.
    pub fn instant_at(&self, offset: Duration) -> Instant {
        self.start + offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_monotonic_and_relative_to_start() {
        let c = RunClock::start();
        let a = c.now_us();
        let b = c.now_us();
        assert!(b >= a);
        assert_eq!(c.us_at(c.instant_at(Duration::from_millis(5))), 5_000);
        assert_eq!(
            c.us_at(c.start_instant() - Duration::from_millis(1).min(Duration::ZERO)),
            0
        );
    }
}
