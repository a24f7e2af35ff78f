//! What can stop an analysis: files that cannot be read, parsed or written.
//!
//! Anomalies found in a history are results, not errors; only a run directory the analysis
//! cannot make sense of (exit code 2 of `caplab check`) is an [`AnalysisError`].
//!
//! Deliberately left out: recovery. A partial last line of a JSON Lines file (a run killed
//! mid-write) is tolerated by the loader and counted; anything else malformed is an error.

use std::path::PathBuf;

use crate::experiment::ExperimentError;

/// The run directory could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of a JSON Lines file (1-based `line`), or a whole JSON file (`line` 0), is
    /// not what the format says.
    #[error("{path}:{line}: {source}")]
    Parse {
        path: PathBuf,
        line: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error("the run's experiment.toml: {0}")]
    Experiment(#[from] ExperimentError),
    #[error("serialising {path}: {source}")]
    Serialise {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The run directory is inconsistent (e.g. a variant reported as run has no history).
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("latency histogram: {0}")]
    Histogram(#[from] hdrhistogram::CreationError),
}
