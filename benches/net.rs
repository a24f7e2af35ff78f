//! Link-layer benchmark: throughput and the latency the layer itself adds, with zero
//! configured delay, over real loopback TCP.
//!
//! Run with `cargo bench --bench net` (or `scripts/bench-net.sh`). Prints:
//! - throughput: 5 endpoints sending all-to-all as fast as the layer accepts, measured as
//!   messages delivered per second;
//! - added one-way latency: one sender, one receiver, messages paced at a fixed rate, from
//!   `send` to the receiver's `recv` (hdrhistogram, p50/p99/p99.9).

use std::time::{Duration, Instant};

use caplab::net::{NetConfig, Network, Role};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Msg {
    seq: u64,
    sent_ns: u64,
    payload: [u8; 32],
}

const NODES: usize = 5;

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            std::process::exit(2);
        }
    };
    rt.block_on(async {
        throughput(200_000).await; // warm-up
        let mut rates: Vec<f64> = Vec::new();
        for _ in 0..3 {
            rates.push(throughput(1_000_000).await);
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "throughput, {NODES} nodes all-to-all, zero delay: median {:.0} msgs/s (runs: {})",
            rates[1],
            rates
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        latency(Duration::from_micros(200), 20_000).await;
        latency(Duration::from_micros(20), 50_000).await;
    });
}

/// Sends `total` messages spread over all ordered pairs of 5 endpoints; returns msgs/s.
async fn throughput(total: u64) -> f64 {
    let net: Network<Msg> = Network::new(NetConfig::zero(1, 1)).expect("network");
    let mut eps = Vec::new();
    for i in 0..NODES {
        eps.push(
            net.add_endpoint(format!("n-{i}"), 0, Role::Node)
                .await
                .expect("endpoint"),
        );
    }
    let ids: Vec<_> = eps.iter().map(|e| e.id()).collect();
    let per_sender = total / NODES as u64;
    let expect_per_receiver = per_sender; // every sender spreads evenly over the 4 others
    let start = Instant::now();
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    for (i, ep) in eps.into_iter().enumerate() {
        let (tx, mut inbox, guard) = ep.split();
        receivers.push(tokio::spawn(async move {
            let _guard = guard;
            let mut n = 0;
            while n < expect_per_receiver {
                if inbox.recv().await.is_none() {
                    break;
                }
                n += 1;
            }
            n
        }));
        let ids = ids.clone();
        senders.push(tokio::spawn(async move {
            for seq in 0..per_sender {
                let mut to = (seq as usize % (NODES - 1)) + 1;
                to = (i + to) % NODES;
                tx.send(
                    ids[to],
                    &Msg {
                        seq,
                        sent_ns: 0,
                        payload: [7; 32],
                    },
                )
                .expect("send");
                if seq % 1024 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for s in senders {
        s.await.expect("sender");
    }
    let mut delivered = 0;
    for r in receivers {
        delivered += r.await.expect("receiver");
    }
    let secs = start.elapsed().as_secs_f64();
    net.shutdown().await;
    delivered as f64 / secs
}

/// One-way latency through the layer at zero configured delay, one message every `gap`.
async fn latency(gap: Duration, count: u64) {
    let base = Instant::now();
    let net: Network<Msg> = Network::new(NetConfig::zero(1, 1)).expect("network");
    let a = net
        .add_endpoint("a", 0, Role::Node)
        .await
        .expect("endpoint");
    let mut b = net
        .add_endpoint("b", 0, Role::Node)
        .await
        .expect("endpoint");
    let to = b.id();
    let sender = tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        for seq in 0..count {
            let due = start + gap * seq as u32;
            // Spin-yield to pace below tokio's 1 ms timer resolution.
            while tokio::time::Instant::now() < due {
                tokio::task::yield_now().await;
            }
            let sent_ns = base.elapsed().as_nanos() as u64;
            a.send(
                to,
                &Msg {
                    seq,
                    sent_ns,
                    payload: [0; 32],
                },
            )
            .expect("send");
        }
        a
    });
    let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).expect("histogram");
    for _ in 0..count {
        let m = b.recv().await.expect("recv").msg;
        let lat_ns = base.elapsed().as_nanos() as u64 - m.sent_ns;
        if m.seq >= count / 10 {
            let _ = h.record((lat_ns / 1000).max(1));
        }
    }
    let _a = sender.await.expect("sender");
    println!(
        "added one-way latency, zero delay, 1 msg every {gap:?}: p50 {}us p90 {}us p99 {}us p99.9 {}us max {}us ({} samples)",
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max(),
        h.len()
    );
    net.shutdown().await;
}
