//! The link layer's delay fidelity on real loopback TCP: 10,000 messages over a link with a
//! configured one-way delay of 20 ms +- 2 ms arrive with the configured distribution (median
//! within 1 ms, p99 within 2 ms) and in FIFO order. Alone in its binary so that no other test
//! competes for the CPU while it measures.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use caplab::net::delay::DelayModel;
use caplab::net::{Endpoint, LinkShape, NetConfig, Network, Role};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Probe {
    sender: u32,
    seq: u32,
    sent_ns: u64,
}

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    base().elapsed().as_nanos() as u64
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_delay_matches_the_configured_distribution_and_fifo_holds() {
    let model = DelayModel::uniform(ms(18), ms(22)).unwrap();
    let mut cfg = NetConfig::zero(2, 11);
    cfg.links[0][1] = LinkShape {
        delay: model.clone(),
        loss: 0.0,
    };
    let net: Network<Probe> = Network::new(cfg).unwrap();
    let mut rx = net.add_endpoint("b-1", 1, Role::Node).await.unwrap();
    const SENDERS: u32 = 20;
    const PER_SENDER: u32 = 500;
    let mut senders: Vec<Endpoint<Probe>> = Vec::new();
    for i in 0..SENDERS {
        senders.push(
            net.add_endpoint(format!("a-{i}"), 0, Role::Node)
                .await
                .unwrap(),
        );
    }
    let to = rx.id();
    // Each link sends every 4 ms, more than the 4 ms jitter range, so FIFO never has to hold
    // a message back and the measured delays are the configured distribution.
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, ep)| {
            tokio::spawn(async move {
                let start = tokio::time::Instant::now() + Duration::from_micros(i as u64 * 200);
                for seq in 0..PER_SENDER {
                    tokio::time::sleep_until(start + ms(4) * seq).await;
                    ep.send(
                        to,
                        &Probe {
                            sender: i as u32,
                            seq,
                            sent_ns: now_ns(),
                        },
                    )
                    .unwrap();
                }
                ep
            })
        })
        .collect();

    let mut delays_us = Vec::with_capacity((SENDERS * PER_SENDER) as usize);
    let mut next_seq = vec![0u32; SENDERS as usize];
    while delays_us.len() < (SENDERS * PER_SENDER) as usize {
        let d = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let p = d.msg;
        assert_eq!(
            p.seq, next_seq[p.sender as usize],
            "FIFO violated on link from a-{}",
            p.sender
        );
        next_seq[p.sender as usize] += 1;
        delays_us.push((now_ns() - p.sent_ns) as f64 / 1e3);
    }
    for t in tasks {
        t.await.unwrap();
    }
    delays_us.sort_by(f64::total_cmp);

    let mut rng = rand::rng();
    let mut expected: Vec<f64> = (0..200_000).map(|_| model.sample_us(&mut rng)).collect();
    expected.sort_by(f64::total_cmp);
    let (m50, m99) = (quantile(&delays_us, 0.5), quantile(&delays_us, 0.99));
    let (e50, e99) = (quantile(&expected, 0.5), quantile(&expected, 0.99));
    println!("measured p50 {m50:.0}us p99 {m99:.0}us; configured p50 {e50:.0}us p99 {e99:.0}us");
    assert!(
        (m50 - e50).abs() < 1000.0,
        "median {m50}us vs configured {e50}us"
    );
    assert!(
        (m99 - e99).abs() < 2000.0,
        "p99 {m99}us vs configured {e99}us"
    );
    assert!(
        quantile(&delays_us, 0.0) >= 18_000.0 - 1.0,
        "delivered before the minimum delay"
    );
    net.shutdown().await;
}
