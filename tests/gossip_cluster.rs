//! The gossip cluster end to end on loopback TCP: availability everywhere, under a DC
//! partition, convergence after healing, clock-skew anomalies, crashes and pauses.

mod support;

use std::time::Duration;

use caplab::cluster::gossip::GossipCluster;
use caplab::cluster::{ClientOk, Cluster};
use caplab::history::EventKind;
use caplab::runner::client::CallResult;
use support::cluster::{three_dcs, Harness};

const GOSSIP: &str = "name = \"g\"\nkind = \"gossip\"\ngossip_interval = \"50ms\"";

fn written_version(r: CallResult) -> Vec<u64> {
    match r {
        CallResult::Ok(ClientOk::Written { version }) => version,
        other => panic!("write failed: {other:?}"),
    }
}

async fn reads_and_writes_everywhere(per_dc: [usize; 3]) {
    let h = Harness::<GossipCluster>::start(&three_dcs("g", per_dc, "2ms", GOSSIP)).await;
    let n = h.nodes.len();
    let keys: Vec<String> = (0..n).map(|i| format!("profile/u{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        written_version(h.write(i, key, &format!("u{i}#1")).await);
        // Read-your-writes at the node that took the write.
        assert_eq!(
            h.value(i, key).await.0.as_deref(),
            Some(format!("u{i}#1").as_str())
        );
    }
    let all: Vec<usize> = (0..n).collect();
    h.converged(&all, &keys, Duration::from_secs(10)).await;
    let events = h.stop().await;
    let applies = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Apply { .. }))
        .count();
    assert_eq!(
        applies,
        n * n,
        "every replica applied every write exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_accept_reads_and_writes_everywhere_and_converge() {
    reads_and_writes_everywhere([1, 2, 2]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nine_nodes_accept_reads_and_writes_everywhere_and_converge() {
    reads_and_writes_everywhere([3, 3, 3]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dc_partition_keeps_both_sides_available_and_heals_to_one_state() {
    let h = Harness::<GossipCluster>::start(&three_dcs("g", [3, 3, 3], "2ms", GOSSIP)).await;
    h.net.isolate_dc(h.dc("asia"));
    let keys: Vec<String> = (0..4).map(|i| format!("profile/k{i}")).collect();
    let mut acked: Vec<(String, String, Vec<u64>)> = Vec::new();
    // Both sides write every key, several times, while cut off from each other.
    for round in 0..3 {
        for key in &keys {
            for node in ["asia-1", "asia-3", "eu-2", "us-1"] {
                let value = format!("{node}:{key}#{round}");
                let v = written_version(h.write(h.node(node), key, &value).await);
                acked.push((key.clone(), value, v));
            }
        }
    }
    // Reads keep working on both sides, and each side sees only its own writes.
    let (asia_value, _) = h.value(h.node("asia-2"), &keys[0]).await;
    let (eu_value, _) = h.value(h.node("eu-1"), &keys[0]).await;
    assert!(asia_value.unwrap().starts_with("asia-"));
    assert!(!eu_value.unwrap().starts_with("asia-"));

    h.net.heal();
    let all: Vec<usize> = (0..h.nodes.len()).collect();
    h.converged(&all, &keys, Duration::from_secs(10)).await;
    // Every acknowledged write is the final value or was superseded by a larger version.
    for key in &keys {
        let (final_value, final_version) = h.value(0, key).await;
        let final_version = final_version.unwrap();
        for (k, value, version) in acked.iter().filter(|(k, _, _)| k == key) {
            assert!(
                Some(value) == final_value.as_ref() || *version < final_version,
                "{k}: acknowledged {value} {version:?} lost to {final_value:?} {final_version:?}"
            );
        }
        let max = acked
            .iter()
            .filter(|(k, _, _)| k == key)
            .max_by(|a, b| a.2.cmp(&b.2))
            .unwrap();
        assert_eq!(final_value.as_ref(), Some(&max.1));
    }
    h.stop().await;
}

async fn skewed_write_then_later_write(conflict: &str) -> String {
    let variant = format!("{GOSSIP}\nconflict = \"{conflict}\"");
    let h = Harness::<GossipCluster>::start(&three_dcs("g", [1, 1, 1], "2ms", &variant)).await;
    let (fast, slow) = (h.node("eu-1"), h.node("us-1"));
    h.cluster.set_clock_offset(fast, 5_000_000).unwrap();
    written_version(h.write(fast, "profile/x", "first").await);
    // The correctly clocked node sees the first picture, then replaces it.
    h.converged(
        &[fast, slow],
        &["profile/x".to_string()],
        Duration::from_secs(5),
    )
    .await;
    written_version(h.write(slow, "profile/x", "second").await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.converged(
        &[0, 1, 2],
        &["profile/x".to_string()],
        Duration::from_secs(5),
    )
    .await;
    let (value, _) = h.value(slow, "profile/x").await;
    h.stop().await;
    value.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skewed_wall_clock_discards_a_later_write_and_hlc_does_not() {
    // lww-wallclock: the first picture, stamped 5 s in the future, beats the later one.
    assert_eq!(
        skewed_write_then_later_write("lww-wallclock").await,
        "first"
    );
    // lww-hlc: the second write observed the first, so it is ordered after it.
    assert_eq!(skewed_write_then_later_write("lww-hlc").await, "second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loses_a_volatile_store_and_keeps_a_durable_one() {
    for durable in [false, true] {
        // Rumours only, so a restarted node cannot catch up by anti-entropy: what it serves
        // after the restart is what it kept.
        let variant = format!(
            "name = \"g\"\nkind = \"gossip\"\nanti_entropy = \"off\"\nfanout = 2\ndurable = {durable}"
        );
        let h = Harness::<GossipCluster>::start(&three_dcs("g", [1, 1, 1], "1ms", &variant)).await;
        let n = h.node("us-1");
        written_version(h.write(h.node("eu-1"), "profile/a", "a#1").await);
        h.converged(
            &[0, 1, 2],
            &["profile/a".to_string()],
            Duration::from_secs(5),
        )
        .await;
        h.cluster.crash(n).await.unwrap();
        assert_eq!(
            h.read(n, "profile/a").await,
            CallResult::Timeout,
            "a crashed node answered"
        );
        h.cluster.restart(n).await.unwrap();
        let (value, _) = h.value(n, "profile/a").await;
        assert_eq!(value.is_some(), durable, "durable = {durable}");
        let events = h.stop().await;
        assert!(events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Crash { node } if node == "us-1")));
        assert!(events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Restart { node } if node == "us-1")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_node_catches_up_by_anti_entropy() {
    let h = Harness::<GossipCluster>::start(&three_dcs("g", [1, 1, 1], "1ms", GOSSIP)).await;
    let n = h.node("asia-1");
    h.cluster.crash(n).await.unwrap();
    let keys: Vec<String> = (0..5).map(|i| format!("profile/{i}")).collect();
    for k in &keys {
        written_version(h.write(h.node("eu-1"), k, &format!("{k}#1")).await);
    }
    h.cluster.restart(n).await.unwrap();
    h.converged(&[0, 1, 2], &keys, Duration::from_secs(5)).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_node_stops_answering_until_resumed() {
    let h = Harness::<GossipCluster>::start(&three_dcs("g", [1, 1, 1], "1ms", GOSSIP)).await;
    let n = h.node("us-1");
    h.cluster.pause(n).unwrap();
    let client = &h.clients[h.exp.topology.nodes[n].dc];
    let op = caplab::cluster::ClientOp::Read {
        key: "profile/p".into(),
        after: None,
    };
    let r = client
        .call(h.nodes[n], op, Duration::from_millis(200))
        .await;
    assert_eq!(r, CallResult::Timeout);
    written_version(h.write(h.node("eu-1"), "profile/p", "p#1").await);
    h.cluster.resume(n).unwrap();
    h.converged(
        &[0, 1, 2],
        &["profile/p".to_string()],
        Duration::from_secs(5),
    )
    .await;
    let events = h.stop().await;
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Pause { node } if node == "us-1")));
}
