//! Gossip theory check: with push-pull anti-entropy only (every node contacts one random
//! peer per round), a new write reaches all n nodes in about log3(n) + log2(ln n) rounds
//! (Karp, Schindelhauer, Shenker, Vöcking 2000). Simulated on the pure protocol core in
//! synchronous rounds, so the count is exact and the test is fast.

use bytes::Bytes;
use caplab::cluster::gossip::core::{AntiEntropy, GossipConfig, GossipCore, Now, PeerMsg};
use std::time::Duration;

const NODES: u32 = 32;
const WRITES: usize = 200;

/// Rounds until every node holds a write made at `origin` before round 1.
fn rounds_to_spread(seed: u64, origin: u32) -> u32 {
    let config = GossipConfig {
        fanout: 0,
        anti_entropy: AntiEntropy::PushPull,
        gossip_interval: Duration::from_secs(1),
        ..GossipConfig::default()
    };
    let mut nodes: Vec<GossipCore> = (0..NODES)
        .map(|i| GossipCore::new(i, NODES, config.clone(), 0, seed * 1000 + u64::from(i)))
        .collect();
    let t = |round: u64| Now {
        mono_us: round * 1_000_000,
        wall_us: round * 1_000_000,
    };
    nodes[origin as usize].write(t(0), 1, "profile/x", "x#1", Bytes::new());
    for round in 1..=100u64 {
        // Phase by phase, so that a round's exchanges start from the state at its start.
        let mut syns = Vec::new();
        for n in nodes.iter_mut() {
            for (to, msg) in n.tick(t(round)).send {
                syns.push((n.id(), to, msg));
            }
        }
        let mut acks = Vec::new();
        for (from, to, msg) in syns {
            for (back, reply) in nodes[to as usize].step(t(round), from, msg).send {
                acks.push((to, back, reply));
            }
        }
        let mut ack2s: Vec<(u32, u32, PeerMsg)> = Vec::new();
        for (from, to, msg) in acks {
            for (back, reply) in nodes[to as usize].step(t(round), from, msg).send {
                ack2s.push((to, back, reply));
            }
        }
        for (from, to, msg) in ack2s {
            nodes[to as usize].step(t(round), from, msg);
        }
        if nodes.iter().all(|n| n.read("profile/x").is_some()) {
            return round as u32;
        }
    }
    panic!("the write did not spread in 100 rounds");
}

#[test]
fn push_pull_anti_entropy_spreads_a_write_in_log3_n_plus_log2_ln_n_rounds() {
    let n = f64::from(NODES);
    let expected = n.ln() / 3f64.ln() + n.ln().log2();
    let rounds: Vec<u32> = (0..WRITES)
        .map(|i| rounds_to_spread(i as u64 + 1, (i as u32 * 7) % NODES))
        .collect();
    let mean = rounds.iter().map(|r| f64::from(*r)).sum::<f64>() / rounds.len() as f64;
    let max = rounds.iter().max().copied().unwrap_or(0);
    println!(
        "{NODES} nodes, push-pull anti-entropy, {WRITES} writes: mean {mean:.2} rounds (max {max}); \
         theory log3(n) + log2(ln n) = {expected:.2}"
    );
    assert!(
        (mean - expected).abs() < 1.5,
        "mean {mean} rounds vs {expected}"
    );
}
