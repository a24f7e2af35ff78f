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
//! `sweep.json` is written before the first point (`latest` moves to the sweep directory
//! then) and rewritten as every point starts and ends. A point that fails is recorded as
//! failed and the sweep goes on; a stop (Ctrl-C) stops the running point (keeping what it
//! recorded), skips the rest, and still writes the CSV, charts and report of the points
//! that finished. Exit code: 2 if a point failed or the sweep was interrupted, else the
//! worst of the points' verdicts (1 anomaly, 2 invalid or incomplete), else 0.
//!
//! Deliberately left out: resuming an interrupted sweep, and `caplab report` on a sweep
//! directory (each point's folder can be reported on its own).

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::{
    analyse_and_report, selected_variants, write_file, Console, Phase, RecordError, Recorder,
    Session, EXIT_HARNESS,
};
use crate::analysis::{CheckOutcome, RunAnalysis};
use crate::run_dir::manifest::{RunStatus, VariantStatus};
use crate::run_dir::{RunDir, SWEEP_FILE};
use crate::sweep::record::{plain_json, MAX_COMPARED_REPETITIONS};
use crate::sweep::stats::MetricStats;
use crate::sweep::{Point, Repetition, SweepPlan, SweepRecord};

/// How a sweep ended.
#[derive(Debug)]
pub struct SweepOutcome {
    pub dir: PathBuf,
    /// `sweep.json` as written last.
    pub record: SweepRecord,
    pub exit_code: u8,
}

/// One line about a sweep: `sweep of 5 points: variants.gossip.gossip_interval over 50ms,
/// ...` (and `, 3 seeds each`); `3 runs with seeds derived from 42` for a plain file run
/// with `--seeds`.
pub fn describe(plan: &SweepPlan) -> String {
    if plan.parameters.is_empty() {
        return format!(
            "{} runs with seeds derived from {} (mean and 95% interval of every metric)",
            plan.seeds, plan.base.experiment.seed
        );
    }
    let each = if plan.seeds > 1 {
        format!(", {} seeds each", plan.seeds)
    } else {
        String::new()
    };
    let params: Vec<String> = plan
        .parameters
        .iter()
        .map(|p| {
            let values: Vec<String> = p.values.iter().map(crate::sweep::values::plain).collect();
            format!("{} over {}", p.key, values.join(", "))
        })
        .collect();
    let n = plan.points.len();
    format!(
        "sweep of {n} point{}: {}{each}",
        if n == 1 { "" } else { "s" },
        params.join(" x ")
    )
}

/// Runs every point of `plan` (read from `file`) under `<out>/<experiment>/<sweep-id>/`.
pub fn run_sweep(
    file: &Path,
    out: &Path,
    plan: &SweepPlan,
    only: &[String],
    console: &dyn Console,
    stop: &CancellationToken,
) -> Result<SweepOutcome, RecordError> {
    let dir = RunDir::create(out, &plan.base.experiment.name)?;
    console.say(&describe(plan));
    console.say(&format!("sweep directory: {}", dir.path.display()));
    std::fs::copy(file, dir.path.join("sweep.toml")).map_err(|source| RecordError::Write {
        path: dir.path.join("sweep.toml"),
        source,
    })?;
    let mut record = SweepRecord::new(plan, &dir.id);
    save(&dir.path, &record)?;
    dir.point_latest()?;

    let session = Session::start(stop.clone(), plan.base.experiment.engine)?;
    let mut analysed: Vec<(PathBuf, RunAnalysis)> = Vec::new();
    let mut labels = Vec::new();
    let mut worst = 0u8;
    let compared_per_point = if plan.points.len() == 1 {
        MAX_COMPARED_REPETITIONS
    } else {
        1
    };
    'points: for point in &plan.points {
        let mut compared = 0;
        for rep in &point.repetitions {
            if session.interrupted() {
                break 'points;
            }
            console.say(&format!(
                "\n== {} ==",
                run_heading(plan, point, rep.index, rep.seed)
            ));
            record.set_status(point.index, rep.index, VariantStatus::Running, None);
            save(&dir.path, &record)?;
            match run_point(&session, point, rep, &dir.path, only, console) {
                Ok(PointOutcome::Interrupted) => {
                    record.set_status(point.index, rep.index, VariantStatus::Interrupted, None);
                }
                Ok(PointOutcome::Analysed { check, failed }) => {
                    record.set_metrics(point.index, rep.index, &plan.metrics, &check.analysis);
                    worst = worst.max(check.exit_code());
                    let error = (!failed.is_empty()).then(|| failed.join("; "));
                    let status = match error {
                        None => VariantStatus::Ok,
                        Some(_) => VariantStatus::Failed,
                    };
                    record.set_status(point.index, rep.index, status, error);
                    if compared < compared_per_point {
                        compared += 1;
                        analysed.push((dir.path.join(&rep.dir_name), check.analysis));
                        labels.push(column_label(plan, point, rep.seed));
                    }
                }
                Err(e) => {
                    let e = super::error_chain(&e);
                    console.warn(&format!(
                        "error: {} failed: {e}",
                        run_heading(plan, point, rep.index, rep.seed)
                    ));
                    record.set_status(point.index, rep.index, VariantStatus::Failed, Some(e));
                }
            }
            save(&dir.path, &record)?;
        }
    }
    let interrupted = session.interrupted();
    if interrupted {
        record.interrupt_unfinished();
    }
    session.stop();
    console.phase(Phase::Analysing);

    let failed = record
        .points
        .iter()
        .any(|p| p.status == VariantStatus::Failed);
    record.status = if interrupted {
        RunStatus::Interrupted
    } else if failed {
        RunStatus::Failed
    } else {
        RunStatus::Ok
    };
    save(&dir.path, &record)?;
    write_file(&dir.path.join("sweep.csv"), record.to_csv().as_bytes())?;
    console.say("");
    console.say(metrics_table(&record).trim_end_matches('\n'));
    crate::report::sweep::report_sweep(&dir.path, &record, &analysed, &labels).map_err(
        |source| RecordError::Report {
            path: dir.path.clone(),
            source,
        },
    )?;
    console.say(&format!(
        "charts: {}",
        dir.path.join(crate::report::CHARTS_DIR).display()
    ));
    console.say(&format!(
        "report: {}",
        dir.path.join("report.html").display()
    ));
    Ok(SweepOutcome {
        dir: dir.path,
        record,
        exit_code: if interrupted || failed {
            EXIT_HARNESS
        } else {
            worst
        },
    })
}

enum PointOutcome {
    /// Stopped during the point: recorded, not analysed.
    Interrupted,
    Analysed {
        check: Box<CheckOutcome>,
        /// `<variant>: <error>` per variant that failed (the others were analysed).
        failed: Vec<String>,
    },
}

/// Records and analyses one repetition of a point in `<sweep>/<repetition dir>/`.
fn run_point(
    session: &Session,
    point: &Point,
    rep: &Repetition,
    sweep_dir: &Path,
    only: &[String],
    console: &dyn Console,
) -> Result<PointOutcome, RecordError> {
    let path = sweep_dir.join(&rep.dir_name);
    std::fs::create_dir_all(&path).map_err(|source| RecordError::Write {
        path: path.clone(),
        source,
    })?;
    let dir = RunDir {
        path,
        id: rep
            .dir_name
            .rsplit('/')
            .next()
            .unwrap_or(&rep.dir_name)
            .to_owned(),
    };
    // The point's own variants: their parameters may be what is swept.
    let selected = selected_variants(&point.loaded.experiment, only);
    console.phase(Phase::Recording);
    let recorded = Recorder::start(&rep.loaded, &dir, &selected, console)?.run(session, console);
    console.phase(Phase::Analysing);
    let recorded = recorded?;
    if recorded.status == RunStatus::Interrupted {
        return Ok(PointOutcome::Interrupted);
    }
    if recorded.failed.len() == selected.len() {
        return Err(RecordError::PointFailed(recorded.failed.join("; ")));
    }
    console.say("");
    let check = analyse_and_report(&dir.path, true, console)?;
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

/// `point 2/5: gossip_interval = 100ms`, with `, seed 2/3 (1234)` when points repeat;
/// `run 2/3: seed 1234` for a plain file run with `--seeds`.
fn run_heading(plan: &SweepPlan, point: &Point, rep: usize, seed: u64) -> String {
    if plan.parameters.is_empty() {
        return format!("run {}/{}: seed {seed}", rep + 1, plan.seeds);
    }
    let mut out = format!(
        "point {}/{}: {}",
        point.index + 1,
        plan.points.len(),
        point_label(plan, point)
    );
    if plan.seeds > 1 {
        out.push_str(&format!(", seed {}/{} ({seed})", rep + 1, plan.seeds));
    }
    out
}

/// The comparison report's label of a run: the point's values (`50ms`, or `50ms,2` with
/// two parameters), short enough for chart legends (the report's sweep table says which
/// keys); `seed <seed>` for a plain file run with `--seeds`.
fn column_label(plan: &SweepPlan, point: &Point, seed: u64) -> String {
    if plan.parameters.is_empty() {
        return format!("seed {seed}");
    }
    point
        .values
        .iter()
        .map(crate::sweep::values::plain)
        .collect::<Vec<_>>()
        .join(",")
}

fn save(dir: &Path, record: &SweepRecord) -> Result<(), RecordError> {
    let path = dir.join(SWEEP_FILE);
    let json = record.to_json().map_err(|source| RecordError::Json {
        path: path.clone(),
        source,
    })?;
    // Renamed over the old one: a sweep killed mid-write keeps a whole sweep.json.
    let tmp = dir.join(format!(".{SWEEP_FILE}.tmp"));
    write_file(&tmp, &json)?;
    std::fs::rename(&tmp, &path).map_err(|source| RecordError::Write { path, source })
}

/// Reads `<dir>/sweep.json`.
pub fn read_record(dir: &Path) -> Result<SweepRecord, RecordError> {
    let path = dir.join(SWEEP_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| RecordError::Read {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| RecordError::Json { path, source })
}

/// `caplab plot SWEEP_DIR`: redraws the sweep charts from `sweep.json`; returns how many
/// files were written.
pub fn plot(dir: &Path) -> Result<usize, RecordError> {
    let record = read_record(dir)?;
    let report_err = |source| RecordError::Report {
        path: dir.to_path_buf(),
        source,
    };
    let rendered = crate::report::sweep::render(&record).map_err(report_err)?;
    let charts = dir.join(crate::report::CHARTS_DIR);
    std::fs::create_dir_all(&charts).map_err(|source| RecordError::Write {
        path: charts.clone(),
        source,
    })?;
    for (stem, png, svg) in &rendered {
        write_file(&charts.join(format!("{stem}.png")), png)?;
        write_file(&charts.join(format!("{stem}.svg")), svg.as_bytes())?;
    }
    Ok(rendered.len() * 2)
}

/// The metrics per point and variant, as a terminal table, and a last line with the
/// sweep's status. With repetitions a cell is `mean ±h`, `h` half the 95% interval's width,
/// and `(n=k)` when only k repetitions had a value. A plain file run with `--seeds` gets
/// one row per metric and a column per variant instead.
pub fn metrics_table(record: &SweepRecord) -> String {
    let cell = |s: Option<&MetricStats>, unit: &str, reps: usize| -> String {
        let Some(s) = s else {
            return "-".into();
        };
        let Some(mean) = s.mean else {
            return "-".into();
        };
        let f = |x: f64| match unit {
            "share" => format!("{:.2}%", x * 100.0),
            _ => format!("{x:.2}"),
        };
        let mut out = f(mean);
        if let Some(h) = s.half_width() {
            out.push_str(&format!(" ±{}", f(h)));
        }
        if s.n < reps {
            out.push_str(&format!(" (n={})", s.n));
        }
        out
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    if record.parameters.is_empty() {
        let variants = record.variants();
        let mut header = vec!["metric".to_owned()];
        header.extend(variants.iter().cloned());
        rows.push(header);
        for p in &record.points {
            let reps = p.repetitions.len();
            for m in &record.metrics {
                let mut row = vec![m.name.clone()];
                row.extend(
                    variants
                        .iter()
                        .map(|v| cell(p.stats(v, &m.name), &m.unit, reps)),
                );
                rows.push(row);
            }
        }
    } else {
        let mut header: Vec<String> = record.parameters.iter().map(|p| p.key.clone()).collect();
        header.push("variant".into());
        header.extend(record.metrics.iter().map(|m| m.name.clone()));
        rows.push(header);
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
                    row.push(cell(v.metrics.get(&m.name), &m.unit, p.repetitions.len()));
                }
                rows.push(row);
            }
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
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    if record.seeds > 1 {
        out.push_str(&format!(
            "mean ±half-width of the 95% confidence interval (Student t) over {} seeds\n",
            record.seeds
        ));
    }
    if record.parameters.is_empty() {
        let ok = record
            .points
            .iter()
            .flat_map(|p| &p.repetitions)
            .filter(|r| r.status == VariantStatus::Ok)
            .count();
        out.push_str(&format!(
            "repetitions {}: {ok} of {} runs ok\n",
            record.status, record.seeds
        ));
        return out;
    }
    let ok = record
        .points
        .iter()
        .filter(|p| p.status == VariantStatus::Ok)
        .count();
    out.push_str(&format!(
        "sweep {}: {ok} of {} points ok\n",
        record.status,
        record.points.len()
    ));
    out
}
