//! Session guarantees per user across devices, as the user experiences them.
//!
//! "Older picture" means earlier in the **issue order** of the key's writes (see `order`):
//! a user's pictures are made one after another, so this is the user's own notion of old
//! and new, whatever order the system settled on (when the two disagree, the system lost a
//! write, and the user sees it here too).
//!
//! - **Read-your-writes**: a successful read by one of the owner's own devices (a `phone`
//!   or `laptop` client whose user is the profile's owner) violates it if it returned a
//!   picture older than the owner's latest write acknowledged strictly before the read was
//!   invoked (or no picture at all). Judged for every such read that followed at least one
//!   acknowledged own write.
//! - **Monotonic reads**: a successful read by a client (`client` string: one user device,
//!   or one friend, wherever it is) of a key violates it if it returned a picture older
//!   than one a read of the same client and key had returned and completed strictly before
//!   this read was invoked. Judged for every read that followed such a completed read.
//!
//! Counts are reads in violation; examples are the earliest few, as operations.
//!
//! Deliberately left out: monotonic writes and writes-follow-reads (a user's writes are
//! serialised by the workload, so they cannot be violated by the clients' own ordering),
//! and reads of unexplained labels.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::history::{Sym, VariantHistory, NONE};
use super::order::Order;
use crate::history::{Device, OpRecord};

/// How many examples of each violation are kept.
const EXAMPLES: usize = 3;

#[derive(Debug, Clone, Serialize)]
pub struct SessionSummary {
    pub read_your_writes_violations: u64,
    pub read_your_writes_checked: u64,
    pub monotonic_read_violations: u64,
    pub monotonic_reads_checked: u64,
    /// Violations per device (`phone`, `laptop`, `friend`).
    pub by_device: BTreeMap<String, DeviceSessions>,
    pub examples: SessionExamples,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DeviceSessions {
    pub read_your_writes_violations: u64,
    pub read_your_writes_checked: u64,
    pub monotonic_read_violations: u64,
    pub monotonic_reads_checked: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionExamples {
    pub read_your_writes: Vec<Example>,
    pub monotonic_reads: Vec<Example>,
}

/// Operations that together show an anomaly, in invoke order, with what they show.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub explanation: String,
    pub ops: Vec<OpRecord>,
}

/// Builds an [`Example`] from operation indices (sorted by invoke, duplicates dropped).
pub fn example(h: &VariantHistory, mut ops: Vec<u32>, explanation: String) -> Example {
    ops.sort_by_key(|&i| (h.ops[i as usize].invoke_us, h.ops[i as usize].id));
    ops.dedup();
    Example {
        explanation,
        ops: ops.iter().filter_map(|&i| h.record_at(i)).collect(),
    }
}

/// Keeps the `n` items with the smallest keys offered.
#[derive(Debug)]
pub struct Earliest<T> {
    n: usize,
    items: Vec<((u64, u64), T)>,
}

impl<T> Earliest<T> {
    pub fn new(n: usize) -> Self {
        Earliest {
            n,
            items: Vec::new(),
        }
    }

    pub fn offer(&mut self, key: (u64, u64), item: T) {
        if self.items.len() < self.n {
            self.items.push((key, item));
            return;
        }
        if let Some((i, _)) = self
            .items
            .iter()
            .enumerate()
            .max_by_key(|(_, (k, _))| *k)
            .filter(|(_, (k, _))| key < *k)
        {
            self.items[i] = (key, item);
        }
    }

    pub fn into_sorted(mut self) -> Vec<T> {
        self.items.sort_by_key(|(k, _)| *k);
        self.items.into_iter().map(|(_, t)| t).collect()
    }
}

pub fn label(h: &VariantHistory, value: Sym) -> String {
    if value == NONE {
        "no picture".to_string()
    } else {
        h.name(value).to_string()
    }
}

pub fn analyse(h: &VariantHistory, order: &Order) -> SessionSummary {
    let ops = &h.ops;
    let mut by_device: BTreeMap<String, DeviceSessions> = BTreeMap::new();
    for d in [Device::Phone, Device::Laptop, Device::Friend] {
        by_device.insert(d.as_str().to_string(), DeviceSessions::default());
    }
    // The earliest violations: (read, the write or read it contradicts).
    let mut ryw: Earliest<(u32, u32)> = Earliest::new(EXAMPLES);
    let mut mr: Earliest<(u32, u32)> = Earliest::new(EXAMPLES);

    for k in &order.keys {
        // Read-your-writes: per writing user, acknowledged writes by acknowledgement time
        // with the running maximum issue position (and which write holds it).
        let mut own: HashMap<Sym, Vec<(u64, u32, u32)>> = HashMap::new();
        for &w in &k.by_ack {
            let op = &ops[w as usize];
            let list = own.entry(op.client_user).or_default();
            let issue = order.issue[w as usize];
            let best = match list.last() {
                Some(&(_, p, bw)) if p >= issue => (p, bw),
                _ => (issue, w),
            };
            list.push((op.complete_us, best.0, best.1));
        }
        for &r in &k.reads {
            let read = &ops[r as usize];
            let seen = order.read_issue[r as usize];
            if seen == NONE
                || !matches!(read.device, Device::Phone | Device::Laptop)
                || read.client_user != read.user
            {
                continue;
            }
            let Some(list) = own.get(&read.user) else {
                continue;
            };
            let before = list.partition_point(|&(t, _, _)| t < read.invoke_us);
            if before == 0 {
                continue;
            }
            let (_, latest, latest_w) = list[before - 1];
            let d = by_device
                .entry(read.device.as_str().to_string())
                .or_default();
            d.read_your_writes_checked += 1;
            if seen < latest {
                d.read_your_writes_violations += 1;
                ryw.offer((read.invoke_us, read.id), (r, latest_w));
            }
        }

        // Monotonic reads: per client, reads by invoke against reads completed before.
        let mut per_client: HashMap<Sym, Vec<u32>> = HashMap::new();
        for &r in &k.reads {
            if order.read_issue[r as usize] != NONE {
                per_client
                    .entry(ops[r as usize].client)
                    .or_default()
                    .push(r);
            }
        }
        for reads in per_client.values() {
            let mut by_complete = reads.clone();
            by_complete.sort_by_key(|&r| (ops[r as usize].complete_us, ops[r as usize].id));
            let mut done = 0;
            let mut best: Option<(u32, u32)> = None;
            for &r in reads {
                let read = &ops[r as usize];
                while let Some(&c) = by_complete.get(done) {
                    if ops[c as usize].complete_us >= read.invoke_us {
                        break;
                    }
                    let p = order.read_issue[c as usize];
                    if best.is_none_or(|(bp, _)| p > bp) {
                        best = Some((p, c));
                    }
                    done += 1;
                }
                let Some((bp, prev)) = best else {
                    continue;
                };
                let d = by_device
                    .entry(read.device.as_str().to_string())
                    .or_default();
                d.monotonic_reads_checked += 1;
                if order.read_issue[r as usize] < bp {
                    d.monotonic_read_violations += 1;
                    mr.offer((read.invoke_us, read.id), (r, prev));
                }
            }
        }
    }

    let sum = |f: fn(&DeviceSessions) -> u64| by_device.values().map(f).sum::<u64>();
    let ryw_examples = ryw
        .into_sorted()
        .into_iter()
        .map(|(r, w)| {
            let (read, write) = (&ops[r as usize], &ops[w as usize]);
            let mut example_ops = vec![w, r];
            if let Some(seen) = order
                .key(read.key)
                .and_then(|k| order.writer(k, read.value))
            {
                example_ops.push(seen);
            }
            let explanation = format!(
                "{} read {} at {} us, {} us after {}'s write of {} was acknowledged",
                h.name(read.client),
                label(h, read.value),
                read.invoke_us,
                read.invoke_us.saturating_sub(write.complete_us),
                h.name(read.user),
                label(h, write.value),
            );
            example(h, example_ops, explanation)
        })
        .collect();
    let mr_examples = mr
        .into_sorted()
        .into_iter()
        .map(|(r, prev)| {
            let (read, before) = (&ops[r as usize], &ops[prev as usize]);
            let explanation = format!(
                "{} read {} at {} us after reading {} (completed at {} us)",
                h.name(read.client),
                label(h, read.value),
                read.invoke_us,
                label(h, before.value),
                before.complete_us,
            );
            example(h, vec![prev, r], explanation)
        })
        .collect();
    SessionSummary {
        read_your_writes_violations: sum(|d| d.read_your_writes_violations),
        read_your_writes_checked: sum(|d| d.read_your_writes_checked),
        monotonic_read_violations: sum(|d| d.monotonic_read_violations),
        monotonic_reads_checked: sum(|d| d.monotonic_reads_checked),
        by_device,
        examples: SessionExamples {
            read_your_writes: ryw_examples,
            monotonic_reads: mr_examples,
        },
    }
}
