//! The time budget of a check: one deadline for every key, split fairly between them.
//!
//! [`decide_in_rounds`] decides items (keys) one after another: in the first round each gets
//! an equal share of the time left when its turn comes; items whose result is still
//! undecided get a second round with what the quick ones left over. Both
//! [`super::check_history`] and `crate::analysis::linearizable` (which materialises one key's
//! records at a time) use it, so the rule lives in one place.
//!
//! Deliberately left out: running items in parallel and priorities between them.

use std::time::{Duration, Instant};

/// When a check must stop; `None` is never (a time limit too large to add to now).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No deadline.
    pub fn never() -> Self {
        Deadline(None)
    }

    /// `limit` after `start`.
    pub fn after(start: Instant, limit: Duration) -> Self {
        Deadline(start.checked_add(limit))
    }

    /// At `instant`.
    pub fn at(instant: Instant) -> Self {
        Deadline(Some(instant))
    }

    pub fn passed(&self) -> bool {
        self.0.is_some_and(|d| Instant::now() >= d)
    }

    /// A deadline `1/parts` of the time left from now (the whole of it for one part).
    pub fn share(&self, parts: usize) -> Deadline {
        let Some(end) = self.0 else {
            return *self;
        };
        let now = Instant::now();
        let left = end.saturating_duration_since(now);
        let parts = u32::try_from(parts.max(1)).unwrap_or(u32::MAX);
        Deadline(Some(now + left / parts))
    }
}

impl From<Instant> for Deadline {
    fn from(instant: Instant) -> Self {
        Deadline::at(instant)
    }
}

/// Decides items `0..count` before `deadline`, in two rounds: each pending item gets an
/// equal share of the time left when its turn comes; items whose result `undecided` says
/// is not final get a second round. An item never started (the deadline passed first) is
/// `None`.
pub fn decide_in_rounds<T>(
    count: usize,
    deadline: Deadline,
    undecided: impl Fn(&T) -> bool,
    mut decide: impl FnMut(usize, Deadline) -> T,
) -> Vec<Option<T>> {
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    for _round in 0..2 {
        let pending: Vec<usize> = (0..count)
            .filter(|&i| results[i].as_ref().is_none_or(&undecided))
            .collect();
        for (done, &i) in pending.iter().enumerate() {
            if deadline.passed() {
                break;
            }
            results[i] = Some(decide(i, deadline.share(pending.len() - done)));
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_decided_once_when_each_is_final() {
        let deadline = Deadline::after(Instant::now(), Duration::from_secs(60));
        let mut calls = Vec::new();
        let results = decide_in_rounds(
            3,
            deadline,
            |_: &bool| false,
            |i, _| {
                calls.push(i);
                true
            },
        );
        assert_eq!(calls, [0, 1, 2]);
        assert_eq!(results, [Some(true); 3]);
    }

    #[test]
    fn undecided_items_get_a_second_round_with_a_fair_share() {
        let start = Instant::now();
        let limit = Duration::from_secs(60);
        let deadline = Deadline::after(start, limit);
        let mut calls = Vec::new();
        let mut shares = Vec::new();
        let results = decide_in_rounds(
            4,
            deadline,
            |decided: &bool| !decided,
            |i, share| {
                shares.push(share.0.map(|s| s.saturating_duration_since(start)));
                calls.push(i);
                i % 2 == 0 || calls.len() > 4
            },
        );
        assert_eq!(calls, [0, 1, 2, 3, 1, 3]);
        assert!(results.iter().all(|r| *r == Some(true)));
        // Every call returns at once, so the first item gets a quarter of the time, the
        // second a third, ..., the last of each round all of it.
        let slack = limit / 100;
        for (share, part) in shares.iter().zip([4, 3, 2, 1, 2, 1]) {
            let want = limit / part;
            assert!(
                share.is_some_and(|s| s <= want + slack && s + slack >= want),
                "{share:?} for 1/{part}"
            );
        }
    }

    #[test]
    fn nothing_starts_after_the_deadline() {
        let deadline = Deadline::at(Instant::now());
        let results = decide_in_rounds(3, deadline, |_: &()| false, |_, _| ());
        assert_eq!(results, [None, None, None]);
        let never = Deadline::after(Instant::now(), Duration::MAX);
        assert!(!never.passed());
        assert_eq!(never.share(3), never);
    }
}
