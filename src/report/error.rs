//! Errors of the chart and report stage.
//!
//! Deliberately left out: errors of the analysis (they arrive as `AnalysisError` before
//! anything is drawn).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("drawing chart {chart}: {message}")]
    Chart { chart: String, message: String },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
