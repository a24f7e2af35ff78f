//! Where a run's files go: `<out>/<experiment>/<run-id>/`, plus a `latest` link.
//!
//! The run id is the UTC start time (`20261126T072000Z`), with `-2`, `-3`, ... appended if
//! two runs start in the same second. `<out>/<experiment>/latest` is a relative symbolic
//! link to the newest run, replaced atomically (a new link renamed over the old one).
//!
//! Deliberately left out: cleaning up old runs.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A run directory could not be created.
#[derive(Debug, thiserror::Error)]
#[error("creating the run directory under {path}: {source}")]
pub struct RunDirError {
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
    /// Creates a fresh run directory for `experiment` under `out` and points `latest` at it.
    pub fn create(out: &Path, experiment: &str) -> Result<RunDir, RunDirError> {
        let parent = out.join(experiment);
        let err = |source| RunDirError {
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
        point_latest(&parent, &id).map_err(err)?;
        Ok(RunDir { path, id })
    }

    /// The folder of one variant's files, created on demand.
    pub fn variant_dir(&self, variant: &str) -> Result<PathBuf, RunDirError> {
        let p = self.path.join(variant);
        std::fs::create_dir_all(&p).map_err(|source| RunDirError {
            path: p.clone(),
            source,
        })?;
        Ok(p)
    }
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
    fn runs_in_the_same_second_get_distinct_dirs_and_latest_follows() {
        let dir = tempfile::tempdir().unwrap();
        let a = RunDir::create(dir.path(), "exp").unwrap();
        let b = RunDir::create(dir.path(), "exp").unwrap();
        assert_ne!(a.path, b.path);
        let latest = std::fs::canonicalize(dir.path().join("exp/latest")).unwrap();
        assert_eq!(latest, std::fs::canonicalize(&b.path).unwrap());
        assert!(a.variant_dir("raft").unwrap().is_dir());
    }
}
