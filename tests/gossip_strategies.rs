//! The consistency strategies between the two extremes, end to end through `caplab run`:
//! partial quorums (overlapping `r + w > n` never reads stale without faults; `r = w = 1`
//! does), session tokens (no read-your-writes violation across a user's devices, where
//! plain local reads have some), and home-DC routing (friends pay the wide-area round trip).

mod support;

use std::path::Path;

use serde_json::Value;
use support::binary::run_experiment;
use support::fixture;

fn summary(run: &Path) -> Value {
    let text = std::fs::read_to_string(run.join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn quorums_sessions_and_home_routing_do_what_they_promise() {
    let tmp = tempfile::tempdir().unwrap();
    let run = run_experiment(tmp.path(), "strategies-test", &fixture("strategies-test"));
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
