//! The link layer on real loopback TCP: FIFO, partitions, loss, pauses, crashed endpoints
//! and traffic counters. (The delay-distribution test has a binary of its own, so that no
//! other test competes with it for the CPU while it measures.)

use std::time::{Duration, Instant};

use caplab::net::delay::DelayModel;
use caplab::net::{LinkShape, NetConfig, Network, Role};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Probe {
    sender: u32,
    seq: u32,
    sent_ns: u64,
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Two DCs, `a` (0) and `b` (1); `a -> b` has the given delay and loss, everything else is
/// instantaneous.
fn two_dcs(delay: DelayModel, loss: f64) -> NetConfig {
    let mut cfg = NetConfig::zero(2, 11);
    cfg.links[0][1] = LinkShape { delay, loss };
    cfg
}

async fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(ms(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_holds_when_jitter_exceeds_the_gap_between_messages() {
    let net: Network<Probe> =
        Network::new(two_dcs(DelayModel::uniform(ms(1), ms(30)).unwrap(), 0.0)).unwrap();
    let tx = net.add_endpoint("a-1", 0, Role::Node).await.unwrap();
    let mut rx = net.add_endpoint("b-1", 1, Role::Node).await.unwrap();
    for seq in 0..2000 {
        tx.send(
            rx.id(),
            &Probe {
                sender: 0,
                seq,
                sent_ns: 0,
            },
        )
        .unwrap();
    }
    for seq in 0..2000 {
        let d = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.msg.seq, seq);
        assert_eq!(d.from, tx.id());
    }
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_link_delivers_nothing_until_healed() {
    let net: Network<Probe> = Network::new(two_dcs(DelayModel::constant(ms(2)), 0.0)).unwrap();
    let a = net.add_endpoint("a-1", 0, Role::Node).await.unwrap();
    let mut b = net.add_endpoint("b-1", 1, Role::Node).await.unwrap();
    net.block_dcs(0, 1);
    for seq in 0..100 {
        a.send(
            b.id(),
            &Probe {
                sender: 0,
                seq,
                sent_ns: 0,
            },
        )
        .unwrap();
    }
    // The reverse direction is not cut (one-way partition).
    b.send(
        a.id(),
        &Probe {
            sender: 1,
            seq: 0,
            sent_ns: 0,
        },
    )
    .unwrap();
    let stats = net.link_stats();
    let ab = stats.iter().find(|l| l.from == a.id()).unwrap();
    assert_eq!((ab.sent, ab.dropped_partition), (100, 100));
    let mut a = a;
    let back = tokio::time::timeout(Duration::from_secs(5), a.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.from, b.id());
    assert!(b.inbox_is_empty());

    net.heal();
    a.send(
        b.id(),
        &Probe {
            sender: 0,
            seq: 100,
            sent_ns: 0,
        },
    )
    .unwrap();
    let d = tokio::time::timeout(Duration::from_secs(5), b.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.msg.seq, 100, "only messages sent after healing arrive");

    // Endpoint-level cuts work the same way.
    net.block(a.id(), b.id());
    a.send(
        b.id(),
        &Probe {
            sender: 0,
            seq: 101,
            sent_ns: 0,
        },
    )
    .unwrap();
    net.unblock(a.id(), b.id());
    a.send(
        b.id(),
        &Probe {
            sender: 0,
            seq: 102,
            sent_ns: 0,
        },
    )
    .unwrap();
    let d = tokio::time::timeout(Duration::from_secs(5), b.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.msg.seq, 102);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_matches_the_configured_rate() {
    let net: Network<Probe> = Network::new(two_dcs(DelayModel::zero(), 0.1)).unwrap();
    let a = net.add_endpoint("a-1", 0, Role::Node).await.unwrap();
    let mut b = net.add_endpoint("b-1", 1, Role::Node).await.unwrap();
    let b_id = b.id();
    // Drain the inbox concurrently: a full inbox would (rightly) stop the TCP reader.
    let drain = tokio::spawn(async move {
        let mut got = 0u64;
        while tokio::time::timeout(Duration::from_millis(500), b.recv())
            .await
            .is_ok()
        {
            got += 1;
        }
        got
    });
    const N: u32 = 10_000;
    for seq in 0..N {
        a.send(
            b_id,
            &Probe {
                sender: 0,
                seq,
                sent_ns: 0,
            },
        )
        .unwrap();
    }
    let link = |net: &Network<Probe>| net.link_stats()[0];
    wait_until(
        "every message delivered or dropped",
        Duration::from_secs(10),
        || {
            let l = link(&net);
            l.delivered + l.dropped_loss == u64::from(N)
        },
    )
    .await;
    let l = link(&net);
    // Binomial(10000, 0.1): sd = 30; allow 5 sd.
    assert!(
        (l.dropped_loss as i64 - 1000).abs() <= 150,
        "dropped {}",
        l.dropped_loss
    );
    assert_eq!(drain.await.unwrap(), l.delivered);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_endpoint_receives_its_backlog_in_order_on_resume() {
    let net: Network<Probe> = Network::new(two_dcs(DelayModel::constant(ms(1)), 0.0)).unwrap();
    let a = net.add_endpoint("a-1", 0, Role::Node).await.unwrap();
    let mut b = net.add_endpoint("b-1", 1, Role::Node).await.unwrap();
    net.pause(b.id());
    for seq in 0..50 {
        a.send(
            b.id(),
            &Probe {
                sender: 0,
                seq,
                sent_ns: 0,
            },
        )
        .unwrap();
    }
    tokio::time::sleep(ms(50)).await;
    assert!(b.inbox_is_empty(), "a paused endpoint received traffic");
    assert_eq!(net.link_stats()[0].delivered, 0);
    net.resume(b.id());
    for seq in 0..50 {
        let d = tokio::time::timeout(Duration::from_secs(5), b.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.msg.seq, seq);
    }
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_endpoint_is_unreachable_until_it_listens_again() {
    let net: Network<Probe> = Network::new(NetConfig::zero(1, 1)).unwrap();
    let a = net.add_endpoint("n-1", 0, Role::Node).await.unwrap();
    let b = net.add_endpoint("n-2", 0, Role::Node).await.unwrap();
    let b_id = b.id();
    drop(b); // crash: listener and connections closed
    for seq in 0..10 {
        a.send(
            b_id,
            &Probe {
                sender: 0,
                seq,
                sent_ns: 0,
            },
        )
        .unwrap();
    }
    wait_until(
        "messages to a crashed node counted unreachable",
        Duration::from_secs(5),
        || net.link_stats()[0].dropped_unreachable == 10,
    )
    .await;
    let mut b = net.listen(b_id).await.unwrap();
    // A write on the old, dead connection may be lost while the writer notices; keep
    // sending until one arrives.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seq = 10;
    let got = loop {
        a.send(
            b_id,
            &Probe {
                sender: 0,
                seq,
                sent_ns: 0,
            },
        )
        .unwrap();
        seq += 1;
        if let Ok(Some(d)) = tokio::time::timeout(ms(50), b.recv()).await {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "restarted endpoint never reached"
        );
    };
    assert!(got.msg.seq >= 10);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_is_counted_per_link_and_per_endpoint() {
    let net: Network<Vec<u8>> = Network::new(NetConfig::zero(1, 1)).unwrap();
    let a = net.add_endpoint("n-1", 0, Role::Node).await.unwrap();
    let mut b = net.add_endpoint("n-2", 0, Role::Node).await.unwrap();
    let c = net.add_endpoint("client", 0, Role::Client).await.unwrap();
    for _ in 0..10 {
        a.send(b.id(), &vec![0u8; 100]).unwrap();
        c.send(b.id(), &vec![0u8; 10]).unwrap();
    }
    for _ in 0..20 {
        b.recv().await.unwrap();
    }
    let eps = net.endpoint_stats();
    // postcard: a 1-byte length prefix, then the bytes.
    assert_eq!((eps[0].sent, eps[0].sent_bytes), (10, 1010));
    assert_eq!((eps[2].sent, eps[2].sent_bytes), (10, 110));
    assert_eq!((eps[1].received, eps[1].received_bytes), (20, 1120));
    net.shutdown().await;
}
