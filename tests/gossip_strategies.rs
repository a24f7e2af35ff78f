//! The consistency strategies between the two extremes, end to end through `caplab run`:
//! partial quorums (overlapping `r + w > n` never reads stale without faults; `r = w = 1`
//! does), session tokens (no read-your-writes violation across a user's devices, where
//! plain local reads have some), and home-DC routing (friends pay the wide-area round trip).

mod common;

use std::path::Path;

use serde_json::Value;

const EXPERIMENT: &str = r#"
name = "strategies-test"
seed = 3
duration = "8s"
warmup = "500ms"
cooldown = "1500ms"
[topology]
client_delay = { dist = "constant", value = "200us" }
[topology.dcs.eu]
nodes = 1
[topology.dcs.us]
nodes = 1
[topology.dcs.asia]
nodes = 1
[topology.default_link]
delay = { dist = "uniform", low = "60ms", high = "100ms" }
[[variants]]
name = "local"
kind = "gossip"
[[variants]]
name = "session"
kind = "gossip"
session = "tokens"
session_wait = "200ms"
[[variants]]
name = "home"
kind = "gossip"
routing = "home-dc"
[[variants]]
name = "quorum-2-2"
kind = "gossip"
replicas = 3
read_quorum = 2
write_quorum = 2
[[variants]]
name = "quorum-1-1"
kind = "gossip"
replicas = 3
read_quorum = 1
write_quorum = 1
[workload]
users = 6
rate = 80.0
write_fraction = 0.3
[workload.readers]
laptop = 0.6
friend = 0.4
[workload.travel]
users = 6
to = "asia"
at = "1s"
"#;

fn summary(run: &Path) -> Value {
    let text = std::fs::read_to_string(run.join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn quorums_sessions_and_home_routing_do_what_they_promise() {
    let tmp = tempfile::tempdir().unwrap();
    let run = common::run_experiment(tmp.path(), "strategies-test", EXPERIMENT);
    let s = summary(&run);
    let v = |name: &str, path: &str| -> Value {
        path.split('.')
            .fold(&s["variants"][name], |v, k| &v[k])
            .clone()
    };
    let n = |name: &str, path: &str| v(name, path).as_u64().unwrap_or(0);
    for name in ["local", "session", "home", "quorum-2-2", "quorum-1-1"] {
        assert!(
            n(name, "reads.reads_checked") > 200,
            "{name}: too few reads"
        );
        assert_eq!(
            n(name, "writes.fail"),
            0,
            "{name}: no fault, no failed write"
        );
    }
    // Overlapping quorums: never stale without faults. r = w = 1: stale sometimes.
    assert_eq!(n("quorum-2-2", "reads.stale_reads"), 0);
    assert!(n("quorum-1-1", "reads.stale_reads") > 0);
    // The phones travel to asia and keep writing; the laptops read at home. Plain local
    // reads show some laptops an older picture than the owner already set; tokens never.
    assert!(n("local", "session.read_your_writes_violations") > 0);
    assert_eq!(n("session", "session.read_your_writes_violations"), 0);
    assert_eq!(n("session", "session.monotonic_read_violations"), 0);
    // Home-DC routing: a friend's read crosses the WAN (≥ 120 ms round trip), a local
    // read does not.
    let friend_p50 = |name: &str| {
        v(name, "breakdown.by_device.friend.read_latency_us.p50")
            .as_u64()
            .unwrap()
    };
    assert!(friend_p50("local") < 5_000, "{}", friend_p50("local"));
    assert!(friend_p50("home") > 120_000, "{}", friend_p50("home"));
}
