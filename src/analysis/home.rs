//! Latency by where the client was: in the profile owner's **home DC** (the laptop, the
//! phone before it travels) or in **another DC** (friends, a travelling phone).
//!
//! A user's home DC is the workload's (`workload::make_users`, a pure function of the
//! experiment), so the split needs the run's experiment besides the history. Percentiles
//! are exact nearest-rank ones over the `ok` operations (the samples are all kept), as the
//! report's CAP table shows them.
//!
//! Deliberately left out: failed and unknown operations (their latency is a timeout or an
//! error path, not the system's answer time), and other percentiles than p50 and p99.

use std::collections::HashMap;

use serde::Serialize;

use super::history::VariantHistory;
use super::latency::exact_quantile;
use crate::experiment::Experiment;
use crate::history::OpKind;
use crate::workload::make_users;

/// Exact p50 and p99 of a set of latencies, microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct P50P99 {
    pub count: u64,
    pub p50: u64,
    pub p99: u64,
}

impl P50P99 {
    /// The percentiles of `samples` (sorted here; `None` when empty).
    pub fn of(mut samples: Vec<u64>) -> Option<P50P99> {
        samples.sort_unstable();
        Some(P50P99 {
            count: samples.len() as u64,
            p50: exact_quantile(&samples, 0.5)?,
            p99: exact_quantile(&samples, 0.99)?,
        })
    }
}

/// `ok` latencies by kind and by home or other DC (`None`: no such operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct HomeLatency {
    pub write_home: Option<P50P99>,
    pub write_other: Option<P50P99>,
    pub read_home: Option<P50P99>,
    pub read_other: Option<P50P99>,
}

impl HomeLatency {
    /// The cell of `kind` at home (`true`) or elsewhere.
    pub fn get(&self, kind: OpKind, home: bool) -> Option<&P50P99> {
        match (kind, home) {
            (OpKind::Write, true) => self.write_home.as_ref(),
            (OpKind::Write, false) => self.write_other.as_ref(),
            (OpKind::Read, true) => self.read_home.as_ref(),
            (OpKind::Read, false) => self.read_other.as_ref(),
        }
    }
}

/// Each user's home DC by name, as the workload placed them.
pub fn homes(e: &Experiment) -> HashMap<String, String> {
    make_users(&e.workload)
        .into_iter()
        .filter_map(|u| Some((u.name, e.topology.dcs.get(u.home)?.name.clone())))
        .collect()
}

/// The split of `h`'s `ok` operations; an operation of a user without a home in `homes`
/// counts as "other DC".
pub fn analyse(h: &VariantHistory, homes: &HashMap<String, String>) -> HomeLatency {
    // [write, read][home, other]
    let mut lat: [[Vec<u64>; 2]; 2] = Default::default();
    for op in h.ops.iter().filter(|op| op.is_ok()) {
        let home = homes
            .get(h.name(op.user))
            .is_some_and(|dc| dc == h.name(op.dc));
        let kind = usize::from(op.kind == OpKind::Read);
        lat[kind][usize::from(!home)].push(op.latency_us());
    }
    let [[wh, wo], [rh, ro]] = lat;
    HomeLatency {
        write_home: P50P99::of(wh),
        write_other: P50P99::of(wo),
        read_home: P50P99::of(rh),
        read_other: P50P99::of(ro),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p50_p99_are_nearest_rank() {
        let p = P50P99::of((1..=200).rev().collect()).unwrap();
        assert_eq!(
            p,
            P50P99 {
                count: 200,
                p50: 100,
                p99: 198
            }
        );
        assert_eq!(P50P99::of(Vec::new()), None);
    }
}
