//! The PBS prediction next to the measurement, for partial-quorum gossip variants.
//!
//! For every judged read that followed an acknowledged write, the WARS model
//! ([`crate::analysis::pbs`]) is set up for exactly that read: the key's `n` replicas (the
//! same consistent-hashing ring the cluster used), W and A the topology's delays between
//! the *writer's* coordinator (the node the phone talked to) and each replica, R and S
//! those between the *reader's* coordinator and each replica (zero for a coordinator that
//! is itself the replica), and `t` the read's time since the acknowledgement plus the two
//! client hops (the acknowledgement travelling back to the phone, the read travelling to
//! its node). The predicted probability of that read seeing the write is averaged per
//! visibility bucket, so prediction and measurement cover the same reads.
//!
//! Deliberately left out: faults (the model knows no partitions; compare fault-free runs),
//! read repair, hints and anti-entropy (the model's replicas get the write only from the
//! coordinator), and newer writes racing the read.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use super::data::{Column, Reader};
use crate::analysis::order::Locality;
use crate::analysis::pbs::{PbsConfig, Thresholds};
use crate::analysis::staleness::VISIBILITY_EDGES_US;
use crate::cluster::gossip::ring::Ring;
use crate::experiment::{Quorum, VariantParams};
use crate::history::OpKind;
use crate::net::delay::DelayModel;

/// Monte Carlo trials per distinct (writer node, reader node, replica set).
const TRIALS: usize = 20_000;

/// One visibility bucket: measured and predicted share of reads that saw the write.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketRow {
    pub from_us: u64,
    /// Exclusive; `None` for the last, open bucket.
    pub to_us: Option<u64>,
    pub reads: u64,
    pub measured: f64,
    pub predicted: f64,
}

/// Prediction and measurement of one quorum column.
#[derive(Debug, Clone, PartialEq)]
pub struct PbsComparison {
    pub quorum: Quorum,
    pub same_dc: Vec<BucketRow>,
    pub other_dc: Vec<BucketRow>,
}

impl PbsComparison {
    pub fn rows(&self, reader: Reader) -> &[BucketRow] {
        match reader {
            Reader::SameDc => &self.same_dc,
            Reader::OtherDc => &self.other_dc,
        }
    }
}

/// The comparison for `c`, if it is a partial-quorum gossip variant.
pub fn compare(c: &Column) -> Option<PbsComparison> {
    let VariantParams::Gossip(g) = &c
        .experiment
        .variants
        .iter()
        .find(|v| v.name == c.variant)?
        .params
    else {
        return None;
    };
    let q = g.quorum?;
    let topo = &c.experiment.topology;
    let node_dc: Vec<usize> = topo.nodes.iter().map(|n| n.dc).collect();
    let ring = Ring::new(node_dc.clone());
    let node_index = |name: &str| topo.nodes.iter().position(|n| n.name == name);
    let p = &c.analysis.points;
    let nodes: Vec<Option<usize>> = p.nodes.iter().map(|n| node_index(n)).collect();
    let link = |a: usize, b: usize| -> DelayModel {
        if a == b {
            DelayModel::zero()
        } else {
            topo.links[node_dc[a]][node_dc[b]].delay.clone()
        }
    };
    let client_hops_us = 2.0 * topo.client_delay.mean_us().unwrap_or(0.0);
    let mut cache: HashMap<(usize, usize, Vec<u32>), Thresholds> = HashMap::new();
    // [same, other][bucket] = (reads, visible, predicted sum)
    let buckets = VISIBILITY_EDGES_US.len() + 1;
    let mut acc = [
        vec![(0u64, 0u64, 0f64); buckets],
        vec![(0u64, 0u64, 0f64); buckets],
    ];
    for op in &p.ops {
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
        let Some(user) = p.users.get(op.user as usize) else {
            continue;
        };
        let key = format!("profile/{user}");
        let replicas = ring.replicas(&key, q.n, q.per_dc);
        let thr = match cache.entry((*wn, *rn, replicas.clone())) {
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
    Some(PbsComparison {
        quorum: q,
        same_dc: rows(&acc[0]),
        other_dc: rows(&acc[1]),
    })
}
