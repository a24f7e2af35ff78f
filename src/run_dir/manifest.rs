//! `run.json`: what a run directory holds and how far recording got.
//!
//! One type, [`RunManifest`], is both written by the recorder (`crate::record`) and read by
//! the analysis, so the two cannot drift apart. Statuses are enums serialised in kebab-case:
//!
//! ```json
//! {"experiment": "quickstart", "run_id": "20261126T072000Z", "seed": 42,
//!  "status": "running", "operations": 2022,
//!  "variants": [{"name": "raft", "kind": "raft", "status": "ok", "outcome": {...}},
//!               {"name": "gossip", "kind": "gossip", "status": "running"}]}
//! ```
//!
//! The recorder writes the file before the first variant starts (run `running`, every
//! variant `not-run`) and again whenever a variant starts or ends, each time to a temporary
//! file renamed over the old one: a run killed at any moment (even with `kill -9`) leaves a
//! complete `run.json` saying how far it got.
//!
//! Deliberately left out: anything measured (that is `summary.json`'s) and resuming a run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::experiment::{Engine, VariantKind};
pub use crate::runner::VariantOutcome;

/// The file name of the manifest in a run directory.
pub const FILE: &str = "run.json";

/// How far a run got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Recording (or killed while recording: nothing updates the file after `kill -9`).
    Running,
    /// Every selected variant ran to its end.
    Ok,
    /// At least one variant could not run.
    Failed,
    /// Stopped by Ctrl-C, SIGTERM or SIGHUP; what was recorded was flushed.
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// How far one variant got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VariantStatus {
    /// Not started (yet, or ever: the run was interrupted or killed before it).
    NotRun,
    /// Started; still recording, or killed while recording.
    Running,
    /// Ran to its end.
    Ok,
    /// Could not run (`error` says why); nothing to analyse.
    Failed,
    /// Stopped early by a signal; what it recorded is complete up to then.
    Interrupted,
}

impl VariantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VariantStatus::NotRun => "not-run",
            VariantStatus::Running => "running",
            VariantStatus::Ok => "ok",
            VariantStatus::Failed => "failed",
            VariantStatus::Interrupted => "interrupted",
        }
    }

    /// Whether the variant started recording a history (complete or not).
    pub fn started(self) -> bool {
        matches!(
            self,
            VariantStatus::Running | VariantStatus::Ok | VariantStatus::Interrupted
        )
    }
}

impl std::fmt::Display for VariantStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub experiment: String,
    pub run_id: String,
    /// The experiment's seed (always written; `null` is read as unknown).
    pub seed: Option<u64>,
    /// The engine the run recorded on (`real` for runs recorded before engines existed).
    #[serde(default)]
    pub engine: Engine,
    /// Under sim: whether the run is bit-reproducible from its `experiment.toml` (false
    /// when caplab was built without `--cfg tokio_unstable`). Absent for real runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproducible: Option<bool>,
    pub status: RunStatus,
    /// Operations in `schedule.jsonl`.
    pub operations: usize,
    /// The selected variants, in run order.
    pub variants: Vec<VariantEntry>,
}

/// One variant of `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantEntry {
    pub name: String,
    pub kind: VariantKind,
    pub status: VariantStatus,
    /// Why it failed or did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the runner counted; present once the variant ended (`ok` or `interrupted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<VariantOutcome>,
    /// caplab's own failures while the variant ran (its `lab_error` events, as
    /// `source: detail`): the analysis calls such a variant `invalid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lab_errors: Vec<String>,
}

/// `run.json` could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
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
}

impl RunManifest {
    /// Reads `<dir>/run.json`.
    pub fn read(dir: &Path) -> Result<RunManifest, ManifestError> {
        let path = dir.join(FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Read {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| ManifestError::Parse { path, source })
    }

    /// Writes `<dir>/run.json` atomically (a temporary file renamed over the old one).
    pub fn write(&self, dir: &Path) -> Result<(), ManifestError> {
        let path = dir.join(FILE);
        let err = |source| ManifestError::Write {
            path: path.clone(),
            source,
        };
        let mut json =
            serde_json::to_vec_pretty(self).map_err(|e| err(std::io::Error::other(e)))?;
        json.push(b'\n');
        let tmp = dir.join(format!(".{FILE}.tmp"));
        std::fs::write(&tmp, &json).map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)
    }

    /// The variant named `name`.
    pub fn variant_mut(&mut self, name: &str) -> Option<&mut VariantEntry> {
        self.variants.iter_mut().find(|v| v.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> RunManifest {
        RunManifest {
            engine: Engine::Real,
            reproducible: None,
            experiment: "tiny".into(),
            run_id: "20261126T072000Z".into(),
            seed: Some(5),
            status: RunStatus::Running,
            operations: 12,
            variants: vec![
                VariantEntry {
                    name: "raft".into(),
                    kind: VariantKind::Raft,
                    status: VariantStatus::Ok,
                    error: None,
                    outcome: Some(VariantOutcome {
                        window_start_us: 7,
                        operations: 12,
                        ok: 12,
                        ..Default::default()
                    }),
                    lab_errors: vec!["net: accept failed".into()],
                },
                VariantEntry {
                    name: "gossip".into(),
                    kind: VariantKind::Gossip,
                    status: VariantStatus::NotRun,
                    error: Some("interrupted before it started".into()),
                    outcome: None,
                    lab_errors: Vec::new(),
                },
            ],
        }
    }

    #[test]
    fn written_and_read_by_the_same_type_in_kebab_case() {
        let dir = tempfile::tempdir().unwrap();
        let m = manifest();
        m.write(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(text.contains(r#""status": "running""#), "{text}");
        assert!(text.contains(r#""status": "not-run""#), "{text}");
        assert!(!text.contains("\"outcome\": null"), "{text}");
        assert_eq!(RunManifest::read(dir.path()).unwrap(), m);
        assert!(!dir.path().join(format!(".{FILE}.tmp")).exists());
    }

    #[test]
    fn an_unknown_status_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = serde_json::to_string(&manifest())
            .unwrap()
            .replace("\"running\"", "\"sleeping\"");
        std::fs::write(dir.path().join(FILE), text).unwrap();
        let e = RunManifest::read(dir.path()).unwrap_err();
        assert!(matches!(e, ManifestError::Parse { .. }), "{e}");
        assert!(e.to_string().contains("run.json"), "{e}");
    }
}
