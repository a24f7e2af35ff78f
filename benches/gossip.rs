//! Gossip cluster benchmark, over real loopback TCP with zero configured delay.
//!
//! Run with `cargo bench --bench gossip`. Prints:
//! - for 5 nodes, open-loop offered load stepping up (half reads, half writes, each client
//!   talking to its own node), released at their scheduled times by the runner's pacer
//!   thread: achieved throughput and p50/p99 latency of local writes and reads, from the
//!   client's send (service time) and from each operation's scheduled start (which adds the
//!   pacer's lateness and any queueing: no coordinated omission);
//! - the message and byte cost of a write on 5, 17 and 65 nodes (node-to-node traffic with
//!   writes minus the same time idle, divided by the writes).

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use caplab::cluster::gossip::GossipCluster;
use caplab::cluster::{ClientOk, ClientOp};
use caplab::runner::client::CallResult;
use caplab::runner::pacer::Pacer;
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use support::cluster::Harness;

fn one_dc(nodes: usize) -> String {
    format!(
        r#"
name = "bench"
seed = 1
duration = "10s"
[topology]
client_delay = {{ dist = "constant", value = "0us" }}
local_delay = {{ dist = "constant", value = "0us" }}
[topology.dcs.dc]
nodes = {nodes}
[[variants]]
name = "gossip"
kind = "gossip"
[workload]
users = 1
rate = 1.0
write_fraction = 0.5
readers = {{ laptop = 1.0 }}
"#
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let Ok(rt) = rt else {
        eprintln!("cannot start tokio");
        std::process::exit(2);
    };
    rt.block_on(async {
        println!("5 nodes, zero delay, open loop, 50% writes:");
        for rate in [5_000u32, 10_000, 20_000, 30_000, 40_000] {
            let ok = load(rate).await;
            if !ok {
                break;
            }
        }
        println!(
            "cost of a write (node-to-node traffic, default fanout 2, push-pull every 200ms):"
        );
        for nodes in [5usize, 17, 65] {
            cost(nodes).await;
        }
    });
}

/// Runs `rate` ops/s for 3 s; returns false once the cluster no longer keeps up.
async fn load(rate: u32) -> bool {
    let h = Arc::new(Harness::<GossipCluster>::start(&one_dc(5)).await);
    let new = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    // [writes from send, reads from send, writes from schedule, reads from schedule]
    let hists = Arc::new(Mutex::new([new(), new(), new(), new()]));
    let secs = 3u64;
    let total = u64::from(rate) * secs;
    let gap_ns = 1_000_000_000 / u64::from(rate);
    let start = Instant::now() + Duration::from_millis(10);
    let times: Vec<Instant> = (0..total)
        .map(|i| start + Duration::from_nanos(i * gap_ns))
        .collect();
    // Operations are released at their own times by the pacer thread (the runner's), not
    // in bursts at tokio's millisecond timer ticks.
    let Ok(mut pacer) = Pacer::start(times.clone()) else {
        eprintln!("cannot start the pacer");
        return false;
    };
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(i) = pacer.due.recv().await {
        let i = i as u64;
        let due = times[i as usize];
        let (h, hists) = (h.clone(), hists.clone());
        tasks.spawn(async move {
            let sent = Instant::now();
            let node = (i % 5) as usize;
            let key = format!("profile/u{}", i % 1000);
            let write = i % 2 == 0;
            let r = if write {
                h.write(node, &key, &format!("v{i}")).await
            } else {
                h.read(node, &key).await
            };
            let service = sent.elapsed().as_micros() as u64;
            let scheduled = due.elapsed().as_micros() as u64;
            let ok = matches!(
                r,
                CallResult::Ok(ClientOk::Written { .. }) | CallResult::Ok(ClientOk::Read { .. })
            );
            if ok {
                let mut hs = hists.lock();
                let i = usize::from(!write);
                let _ = hs[i].record(service.max(1));
                let _ = hs[i + 2].record(scheduled.max(1));
            }
            ok
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = start.elapsed().as_secs_f64();
    let [w, r, ws, rs] = hists.lock().clone();
    let done = w.len() + r.len();
    let q = |h: &Histogram<u64>| {
        format!(
            "p50 {}us p99 {}us",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99)
        )
    };
    println!(
        "  offered {rate:>6}/s: achieved {:>6.0}/s; from send: writes {}, reads {}; from schedule: writes {}, reads {}",
        done as f64 / elapsed,
        q(&w),
        q(&r),
        q(&ws),
        q(&rs)
    );
    let keeps_up =
        done == total && ws.value_at_quantile(0.99) < 10_000 && elapsed < secs as f64 * 1.1;
    if let Ok(h) = Arc::try_unwrap(h) {
        h.stop().await;
    }
    keeps_up
}

/// Node-to-node messages and bytes per write on `nodes` nodes.
async fn cost(nodes: usize) {
    let window = Duration::from_secs(2);
    let idle = node_traffic(nodes, window, 0).await;
    let writes = 1000u64;
    let busy = node_traffic(nodes, window, writes).await;
    println!(
        "  {nodes:>3} nodes: {:.1} messages and {:.0} bytes per write (1 KiB pictures; idle anti-entropy: {} messages in {window:?})",
        (busy.0.saturating_sub(idle.0)) as f64 / writes as f64,
        (busy.1.saturating_sub(idle.1)) as f64 / writes as f64,
        idle.0
    );
}

async fn node_traffic(nodes: usize, window: Duration, writes: u64) -> (u64, u64) {
    let h = Harness::<GossipCluster>::start(&one_dc(nodes)).await;
    let start = Instant::now();
    let picture = bytes::Bytes::from(vec![0u8; 1024]);
    for i in 0..writes {
        let due = start + window.mul_f64(i as f64 / writes.max(1) as f64 / 2.0);
        tokio::time::sleep_until(due.into()).await;
        let node = (i as usize) % nodes;
        let op = ClientOp::Write {
            key: format!("k{i}"),
            value: format!("v{i}"),
            picture: picture.clone(),
        };
        let _ = h.clients[0]
            .call(h.nodes[node], op, Duration::from_secs(1))
            .await;
    }
    tokio::time::sleep_until((start + window).into()).await;
    let stats = h.net.link_stats();
    let n = h.nodes.len() as u32;
    let (msgs, bytes) = stats
        .iter()
        .filter(|l| l.from.0 < n && l.to.0 < n)
        .fold((0, 0), |(m, b), l| (m + l.sent, b + l.sent_bytes));
    h.stop().await;
    (msgs, bytes)
}
