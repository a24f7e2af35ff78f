//! The zone test of Gibbons and Korach: decides a key whose written values are unique in
//! O(k log k) for k values, and names the few operations of a conflict.
//!
//! Deliberately left out: repeated values (the test does not apply; `search` decides).

use std::collections::HashMap;

use super::prepare::SearchOp;

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
pub(super) enum Zones {
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
pub(super) fn zone_test(ops: &[SearchOp], max_conflicts: usize) -> Zones {
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
