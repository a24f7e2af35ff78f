//! The chart and report stage: from analysed runs to PNG and SVG charts, `report.html`
//! (one self-contained file) and `report.md`.
//!
//! Everything here is drawn from a [`RunAnalysis`], which is computed from the files a run
//! wrote, so `caplab plot` and `caplab report` redo the charts and reports of any run
//! without re-running it, and `caplab compare` puts several runs into one report.
//!
//! # Layout
//!
//! - [`data`]: the compared columns and the numbers each chart draws (pure);
//! - [`style`]: bundled font, palette, fault bands;
//! - [`charts`]: the charts, for PNG and SVG;
//! - [`doc`]: a report as data, rendered to Markdown and HTML;
//! - [`content`]: what the report says, written from the numbers;
//! - [`raft`]: the Raft model's bound, leader timeline and failovers beside the measurement;
//! - [`sweep`]: the charts and the opening section of a sweep's report ([`sweep_chart`]:
//!   what one sweep chart draws).
//!
//! Deliberately left out: interactive charts and anything that needs the network to view.

pub mod charts;
pub mod content;
pub mod data;
pub mod doc;
pub mod error;
pub mod raft;
pub mod style;
pub mod sweep;
pub mod sweep_chart;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use charts::Chart;
pub use content::RunRef;
pub use data::{Column, Input};
pub use error::ReportError;

use crate::analysis::RunAnalysis;

/// Folder of the charts, inside the run (or comparison) directory.
pub const CHARTS_DIR: &str = "charts";

/// The columns of one run: its analysed variants, in run order.
pub fn run_input(run: &RunAnalysis) -> Input<'_> {
    compare_input(&[("", run)])
}

/// The columns of several runs: `<label>/<variant>` (just `<variant>` for an empty label),
/// coloured in order.
pub fn compare_input<'a>(runs: &[(&str, &'a RunAnalysis)]) -> Input<'a> {
    let mut columns = Vec::new();
    for (label, run) in runs {
        for (name, v) in &run.variants {
            columns.push(Column {
                label: if label.is_empty() {
                    name.clone()
                } else {
                    format!("{label}/{name}")
                },
                variant: name.clone(),
                color: columns.len(),
                analysis: v,
                experiment: &run.experiment,
                bands: data::bands_of(v),
            });
        }
    }
    Input {
        columns,
        duration_s: runs
            .iter()
            .map(|(_, r)| r.experiment.duration.as_secs_f64())
            .fold(0.0, f64::max),
    }
}

/// Every chart, rendered: `(chart, png, svg)`.
pub type Rendered = Vec<(Chart, Vec<u8>, String)>;

/// Renders every chart in memory.
pub fn render_charts(input: &Input) -> Result<Rendered, ReportError> {
    Chart::ALL
        .iter()
        .map(|&chart| {
            let err = |message| ReportError::Chart {
                chart: chart.file_stem().to_string(),
                message,
            };
            let png = charts::png(chart, input).map_err(err)?;
            let svg = charts::svg(chart, input).map_err(err)?;
            Ok((chart, png, svg))
        })
        .collect()
}

fn write(path: PathBuf, bytes: &[u8], files: &mut Vec<PathBuf>) -> Result<(), ReportError> {
    std::fs::write(&path, bytes).map_err(|source| ReportError::Write {
        path: path.clone(),
        source,
    })?;
    files.push(path);
    Ok(())
}

/// Writes every chart as `<dir>/charts/<chart>.png` and `.svg`; returns the files.
pub fn write_charts(dir: &Path, rendered: &Rendered) -> Result<Vec<PathBuf>, ReportError> {
    let charts = dir.join(CHARTS_DIR);
    std::fs::create_dir_all(&charts).map_err(|source| ReportError::Write {
        path: charts.clone(),
        source,
    })?;
    let mut files = Vec::new();
    for (chart, png, svg) in rendered {
        write(
            charts.join(format!("{}.png", chart.file_stem())),
            png,
            &mut files,
        )?;
        write(
            charts.join(format!("{}.svg", chart.file_stem())),
            svg.as_bytes(),
            &mut files,
        )?;
    }
    Ok(files)
}

/// Writes `<dir>/report.md` and `<dir>/report.html` for `doc`; returns the files.
pub fn write_report(
    dir: &Path,
    doc: &doc::Doc,
    rendered: &Rendered,
) -> Result<Vec<PathBuf>, ReportError> {
    let png: BTreeMap<String, Vec<u8>> = rendered
        .iter()
        .map(|(c, png, _)| (c.file_stem().to_string(), png.clone()))
        .collect();
    write_report_with(dir, doc, &png)
}

/// [`write_report`] with the PNG of every figure by file stem.
fn write_report_with(
    dir: &Path,
    doc: &doc::Doc,
    png: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    write(
        dir.join("report.md"),
        doc::markdown(doc, CHARTS_DIR).as_bytes(),
        &mut files,
    )?;
    write(
        dir.join("report.html"),
        doc::html(doc, png).as_bytes(),
        &mut files,
    )?;
    Ok(files)
}

/// Charts and both reports of one run, written into `run_dir`.
pub fn report_run(run_dir: &Path, run: &RunAnalysis) -> Result<Vec<PathBuf>, ReportError> {
    let input = run_input(run);
    let rendered = render_charts(&input)?;
    let dir = run_dir.display().to_string();
    let doc = content::run_report(
        RunRef {
            dir: &dir,
            analysis: run,
        },
        &input,
    );
    let mut files = write_charts(run_dir, &rendered)?;
    files.extend(write_report(run_dir, &doc, &rendered)?);
    Ok(files)
}

/// What a comparison report opens with (a sweep's section, say): its title, blocks placed
/// before the comparison, and the extra charts those blocks show, `(stem, png, svg)`.
#[derive(Debug, Clone, Default)]
pub struct Preface {
    pub title: String,
    pub blocks: Vec<doc::Block>,
    pub charts: Vec<(String, Vec<u8>, String)>,
}

/// One comparison report of several runs, written into `out`. Each run is labelled with
/// its experiment name, or `<experiment>@<run-id>` when two runs share an experiment.
pub fn report_compare(
    out: &Path,
    runs: &[(PathBuf, RunAnalysis)],
) -> Result<Vec<PathBuf>, ReportError> {
    let labels: Vec<String> = runs
        .iter()
        .map(|(_, r)| {
            let name = &r.summary.experiment;
            let shared = runs
                .iter()
                .filter(|(_, o)| &o.summary.experiment == name)
                .count()
                > 1;
            if shared {
                format!("{name}@{}", r.summary.run_id)
            } else {
                name.clone()
            }
        })
        .collect();
    report_compare_with(out, runs, &labels, None)
}

/// [`report_compare`] with a label per run and an optional [`Preface`].
pub fn report_compare_with(
    out: &Path,
    runs: &[(PathBuf, RunAnalysis)],
    labels: &[String],
    preface: Option<Preface>,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(out).map_err(|source| ReportError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let pairs: Vec<(&str, &RunAnalysis)> = labels
        .iter()
        .zip(runs)
        .map(|(l, (_, r))| (l.as_str(), r))
        .collect();
    let input = compare_input(&pairs);
    let rendered = render_charts(&input)?;
    let dirs: Vec<String> = runs.iter().map(|(d, _)| d.display().to_string()).collect();
    let refs: Vec<RunRef> = dirs
        .iter()
        .zip(runs)
        .map(|(d, (_, r))| RunRef {
            dir: d,
            analysis: r,
        })
        .collect();
    let mut doc = content::compare_report(&refs, &input);
    let mut files = write_charts(out, &rendered)?;
    let mut png: BTreeMap<String, Vec<u8>> = rendered
        .iter()
        .map(|(c, png, _)| (c.file_stem().to_string(), png.clone()))
        .collect();
    if let Some(preface) = preface {
        doc.title = preface.title;
        doc.blocks.splice(0..0, preface.blocks);
        let charts = out.join(CHARTS_DIR);
        for (stem, p, svg) in preface.charts {
            write(charts.join(format!("{stem}.png")), &p, &mut files)?;
            write(
                charts.join(format!("{stem}.svg")),
                svg.as_bytes(),
                &mut files,
            )?;
            png.insert(stem, p);
        }
    }
    files.extend(write_report_with(out, &doc, &png)?);
    Ok(files)
}
