//! The PBS model against a real run: a partial-quorum gossip variant with `n = 3, r = 1,
//! w = 1` over exponentially distributed link delays. The measured visibility of other-DC
//! reads must agree with the WARS prediction for the same reads within a few percentage
//! points in every bucket with enough reads to measure it.

mod common;

use caplab::analysis::visibility_facts::Reader;
use caplab::analysis::{analyse_run, CheckOptions};

const EXPERIMENT: &str = r#"
name = "pbs-check"
seed = 9
duration = "25s"
warmup = "500ms"
cooldown = "1s"
[topology]
client_delay = { dist = "constant", value = "200us" }
# The model draws every message's delay independently; FIFO links (the default, like TCP)
# hold a message behind slower earlier ones, which makes replicas later than it predicts.
fifo = false
[topology.dcs.eu]
nodes = 1
[topology.dcs.us]
nodes = 1
[topology.dcs.asia]
nodes = 1
[topology.default_link]
delay = { dist = "exponential", mean = "20ms" }
[[variants]]
name = "quorum-1-1"
kind = "gossip"
replicas = 3
read_quorum = 1
write_quorum = 1
# The model has neither: keep them from delivering writes earlier than it assumes.
read_repair = false
hinted_handoff = false
fanout = 0
gossip_interval = "2s"
[workload]
users = 12
rate = 400.0
write_fraction = 0.3
[workload.readers]
laptop = 0.2
friend = 0.8
"#;

#[test]
fn measured_visibility_of_r1_w1_matches_the_pbs_prediction() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::run_experiment(tmp.path(), "pbs-check", EXPERIMENT);
    let run = analyse_run(&dir, &CheckOptions::default()).unwrap();
    let pbs = run.variants[0]
        .1
        .summary
        .pbs
        .as_ref()
        .expect("a quorum variant has a prediction");
    let rows = pbs.rows(Reader::OtherDc);
    let measured: Vec<_> = rows.iter().filter(|r| r.reads >= 300).collect();
    assert!(
        measured.len() >= 4,
        "too few well-populated buckets: {rows:?}"
    );
    // The curve must actually rise through the buckets compared (not all 0 or all 1).
    assert!(measured.iter().any(|r| r.predicted < 0.8), "{rows:?}");
    assert!(measured.iter().any(|r| r.predicted > 0.95), "{rows:?}");
    let mut report = String::new();
    for r in &measured {
        report.push_str(&format!(
            "  {:>7}..{:>9?} us: {:>5} reads, measured {:.3}, PBS {:.3}\n",
            r.from_us, r.to_us, r.reads, r.measured, r.predicted
        ));
    }
    eprintln!("other-DC visibility, measured vs PBS:\n{report}");
    for r in &measured {
        // "A few percentage points": 4 points, or 3 binomial standard errors where a
        // bucket is small enough for sampling noise to exceed that.
        let se = (r.predicted * (1.0 - r.predicted) / r.reads as f64).sqrt();
        let allowed = 0.04f64.max(3.0 * se);
        assert!(
            (r.measured - r.predicted).abs() <= allowed,
            "bucket {}..{:?} us: measured {:.3} vs PBS {:.3} ({} reads)\n{report}",
            r.from_us,
            r.to_us,
            r.measured,
            r.predicted,
            r.reads
        );
    }
}
