//! Acknowledged writes the system lost.
//!
//! An acknowledged (`ok`) write `W` is **lost** if either
//!
//! - **real-time inversion**: some write `W'` acknowledged strictly before `W` was invoked
//!   (so `W` is newer in real time) is ordered after `W` by the system (`W'`'s version is
//!   greater). The system's order contradicts real time: `W` loses to an older write, e.g.
//!   to a node whose wall clock runs ahead under `lww-wallclock`. Judged only where every
//!   acknowledged write of the key has a version; or
//! - **vanished**: at the end of the run no replica holds `W` or any value the system
//!   ordered after it: `W` is neither the final value nor superseded. Judged only when the
//!   variant recorded `apply` events.
//!
//! Whether a loss is **explained** by the consistency the variant claims:
//!
//! - `raft`: never (writes are linearizable);
//! - gossip `lww-wallclock`: an inversion is explained (writes are ordered by the nodes'
//!   wall clocks, which may disagree with real time); a vanished write is not;
//! - gossip `lww-hlc`: an inversion is explained only if `W`'s coordinator (the node the
//!   client talked to) had not applied `W'` or anything newer by the time `W` was invoked
//!   (HLC orders only writes that saw each other); a vanished write is not.
//!
//! Deliberately left out: writes whose outcome is `unknown` or `fail` (nothing was
//! promised), and inversions among writes that overlapped in time (they have no real-time
//! order).

use serde::Serialize;

use super::history::VariantHistory;
use super::order::Order;
use super::replicas::Replicas;
use super::session::{example, label, Earliest, Example};

const EXAMPLES: usize = 3;

/// The ordering promise a variant makes about its writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOrder {
    /// Writes are ordered consistently with real time (Raft).
    RealTime,
    /// Last writer wins by the coordinator's wall clock.
    WallClock,
    /// Last writer wins by hybrid logical clock.
    Hlc,
}

impl WriteOrder {
    fn explanation(self) -> Option<&'static str> {
        match self {
            WriteOrder::RealTime => None,
            WriteOrder::WallClock => Some(
                "lww-wallclock orders writes by the coordinators' wall clocks, \
                 which may disagree with real time",
            ),
            WriteOrder::Hlc => {
                Some("lww-hlc orders only writes whose coordinator had seen the other write")
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LostWrites {
    /// Acknowledged writes lost in either way.
    pub lost_writes: u64,
    pub real_time_inversions: u64,
    /// `null` when the variant recorded no `apply` events.
    pub vanished: Option<u64>,
    /// Lost writes the variant's claimed consistency does not explain.
    pub unexplained: u64,
    /// What explains the others, when anything does.
    pub explained_by: Option<String>,
    pub examples: LostExamples,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LostExamples {
    pub inversions: Vec<Example>,
    pub vanished: Vec<Example>,
}

pub fn analyse(
    h: &VariantHistory,
    order: &Order,
    replicas: &Replicas,
    rule: WriteOrder,
) -> LostWrites {
    let ops = &h.ops;
    let (mut lost, mut inversions, mut vanished, mut unexplained) = (0u64, 0u64, 0u64, 0u64);
    let mut inversion_examples: Earliest<(u32, u32)> = Earliest::new(EXAMPLES);
    let mut vanished_examples: Earliest<u32> = Earliest::new(EXAMPLES);
    for (ki, k) in order.keys.iter().enumerate() {
        // Running maximum rank over acknowledgement order, and which write holds it.
        let mut best: Vec<(u32, u32)> = Vec::with_capacity(k.by_ack.len());
        for &w in &k.by_ack {
            let rank = order.rank[w as usize];
            let b = match best.last() {
                Some(&(r, bw)) if r >= rank => (r, bw),
                _ => (rank, w),
            };
            best.push(b);
        }
        let final_pos = replicas.max_final_pos(ki);
        for &w in &k.by_ack {
            let write = &ops[w as usize];
            let rank = order.rank[w as usize];
            let mut is_lost = false;
            let mut is_unexplained = false;
            if k.version_mode {
                let before = k
                    .by_ack
                    .partition_point(|&x| ops[x as usize].complete_us < write.invoke_us);
                if let Some(&(r, older)) = before.checked_sub(1).and_then(|i| best.get(i)) {
                    if r > rank {
                        is_lost = true;
                        inversions += 1;
                        let explained = match rule {
                            WriteOrder::RealTime => false,
                            WriteOrder::WallClock => true,
                            WriteOrder::Hlc => {
                                // Explained unless the coordinator held the older write (or
                                // newer) before this one was invoked.
                                let seen = replicas
                                    .node_index(h.name(write.node))
                                    .and_then(|n| replicas.reached(ki, n, r + 1));
                                seen.is_none_or(|t| t > write.invoke_us)
                            }
                        };
                        is_unexplained |= !explained;
                        inversion_examples.offer((write.invoke_us, write.id), (older, w));
                    }
                }
            }
            if replicas.available && final_pos <= rank {
                is_lost = true;
                is_unexplained = true;
                vanished += 1;
                vanished_examples.offer((write.invoke_us, write.id), w);
            }
            lost += u64::from(is_lost);
            unexplained += u64::from(is_unexplained);
        }
    }
    let inversion_examples = inversion_examples
        .into_sorted()
        .into_iter()
        .map(|(older, w)| {
            let (a, b) = (&ops[older as usize], &ops[w as usize]);
            let explanation = format!(
                "{} was written at {}..{} us, after {} had been acknowledged at {} us, \
                 but the system ordered {} after it (version {:?} > {:?}): {} is lost",
                label(h, b.value),
                b.invoke_us,
                b.complete_us,
                label(h, a.value),
                a.complete_us,
                label(h, a.value),
                h.version(a).unwrap_or_default(),
                h.version(b).unwrap_or_default(),
                label(h, b.value),
            );
            example(h, vec![older, w], explanation)
        })
        .collect();
    let vanished_examples = vanished_examples
        .into_sorted()
        .into_iter()
        .map(|w| {
            let write = &ops[w as usize];
            let explanation = format!(
                "{} was acknowledged at {} us, but at the end no replica held it or \
                 anything the system ordered after it",
                label(h, write.value),
                write.complete_us
            );
            example(h, vec![w], explanation)
        })
        .collect();
    LostWrites {
        lost_writes: lost,
        real_time_inversions: inversions,
        vanished: replicas.available.then_some(vanished),
        unexplained,
        explained_by: (lost > unexplained)
            .then(|| rule.explanation().map(str::to_string))
            .flatten(),
        examples: LostExamples {
            inversions: inversion_examples,
            vanished: vanished_examples,
        },
    }
}
