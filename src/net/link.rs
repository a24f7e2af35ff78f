//! The shaping state of one directed link, free of I/O.
//!
//! A [`LinkState`] decides, for each message handed to a link, whether it is dropped (the
//! link is cut, or the loss dice say so), sent at once, or queued until its delivery time;
//! and, when the delay line wakes it, which queued messages are now due. Keeping this pure
//! lets the FIFO, loss and pause rules be tested without sockets or timers.
//!
//! Rules:
//! - delivery time = send time + a sample of the link's [`DelayModel`];
//! - with `fifo` (the default, as TCP would), a message is never due before an earlier one on
//!   the same link: its delivery time is at least the previous message's;
//! - a `held` link (one of its endpoints is paused) queues everything and releases nothing
//!   until it is un-held; messages keep their delivery times, so a long pause delivers the
//!   backlog at once, as a frozen process would see it;
//! - a `blocked` link (partitioned) drops new messages; messages already queued still arrive
//!   (they were "on the wire").
//!
//! Deliberately left out: bandwidth and message-size effects, and duplication.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::delay::DelayModel;

/// Why a message did not make it onto the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The link is cut by a partition.
    Partition,
    /// The loss dice said so.
    Loss,
}

/// What happened to a message handed to [`LinkState::admit`].
#[derive(Debug, PartialEq)]
pub enum Admit<T> {
    Dropped(DropReason),
    /// Due now and nothing is queued ahead of it: hand it to the connection.
    SendNow(T),
    /// Queued; when `wake_at` is set, the delay line must wake the link at that time.
    Queued {
        wake_at: Option<Instant>,
    },
}

struct Pending<T> {
    due: Instant,
    seq: u64,
    msg: T,
}

impl<T> PartialEq for Pending<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl<T> Eq for Pending<T> {}
impl<T> PartialOrd for Pending<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Pending<T> {
    // Reversed, so the BinaryHeap pops the earliest (due, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// Shaping state of one directed link.
pub struct LinkState<T> {
    pub delay: DelayModel,
    /// Drop probability in `[0, 1]`.
    pub loss: f64,
    pub fifo: bool,
    pub blocked: bool,
    held: bool,
    rng: ChaCha8Rng,
    last_due: Option<Instant>,
    queue: BinaryHeap<Pending<T>>,
    seq: u64,
    /// The wake-up the delay line currently holds for this link, if any.
    wake_at: Option<Instant>,
}

impl<T> LinkState<T> {
    pub fn new(delay: DelayModel, loss: f64, rng: ChaCha8Rng) -> Self {
        LinkState {
            delay,
            loss,
            fifo: true,
            blocked: false,
            held: false,
            rng,
            last_due: None,
            queue: BinaryHeap::new(),
            seq: 0,
            wake_at: None,
        }
    }

    /// Number of messages waiting for their delivery time (or for a pause to end).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    pub fn is_held(&self) -> bool {
        self.held
    }

    /// Hands a message sent at `now` to the link.
    pub fn admit(&mut self, now: Instant, msg: T) -> Admit<T> {
        if self.blocked {
            return Admit::Dropped(DropReason::Partition);
        }
        if self.loss > 0.0 && self.rng.random::<f64>() < self.loss {
            return Admit::Dropped(DropReason::Loss);
        }
        let mut due = if self.delay.is_zero() {
            now
        } else {
            now + Duration::from_nanos((self.delay.sample_us(&mut self.rng) * 1e3) as u64)
        };
        if self.fifo {
            if let Some(last) = self.last_due {
                due = due.max(last);
            }
            self.last_due = Some(due);
        }
        if !self.held && self.queue.is_empty() && due <= now {
            return Admit::SendNow(msg);
        }
        self.seq += 1;
        self.queue.push(Pending {
            due,
            seq: self.seq,
            msg,
        });
        if self.held {
            return Admit::Queued { wake_at: None };
        }
        match self.wake_at {
            Some(w) if w <= due => Admit::Queued { wake_at: None },
            _ => {
                self.wake_at = Some(due);
                Admit::Queued { wake_at: Some(due) }
            }
        }
    }

    /// Called by the delay line for the wake-up it held for `woken_for`: pushes every message
    /// due by `now` into `out` (in delivery order) and returns the next wake-up to schedule.
    pub fn release(
        &mut self,
        now: Instant,
        woken_for: Instant,
        out: &mut Vec<T>,
    ) -> Option<Instant> {
        if self.held {
            self.wake_at = None;
            return None;
        }
        while self.queue.peek().is_some_and(|p| p.due <= now) {
            if let Some(p) = self.queue.pop() {
                out.push(p.msg);
            }
        }
        if self.wake_at != Some(woken_for) {
            // A stale wake-up: another one, scheduled later, is authoritative.
            return None;
        }
        self.wake_at = self.queue.peek().map(|p| p.due);
        self.wake_at
    }

    /// Pauses (`true`) or resumes (`false`) the link. On resume, returns the wake-up to
    /// schedule for the backlog.
    pub fn set_held(&mut self, held: bool) -> Option<Instant> {
        self.held = held;
        if held {
            self.wake_at = None;
            return None;
        }
        self.wake_at = self.queue.peek().map(|p| p.due);
        self.wake_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn link(delay: DelayModel, loss: f64) -> LinkState<u32> {
        LinkState::new(delay, loss, ChaCha8Rng::seed_from_u64(3))
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// Drives a link like the delay line would: admits messages at the given send offsets,
    /// then wakes it at every requested time, returning (msg, delivery offset) pairs.
    fn drive(l: &mut LinkState<u32>, sends: &[(u32, Duration)]) -> Vec<(u32, Duration)> {
        let t0 = Instant::now();
        let mut wakes: Vec<Instant> = Vec::new();
        let mut delivered = Vec::new();
        for (m, at) in sends {
            match l.admit(t0 + *at, *m) {
                Admit::SendNow(m) => delivered.push((m, *at)),
                Admit::Queued { wake_at: Some(w) } => wakes.push(w),
                _ => {}
            }
        }
        while let Some(i) = (0..wakes.len()).min_by_key(|&i| wakes[i]) {
            let w = wakes.swap_remove(i);
            let mut out = Vec::new();
            if let Some(next) = l.release(w, w, &mut out) {
                wakes.push(next);
            }
            delivered.extend(out.into_iter().map(|m| (m, w - t0)));
        }
        delivered
    }

    #[test]
    fn fifo_link_never_reorders_even_with_jitter() {
        let mut l = link(DelayModel::uniform(ms(1), ms(30)).unwrap(), 0.0);
        let sends: Vec<_> = (0..1000)
            .map(|i| (i, Duration::from_micros(i as u64 * 100)))
            .collect();
        let got = drive(&mut l, &sends);
        assert_eq!(got.len(), 1000);
        assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "reordered");
        assert!(got
            .iter()
            .all(|(m, t)| *t >= Duration::from_micros(*m as u64 * 100) + ms(1)));
    }

    #[test]
    fn non_fifo_link_reorders_under_jitter() {
        let mut l = link(DelayModel::uniform(ms(1), ms(30)).unwrap(), 0.0);
        l.fifo = false;
        let sends: Vec<_> = (0..1000)
            .map(|i| (i, Duration::from_micros(i as u64 * 100)))
            .collect();
        let got = drive(&mut l, &sends);
        assert_eq!(got.len(), 1000);
        assert!(got.windows(2).any(|w| w[0].0 > w[1].0));
    }

    #[test]
    fn zero_delay_sends_immediately() {
        let mut l = link(DelayModel::zero(), 0.0);
        assert_eq!(l.admit(Instant::now(), 7), Admit::SendNow(7));
    }

    #[test]
    fn blocked_link_drops_and_loss_matches_rate() {
        let mut l = link(DelayModel::zero(), 0.0);
        l.blocked = true;
        assert_eq!(
            l.admit(Instant::now(), 1),
            Admit::Dropped(DropReason::Partition)
        );
        let mut l = link(DelayModel::zero(), 0.25);
        let lost = (0..100_000)
            .filter(|i| l.admit(Instant::now(), *i) == Admit::Dropped(DropReason::Loss))
            .count();
        // Binomial(100000, 0.25): sd ~ 137; allow 5 sd.
        assert!((lost as i64 - 25_000).abs() < 700, "lost {lost}");
    }

    #[test]
    fn held_link_keeps_messages_until_resumed() {
        let mut l = link(DelayModel::constant(ms(5)), 0.0);
        let t0 = Instant::now();
        l.set_held(true);
        assert_eq!(l.admit(t0, 1), Admit::Queued { wake_at: None });
        assert_eq!(l.admit(t0, 2), Admit::Queued { wake_at: None });
        let mut out = Vec::new();
        assert_eq!(l.release(t0 + ms(10), t0 + ms(5), &mut out), None);
        assert!(out.is_empty());
        let wake = l.set_held(false).unwrap();
        assert_eq!(wake, t0 + ms(5));
        assert_eq!(l.release(t0 + ms(10), wake, &mut out), None);
        assert_eq!(out, vec![1, 2]);
    }

    #[test]
    fn stale_wakeups_do_not_multiply() {
        let mut l = link(DelayModel::uniform(ms(1), ms(20)).unwrap(), 0.0);
        l.fifo = false;
        let t0 = Instant::now();
        let mut wakes = Vec::new();
        for i in 0..200 {
            if let Admit::Queued { wake_at: Some(w) } = l.admit(t0, i) {
                wakes.push(w);
            }
        }
        // Every message is released exactly once, whatever order the wake-ups run in.
        let mut out = Vec::new();
        let mut rounds = 0;
        while let Some(w) = wakes.pop() {
            rounds += 1;
            if let Some(n) = l.release(w.max(t0 + ms(20)), w, &mut out) {
                wakes.push(n);
            }
        }
        out.sort();
        assert_eq!(out, (0..200).collect::<Vec<_>>());
        assert!(rounds < 400);
    }
}
