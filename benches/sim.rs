//! Sim engine benchmark: every shipped experiment on the sim engine, with the virtual time
//! it covers and the wall time it takes.
//!
//! Run with `cargo bench --bench sim` (or `-- FILE...` for other experiment files). For an
//! ordinary experiment it times recording (every variant in virtual time) and analysis with
//! charts and report separately; a sweep is timed as a whole. Virtual time is counted as
//! `warmup + duration + cooldown` per variant (and per run of a sweep), which leaves out
//! the few virtual seconds a cluster takes to become ready. It prints simulated seconds per
//! wall second (recording only, and end to end) and the targets: profile-picture
//! (2 variants) end to end in at most 3 s, strategies in at most 10 s.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use caplab::experiment::{Engine, Overrides};
use caplab::record::{self, Lines, Recorder, Session};
use caplab::run_dir::RunDir;
use caplab::sweep::Plan;
use tokio_util::sync::CancellationToken;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let files: Vec<PathBuf> = if args.is_empty() {
        let mut v: Vec<PathBuf> = std::fs::read_dir("experiments")
            .expect("experiments/")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        v.sort();
        v
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "sim engine, release build; load average {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "{:<26} {:>9} {:>10} {:>9} {:>10} {:>10} {:>9}",
        "experiment", "virtual", "recording", "analysis", "total", "sim/wall", "rec only"
    );
    for f in &files {
        bench(f);
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn bench(file: &Path) {
    let name = file
        .file_stem()
        .map_or("?".into(), |s| s.to_string_lossy().to_string());
    let overrides = Overrides {
        engine: Some(Engine::Sim),
        ..Overrides::default()
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let console = Lines::default();
    let stop = CancellationToken::new();
    let plan = match caplab::sweep::load(file, &overrides) {
        Ok(p) => p,
        Err(e) => {
            println!("{name:<26} cannot load: {e}");
            return;
        }
    };
    let (virtual_time, recording, analysis, total) = match &plan {
        Plan::Single(loaded) => {
            let exp = &loaded.experiment;
            let per_variant = exp.warmup + exp.duration + exp.cooldown;
            let virtual_time = per_variant * exp.variants.len() as u32;
            let t0 = Instant::now();
            let dir = RunDir::create(tmp.path(), &exp.name).expect("run dir");
            let session = Session::start(stop.clone(), exp.engine).expect("runtime");
            let recorded = Recorder::start(loaded, &dir, &exp.variants, &console)
                .and_then(|r| r.run(&session, &console));
            session.stop();
            if let Err(e) = recorded {
                println!("{name:<26} failed: {e}");
                return;
            }
            let recording = t0.elapsed();
            let t1 = Instant::now();
            if let Err(e) = record::analyse_and_report(&dir.path, true, &console) {
                println!("{name:<26} analysis failed: {e}");
                return;
            }
            (virtual_time, recording, Some(t1.elapsed()), t0.elapsed())
        }
        Plan::Sweep(sweep) => {
            let per_point: Duration = sweep
                .points
                .iter()
                .map(|p| {
                    let e = &p.loaded.experiment;
                    (e.warmup + e.duration + e.cooldown)
                        * (e.variants.len() * p.repetitions.len().max(1)) as u32
                })
                .sum();
            let t0 = Instant::now();
            if let Err(e) = record::run_file(file, tmp.path(), &overrides, &[], &console, &stop) {
                println!("{name:<26} failed: {e}");
                return;
            }
            let t = t0.elapsed();
            (per_point, t, None, t)
        }
    };
    println!(
        "{:<26} {:>9} {:>10} {:>9} {:>10} {:>9.0}x {:>8.0}x",
        name,
        secs(virtual_time),
        if analysis.is_some() {
            secs(recording)
        } else {
            "(sweep)".into()
        },
        analysis.map_or("-".into(), secs),
        secs(total),
        virtual_time.as_secs_f64() / total.as_secs_f64(),
        virtual_time.as_secs_f64() / recording.as_secs_f64(),
    );
}
