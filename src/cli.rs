//! The `caplab` command line.
//!
//! Parse arguments (clap), build validated objects, then act. Exit codes:
//! `0` everything ran and was consistent, `1` an anomaly was found (used by the checks),
//! `2` a usage error, an invalid experiment file or a harness failure. Errors print their
//! whole cause chain to stderr.
//!
//! `caplab run` on a file with a `[sweep]` section runs every point (see `cli/sweep.rs`).
//!
//! Deliberately left out: clap types below this module; domain code receives paths,
//! durations and validated experiments.

mod sweep;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use serde::Serialize;

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::experiment::{self, Experiment, Overrides, Variant};
use crate::run_dir::RunDir;
use crate::runner::{self, VariantOutcome, VariantPlan};
use crate::sweep::Plan;
use crate::workload::Schedule;

/// Exit code: a usage error, an invalid experiment, or a harness failure.
pub const EXIT_HARNESS: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "caplab",
    version,
    about = "Measure what strong and eventual consistency mean for users: Raft vs gossip \
             on a simulated WAN over loopback TCP",
    after_help = "Exit codes: 0 ok, 1 anomaly found, 2 usage, experiment or harness error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check experiment files without running them.
    Validate {
        /// Experiment files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run an experiment: every variant, one after another, on the same schedule.
    Run {
        /// Experiment file (TOML).
        file: PathBuf,
        /// Results root; the run goes to <OUT>/<experiment>/<run-id>/.
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Override the experiment's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Override the measured duration (e.g. 10s, 1m).
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Option<Duration>,
        /// Run only this variant (repeatable).
        #[arg(long = "variant", value_name = "NAME")]
        variants: Vec<String>,
    },
    /// Analyse a finished run: writes summary.json and CSVs, prints the comparison table;
    /// exit 0 if every variant met the consistency it claims, 1 if an anomaly was found.
    Check {
        /// A run directory, e.g. results/dc-partition/latest.
        run_dir: PathBuf,
    },
    /// Redraw the charts of a finished run into <RUN_DIR>/charts (PNG and SVG); in a sweep
    /// directory, the sweep charts from sweep.json.
    Plot {
        /// A run directory, e.g. results/dc-partition/latest.
        run_dir: PathBuf,
    },
    /// Re-analyse a finished run and write summary.json, CSVs, charts, report.html and
    /// report.md; exit code as for `check`.
    Report {
        /// A run directory, e.g. results/dc-partition/latest.
        run_dir: PathBuf,
    },
    /// Put several runs into one comparison report (same table, overlaid charts).
    Compare {
        /// Run directories.
        #[arg(required = true, num_args = 2..)]
        run_dirs: Vec<PathBuf>,
        /// Output folder [default: <results>/compare/<timestamp>/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Results root for the default output folder.
        #[arg(long, default_value = "results")]
        results: PathBuf,
    },
    /// Write a commented starter experiment to <DIR>/<NAME>.toml.
    Init {
        /// Experiment name (kebab-case).
        name: String,
        /// Folder to write it to.
        #[arg(long, default_value = "experiments")]
        dir: PathBuf,
    },
    /// List the experiments in a folder and the recent runs under a results root.
    List {
        /// Folder of experiment files.
        #[arg(long, default_value = "experiments")]
        experiments: PathBuf,
        /// Results root.
        #[arg(long, default_value = "results")]
        results: PathBuf,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout with exit 0 and usage errors with exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_HARNESS } else { 0 });
        }
    };
    match cli.command {
        Command::Validate { files } => validate(&files),
        Command::Run {
            file,
            out,
            seed,
            duration,
            variants,
        } => match run(&file, &out, Overrides { seed, duration }, &variants) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(EXIT_HARNESS)
            }
        },
        Command::Check { run_dir } => check(&run_dir, false),
        Command::Plot { run_dir } => report(plot(&run_dir)),
        Command::Report { run_dir } => check(&run_dir, true),
        Command::Compare {
            run_dirs,
            out,
            results,
        } => report(compare(&run_dirs, out, &results)),
        Command::Init { name, dir } => report(init(&name, &dir)),
        Command::List {
            experiments,
            results,
        } => report(list(&experiments, &results)),
    }
}

/// Prints a harness error with its cause chain and maps it to exit code 2.
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_HARNESS)
        }
    }
}

/// The starter experiment: the fully commented quickstart, renamed.
const STARTER: &str = include_str!("../experiments/quickstart.toml");

fn init(name: &str, dir: &Path) -> anyhow::Result<()> {
    let kebab = !name.is_empty()
        && name.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if !kebab {
        anyhow::bail!("{name:?}: an experiment name is kebab-case: words of a-z and 0-9 joined by single dashes");
    }
    let path = dir.join(format!("{name}.toml"));
    if path.exists() {
        anyhow::bail!(
            "{} already exists; pick another name or remove it",
            path.display()
        );
    }
    let text = STARTER
        .replacen("name = \"quickstart\"", &format!("name = \"{name}\""), 1)
        .replacen(
            "# quickstart:",
            &format!("# {name}: (started from quickstart)"),
            1,
        );
    // The starter must stay valid: a broken template would hand users an error.
    experiment::parse(&text, &path.display().to_string(), &Overrides::default())
        .map_err(|e| anyhow::anyhow!("the starter experiment is invalid: {e}"))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_file(&path, text.as_bytes())?;
    println!("wrote {}", path.display());
    println!(
        "edit it, then: caplab validate {0} && caplab run {0}",
        path.display()
    );
    Ok(())
}

fn list(experiments: &Path, results: &Path) -> anyhow::Result<()> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(experiments) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) => anyhow::bail!("reading {}: {e}", experiments.display()),
    };
    files.sort();
    let mut out = String::new();
    let _ = writeln!(out, "experiments in {}:", experiments.display());
    for f in &files {
        let plan = crate::sweep::load(f, &Overrides::default());
        let (loaded, points) = match plan {
            Ok(Plan::Single(l)) => (Ok(l), None),
            Ok(Plan::Sweep(p)) => (Ok(p.base), Some(p.points.len())),
            Err(e) => (Err(e), None),
        };
        match loaded {
            Ok(l) => {
                let e = &l.experiment;
                let variants: Vec<&str> = e.variants.iter().map(|v| v.name.as_str()).collect();
                let sweep = points.map_or_else(String::new, |n| format!(", sweep of {n} points"));
                let _ = writeln!(
                    out,
                    "  {:<20} {} [{}]{sweep}",
                    e.name,
                    f.display(),
                    variants.join(", ")
                );
                if let Some(d) = &e.description {
                    let _ = writeln!(out, "  {:<20} {d}", "");
                }
            }
            Err(_) => {
                let _ = writeln!(
                    out,
                    "  {:<28} (invalid: run caplab validate {})",
                    f.display(),
                    f.display()
                );
            }
        }
    }
    let mut runs: Vec<(String, PathBuf)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir(results) {
        for exp in rd.filter_map(|e| e.ok()).filter(|e| e.path().is_dir()) {
            if let Ok(inner) = std::fs::read_dir(exp.path()) {
                for run in inner.filter_map(|e| e.ok()) {
                    let name = run.file_name().to_string_lossy().to_string();
                    // A run has run.json; a sweep has sweep.json (its points are inside).
                    let manifest = ["run.json", sweep::RECORD]
                        .into_iter()
                        .find(|m| run.path().join(m).is_file());
                    if let (true, Some(manifest)) = (name != "latest", manifest) {
                        runs.push((name, run.path().join(manifest)));
                    }
                }
            }
        }
    }
    runs.sort();
    let _ = writeln!(out, "recent runs under {}:", results.display());
    if runs.is_empty() {
        let _ = writeln!(out, "  none yet: caplab run experiments/quickstart.toml");
    }
    for (_, manifest) in runs.iter().rev().take(15) {
        let name = manifest.file_name().unwrap_or_default().to_string_lossy();
        let status = std::fs::read_to_string(manifest)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["status"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("unreadable {name}"));
        let kind = if name == sweep::RECORD {
            " (sweep)"
        } else {
            ""
        };
        let dir = manifest.parent().unwrap_or(manifest);
        let _ = writeln!(out, "  {:<60} {status}{kind}", dir.display());
    }
    // A closed pipe (`caplab list | head`) is not an error worth reporting.
    match std::io::stdout().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// `caplab check`: analyse a run directory.
fn check(run_dir: &Path, with_report: bool) -> ExitCode {
    match check_and_report(run_dir, with_report) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_HARNESS)
        }
    }
}

/// Analyses a run (table, `summary.json`, CSVs) and, with `with_report`, writes its charts
/// and reports; the exit code is the verdict's.
fn check_and_report(run_dir: &Path, with_report: bool) -> anyhow::Result<ExitCode> {
    let outcome = analyse_and_report(run_dir, with_report)?;
    Ok(ExitCode::from(outcome.exit_code()))
}

/// [`check_and_report`], returning the analysis.
fn analyse_and_report(
    run_dir: &Path,
    with_report: bool,
) -> anyhow::Result<crate::analysis::CheckOutcome> {
    let outcome = crate::analysis::check_run(run_dir)
        .with_context(|| format!("analysing {}", run_dir.display()))?;
    print!("{}", outcome.table);
    println!("summary: {}", run_dir.join("summary.json").display());
    if with_report {
        crate::report::report_run(run_dir, &outcome.analysis)
            .with_context(|| format!("writing the report of {}", run_dir.display()))?;
        println!(
            "charts: {}",
            run_dir.join(crate::report::CHARTS_DIR).display()
        );
        println!("report: {}", run_dir.join("report.html").display());
    }
    Ok(outcome)
}

/// Analyses a run without writing anything.
fn analyse(run_dir: &Path) -> anyhow::Result<crate::analysis::RunAnalysis> {
    crate::analysis::analyse_run(run_dir, &Default::default())
        .with_context(|| format!("analysing {}", run_dir.display()))
}

fn plot(run_dir: &Path) -> anyhow::Result<()> {
    if run_dir.join(sweep::RECORD).is_file() {
        return sweep::plot(run_dir);
    }
    let run = analyse(run_dir)?;
    let input = crate::report::run_input(&run);
    let rendered = crate::report::render_charts(&input)?;
    let files = crate::report::write_charts(run_dir, &rendered)?;
    println!(
        "{} charts: {}",
        files.len(),
        run_dir.join(crate::report::CHARTS_DIR).display()
    );
    Ok(())
}

fn compare(run_dirs: &[PathBuf], out: Option<PathBuf>, results: &Path) -> anyhow::Result<()> {
    let runs = run_dirs
        .iter()
        .map(|d| Ok((d.clone(), analyse(d)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let out = match out {
        Some(o) => o,
        None => RunDir::create(results, "compare")?.path,
    };
    crate::report::report_compare(&out, &runs)
        .with_context(|| format!("writing the comparison into {}", out.display()))?;
    println!("charts: {}", out.join(crate::report::CHARTS_DIR).display());
    println!("report: {}", out.join("report.html").display());
    Ok(())
}

/// One `error: ` line per problem of an experiment file.
fn print_experiment_error(e: &experiment::ExperimentError) {
    for line in e.to_string().lines() {
        eprintln!("error: {line}");
    }
}

fn validate(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for f in files {
        match crate::sweep::load(f, &Overrides::default()) {
            Ok(Plan::Single(loaded)) => {
                println!("ok: {} ({})", f.display(), summary(&loaded.experiment))
            }
            Ok(Plan::Sweep(plan)) => println!(
                "ok: {} ({}; {})",
                f.display(),
                summary(&plan.base.experiment),
                sweep::describe(&plan)
            ),
            Err(e) => {
                failed = true;
                print_experiment_error(&e);
            }
        }
    }
    if failed {
        ExitCode::from(EXIT_HARNESS)
    } else {
        ExitCode::SUCCESS
    }
}

fn summary(e: &Experiment) -> String {
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

#[derive(Serialize)]
struct RunManifest<'a> {
    experiment: &'a str,
    run_id: &'a str,
    seed: u64,
    /// `ok`, `failed` (a variant could not run) or `interrupted`.
    status: &'a str,
    operations: usize,
    variants: Vec<VariantStatus>,
}

#[derive(Serialize)]
struct VariantStatus {
    name: String,
    kind: &'static str,
    /// `ok`, `failed`, `interrupted` or `not-run`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<VariantOutcome>,
}

fn run(file: &Path, out: &Path, overrides: Overrides, only: &[String]) -> anyhow::Result<ExitCode> {
    match crate::sweep::load(file, &overrides) {
        Ok(Plan::Single(loaded)) => run_single(file, out, &loaded, only),
        Ok(Plan::Sweep(plan)) => sweep::run(file, out, &plan, only),
        Err(e) => {
            print_experiment_error(&e);
            Ok(ExitCode::from(EXIT_HARNESS))
        }
    }
}

/// Checks the `--variant` names against `exp`.
fn check_variant_names(exp: &Experiment, only: &[String], file: &Path) -> anyhow::Result<()> {
    for name in only {
        if !exp.variants.iter().any(|v| &v.name == name) {
            let known: Vec<&str> = exp.variants.iter().map(|v| v.name.as_str()).collect();
            anyhow::bail!(
                "--variant {name}: no such variant in {} (variants: {})",
                file.display(),
                known.join(", ")
            );
        }
    }
    Ok(())
}

/// The variants of `exp` to run: those named by `--variant`, or all.
fn selected_variants(exp: &Experiment, only: &[String]) -> Vec<Variant> {
    exp.variants
        .iter()
        .filter(|v| only.is_empty() || only.contains(&v.name))
        .cloned()
        .collect()
}

/// One ordinary run: record every variant, then analyse and report.
fn run_single(
    file: &Path,
    out: &Path,
    loaded: &experiment::Loaded,
    only: &[String],
) -> anyhow::Result<ExitCode> {
    check_variant_names(&loaded.experiment, only, file)?;
    let selected = selected_variants(&loaded.experiment, only);
    let dir = RunDir::create(out, &loaded.experiment.name)?;
    let session = Session::start()?;
    let recorded = record_run(&session, loaded, &dir, &selected);
    session.stop();
    let recorded = recorded?;
    if recorded.interrupted || !recorded.failed.is_empty() {
        println!("results: {}", dir.path.display());
        let _ = std::io::stdout().flush();
        return Ok(ExitCode::from(EXIT_HARNESS));
    }
    // Analyse what was recorded: the table, summary.json, the CSV time series, the charts
    // and the reports.
    println!();
    let code = check_and_report(&dir.path, true)?;
    println!("results: {}", dir.path.display());
    let _ = std::io::stdout().flush();
    Ok(code)
}

/// The tokio runtime of a run (or of every point of a sweep) and its Ctrl-C token.
struct Session {
    runtime: tokio::runtime::Runtime,
    /// Cancelled by Ctrl-C: the running workload stops, what was recorded is kept.
    cancel: CancellationToken,
}

impl Session {
    fn start() -> anyhow::Result<Session> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the tokio runtime")?;
        let cancel = CancellationToken::new();
        let on_ctrl_c = cancel.clone();
        runtime.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: stopping the workload and saving what was recorded");
                on_ctrl_c.cancel();
            }
        });
        Ok(Session { runtime, cancel })
    }

    fn interrupted(&self) -> bool {
        self.cancel.is_cancelled()
    }

    fn stop(self) {
        // Do not wait for the Ctrl-C listener (it blocks until a signal arrives).
        self.runtime.shutdown_background();
    }
}

/// How recording a run went.
struct Recorded {
    interrupted: bool,
    /// `<variant>: <error>` per variant that failed.
    failed: Vec<String>,
}

/// Records one run into `dir`: `experiment.toml`, `schedule.jsonl`, every selected variant
/// in turn, then `run.json`.
fn record_run(
    session: &Session,
    loaded: &experiment::Loaded,
    dir: &RunDir,
    selected: &[Variant],
) -> anyhow::Result<Recorded> {
    let exp = Arc::new(loaded.experiment.clone());
    println!("experiment {}", summary(&exp));
    let schedule = Arc::new(Schedule::generate(&exp));
    let faults = Arc::new(crate::faults::plan(&exp));
    let leaders = crate::faults::LeaderMemory::default();
    println!(
        "workload: {} operations ({} writes) over {}, {} users",
        schedule.ops.len(),
        schedule.writes(),
        humantime::format_duration(exp.duration),
        schedule.users.len()
    );
    println!("run directory: {}", dir.path.display());
    let toml = loaded
        .to_toml()
        .context("serialising the resolved experiment")?;
    write_file(&dir.path.join("experiment.toml"), toml.as_bytes())?;
    write_file(&dir.path.join("schedule.jsonl"), &schedule.to_jsonl())?;

    let statuses = session.runtime.block_on(async {
        let mut statuses = Vec::new();
        for v in selected {
            let plan = RunInputs {
                experiment: &exp,
                schedule: &schedule,
                faults: &faults,
                leaders: &leaders,
            };
            statuses.push(run_one(&plan, v, dir, &session.cancel).await);
        }
        statuses
    });

    let interrupted = session.interrupted();
    let failed: Vec<String> = statuses
        .iter()
        .filter(|s| s.status == "failed")
        .map(|s| format!("{}: {}", s.name, s.error.as_deref().unwrap_or("failed")))
        .collect();
    let manifest = RunManifest {
        experiment: &exp.name,
        run_id: &dir.id,
        seed: exp.seed,
        status: if interrupted {
            "interrupted"
        } else if !failed.is_empty() {
            "failed"
        } else {
            "ok"
        },
        operations: schedule.ops.len(),
        variants: statuses,
    };
    let json = serde_json::to_vec_pretty(&manifest).context("serialising run.json")?;
    write_file(&dir.path.join("run.json"), &json)?;
    Ok(Recorded {
        interrupted,
        failed,
    })
}

/// What every variant of a run shares.
struct RunInputs<'a> {
    experiment: &'a Arc<Experiment>,
    schedule: &'a Arc<Schedule>,
    faults: &'a Arc<Vec<crate::faults::PlannedFault>>,
    leaders: &'a crate::faults::LeaderMemory,
}

/// Runs one variant and reports how it went; a failure is reported, not propagated, so the
/// other variants still run.
async fn run_one(
    inputs: &RunInputs<'_>,
    variant: &Variant,
    dir: &RunDir,
    cancel: &CancellationToken,
) -> VariantStatus {
    let kind = variant.kind().as_str();
    let status = |status, error: Option<String>, outcome| VariantStatus {
        name: variant.name.clone(),
        kind,
        status,
        error,
        outcome,
    };
    if cancel.is_cancelled() {
        return status(
            "not-run",
            Some("interrupted before it started".into()),
            None,
        );
    }
    let vdir = match dir.variant_dir(&variant.name) {
        Ok(d) => d,
        Err(e) => return status("failed", Some(e.to_string()), None),
    };
    let progress = ProgressBar::new(inputs.schedule.ops.len() as u64).with_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} ops {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    progress.set_prefix(variant.name.clone());
    let plan = VariantPlan {
        experiment: inputs.experiment.clone(),
        schedule: inputs.schedule.clone(),
        variant: variant.clone(),
        dir: vdir,
        faults: inputs.faults.clone(),
        leaders: inputs.leaders.clone(),
        cancel: cancel.clone(),
        progress: progress.clone(),
    };
    let result = runner::run_variant(plan).await;
    progress.finish_and_clear();
    match result {
        Ok(o) => {
            println!(
                "{}: {} operations: {} ok, {} fail, {} unknown{}",
                variant.name,
                o.operations,
                o.ok,
                o.fail,
                o.unknown,
                if o.interrupted { " (interrupted)" } else { "" }
            );
            let s = if o.interrupted { "interrupted" } else { "ok" };
            status(s, None, Some(o))
        }
        Err(e) => {
            eprintln!("error: variant {} failed: {e}", variant.name);
            status("failed", Some(e.to_string()), None)
        }
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
