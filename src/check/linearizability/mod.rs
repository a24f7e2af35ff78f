//! Linearizability checker for register histories.
//!
//! Each key is an independent read/write register whose initial value is "no value"
//! (`null`). A history is linearizable if every operation can be given one instant between
//! its invoke and its completion such that, in the order of those instants, every read
//! returns the value of the latest write before it. Keys are checked one by one
//! (linearizability is compositional: a history is linearizable if and only if each key's
//! sub-history is).
//!
//! # What the outcomes mean
//!
//! - write `ok`: took effect exactly once between invoke and completion.
//! - write `unknown`: may take effect at any time after its invoke, or never. Its completion
//!   is treated as +infinity; a register cannot tell "never" from "after everything else",
//!   so it is an ordinary operation with an open end.
//! - write `fail`: never took effect; dropped (but kept aside to explain a read of its value).
//! - read `fail`/`unknown`: carries no information; dropped.
//! - read `ok`: returned the register's value at its instant.
//!
//! Times are compared as recorded: an operation that completed at the very microsecond
//! another was invoked is treated as concurrent with it (the lenient reading).
//!
//! # Algorithm
//!
//! Written values are unique labels, so a read names the write it saw. First, per key:
//! - an `unknown` write that no read returned is dropped: leaving it out never changes the
//!   answer (it may never have taken effect, and nobody saw it if it did);
//! - a write must take effect before any read that returned its value, so its completion
//!   is brought forward to the earliest completion of such a read (an observed `unknown`
//!   write thus becomes an ordinary bounded operation);
//! - a read of a value that no write of the key wrote, or that completed before the only
//!   write of its value was invoked, is a violation found without searching.
//!
//! Then two deciders:
//! - **Zone test** (Gibbons & Korach, 1997), used when every label is written once: a
//!   value's cluster (its write and the reads that returned it) must hold the register over
//!   a "forward zone" from its earliest completion to its latest invoke; the history is
//!   linearizable if and only if no two forward zones overlap and no cluster whose
//!   operations can all happen at one instant (a "backward zone", from its latest invoke to
//!   its earliest completion) lies inside another's forward zone. O(k log k) in the number
//!   of values, whatever the concurrency. A conflict names at most six operations.
//! - **Exact search**: Wing & Gong's search as improved by Lowe (the WGL algorithm of
//!   Porcupine and knossos). Invokes and completions form a doubly linked list in time order;
//!   the search linearizes the earliest pending operation the register accepts, removes it
//!   from the list, and backtracks on reaching the completion of an operation it has not
//!   linearized. Every (set of linearized operations, value) reached is remembered in an
//!   arena (capped at 512 MiB per search). Two register-specific prunings, both exact: a
//!   pending read of the current value is linearized at once with no alternative tried
//!   (moving it earlier never hurts), and a write may not overwrite a value that reads still
//!   need and no remaining write can restore.
//!
//! No verdict "not linearizable" rests on the zone test alone: its witness must fail the
//! exact search first. The exact search decides on its own when labels repeat, or if a
//! witness did not hold up. Unit tests compare both deciders with a brute-force
//! enumeration on hundreds of thousands of random small histories, and with each other on
//! larger ones.
//!
//! # Counterexamples
//!
//! A key's violation starts as a zone witness, or as the operations invoked before the
//! furthest point the exact search reached (the rest cannot matter). It is then shrunk
//! (chunks of halving size, then one operation at a time, never removing the write whose
//! value a remaining read returned) until leaving out any one operation makes it
//! linearizable. Since one anomaly usually shows in several ways, a few other zone
//! conflicts are shrunk too and the smallest result is kept. A stale read thus comes out as
//! three operations: the write of the old value, a write of a newer value that completed
//! before the read began, and the read.
//!
//! # Time limit
//!
//! One limit covers the whole check. Keys are first all decided, each with an equal share of
//! the time left (and keys that ran out get a second round with what the quick ones left
//! over); then counterexamples are shrunk with the rest. The exact search polls the clock,
//! so a key still undecided at the limit, or never started, is `Unknown`, and a
//! counterexample whose shrinking was cut short is reported as found, with `minimal: false`.
//!
//! # Layout
//!
//! - `prepare`: one key's operations, the label-based pruning, and the operations as the
//!   deciders see them;
//! - `zones`: the zone test;
//! - `search`: the exact WGL search, with `memo`, its table of explored configurations;
//! - `shrink`: counterexamples, shrunk to a minimal set;
//! - `explain`: counterexamples and reports in plain words;
//! - `budget`: the deadline and its fair split over keys, shared with
//!   `crate::analysis::linearizable`.
//!
//! Deliberately left out: other data types (compare-and-set, lists), other consistency
//! models, and running keys in parallel (one thread checks 100,000 operations in about a
//! tenth of a second).

mod budget;
mod explain;
mod memo;
mod prepare;
mod search;
mod shrink;
mod zones;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::history::OpRecord;

pub use budget::{decide_in_rounds, Deadline};
use prepare::KeyHistory;

/// The verdict for one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum KeyVerdict {
    Linearizable,
    NotLinearizable {
        counterexample: Counterexample,
    },
    /// The time limit was reached before the key was decided.
    Unknown,
}

impl KeyVerdict {
    /// `Some(true)` linearizable, `Some(false)` not, `None` unknown.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            KeyVerdict::Linearizable => Some(true),
            KeyVerdict::NotLinearizable { .. } => Some(false),
            KeyVerdict::Unknown => None,
        }
    }
}

/// Operations of one key that have no linearization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counterexample {
    pub key: String,
    /// The operations, in invoke order. Together they cannot be linearized.
    pub ops: Vec<OpRecord>,
    /// `true` if leaving out any one of `ops` (other than a write whose value a read in
    /// `ops` returned) makes the rest linearizable; `false` if the time limit cut the
    /// shrinking short.
    pub minimal: bool,
    /// Failed writes of values that reads in `ops` returned: not part of the
    /// counterexample (they never took effect), but they explain where a value came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<OpRecord>,
    /// What is wrong, in plain words.
    pub explanation: String,
}

/// The result of checking a whole history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `false` if any key is not linearizable; otherwise `null` if any key is unknown;
    /// otherwise `true`.
    pub verdict: Option<bool>,
    pub keys: BTreeMap<String, KeyVerdict>,
    /// Records handed to the checker, whatever their outcome.
    pub checked_ops: usize,
    #[serde(rename = "elapsed_us", with = "duration_us")]
    pub elapsed: Duration,
    #[serde(rename = "time_limit_us", with = "duration_us")]
    pub time_limit: Duration,
}

/// How many keys got each verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerdictCounts {
    pub linearizable: usize,
    pub not_linearizable: usize,
    pub unknown: usize,
}

impl Report {
    pub fn counts(&self) -> VerdictCounts {
        let mut c = VerdictCounts::default();
        for v in self.keys.values() {
            match v {
                KeyVerdict::Linearizable => c.linearizable += 1,
                KeyVerdict::NotLinearizable { .. } => c.not_linearizable += 1,
                KeyVerdict::Unknown => c.unknown += 1,
            }
        }
        c
    }

    /// The counterexamples, by key.
    pub fn counterexamples(&self) -> impl Iterator<Item = &Counterexample> {
        self.keys.values().filter_map(|v| match v {
            KeyVerdict::NotLinearizable { counterexample } => Some(counterexample),
            _ => None,
        })
    }
}

/// Checks every key of `ops` within `limit` (for the whole check).
pub fn check_history(ops: &[OpRecord], limit: Duration) -> Report {
    let start = Instant::now();
    let deadline = Deadline::after(start, limit);

    let mut by_key: BTreeMap<&str, Vec<&OpRecord>> = BTreeMap::new();
    for op in ops {
        by_key.entry(op.key.as_str()).or_default().push(op);
    }

    let histories: Vec<KeyHistory<'_>> = by_key
        .iter()
        .map(|(key, records)| KeyHistory::new(key, records))
        .collect();

    // Decide every key first, so that shrinking one counterexample cannot starve the others.
    let decisions: Vec<Decision> = decide_in_rounds(
        histories.len(),
        deadline,
        |d: &Decision| matches!(d, Decision::Unknown),
        |i, share| histories[i].decide(share),
    )
    .into_iter()
    .map(|d| d.unwrap_or(Decision::Unknown))
    .collect();

    let failing = decisions
        .iter()
        .filter(|d| matches!(d, Decision::Violation(_)))
        .count();
    let mut shrunk = 0;
    let mut keys = BTreeMap::new();
    for (history, decision) in histories.iter().zip(decisions) {
        let verdict = match decision {
            Decision::Linearizable => KeyVerdict::Linearizable,
            Decision::Unknown => KeyVerdict::Unknown,
            Decision::Violation(set) => {
                let share = deadline.share(failing - shrunk);
                shrunk += 1;
                KeyVerdict::NotLinearizable {
                    counterexample: history.counterexample(set, share),
                }
            }
        };
        keys.insert(history.key.to_string(), verdict);
    }

    Report {
        verdict: overall(keys.values()),
        keys,
        checked_ops: ops.len(),
        elapsed: start.elapsed(),
        time_limit: limit,
    }
}

/// Checks the operations of one key (their `key` fields are not looked at), giving up with
/// `Unknown` at `deadline` (an [`Instant`] or a [`Deadline`]).
pub fn check_key(ops: &[&OpRecord], deadline: impl Into<Deadline>) -> KeyVerdict {
    let deadline = deadline.into();
    if deadline.passed() {
        return KeyVerdict::Unknown;
    }
    let key = ops.first().map(|op| op.key.as_str()).unwrap_or_default();
    let history = KeyHistory::new(key, ops);
    match history.decide(deadline) {
        Decision::Linearizable => KeyVerdict::Linearizable,
        Decision::Unknown => KeyVerdict::Unknown,
        Decision::Violation(set) => KeyVerdict::NotLinearizable {
            counterexample: history.counterexample(set, deadline),
        },
    }
}

fn overall<'a>(verdicts: impl Iterator<Item = &'a KeyVerdict>) -> Option<bool> {
    let mut any_unknown = false;
    for v in verdicts {
        match v.as_bool() {
            Some(false) => return Some(false),
            None => any_unknown = true,
            Some(true) => {}
        }
    }
    if any_unknown {
        None
    } else {
        Some(true)
    }
}

enum Decision {
    Linearizable,
    Unknown,
    /// Indices into [`KeyHistory::ops`] of a set of operations that cannot be linearized.
    Violation(Vec<usize>),
}

/// `Duration` as whole microseconds (saturating) in JSON.
mod duration_us {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_micros(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests;
