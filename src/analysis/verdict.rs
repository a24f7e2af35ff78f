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
//! `status` says the same in one word, and adds the two cases in which the claim is not
//! judged at all because the record cannot be trusted (see `integrity`): `invalid` (caplab
//! itself failed, or the record is corrupt) and `incomplete` (the run was killed and only
//! part of it reached the files). Both leave `met` `null`, keep what the checks found as
//! reasons, and make `caplab check` exit 2.
//!
//! Deliberately left out: claims about availability or latency (they are measured, not
//! promised).

use serde::{Deserialize, Serialize};

use super::integrity::Integrity;
use super::linearizable::Linearizability;
use super::lost_writes::LostWrites;
use super::replicas::Convergence;
use crate::experiment::{ReadPolicy, VariantKind, VariantParams};

#[derive(Debug, Clone, Serialize)]
pub struct VariantVerdict {
    /// The consistency the variant claims, in words.
    pub claim: String,
    pub met: Option<bool>,
    /// `met`, `not-met`, `undecided`, `incomplete` or `invalid`.
    pub status: ClaimStatus,
    /// Why not (or why undecided, incomplete or invalid); empty when met.
    pub reasons: Vec<String>,
}

/// Whether a variant's claim held, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimStatus {
    Met,
    /// An anomaly.
    NotMet,
    /// The checks could not decide (not an anomaly).
    Undecided,
    /// Only part of the run reached the files; the claim is not judged.
    Incomplete,
    /// caplab failed or the record is corrupt; the claim is not judged.
    Invalid,
}

impl ClaimStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Met => "met",
            ClaimStatus::NotMet => "not-met",
            ClaimStatus::Undecided => "undecided",
            ClaimStatus::Incomplete => "incomplete",
            ClaimStatus::Invalid => "invalid",
        }
    }

    fn of(met: Option<bool>) -> ClaimStatus {
        match met {
            Some(true) => ClaimStatus::Met,
            Some(false) => ClaimStatus::NotMet,
            None => ClaimStatus::Undecided,
        }
    }
}

impl VariantVerdict {
    /// The verdict on a record with `integrity` problems: `invalid` or `incomplete`, `met`
    /// unknown, the record's problems first and what the checks found after them.
    pub fn qualify(self, integrity: &Integrity) -> VariantVerdict {
        let (status, problems) = if !integrity.invalid.is_empty() {
            (ClaimStatus::Invalid, &integrity.invalid)
        } else if !integrity.incomplete.is_empty() {
            (ClaimStatus::Incomplete, &integrity.incomplete)
        } else {
            return self;
        };
        let mut reasons: Vec<String> = problems.clone();
        if status == ClaimStatus::Invalid {
            reasons.extend(integrity.incomplete.iter().cloned());
        }
        let found = match self.met {
            Some(true) => vec!["on what was recorded the claim held".to_string()],
            _ => self.reasons,
        };
        reasons.extend(found.into_iter().map(|r| {
            if r.starts_with("on what was recorded") {
                r
            } else {
                format!("on what was recorded: {r}")
            }
        }));
        VariantVerdict {
            claim: self.claim,
            met: None,
            status,
            reasons,
        }
    }
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
        status: ClaimStatus::of(met),
        reasons,
    }
}
