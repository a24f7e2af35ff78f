//! The append-only file behind a `disk` Raft node: its record format, its recovery, and the
//! writer thread that makes appends durable.
//!
//! Every change to the node's durable Raft state is one record: a log entry, a vote, the
//! committed log id, a truncation (`since` index, inclusive) or a purge (up to a log id,
//! inclusive). A record is a little-endian `u32` length, a `u32` checksum (FNV-1a) of the
//! body, then the body: the postcard encoding. [`LogFile::open`] replays the file in order
//! into a [`Recovered`] state and stops at the first record that is not whole (a zero length
//! marks the end of the data; a torn append fails its checksum), so a crash in the middle of
//! an append loses at most that append.
//!
//! The file is preallocated: a helper thread (at low priority) fills it with zeros
//! [`PREALLOCATE`] bytes at a time, handing them to the disk a piece at a time
//! ([`write_trickled`]) so that no burst of zeros delays the appends' `fdatasync`s, with one
//! `fsync` of the file's metadata per chunk. It is asked for the next chunk as
//! soon as the data passes half of the current one, and the writer thread writes records
//! over the zeros (it waits for zeros only if it catches up; filling 4 MiB and syncing took
//! 5-9 ms, a stall every few thousand appends while the writer did it itself). Overwriting allocated blocks does not change the file's size, so the
//! `fdatasync` after an append only flushes data, instead of committing the filesystem
//! journal as growing a file does (which also serialises the fsyncs of every node's file).
//!
//! Writes go to one thread per file, in the order they were submitted (openraft requires log
//! and vote IO to be serialised). A write may carry a completion: the thread calls it once
//! the bytes are on disk. The thread group-commits: it takes everything queued while its
//! previous `fdatasync` ran, writes it in one go, covers it with one `fdatasync`, and only
//! then runs the completions. So no append is acknowledged before an `fdatasync` that covers
//! it (what `fsync = "always"` promises), yet a busy log pays one `fdatasync` per round
//! rather than one per append, as etcd does per batch. With `fsync = "batch"` the thread
//! also waits a batch window ([`BATCH_WINDOW`], as Cassandra's batch commit log does) after
//! the first write of a round before it syncs, so that writes arriving within the window
//! share the round even when the log is not busy: fewer `fdatasync`s for up to the window
//! in added latency; still no append is acknowledged before it is durable. Writes without
//! a completion (truncation, purge, committed index) are made durable by the next
//! `fdatasync`; losing them in a crash is harmless to Raft.
//!
//! Deliberately left out: compaction (purged entries stay in the file until the run ends)
//! and segment files (one file per node, however long the run).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::types::{Entry, LogId, Vote};

/// How long the writer of a `fsync = "batch"` log waits after the first write of a round
/// for more writes to share its `fdatasync` (Cassandra's classic batch window).
pub const BATCH_WINDOW: Duration = Duration::from_millis(2);

/// How far ahead of the data the file is filled with zeros.
pub const PREALLOCATE: u64 = 4 << 20;

/// Bytes before a record's body: length and checksum.
const HEADER: usize = 8;

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

/// Appends `record`, with its header, to `buf`.
pub fn encode_into(buf: &mut Vec<u8>, record: &RecordRef<'_>) -> io::Result<()> {
    let start = buf.len();
    buf.extend_from_slice(&[0; HEADER]);
    *buf = postcard::to_extend(record, std::mem::take(buf)).map_err(io::Error::other)?;
    let body = &buf[start + HEADER..];
    let len = u32::try_from(body.len()).map_err(io::Error::other)?;
    let sum = checksum(body);
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buf[start + 4..start + HEADER].copy_from_slice(&sum.to_le_bytes());
    Ok(())
}

/// FNV-1a: enough to tell a torn record from a whole one (nobody forges these files).
fn checksum(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// Decodes records from `bytes` until the end of the data (a zero length) or the first
/// incomplete, corrupt or undecodable record; returns the state and the length of the
/// valid prefix.
fn replay(bytes: &[u8]) -> (Recovered, usize) {
    let mut state = Recovered::default();
    let mut pos = 0;
    while bytes.len() - pos >= HEADER {
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let (len, sum) = (word(pos) as usize, word(pos + 4));
        if len == 0 {
            break;
        }
        let Some(body) = bytes.get(pos + HEADER..pos + HEADER + len) else {
            break;
        };
        if checksum(body) != sum {
            break;
        }
        match postcard::from_bytes::<Record>(body) {
            Ok(r) => state.apply(r),
            Err(_) => break,
        }
        pos += HEADER + len;
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
    /// `window` is how long the writer gathers writes before each `fdatasync` (zero for
    /// `fsync = "always"`, [`BATCH_WINDOW`] for `"batch"`).
    pub fn open(path: &Path, window: Duration) -> io::Result<(LogFile, Recovered)> {
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
        // Cut everything after the last whole record (a torn append, old zeros); the writer
        // preallocates afresh from there.
        file.set_len(valid as u64)?;
        file.sync_all()?;
        let out = Writer::new(file, valid as u64)?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("caplab-raft-log".into())
            .spawn(move || drop(write_loop(rx, out, window)))?;
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

/// The writer thread's view of the file: where the data ends and how far it is allocated.
struct Writer {
    file: File,
    pos: u64,
    /// How far the file is durably filled with zeros; raised by the preallocator thread.
    allocated: Arc<AtomicU64>,
    /// Asks the preallocator to allocate at least up to an offset; each request is answered
    /// on `extended` once done.
    ahead: mpsc::Sender<u64>,
    extended: mpsc::Receiver<io::Result<()>>,
    /// The furthest offset asked for so far.
    asked: u64,
    /// Joined on drop: a closed file has no thread still writing zeros into it (a restarted
    /// node's writer may already be writing records there).
    preallocator: Option<JoinHandle<()>>,
    /// `fdatasync`s done so far.
    syncs: u64,
}

impl Writer {
    /// A writer whose data ends at `pos`, the end of the file; starts its preallocator
    /// thread (which stops when the writer is dropped).
    fn new(file: File, pos: u64) -> io::Result<Writer> {
        let allocated = Arc::new(AtomicU64::new(pos));
        let (ahead, asks) = mpsc::channel();
        let (done, extended) = mpsc::channel();
        let zeros_file = file.try_clone()?;
        let shared = allocated.clone();
        let preallocator = std::thread::Builder::new()
            .name("caplab-raft-prealloc".into())
            .spawn(move || preallocate(zeros_file, shared, asks, done))?;
        Ok(Writer {
            file,
            pos,
            allocated,
            ahead,
            extended,
            asked: pos,
            preallocator: Some(preallocator),
            syncs: 0,
        })
    }

    /// Writes `bytes` at the end of the data. Once the data passes half of the last
    /// preallocated chunk, the next chunk is asked for in the background, so an append
    /// waits for zeros only if it catches up with the preallocator.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let end = self.pos + bytes.len() as u64;
        let want = end + PREALLOCATE / 2;
        if want > self.asked {
            self.asked = want;
            self.ahead.send(want).map_err(|_| closed())?;
        }
        // The new size and blocks must be durable before data in them is acknowledged.
        while self.allocated.load(Ordering::Acquire) < end {
            self.extended.recv().map_err(|_| closed())??;
        }
        self.file.write_all_at(bytes, self.pos)?;
        self.pos = end;
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.syncs += 1;
        self.file.sync_data()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the request channel ends the preallocator after its current chunk.
        drop(std::mem::replace(&mut self.ahead, mpsc::channel().0));
        if let Some(t) = self.preallocator.take() {
            let _ = t.join();
        }
    }
}

/// The preallocator thread: for each request, fills the file with zeros from where it is
/// allocated to at least the requested offset (a whole [`PREALLOCATE`] chunk at a time),
/// makes that durable with `fsync`, publishes the new end in `allocated`, and answers.
/// It writes only beyond `allocated`, where the writer never writes.
fn preallocate(
    file: File,
    allocated: Arc<AtomicU64>,
    asks: mpsc::Receiver<u64>,
    done: mpsc::Sender<io::Result<()>>,
) {
    // Background work: it must not take cores or disk bursts from the nodes' appends.
    crate::sim::lower_this_thread();
    let zeros = vec![0u8; TRICKLE];
    while let Ok(want) = asks.recv() {
        let from = allocated.load(Ordering::Acquire);
        let result = if want <= from {
            Ok(())
        } else {
            let target = want.max(from + PREALLOCATE);
            let mut at = from;
            let mut filled = Ok(());
            while at < target && filled.is_ok() {
                let n = (target - at).min(zeros.len() as u64) as usize;
                filled = write_trickled(&file, &zeros[..n], at);
                at += n as u64;
            }
            filled.and_then(|()| file.sync_all()).map(|()| {
                allocated.store(target, Ordering::Release);
            })
        };
        let failed = result.is_err();
        if done.send(result).is_err() || failed {
            return;
        }
    }
}

/// Bytes a background writer (the preallocator, a snapshot save) hands to the disk at a time.
pub const TRICKLE: usize = 128 << 10;

/// Writes `bytes` at `at` in pieces of at most [`TRICKLE`] bytes, waiting after each until
/// the device has it (Linux `sync_file_range`; no cache flush, no metadata). So a later
/// `fsync` of the file has almost nothing left to write: a background writer's megabytes
/// reach the disk a piece at a time between the appends' `fdatasync`s, instead of in one
/// burst that every `fdatasync` of every node queues behind (zero-filling 4 MiB in one go
/// pushed the appends' p99 at 12,500 writes/s from 8 to 13 ms).
pub fn write_trickled(file: &File, bytes: &[u8], at: u64) -> io::Result<()> {
    let mut off = 0;
    for piece in bytes.chunks(TRICKLE) {
        let pos = at + off as u64;
        file.write_all_at(piece, pos)?;
        written_out(file, pos, piece.len())?;
        off += piece.len();
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn written_out(file: &File, at: u64, len: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let (Ok(at), Ok(len)) = (libc::off64_t::try_from(at), libc::off64_t::try_from(len)) else {
        return Ok(());
    };
    let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
        | libc::SYNC_FILE_RANGE_WRITE
        | libc::SYNC_FILE_RANGE_WAIT_AFTER;
    // SAFETY: the descriptor belongs to `file`, open for the whole call; the call only
    // starts and waits for writeback of that range.
    let r = unsafe { libc::sync_file_range(file.as_raw_fd(), at, len, flags) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Elsewhere the final `fsync` writes everything.
#[cfg(not(target_os = "linux"))]
fn written_out(_file: &File, _at: u64, _len: usize) -> io::Result<()> {
    Ok(())
}

/// Runs until every sender is gone; returns the writer (for tests).
fn write_loop(rx: mpsc::Receiver<Cmd>, mut out: Writer, window: Duration) -> Writer {
    // Once a write fails the file's tail is unknown: every later write fails too.
    let mut failed: Option<(io::ErrorKind, String)> = None;
    let mut batch: Vec<Cmd> = Vec::new();
    let mut bytes: Vec<u8> = Vec::new();
    while let Ok(first) = rx.recv() {
        batch.push(first);
        // The batch window: more writes join this round until it closes.
        let closes = Instant::now() + window;
        while let Some(left) = closes.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        // Group commit: everything queued by now is written together and covered by one
        // fdatasync; no completion runs before that fdatasync returns. Commands without a
        // completion ride along with the next one.
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let mut waiting: Vec<Done> = Vec::new();
        for Cmd::Write { bytes: b, done } in batch.drain(..) {
            bytes.extend_from_slice(&b);
            waiting.extend(done);
        }
        if failed.is_none() {
            let res = out.append(&bytes).and_then(|()| {
                if waiting.is_empty() {
                    Ok(())
                } else {
                    out.sync()
                }
            });
            if let Err(e) = res {
                failed = Some((e.kind(), e.to_string()));
            }
        }
        bytes.clear();
        for done in waiting {
            done(match &failed {
                None => Ok(()),
                Some((kind, msg)) => Err(io::Error::new(*kind, msg.clone())),
            });
        }
    }
    if failed.is_none() {
        let _ = out.sync();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::raft::types::LeaderId;
    use crate::cluster::raft::types::{ProfileWrite, WriteBatch};
    use openraft::vote::RaftLeaderId as _;
    use openraft::EntryPayload;

    fn entry(term: u64, index: u64, value: &str) -> Entry {
        Entry {
            log_id: LogId::new(LeaderId::new(term, 0), index),
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
    fn trickled_writes_land_whole_at_their_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        let f = File::create(&path).unwrap();
        // Several pieces and a partial one, at an offset.
        let bytes: Vec<u8> = (0..(2 * TRICKLE + 777)).map(|i| (i % 251) as u8).collect();
        write_trickled(&f, &bytes, 100).unwrap();
        let back = std::fs::read(&path).unwrap();
        assert_eq!(back.len(), 100 + bytes.len());
        assert!(back[..100].iter().all(|b| *b == 0));
        assert_eq!(&back[100..], &bytes[..]);
    }

    #[test]
    fn replays_entries_votes_truncations_and_purges_in_order() {
        {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("n.raftlog");
            let (f, st) = LogFile::open(&path, Duration::ZERO).unwrap();
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

            let (_f, st) = LogFile::open(&path, Duration::ZERO).unwrap();
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

    /// A writer (without its thread) over a new file at `path`.
    fn writer_at(path: &Path) -> Writer {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap();
        Writer::new(file, 0).unwrap()
    }

    /// The command that appends entry `index` and calls `done` once it is durable.
    fn append(index: u64, done: Done) -> Cmd {
        let mut bytes = Vec::new();
        encode_into(&mut bytes, &RecordRef::Entry(&entry(1, index, "v"))).unwrap();
        Cmd::Write {
            bytes,
            done: Some(done),
        }
    }

    #[test]
    fn a_batch_window_gathers_appends_that_arrive_one_by_one_into_one_fdatasync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.raftlog");
        let out = writer_at(&path);
        // Generous, so that a busy machine cannot stretch the 1 ms gaps past it.
        let window = Duration::from_millis(300);
        let (tx, rx) = mpsc::channel();
        let writer = std::thread::spawn(move || write_loop(rx, out, window));
        let (done_tx, done_rx) = mpsc::channel();
        let first_sent = Instant::now();
        for i in 1..=3u64 {
            let done_tx = done_tx.clone();
            tx.send(append(
                i,
                Box::new(move |r| {
                    let _ = done_tx.send((i, r.is_ok(), Instant::now()));
                }),
            ))
            .unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        let done: Vec<_> = (0..3).map(|_| done_rx.recv().unwrap()).collect();
        drop(tx);
        let out = writer.join().unwrap();
        // One fdatasync for the three, one more at the end of the loop.
        assert_eq!(out.syncs, 2);
        assert_eq!(
            done.iter().map(|&(i, ok, _)| (i, ok)).collect::<Vec<_>>(),
            [(1, true), (2, true), (3, true)]
        );
        // Nothing was acknowledged before the window closed.
        assert!(done.iter().all(|&(_, _, at)| at >= first_sent + window));
    }

    #[test]
    fn appends_queued_together_share_one_fdatasync_and_complete_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.raftlog");
        let out = writer_at(&path);
        // 50 appends, each with a completion, queued before the writer looks at its queue.
        let (tx, rx) = mpsc::channel();
        let done = Arc::new(Mutex::new(Vec::new()));
        for i in 1..=50u64 {
            let done = done.clone();
            tx.send(append(
                i,
                Box::new(move |r| done.lock().push((i, r.is_ok()))),
            ))
            .unwrap();
        }
        drop(tx);
        let out = write_loop(rx, out, Duration::ZERO);
        // One fdatasync for the whole group, one more at the end of the loop.
        assert_eq!(out.syncs, 2);
        let done = done.lock().clone();
        assert_eq!(done, (1..=50).map(|i| (i, true)).collect::<Vec<_>>());
        let (_f, st) = LogFile::open(&path, Duration::ZERO).unwrap();
        assert_eq!(st.entries.len(), 50);
    }

    #[test]
    fn a_torn_tail_is_cut_off_and_later_appends_stay_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.raftlog");
        let (f, _) = LogFile::open(&path, Duration::ZERO).unwrap();
        let e1 = entry(1, 1, "a");
        write_sync(&f, &[RecordRef::Entry(&e1)]);
        f.close();
        drop(f);
        // A crash in the middle of the next append leaves half a record over the zeros.
        let (_, end) = replay(&std::fs::read(&path).unwrap());
        let mut half = Vec::new();
        encode_into(&mut half, &RecordRef::Entry(&entry(1, 2, "b"))).unwrap();
        half.truncate(half.len() / 2);
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .write_all_at(&half, end as u64)
            .unwrap();

        let (f, st) = LogFile::open(&path, Duration::ZERO).unwrap();
        assert_eq!(st.entries.keys().copied().collect::<Vec<_>>(), vec![1]);
        let e2 = entry(1, 2, "c");
        write_sync(&f, &[RecordRef::Entry(&e2)]);
        f.close();
        drop(f);
        let (_f, st) = LogFile::open(&path, Duration::ZERO).unwrap();
        assert_eq!(st.entries.keys().copied().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(st.entries[&2], e2);
    }

    #[test]
    fn the_file_is_preallocated_and_a_corrupt_record_ends_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.raftlog");
        let (f, _) = LogFile::open(&path, Duration::ZERO).unwrap();
        let es: Vec<Entry> = (1..=3).map(|i| entry(1, i, &format!("v{i}"))).collect();
        for e in &es {
            write_sync(&f, &[RecordRef::Entry(e)]);
        }
        f.close();
        drop(f);
        assert!(std::fs::metadata(&path).unwrap().len() >= PREALLOCATE);
        // Flip one byte in the body of the second record.
        let bytes = std::fs::read(&path).unwrap();
        let first = HEADER + u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let at = first + HEADER + 20;
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(&[bytes[at] ^ 0xff], at as u64).unwrap();
        drop(file);
        let (_f, st) = LogFile::open(&path, Duration::ZERO).unwrap();
        assert_eq!(st.entries.keys().copied().collect::<Vec<_>>(), vec![1]);
    }
}
