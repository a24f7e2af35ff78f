//! Counterexamples: a violating set of operations shrunk until leaving out any one makes
//! the rest linearizable (delta debugging), and the smallest of a few alternative witnesses.
//!
//! Deliberately left out: explaining the result in words (`explain`).

use std::collections::HashSet;

use super::budget::Deadline;
use super::explain::explain;
use super::prepare::KeyHistory;
use super::zones::{zone_test, Zones};
use super::{Counterexample, Decision};
use crate::history::{OpKind, OpRecord};

/// How many zone conflicts [`KeyHistory::counterexample`] shrinks to find a smaller one.
const ALTERNATIVE_WITNESSES: usize = 16;

impl KeyHistory<'_> {
    /// Shrinks a violating set, then describes it.
    pub(super) fn counterexample(&self, set: Vec<usize>, deadline: Deadline) -> Counterexample {
        let (mut set, mut minimal) = self.shrink(set, deadline);
        // One violation often shows in several ways (a stale read against each later write
        // and each later read): shrink a few other zone conflicts and keep the smallest.
        let all: Vec<usize> = (0..self.ops.len()).collect();
        if let Ok(ops) = self.prepare(&all) {
            if let Zones::Conflicts(witnesses) = zone_test(&ops, ALTERNATIVE_WITNESSES) {
                for witness in witnesses {
                    if set.len() <= 2 || deadline.passed() {
                        break;
                    }
                    if let Some(confirmed) = self.confirm(&ops, witness, deadline) {
                        let (other, other_minimal) = self.shrink(confirmed, deadline);
                        if other_minimal && other.len() < set.len() {
                            (set, minimal) = (other, other_minimal);
                        }
                    }
                }
            }
        }
        let ops: Vec<&OpRecord> = set.iter().map(|&i| self.ops[i]).collect();
        let read_labels: HashSet<&str> = ops
            .iter()
            .filter(|op| op.kind == OpKind::Read)
            .filter_map(|op| op.value.as_deref())
            .collect();
        let related: Vec<&OpRecord> = self
            .failed_writes
            .iter()
            .copied()
            .filter(|w| w.value.as_deref().is_some_and(|l| read_labels.contains(l)))
            .collect();
        Counterexample {
            key: self.key.to_string(),
            explanation: explain(&ops, &related),
            ops: ops.into_iter().cloned().collect(),
            minimal,
            related: related.into_iter().cloned().collect(),
        }
    }

    /// Delta-debugging: removes chunks of halving size while the rest still fails, never
    /// removing the write of a value a remaining read returned. Returns the set and whether
    /// it is 1-minimal (false if the deadline cut the shrinking short).
    fn shrink(&self, mut set: Vec<usize>, deadline: Deadline) -> (Vec<usize>, bool) {
        // Cutting the history at the search's frontier may have left out the write of a
        // value a read returned; that write was invoked after the frontier, so adding it
        // back cannot make the set linearizable.
        let given = set.len();
        self.close(&mut set);
        if set.len() > given && matches!(self.analyse(&set, deadline), Decision::Linearizable) {
            // Not expected; fall back to the whole key, which is known to fail.
            set = (0..self.ops.len()).collect();
        }
        let mut size = (set.len() / 2).max(1);
        loop {
            let mut progressed = false;
            let mut i = 0;
            while i < set.len() {
                if deadline.passed() {
                    return (set, false);
                }
                let end = (i + size).min(set.len());
                let mut candidate: Vec<usize> =
                    set[..i].iter().chain(&set[end..]).copied().collect();
                self.close(&mut candidate);
                if candidate.len() < set.len() {
                    match self.analyse(&candidate, deadline) {
                        Decision::Violation(mut smaller) => {
                            let given = smaller.len();
                            self.close(&mut smaller);
                            let verified = smaller.len() == given
                                || matches!(
                                    self.analyse(&smaller, deadline),
                                    Decision::Violation(_)
                                );
                            set = if verified && smaller.len() < candidate.len() {
                                smaller
                            } else {
                                candidate
                            };
                            progressed = true;
                            continue;
                        }
                        Decision::Unknown => return (set, false),
                        Decision::Linearizable => {}
                    }
                }
                i += size;
            }
            if !progressed {
                if size == 1 {
                    return (set, true);
                }
                size = (size / 2).max(1);
            }
        }
    }
}
