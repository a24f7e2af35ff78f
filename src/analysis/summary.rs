//! Exporters: a run's results as the bytes of `summary.json` and the CSV files.
//!
//! Pure functions from results to bytes (field by field documented in `docs/metrics.md`):
//!
//! - [`summary_json`]: `summary.json`, variants in run order under `variants.<name>`;
//! - [`timeseries_csv`]: `timeseries.csv`, one row per second per variant;
//! - [`timeseries_by_dc_csv`]: `timeseries_by_dc.csv`, one row per second, DC and variant;
//! - [`visibility_csv`]: `visibility.csv`, the visibility curves.
//!
//! Empty CSV cells mean "no value" (e.g. no latency in a second without `ok` operations).
//!
//! Deliberately left out: charts and writing files (the caller writes the bytes).

use std::fmt::Write as _;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::staleness::VisibilityBucket;
use super::timeseries::TimeSeries;
use super::variant::{VariantAnalysis, VariantSummary};
use super::Verdict;
use crate::experiment::VariantKind;
use crate::run_dir::manifest::{RunStatus, VariantStatus};

/// Everything `summary.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub experiment: String,
    /// The run directory's id: named by `run.json`, not written here (`summary.json` is a
    /// function of the recorded files alone, the same for every sim run of one seed).
    #[serde(skip_serializing)]
    pub run_id: String,
    pub seed: Option<u64>,
    /// The engine the run recorded on: `real` or `sim`.
    pub engine: crate::experiment::Engine,
    /// `run.json`'s status: `ok`, `failed`, `interrupted`, or `running` (killed).
    pub status: RunStatus,
    /// `consistent`, `anomaly`, `incomplete` or `invalid` (see [`Verdict`]).
    pub verdict: Verdict,
    /// Why the run as a whole is incomplete (empty otherwise); each variant's reasons are
    /// in its `verdict`.
    pub reasons: Vec<String>,
    #[serde(serialize_with = "in_order")]
    pub variants: Vec<(String, VariantEntry)>,
}

/// A variant of the run: analysed, or why not.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum VariantEntry {
    Analysed(Box<VariantSummary>),
    Skipped {
        kind: VariantKind,
        /// `failed` or `not-run` (or `running` without any file: killed as it started).
        status: VariantStatus,
        error: Option<String>,
    },
}

fn in_order<S: Serializer>(v: &[(String, VariantEntry)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(v.len()))?;
    for (name, entry) in v {
        map.serialize_entry(name, entry)?;
    }
    map.end()
}

pub fn summary_json(summary: &RunSummary) -> Result<Vec<u8>, serde_json::Error> {
    let mut bytes = serde_json::to_vec_pretty(summary)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Quotes a CSV cell if it needs it.
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

pub fn timeseries_csv(variants: &[(&str, &VariantAnalysis)]) -> String {
    let mut out = String::from(
        "variant,second,ops,ok,fail,unknown,reads,reads_checked,stale_reads,\
         p50_us,p99_us,read_p50_us,read_p99_us,write_p50_us,write_p99_us,faults_active\n",
    );
    for (name, v) in variants {
        let ts: &TimeSeries = &v.timeseries;
        for r in &ts.seconds {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                cell(name),
                r.second,
                r.ops,
                r.ok,
                r.fail,
                r.unknown,
                r.reads,
                r.reads_checked,
                r.stale_reads,
                opt(r.p50_us),
                opt(r.p99_us),
                opt(r.read_p50_us),
                opt(r.read_p99_us),
                opt(r.write_p50_us),
                opt(r.write_p99_us),
                r.faults_active
            );
        }
    }
    out
}

pub fn timeseries_by_dc_csv(variants: &[(&str, &VariantAnalysis)]) -> String {
    let mut out = String::from("variant,second,dc,ops,ok,fail,unknown,reads_checked,stale_reads\n");
    for (name, v) in variants {
        for r in &v.timeseries.by_dc {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{}",
                cell(name),
                r.second,
                cell(&r.dc),
                r.ops,
                r.ok,
                r.fail,
                r.unknown,
                r.reads_checked,
                r.stale_reads
            );
        }
    }
    out
}

pub fn visibility_csv(variants: &[(&str, &VariantAnalysis)]) -> String {
    let mut out = String::from("variant,reader,from_us,to_us,reads,visible,p_visible\n");
    for (name, v) in variants {
        let vis = &v.summary.staleness.visibility;
        let curves: [(&str, &Vec<VisibilityBucket>); 3] = [
            ("all", &vis.all),
            ("same_dc", &vis.same_dc),
            ("other_dc", &vis.other_dc),
        ];
        for (reader, buckets) in curves {
            for b in buckets {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{}",
                    cell(name),
                    reader,
                    b.from_us,
                    opt(b.to_us),
                    b.reads,
                    b.visible,
                    opt(b.p_visible)
                );
            }
        }
    }
    out
}
