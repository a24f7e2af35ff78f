//! The analysis stage: from a run directory's recorded files to latency, availability,
//! staleness, session guarantees, linearizability, lost writes and cost, per variant, and a
//! verdict on whether each variant delivered the consistency it claims.
//!
//! Everything is computed from the files a run wrote (`run.json`, `experiment.toml`, and per
//! variant `history.jsonl`, `events.jsonl`, `net.json`), so a run can be re-analysed at any
//! time with `caplab check RUN_DIR`. [`check_run`] writes `<run>/summary.json` and the CSV
//! series and returns the terminal table and the verdict. Every metric is defined in
//! `docs/metrics.md`.
//!
//! # Layout
//!
//! - [`load`]: reads the run directory, streaming JSON Lines into
//! - [`history`]: the compact form of a variant's history (interned names, version pool).
//! - [`order`]: per key, the system order and issue order of writes, where every read value
//!   stands in them, and each read's locality (same DC as the write or not).
//! - [`replicas`]: what each node held over time, from `apply` events; convergence.
//! - [`staleness`]: stale reads, k, age, visibility curve, stable latency, convergence lag
//!   (with the [`fenwick`] trees that keep them O(n log n)).
//! - [`pbs`]: the PBS (WARS) model's predicted visibility curve for a partial quorum, from
//!   link delay distributions alone, to set beside the measured one.
//! - [`raft_model`]: the Raft latency lower bound per client DC (from mean link delays and
//!   the leader's position over time), the best leader placement, and each failover beside
//!   what the configuration implies.
//! - [`breakdown`], [`latency`]: per-group counts, HdrHistogram latencies, stale shares.
//! - [`availability`]: success shares, fault windows, recovery times.
//! - [`session`]: read-your-writes and monotonic reads per user and device.
//! - [`lost_writes`]: acknowledged writes the system lost, explained or not.
//! - [`linearizable`]: the per-key linearizability check with a time limit.
//! - [`cost`]: messages and bytes per operation and per node.
//! - [`verdict`]: the claim of each variant kind, and whether it was met.
//! - [`points`]: every operation's time, latency, outcome and staleness, for charts.
//! - [`timeseries`]: per-second series; [`summary`]: `summary.json` and CSV bytes;
//!   [`table`]: the terminal table; [`variant`]: one variant end to end.
//!
//! Deliberately left out: charts and reports (see `report`), and judging anything the files do
//! not record (e.g. what a replica held between `apply` events, or traffic over time).

pub mod availability;
pub mod breakdown;
pub mod cost;
pub mod error;
pub mod fenwick;
pub mod history;
pub mod latency;
pub mod linearizable;
pub mod load;
pub mod lost_writes;
pub mod order;
pub mod pbs;
pub mod points;
pub mod raft_model;
pub mod replicas;
pub mod session;
pub mod staleness;
pub mod summary;
pub mod table;
pub mod timeseries;
pub mod variant;
pub mod verdict;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::AnalysisError;
pub use history::VariantHistory;
pub use summary::{RunSummary, VariantEntry};
pub use variant::{analyse as analyse_variant, VariantAnalysis, VariantContext, VariantSummary};

use crate::experiment::{VariantKind, VariantParams};

/// How to analyse.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Time limit of the linearizability check, for all variants of the run together.
    pub lin_time_limit: Duration,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            lin_time_limit: Duration::from_secs(10),
        }
    }
}

/// Whether every analysed variant met the consistency it claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No variant showed an anomaly (undecided checks are not anomalies).
    Consistent,
    /// At least one variant did not meet its claim.
    Anomaly,
}

/// What `caplab check` reports.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// The compact terminal table, ending with a newline.
    pub table: String,
    pub verdict: Verdict,
    /// Per variant in run order: whether it met its claim (`None`: undecided or not
    /// analysed).
    pub variants: Vec<(String, Option<bool>)>,
    /// Variants `run.json` lists as failed or not run (not analysed).
    pub skipped: Vec<String>,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The analysis itself (for charts and reports).
    pub analysis: RunAnalysis,
}

impl CheckOutcome {
    /// 0 when every variant met its claim, 1 when an anomaly was found.
    pub fn exit_code(&self) -> u8 {
        match self.verdict {
            Verdict::Consistent => 0,
            Verdict::Anomaly => 1,
        }
    }
}

/// A run's results in memory.
#[derive(Debug, Clone)]
pub struct RunAnalysis {
    /// The run's `experiment.toml`.
    pub experiment: crate::experiment::Experiment,
    pub summary: RunSummary,
    /// Analysed variants, in run order.
    pub variants: Vec<(String, VariantAnalysis)>,
}

impl RunAnalysis {
    pub fn verdict(&self) -> Verdict {
        if self
            .variants
            .iter()
            .any(|(_, v)| v.summary.verdict.met == Some(false))
        {
            Verdict::Anomaly
        } else {
            Verdict::Consistent
        }
    }
}

/// Analyses the run in `run_dir`, writes `summary.json`, `timeseries.csv`,
/// `timeseries_by_dc.csv` and `visibility.csv` into it, and returns the table and verdict.
pub fn check_run(run_dir: &Path) -> Result<CheckOutcome, AnalysisError> {
    check_run_with(run_dir, &CheckOptions::default())
}

/// [`check_run`] with options.
pub fn check_run_with(run_dir: &Path, opts: &CheckOptions) -> Result<CheckOutcome, AnalysisError> {
    let analysis = analyse_run(run_dir, opts)?;
    let refs: Vec<(&str, &VariantAnalysis)> = analysis
        .variants
        .iter()
        .map(|(n, v)| (n.as_str(), v))
        .collect();
    let summary_path = run_dir.join("summary.json");
    let json =
        summary::summary_json(&analysis.summary).map_err(|source| AnalysisError::Serialise {
            path: summary_path.clone(),
            source,
        })?;
    let outputs: [(PathBuf, Vec<u8>); 4] = [
        (summary_path, json),
        (
            run_dir.join("timeseries.csv"),
            summary::timeseries_csv(&refs).into_bytes(),
        ),
        (
            run_dir.join("timeseries_by_dc.csv"),
            summary::timeseries_by_dc_csv(&refs).into_bytes(),
        ),
        (
            run_dir.join("visibility.csv"),
            summary::visibility_csv(&refs).into_bytes(),
        ),
    ];
    let mut files = Vec::new();
    for (path, bytes) in outputs {
        std::fs::write(&path, bytes).map_err(|source| AnalysisError::Write {
            path: path.clone(),
            source,
        })?;
        files.push(path);
    }
    Ok(CheckOutcome {
        table: table::render(&analysis.summary),
        verdict: analysis.verdict(),
        variants: analysis
            .summary
            .variants
            .iter()
            .map(|(name, e)| {
                let met = match e {
                    VariantEntry::Analysed(v) => v.verdict.met,
                    VariantEntry::Skipped { .. } => None,
                };
                (name.clone(), met)
            })
            .collect(),
        skipped: analysis
            .summary
            .variants
            .iter()
            .filter(|(_, e)| matches!(e, VariantEntry::Skipped { .. }))
            .map(|(n, _)| n.clone())
            .collect(),
        files,
        analysis,
    })
}

/// Analyses the run in `run_dir` without writing anything.
pub fn analyse_run(run_dir: &Path, opts: &CheckOptions) -> Result<RunAnalysis, AnalysisError> {
    let run = load::read_run(run_dir)?;
    let exp = &run.experiment;
    let nodes: Vec<String> = exp.topology.nodes.iter().map(|n| n.name.clone()).collect();
    let to_analyse = run
        .manifest
        .variants
        .iter()
        .filter(|v| v.recorded())
        .count();
    let mut lin_left = opts.lin_time_limit;
    let mut analysed = 0;
    let mut entries = Vec::new();
    let mut variants = Vec::new();
    for entry in &run.manifest.variants {
        let Some(outcome) = entry.outcome.as_ref().filter(|_| entry.recorded()) else {
            entries.push((
                entry.name.clone(),
                VariantEntry::Skipped {
                    kind: entry.kind.clone(),
                    status: entry.status.clone(),
                    error: entry.error.clone(),
                },
            ));
            continue;
        };
        let spec = exp.variants.iter().find(|v| v.name == entry.name);
        let kind = match (spec, entry.kind.as_str()) {
            (Some(v), _) => v.kind(),
            (None, "raft") => VariantKind::Raft,
            (None, "gossip") => VariantKind::Gossip,
            (None, other) => {
                return Err(AnalysisError::Invalid {
                    path: run_dir.join("run.json"),
                    message: format!(
                        "variant {}: kind {other:?} is unknown and the variant is not in experiment.toml",
                        entry.name
                    ),
                })
            }
        };
        let dir = run_dir.join(&entry.name);
        let history = load::read_variant(&dir)?;
        let ctx = VariantContext {
            kind,
            params: spec.map(|v| v.params.clone()),
            nodes: nodes.clone(),
            window_start_us: outcome.window_start_us,
            window_len_us: exp.duration.as_micros() as u64,
            lin_time_limit: lin_left / (to_analyse - analysed).max(1) as u32,
            net: load::read_net(&dir)?,
            status: entry.status.clone(),
        };
        let mut analysis = variant::analyse(&history, &ctx)?;
        if let Some(VariantParams::Raft(p)) = &ctx.params {
            let window = (ctx.window_start_us, ctx.window_start_us + ctx.window_len_us);
            analysis.summary.raft_model = raft_model::model(&history, exp, p, window);
        }
        drop(history);
        analysed += 1;
        lin_left = lin_left.saturating_sub(Duration::from_micros(
            analysis.summary.linearizability.elapsed_us,
        ));
        entries.push((
            entry.name.clone(),
            VariantEntry::Analysed(Box::new(analysis.summary.clone())),
        ));
        variants.push((entry.name.clone(), analysis));
    }
    let mut result = RunAnalysis {
        experiment: run.experiment.clone(),
        summary: RunSummary {
            experiment: run.manifest.experiment.clone(),
            run_id: run.manifest.run_id.clone(),
            seed: run.manifest.seed,
            verdict: String::new(),
            variants: entries,
        },
        variants,
    };
    result.summary.verdict = match result.verdict() {
        Verdict::Consistent => "consistent",
        Verdict::Anomaly => "anomaly",
    }
    .to_string();
    Ok(result)
}
