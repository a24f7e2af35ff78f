//! A node's replica of the profile store: openraft's `RaftStateMachine` over a map from
//! profile key to its current picture.
//!
//! The map is volatile: a crash loses it. A new incarnation starts from the latest durable
//! snapshot ([`SnapshotSlot`]) and openraft re-applies the committed log entries after it.
//! Building or installing a snapshot saves it to the slot before openraft may purge the log
//! it covers.
//!
//! Every time a key's visible value changes in this replica (applying an entry, installing
//! a snapshot from the leader, or restoring one at restart) an `apply` event is recorded, so
//! the events file tells what every replica showed and when.
//!
//! Deliberately left out: responses from applying (a write's success is its commit) and
//! client de-duplication (a retried write would be a new write with a new label anyway).

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, RaftSnapshotBuilder};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use super::snapshot::{SnapshotError, SnapshotSlot, StoredSnapshot};
use super::types::{
    version, Entry, LogId, Snapshot, SnapshotData, SnapshotMeta, StoredMembership, TypeConfig,
};
use crate::history::{Event, EventKind, RecordSink, RunClock};

/// A profile's current picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Picture {
    pub value: String,
    pub picture: Bytes,
    /// The version of the write that set it: its place in the Raft order of writes.
    pub version: Vec<u64>,
}

#[derive(Debug, Default)]
struct State {
    last_applied: Option<LogId>,
    membership: StoredMembership,
    profiles: BTreeMap<String, Picture>,
}

/// Where `apply` events go.
#[derive(Clone)]
pub struct ApplyEvents {
    pub node: String,
    pub clock: RunClock,
    pub events: RecordSink<Event>,
}

impl ApplyEvents {
    fn record(&self, key: &str, value: &str) {
        self.events.record(Event {
            t_us: self.clock.now_us(),
            kind: EventKind::Apply {
                node: self.node.clone(),
                key: key.to_string(),
                value: value.to_string(),
            },
        });
    }
}

struct Shared {
    /// Std locks are fine: they are never held across an await.
    state: RwLock<State>,
    current: Mutex<Option<Arc<StoredSnapshot>>>,
    slot: SnapshotSlot,
    events: ApplyEvents,
}

/// A handle to one incarnation's state machine; clones share it.
#[derive(Clone)]
pub struct StateMachine {
    shared: Arc<Shared>,
}

impl StateMachine {
    /// A state machine rebuilt from the snapshot in `slot` (empty if there is none).
    pub fn restore(slot: SnapshotSlot, events: ApplyEvents) -> Result<Self, SnapshotError> {
        let snapshot = slot.load()?;
        let sm = StateMachine {
            shared: Arc::new(Shared {
                state: RwLock::new(State::default()),
                current: Mutex::new(None),
                slot,
                events,
            }),
        };
        if let Some(s) = snapshot {
            sm.load_snapshot(s)?;
        }
        Ok(sm)
    }

    /// The current picture of `key` in this replica.
    pub fn read(&self, key: &str) -> Option<Picture> {
        self.shared.state.read().profiles.get(key).cloned()
    }

    /// Every profile's current value label (for convergence checks).
    pub fn values(&self) -> BTreeMap<String, String> {
        self.shared
            .state
            .read()
            .profiles
            .iter()
            .map(|(k, p)| (k.clone(), p.value.clone()))
            .collect()
    }

    pub fn last_applied(&self) -> Option<LogId> {
        self.shared.state.read().last_applied
    }

    /// Replaces the state with `snapshot`, recording an event for every changed key, and
    /// makes it the current snapshot.
    fn load_snapshot(&self, snapshot: Arc<StoredSnapshot>) -> Result<(), SnapshotError> {
        let profiles: BTreeMap<String, Picture> = postcard::from_bytes(&snapshot.data)?;
        let mut st = self.shared.state.write();
        for (k, p) in &profiles {
            if st.profiles.get(k).map(|old| &old.value) != Some(&p.value) {
                self.shared.events.record(k, &p.value);
            }
        }
        *st = State {
            last_applied: snapshot.meta.last_log_id,
            membership: snapshot.meta.last_membership.clone(),
            profiles,
        };
        *self.shared.current.lock() = Some(snapshot);
        Ok(())
    }

    async fn save_to_slot(&self, snapshot: Arc<StoredSnapshot>) -> io::Result<()> {
        let slot = self.shared.slot.clone();
        match &slot {
            // Nothing to block on.
            SnapshotSlot::Memory(_) => slot.save(snapshot),
            SnapshotSlot::File(_) => crate::sim::blocking(move || slot.save(snapshot))
                .await
                .unwrap_or_else(|e| Err(io::Error::other(e))),
        }
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotData;

    async fn build_snapshot(&mut self) -> io::Result<Snapshot> {
        // Copy the map here (cheap: pictures are shared `Bytes`), then encode and save it on
        // a low-priority thread: every replica of the process snapshots at the same index,
        // and encoding at normal priority stalled all of them at once (see
        // `sim::background`).
        let (profiles, meta) = {
            let st = self.shared.state.read();
            let meta = SnapshotMeta {
                last_log_id: st.last_applied,
                last_membership: st.membership.clone(),
            };
            (st.profiles.clone(), meta)
        };
        let slot = self.shared.slot.clone();
        let (stored, snapshot, profiles) = crate::sim::background("caplab-snapshot", move || {
            // Sized up front: growing a megabyte buffer by doubling copied and faulted in
            // most of it twice over.
            let size: usize = profiles
                .iter()
                .map(|(k, p)| k.len() + p.value.len() + p.picture.len() + 16 + 10 * p.version.len())
                .sum();
            let data = postcard::to_extend(&profiles, Vec::with_capacity(size + 16))
                .map_err(io::Error::other)?;
            // openraft takes its own copy of the bytes: made here too, not on a worker.
            let copy = data.clone();
            let stored = Arc::new(StoredSnapshot { meta, data });
            slot.save(stored.clone())?;
            // The copy of the map goes back to be freed here: its strings were allocated
            // by a worker, and freeing them on a low-priority thread holds that worker's
            // allocator lock while the thread may be descheduled (see log_store's purge).
            Ok::<_, io::Error>((stored, copy, profiles))
        })
        .await
        .map_err(io::Error::other)??;
        drop(profiles);
        let meta = stored.meta.clone();
        *self.shared.current.lock() = Some(stored);
        Ok(Snapshot { meta, snapshot })
    }
}

impl StateMachine {
    /// Applies one entry to the map (recording an `apply` event per write).
    fn apply_entry(&self, e: Entry) {
        let mut st = self.shared.state.write();
        st.last_applied = Some(e.log_id);
        match e.payload {
            EntryPayload::Blank => {}
            EntryPayload::Normal(batch) => {
                for (position, w) in batch.writes.into_iter().enumerate() {
                    self.shared.events.record(&w.key, &w.value);
                    st.profiles.insert(
                        w.key,
                        Picture {
                            value: w.value,
                            picture: w.picture,
                            version: version(e.log_id.index, position),
                        },
                    );
                }
            }
            EntryPayload::Membership(m) => {
                st.membership = StoredMembership::new(Some(e.log_id), m);
            }
        }
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> io::Result<(Option<LogId>, StoredMembership)> {
        let st = self.shared.state.read();
        Ok((st.last_applied, st.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> io::Result<()>
    where
        Strm: Stream<Item = io::Result<EntryResponder<TypeConfig>>> + Unpin + Send,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            self.apply_entry(entry);
            if let Some(r) = responder {
                r.send(());
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: SnapshotData,
    ) -> io::Result<()> {
        let stored = Arc::new(StoredSnapshot {
            meta: meta.clone(),
            data: snapshot,
        });
        // Durable first: once the state machine holds it, openraft may purge the log.
        self.save_to_slot(stored.clone()).await?;
        self.load_snapshot(stored).map_err(io::Error::other)
    }

    async fn get_current_snapshot(&mut self) -> io::Result<Option<Snapshot>> {
        Ok(self.shared.current.lock().as_ref().map(|s| Snapshot {
            meta: s.meta.clone(),
            snapshot: s.data.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::raft::types::LeaderId;
    use crate::cluster::raft::types::{ProfileWrite, WriteBatch};
    use crate::history::JsonlWriter;
    use openraft::vote::RaftLeaderId as _;

    fn batch_entry(index: u64, values: &[(&str, &str)]) -> Entry {
        Entry {
            log_id: LogId::new(LeaderId::new(1, 0), index),
            payload: EntryPayload::Normal(WriteBatch {
                writes: values
                    .iter()
                    .map(|(k, v)| ProfileWrite {
                        key: k.to_string(),
                        value: v.to_string(),
                        picture: Bytes::from(vec![1u8; 8]),
                    })
                    .collect(),
            }),
        }
    }

    #[tokio::test]
    async fn batches_apply_in_order_and_a_restored_replica_shows_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let events = JsonlWriter::<Event>::create(&path).unwrap();
        let apply_events = |node: &str| ApplyEvents {
            node: node.into(),
            clock: RunClock::start(),
            events: events.sink(),
        };
        let slot = SnapshotSlot::file(dir.path().join("n.snapshot"));
        let mut sm = StateMachine::restore(slot.clone(), apply_events("a")).unwrap();
        let entries = [
            batch_entry(1, &[("k", "k#1"), ("j", "j#1"), ("k", "k#2")]),
            batch_entry(2, &[("j", "j#2")]),
        ];
        sm.apply(futures_util::stream::iter(
            entries.into_iter().map(|e| Ok((e, None))),
        ))
        .await
        .unwrap();
        let k = sm.read("k").unwrap();
        assert_eq!((k.value.as_str(), k.version), ("k#2", vec![1, 2]));
        assert_eq!(sm.read("j").unwrap().version, vec![2, 0]);
        sm.build_snapshot().await.unwrap();

        // A new incarnation starts from the durable snapshot.
        let restored = StateMachine::restore(slot, apply_events("a")).unwrap();
        assert_eq!(restored.values(), sm.values());
        assert_eq!(restored.last_applied().map(|l| l.index), Some(2));
        drop((sm, restored));
        events.finish().unwrap();
        let applied: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Event>(l).unwrap())
            .filter_map(|e| match e.kind {
                EventKind::Apply { value, .. } => Some(value),
                _ => None,
            })
            .collect();
        // Four applies, then the restored replica shows both keys again.
        assert_eq!(applied, ["k#1", "j#1", "k#2", "j#2", "j#2", "k#2"]);
    }
}
