//! `check_run` on hand-built run directories: the files it writes and their shape, the
//! verdict and exit code, skipped variants, availability around a fault, the errors
//! (exit code 2) for unreadable or malformed files, and the strict checks that make a
//! record `invalid` or `incomplete` (exit code 2, never "met").

mod support;

use std::path::Path;

use caplab::analysis::{check_run, AnalysisError, Verdict};
use caplab::experiment::Conflict;
use caplab::history::{Event, EventKind, OpRecord, Outcome};
use serde_json::Value;
use support::history::*;
use support::{edit, fixture, jsonl};

/// A run directory with a converged gossip variant, a raft variant whose last read is
/// stale, and a variant that failed to run.
fn run_dir(dir: &Path, raft_last_read: &str) {
    std::fs::write(dir.join("experiment.toml"), fixture("tiny-three-variants")).unwrap();
    std::fs::write(
        dir.join("run.json"),
        r#"{"experiment":"tiny","run_id":"r1","seed":1,"status":"failed","operations":5,
        "variants":[
          {"name":"gossip","kind":"gossip","status":"ok","outcome":{"window_start_us":1000000,"operations":5,"ok":5,"fail":0,"unknown":0,"events":3,"interrupted":false,"lab_errors":0,"lab_error_details":[],"lab_failed_ops":0,"pacer_max_late_us":0}},
          {"name":"raft","kind":"raft","status":"ok","outcome":{"window_start_us":2000000,"operations":3,"ok":3,"fail":0,"unknown":0,"events":0,"interrupted":false,"lab_errors":0,"lab_error_details":[],"lab_failed_ops":0,"pacer_max_late_us":0}},
          {"name":"broken","kind":"gossip","status":"failed","error":"the cluster did not start"}
        ]}"#,
    )
    .unwrap();
    let t0 = 1_000_000;
    let gossip_ops = vec![
        write(0, "alice", "alice#1", t0 + 100, t0 + 900).version(&[1, 0, 1]),
        read(1, "alice/friend-asia", None, t0 + 1000, t0 + 1500),
        read(
            2,
            "alice/friend-asia",
            Some("alice#1"),
            t0 + 1_500_000,
            t0 + 1_500_500,
        )
        .version(&[1, 0, 1]),
        read(3, "alice/laptop", Some("alice#1"), t0 + 2_000, t0 + 2_500).version(&[1, 0, 1]),
        read(4, "alice/laptop", None, t0 + 2_600_000, t0 + 3_600_000).outcome(Outcome::Fail),
    ];
    let gossip_events = vec![
        apply(t0 + 500, "eu-1", "alice", "alice#1"),
        apply(t0 + 800, "eu-2", "alice", "alice#1"),
        apply(t0 + 101_000, "asia-1", "alice", "alice#1"),
    ];
    std::fs::create_dir_all(dir.join("gossip")).unwrap();
    std::fs::write(dir.join("gossip/history.jsonl"), jsonl(&gossip_ops)).unwrap();
    std::fs::write(dir.join("gossip/events.jsonl"), jsonl(&gossip_events)).unwrap();
    std::fs::write(
        dir.join("gossip/net.json"),
        r#"{"links":[{"from":"eu-1","to":"eu-2","kind":"node-node","from":1,"to":2,"sent":20,"sent_bytes":2000,"delivered":20,"delivered_bytes":2000,"dropped_partition":0,"dropped_loss":0,"dropped_unreachable":0}]}"#,
    )
    .unwrap();
    let t0 = 2_000_000;
    let raft_ops = vec![
        write(0, "alice", "alice#1", t0 + 100, t0 + 900).version(&[3]),
        write(1, "alice", "alice#2", t0 + 1000, t0 + 1900).version(&[4]),
        read(
            2,
            "alice/friend-asia",
            Some(raft_last_read),
            t0 + 3000,
            t0 + 3500,
        ),
    ];
    let raft_events = vec![
        apply(t0 + 800, "eu-1", "alice", "alice#1"),
        apply(t0 + 1800, "eu-1", "alice", "alice#2"),
    ];
    std::fs::create_dir_all(dir.join("raft")).unwrap();
    std::fs::write(dir.join("raft/history.jsonl"), jsonl(&raft_ops)).unwrap();
    std::fs::write(dir.join("raft/events.jsonl"), jsonl(&raft_events)).unwrap();
}

/// Runs `check_run` on the run directory after `spoil`, and returns the outcome and
/// `summary.json`.
fn check_after(spoil: impl FnOnce(&Path)) -> (caplab::analysis::CheckOutcome, Value) {
    let tmp = tempfile::tempdir().unwrap();
    run_dir(tmp.path(), "alice#2");
    spoil(tmp.path());
    let outcome = check_run(tmp.path()).unwrap();
    let summary: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("summary.json")).unwrap()).unwrap();
    (outcome, summary)
}

fn append(path: &Path, text: &str) {
    let mut all = std::fs::read_to_string(path).unwrap();
    all.push_str(text);
    std::fs::write(path, all).unwrap();
}

#[test]
fn bad_records_are_invalid_or_incomplete_never_met() {
    let lab_error = jsonl(&[Event {
        t_us: 1_500_000,
        kind: EventKind::LabError {
            source: "net".into(),
            detail: "accept: too many open files".into(),
        },
    }]);
    let duplicate = jsonl(&[
        read(3, "alice/laptop", Some("alice#1"), 1_002_000, 1_002_500).version(&[1, 0, 1]),
    ]);
    let unknown = jsonl(&[
        read(9, "alice/laptop", Some("alice#1"), 1_002_000, 1_002_500).version(&[1, 0, 1]),
    ]);
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, Box<dyn Fn(&Path)>, Verdict, &str)> = vec![
        (
            "a lab error",
            Box::new(move |d| append(&d.join("gossip/events.jsonl"), &lab_error)),
            Verdict::Invalid,
            "lab error at 1.500s (net): accept: too many open files",
        ),
        (
            "a duplicate op id",
            Box::new(move |d| append(&d.join("gossip/history.jsonl"), &duplicate)),
            Verdict::Invalid,
            "repeat an op id already recorded (first: #3)",
        ),
        (
            "an op id outside the schedule",
            Box::new(move |d| append(&d.join("gossip/history.jsonl"), &unknown)),
            Verdict::Invalid,
            "op ids outside the schedule (run.json's operations), which has 5 (first: #9)",
        ),
        (
            "an empty events.jsonl",
            Box::new(|d| std::fs::write(d.join("gossip/events.jsonl"), "").unwrap()),
            Verdict::Invalid,
            "events.jsonl is empty although 1 writes were acknowledged",
        ),
        (
            "a missing events.jsonl",
            Box::new(|d| std::fs::remove_file(d.join("gossip/events.jsonl")).unwrap()),
            Verdict::Incomplete,
            "events.jsonl is missing",
        ),
        (
            "an empty history",
            Box::new(|d| {
                std::fs::write(d.join("gossip/history.jsonl"), "").unwrap();
                std::fs::write(d.join("gossip/events.jsonl"), "").unwrap();
            }),
            Verdict::Invalid,
            "the history is empty",
        ),
        (
            "a cut-off last line",
            Box::new(|d| append(&d.join("gossip/events.jsonl"), "{\"t_us\":5,\"ty")),
            Verdict::Incomplete,
            "1 cut-off last line(s) skipped",
        ),
    ];
    for (what, spoil, verdict, reason) in cases {
        let (outcome, summary) = check_after(spoil);
        assert_eq!(outcome.verdict, verdict, "{what}: {}", outcome.table);
        assert_eq!(outcome.exit_code(), 2, "{what}");
        assert_eq!(summary["verdict"], verdict.as_str(), "{what}");
        let g = &summary["variants"]["gossip"]["verdict"];
        assert_eq!(g["status"], verdict.as_str(), "{what}: {g}");
        assert!(g["met"].is_null(), "{what}: {g}");
        assert!(
            g["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r.as_str().unwrap().contains(reason)),
            "{what}: {g}"
        );
        let word = verdict.as_str().to_uppercase();
        assert!(
            outcome.table.contains(&format!(
                "gossip: claims converged, no unexplained lost write: {word} record, not judged"
            )),
            "{what}: {}",
            outcome.table
        );
        assert!(outcome.table.contains(reason), "{what}: {}", outcome.table);
        assert!(!outcome.table.contains("every variant met"), "{what}");
        // The other variant is judged as usual.
        assert_eq!(summary["variants"]["raft"]["verdict"]["status"], "met");
    }
}

#[test]
fn ids_are_checked_against_schedule_jsonl_when_it_exists() {
    let (outcome, summary) = check_after(|d| {
        // Five operations, offsets 0, 100, ... us; the histories' times do not match them.
        let lines: String = (0..5)
            .map(|i| format!("{{\"id\":{i},\"at_us\":{}}}\n", i * 100))
            .collect();
        std::fs::write(d.join("schedule.jsonl"), lines).unwrap();
    });
    assert_eq!(outcome.verdict, Verdict::Invalid, "{}", outcome.table);
    let reasons = summary["variants"]["gossip"]["verdict"]["reasons"].to_string();
    assert!(
        reasons.contains("scheduled at another time than schedule.jsonl says"),
        "{reasons}"
    );
}

#[test]
fn a_killed_run_is_analysed_as_incomplete() {
    let (outcome, summary) = check_after(|d| {
        // What run.json says after kill -9 during the raft variant: raft running, without
        // an outcome; its window start is recovered from schedule.jsonl.
        let manifest = std::fs::read_to_string(d.join("run.json")).unwrap();
        let manifest = edit(
            &manifest,
            r#""status":"failed","operations""#,
            r#""status":"running","operations""#,
        );
        let manifest = edit(
            &manifest,
            r#"{"name":"raft","kind":"raft","status":"ok","outcome":{"window_start_us":2000000,"operations":3,"ok":3,"fail":0,"unknown":0,"events":0,"interrupted":false,"lab_errors":0,"lab_error_details":[],"lab_failed_ops":0,"pacer_max_late_us":0}}"#,
            r#"{"name":"raft","kind":"raft","status":"running"}"#,
        );
        let manifest = edit(
            &manifest,
            r#"{"name":"broken","kind":"gossip","status":"failed","error":"the cluster did not start"}"#,
            r#"{"name":"broken","kind":"gossip","status":"not-run"}"#,
        );
        std::fs::write(d.join("run.json"), manifest).unwrap();
        // The schedule as the gossip variant ran it; raft's records are made to match it.
        let at = [100u64, 1000, 1_500_000, 2_000, 2_600_000];
        let lines: String = at
            .iter()
            .enumerate()
            .map(|(i, at)| format!("{{\"id\":{i},\"at_us\":{at}}}\n"))
            .collect();
        std::fs::write(d.join("schedule.jsonl"), lines).unwrap();
        let raft = d.join("raft/history.jsonl");
        let ops: Vec<OpRecord> = std::fs::read_to_string(&raft)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .map(|mut o: OpRecord| {
                o.scheduled_us = 2_000_000 + at[o.id as usize];
                o
            })
            .collect();
        std::fs::write(&raft, jsonl(&ops)).unwrap();
    });
    assert_eq!(outcome.verdict, Verdict::Incomplete, "{}", outcome.table);
    assert_eq!(outcome.exit_code(), 2);
    assert_eq!(summary["status"], "running");
    assert!(summary["reasons"][0]
        .as_str()
        .unwrap()
        .contains("the run was killed"));
    let r = &summary["variants"]["raft"];
    assert_eq!(r["status"], "running");
    assert_eq!(
        r["window_start_us"], 2_000_000,
        "recovered from schedule.jsonl"
    );
    assert_eq!(r["verdict"]["status"], "incomplete");
    assert!(r["verdict"]["reasons"]
        .to_string()
        .contains("on what was recorded the claim held"));
    assert_eq!(summary["variants"]["gossip"]["verdict"]["status"], "met");
    assert_eq!(summary["variants"]["broken"]["status"], "not-run");
    assert!(
        outcome.table.contains("verdict: INCOMPLETE"),
        "{}",
        outcome.table
    );
}

#[test]
fn writes_summary_and_csvs_and_exits_0_when_every_claim_holds() {
    let tmp = tempfile::tempdir().unwrap();
    run_dir(tmp.path(), "alice#2");
    let outcome = check_run(tmp.path()).unwrap();
    assert_eq!(outcome.verdict, Verdict::Consistent, "{}", outcome.table);
    assert_eq!(outcome.exit_code(), 0);
    assert_eq!(outcome.skipped, vec!["broken".to_string()]);
    assert_eq!(outcome.files.len(), 4);
    assert!(outcome.table.contains("gossip"), "{}", outcome.table);
    assert!(outcome.table.contains("(failed)"), "{}", outcome.table);

    let summary: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["verdict"], "consistent");
    // Variants in run order.
    let text = std::fs::read_to_string(tmp.path().join("summary.json")).unwrap();
    let at = |name: &str| text.find(&format!("\"{name}\": {{")).unwrap();
    assert!(at("gossip") < at("raft") && at("raft") < at("broken"));
    let g = &summary["variants"]["gossip"];
    // The fields the issue names.
    assert_eq!(g["reads"]["latency_us"]["p50"], 500);
    assert_eq!(g["writes"]["latency_us"]["max"], 800);
    assert!(g["reads"]["latency_us"]["p99"].is_u64());
    assert_eq!(g["reads"]["stale_fraction"], 0.333333);
    assert_eq!(g["availability"]["ok_fraction"], 0.8);
    assert_eq!(g["linearizable"], false);
    assert_eq!(g["session"]["read_your_writes_violations"], 0);
    assert_eq!(g["session"]["monotonic_read_violations"], 0);
    assert_eq!(g["lost_writes"], 0);
    assert_eq!(g["messages_per_op"], 4.0);
    assert_eq!(g["convergence"]["converged"], true);
    assert_eq!(g["verdict"]["met"], true);
    assert_eq!(g["cost"]["per_node"]["eu-1"]["node_messages_sent"], 20);
    let r = &summary["variants"]["raft"];
    assert_eq!(r["linearizable"], true);
    assert_eq!(r["reads"]["stale_fraction"], 0.0);
    assert!(r["messages_per_op"].is_null());
    let b = &summary["variants"]["broken"];
    assert_eq!(b["status"], "failed");
    assert_eq!(b["error"], "the cluster did not start");

    let csv = std::fs::read_to_string(tmp.path().join("timeseries.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("variant,second,ops,ok,fail,unknown,reads,"));
    // Four seconds of the measured window per analysed variant.
    assert_eq!(lines.len(), 1 + 4 + 4);
    assert_eq!(lines[1], "gossip,0,3,3,0,0,2,2,1,500,800,500,500,800,800,0");
    assert_eq!(lines[2], "gossip,1,1,1,0,0,1,1,0,500,500,500,500,,,0");
    assert_eq!(lines[3], "gossip,2,1,0,1,0,1,0,0,,,,,,,0");
    let by_dc = std::fs::read_to_string(tmp.path().join("timeseries_by_dc.csv")).unwrap();
    assert!(by_dc.contains("\ngossip,0,asia,1,1,0,0,1,1\n"), "{by_dc}");
    let vis = std::fs::read_to_string(tmp.path().join("visibility.csv")).unwrap();
    assert!(vis.contains("\ngossip,other_dc,0,1000,1,0,0\n"), "{vis}");
}

#[test]
fn exits_1_when_a_variant_misses_its_claim() {
    let tmp = tempfile::tempdir().unwrap();
    run_dir(tmp.path(), "alice#1");
    let outcome = check_run(tmp.path()).unwrap();
    assert_eq!(outcome.verdict, Verdict::Anomaly);
    assert_eq!(outcome.exit_code(), 1);
    assert!(outcome
        .variants
        .contains(&("raft".to_string(), Some(false))));
    assert!(
        outcome.table.contains("raft: claims linearizable: NOT MET"),
        "{}",
        outcome.table
    );
    assert!(
        outcome.table.contains("smallest example"),
        "{}",
        outcome.table
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["verdict"], "anomaly");
    assert_eq!(summary["variants"]["raft"]["linearizable"], false);
}

#[test]
fn unreadable_or_malformed_files_are_errors_but_a_cut_last_line_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        check_run(tmp.path()),
        Err(AnalysisError::Read { .. })
    ));

    run_dir(tmp.path(), "alice#2");
    let history = tmp.path().join("gossip/history.jsonl");
    let good = std::fs::read_to_string(&history).unwrap();
    // A run killed mid-write leaves a partial last line: skipped and counted.
    std::fs::write(&history, format!("{good}{{\"id\":9,\"cli")).unwrap();
    let cut = check_run(tmp.path()).unwrap();
    assert_eq!(cut.verdict, Verdict::Incomplete);
    let summary: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["variants"]["gossip"]["truncated_lines"], 1);

    // A malformed line in the middle is an error naming the file and line.
    let mut lines: Vec<&str> = good.lines().collect();
    lines[1] = "{not json";
    std::fs::write(&history, lines.join("\n") + "\n").unwrap();
    match check_run(tmp.path()) {
        Err(e @ AnalysisError::Parse { line: 2, .. }) => {
            assert!(e.to_string().contains("history.jsonl:2"), "{e}")
        }
        other => panic!("{other:?}"),
    }

    // A variant reported as run without its history.
    std::fs::remove_file(&history).unwrap();
    assert!(matches!(
        check_run(tmp.path()),
        Err(AnalysisError::Read { .. })
    ));
}

#[test]
fn availability_inside_a_fault_and_recovery_after_it() {
    // Window starts at 0; the fault lasts from 1 s to 2 s.
    let s = 1_000_000;
    let mut ops: Vec<OpRecord> = Vec::new();
    let mut id = 0;
    let mut op = |t: u64, ok: bool, ops: &mut Vec<OpRecord>| {
        let r = read(id, "alice/friend-asia", None, t, t + 100);
        ops.push(if ok { r } else { r.outcome(Outcome::Fail) });
        id += 1;
    };
    for i in 0..10 {
        op(i * s / 10, true, &mut ops); // before: all ok
        op(s + i * s / 10, i % 2 == 0, &mut ops); // during: half fail
    }
    for i in 0..4 {
        op(2 * s + i * s / 4, i < 2, &mut ops); // first second after: half fail
        op(3 * s + i * s / 4, true, &mut ops); // second second after: all ok
    }
    let events: Vec<Event> = vec![fault(s, true), fault(2 * s, false)];
    let summary = analyse(ops, events, &gossip(Conflict::LwwHlc));
    let f = &summary.availability.faults[0];
    assert_eq!((f.ops, f.ok), (10, 5));
    assert_eq!(f.ok_fraction, Some(0.5));
    assert_eq!(f.pre_fault_ok_fraction, Some(1.0));
    assert_eq!(f.recovery_us, Some(s));
    assert_eq!((f.start_s, f.end_s), (1.0, Some(2.0)));
    assert_eq!(f.by_dc["asia"].ok_fraction, Some(0.5));
    assert_eq!(summary.availability.ok_fraction, Some(0.75));
    assert_eq!(summary.availability.by_dc["asia"], Some(0.75));
}
