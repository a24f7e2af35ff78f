//! The memo of one search: the set of (linearized operations, value) configurations
//! already explored, as fixed-size keys in one arena behind an open-addressing table,
//! capped in memory.
//!
//! Deliberately left out: eviction (past the cap, new configurations are simply not
//! remembered; the search stays exact, only slower).

/// Memory the memo of one search may use; past it, new configurations are no longer
/// remembered (the search stays exact, only slower, and the time limit still applies).
const MEMO_LIMIT_BYTES: usize = 512 << 20;

/// The set of configurations already explored: fixed-size keys stored back to back in one
/// arena, found through an open-addressing table of arena positions.
pub(super) struct Memo {
    words: usize,
    arena: Vec<u64>,
    /// 0: empty; otherwise 1 + the entry's number in the arena.
    slots: Vec<u32>,
    len: usize,
    full: bool,
}

impl Memo {
    pub(super) fn new(words: usize) -> Self {
        Memo {
            words,
            arena: Vec::new(),
            slots: vec![0; 1024],
            len: 0,
            full: false,
        }
    }

    /// The slot holding `key`, or the empty slot where it belongs.
    fn find(&self, key: &[u64]) -> usize {
        let mask = self.slots.len() - 1;
        let mut slot = fx_hash(key) as usize & mask;
        loop {
            let entry = self.slots[slot] as usize;
            if entry == 0 || self.entry(entry - 1) == key {
                return slot;
            }
            slot = (slot + 1) & mask;
        }
    }

    fn entry(&self, n: usize) -> &[u64] {
        &self.arena[n * self.words..(n + 1) * self.words]
    }

    /// Adds `key`; false if it was there already. Once full, only reports.
    pub(super) fn insert(&mut self, key: &[u64]) -> bool {
        let slot = self.find(key);
        if self.slots[slot] != 0 {
            return false;
        }
        if self.full {
            return true;
        }
        let bytes = (self.arena.len() + self.words) * 8 + self.slots.len() * 8;
        if bytes > MEMO_LIMIT_BYTES || self.len + 1 >= u32::MAX as usize / 2 {
            self.full = true;
            return true;
        }
        self.arena.extend_from_slice(key);
        self.len += 1;
        self.slots[slot] = self.len as u32;
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
        true
    }

    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![0; size]);
        for entry in old.into_iter().filter(|&e| e != 0) {
            let slot = self.find(self.entry(entry as usize - 1));
            self.slots[slot] = entry;
        }
    }
}

/// FxHash's mixing step over the words, with a final rotation so the low bits (the table
/// index) depend on the high bits of the product.
fn fx_hash(key: &[u64]) -> u64 {
    let mut hash = 0u64;
    for &word in key {
        hash = (hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    hash.rotate_left(26)
}
