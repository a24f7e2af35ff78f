//! `caplab validate` on the real binary: malformed experiment files are rejected with exit
//! code 2 and a message naming the file, the key and the rule; the shipped examples pass.
//!
//! The malformed files and the message each must produce live in `tests/malformed/` (see
//! `expected.txt` there), so adding a case needs no code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn caplab() -> Command {
    let mut cmd = Command::cargo_bin("caplab").expect("the caplab binary is built for tests");
    cmd.current_dir(manifest_dir());
    cmd
}

/// `expected.txt`: file name -> substrings its error output must contain.
fn expectations() -> BTreeMap<String, Vec<String>> {
    let path = manifest_dir().join("tests/malformed/expected.txt");
    let text = std::fs::read_to_string(&path).expect("tests/malformed/expected.txt exists");
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (file, want) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("expected.txt: no `<file>: ` in {line:?}"));
        map.entry(file.to_owned())
            .or_default()
            .push(want.to_owned());
    }
    map
}

#[test]
fn every_malformed_file_has_an_expectation() {
    let expected = expectations();
    let dir = manifest_dir().join("tests/malformed");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/malformed exists") {
        let name = entry.expect("readable dir entry").file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".toml") {
            files += 1;
            assert!(
                expected.contains_key(name.as_ref()),
                "{name} has no line in expected.txt"
            );
        }
    }
    for file in expected.keys() {
        assert!(
            Path::new(&dir).join(file).exists(),
            "expected.txt names missing file {file}"
        );
    }
    assert!(files >= 12, "only {files} malformed files");
}

#[test]
fn malformed_files_are_rejected_with_exit_code_2_and_a_located_message() {
    for (file, wants) in expectations() {
        let rel = format!("tests/malformed/{file}");
        let output = caplab()
            .args(["validate", &rel])
            .output()
            .expect("caplab runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{file}: exit status\n{stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stdout.contains("panicked"),
            "{file}:\n{stderr}"
        );
        assert!(
            stderr.contains(&rel),
            "{file}: the file is not named in\n{stderr}"
        );
        for want in wants {
            assert!(stderr.contains(&want), "{file}: want {want:?} in\n{stderr}");
        }
        // One problem per line, each prefixed.
        assert!(
            stderr.lines().all(|l| l.starts_with("error: ")),
            "{file}:\n{stderr}"
        );
    }
}

#[test]
fn quickstart_is_valid() {
    caplab()
        .args(["validate", "experiments/quickstart.toml"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ok: experiments/quickstart.toml (quickstart:",
        ));
}

#[test]
fn one_bad_file_fails_the_batch_but_every_file_is_checked() {
    caplab()
        .args([
            "validate",
            "tests/malformed/zero-nodes.toml",
            "experiments/quickstart.toml",
            "tests/malformed/write-fraction.toml",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("ok: experiments/quickstart.toml"))
        .stderr(predicate::str::contains(
            "zero-nodes.toml:9:1: topology.dcs.us.nodes",
        ))
        .stderr(predicate::str::contains(
            "write-fraction.toml:23:1: workload.write_fraction",
        ));
}

#[test]
fn a_missing_file_is_an_error_not_a_panic() {
    caplab()
        .args(["validate", "tests/malformed/does-not-exist.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "does-not-exist.toml: cannot read file",
        ))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn every_shipped_experiment_is_valid_and_the_sweep_checks_its_points() {
    let mut files: Vec<String> = std::fs::read_dir(manifest_dir().join("experiments"))
        .expect("experiments/ exists")
        .map(|e| e.expect("readable dir entry").file_name())
        .map(|n| format!("experiments/{}", n.to_string_lossy()))
        .filter(|n| n.ends_with(".toml"))
        .collect();
    files.sort();
    caplab()
        .arg("validate")
        .args(&files)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ok: experiments/sweep-gossip-interval.toml (sweep-gossip-interval: 3 DCs, 5 nodes, \
             2 variants, 0 faults, seed 7; sweep of 5 points: variants.gossip.gossip_interval \
             over 50ms, 100ms, 200ms, 400ms, 800ms)",
        ));
}

/// `caplab list` validates every file it shows: over the malformed files (mixture weights of
/// 1e308 used to panic it) it lists each as invalid and exits 0.
#[test]
fn list_marks_every_malformed_file_invalid_without_panicking() {
    let results = tempfile::tempdir().expect("a temporary directory");
    let output = caplab()
        .args(["list", "--experiments", "tests/malformed", "--results"])
        .arg(results.path())
        .output()
        .expect("caplab runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for file in expectations().keys() {
        assert!(
            stdout.contains(&format!("tests/malformed/{file} (invalid")),
            "{file} not listed as invalid:\n{stdout}"
        );
    }
}
