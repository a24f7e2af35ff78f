//! The sweep part of a report: what each sweep chart draws (pure, from `sweep.json`'s
//! record, as a [`SweepChart`] of `sweep_chart`), the section that opens a sweep's comparison report, and writing both.
//!
//! A sweep directory gets `charts/sweep-<metric>.png` and `.svg` per metric, and one
//! comparison report of every analysed point (the usual comparison, see
//! [`super::report_compare_with`]) that starts with the sweep: the points, then each
//! metric's chart and its numbers.
//!
//! Deliberately left out: files other than charts and reports (the CLI reads and writes
//! `sweep.json`).

use std::path::{Path, PathBuf};

use super::charts;
use super::doc::Block;
use super::error::ReportError;
pub use super::sweep_chart::{number_label, SweepChart, SweepLine, XAxis, LOG_SPAN};
use super::{style, Preface};
use crate::analysis::RunAnalysis;
use crate::sweep::record::{plain_json, MetricRecord, SweepRecord};
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
    let mut lines = Vec::new();
    for variant in record.variants() {
        for (suffix, value) in &groups {
            let mut pts: Vec<(f64, Option<f64>)> = record
                .points
                .iter()
                .filter(|p| value.is_none() || p.values.get(1) == *value)
                .filter_map(|p| {
                    let x = *p.x.first()?;
                    let y = p
                        .variants
                        .iter()
                        .find(|v| v.variant == variant)
                        .and_then(|v| v.metrics.get(&metric.name).copied().flatten());
                    Some((x, y))
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for (x, y) in &pts {
                match (y, segments.last_mut()) {
                    (Some(y), Some(seg)) => seg.push((*x, *y)),
                    (None, Some(seg)) if !seg.is_empty() => segments.push(Vec::new()),
                    _ => {}
                }
            }
            segments.retain(|s| !s.is_empty());
            lines.push(SweepLine {
                color: lines.len(),
                label: match suffix {
                    Some(s) => format!("{variant}, {s}"),
                    None => variant.clone(),
                },
                points: pts.iter().filter_map(|(x, y)| Some((*x, (*y)?))).collect(),
                segments,
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
            .flat_map(|l| l.points.iter())
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
    let caption = match second {
        Some(p) => format!(
            "one line per variant and value of {}; each marker is one run",
            short(&p.key)
        ),
        None => "one line per variant; each marker is one run".to_owned(),
    };
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
    }
}

/// Every sweep chart rendered: `(stem, png, svg)`.
pub fn render(record: &SweepRecord) -> Result<Vec<(String, Vec<u8>, String)>, ReportError> {
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

/// The section that opens a sweep's report: the points, then per metric its chart and a
/// table of its values (rows: points, columns: variants).
pub fn blocks(record: &SweepRecord) -> Vec<Block> {
    let mut out = Vec::new();
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
        .filter(|p| p.status == crate::run_dir::manifest::VariantStatus::Ok)
        .count();
    out.push(Block::Para(format!(
        "`{}` was run once per point: {} ({} points, {} ok; seed {}). Each point is an \
         ordinary run in its own folder; the numbers below are in `sweep.json` and \
         `sweep.csv`, and the rest of this report compares every analysed point.",
        record.experiment,
        params.join(" and "),
        record.points.len(),
        ok,
        record.seed
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
    let variants = record.variants();
    for m in &record.metrics {
        let c = chart(record, m);
        let description = Metric::from_name(&m.name).map_or("", Metric::description);
        out.push(Block::Figure {
            stem: c.stem.clone(),
            title: c.title.clone(),
            caption: format!("{} ({}): {description}; {}.", m.label, m.name, c.caption),
        });
        let mut header: Vec<String> = record
            .parameters
            .iter()
            .map(|p| format!("`{}`", p.key))
            .collect();
        header.extend(variants.iter().cloned());
        let rows = record
            .points
            .iter()
            .map(|p| {
                let mut row: Vec<String> = p.values.iter().map(plain_json).collect();
                for v in &variants {
                    let value = p
                        .variants
                        .iter()
                        .find(|x| &x.variant == v)
                        .and_then(|x| x.metrics.get(&m.name).copied().flatten());
                    row.push(match value {
                        Some(x) => format_value(x, &m.unit),
                        None if p.status == crate::run_dir::manifest::VariantStatus::Ok => {
                            "–".to_owned()
                        }
                        None => p.status.to_string(),
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
    use crate::sweep::record::{ParameterRecord, PointRecord, VariantMetrics};

    fn record(second: bool) -> SweepRecord {
        let metric = |v: f64| [("read_p99_ms".to_owned(), Some(v))].into();
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
