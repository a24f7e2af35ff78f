//! From raw TOML to a validated [`Experiment`]: defaults, ranges and cross-references.
//!
//! Validation never stops at the first problem: every section is checked (references to data
//! centres and nodes are resolved from `topology.dcs` even when other parts of the topology
//! are broken) and every issue is reported with its key path, then located in the source.
//! The rules are documented key by key in `docs/experiment-format.md`; decisions worth
//! knowing:
//!
//! - Each ordered DC pair is shaped by exactly one `[[topology.links]]` entry. An entry with
//!   `both_ways = true` (the default) claims both directions, so giving the reverse direction
//!   its own entry is an error unless both entries say `both_ways = false`.
//! - Partition `groups` must list every node exactly once (no implicit extra group).
//! - A missing seed becomes a random 63-bit one (TOML integers are signed 64-bit, and the
//!   seed must survive being saved in the run's `experiment.toml`).
//!
//! - Variant parameters of the other kind (e.g. `fanout` on a Raft variant) are errors.
//!
//! Deliberately left out: any check that needs a running cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::error::{Issue, KeyPath, Locator};
use super::model::*;
use super::raw::*;
use super::{ExperimentError, Loaded, Overrides};
use crate::net::delay::DelayModel;

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

pub(crate) fn parse_and_validate(
    source: &str,
    origin: &str,
    overrides: &Overrides,
) -> Result<Loaded, ExperimentError> {
    let mut raw: RawExperiment =
        toml::from_str(source).map_err(|e| ExperimentError::from_toml(origin, source, &e))?;

    let mut overridden = Vec::new();
    if let Some(seed) = overrides.seed {
        raw.seed = Some(seed);
        overridden.push(KeyPath::root().key("seed"));
    }
    if let Some(duration) = overrides.duration {
        raw.duration = Some(DurationText(
            humantime::format_duration(duration).to_string(),
        ));
        overridden.push(KeyPath::root().key("duration"));
    }
    if raw.seed.is_none() {
        raw.seed = Some(rand::random::<u64>() >> 1);
    }

    let mut v = Validator::default();
    let experiment = v.experiment(&raw);
    match experiment {
        Some(experiment) if v.issues.is_empty() => Ok(Loaded { raw, experiment }),
        _ => {
            let locator = Locator::new(source);
            let mut issues: Vec<Issue> = v
                .issues
                .into_iter()
                .map(|(path, message)| {
                    if overridden.contains(&path) {
                        let message = format!("{message} (set on the command line)");
                        Issue {
                            key: path.to_string(),
                            message,
                            line_col: None,
                        }
                    } else {
                        let line_col = locator.locate(&path);
                        Issue {
                            key: path.to_string(),
                            message,
                            line_col,
                        }
                    }
                })
                .collect();
            if issues.is_empty() {
                // Every rule that rejects something records why; this is a safety net.
                issues.push(Issue {
                    key: "(file)".to_owned(),
                    message: "invalid experiment".to_owned(),
                    line_col: None,
                });
            }
            Err(ExperimentError::Invalid {
                origin: origin.to_owned(),
                issues,
            })
        }
    }
}

/// Data centre and node names, derived from `topology.dcs` alone so that references in the
/// workload and the faults can be checked even when the rest of the topology is broken.
struct Names {
    dcs: Vec<String>,
    /// `None` when the node count is over the cap (nodes are then not enumerated).
    nodes: Option<Vec<String>>,
}

impl Names {
    fn new(raw: &RawTopology) -> Self {
        let dcs: Vec<String> = raw.dcs.keys().cloned().collect();
        let total = raw
            .dcs
            .values()
            .fold(0usize, |acc, dc| acc.saturating_add(dc.nodes));
        let nodes = (total <= MAX_NODES).then(|| {
            raw.dcs
                .iter()
                .flat_map(|(name, dc)| (1..=dc.nodes).map(move |n| format!("{name}-{n}")))
                .collect()
        });
        Names { dcs, nodes }
    }

    fn dc_list(&self) -> String {
        if self.dcs.is_empty() {
            "there are none".to_owned()
        } else {
            format!("DCs are {}", self.dcs.join(", "))
        }
    }

    fn node_list(&self) -> String {
        let Some(nodes) = &self.nodes else {
            return "too many nodes".to_owned();
        };
        const SHOWN: usize = 12;
        if nodes.len() <= SHOWN {
            format!("nodes are {}", nodes.join(", "))
        } else {
            format!(
                "nodes are {}, ... ({} in all)",
                nodes[..SHOWN].join(", "),
                nodes.len()
            )
        }
    }
}

/// Collects issues while building the typed experiment. Every method that returns `None`
/// has recorded at least one issue.
#[derive(Default)]
struct Validator {
    issues: Vec<(KeyPath, String)>,
}

impl Validator {
    fn issue(&mut self, path: &KeyPath, message: impl Into<String>) {
        self.issues.push((path.clone(), message.into()));
    }

    fn experiment(&mut self, raw: &RawExperiment) -> Option<Experiment> {
        let root = KeyPath::root();
        let names = Names::new(&raw.topology);

        let name_ok = self.kebab_name(&root.key("name"), &raw.name);
        let seed = match raw.seed {
            Some(seed) if seed > i64::MAX as u64 => {
                self.issue(
                    &root.key("seed"),
                    format!(
                        "must be at most {} (TOML integers are signed 64-bit)",
                        i64::MAX
                    ),
                );
                None
            }
            seed => seed,
        };
        let duration = match &raw.duration {
            Some(text) => self.positive_duration(&root.key("duration"), text),
            None => {
                self.issue(
                    &root.key("duration"),
                    "is required: the length of the measured window, e.g. duration = \"30s\"",
                );
                None
            }
        };
        let warmup = self.duration_or(&root.key("warmup"), raw.warmup.as_ref(), DEFAULT_WARMUP);
        let cooldown = self.duration_or(
            &root.key("cooldown"),
            raw.cooldown.as_ref(),
            DEFAULT_COOLDOWN,
        );
        let topology = self.topology(&raw.topology, &names);
        let variants = self.variants(&raw.variants, &names, topology.as_ref());
        let workload = self.workload(&raw.workload, &names, duration);
        let faults = self.faults(&raw.faults, &names, duration, cooldown);

        name_ok.then_some(())?;
        Some(Experiment {
            name: raw.name.clone(),
            description: raw.description.clone(),
            seed: seed?,
            duration: duration?,
            warmup: warmup?,
            cooldown: cooldown?,
            topology: topology?,
            variants: variants?,
            workload: workload?,
            faults: faults?,
        })
    }

    // ---- scalars -------------------------------------------------------------------------

    /// Names used as directory names: `[a-z0-9]` words joined by single dashes.
    fn kebab_name(&mut self, path: &KeyPath, name: &str) -> bool {
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

    fn duration(&mut self, path: &KeyPath, text: &DurationText) -> Option<Duration> {
        match humantime::parse_duration(text.0.trim()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.issue(path, format!("invalid duration {:?}: {e}", text.0));
                None
            }
        }
    }

    fn positive_duration(&mut self, path: &KeyPath, text: &DurationText) -> Option<Duration> {
        let d = self.duration(path, text)?;
        if d.is_zero() {
            self.issue(path, "must be greater than 0");
            return None;
        }
        Some(d)
    }

    fn duration_or(
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
    fn loss(&mut self, path: &KeyPath, loss: Option<f64>) -> Option<f64> {
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
    fn weight(&mut self, path: &KeyPath, w: f64) -> Option<f64> {
        if w.is_finite() && w >= 0.0 {
            Some(w)
        } else {
            self.issue(path, format!("must be a number >= 0, got {w}"));
            None
        }
    }

    // ---- topology ------------------------------------------------------------------------

    fn topology(&mut self, raw: &RawTopology, names: &Names) -> Option<Topology> {
        let path = KeyPath::root().key("topology");
        let dcs_path = path.key("dcs");
        let mut ok = true;

        if raw.dcs.is_empty() {
            self.issue(
                &dcs_path,
                "at least one data centre is needed, e.g. [topology.dcs.eu]",
            );
            ok = false;
        }
        let mut dcs = Vec::new();
        for (name, dc) in &raw.dcs {
            ok &= self.kebab_name(&dcs_path.key(name), name);
            if dc.nodes == 0 {
                self.issue(&dcs_path.key(name).key("nodes"), "must be at least 1");
                ok = false;
            }
            dcs.push(Dc {
                name: name.clone(),
                nodes: dc.nodes,
            });
        }
        let total = raw
            .dcs
            .values()
            .fold(0usize, |acc, dc| acc.saturating_add(dc.nodes));
        if total > MAX_NODES {
            self.issue(
                &dcs_path,
                format!("{total} nodes in total; at most {MAX_NODES} are supported"),
            );
            ok = false;
        }
        let nodes: Vec<Node> = match &names.nodes {
            Some(_) => dcs
                .iter()
                .enumerate()
                .flat_map(|(i, dc)| {
                    (1..=dc.nodes).map(move |n| Node {
                        name: format!("{}-{n}", dc.name),
                        dc: i,
                    })
                })
                .collect(),
            None => Vec::new(),
        };

        let client_delay = match &raw.client_delay {
            Some(d) => self.delay(&path.key("client_delay"), d),
            None => Some(DelayModel::constant(DEFAULT_CLIENT_DELAY)),
        };
        let local_delay = match &raw.local_delay {
            Some(d) => self.delay(&path.key("local_delay"), d),
            None => Some(DelayModel::constant(DEFAULT_LOCAL_DELAY)),
        };
        let local_loss = self.loss(&path.key("local_loss"), raw.local_loss);
        let default_link = raw.default_link.as_ref().map(|l| {
            let p = path.key("default_link");
            let delay = self.delay(&p.key("delay"), &l.delay);
            let loss = self.loss(&p.key("loss"), l.loss);
            Some(LinkSpec {
                delay: delay?,
                loss: loss?,
            })
        });
        let links = self.links(raw, names, local_delay.zip(local_loss), default_link);

        ok.then_some(())?;
        Some(Topology {
            dcs,
            nodes,
            client_delay: client_delay?,
            links: links?,
            fifo: raw.fifo.unwrap_or(true),
        })
    }

    /// The `links[from][to]` matrix: the diagonal from `local`, the rest from
    /// `[[topology.links]]`, then `default_link`.
    fn links(
        &mut self,
        raw: &RawTopology,
        names: &Names,
        local: Option<(DelayModel, f64)>,
        default_link: Option<Option<LinkSpec>>,
    ) -> Option<Vec<Vec<LinkSpec>>> {
        let path = KeyPath::root().key("topology").key("links");
        let n = names.dcs.len();
        let mut ok = true;
        // An entry naming an unknown DC: which pairs it was meant for is unknown, so missing
        // pairs are not reported (they would mostly repeat the same mistake).
        let mut unresolved = false;
        // Which entry set each ordered pair, and whether it did so as the reverse direction.
        let mut set_by: Vec<Vec<Option<(usize, bool)>>> = vec![vec![None; n]; n];
        let mut specs: Vec<Vec<Option<LinkSpec>>> = vec![vec![None; n]; n];

        for (i, link) in raw.links.iter().enumerate() {
            let p = path.index(i);
            let from = self.dc_ref(&p.key("from"), &link.from, names);
            let to = self.dc_ref(&p.key("to"), &link.to, names);
            let delay = self.delay(&p.key("delay"), &link.delay);
            let loss = self.loss(&p.key("loss"), link.loss);
            let (Some(from), Some(to)) = (from, to) else {
                ok = false;
                unresolved = true;
                continue;
            };
            if from == to {
                self.issue(
                    &p.key("to"),
                    format!(
                        "a link joins two different DCs (inside {} use topology.local_delay and \
                         topology.local_loss)",
                        names.dcs[from]
                    ),
                );
                ok = false;
                continue;
            }
            let both_ways = link.both_ways.unwrap_or(true);
            let mut pairs = vec![(from, to, false)];
            if both_ways {
                pairs.push((to, from, true));
            }
            let conflict = pairs
                .iter()
                .find_map(|&(a, b, reverse)| set_by[a][b].map(|s| (a, b, reverse, s)));
            if let Some((a, b, reverse, (j, prev_reverse))) = conflict {
                let (a, b) = (&names.dcs[a], &names.dcs[b]);
                let message = if !reverse && !prev_reverse {
                    format!("duplicate link: {a} -> {b} is already set by topology.links[{j}]")
                } else {
                    format!(
                        "{a} -> {b} is already set by topology.links[{j}]; an entry sets both \
                         directions unless both_ways = false, so set both_ways = false on both \
                         entries to shape each direction separately"
                    )
                };
                self.issue(&p, message);
                ok = false;
                continue;
            }
            let spec = match (delay, loss) {
                (Some(delay), Some(loss)) => Some(LinkSpec { delay, loss }),
                _ => {
                    ok = false;
                    None
                }
            };
            for (a, b, reverse) in pairs {
                set_by[a][b] = Some((i, reverse));
                specs[a][b] = spec.clone();
            }
        }

        for a in 0..n {
            for b in 0..n {
                if a == b || set_by[a][b].is_some() {
                    continue;
                }
                match &default_link {
                    Some(Some(spec)) => specs[a][b] = Some(spec.clone()),
                    Some(None) => ok = false,
                    None if unresolved => ok = false,
                    None => {
                        // Report a pair missing in both directions once.
                        if set_by[b][a].is_none() && b < a {
                            continue;
                        }
                        let message = if set_by[b][a].is_none() {
                            format!(
                                "no link between {} and {} (in either direction) and no \
                                 topology.default_link",
                                names.dcs[a], names.dcs[b]
                            )
                        } else {
                            format!(
                                "no link from {} to {} and no topology.default_link",
                                names.dcs[a], names.dcs[b]
                            )
                        };
                        self.issue(&path, message);
                        ok = false;
                    }
                }
            }
        }

        let (local_delay, local_loss) = local?;
        ok.then_some(())?;
        let mut links = Vec::with_capacity(n);
        for (a, row) in specs.into_iter().enumerate() {
            let mut out = Vec::with_capacity(n);
            for (b, spec) in row.into_iter().enumerate() {
                if a == b {
                    out.push(LinkSpec {
                        delay: local_delay.clone(),
                        loss: local_loss,
                    });
                } else {
                    out.push(spec?);
                }
            }
            links.push(out);
        }
        Some(links)
    }

    fn delay(&mut self, path: &KeyPath, raw: &RawDelay) -> Option<DelayModel> {
        let result = match raw {
            RawDelay::Constant { value } => {
                return self
                    .duration(&path.key("value"), value)
                    .map(DelayModel::constant);
            }
            RawDelay::Uniform { low, high } => {
                let low = self.duration(&path.key("low"), low);
                let high = self.duration(&path.key("high"), high);
                DelayModel::uniform(low?, high?)
            }
            RawDelay::Normal { mean, stddev } => {
                let mean = self.duration(&path.key("mean"), mean);
                let stddev = self.duration(&path.key("stddev"), stddev);
                DelayModel::normal(mean?, stddev?)
            }
            RawDelay::Exponential { mean, offset } => {
                let mean = self.duration(&path.key("mean"), mean);
                let offset = self.duration_or(&path.key("offset"), offset.as_ref(), Duration::ZERO);
                DelayModel::exponential(mean?, offset?)
            }
            RawDelay::Pareto { scale, shape } => {
                let scale = self.duration(&path.key("scale"), scale);
                DelayModel::pareto(scale?, *shape)
            }
            RawDelay::Lognormal {
                median,
                sigma,
                offset,
            } => {
                let median = self.duration(&path.key("median"), median);
                let offset = self.duration_or(&path.key("offset"), offset.as_ref(), Duration::ZERO);
                DelayModel::log_normal(median?, *sigma, offset?)
            }
            RawDelay::Mixture { components } => {
                let mut parts = Vec::with_capacity(components.len());
                let mut ok = true;
                for (i, c) in components.iter().enumerate() {
                    let p = path.key("components").index(i);
                    let weight = self.weight(&p.key("weight"), c.weight);
                    let delay = self.delay(&p.key("delay"), &c.delay);
                    match (weight, delay) {
                        (Some(w), Some(d)) => parts.push((w, d)),
                        _ => ok = false,
                    }
                }
                ok.then_some(())?;
                DelayModel::mixture(parts)
            }
        };
        match result {
            Ok(model) => Some(model),
            Err(e) => {
                self.issue(path, e.to_string());
                None
            }
        }
    }

    fn dc_ref(&mut self, path: &KeyPath, name: &str, names: &Names) -> Option<DcIdx> {
        let found = names.dcs.iter().position(|d| d == name);
        if found.is_none() {
            self.issue(path, format!("unknown DC {name:?} ({})", names.dc_list()));
        }
        found
    }

    fn node_ref(&mut self, path: &KeyPath, name: &str, names: &Names) -> Option<NodeIdx> {
        // Over the node cap, nodes are not enumerated and the topology has its own issue.
        let nodes = names.nodes.as_ref()?;
        let found = nodes.iter().position(|n| n == name);
        if found.is_none() {
            self.issue(
                path,
                format!("unknown node {name:?} ({})", names.node_list()),
            );
        }
        found
    }

    // ---- variants ------------------------------------------------------------------------

    fn variants(
        &mut self,
        raw: &[RawVariant],
        names: &Names,
        topology: Option<&Topology>,
    ) -> Option<Vec<Variant>> {
        let path = KeyPath::root().key("variants");
        if raw.is_empty() {
            self.issue(
                &path,
                "at least one variant is needed, e.g. [[variants]] name = \"raft\" kind = \"raft\"",
            );
            return None;
        }
        let mut ok = true;
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        let mut variants = Vec::with_capacity(raw.len());
        for (i, v) in raw.iter().enumerate() {
            let p = path.index(i).key("name");
            ok &= self.kebab_name(&p, &v.name);
            if let Some(j) = seen.insert(&v.name, i) {
                self.issue(
                    &p,
                    format!("duplicate variant name {:?} (also variants[{j}])", v.name),
                );
                ok = false;
            }
            match self.variant_params(&path.index(i), v, names, topology) {
                Some(params) => variants.push(Variant {
                    name: v.name.clone(),
                    params,
                }),
                None => ok = false,
            }
        }
        ok.then_some(variants)
    }

    /// The parameters of one variant: defaults filled in, each checked, and parameters of
    /// the other kind rejected by name.
    fn variant_params(
        &mut self,
        path: &KeyPath,
        v: &RawVariant,
        names: &Names,
        topology: Option<&Topology>,
    ) -> Option<VariantParams> {
        let raft_keys = [
            ("heartbeat_interval", v.heartbeat_interval.is_some()),
            ("election_timeout_min", v.election_timeout_min.is_some()),
            ("election_timeout_max", v.election_timeout_max.is_some()),
            ("max_payload_entries", v.max_payload_entries.is_some()),
            ("snapshot_after", v.snapshot_after.is_some()),
            ("storage", v.storage.is_some()),
            ("fsync", v.fsync.is_some()),
            ("read_policy", v.read_policy.is_some()),
            ("leader", v.leader.is_some()),
            ("rpc_timeout", v.rpc_timeout.is_some()),
        ];
        let gossip_keys = [
            ("conflict", v.conflict.is_some()),
            ("fanout", v.fanout.is_some()),
            ("rumor_hops", v.rumor_hops.is_some()),
            ("anti_entropy", v.anti_entropy.is_some()),
            ("gossip_interval", v.gossip_interval.is_some()),
            ("write_acks", v.write_acks.is_some()),
            ("durable", v.durable.is_some()),
            ("replicas", v.replicas.is_some()),
            ("read_quorum", v.read_quorum.is_some()),
            ("write_quorum", v.write_quorum.is_some()),
            ("replica_per_dc", v.replica_per_dc.is_some()),
            ("read_repair", v.read_repair.is_some()),
            ("hinted_handoff", v.hinted_handoff.is_some()),
            ("quorum_timeout", v.quorum_timeout.is_some()),
            ("session", v.session.is_some()),
            ("session_wait", v.session_wait.is_some()),
            ("routing", v.routing.is_some()),
        ];
        let (kind, foreign) = match v.kind {
            RawVariantKind::Raft => ("raft", &gossip_keys[..]),
            RawVariantKind::Gossip => ("gossip", &raft_keys[..]),
        };
        let mut ok = true;
        for (key, set) in foreign.iter() {
            if *set {
                self.issue(
                    &path.key(key),
                    format!("not a parameter of kind = \"{kind}\""),
                );
                ok = false;
            }
        }
        let params = match v.kind {
            RawVariantKind::Raft => VariantParams::Raft(self.raft_params(path, v, topology)?),
            RawVariantKind::Gossip => VariantParams::Gossip(self.gossip_params(path, v, names)?),
        };
        ok.then_some(params)
    }

    /// Raft parameters. Timing defaults follow the topology: openraft gives every
    /// AppendEntries (heartbeats included) one heartbeat interval to complete, so the
    /// interval must exceed the slowest round trip between two nodes.
    fn raft_params(
        &mut self,
        path: &KeyPath,
        v: &RawVariant,
        topology: Option<&Topology>,
    ) -> Option<RaftParams> {
        let mut ok = true;
        let positive = |this: &mut Self, key: &str, text: &Option<DurationText>, default| match text
        {
            Some(t) => this.positive_duration(&path.key(key), t),
            None => Some(default),
        };
        let (rtt, rtt_a, rtt_b) = topology.map_or((Duration::ZERO, 0, 0), |t| t.max_round_trip());
        let heartbeat = positive(
            self,
            "heartbeat_interval",
            &v.heartbeat_interval,
            default_heartbeat(rtt),
        );
        if let (Some(h), Some(t)) = (heartbeat, topology) {
            if h <= rtt {
                let (a, b) = (&t.dcs[rtt_a].name, &t.dcs[rtt_b].name);
                self.issue(
                    &path.key("heartbeat_interval"),
                    format!(
                        "must exceed the slowest round trip between two nodes ({}, {a} <-> {b}): \
                         openraft gives each AppendEntries one heartbeat interval, so a shorter \
                         one never replicates across that link (leave it out for {})",
                        humantime::format_duration(rtt),
                        humantime::format_duration(default_heartbeat(rtt))
                    ),
                );
                ok = false;
            }
        }
        let hb = heartbeat.unwrap_or(DEFAULT_HEARTBEAT);
        let min = positive(
            self,
            "election_timeout_min",
            &v.election_timeout_min,
            hb * 4,
        );
        let max = positive(
            self,
            "election_timeout_max",
            &v.election_timeout_max,
            min.unwrap_or(hb * 4) * 2,
        );
        let rpc_timeout = positive(self, "rpc_timeout", &v.rpc_timeout, DEFAULT_RPC_TIMEOUT);
        if let (Some(h), Some(lo), Some(hi)) = (heartbeat, min, max) {
            if lo <= h {
                self.issue(
                    &path.key("election_timeout_min"),
                    format!(
                        "must be greater than heartbeat_interval ({}), or followers time out between heartbeats",
                        humantime::format_duration(h)
                    ),
                );
                ok = false;
            }
            if hi <= lo {
                self.issue(
                    &path.key("election_timeout_max"),
                    format!(
                        "must be greater than election_timeout_min ({})",
                        humantime::format_duration(lo)
                    ),
                );
                ok = false;
            }
        }
        let max_payload_entries = v.max_payload_entries.unwrap_or(DEFAULT_MAX_PAYLOAD_ENTRIES);
        if max_payload_entries == 0 {
            self.issue(&path.key("max_payload_entries"), "must be at least 1");
            ok = false;
        }
        let snapshot_after = v.snapshot_after.unwrap_or(DEFAULT_SNAPSHOT_AFTER);
        if snapshot_after == 0 {
            self.issue(&path.key("snapshot_after"), "must be at least 1");
            ok = false;
        }
        let storage = match (v.storage.unwrap_or(RawStorage::Memory), v.fsync) {
            (RawStorage::Memory, Some(_)) => {
                self.issue(&path.key("fsync"), "only applies to storage = \"disk\"");
                ok = false;
                RaftStorage::Memory
            }
            (RawStorage::Memory, None) => RaftStorage::Memory,
            (RawStorage::Disk, fsync) => RaftStorage::Disk {
                fsync: match fsync.unwrap_or(RawFsync::Always) {
                    RawFsync::Always => Fsync::Always,
                    RawFsync::Batch => Fsync::Batch,
                },
            },
        };
        let read_policy = match v.read_policy.unwrap_or(RawReadPolicy::Linearizable) {
            RawReadPolicy::Linearizable => ReadPolicy::Linearizable,
            RawReadPolicy::Follower => ReadPolicy::Follower,
            RawReadPolicy::Lease => ReadPolicy::Lease,
        };
        let leader = match (&v.leader, topology) {
            (Some(name), Some(t)) => match raft_leader(t, name) {
                Ok(node) => Some(node),
                Err(message) => {
                    self.issue(&path.key("leader"), message);
                    ok = false;
                    None
                }
            },
            _ => None,
        };
        let params = RaftParams {
            heartbeat_interval: heartbeat?,
            election_timeout_min: min?,
            election_timeout_max: max?,
            max_payload_entries,
            snapshot_after,
            storage,
            read_policy,
            leader,
            rpc_timeout: rpc_timeout?,
        };
        ok.then_some(params)
    }

    fn gossip_params(
        &mut self,
        path: &KeyPath,
        v: &RawVariant,
        names: &Names,
    ) -> Option<GossipParams> {
        let d = GossipParams::default();
        let mut ok = true;
        let nodes = names.nodes.as_ref().map(|n| n.len());
        let fanout = v.fanout.unwrap_or(d.fanout);
        if let Some(n) = nodes {
            if fanout >= n && v.fanout.is_some() && n > 1 {
                self.issue(
                    &path.key("fanout"),
                    format!(
                        "must be less than the number of nodes ({n}): a node gossips to its peers"
                    ),
                );
                ok = false;
            }
        }
        let rumor_hops = v.rumor_hops.unwrap_or(d.rumor_hops);
        if fanout > 0 && rumor_hops == 0 {
            self.issue(
                &path.key("rumor_hops"),
                "must be at least 1 when fanout > 0",
            );
            ok = false;
        }
        let anti_entropy = match v.anti_entropy.unwrap_or(RawAntiEntropy::PushPull) {
            RawAntiEntropy::Off => AntiEntropy::Off,
            RawAntiEntropy::Push => AntiEntropy::Push,
            RawAntiEntropy::Pull => AntiEntropy::Pull,
            RawAntiEntropy::PushPull => AntiEntropy::PushPull,
        };
        if fanout == 0 && anti_entropy == AntiEntropy::Off && v.replicas.is_none() {
            self.issue(
                &path.key("anti_entropy"),
                "with fanout = 0 and anti_entropy = \"off\" writes never leave their node",
            );
            ok = false;
        }
        let gossip_interval = match &v.gossip_interval {
            Some(t) => self.positive_duration(&path.key("gossip_interval"), t),
            None => Some(d.gossip_interval),
        };
        let write_acks = v.write_acks.unwrap_or(d.write_acks);
        if write_acks == 0 || nodes.is_some_and(|n| write_acks > n) {
            self.issue(
                &path.key("write_acks"),
                format!(
                    "must be between 1 and the number of nodes ({})",
                    nodes.map_or("?".to_string(), |n| n.to_string())
                ),
            );
            ok = false;
        }
        let conflict = match v.conflict.unwrap_or(RawConflict::LwwHlc) {
            RawConflict::LwwHlc => Conflict::LwwHlc,
            RawConflict::LwwWallclock => Conflict::LwwWallclock,
        };
        let quorum = self.quorum(path, v, nodes, write_acks);
        ok &= quorum.is_some();
        let session = match v.session.unwrap_or(RawSession::None) {
            RawSession::None => {
                if v.session_wait.is_some() {
                    self.issue(
                        &path.key("session_wait"),
                        "only applies to session = \"tokens\"",
                    );
                    ok = false;
                }
                None
            }
            RawSession::Tokens => {
                let wait = match &v.session_wait {
                    Some(t) => self.positive_duration(&path.key("session_wait"), t),
                    None => Some(Duration::from_millis(300)),
                };
                if quorum.flatten().is_some() {
                    self.issue(
                        &path.key("session"),
                        "session tokens are for local reads; a quorum variant already reads from r replicas",
                    );
                    ok = false;
                }
                wait.map(|wait| Session { wait })
            }
        };
        let routing = match v.routing.unwrap_or(RawRouting::Nearest) {
            RawRouting::Nearest => Routing::Nearest,
            RawRouting::HomeDc => Routing::HomeDc,
        };
        let params = GossipParams {
            conflict,
            fanout,
            rumor_hops,
            anti_entropy,
            gossip_interval: gossip_interval?,
            write_acks,
            durable: v.durable.unwrap_or(d.durable),
            quorum: quorum.flatten(),
            session,
            routing,
        };
        ok.then_some(params)
    }

    /// The partial-quorum keys of a gossip variant: `Some(None)` when `replicas` is not set
    /// (and no other quorum key is), `None` when something is wrong.
    fn quorum(
        &mut self,
        path: &KeyPath,
        v: &RawVariant,
        nodes: Option<usize>,
        write_acks: usize,
    ) -> Option<Option<Quorum>> {
        let Some(n) = v.replicas else {
            let mut ok = true;
            for (key, set) in [
                ("read_quorum", v.read_quorum.is_some()),
                ("write_quorum", v.write_quorum.is_some()),
                ("replica_per_dc", v.replica_per_dc.is_some()),
                ("read_repair", v.read_repair.is_some()),
                ("hinted_handoff", v.hinted_handoff.is_some()),
                ("quorum_timeout", v.quorum_timeout.is_some()),
            ] {
                if set {
                    self.issue(
                        &path.key(key),
                        "only applies with replicas = N (partial quorums)",
                    );
                    ok = false;
                }
            }
            return ok.then_some(None);
        };
        let mut ok = true;
        if n == 0 || nodes.is_some_and(|nodes| n > nodes) {
            self.issue(
                &path.key("replicas"),
                format!(
                    "must be between 1 and the number of nodes ({})",
                    nodes.map_or("?".to_string(), |n| n.to_string())
                ),
            );
            ok = false;
        }
        let r = v.read_quorum.unwrap_or(1);
        let w = v.write_quorum.unwrap_or(1);
        for (key, q) in [("read_quorum", r), ("write_quorum", w)] {
            if q == 0 || q > n {
                self.issue(
                    &path.key(key),
                    format!("must be between 1 and replicas ({n})"),
                );
                ok = false;
            }
        }
        if write_acks != 1 {
            self.issue(
                &path.key("write_acks"),
                "a quorum variant acknowledges after write_quorum replicas; leave write_acks out",
            );
            ok = false;
        }
        let timeout = match &v.quorum_timeout {
            Some(t) => self.positive_duration(&path.key("quorum_timeout"), t),
            None => Some(Duration::from_millis(500)),
        };
        let q = Quorum {
            n,
            r,
            w,
            per_dc: v.replica_per_dc.unwrap_or(false),
            read_repair: v.read_repair.unwrap_or(true),
            hinted_handoff: v.hinted_handoff.unwrap_or(true),
            timeout: timeout?,
        };
        ok.then_some(Some(q))
    }

    // ---- workload ------------------------------------------------------------------------

    fn workload(
        &mut self,
        raw: &RawWorkload,
        names: &Names,
        duration: Option<Duration>,
    ) -> Option<Workload> {
        let path = KeyPath::root().key("workload");
        let mut ok = true;

        if !(1..=MAX_USERS).contains(&raw.users) {
            self.issue(
                &path.key("users"),
                format!("must be between 1 and {MAX_USERS}"),
            );
            ok = false;
        }
        if !(raw.rate.is_finite() && raw.rate > 0.0 && raw.rate <= MAX_RATE) {
            self.issue(
                &path.key("rate"),
                format!("must be greater than 0 and at most {MAX_RATE} (operations per second)"),
            );
            ok = false;
        }
        if !(0.0..=1.0).contains(&raw.write_fraction) {
            self.issue(&path.key("write_fraction"), "must be between 0 and 1");
            ok = false;
        }

        let popularity = match (
            raw.popularity.unwrap_or(RawPopularity::Uniform),
            raw.zipf_exponent,
        ) {
            (RawPopularity::Uniform, None) => Some(Popularity::Uniform),
            (RawPopularity::Uniform, Some(_)) => {
                self.issue(
                    &path.key("zipf_exponent"),
                    "only applies with popularity = \"zipf\"",
                );
                None
            }
            (RawPopularity::Zipf, exponent) => {
                let exponent = exponent.unwrap_or(DEFAULT_ZIPF_EXPONENT);
                if exponent.is_finite() && exponent > 0.0 {
                    Some(Popularity::Zipf { exponent })
                } else {
                    self.issue(&path.key("zipf_exponent"), "must be greater than 0");
                    None
                }
            }
        };

        let picture_bytes = raw.picture_bytes.unwrap_or(DEFAULT_PICTURE_BYTES);
        if !(1..=MAX_PICTURE_BYTES).contains(&picture_bytes) {
            self.issue(
                &path.key("picture_bytes"),
                format!("must be between 1 and {MAX_PICTURE_BYTES} (1 MiB)"),
            );
            ok = false;
        }
        let timeout = match &raw.timeout {
            Some(t) => self.positive_duration(&path.key("timeout"), t),
            None => Some(DEFAULT_TIMEOUT),
        };

        let home_weights =
            self.dc_weights(&path.key("home_weights"), raw.home_weights.as_ref(), names);
        let friend_weights = self.dc_weights(
            &path.key("friend_weights"),
            raw.friend_weights.as_ref(),
            names,
        );
        let readers = self.readers(&path.key("readers"), raw.readers.as_ref(), names);

        // Friends never live in the user's home DC: every possible home needs another DC
        // where friends can live.
        if let (Some(home), Some(friend), Some(readers)) =
            (&home_weights, &friend_weights, &readers)
        {
            if readers.friend > 0.0 && names.dcs.len() >= 2 {
                for (h, _) in home.iter().enumerate().filter(|(_, w)| **w > 0.0) {
                    let elsewhere = friend.iter().enumerate().any(|(f, w)| f != h && *w > 0.0);
                    if !elsewhere {
                        self.issue(
                            &path.key("friend_weights"),
                            format!(
                                "users living in {} would have no friend DC (every other DC \
                                 has weight 0)",
                                names.dcs[h]
                            ),
                        );
                        ok = false;
                    }
                }
            }
        }

        let travel = match &raw.travel {
            None => Some(None),
            Some(t) => self
                .travel(&path.key("travel"), t, raw.users, names, duration)
                .map(Some),
        };

        ok.then_some(())?;
        Some(Workload {
            users: raw.users,
            rate: raw.rate,
            write_fraction: raw.write_fraction,
            popularity: popularity?,
            picture_bytes,
            timeout: timeout?,
            home_weights: home_weights?,
            readers: readers?,
            friend_weights: friend_weights?,
            travel: travel?,
        })
    }

    /// Per-DC weights indexed by [`DcIdx`]; all equal when absent, 0 for DCs left out.
    fn dc_weights(
        &mut self,
        path: &KeyPath,
        raw: Option<&BTreeMap<String, f64>>,
        names: &Names,
    ) -> Option<Vec<f64>> {
        let Some(raw) = raw else {
            return Some(vec![1.0; names.dcs.len()]);
        };
        let mut weights = vec![0.0; names.dcs.len()];
        let mut ok = true;
        for (dc, w) in raw {
            let p = path.key(dc);
            let idx = self.dc_ref(&p, dc, names);
            let w = self.weight(&p, *w);
            match (idx, w) {
                (Some(i), Some(w)) => weights[i] = w,
                _ => ok = false,
            }
        }
        if ok && !weights.iter().any(|w| *w > 0.0) {
            self.issue(path, "at least one weight must be greater than 0");
            ok = false;
        }
        ok.then_some(weights)
    }

    fn readers(
        &mut self,
        path: &KeyPath,
        raw: Option<&RawReaders>,
        names: &Names,
    ) -> Option<ReaderMix> {
        let mix = match raw {
            None => DEFAULT_READERS,
            Some(r) => {
                let phone = self.weight(&path.key("phone"), r.phone.unwrap_or(0.0));
                let laptop = self.weight(&path.key("laptop"), r.laptop.unwrap_or(0.0));
                let friend = self.weight(&path.key("friend"), r.friend.unwrap_or(0.0));
                let mix = ReaderMix {
                    phone: phone?,
                    laptop: laptop?,
                    friend: friend?,
                };
                if mix.phone + mix.laptop + mix.friend <= 0.0 {
                    self.issue(
                        path,
                        "at least one of phone, laptop, friend must be greater than 0",
                    );
                    return None;
                }
                mix
            }
        };
        // With no DC at all, `topology.dcs` has its own issue.
        if mix.friend > 0.0 && names.dcs.len() == 1 {
            self.issue(
                &path.key("friend"),
                format!(
                    "friends live in another DC, so friend readers need at least 2 DCs (there \
                     is 1); set workload.readers.friend = 0{}",
                    if raw.is_none() {
                        " (the default is 0.45)"
                    } else {
                        ""
                    }
                ),
            );
            return None;
        }
        Some(mix)
    }

    fn travel(
        &mut self,
        path: &KeyPath,
        raw: &RawTravel,
        users: usize,
        names: &Names,
        duration: Option<Duration>,
    ) -> Option<Travel> {
        let mut ok = true;
        if raw.users == 0 || raw.users > users {
            self.issue(
                &path.key("users"),
                format!("must be between 1 and workload.users ({users})"),
            );
            ok = false;
        }
        let to = self.dc_ref(&path.key("to"), &raw.to, names);
        let at = self.duration(&path.key("at"), &raw.at);
        if let (Some(at), Some(duration)) = (at, duration) {
            if at >= duration {
                self.issue(
                    &path.key("at"),
                    format!(
                        "must be less than duration ({})",
                        humantime::format_duration(duration)
                    ),
                );
                ok = false;
            }
        }
        ok.then_some(())?;
        Some(Travel {
            users: raw.users,
            to: to?,
            at: at?,
        })
    }

    // ---- faults --------------------------------------------------------------------------

    fn faults(
        &mut self,
        raw: &[RawFault],
        names: &Names,
        duration: Option<Duration>,
        cooldown: Option<Duration>,
    ) -> Option<Vec<Fault>> {
        let mut faults = Vec::with_capacity(raw.len());
        let mut ok = true;
        for (i, f) in raw.iter().enumerate() {
            let path = KeyPath::root().key("faults").index(i);
            match self.fault(&path, f, names, duration, cooldown) {
                Some(fault) => faults.push(fault),
                None => ok = false,
            }
        }
        ok.then_some(faults)
    }

    fn fault(
        &mut self,
        path: &KeyPath,
        raw: &RawFault,
        names: &Names,
        run_duration: Option<Duration>,
        cooldown: Option<Duration>,
    ) -> Option<Fault> {
        let kind = raw.kind;
        let allowed = allowed_keys(kind);
        let mut ok = true;
        for key in present_keys(raw) {
            if !allowed.contains(&key) {
                self.issue(
                    &path.key(key),
                    format!(
                        "not used by kind = {:?} (it takes {})",
                        kind.as_str(),
                        allowed.join(", ")
                    ),
                );
                ok = false;
            }
        }

        let at = self.duration(&path.key("at"), &raw.at);
        let duration = match &raw.duration {
            Some(d) => self.positive_duration(&path.key("duration"), d).map(Some),
            None if kind == RawFaultKind::Pause => {
                self.issue(
                    &path.key("duration"),
                    "is required for a pause: nothing else would resume the node",
                );
                None
            }
            None => Some(None),
        };
        if let (Some(at), Some(run)) = (at, run_duration) {
            if at >= run {
                self.issue(
                    &path.key("at"),
                    format!(
                        "must be less than duration ({}): faults start inside the measured window",
                        humantime::format_duration(run)
                    ),
                );
                ok = false;
            } else if let (Some(Some(d)), Some(cooldown)) = (duration, cooldown) {
                let end = at.saturating_add(d);
                let limit = run.saturating_add(cooldown);
                if end > limit {
                    self.issue(
                        &path.key("duration"),
                        format!(
                            "the fault would end at {}, after the end of the run (duration {} + \
                             cooldown {} = {})",
                            humantime::format_duration(end),
                            humantime::format_duration(run),
                            humantime::format_duration(cooldown),
                            humantime::format_duration(limit)
                        ),
                    );
                    ok = false;
                }
            }
        }

        let action = match kind {
            RawFaultKind::Partition => self.partition(path, raw, names).map(FaultAction::Partition),
            RawFaultKind::Crash => self.target(path, raw, names).map(FaultAction::Crash),
            RawFaultKind::Pause => self.target(path, raw, names).map(FaultAction::Pause),
            RawFaultKind::ClockSkew => {
                let target = self.target(path, raw, names);
                let offset = self.clock_offset(&path.key("offset"), raw.offset.as_deref());
                Some(FaultAction::ClockSkew {
                    target: target?,
                    offset_us: offset?,
                })
            }
            RawFaultKind::Latency => {
                let from = self.required_dc(&path.key("from"), raw.from.as_deref(), names);
                let to = self.required_dc(&path.key("to"), raw.to.as_deref(), names);
                let delay = match &raw.delay {
                    Some(d) => self.delay(&path.key("delay"), d),
                    None => {
                        self.issue(
                            &path.key("delay"),
                            "is required for a latency fault, e.g. delay = { dist = \"constant\", \
                             value = \"200ms\" }",
                        );
                        None
                    }
                };
                Some(FaultAction::Latency {
                    from: from?,
                    to: to?,
                    both_ways: raw.both_ways.unwrap_or(true),
                    delay: delay?,
                })
            }
            RawFaultKind::Loss => {
                let from = match &raw.from {
                    Some(dc) => self.dc_ref(&path.key("from"), dc, names).map(Some),
                    None => Some(None),
                };
                let to = match &raw.to {
                    Some(dc) => self.dc_ref(&path.key("to"), dc, names).map(Some),
                    None => Some(None),
                };
                let rate = match raw.rate {
                    Some(r) if r > 0.0 && r <= 1.0 => Some(r),
                    Some(_) => {
                        self.issue(&path.key("rate"), "must be greater than 0 and at most 1");
                        None
                    }
                    None => {
                        self.issue(
                            &path.key("rate"),
                            "is required for a loss fault, e.g. rate = 0.2",
                        );
                        None
                    }
                };
                Some(FaultAction::Loss {
                    from: from?,
                    to: to?,
                    both_ways: raw.both_ways.unwrap_or(true),
                    rate: rate?,
                })
            }
            RawFaultKind::Random => self.random(path, raw).map(FaultAction::Random),
        };

        ok.then_some(())?;
        Some(Fault {
            at: at?,
            duration: duration?,
            action: action?,
        })
    }

    fn required_dc(&mut self, path: &KeyPath, name: Option<&str>, names: &Names) -> Option<DcIdx> {
        match name {
            Some(name) => self.dc_ref(path, name, names),
            None => {
                self.issue(path, format!("is required ({})", names.dc_list()));
                None
            }
        }
    }

    /// `node = "eu-1" | "random" | "leader"`.
    fn target(&mut self, path: &KeyPath, raw: &RawFault, names: &Names) -> Option<NodeTarget> {
        let p = path.key("node");
        match raw.node.as_deref() {
            None => {
                self.issue(&p, "is required: a node name, \"random\" or \"leader\"");
                None
            }
            Some("random") => Some(NodeTarget::Random),
            Some("leader") => Some(NodeTarget::Leader),
            Some(name) => {
                let nodes = names.nodes.as_ref()?;
                match nodes.iter().position(|n| n == name) {
                    Some(i) => Some(NodeTarget::Node(i)),
                    None => {
                        self.issue(
                            &p,
                            format!(
                                "unknown node {name:?} ({}; or \"random\", \"leader\")",
                                names.node_list()
                            ),
                        );
                        None
                    }
                }
            }
        }
    }

    /// A signed offset such as `"+2s"` or `"-500ms"`, in microseconds, not zero.
    fn clock_offset(&mut self, path: &KeyPath, raw: Option<&str>) -> Option<i64> {
        let Some(text) = raw else {
            self.issue(
                path,
                "is required for a clock-skew fault, e.g. offset = \"+2s\" or \"-500ms\"",
            );
            return None;
        };
        let trimmed = text.trim();
        let (negative, magnitude) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        let d = match humantime::parse_duration(magnitude.trim()) {
            Ok(d) => d,
            Err(e) => {
                self.issue(path, format!("invalid offset {text:?}: {e}"));
                return None;
            }
        };
        let Ok(us) = i64::try_from(d.as_micros()) else {
            self.issue(path, "is too large");
            return None;
        };
        if us == 0 {
            self.issue(
                path,
                "must not be 0 (at least 1us either way): a skew of 0 changes nothing",
            );
            return None;
        }
        Some(if negative { -us } else { us })
    }

    fn partition(&mut self, path: &KeyPath, raw: &RawFault, names: &Names) -> Option<Partition> {
        let given: Vec<&str> = [
            ("isolate_dc", raw.isolate_dc.is_some()),
            ("groups", raw.groups.is_some()),
            ("split", raw.split.is_some()),
            ("one_way", raw.one_way.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, present)| present.then_some(k))
        .collect();
        if given.len() != 1 {
            let got = if given.is_empty() {
                "none".to_owned()
            } else {
                given.join(" and ")
            };
            self.issue(
                path,
                format!(
                    "a partition needs exactly one of isolate_dc, groups, split, one_way (got {got})"
                ),
            );
            return None;
        }
        let node_count = names.nodes.as_ref().map_or(0, Vec::len);

        if let Some(dc) = &raw.isolate_dc {
            let p = path.key("isolate_dc");
            let idx = self.dc_ref(&p, dc, names)?;
            if names.dcs.len() < 2 {
                self.issue(
                    &p,
                    "isolating the only DC cuts nothing (needs at least 2 DCs)",
                );
                return None;
            }
            return Some(Partition::IsolateDc(idx));
        }
        if let Some(groups) = &raw.groups {
            return self.groups(&path.key("groups"), groups, names);
        }
        if let Some(split) = raw.split {
            let p = path.key("split");
            names.nodes.as_ref()?;
            return match split {
                RawSplit::Halves if node_count < 2 => {
                    self.issue(
                        &p,
                        format!("halves needs at least 2 nodes (there are {node_count})"),
                    );
                    None
                }
                RawSplit::Halves => Some(Partition::Halves),
                RawSplit::MajoritiesRing if node_count < 4 => {
                    self.issue(
                        &p,
                        format!(
                            "majorities-ring needs at least 4 nodes (there are {node_count}); \
                             with fewer, every node's majority is every node"
                        ),
                    );
                    None
                }
                RawSplit::MajoritiesRing => Some(Partition::MajoritiesRing),
            };
        }
        if let Some(one_way) = &raw.one_way {
            let p = path.key("one_way");
            let mut seen = BTreeMap::new();
            let from = self.node_set(&p.key("from"), &one_way.from, names, &mut seen);
            let to = self.node_set(&p.key("to"), &one_way.to, names, &mut seen);
            return Some(Partition::OneWay {
                from: from?,
                to: to?,
            });
        }
        None
    }

    /// A non-empty list of distinct nodes; `seen` maps node to the key path that listed it,
    /// so that a node listed in two places is reported with both.
    fn node_set(
        &mut self,
        path: &KeyPath,
        raw: &[String],
        names: &Names,
        seen: &mut BTreeMap<NodeIdx, KeyPath>,
    ) -> Option<Vec<NodeIdx>> {
        if raw.is_empty() {
            self.issue(path, "must list at least one node");
            return None;
        }
        let mut ok = true;
        let mut out = Vec::with_capacity(raw.len());
        for (i, name) in raw.iter().enumerate() {
            let p = path.index(i);
            let Some(idx) = self.node_ref(&p, name, names) else {
                ok = false;
                continue;
            };
            if let Some(first) = seen.get(&idx) {
                self.issue(
                    &p,
                    format!("node {name:?} is listed twice (also at {first})"),
                );
                ok = false;
                continue;
            }
            seen.insert(idx, p);
            out.push(idx);
        }
        ok.then_some(out)
    }

    fn groups(&mut self, path: &KeyPath, raw: &[Vec<String>], names: &Names) -> Option<Partition> {
        if raw.len() < 2 {
            self.issue(path, "needs at least 2 groups");
            return None;
        }
        let nodes = names.nodes.as_ref()?;
        let mut seen = BTreeMap::new();
        let mut groups = Vec::with_capacity(raw.len());
        let mut ok = true;
        for (i, group) in raw.iter().enumerate() {
            match self.node_set(&path.index(i), group, names, &mut seen) {
                Some(g) => groups.push(g),
                None => ok = false,
            }
        }
        let listed: BTreeSet<NodeIdx> = seen.keys().copied().collect();
        let missing: Vec<&str> = (0..nodes.len())
            .filter(|i| !listed.contains(i))
            .map(|i| nodes[i].as_str())
            .collect();
        if ok && !missing.is_empty() {
            self.issue(
                path,
                format!(
                    "must list every node exactly once (put nodes that stay together in one \
                     group); missing: {}",
                    missing.join(", ")
                ),
            );
            ok = false;
        }
        ok.then_some(Partition::Groups(groups))
    }

    fn random(&mut self, path: &KeyPath, raw: &RawFault) -> Option<RandomFaults> {
        let required = |v: &mut Self, key: &str, text: Option<&DurationText>| match text {
            Some(t) => v.positive_duration(&path.key(key), t),
            None => {
                v.issue(
                    &path.key(key),
                    "is required for a random fault, e.g. \"10s\"",
                );
                None
            }
        };
        let mean_interval = required(self, "mean_interval", raw.mean_interval.as_ref());
        let mean_duration = required(self, "mean_duration", raw.mean_duration.as_ref());
        let p = path.key("kinds");
        let kinds = match &raw.kinds {
            None => {
                self.issue(
                    &p,
                    "is required for a random fault, e.g. kinds = [\"partition\", \"crash\"]",
                );
                None
            }
            Some(kinds) if kinds.is_empty() => {
                self.issue(&p, "must list at least one kind");
                None
            }
            Some(kinds) => {
                let mut out = Vec::with_capacity(kinds.len());
                let mut ok = true;
                for (i, k) in kinds.iter().enumerate() {
                    let kind = match k {
                        RawFaultKind::Partition => RandomFaultKind::Partition,
                        RawFaultKind::Crash => RandomFaultKind::Crash,
                        RawFaultKind::Pause => RandomFaultKind::Pause,
                        RawFaultKind::Latency => RandomFaultKind::Latency,
                        RawFaultKind::Loss => RandomFaultKind::Loss,
                        RawFaultKind::ClockSkew => RandomFaultKind::ClockSkew,
                        RawFaultKind::Random => {
                            self.issue(&p.index(i), "a random fault cannot generate random faults");
                            ok = false;
                            continue;
                        }
                    };
                    if out.contains(&kind) {
                        self.issue(&p.index(i), format!("{:?} is listed twice", k.as_str()));
                        ok = false;
                        continue;
                    }
                    out.push(kind);
                }
                ok.then_some(out)
            }
        };
        Some(RandomFaults {
            mean_interval: mean_interval?,
            mean_duration: mean_duration?,
            kinds: kinds?,
        })
    }
}

/// Keys a fault of `kind` may have besides `at` and `kind`.
fn allowed_keys(kind: RawFaultKind) -> &'static [&'static str] {
    match kind {
        RawFaultKind::Partition => &["duration", "isolate_dc", "groups", "split", "one_way"],
        RawFaultKind::Crash | RawFaultKind::Pause => &["duration", "node"],
        RawFaultKind::ClockSkew => &["duration", "node", "offset"],
        RawFaultKind::Latency => &["duration", "from", "to", "both_ways", "delay"],
        RawFaultKind::Loss => &["duration", "from", "to", "both_ways", "rate"],
        RawFaultKind::Random => &["duration", "mean_interval", "mean_duration", "kinds"],
    }
}

/// The optional keys a raw fault actually has.
fn present_keys(raw: &RawFault) -> Vec<&'static str> {
    [
        ("duration", raw.duration.is_some()),
        ("isolate_dc", raw.isolate_dc.is_some()),
        ("groups", raw.groups.is_some()),
        ("split", raw.split.is_some()),
        ("one_way", raw.one_way.is_some()),
        ("node", raw.node.is_some()),
        ("offset", raw.offset.is_some()),
        ("from", raw.from.is_some()),
        ("to", raw.to.is_some()),
        ("both_ways", raw.both_ways.is_some()),
        ("delay", raw.delay.is_some()),
        ("rate", raw.rate.is_some()),
        ("mean_interval", raw.mean_interval.is_some()),
        ("mean_duration", raw.mean_duration.is_some()),
        ("kinds", raw.kinds.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, present)| present.then_some(k))
    .collect()
}

/// The node a Raft variant's `leader = "<name>"` places the leader on: the node of that name,
/// or the first node of the DC of that name.
pub(crate) fn raft_leader(t: &Topology, name: &str) -> Result<NodeIdx, String> {
    if let Some(i) = t.nodes.iter().position(|n| n.name == name) {
        return Ok(i);
    }
    if let Some(dc) = t.dcs.iter().position(|d| d.name == name) {
        if let Some(i) = t.nodes_in(dc).next() {
            return Ok(i);
        }
    }
    let mut known: Vec<&str> = t.dcs.iter().map(|d| d.name.as_str()).collect();
    known.extend(t.nodes.iter().map(|n| n.name.as_str()));
    Err(format!(
        "{name:?} is neither a DC nor a node of the topology (one of: {})",
        known.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::parse;

    const QUICKSTART: &str = include_str!("../../experiments/quickstart.toml");

    /// Uses every key of the format at least once.
    const FULL: &str = r#"
name = "full"
description = "every key"
seed = 7
duration = "30s"
warmup = "1s"
cooldown = "5s"

[topology]
client_delay = { dist = "exponential", mean = "100us", offset = "50us" }
local_delay = { dist = "lognormal", median = "300us", sigma = 0.3, offset = "10us" }
local_loss = 0.001

[topology.dcs.eu]
nodes = 2
[topology.dcs.us]
nodes = 2
[topology.dcs.asia]
nodes = 1

[topology.default_link]
delay = { dist = "pareto", scale = "90ms", shape = 3.0 }
loss = 0.01

[[topology.links]]
from = "eu"
to = "us"
both_ways = false
delay = { dist = "mixture", components = [{ weight = 0.9, delay = { dist = "constant", value = "40ms" } }, { weight = 0.1, delay = { dist = "uniform", low = "60ms", high = "90ms" } }] }

[[topology.links]]
from = "us"
to = "eu"
both_ways = false
loss = 0.002
delay = { dist = "normal", mean = "42ms", stddev = "3ms" }

[[variants]]
name = "raft-a"
kind = "raft"
[[variants]]
name = "gossip-b"
kind = "gossip"

[workload]
users = 50
rate = 300
write_fraction = 0.5
popularity = "zipf"
zipf_exponent = 1.2
picture_bytes = 4096
timeout = "800ms"
home_weights = { eu = 2.0, us = 1.0 }
friend_weights = { asia = 1.0, us = 1.0 }

[workload.readers]
phone = 0.2
friend = 0.8

[workload.travel]
users = 3
to = "asia"
at = "10s"

[[faults]]
at = "1s"
duration = "2s"
kind = "partition"
isolate_dc = "asia"

[[faults]]
at = "2s"
kind = "partition"
groups = [["eu-1", "us-1", "asia-1"], ["eu-2", "us-2"]]

[[faults]]
at = "3s"
duration = "1s"
kind = "partition"
split = "majorities-ring"

[[faults]]
at = "4s"
duration = "1s"
kind = "partition"
one_way = { from = ["eu-1"], to = ["us-1", "us-2"] }

[[faults]]
at = "5s"
kind = "crash"
node = "leader"

[[faults]]
at = "6s"
duration = "1s"
kind = "pause"
node = "random"

[[faults]]
at = "7s"
duration = "10s"
kind = "latency"
from = "eu"
to = "asia"
both_ways = false
delay = { dist = "constant", value = "300ms" }

[[faults]]
at = "8s"
duration = "10s"
kind = "loss"
to = "asia"
rate = 1.0

[[faults]]
at = "9s"
kind = "clock-skew"
node = "eu-2"
offset = "-1.5s"

[[faults]]
at = "10s"
duration = "20s"
kind = "random"
mean_interval = "5s"
mean_duration = "1s"
kinds = ["partition", "clock-skew"]
"#;

    fn load(source: &str) -> Loaded {
        match parse(source, "test.toml", &Overrides::default()) {
            Ok(loaded) => loaded,
            Err(e) => panic!("should be valid:\n{e}"),
        }
    }

    fn errors(source: &str) -> String {
        match parse(source, "test.toml", &Overrides::default()) {
            Ok(_) => panic!("should be invalid"),
            Err(e) => e.to_string(),
        }
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn quickstart_is_valid() {
        let e = load(QUICKSTART).experiment;
        assert_eq!(e.name, "quickstart");
        assert_eq!(e.seed, 42);
        assert_eq!(e.duration, Duration::from_secs(20));
        let dcs: Vec<_> = e.topology.dcs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(dcs, ["asia", "eu", "us"]);
        let nodes: Vec<_> = e.topology.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(nodes, ["asia-1", "eu-1", "eu-2", "us-1", "us-2"]);
        assert_eq!(e.topology.nodes[2].dc, 1);
        let t = &e.topology;
        let (asia, eu, us) = (0, 1, 2);
        assert_eq!(t.link(eu, us), t.link(us, eu));
        assert_eq!(
            t.link(eu, us).delay,
            DelayModel::normal(ms(40), ms(2)).unwrap()
        );
        assert_eq!(
            t.link(asia, eu).delay,
            DelayModel::normal(ms(110), ms(5)).unwrap()
        );
        assert_eq!(t.link(us, us).delay.to_string(), "uniform(150us..350us)");
        let kinds: Vec<_> = e.variants.iter().map(|v| v.kind()).collect();
        assert_eq!(kinds, [VariantKind::Raft, VariantKind::Gossip]);
        assert_eq!(e.workload.users, 20);
        assert!(e.faults.is_empty());
    }

    #[test]
    fn every_key_is_understood() {
        let e = load(FULL).experiment;
        let t = &e.topology;
        let (asia, eu, us) = (0, 1, 2);
        assert!(matches!(t.link(eu, us).delay, DelayModel::Mixture { .. }));
        assert_eq!(t.link(us, eu).loss, 0.002);
        assert!(matches!(t.link(eu, asia).delay, DelayModel::Pareto { .. }));
        assert_eq!(t.link(asia, us).loss, 0.01);
        assert_eq!(t.link(asia, asia).loss, 0.001);
        let w = &e.workload;
        assert_eq!(w.popularity, Popularity::Zipf { exponent: 1.2 });
        assert_eq!(w.home_weights, [0.0, 2.0, 1.0]);
        assert_eq!(w.friend_weights, [1.0, 0.0, 1.0]);
        assert_eq!(
            w.readers,
            ReaderMix {
                phone: 0.2,
                laptop: 0.0,
                friend: 0.8
            }
        );
        assert_eq!(
            w.travel,
            Some(Travel {
                users: 3,
                to: asia,
                at: ms(10_000)
            })
        );
        let actions: Vec<_> = e.faults.iter().map(|f| f.action.clone()).collect();
        assert_eq!(
            actions[0],
            FaultAction::Partition(Partition::IsolateDc(asia))
        );
        // Nodes: asia-1, eu-1, eu-2, us-1, us-2.
        assert_eq!(
            actions[1],
            FaultAction::Partition(Partition::Groups(vec![vec![1, 3, 0], vec![2, 4]]))
        );
        assert_eq!(
            actions[3],
            FaultAction::Partition(Partition::OneWay {
                from: vec![1],
                to: vec![3, 4]
            })
        );
        assert_eq!(actions[4], FaultAction::Crash(NodeTarget::Leader));
        assert_eq!(e.faults[4].duration, None);
        assert_eq!(
            actions[7],
            FaultAction::Loss {
                from: None,
                to: Some(asia),
                both_ways: true,
                rate: 1.0
            }
        );
        assert_eq!(
            actions[8],
            FaultAction::ClockSkew {
                target: NodeTarget::Node(2),
                offset_us: -1_500_000
            }
        );
        assert_eq!(
            actions[9],
            FaultAction::Random(RandomFaults {
                mean_interval: ms(5000),
                mean_duration: ms(1000),
                kinds: vec![RandomFaultKind::Partition, RandomFaultKind::ClockSkew],
            })
        );
    }

    #[test]
    fn valid_files_round_trip_through_to_toml() {
        for source in [QUICKSTART, FULL] {
            let first = load(source);
            let text = first.to_toml().unwrap();
            let second = load(&text);
            assert_eq!(first.raw, second.raw, "{text}");
            assert_eq!(
                format!("{:?}", first.experiment),
                format!("{:?}", second.experiment)
            );
        }
    }

    #[test]
    fn a_missing_seed_is_filled_and_saved() {
        let source = QUICKSTART.replace("seed = 42\n", "");
        let loaded = load(&source);
        let seed = loaded.experiment.seed;
        assert_eq!(loaded.raw.seed, Some(seed));
        assert!(seed <= i64::MAX as u64);
        assert!(loaded
            .to_toml()
            .unwrap()
            .contains(&format!("seed = {seed}\n")));
        assert_eq!(load(&loaded.to_toml().unwrap()).experiment.seed, seed);
    }

    #[test]
    fn overrides_apply_before_validation() {
        let overrides = Overrides {
            seed: Some(9),
            duration: Some(Duration::from_secs(90)),
        };
        let loaded = parse(QUICKSTART, "q.toml", &overrides).unwrap();
        assert_eq!(loaded.experiment.seed, 9);
        assert_eq!(loaded.experiment.duration, Duration::from_secs(90));
        let saved = load(&loaded.to_toml().unwrap()).experiment;
        assert_eq!((saved.seed, saved.duration), (9, Duration::from_secs(90)));

        // --duration can supply a duration the file lacks.
        let source = QUICKSTART.replace("duration = \"20s\"\n", "");
        let overrides = Overrides {
            seed: None,
            duration: Some(ms(1500)),
        };
        assert_eq!(
            parse(&source, "q.toml", &overrides)
                .unwrap()
                .experiment
                .duration,
            ms(1500)
        );
    }

    #[test]
    fn bad_overrides_are_blamed_on_the_command_line() {
        let overrides = Overrides {
            seed: Some(u64::MAX),
            duration: Some(Duration::ZERO),
        };
        let err = parse(QUICKSTART, "q.toml", &overrides)
            .unwrap_err()
            .to_string();
        assert!(err.contains("q.toml: seed: must be at most"), "{err}");
        assert!(
            err.contains("q.toml: duration: must be greater than 0 (set on the command line)"),
            "{err}"
        );
    }

    #[test]
    fn errors_name_the_key_the_rule_and_the_line() {
        let source = QUICKSTART.replace(
            "[topology.dcs.asia]\nnodes = 1",
            "[topology.dcs.asia]\nnodes = 0",
        );
        let line = source.lines().position(|l| l == "nodes = 0").unwrap() + 1;
        let err = errors(&source);
        assert_eq!(
            err,
            format!("test.toml:{line}:1: topology.dcs.asia.nodes: must be at least 1")
        );
    }

    #[test]
    fn all_issues_are_reported_at_once() {
        let source = QUICKSTART
            .replace("users = 20 ", "users = 0 ")
            .replace("write_fraction = 0.2", "write_fraction = 2.0")
            .replace(
                "kind = \"gossip\"",
                "kind = \"gossip\"\n\n[[variants]]\nname = \"raft\"\nkind = \"gossip\"",
            );
        let err = parse(&source, "test.toml", &Overrides::default()).unwrap_err();
        let keys: Vec<_> = err.issues().iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "variants[2].name",
                "workload.users",
                "workload.write_fraction"
            ]
        );
        assert!(err.issues().iter().all(|i| i.line_col.is_some()));
        assert_eq!(err.lines().len(), 3);
    }

    #[test]
    fn missing_keys_point_at_their_parent() {
        let source = FULL.replace("node = \"random\"\n", "");
        let err = errors(&source);
        let header = source
            .lines()
            .enumerate()
            .filter(|(_, l)| *l == "[[faults]]")
            .nth(5)
            .unwrap()
            .0
            + 1;
        assert!(
            err.contains(&format!(
                "test.toml:{header}:1: faults[5].node: is required"
            )),
            "{err}"
        );
    }

    #[test]
    fn links_must_not_be_set_twice() {
        // The first entry is both ways, so a second eu <-> us entry conflicts, whatever its
        // own both_ways says.
        let source = QUICKSTART.replace(
            "[[variants]]\nname = \"raft\"",
            "[[topology.links]]\nfrom = \"us\"\nto = \"eu\"\nboth_ways = false\ndelay = { dist = \"constant\", value = \"1ms\" }\n\n[[variants]]\nname = \"raft\"",
        );
        assert!(errors(&source)
            .contains("topology.links[3]: us -> eu is already set by topology.links[0]"));
        let dup = FULL.replace("from = \"us\"\nto = \"eu\"", "from = \"eu\"\nto = \"us\"");
        assert!(errors(&dup).contains(
            "topology.links[1]: duplicate link: eu -> us is already set by topology.links[0]"
        ));
        let same = FULL.replace("from = \"us\"\nto = \"eu\"", "from = \"us\"\nto = \"us\"");
        assert!(errors(&same).contains("topology.links[1].to: a link joins two different DCs"));
    }

    #[test]
    fn partition_rules() {
        let f = |body: &str| FULL.replace("isolate_dc = \"asia\"", body);
        let err = errors(&f("groups = [[\"eu-1\"], [\"eu-2\"]]"));
        assert!(err.contains("faults[0].groups: must list every node exactly once (put nodes that stay together in one group); missing: asia-1, us-1, us-2"), "{err}");
        let err = errors(&f(
            "groups = [[\"eu-1\", \"eu-2\", \"us-1\", \"us-2\", \"asia-1\"]]",
        ));
        assert!(
            err.contains("faults[0].groups: needs at least 2 groups"),
            "{err}"
        );
        let err = errors(&f("split = \"halves\"\nisolate_dc = \"eu\""));
        assert!(err.contains("faults[0]: a partition needs exactly one of isolate_dc, groups, split, one_way (got isolate_dc and split)"), "{err}");
        let err = errors(&f("one_way = { from = [\"eu-1\"], to = [\"eu-1\"] }"));
        assert!(err.contains("faults[0].one_way.to[0]: node \"eu-1\" is listed twice (also at faults[0].one_way.from[0])"), "{err}");
        let small = FULL
            .replace(
                "[topology.dcs.eu]\nnodes = 2",
                "[topology.dcs.eu]\nnodes = 1",
            )
            .replace(
                "[topology.dcs.us]\nnodes = 2",
                "[topology.dcs.us]\nnodes = 1",
            );
        let err = errors(&small);
        assert!(
            err.contains("faults[2].split: majorities-ring needs at least 4 nodes (there are 3)"),
            "{err}"
        );
    }

    #[test]
    fn fault_timing_rules() {
        let err = errors(&FULL.replace(
            "at = \"10s\"\nduration = \"20s\"",
            "at = \"10s\"\nduration = \"26s\"",
        ));
        assert!(err.contains("faults[9].duration: the fault would end at 36s, after the end of the run (duration 30s + cooldown 5s = 35s)"), "{err}");
        let err = errors(&FULL.replace("offset = \"-1.5s\"", "offset = \"soon\""));
        assert!(
            err.contains("faults[8].offset: invalid offset \"soon\""),
            "{err}"
        );
        let err = errors(&FULL.replace(
            "kinds = [\"partition\", \"clock-skew\"]",
            "kinds = [\"random\", \"crash\", \"crash\"]",
        ));
        assert!(
            err.contains("faults[9].kinds[0]: a random fault cannot generate random faults"),
            "{err}"
        );
        assert!(
            err.contains("faults[9].kinds[2]: \"crash\" is listed twice"),
            "{err}"
        );
    }

    #[test]
    fn delay_parameters_are_checked_where_they_are() {
        let err = errors(&QUICKSTART.replace(
            "low = \"150us\", high = \"350us\"",
            "low = \"350us\", high = \"150us\"",
        ));
        assert!(
            err.contains("topology.local_delay: low must not be greater than high"),
            "{err}"
        );
        let err = errors(&FULL.replace("weight = 0.9", "weight = -1.0"));
        assert!(
            err.contains("topology.links[0].delay.components[0].weight: must be a number >= 0"),
            "{err}"
        );
        let err = errors(&FULL.replace("shape = 3.0", "shape = 0.0"));
        assert!(
            err.contains("topology.default_link.delay: shape must be a positive number"),
            "{err}"
        );
        let err = errors(&QUICKSTART.replace("value = \"200us\"", "value = \"fast\""));
        assert!(
            err.contains("topology.client_delay.value: invalid duration \"fast\""),
            "{err}"
        );
    }

    #[test]
    fn workload_rules() {
        let err = errors(&FULL.replace(
            "friend_weights = { asia = 1.0, us = 1.0 }",
            "friend_weights = { us = 1.0 }",
        ));
        assert!(
            err.contains("workload.friend_weights: users living in us would have no friend DC"),
            "{err}"
        );
        let err = errors(&FULL.replace(
            "home_weights = { eu = 2.0, us = 1.0 }",
            "home_weights = { eu = 0.0, mars = 1.0 }",
        ));
        assert!(
            err.contains("workload.home_weights.mars: unknown DC \"mars\" (DCs are asia, eu, us)"),
            "{err}"
        );
        let err = errors(&FULL.replace("phone = 0.2\nfriend = 0.8", "phone = 0.0"));
        assert!(
            err.contains(
                "workload.readers: at least one of phone, laptop, friend must be greater than 0"
            ),
            "{err}"
        );
        let err = errors(&FULL.replace("users = 3", "users = 51"));
        assert!(
            err.contains("workload.travel.users: must be between 1 and workload.users (50)"),
            "{err}"
        );
    }

    #[test]
    fn syntax_and_type_errors_are_located() {
        let err = errors("name = \"x\"\nname = \"y\"\n");
        assert!(err.starts_with("test.toml:2:1: "), "{err}");
        let err = errors(&QUICKSTART.replace("seed = 42", "seed = -1"));
        let line = QUICKSTART.lines().position(|l| l == "seed = 42").unwrap() + 1;
        assert!(
            err.starts_with(&format!(
                "test.toml:{line}:8: seed: invalid value: integer `-1`"
            )),
            "{err}"
        );
        let err = errors(&QUICKSTART.replace("dist = \"constant\"", "dist = \"gaussian\""));
        assert!(
            err.contains("topology.client_delay.dist: unknown variant `gaussian`"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1);
    }

    /// The malformed files used by the CLI test fail here too, with the same messages.
    #[test]
    fn malformed_files_fail_with_the_expected_messages() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
        let expected = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
        let mut checked = BTreeSet::new();
        for line in expected
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let (file, want) = line.split_once(": ").unwrap();
            // Through the sweep planner, which also checks `[sweep]` and every point.
            let err = crate::sweep::load(&dir.join(file), &Overrides::default())
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{file}: want {want:?} in\n{err}");
            checked.insert(file.to_owned());
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".toml") {
                assert!(
                    checked.contains(&name),
                    "{name} has no line in expected.txt"
                );
            }
        }
        assert!(checked.len() >= 12);
    }
}
