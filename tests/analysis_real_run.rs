//! The analysis of a real run: a shortened dc-partition experiment (asia cut off for 5 s)
//! run through the `caplab` binary, then checked. Gossip must show stale reads for friends
//! during the partition and converge after healing; Raft (when this build can run it) must
//! be linearizable with no stale read.
//!
//! Any run directory can also be analysed on demand:
//! `ANALYSIS_RUN_DIR=... cargo test --release --test analysis_real_run -- --ignored --nocapture`.

mod support;

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use caplab::analysis::check_run;
use support::fixture;

#[test]
fn gossip_is_stale_for_friends_during_a_partition_and_converges_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("short-partition.toml");
    std::fs::write(&file, fixture("short-partition")).unwrap();
    let out = tmp.path().join("results");
    let mut cmd = Command::new(cargo_bin("caplab"));
    cmd.args([
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let output = cmd.output().unwrap();
    assert!(
        output.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run = out.join("short-partition/latest");
    let outcome = check_run(&run).unwrap();
    println!("{}", outcome.table);
    assert_eq!(outcome.exit_code(), 0, "{}", outcome.table);

    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    let g = &summary["variants"]["gossip"];
    assert_eq!(g["availability"]["ok_fraction"], 1.0);
    let fault = &g["availability"]["faults"][0];
    let friends = fault["stale_by_device"]["friend"]["stale_fraction"]
        .as_f64()
        .unwrap();
    let laptops = fault["stale_by_device"]["laptop"]["stale_fraction"]
        .as_f64()
        .unwrap();
    assert!(
        friends > 0.2,
        "friends' stale share in the partition: {friends}"
    );
    assert_eq!(laptops, 0.0);
    assert_eq!(g["convergence"]["converged"], true);
    assert_eq!(g["lost_writes"], 0);
    // Every write acknowledged before the heal reached every node within a few seconds.
    let after = fault["converged_after_us"].as_u64().unwrap();
    assert!(after < 3_000_000, "converged {after} us after the heal");
    assert_eq!(g["verdict"]["met"], true);

    let r = &summary["variants"]["raft"];
    assert_eq!(r["linearizable"], true, "{}", outcome.table);
    assert_eq!(r["reads"]["stale_reads"], 0);
}

#[test]
#[ignore = "analyses the run directory named by ANALYSIS_RUN_DIR"]
fn analyse_run_dir_from_env() {
    let Ok(dir) = std::env::var("ANALYSIS_RUN_DIR") else {
        return;
    };
    let start = std::time::Instant::now();
    let outcome = check_run(Path::new(&dir)).unwrap();
    println!("{}", outcome.table);
    println!(
        "exit code {} in {:.3} s; skipped: {:?}",
        outcome.exit_code(),
        start.elapsed().as_secs_f64(),
        outcome.skipped
    );
}
