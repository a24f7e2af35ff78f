//! What a sweep recorded: `sweep.json` (parameters, metrics, and per point its folder,
//! status, repetitions and, per variant, each metric's mean, 95% interval, count and
//! per-repetition values) and the same summaries flat in `sweep.csv`.
//!
//! A point of a sweep with `seeds = N` ran N times; its status is the worst of its
//! repetitions' (`interrupted`, then `failed`, then `running`, then `not-run`, else `ok`)
//! and its numbers are over the repetitions that had a value (see `stats`). With one
//! repetition the mean is the run's value and the interval is `null`.
//!
//! The record is written after every point, so an interrupted or crashed sweep keeps what
//! it finished. Charts and the sweep part of the report are drawn from this record alone.
//! Both exporters are pure functions of it.
//!
//! Deliberately left out: files (the CLI writes and reads them; `caplab plot` redraws the
//! sweep charts from `sweep.json`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::metric::Metric;
use super::plan::SweepPlan;
use super::stats::MetricStats;
use super::theory::Prediction;
use super::values::Axis;
use crate::analysis::RunAnalysis;
use crate::experiment::raw::SweepValue;
use crate::run_dir::manifest::{RunStatus, VariantStatus};

/// Repetitions of a plain file run with `--seeds` that go into its comparison report
/// (a sweep's report compares the first repetition of each point).
pub const MAX_COMPARED_REPETITIONS: usize = 8;

/// `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    pub experiment: String,
    /// The sweep directory's id (its UTC start time).
    pub sweep_id: String,
    /// Seed of every point (unless `seed` is swept); the first repetition's.
    pub seed: u64,
    /// Repetitions of every point.
    #[serde(default = "one")]
    pub seeds: usize,
    /// `running`, `ok`, `failed` (a point failed) or `interrupted`.
    pub status: RunStatus,
    pub parameters: Vec<ParameterRecord>,
    pub metrics: Vec<MetricRecord>,
    pub points: Vec<PointRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterRecord {
    /// As written in `[sweep]`, e.g. `variants.gossip.gossip_interval`.
    pub key: String,
    /// Index form, e.g. `variants[1].gossip_interval`.
    pub path: String,
    /// `number`, `duration` (x in milliseconds) or `category` (x is the value's index).
    pub axis: String,
    /// Unit of `x` (`ms` for durations).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unit: Option<String>,
    pub values: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRecord {
    pub name: String,
    /// `ms`, `share` (0 to 1), `messages` or `bytes`.
    pub unit: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointRecord {
    /// 0-based, in sweep order.
    pub index: usize,
    /// One per parameter, as written.
    pub values: Vec<serde_json::Value>,
    /// One per parameter: the value's position on the chart's x axis.
    pub x: Vec<f64>,
    /// The point's run directory, relative to the sweep directory.
    pub dir: String,
    /// `not-run`, `running`, `ok`, `failed` or `interrupted`: the worst of its
    /// repetitions' (each reads like a variant's status in `run.json`).
    pub status: VariantStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// Nodes of the point's experiment (all DCs).
    #[serde(default)]
    pub nodes: usize,
    /// One per seed: its run directory and status.
    #[serde(default)]
    pub repetitions: Vec<RepetitionRecord>,
    /// Per analysed variant, in run order: metric name -> its summary over the
    /// repetitions (`mean` `null`: nothing to measure in any).
    pub variants: Vec<VariantMetrics>,
    /// Gossip variants for which a spreading-time prediction applies (see `theory`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub theory: Vec<Prediction>,
}

/// One run of a point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepetitionRecord {
    pub seed: u64,
    /// Run directory, relative to the sweep directory.
    pub dir: String,
    pub status: VariantStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantMetrics {
    pub variant: String,
    pub metrics: BTreeMap<String, MetricStats>,
}

impl VariantMetrics {
    /// The mean of `metric` (`None`: no repetition had a value).
    pub fn mean(&self, metric: &str) -> Option<f64> {
        self.metrics.get(metric).and_then(|s| s.mean)
    }
}

impl PointRecord {
    /// The summary of `metric` for `variant`, if that variant was analysed.
    pub fn stats(&self, variant: &str, metric: &str) -> Option<&MetricStats> {
        self.variants
            .iter()
            .find(|v| v.variant == variant)
            .and_then(|v| v.metrics.get(metric))
    }

    /// The point's status from its repetitions'.
    fn refresh_status(&mut self) {
        use VariantStatus as S;
        let has = |s: S| self.repetitions.iter().any(|r| r.status == s);
        self.status = if has(S::Interrupted) {
            S::Interrupted
        } else if has(S::Failed) {
            S::Failed
        } else if has(S::Running) {
            S::Running
        } else if has(S::NotRun) && !has(S::Ok) {
            S::NotRun
        } else if has(S::NotRun) {
            S::Running
        } else {
            S::Ok
        };
        let errors: Vec<String> = self
            .repetitions
            .iter()
            .filter_map(|r| {
                let e = r.error.as_ref()?;
                Some(if self.repetitions.len() > 1 {
                    format!("seed {}: {e}", r.seed)
                } else {
                    e.clone()
                })
            })
            .collect();
        self.error = (!errors.is_empty()).then(|| errors.join("; "));
    }
}

fn one() -> usize {
    1
}

impl SweepRecord {
    /// A fresh record: every point `not-run`.
    pub fn new(plan: &SweepPlan, sweep_id: &str) -> SweepRecord {
        SweepRecord {
            experiment: plan.base.experiment.name.clone(),
            sweep_id: sweep_id.to_owned(),
            seed: plan.base.experiment.seed,
            seeds: plan.seeds,
            status: RunStatus::Running,
            parameters: plan
                .parameters
                .iter()
                .map(|p| ParameterRecord {
                    key: p.key.clone(),
                    path: p.path.clone(),
                    axis: match p.axis {
                        Axis::Number => "number",
                        Axis::Duration => "duration",
                        Axis::Category => "category",
                    }
                    .to_owned(),
                    unit: p.axis.unit().map(str::to_owned),
                    values: p.values.iter().map(json).collect(),
                })
                .collect(),
            metrics: plan
                .metrics
                .iter()
                .map(|m| MetricRecord {
                    name: m.name().to_owned(),
                    unit: m.unit().as_str().to_owned(),
                    label: m.label().to_owned(),
                })
                .collect(),
            points: plan
                .points
                .iter()
                .map(|pt| PointRecord {
                    index: pt.index,
                    values: pt.values.iter().map(json).collect(),
                    x: plan
                        .parameters
                        .iter()
                        .zip(&pt.value_indices)
                        .map(|(p, &i)| p.axis.x(i, &p.values[i]))
                        .collect(),
                    dir: pt.dir_name.clone(),
                    status: VariantStatus::NotRun,
                    error: None,
                    nodes: pt.loaded.experiment.topology.nodes.len(),
                    repetitions: pt
                        .repetitions
                        .iter()
                        .map(|r| RepetitionRecord {
                            seed: r.seed,
                            dir: r.dir_name.clone(),
                            status: VariantStatus::NotRun,
                            error: None,
                        })
                        .collect(),
                    variants: Vec::new(),
                    theory: super::theory::predictions(&pt.loaded.experiment),
                })
                .collect(),
        }
    }

    /// Records the metrics of an analysed repetition of a point and updates the point's
    /// summaries.
    pub fn set_metrics(
        &mut self,
        point: usize,
        repetition: usize,
        metrics: &[Metric],
        run: &RunAnalysis,
    ) {
        for (name, v) in &run.variants {
            let values = metrics
                .iter()
                .map(|m| (m.name().to_owned(), m.value(&v.summary).map(round6)));
            self.set_values(point, repetition, name, values);
        }
    }

    /// Records one repetition's values of a variant (metric name -> value) and updates
    /// the point's summaries of those metrics.
    pub fn set_values(
        &mut self,
        point: usize,
        repetition: usize,
        variant: &str,
        values: impl IntoIterator<Item = (String, Option<f64>)>,
    ) {
        let Some(p) = self.points.get_mut(point) else {
            return;
        };
        let reps = p.repetitions.len().max(repetition + 1);
        let i = match p.variants.iter().position(|x| x.variant == variant) {
            Some(i) => i,
            None => {
                p.variants.push(VariantMetrics {
                    variant: variant.to_owned(),
                    metrics: BTreeMap::new(),
                });
                p.variants.len() - 1
            }
        };
        let entry = &mut p.variants[i];
        for (name, value) in values {
            let mut all = entry
                .metrics
                .get(&name)
                .map(|s| s.values.clone())
                .unwrap_or_default();
            all.resize(reps, None);
            all[repetition] = value;
            entry.metrics.insert(name, MetricStats::of(all));
        }
    }

    /// Sets a repetition's status (and error); the point's follows.
    pub fn set_status(
        &mut self,
        point: usize,
        repetition: usize,
        status: VariantStatus,
        error: Option<String>,
    ) {
        if let Some(p) = self.points.get_mut(point) {
            if let Some(r) = p.repetitions.get_mut(repetition) {
                r.status = status;
                r.error = error;
            }
            p.refresh_status();
        }
    }

    /// After a stop: a point some of whose repetitions ran and the rest did not is
    /// `interrupted` (not `running`).
    pub fn interrupt_unfinished(&mut self) {
        for p in &mut self.points {
            if p.status == VariantStatus::Running {
                p.status = VariantStatus::Interrupted;
            }
        }
    }

    /// Variant names in first-seen order over the points.
    pub fn variants(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for v in self.points.iter().flat_map(|p| &p.variants) {
            if !out.contains(&v.variant) {
                out.push(v.variant.clone());
            }
        }
        out
    }

    /// `sweep.json`.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut v = serde_json::to_vec_pretty(self)?;
        v.push(b'\n');
        Ok(v)
    }

    /// `sweep.csv`: one row per point and variant (one row without a variant for a point
    /// that has no analysed variant): `point,<key>...,variant,status,runs`, then per metric
    /// `<metric>` (the mean), `<metric>_ci_low`, `<metric>_ci_high` and `<metric>_n`.
    /// `runs` is the point's repetitions; an interval is empty with fewer than two values.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let mut header = vec!["point".to_owned()];
        header.extend(self.parameters.iter().map(|p| p.key.clone()));
        header.extend(["variant", "status", "runs"].map(String::from));
        for m in &self.metrics {
            header.push(m.name.clone());
            for suffix in ["ci_low", "ci_high", "n"] {
                header.push(format!("{}_{suffix}", m.name));
            }
        }
        let _ = writeln!(out, "{}", csv_row(&header));
        let num = |x: Option<f64>| x.map_or_else(String::new, |x| x.to_string());
        for p in &self.points {
            let mut lead = vec![(p.index + 1).to_string()];
            lead.extend(p.values.iter().map(plain_json));
            let rows: Vec<(String, Vec<String>)> = if p.variants.is_empty() {
                vec![(String::new(), vec![String::new(); self.metrics.len() * 4])]
            } else {
                p.variants
                    .iter()
                    .map(|v| {
                        let cells = self
                            .metrics
                            .iter()
                            .flat_map(|m| match v.metrics.get(&m.name) {
                                Some(s) => {
                                    [num(s.mean), num(s.ci_low), num(s.ci_high), s.n.to_string()]
                                }
                                None => Default::default(),
                            })
                            .collect();
                        (v.variant.clone(), cells)
                    })
                    .collect()
            };
            for (variant, cells) in rows {
                let mut row = lead.clone();
                row.push(variant);
                row.push(p.status.to_string());
                row.push(p.repetitions.len().max(1).to_string());
                row.extend(cells);
                let _ = writeln!(out, "{}", csv_row(&row));
            }
        }
        out
    }
}

fn json(v: &SweepValue) -> serde_json::Value {
    match v {
        SweepValue::String(s) => serde_json::Value::from(s.as_str()),
        SweepValue::Integer(i) => serde_json::Value::from(*i),
        SweepValue::Float(x) => serde_json::Value::from(*x),
        SweepValue::Boolean(b) => serde_json::Value::from(*b),
    }
}

/// A recorded value as plain text (strings without quotes), as in labels and folder names.
pub fn plain_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn csv_row(cells: &[String]) -> String {
    cells
        .iter()
        .map(|c| {
            if c.contains([',', '"', '\n']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> SweepRecord {
        let point = |index: usize, value: &str, x: f64, status: VariantStatus| PointRecord {
            index,
            values: vec![serde_json::Value::from(value)],
            x: vec![x],
            dir: format!("p{}-gossip_interval-{value}", index + 1),
            status: VariantStatus::NotRun,
            error: None,
            nodes: 3,
            repetitions: vec![RepetitionRecord {
                seed: 1,
                dir: format!("p{}-gossip_interval-{value}", index + 1),
                status,
                error: None,
            }],
            variants: Vec::new(),
            theory: Vec::new(),
        };
        let mut r = SweepRecord {
            experiment: "s".into(),
            sweep_id: "20260101T000000Z".into(),
            seed: 1,
            seeds: 1,
            status: RunStatus::Failed,
            parameters: vec![ParameterRecord {
                key: "variants.gossip.gossip_interval".into(),
                path: "variants[1].gossip_interval".into(),
                axis: "duration".into(),
                unit: Some("ms".into()),
                values: vec!["50ms".into(), "1s".into()],
            }],
            metrics: vec![MetricRecord {
                name: "stale_share".into(),
                unit: "share".into(),
                label: "Stale reads".into(),
            }],
            points: vec![
                point(0, "50ms", 50.0, VariantStatus::Ok),
                point(1, "1s", 1000.0, VariantStatus::Failed),
            ],
        };
        r.set_values(0, 0, "gossip", [("stale_share".to_owned(), Some(0.25))]);
        r.set_status(0, 0, VariantStatus::Ok, None);
        r.set_status(1, 0, VariantStatus::Failed, Some("boom".into()));
        r
    }

    #[test]
    fn csv_has_a_row_per_point_and_variant() {
        assert_eq!(
            record().to_csv(),
            "point,variants.gossip.gossip_interval,variant,status,runs,stale_share,\
             stale_share_ci_low,stale_share_ci_high,stale_share_n\n\
             1,50ms,gossip,ok,1,0.25,,,1\n\
             2,1s,,failed,1,,,,\n"
        );
        assert_eq!(
            csv_row(&["a,b".into(), "c\"d".into()]),
            "\"a,b\",\"c\"\"d\""
        );
    }

    #[test]
    fn repetitions_give_a_mean_and_interval_over_the_values_present() {
        let mut r = record();
        r.seeds = 3;
        let p = &mut r.points[0];
        p.repetitions = [1, 2, 3]
            .map(|seed| RepetitionRecord {
                seed,
                dir: format!("p1/r{seed}-seed-{seed}"),
                status: VariantStatus::NotRun,
                error: None,
            })
            .to_vec();
        p.variants.clear();
        for (rep, value) in [(0, Some(0.2)), (1, None), (2, Some(0.4))] {
            r.set_status(0, rep, VariantStatus::Running, None);
            assert_eq!(r.points[0].status, VariantStatus::Running);
            r.set_values(0, rep, "gossip", [("stale_share".to_owned(), value)]);
            r.set_status(0, rep, VariantStatus::Ok, None);
        }
        assert_eq!(r.points[0].status, VariantStatus::Ok);
        let s = r.points[0].stats("gossip", "stale_share").unwrap();
        assert_eq!(s.values, [Some(0.2), None, Some(0.4)]);
        assert_eq!((s.n, s.mean), (2, Some(0.3)));
        // t(0.975, 1) = 12.706, s = 0.1414, half width = 12.706 * 0.1414 / sqrt(2) = 1.2706.
        assert!((s.half_width().unwrap() - 1.2706).abs() < 1e-3, "{s:?}");
        let csv = r.to_csv();
        assert!(
            csv.contains("\n1,50ms,gossip,ok,3,0.3,-0.97062,1.57062,2\n"),
            "{csv}"
        );
        // A failed repetition fails the point and names its seed.
        r.set_status(0, 1, VariantStatus::Failed, Some("boom".into()));
        assert_eq!(r.points[0].status, VariantStatus::Failed);
        assert_eq!(r.points[0].error.as_deref(), Some("seed 2: boom"));
        // Stopped between repetitions: interrupted, not running.
        r.set_status(0, 1, VariantStatus::Ok, None);
        r.set_status(0, 2, VariantStatus::NotRun, None);
        assert_eq!(r.points[0].status, VariantStatus::Running);
        r.interrupt_unfinished();
        assert_eq!(r.points[0].status, VariantStatus::Interrupted);
    }

    #[test]
    fn json_round_trips() {
        let r = record();
        let back: SweepRecord = serde_json::from_slice(&r.to_json().unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!(r.variants(), ["gossip"]);
        assert_eq!(r.points[1].error.as_deref(), Some("boom"));
    }
}
