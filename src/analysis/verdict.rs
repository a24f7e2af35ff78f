//! Did a variant deliver the consistency it claims?
//!
//! | variant | claim | met when |
//! |---|---|---|
//! | `raft`, `read_policy = "linearizable"` | linearizable | the history is linearizable |
//! | `raft`, `read_policy = "follower"` | no acknowledged write lost (reads may be stale) | no lost write |
//! | `gossip` | eventually consistent: replicas converge, no write lost unexplained | converged (when expected) and no unexplained lost write |
//!
//! `met` is `true`, `false` (an anomaly: `caplab check` exits 1), or `null` when the
//! analysis could not decide (the linearizability check ran out of time, or a gossip
//! variant recorded no `apply` events): undecided is not an anomaly.
//!
//! Deliberately left out: claims about availability or latency (they are measured, not
//! promised).

use serde::Serialize;

use super::linearizable::Linearizability;
use super::lost_writes::LostWrites;
use super::replicas::Convergence;
use crate::experiment::{ReadPolicy, VariantKind, VariantParams};

#[derive(Debug, Clone, Serialize)]
pub struct VariantVerdict {
    /// The consistency the variant claims, in words.
    pub claim: String,
    pub met: Option<bool>,
    /// Why not (or why undecided); empty when met.
    pub reasons: Vec<String>,
}

pub fn judge(
    kind: VariantKind,
    params: Option<&VariantParams>,
    lin: &Linearizability,
    lost: &LostWrites,
    conv: &Convergence,
) -> VariantVerdict {
    let mut reasons = Vec::new();
    let read_policy = match params {
        Some(VariantParams::Raft(r)) => r.read_policy,
        _ => ReadPolicy::Linearizable,
    };
    let (claim, met) = match (kind, read_policy) {
        (VariantKind::Raft, ReadPolicy::Linearizable | ReadPolicy::Lease) => {
            let met = lin.verdict;
            match met {
                Some(false) => reasons.push(format!(
                    "not linearizable: {} of {} keys",
                    lin.keys_not_linearizable,
                    lin.keys_linearizable + lin.keys_not_linearizable + lin.keys_unknown
                )),
                None => reasons.push(format!(
                    "linearizability undecided for {} keys within the time limit",
                    lin.keys_unknown
                )),
                Some(true) => {}
            }
            ("linearizable", met)
        }
        (VariantKind::Raft, ReadPolicy::Follower) => {
            if lost.lost_writes > 0 {
                reasons.push(format!("{} acknowledged writes lost", lost.lost_writes));
            }
            (
                "no acknowledged write lost (follower reads may be stale)",
                Some(lost.lost_writes == 0),
            )
        }
        (VariantKind::Gossip, _) => {
            let converged = match (conv.converged, conv.expected) {
                (_, false) => Some(true),
                (c, true) => c,
            };
            match conv.converged {
                Some(false) if conv.expected => reasons.push(format!(
                    "replicas did not converge: {} of {} keys differ at the end",
                    conv.diverged_keys, conv.keys
                )),
                None => reasons.push("no apply events: convergence not judged".into()),
                _ => {}
            }
            if lost.unexplained > 0 {
                reasons.push(format!(
                    "{} acknowledged writes lost without explanation",
                    lost.unexplained
                ));
            }
            let met = match (converged, lost.unexplained) {
                (Some(false), _) | (_, 1..) => Some(false),
                (None, 0) => None,
                (Some(true), 0) => Some(true),
            };
            ("converged, no unexplained lost write", met)
        }
    };
    VariantVerdict {
        claim: claim.to_string(),
        met,
        reasons,
    }
}
