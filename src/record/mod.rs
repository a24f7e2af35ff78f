//! Running an experiment end to end: record every variant into a run directory, then
//! analyse and report it; for a file with a `[sweep]` section, every point in turn.
//!
//! ```text
//! run_file ─┬─ single run:  RunDir::create → Recorder::start (experiment.toml, schedule.jsonl,
//!           │               run.json `running`) → latest → each variant (run.json updated as
//!           │               it starts and ends) → analyse_and_report
//!           └─ sweep:       sweep::run_sweep: the same per point, inside one sweep directory
//! ```
//!
//! - [`run`]: [`Recorder`](run::Recorder), one run's variants on one shared schedule and
//!   fault plan, and `run.json` (the [`RunManifest`](crate::run_dir::manifest::RunManifest)
//!   the analysis reads back).
//! - [`session`]: the tokio runtime of a run (or of every point of a sweep) and its stop
//!   token.
//! - [`signals`]: Ctrl-C, SIGTERM and SIGHUP: stop the workload while recording, exit
//!   promptly (code 2) otherwise.
//! - [`sweep`]: the sweep loop, `sweep.json`/`sweep.csv`, the sweep report.
//!
//! Everything here is driven by a [`Console`] (where progress lines and bars go) and a stop
//! [`CancellationToken`], so a run or a sweep can be run and interrupted from a test
//! without spawning the binary; the CLI only parses arguments, calls [`run_file`] (or
//! [`analyse_and_report`]) and prints.
//!
//! Deliberately left out: running variants or points in parallel (they would share the
//! machine's cores and disturb each other's timing), and resuming a killed run.

pub mod engines;
pub mod run;
pub mod session;
pub mod signals;
pub mod sweep;

use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use tokio_util::sync::CancellationToken;

use crate::analysis::{AnalysisError, CheckOutcome};
use crate::experiment::{Experiment, ExperimentError, Overrides, Variant};
use crate::report::ReportError;
use crate::run_dir::manifest::{ManifestError, RunStatus};
use crate::run_dir::{RunDir, RunDirError};
use crate::sweep::Plan;

pub use run::{Recorded, Recorder};
pub use session::Session;

/// Where a run's progress goes: the terminal in the CLI, a buffer in tests.
pub trait Console: Sync {
    /// A line of progress (stdout in the CLI).
    fn say(&self, line: &str);
    /// A problem that does not stop the run (stderr in the CLI).
    fn warn(&self, line: &str);
    /// A progress bar over `len` operations of variant `name` (hidden when not a terminal).
    fn progress(&self, _name: &str, _len: u64) -> ProgressBar {
        ProgressBar::hidden()
    }
    /// Recording starts or ends: what Ctrl-C should do changes (see [`signals`]).
    fn phase(&self, _phase: Phase) {}
}

/// What the process is doing, for the handling of signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A workload runs: a signal stops it and keeps what was recorded.
    Recording,
    /// Analysis, charts or report: a signal stops the process.
    Analysing,
}

/// A [`Console`] that keeps every line (tests, tools).
#[derive(Debug, Default)]
pub struct Lines(parking_lot::Mutex<Vec<String>>);

impl Lines {
    pub fn text(&self) -> String {
        self.0.lock().join("\n")
    }
}

impl Console for Lines {
    fn say(&self, line: &str) {
        self.0.lock().push(line.to_string());
    }

    fn warn(&self, line: &str) {
        self.0.lock().push(line.to_string());
    }
}

/// What stops a run before its end (outcomes of operations and variants that failed are
/// recorded, not errors).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The experiment file is invalid (one line per problem).
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    #[error("--variant {name}: no such variant in {file} (variants: {known})")]
    UnknownVariant {
        name: String,
        file: PathBuf,
        known: String,
    },
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the tokio runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("analysing {path}: {source}")]
    Analysis {
        path: PathBuf,
        #[source]
        source: AnalysisError,
    },
    #[error("writing the report of {path}: {source}")]
    Report {
        path: PathBuf,
        #[source]
        source: ReportError,
    },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// Every variant of a sweep point failed.
    #[error("{0}")]
    PointFailed(String),
    #[error(
        "{0} is a run directory: writing the comparison there would overwrite its report; \
         choose another --out"
    )]
    OutIsRunDir(PathBuf),
}

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), RecordError> {
    std::fs::write(path, bytes).map_err(|source| RecordError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// How `caplab run` ended.
#[derive(Debug)]
pub enum Finished {
    Run(RunOutcome),
    Sweep(sweep::SweepOutcome),
}

impl Finished {
    /// The run or sweep directory.
    pub fn dir(&self) -> &Path {
        match self {
            Finished::Run(r) => &r.dir,
            Finished::Sweep(s) => &s.dir,
        }
    }

    /// 0 consistent, 1 anomaly, 2 interrupted, failed, invalid or incomplete.
    pub fn exit_code(&self) -> u8 {
        match self {
            Finished::Run(r) => r.exit_code,
            Finished::Sweep(s) => s.exit_code,
        }
    }
}

/// One recorded (and, unless interrupted or failed, analysed) run.
#[derive(Debug)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub recorded: Recorded,
    /// `None` when the run was interrupted or a variant failed (nothing analysed).
    pub check: Option<Box<CheckOutcome>>,
    pub exit_code: u8,
}

/// Exit code of a run that was interrupted or could not run a variant.
pub const EXIT_HARNESS: u8 = 2;

/// `caplab run FILE`: loads the experiment (or sweep), records it under
/// `<out>/<experiment>/<run-id>/`, analyses and reports it. `only` selects variants by name
/// (all when empty); cancelling `stop` stops the workload and keeps what was recorded.
pub fn run_file(
    file: &Path,
    out: &Path,
    overrides: &Overrides,
    only: &[String],
    console: &dyn Console,
    stop: &CancellationToken,
) -> Result<Finished, RecordError> {
    run_file_repeated(file, out, overrides, None, only, console, stop)
}

/// [`run_file`] with `--seeds`: every point (or a plain file as a sweep of one point)
/// `seeds` times with derived seeds; see `sweep::plan`'s "Repetitions".
pub fn run_file_repeated(
    file: &Path,
    out: &Path,
    overrides: &Overrides,
    seeds: Option<usize>,
    only: &[String],
    console: &dyn Console,
    stop: &CancellationToken,
) -> Result<Finished, RecordError> {
    match crate::sweep::load_repeated(file, overrides, seeds)? {
        Plan::Single(loaded) => {
            check_variant_names(&loaded.experiment, only, file)?;
            run_single(&loaded, out, only, console, stop).map(Finished::Run)
        }
        Plan::Sweep(plan) => {
            check_variant_names(&plan.base.experiment, only, file)?;
            sweep::run_sweep(file, out, &plan, only, console, stop).map(Finished::Sweep)
        }
    }
}

/// One ordinary run: record every selected variant, then analyse and report.
pub fn run_single(
    loaded: &crate::experiment::Loaded,
    out: &Path,
    only: &[String],
    console: &dyn Console,
    stop: &CancellationToken,
) -> Result<RunOutcome, RecordError> {
    let selected = selected_variants(&loaded.experiment, only);
    let dir = RunDir::create(out, &loaded.experiment.name)?;
    let session = Session::start(stop.clone(), loaded.experiment.engine)?;
    console.phase(Phase::Recording);
    let recorded = Recorder::start(loaded, &dir, &selected, console).and_then(|r| {
        dir.point_latest()?;
        r.run(&session, console)
    });
    session.stop();
    console.phase(Phase::Analysing);
    let recorded = recorded?;
    if recorded.status != RunStatus::Ok {
        return Ok(RunOutcome {
            dir: dir.path,
            recorded,
            check: None,
            exit_code: EXIT_HARNESS,
        });
    }
    console.say("");
    let check = analyse_and_report(&dir.path, true, console)?;
    Ok(RunOutcome {
        dir: dir.path,
        recorded,
        exit_code: check.exit_code(),
        check: Some(Box::new(check)),
    })
}

/// Analyses a run (table, `summary.json`, CSVs) and, with `with_report`, writes its charts
/// and reports (`caplab check` and `caplab report`).
pub fn analyse_and_report(
    run_dir: &Path,
    with_report: bool,
    console: &dyn Console,
) -> Result<CheckOutcome, RecordError> {
    let outcome = crate::analysis::check_run(run_dir).map_err(|source| RecordError::Analysis {
        path: run_dir.to_path_buf(),
        source,
    })?;
    console.say(outcome.table.trim_end_matches('\n'));
    console.say(&format!(
        "summary: {}",
        run_dir.join("summary.json").display()
    ));
    if with_report {
        crate::report::report_run(run_dir, &outcome.analysis).map_err(|source| {
            RecordError::Report {
                path: run_dir.to_path_buf(),
                source,
            }
        })?;
        console.say(&format!(
            "charts: {}",
            run_dir.join(crate::report::CHARTS_DIR).display()
        ));
        console.say(&format!(
            "report: {}",
            run_dir.join("report.html").display()
        ));
    }
    Ok(outcome)
}

/// `caplab plot DIR`: redraws the charts of a run (or, in a sweep directory, the sweep
/// charts); returns how many files were written and where.
pub fn plot(dir: &Path) -> Result<(usize, PathBuf), RecordError> {
    let charts = dir.join(crate::report::CHARTS_DIR);
    if dir.join(crate::run_dir::SWEEP_FILE).is_file() {
        return sweep::plot(dir).map(|n| (n, charts));
    }
    let run = analyse(dir)?;
    let report_err = |source| RecordError::Report {
        path: dir.to_path_buf(),
        source,
    };
    let input = crate::report::run_input(&run);
    let rendered = crate::report::render_charts(&input).map_err(report_err)?;
    let files = crate::report::write_charts(dir, &rendered).map_err(report_err)?;
    Ok((files.len(), charts))
}

/// What `caplab compare` wrote.
#[derive(Debug)]
pub struct Compared {
    /// The comparison folder.
    pub dir: PathBuf,
    /// For two runs of one experiment and seed on different engines: whether they agree
    /// (also written to `engines.json` in the folder).
    pub engines: Option<engines::EngineComparison>,
}

/// `caplab compare`: one comparison report of several runs in `out` (default: a new
/// `<results>/compare/<id>/`); never into an existing run directory. Two runs of one
/// experiment and seed on the two engines are also compared metric by metric
/// ([`engines`]).
pub fn compare(
    run_dirs: &[PathBuf],
    out: Option<&Path>,
    results: &Path,
) -> Result<Compared, RecordError> {
    if let Some(o) = out.filter(|o| crate::run_dir::is_run_dir(o)) {
        return Err(RecordError::OutIsRunDir(o.to_path_buf()));
    }
    let runs = run_dirs
        .iter()
        .map(|d| Ok((d.clone(), analyse(d)?)))
        .collect::<Result<Vec<_>, RecordError>>()?;
    let out = match out {
        Some(o) => o.to_path_buf(),
        None => RunDir::create(results, "compare")?.path,
    };
    crate::report::report_compare(&out, &runs).map_err(|source| RecordError::Report {
        path: out.clone(),
        source,
    })?;
    let engines = match runs.as_slice() {
        [(_, a), (_, b)] => engines::compare(&a.summary, &b.summary),
        _ => None,
    };
    if let Some(e) = &engines {
        let path = out.join("engines.json");
        let json = serde_json::to_vec_pretty(e).map_err(|source| RecordError::Json {
            path: path.clone(),
            source,
        })?;
        write_file(&path, &json)?;
    }
    Ok(Compared { dir: out, engines })
}

/// Analyses a run without writing anything.
fn analyse(dir: &Path) -> Result<crate::analysis::RunAnalysis, RecordError> {
    crate::analysis::analyse_run(dir, &Default::default()).map_err(|source| RecordError::Analysis {
        path: dir.to_path_buf(),
        source,
    })
}

/// Checks the `--variant` names against `exp`.
fn check_variant_names(exp: &Experiment, only: &[String], file: &Path) -> Result<(), RecordError> {
    for name in only {
        if !exp.variants.iter().any(|v| &v.name == name) {
            let known: Vec<&str> = exp.variants.iter().map(|v| v.name.as_str()).collect();
            return Err(RecordError::UnknownVariant {
                name: name.clone(),
                file: file.to_path_buf(),
                known: known.join(", "),
            });
        }
    }
    Ok(())
}

/// The variants of `exp` to run: those named in `only`, or all.
fn selected_variants(exp: &Experiment, only: &[String]) -> Vec<Variant> {
    exp.variants
        .iter()
        .filter(|v| only.is_empty() || only.contains(&v.name))
        .cloned()
        .collect()
}

/// `quickstart: 2 DCs, 3 nodes, 2 variants, 1 faults, seed 42`.
pub fn describe_experiment(e: &Experiment) -> String {
    format!(
        "{}: {} DCs, {} nodes, {} variants, {} faults, seed {}",
        e.name,
        e.topology.dcs.len(),
        e.topology.nodes.len(),
        e.variants.len(),
        e.faults.len(),
        e.seed
    )
}

/// An error with its causes, each printed once: `a: b: c`, skipping a cause whose text the
/// message before it already ends with (most errors here quote their source).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}
