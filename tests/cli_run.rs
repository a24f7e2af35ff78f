//! `caplab run` as a user runs it: the real binary in a temporary directory.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use caplab::history::{Event, EventKind, OpRecord};

fn experiment(dir: &Path, duration: &str, variants: &str) -> PathBuf {
    let path = dir.join("tiny.toml");
    let text = format!(
        r#"
name = "tiny"
seed = 5
duration = "{duration}"
warmup = "200ms"
cooldown = "500ms"
[topology.dcs.eu]
nodes = 1
[topology.dcs.us]
nodes = 2
[topology.default_link]
delay = {{ dist = "constant", value = "5ms" }}
{variants}
[workload]
users = 6
rate = 100.0
write_fraction = 0.3
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

const GOSSIP: &str =
    "[[variants]]\nname = \"gossip\"\nkind = \"gossip\"\ngossip_interval = \"50ms\"";

fn lines<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// `caplab run FILE --out OUT`, waited for.
fn run(file: &Path, out: &Path) -> std::process::Output {
    Command::new(cargo_bin("caplab"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap()
}

fn run_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("tiny/latest/run.json")).unwrap())
        .unwrap()
}

#[test]
fn a_gossip_run_records_every_operation_and_every_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let file = experiment(tmp.path(), "2s", GOSSIP);
    let out = tmp.path().join("results");
    let output = run(&file, &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("seed 5"), "{stdout}");
    let run = out.join("tiny/latest");
    let schedule = std::fs::read_to_string(run.join("schedule.jsonl"))
        .unwrap()
        .lines()
        .count();
    let history: Vec<OpRecord> = lines(&run.join("gossip/history.jsonl"));
    assert_eq!(
        history.len(),
        schedule,
        "every scheduled operation is recorded once"
    );
    assert!(history
        .iter()
        .all(|o| o.complete_us >= o.invoke_us && o.invoke_us >= o.scheduled_us));
    let events: Vec<Event> = lines(&run.join("gossip/events.jsonl"));
    let writes = history
        .iter()
        .filter(|o| o.kind == caplab::history::OpKind::Write)
        .count();
    let applies = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Apply { .. }))
        .count();
    assert!(applies >= writes, "{applies} applies for {writes} writes");
    assert!(run.join("gossip/net.json").is_file());
    assert!(run.join("experiment.toml").is_file());
    assert_eq!(run_json(&out)["status"], "ok");
}

#[test]
fn the_same_seed_gives_the_same_schedule_and_both_variants_run() {
    let tmp = tempfile::tempdir().unwrap();
    let variants = format!("{GOSSIP}\n[[variants]]\nname = \"raft\"\nkind = \"raft\"");
    let file = experiment(tmp.path(), "1s", &variants);
    let out = tmp.path().join("results");
    let mut schedules = Vec::new();
    for _ in 0..2 {
        let output = run(&file, &out);
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(output.status.success(), "{stderr}");
        let manifest = run_json(&out);
        assert_eq!(manifest["variants"][0]["status"], "ok");
        assert_eq!(manifest["variants"][1]["status"], "ok");
        schedules.push(std::fs::read(out.join("tiny/latest/schedule.jsonl")).unwrap());
        // Run ids have one-second resolution; make the second run's directory distinct.
        std::thread::sleep(Duration::from_millis(1100));
    }
    assert_eq!(schedules[0], schedules[1]);
}

#[test]
fn unknown_variant_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = experiment(tmp.path(), "1s", GOSSIP);
    let output = Command::new(cargo_bin("caplab"))
        .current_dir(tmp.path())
        .args(["run", file.to_str().unwrap(), "--variant", "nope"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--variant nope: no such variant"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn ctrl_c_keeps_what_was_recorded_and_exits_non_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let file = experiment(tmp.path(), "60s", GOSSIP);
    let out = tmp.path().join("results");
    let history = out.join("tiny/latest/gossip/history.jsonl");
    let status = common::run_and_interrupt(
        &file,
        &out,
        &history,
        Duration::from_secs(30),
        Duration::from_secs(20),
    );
    assert_eq!(status.code(), Some(2));
    let recorded: Vec<OpRecord> = lines(&history);
    assert!(recorded.len() >= 20);
    assert_eq!(run_json(&out)["status"], "interrupted");
    assert_eq!(run_json(&out)["variants"][0]["status"], "interrupted");
}

#[test]
fn init_writes_a_valid_starter_and_list_shows_it_with_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let caplab = || {
        let mut c = Command::new(cargo_bin("caplab"));
        c.current_dir(tmp.path());
        c
    };
    let out = caplab().args(["init", "my-picture-test"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = tmp.path().join("experiments/my-picture-test.toml");
    assert!(std::fs::read_to_string(&written)
        .unwrap()
        .contains("name = \"my-picture-test\""));
    let valid = caplab()
        .args(["validate", "experiments/my-picture-test.toml"])
        .output()
        .unwrap();
    assert!(valid.status.success());
    // Never overwrites, and names must be kebab-case.
    assert_eq!(
        caplab()
            .args(["init", "my-picture-test"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
    let bad = caplab().args(["init", "Bad_Name"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("kebab-case"));

    let file = experiment(tmp.path(), "1s", GOSSIP);
    let run = caplab()
        .args(["run", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(run.status.success());
    let list = caplab().arg("list").output().unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success());
    assert!(text.contains("my-picture-test"), "{text}");
    assert!(
        text.contains("results/tiny/") && text.contains(" ok"),
        "{text}"
    );
}
