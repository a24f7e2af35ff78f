//! Preparation: one key's operations that carry information, the label-based pruning
//! (unobserved `unknown` writes dropped, writes bounded by the reads of their value, reads of
//! values never written found at once), and the operations as the deciders see them.
//!
//! Deliberately left out: deciding (see `zones` and `search`) and shrinking (`shrink`).

use std::collections::{HashMap, HashSet};

use super::budget::Deadline;
use super::search::search_decision;
use super::zones::{zone_test, Zones};
use super::Decision;
use crate::history::{OpKind, OpRecord, Outcome};

/// The operations of one key that carry information.
pub(super) struct KeyHistory<'a> {
    pub(super) key: &'a str,
    /// `ok` writes, `unknown` writes and `ok` reads, sorted by invoke time (then id).
    pub(super) ops: Vec<&'a OpRecord>,
    /// Label -> indices in `ops` of the writes of that label.
    pub(super) writers: HashMap<&'a str, Vec<usize>>,
    /// Writes that failed (for explanations only).
    pub(super) failed_writes: Vec<&'a OpRecord>,
}

impl<'a> KeyHistory<'a> {
    pub(super) fn new(key: &'a str, records: &[&'a OpRecord]) -> Self {
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

    pub(super) fn decide(&self, deadline: Deadline) -> Decision {
        let all: Vec<usize> = (0..self.ops.len()).collect();
        self.analyse(&all, deadline)
    }

    /// Checks the sub-history made of `subset` (sorted indices into `ops`).
    ///
    /// With unique labels the zone test decides: no conflict means linearizable; a conflict
    /// names a handful of operations, and the exact search must confirm that they cannot be
    /// linearized before the key is reported. Otherwise (repeated labels, or a witness that
    /// does not hold up) the exact search decides the whole subset.
    pub(super) fn analyse(&self, subset: &[usize], deadline: Deadline) -> Decision {
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
    pub(super) fn confirm(
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
    pub(super) fn search_exact(&self, subset: &[usize], deadline: Deadline) -> Decision {
        match self.prepare(subset) {
            Ok(ops) => search_decision(&ops, deadline),
            Err(violation) => Decision::Violation(violation),
        }
    }

    /// Turns `subset` into search operations, applying the label-based pruning. `Err` is a
    /// violation found without searching.
    pub(super) fn prepare(&self, subset: &[usize]) -> Result<Vec<SearchOp>, Vec<usize>> {
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
    pub(super) fn close(&self, set: &mut Vec<usize>) {
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
}

/// One operation as the search sees it.
#[derive(Debug, Clone, Copy)]
pub(super) struct SearchOp {
    /// Index into [`KeyHistory::ops`].
    pub(super) index: usize,
    pub(super) write: bool,
    /// Value id written or read (0: no value).
    pub(super) value: u32,
    pub(super) invoke: u64,
    /// `u64::MAX` for an open-ended (`unknown`) write; for a write, no later than the
    /// earliest completion of a read that returned its value.
    pub(super) complete: u64,
    /// `complete` as recorded, before that bound (which a witness of the zone test would
    /// otherwise need the bounding read for).
    pub(super) recorded_complete: u64,
}
