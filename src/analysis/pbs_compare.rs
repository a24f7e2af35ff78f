//! The PBS prediction next to the measurement, for partial-quorum gossip variants.
//!
//! For every judged read that followed an acknowledged write, the WARS model ([`super::pbs`])
//! is set up for exactly that read: the key's `n` replicas (the placement the cluster used,
//! [`Ring::quorum_replicas`] of the read's own key), W and A the topology's delays between
//! the *writer's* coordinator (the node the phone talked to) and each replica, R and S those
//! between the *reader's* coordinator and each replica (zero for a coordinator that is
//! itself the replica), and `t` the read's time since the acknowledgement plus the two
//! client hops (the acknowledgement travelling back to the phone, the read travelling to its
//! node). The predicted probability of that read seeing the write is averaged per
//! visibility bucket, so prediction and measurement cover the same reads.
//!
//! Deliberately left out: faults (the model knows no partitions; compare fault-free runs),
//! read repair, hints and anti-entropy (the model's replicas get the write only from the
//! coordinator), and newer writes racing the read.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use serde::Serialize;

use super::history::VariantHistory;
use super::order::Locality;
use super::pbs::{PbsConfig, Thresholds};
use super::points::Points;
use super::staleness::VISIBILITY_EDGES_US;
use super::visibility_facts::Reader;
use crate::cluster::gossip::ring::Ring;
use crate::experiment::{Topology, VariantParams};
use crate::history::OpKind;
use crate::net::delay::DelayModel;

/// Monte Carlo trials per distinct (writer node, reader node, replica set).
pub const TRIALS: usize = 20_000;

/// Fewest reads in a bucket for its difference to count as the largest (fewer are mostly
/// sampling noise).
pub const MIN_DIFFERENCE_READS: u64 = 100;

/// One visibility bucket: measured and predicted share of reads that saw the write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketRow {
    pub from_us: u64,
    /// Exclusive; `None` for the last, open bucket.
    pub to_us: Option<u64>,
    pub reads: u64,
    pub measured: f64,
    pub predicted: f64,
}

/// The bucket where measurement and prediction differ most.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LargestDifference {
    /// `(measured - predicted) * 100`.
    pub points: f64,
    pub reader: Reader,
    pub from_us: u64,
    pub to_us: Option<u64>,
}

/// Prediction and measurement of one partial-quorum variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PbsComparison {
    pub n: usize,
    pub r: usize,
    pub w: usize,
    pub same_dc: Vec<BucketRow>,
    pub other_dc: Vec<BucketRow>,
    /// Over the buckets with at least [`MIN_DIFFERENCE_READS`] reads (`None`: no such
    /// bucket).
    pub largest_difference: Option<LargestDifference>,
}

impl PbsComparison {
    pub fn rows(&self, reader: Reader) -> &[BucketRow] {
        match reader {
            Reader::SameDc => &self.same_dc,
            Reader::OtherDc => &self.other_dc,
        }
    }
}

/// What a WARS configuration of one read is made of: the writer's and the reader's DC, and
/// per replica in preference order its DC and whether it is the writer's or the reader's
/// coordinator (then its delays to that coordinator are zero).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SetupKey {
    writer_dc: usize,
    reader_dc: usize,
    replicas: Vec<(usize, bool, bool)>,
}

/// The comparison for a variant with `params` run on `topo`, if it is a partial-quorum
/// gossip variant. `points` are `h`'s, operation for operation.
pub fn compare(
    h: &VariantHistory,
    points: &Points,
    topo: &Topology,
    params: &VariantParams,
) -> Option<PbsComparison> {
    let VariantParams::Gossip(g) = params else {
        return None;
    };
    let q = g.quorum?;
    let node_dc: Vec<usize> = topo.nodes.iter().map(|n| n.dc).collect();
    let ring = Ring::new(node_dc.clone());
    let node_index = |name: &str| topo.nodes.iter().position(|n| n.name == name);
    let p = points;
    let nodes: Vec<Option<usize>> = p.nodes.iter().map(|n| node_index(n)).collect();
    let link = |a: usize, b: usize| -> DelayModel {
        if a == b {
            DelayModel::zero()
        } else {
            topo.links[node_dc[a]][node_dc[b]].delay.clone()
        }
    };
    let client_hops_us = 2.0 * topo.client_delay.mean_us().unwrap_or(0.0);
    // A configuration's delays depend only on DCs and on which replica is a coordinator, so
    // reads with the same [`SetupKey`] share one simulation (the same seed on the same
    // configuration gives the same sample).
    let mut cache: HashMap<SetupKey, Thresholds> = HashMap::new();
    // [same, other][bucket] = (reads, visible, predicted sum)
    let buckets = VISIBILITY_EDGES_US.len() + 1;
    let mut acc = [
        vec![(0u64, 0u64, 0f64); buckets],
        vec![(0u64, 0u64, 0f64); buckets],
    ];
    for (op, hop) in p.ops.iter().zip(&h.ops) {
        if op.kind != OpKind::Read {
            continue;
        }
        let (Some(stale), Some((t_us, w))) = (op.stale, op.since_latest) else {
            continue;
        };
        let class = match op.locality {
            Locality::SameDc => 0,
            Locality::OtherDc => 1,
            Locality::Unknown => continue,
        };
        let Some(write) = p.ops.get(w as usize) else {
            continue;
        };
        let (Some(Some(wn)), Some(Some(rn))) =
            (nodes.get(write.node as usize), nodes.get(op.node as usize))
        else {
            continue;
        };
        let replicas = ring.quorum_replicas(h.name(hop.key), &q);
        let key = SetupKey {
            writer_dc: node_dc[*wn],
            reader_dc: node_dc[*rn],
            replicas: replicas
                .iter()
                .map(|&i| (node_dc[i as usize], i as usize == *wn, i as usize == *rn))
                .collect(),
        };
        let thr = match cache.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let per = |f: &dyn Fn(usize) -> DelayModel| -> Vec<DelayModel> {
                    replicas.iter().map(|&i| f(i as usize)).collect()
                };
                let cfg = PbsConfig::new(
                    q.n.min(replicas.len()),
                    q.r.min(replicas.len()),
                    q.w.min(replicas.len()),
                    per(&|i| link(*wn, i)),
                    per(&|i| link(i, *wn)),
                    per(&|i| link(*rn, i)),
                    per(&|i| link(i, *rn)),
                );
                // Cannot fail for a validated experiment (1 <= r, w <= n <= nodes).
                let Ok(cfg) = cfg else {
                    continue;
                };
                e.insert(Thresholds::simulate(&cfg, TRIALS, 1))
            }
        };
        let predicted = thr.p_consistent((t_us as f64 + client_hops_us) as u64);
        let b = VISIBILITY_EDGES_US.partition_point(|&edge| edge <= t_us);
        let cell = &mut acc[class][b];
        cell.0 += 1;
        cell.1 += u64::from(!stale);
        cell.2 += predicted;
    }
    let rows = |a: &Vec<(u64, u64, f64)>| -> Vec<BucketRow> {
        a.iter()
            .enumerate()
            .filter(|(_, c)| c.0 > 0)
            .map(|(b, &(reads, visible, sum))| BucketRow {
                from_us: if b == 0 {
                    0
                } else {
                    VISIBILITY_EDGES_US[b - 1]
                },
                to_us: VISIBILITY_EDGES_US.get(b).copied(),
                reads,
                measured: visible as f64 / reads as f64,
                predicted: sum / reads as f64,
            })
            .collect()
    };
    let mut out = PbsComparison {
        n: q.n,
        r: q.r,
        w: q.w,
        same_dc: rows(&acc[0]),
        other_dc: rows(&acc[1]),
        largest_difference: None,
    };
    out.largest_difference = largest_difference(&out);
    Some(out)
}

/// The first bucket (same DC first, then by time) with the largest absolute difference,
/// over the buckets with at least [`MIN_DIFFERENCE_READS`] reads.
fn largest_difference(c: &PbsComparison) -> Option<LargestDifference> {
    let mut worst: Option<LargestDifference> = None;
    for reader in Reader::ALL {
        for r in c
            .rows(reader)
            .iter()
            .filter(|r| r.reads >= MIN_DIFFERENCE_READS)
        {
            let points = (r.measured - r.predicted) * 100.0;
            if worst.as_ref().is_none_or(|w| points.abs() > w.points.abs()) {
                worst = Some(LargestDifference {
                    points,
                    reader,
                    from_us: r.from_us,
                    to_us: r.to_us,
                });
            }
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(from_us: u64, reads: u64, measured: f64, predicted: f64) -> BucketRow {
        BucketRow {
            from_us,
            to_us: Some(from_us + 1_000),
            reads,
            measured,
            predicted,
        }
    }

    #[test]
    fn largest_difference_needs_enough_reads_and_keeps_the_first_of_equals() {
        let c = PbsComparison {
            n: 3,
            r: 1,
            w: 1,
            same_dc: vec![row(0, 99, 0.0, 1.0), row(1_000, 100, 0.5, 0.6)],
            other_dc: vec![row(0, 500, 0.7, 0.6), row(2_000, 500, 0.9, 0.7)],
            largest_difference: None,
        };
        let d = largest_difference(&c).unwrap();
        assert_eq!((d.reader, d.from_us), (Reader::OtherDc, 2_000));
        assert!((d.points - 20.0).abs() < 1e-9, "{d:?}");
        let tie = PbsComparison {
            other_dc: vec![row(0, 500, 0.5, 0.6)],
            ..c.clone()
        };
        let d = largest_difference(&tie).unwrap();
        assert_eq!((d.reader, d.from_us), (Reader::SameDc, 1_000));
        let few = PbsComparison {
            same_dc: vec![row(0, 99, 0.0, 1.0)],
            other_dc: Vec::new(),
            ..c
        };
        assert_eq!(largest_difference(&few), None);
    }
}
