//! `caplab run` on a sweep: every point in turn, each an ordinary run directory inside one
//! sweep directory, then `sweep.csv`, the sweep charts and one comparison report.
//!
//! ```text
//! results/<experiment>/<sweep-id>/
//!   sweep.toml          the file as written
//!   sweep.json          parameters, metrics, per point its folder, status and values
//!   sweep.csv           the same numbers, one row per point and variant
//!   p1-<key>-<value>/   one ordinary run per point (experiment.toml, run.json, report...)
//!   charts/             sweep-<metric>.png/.svg and the comparison charts
//!   report.md, report.html
//! ```
//!
//! `sweep.json` is rewritten after every point. A point that fails is recorded as failed
//! and the sweep goes on; Ctrl-C stops the running point (keeping what it recorded), skips
//! the rest, and still writes the CSV, charts and report of the points that finished. Exit
//! code: 2 if a point failed or the sweep was interrupted, else 1 if any point found an
//! anomaly, else 0.
//!
//! `caplab plot SWEEP_DIR` redraws the sweep charts from `sweep.json`.
//!
//! Deliberately left out: resuming an interrupted sweep, and `caplab report` on a sweep
//! directory (each point's folder can be reported on its own).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use super::{
    analyse_and_report, check_variant_names, record_run, selected_variants, write_file, Session,
    EXIT_HARNESS,
};
use crate::analysis::{CheckOutcome, RunAnalysis, Verdict};
use crate::run_dir::RunDir;
use crate::sweep::record::plain_json;
use crate::sweep::{Point, SweepPlan, SweepRecord};

/// One line about a sweep: `sweep of 5 points: variants.gossip.gossip_interval over 50ms, ...`.
pub(super) fn describe(plan: &SweepPlan) -> String {
    let params: Vec<String> = plan
        .parameters
        .iter()
        .map(|p| {
            let values: Vec<String> = p.values.iter().map(crate::sweep::values::plain).collect();
            format!("{} over {}", p.key, values.join(", "))
        })
        .collect();
    format!(
        "sweep of {} points: {}",
        plan.points.len(),
        params.join(" x ")
    )
}

pub(super) fn run(
    file: &Path,
    out: &Path,
    plan: &SweepPlan,
    only: &[String],
) -> anyhow::Result<ExitCode> {
    check_variant_names(&plan.base.experiment, only, file)?;
    let dir = RunDir::create(out, &plan.base.experiment.name)?;
    println!("{}", describe(plan));
    println!("sweep directory: {}", dir.path.display());
    std::fs::copy(file, dir.path.join("sweep.toml"))
        .with_context(|| format!("copying {} into the sweep directory", file.display()))?;
    let mut record = SweepRecord::new(plan, &dir.id);
    save(&dir.path, &record)?;

    let session = Session::start()?;
    let mut analysed: Vec<(PathBuf, RunAnalysis)> = Vec::new();
    let mut labels = Vec::new();
    let mut anomaly = false;
    for point in &plan.points {
        if session.interrupted() {
            break;
        }
        println!(
            "\n== point {}/{}: {} ==",
            point.index + 1,
            plan.points.len(),
            point_label(plan, point)
        );
        match run_point(&session, point, &dir.path, only) {
            Ok(PointOutcome::Interrupted) => {
                record.set_status(point.index, "interrupted", None);
            }
            Ok(PointOutcome::Analysed { check, failed }) => {
                record.set_metrics(point.index, &plan.metrics, &check.analysis);
                anomaly |= check.verdict == Verdict::Anomaly;
                if failed.is_empty() {
                    record.set_status(point.index, "ok", None);
                } else {
                    record.set_status(point.index, "failed", Some(failed.join("; ")));
                }
                analysed.push((dir.path.join(&point.dir_name), check.analysis));
                labels.push(column_label(point));
            }
            Err(e) => {
                eprintln!("error: point {} failed: {e:#}", point.index + 1);
                record.set_status(point.index, "failed", Some(format!("{e:#}")));
            }
        }
        save(&dir.path, &record)?;
    }
    let interrupted = session.interrupted();
    session.stop();

    let failed = record.points.iter().any(|p| p.status == "failed");
    record.status = if interrupted {
        "interrupted"
    } else if failed {
        "failed"
    } else {
        "ok"
    }
    .to_owned();
    save(&dir.path, &record)?;
    write_file(&dir.path.join("sweep.csv"), record.to_csv().as_bytes())?;
    println!();
    print_metrics(&record);
    crate::report::sweep::report_sweep(&dir.path, &record, &analysed, &labels)
        .with_context(|| format!("writing the sweep report into {}", dir.path.display()))?;
    println!(
        "charts: {}",
        dir.path.join(crate::report::CHARTS_DIR).display()
    );
    println!("report: {}", dir.path.join("report.html").display());
    println!("results: {}", dir.path.display());
    let _ = std::io::stdout().flush();
    Ok(ExitCode::from(if interrupted || failed {
        EXIT_HARNESS
    } else if anomaly {
        1
    } else {
        0
    }))
}

enum PointOutcome {
    /// Ctrl-C during the point: recorded, not analysed.
    Interrupted,
    Analysed {
        check: Box<CheckOutcome>,
        /// `<variant>: <error>` per variant that failed (the others were analysed).
        failed: Vec<String>,
    },
}

/// Records and analyses one point in `<sweep>/<point dir>/`.
fn run_point(
    session: &Session,
    point: &Point,
    sweep_dir: &Path,
    only: &[String],
) -> anyhow::Result<PointOutcome> {
    let path = sweep_dir.join(&point.dir_name);
    std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
    let dir = RunDir {
        path,
        id: point.dir_name.clone(),
    };
    // The point's own variants: their parameters may be what is swept.
    let selected = selected_variants(&point.loaded.experiment, only);
    let recorded = record_run(session, &point.loaded, &dir, &selected)?;
    if recorded.interrupted {
        return Ok(PointOutcome::Interrupted);
    }
    if recorded.failed.len() == selected.len() {
        anyhow::bail!("{}", recorded.failed.join("; "));
    }
    println!();
    let check = analyse_and_report(&dir.path, true)?;
    Ok(PointOutcome::Analysed {
        check: Box::new(check),
        failed: recorded.failed,
    })
}

/// `gossip_interval = 50ms, fanout = 2`.
fn point_label(plan: &SweepPlan, point: &Point) -> String {
    plan.parameters
        .iter()
        .zip(&point.values)
        .map(|(p, v)| format!("{} = {}", p.short(), crate::sweep::values::plain(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The comparison report's label of a point: its values (`50ms`, or `50ms,2` with two
/// parameters), short enough for chart legends; the report's sweep table says which keys.
fn column_label(point: &Point) -> String {
    point
        .values
        .iter()
        .map(crate::sweep::values::plain)
        .collect::<Vec<_>>()
        .join(",")
}

/// The sweep's record, in the sweep directory.
pub(super) const RECORD: &str = "sweep.json";

fn save(dir: &Path, record: &SweepRecord) -> anyhow::Result<()> {
    let json = record.to_json().context("serialising sweep.json")?;
    write_file(&dir.join(RECORD), &json)
}

/// `caplab plot SWEEP_DIR`: redraws the sweep charts from `sweep.json`.
pub(super) fn plot(dir: &Path) -> anyhow::Result<()> {
    let path = dir.join(RECORD);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let record: SweepRecord =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let rendered = crate::report::sweep::render(&record)?;
    let charts = dir.join(crate::report::CHARTS_DIR);
    std::fs::create_dir_all(&charts).with_context(|| format!("creating {}", charts.display()))?;
    for (stem, png, svg) in &rendered {
        write_file(&charts.join(format!("{stem}.png")), png)?;
        write_file(&charts.join(format!("{stem}.svg")), svg.as_bytes())?;
    }
    println!("{} sweep charts: {}", rendered.len() * 2, charts.display());
    Ok(())
}

/// The metrics per point and variant, as a terminal table.
fn print_metrics(record: &SweepRecord) {
    let mut header: Vec<String> = record.parameters.iter().map(|p| p.key.clone()).collect();
    header.push("variant".into());
    header.extend(record.metrics.iter().map(|m| m.name.clone()));
    let mut rows = vec![header];
    for p in &record.points {
        let lead: Vec<String> = p.values.iter().map(plain_json).collect();
        if p.variants.is_empty() {
            let mut row = lead.clone();
            row.push(format!("({})", p.status));
            rows.push(row);
        }
        for v in &p.variants {
            let mut row = lead.clone();
            row.push(v.variant.clone());
            for m in &record.metrics {
                row.push(match v.metrics.get(&m.name).copied().flatten() {
                    Some(x) if m.unit == "share" => format!("{:.2}%", x * 100.0),
                    Some(x) => format!("{x:.2}"),
                    None => "-".into(),
                });
            }
            rows.push(row);
        }
    }
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    let ok = record.points.iter().filter(|p| p.status == "ok").count();
    println!(
        "sweep {}: {ok} of {} points ok",
        record.status,
        record.points.len()
    );
}
