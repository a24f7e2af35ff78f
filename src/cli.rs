//! The `caplab` command line.
//!
//! Parse arguments (clap), build validated objects, then act. Exit codes:
//! `0` everything ran and was consistent, `1` an anomaly was found (used by the checks),
//! `2` a usage error, an invalid experiment file or a harness failure. Errors print their
//! whole cause chain to stderr.
//!
//! Deliberately left out: clap types below this module; domain code receives paths,
//! durations and validated experiments.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::experiment::{self, Experiment, Overrides, VariantKind};
use crate::run_dir::RunDir;
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
    }
}

fn validate(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for f in files {
        match experiment::load(f, &Overrides::default()) {
            Ok(loaded) => println!("ok: {} ({})", f.display(), summary(&loaded.experiment)),
            Err(e) => {
                failed = true;
                for line in e.to_string().lines() {
                    eprintln!("error: {line}");
                }
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

/// Why a variant kind cannot run in this build, if it cannot.
fn unavailable(kind: VariantKind) -> Option<&'static str> {
    match kind {
        VariantKind::Raft => {
            Some("the Raft cluster is not built yet (issue: Raft cluster on openraft)")
        }
        VariantKind::Gossip => Some("the gossip cluster is not built yet (issue: gossip cluster)"),
    }
}

#[derive(Serialize)]
struct RunManifest<'a> {
    experiment: &'a str,
    run_id: &'a str,
    seed: u64,
    status: &'a str,
    operations: usize,
    variants: Vec<VariantStatus<'a>>,
}

#[derive(Serialize)]
struct VariantStatus<'a> {
    name: &'a str,
    kind: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

fn run(file: &Path, out: &Path, overrides: Overrides, only: &[String]) -> anyhow::Result<ExitCode> {
    let loaded = match experiment::load(file, &overrides) {
        Ok(l) => l,
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("error: {line}");
            }
            return Ok(ExitCode::from(EXIT_HARNESS));
        }
    };
    let exp = &loaded.experiment;
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
    let selected: Vec<_> = exp
        .variants
        .iter()
        .filter(|v| only.is_empty() || only.contains(&v.name))
        .collect();

    println!("experiment {}", summary(exp));
    let schedule = Schedule::generate(exp);
    println!(
        "workload: {} operations ({} writes) over {}, {} users",
        schedule.ops.len(),
        schedule.writes(),
        humantime::format_duration(exp.duration),
        schedule.users.len()
    );

    let dir = RunDir::create(out, &exp.name)?;
    let toml = loaded
        .to_toml()
        .context("serialising the resolved experiment")?;
    write_file(&dir.path.join("experiment.toml"), toml.as_bytes())?;
    write_file(&dir.path.join("schedule.jsonl"), &schedule.to_jsonl())?;

    let mut statuses = Vec::new();
    let mut failed = 0;
    for v in &selected {
        let reason = unavailable(v.kind());
        if let Some(r) = reason {
            failed += 1;
            eprintln!(
                "error: variant {} (kind {}) cannot run: {r}",
                v.name,
                v.kind().as_str()
            );
        }
        statuses.push(VariantStatus {
            name: &v.name,
            kind: v.kind().as_str(),
            status: if reason.is_some() {
                "not-available"
            } else {
                "ok"
            },
            error: reason,
        });
    }
    let manifest = RunManifest {
        experiment: &exp.name,
        run_id: &dir.id,
        seed: exp.seed,
        status: if failed > 0 { "failed" } else { "ok" },
        operations: schedule.ops.len(),
        variants: statuses,
    };
    let json = serde_json::to_vec_pretty(&manifest).context("serialising run.json")?;
    write_file(&dir.path.join("run.json"), &json)?;
    println!("run directory: {}", dir.path.display());
    let _ = std::io::stdout().flush();
    Ok(if failed > 0 {
        ExitCode::from(EXIT_HARNESS)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
