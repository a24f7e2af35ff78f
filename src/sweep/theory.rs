//! How long gossip theory says a write takes to reach every node, for the sweep charts of
//! convergence against cluster size.
//!
//! With rumours off (`fanout = 0`) a write spreads only by anti-entropy: every
//! `gossip_interval` each node reconciles with one peer chosen uniformly at random — the
//! "random phone call" model. The number of rounds until all `n` nodes hold a new value is
//! then, for large `n`:
//!
//! - `push` (the caller sends what the peer lacks): `log2(n) + ln(n)` rounds (Pittel, "On
//!   spreading a rumor", SIAM J. Appl. Math. 47(1), 1987; the informed set doubles until
//!   about n/2, then each uninformed node is missed by all pushes of a round with
//!   probability about 1/e, which takes `ln(n)` more rounds);
//! - `push-pull` (both directions): `log3(n) + ln(ln(n))` rounds (Karp, Schindelhauer,
//!   Shenker and Vöcking, "Randomized rumor spreading", FOCS 2000: the informed set triples
//!   per round, then the uninformed share squares per round, `O(ln ln n)` rounds; we take
//!   the constant of that term as 1).
//!
//! The predicted convergence time is rounds × `gossip_interval`. No constant is fitted to
//! the measurements: the curve is the formula, so the reader compares shapes. The
//! measured lag also contains network delays and each node's round phase (rounds are not
//! synchronised), which the model leaves out; the formula's `O(1)` terms are dropped too.
//!
//! Deliberately left out: `pull` alone (its last phase is also doubly logarithmic, but we
//! know of no constant worth printing), rumour mongering (`fanout > 0` spreads a write in
//! network time, not rounds, so no curve is drawn) and partial quorums (`write_acks > 1`
//! or `[quorum]`: the write reaches several replicas before its acknowledgement).

use serde::{Deserialize, Serialize};

use crate::experiment::{AntiEntropy, Experiment, VariantParams};

/// A gossip variant's predicted time to reach every node, at one sweep point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub variant: String,
    /// `push` or `push-pull`.
    pub anti_entropy: String,
    /// Nodes of the point's experiment.
    pub nodes: usize,
    /// Rounds until every node holds a write ([`rounds`]).
    pub rounds: f64,
    pub interval_ms: f64,
    /// `rounds × interval_ms`.
    pub convergence_ms: f64,
}

/// The formula of [`rounds`] for `mode`, as printed in legends and docs.
pub fn formula(anti_entropy: &str) -> &'static str {
    match anti_entropy {
        "push" => "log2(n) + ln(n)",
        _ => "log3(n) + ln(ln(n))",
    }
}

/// Rounds until all `n` nodes hold a value one of them had (see the module docs); `None`
/// for modes without a formula here or fewer than two nodes.
pub fn rounds(n: usize, mode: AntiEntropy) -> Option<f64> {
    if n < 2 {
        return None;
    }
    let n = n as f64;
    match mode {
        AntiEntropy::Push => Some(n.log2() + n.ln()),
        // ln(ln 2) < 0: never below the tripling phase alone.
        AntiEntropy::PushPull => Some(n.log(3.0) + n.ln().ln().max(0.0)),
        AntiEntropy::Pull | AntiEntropy::Off => None,
    }
}

/// The predictions for every variant of `exp` the model covers: gossip without rumours,
/// with `push` or `push-pull` anti-entropy, acknowledged by one replica.
pub fn predictions(exp: &Experiment) -> Vec<Prediction> {
    let n = exp.topology.nodes.len();
    exp.variants
        .iter()
        .filter_map(|v| {
            let VariantParams::Gossip(g) = &v.params else {
                return None;
            };
            if g.fanout > 0 || g.write_acks > 1 || g.quorum.is_some() {
                return None;
            }
            let rounds = rounds(n, g.anti_entropy)?;
            let interval_ms = g.gossip_interval.as_secs_f64() * 1e3;
            Some(Prediction {
                variant: v.name.clone(),
                anti_entropy: match g.anti_entropy {
                    AntiEntropy::Push => "push",
                    _ => "push-pull",
                }
                .to_owned(),
                nodes: n,
                rounds: round3(rounds),
                interval_ms,
                convergence_ms: round3(rounds * interval_ms),
            })
        })
        .collect()
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Overrides;
    use crate::sweep::{Plan, SweepRecord};

    /// Sweeping one DC's node count: every point's experiment has the total, and the
    /// record predicts for the gossip variant without rumours only.
    #[test]
    fn a_node_count_sweep_predicts_from_the_total_node_count() {
        let source = r#"name = "s"
seed = 3
duration = "2s"
[topology.dcs.eu]
nodes = 1
[topology.dcs.us]
nodes = 2
[topology.default_link]
delay = { dist = "constant", value = "5ms" }
[[variants]]
name = "raft"
kind = "raft"
[[variants]]
name = "rumours"
kind = "gossip"
fanout = 2
[[variants]]
name = "gossip"
kind = "gossip"
fanout = 0
anti_entropy = "push"
gossip_interval = "50ms"
[workload]
users = 6
rate = 50.0
write_fraction = 0.3
[sweep]
metrics = ["convergence_p50_ms"]
[[sweep.parameters]]
key = "topology.dcs.us.nodes"
values = [2, 15]
"#;
        let Ok(Plan::Sweep(plan)) = crate::sweep::parse(source, "t.toml", &Overrides::default())
        else {
            panic!("not a sweep")
        };
        assert_eq!(plan.points[1].loaded.experiment.topology.nodes.len(), 16);
        let record = SweepRecord::new(&plan, "id");
        let p = &record.points[1];
        assert_eq!((p.x[0], p.nodes), (15.0, 16));
        let [t] = &p.theory[..] else {
            panic!("{:?}", p.theory)
        };
        assert_eq!(
            (t.variant.as_str(), t.anti_entropy.as_str()),
            ("gossip", "push")
        );
        assert_eq!(t.nodes, 16);
        assert_eq!(t.interval_ms, 50.0);
        assert!(
            (t.convergence_ms - 50.0 * (4.0 + 16f64.ln())).abs() < 1e-2,
            "{t:?}"
        );
    }

    #[test]
    fn rounds_follow_the_published_formulas() {
        // Pittel: log2(16) + ln(16) = 4 + 2.7726.
        let push = rounds(16, AntiEntropy::Push).unwrap();
        assert!((push - 6.7726).abs() < 1e-3, "{push}");
        // Karp et al.: log3(81) + ln(ln(81)) = 4 + 1.4806.
        let pp = rounds(81, AntiEntropy::PushPull).unwrap();
        assert!((pp - 5.4806).abs() < 1e-3, "{pp}");
        assert!(rounds(2, AntiEntropy::PushPull).unwrap() > 0.0);
        assert_eq!(rounds(1, AntiEntropy::Push), None);
        assert_eq!(rounds(64, AntiEntropy::Pull), None);
        // Logarithmic: doubling n adds a constant number of rounds.
        let step =
            |n| rounds(2 * n, AntiEntropy::Push).unwrap() - rounds(n, AntiEntropy::Push).unwrap();
        assert!((step(16) - step(512)).abs() < 1e-9);
        assert!((step(16) - (1.0 + 2f64.ln())).abs() < 1e-9);
    }
}
