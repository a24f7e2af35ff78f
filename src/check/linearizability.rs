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
//! Deliberately left out: other data types (compare-and-set, lists), other consistency
//! models, and running keys in parallel (one thread checks 100,000 operations in about a
//! tenth of a second).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::history::{OpKind, OpRecord, Outcome};

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
    let deadline = Deadline(start.checked_add(limit));

    let mut by_key: BTreeMap<&str, Vec<&OpRecord>> = BTreeMap::new();
    for op in ops {
        by_key.entry(op.key.as_str()).or_default().push(op);
    }

    let histories: Vec<KeyHistory<'_>> = by_key
        .iter()
        .map(|(key, records)| KeyHistory::new(key, records))
        .collect();

    // Decide every key first, so that shrinking one counterexample cannot starve the others.
    // Each key gets an equal share of the time left; keys that ran out of their share get a
    // second round with what the quick ones left over.
    let mut decisions: Vec<Decision> = histories.iter().map(|_| Decision::Unknown).collect();
    for _round in 0..2 {
        let pending: Vec<usize> = (0..histories.len())
            .filter(|&i| matches!(decisions[i], Decision::Unknown))
            .collect();
        for (done, &i) in pending.iter().enumerate() {
            if deadline.passed() {
                break;
            }
            decisions[i] = histories[i].decide(deadline.share(pending.len() - done));
        }
    }

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
/// `Unknown` at `deadline`.
pub fn check_key(ops: &[&OpRecord], deadline: Instant) -> KeyVerdict {
    let deadline = Deadline(Some(deadline));
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

#[derive(Debug, Clone, Copy)]
struct Deadline(Option<Instant>);

impl Deadline {
    fn passed(&self) -> bool {
        self.0.is_some_and(|d| Instant::now() >= d)
    }

    /// A deadline `1/parts` of the time left from now (the whole of it for one part).
    fn share(&self, parts: usize) -> Deadline {
        let Some(end) = self.0 else {
            return *self;
        };
        let now = Instant::now();
        let left = end.saturating_duration_since(now);
        let parts = u32::try_from(parts.max(1)).unwrap_or(u32::MAX);
        Deadline(Some(now + left / parts))
    }
}

enum Decision {
    Linearizable,
    Unknown,
    /// Indices into [`KeyHistory::ops`] of a set of operations that cannot be linearized.
    Violation(Vec<usize>),
}

/// The operations of one key that carry information.
struct KeyHistory<'a> {
    key: &'a str,
    /// `ok` writes, `unknown` writes and `ok` reads, sorted by invoke time (then id).
    ops: Vec<&'a OpRecord>,
    /// Label -> indices in `ops` of the writes of that label.
    writers: HashMap<&'a str, Vec<usize>>,
    /// Writes that failed (for explanations only).
    failed_writes: Vec<&'a OpRecord>,
}

impl<'a> KeyHistory<'a> {
    fn new(key: &'a str, records: &[&'a OpRecord]) -> Self {
        let mut ops = Vec::new();
        let mut failed_writes = Vec::new();
        for &op in records {
            match (op.kind, op.outcome) {
                (OpKind::Write, Outcome::Ok | Outcome::Unknown) | (OpKind::Read, Outcome::Ok) => {
                    ops.push(op)
                }
                (OpKind::Write, Outcome::Fail) => failed_writes.push(op),
                (OpKind::Read, Outcome::Fail | Outcome::Unknown) => {}
            }
        }
        ops.sort_by_key(|op| (op.invoke_us, op.id));
        let mut writers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            if let (OpKind::Write, Some(label)) = (op.kind, op.value.as_deref()) {
                writers.entry(label).or_default().push(i);
            }
        }
        KeyHistory {
            key,
            ops,
            writers,
            failed_writes,
        }
    }

    fn decide(&self, deadline: Deadline) -> Decision {
        let all: Vec<usize> = (0..self.ops.len()).collect();
        self.analyse(&all, deadline)
    }

    /// Checks the sub-history made of `subset` (sorted indices into `ops`).
    ///
    /// With unique labels the zone test decides: no conflict means linearizable; a conflict
    /// names a handful of operations, and the exact search must confirm that they cannot be
    /// linearized before the key is reported. Otherwise (repeated labels, or a witness that
    /// does not hold up) the exact search decides the whole subset.
    fn analyse(&self, subset: &[usize], deadline: Deadline) -> Decision {
        let ops = match self.prepare(subset) {
            Ok(ops) => ops,
            Err(violation) => return Decision::Violation(violation),
        };
        match zone_test(&ops, 1) {
            Zones::Clean => return Decision::Linearizable,
            Zones::Conflicts(witnesses) => {
                for witness in witnesses {
                    if let Some(confirmed) = self.confirm(&ops, witness, deadline) {
                        return Decision::Violation(confirmed);
                    }
                }
            }
            Zones::NotApplicable => {}
        }
        search_decision(&ops, deadline)
    }

    /// The witness of a zone conflict (positions in `ops`) as indices into `self.ops`, if
    /// the exact search confirms it cannot be linearized.
    fn confirm(
        &self,
        ops: &[SearchOp],
        witness: Vec<usize>,
        deadline: Deadline,
    ) -> Option<Vec<usize>> {
        let mut witness: Vec<usize> = witness.into_iter().map(|i| ops[i].index).collect();
        self.close(&mut witness);
        match self.search_exact(&witness, deadline) {
            Decision::Violation(confirmed) => Some(confirmed),
            _ => None,
        }
    }

    /// [`Self::analyse`] without the zone test.
    fn search_exact(&self, subset: &[usize], deadline: Deadline) -> Decision {
        match self.prepare(subset) {
            Ok(ops) => search_decision(&ops, deadline),
            Err(violation) => Decision::Violation(violation),
        }
    }

    /// Turns `subset` into search operations, applying the label-based pruning. `Err` is a
    /// violation found without searching.
    fn prepare(&self, subset: &[usize]) -> Result<Vec<SearchOp>, Vec<usize>> {
        // Value ids: 0 is "no value"; labels written in the subset get 1, 2, ...
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let mut writer_count: HashMap<u32, u32> = HashMap::new();
        let mut observed: HashSet<&str> = HashSet::new();
        for &i in subset {
            let op = self.ops[i];
            match (op.kind, op.value.as_deref()) {
                (OpKind::Write, Some(label)) => {
                    let next = ids.len() as u32 + 1;
                    let id = *ids.entry(label).or_insert(next);
                    *writer_count.entry(id).or_default() += 1;
                }
                (OpKind::Read, Some(label)) => {
                    observed.insert(label);
                }
                _ => {}
            }
        }

        let mut out: Vec<SearchOp> = Vec::with_capacity(subset.len());
        // For each value with exactly one write: that write's position in `out`.
        let mut unique_writer: HashMap<u32, usize> = HashMap::new();
        for &i in subset {
            let op = self.ops[i];
            let value = op.value.as_deref().and_then(|l| ids.get(l).copied());
            let complete = op.complete_us.max(op.invoke_us);
            match op.kind {
                OpKind::Write => {
                    let unknown = op.outcome == Outcome::Unknown;
                    if unknown && !op.value.as_deref().is_some_and(|l| observed.contains(l)) {
                        continue; // optional and unobserved: cannot matter
                    }
                    let value = value.unwrap_or(0);
                    if value != 0 && writer_count.get(&value) == Some(&1) {
                        unique_writer.insert(value, out.len());
                    }
                    out.push(SearchOp {
                        index: i,
                        write: true,
                        value,
                        invoke: op.invoke_us,
                        complete: if unknown { u64::MAX } else { complete },
                        recorded_complete: if unknown { u64::MAX } else { complete },
                    });
                }
                OpKind::Read => {
                    let value = match (op.value.as_deref(), value) {
                        (None, _) => 0,
                        (Some(_), Some(id)) => id,
                        // A value no write of this key (in the subset) wrote.
                        (Some(_), None) => return Err(vec![i]),
                    };
                    out.push(SearchOp {
                        index: i,
                        write: false,
                        value,
                        invoke: op.invoke_us,
                        complete,
                        recorded_complete: complete,
                    });
                }
            }
        }

        // A write takes effect before every read that returned its value.
        for r in 0..out.len() {
            let read = out[r];
            if read.write || read.value == 0 {
                continue;
            }
            if let Some(&w) = unique_writer.get(&read.value) {
                if read.complete < out[w].invoke {
                    return Err(vec![out[w].index, read.index]);
                }
                out[w].complete = out[w].complete.min(read.complete);
            }
        }
        Ok(out)
    }

    /// Adds the writes whose values the reads in `set` returned; sorts and dedups.
    fn close(&self, set: &mut Vec<usize>) {
        let mut extra = Vec::new();
        for &i in set.iter() {
            let op = self.ops[i];
            if let (OpKind::Read, Some(label)) = (op.kind, op.value.as_deref()) {
                if let Some(w) = self.writers.get(label) {
                    extra.extend_from_slice(w);
                }
            }
        }
        set.extend(extra);
        set.sort_unstable();
        set.dedup();
    }

    /// Shrinks a violating set, then describes it.
    fn counterexample(&self, set: Vec<usize>, deadline: Deadline) -> Counterexample {
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

fn search_decision(ops: &[SearchOp], deadline: Deadline) -> Decision {
    match search(ops, deadline) {
        Search::Linearizable => Decision::Linearizable,
        Search::Timeout => Decision::Unknown,
        Search::Stuck { before } => {
            Decision::Violation(before.into_iter().map(|i| ops[i].index).collect())
        }
    }
}

/// One cluster of the zone test: a value's write and the reads that returned it.
#[derive(Debug, Clone, Copy)]
struct Cluster {
    /// Earliest completion in the cluster (times shifted by one: 0 is "before everything",
    /// the instant of the initial value's virtual write), and the operation it belongs to.
    first_end: (u64, Option<usize>),
    /// Latest invoke in the cluster, and its operation.
    last_start: (u64, Option<usize>),
    writer: Option<usize>,
}

impl Cluster {
    /// The zone `(low, high)` and whether it is a forward zone (`first_end < last_start`:
    /// the value must be the register's value throughout it).
    fn zone(&self) -> (u64, u64, bool) {
        let (end, start) = (self.first_end.0, self.last_start.0);
        if end < start {
            (end, start, true)
        } else {
            (start, end, false)
        }
    }

    fn witness(&self) -> impl Iterator<Item = usize> {
        [self.first_end.1, self.last_start.1, self.writer]
            .into_iter()
            .flatten()
    }
}

/// What the zone test found.
enum Zones {
    /// Values are not unique (or "no value" was written): the test does not apply.
    NotApplicable,
    /// No conflicting zones: linearizable.
    Clean,
    /// Up to the requested number of conflicts, each as the positions in `ops` of the
    /// operations that define the two zones.
    Conflicts(Vec<Vec<usize>>),
}

/// The zone test of Gibbons and Korach ("Testing shared memories", SIAM J. Comput. 1997)
/// for a register whose written values are unique. A value's cluster is its write and the
/// reads that returned it; with `end` its earliest completion and `start` its latest
/// invoke, the cluster has a forward zone `[end, start]` if `end < start` (the value must be
/// the register's value throughout) and a backward zone `[start, end]` otherwise. The
/// history is linearizable if and only if no two forward zones overlap and no backward zone
/// lies inside a forward zone, given that no read completed before the write of its value
/// began ([`KeyHistory::prepare`] checks that). The initial value is a cluster whose write
/// happened before everything. Comparisons are strict, so operations that touch at one
/// instant are treated as concurrent. O(k log k) for k values, plus the conflicts listed.
fn zone_test(ops: &[SearchOp], max_conflicts: usize) -> Zones {
    let mut clusters: HashMap<u32, Cluster> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        if op.write
            && (op.value == 0 || clusters.get(&op.value).is_some_and(|c| c.writer.is_some()))
        {
            return Zones::NotApplicable;
        }
        let initial = Cluster {
            first_end: if op.value == 0 {
                (0, None)
            } else {
                (u64::MAX, None)
            },
            last_start: (0, None),
            writer: None,
        };
        let c = clusters.entry(op.value).or_insert(initial);
        // The recorded completion: the reads that bound a write's are in its cluster.
        let (start, end) = (
            op.invoke.saturating_add(1),
            op.recorded_complete.saturating_add(1),
        );
        if end < c.first_end.0 {
            c.first_end = (end, Some(i));
        }
        if start >= c.last_start.0 {
            c.last_start = (start, Some(i));
        }
        if op.write {
            c.writer = Some(i);
        }
    }

    let mut forward: Vec<(u64, u64, Cluster)> = Vec::new();
    let mut backward: Vec<(u64, u64, Cluster)> = Vec::new();
    for c in clusters.into_values() {
        let (low, high, is_forward) = c.zone();
        if is_forward {
            forward.push((low, high, c));
        } else {
            backward.push((low, high, c));
        }
    }
    forward.sort_by_key(|&(low, high, _)| (low, high));
    backward.sort_by_key(|&(low, high, _)| (low, high));
    let mut conflicts: Vec<Vec<usize>> = Vec::new();
    let mut add = |a: &Cluster, b: &Cluster| {
        conflicts.push(a.witness().chain(b.witness()).collect());
        conflicts.len() >= max_conflicts
    };

    // Overlapping forward zones: sorted by start, every zone starting before another ends.
    for (i, (_, high_a, a)) in forward.iter().enumerate() {
        for (low_b, _, b) in &forward[i + 1..] {
            if low_b >= high_a {
                break;
            }
            if add(a, b) {
                return Zones::Conflicts(conflicts);
            }
        }
    }
    // A backward zone inside a forward one: among the forward zones starting before it,
    // the one reaching furthest.
    let mut furthest: Vec<usize> = Vec::with_capacity(forward.len());
    for (k, &(_, high, _)) in forward.iter().enumerate() {
        let best = match furthest.last() {
            Some(&j) if forward[j].1 >= high => j,
            _ => k,
        };
        furthest.push(best);
    }
    for (low, high, b) in &backward {
        let before = forward.partition_point(|&(f_low, _, _)| f_low < *low);
        if let Some(k) = before.checked_sub(1) {
            let (_, f_high, f) = &forward[furthest[k]];
            if high < f_high && add(f, b) {
                return Zones::Conflicts(conflicts);
            }
        }
    }
    if conflicts.is_empty() {
        Zones::Clean
    } else {
        Zones::Conflicts(conflicts)
    }
}

/// How many zone conflicts [`KeyHistory::counterexample`] shrinks to find a smaller one.
const ALTERNATIVE_WITNESSES: usize = 16;

/// One operation as the search sees it.
#[derive(Debug, Clone, Copy)]
struct SearchOp {
    /// Index into [`KeyHistory::ops`].
    index: usize,
    write: bool,
    /// Value id written or read (0: no value).
    value: u32,
    invoke: u64,
    /// `u64::MAX` for an open-ended (`unknown`) write; for a write, no later than the
    /// earliest completion of a read that returned its value.
    complete: u64,
    /// `complete` as recorded, before that bound (which a witness of the zone test would
    /// otherwise need the bounding read for).
    recorded_complete: u64,
}

enum Search {
    Linearizable,
    Timeout,
    /// No linearization; `before` are the positions of the operations invoked before the
    /// furthest point the search reached (a subset that is still not linearizable).
    Stuck {
        before: Vec<usize>,
    },
}

const NIL: u32 = u32::MAX;

/// How often (in search steps) the clock is read.
const POLL_EVERY: u32 = 1 << 12;

/// The WGL search with memoization of (linearized set, value).
fn search(ops: &[SearchOp], deadline: Deadline) -> Search {
    let n = ops.len();
    if n == 0 {
        return Search::Linearizable;
    }

    // Events in time order; at equal times invokes come first (concurrent, not ordered).
    let mut events: Vec<(u64, bool, u32)> = Vec::with_capacity(2 * n);
    for (i, op) in ops.iter().enumerate() {
        events.push((op.invoke, false, i as u32));
        events.push((op.complete, true, i as u32));
    }
    events.sort_unstable();

    // Node 0 is the head sentinel; node k (1..=2n) is events[k - 1].
    let nodes = events.len() + 1;
    let mut next = vec![NIL; nodes];
    let mut prev = vec![NIL; nodes];
    let mut node_op = vec![0u32; nodes];
    let mut is_return = vec![false; nodes];
    let mut call_node = vec![0u32; n];
    let mut return_node = vec![0u32; n];
    for (k, &(_, ret, op)) in events.iter().enumerate() {
        let node = k + 1;
        node_op[node] = op;
        is_return[node] = ret;
        if ret {
            return_node[op as usize] = node as u32;
        } else {
            call_node[op as usize] = node as u32;
        }
    }
    for node in 0..nodes {
        if node + 1 < nodes {
            next[node] = (node + 1) as u32;
        }
        if node > 0 {
            prev[node] = (node - 1) as u32;
        }
    }

    // Per value id: reads and writes not linearized yet. A value overwritten while reads of
    // it remain and no write of it remains can never be read again: a dead end.
    let values = ops
        .iter()
        .map(|op| op.value as usize + 1)
        .max()
        .unwrap_or(1);
    let mut reads_left = vec![0u32; values];
    let mut writes_left = vec![0u32; values];
    for op in ops {
        if op.write {
            writes_left[op.value as usize] += 1;
        } else {
            reads_left[op.value as usize] += 1;
        }
    }
    // The last invoke node of a read of each value: a dead end depends on those reads, so
    // the frontier (which says what a counterexample may leave out) must cover them.
    let mut last_read_call = vec![0u32; values];
    for (i, op) in ops.iter().enumerate() {
        if !op.write {
            let last = &mut last_read_call[op.value as usize];
            *last = (*last).max(call_node[i]);
        }
    }
    let dead_end = |reads_left: &[u32], writes_left: &[u32], state: u32, op: SearchOp| {
        op.write
            && op.value != state
            && reads_left[state as usize] > 0
            && writes_left[state as usize] == 0
    };

    let words = n.div_ceil(64);
    // The linearized set, followed by the register's value: the memo key.
    let mut config = vec![0u64; words + 1];
    let mut seen = Memo::new(words + 1);
    // (call node, value before it, forced): a forced move has no alternative to try.
    let mut stack: Vec<(u32, u32, bool)> = Vec::new();
    let mut state = 0u32;
    let mut entry = next[0];
    // True when `entry` is the head of a configuration not scanned yet.
    let mut fresh = true;
    let mut frontier = 0u32;
    let mut steps = 0u32;

    loop {
        if next[0] == NIL {
            return Search::Linearizable;
        }
        steps = steps.wrapping_add(1);
        if steps & (POLL_EVERY - 1) == 0 && deadline.passed() {
            return Search::Timeout;
        }

        let mut dominated = false;
        if fresh {
            fresh = false;
            // A pending read of the current value is linearized at once: moving a read
            // earlier, while it is pending and the value is right, never hurts, so if the
            // search fails with it here it fails without it too.
            let mut e = next[0];
            while e != NIL && !is_return[e as usize] {
                let op = ops[node_op[e as usize] as usize];
                if !op.write && op.value == state {
                    break;
                }
                e = next[e as usize];
            }
            if e != NIL && !is_return[e as usize] {
                let op_index = node_op[e as usize] as usize;
                config[op_index / 64] |= 1 << (op_index % 64);
                config[words] = u64::from(state);
                if !seen.insert(&config) {
                    config[op_index / 64] &= !(1 << (op_index % 64));
                    dominated = true;
                } else {
                    stack.push((e, state, true));
                    reads_left[state as usize] -= 1;
                    lift(&mut next, &mut prev, e, return_node[op_index]);
                    fresh = true;
                    continue;
                }
            } else {
                entry = next[0];
            }
        }

        if !dominated {
            if entry != NIL && !is_return[entry as usize] {
                let op_index = node_op[entry as usize] as usize;
                let op = ops[op_index];
                let accepted = if op.write {
                    let dead = dead_end(&reads_left, &writes_left, state, op);
                    if dead {
                        frontier = frontier.max(last_read_call[state as usize] + 1);
                    }
                    !dead
                } else {
                    op.value == state
                };
                if accepted {
                    let new_state = if op.write { op.value } else { state };
                    config[op_index / 64] |= 1 << (op_index % 64);
                    config[words] = u64::from(new_state);
                    if seen.insert(&config) {
                        stack.push((entry, state, false));
                        if op.write {
                            writes_left[op.value as usize] -= 1;
                        } else {
                            reads_left[op.value as usize] -= 1;
                        }
                        state = new_state;
                        lift(&mut next, &mut prev, entry, return_node[op_index]);
                        fresh = true;
                        continue;
                    }
                    config[op_index / 64] &= !(1 << (op_index % 64));
                }
                entry = next[entry as usize];
                continue;
            }
            // An operation completes here that is not linearized yet.
            if entry != NIL {
                frontier = frontier.max(entry);
            }
        }

        // Undo moves back to the last choice that has alternatives left.
        loop {
            let Some((call, before, forced)) = stack.pop() else {
                let limit = if frontier == 0 { NIL } else { frontier };
                let before = (0..n).filter(|&i| call_node[i] < limit).collect();
                return Search::Stuck { before };
            };
            let op_index = node_op[call as usize] as usize;
            let op = ops[op_index];
            if op.write {
                writes_left[op.value as usize] += 1;
            } else {
                reads_left[op.value as usize] += 1;
            }
            state = before;
            config[op_index / 64] &= !(1 << (op_index % 64));
            unlift(&mut next, &mut prev, call, return_node[op_index]);
            if !forced {
                entry = next[call as usize];
                break;
            }
        }
    }
}

/// Removes an operation's invoke and completion nodes from the list.
fn lift(next: &mut [u32], prev: &mut [u32], call: u32, ret: u32) {
    for node in [call, ret] {
        let (p, n) = (prev[node as usize], next[node as usize]);
        next[p as usize] = n;
        if n != NIL {
            prev[n as usize] = p;
        }
    }
}

/// Puts back what [`lift`] removed (in reverse order, so the links are exact).
fn unlift(next: &mut [u32], prev: &mut [u32], call: u32, ret: u32) {
    for node in [ret, call] {
        let (p, n) = (prev[node as usize], next[node as usize]);
        next[p as usize] = node;
        if n != NIL {
            prev[n as usize] = node;
        }
    }
}

/// Memory the memo of one search may use; past it, new configurations are no longer
/// remembered (the search stays exact, only slower, and the time limit still applies).
const MEMO_LIMIT_BYTES: usize = 512 << 20;

/// The set of configurations already explored: fixed-size keys stored back to back in one
/// arena, found through an open-addressing table of arena positions.
struct Memo {
    words: usize,
    arena: Vec<u64>,
    /// 0: empty; otherwise 1 + the entry's number in the arena.
    slots: Vec<u32>,
    len: usize,
    full: bool,
}

impl Memo {
    fn new(words: usize) -> Self {
        Memo {
            words,
            arena: Vec::new(),
            slots: vec![0; 1024],
            len: 0,
            full: false,
        }
    }

    /// The slot holding `key`, or the empty slot where it belongs.
    fn find(&self, key: &[u64]) -> usize {
        let mask = self.slots.len() - 1;
        let mut slot = fx_hash(key) as usize & mask;
        loop {
            let entry = self.slots[slot] as usize;
            if entry == 0 || self.entry(entry - 1) == key {
                return slot;
            }
            slot = (slot + 1) & mask;
        }
    }

    fn entry(&self, n: usize) -> &[u64] {
        &self.arena[n * self.words..(n + 1) * self.words]
    }

    /// Adds `key`; false if it was there already. Once full, only reports.
    fn insert(&mut self, key: &[u64]) -> bool {
        let slot = self.find(key);
        if self.slots[slot] != 0 {
            return false;
        }
        if self.full {
            return true;
        }
        let bytes = (self.arena.len() + self.words) * 8 + self.slots.len() * 8;
        if bytes > MEMO_LIMIT_BYTES || self.len + 1 >= u32::MAX as usize / 2 {
            self.full = true;
            return true;
        }
        self.arena.extend_from_slice(key);
        self.len += 1;
        self.slots[slot] = self.len as u32;
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
        true
    }

    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![0; size]);
        for entry in old.into_iter().filter(|&e| e != 0) {
            let slot = self.find(self.entry(entry as usize - 1));
            self.slots[slot] = entry;
        }
    }
}

/// FxHash's mixing step over the words, with a final rotation so the low bits (the table
/// index) depend on the high bits of the product.
fn fx_hash(key: &[u64]) -> u64 {
    let mut hash = 0u64;
    for &word in key {
        hash = (hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    hash.rotate_left(26)
}

/// Microseconds on the run clock, as seconds.
fn secs(us: u64) -> String {
    format!("{}.{:06} s", us / 1_000_000, us % 1_000_000)
}

fn shown(value: Option<&str>) -> &str {
    value.unwrap_or("no value")
}

/// One sentence on what is wrong with `ops` (sorted by invoke), for the common shapes; a
/// general statement otherwise. Only says what the times and values show.
fn explain(ops: &[&OpRecord], related: &[&OpRecord]) -> String {
    let is_read = |op: &&OpRecord| op.kind == OpKind::Read;
    let ok_write = |op: &&OpRecord| op.kind == OpKind::Write && op.outcome == Outcome::Ok;
    let reads: Vec<&OpRecord> = ops.iter().copied().filter(is_read).collect();
    let writes: Vec<&OpRecord> = ops.iter().copied().filter(|op| !is_read(op)).collect();
    let wrote = |w: &OpRecord, r: &OpRecord| w.value.is_some() && w.value == r.value;

    match (writes.as_slice(), reads.as_slice()) {
        ([], [r]) => {
            let label = shown(r.value.as_deref());
            let mut s = format!(
                "op {} read {label}, but no write of {label} to {} took effect",
                r.id, r.key
            );
            if let Some(f) = related.first() {
                s.push_str(&format!(" (op {} tried to write it and failed)", f.id));
            }
            s
        }
        ([w], [r]) if wrote(w, r) && r.complete_us < w.invoke_us => format!(
            "op {} returned {} at {}, before op {} began writing it at {}",
            r.id,
            shown(r.value.as_deref()),
            secs(r.complete_us),
            w.id,
            secs(w.invoke_us)
        ),
        ([w], [r]) if r.value.is_none() && ok_write(w) && w.complete_us < r.invoke_us => {
            format!(
                "stale read: op {} began at {}, after op {}'s write of {} had completed at {}, \
                 yet found no value",
                r.id,
                secs(r.invoke_us),
                w.id,
                shown(w.value.as_deref()),
                secs(w.complete_us)
            )
        }
        ([a, b], [r])
            if ok_write(a)
                && ok_write(b)
                && a.complete_us < b.invoke_us
                && b.complete_us < r.invoke_us
                && wrote(a, r) =>
        {
            format!(
                "stale read: op {} began at {}, after op {}'s write of {} had completed at {} \
                 (and that write began after op {}'s write of {} completed), yet returned the \
                 older {}",
                r.id,
                secs(r.invoke_us),
                b.id,
                shown(b.value.as_deref()),
                secs(b.complete_us),
                a.id,
                shown(a.value.as_deref()),
                shown(r.value.as_deref())
            )
        }
        ([w], [ra, rb]) if rb.value.is_none() && wrote(w, ra) && ra.complete_us < rb.invoke_us => {
            format!(
                "non-monotonic reads: op {} began at {}, after op {} had returned {} at {}, \
                 yet found no value",
                rb.id,
                secs(rb.invoke_us),
                ra.id,
                shown(ra.value.as_deref()),
                secs(ra.complete_us)
            )
        }
        ([a, b], [ra, rb])
            if ok_write(a)
                && a.complete_us < b.invoke_us
                && wrote(b, ra)
                && wrote(a, rb)
                && ra.complete_us < rb.invoke_us =>
        {
            format!(
                "non-monotonic reads: op {} began at {}, after op {} had returned {} at {}, yet \
                 returned the older {} (op {}'s write of {} began after op {}'s write of {} \
                 completed)",
                rb.id,
                secs(rb.invoke_us),
                ra.id,
                shown(ra.value.as_deref()),
                secs(ra.complete_us),
                shown(rb.value.as_deref()),
                b.id,
                shown(b.value.as_deref()),
                a.id,
                shown(a.value.as_deref())
            )
        }
        _ => "no order of these operations both respects their real-time order (an operation \
              that completed before another was invoked comes first) and has every read \
              return the latest value written before it"
            .to_string(),
    }
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "key {}: {} operation{} with no linearization{}:",
            self.key,
            self.ops.len(),
            if self.ops.len() == 1 { "" } else { "s" },
            if self.minimal {
                ""
            } else {
                " (not shrunk to a minimum: time limit)"
            }
        )?;
        for op in &self.ops {
            write_op(f, op)?;
        }
        if !self.related.is_empty() {
            writeln!(f, "  related (never took effect):")?;
            for op in &self.related {
                write_op(f, op)?;
            }
        }
        writeln!(f, "  why: {}", self.explanation)
    }
}

fn write_op(f: &mut fmt::Formatter<'_>, op: &OpRecord) -> fmt::Result {
    let what = match op.kind {
        OpKind::Write => format!("wrote {}", shown(op.value.as_deref())),
        OpKind::Read => format!("read {}", shown(op.value.as_deref())),
    };
    let end = match op.outcome {
        Outcome::Ok => format!("completed {}", secs(op.complete_us)),
        Outcome::Fail => format!("failed at {}", secs(op.complete_us)),
        Outcome::Unknown => format!(
            "no answer, gave up at {} (may have taken effect later)",
            secs(op.complete_us)
        ),
    };
    writeln!(
        f,
        "  op {}: {} {what}, invoked {}, {end}, via {}",
        op.id,
        op.client,
        secs(op.invoke_us),
        op.node.as_deref().unwrap_or("no node")
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.counts();
        let total = self.keys.len();
        let took = format!(
            "{} operations, {total} keys, checked in {:.3} s",
            self.checked_ops,
            self.elapsed.as_secs_f64()
        );
        match self.verdict {
            Some(true) => writeln!(f, "linearizable ({took})")?,
            Some(false) => writeln!(
                f,
                "NOT linearizable: {} of {total} keys ({took}; {} unknown)",
                c.not_linearizable, c.unknown
            )?,
            None => writeln!(
                f,
                "unknown: time limit of {:.3} s reached with {} of {total} keys undecided ({took})",
                self.time_limit.as_secs_f64(),
                c.unknown
            )?,
        }
        for ce in self.counterexamples() {
            write!(f, "{ce}")?;
        }
        Ok(())
    }
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
mod tests {
    use super::*;
    use crate::history::Device;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const LONG: Duration = Duration::from_secs(30);

    fn op(
        id: u64,
        kind: OpKind,
        value: Option<&str>,
        invoke_us: u64,
        complete_us: u64,
        outcome: Outcome,
    ) -> OpRecord {
        OpRecord {
            id,
            client: format!("c{id}"),
            user: "alice".into(),
            device: Device::Phone,
            dc: "eu".into(),
            node: Some("eu-1".into()),
            kind,
            key: "profile/alice".into(),
            value: value.map(str::to_string),
            bytes: 0,
            scheduled_us: invoke_us,
            invoke_us,
            complete_us,
            outcome,
            version: None,
            error: None,
        }
    }

    fn w(id: u64, label: &str, invoke: u64, complete: u64) -> OpRecord {
        op(
            id,
            OpKind::Write,
            Some(label),
            invoke,
            complete,
            Outcome::Ok,
        )
    }

    fn w_unknown(id: u64, label: &str, invoke: u64, complete: u64) -> OpRecord {
        op(
            id,
            OpKind::Write,
            Some(label),
            invoke,
            complete,
            Outcome::Unknown,
        )
    }

    fn r(id: u64, value: Option<&str>, invoke: u64, complete: u64) -> OpRecord {
        op(id, OpKind::Read, value, invoke, complete, Outcome::Ok)
    }

    fn verdict(ops: &[OpRecord]) -> KeyVerdict {
        let report = check_history(ops, LONG);
        assert_eq!(report.keys.len(), 1);
        report.keys.into_values().next().unwrap()
    }

    fn counterexample_ids(ops: &[OpRecord]) -> Vec<u64> {
        match verdict(ops) {
            KeyVerdict::NotLinearizable { counterexample } => {
                assert!(counterexample.minimal);
                counterexample.ops.iter().map(|o| o.id).collect()
            }
            other => panic!("expected a violation, got {other:?}"),
        }
    }

    #[test]
    fn sequential_history_is_linearizable() {
        let ops = [
            r(1, None, 0, 10),
            w(2, "a#1", 20, 30),
            r(3, Some("a#1"), 40, 50),
            w(4, "a#2", 60, 70),
            r(5, Some("a#2"), 80, 90),
        ];
        assert_eq!(verdict(&ops), KeyVerdict::Linearizable);
    }

    #[test]
    fn concurrent_write_and_read_may_go_either_way() {
        for seen in [None, Some("a#1")] {
            let ops = [w(1, "a#1", 0, 100), r(2, seen, 10, 90)];
            assert_eq!(verdict(&ops), KeyVerdict::Linearizable, "read {seen:?}");
        }
    }

    #[test]
    fn stale_read_is_found_with_its_three_operations() {
        let ops = [
            w(1, "a#1", 0, 10),
            r(2, Some("a#1"), 12, 15),
            w(3, "a#2", 20, 30),
            r(4, Some("a#2"), 31, 35),
            r(5, Some("a#1"), 40, 50), // began after a#2 was written: stale
            r(6, Some("a#2"), 60, 70),
        ];
        assert_eq!(counterexample_ids(&ops), vec![1, 3, 5]);
        let KeyVerdict::NotLinearizable { counterexample } = verdict(&ops) else {
            unreachable!()
        };
        assert!(
            counterexample.explanation.starts_with("stale read: op 5"),
            "{}",
            counterexample.explanation
        );
        let text = counterexample.to_string();
        assert!(
            text.contains("op 5: c5 read a#1, invoked 0.000040 s"),
            "{text}"
        );
    }

    #[test]
    fn stale_read_of_no_value_is_found() {
        let ops = [w(1, "a#1", 0, 10), r(2, None, 20, 30)];
        assert_eq!(counterexample_ids(&ops), vec![1, 2]);
    }

    #[test]
    fn read_of_a_value_never_written_is_not_linearizable() {
        let ops = [w(1, "a#1", 0, 10), r(2, Some("a#9"), 20, 30)];
        assert_eq!(counterexample_ids(&ops), vec![2]);
    }

    #[test]
    fn read_of_a_failed_write_names_that_write() {
        let ops = [
            op(1, OpKind::Write, Some("a#1"), 0, 10, Outcome::Fail),
            r(2, Some("a#1"), 20, 30),
        ];
        let KeyVerdict::NotLinearizable { counterexample } = verdict(&ops) else {
            panic!("expected a violation")
        };
        assert_eq!(counterexample.ops.len(), 1);
        assert_eq!(counterexample.related[0].id, 1);
        assert!(counterexample
            .explanation
            .contains("op 1 tried to write it and failed"));
    }

    #[test]
    fn read_completed_before_its_write_began_is_not_linearizable() {
        let ops = [r(1, Some("a#1"), 0, 10), w(2, "a#1", 20, 30)];
        assert_eq!(counterexample_ids(&ops), vec![1, 2]);
    }

    #[test]
    fn unknown_write_seen_later_is_linearizable() {
        let ops = [
            w(1, "a#1", 0, 10),
            w_unknown(2, "a#2", 20, 30), // client gave up at 30
            r(3, Some("a#1"), 40, 50),   // not applied yet
            r(4, Some("a#2"), 60, 70),   // applied after the client gave up
        ];
        assert_eq!(verdict(&ops), KeyVerdict::Linearizable);
    }

    #[test]
    fn unknown_write_never_seen_is_linearizable() {
        let ops = [
            w(1, "a#1", 0, 10),
            w_unknown(2, "a#2", 20, 30),
            r(3, Some("a#1"), 40, 50),
            r(4, Some("a#1"), 60, 70),
        ];
        assert_eq!(verdict(&ops), KeyVerdict::Linearizable);
    }

    #[test]
    fn unknown_write_cannot_be_undone_once_seen() {
        // a#2 was seen at 40..50, then a#1 again with no write of a#1 in between.
        let ops = [
            w(1, "a#1", 0, 10),
            w_unknown(2, "a#2", 20, 30),
            r(3, Some("a#2"), 40, 50),
            r(4, Some("a#1"), 60, 70),
        ];
        assert_eq!(counterexample_ids(&ops), vec![1, 2, 3, 4]);
    }

    #[test]
    fn failed_operations_and_unanswered_reads_are_ignored() {
        let ops = [
            w(1, "a#1", 0, 10),
            op(2, OpKind::Write, Some("a#2"), 20, 30, Outcome::Fail),
            op(3, OpKind::Read, None, 40, 50, Outcome::Unknown),
            op(4, OpKind::Read, None, 40, 50, Outcome::Fail),
            r(5, Some("a#1"), 60, 70),
        ];
        assert_eq!(verdict(&ops), KeyVerdict::Linearizable);
    }

    #[test]
    fn zero_time_limit_gives_unknown() {
        let ops = [w(1, "a#1", 0, 10), r(2, Some("a#1"), 20, 30)];
        let report = check_history(&ops, Duration::ZERO);
        assert_eq!(report.verdict, None);
        assert_eq!(report.keys["profile/alice"], KeyVerdict::Unknown);
        let refs: Vec<&OpRecord> = ops.iter().collect();
        assert_eq!(check_key(&refs, Instant::now()), KeyVerdict::Unknown);
    }

    #[test]
    fn the_exact_search_gives_up_at_the_time_limit() {
        // 40 concurrent writes nobody reads, then reads needing a#1, then a#2, then a#1 again:
        // impossible, and with a label written twice the zone test does not apply, so the
        // exact search would have to try the orders of the 40 writes.
        let mut ops: Vec<OpRecord> = (0..40).map(|i| w(i, &format!("a#{i}"), 0, 1_000)).collect();
        ops.push(w(40, "a#39", 0, 1_000));
        ops.push(r(41, Some("a#1"), 2_000, 2_010));
        ops.push(r(42, Some("a#2"), 2_020, 2_030));
        ops.push(r(43, Some("a#1"), 2_040, 2_050));
        let start = Instant::now();
        let report = check_history(&ops, Duration::from_millis(200));
        assert_eq!(report.verdict, None, "{report}");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn non_monotonic_reads_are_not_linearizable() {
        let ops = [
            w(1, "a#1", 0, 10),
            w(2, "a#2", 20, 100), // still in progress while the reads run
            r(3, Some("a#2"), 30, 40),
            r(4, Some("a#1"), 50, 60), // after op 3 saw a#2
        ];
        assert_eq!(counterexample_ids(&ops), vec![1, 2, 3, 4]);
        let KeyVerdict::NotLinearizable { counterexample } = verdict(&ops) else {
            unreachable!()
        };
        assert!(
            counterexample
                .explanation
                .starts_with("non-monotonic reads: op 4"),
            "{}",
            counterexample.explanation
        );
    }

    #[test]
    fn equal_timestamps_count_as_concurrent() {
        // The read completes at the microsecond the write is invoked.
        let ops = [r(1, Some("a#1"), 0, 20), w(2, "a#1", 20, 30)];
        assert_eq!(verdict(&ops), KeyVerdict::Linearizable);
    }

    #[test]
    fn keys_are_independent_and_the_overall_verdict_combines_them() {
        let mut ops = vec![w(1, "a#1", 0, 10), r(2, Some("a#1"), 20, 30)];
        let mut bob = vec![w(3, "b#1", 0, 10), r(4, None, 20, 30)];
        for o in &mut bob {
            o.key = "profile/bob".into();
        }
        ops.extend(bob);
        let report = check_history(&ops, LONG);
        assert_eq!(report.verdict, Some(false));
        assert_eq!(report.keys["profile/alice"], KeyVerdict::Linearizable);
        assert_eq!(report.keys["profile/bob"].as_bool(), Some(false));
        assert_eq!(report.checked_ops, 4);
        assert!(report
            .to_string()
            .starts_with("NOT linearizable: 1 of 2 keys"));

        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["verdict"], false);
        assert_eq!(json["keys"]["profile/alice"]["verdict"], "linearizable");
        assert_eq!(json["keys"]["profile/bob"]["verdict"], "not_linearizable");
        assert!(json["elapsed_us"].is_u64());
        let back: Report = serde_json::from_value(json).unwrap();
        assert_eq!(back.keys, report.keys);
    }

    #[test]
    fn empty_history_is_linearizable() {
        let report = check_history(&[], LONG);
        assert_eq!(report.verdict, Some(true));
    }

    /// Fuzzing knobs for the brute-force comparisons, for longer runs by hand, e.g.
    /// `LIN_ROUNDS=300000 LIN_MAX_OPS=10 LIN_SEED=5 cargo test --release --lib check`.
    fn env_or(name: &str, default: u64) -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    /// Brute force: is there an order of the informative operations (each `unknown` write
    /// included or not) that respects real time and register semantics?
    fn brute_force_linearizable(ops: &[&OpRecord]) -> bool {
        let ops: Vec<&OpRecord> = ops
            .iter()
            .copied()
            .filter(|o| match o.kind {
                OpKind::Write => o.outcome != Outcome::Fail,
                OpKind::Read => o.outcome == Outcome::Ok,
            })
            .collect();
        let end = |o: &OpRecord| match o.outcome {
            Outcome::Unknown => u64::MAX,
            _ => o.complete_us.max(o.invoke_us),
        };
        fn extend(
            ops: &[&OpRecord],
            end: &dyn Fn(&OpRecord) -> u64,
            used: &mut Vec<bool>,
            state: Option<&str>,
        ) -> bool {
            // Done when every required operation is placed (unknown writes may be left out).
            if ops
                .iter()
                .zip(used.iter())
                .all(|(o, &u)| u || o.outcome == Outcome::Unknown)
            {
                return true;
            }
            for i in 0..ops.len() {
                if used[i] {
                    continue;
                }
                // Everything not yet placed must not have completed before ops[i] began.
                let blocked = (0..ops.len()).any(|j| {
                    j != i
                        && !used[j]
                        && ops[j].outcome != Outcome::Unknown
                        && end(ops[j]) < ops[i].invoke_us
                });
                if blocked {
                    continue;
                }
                let next = match ops[i].kind {
                    OpKind::Write => ops[i].value.as_deref(),
                    OpKind::Read if ops[i].value.as_deref() == state => state,
                    OpKind::Read => continue,
                };
                used[i] = true;
                let found = extend(ops, end, used, next);
                used[i] = false;
                if found {
                    return true;
                }
            }
            false
        }
        let mut used = vec![false; ops.len()];
        extend(&ops, &end, &mut used, None)
    }

    fn random_small_history(rng: &mut ChaCha8Rng) -> Vec<OpRecord> {
        let n = rng.random_range(1..env_or("LIN_MAX_OPS", 7) + 1);
        let mut ops = Vec::new();
        let mut written = 0;
        for id in 0..n {
            let invoke = rng.random_range(0..20);
            let complete = invoke + rng.random_range(0..12);
            let outcome = match rng.random_range(0..10) {
                0 => Outcome::Fail,
                1 | 2 => Outcome::Unknown,
                _ => Outcome::Ok,
            };
            let rec = if rng.random_bool(0.45) {
                // Now and then a label written before: values are not unique, so only the
                // exact search applies.
                let label = if written > 0 && rng.random_bool(0.08) {
                    format!("v{}", rng.random_range(1..=written))
                } else {
                    written += 1;
                    format!("v{written}")
                };
                op(id, OpKind::Write, Some(&label), invoke, complete, outcome)
            } else {
                let value = match rng.random_range(0..written + 2) {
                    0 => None,
                    k if k <= written => Some(format!("v{k}")),
                    _ => Some("never".to_string()),
                };
                op(
                    id,
                    OpKind::Read,
                    value.as_deref(),
                    invoke,
                    complete,
                    outcome,
                )
            };
            ops.push(rec);
        }
        ops
    }

    #[test]
    fn agrees_with_brute_force_and_counterexamples_are_minimal() {
        let rounds = env_or("LIN_ROUNDS", 4000);
        let mut rng = ChaCha8Rng::seed_from_u64(env_or("LIN_SEED", 99));
        let mut violations = 0;
        for round in 0..rounds {
            let ops = random_small_history(&mut rng);
            let refs: Vec<&OpRecord> = ops.iter().collect();
            let expected = brute_force_linearizable(&refs);
            let got = verdict(&ops);
            assert_eq!(got.as_bool(), Some(expected), "round {round}: {ops:#?}");
            let KeyVerdict::NotLinearizable { counterexample } = got else {
                continue;
            };
            violations += 1;
            let ce: Vec<&OpRecord> = counterexample.ops.iter().collect();
            assert!(
                !brute_force_linearizable(&ce),
                "round {round}: {counterexample}"
            );
            assert!(counterexample.minimal);
            for skip in 0..ce.len() {
                let rest: Vec<&OpRecord> = ce
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != skip)
                    .map(|(_, &o)| o)
                    .collect();
                let needed_by_a_read = ce[skip].kind == OpKind::Write
                    && rest
                        .iter()
                        .any(|o| o.kind == OpKind::Read && o.value == ce[skip].value);
                if !needed_by_a_read {
                    assert!(
                        brute_force_linearizable(&rest),
                        "round {round}: op {} is not needed in {counterexample}",
                        ce[skip].id
                    );
                }
            }
        }
        assert!(
            violations > rounds / 8,
            "only {violations} violations generated"
        );
    }

    /// Each decision procedure on its own against brute force: the exact search, and the
    /// zone test (which must find a conflict exactly when there is a violation that the
    /// label checks of `prepare` did not already report).
    #[test]
    fn exact_search_and_zone_test_each_agree_with_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(env_or("LIN_SEED", 3));
        for round in 0..env_or("LIN_ROUNDS", 3000) {
            let ops = random_small_history(&mut rng);
            let refs: Vec<&OpRecord> = ops.iter().collect();
            let expected = brute_force_linearizable(&refs);
            let history = KeyHistory::new("k", &refs);
            let all: Vec<usize> = (0..history.ops.len()).collect();
            let exact = history.search_exact(&all, Deadline(None));
            assert_eq!(
                matches!(exact, Decision::Linearizable),
                expected,
                "round {round}: {ops:#?}"
            );
            if let Ok(prepared) = history.prepare(&all) {
                match zone_test(&prepared, 4) {
                    Zones::Clean => assert!(expected, "round {round}: {ops:#?}"),
                    Zones::Conflicts(witnesses) => {
                        assert!(!expected, "round {round}: {ops:#?}");
                        for witness in witnesses {
                            let confirmed = history.confirm(&prepared, witness, Deadline(None));
                            assert!(confirmed.is_some(), "round {round}: {ops:#?}");
                        }
                    }
                    Zones::NotApplicable => {}
                }
            }
        }
    }

    /// A register driven by concurrent clients: each operation gets a linearization point in
    /// order and an invoke/complete window around it; some writes are `unknown` (applied or
    /// not, the client giving up at any time) and some fail.
    fn simulated_history(rng: &mut ChaCha8Rng, keys: usize, per_key: usize) -> Vec<OpRecord> {
        let mut ops = Vec::new();
        for k in 0..keys {
            let key = format!("profile/u{k}");
            let mut value: Option<String> = None;
            let mut t = 1_000u64;
            for j in 0..per_key {
                t += rng.random_range(1..50);
                let invoke = t - rng.random_range(0..200).min(t);
                let complete = t + rng.random_range(0..200);
                let id = ops.len() as u64;
                let mut rec = if rng.random_bool(0.4) {
                    let label = format!("u{k}#{j}");
                    let roll: f64 = rng.random();
                    if roll < 0.75 {
                        value = Some(label.clone());
                        op(
                            id,
                            OpKind::Write,
                            Some(&label),
                            invoke,
                            complete,
                            Outcome::Ok,
                        )
                    } else if roll < 0.9 {
                        if rng.random_bool(0.5) {
                            value = Some(label.clone());
                        }
                        let gave_up = invoke + rng.random_range(0..300);
                        op(
                            id,
                            OpKind::Write,
                            Some(&label),
                            invoke,
                            gave_up,
                            Outcome::Unknown,
                        )
                    } else {
                        op(
                            id,
                            OpKind::Write,
                            Some(&label),
                            invoke,
                            complete,
                            Outcome::Fail,
                        )
                    }
                } else if rng.random_bool(0.9) {
                    op(
                        id,
                        OpKind::Read,
                        value.as_deref(),
                        invoke,
                        complete,
                        Outcome::Ok,
                    )
                } else {
                    op(id, OpKind::Read, None, invoke, complete, Outcome::Unknown)
                };
                rec.key = key.clone();
                ops.push(rec);
            }
        }
        ops
    }

    /// Beyond brute force's reach: on simulated histories with some reads changed to
    /// another value of the key, the zone test's verdict and the exact search's agree, and
    /// every counterexample is confirmed by the exact search.
    #[test]
    fn zone_test_agrees_with_exact_search_on_larger_histories() {
        let mut rng = ChaCha8Rng::seed_from_u64(env_or("LIN_SEED", 17));
        let mut violations = 0;
        for round in 0..env_or("LIN_ROUNDS", 400) {
            let mut ops = simulated_history(&mut rng, 1, 10 + round as usize % 70);
            let labels: Vec<Option<String>> = ops
                .iter()
                .filter(|o| o.kind == OpKind::Write)
                .map(|o| o.value.clone())
                .chain([None])
                .collect();
            for o in ops.iter_mut() {
                if o.kind == OpKind::Read && rng.random_bool(0.03) {
                    o.value = labels[rng.random_range(0..labels.len())].clone();
                }
            }
            let refs: Vec<&OpRecord> = ops.iter().collect();
            let history = KeyHistory::new("k", &refs);
            let all: Vec<usize> = (0..history.ops.len()).collect();
            let exact = history.search_exact(&all, Deadline(None));
            let fast = history.analyse(&all, Deadline(None));
            // Every conflict the zone test reports holds up on its own (if one did not, the
            // checker would fall back to the exponential search).
            if let Ok(prepared) = history.prepare(&all) {
                if let Zones::Conflicts(witnesses) = zone_test(&prepared, 8) {
                    for witness in witnesses {
                        let confirmed = history.confirm(&prepared, witness, Deadline(None));
                        assert!(confirmed.is_some(), "round {round}: {ops:#?}");
                    }
                }
            }
            assert_eq!(
                matches!(fast, Decision::Linearizable),
                matches!(exact, Decision::Linearizable),
                "round {round}: {ops:#?}"
            );
            if let Decision::Violation(set) = fast {
                violations += 1;
                let counterexample = history.counterexample(set, Deadline(None));
                let ce: Vec<&OpRecord> = counterexample.ops.iter().collect();
                let again = KeyHistory::new("k", &ce);
                let ce_all: Vec<usize> = (0..again.ops.len()).collect();
                assert!(
                    matches!(
                        again.search_exact(&ce_all, Deadline(None)),
                        Decision::Violation(_)
                    ),
                    "round {round}: {counterexample}"
                );
            }
        }
        assert!(violations > 50, "only {violations} violations");
    }

    #[test]
    fn simulated_register_histories_are_always_linearizable() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        for round in 0..300 {
            let ops = simulated_history(&mut rng, 3, 1 + round % 60);
            let report = check_history(&ops, LONG);
            if report.verdict != Some(true) {
                panic!("round {round}: {report}");
            }
        }
    }

    #[test]
    fn a_stale_read_injected_into_a_simulated_history_is_found() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut checked = 0;
        for _ in 0..50 {
            let mut ops = simulated_history(&mut rng, 1, 60);
            let end = ops.iter().map(|o| o.complete_us).max().unwrap_or(0);
            let ok_writes: Vec<&OpRecord> = ops
                .iter()
                .filter(|o| o.kind == OpKind::Write && o.outcome == Outcome::Ok)
                .collect();
            // A write that surely completed before a later ok write began.
            let Some(old) = ok_writes.iter().find_map(|a| {
                ok_writes
                    .iter()
                    .any(|b| a.complete_us < b.invoke_us)
                    .then(|| a.value.clone())
            }) else {
                continue;
            };
            let stale_id = ops.len() as u64;
            let mut stale = r(stale_id, old.as_deref(), end + 10, end + 20);
            stale.key = ops[0].key.clone();
            ops.push(stale);
            let KeyVerdict::NotLinearizable { counterexample } = verdict(&ops) else {
                panic!("stale read not found")
            };
            assert!(counterexample.minimal);
            // The minimal set need not be the three-operation one (another read may be the
            // evidence that the old value was overwritten), but it is small and has the read.
            assert!(counterexample.ops.len() <= 5, "{counterexample}");
            assert!(counterexample.ops.iter().any(|o| o.id == stale_id));
            checked += 1;
        }
        assert!(checked > 40);
    }
}
