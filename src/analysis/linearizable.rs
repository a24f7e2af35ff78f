//! Linearizability of a variant's history, per key, with [`crate::check::linearizability`].
//!
//! Keys are handed to [`check_key`] one at a time, so only one key's records are ever
//! materialised as [`OpRecord`]s (a million-operation history stays compact). The time
//! limit covers the variant and is split between keys by the checker's own
//! [`decide_in_rounds`] (as in [`crate::check::linearizability::check_history`]): each key
//! gets an equal share of the time left, and keys still undecided get a second round with
//! what the quick ones left over. The verdict is `false` if any key
//! is not linearizable, else `null` if any key is undecided, else `true`. The smallest
//! counterexample found (fewest operations) is kept.
//!
//! Deliberately left out: the checker itself (see its module docs for the algorithm).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::history::VariantHistory;
use super::order::Order;
use crate::check::linearizability::{
    check_key, decide_in_rounds, Counterexample, Deadline, KeyVerdict,
};
use crate::history::OpRecord;

#[derive(Debug, Clone, Serialize)]
pub struct Linearizability {
    pub verdict: Option<bool>,
    pub keys_linearizable: usize,
    pub keys_not_linearizable: usize,
    pub keys_unknown: usize,
    /// Wall-clock time the check took: kept for the run's time budget, not written to
    /// `summary.json` (which is a function of the recorded files alone, so that two sim
    /// runs of the same seed give the same file).
    #[serde(skip_serializing)]
    pub elapsed_us: u64,
    /// Wall-clock time this variant's check was allowed (what the variants before it left
    /// of the run's budget); not written, for the same reason.
    #[serde(skip_serializing)]
    pub time_limit_us: u64,
    /// The smallest counterexample found.
    pub counterexample: Option<Counterexample>,
}

pub fn analyse(h: &VariantHistory, order: &Order, limit: Duration) -> Linearizability {
    let start = Instant::now();
    // Operations of each key, gathered once (indices), so that building a key's records is
    // proportional to its size.
    let mut per_key: Vec<Vec<u32>> = vec![Vec::new(); order.keys.len()];
    for (i, op) in h.ops.iter().enumerate() {
        if let Some(&k) = order.key_of.get(&op.key) {
            per_key[k as usize].push(i as u32);
        }
    }
    let verdicts = decide_in_rounds(
        order.keys.len(),
        Deadline::after(start, limit),
        |v: &KeyVerdict| matches!(v, KeyVerdict::Unknown),
        |ki, share| {
            let recs: Vec<OpRecord> = per_key[ki]
                .iter()
                .map(|&i| h.record(&h.ops[i as usize]))
                .collect();
            let refs: Vec<&OpRecord> = recs.iter().collect();
            check_key(&refs, share)
        },
    );
    let mut result = Linearizability {
        verdict: Some(true),
        keys_linearizable: 0,
        keys_not_linearizable: 0,
        keys_unknown: 0,
        elapsed_us: 0,
        time_limit_us: limit.as_micros() as u64,
        counterexample: None,
    };
    for v in verdicts {
        match v {
            Some(KeyVerdict::Linearizable) => result.keys_linearizable += 1,
            Some(KeyVerdict::NotLinearizable { counterexample }) => {
                result.keys_not_linearizable += 1;
                let smaller = result
                    .counterexample
                    .as_ref()
                    .is_none_or(|c| counterexample.ops.len() < c.ops.len());
                if smaller {
                    result.counterexample = Some(counterexample);
                }
            }
            Some(KeyVerdict::Unknown) | None => result.keys_unknown += 1,
        }
    }
    result.verdict = if result.keys_not_linearizable > 0 {
        Some(false)
    } else if result.keys_unknown > 0 {
        None
    } else {
        Some(true)
    };
    result.elapsed_us = start.elapsed().as_micros() as u64;
    result
}
