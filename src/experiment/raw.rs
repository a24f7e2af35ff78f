//! The experiment file as written: serde structs that mirror the TOML one to one.
//!
//! Every struct rejects unknown keys, so a typo is an error instead of a silently ignored
//! setting. Values are kept as written — durations stay strings such as `"20ms"`, names stay
//! names — so that a loaded file (with its seed filled in) can be saved back with
//! [`RawExperiment::to_toml`] and parses to the same experiment. The format is documented in
//! `docs/experiment-format.md`.
//!
//! Deliberately left out: every rule beyond "this key exists and has this TOML type".
//! Ranges, references between sections and defaults are the job of `validate`, which reports
//! all problems at once with their key paths instead of stopping at the first.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ExperimentError;

/// A whole experiment file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Missing in the file means "pick one"; a loaded experiment always has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Required, but optional here so that `--duration` can supply it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<DurationText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<DurationText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<DurationText>,
    /// `real` (loopback TCP, the default) or `sim` (virtual time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<RawEngine>,
    pub topology: RawTopology,
    /// At least one is required (checked by validation, which says so more clearly).
    #[serde(default)]
    pub variants: Vec<RawVariant>,
    pub workload: RawWorkload,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<RawFault>,
    /// A parameter sweep (see `crate::sweep`); a run of one sweep point has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<RawSweep>,
}

impl RawExperiment {
    /// The experiment as TOML. Comments and key order of the original file are not kept;
    /// delays and weight maps are written inline, as people write them.
    pub fn to_toml(&self) -> Result<String, ExperimentError> {
        let text = toml::to_string(self).map_err(ExperimentError::Serialize)?;
        // Re-reading our own output cannot fail in practice; if it did, the plain form is
        // still correct TOML.
        match text.parse::<toml_edit::DocumentMut>() {
            Ok(mut doc) => {
                inline_small_tables(doc.as_table_mut());
                Ok(doc.to_string())
            }
            Err(_) => Ok(text),
        }
    }
}

/// Keys whose tables read better inline: `delay = { dist = "normal", ... }`.
const INLINE_KEYS: &[&str] = &[
    "client_delay",
    "local_delay",
    "delay",
    "home_weights",
    "friend_weights",
    "one_way",
];

fn inline_small_tables(table: &mut toml_edit::Table) {
    for (mut key, item) in table.iter_mut() {
        match item {
            toml_edit::Item::Table(t) if INLINE_KEYS.contains(&key.get()) => {
                // A header key has no space before `=`; reset it to the default `key = `.
                key.fmt();
                let inline = std::mem::take(t).into_inline_table();
                *item = toml_edit::Item::Value(toml_edit::Value::InlineTable(inline));
            }
            toml_edit::Item::Table(t) => inline_small_tables(t),
            toml_edit::Item::ArrayOfTables(a) => a.iter_mut().for_each(inline_small_tables),
            _ => {}
        }
    }
}

/// A duration as written, e.g. `"250us"`, `"20ms"`, `"1.5s"`, `"2m"` (parsed by humantime
/// during validation, so that a bad value is reported with its key path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationText(pub String);

impl fmt::Display for DurationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for DurationText {
    fn from(s: &str) -> Self {
        DurationText(s.to_owned())
    }
}

impl Serialize for DurationText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"250us\", \"20ms\" or \"1s\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DurationText, E> {
                Ok(DurationText(v.to_owned()))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// `[topology]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopology {
    /// Client <-> node in the client's own DC (default: constant 200us).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_delay: Option<RawDelay>,
    /// Node <-> node inside one DC (default: constant 250us).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_delay: Option<RawDelay>,
    /// Loss between nodes inside one DC (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_loss: Option<f64>,
    /// Data centres by name (kept sorted, which is also the order of [`super::Topology::dcs`]).
    /// At least one is required (checked by validation).
    #[serde(default)]
    pub dcs: BTreeMap<String, RawDc>,
    /// Shaping of every DC pair not listed in `links`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_link: Option<RawDefaultLink>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<RawLink>,
    /// Whether messages on one link arrive in the order sent (default true, as over TCP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fifo: Option<bool>,
}

/// `[topology.dcs.<name>]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDc {
    pub nodes: usize,
}

/// `[topology.default_link]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaultLink {
    pub delay: RawDelay,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
}

/// `[[topology.links]]`: one DC pair (both directions unless `both_ways = false`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    pub from: String,
    pub to: String,
    pub delay: RawDelay,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub both_ways: Option<bool>,
}

/// A one-way delay distribution, tagged by `dist`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum RawDelay {
    Constant {
        value: DurationText,
    },
    Uniform {
        low: DurationText,
        high: DurationText,
    },
    Normal {
        mean: DurationText,
        stddev: DurationText,
    },
    Exponential {
        mean: DurationText,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<DurationText>,
    },
    Pareto {
        scale: DurationText,
        shape: f64,
    },
    Lognormal {
        median: DurationText,
        sigma: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<DurationText>,
    },
    Mixture {
        components: Vec<RawMixtureComponent>,
    },
}

/// One weighted component of a `mixture` delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMixtureComponent {
    pub weight: f64,
    pub delay: RawDelay,
}

/// `[[variants]]`: a name, a kind, and that kind's parameters (all optional; a parameter of
/// the other kind is an error naming it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVariant {
    pub name: String,
    pub kind: RawVariantKind,
    // Raft parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_interval: Option<DurationText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_timeout_min: Option<DurationText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_timeout_max: Option<DurationText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payload_entries: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<RawStorage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fsync: Option<RawFsync>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_policy: Option<RawReadPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_timeout: Option<DurationText>,
    // Gossip parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<RawConflict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fanout: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rumor_hops: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_entropy: Option<RawAntiEntropy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gossip_interval: Option<DurationText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_acks: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_quorum: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_quorum: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_per_dc: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_repair: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hinted_handoff: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_timeout: Option<DurationText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<RawSession>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_wait: Option<DurationText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<RawRouting>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawSession {
    None,
    Tokens,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawRouting {
    Nearest,
    HomeDc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawVariantKind {
    Raft,
    Gossip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawEngine {
    Real,
    Sim,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawStorage {
    Memory,
    Disk,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawFsync {
    Always,
    Batch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawReadPolicy {
    Linearizable,
    Follower,
    Lease,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawConflict {
    LwwHlc,
    LwwWallclock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawAntiEntropy {
    Off,
    Push,
    Pull,
    PushPull,
}

/// `[workload]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub users: usize,
    pub rate: f64,
    pub write_fraction: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popularity: Option<RawPopularity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipf_exponent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture_bytes: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<DurationText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_weights: Option<BTreeMap<String, f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friend_weights: Option<BTreeMap<String, f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readers: Option<RawReaders>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub travel: Option<RawTravel>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawPopularity {
    Uniform,
    Zipf,
}

/// `[workload.readers]`: relative weights; a weight left out of a present table is 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReaders {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub laptop: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friend: Option<f64>,
}

/// `[workload.travel]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTravel {
    pub users: usize,
    pub to: String,
    pub at: DurationText,
}

/// `[[faults]]`: one flat table per fault. Which of the optional keys are allowed (or
/// required) depends on `kind`; validation names any key that does not belong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub at: DurationText,
    pub kind: RawFaultKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<DurationText>,
    // partition: exactly one of the next four.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolate_dc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<RawSplit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_way: Option<RawOneWay>,
    // crash, pause, clock-skew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    // clock-skew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
    // latency, loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub both_ways: Option<bool>,
    // latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<RawDelay>,
    // loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    // random.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_interval: Option<DurationText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_duration: Option<DurationText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<RawFaultKind>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawFaultKind {
    Partition,
    Crash,
    Pause,
    Latency,
    Loss,
    ClockSkew,
    Random,
}

impl RawFaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RawFaultKind::Partition => "partition",
            RawFaultKind::Crash => "crash",
            RawFaultKind::Pause => "pause",
            RawFaultKind::Latency => "latency",
            RawFaultKind::Loss => "loss",
            RawFaultKind::ClockSkew => "clock-skew",
            RawFaultKind::Random => "random",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawSplit {
    Halves,
    MajoritiesRing,
}

/// `one_way = { from = [...], to = [...] }` of a partition fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOneWay {
    pub from: Vec<String>,
    pub to: Vec<String>,
}

/// `[sweep]`: run the experiment once per value (combination) of one or two parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    /// One or two (checked by validation, which says so more clearly).
    #[serde(default)]
    pub parameters: Vec<RawSweepParameter>,
    /// Metric names from the catalogue in `crate::sweep::metric`.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Repetitions of every point with derived seeds (1 to 100, checked by validation;
    /// signed so that a negative value gets the same clear message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds: Option<i64>,
}

/// `[[sweep.parameters]]`: a key path and either `values` or `range`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSweepParameter {
    /// Dotted path of a value in this file, e.g. `variants.gossip.gossip_interval`.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<SweepValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<RawRange>,
}

/// `range = { from = .., to = .., step = .. }`: numbers, or durations as strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRange {
    pub from: SweepValue,
    pub to: SweepValue,
    pub step: SweepValue,
}

/// One scalar TOML value as written in a sweep: a string (often a duration such as
/// `"50ms"`), an integer, a float or a boolean.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepValue {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
}

impl fmt::Display for SweepValue {
    /// As TOML writes it: strings quoted, numbers and booleans bare.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweepValue::String(s) => write!(f, "{s:?}"),
            SweepValue::Integer(i) => write!(f, "{i}"),
            SweepValue::Float(x) => write!(f, "{x:?}"),
            SweepValue::Boolean(b) => write!(f, "{b}"),
        }
    }
}

impl Serialize for SweepValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SweepValue::String(s) => serializer.serialize_str(s),
            SweepValue::Integer(i) => serializer.serialize_i64(*i),
            SweepValue::Float(x) => serializer.serialize_f64(*x),
            SweepValue::Boolean(b) => serializer.serialize_bool(*b),
        }
    }
}

impl<'de> Deserialize<'de> for SweepValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SweepValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, integer, float or boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SweepValue, E> {
                Ok(SweepValue::String(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SweepValue, E> {
                Ok(SweepValue::Integer(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SweepValue, E> {
                i64::try_from(v)
                    .map(SweepValue::Integer)
                    .map_err(|_| E::custom("integer out of range"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<SweepValue, E> {
                Ok(SweepValue::Float(v))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<SweepValue, E> {
                Ok(SweepValue::Boolean(v))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}
