//! How far behind reads were, and how long writes took to become visible everywhere.
//!
//! All against the real-time order of acknowledged writes on the run's one clock, with
//! "newer" decided by the system's own order (see `order`):
//!
//! - A successful read is **stale** if a write of its key newer than the value it returned
//!   had been acknowledged (`complete_us`) strictly before the read was invoked.
//!   **k** is the number of such writes; **age** is `invoke_us` minus the acknowledgement
//!   time of the first of them (how long the returned value had already been superseded).
//! - **Visibility curve** (PBS t-visibility): for each successful read after at least one
//!   acknowledged write, `t = invoke_us -` the acknowledgement time of the newest write
//!   acknowledged before the read; the read "sees" it if it returned that write or newer
//!   (exactly: it was not stale). P(sees) per bucket of `t`, for all reads, same-DC and
//!   other-DC readers.
//! - **Stable latency** of an acknowledged write followed by at least one read: the time
//!   from its acknowledgement to the invoke of the last read that returned something older
//!   (0 if none did). If the very last read of the key returned something older, the write
//!   **never** became stable in the run.
//! - **Replica convergence lag** of an acknowledged write: from its acknowledgement until
//!   every node up at the end held it or a newer value (from `apply` events; 0 if they all
//!   did before the acknowledgement); **never** if some node never did.
//!
//! Each is one sweep per key with Fenwick trees: O((reads + writes) log writes).
//!
//! Deliberately left out: reads that returned an unexplained label (counted, not judged),
//! and `fail`/`unknown` reads (they returned nothing).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::error::AnalysisError;
use super::fenwick;
use super::history::{VariantHistory, NONE};
use super::latency::{DurationStats, Durations};
use super::order::{Locality, Order};
use super::replicas::Replicas;
use super::session::{example, label, Earliest, Example};

/// Per-read result. `k == NONE`: not judged (not an `ok` read, or unexplained).
#[derive(Debug, Clone, Copy)]
pub struct ReadFact {
    pub k: u32,
    /// Age of the returned value when stale (0 otherwise).
    pub age_us: u64,
    /// Time since the newest acknowledged write's acknowledgement ([`NO_TIME`]: no write
    /// had been acknowledged).
    pub since_latest_us: u64,
    /// That newest acknowledged write (op index; [`NONE`] if there is none).
    pub latest_write: u32,
}

impl ReadFact {
    const UNJUDGED: ReadFact = ReadFact {
        k: NONE,
        age_us: 0,
        since_latest_us: NO_TIME,
        latest_write: NONE,
    };

    pub fn judged(&self) -> bool {
        self.k != NONE
    }

    pub fn stale(&self) -> bool {
        self.judged() && self.k > 0
    }
}

/// "No such time".
pub const NO_TIME: u64 = u64::MAX;
/// Stable latency of a write that no read followed (or of an operation that is not an
/// acknowledged write).
pub const NOT_APPLICABLE: u64 = u64::MAX - 1;

/// Per-operation staleness results of a variant.
#[derive(Debug)]
pub struct Staleness {
    /// Per op (reads).
    pub reads: Vec<ReadFact>,
    /// Per op (acknowledged writes): stable latency, [`NO_TIME`] for never,
    /// [`NOT_APPLICABLE`] when not followed by a read.
    pub stable_us: Vec<u64>,
    /// Per op (acknowledged writes): time every node up at the end held it or newer;
    /// [`NO_TIME`] for never, [`NOT_APPLICABLE`] without `apply` events.
    pub converged_at_us: Vec<u64>,
}

impl Staleness {
    pub fn compute(h: &VariantHistory, order: &Order, replicas: &Replicas) -> Staleness {
        let n_ops = h.ops.len();
        let mut s = Staleness {
            reads: vec![ReadFact::UNJUDGED; n_ops],
            stable_us: vec![NOT_APPLICABLE; n_ops],
            converged_at_us: vec![NOT_APPLICABLE; n_ops],
        };
        let ops = &h.ops;
        for (ki, k) in order.keys.iter().enumerate() {
            let n = k.ranked.len();
            // Reads, in invoke order, against the writes acknowledged before them.
            let mut count = fenwick::Count::new(n);
            // Acknowledgement times by reversed rank: a prefix is a suffix of ranks.
            let mut first_ack = fenwick::Min::new(n);
            let mut newest: Option<(u32, u64, u32)> = None;
            let mut next = 0;
            for &r in &k.reads {
                let read = &ops[r as usize];
                while let Some(&w) = k.by_ack.get(next) {
                    let write = &ops[w as usize];
                    if write.complete_us >= read.invoke_us {
                        break;
                    }
                    let rank = order.rank[w as usize];
                    count.add(rank as usize);
                    first_ack.insert(n - 1 - rank as usize, write.complete_us);
                    if newest.is_none_or(|(best, _, _)| rank > best) {
                        newest = Some((rank, write.complete_us, w));
                    }
                    next += 1;
                }
                let q = order.read_pos[r as usize];
                if q == NONE {
                    continue;
                }
                let stale = count.at_or_above(q as usize);
                let age_us = match stale {
                    0 => 0,
                    _ => first_ack
                        .below(n - q as usize)
                        .map_or(0, |t| read.invoke_us.saturating_sub(t)),
                };
                s.reads[r as usize] = ReadFact {
                    k: stale,
                    age_us,
                    since_latest_us: newest
                        .map_or(NO_TIME, |(_, t, _)| read.invoke_us.saturating_sub(t)),
                    latest_write: newest.map_or(NONE, |(_, _, w)| w),
                };
            }

            // Stable latency: writes by decreasing acknowledgement time, against the reads
            // invoked after it (latest invoke among those that returned something older).
            let explained: Vec<u32> = k
                .reads
                .iter()
                .copied()
                .filter(|&r| order.read_pos[r as usize] != NONE)
                .collect();
            let last_read_pos = explained.last().map(|&r| order.read_pos[r as usize]);
            let mut latest_bad = fenwick::Max::new(n + 1);
            let mut taken = 0;
            for &w in k.by_ack.iter().rev() {
                let write = &ops[w as usize];
                let ack = write.complete_us;
                while taken < explained.len() {
                    let r = explained[explained.len() - 1 - taken];
                    let read = &ops[r as usize];
                    if read.invoke_us <= ack {
                        break;
                    }
                    latest_bad.insert(order.read_pos[r as usize] as usize, read.invoke_us);
                    taken += 1;
                }
                if taken == 0 {
                    continue;
                }
                let rank = order.rank[w as usize];
                s.stable_us[w as usize] = if last_read_pos.is_some_and(|q| q <= rank) {
                    NO_TIME
                } else {
                    latest_bad
                        .below(rank as usize + 1)
                        .map_or(0, |t| t.saturating_sub(ack))
                };
            }

            if replicas.available {
                for &w in &k.by_ack {
                    let rank = order.rank[w as usize];
                    s.converged_at_us[w as usize] =
                        replicas.all_reached(ki, rank + 1).unwrap_or(NO_TIME);
                }
            }
        }
        s
    }

    /// The variant-wide summary.
    pub fn summarise(
        &self,
        h: &VariantHistory,
        order: &Order,
        replicas: &Replicas,
    ) -> Result<StalenessSummary, AnalysisError> {
        let mut checked = 0u64;
        let mut stale = 0u64;
        let mut unexplained = 0u64;
        let mut k_counts: BTreeMap<u32, u64> = BTreeMap::new();
        let mut ages = Durations::new()?;
        let mut visibility = VisibilityCurves::new();
        let mut earliest: Earliest<u32> = Earliest::new(3);
        for (i, op) in h.ops.iter().enumerate() {
            if !op.is_ok_read() {
                continue;
            }
            let f = &self.reads[i];
            if !f.judged() {
                unexplained += 1;
                continue;
            }
            checked += 1;
            if f.stale() {
                stale += 1;
                *k_counts.entry(f.k).or_default() += 1;
                ages.record(f.age_us);
                earliest.offer((op.invoke_us, op.id), i as u32);
            }
            if f.since_latest_us != NO_TIME {
                visibility.add(order.locality[i], f.since_latest_us, !f.stale());
            }
        }
        let mut stable = Durations::new()?;
        let mut lag = Durations::new()?;
        let (mut followed, mut never_stable, mut never_converged, mut writes) = (0, 0, 0, 0);
        for (i, op) in h.ops.iter().enumerate() {
            if !op.is_acked_write() {
                continue;
            }
            writes += 1;
            match self.stable_us[i] {
                NOT_APPLICABLE => {}
                NO_TIME => {
                    followed += 1;
                    never_stable += 1;
                }
                us => {
                    followed += 1;
                    stable.record(us);
                }
            }
            match self.converged_at_us[i] {
                NOT_APPLICABLE => {}
                NO_TIME => never_converged += 1,
                t => lag.record(t.saturating_sub(op.complete_us)),
            }
        }
        let examples = earliest
            .into_sorted()
            .into_iter()
            .map(|r| self.example(h, order, r))
            .collect();
        Ok(StalenessSummary {
            reads_checked: checked,
            stale_reads: stale,
            stale_fraction: fraction(stale, checked),
            unexplained_reads: unexplained,
            k: KStats::from_counts(&k_counts),
            age_us: ages.stats(),
            visibility: visibility.finish(),
            stable_latency_us: StableSummary {
                writes_followed_by_reads: followed,
                never_stable,
                stats: stable.stats(),
            },
            convergence_lag_us: replicas.available.then(|| LagSummary {
                writes,
                never_converged,
                stats: lag.stats(),
            }),
            examples,
        })
    }

    /// A stale read with the write of the value it returned (if any) and the first write
    /// that superseded that value before the read began.
    fn example(&self, h: &VariantHistory, order: &Order, r: u32) -> Example {
        let read = &h.ops[r as usize];
        let mut ops = vec![r];
        let k = order.key(read.key);
        if let Some(w) = k.and_then(|k| order.writer(k, read.value)) {
            ops.push(w);
        }
        let q = order.read_pos[r as usize];
        let first = k.and_then(|k| {
            k.by_ack.iter().copied().find(|&w| {
                order.rank[w as usize] >= q && h.ops[w as usize].complete_us < read.invoke_us
            })
        });
        let mut explanation = format!(
            "{} read {} at {} us, {} versions behind",
            h.name(read.client),
            label(h, read.value),
            read.invoke_us,
            self.reads[r as usize].k
        );
        if let Some(w) = first {
            ops.push(w);
            let write = &h.ops[w as usize];
            let _ = write!(
                explanation,
                ": {} had been acknowledged {} us earlier",
                label(h, write.value),
                read.invoke_us.saturating_sub(write.complete_us)
            );
        }
        example(h, ops, explanation)
    }
}

pub fn fraction(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round6(part as f64 / whole as f64))
}

pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[derive(Debug, Clone, Serialize)]
pub struct StalenessSummary {
    /// Successful reads whose returned value could be placed.
    pub reads_checked: u64,
    pub stale_reads: u64,
    pub stale_fraction: Option<f64>,
    /// Successful reads of a label no write of the key wrote.
    pub unexplained_reads: u64,
    /// k of the stale reads.
    pub k: Option<KStats>,
    /// Age of the values stale reads returned.
    pub age_us: Option<DurationStats>,
    pub visibility: Visibility,
    pub stable_latency_us: StableSummary,
    /// `null` when the variant recorded no `apply` events.
    pub convergence_lag_us: Option<LagSummary>,
    /// The three earliest stale reads, each with the write of the value it returned and
    /// the first write that superseded it.
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KStats {
    pub mean: f64,
    pub p50: u32,
    pub p99: u32,
    pub max: u32,
    /// Stale reads per k (`"1"`, `"2"`, ...).
    pub counts: BTreeMap<String, u64>,
}

impl KStats {
    fn from_counts(counts: &BTreeMap<u32, u64>) -> Option<KStats> {
        let total: u64 = counts.values().sum();
        if total == 0 {
            return None;
        }
        let quantile = |q: f64| {
            let rank = ((q * total as f64).ceil() as u64).max(1);
            let mut seen = 0;
            for (&k, &c) in counts {
                seen += c;
                if seen >= rank {
                    return k;
                }
            }
            0
        };
        let sum: u64 = counts.iter().map(|(&k, &c)| k as u64 * c).sum();
        Some(KStats {
            mean: (sum as f64 / total as f64 * 1000.0).round() / 1000.0,
            p50: quantile(0.5),
            p99: quantile(0.99),
            max: counts.keys().next_back().copied().unwrap_or(0),
            counts: counts.iter().map(|(k, c)| (k.to_string(), *c)).collect(),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StableSummary {
    pub writes_followed_by_reads: u64,
    pub never_stable: u64,
    /// Over the writes that became stable.
    pub stats: Option<DurationStats>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LagSummary {
    /// Acknowledged writes.
    pub writes: u64,
    pub never_converged: u64,
    /// Over the writes that converged.
    pub stats: Option<DurationStats>,
}

/// Upper edges (exclusive) of the visibility buckets, in microseconds; the last bucket is
/// open-ended.
pub const VISIBILITY_EDGES_US: [u64; 16] = [
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    20_000_000,
    60_000_000,
    300_000_000,
];

/// P(a read sees the newest acknowledged write) by time since its acknowledgement.
#[derive(Debug, Clone, Serialize)]
pub struct Visibility {
    pub all: Vec<VisibilityBucket>,
    pub same_dc: Vec<VisibilityBucket>,
    pub other_dc: Vec<VisibilityBucket>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VisibilityBucket {
    pub from_us: u64,
    /// Exclusive; `null` for the last, open-ended bucket.
    pub to_us: Option<u64>,
    pub reads: u64,
    pub visible: u64,
    pub p_visible: Option<f64>,
}

struct VisibilityCurves {
    /// `[all, same, other][bucket] = (reads, visible)`.
    counts: [Vec<(u64, u64)>; 3],
}

impl VisibilityCurves {
    fn new() -> Self {
        let n = VISIBILITY_EDGES_US.len() + 1;
        VisibilityCurves {
            counts: [vec![(0, 0); n], vec![(0, 0); n], vec![(0, 0); n]],
        }
    }

    fn add(&mut self, locality: Locality, t_us: u64, visible: bool) {
        let b = VISIBILITY_EDGES_US.partition_point(|&edge| edge <= t_us);
        let mut bump = |curve: usize| {
            let c = &mut self.counts[curve][b];
            c.0 += 1;
            c.1 += u64::from(visible);
        };
        bump(0);
        match locality {
            Locality::SameDc => bump(1),
            Locality::OtherDc => bump(2),
            Locality::Unknown => {}
        }
    }

    fn finish(&self) -> Visibility {
        let curve = |c: &Vec<(u64, u64)>| {
            c.iter()
                .enumerate()
                .map(|(b, &(reads, visible))| VisibilityBucket {
                    from_us: if b == 0 {
                        0
                    } else {
                        VISIBILITY_EDGES_US[b - 1]
                    },
                    to_us: VISIBILITY_EDGES_US.get(b).copied(),
                    reads,
                    visible,
                    p_visible: fraction(visible, reads),
                })
                .collect()
        };
        Visibility {
            all: curve(&self.counts[0]),
            same_dc: curve(&self.counts[1]),
            other_dc: curve(&self.counts[2]),
        }
    }
}
