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

/// Sends one probe from `a` to `b` and says whether it arrived within `wait`.
async fn gets_through(
    a: &caplab::net::Endpoint<Probe>,
    b: &mut caplab::net::Endpoint<Probe>,
    seq: u32,
    wait: Duration,
) -> bool {
    a.send(
        b.id(),
        &Probe {
            sender: 0,
            seq,
            sent_ns: 0,
        },
    )
    .unwrap();
    matches!(tokio::time::timeout(wait, b.recv()).await, Ok(Some(d)) if d.msg.seq == seq)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_cuts_and_pauses_end_only_with_the_last_of_them() {
    let net: Network<Probe> = Network::new(two_dcs(DelayModel::zero(), 0.0)).unwrap();
    let a = net.add_endpoint("a-1", 0, Role::Node).await.unwrap();
    let mut b = net.add_endpoint("b-1", 1, Role::Node).await.unwrap();
    // Two overlapping isolations of DC b: the first one's end leaves the link cut.
    net.isolate_dc(1);
    let second = net.isolate_dc(1);
    for (from, to) in &second {
        net.unblock_dcs(*from, *to);
    }
    assert!(net.dcs_blocked(0, 1));
    assert!(
        !gets_through(&a, &mut b, 1, ms(100)).await,
        "cut link carried a message"
    );
    net.unblock_dcs(0, 1);
    net.unblock_dcs(1, 0);
    assert!(!net.dcs_blocked(0, 1));
    assert!(gets_through(&a, &mut b, 2, Duration::from_secs(5)).await);

    // Endpoint cuts count the same way.
    net.block(a.id(), b.id());
    net.block(a.id(), b.id());
    net.unblock(a.id(), b.id());
    assert!(!gets_through(&a, &mut b, 3, ms(100)).await);
    net.unblock(a.id(), b.id());
    assert!(gets_through(&a, &mut b, 4, Duration::from_secs(5)).await);

    // Two pauses: the first resume keeps the endpoint paused.
    net.pause(b.id());
    net.pause(b.id());
    net.resume(b.id());
    assert!(
        !gets_through(&a, &mut b, 5, ms(100)).await,
        "a paused endpoint got traffic"
    );
    net.resume(b.id());
    let d = tokio::time::timeout(Duration::from_secs(5), b.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.msg.seq, 5, "the held message arrives on the last resume");
    net.shutdown().await;
}

/// The one-way delay of one message from `a` to `b`.
async fn one_delay(
    a: &caplab::net::Endpoint<Probe>,
    b: &mut caplab::net::Endpoint<Probe>,
    seq: u32,
) -> Duration {
    let sent = Instant::now();
    assert!(gets_through(a, b, seq, Duration::from_secs(5)).await);
    sent.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_overrides_stack_and_the_most_recent_in_force_wins() {
    let net: Network<Probe> = Network::new(two_dcs(DelayModel::constant(ms(5)), 0.0)).unwrap();
    let a = net.add_endpoint("a-1", 0, Role::Node).await.unwrap();
    let mut b = net.add_endpoint("b-1", 1, Role::Node).await.unwrap();
    // Warm the connection up so that connecting is not part of the first delay.
    one_delay(&a, &mut b, 0).await;
    let first = net.override_dc_delay(0, 1, DelayModel::constant(ms(60)));
    let second = net.override_dc_delay(0, 1, DelayModel::constant(ms(120)));
    let d = one_delay(&a, &mut b, 1).await;
    assert!(d >= ms(120), "the most recent override applies: {d:?}");
    // Lifting the older override changes nothing: the newer one is still in force.
    assert!(net.lift_override(first));
    let d = one_delay(&a, &mut b, 2).await;
    assert!(d >= ms(120), "{d:?}");
    // Lifting the last one restores the topology's 5 ms (well under 60 ms even when busy).
    assert!(net.lift_override(second));
    assert!(!net.lift_override(second), "an override is lifted once");
    let d = one_delay(&a, &mut b, 3).await;
    assert!(d >= ms(5) && d < ms(60), "{d:?}");

    // Restored in order: the newer lifted first falls back to the older.
    let older = net.override_dc_delay(0, 1, DelayModel::constant(ms(60)));
    let newer = net.override_dc_delay(0, 1, DelayModel::constant(ms(120)));
    net.lift_override(newer);
    let d = one_delay(&a, &mut b, 4).await;
    assert!(d >= ms(60) && d < ms(120), "{d:?}");
    net.lift_override(older);

    // Loss overrides stack the same way.
    let all = net.override_dc_loss(0, 1, 1.0);
    let none = net.override_dc_loss(0, 1, 0.0);
    assert!(gets_through(&a, &mut b, 5, Duration::from_secs(5)).await);
    net.lift_override(none);
    assert!(
        !gets_through(&a, &mut b, 6, ms(100)).await,
        "loss 100% let one through"
    );
    net.lift_override(all);
    assert!(gets_through(&a, &mut b, 7, Duration::from_secs(5)).await);
    net.shutdown().await;
}
