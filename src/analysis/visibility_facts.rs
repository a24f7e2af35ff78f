//! The visibility numbers a report states per reader class: how many judged reads followed
//! an acknowledged write, how many saw it (or newer), and from how long after the write
//! at least 99% of them did.
//!
//! Read from the visibility curves of `staleness` (the same buckets `visibility.csv` and the
//! charts use); only buckets with at least [`MIN_BUCKET_READS`] reads count towards "from
//! when", so a bucket of two reads cannot decide it.
//!
//! Deliberately left out: other shares than 99% (the curves themselves are in
//! `summary.json`), and smoothing across buckets.

use serde::Serialize;

use super::staleness::{Visibility, VisibilityBucket};

/// Fewest reads in a visibility bucket for it to be drawn or to decide a share.
pub const MIN_BUCKET_READS: u64 = 5;

/// The share of reads [`ReaderFacts::visible_99_after_us`] is about.
pub const SHARE: f64 = 0.99;

/// Which readers a visibility curve is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reader {
    /// Readers in the DC the write was made in (e.g. the owner's laptop).
    SameDc,
    /// Readers in another DC (e.g. a friend abroad).
    OtherDc,
}

impl Reader {
    /// Both classes, same DC first.
    pub const ALL: [Reader; 2] = [Reader::SameDc, Reader::OtherDc];

    /// The buckets of this reader class in `v`.
    pub fn buckets(self, v: &Visibility) -> &[VisibilityBucket] {
        match self {
            Reader::SameDc => &v.same_dc,
            Reader::OtherDc => &v.other_dc,
        }
    }
}

/// What one reader class saw of acknowledged writes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReaderFacts {
    /// Judged reads that followed an acknowledged write.
    pub reads: u64,
    /// Of those, reads that returned it or newer.
    pub visible: u64,
    /// `visible / reads` (`None` without reads).
    pub visible_fraction: Option<f64>,
    /// From how long after the write every bucket (with enough reads) had at least 99% of
    /// its reads see it: the start of the first bucket of that suffix (`None`: even the
    /// latest bucket had fewer).
    pub visible_99_after_us: Option<u64>,
}

/// [`ReaderFacts`] of both reader classes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VisibilityFacts {
    pub same_dc: ReaderFacts,
    pub other_dc: ReaderFacts,
}

impl VisibilityFacts {
    pub fn of(&self, reader: Reader) -> &ReaderFacts {
        match reader {
            Reader::SameDc => &self.same_dc,
            Reader::OtherDc => &self.other_dc,
        }
    }
}

pub fn analyse(v: &Visibility) -> VisibilityFacts {
    VisibilityFacts {
        same_dc: facts(Reader::SameDc.buckets(v)),
        other_dc: facts(Reader::OtherDc.buckets(v)),
    }
}

fn facts(buckets: &[VisibilityBucket]) -> ReaderFacts {
    let (reads, visible) = buckets
        .iter()
        .fold((0, 0), |(r, v), b| (r + b.reads, v + b.visible));
    ReaderFacts {
        reads,
        visible,
        visible_fraction: (reads > 0).then(|| visible as f64 / reads as f64),
        visible_99_after_us: visible_after(buckets, SHARE),
    }
}

/// From how long after the write on every bucket with reads had at least `share` of the
/// reads seen it: the start of the first bucket of that suffix.
pub fn visible_after(buckets: &[VisibilityBucket], share: f64) -> Option<u64> {
    let mut from = None;
    for b in buckets.iter().filter(|b| b.reads >= MIN_BUCKET_READS).rev() {
        if b.p_visible.is_some_and(|p| p >= share) {
            from = Some(b.from_us);
        } else {
            break;
        }
    }
    from
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(from_us: u64, reads: u64, visible: u64) -> VisibilityBucket {
        VisibilityBucket {
            from_us,
            to_us: None,
            reads,
            visible,
            p_visible: Some(visible as f64 / reads as f64),
        }
    }

    #[test]
    fn visible_after_is_the_start_of_the_good_suffix() {
        let b = [
            bucket(0, 10, 0),
            bucket(1000, 10, 10),
            bucket(2000, 10, 5),
            bucket(5000, 100, 99),
            bucket(10_000, 3, 0), // too few reads to count
            bucket(20_000, 50, 50),
        ];
        assert_eq!(visible_after(&b, 0.99), Some(5000));
        assert_eq!(visible_after(&b[..3], 0.99), None);
        assert_eq!(visible_after(&b[1..2], 0.99), Some(1000));
    }

    #[test]
    fn facts_add_up_every_bucket_and_keep_the_suffix() {
        let v = Visibility {
            all: Vec::new(),
            same_dc: vec![bucket(0, 10, 10), bucket(1000, 3, 0)],
            other_dc: Vec::new(),
        };
        let f = analyse(&v);
        assert_eq!(
            f.same_dc,
            ReaderFacts {
                reads: 13,
                visible: 10,
                visible_fraction: Some(10.0 / 13.0),
                visible_99_after_us: Some(0),
            }
        );
        assert_eq!(f.of(Reader::OtherDc).reads, 0);
        assert_eq!(f.other_dc.visible_fraction, None);
        assert_eq!(f.other_dc.visible_99_after_us, None);
    }
}
