//! The `caplab` command line.
//!
//! Parse arguments (clap), build validated objects, then act. Exit codes:
//! `0` everything ran and was consistent, `1` an anomaly was found (used by the checks),
//! `2` a usage error, an invalid experiment file, a harness failure, an interrupted run, or
//! a run whose record is invalid or incomplete. Errors print their whole cause chain to
//! stderr, each cause once.
//!
//! The CLI parses arguments, calls one function of `crate::record` (running, analysing,
//! reporting) and prints; Ctrl-C, SIGTERM and SIGHUP stop a running workload and keep what
//! was recorded, and stop anything else at once with exit code 2 (see `record::signals`).
//!
//! Deliberately left out: clap types below this module; domain code receives paths,
//! durations and validated experiments.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::experiment::{self, Overrides};
use crate::record::signals::Interrupts;
use crate::record::{self, Console, Phase, RecordError};
use crate::run_dir::manifest::RunManifest;
use crate::sweep::Plan;

/// Exit code: a usage error, an invalid experiment, or a harness failure.
pub const EXIT_HARNESS: u8 = record::EXIT_HARNESS;

#[derive(Debug, Parser)]
#[command(
    name = "caplab",
    version,
    about = "Measure what strong and eventual consistency mean for users: Raft vs gossip \
             on a simulated WAN over loopback TCP",
    after_help = "Exit codes: 0 ok, 1 anomaly found, 2 usage, experiment or harness error, \
                  or an invalid or incomplete run."
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
        /// Override the experiment's engine: `real` (loopback TCP, real time) or `sim`
        /// (the same clusters in virtual time: deterministic and faster than real time).
        #[arg(long, value_parser = parse_engine)]
        engine: Option<experiment::Engine>,
        /// Run every point N times with seeds derived from the experiment's (the first is
        /// the seed itself) and report the mean and 95% confidence interval of each metric;
        /// overrides `[sweep] seeds`. A file without [sweep] becomes N runs in one folder.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
        seeds: Option<u32>,
    },
    /// Analyse a finished run: writes summary.json and CSVs, prints the comparison table;
    /// exit 0 if every variant met the consistency it claims, 1 if an anomaly was found, 2
    /// if the run is invalid or incomplete.
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
        /// Output folder [default: <results>/compare/<timestamp>/]; never a run directory.
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

fn parse_engine(s: &str) -> Result<experiment::Engine, String> {
    match s {
        "real" => Ok(experiment::Engine::Real),
        "sim" => Ok(experiment::Engine::Sim),
        other => Err(format!(
            "unknown engine {other:?}: expected \"real\" or \"sim\""
        )),
    }
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
    let terminal = match Terminal::new() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: installing the signal handlers: {e}");
            return ExitCode::from(EXIT_HARNESS);
        }
    };
    let t = &terminal;
    let result = match cli.command {
        Command::Validate { files } => return validate(&files),
        Command::Run {
            file,
            out,
            seed,
            duration,
            variants,
            engine,
            seeds,
        } => record::run_file_repeated(
            &file,
            &out,
            &Overrides {
                seed,
                duration,
                engine,
            },
            seeds.map(|n| n as usize),
            &variants,
            t,
            &t.stop,
        )
        .map(|finished| {
            println!("results: {}", finished.dir().display());
            finished.exit_code()
        }),
        Command::Check { run_dir } => {
            record::analyse_and_report(&run_dir, false, t).map(|c| c.exit_code())
        }
        Command::Report { run_dir } => {
            record::analyse_and_report(&run_dir, true, t).map(|c| c.exit_code())
        }
        Command::Plot { run_dir } => record::plot(&run_dir).map(|(n, dir)| {
            println!("{n} charts: {}", dir.display());
            0
        }),
        Command::Compare {
            run_dirs,
            out,
            results,
        } => record::compare(&run_dirs, out.as_deref(), &results).map(|c| {
            if let Some(e) = &c.engines {
                println!("{}", e.table());
            }
            println!(
                "charts: {}",
                c.dir.join(crate::report::CHARTS_DIR).display()
            );
            println!("report: {}", c.dir.join("report.html").display());
            0
        }),
        Command::Init { name, dir } => return report(init(&name, &dir)),
        Command::List {
            experiments,
            results,
        } => return report(list(&experiments, &results)),
    };
    let _ = std::io::stdout().flush();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(RecordError::Experiment(e)) => {
            print_experiment_error(&e);
            ExitCode::from(EXIT_HARNESS)
        }
        Err(e) => {
            eprintln!("error: {}", record::error_chain(&e));
            ExitCode::from(EXIT_HARNESS)
        }
    }
}

/// The terminal as a [`Console`]: progress on stdout, problems on stderr, progress bars
/// when stderr is a terminal, and signals that follow the phase.
struct Terminal {
    interrupts: Interrupts,
    /// Cancelled by a signal while a workload runs.
    stop: CancellationToken,
}

impl Terminal {
    fn new() -> std::io::Result<Terminal> {
        Ok(Terminal {
            interrupts: Interrupts::install()?,
            stop: CancellationToken::new(),
        })
    }
}

impl Console for Terminal {
    fn say(&self, line: &str) {
        println!("{line}");
    }

    fn warn(&self, line: &str) {
        eprintln!("{line}");
    }

    fn progress(&self, name: &str, len: u64) -> ProgressBar {
        let bar = ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} ops {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        bar
    }

    fn phase(&self, phase: Phase) {
        match phase {
            Phase::Recording if !self.stop.is_cancelled() => {
                self.interrupts.cancel_on_signal(self.stop.clone())
            }
            _ => self.interrupts.exit_on_signal(),
        }
    }
}

/// Prints a harness error with its cause chain (each cause once) and maps it to exit code 2.
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", record::error_chain(e.as_ref()));
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
                    let manifest = [crate::run_dir::manifest::FILE, crate::run_dir::SWEEP_FILE]
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
        let dir = manifest.parent().unwrap_or(manifest);
        let is_sweep = name == crate::run_dir::SWEEP_FILE;
        let status = if is_sweep {
            record::sweep::read_record(dir).map(|r| r.status).ok()
        } else {
            RunManifest::read(dir).map(|m| m.status).ok()
        }
        .map_or_else(|| format!("unreadable {name}"), |s| s.to_string());
        let kind = if is_sweep { " (sweep)" } else { "" };
        let _ = writeln!(out, "  {:<60} {status}{kind}", dir.display());
    }
    // A closed pipe (`caplab list | head`) is not an error worth reporting.
    match std::io::stdout().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
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
            Ok(Plan::Single(loaded)) => println!(
                "ok: {} ({})",
                f.display(),
                record::describe_experiment(&loaded.experiment)
            ),
            Ok(Plan::Sweep(plan)) => println!(
                "ok: {} ({}; {})",
                f.display(),
                record::describe_experiment(&plan.base.experiment),
                record::sweep::describe(&plan)
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

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
