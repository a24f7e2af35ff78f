//! The analysis stage: from a run directory's recorded files to latency, availability,
//! staleness, session guarantees, linearizability, lost writes and cost, per variant, and a
//! verdict on whether each variant delivered the consistency it claims.
//!
//! Everything is computed from the files a run wrote (`run.json`, `experiment.toml`,
//! `schedule.jsonl`, and per variant `history.jsonl`, `events.jsonl`, `net.json`), so a run
//! can be re-analysed at any time with `caplab check RUN_DIR`, also after it was killed (it
//! is then `incomplete`). [`check_run`] writes `<run>/summary.json` and the CSV
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
//!   link delay distributions alone, to set beside the measured one; [`pbs_compare`]: that
//!   prediction for exactly the reads a quorum variant's run judged, per visibility bucket.
//! - [`visibility_facts`]: per reader class, how many reads saw the write and from when 99%.
//! - [`home`]: latency at the profile owner's home DC and elsewhere; [`latency_groups`]:
//!   percentile curves and p50 / p99 by DC and device, as the latency charts draw them.
//! - [`fault_devices`]: each fault per device (operations, successes) and its worst DC.
//! - [`raft_model`]: the Raft latency lower bound per client DC (from mean link delays and
//!   the leader's position over time), the best leader placement, and each failover beside
//!   what the configuration implies.
//! - [`breakdown`], [`latency`]: per-group counts, HdrHistogram latencies, stale shares.
//! - [`availability`]: success shares, fault windows, recovery times.
//! - [`session`]: read-your-writes and monotonic reads per user and device.
//! - [`lost_writes`]: acknowledged writes the system lost, explained or not.
//! - [`linearizable`]: the per-key linearizability check with a time limit.
//! - [`cost`]: messages and bytes per operation and per node.
//! - [`integrity`]: whether a variant's record can be trusted (lab errors, duplicate or
//!   unknown op ids, dropped records, missing events, a killed run): `invalid` or
//!   `incomplete` instead of a verdict on the claim.
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
pub mod fault_devices;
pub mod fenwick;
pub mod history;
pub mod home;
pub mod integrity;
pub mod latency;
pub mod latency_groups;
pub mod linearizable;
pub mod load;
pub mod lost_writes;
pub mod order;
pub mod pbs;
pub mod pbs_compare;
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
pub mod visibility_facts;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use error::AnalysisError;
pub use history::VariantHistory;
pub use summary::{RunSummary, VariantEntry};
pub use variant::{analyse as analyse_variant, VariantAnalysis, VariantContext, VariantSummary};

use crate::experiment::VariantParams;
use crate::run_dir::manifest::{RunStatus, VariantStatus};
use verdict::ClaimStatus;

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

/// Whether every analysed variant met the consistency it claims, or why that cannot be
/// said (`summary.json`'s `verdict`, kebab-case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No variant showed an anomaly (undecided checks are not anomalies).
    Consistent,
    /// At least one variant did not meet its claim.
    Anomaly,
    /// The run was killed, or a variant's record is only a part of it.
    Incomplete,
    /// caplab itself failed during the run (`lab_error`), or a record is corrupt.
    Invalid,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Consistent => "consistent",
            Verdict::Anomaly => "anomaly",
            Verdict::Incomplete => "incomplete",
            Verdict::Invalid => "invalid",
        }
    }

    /// The exit code of `caplab check`: 0 consistent, 1 anomaly, 2 invalid or incomplete
    /// (the numbers describe the lab or a part of the run, not the system).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Consistent => 0,
            Verdict::Anomaly => 1,
            Verdict::Incomplete | Verdict::Invalid => 2,
        }
    }
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
    /// 0 when every variant met its claim, 1 when an anomaly was found, 2 when the run is
    /// invalid or incomplete.
    pub fn exit_code(&self) -> u8 {
        self.verdict.exit_code()
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
    /// `invalid` if any variant is, else `incomplete` if the run was killed or any variant
    /// is, else `anomaly` if any variant did not meet its claim, else `consistent`.
    pub fn verdict(&self) -> Verdict {
        let any = |status| {
            self.variants
                .iter()
                .any(|(_, v)| v.summary.verdict.status == status)
        };
        if any(ClaimStatus::Invalid) {
            Verdict::Invalid
        } else if any(ClaimStatus::Incomplete) || self.summary.status == RunStatus::Running {
            Verdict::Incomplete
        } else if any(ClaimStatus::NotMet) {
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
        // A temporary file renamed over the old one: an analysis stopped by a signal never
        // leaves a half-written summary.json.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|source| AnalysisError::Write {
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
    let manifest = &run.manifest;
    let nodes: Vec<String> = exp.topology.nodes.iter().map(|n| n.name.clone()).collect();
    let shared_exp = std::sync::Arc::new(exp.clone());
    // A variant killed as it started may have no files yet: nothing to analyse. Any other
    // started variant must have its history (a missing one is an error).
    let analysable = |v: &crate::run_dir::manifest::VariantEntry| {
        v.status.started()
            && (v.status != VariantStatus::Running
                || run_dir.join(&v.name).join("history.jsonl").exists())
    };
    let to_analyse = manifest.variants.iter().filter(|v| analysable(v)).count();
    let mut lin_left = opts.lin_time_limit;
    let mut analysed = 0;
    let mut entries = Vec::new();
    let mut variants = Vec::new();
    for entry in &manifest.variants {
        if !analysable(entry) {
            entries.push((
                entry.name.clone(),
                VariantEntry::Skipped {
                    kind: entry.kind,
                    status: entry.status,
                    error: entry.error.clone(),
                },
            ));
            continue;
        }
        let spec = exp.variants.iter().find(|v| v.name == entry.name);
        let dir = run_dir.join(&entry.name);
        let files = load::read_variant(&dir)?;
        let history = files.history;
        let outcome = entry.outcome.as_ref();
        let window_start_us = outcome.map(|o| o.window_start_us).or_else(|| {
            run.schedule
                .as_ref()
                .and_then(|s| integrity::recover_window_start(&history, s))
        });
        let ctx = VariantContext {
            kind: spec.map_or(entry.kind, |v| v.kind()),
            params: spec.map(|v| v.params.clone()),
            nodes: nodes.clone(),
            window_start_us: window_start_us.unwrap_or(0),
            window_len_us: exp.duration.as_micros() as u64,
            lin_time_limit: lin_left / (to_analyse - analysed).max(1) as u32,
            net: load::read_net(&dir)?,
            status: entry.status,
            experiment: Some(shared_exp.clone()),
        };
        let mut integrity = integrity::assess(
            &history,
            &integrity::Facts {
                status: entry.status,
                events: files.events,
                schedule: run.schedule.as_ref(),
                scheduled: manifest.operations,
                counted: outcome.map(|o| o.operations),
                window_start_us,
            },
        );
        if outcome.is_none() && entry.status != VariantStatus::Running {
            integrity.invalid.push(format!(
                "run.json says {} but records no outcome for this variant",
                entry.status
            ));
        }
        let mut analysis = variant::analyse(&history, &ctx)?;
        if let Some(VariantParams::Raft(p)) = &ctx.params {
            let window = (ctx.window_start_us, ctx.window_start_us + ctx.window_len_us);
            analysis.summary.raft_model = raft_model::model(&history, exp, p, window);
        }
        drop(history);
        analysis.summary.verdict = analysis.summary.verdict.qualify(&integrity);
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
    let mut reasons = Vec::new();
    if manifest.status == RunStatus::Running {
        reasons.push(
            "run.json still says running: the run was killed (or is still going); what reached \
             the files is analysed, variants that never started are not"
                .to_string(),
        );
    }
    let mut result = RunAnalysis {
        experiment: run.experiment.clone(),
        summary: RunSummary {
            experiment: manifest.experiment.clone(),
            run_id: manifest.run_id.clone(),
            seed: manifest.seed,
            engine: manifest.engine,
            status: manifest.status,
            verdict: Verdict::Consistent,
            reasons,
            variants: entries,
        },
        variants,
    };
    result.summary.verdict = result.verdict();
    Ok(result)
}
