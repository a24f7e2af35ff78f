//! The metrics a sweep can chart against its parameters: a fixed catalogue of names, each
//! with its unit and how it is read from a variant's analysis summary.
//!
//! Every metric is one number per variant and run, taken from `summary.json`'s variant
//! entry ([`VariantSummary`]); `None` when the run has nothing to measure (no successful
//! reads, no apply events, ...). Shares are fractions from 0 to 1 in `sweep.json` and
//! `sweep.csv`, percentages on charts.
//!
//! Deliberately left out: user-defined metrics and expressions; per-DC metrics.

use serde::Serialize;

use crate::analysis::latency::DurationStats;
use crate::analysis::VariantSummary;

/// One metric of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    ReadP50Ms,
    ReadP99Ms,
    WriteP50Ms,
    WriteP99Ms,
    Availability,
    StaleShare,
    FriendStaleShare,
    StableP50Ms,
    StableP99Ms,
    ConvergenceP50Ms,
    ConvergenceP99Ms,
    MessagesPerOp,
    MessagesPerWrite,
    BytesPerOp,
}

/// What a metric's numbers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// Milliseconds.
    Ms,
    /// A fraction from 0 to 1 (drawn as a percentage).
    Share,
    /// Messages per client operation (or per write).
    Messages,
    /// Bytes per client operation.
    Bytes,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::Share => "share",
            Unit::Messages => "messages",
            Unit::Bytes => "bytes",
        }
    }
}

impl Metric {
    /// The whole catalogue, in documentation order.
    pub const ALL: [Metric; 14] = [
        Metric::ReadP50Ms,
        Metric::ReadP99Ms,
        Metric::WriteP50Ms,
        Metric::WriteP99Ms,
        Metric::Availability,
        Metric::StaleShare,
        Metric::FriendStaleShare,
        Metric::StableP50Ms,
        Metric::StableP99Ms,
        Metric::ConvergenceP50Ms,
        Metric::ConvergenceP99Ms,
        Metric::MessagesPerOp,
        Metric::MessagesPerWrite,
        Metric::BytesPerOp,
    ];

    /// The name used in `metrics = [...]`, `sweep.json`, `sweep.csv` and chart files.
    pub fn name(self) -> &'static str {
        match self {
            Metric::ReadP50Ms => "read_p50_ms",
            Metric::ReadP99Ms => "read_p99_ms",
            Metric::WriteP50Ms => "write_p50_ms",
            Metric::WriteP99Ms => "write_p99_ms",
            Metric::Availability => "availability",
            Metric::StaleShare => "stale_share",
            Metric::FriendStaleShare => "friend_stale_share",
            Metric::StableP50Ms => "stable_p50_ms",
            Metric::StableP99Ms => "stable_p99_ms",
            Metric::ConvergenceP50Ms => "convergence_p50_ms",
            Metric::ConvergenceP99Ms => "convergence_p99_ms",
            Metric::MessagesPerOp => "messages_per_op",
            Metric::MessagesPerWrite => "messages_per_write",
            Metric::BytesPerOp => "bytes_per_op",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Every name, comma-separated (for error messages).
    pub fn names() -> String {
        Metric::ALL.map(Metric::name).join(", ")
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::Availability | Metric::StaleShare | Metric::FriendStaleShare => Unit::Share,
            Metric::MessagesPerOp | Metric::MessagesPerWrite => Unit::Messages,
            Metric::BytesPerOp => Unit::Bytes,
            _ => Unit::Ms,
        }
    }

    /// What the metric is, briefly, for chart titles and axis labels.
    pub fn label(self) -> &'static str {
        match self {
            Metric::ReadP50Ms => "Read latency p50",
            Metric::ReadP99Ms => "Read latency p99",
            Metric::WriteP50Ms => "Write latency p50",
            Metric::WriteP99Ms => "Write latency p99",
            Metric::Availability => "Availability",
            Metric::StaleShare => "Stale reads",
            Metric::FriendStaleShare => "Stale reads of friends",
            Metric::StableP50Ms => "Time until stable, p50",
            Metric::StableP99Ms => "Time until stable, p99",
            Metric::ConvergenceP50Ms => "Convergence lag p50",
            Metric::ConvergenceP99Ms => "Convergence lag p99",
            Metric::MessagesPerOp => "Messages per operation",
            Metric::MessagesPerWrite => "Node messages per write",
            Metric::BytesPerOp => "Bytes per operation",
        }
    }

    /// One sentence: what is measured (report captions, documentation).
    pub fn description(self) -> &'static str {
        match self {
            Metric::ReadP50Ms | Metric::ReadP99Ms => "latency of successful reads",
            Metric::WriteP50Ms | Metric::WriteP99Ms => "latency of successful writes",
            Metric::Availability => "share of all operations that succeeded",
            Metric::StaleShare => {
                "share of checked reads that returned an older picture than one already \
                 acknowledged"
            }
            Metric::FriendStaleShare => {
                "the same, for reads by friends (readers in another DC than the owner)"
            }
            Metric::StableP50Ms | Metric::StableP99Ms => {
                "time from a write's acknowledgement until no later read returned anything \
                 older, over the writes that became stable"
            }
            Metric::ConvergenceP50Ms | Metric::ConvergenceP99Ms => {
                "time from a write's acknowledgement until every replica held it, over the \
                 writes that converged"
            }
            Metric::MessagesPerOp => "messages sent (client and node-to-node) per client operation",
            Metric::MessagesPerWrite => {
                "node-to-node messages sent (replication, anti-entropy, rumours, heartbeats) \
                 per acknowledged write"
            }
            Metric::BytesPerOp => "bytes sent per client operation",
        }
    }

    /// The metric of one analysed variant.
    pub fn value(self, v: &VariantSummary) -> Option<f64> {
        let ms = |s: Option<&DurationStats>, p99: bool| {
            s.map(|s| if p99 { s.p99 } else { s.p50 } as f64 / 1e3)
        };
        match self {
            Metric::ReadP50Ms => ms(v.reads.latency_us.as_ref(), false),
            Metric::ReadP99Ms => ms(v.reads.latency_us.as_ref(), true),
            Metric::WriteP50Ms => ms(v.writes.latency_us.as_ref(), false),
            Metric::WriteP99Ms => ms(v.writes.latency_us.as_ref(), true),
            Metric::Availability => v.availability.ok_fraction,
            Metric::StaleShare => v.staleness.stale_fraction,
            Metric::FriendStaleShare => v
                .breakdown
                .by_device
                .get("friend")
                .and_then(|g| g.stale_fraction),
            Metric::StableP50Ms => ms(v.staleness.stable_latency_us.stats.as_ref(), false),
            Metric::StableP99Ms => ms(v.staleness.stable_latency_us.stats.as_ref(), true),
            Metric::ConvergenceP50Ms | Metric::ConvergenceP99Ms => ms(
                v.staleness
                    .convergence_lag_us
                    .as_ref()
                    .and_then(|l| l.stats.as_ref()),
                self == Metric::ConvergenceP99Ms,
            ),
            Metric::MessagesPerOp => v.messages_per_op,
            Metric::MessagesPerWrite => {
                let c = v.cost.as_ref()?;
                (v.writes.ok > 0).then(|| c.node_node_messages as f64 / v.writes.ok as f64)
            }
            Metric::BytesPerOp => v.cost.as_ref().and_then(|c| c.bytes_per_op),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(m));
            assert!(!m.label().is_empty() && !m.description().is_empty());
        }
        let mut names: Vec<_> = Metric::ALL.map(Metric::name).to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
        assert_eq!(Metric::from_name("p99"), None);
        assert!(Metric::names().starts_with("read_p50_ms, read_p99_ms"));
        assert_eq!(Metric::Availability.unit(), Unit::Share);
    }
}
