//! Every fault kind applied to a running cluster through the runner: visible in
//! `events.jsonl` with what it did, and its effect visible in `history.jsonl`.

mod support;

use std::path::Path;
use std::sync::Arc;

use caplab::experiment::{parse, Experiment, Overrides};
use caplab::faults::{plan, LeaderMemory};
use caplab::history::{Event, EventKind, OpKind, OpRecord, Outcome};
use caplab::runner::{run_variant, VariantPlan};
use caplab::workload::Schedule;
use indicatif::ProgressBar;
use support::{fixture, lines};
use tokio_util::sync::CancellationToken;

async fn run(
    exp: &Arc<Experiment>,
    variant: usize,
    dir: &Path,
) -> (Vec<OpRecord>, Vec<Event>, u64) {
    let v = exp.variants[variant].clone();
    let vdir = dir.join(&v.name);
    std::fs::create_dir_all(&vdir).unwrap();
    let outcome = run_variant(VariantPlan {
        experiment: exp.clone(),
        schedule: Arc::new(Schedule::generate(exp)),
        variant: v,
        dir: vdir.clone(),
        faults: Arc::new(plan(exp)),
        leaders: LeaderMemory::default(),
        cancel: CancellationToken::new(),
        progress: ProgressBar::hidden(),
    })
    .await
    .unwrap();
    (
        lines(&vdir.join("history.jsonl")),
        lines(&vdir.join("events.jsonl")),
        outcome.window_start_us,
    )
}

fn fault_events(events: &[Event]) -> Vec<(bool, usize, String, String)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::FaultStart {
                fault,
                kind,
                detail,
            } => Some((true, *fault, kind.clone(), detail.clone())),
            EventKind::FaultEnd {
                fault,
                kind,
                detail,
            } => Some((false, *fault, kind.clone(), detail.clone())),
            _ => None,
        })
        .collect()
}

/// Asserts that every fault started and ended once, saying what it did.
fn every_fault_recorded(events: &[Event]) {
    let f = fault_events(events);
    let kinds = [
        "partition",
        "crash",
        "pause",
        "latency",
        "loss",
        "clock-skew",
        "partition",
    ];
    for (i, kind) in kinds.iter().enumerate() {
        let starts: Vec<_> = f.iter().filter(|e| e.0 && e.1 == i).collect();
        let ends: Vec<_> = f.iter().filter(|e| !e.0 && e.1 == i).collect();
        assert_eq!((starts.len(), ends.len()), (1, 1), "fault {i}: {f:?}");
        assert_eq!(starts[0].2, *kind);
    }
    let detail = |i: usize| f.iter().find(|e| e.0 && e.1 == i).unwrap().3.clone();
    assert!(detail(0).contains("isolate asia"), "{}", detail(0));
    assert!(detail(1).contains("crash us-2"), "{}", detail(1));
    assert!(detail(2).contains("pause eu-2"), "{}", detail(2));
    assert!(
        detail(3).contains("eu->us") && detail(3).contains("150ms"),
        "{}",
        detail(3)
    );
    assert!(detail(4).contains("50%"), "{}", detail(4));
    assert!(
        detail(5).contains("eu-1") && detail(5).contains("+2.000 s"),
        "{}",
        detail(5)
    );
    assert!(detail(6).contains("one way"), "{}", detail(6));
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Crash { node } if node == "us-2")));
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Restart { node } if node == "us-2")));
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Pause { node } if node == "eu-2")));
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Resume { node } if node == "eu-2")));
}

/// Ops invoked in `[from_s, to_s)` of the measured window.
fn during(h: &[OpRecord], start: u64, from_s: f64, to_s: f64) -> Vec<&OpRecord> {
    h.iter()
        .filter(|o| {
            let t = (o.invoke_us - start) as f64 / 1e6;
            t >= from_s && t < to_s
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_kind_hits_a_gossip_cluster_and_shows_in_its_history() {
    let exp = Arc::new(
        parse(&fixture("all-faults"), "t", &Overrides::default())
            .unwrap()
            .experiment,
    );
    let dir = tempfile::tempdir().unwrap();
    let (h, events, start) = run(&exp, 0, dir.path()).await;
    every_fault_recorded(&events);

    // During the asia partition every asia client is still served (availability)...
    let cut: Vec<_> = during(&h, start, 1.2, 3.8)
        .into_iter()
        .filter(|o| o.dc == "asia")
        .collect();
    assert!(!cut.is_empty());
    assert!(
        cut.iter().all(|o| o.outcome == Outcome::Ok),
        "gossip refused an asia client"
    );
    // ...but asia's friends do not see pictures written elsewhere meanwhile: no read in asia
    // returns a value first written outside asia during the cut.
    let written_outside: std::collections::HashSet<&str> = during(&h, start, 1.0, 4.0)
        .into_iter()
        .filter(|o| o.kind == OpKind::Write && o.dc != "asia")
        .filter_map(|o| o.value.as_deref())
        .collect();
    assert!(!written_outside.is_empty());
    assert!(cut.iter().filter(|o| o.kind == OpKind::Read).all(|o| o
        .value
        .as_deref()
        .is_none_or(|v| !written_outside.contains(v))));

    // The crashed node's clients get no answer while it is down.
    let crashed: Vec<_> = during(&h, start, 4.6, 5.4)
        .into_iter()
        .filter(|o| o.node.as_deref() == Some("us-2"))
        .collect();
    assert!(!crashed.is_empty() && crashed.iter().all(|o| o.outcome != Outcome::Ok));
    // The paused node's clients wait until it resumes.
    let paused: Vec<_> = during(&h, start, 6.1, 6.4)
        .into_iter()
        .filter(|o| o.node.as_deref() == Some("eu-2"))
        .collect();
    assert!(!paused.is_empty() && paused.iter().all(|o| o.outcome != Outcome::Ok));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_kind_hits_a_raft_cluster_and_shows_in_its_history() {
    let exp = Arc::new(
        parse(&fixture("all-faults"), "t", &Overrides::default())
            .unwrap()
            .experiment,
    );
    let dir = tempfile::tempdir().unwrap();
    let (h, events, start) = run(&exp, 1, dir.path()).await;
    every_fault_recorded(&events);
    // asia is a minority: its writes cannot commit while it is cut off.
    let cut: Vec<_> = during(&h, start, 1.5, 3.5)
        .into_iter()
        .filter(|o| o.dc == "asia" && o.kind == OpKind::Write)
        .collect();
    assert!(!cut.is_empty());
    assert!(
        cut.iter().all(|o| o.outcome != Outcome::Ok),
        "a minority write committed"
    );
    // The majority side carries on.
    let majority = during(&h, start, 1.5, 3.5)
        .into_iter()
        .filter(|o| o.dc == "eu" && o.outcome == Outcome::Ok)
        .count();
    assert!(majority > 0);
}

/// The `overlapping-faults` header with `variants_and_faults` appended.
fn overlapping(variants_and_faults: &str) -> Arc<Experiment> {
    let text = format!("{}{variants_and_faults}\n", fixture("overlapping-faults"));
    Arc::new(parse(&text, "t", &Overrides::default()).unwrap().experiment)
}

fn end_detail(events: &[Event], fault: usize) -> String {
    fault_events(events)
        .into_iter()
        .find(|e| !e.0 && e.1 == fault)
        .map(|e| e.3)
        .unwrap_or_default()
}

/// The bug this guards against: the first of two overlapping isolations of eu healed the
/// cut the second still needed, so eu's Raft writes succeeded between 2 and 4.5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_partitions_keep_a_raft_minority_cut_until_the_last_ends() {
    let exp = overlapping(
        r#"
[[variants]]
name = "raft"
kind = "raft"
heartbeat_interval = "50ms"
election_timeout_min = "300ms"
election_timeout_max = "600ms"
[[faults]]
at = "1s"
duration = "1s"
kind = "partition"
isolate_dc = "eu"
[[faults]]
at = "1500ms"
duration = "3s"
kind = "partition"
isolate_dc = "eu"
"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let (h, events, start) = run(&exp, 0, dir.path()).await;
    // The first fault's end heals nothing: the second still cuts every eu link.
    let first_end = end_detail(&events, 0);
    assert!(
        first_end.contains("nothing healed") && first_end.contains("another fault"),
        "{first_end}"
    );
    assert!(end_detail(&events, 1).contains("healed eu->"), "{events:?}");
    // From the history: no eu write invoked between the first end and the second end
    // (with a margin for the workload timeout) took effect.
    let eu_writes: Vec<_> = during(&h, start, 2.2, 3.9)
        .into_iter()
        .filter(|o| o.dc == "eu" && o.kind == OpKind::Write)
        .collect();
    assert!(!eu_writes.is_empty());
    assert!(
        eu_writes.iter().all(|o| o.outcome != Outcome::Ok),
        "an eu write committed while eu was still cut off: {:?}",
        eu_writes.iter().find(|o| o.outcome == Outcome::Ok)
    );
    // The majority (asia + us) carried on meanwhile.
    assert!(during(&h, start, 2.2, 4.0)
        .iter()
        .any(|o| o.dc == "us" && o.outcome == Outcome::Ok));
}

/// Two overlapping crashes of one node keep it down until the last ends; two overlapping
/// pauses keep it frozen until the last ends; checked from the recorded history and events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_crashes_and_pauses_hold_a_gossip_node_until_the_last_ends() {
    let exp = overlapping(
        r#"
[[variants]]
name = "gossip"
kind = "gossip"
gossip_interval = "100ms"
[[faults]]
at = "1s"
duration = "1s"
kind = "crash"
node = "us-2"
[[faults]]
at = "1500ms"
duration = "1500ms"
kind = "crash"
node = "us-2"
[[faults]]
at = "3500ms"
duration = "500ms"
kind = "pause"
node = "eu-2"
[[faults]]
at = "3700ms"
duration = "1300ms"
kind = "pause"
node = "eu-2"
"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let (h, events, start) = run(&exp, 0, dir.path()).await;
    let count = |f: &dyn Fn(&EventKind) -> bool| events.iter().filter(|e| f(&e.kind)).count();
    assert_eq!(
        count(&|k| matches!(k, EventKind::Crash { node } if node == "us-2")),
        1
    );
    assert_eq!(
        count(&|k| matches!(k, EventKind::Restart { node } if node == "us-2")),
        1
    );
    assert_eq!(
        count(&|k| matches!(k, EventKind::Pause { node } if node == "eu-2")),
        1
    );
    assert_eq!(
        count(&|k| matches!(k, EventKind::Resume { node } if node == "eu-2")),
        1
    );
    assert!(end_detail(&events, 0).contains("stays down"));
    assert!(end_detail(&events, 1).contains("restarted us-2"));
    assert!(end_detail(&events, 2).contains("stays paused"));
    assert!(end_detail(&events, 3).contains("resumed eu-2"));
    // The restart happened at the second crash's end, not the first's.
    let restart_s = events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::Restart { node } if node == "us-2"))
        .map(|e| (e.t_us - start) as f64 / 1e6)
        .unwrap();
    assert!(restart_s >= 3.0, "restarted at {restart_s} s");

    let on = |node: &str, from: f64, to: f64| -> Vec<OpRecord> {
        during(&h, start, from, to)
            .into_iter()
            .filter(|o| o.node.as_deref() == Some(node))
            .cloned()
            .collect()
    };
    let down = on("us-2", 2.1, 2.9);
    assert!(!down.is_empty() && down.iter().all(|o| o.outcome != Outcome::Ok));
    let frozen = on("eu-2", 4.1, 4.4);
    assert!(!frozen.is_empty() && frozen.iter().all(|o| o.outcome != Outcome::Ok));
    // Served again after the last of each.
    assert!(on("us-2", 3.3, 5.5)
        .iter()
        .any(|o| o.outcome == Outcome::Ok));
    assert!(on("eu-2", 5.1, 5.5)
        .iter()
        .any(|o| o.outcome == Outcome::Ok));
}
