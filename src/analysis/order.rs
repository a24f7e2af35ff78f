//! Where each written and returned value stands, per key: the orders every other analysis
//! compares against.
//!
//! Two orders of a key's writes are kept, because users and systems disagree about "newer":
//!
//! - **System order** (staleness, visibility, stable latency, convergence, lost writes): the
//!   acknowledged (`ok`) writes ranked by the system's own `version`, compared element by
//!   element, when every acknowledged write of the key has one ("version mode"); otherwise
//!   by acknowledgement time (`complete_us`, then `id`). A value is placed in this order by
//!   its **position** `p`: the number of acknowledged writes that are not newer than it (so
//!   the acknowledged write of rank `r` is newer than a value at position `p` exactly when
//!   `r >= p`). "No value" is at 0; the value of an acknowledged write of rank `r` at
//!   `r + 1`; a value whose write was not acknowledged is placed by its version (from the
//!   write, the read that returned it, or any read of it) in version mode, else right
//!   after the writes acknowledged before (or at the same time as) its write was invoked
//!   (the earliest it can have taken effect).
//! - **Issue order** (session guarantees): every write of the key, whatever its outcome, by
//!   invoke time. A user's writes are issued one after another, so this is the order in
//!   which the user made the pictures: what the user calls older. "No value" is 0, the
//!   `i`-th write is `i + 1`.
//!
//! Also here: the **locality** of each read, "same DC" when the reader is in the DC of the
//! key's most recent write invoked before the read (the DC where the owner's phone was),
//! else "other DC".
//!
//! A read of a label that no write of its key wrote is **unexplained**: it is left out of
//! every order-based measure and counted (the linearizability checker reports it).
//!
//! Deliberately left out: writes of the same label twice (labels are unique in caplab's
//! workload; the first acknowledged write of a label, else its first write, names it).

use std::collections::HashMap;

use super::history::{Sym, VariantHistory, NONE};
use crate::history::OpKind;

/// Where a read stands relative to the DC of the writes it may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Locality {
    SameDc,
    OtherDc,
    /// The key has no write at all.
    Unknown,
}

impl Locality {
    pub fn as_str(self) -> &'static str {
        match self {
            Locality::SameDc => "same_dc",
            Locality::OtherDc => "other_dc",
            Locality::Unknown => "unknown",
        }
    }
}

/// The operations of one key, in the orders the analyses need (indices into `ops`).
#[derive(Debug, Default)]
pub struct KeyIndex {
    pub key: Sym,
    /// `ok` reads, by invoke time (then id).
    pub reads: Vec<u32>,
    /// Every write, by invoke time (then id): the issue order.
    pub writes: Vec<u32>,
    /// Acknowledged writes in system order (index = rank).
    pub ranked: Vec<u32>,
    /// Acknowledged writes by acknowledgement time (then id).
    pub by_ack: Vec<u32>,
    /// Whether `ranked` follows the system's versions (else acknowledgement time).
    pub version_mode: bool,
    /// Label -> the write that wrote it.
    label: HashMap<Sym, u32>,
    /// Writes not acknowledged whose version a read revealed -> that read.
    learned: HashMap<u32, u32>,
}

/// Orders of every key of a history, and per-operation positions.
#[derive(Debug, Default)]
pub struct Order {
    pub keys: Vec<KeyIndex>,
    /// Key symbol -> index in `keys`.
    pub key_of: HashMap<Sym, u32>,
    /// Per op: rank of an acknowledged write in its key's system order ([`NONE`] otherwise).
    pub rank: Vec<u32>,
    /// Per op: 1-based issue position of a write ([`NONE`] for reads).
    pub issue: Vec<u32>,
    /// Per op: position of the value an `ok` read returned ([`NONE`]: not an `ok` read, or
    /// unexplained).
    pub read_pos: Vec<u32>,
    /// Per op: issue position of the value an `ok` read returned ([`NONE`] likewise).
    pub read_issue: Vec<u32>,
    /// Per op: locality (writes are `SameDc`).
    pub locality: Vec<Locality>,
}

impl Order {
    pub fn build(h: &VariantHistory) -> Order {
        let n = h.ops.len();
        let mut key_of: HashMap<Sym, u32> = HashMap::new();
        let mut keys: Vec<KeyIndex> = Vec::new();
        // Every read of each key, whatever its outcome (for localities).
        let mut all_reads: Vec<Vec<u32>> = Vec::new();
        for (i, op) in h.ops.iter().enumerate() {
            let k = *key_of.entry(op.key).or_insert_with(|| {
                keys.push(KeyIndex {
                    key: op.key,
                    ..KeyIndex::default()
                });
                all_reads.push(Vec::new());
                (keys.len() - 1) as u32
            });
            let key = &mut keys[k as usize];
            match op.kind {
                OpKind::Write => key.writes.push(i as u32),
                OpKind::Read => {
                    if op.is_ok() {
                        key.reads.push(i as u32);
                    }
                    all_reads[k as usize].push(i as u32);
                }
            }
        }
        let mut order = Order {
            keys: Vec::new(),
            key_of,
            rank: vec![NONE; n],
            issue: vec![NONE; n],
            read_pos: vec![NONE; n],
            read_issue: vec![NONE; n],
            locality: vec![Locality::SameDc; n],
        };
        for (key, reads) in keys.iter_mut().zip(&all_reads) {
            order.index_key(h, key, reads);
        }
        order.keys = keys;
        order
    }

    fn index_key(&mut self, h: &VariantHistory, k: &mut KeyIndex, all_reads: &[u32]) {
        let ops = &h.ops;
        let by_invoke = |&i: &u32| (ops[i as usize].invoke_us, ops[i as usize].id);
        k.writes.sort_by_key(by_invoke);
        k.reads.sort_by_key(by_invoke);
        for (pos, &w) in k.writes.iter().enumerate() {
            self.issue[w as usize] = pos as u32 + 1;
            let op = &ops[w as usize];
            if op.value == NONE {
                continue;
            }
            // The first acknowledged write of a label names it, else its first write.
            match k.label.get(&op.value) {
                Some(&prev) if ops[prev as usize].is_acked_write() || !op.is_acked_write() => {}
                _ => {
                    k.label.insert(op.value, w);
                }
            }
        }
        k.by_ack = k
            .writes
            .iter()
            .copied()
            .filter(|&w| ops[w as usize].is_acked_write())
            .collect();
        k.by_ack
            .sort_by_key(|&i| (ops[i as usize].complete_us, ops[i as usize].id));
        k.version_mode = !k.by_ack.is_empty()
            && k.by_ack
                .iter()
                .all(|&w| h.version(&ops[w as usize]).is_some());
        k.ranked = k.by_ack.clone();
        if k.version_mode {
            k.ranked.sort_by(|&a, &b| {
                let (oa, ob) = (&ops[a as usize], &ops[b as usize]);
                h.version(oa)
                    .cmp(&h.version(ob))
                    .then(oa.complete_us.cmp(&ob.complete_us))
                    .then(oa.id.cmp(&ob.id))
            });
        }
        for (r, &w) in k.ranked.iter().enumerate() {
            self.rank[w as usize] = r as u32;
        }
        for &r in &k.reads {
            let op = &ops[r as usize];
            if let (Some(&w), Some(_)) = (k.label.get(&op.value), h.version(op)) {
                if !ops[w as usize].is_acked_write() && h.version(&ops[w as usize]).is_none() {
                    k.learned.entry(w).or_insert(r);
                }
            }
        }
        for &r in &k.reads {
            let op = &ops[r as usize];
            if let Some(p) = self.position(h, k, op.value, h.version(op)) {
                self.read_pos[r as usize] = p;
            }
            if let Some(p) = self.issue_position(k, op.value) {
                self.read_issue[r as usize] = p;
            }
        }
        for &r in all_reads {
            let op = &ops[r as usize];
            // The DC of the key's latest write invoked before the read (else its first).
            let before = k
                .writes
                .partition_point(|&w| ops[w as usize].invoke_us < op.invoke_us);
            let writer = match before {
                0 => k.writes.first(),
                b => k.writes.get(b - 1),
            };
            self.locality[r as usize] = match writer {
                None => Locality::Unknown,
                Some(&w) if ops[w as usize].dc == op.dc => Locality::SameDc,
                Some(_) => Locality::OtherDc,
            };
        }
    }

    /// Position of `value` of key `k` in system order (see the module docs); `hint` is a
    /// version the caller saw with the value. `None` if no write of the key wrote it.
    pub fn position(
        &self,
        h: &VariantHistory,
        k: &KeyIndex,
        value: Sym,
        hint: Option<&[u64]>,
    ) -> Option<u32> {
        if value == NONE {
            return Some(0);
        }
        let ops = &h.ops;
        let w = *k.label.get(&value)?;
        let rank = self.rank[w as usize];
        if rank != NONE {
            return Some(rank + 1);
        }
        let write = &ops[w as usize];
        if k.version_mode {
            let learned = || k.learned.get(&w).and_then(|&r| h.version(&ops[r as usize]));
            if let Some(v) = h.version(write).or(hint).or_else(learned) {
                let p = k
                    .ranked
                    .partition_point(|&i| h.version(&ops[i as usize]).is_some_and(|x| x <= v));
                return Some(p as u32);
            }
        }
        // At or before: an acknowledgement and an invocation at the same microsecond (common
        // under the sim engine, whose clock moves in whole milliseconds) are one user's
        // writes one after the other (a key's writes are its owner's, issued one at a
        // time), so the acknowledged one came first.
        let p = k
            .by_ack
            .partition_point(|&i| ops[i as usize].complete_us <= write.invoke_us);
        Some(p as u32)
    }

    /// Issue position of `value` of key `k`: 0 for no value, `i + 1` for the `i`-th write.
    pub fn issue_position(&self, k: &KeyIndex, value: Sym) -> Option<u32> {
        if value == NONE {
            return Some(0);
        }
        k.label.get(&value).map(|&w| self.issue[w as usize])
    }

    /// The write that wrote `value` of key `k`.
    pub fn writer(&self, k: &KeyIndex, value: Sym) -> Option<u32> {
        k.label.get(&value).copied()
    }

    pub fn key(&self, key: Sym) -> Option<&KeyIndex> {
        self.key_of.get(&key).map(|&k| &self.keys[k as usize])
    }
}
