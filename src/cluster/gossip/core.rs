//! The gossip protocol as a pure state machine: no sockets, no timers, no tasks.
//!
//! A [`GossipCore`] is one replica of a last-writer-wins profile store. Inputs are client
//! writes, peer messages and ticks; each returns an [`Output`] with the messages to send,
//! the client replies that are ready, and the values that became visible (the `apply`
//! events). The tokio driver in `node.rs` only moves these over the network.
//!
//! # Versions
//! Each key is a LWW register. A [`Version`] is `(wall_us, logical, node)` compared
//! lexicographically. With `lww-hlc` the first two parts are a hybrid logical clock: they
//! never go backwards and jump past any version the node has seen, so a write that observed
//! another always wins over it. With `lww-wallclock` they are the node's wall clock alone
//! (`logical = 0`), so a node whose clock runs ahead wins over later writes of others — the
//! anomaly the clock-skew experiment shows.
//!
//! # Dissemination
//! Every update carries its origin (`node`, `incarnation`) and a per-origin sequence number.
//! A replica tracks, per origin, the highest contiguous sequence it has seen plus the few
//! seen above it (rumours overtake each other); that [`Summary`] per origin is the
//! anti-entropy digest (a few numbers per origin, not the store). In an exchange the
//! responder sends only its live entries whose sequence is above the requester's summary for
//! their origin, plus its own summary; after applying them the requester holds everything the
//! responder held, so it may adopt the responder's summary (Scuttlebutt-style reconciliation,
//! van Renesse et al. 2008). Anti-entropy runs every `interval` with one random peer in
//! `push`, `pull` or `push-pull` mode (Cassandra's SYN / ACK / ACK2 shape).
//! Rumour mongering pushes each new local write to `fanout` random peers, which forward it
//! while it is new to them, for at most `rumor_hops` hops. (`durable` is the driver's
//! business: the core is the volatile state.)
//! With `write_acks = k > 1` a write is also sent to every peer directly and the client is
//! answered once `k - 1` of them acknowledged it.
//!
//! Deliberately left out: deletes and tombstones (pictures are only replaced), membership
//! changes (the node set is fixed per run), and bounding the digest (one entry per origin
//! incarnation is small at lab scale).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::ring::Ring;
pub use super::types::{
    Digest, NodeId, Now, Origin, Output, PeerMsg, ReadAnswer, ReqId, Summary, Update, Version,
};
use super::waits::Coordinator;

pub use crate::experiment::{AntiEntropy, Conflict, GossipParams as GossipConfig};

#[derive(Debug, Clone)]
pub(super) struct Entry {
    value: String,
    picture: Bytes,
    version: Version,
    origin: Origin,
    seq: u64,
}

#[derive(Debug, Clone, Default)]
struct Seen {
    contiguous: u64,
    above: BTreeSet<u64>,
}

impl Seen {
    fn contains(&self, seq: u64) -> bool {
        seq <= self.contiguous || self.above.contains(&seq)
    }

    fn insert(&mut self, seq: u64) {
        if seq <= self.contiguous {
            return;
        }
        self.above.insert(seq);
        while self.above.remove(&(self.contiguous + 1)) {
            self.contiguous += 1;
        }
    }

    fn adopt(&mut self, contiguous: u64) {
        if contiguous > self.contiguous {
            self.contiguous = contiguous;
            self.above = self.above.split_off(&(contiguous + 1));
            while self.above.remove(&(self.contiguous + 1)) {
                self.contiguous += 1;
            }
        }
    }
}

struct Pending {
    req: ReqId,
    needed: usize,
    version: Version,
}

/// One replica.
pub struct GossipCore {
    pub(super) id: NodeId,
    nodes: u32,
    pub(super) config: GossipConfig,
    origin: Origin,
    next_seq: u64,
    pub(super) store: BTreeMap<String, Entry>,
    seen: BTreeMap<Origin, Seen>,
    hlc: (u64, u32),
    rng: ChaCha8Rng,
    next_round_us: u64,
    pub(super) next_token: u64,
    pending: BTreeMap<u64, Pending>,
    /// Quorum and session state (see `quorum`).
    pub(super) coord: Coordinator,
}

impl GossipCore {
    /// A fresh replica `id` of `nodes`, in its `incarnation`-th life.
    pub fn new(id: NodeId, nodes: u32, config: GossipConfig, incarnation: u32, seed: u64) -> Self {
        let ring = std::sync::Arc::new(Ring::new(vec![0; nodes as usize]));
        Self::on_ring(id, nodes, config, incarnation, seed, ring)
    }

    /// A replica placing quorum replicas on `ring` (with the nodes' real DCs), shared by
    /// the cluster's nodes: building a ring costs `nodes x VNODES` hashes, too much to
    /// repeat for each of a thousand nodes.
    pub fn on_ring(
        id: NodeId,
        nodes: u32,
        config: GossipConfig,
        incarnation: u32,
        seed: u64,
        ring: std::sync::Arc<Ring>,
    ) -> Self {
        GossipCore {
            id,
            nodes,
            config,
            origin: Origin {
                node: id,
                incarnation,
            },
            next_seq: 1,
            store: BTreeMap::new(),
            seen: BTreeMap::new(),
            hlc: (0, 0),
            rng: ChaCha8Rng::seed_from_u64(seed),
            next_round_us: 0,
            next_token: 1,
            pending: BTreeMap::new(),
            coord: Coordinator::new(ring),
        }
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The current value of `key`: its label, picture and version.
    pub fn read(&self, key: &str) -> Option<(&str, &Bytes, Version)> {
        self.store
            .get(key)
            .map(|e| (e.value.as_str(), &e.picture, e.version))
    }

    /// The version of `key`'s current value.
    pub fn version(&self, key: &str) -> Option<Version> {
        self.store.get(key).map(|e| e.version)
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// This replica's digest: per origin, the sequences seen.
    pub fn digest(&self) -> Digest {
        let mut d: Digest = self
            .seen
            .iter()
            .map(|(o, s)| Summary {
                origin: *o,
                contiguous: s.contiguous,
                above: s.above.iter().copied().collect(),
            })
            .collect();
        d.sort();
        d
    }

    /// Every live update held, for persisting a durable replica.
    pub fn updates(&self) -> Vec<Update> {
        self.store.iter().map(|(k, e)| to_update(k, e)).collect()
    }

    /// The live update of `key`, for persisting it.
    pub fn updates_for(&self, key: &str) -> Option<Update> {
        self.store.get(key).map(|e| to_update(key, e))
    }

    /// When the next [`GossipCore::tick`] has work to do (monotonic µs).
    pub fn next_tick_us(&self) -> Option<u64> {
        let round = (self.config.anti_entropy != AntiEntropy::Off && self.nodes > 1)
            .then_some(self.next_round_us);
        match (round, self.coord.next_deadline_us()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn anti_entropy_due(&self, now: Now) -> bool {
        self.config.anti_entropy != AntiEntropy::Off
            && self.nodes > 1
            && now.mono_us >= self.next_round_us
    }

    fn stamp(&mut self, wall_us: u64) -> Version {
        match self.config.conflict {
            Conflict::LwwWallclock => Version {
                wall_us,
                logical: 0,
                node: self.id,
            },
            Conflict::LwwHlc => {
                let (l, c) = self.hlc;
                self.hlc = if wall_us > l {
                    (wall_us, 0)
                } else {
                    (l, c + 1)
                };
                Version {
                    wall_us: self.hlc.0,
                    logical: self.hlc.1,
                    node: self.id,
                }
            }
        }
    }

    fn observe(&mut self, v: Version, wall_us: u64) {
        if self.config.conflict != Conflict::LwwHlc {
            return;
        }
        let (l, c) = self.hlc;
        let nl = l.max(v.wall_us).max(wall_us);
        let nc = if nl == l && nl == v.wall_us {
            c.max(v.logical) + 1
        } else if nl == l {
            c + 1
        } else if nl == v.wall_us {
            v.logical + 1
        } else {
            0
        };
        self.hlc = (nl, nc);
    }

    /// A client writes `value` of `key` at this replica. The write is acknowledged at once
    /// (in `acked`) when `write_acks` is 1, otherwise once enough peers hold it.
    pub fn write(
        &mut self,
        now: Now,
        req: ReqId,
        key: &str,
        value: &str,
        picture: Bytes,
    ) -> Output {
        let mut out = Output::default();
        let update = Update {
            key: key.to_string(),
            value: value.to_string(),
            picture,
            version: self.stamp(now.wall_us),
            origin: self.origin,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        if self.config.quorum.is_some() {
            self.quorum_write(now, req, update, &mut out);
            return out;
        }
        self.apply(&update, now.wall_us, &mut out);
        if self.config.fanout > 0 {
            for peer in self.pick_peers(self.config.fanout, None) {
                out.send.push((
                    peer,
                    PeerMsg::Rumor {
                        update: update.clone(),
                        hops: 1,
                    },
                ));
            }
        }
        let needed = self.config.write_acks.saturating_sub(1);
        if needed == 0 {
            out.acked.push((req, update.version));
        } else {
            let token = self.next_token;
            self.next_token += 1;
            self.pending.insert(
                token,
                Pending {
                    req,
                    needed,
                    version: update.version,
                },
            );
            for peer in (0..self.nodes).filter(|p| *p != self.id) {
                out.send.push((
                    peer,
                    PeerMsg::Replicate {
                        update: update.clone(),
                        token,
                    },
                ));
            }
        }
        out
    }

    /// Handles a message from peer `from`.
    pub fn step(&mut self, now: Now, from: NodeId, msg: PeerMsg) -> Output {
        let mut out = Output::default();
        match msg {
            PeerMsg::Rumor { update, hops } => {
                let new = self.apply(&update, now.wall_us, &mut out);
                if new && hops < self.config.rumor_hops {
                    for peer in self.pick_peers(self.config.fanout, Some(from)) {
                        out.send.push((
                            peer,
                            PeerMsg::Rumor {
                                update: update.clone(),
                                hops: hops + 1,
                            },
                        ));
                    }
                }
            }
            PeerMsg::Syn { digest, pull, push } => {
                let updates = if pull {
                    self.missing_for(&digest)
                } else {
                    Vec::new()
                };
                out.send.push((
                    from,
                    PeerMsg::Ack {
                        updates,
                        digest: self.digest(),
                        push,
                    },
                ));
            }
            PeerMsg::Ack {
                updates,
                digest,
                push,
            } => {
                // The peer's digest says what it held; we hold all of that only if we
                // pulled (it sent everything our digest lacked). A push-only round sent no
                // digest and got no updates: adopting the peer's digest would mark as seen
                // what never arrived, and that false summary would spread.
                let pulled = matches!(
                    self.config.anti_entropy,
                    AntiEntropy::Pull | AntiEntropy::PushPull
                );
                if pulled {
                    self.merge(&updates, &digest, now.wall_us, &mut out);
                } else {
                    for u in &updates {
                        self.apply(u, now.wall_us, &mut out);
                    }
                }
                if push {
                    let mine = self.missing_for(&digest);
                    out.send.push((
                        from,
                        PeerMsg::Ack2 {
                            updates: mine,
                            digest: self.digest(),
                        },
                    ));
                }
            }
            PeerMsg::Ack2 { updates, digest } => {
                self.merge(&updates, &digest, now.wall_us, &mut out);
            }
            PeerMsg::Replicate { update, token } => {
                self.apply(&update, now.wall_us, &mut out);
                out.send.push((from, PeerMsg::Replicated { token }));
            }
            PeerMsg::Replicated { token } => {
                if let Some(p) = self.pending.get_mut(&token) {
                    p.needed = p.needed.saturating_sub(1);
                    if p.needed == 0 {
                        if let Some(p) = self.pending.remove(&token) {
                            out.acked.push((p.req, p.version));
                        }
                    }
                }
            }
            other => self.step_quorum(now, from, other, &mut out),
        }
        self.answer_sessions(&mut out);
        out
    }

    /// Runs an anti-entropy round if one is due at `now`.
    pub fn tick(&mut self, now: Now) -> Output {
        let mut out = Output::default();
        self.tick_quorum(now, &mut out);
        if !self.anti_entropy_due(now) {
            return out;
        }
        self.next_round_us = now.mono_us + self.config.gossip_interval.as_micros() as u64;
        if let Some(peer) = self.pick_peers(1, None).pop() {
            let (pull, push) = match self.config.anti_entropy {
                AntiEntropy::Pull => (true, false),
                AntiEntropy::Push => (false, true),
                AntiEntropy::PushPull => (true, true),
                AntiEntropy::Off => return out,
            };
            let digest = if pull { self.digest() } else { Vec::new() };
            out.send.push((peer, PeerMsg::Syn { digest, pull, push }));
        }
        out
    }

    /// Loads persisted updates after a restart (durable replicas). Nothing is sent.
    pub fn restore(&mut self, updates: &[Update]) {
        let mut out = Output::default();
        for u in updates {
            self.apply(u, 0, &mut out);
        }
    }

    /// Applies an update if it is newer than what is held; returns whether the update was
    /// new to this replica (not seen before), whether or not it won.
    pub(super) fn apply(&mut self, u: &Update, wall_us: u64, out: &mut Output) -> bool {
        let seen = self.seen.entry(u.origin).or_default();
        let new = !seen.contains(u.seq);
        seen.insert(u.seq);
        self.observe(u.version, wall_us);
        let wins = self.store.get(&u.key).is_none_or(|e| u.version > e.version);
        if wins {
            self.store.insert(
                u.key.clone(),
                Entry {
                    value: u.value.clone(),
                    picture: u.picture.clone(),
                    version: u.version,
                    origin: u.origin,
                    seq: u.seq,
                },
            );
            out.applied.push((u.key.clone(), u.value.clone()));
        }
        new
    }

    fn merge(&mut self, updates: &[Update], digest: &Digest, wall_us: u64, out: &mut Output) {
        for u in updates {
            self.apply(u, wall_us, out);
        }
        // We now hold everything the peer held when it sent `digest`.
        for summary in digest {
            let seen = self.seen.entry(summary.origin).or_default();
            seen.adopt(summary.contiguous);
            for seq in &summary.above {
                seen.insert(*seq);
            }
        }
    }

    /// Live entries the holder of `digest` has not seen.
    fn missing_for(&self, digest: &Digest) -> Vec<Update> {
        let theirs: BTreeMap<Origin, &Summary> = digest.iter().map(|s| (s.origin, s)).collect();
        let known = |e: &Entry| {
            theirs
                .get(&e.origin)
                .is_some_and(|s| e.seq <= s.contiguous || s.above.binary_search(&e.seq).is_ok())
        };
        let mut v: Vec<Update> = self
            .store
            .iter()
            .filter(|(_, e)| !known(e))
            .map(|(k, e)| to_update(k, e))
            .collect();
        v.sort_by_key(|u| (u.origin, u.seq));
        v
    }

    fn pick_peers(&mut self, n: usize, exclude: Option<NodeId>) -> Vec<NodeId> {
        let candidates: Vec<NodeId> = (0..self.nodes)
            .filter(|p| *p != self.id && Some(*p) != exclude)
            .collect();
        if n >= candidates.len() {
            return candidates;
        }
        let mut picked: Vec<NodeId> = candidates
            .choose_multiple(&mut self.rng, n)
            .copied()
            .collect();
        picked.sort();
        picked
    }
}

pub(super) fn to_update(key: &str, e: &Entry) -> Update {
    Update {
        key: key.to_string(),
        value: e.value.clone(),
        picture: e.picture.clone(),
        version: e.version,
        origin: e.origin,
        seq: e.seq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::Rng;

    fn cfg() -> GossipConfig {
        GossipConfig {
            fanout: 0,
            ..GossipConfig::default()
        }
    }

    fn now(t: u64) -> Now {
        Now {
            mono_us: t,
            wall_us: t,
        }
    }

    fn upd(key: &str, value: &str, wall: u64, node: NodeId, seq: u64) -> Update {
        Update {
            key: key.into(),
            value: value.into(),
            picture: Bytes::from_static(b"px"),
            version: Version {
                wall_us: wall,
                logical: 0,
                node,
            },
            origin: Origin {
                node,
                incarnation: 0,
            },
            seq,
        }
    }

    fn state(c: &GossipCore) -> Vec<(String, String, Version)> {
        let mut v: Vec<_> = c
            .store
            .iter()
            .map(|(k, e)| (k.clone(), e.value.clone(), e.version))
            .collect();
        v.sort();
        v
    }

    fn some_updates() -> Vec<Update> {
        let mut v = Vec::new();
        for node in 0..3u32 {
            for seq in 1..=6u64 {
                let key = format!("k{}", (seq + u64::from(node)) % 4);
                // Walls collide across nodes on purpose: the node id breaks ties.
                v.push(upd(&key, &format!("n{node}#{seq}"), seq * 10, node, seq));
            }
        }
        v
    }

    #[test]
    fn merge_is_commutative_associative_and_idempotent() {
        let updates = some_updates();
        let mut reference = GossipCore::new(9, 10, cfg(), 0, 1);
        for u in &updates {
            reference.apply(u, 0, &mut Output::default());
        }
        let want = state(&reference);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..50 {
            // Any order (commutativity), any grouping into batches merged one after another
            // (associativity), with repeats (idempotence): the same state.
            let mut shuffled = updates.clone();
            shuffled.shuffle(&mut rng);
            let repeats: Vec<Update> = shuffled.iter().take(7).cloned().collect();
            shuffled.extend(repeats);
            let mut c = GossipCore::new(9, 10, cfg(), 0, 1);
            for chunk in shuffled.chunks(rng.random_range(1..8)) {
                c.merge(chunk, &Vec::new(), 0, &mut Output::default());
            }
            assert_eq!(state(&c), want);
        }
    }

    #[test]
    fn larger_version_always_wins() {
        let mut c = GossipCore::new(0, 3, cfg(), 0, 1);
        let newer = upd("k", "new", 200, 1, 1);
        let older = upd("k", "old", 100, 2, 1);
        let mut out = Output::default();
        c.apply(&newer, 0, &mut out);
        c.apply(&older, 0, &mut out);
        assert_eq!(c.read("k").unwrap().0, "new");
        assert_eq!(out.applied, vec![("k".to_string(), "new".to_string())]);
        // Same wall time: the larger node id wins, on every replica alike.
        let tie = upd("k", "tie", 200, 2, 2);
        c.apply(&tie, 0, &mut out);
        assert_eq!(c.read("k").unwrap().0, "tie");
    }

    #[test]
    fn a_push_only_round_does_not_mark_the_peers_updates_as_seen() {
        let push_only = GossipConfig {
            anti_entropy: AntiEntropy::Push,
            ..cfg()
        };
        let mut a = GossipCore::new(0, 2, push_only.clone(), 0, 1);
        let mut b = GossipCore::new(1, 2, push_only, 0, 2);
        for seq in 1..=3 {
            let u = upd(&format!("k{seq}"), &format!("v{seq}"), seq * 10, 5, seq);
            b.apply(&u, 0, &mut Output::default());
        }
        // a pushes to b: Syn (no digest), Ack (b's digest, no updates), Ack2 (a's updates).
        let tick = a.tick(now(1_000_000));
        let [(1, syn)] = &tick.send[..] else {
            panic!("{tick:?}")
        };
        let ack = b.step(now(2), 0, syn.clone());
        let [(0, ack)] = &ack.send[..] else {
            panic!("{ack:?}")
        };
        a.step(now(3), 1, ack.clone());
        // a never received b's updates, so it must not claim to hold them: a later pull
        // from a third node would otherwise never ask anyone for them.
        assert!(a.read("k1").is_none());
        assert!(
            a.digest()
                .iter()
                .all(|s| s.contiguous == 0 && s.above.is_empty()),
            "{:?}",
            a.digest()
        );
    }

    #[test]
    fn digest_exchange_sends_only_what_is_missing() {
        let mut a = GossipCore::new(0, 2, cfg(), 0, 1);
        let mut b = GossipCore::new(1, 2, cfg(), 0, 2);
        for seq in 1..=10 {
            let u = upd(&format!("k{seq}"), &format!("v{seq}"), seq * 10, 5, seq);
            a.apply(&u, 0, &mut Output::default());
            if seq <= 7 {
                b.apply(&u, 0, &mut Output::default());
            }
        }
        // b pulls from a.
        let syn = PeerMsg::Syn {
            digest: b.digest(),
            pull: true,
            push: false,
        };
        let out = a.step(now(1), 1, syn);
        let [(to, PeerMsg::Ack { updates, .. })] = &out.send[..] else {
            panic!("{out:?}")
        };
        assert_eq!(*to, 1);
        let seqs: Vec<u64> = updates.iter().map(|u| u.seq).collect();
        assert_eq!(seqs, vec![8, 9, 10]);
        let out = b.step(now(2), 0, out.send.into_iter().next().unwrap().1);
        assert!(out.send.is_empty());
        assert_eq!(state(&a), state(&b));
        // Nothing is missing any more, so nothing is sent.
        let out = a.step(
            now(3),
            1,
            PeerMsg::Syn {
                digest: b.digest(),
                pull: true,
                push: false,
            },
        );
        assert!(matches!(&out.send[0].1, PeerMsg::Ack { updates, .. } if updates.is_empty()));
    }

    #[test]
    fn push_pull_round_reconciles_both_sides() {
        let c = GossipConfig {
            anti_entropy: AntiEntropy::PushPull,
            ..cfg()
        };
        let mut a = GossipCore::new(0, 2, c.clone(), 0, 1);
        let mut b = GossipCore::new(1, 2, c, 0, 2);
        a.write(now(10), 1, "ka", "a1", Bytes::new());
        b.write(now(20), 2, "kb", "b1", Bytes::new());
        let syn = a.tick(now(1_000_000)).send.remove(0).1;
        let ack = b.step(now(1_000_001), 0, syn).send.remove(0).1;
        let ack2 = a.step(now(1_000_002), 1, ack).send.remove(0).1;
        b.step(now(1_000_003), 0, ack2);
        assert_eq!(state(&a), state(&b));
        assert_eq!(a.len(), 2);
        assert_eq!(a.digest(), b.digest());
    }

    #[test]
    fn out_of_order_rumours_are_not_lost_to_anti_entropy() {
        let mut a = GossipCore::new(0, 3, cfg(), 0, 1);
        let mut b = GossipCore::new(1, 3, cfg(), 0, 2);
        let u1 = upd("x", "1", 10, 2, 1);
        let u2 = upd("y", "2", 20, 2, 2);
        for u in [&u1, &u2] {
            a.apply(u, 0, &mut Output::default());
        }
        // b hears seq 2 by rumour before seq 1: its summary for origin 2 must stay at 0, with
        // 2 seen above it.
        b.step(
            now(1),
            2,
            PeerMsg::Rumor {
                update: u2,
                hops: 1,
            },
        );
        let origin = Origin {
            node: 2,
            incarnation: 0,
        };
        let want = Summary {
            origin,
            contiguous: 0,
            above: vec![2],
        };
        assert_eq!(b.digest(), vec![want]);
        let ack = a.step(
            now(2),
            1,
            PeerMsg::Syn {
                digest: b.digest(),
                pull: true,
                push: false,
            },
        );
        // Only seq 1 is sent: b already has seq 2.
        let reply = ack.send.into_iter().next().unwrap().1;
        let PeerMsg::Ack { updates, .. } = &reply else {
            panic!("{reply:?}")
        };
        assert_eq!(updates.iter().map(|u| u.seq).collect::<Vec<_>>(), vec![1]);
        b.step(now(3), 0, reply);
        assert_eq!(b.read("x").unwrap().0, "1");
        assert_eq!(b.digest(), a.digest());
    }

    #[test]
    fn rumours_spread_to_fanout_peers_and_stop_after_max_hops() {
        let c = GossipConfig {
            fanout: 2,
            rumor_hops: 2,
            ..cfg()
        };
        let mut a = GossipCore::new(0, 5, c.clone(), 0, 1);
        let out = a.write(now(1), 7, "k", "v", Bytes::new());
        assert_eq!(out.acked.len(), 1);
        assert_eq!(out.send.len(), 2);
        let (peer, rumor) = out.send.into_iter().next().unwrap();
        let mut b = GossipCore::new(peer, 5, c.clone(), 0, 2);
        let fwd = b.step(now(2), 0, rumor.clone());
        assert_eq!(fwd.send.len(), 2, "forwarded while new");
        assert!(fwd.send.iter().all(|(p, _)| *p != 0 && *p != peer));
        assert!(
            b.step(now(3), 0, rumor).send.is_empty(),
            "not forwarded once known"
        );
        let mut c2 = GossipCore::new(4, 5, c, 0, 3);
        let (_, hop2) = fwd.send.into_iter().next().unwrap();
        assert!(
            c2.step(now(4), peer, hop2).send.is_empty(),
            "stops after rumor_hops"
        );
    }

    #[test]
    fn skewed_wall_clock_discards_a_later_write_but_hlc_keeps_causality() {
        for (conflict, later_wins) in [(Conflict::LwwWallclock, false), (Conflict::LwwHlc, true)] {
            let c = GossipConfig { conflict, ..cfg() };
            let mut fast = GossipCore::new(0, 2, c.clone(), 0, 1);
            let mut slow = GossipCore::new(1, 2, c, 0, 2);
            // Node 0's clock is 5 s ahead. It writes at true time 1 s...
            let w1 = fast.write(
                Now {
                    mono_us: 1_000_000,
                    wall_us: 6_000_000,
                },
                1,
                "k",
                "first",
                Bytes::new(),
            );
            assert_eq!(w1.acked.len(), 1);
            let u = Update {
                key: "k".into(),
                value: "first".into(),
                picture: Bytes::new(),
                version: fast.version("k").unwrap(),
                origin: Origin {
                    node: 0,
                    incarnation: 0,
                },
                seq: 1,
            };
            // ...node 1 sees that write, then overwrites it at true time 2 s.
            slow.step(
                Now {
                    mono_us: 1_500_000,
                    wall_us: 1_500_000,
                },
                0,
                PeerMsg::Rumor { update: u, hops: 1 },
            );
            slow.write(
                Now {
                    mono_us: 2_000_000,
                    wall_us: 2_000_000,
                },
                2,
                "k",
                "second",
                Bytes::new(),
            );
            let want = if later_wins { "second" } else { "first" };
            assert_eq!(slow.read("k").unwrap().0, want, "{conflict:?}");
        }
    }

    #[test]
    fn write_acks_wait_for_peers() {
        let c = GossipConfig {
            write_acks: 3,
            ..cfg()
        };
        let mut a = GossipCore::new(0, 4, c, 0, 1);
        let out = a.write(now(1), 42, "k", "v", Bytes::new());
        assert!(out.acked.is_empty());
        let tokens: Vec<u64> = out
            .send
            .iter()
            .filter_map(|(_, m)| match m {
                PeerMsg::Replicate { token, .. } => Some(*token),
                _ => None,
            })
            .collect();
        assert_eq!(tokens.len(), 3);
        assert!(a
            .step(now(2), 1, PeerMsg::Replicated { token: tokens[0] })
            .acked
            .is_empty());
        let acked = a
            .step(now(3), 2, PeerMsg::Replicated { token: tokens[0] })
            .acked;
        assert_eq!(acked, vec![(42, a.version("k").unwrap())]);
        assert!(a
            .step(now(4), 3, PeerMsg::Replicated { token: tokens[0] })
            .acked
            .is_empty());
    }
}
