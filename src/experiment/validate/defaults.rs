//! Default values, limits, and the scalar rules every section uses: kebab-case names,
//! durations, loss probabilities and relative weights.
//!
//! Deliberately left out: rules that need more than one value (those live with their
//! section).

use std::time::Duration;

use super::Validator;
use crate::experiment::error::KeyPath;
use crate::experiment::model::*;
use crate::experiment::raw::DurationText;

/// Most nodes an experiment may have in total (every node is a process-local server with its
/// own sockets, on one machine).
pub(crate) const MAX_NODES: usize = 128;
/// Most users a workload may have.
pub(crate) const MAX_USERS: usize = 100_000;
/// Highest total operation rate, in operations per second.
pub(crate) const MAX_RATE: f64 = 100_000.0;
/// Largest picture, in bytes (1 MiB).
pub(crate) const MAX_PICTURE_BYTES: usize = 1 << 20;
/// Longest experiment, variant or DC name (names become directory names).
pub(crate) const MAX_NAME_LEN: usize = 64;

pub(crate) const DEFAULT_WARMUP: Duration = Duration::from_secs(2);
pub(crate) const DEFAULT_COOLDOWN: Duration = Duration::from_secs(3);
pub(crate) const DEFAULT_CLIENT_DELAY: Duration = Duration::from_micros(200);
pub(crate) const DEFAULT_LOCAL_DELAY: Duration = Duration::from_micros(250);
pub(crate) const DEFAULT_PICTURE_BYTES: usize = 1024;
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
pub(crate) const DEFAULT_ZIPF_EXPONENT: f64 = 1.0;
// Raft timing defaults follow the topology (see `default_heartbeat`); elections default to
// 4x and 8x the heartbeat interval.
pub(crate) const DEFAULT_HEARTBEAT: Duration = Duration::from_millis(50);
pub(crate) const DEFAULT_RPC_TIMEOUT: Duration = Duration::from_secs(1);
pub(crate) const DEFAULT_MAX_PAYLOAD_ENTRIES: u64 = 300;
pub(crate) const DEFAULT_SNAPSHOT_AFTER: u64 = 5000;
pub(crate) const DEFAULT_READERS: ReaderMix = ReaderMix {
    phone: 0.1,
    laptop: 0.45,
    friend: 0.45,
};

/// The default heartbeat interval: 1.5 times the slowest round trip between two nodes,
/// rounded up to 10 ms, and at least 50 ms.
pub(crate) fn default_heartbeat(max_round_trip: Duration) -> Duration {
    let ms = (max_round_trip.as_secs_f64() * 1.5 * 100.0).ceil() as u64 * 10;
    Duration::from_millis(ms).max(DEFAULT_HEARTBEAT)
}

impl Validator {
    /// Names used as directory names: `[a-z0-9]` words joined by single dashes.
    pub(super) fn kebab_name(&mut self, path: &KeyPath, name: &str) -> bool {
        let kebab = !name.is_empty()
            && name.split('-').all(|w| {
                !w.is_empty()
                    && w.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
        if !kebab {
            self.issue(
                path,
                format!(
                    "{name:?} is not kebab-case (lowercase letters and digits in words joined \
                     by single dashes, e.g. \"eu-west\")"
                ),
            );
            false
        } else if name.len() > MAX_NAME_LEN {
            self.issue(
                path,
                format!("must be at most {MAX_NAME_LEN} characters long"),
            );
            false
        } else {
            true
        }
    }

    pub(super) fn duration(&mut self, path: &KeyPath, text: &DurationText) -> Option<Duration> {
        match humantime::parse_duration(text.0.trim()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.issue(path, format!("invalid duration {:?}: {e}", text.0));
                None
            }
        }
    }

    pub(super) fn positive_duration(
        &mut self,
        path: &KeyPath,
        text: &DurationText,
    ) -> Option<Duration> {
        let d = self.duration(path, text)?;
        if d.is_zero() {
            self.issue(path, "must be greater than 0");
            return None;
        }
        Some(d)
    }

    pub(super) fn duration_or(
        &mut self,
        path: &KeyPath,
        text: Option<&DurationText>,
        default: Duration,
    ) -> Option<Duration> {
        match text {
            Some(text) => self.duration(path, text),
            None => Some(default),
        }
    }

    /// A loss probability in `[0, 1)` (a link that drops everything is a partition).
    pub(super) fn loss(&mut self, path: &KeyPath, loss: Option<f64>) -> Option<f64> {
        let loss = loss.unwrap_or(0.0);
        if (0.0..1.0).contains(&loss) {
            Some(loss)
        } else {
            self.issue(
                path,
                format!(
                    "must be at least 0 and less than 1, got {loss} (use a partition fault to \
                     cut a link)"
                ),
            );
            None
        }
    }

    /// A relative weight: finite and not negative.
    pub(super) fn weight(&mut self, path: &KeyPath, w: f64) -> Option<f64> {
        if w.is_finite() && w >= 0.0 {
            Some(w)
        } else {
            self.issue(path, format!("must be a number >= 0, got {w}"));
            None
        }
    }
}
