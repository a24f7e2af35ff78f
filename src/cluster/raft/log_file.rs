//! The append-only file behind a `disk` Raft node: its record format, its recovery, and the
//! writer thread that makes appends durable.
//!
//! Every change to the node's durable Raft state is one record: a log entry, a vote, the
//! committed log id, a truncation (`since` index, inclusive) or a purge (up to a log id,
//! inclusive). A record is a little-endian `u32` length followed by the postcard encoding.
//! [`LogFile::open`] replays the file in order into a [`Recovered`] state and cuts off a torn
//! last record (a crash in the middle of an append), so later appends stay readable.
//!
//! Writes go to one thread per file, in the order they were submitted (openraft requires log
//! and vote IO to be serialised). A write may carry a completion: the thread calls it once
//! the bytes are on disk. With [`Fsync::Always`] each such write gets its own `fsync`; with
//! [`Fsync::Batch`] everything queued while the previous `fsync` ran shares the next one
//! (group commit). Writes without a completion (truncation, purge, committed index) are
//! made durable by the next `fsync`; losing them in a crash is harmless to Raft.
//!
//! Deliberately left out: compaction (purged entries stay in the file until the run ends),
//! checksums (a process crash tears at most the tail, which the length prefix detects), and
//! preallocation.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::types::{Entry, LogId, Vote};
use crate::experiment::Fsync;

/// Called by the writer thread once a write is durable (or failed).
pub type Done = Box<dyn FnOnce(io::Result<()>) + Send>;

/// A record as written (borrowing the entry, so appending does not copy pictures).
#[derive(Serialize)]
pub enum RecordRef<'a> {
    Entry(&'a Entry),
    Vote(&'a Vote),
    Committed(Option<LogId>),
    Truncate { since: u64 },
    Purge { upto: LogId },
}

/// A record as read back; the same variants, in the same order, as [`RecordRef`].
#[derive(Deserialize)]
enum Record {
    Entry(Entry),
    Vote(Vote),
    Committed(Option<LogId>),
    Truncate { since: u64 },
    Purge { upto: LogId },
}

/// The durable state a log file holds.
#[derive(Debug, Default)]
pub struct Recovered {
    pub entries: BTreeMap<u64, Entry>,
    pub vote: Option<Vote>,
    pub committed: Option<LogId>,
    pub last_purged: Option<LogId>,
}

impl Recovered {
    fn apply(&mut self, r: Record) {
        match r {
            Record::Entry(e) => {
                self.entries.insert(e.log_id.index, e);
            }
            Record::Vote(v) => self.vote = Some(v),
            Record::Committed(c) => self.committed = c,
            Record::Truncate { since } => {
                self.entries.split_off(&since);
            }
            Record::Purge { upto } => {
                self.entries = self.entries.split_off(&(upto.index + 1));
                self.last_purged = Some(upto);
            }
        }
    }
}

/// Appends `record`, length-prefixed, to `buf`.
pub fn encode_into(buf: &mut Vec<u8>, record: &RecordRef<'_>) -> io::Result<()> {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    let mut buf_taken = std::mem::take(buf);
    buf_taken = postcard::to_extend(record, buf_taken).map_err(io::Error::other)?;
    *buf = buf_taken;
    let len = u32::try_from(buf.len() - start - 4).map_err(io::Error::other)?;
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// Decodes records from `bytes` until the end or the first incomplete or undecodable one;
/// returns the state and the length of the valid prefix.
fn replay(bytes: &[u8]) -> (Recovered, usize) {
    let mut state = Recovered::default();
    let mut pos = 0;
    while bytes.len() - pos >= 4 {
        let len = u32::from_le_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]])
            as usize;
        let Some(body) = bytes.get(pos + 4..pos + 4 + len) else {
            break;
        };
        match postcard::from_bytes::<Record>(body) {
            Ok(r) => state.apply(r),
            Err(_) => break,
        }
        pos += 4 + len;
    }
    (state, pos)
}

enum Cmd {
    Write { bytes: Vec<u8>, done: Option<Done> },
}

/// An open log file and its writer thread.
pub struct LogFile {
    path: PathBuf,
    /// `None` once closed. A std mutex is fine: it is held only to enqueue.
    tx: Mutex<Option<mpsc::Sender<Cmd>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl LogFile {
    /// Opens (creating if needed) the file at `path`, recovers its state, and starts the
    /// writer thread.
    pub fn open(path: &Path, fsync: Fsync) -> io::Result<(LogFile, Recovered)> {
        let mut bytes = Vec::new();
        if path.exists() {
            File::open(path)?.read_to_end(&mut bytes)?;
        }
        let (state, valid) = replay(&bytes);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        // Drop a torn tail so that new records follow the last complete one.
        file.set_len(valid as u64)?;
        file.sync_all()?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        use std::io::Seek;
        out.seek(io::SeekFrom::End(0))?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("caplab-raft-log".into())
            .spawn(move || write_loop(rx, out, fsync))?;
        Ok((
            LogFile {
                path: path.to_path_buf(),
                tx: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(thread)),
            },
            state,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues `bytes` (whole records) for writing; `done` runs once they are durable.
    pub fn write(&self, bytes: Vec<u8>, done: Option<Done>) -> io::Result<()> {
        let guard = self.tx.lock();
        let Some(tx) = guard.as_ref() else {
            return Err(closed());
        };
        tx.send(Cmd::Write { bytes, done })
            .map_err(|mpsc::SendError(cmd)| {
                let Cmd::Write { done, .. } = cmd;
                if let Some(done) = done {
                    done(Err(closed()));
                }
                closed()
            })
    }

    /// Stops accepting writes, waits until everything queued is written and fsynced, and
    /// stops the thread. Blocks; call it from a blocking context.
    pub fn close(&self) {
        self.tx.lock().take();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        self.close();
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the log file is closed")
}

fn write_loop(rx: mpsc::Receiver<Cmd>, mut out: BufWriter<File>, fsync: Fsync) {
    // Once a write fails the file's tail is unknown: every later write fails too.
    let mut failed: Option<(io::ErrorKind, String)> = None;
    let mut batch: Vec<Cmd> = Vec::new();
    while let Ok(first) = rx.recv() {
        batch.push(first);
        if fsync == Fsync::Batch {
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
        }
        let mut waiting: Vec<Done> = Vec::new();
        for Cmd::Write { bytes, done } in batch.drain(..) {
            if failed.is_none() {
                if let Err(e) = out.write_all(&bytes) {
                    failed = Some((e.kind(), e.to_string()));
                }
            }
            waiting.extend(done);
        }
        if !waiting.is_empty() && failed.is_none() {
            if let Err(e) = out.flush().and_then(|()| out.get_ref().sync_data()) {
                failed = Some((e.kind(), e.to_string()));
            }
        }
        for done in waiting {
            done(match &failed {
                None => Ok(()),
                Some((kind, msg)) => Err(io::Error::new(*kind, msg.clone())),
            });
        }
    }
    if failed.is_none() {
        let _ = out.flush().and_then(|()| out.get_ref().sync_data());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::raft::types::{ProfileWrite, WriteBatch};
    use openraft::{CommittedLeaderId, EntryPayload};

    fn entry(term: u64, index: u64, value: &str) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(term, 0), index),
            payload: EntryPayload::Normal(WriteBatch {
                writes: vec![ProfileWrite {
                    key: "profile/alice".into(),
                    value: value.into(),
                    picture: bytes::Bytes::from(vec![7u8; 100]),
                }],
            }),
        }
    }

    fn write_sync(f: &LogFile, records: &[RecordRef<'_>]) {
        let mut buf = Vec::new();
        for r in records {
            encode_into(&mut buf, r).unwrap();
        }
        let (tx, rx) = std::sync::mpsc::channel();
        f.write(
            buf,
            Some(Box::new(move |r| {
                tx.send(r.is_ok()).unwrap();
            })),
        )
        .unwrap();
        assert!(rx.recv().unwrap());
    }

    #[test]
    fn replays_entries_votes_truncations_and_purges_in_order() {
        for fsync in [Fsync::Always, Fsync::Batch] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("n.raftlog");
            let (f, st) = LogFile::open(&path, fsync).unwrap();
            assert!(st.entries.is_empty() && st.vote.is_none());
            let es: Vec<Entry> = (1..=5).map(|i| entry(1, i, &format!("v{i}"))).collect();
            let vote = Vote::new(2, 1);
            write_sync(
                &f,
                &[
                    RecordRef::Vote(&vote),
                    RecordRef::Entry(&es[0]),
                    RecordRef::Entry(&es[1]),
                    RecordRef::Entry(&es[2]),
                    RecordRef::Entry(&es[3]),
                    RecordRef::Entry(&es[4]),
                    RecordRef::Truncate { since: 4 },
                    RecordRef::Purge { upto: es[0].log_id },
                    RecordRef::Committed(Some(es[2].log_id)),
                ],
            );
            let replaced = entry(2, 4, "new");
            write_sync(&f, &[RecordRef::Entry(&replaced)]);
            f.close();
            drop(f);

            let (_f, st) = LogFile::open(&path, fsync).unwrap();
            assert_eq!(st.vote, Some(vote));
            assert_eq!(st.committed, Some(es[2].log_id));
            assert_eq!(st.last_purged, Some(es[0].log_id));
            assert_eq!(
                st.entries.keys().copied().collect::<Vec<_>>(),
                vec![2, 3, 4]
            );
            assert_eq!(st.entries[&4].log_id, replaced.log_id);
        }
    }

    #[test]
    fn a_torn_tail_is_cut_off_and_later_appends_stay_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.raftlog");
        let (f, _) = LogFile::open(&path, Fsync::Always).unwrap();
        let e1 = entry(1, 1, "a");
        write_sync(&f, &[RecordRef::Entry(&e1)]);
        f.close();
        drop(f);
        // A crash in the middle of the next append leaves half a record.
        let mut half = Vec::new();
        encode_into(&mut half, &RecordRef::Entry(&entry(1, 2, "b"))).unwrap();
        half.truncate(half.len() / 2);
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&half)
            .unwrap();

        let (f, st) = LogFile::open(&path, Fsync::Always).unwrap();
        assert_eq!(st.entries.keys().copied().collect::<Vec<_>>(), vec![1]);
        let e2 = entry(1, 2, "c");
        write_sync(&f, &[RecordRef::Entry(&e2)]);
        f.close();
        drop(f);
        let (_f, st) = LogFile::open(&path, Fsync::Always).unwrap();
        assert_eq!(st.entries.keys().copied().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(st.entries[&2], e2);
    }
}
