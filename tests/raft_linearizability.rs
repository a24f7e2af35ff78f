//! Checked histories of the Raft cluster: a run with a DC partition and a leader crash is
//! linearizable per key under the `linearizable` read policy, and a stale read served by a
//! cut-off follower under the `follower` policy is reported as not linearizable.
//!
//! Operations are recorded as `history.jsonl` would record them (invoke and completion on
//! the run clock; `ok`, `fail` for a definite rejection, `unknown` for an indeterminate
//! answer or no answer) and handed to [`caplab::check::linearizability::check_history`].

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use caplab::check::linearizability::check_history;
use caplab::cluster::raft::RaftCluster;
use caplab::cluster::{ClientOk, Cluster};
use caplab::history::{Device, OpKind, OpRecord, Outcome};
use caplab::runner::client::CallResult;
use parking_lot::Mutex;
use support::cluster::{three_dcs, Harness};

fn raft(read_policy: &str) -> String {
    format!(
        "name = \"raft\"\nkind = \"raft\"\nread_policy = \"{read_policy}\"\n\
         heartbeat_interval = \"50ms\"\nelection_timeout_min = \"150ms\"\n\
         election_timeout_max = \"300ms\"\nrpc_timeout = \"300ms\""
    )
}

/// Runs one operation through `node` and records it.
async fn record(
    h: &Harness<RaftCluster>,
    id: u64,
    client: &str,
    node: usize,
    key: &str,
    write: Option<String>,
) -> OpRecord {
    let invoke_us = h.clock.now_us();
    let result = match &write {
        Some(value) => h.write(node, key, value).await,
        None => h.read(node, key).await,
    };
    let complete_us = h.clock.now_us();
    let kind = if write.is_some() {
        OpKind::Write
    } else {
        OpKind::Read
    };
    let (outcome, value, version, error) = match result {
        CallResult::Ok(ClientOk::Written { version }) => (Outcome::Ok, write, Some(version), None),
        CallResult::Ok(ClientOk::Read { value, version, .. }) => {
            (Outcome::Ok, value, version, None)
        }
        CallResult::Rejected(e) => (Outcome::Fail, write, None, Some(e)),
        CallResult::Indeterminate(e) => (Outcome::Unknown, write, None, Some(e)),
        CallResult::Timeout => (Outcome::Unknown, write, None, Some("timeout".into())),
        CallResult::LabFailure(e) => panic!("the lab failed, not the system: {e}"),
    };
    let node_name = h.exp.topology.nodes[node].name.clone();
    OpRecord {
        id,
        client: client.to_string(),
        user: key.trim_start_matches("profile/").to_string(),
        device: Device::Phone,
        dc: h.exp.topology.dcs[h.exp.topology.nodes[node].dc]
            .name
            .clone(),
        node: Some(node_name),
        kind,
        key: key.to_string(),
        value,
        bytes: 64,
        scheduled_us: invoke_us,
        invoke_us,
        complete_us,
        outcome,
        version,
        error,
    }
}

/// Waits until `count` has grown by `by`.
async fn progress(count: &AtomicUsize, by: usize) {
    let want = count.load(Ordering::Relaxed) + by;
    let deadline = Instant::now() + Duration::from_secs(20);
    while count.load(Ordering::Relaxed) < want {
        assert!(Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_with_a_partition_and_a_leader_crash_is_linearizable() {
    let h = Arc::new(
        Harness::<RaftCluster>::start(&three_dcs("raft", [1, 2, 2], "5ms", &raft("linearizable")))
            .await,
    );
    let n = h.nodes.len();
    let keys = ["profile/a", "profile/b", "profile/c"];
    let history: Arc<Mutex<Vec<OpRecord>>> = Arc::default();
    let ok_count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..2 * n {
        let (h, history, ok_count, stop) =
            (h.clone(), history.clone(), ok_count.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let client = format!("worker-{w}");
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                seq += 1;
                // Each worker sticks to one node; keys and op kinds rotate.
                let node = w % n;
                let key = keys[(seq as usize + w) % keys.len()];
                let write = (seq % 3 != 0).then(|| format!("w{w}-{seq}"));
                let id = (w as u64) << 32 | seq;
                let op = record(&h, id, &client, node, key, write).await;
                if op.outcome == Outcome::Ok {
                    ok_count.fetch_add(1, Ordering::Relaxed);
                }
                history.lock().push(op);
            }
        }));
    }
    progress(&ok_count, 150).await;
    // Cut the leader's DC (a minority) off, both ways.
    let leader = h.cluster.leader().expect("a leader");
    let cut = h.exp.topology.nodes[leader].dc;
    h.net.isolate_dc(cut);
    progress(&ok_count, 150).await;
    h.net.heal();
    progress(&ok_count, 150).await;
    // Crash whoever leads now, and bring it back.
    h.cluster.ready(Duration::from_secs(10)).await.unwrap();
    let leader = h.cluster.leader().expect("a leader");
    h.cluster.crash(leader).await.unwrap();
    progress(&ok_count, 150).await;
    h.cluster.restart(leader).await.unwrap();
    progress(&ok_count, 150).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let ops = history.lock().clone();
    let outcomes = |o: Outcome| ops.iter().filter(|r| r.outcome == o).count();
    let (ok, fail, unknown) = (
        outcomes(Outcome::Ok),
        outcomes(Outcome::Fail),
        outcomes(Outcome::Unknown),
    );
    let report = check_history(&ops, Duration::from_secs(60));
    println!(
        "{} ops ({ok} ok, {fail} fail, {unknown} unknown) checked in {:?}",
        ops.len(),
        report.elapsed
    );
    assert_eq!(
        report.verdict,
        Some(true),
        "{} ops ({ok} ok, {fail} fail, {unknown} unknown): {:#?}",
        ops.len(),
        report.counterexamples().collect::<Vec<_>>()
    );
    // The faults did bite: some operations did not succeed.
    assert!(fail + unknown > 0, "{ok} ok and nothing else");
    let h = Arc::try_unwrap(h).ok().expect("workers finished");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_follower_reads_under_a_partition_are_not_linearizable() {
    let h = Harness::<RaftCluster>::start(&three_dcs("raft", [1, 1, 1], "5ms", &raft("follower")))
        .await;
    let leader = h.cluster.leader().expect("a leader");
    let f = (leader + 1) % 3;
    let key = "profile/s";
    let mut ops = vec![record(&h, 1, "owner", leader, key, Some("s#1".into())).await];
    // Wait until the follower shows the first picture, then cut it off.
    let deadline = Instant::now() + Duration::from_secs(5);
    while h
        .cluster
        .replica_values(f)
        .and_then(|v| v.get(key).cloned())
        .as_deref()
        != Some("s#1")
    {
        assert!(Instant::now() < deadline, "the follower never applied s#1");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for other in (0..3).filter(|n| *n != f) {
        h.net.block(h.nodes[f], h.nodes[other]);
        h.net.block(h.nodes[other], h.nodes[f]);
    }
    ops.push(record(&h, 2, "owner", leader, key, Some("s#2".into())).await);
    ops.push(record(&h, 3, "friend", f, key, None).await);
    assert!(ops.iter().all(|o| o.outcome == Outcome::Ok), "{ops:#?}");
    assert_eq!(
        ops[2].value.as_deref(),
        Some("s#1"),
        "the read was not stale"
    );

    let report = check_history(&ops, Duration::from_secs(10));
    assert_eq!(report.verdict, Some(false), "{report:#?}");
    let ce = report.counterexamples().next().expect("a counterexample");
    assert_eq!(ce.ops.len(), 3, "{ce:#?}");
    h.stop().await;
}
