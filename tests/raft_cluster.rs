//! The Raft cluster end to end on loopback TCP: writes and linearizable reads on 3 and 5
//! nodes, failover after a leader crash, a minority DC cut off, convergence after healing,
//! disk recovery, acknowledged writes surviving crashes of any minority, pauses, and a write
//! burst beyond the leader's bound (shed explicitly, the rest batched).
//!
//! Every test waits on conditions (cluster readiness, polling with deadlines), never on
//! fixed sleeps. Delays are small (200 µs inside a DC, 5 ms between DCs) and timeouts short
//! (heartbeat 50 ms, elections 150-300 ms) to keep the tests fast.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use caplab::cluster::raft::RaftCluster;
use caplab::cluster::{ClientOk, Cluster};
use caplab::history::EventKind;
use caplab::runner::client::CallResult;
use parking_lot::Mutex;
use support::cluster::{three_dcs, Harness};

fn raft(storage: &str, read_policy: &str) -> String {
    let storage = match storage {
        "memory" => "storage = \"memory\"".to_string(),
        fsync => format!("storage = \"disk\"\nfsync = \"{fsync}\""),
    };
    format!(
        "name = \"raft\"\nkind = \"raft\"\nread_policy = \"{read_policy}\"\n\
         heartbeat_interval = \"50ms\"\nelection_timeout_min = \"150ms\"\n\
         election_timeout_max = \"300ms\"\nrpc_timeout = \"500ms\"\n{storage}"
    )
}

async fn start(per_dc: [usize; 3], storage: &str) -> Harness<RaftCluster> {
    Harness::<RaftCluster>::start(&three_dcs(
        "raft",
        per_dc,
        "5ms",
        &raft(storage, "linearizable"),
    ))
    .await
}

fn written(r: CallResult) -> Vec<u64> {
    match r {
        CallResult::Ok(ClientOk::Written { version }) => version,
        other => panic!("write failed: {other:?}"),
    }
}

fn all(h: &Harness<RaftCluster>) -> Vec<usize> {
    (0..h.nodes.len()).collect()
}

/// Polls `f` until it returns `Some`, failing the test after `within`.
async fn eventually<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until every listed replica holds the same profiles, and returns them.
async fn replicas_agree(h: &Harness<RaftCluster>, nodes: &[usize]) -> BTreeMap<String, String> {
    eventually(Duration::from_secs(10), "replicas agree", || {
        let first = h.cluster.replica_values(nodes[0])?;
        nodes[1..]
            .iter()
            .all(|n| h.cluster.replica_values(*n).as_ref() == Some(&first))
            .then_some(first)
    })
    .await
}

/// Writes `key` through `node` until a write is acknowledged; returns its label and version.
async fn write_until_ok(
    h: &Harness<RaftCluster>,
    node: usize,
    key: &str,
    label: &str,
) -> (String, Vec<u64>) {
    let deadline = Instant::now() + Duration::from_secs(15);
    for attempt in 0.. {
        let value = format!("{label}.{attempt}");
        if let CallResult::Ok(ClientOk::Written { version }) = h.write(node, key, &value).await {
            return (value, version);
        }
        assert!(Instant::now() < deadline, "no write of {key} acknowledged");
    }
    unreachable!()
}

/// Reads `key` through `node` until a read succeeds. Used right after restarts: the first
/// messages on a client's connection to a restarted node are lost with the old connection,
/// as they would be in a real network.
async fn value_when_served(h: &Harness<RaftCluster>, node: usize, key: &str) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match h.read(node, key).await {
            CallResult::Ok(ClientOk::Read { value, .. }) => return value,
            other => assert!(
                Instant::now() < deadline,
                "read of {key} at {node}: {other:?}"
            ),
        }
    }
}

async fn writes_and_linearizable_reads(per_dc: [usize; 3]) {
    let h = start(per_dc, "memory").await;
    let n = h.nodes.len();
    let leader = h.cluster.leader().expect("a leader after ready");
    let keys: Vec<String> = (0..n).map(|i| format!("profile/u{i}")).collect();
    // Every node takes writes: the leader directly, followers by forwarding.
    let mut versions = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        versions.push(written(h.write(i, key, &format!("u{i}#1")).await));
    }
    // Log order is the order of the (sequential) writes.
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    // A linearizable read anywhere sees every completed write at once, with its version.
    for node in 0..n {
        for (i, key) in keys.iter().enumerate() {
            let (value, version) = h.value(node, key).await;
            assert_eq!(value, Some(format!("u{i}#1")), "{key} at node {node}");
            assert_eq!(version.as_ref(), Some(&versions[i]));
        }
    }
    // A write through the last follower is visible to a read through the first node.
    written(h.write(n - 1, &keys[0], "u0#2").await);
    assert_eq!(h.value(0, &keys[0]).await.0.as_deref(), Some("u0#2"));
    assert_eq!(h.value(0, "profile/nobody").await, (None, None));

    let state = replicas_agree(&h, &all(&h)).await;
    assert_eq!(state.len(), n);
    let leader_name = h.exp.topology.nodes[leader].name.clone();
    let events = h.stop().await;
    let applies = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Apply { .. }))
        .count();
    assert_eq!(
        applies,
        n * (n + 1),
        "every replica applied every write once"
    );
    for node in &h_names(per_dc) {
        assert!(
            events.iter().any(|e| matches!(&e.kind,
                EventKind::LeaderChange { node: m, leader: Some(l), term }
                    if m == node && *l == leader_name && *term > 0)),
            "{node} recorded no leader change to {leader_name}"
        );
    }
}

/// Node names of a `three_dcs` topology.
fn h_names(per_dc: [usize; 3]) -> Vec<String> {
    ["asia", "eu", "us"]
        .iter()
        .zip(per_dc)
        .flat_map(|(dc, k)| (1..=k).map(move |i| format!("{dc}-{i}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_serve_writes_and_linearizable_reads() {
    writes_and_linearizable_reads([1, 1, 1]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_serve_writes_and_linearizable_reads() {
    writes_and_linearizable_reads([1, 2, 2]).await;
}

async fn leader_crash_fails_over(per_dc: [usize; 3]) {
    let h = start(per_dc, "memory").await;
    let old = h.cluster.leader().expect("a leader");
    let survivor = (old + 1) % h.nodes.len();
    let old_term = h.cluster.metrics(old).map(|m| m.current_term).unwrap_or(0);
    written(h.write(survivor, "profile/a", "a#1").await);

    h.cluster.crash(old).await.unwrap();
    assert_eq!(h.read(old, "profile/a").await, CallResult::Timeout);
    h.cluster.ready(Duration::from_secs(5)).await.unwrap();
    let new = h.cluster.leader().expect("a new leader");
    assert_ne!(new, old);
    // Writes continue, through the new leader and through a follower.
    written(h.write(new, "profile/a", "a#2").await);
    written(h.write(survivor, "profile/b", "b#1").await);
    for node in (0..h.nodes.len()).filter(|n| *n != old) {
        assert_eq!(h.value(node, "profile/a").await.0.as_deref(), Some("a#2"));
    }
    // The old leader comes back as a follower and catches up.
    h.cluster.restart(old).await.unwrap();
    let state = replicas_agree(&h, &all(&h)).await;
    assert_eq!(state.get("profile/a").map(String::as_str), Some("a#2"));
    assert_eq!(state.get("profile/b").map(String::as_str), Some("b#1"));

    let (old_name, new_name) = (
        h.exp.topology.nodes[old].name.clone(),
        h.exp.topology.nodes[new].name.clone(),
    );
    let events = h.stop().await;
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Crash { node } if *node == old_name)));
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Restart { node } if *node == old_name)));
    assert!(events.iter().any(|e| matches!(&e.kind,
        EventKind::LeaderChange { leader: Some(l), term, .. } if *l == new_name && *term > old_term)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_elect_a_new_leader_after_a_leader_crash() {
    leader_crash_fails_over([1, 1, 1]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_elect_a_new_leader_after_a_leader_crash() {
    leader_crash_fails_over([1, 2, 2]).await;
}

/// Cuts the DC of the current leader (a minority DC) off from the others, both ways.
async fn minority_partition(per_dc: [usize; 3]) {
    let h = start(per_dc, "memory").await;
    let key = "profile/shared";
    written(h.write(0, key, "before").await);
    let cut = h.exp.topology.nodes[h.cluster.leader().expect("a leader")].dc;
    let minority: Vec<usize> = h.exp.topology.nodes_in(cut).collect();
    let majority: Vec<usize> = (0..h.nodes.len())
        .filter(|n| !minority.contains(n))
        .collect();
    assert!(minority.len() * 2 < h.nodes.len());
    h.net.isolate_dc(cut);
    // The minority side cannot commit: its clients see fail or unknown.
    for (i, node) in minority.iter().enumerate() {
        let r = h.write(*node, key, &format!("minority#{i}")).await;
        assert!(
            !matches!(r, CallResult::Ok(_)),
            "a minority node acknowledged a write: {r:?}"
        );
    }
    // The majority elects a leader among itself and carries on.
    let mut last = String::new();
    for (i, node) in majority.iter().enumerate() {
        last = write_until_ok(&h, *node, key, &format!("majority#{i}"))
            .await
            .0;
    }
    for node in &majority {
        assert_eq!(h.value(*node, key).await.0, Some(last.clone()));
    }
    // Healed, every replica converges to the majority's history; the minority's attempts
    // were never applied anywhere.
    h.net.heal();
    let state = replicas_agree(&h, &all(&h)).await;
    assert_eq!(state.get(key), Some(&last));
    for node in all(&h) {
        let logged = h.cluster.logged_writes(node).unwrap();
        assert!(
            logged.iter().all(|(_, _, v)| !v.starts_with("minority#")),
            "node {node} kept a minority write: {logged:?}"
        );
    }
    let events = h.stop().await;
    assert!(!events.iter().any(|e| matches!(&e.kind,
        EventKind::Apply { value, .. } if value.starts_with("minority#"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_minority_dc_cut_off_cannot_commit_and_heals() {
    minority_partition([1, 1, 1]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_minority_dc_cut_off_cannot_commit_and_heals() {
    minority_partition([1, 2, 2]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_log_survives_a_restart_intact() {
    let h = start([1, 1, 1], "always").await;
    let keys: Vec<String> = (0..5).map(|i| format!("profile/k{i}")).collect();
    for round in 0..4 {
        for (i, key) in keys.iter().enumerate() {
            written(h.write(i % 3, key, &format!("{key}#{round}")).await);
        }
    }
    let before = replicas_agree(&h, &all(&h)).await;
    let leader = h.cluster.leader().expect("a leader");
    let f = (leader + 1) % 3;
    let last_index = h.cluster.last_log_index(f).expect("a log");
    let logged = h.cluster.logged_writes(f).unwrap();
    assert_eq!(logged.len(), 20);

    h.cluster.crash(f).await.unwrap();
    let path = h.cluster.log_path(f).expect("a disk log");
    assert!(
        std::fs::metadata(&path).unwrap().len() > 20 * 64,
        "the log file is there"
    );
    // Cut the node off, so that whatever it has after the restart came from its file.
    for other in (0..3).filter(|n| *n != f) {
        h.net.block(h.nodes[f], h.nodes[other]);
        h.net.block(h.nodes[other], h.nodes[f]);
    }
    h.cluster.restart(f).await.unwrap();
    assert_eq!(h.cluster.last_log_index(f), Some(last_index));
    assert_eq!(h.cluster.logged_writes(f).unwrap(), logged);
    // The committed entries were re-applied to the fresh state machine at start.
    assert_eq!(h.cluster.replica_values(f).unwrap(), before);

    // Back in touch, it follows new writes.
    h.net.heal();
    written(h.write(leader, &keys[0], "after").await);
    let after = replicas_agree(&h, &all(&h)).await;
    assert_eq!(after.get(&keys[0]).map(String::as_str), Some("after"));

    // Even a crash of every node loses nothing acknowledged.
    for n in 0..3 {
        h.cluster.crash(n).await.unwrap();
    }
    for n in 0..3 {
        h.cluster.restart(n).await.unwrap();
    }
    h.cluster.ready(Duration::from_secs(5)).await.unwrap();
    for (key, value) in &after {
        assert_eq!(value_when_served(&h, 0, key).await.as_ref(), Some(value));
    }
    h.stop().await;
}

/// Acknowledged writes per key, in order: (value, version).
type Acked = HashMap<String, Vec<(String, Vec<u64>)>>;

/// Writers keep updating their keys while minorities of nodes (the leader among them)
/// crash and restart; every acknowledged write must stay in every replica's log, and each
/// key must end with its last acknowledged value.
async fn acknowledged_writes_survive(per_dc: [usize; 3], storage: &str) {
    let h = Arc::new(start(per_dc, storage).await);
    let n = h.nodes.len();
    let minority = (n - 1) / 2;
    let down: Arc<Mutex<HashSet<usize>>> = Arc::default();
    let acked: Arc<Mutex<Acked>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let keys: Vec<String> = (0..3).map(|i| format!("profile/w{i}")).collect();
    let mut writers = Vec::new();
    for (w, key) in keys.iter().cloned().enumerate() {
        let (h, down, acked, stop) = (h.clone(), down.clone(), acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut seq = 0usize;
            loop {
                let finishing = stop.load(Ordering::Relaxed);
                let node = (0..n)
                    .map(|i| (w + seq + i) % n)
                    .find(|i| !down.lock().contains(i))
                    .unwrap_or(0);
                let value = format!("{key}#{seq}");
                seq += 1;
                if let CallResult::Ok(ClientOk::Written { version }) =
                    h.write(node, &key, &value).await
                {
                    acked
                        .lock()
                        .entry(key.clone())
                        .or_default()
                        .push((value, version));
                    if finishing {
                        return;
                    }
                }
            }
        }));
    }
    let acked_count = || acked.lock().values().map(Vec::len).sum::<usize>();
    let progress = |from: usize| {
        let acked_count = &acked_count;
        async move {
            eventually(Duration::from_secs(15), "writes acknowledged", || {
                (acked_count() >= from + 10).then_some(())
            })
            .await
        }
    };
    progress(0).await;
    for round in 0..3 {
        let leader = h.cluster.leader().unwrap_or(0);
        let victims: Vec<usize> = (0..minority)
            .map(|i| (leader + i * (round + 1)) % n)
            .collect();
        let victims: Vec<usize> = {
            let mut v = victims;
            v.dedup();
            v
        };
        for v in &victims {
            down.lock().insert(*v);
            h.cluster.crash(*v).await.unwrap();
        }
        progress(acked_count()).await;
        for v in &victims {
            h.cluster.restart(*v).await.unwrap();
            down.lock().remove(v);
        }
        progress(acked_count()).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let state = replicas_agree(&h, &all(&h)).await;
    let acked = acked.lock().clone();
    for node in 0..n {
        let logged: HashMap<Vec<u64>, (String, String)> = h
            .cluster
            .logged_writes(node)
            .unwrap()
            .into_iter()
            .map(|(i, k, v)| (i, (k, v)))
            .collect();
        for (key, writes) in &acked {
            for (value, version) in writes {
                assert_eq!(
                    logged.get(version),
                    Some(&(key.clone(), value.clone())),
                    "node {node} lost acknowledged {value} at {version:?}"
                );
            }
        }
    }
    for (key, writes) in &acked {
        assert!(
            writes.windows(2).all(|w| w[0].1 < w[1].1),
            "{key}: {writes:?}"
        );
        let last = &writes.last().unwrap().0;
        assert_eq!(state.get(key), Some(last), "{key}");
        assert_eq!(h.value(0, key).await.0.as_ref(), Some(last));
    }
    let h = Arc::try_unwrap(h).ok().expect("writers finished");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_memory_keep_acknowledged_writes_across_crashes() {
    acknowledged_writes_survive([1, 1, 1], "memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_disk_keep_acknowledged_writes_across_minority_crashes() {
    acknowledged_writes_survive([1, 2, 2], "batch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_follower_stops_answering_and_catches_up_when_resumed() {
    let h = start([1, 1, 1], "memory").await;
    let leader = h.cluster.leader().expect("a leader");
    let f = (leader + 1) % 3;
    h.cluster.pause(f).unwrap();
    let client = &h.clients[h.exp.topology.nodes[f].dc];
    let op = caplab::cluster::ClientOp::Read {
        key: "profile/p".into(),
        after: None,
    };
    assert_eq!(
        client
            .call(h.nodes[f], op, Duration::from_millis(300))
            .await,
        CallResult::Timeout
    );
    // The other two still form a quorum.
    written(h.write(leader, "profile/p", "p#1").await);
    h.cluster.resume(f).unwrap();
    let state = replicas_agree(&h, &all(&h)).await;
    assert_eq!(state.get("profile/p").map(String::as_str), Some("p#1"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_reads_answer_locally_and_can_be_stale() {
    let h = Harness::<RaftCluster>::start(&three_dcs(
        "raft",
        [1, 1, 1],
        "5ms",
        &raft("memory", "follower"),
    ))
    .await;
    let leader = h.cluster.leader().expect("a leader");
    let f = (leader + 1) % 3;
    written(h.write(leader, "profile/s", "s#1").await);
    replicas_agree(&h, &all(&h)).await;
    // Cut the follower off: it keeps answering reads, from its own (now stale) replica.
    for other in (0..3).filter(|n| *n != f) {
        h.net.block(h.nodes[f], h.nodes[other]);
        h.net.block(h.nodes[other], h.nodes[f]);
    }
    written(h.write(leader, "profile/s", "s#2").await);
    assert_eq!(h.value(f, "profile/s").await.0.as_deref(), Some("s#1"));
    assert_eq!(h.value(leader, "profile/s").await.0.as_deref(), Some("s#2"));
    h.net.heal();
    replicas_agree(&h, &all(&h)).await;
    assert_eq!(h.value(f, "profile/s").await.0.as_deref(), Some("s#2"));
    h.stop().await;
}

/// A `leader` key moves leadership to the named node right after start (a `leader_transfer`
/// event, then every node follows it) and it stays there while nothing fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_key_places_the_leader_and_it_stays() {
    // Node 0 (asia-1) initialises the membership and usually wins the first election.
    let variant = format!("{}\nleader = \"us\"", raft("memory", "linearizable"));
    let h = Harness::<RaftCluster>::start(&three_dcs("raft", [1, 1, 1], "5ms", &variant)).await;
    let us = h
        .exp
        .topology
        .nodes
        .iter()
        .position(|n| n.name == "us-1")
        .expect("us-1");
    assert_eq!(h.cluster.leader(), Some(us));
    let term = h.cluster.metrics(us).map(|m| m.current_term);
    written(h.write(0, "profile/a", "a#1").await);
    written(h.write(us, "profile/a", "a#2").await);
    assert_eq!(h.value(us, "profile/a").await.0.as_deref(), Some("a#2"));
    assert_eq!(h.cluster.leader(), Some(us));
    assert_eq!(h.cluster.metrics(us).map(|m| m.current_term), term);
    let events = h.stop().await;
    let transferred = events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::LeaderTransfer { to, .. } if to == "us-1"));
    let first_leader_was_us = events.iter().find_map(|e| match &e.kind {
        EventKind::LeaderChange {
            leader: Some(l), ..
        } => Some(l == "us-1"),
        _ => None,
    });
    // Either the first election already chose us-1, or caplab moved it there.
    assert!(
        transferred || first_leader_was_us == Some(true),
        "no transfer to us-1 recorded and us-1 was not the first leader"
    );
}

/// Lease reads are answered by the leader without a quorum round trip while its lease
/// holds, and see every acknowledged write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_reads_see_acknowledged_writes() {
    let h = Harness::<RaftCluster>::start(&three_dcs(
        "raft",
        [1, 1, 1],
        "5ms",
        &raft("memory", "lease"),
    ))
    .await;
    let leader = h.cluster.leader().expect("a leader");
    let follower = (leader + 1) % h.nodes.len();
    for i in 1..=5 {
        let value = format!("a#{i}");
        written(h.write(follower, "profile/a", &value).await);
        assert_eq!(
            h.value(leader, "profile/a").await.0.as_deref(),
            Some(value.as_str())
        );
        assert_eq!(
            h.value(follower, "profile/a").await.0.as_deref(),
            Some(value.as_str())
        );
    }
    // A lease read on the leader takes no WAN round trip (5 ms each way here).
    let t = Instant::now();
    for _ in 0..20 {
        assert_eq!(h.value(leader, "profile/a").await.0.as_deref(), Some("a#5"));
    }
    let per_read = t.elapsed() / 20;
    assert!(
        per_read < Duration::from_millis(10),
        "lease reads took {per_read:?} each, as long as a quorum round trip"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_burst_beyond_the_bound_is_shed_at_once_and_the_rest_batched() {
    use futures_util::StreamExt as _;
    // Elections slower than the hold below, so holding the followers cannot depose the
    // leader (the other tests' 150-300 ms would).
    let variant = raft("memory", "linearizable")
        .replace(
            "election_timeout_min = \"150ms\"",
            "election_timeout_min = \"1500ms\"",
        )
        .replace(
            "election_timeout_max = \"300ms\"",
            "election_timeout_max = \"2s\"",
        );
    let h = Harness::<RaftCluster>::start(&three_dcs("raft", [1, 1, 1], "5ms", &variant)).await;
    let leader = h.cluster.leader().expect("a leader");
    let first_index = h.cluster.last_log_index(leader).unwrap_or(0);
    // Twice the leader's bound on pending writes (2,048), all at once. The followers'
    // traffic is held until the first write is shed, so nothing commits meanwhile and the
    // burst piles up on the leader however fast this machine drains it.
    let followers: Vec<usize> = (0..h.nodes.len()).filter(|&n| n != leader).collect();
    for &f in &followers {
        h.net.pause(h.nodes[f]);
    }
    let burst = 4_096;
    let writes: Vec<(String, String)> = (0..burst)
        .map(|i| (format!("profile/b{}", i % 100), format!("b{i}")))
        .collect();
    let mut results: futures_util::stream::FuturesUnordered<_> =
        writes.iter().map(|(k, v)| h.write(leader, k, v)).collect();
    let (mut ok, mut shed, mut held) = (0usize, 0usize, true);
    while let Some(r) = results.next().await {
        match r {
            CallResult::Ok(ClientOk::Written { .. }) => ok += 1,
            CallResult::Rejected(e) if e.starts_with("overloaded") => shed += 1,
            other => panic!("neither acknowledged nor shed as overloaded: {other:?}"),
        }
        if held {
            held = false;
            for &f in &followers {
                h.net.resume(h.nodes[f]);
            }
        }
    }
    drop(results);
    assert!(ok > 0, "nothing acknowledged");
    assert!(shed > 0, "nothing shed: the bound did not hold");
    // Writes gathered while the proposer's pipeline was full share entries.
    let entries = h.cluster.last_log_index(leader).unwrap_or(0) - first_index;
    assert!(
        (entries as usize) < ok / 2,
        "{entries} entries for {ok} acknowledged writes: no batching"
    );
    // Every answered write gave its pending slot back (a write's slot travels with it to
    // the proposer): a burst of exactly the bound finds every slot free. (Arriving at once,
    // part of it may still be shed for the node's inbox backlog, which says so.)
    let bound = 2_048;
    let again: futures_util::stream::FuturesUnordered<_> = writes[..bound]
        .iter()
        .map(|(k, v)| h.write(leader, k, v))
        .collect();
    let again: Vec<CallResult> = again.collect().await;
    let no_slot: Vec<&CallResult> = again
        .iter()
        .filter(|r| !matches!(r, CallResult::Ok(ClientOk::Written { .. })))
        .filter(|r| !matches!(r, CallResult::Rejected(e) if e.contains("already queued")))
        .collect();
    assert!(
        no_slot.is_empty(),
        "{} of {bound} writes refused after the burst for want of a slot, e.g. {:?}: pending \
         slots leaked",
        no_slot.len(),
        no_slot.first()
    );
    let accepted = again
        .iter()
        .filter(|r| matches!(r, CallResult::Ok(ClientOk::Written { .. })))
        .count();
    assert!(accepted >= bound / 2, "only {accepted} of {bound} accepted");
    h.stop().await;
}
