//! `caplab run` as a user runs it: the real binary in a temporary directory (and the same
//! run through `caplab::record` without the binary); runs that end early by Ctrl-C,
//! SIGTERM or `kill -9`, and the errors and refusals of the other commands.

mod support;

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use caplab::experiment::Overrides;
use caplab::history::{Event, EventKind, OpRecord};
use caplab::record::{self, Finished, Lines};
use caplab::run_dir::manifest::{RunManifest, RunStatus, VariantStatus};
use support::binary::{run_and_interrupt, signal, spawn_run, wait_exit, wait_for_lines};
use support::{edit, fixture, lines, run_in_process};
use tokio_util::sync::CancellationToken;

/// The `tiny` fixture lasting `duration`, with `more` TOML (another variant) appended,
/// written as `<dir>/tiny.toml`.
fn experiment(dir: &Path, duration: &str, more: &str) -> PathBuf {
    let path = dir.join("tiny.toml");
    let text = edit(
        &fixture("tiny"),
        "duration = \"1s\"",
        &format!("duration = \"{duration}\""),
    ) + more;
    std::fs::write(&path, text).unwrap();
    path
}

const RAFT: &str = "[[variants]]\nname = \"raft\"\nkind = \"raft\"\n";

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
    let file = experiment(tmp.path(), "2s", "");
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
    let file = experiment(tmp.path(), "1s", RAFT);
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
    let file = experiment(tmp.path(), "1s", "");
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
fn seeds_run_a_plain_file_several_times_and_summarise_every_metric() {
    let tmp = tempfile::tempdir().unwrap();
    let file = experiment(tmp.path(), "1s", "");
    let out = tmp.path().join("results");
    let output = Command::new(cargo_bin("caplab"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--seeds", "2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("2 runs with seeds derived from 5"),
        "{stdout}"
    );
    assert!(stdout.contains("run 2/2: seed "), "{stdout}");
    // The summary table: a row per metric, a column per variant, mean ± half interval.
    let row = stdout
        .lines()
        .find(|l| l.starts_with("messages_per_op "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(row.contains(" ±"), "{row}");
    assert!(
        stdout.contains("repetitions ok: 2 of 2 runs ok"),
        "{stdout}"
    );

    let dir = out.join("tiny/latest");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(json["seeds"], 2);
    assert_eq!(json["parameters"].as_array().unwrap().len(), 0);
    let reps = json["points"][0]["repetitions"].as_array().unwrap();
    assert_eq!(reps[0]["dir"], "r1-seed-5");
    for r in reps {
        assert_eq!(r["status"], "ok");
        assert!(dir
            .join(r["dir"].as_str().unwrap())
            .join("run.json")
            .is_file());
    }
    let stats = &json["points"][0]["variants"][0]["metrics"]["read_p50_ms"];
    assert_eq!(stats["n"], 2, "{stats}");
    assert!(
        stats["ci_high"].as_f64() >= stats["ci_low"].as_f64(),
        "{stats}"
    );
    let csv = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
    assert!(csv.contains("messages_per_write_ci_low"), "{csv}");
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("# Repetitions"), "{report}");

    // Out of range: a usage error before anything runs.
    let output = Command::new(cargo_bin("caplab"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--seeds", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--seeds"));
}

#[test]
fn ctrl_c_keeps_what_was_recorded_and_exits_non_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let file = experiment(tmp.path(), "60s", "");
    let out = tmp.path().join("results");
    let history = out.join("tiny/latest/gossip/history.jsonl");
    let status = run_and_interrupt(
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

    let file = experiment(tmp.path(), "1s", "");
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

#[test]
fn a_run_is_recorded_analysed_and_interrupted_without_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let file = experiment(tmp.path(), "1s", RAFT);
    let out = tmp.path().join("results");
    let only = ["gossip".to_string()];
    let (finished, console) = run_in_process(&file, &out, &Overrides::default(), &only);
    let Finished::Run(run) = &finished else {
        panic!("not a run")
    };
    assert_eq!(finished.exit_code(), 0, "{}", console.text());
    assert_eq!(run.recorded.status, RunStatus::Ok);
    let check = run.check.as_ref().unwrap();
    assert_eq!(check.variants, [("gossip".to_string(), Some(true))]);
    assert!(
        console.text().contains("verdict: every variant met"),
        "{}",
        console.text()
    );
    let manifest = RunManifest::read(&out.join("tiny/latest")).unwrap();
    assert_eq!(manifest, run.recorded.manifest);
    assert_eq!(manifest.variants.len(), 1);
    assert_eq!(manifest.variants[0].status, VariantStatus::Ok);
    assert!(run.dir.join("report.html").is_file());

    // The same experiment, long, stopped by its token once it records.
    let file = experiment(tmp.path(), "60s", RAFT);
    let stop = CancellationToken::new();
    let out = tmp.path().join("results-2");
    let history = out.join("tiny/latest/gossip/history.jsonl");
    let finished = std::thread::scope(|s| {
        let run = s.spawn(|| {
            record::run_file(
                &file,
                &out,
                &Overrides::default(),
                &[],
                &Lines::default(),
                &stop,
            )
        });
        wait_for_lines(&history, 20, Duration::from_secs(30));
        stop.cancel();
        run.join().unwrap().unwrap()
    });
    assert_eq!(finished.exit_code(), 2);
    let manifest = RunManifest::read(finished.dir()).unwrap();
    assert_eq!(manifest.status, RunStatus::Interrupted);
    let statuses: Vec<VariantStatus> = manifest.variants.iter().map(|v| v.status).collect();
    assert_eq!(
        statuses,
        [VariantStatus::Interrupted, VariantStatus::NotRun]
    );
    assert_eq!(
        manifest.variants[1].error.as_deref(),
        Some("interrupted before it started")
    );
    assert_eq!(
        std::fs::canonicalize(out.join("tiny/latest")).unwrap(),
        std::fs::canonicalize(finished.dir()).unwrap()
    );
}

#[test]
fn sigterm_stops_a_run_like_ctrl_c() {
    let tmp = tempfile::tempdir().unwrap();
    let file = experiment(tmp.path(), "60s", "");
    let out = tmp.path().join("results");
    let mut child = spawn_run(&file, &out);
    wait_for_lines(
        &out.join("tiny/latest/gossip/history.jsonl"),
        20,
        Duration::from_secs(30),
    );
    signal(&child, "-TERM");
    let status = wait_exit(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(2));
    assert_eq!(run_json(&out)["status"], "interrupted");
    assert_eq!(run_json(&out)["variants"][0]["status"], "interrupted");
}

#[test]
fn after_kill_9_check_analyses_what_was_recorded_as_incomplete() {
    let tmp = tempfile::tempdir().unwrap();
    let file = experiment(tmp.path(), "60s", "");
    let out = tmp.path().join("results");
    let mut child = spawn_run(&file, &out);
    wait_for_lines(
        &out.join("tiny/latest/gossip/history.jsonl"),
        20,
        Duration::from_secs(30),
    );
    // run.json exists from the start and says how far the run got.
    assert_eq!(run_json(&out)["status"], "running");
    assert_eq!(run_json(&out)["variants"][0]["status"], "running");
    child.kill().unwrap();
    child.wait().unwrap();
    let check = Command::new(cargo_bin("caplab"))
        .arg("check")
        .arg(out.join("tiny/latest"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(
        check.status.code(),
        Some(2),
        "{stdout}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        stdout.contains("gossip: claims converged, no unexplained lost write: INCOMPLETE"),
        "{stdout}"
    );
    assert!(stdout.contains("verdict: INCOMPLETE"), "{stdout}");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("tiny/latest/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["verdict"], "incomplete");
    assert!(
        summary["variants"]["gossip"]["availability"]["ops"]
            .as_u64()
            .unwrap()
            >= 20
    );
}

#[test]
fn ctrl_c_during_the_report_stops_it_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let file = experiment(tmp.path(), "1s", "");
    let out = tmp.path().join("results");
    assert!(run(&file, &out).status.success());
    let mut child = Command::new(cargo_bin("caplab"))
        .arg("report")
        .arg(out.join("tiny/latest"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the analysis printed its summary line, the charts are being drawn.
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    assert!(lines.any(|l| l.unwrap().starts_with("summary: ")));
    signal(&child, "-INT");
    let status = wait_exit(&mut child, Duration::from_secs(10));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    // Either the signal stopped the report (2), or the report was already written (0).
    match status.code() {
        Some(2) => assert!(
            stderr.contains("interrupted (Ctrl-C): stopping now"),
            "{stderr}"
        ),
        other => assert_eq!(other, Some(0), "{stderr}"),
    }
}

#[test]
fn compare_refuses_a_run_directory_and_errors_name_their_cause_once() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path().join("r");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("run.json"), "{}").unwrap();
    let out = Command::new(cargo_bin("caplab"))
        .arg("compare")
        .args([&run_dir, &run_dir])
        .arg("--out")
        .arg(&run_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is a run directory"), "{stderr}");
    assert!(!run_dir.join("report.html").exists());

    let missing = tmp.path().join("nothing-here");
    let out = Command::new(cargo_bin("caplab"))
        .arg("check")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("run.json"), "{stderr}");
}
