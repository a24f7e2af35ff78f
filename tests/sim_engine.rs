//! The sim engine: the same experiment in virtual time is bit-reproducible (twice, from the
//! saved `experiment.toml`, and one variant alone), runs far faster than real time, and is
//! refused where it cannot model what the file asks for.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use caplab::experiment::{Engine, Overrides};
use caplab::record::{self, Finished};
use caplab::run_dir::manifest::RunManifest;
use support::{edit, fixture, run_in_process};

/// Runs `file` (with `overrides`, only the variants in `only`) into `out`; returns the run
/// directory.
fn run(file: &Path, out: &Path, overrides: &Overrides, only: &[String]) -> PathBuf {
    let (finished, console) = run_in_process(file, out, overrides, only);
    let Finished::Run(r) = finished else {
        panic!("not a run")
    };
    assert!(r.exit_code <= 1, "exit {}: {}", r.exit_code, console.text());
    r.dir
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()))
}

fn sim() -> Overrides {
    Overrides {
        engine: Some(Engine::Sim),
        ..Overrides::default()
    }
}

/// Every kind of fault (partition, crash, pause, latency, loss, clock skew), both systems.
#[test]
fn a_sim_run_is_bit_reproducible_and_replays_from_its_experiment_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("all-faults.toml");
    std::fs::write(&file, fixture("all-faults")).unwrap();

    let first = run(&file, &tmp.path().join("a"), &sim(), &[]);
    // The replay: the first run's saved file names the engine and the seed.
    let saved = first.join("experiment.toml");
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("engine = \"sim\""), "{text}");
    let second = run(&saved, &tmp.path().join("b"), &Overrides::default(), &[]);

    let manifest: RunManifest = serde_json::from_slice(&read(&first, "run.json")).unwrap();
    assert_eq!(manifest.engine, Engine::Sim);
    assert_eq!(
        manifest.reproducible,
        Some(record::session::SIM_REPRODUCIBLE)
    );
    if !record::session::SIM_REPRODUCIBLE {
        eprintln!("built without --cfg tokio_unstable: skipping the byte comparison");
        return;
    }
    for variant in ["gossip", "raft"] {
        for f in ["history.jsonl", "events.jsonl", "net.json"] {
            let path = format!("{variant}/{f}");
            assert!(
                read(&first, &path) == read(&second, &path),
                "{path} differs between two sim runs"
            );
        }
    }
    assert!(
        read(&first, "summary.json") == read(&second, "summary.json"),
        "summary.json differs between two sim runs"
    );
    // The run saw its faults: a crash, and failed Raft operations while asia was cut off.
    let events = String::from_utf8(read(&first, "raft/events.jsonl")).unwrap();
    assert!(events.contains("\"crash\""), "{events}");
}

#[test]
fn a_variant_run_alone_is_the_same_as_in_the_full_run() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("all-faults.toml");
    std::fs::write(&file, fixture("all-faults")).unwrap();
    if !record::session::SIM_REPRODUCIBLE {
        return;
    }
    let both = run(&file, &tmp.path().join("a"), &sim(), &[]);
    let alone = run(&file, &tmp.path().join("b"), &sim(), &["raft".to_string()]);
    assert!(read(&both, "raft/history.jsonl") == read(&alone, "raft/history.jsonl"));
    assert!(read(&both, "raft/events.jsonl") == read(&alone, "raft/events.jsonl"));
}

#[test]
fn virtual_time_runs_far_faster_than_real_time() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("slow.toml");
    // Ten virtual minutes at one operation a second: seconds of CPU work at most.
    let text = edit(&fixture("tiny"), "duration = \"1s\"", "duration = \"10m\"");
    let text = edit(&text, "rate = 100.0", "rate = 1.0");
    std::fs::write(&file, text).unwrap();
    let started = Instant::now();
    let dir = run(&file, &tmp.path().join("out"), &sim(), &[]);
    let wall = started.elapsed();
    let history = String::from_utf8(read(&dir, "gossip/history.jsonl")).unwrap();
    let last_us = history
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["complete_us"].as_u64())
        .max()
        .unwrap();
    assert!(
        Duration::from_micros(last_us) > Duration::from_secs(500),
        "the run covered only {last_us} us of virtual time"
    );
    assert!(
        wall < Duration::from_secs(120),
        "10 virtual minutes took {wall:?} of wall time"
    );
}

#[test]
fn the_sim_engine_refuses_disk_storage_and_allows_more_nodes() {
    let base = fixture("tiny");
    let disk = format!(
        "engine = \"sim\"\n{base}\n[[variants]]\nname = \"raft\"\nkind = \"raft\"\nstorage = \"disk\"\n"
    );
    let err = caplab::experiment::parse(&disk, "d.toml", &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("storage") && err.contains("needs engine = \"real\""),
        "{err}"
    );

    let big = edit(&base, "nodes = 1", "nodes = 200");
    let err = caplab::experiment::parse(&big, "b.toml", &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("engine = \"sim\" allows"), "{err}");
    let loaded = caplab::experiment::parse(&big, "b.toml", &sim()).unwrap();
    assert_eq!(loaded.experiment.engine, Engine::Sim);
    assert!(loaded.experiment.topology.nodes.len() >= 200);
}
