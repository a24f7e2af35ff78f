//! `[[variants]]`: names, Raft parameters (timing defaults follow the topology), gossip
//! parameters and the partial-quorum keys; parameters of the other kind are rejected by name.
//!
//! Deliberately left out: whether a variant will perform well; only what cannot work is an
//! error.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::experiment::error::KeyPath;

impl Validator {
    pub(super) fn variants(
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
            if RESERVED_VARIANT_NAMES.contains(&v.name.as_str()) {
                self.issue(
                    &p,
                    format!(
                        "{:?} is reserved: caplab writes its own folder of that name in the run \
                         directory",
                        v.name
                    ),
                );
                ok = false;
            }
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
    pub(super) fn variant_params(
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
    pub(super) fn raft_params(
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
        let heartbeat = match &v.heartbeat_interval {
            Some(t) => self.interval(&path.key("heartbeat_interval"), t),
            None => Some(default_heartbeat(rtt)),
        };
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
        let snapshot_after = v.snapshot_after.unwrap_or(DEFAULT_SNAPSHOT_AFTER);
        for (key, n) in [
            ("max_payload_entries", max_payload_entries),
            ("snapshot_after", snapshot_after),
        ] {
            if n == 0 {
                self.issue(&path.key(key), "must be at least 1");
                ok = false;
            } else if n > MAX_RAFT_ENTRIES {
                self.issue(
                    &path.key(key),
                    format!(
                        "must be at most {MAX_RAFT_ENTRIES} (a run has far fewer log entries), \
                         got {n}"
                    ),
                );
                ok = false;
            }
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

    pub(super) fn gossip_params(
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
            Some(t) => self.interval(&path.key("gossip_interval"), t),
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
    pub(super) fn quorum(
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
    use super::super::fixtures::{assert_rejected, Rejected, QUICKSTART};
    use super::RESERVED_VARIANT_NAMES;

    #[test]
    fn reserved_names_are_the_folders_caplab_writes_in_a_run_directory() {
        assert!(RESERVED_VARIANT_NAMES.contains(&crate::report::CHARTS_DIR));
        for name in RESERVED_VARIANT_NAMES {
            assert!(
                !name.contains('.'),
                "{name}: a kebab-case name has no extension"
            );
        }
    }

    #[test]
    fn variant_rules() {
        let raft = |replace, want| Rejected {
            base: QUICKSTART,
            find: "name = \"raft\"",
            replace,
            want,
        };
        assert_rejected(&[
            raft(
                "name = \"charts\"",
                "variants[0].name: \"charts\" is reserved",
            ),
            raft(
                "name = \"raft\"\nheartbeat_interval = \"500us\"",
                "variants[0].heartbeat_interval: must be at least 1ms",
            ),
            Rejected {
                base: QUICKSTART,
                find: "snapshot_after = 5000 ",
                replace: "snapshot_after = 9223372036854775807 ",
                want: "variants[0].snapshot_after: must be at most 1000000000",
            },
            raft(
                "name = \"raft\"\nelection_timeout_min = \"25h\"",
                "variants[0].election_timeout_min: must be at most 24h",
            ),
        ]);
    }
}
