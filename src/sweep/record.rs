//! What a sweep recorded: `sweep.json` (parameters, metrics, and per point its folder,
//! status and metric values per variant) and the same numbers flat in `sweep.csv`.
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
use super::values::Axis;
use crate::analysis::RunAnalysis;
use crate::experiment::raw::SweepValue;
use crate::run_dir::manifest::{RunStatus, VariantStatus};

/// `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    pub experiment: String,
    /// The sweep directory's id (its UTC start time).
    pub sweep_id: String,
    /// Seed of every point (unless `seed` is swept).
    pub seed: u64,
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
    /// `not-run`, `running`, `ok`, `failed` or `interrupted` (a point is one run; its
    /// status reads like a variant's in `run.json`).
    pub status: VariantStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// Per analysed variant, in run order: metric name -> value (`null`: nothing to
    /// measure).
    pub variants: Vec<VariantMetrics>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantMetrics {
    pub variant: String,
    pub metrics: BTreeMap<String, Option<f64>>,
}

impl SweepRecord {
    /// A fresh record: every point `not-run`.
    pub fn new(plan: &SweepPlan, sweep_id: &str) -> SweepRecord {
        SweepRecord {
            experiment: plan.base.experiment.name.clone(),
            sweep_id: sweep_id.to_owned(),
            seed: plan.base.experiment.seed,
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
                    variants: Vec::new(),
                })
                .collect(),
        }
    }

    /// Records the metrics of an analysed point.
    pub fn set_metrics(&mut self, point: usize, metrics: &[Metric], run: &RunAnalysis) {
        if let Some(p) = self.points.get_mut(point) {
            p.variants = run
                .variants
                .iter()
                .map(|(name, v)| VariantMetrics {
                    variant: name.clone(),
                    metrics: metrics
                        .iter()
                        .map(|m| (m.name().to_owned(), m.value(&v.summary).map(round6)))
                        .collect(),
                })
                .collect();
        }
    }

    /// Sets a point's status (and error).
    pub fn set_status(&mut self, point: usize, status: VariantStatus, error: Option<String>) {
        if let Some(p) = self.points.get_mut(point) {
            p.status = status;
            p.error = error;
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
    /// that has no analysed variant): `point,<key>...,variant,status,<metric>...`.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let mut header = vec!["point".to_owned()];
        header.extend(self.parameters.iter().map(|p| p.key.clone()));
        header.extend(["variant", "status"].map(String::from));
        header.extend(self.metrics.iter().map(|m| m.name.clone()));
        let _ = writeln!(out, "{}", csv_row(&header));
        for p in &self.points {
            let mut lead = vec![(p.index + 1).to_string()];
            lead.extend(p.values.iter().map(plain_json));
            let rows: Vec<(String, Vec<String>)> = if p.variants.is_empty() {
                vec![(String::new(), vec![String::new(); self.metrics.len()])]
            } else {
                p.variants
                    .iter()
                    .map(|v| {
                        let cells = self
                            .metrics
                            .iter()
                            .map(|m| {
                                v.metrics
                                    .get(&m.name)
                                    .copied()
                                    .flatten()
                                    .map_or_else(String::new, |x| x.to_string())
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
        let point =
            |index: usize, value: &str, x: f64, status: VariantStatus, stale: Option<f64>| {
                PointRecord {
                    index,
                    values: vec![serde_json::Value::from(value)],
                    x: vec![x],
                    dir: format!("p{}-gossip_interval-{value}", index + 1),
                    status,
                    error: None,
                    variants: if status == VariantStatus::Ok {
                        vec![VariantMetrics {
                            variant: "gossip".into(),
                            metrics: [("stale_share".to_owned(), stale)].into(),
                        }]
                    } else {
                        Vec::new()
                    },
                }
            };
        SweepRecord {
            experiment: "s".into(),
            sweep_id: "20260101T000000Z".into(),
            seed: 1,
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
                point(0, "50ms", 50.0, VariantStatus::Ok, Some(0.25)),
                point(1, "1s", 1000.0, VariantStatus::Failed, None),
            ],
        }
    }

    #[test]
    fn csv_has_a_row_per_point_and_variant() {
        assert_eq!(
            record().to_csv(),
            "point,variants.gossip.gossip_interval,variant,status,stale_share\n\
             1,50ms,gossip,ok,0.25\n\
             2,1s,,failed,\n"
        );
        assert_eq!(
            csv_row(&["a,b".into(), "c\"d".into()]),
            "\"a,b\",\"c\"\"d\""
        );
    }

    #[test]
    fn json_round_trips() {
        let r = record();
        let back: SweepRecord = serde_json::from_slice(&r.to_json().unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!(r.variants(), ["gossip"]);
    }
}
