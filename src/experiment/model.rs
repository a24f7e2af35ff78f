//! The validated, typed form of an experiment file.
//!
//! Everything here has passed validation: names resolve, numbers are in range, every pair of
//! data centres has a link. Later stages (network, workload, clusters, faults) consume these
//! types and never see raw TOML. Data centres and nodes are referred to by index
//! ([`DcIdx`], [`NodeIdx`]) into [`Topology::dcs`] and [`Topology::nodes`].
//!
//! Deliberately left out: anything about how a variant is run (that belongs to the cluster
//! modules) and defaults (those are applied while validating the raw file).

use std::time::Duration;

use crate::net::delay::DelayModel;

/// Index of a data centre in [`Topology::dcs`].
pub type DcIdx = usize;
/// Index of a node in [`Topology::nodes`] (nodes are numbered DC by DC, in DC order).
pub type NodeIdx = usize;

/// A whole experiment, validated.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub name: String,
    pub description: Option<String>,
    /// Master seed; every random choice of a run derives from it.
    pub seed: u64,
    /// Length of the measured workload (operations are scheduled in `[0, duration)`).
    pub duration: Duration,
    /// Time between cluster start and the first operation; operations are recorded from the
    /// start of the measured window.
    pub warmup: Duration,
    /// Time after the last scheduled operation during which in-flight operations may finish
    /// and replicas may converge before the clusters are stopped.
    pub cooldown: Duration,
    /// Which engine runs the clusters: real TCP on loopback, or the same code in virtual time.
    pub engine: Engine,
    pub topology: Topology,
    pub variants: Vec<Variant>,
    pub workload: Workload,
    pub faults: Vec<Fault>,
}

/// The engine a run records on (see `crate::sim`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// Real TCP connections on 127.0.0.1, real time: what the lab leads with.
    #[default]
    Real,
    /// The same clusters on an in-memory link layer in virtual time: deterministic, and as
    /// fast as the CPU allows.
    Sim,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Real => "real",
            Engine::Sim => "sim",
        }
    }
}

/// Data centres, their nodes and the links between them.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Data centres, sorted by name.
    pub dcs: Vec<Dc>,
    /// Every node, DC by DC; node names are `<dc>-<n>` with `n` starting at 1.
    pub nodes: Vec<Node>,
    /// One-way delay between a client and a node in the client's own DC.
    pub client_delay: DelayModel,
    /// `links[from][to]`: the link from DC `from` to DC `to` (the diagonal is the link between
    /// two nodes of the same DC).
    pub links: Vec<Vec<LinkSpec>>,
    /// Messages on one link arrive in the order sent (true, as over one TCP connection), or
    /// each after its own sampled delay, overtaking earlier ones (false).
    pub fifo: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dc {
    pub name: String,
    /// Number of nodes in this DC (at least 1).
    pub nodes: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub dc: DcIdx,
}

/// Shaping of one ordered DC pair.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSpec {
    pub delay: DelayModel,
    /// Probability in `[0, 1)` that a message on this link is dropped.
    pub loss: f64,
}

impl Topology {
    pub fn dc_index(&self, name: &str) -> Option<DcIdx> {
        self.dcs.iter().position(|d| d.name == name)
    }

    pub fn node_index(&self, name: &str) -> Option<NodeIdx> {
        self.nodes.iter().position(|n| n.name == name)
    }

    pub fn link(&self, from: DcIdx, to: DcIdx) -> &LinkSpec {
        &self.links[from][to]
    }

    /// The largest mean round trip between two nodes (over every DC pair, the links inside a
    /// DC included), with the pair it is on. Distributions without a mean count their
    /// smallest value as seen by a sample-free estimate: zero.
    pub fn max_round_trip(&self) -> (Duration, DcIdx, DcIdx) {
        let mut best = (Duration::ZERO, 0, 0);
        for a in 0..self.dcs.len() {
            for b in a..self.dcs.len() {
                let one = |x: DcIdx, y: DcIdx| self.links[x][y].delay.mean_us().unwrap_or(0.0);
                let rtt = Duration::from_micros((one(a, b) + one(b, a)) as u64);
                if rtt > best.0 {
                    best = (rtt, a, b);
                }
            }
        }
        best
    }

    /// Nodes located in `dc`.
    pub fn nodes_in(&self, dc: DcIdx) -> impl Iterator<Item = NodeIdx> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(move |(_, n)| n.dc == dc)
            .map(|(i, _)| i)
    }
}

/// One system to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub name: String,
    pub params: VariantParams,
}

impl Variant {
    pub fn kind(&self) -> VariantKind {
        match self.params {
            VariantParams::Raft(_) => VariantKind::Raft,
            VariantParams::Gossip(_) => VariantKind::Gossip,
        }
    }
}

/// The kind of system a variant runs (`raft`, `gossip` in `run.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VariantKind {
    /// Strongly consistent, replicated with Raft.
    Raft,
    /// Eventually consistent, replicated by gossip with last-writer-wins.
    Gossip,
}

impl VariantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VariantKind::Raft => "raft",
            VariantKind::Gossip => "gossip",
        }
    }
}

/// A variant's system and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum VariantParams {
    Raft(RaftParams),
    Gossip(GossipParams),
}

/// Parameters of a Raft variant.
#[derive(Debug, Clone, PartialEq)]
pub struct RaftParams {
    /// How often the leader sends heartbeats.
    pub heartbeat_interval: Duration,
    /// A follower that hears no leader for a random time in `[min, max]` starts an election.
    pub election_timeout_min: Duration,
    pub election_timeout_max: Duration,
    /// Most log entries per AppendEntries message.
    pub max_payload_entries: u64,
    /// Take a snapshot after this many log entries since the last one.
    pub snapshot_after: u64,
    pub storage: RaftStorage,
    pub read_policy: ReadPolicy,
    /// Where the leader should be (`leader = "<dc or node>"`): after start the cluster
    /// transfers leadership to this node (for a DC, its first node) and leaves it there
    /// unless a fault forces an election; `None` leaves the leader wherever the first
    /// election put it.
    pub leader: Option<NodeIdx>,
    /// Bound on every node-to-node RPC; also the back-off before retrying an unreachable
    /// peer is kept well below openraft's default of 500 ms.
    pub rpc_timeout: Duration,
}

/// Where a Raft node keeps its log and vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaftStorage {
    /// In memory, but kept across a simulated crash (as a disk would keep it).
    Memory,
    /// A real append-only file per node, recovered on restart.
    Disk { fsync: Fsync },
}

/// When a disk log is fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// Before every append is acknowledged; appends queued while an fsync runs share the
    /// next one (group commit).
    Always,
    /// As `Always`, and the writer also waits a short batch window after the first append
    /// of a round, so that appends arriving within it share the fsync.
    Batch,
}

/// How a Raft variant serves reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPolicy {
    /// ReadIndex through the leader (`ensure_linearizable`): never stale.
    Linearizable,
    /// The local replica answers from its state machine: fast, may be stale.
    Follower,
    /// The leader answers without a quorum round trip while its lease holds (openraft's
    /// LeaseRead); linearizable only while clock drift stays below the lease margin.
    Lease,
}

/// Parameters of a gossip variant.
#[derive(Debug, Clone, PartialEq)]
pub struct GossipParams {
    pub conflict: Conflict,
    /// Peers a new write is pushed to as a rumour (0 switches rumour mongering off).
    pub fanout: usize,
    /// How many times a rumour is forwarded at most.
    pub rumor_hops: u32,
    pub anti_entropy: AntiEntropy,
    /// Time between anti-entropy rounds of a node.
    pub gossip_interval: Duration,
    /// Replicas (the coordinator included) that must hold a write before it is acknowledged.
    pub write_acks: usize,
    /// Whether a node's store survives a crash (an append-only file per node).
    pub durable: bool,
    /// Dynamo-style partial quorums (`None`: every node answers locally).
    pub quorum: Option<Quorum>,
    /// Client-side session tokens: reads wait for the version the user's devices saw last.
    pub session: Option<Session>,
    /// Which node a client's requests go to.
    pub routing: Routing,
}

/// A partial-quorum configuration: each key lives on `n` replicas chosen by consistent
/// hashing; writes wait for `w` of them, reads for `r`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quorum {
    pub n: usize,
    pub r: usize,
    pub w: usize,
    /// Choose the replicas so that every DC has at least one (while `n` allows).
    pub per_dc: bool,
    /// Send the newest value to replicas that answered a read with an older one.
    pub read_repair: bool,
    /// Keep writes for unreachable replicas at the coordinator and deliver them later.
    pub hinted_handoff: bool,
    /// How long a coordinator waits for `r` or `w` replies before failing the request (and
    /// for a replica's acknowledgement before keeping a hint for it).
    pub timeout: Duration,
}

/// Session tokens: a read carries the newest version the user's devices have seen of the
/// key; a replica without it waits up to `wait`, then fetches it from the replica that
/// wrote it, and fails the read rather than answer with an older picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub wait: Duration,
}

/// Which node serves a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// A node in the client's own DC.
    Nearest,
    /// A node in the profile owner's home DC, wherever the client is.
    HomeDc,
}

impl Default for GossipParams {
    fn default() -> Self {
        GossipParams {
            conflict: Conflict::LwwHlc,
            fanout: 2,
            rumor_hops: 3,
            anti_entropy: AntiEntropy::PushPull,
            gossip_interval: Duration::from_millis(200),
            write_acks: 1,
            durable: false,
            quorum: None,
            session: None,
            routing: Routing::Nearest,
        }
    }
}

/// How concurrent writes of one key are ordered by a gossip variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// Hybrid logical clock + node id: causality is kept for writes that observed each other.
    LwwHlc,
    /// The node's own wall clock + node id: a skewed clock can make a newer write lose.
    LwwWallclock,
}

/// Periodic anti-entropy mode of a gossip variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AntiEntropy {
    Off,
    Push,
    Pull,
    PushPull,
}

/// The profile workload: users, their devices, and how often they act.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Number of users; each owns one profile key (`profile/<user>`).
    pub users: usize,
    /// Mean operations per second over all users (Poisson arrivals, open loop).
    pub rate: f64,
    /// Share of operations that are picture updates (the rest are views).
    pub write_fraction: f64,
    /// Which profile an operation touches.
    pub popularity: Popularity,
    /// Size of every written picture, in bytes (the value really carries this many bytes).
    pub picture_bytes: usize,
    /// How long a client waits for an answer before recording `unknown` (writes) or `fail`
    /// (reads).
    pub timeout: Duration,
    /// Relative weight of each DC as a user's home, indexed by [`DcIdx`] (all equal by default).
    pub home_weights: Vec<f64>,
    /// Who views a profile.
    pub readers: ReaderMix,
    /// Relative weight of each DC as the home of a user's friends, indexed by [`DcIdx`]; the
    /// user's own home DC is never chosen (all equal by default).
    pub friend_weights: Vec<f64>,
    /// Users whose phone moves to another DC during the run.
    pub travel: Option<Travel>,
}

/// How profile keys are chosen for an operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Popularity {
    Uniform,
    /// Zipf over users (user 0 most popular) with the given exponent (> 0).
    Zipf {
        exponent: f64,
    },
}

/// Relative weights of the three kinds of viewers of a profile. At least one is positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReaderMix {
    /// The owner's own phone views the profile (wherever the phone is).
    pub phone: f64,
    /// The owner's laptop, in the owner's home DC.
    pub laptop: f64,
    /// A friend, in another DC.
    pub friend: f64,
}

/// Some users take their phone to another DC at a given time.
#[derive(Debug, Clone, PartialEq)]
pub struct Travel {
    /// The first `users` users (by index) travel.
    pub users: usize,
    /// Destination DC.
    pub to: DcIdx,
    /// Offset into the measured window at which the phones move.
    pub at: Duration,
}

/// One entry of the fault schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Offset into the measured window at which the fault starts.
    pub at: Duration,
    /// How long it lasts; `None` for faults that are instantaneous or never healed.
    pub duration: Option<Duration>,
    pub action: FaultAction,
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    Partition(Partition),
    /// Stop a node; it restarts when the fault's duration ends (never, without a duration).
    Crash(NodeTarget),
    /// Freeze a node: it stops processing and its messages queue until resumed.
    Pause(NodeTarget),
    /// Replace the delay of the links between two DCs.
    Latency {
        from: DcIdx,
        to: DcIdx,
        both_ways: bool,
        delay: DelayModel,
    },
    /// Drop a share of the messages on the links between two DCs (`None` = every DC).
    Loss {
        from: Option<DcIdx>,
        to: Option<DcIdx>,
        both_ways: bool,
        rate: f64,
    },
    /// Shift a node's wall clock by a signed offset in microseconds.
    ClockSkew {
        target: NodeTarget,
        offset_us: i64,
    },
    /// A seeded generator of faults of the listed kinds.
    Random(RandomFaults),
}

/// Which links a partition cuts.
#[derive(Debug, Clone, PartialEq)]
pub enum Partition {
    /// Cut a DC off from every other DC (both directions).
    IsolateDc(DcIdx),
    /// Split the nodes into groups that cannot talk to each other.
    Groups(Vec<Vec<NodeIdx>>),
    /// Split the nodes into two halves (the first half of the node list and the rest).
    Halves,
    /// Every node sees a majority, but no two nodes see the same majority.
    MajoritiesRing,
    /// Messages from `from` to `to` are dropped; `to` can still reach `from`.
    OneWay {
        from: Vec<NodeIdx>,
        to: Vec<NodeIdx>,
    },
}

/// Which node a node-level fault hits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NodeTarget {
    Node(NodeIdx),
    /// A node chosen with the run's seed (the same position in every variant).
    Random,
    /// The current Raft leader; for other variants the node at the same position.
    Leader,
}

/// Parameters of the `random` fault generator.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomFaults {
    /// Mean time between fault starts (exponentially distributed).
    pub mean_interval: Duration,
    /// Mean fault duration (exponentially distributed).
    pub mean_duration: Duration,
    /// Which kinds to draw from.
    pub kinds: Vec<RandomFaultKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RandomFaultKind {
    Partition,
    Crash,
    Pause,
    Latency,
    Loss,
    ClockSkew,
}
