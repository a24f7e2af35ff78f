//! The PBS model against a real run: a partial-quorum gossip variant with `n = 3, r = 1,
//! w = 1` over exponentially distributed link delays. The measured visibility of other-DC
//! reads must agree with the WARS prediction for the same reads within a few percentage
//! points in every bucket with enough reads to measure it.

mod support;

use caplab::analysis::visibility_facts::Reader;
use caplab::analysis::{analyse_run, CheckOptions};
use support::binary::run_experiment;
use support::fixture;

#[test]
fn measured_visibility_of_r1_w1_matches_the_pbs_prediction() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_experiment(tmp.path(), "pbs-check", &fixture("pbs-check"));
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
