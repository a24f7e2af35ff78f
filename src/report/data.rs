//! What charts and reports are drawn from: the compared columns (one per variant of a run,
//! or per run and variant in a comparison), each with its fault windows, and the pure
//! series every chart draws.
//!
//! Series are plain numbers (seconds, milliseconds, shares), computed here without any
//! drawing, so tests can check exactly what a chart shows.
//!
//! Deliberately left out: drawing (see `charts`) and text (see `content`).

use std::collections::BTreeMap;

pub use crate::analysis::fault_devices::DEVICES;
use crate::analysis::home::P50P99;
use crate::analysis::pbs_compare::PbsComparison;
use crate::analysis::staleness::VisibilityBucket;
use crate::analysis::timeseries::SecondRow;
pub use crate::analysis::visibility_facts::{Reader, MIN_BUCKET_READS};
use crate::analysis::VariantAnalysis;
use crate::experiment::Experiment;
use crate::history::{OpKind, Outcome};

/// A fault window, in seconds since the start of the measured window.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub label: String,
    pub start_s: f64,
    /// `None`: never healed.
    pub end_s: Option<f64>,
}

/// One compared system: a variant of a run.
#[derive(Debug, Clone)]
pub struct Column<'a> {
    /// `raft`, or `dc-partition/raft` in a comparison.
    pub label: String,
    /// The variant's name in its experiment.
    pub variant: String,
    /// Colour index (see `style::color`).
    pub color: usize,
    pub analysis: &'a VariantAnalysis,
    /// The experiment the variant ran in.
    pub experiment: &'a Experiment,
    pub bands: Vec<Band>,
}

impl Column<'_> {
    /// The PBS prediction beside the measurement (partial-quorum variants only).
    pub fn pbs(&self) -> Option<&PbsComparison> {
        self.analysis.summary.pbs.as_ref()
    }
}

/// The columns of a chart or report.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    pub columns: Vec<Column<'a>>,
    /// Length of the measured window, seconds.
    pub duration_s: f64,
}

impl Input<'_> {
    /// Fault bands of all columns, without repeats (faults at the same time with the same
    /// label are one band), for charts that overlay the columns.
    pub fn bands(&self) -> Vec<Band> {
        let mut out: Vec<Band> = Vec::new();
        for c in &self.columns {
            for b in &c.bands {
                let same = |o: &Band| {
                    o.label == b.label
                        && (o.start_s - b.start_s).abs() < 0.5
                        && match (o.end_s, b.end_s) {
                            (Some(x), Some(y)) => (x - y).abs() < 0.5,
                            (None, None) => true,
                            _ => false,
                        }
                };
                if !out.iter().any(same) {
                    out.push(b.clone());
                }
            }
        }
        out
    }

    /// Every client DC seen in any column, sorted.
    pub fn dcs(&self) -> Vec<String> {
        let mut dcs: Vec<String> = self
            .columns
            .iter()
            .flat_map(|c| c.analysis.points.dcs.iter().cloned())
            .collect();
        dcs.sort();
        dcs.dedup();
        dcs
    }

    /// The x range of time charts: the measured window and any operation after it.
    pub fn time_range(&self) -> (f64, f64) {
        let last = self
            .columns
            .iter()
            .flat_map(|c| c.analysis.timeseries.seconds.last())
            .map(|r| r.second as f64 + 1.0)
            .fold(self.duration_s, f64::max);
        (0.0, last.max(1.0))
    }
}

/// The bands of a variant, from its summary's fault reports.
pub fn bands_of(v: &VariantAnalysis) -> Vec<Band> {
    v.summary
        .availability
        .faults
        .iter()
        .map(|f| Band {
            label: f.detail.clone(),
            start_s: f.start_s,
            end_s: f.end_s,
        })
        .collect()
}

/// Latency scatter: `(seconds, milliseconds)` per outcome `[ok, fail, unknown]`.
pub fn scatter(v: &VariantAnalysis) -> [Vec<(f64, f64)>; 3] {
    let mut out: [Vec<(f64, f64)>; 3] = Default::default();
    for p in &v.points.ops {
        let slot = match p.outcome {
            Outcome::Ok => 0,
            Outcome::Fail => 1,
            Outcome::Unknown => 2,
        };
        out[slot].push((p.t_us as f64 / 1e6, p.latency_us as f64 / 1e3));
    }
    out
}

/// The `x` of percentile `p` on the "nines" scale: 0 at 0%, 1 at 90%, 2 at 99%, 3 at 99.9%.
pub fn nines(p: f64) -> f64 {
    -(1.0 - p).max(1e-9).log10()
}

/// Latency percentile curve of the `ok` operations of `kind`: `(nines, milliseconds)` (see
/// `analysis::latency_groups`).
pub fn percentile_curve(v: &VariantAnalysis, kind: OpKind) -> Vec<(f64, f64)> {
    v.percentiles.get(kind).to_vec()
}

/// p50 and p99 latency (ms) of `ok` operations, by a grouping of the operations.
pub type GroupLatency = BTreeMap<String, (f64, f64)>;

/// p50/p99 of `ok` operations by client DC and by device, in milliseconds.
pub fn group_latency(v: &VariantAnalysis) -> (GroupLatency, GroupLatency) {
    let ms = |m: &BTreeMap<String, P50P99>| -> GroupLatency {
        m.iter()
            .map(|(k, p)| (k.clone(), (p.p50 as f64 / 1e3, p.p99 as f64 / 1e3)))
            .collect()
    };
    let g = &v.summary.latency_by_group_us;
    (ms(&g.by_dc), ms(&g.by_device))
}

/// A per-second share `num / den` as `(second + 0.5, share)`; seconds with `den == 0` are
/// left out (a gap, not a zero).
pub fn per_second(
    rows: &[SecondRow],
    num: impl Fn(&SecondRow) -> u64,
    den: impl Fn(&SecondRow) -> u64,
) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| den(r) > 0)
        .map(|r| (r.second as f64 + 0.5, num(r) as f64 / den(r) as f64))
        .collect()
}

/// Success share per second: `ok / ops`.
pub fn availability(v: &VariantAnalysis) -> Vec<(f64, f64)> {
    per_second(&v.timeseries.seconds, |r| r.ok, |r| r.ops)
}

/// Success share per second of the clients in `dc`.
pub fn availability_in(v: &VariantAnalysis, dc: &str) -> Vec<(f64, f64)> {
    v.timeseries
        .by_dc
        .iter()
        .filter(|r| r.dc == dc && r.ops > 0)
        .map(|r| (r.second as f64 + 0.5, r.ok as f64 / r.ops as f64))
        .collect()
}

/// Stale share per second of the judged reads.
pub fn staleness(v: &VariantAnalysis) -> Vec<(f64, f64)> {
    per_second(
        &v.timeseries.seconds,
        |r| r.stale_reads,
        |r| r.reads_checked,
    )
}

/// A visibility curve as `(milliseconds since the write's acknowledgement, P(visible))`, one
/// point per bucket with at least [`MIN_BUCKET_READS`] reads, at the bucket's geometric
/// middle (the open last bucket at twice its start).
pub fn visibility(buckets: &[VisibilityBucket]) -> Vec<(f64, f64)> {
    buckets
        .iter()
        .filter(|b| b.reads >= MIN_BUCKET_READS)
        .filter_map(|b| Some((bucket_mid_ms(b.from_us, b.to_us), b.p_visible?)))
        .collect()
}

/// Where a visibility bucket is drawn: its geometric middle in ms (the open last bucket at
/// twice its start).
pub fn bucket_mid_ms(from_us: u64, to_us: Option<u64>) -> f64 {
    let from = from_us.max(50) as f64;
    let mid = match to_us {
        Some(to) => (from * to as f64).sqrt(),
        None => from * 2.0,
    };
    mid / 1e3
}

/// The PBS prediction of a column on the same buckets as [`visibility_of`].
pub fn pbs_visibility(c: &Column, reader: Reader) -> Vec<(f64, f64)> {
    c.pbs()
        .map(|p| {
            p.rows(reader)
                .iter()
                .filter(|r| r.reads >= MIN_BUCKET_READS)
                .map(|r| (bucket_mid_ms(r.from_us, r.to_us), r.predicted))
                .collect()
        })
        .unwrap_or_default()
}

pub fn visibility_of(v: &VariantAnalysis, reader: Reader) -> Vec<(f64, f64)> {
    visibility(reader.buckets(&v.summary.staleness.visibility))
}

/// Empirical CDF of samples in milliseconds: `(ms, share of all samples at most ms)`.
/// `None` samples (never) count in the denominator only, so the curve ends below 1 when
/// some never happened. Values below `floor_ms` are drawn at `floor_ms`.
pub fn cdf(samples: &[Option<u64>], floor_ms: f64) -> Vec<(f64, f64)> {
    let n = samples.len();
    let mut v: Vec<u64> = samples.iter().flatten().copied().collect();
    v.sort_unstable();
    let mut out = Vec::with_capacity(v.len() + 1);
    if n == 0 {
        return out;
    }
    out.push((floor_ms, 0.0));
    for (i, &us) in v.iter().enumerate() {
        // One point per distinct value: the last of a run of equal values.
        if v.get(i + 1) == Some(&us) {
            continue;
        }
        out.push(((us as f64 / 1e3).max(floor_ms), (i + 1) as f64 / n as f64));
    }
    out
}

/// A line of a chart: colour index, legend label, points.
pub type Line = (usize, String, Vec<(f64, f64)>);
