//! Where a run's files go: `<out>/<experiment>/<run-id>/`, the `latest` link, and
//! [`manifest`] (`run.json`, what the run directory holds).
//!
//! The run id is the UTC start time (`20261126T072000Z`), with `-2`, `-3`, ... appended if
//! two runs start in the same second. `<out>/<experiment>/latest` is a relative symbolic
//! link to the newest run, replaced atomically (a new link renamed over the old one). It
//! moves only to a directory that already has a `run.json` (or, for a sweep, `sweep.json`),
//! so it never points at an empty or unanalysable folder.
//!
//! Deliberately left out: cleaning up old runs.

pub mod manifest;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A run directory could not be created, or `latest` not moved.
#[derive(Debug, thiserror::Error)]
#[error("{action} under {path}: {source}")]
pub struct RunDirError {
    /// `creating the run directory` or `pointing latest`.
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// A created run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
    pub id: String,
}

impl RunDir {
    /// Creates a fresh, empty run directory for `experiment` under `out` (`latest` does not
    /// move: see [`RunDir::point_latest`]).
    pub fn create(out: &Path, experiment: &str) -> Result<RunDir, RunDirError> {
        let parent = out.join(experiment);
        let err = |source| RunDirError {
            action: "creating the run directory",
            path: parent.clone(),
            source,
        };
        std::fs::create_dir_all(&parent).map_err(err)?;
        let base = run_id(SystemTime::now());
        let mut n = 1;
        let (id, path) = loop {
            let id = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let path = parent.join(&id);
            match std::fs::create_dir(&path) {
                Ok(()) => break (id, path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
                Err(e) => return Err(err(e)),
            }
        };
        Ok(RunDir { path, id })
    }

    /// Points `<out>/<experiment>/latest` at this directory, which must already hold a
    /// `run.json` or a `sweep.json`.
    pub fn point_latest(&self) -> Result<(), RunDirError> {
        let parent = self.path.parent().unwrap_or(Path::new("."));
        let err = |source| RunDirError {
            action: "pointing latest",
            path: parent.to_path_buf(),
            source,
        };
        if !is_run_dir(&self.path) {
            return Err(err(std::io::Error::other(format!(
                "{} has no {} or {} yet: latest stays where it is",
                self.path.display(),
                manifest::FILE,
                SWEEP_FILE
            ))));
        }
        point_latest(parent, &self.id).map_err(err)
    }

    /// The folder of one variant's files, created on demand.
    pub fn variant_dir(&self, variant: &str) -> Result<PathBuf, RunDirError> {
        let p = self.path.join(variant);
        std::fs::create_dir_all(&p).map_err(|source| RunDirError {
            action: "creating the variant directory",
            path: p.clone(),
            source,
        })?;
        Ok(p)
    }
}

/// The record of a sweep directory (written by `crate::record::sweep`).
pub const SWEEP_FILE: &str = "sweep.json";

/// Whether `dir` is a run or sweep directory (holds `run.json` or `sweep.json`).
pub fn is_run_dir(dir: &Path) -> bool {
    dir.join(manifest::FILE).is_file() || dir.join(SWEEP_FILE).is_file()
}

/// `20261126T072000Z` for the given time.
fn run_id(now: SystemTime) -> String {
    humantime::format_rfc3339_seconds(now)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect()
}

#[cfg(unix)]
fn point_latest(parent: &Path, id: &str) -> std::io::Result<()> {
    let tmp = parent.join(format!(".latest-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(id, &tmp)?;
    std::fs::rename(&tmp, parent.join("latest"))
}

#[cfg(not(unix))]
fn point_latest(parent: &Path, id: &str) -> std::io::Result<()> {
    std::fs::write(parent.join("latest"), id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_compact_utc_times() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        assert_eq!(run_id(t), "20270115T080000Z");
    }

    #[test]
    fn runs_in_the_same_second_get_distinct_dirs_and_latest_follows_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let a = RunDir::create(dir.path(), "exp").unwrap();
        let b = RunDir::create(dir.path(), "exp").unwrap();
        assert_ne!(a.path, b.path);
        // No run.json yet: latest does not move to b.
        assert!(b.point_latest().is_err());
        assert!(!dir.path().join("exp/latest").exists());
        std::fs::write(b.path.join(manifest::FILE), "{}").unwrap();
        b.point_latest().unwrap();
        let latest = std::fs::canonicalize(dir.path().join("exp/latest")).unwrap();
        assert_eq!(latest, std::fs::canonicalize(&b.path).unwrap());
        assert!(a.variant_dir("raft").unwrap().is_dir());
        assert!(is_run_dir(&b.path) && !is_run_dir(&a.path));
    }
}
