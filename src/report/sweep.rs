//! The sweep part of a report: what each sweep chart draws (pure, from `sweep.json`'s
//! record, as a [`SweepChart`] of `sweep_chart`), the section that opens a sweep's comparison report, and writing both.
//!
//! A sweep directory gets `charts/sweep-<metric>.png` and `.svg` per metric, and one
//! comparison report of every analysed point (the usual comparison, see
//! [`super::report_compare_with`]) that starts with the sweep: the points, then each
//! metric's chart and its numbers.
//!
//! With repetitions (`seeds = N`) a line goes through the means, with the 95% band and the
//! single runs, the tables print `mean ± half-interval`, and the comparison shows the first
//! run of each point. A convergence metric against a node count also gets each covered
//! gossip variant's predicted spreading time (`sweep::theory`, computed when the record
//! was made: this module only draws it) and a `<variant> (theory)` column. A plain file
//! run with `--seeds` (no parameters) gets one table of every metric and no charts.
//!
//! Deliberately left out: files other than charts and reports (the CLI reads and writes
//! `sweep.json`).

use std::path::{Path, PathBuf};

#[cfg(test)]
use std::collections::BTreeMap;

use super::charts;
use super::doc::Block;
use super::error::ReportError;
pub use super::sweep_chart::{number_label, SweepChart, SweepLine, TheoryLine, XAxis, LOG_SPAN};
use super::{style, Preface};
use crate::analysis::RunAnalysis;
use crate::run_dir::manifest::VariantStatus;
use crate::sweep::record::{plain_json, MetricRecord, SweepRecord};
use crate::sweep::stats::MetricStats;
use crate::sweep::theory::{self, Prediction};
use crate::sweep::Metric;

/// The chart of `metric` over the record's points.
pub fn chart(record: &SweepRecord, metric: &MetricRecord) -> SweepChart {
    let Some(first) = record.parameters.first() else {
        return SweepChart {
            stem: format!("sweep-{}", metric.name),
            title: metric.label.clone(),
            caption: String::new(),
            x_desc: String::new(),
            y_desc: String::new(),
            x_axis: XAxis::Linear,
            x_range: (0.0, 1.0),
            x_ticks: Vec::new(),
            legend_left: false,
            share: false,
            lines: Vec::new(),
            theory: Vec::new(),
        };
    };
    let short = |key: &str| key.rsplit('.').next().unwrap_or(key).to_owned();
    let second = record.parameters.get(1);
    let xs: Vec<f64> = record
        .points
        .iter()
        .filter_map(|p| p.x.first().copied())
        .collect();
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let (x_axis, x_range) = if first.axis == "category" {
        let names: Vec<String> = first.values.iter().map(plain_json).collect();
        let n = names.len() as f64;
        (XAxis::Categories(names), (-0.5, n - 0.5))
    } else if lo > 0.0 && hi / lo >= LOG_SPAN {
        (XAxis::Log, (lo / 1.25, hi * 1.25))
    } else if lo.is_finite() {
        let pad = if hi > lo {
            (hi - lo) * 0.06
        } else {
            lo.abs().max(1.0) * 0.1
        };
        (XAxis::Linear, (lo - pad, hi + pad))
    } else {
        (XAxis::Linear, (0.0, 1.0))
    };

    // One group of points per value of the second parameter (one group without it).
    let groups: Vec<(Option<String>, Option<&serde_json::Value>)> = match second {
        Some(p) => p
            .values
            .iter()
            .map(|v| {
                (
                    Some(format!("{} = {}", short(&p.key), plain_json(v))),
                    Some(v),
                )
            })
            .collect(),
        None => vec![(None, None)],
    };
    let repeated = record.seeds > 1;
    let mut lines = Vec::new();
    let mut theory = Vec::new();
    for variant in record.variants() {
        for (suffix, value) in &groups {
            let mut pts: Vec<(f64, Option<&MetricStats>, Option<f64>)> = record
                .points
                .iter()
                .filter(|p| value.is_none() || p.values.get(1) == *value)
                .filter_map(|p| {
                    let x = *p.x.first()?;
                    let predicted = p
                        .theory
                        .iter()
                        .find(|t| t.variant == variant)
                        .map(|t| t.convergence_ms);
                    Some((x, p.stats(&variant, &metric.name), predicted))
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            let mut bands: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new()];
            let mut samples = Vec::new();
            for (x, stats, _) in &pts {
                let mean = stats.and_then(|s| s.mean);
                match (mean, segments.last_mut()) {
                    (Some(y), Some(seg)) => seg.push((*x, y)),
                    (None, Some(seg)) if !seg.is_empty() => segments.push(Vec::new()),
                    _ => {}
                }
                // Every metric is at least 0 (and a share at most 1): the band is drawn
                // within those bounds; `sweep.json` keeps the interval as computed.
                let ci = stats.and_then(|s| {
                    let hi = if metric.unit == "share" {
                        s.ci_high?.min(1.0)
                    } else {
                        s.ci_high?
                    };
                    Some((s.ci_low?.max(0.0), hi))
                });
                match (ci, bands.last_mut()) {
                    (Some((lo, hi)), Some(band)) => band.push((*x, lo, hi)),
                    (None, Some(band)) if !band.is_empty() => bands.push(Vec::new()),
                    _ => {}
                }
                if repeated {
                    samples.extend(
                        stats
                            .iter()
                            .flat_map(|s| s.values.iter().flatten().map(|y| (*x, *y))),
                    );
                }
            }
            segments.retain(|s| !s.is_empty());
            bands.retain(|b| !b.is_empty());
            let color = lines.len();
            let label = match suffix {
                Some(s) => format!("{variant}, {s}"),
                None => variant.clone(),
            };
            let predicted: Vec<(f64, f64)> = pts
                .iter()
                .filter_map(|(x, _, t)| Some((*x, (*t)?)))
                .collect();
            if theory_applies(record, metric) && !predicted.is_empty() {
                theory.push(TheoryLine {
                    color,
                    label: theory_label(record, &variant, &label),
                    points: predicted,
                });
            }
            lines.push(SweepLine {
                color,
                label,
                points: pts
                    .iter()
                    .filter_map(|(x, s, _)| Some((*x, (*s)?.mean?)))
                    .collect(),
                segments,
                bands,
                samples,
            });
        }
    }

    let mut x_ticks = xs.clone();
    x_ticks.sort_by(f64::total_cmp);
    x_ticks.dedup();
    // The legend sits in the upper corner over the lower points.
    let highest = |left: bool| {
        let mid = match x_axis {
            XAxis::Log => (lo * hi).sqrt(),
            _ => (x_range.0 + x_range.1) / 2.0,
        };
        lines
            .iter()
            .flat_map(|l| l.points.iter().chain(&l.samples))
            .chain(theory.iter().flat_map(|t| t.points.iter()))
            .filter(|(x, _)| (*x < mid) == left)
            .map(|p| p.1)
            .fold(0.0, f64::max)
    };
    let legend_left = highest(true) < highest(false);
    let share = metric.unit == "share";
    let y_desc = match metric.unit.as_str() {
        "ms" => format!("{} (ms)", metric.label),
        "share" => format!("{} (%)", metric.label),
        _ => metric.label.clone(),
    };
    let mut x_desc = first.key.clone();
    match (&first.unit, &x_axis) {
        (Some(u), XAxis::Log) => x_desc.push_str(&format!(" ({u}, log scale)")),
        (None, XAxis::Log) => x_desc.push_str(" (log scale)"),
        (Some(u), _) => x_desc.push_str(&format!(" ({u})")),
        _ => {}
    }
    let mut caption = match second {
        Some(p) => format!("one line per variant and value of {}", short(&p.key)),
        None => "one line per variant".to_owned(),
    };
    if repeated {
        caption.push_str(&format!(
            "; markers: mean of {} seeds, band: 95% CI (Student t), faint dots: single runs",
            record.seeds
        ));
    } else {
        caption.push_str("; each marker is one run");
    }
    if !theory.is_empty() {
        caption.push_str("; dashed: theory, not fitted");
    }
    SweepChart {
        stem: format!("sweep-{}", metric.name),
        title: format!("{} vs {}", metric.label, short(&first.key)),
        caption,
        x_desc,
        y_desc,
        x_axis,
        x_range,
        x_ticks,
        legend_left,
        share,
        lines,
        theory,
    }
}

/// Whether the chart of `metric` gets theory curves: a convergence metric against a node
/// count (`topology.dcs.<dc>.nodes`).
pub fn theory_applies(record: &SweepRecord, metric: &MetricRecord) -> bool {
    let convergence = matches!(
        Metric::from_name(&metric.name),
        Some(Metric::ConvergenceP50Ms | Metric::ConvergenceP99Ms)
    );
    convergence
        && record
            .parameters
            .first()
            .is_some_and(|p| is_node_count(&p.key))
}

/// `topology.dcs.<dc>.nodes`.
pub fn is_node_count(key: &str) -> bool {
    key.starts_with("topology.dcs.") && key.ends_with(".nodes") && key.split('.').count() == 4
}

/// `gossip theory (push): (log2(n) + ln(n)) × 200 ms, n = all nodes` — exactly what is
/// drawn.
fn theory_label(record: &SweepRecord, variant: &str, line: &str) -> String {
    let preds: Vec<&Prediction> = record
        .points
        .iter()
        .flat_map(|p| &p.theory)
        .filter(|t| t.variant == variant)
        .collect();
    let Some(first) = preds.first() else {
        return format!("{line} theory");
    };
    let interval = if preds.iter().all(|t| t.interval_ms == first.interval_ms) {
        format!("{} ms", style::ms_label(first.interval_ms))
    } else {
        "gossip_interval".to_owned()
    };
    format!(
        "{line} theory ({}): ({}) × {interval}, n = all nodes",
        first.anti_entropy,
        theory::formula(&first.anti_entropy)
    )
}

/// Every sweep chart rendered: `(stem, png, svg)`; none without parameters (a plain file
/// run with `--seeds` has nothing to draw against).
pub fn render(record: &SweepRecord) -> Result<Vec<(String, Vec<u8>, String)>, ReportError> {
    if record.parameters.is_empty() {
        return Ok(Vec::new());
    }
    record
        .metrics
        .iter()
        .map(|m| {
            let c = chart(record, m);
            let err = |message| ReportError::Chart {
                chart: c.stem.clone(),
                message,
            };
            let png = charts::sweep::png(&c).map_err(err)?;
            let svg = charts::sweep::svg(&c).map_err(err)?;
            Ok((c.stem, png, svg))
        })
        .collect()
}

/// A metric's summary as a table cell: the value, or with repetitions `mean ± h` (`h` half
/// the 95% interval) and `(n = k)` when only `k` of `reps` runs had a value.
fn stats_cell(s: Option<&MetricStats>, unit: &str, reps: usize, status: VariantStatus) -> String {
    let Some(mean) = s.and_then(|s| s.mean) else {
        return if status == VariantStatus::Ok {
            "–".to_owned()
        } else {
            status.to_string()
        };
    };
    let mut out = format_value(mean, unit);
    if let Some(h) = s.and_then(MetricStats::half_width) {
        out.push_str(&format!(" ± {}", format_value(h, unit)));
    }
    if let Some(s) = s.filter(|s| s.n < reps) {
        out.push_str(&format!(" (n = {})", s.n));
    }
    out
}

/// The section that opens a sweep's report: the points, then per metric its chart and a
/// table of its values (rows: points, columns: variants, and the theory's prediction
/// where it applies). A plain file run with `--seeds` gets one table of every metric.
pub fn blocks(record: &SweepRecord) -> Vec<Block> {
    let mut out = Vec::new();
    let variants = record.variants();
    if record.parameters.is_empty() {
        out.push(Block::Heading(1, "Repetitions".to_owned()));
        let ok = record
            .points
            .iter()
            .flat_map(|p| &p.repetitions)
            .filter(|r| r.status == VariantStatus::Ok)
            .count();
        let seeds: Vec<String> = record
            .points
            .iter()
            .flat_map(|p| &p.repetitions)
            .map(|r| r.seed.to_string())
            .collect();
        out.push(Block::Para(format!(
            "`{}` was run {} times ({ok} ok), with seed {} and seeds derived from it ({}). \
             Each run is an ordinary run in its own folder. Below, per metric and variant, \
             the mean over the runs ± half the width of its 95% confidence interval \
             (Student t, n − 1 degrees of freedom); the same numbers, with the interval's \
             ends and every run's value, are in `sweep.json` and `sweep.csv`. The rest of \
             this report compares the first {} runs.",
            record.experiment,
            record.seeds,
            record.seed,
            seeds.join(", "),
            crate::sweep::record::MAX_COMPARED_REPETITIONS.min(record.seeds),
        )));
        let mut header = vec!["metric".to_owned()];
        header.extend(variants.iter().cloned());
        let mut rows = Vec::new();
        for p in &record.points {
            for m in &record.metrics {
                let mut row = vec![format!("{} (`{}`)", m.label, m.name)];
                row.extend(variants.iter().map(|v| {
                    stats_cell(p.stats(v, &m.name), &m.unit, p.repetitions.len(), p.status)
                }));
                rows.push(row);
            }
        }
        out.push(Block::Table { header, rows });
        return out;
    }
    out.push(Block::Heading(1, "Sweep".to_owned()));
    let params: Vec<String> = record
        .parameters
        .iter()
        .map(|p| {
            let values: Vec<String> = p.values.iter().map(plain_json).collect();
            format!("`{}` over {}", p.key, values.join(", "))
        })
        .collect();
    let ok = record
        .points
        .iter()
        .filter(|p| p.status == VariantStatus::Ok)
        .count();
    let runs = if record.seeds > 1 {
        format!(
            "{} times per point, with seed {} and seeds derived from it (values below: mean \
             ± half the width of the 95% confidence interval, Student t)",
            record.seeds, record.seed
        )
    } else {
        format!("once per point (seed {})", record.seed)
    };
    out.push(Block::Para(format!(
        "`{}` was run {runs}: {} ({} points, {} ok). Each run is an ordinary run in its own \
         folder; the numbers below are in `sweep.json` and `sweep.csv`, and the rest of this \
         report compares {} analysed point.",
        record.experiment,
        params.join(" and "),
        record.points.len(),
        ok,
        if record.seeds > 1 {
            "the first run of every"
        } else {
            "every"
        }
    )));
    let mut header = vec!["point".to_owned()];
    header.extend(record.parameters.iter().map(|p| format!("`{}`", p.key)));
    header.extend(["status", "folder"].map(String::from));
    let rows = record
        .points
        .iter()
        .map(|p| {
            let mut row = vec![(p.index + 1).to_string()];
            row.extend(p.values.iter().map(plain_json));
            row.push(match &p.error {
                Some(e) => format!("{}: {e}", p.status),
                None => p.status.to_string(),
            });
            row.push(format!("`{}`", p.dir));
            row
        })
        .collect();
    out.push(Block::Table { header, rows });
    for m in &record.metrics {
        let c = chart(record, m);
        let description = Metric::from_name(&m.name).map_or("", Metric::description);
        out.push(Block::Figure {
            stem: c.stem.clone(),
            title: c.title.clone(),
            caption: if c.theory.is_empty() {
                format!("{} ({}): {description}; {}.", m.label, m.name, c.caption)
            } else {
                format!(
                    "{} ({}): {description}; {}: the predicted rounds × gossip_interval named \
                     in the legend, with nothing fitted to the measurements (formulas and \
                     sources in docs/metrics.md).",
                    m.label, m.name, c.caption
                )
            },
        });
        let predicted: Vec<&String> = if theory_applies(record, m) {
            variants
                .iter()
                .filter(|v| {
                    record
                        .points
                        .iter()
                        .any(|p| p.theory.iter().any(|t| &t.variant == *v))
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut header: Vec<String> = record
            .parameters
            .iter()
            .map(|p| format!("`{}`", p.key))
            .collect();
        header.extend(variants.iter().cloned());
        header.extend(predicted.iter().map(|v| format!("{v} (theory)")));
        let rows = record
            .points
            .iter()
            .map(|p| {
                let mut row: Vec<String> = p.values.iter().map(plain_json).collect();
                for v in &variants {
                    row.push(stats_cell(
                        p.stats(v, &m.name),
                        &m.unit,
                        p.repetitions.len(),
                        p.status,
                    ));
                }
                for v in &predicted {
                    row.push(match p.theory.iter().find(|t| &t.variant == *v) {
                        Some(t) => format!(
                            "{} ({:.1} rounds, n = {})",
                            format_value(t.convergence_ms, "ms"),
                            t.rounds,
                            t.nodes
                        ),
                        None => "–".to_owned(),
                    });
                }
                row
            })
            .collect();
        out.push(Block::Table { header, rows });
    }
    out
}

fn format_value(x: f64, unit: &str) -> String {
    match unit {
        "share" => format!("{:.2}%", x * 100.0),
        // `ms_label` writes a second or more as `1.5s`.
        "ms" if x >= 1000.0 => style::ms_label(x),
        "ms" => format!("{} ms", style::ms_label(x)),
        _ => number_label(x),
    }
}

/// The sweep's charts and its comparison report, written into the sweep directory `out`.
/// `runs` are the analysed points with their labels (e.g. `gossip_interval=50ms`).
pub fn report_sweep(
    out: &Path,
    record: &SweepRecord,
    runs: &[(PathBuf, RunAnalysis)],
    labels: &[String],
) -> Result<Vec<PathBuf>, ReportError> {
    let preface = Preface {
        title: format!("caplab sweep: {}", record.experiment),
        blocks: blocks(record),
        charts: render(record)?,
    };
    super::report_compare_with(out, runs, labels, Some(preface))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::record::{ParameterRecord, PointRecord, RepetitionRecord, VariantMetrics};

    fn metric(v: f64) -> BTreeMap<String, MetricStats> {
        [("read_p99_ms".to_owned(), MetricStats::of(vec![Some(v)]))].into()
    }

    fn record(second: bool) -> SweepRecord {
        let mut points = Vec::new();
        let seconds: &[i64] = if second { &[1, 2] } else { &[1] };
        let mut index = 0;
        for (i, ms) in [50.0, 100.0, 800.0].iter().enumerate() {
            for &f in seconds {
                let failed = i == 1 && f == 1;
                points.push(PointRecord {
                    index,
                    values: if second {
                        vec![format!("{ms}ms").into(), f.into()]
                    } else {
                        vec![format!("{ms}ms").into()]
                    },
                    x: vec![*ms],
                    dir: format!("p{index}"),
                    status: if failed {
                        crate::run_dir::manifest::VariantStatus::Failed
                    } else {
                        crate::run_dir::manifest::VariantStatus::Ok
                    },
                    error: None,
                    nodes: 3,
                    repetitions: vec![RepetitionRecord {
                        seed: 1,
                        dir: format!("p{index}"),
                        status: crate::run_dir::manifest::VariantStatus::Ok,
                        error: None,
                    }],
                    theory: Vec::new(),
                    variants: if failed {
                        Vec::new()
                    } else {
                        vec![
                            VariantMetrics {
                                variant: "raft".into(),
                                metrics: metric(100.0),
                            },
                            VariantMetrics {
                                variant: "gossip".into(),
                                metrics: metric(ms / 10.0 * f as f64),
                            },
                        ]
                    },
                });
                index += 1;
            }
        }
        let mut parameters = vec![ParameterRecord {
            key: "variants.gossip.gossip_interval".into(),
            path: "variants[1].gossip_interval".into(),
            axis: "duration".into(),
            unit: Some("ms".into()),
            values: vec!["50ms".into(), "100ms".into(), "800ms".into()],
        }];
        if second {
            parameters.push(ParameterRecord {
                key: "variants.gossip.fanout".into(),
                path: "variants[1].fanout".into(),
                axis: "number".into(),
                unit: None,
                values: vec![1.into(), 2.into()],
            });
        }
        SweepRecord {
            experiment: "s".into(),
            sweep_id: "x".into(),
            seed: 1,
            seeds: 1,
            status: crate::run_dir::manifest::RunStatus::Failed,
            parameters,
            metrics: vec![MetricRecord {
                name: "read_p99_ms".into(),
                unit: "ms".into(),
                label: "Read latency p99".into(),
            }],
            points,
        }
    }

    /// A sweep over node counts with three seeds per point, a gossip variant the theory
    /// covers, and one repetition without a value.
    fn repeated_over_nodes() -> SweepRecord {
        let mut r = record(false);
        r.seeds = 3;
        r.parameters[0] = ParameterRecord {
            key: "topology.dcs.eu.nodes".into(),
            path: "topology.dcs.eu.nodes".into(),
            axis: "number".into(),
            unit: None,
            values: vec![16.into(), 32.into(), 64.into()],
        };
        r.metrics[0] = MetricRecord {
            name: "convergence_p50_ms".into(),
            unit: "ms".into(),
            label: "Convergence lag p50".into(),
        };
        for (i, p) in r.points.iter_mut().enumerate() {
            let n = 16 << i;
            p.x = vec![n as f64];
            p.values = vec![n.into()];
            p.nodes = n;
            p.status = crate::run_dir::manifest::VariantStatus::NotRun;
            p.variants.clear();
            p.repetitions = (0..3)
                .map(|k| RepetitionRecord {
                    seed: k,
                    dir: format!("p{i}/r{k}"),
                    status: crate::run_dir::manifest::VariantStatus::NotRun,
                    error: None,
                })
                .collect();
            p.theory = vec![Prediction {
                variant: "gossip".into(),
                anti_entropy: "push".into(),
                nodes: n,
                rounds: crate::sweep::theory::rounds(n, crate::experiment::AntiEntropy::Push)
                    .unwrap(),
                interval_ms: 100.0,
                convergence_ms: 100.0
                    * crate::sweep::theory::rounds(n, crate::experiment::AntiEntropy::Push)
                        .unwrap(),
            }];
        }
        for point in 0..3 {
            for rep in 0..3 {
                let base = 500.0 * (point + 1) as f64;
                let gossip = (point != 1 || rep != 2).then_some(base + 10.0 * rep as f64);
                r.set_values(
                    point,
                    rep,
                    "gossip",
                    [("convergence_p50_ms".into(), gossip)],
                );
                r.set_values(
                    point,
                    rep,
                    "raft",
                    [("convergence_p50_ms".into(), Some(5.0))],
                );
                r.set_status(
                    point,
                    rep,
                    crate::run_dir::manifest::VariantStatus::Ok,
                    None,
                );
            }
        }
        r
    }

    #[test]
    fn repetitions_draw_a_mean_a_band_and_every_run() {
        let r = repeated_over_nodes();
        let c = chart(&r, &r.metrics[0]);
        let gossip = c.lines.iter().find(|l| l.label == "gossip").unwrap();
        assert_eq!(
            gossip.points,
            [(16.0, 510.0), (32.0, 1005.0), (64.0, 1510.0)]
        );
        assert_eq!(gossip.samples.len(), 8, "{:?}", gossip.samples);
        assert_eq!(gossip.bands.len(), 1);
        let (x, lo, hi) = gossip.bands[0][0];
        // 500, 510, 520: s = 10, half width = 4.303 * 10 / sqrt(3) = 24.84.
        assert_eq!(x, 16.0);
        assert!((hi - lo - 2.0 * 24.843).abs() < 0.01, "{lo} {hi}");
        assert!(c.caption.contains("mean of 3 seeds"), "{}", c.caption);
        assert!(c.top() >= hi);
        // Raft's runs agree exactly: a zero-width band.
        let raft = c.lines.iter().find(|l| l.label == "raft").unwrap();
        assert!(raft.bands[0].iter().all(|b| b.1 == b.2));
    }

    #[test]
    fn convergence_against_nodes_gets_the_gossip_theory_curve() {
        let r = repeated_over_nodes();
        let c = chart(&r, &r.metrics[0]);
        assert_eq!(c.theory.len(), 1);
        let t = &c.theory[0];
        assert_eq!(
            t.label,
            "gossip theory (push): (log2(n) + ln(n)) × 100 ms, n = all nodes"
        );
        assert!((t.points[0].1 - 100.0 * (4.0 + 16f64.ln())).abs() < 1e-6);
        assert_eq!(
            t.color,
            c.lines.iter().position(|l| l.label == "gossip").unwrap()
        );
        assert!(c.caption.contains("not fitted"), "{}", c.caption);
        // The report's table prints the prediction beside the measurement.
        let b = blocks(&r);
        let Some(Block::Table { header, rows }) = b.last() else {
            panic!("no table")
        };
        assert_eq!(header.last().unwrap(), "gossip (theory)");
        assert!(rows[0][1].starts_with("510 ms ± "), "{rows:?}");
        assert!(rows[1][1].ends_with("(n = 2)"), "{rows:?}");
        assert_eq!(rows[0][3], "677 ms (6.8 rounds, n = 16)");
        assert_eq!(rows[2][1], "1.5s ± 25 ms");
        // Not on other metrics, nor against other parameters.
        let mut other = r.clone();
        other.metrics[0].name = "read_p99_ms".into();
        assert!(chart(&other, &other.metrics[0]).theory.is_empty());
        other = r.clone();
        other.parameters[0].key = "workload.users".into();
        assert!(chart(&other, &other.metrics[0]).theory.is_empty());
        assert!(is_node_count("topology.dcs.asia.nodes"));
        assert!(!is_node_count("topology.dcs.nodes"));
        let rendered = render(&r).unwrap();
        assert!(rendered[0].2.contains("gossip theory (push)"));
    }

    #[test]
    fn one_line_per_variant_with_a_gap_at_the_failed_point() {
        let r = record(false);
        let c = chart(&r, &r.metrics[0]);
        assert_eq!(c.x_axis, XAxis::Log);
        assert_eq!(c.x_desc, "variants.gossip.gossip_interval (ms, log scale)");
        assert_eq!(c.y_desc, "Read latency p99 (ms)");
        assert_eq!(c.title, "Read latency p99 vs gossip_interval");
        let labels: Vec<&str> = c.lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["raft", "gossip"]);
        assert_eq!(c.lines[1].points, [(50.0, 5.0), (800.0, 80.0)]);
        assert_eq!(c.lines[1].segments.len(), 2);
    }

    #[test]
    fn two_parameters_give_a_line_per_variant_and_second_value() {
        let r = record(true);
        let c = chart(&r, &r.metrics[0]);
        let labels: Vec<&str> = c.lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "raft, fanout = 1",
                "raft, fanout = 2",
                "gossip, fanout = 1",
                "gossip, fanout = 2"
            ]
        );
        assert_eq!(
            c.lines[3].points,
            [(50.0, 10.0), (100.0, 20.0), (800.0, 160.0)]
        );
        assert_eq!(c.lines[3].segments.len(), 1);
        let colors: Vec<usize> = c.lines.iter().map(|l| l.color).collect();
        assert_eq!(colors, [0, 1, 2, 3]);
    }

    #[test]
    fn categories_are_labelled_by_value() {
        let mut r = record(false);
        r.parameters[0].axis = "category".into();
        r.parameters[0].values = vec!["push".into(), "pull".into(), "push-pull".into()];
        for (i, p) in r.points.iter_mut().enumerate() {
            p.x = vec![i as f64];
        }
        let c = chart(&r, &r.metrics[0]);
        assert_eq!(c.x_range, (-0.5, 2.5));
        assert_eq!(c.x_label(1.0), "pull");
        assert_eq!(c.x_label(0.5), "");
        assert_eq!(number_label(0.25), "0.25");
        assert_eq!(number_label(200.0), "200");
    }

    #[test]
    fn charts_render_and_the_section_has_a_table_per_metric() {
        let r = record(true);
        let rendered = render(&r).unwrap();
        assert_eq!(rendered.len(), 1);
        assert!(rendered[0].1.starts_with(b"\x89PNG"));
        assert!(rendered[0].2.contains("gossip, fanout = 2"));
        let b = blocks(&r);
        let tables = b
            .iter()
            .filter(|b| matches!(b, Block::Table { .. }))
            .count();
        assert_eq!(tables, 2);
    }
}
