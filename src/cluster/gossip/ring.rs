//! Consistent hashing: which `n` nodes hold a key in a partial-quorum gossip variant.
//!
//! Each node owns [`VNODES`] points on a 64-bit ring (hashes of `node/vnode`); a key's
//! replicas are the first `n` distinct nodes met walking clockwise from the key's hash (the
//! Dynamo preference list). With `per_dc`, the walk first takes the first node it meets of
//! each DC (as long as `n` allows), then fills up with the next distinct nodes in ring
//! order, so a DC that is cut off still holds a replica of every key.
//!
//! The hash is FNV-1a (64 bit): stable across runs and platforms, which keeps the replica
//! sets of a seed reproducible.
//!
//! Deliberately left out: weights, membership changes and rebalancing (the node set is
//! fixed per run).

use super::types::NodeId;
use crate::experiment::Quorum;

/// Ring points per node: enough for an even spread over a handful of nodes.
pub const VNODES: u32 = 64;

/// The ring of a cluster.
#[derive(Debug, Clone)]
pub struct Ring {
    /// `(point, node)`, sorted by point.
    points: Vec<(u64, NodeId)>,
    /// DC index of each node.
    dcs: Vec<usize>,
}

/// FNV-1a, 64 bit.
fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // Mix the low bits up (FNV's are weak for short inputs).
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

impl Ring {
    /// A ring over nodes `0..dcs.len()`, node `i` in DC `dcs[i]`.
    pub fn new(dcs: Vec<usize>) -> Ring {
        let mut points: Vec<(u64, NodeId)> = (0..dcs.len() as NodeId)
            .flat_map(|node| {
                (0..VNODES).map(move |v| (hash(format!("{node}/{v}").as_bytes()), node))
            })
            .collect();
        points.sort_unstable();
        Ring { points, dcs }
    }

    pub fn nodes(&self) -> usize {
        self.dcs.len()
    }

    /// The replicas of `key` under a partial-quorum configuration: its first `q.n` nodes,
    /// one per DC first if `q.per_dc`. The one placement both the gossip coordinator and the
    /// analysis (the PBS prediction) use.
    pub fn quorum_replicas(&self, key: &str, q: &Quorum) -> Vec<NodeId> {
        self.replicas(key, q.n, q.per_dc)
    }

    /// The `n` replicas of `key`, in preference order (at most the number of nodes).
    pub fn replicas(&self, key: &str, n: usize, per_dc: bool) -> Vec<NodeId> {
        let n = n.min(self.dcs.len());
        if self.points.is_empty() {
            return Vec::new();
        }
        let start = self.points.partition_point(|p| p.0 < hash(key.as_bytes()));
        let walk =
            || (0..self.points.len()).map(move |i| self.points[(start + i) % self.points.len()].1);
        let mut out: Vec<NodeId> = Vec::with_capacity(n);
        if per_dc {
            let mut dcs_taken: Vec<usize> = Vec::new();
            for node in walk() {
                if out.len() == n {
                    break;
                }
                let dc = self.dcs[node as usize];
                if !dcs_taken.contains(&dc) {
                    dcs_taken.push(dc);
                    out.push(node);
                }
            }
        }
        for node in walk() {
            if out.len() == n {
                break;
            }
            if !out.contains(&node) {
                out.push(node);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_are_distinct_stable_and_spread() {
        let ring = Ring::new(vec![0, 0, 1, 1, 2]);
        let mut first = [0usize; 5];
        for k in 0..1000 {
            let key = format!("profile/u{k}");
            let r = ring.replicas(&key, 3, false);
            assert_eq!(r.len(), 3);
            let mut d = r.clone();
            d.sort();
            d.dedup();
            assert_eq!(d.len(), 3, "distinct");
            assert_eq!(r, ring.replicas(&key, 3, false), "stable");
            first[r[0] as usize] += 1;
        }
        // Every node leads some keys, none leads most of them.
        assert!(first.iter().all(|&c| c > 100 && c < 350), "{first:?}");
    }

    #[test]
    fn per_dc_puts_a_replica_in_every_dc() {
        let ring = Ring::new(vec![0, 0, 1, 1, 2]);
        for k in 0..200 {
            let r = ring.replicas(&format!("k{k}"), 3, true);
            let mut dcs: Vec<usize> = r.iter().map(|&n| ring.dcs[n as usize]).collect();
            dcs.sort();
            assert_eq!(dcs, vec![0, 1, 2]);
        }
        // More replicas than nodes: all nodes.
        assert_eq!(ring.replicas("k", 9, true).len(), 5);
        // Fewer replicas than DCs: still distinct DCs.
        let r = ring.replicas("k", 2, true);
        assert_ne!(ring.dcs[r[0] as usize], ring.dcs[r[1] as usize]);
    }
}
