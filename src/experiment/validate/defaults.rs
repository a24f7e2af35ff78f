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
/// Most nodes with `engine = "sim"`: nodes there are tasks on an in-memory network, with no
/// sockets or file descriptors, so only memory and CPU time bound them.
pub(crate) const MAX_SIM_NODES: usize = 2000;
/// Most users a workload may have.
pub(crate) const MAX_USERS: usize = 100_000;
/// Highest total operation rate, in operations per second.
pub(crate) const MAX_RATE: f64 = 100_000.0;
/// Largest picture, in bytes (1 MiB).
pub(crate) const MAX_PICTURE_BYTES: usize = 1 << 20;
/// Longest experiment, variant or DC name (names become directory names).
pub(crate) const MAX_NAME_LEN: usize = 64;
/// Longest duration anywhere in the file, and longest run (`warmup + duration + cooldown`):
/// one day. Every timer, delay parameter and offset is a `Duration` at most this long, so
/// sums of a few of them never overflow.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// Most operations a run may schedule, counted as `rate x duration` (the expected number of
/// Poisson arrivals). The schedule and every variant's history are held in memory, a few
/// hundred bytes per operation each: about 1 GB for two variants at this bound.
pub(crate) const MAX_OPERATIONS: f64 = 2_000_000.0;
/// Largest `max_payload_entries` and `snapshot_after`: a run has far fewer log entries (at
/// most [`MAX_OPERATIONS`] writes), and openraft adds these values to log indices, so a
/// bound keeps that arithmetic far from overflow.
pub(crate) const MAX_RAFT_ENTRIES: u64 = 1_000_000_000;
/// Most `[[faults]]` entries.
pub(crate) const MAX_FAULTS: usize = 1000;
/// Most faults all `random` entries together may generate, counted as the expected number
/// (each entry's window divided by its `mean_interval`).
pub(crate) const MAX_GENERATED_FAULTS: f64 = 10_000.0;
/// Largest relative weight (mixture components, DC weights, reader weights). Weights are
/// ratios, so nothing is lost; the bound keeps every sum finite.
pub(crate) const MAX_WEIGHT: f64 = 1e9;
/// Shortest period of a repeating timer (`heartbeat_interval`, `gossip_interval`): a
/// shorter one only spins a core.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(1);
/// Smallest Pareto `shape`: a sample is at most `scale * 2^(53/shape)` (the smallest uniform
/// draw is 2^-53), finite for every scale of at most [`MAX_DURATION`] when `shape >= 0.1`
/// (it overflows below about 0.054).
pub(crate) const MIN_PARETO_SHAPE: f64 = 0.1;
/// Largest log-normal `sigma`: with a median of at most [`MAX_DURATION`] every sample stays
/// finite (a standard normal draw is below 14 in magnitude, and e^(25.2 + 10 x 14) fits in
/// a double); sigma = 10 already spans 40 orders of magnitude.
pub(crate) const MAX_LOGNORMAL_SIGMA: f64 = 10.0;
/// Largest Zipf exponent (at 10, the most popular user already gets 99.9% of operations).
pub(crate) const MAX_ZIPF_EXPONENT: f64 = 10.0;
/// Variant names that collide with what caplab writes in a run directory besides the
/// variants' own folders (`crate::report::CHARTS_DIR`; every other entry has an extension,
/// which a kebab-case name cannot have).
pub(crate) const RESERVED_VARIANT_NAMES: &[&str] = &["charts"];

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
/// rounded up to 10 ms, and at least 50 ms (at most [`MAX_DURATION`], which a round trip
/// of valid delays never reaches).
pub(crate) fn default_heartbeat(max_round_trip: Duration) -> Duration {
    let tens = (max_round_trip.as_secs_f64() * 1.5 * 100.0).ceil() as u64;
    Duration::from_millis(tens.saturating_mul(10)).clamp(DEFAULT_HEARTBEAT, MAX_DURATION)
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

    /// Any duration: parsed by humantime, at most [`MAX_DURATION`].
    pub(super) fn duration(&mut self, path: &KeyPath, text: &DurationText) -> Option<Duration> {
        match humantime::parse_duration(text.0.trim()) {
            Ok(d) if d > MAX_DURATION => {
                self.issue(path, format!("must be at most 24h, got {:?}", text.0));
                None
            }
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

    /// A relative weight: finite and not negative, at most [`MAX_WEIGHT`].
    pub(super) fn weight(&mut self, path: &KeyPath, w: f64) -> Option<f64> {
        if (0.0..=MAX_WEIGHT).contains(&w) {
            Some(w)
        } else if w > MAX_WEIGHT {
            self.issue(
                path,
                format!("must be at most {MAX_WEIGHT:e} (weights are relative), got {w:e}"),
            );
            None
        } else {
            self.issue(path, format!("must be a number >= 0, got {w}"));
            None
        }
    }

    /// A repeating timer's period: a positive duration of at least [`MIN_INTERVAL`].
    pub(super) fn interval(&mut self, path: &KeyPath, text: &DurationText) -> Option<Duration> {
        let d = self.positive_duration(path, text)?;
        if d < MIN_INTERVAL {
            self.issue(
                path,
                format!(
                    "must be at least {} (a shorter period only spins a core)",
                    humantime::format_duration(MIN_INTERVAL)
                ),
            );
            return None;
        }
        Some(d)
    }
}
