//! The lab's own failures are recorded as such, never as the system's: with the open-file
//! limit squeezed so that no new socket can be opened, the link layer's connect failures
//! become `lab_error` events, the messages they cost are counted as `dropped_lab` (not as
//! lost by the simulated network), and an operation the lab could not carry is left out of
//! the history instead of being recorded as a failed operation (unavailability).
//!
//! Alone in its binary: squeezing the limit affects the whole process, so the tests here
//! take turns through one lock.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use caplab::experiment::{parse, Overrides};
use caplab::faults::{plan, LeaderMemory};
use caplab::history::{Event, EventKind, OpRecord, Outcome};
use caplab::net::{LabFault, NetConfig, Network, Role};
use caplab::runner::{run_variant, VariantPlan};
use caplab::workload::Schedule;
use indicatif::ProgressBar;
use rlimit::Resource;
use support::{fixture, lines};
use tokio_util::sync::CancellationToken;

static SQUEEZE: Mutex<()> = Mutex::new(());

/// The lowest descriptor number not in use: a new descriptor always takes the lowest free
/// number, and the open-file limit bounds descriptor numbers, so a limit of this number
/// leaves no descriptor to be had.
fn lowest_free_fd() -> u64 {
    use std::os::fd::AsRawFd;
    let probe = std::fs::File::open("/dev/null").unwrap();
    probe.as_raw_fd() as u64
}

/// Runs `f` on a fresh runtime while holding the squeeze lock (the runtime itself needs
/// descriptors, so it must not be built while another test squeezes).
fn exclusive<F: std::future::Future<Output = ()>>(f: impl FnOnce() -> F) {
    let _turn = SQUEEZE.lock().unwrap_or_else(|e| e.into_inner());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f());
}

/// Lowers the soft open-file limit so that no new descriptor can be had; returns the
/// previous limits.
fn squeeze() -> (u64, u64) {
    let (soft, hard) = Resource::NOFILE.get().unwrap();
    Resource::NOFILE.set(lowest_free_fd(), hard).unwrap();
    (soft, hard)
}

fn unsqueeze((soft, hard): (u64, u64)) {
    Resource::NOFILE.set(soft, hard).unwrap();
}

#[test]
fn a_connect_the_lab_cannot_make_is_a_lab_fault_not_a_lost_message() {
    exclusive(connect_failure);
}

async fn connect_failure() {
    let net: Network<u32> = Network::new(NetConfig::zero(1, 1)).unwrap();
    let faults: Arc<Mutex<Vec<LabFault>>> = Arc::default();
    let seen = faults.clone();
    net.on_lab_fault(move |f| seen.lock().unwrap().push(f));
    let a = net.add_endpoint("n-1", 0, Role::Node).await.unwrap();
    let b = net.add_endpoint("n-2", 0, Role::Node).await.unwrap();
    let limits = squeeze();
    a.send(b.id(), &7).unwrap();
    wait_for(Duration::from_secs(5), || net.lab_faults() > 0).await;
    unsqueeze(limits);
    let got = faults.lock().unwrap().clone();
    assert!(!got.is_empty(), "no lab fault reported");
    assert_eq!(got[0].source, "net.connect", "{got:?}");
    assert!(got[0].detail.contains("n-1 -> n-2"), "{}", got[0].detail);
    let link = net.link_stats()[0];
    assert_eq!((link.dropped_lab, link.dropped_unreachable), (1, 0));
    assert_eq!(net.lab_drops(a.id(), b.id()), 1);
    // Once descriptors are available again the link works.
    let mut b = b;
    a.send(b.id(), &8).unwrap();
    let d = tokio::time::timeout(Duration::from_secs(5), b.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.msg, 8);
    net.shutdown().await;
}

/// Waits until `cond` holds or `limit` has passed.
async fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !cond() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn operations_the_lab_could_not_send_are_lab_errors_not_unavailability() {
    exclusive(ops_not_sent);
}

async fn ops_not_sent() {
    let exp = Arc::new(
        parse(&fixture("squeezed"), "t", &Overrides::default())
            .unwrap()
            .experiment,
    );
    let schedule = Arc::new(Schedule::generate(&exp));
    let dir = tempfile::tempdir().unwrap();
    let vdir = dir.path().join("gossip");
    std::fs::create_dir_all(&vdir).unwrap();
    let run = tokio::spawn(run_variant(VariantPlan {
        experiment: exp.clone(),
        schedule: schedule.clone(),
        variant: exp.variants[0].clone(),
        dir: vdir.clone(),
        faults: Arc::new(plan(&exp)),
        leaders: LeaderMemory::default(),
        cancel: CancellationToken::new(),
        progress: ProgressBar::hidden(),
    }));
    // Clients connect to their node on their first operation: squeezing the limit during
    // the measured window stops every client that has not spoken yet from connecting.
    // Squeeze once the window has begun (the first operation is on record), and keep the
    // limit squeezed until an operation has been refused for it (or 2 s have passed).
    let events_path = vdir.join("events.jsonl");
    let history_path = vdir.join("history.jsonl");
    wait_for(Duration::from_secs(30), || {
        std::fs::metadata(&history_path).is_ok_and(|m| m.len() > 0)
    })
    .await;
    // Opened beforehand: nothing can be opened while squeezed.
    let mut events_file = std::fs::File::open(&events_path).unwrap();
    let limits = squeeze();
    wait_for(Duration::from_secs(2), || {
        use std::io::{Read, Seek};
        let mut text = String::new();
        events_file.rewind().is_ok()
            && events_file.read_to_string(&mut text).is_ok()
            && text.contains("runner.client")
    })
    .await;
    unsqueeze(limits);
    let outcome = run.await.unwrap().unwrap();

    println!(
        "scheduled {}, lab errors {}, ops not carried {}, ok {}, fail {}, unknown {}",
        schedule.ops.len(),
        outcome.lab_errors,
        outcome.lab_failed_ops,
        outcome.ok,
        outcome.fail,
        outcome.unknown
    );
    let history: Vec<OpRecord> = lines(&vdir.join("history.jsonl"));
    let events: Vec<Event> = lines(&events_path);
    let lab: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::LabError { source, detail } => Some((source.as_str(), detail.as_str())),
            _ => None,
        })
        .collect();
    assert!(
        lab.iter().any(|(s, _)| *s == "net.connect"),
        "no connect failure recorded: {lab:?}"
    );
    assert!(
        lab.iter().any(|(s, _)| *s == "runner.client"),
        "no operation recorded as not carried out: {lab:?}"
    );
    assert!(
        outcome.lab_errors > 0 && outcome.lab_failed_ops > 0,
        "{outcome:?}"
    );
    // The operations the lab could not carry are not in the history, and no operation in it
    // failed: a healthy gossip cluster answered everything the lab did deliver.
    assert_eq!(
        history.len() as u64 + outcome.lab_failed_ops,
        schedule.ops.len() as u64
    );
    let failed: Vec<_> = history
        .iter()
        .filter(|o| o.outcome != Outcome::Ok)
        .collect();
    assert!(
        failed.is_empty(),
        "counted as the system's failures: {failed:?}"
    );
}
