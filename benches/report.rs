//! Report benchmark: analysing a 60-second run and rendering every chart (PNG and SVG) and
//! both reports, against the 5 s budget.
//!
//! `cargo bench --bench report` first records a real run: `caplab run
//! experiments/dc-partition.toml --duration 60s` (both variants, about 2.5 minutes), into a
//! temporary folder. `cargo bench --bench report -- RUN_DIR` measures an existing run
//! instead. It then times, five times each, the analysis alone, the rendering alone (charts
//! and reports, written to disk) and both together, and prints the median and worst.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use caplab::analysis::{analyse_run, CheckOptions};

const ROUNDS: usize = 5;

fn main() {
    let arg = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let run_dir = match arg {
        Some(d) => d,
        None => record(tmp.path()),
    };
    let opts = CheckOptions::default();
    let run = analyse_run(&run_dir, &opts).expect("analysing the run");
    let ops: usize = run.variants.iter().map(|(_, v)| v.points.ops.len()).sum();
    println!(
        "run {}: {} variants, {} operations, {:.0} s window",
        run_dir.display(),
        run.variants.len(),
        ops,
        run.experiment.duration.as_secs_f64()
    );
    let mut analysis = Vec::new();
    let mut render = Vec::new();
    let mut total = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let run = analyse_run(&run_dir, &opts).expect("analysing the run");
        let a = t.elapsed();
        let files = caplab::report::report_run(&run_dir, &run).expect("writing the report");
        let all = t.elapsed();
        assert!(files.len() >= 18);
        analysis.push(a);
        render.push(all - a);
        total.push(all);
    }
    for (name, v) in [
        ("analysis", &mut analysis),
        ("charts + reports", &mut render),
        ("total", &mut total),
    ] {
        v.sort();
        println!(
            "{name:>17}: median {:.3} s, worst {:.3} s",
            v[ROUNDS / 2].as_secs_f64(),
            v[ROUNDS - 1].as_secs_f64()
        );
    }
    let worst = total[ROUNDS - 1];
    println!(
        "budget 5 s: {}",
        if worst < Duration::from_secs(5) {
            "met"
        } else {
            "MISSED"
        }
    );
    let html = std::fs::metadata(run_dir.join("report.html")).map_or(0, |m| m.len());
    println!("report.html: {:.1} MB", html as f64 / 1e6);
}

/// Runs the dc-partition experiment for 60 s into `out`; returns the run directory.
fn record(out: &Path) -> PathBuf {
    let experiment = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/dc-partition.toml");
    println!("recording a 60 s run of {} ...", experiment.display());
    let status = Command::new(env!("CARGO_BIN_EXE_caplab"))
        .arg("run")
        .arg(&experiment)
        .args(["--duration", "60s", "--out"])
        .arg(out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("starting caplab");
    assert!(status.code() == Some(0), "caplab run failed: {status}");
    out.join("dc-partition/latest")
}
