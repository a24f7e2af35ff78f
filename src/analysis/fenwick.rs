//! Fenwick (binary indexed) trees over positions `0..n`: prefix counts, prefix minima and
//! prefix maxima in O(log n) per update and query.
//!
//! They turn the per-read questions of staleness ("how many acknowledged writes newer than
//! this value existed when the read began, and since when?") and the per-write question of
//! stable latency into sweeps of O((reads + writes) log writes) per key, instead of
//! comparing every read with every write.
//!
//! Deliberately left out: removal (every sweep only inserts) and generic monoids.

/// Counts of inserted positions.
#[derive(Debug, Clone)]
pub struct Count {
    tree: Vec<u32>,
    total: u32,
}

impl Count {
    pub fn new(n: usize) -> Self {
        Count {
            tree: vec![0; n + 1],
            total: 0,
        }
    }

    pub fn add(&mut self, pos: usize) {
        self.total += 1;
        let mut i = pos + 1;
        while i < self.tree.len() {
            self.tree[i] += 1;
            i += i & i.wrapping_neg();
        }
    }

    /// Inserted positions in `0..end`.
    pub fn below(&self, end: usize) -> u32 {
        let mut i = end.min(self.tree.len() - 1);
        let mut sum = 0;
        while i > 0 {
            sum += self.tree[i];
            i -= i & i.wrapping_neg();
        }
        sum
    }

    /// Inserted positions in `from..`.
    pub fn at_or_above(&self, from: usize) -> u32 {
        self.total - self.below(from)
    }
}

/// Minimum of the values inserted at positions `0..end`.
#[derive(Debug, Clone)]
pub struct Min {
    tree: Vec<u64>,
}

impl Min {
    pub fn new(n: usize) -> Self {
        Min {
            tree: vec![u64::MAX; n + 1],
        }
    }

    pub fn insert(&mut self, pos: usize, value: u64) {
        let mut i = pos + 1;
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].min(value);
            i += i & i.wrapping_neg();
        }
    }

    /// `None` if nothing was inserted below `end`.
    pub fn below(&self, end: usize) -> Option<u64> {
        let mut i = end.min(self.tree.len() - 1);
        let mut m = u64::MAX;
        while i > 0 {
            m = m.min(self.tree[i]);
            i -= i & i.wrapping_neg();
        }
        (m != u64::MAX).then_some(m)
    }
}

/// Maximum of the values inserted at positions `0..end`.
#[derive(Debug, Clone)]
pub struct Max {
    tree: Vec<Option<u64>>,
}

impl Max {
    pub fn new(n: usize) -> Self {
        Max {
            tree: vec![None; n + 1],
        }
    }

    pub fn insert(&mut self, pos: usize, value: u64) {
        let mut i = pos + 1;
        while i < self.tree.len() {
            self.tree[i] = Some(self.tree[i].map_or(value, |v| v.max(value)));
            i += i & i.wrapping_neg();
        }
    }

    pub fn below(&self, end: usize) -> Option<u64> {
        let mut i = end.min(self.tree.len() - 1);
        let mut m: Option<u64> = None;
        while i > 0 {
            if let Some(v) = self.tree[i] {
                m = Some(m.map_or(v, |x| x.max(v)));
            }
            i -= i & i.wrapping_neg();
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_agree_with_brute_force() {
        let n = 37;
        let mut count = Count::new(n);
        let mut min = Min::new(n);
        let mut max = Max::new(n);
        let mut inserted: Vec<(usize, u64)> = Vec::new();
        for step in 0..200u64 {
            let pos = ((step * 7919) % n as u64) as usize;
            let value = (step * 104_729) % 1000;
            count.add(pos);
            min.insert(pos, value);
            max.insert(pos, value);
            inserted.push((pos, value));
            for end in 0..=n + 1 {
                let below: Vec<u64> = inserted
                    .iter()
                    .filter(|(p, _)| *p < end)
                    .map(|(_, v)| *v)
                    .collect();
                assert_eq!(count.below(end) as usize, below.len());
                assert_eq!(min.below(end), below.iter().min().copied());
                assert_eq!(max.below(end), below.iter().max().copied());
            }
        }
        assert_eq!(count.at_or_above(0), 200);
    }
}
