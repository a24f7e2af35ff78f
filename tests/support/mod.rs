//! The one test-support module every integration test pulls in with `mod support;`.
//!
//! - [`fixture`] reads an experiment from `tests/fixtures/<name>.toml` (one file per
//!   scenario, with a comment at its top saying what it is for); a test that varies a
//!   scenario edits the loaded text itself, so the variation shows in the test.
//! - [`cluster`]: a cluster of any kind on a fresh simulated network (`Harness<C>`).
//! - [`binary`]: runs of the `caplab` binary, waited for or interrupted;
//!   [`run_in_process`] the same run through `caplab::record`, without the binary.
//! - [`history`]: hand-written operations and events, and one call to analyse them.
//! - [`noise`]: the scheduler noise measured while a timing test runs.
//! - [`tiny_run`]: a small, deterministic run directory for the chart and report tests.
//!
//! It deliberately leaves out assertions about what a test checks: each test file keeps
//! its own, so what a test proves stays readable where it is.
#![allow(dead_code)]

pub mod binary;
pub mod cluster;
pub mod history;
pub mod noise;
pub mod tiny_run;

use std::path::{Path, PathBuf};

/// Where the scenario files live.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The text of the experiment `tests/fixtures/<name>.toml` (panics if it is missing).
pub fn fixture(name: &str) -> String {
    let path = fixtures_dir().join(format!("{name}.toml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `caplab run FILE` through `caplab::record` (no binary, never interrupted): what it
/// finished and everything it printed. Panics, with the output, if the run could not run.
pub fn run_in_process(
    file: &Path,
    out: &Path,
    overrides: &caplab::experiment::Overrides,
    only: &[String],
) -> (caplab::record::Finished, caplab::record::Lines) {
    let console = caplab::record::Lines::default();
    let finished = caplab::record::run_file(
        file,
        out,
        overrides,
        only,
        &console,
        &tokio_util::sync::CancellationToken::new(),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", console.text()));
    (finished, console)
}

/// `text` with `from` replaced by `to`, panicking unless `from` occurs in it: a variation
/// of a fixture that no longer matches fails loudly instead of testing the unvaried file.
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the fixture has no {from:?}");
    text.replace(from, to)
}

/// One JSON object a line, as in `history.jsonl` and `events.jsonl`.
pub fn jsonl<T: serde::Serialize>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| serde_json::to_string(i).unwrap() + "\n")
        .collect()
}

/// The records of a JSON-lines file (panics naming the file or line that does not parse).
pub fn lines<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}
