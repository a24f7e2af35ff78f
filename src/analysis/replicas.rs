//! What each replica held over time, rebuilt from the `apply` events.
//!
//! Per key and node, the **envelope** is the sequence of times at which the node first held
//! a value at a higher position in system order (see `order`): "node `n` holds write `W` or
//! newer from time `t`" is one binary search. The **final value** of a key on a node is its
//! last `apply`; on a replica whose store is volatile (gossip with `durable = false`) a
//! `crash` wipes it, so only applies after the node's last crash count.
//!
//! The run **converged** when, for every key, every node that is up at the end (not crashed
//! or paused without a later restart or resume) holds the same final value ("nothing" is a
//! value too). Convergence is only **expected** when no partition is still in force at the
//! end of the run; a variant that recorded no `apply` event at all cannot be judged
//! (`converged` is `null`).
//!
//! Deliberately left out: values lost by a crash for the envelope. It records the first
//! time a node held a value or newer, even if a later crash wiped it (convergence lag means
//! "until every node had it").

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::history::{NodeChange, Sym, VariantHistory, NONE};
use super::order::Order;

/// Replica states of one variant.
#[derive(Debug, Default)]
pub struct Replicas {
    /// Whether the variant recorded any `apply` event.
    pub available: bool,
    /// Node names: the topology's, then any other node seen in events.
    pub nodes: Vec<String>,
    pub up_at_end: Vec<bool>,
    /// `[key][node]`: (time, position) at which the node first held each higher position.
    envelopes: Vec<Vec<Vec<(u64, u32)>>>,
    /// `[key][node]`: final value ([`NONE`]: nothing).
    finals: Vec<Vec<Sym>>,
    /// `[key][node]`: position of the final value (0 for nothing).
    final_pos: Vec<Vec<u32>>,
}

impl Replicas {
    /// `topology_nodes`: every node of the experiment; `volatile`: a crash wipes a node's
    /// store.
    pub fn build(
        h: &VariantHistory,
        order: &Order,
        topology_nodes: &[String],
        volatile: bool,
    ) -> Replicas {
        let mut nodes: Vec<String> = topology_nodes.to_vec();
        let mut node_of: HashMap<Sym, usize> = HashMap::new();
        for (i, name) in nodes.iter().enumerate() {
            if let Some(sym) = h.strings.get(name) {
                node_of.insert(sym, i);
            }
        }
        let mut index = |sym: Sym, nodes: &mut Vec<String>| -> usize {
            *node_of.entry(sym).or_insert_with(|| {
                nodes.push(h.name(sym).to_string());
                nodes.len() - 1
            })
        };
        for a in &h.applies {
            index(a.node, &mut nodes);
        }
        let mut last_crash: Vec<Option<u64>> = vec![None; nodes.len()];
        let mut up_at_end = vec![true; nodes.len()];
        for e in &h.node_events {
            let n = index(e.node, &mut nodes);
            if n >= up_at_end.len() {
                up_at_end.resize(n + 1, true);
                last_crash.resize(n + 1, None);
            }
            up_at_end[n] = matches!(e.change, NodeChange::Restart | NodeChange::Resume);
            if e.change == NodeChange::Crash {
                last_crash[n] = Some(e.t_us);
            }
        }
        let (nk, nn) = (order.keys.len(), nodes.len());
        let mut envelopes = vec![vec![Vec::new(); nn]; nk];
        let mut finals = vec![vec![NONE; nn]; nk];
        let mut final_pos = vec![vec![0u32; nn]; nk];
        for a in &h.applies {
            let Some(&k) = order.key_of.get(&a.key) else {
                continue;
            };
            let n = index(a.node, &mut nodes);
            let key = &order.keys[k as usize];
            let pos = order.position(h, key, a.value, None).unwrap_or(0);
            let env: &mut Vec<(u64, u32)> = &mut envelopes[k as usize][n];
            if env.last().is_none_or(|&(_, p)| pos > p) {
                env.push((a.t_us, pos));
            }
            let wiped = volatile && last_crash[n].is_some_and(|c| a.t_us < c);
            if !wiped {
                finals[k as usize][n] = a.value;
                final_pos[k as usize][n] = pos;
            }
        }
        Replicas {
            available: !h.applies.is_empty(),
            nodes,
            up_at_end,
            envelopes,
            finals,
            final_pos,
        }
    }

    /// First time node `n` held a value of key `k` at position `p` or higher.
    pub fn reached(&self, k: usize, n: usize, p: u32) -> Option<u64> {
        let env = self.envelopes.get(k)?.get(n)?;
        let i = env.partition_point(|&(_, pos)| pos < p);
        env.get(i).map(|&(t, _)| t)
    }

    /// First time every node that is up at the end held a value of key `k` at position `p`
    /// or higher (`None` if some node never did).
    pub fn all_reached(&self, k: usize, p: u32) -> Option<u64> {
        let mut latest = 0;
        for n in 0..self.nodes.len() {
            if !self.up_at_end[n] {
                continue;
            }
            latest = latest.max(self.reached(k, n, p)?);
        }
        Some(latest)
    }

    /// Highest position of key `k` held by any node at the end.
    pub fn max_final_pos(&self, k: usize) -> u32 {
        self.final_pos
            .get(k)
            .and_then(|v| v.iter().max().copied())
            .unwrap_or(0)
    }

    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n == name)
    }

    /// Whether the run converged, per the module docs.
    pub fn convergence(&self, h: &VariantHistory, order: &Order) -> Convergence {
        let expected = !h
            .faults
            .iter()
            .any(|f| f.end_us.is_none() && f.kind == "partition");
        let nodes_down_at_end: Vec<String> = self
            .nodes
            .iter()
            .zip(&self.up_at_end)
            .filter(|(_, up)| !**up)
            .map(|(n, _)| n.clone())
            .collect();
        if !self.available {
            return Convergence {
                converged: None,
                expected,
                keys: order.keys.len(),
                diverged_keys: 0,
                nodes_down_at_end,
                examples: Vec::new(),
            };
        }
        let mut diverged = 0;
        let mut examples = Vec::new();
        for (k, finals) in self.finals.iter().enumerate() {
            let mut up = finals
                .iter()
                .zip(&self.up_at_end)
                .filter(|(_, up)| **up)
                .map(|(v, _)| *v);
            let first = up.next();
            if up.all(|v| Some(v) == first) {
                continue;
            }
            diverged += 1;
            if examples.len() < 3 {
                let values = self
                    .nodes
                    .iter()
                    .zip(finals)
                    .zip(&self.up_at_end)
                    .filter(|(_, up)| **up)
                    .map(|((n, &v), _)| (n.clone(), (v != NONE).then(|| h.name(v).to_string())))
                    .collect();
                examples.push(DivergedKey {
                    key: h.name(order.keys[k].key).to_string(),
                    final_values: values,
                });
            }
        }
        Convergence {
            converged: Some(diverged == 0),
            expected,
            keys: order.keys.len(),
            diverged_keys: diverged,
            nodes_down_at_end,
            examples,
        }
    }
}

/// Did every replica end with the same value of every key?
#[derive(Debug, Clone, Serialize)]
pub struct Convergence {
    /// `null` when the variant recorded no `apply` events.
    pub converged: Option<bool>,
    /// `false` when a partition was still in force at the end.
    pub expected: bool,
    pub keys: usize,
    pub diverged_keys: usize,
    /// Left out of the comparison.
    pub nodes_down_at_end: Vec<String>,
    /// Up to three keys whose replicas disagree, with each node's final value.
    pub examples: Vec<DivergedKey>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DivergedKey {
    pub key: String,
    pub final_values: BTreeMap<String, Option<String>>,
}
