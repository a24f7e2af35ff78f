//! A node's Raft log and vote: openraft's `RaftLogStorage`, in memory or on disk.
//!
//! Both kinds keep the whole log in an in-memory index, which is what openraft reads from.
//! They differ in what makes a write durable:
//!
//! - **memory**: nothing to do; the index itself is the durable state. The cluster keeps the
//!   [`LogStore`] of a crashed node and hands it to the restarted one, as a disk would keep
//!   its contents across a process crash. Appends are acknowledged at once.
//! - **disk**: every change is also a record in the node's [`LogFile`]. An append is
//!   acknowledged (openraft's `IOFlushed` callback) only from the writer thread's completion,
//!   which runs after an `fdatasync` that covers the append (appends queued together share
//!   one); a vote is saved before `save_vote` returns. A restarted node opens the file again
//!   and rebuilds the index from it, so recovery really goes through the file.
//!
//! The committed log id is saved too, so a restarted node re-applies its committed entries
//! to the (volatile) state machine before it hears from anyone.
//!
//! Deliberately left out: reading entries back from the file (the index holds them all) and
//! a size limit on the index (purging after snapshots bounds it).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::{LogState, RaftLogReader};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::log_file::{encode_into, LogFile, RecordRef};
use super::types::{Entry, LogId, TypeConfig, Vote};

#[derive(Debug, Default)]
struct LogData {
    entries: BTreeMap<u64, Entry>,
    vote: Option<Vote>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
}

/// A node's log store; clones share it (openraft's log reader is a clone).
#[derive(Clone)]
pub struct LogStore {
    /// A std mutex is fine: it is never held across an await.
    data: Arc<Mutex<LogData>>,
    /// The file behind a disk store; `None` for memory.
    file: Option<Arc<LogFile>>,
}

impl LogStore {
    /// An empty in-memory store.
    pub fn memory() -> Self {
        LogStore {
            data: Arc::new(Mutex::new(LogData::default())),
            file: None,
        }
    }

    /// Opens the disk store at `path`, recovering whatever the file holds; `window` is the
    /// writer's batch window (see [`LogFile::open`]).
    pub fn open_disk(path: &Path, window: Duration) -> io::Result<Self> {
        let (file, rec) = LogFile::open(path, window)?;
        Ok(LogStore {
            data: Arc::new(Mutex::new(LogData {
                entries: rec.entries,
                vote: rec.vote,
                committed: rec.committed,
                last_purged: rec.last_purged,
            })),
            file: Some(Arc::new(file)),
        })
    }

    /// For a disk store: waits until every queued write is durable and closes the file
    /// (blocks). A memory store has nothing to close.
    pub fn close(&self) {
        if let Some(f) = &self.file {
            f.close();
        }
    }

    /// Index of the last entry, if any (for tests and diagnostics).
    pub fn last_index(&self) -> Option<u64> {
        let d = self.data.lock();
        d.entries
            .keys()
            .next_back()
            .copied()
            .or(d.last_purged.map(|l| l.index))
    }

    /// The profile writes held, as `(version, key, value)` in log order (for checks).
    pub fn writes(&self) -> Vec<(Vec<u64>, String, String)> {
        let d = self.data.lock();
        let mut out = Vec::new();
        for e in d.entries.values() {
            if let openraft::EntryPayload::Normal(batch) = &e.payload {
                for (position, w) in batch.writes.iter().enumerate() {
                    out.push((
                        super::types::version(e.log_id.index, position),
                        w.key.clone(),
                        w.value.clone(),
                    ));
                }
            }
        }
        out
    }

    /// Writes `records` to the file (if any), with `done` called once they are durable; a
    /// memory store calls `done` at once.
    fn persist(
        &self,
        records: &[RecordRef<'_>],
        done: Option<super::log_file::Done>,
    ) -> io::Result<()> {
        match &self.file {
            None => {
                if let Some(done) = done {
                    done(Ok(()));
                }
                Ok(())
            }
            Some(f) => {
                let mut buf = Vec::new();
                for r in records {
                    encode_into(&mut buf, r)?;
                }
                f.write(buf, done)
            }
        }
    }

    /// Like [`LogStore::persist`], and waits until the records are durable.
    async fn persist_and_wait(&self, records: &[RecordRef<'_>]) -> io::Result<()> {
        if self.file.is_none() {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        self.persist(
            records,
            Some(Box::new(move |r| {
                let _ = tx.send(r);
            })),
        )?;
        rx.await
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "log writer stopped"))?
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> io::Result<Vec<Entry>> {
        let d = self.data.lock();
        Ok(d.entries.range(range).map(|(_, e)| e.clone()).collect())
    }

    async fn read_vote(&mut self) -> io::Result<Option<Vote>> {
        Ok(self.data.lock().vote)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> io::Result<LogState<TypeConfig>> {
        let d = self.data.lock();
        let last = d
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(d.last_purged);
        Ok(LogState {
            last_purged_log_id: d.last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> io::Result<()> {
        self.data.lock().vote = Some(*vote);
        self.persist_and_wait(&[RecordRef::Vote(vote)]).await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> io::Result<()> {
        self.data.lock().committed = committed;
        self.persist(&[RecordRef::Committed(committed)], None)
    }

    async fn read_committed(&mut self) -> io::Result<Option<LogId>> {
        Ok(self.data.lock().committed)
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<TypeConfig>) -> io::Result<()>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut buf = Vec::new();
        {
            let mut d = self.data.lock();
            for e in entries {
                if self.file.is_some() {
                    encode_into(&mut buf, &RecordRef::Entry(&e))?;
                }
                d.entries.insert(e.log_id.index, e);
            }
        }
        let done: super::log_file::Done = Box::new(move |r| callback.io_completed(r));
        match &self.file {
            None => {
                done(Ok(()));
                Ok(())
            }
            Some(f) => f.write(buf, Some(done)),
        }
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> io::Result<()> {
        let since = last_log_id.map_or(0, |l| l.index + 1);
        self.data.lock().entries.split_off(&since);
        self.persist(&[RecordRef::Truncate { since }], None)
    }

    async fn purge(&mut self, log_id: LogId) -> io::Result<()> {
        let purged = {
            let mut d = self.data.lock();
            let kept = d.entries.split_off(&(log_id.index + 1));
            if d.last_purged.as_ref() < Some(&log_id) {
                d.last_purged = Some(log_id);
            }
            std::mem::replace(&mut d.entries, kept)
        };
        // Freeing thousands of pictures at once stalled every node of the process for 10-20
        // ms: they are freed a small batch at a time by a task that pauses between batches
        // (see `free_gradually`). Not on a low-priority thread: the pictures were allocated
        // by the runtime's workers, a free takes the lock of the allocator arena they came
        // from, and a low-priority thread descheduled while holding it stalled the workers
        // (priority inversion). (Under the sim engine, inline, so that the run stays
        // deterministic.)
        match tokio::runtime::Handle::try_current() {
            Ok(rt) if !crate::sim::active() => drop(rt.spawn(free_gradually(purged))),
            _ => drop(purged),
        }
        self.persist(&[RecordRef::Purge { upto: log_id }], None)
    }
}

/// Entries freed at a time by [`free_gradually`].
const FREE_BATCH: usize = 16;
/// The pause between two batches of [`free_gradually`].
const FREE_PAUSE: std::time::Duration = std::time::Duration::from_millis(1);

/// Frees purged entries [`FREE_BATCH`] at a time, pausing [`FREE_PAUSE`] between batches.
///
/// Freeing is far dearer than it looks: the entries were written hundreds of milliseconds
/// earlier, their memory is cold, and each holds several allocations. Measured at 25,000
/// writes/s in memory, a purge of 5,000-6,666 entries took 9-40 ms of a worker's time, most
/// of it in `free`. Freed as fast as possible (128 entries, then a yield), that work came in
/// one burst per snapshot and pushed the writes' p99 from 8 to 13-21 ms; paced at 16 entries
/// per millisecond (up to 16,000 a second per purge, more than a node appends) it is spread
/// over about half a second and the p99 stayed at 8 ms in the same runs. If purges come
/// faster than one task frees, their tasks run side by side, so the pace keeps up.
async fn free_gradually(purged: BTreeMap<u64, Entry>) {
    let mut left = purged.into_values();
    loop {
        let batch: Vec<Entry> = left.by_ref().take(FREE_BATCH).collect();
        if batch.is_empty() {
            return;
        }
        drop(batch);
        tokio::time::sleep(FREE_PAUSE).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::raft::snapshot::SnapshotSlot;
    use crate::cluster::raft::state_machine::{ApplyEvents, StateMachine};
    use crate::cluster::raft::types::StorageError;
    use crate::history::{Event, JsonlWriter, RunClock};
    use openraft::{ErrorSubject, ErrorVerb};

    fn store_error(e: impl std::fmt::Display) -> StorageError {
        StorageError::from_io_error(
            ErrorSubject::Store,
            ErrorVerb::Write,
            io::Error::other(e.to_string()),
        )
    }
    use openraft::testing::log::{StoreBuilder, Suite};

    /// Keeps the temporary directory and the events file alive while a test runs.
    type Guard = (tempfile::TempDir, JsonlWriter<Event>);

    struct Builder {
        disk: bool,
    }

    impl StoreBuilder<TypeConfig, LogStore, StateMachine, Guard> for Builder {
        async fn build(&self) -> Result<(Guard, LogStore, StateMachine), StorageError> {
            let dir = tempfile::tempdir().map_err(store_error)?;
            let events = JsonlWriter::<Event>::create(&dir.path().join("events.jsonl"))
                .map_err(store_error)?;
            let (log, slot) = match self.disk {
                false => (LogStore::memory(), SnapshotSlot::memory()),
                true => (
                    LogStore::open_disk(&dir.path().join("n.raftlog"), Duration::ZERO)
                        .map_err(store_error)?,
                    SnapshotSlot::file(dir.path().join("n.snapshot")),
                ),
            };
            let sm = StateMachine::restore(
                slot,
                ApplyEvents {
                    node: "n".into(),
                    clock: RunClock::start(),
                    events: events.sink(),
                },
            )
            .map_err(store_error)?;
            Ok(((dir, events), log, sm))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_store_passes_the_openraft_storage_suite() {
        Suite::test_all(Builder { disk: false }).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn disk_store_passes_the_openraft_storage_suite() {
        Suite::test_all(Builder { disk: true }).await.unwrap();
    }
}
