//! Streams records to a JSON Lines file from a background thread.
//!
//! [`JsonlWriter::create`] opens the file and starts a thread that, every 5 ms, serialises
//! the records queued meanwhile and writes them through a `BufWriter`, flushing at least
//! every 100 ms. A [`RecordSink`] is the cheap, cloneable
//! sending side handed to tasks. [`JsonlWriter::finish`] waits until every record sent so far
//! is on disk. If the process is interrupted, at most the last 100 ms are in the buffer, and
//! the normal Ctrl-C path calls `finish` before exiting.
//!
//! Deliberately left out: fsync. The history is a measurement artefact, not a database; the
//! OS page cache survives the process.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

const FLUSH_EVERY: Duration = Duration::from_millis(100);
const POLL_EVERY: Duration = Duration::from_millis(5);

/// A write to a record file failed.
#[derive(Debug, thiserror::Error)]
#[error("writing {path}: {source}")]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The sending side: cheap to clone, never blocks. Records sent after the writer finished
/// are dropped.
pub struct RecordSink<T> {
    tx: mpsc::Sender<T>,
}

impl<T> Clone for RecordSink<T> {
    fn clone(&self) -> Self {
        RecordSink {
            tx: self.tx.clone(),
        }
    }
}

impl<T> RecordSink<T> {
    pub fn record(&self, record: T) {
        let _ = self.tx.send(record);
    }
}

/// Owns the writer thread of one JSON Lines file.
pub struct JsonlWriter<T> {
    sink: Option<RecordSink<T>>,
    handle: Option<JoinHandle<Result<u64, std::io::Error>>>,
    path: PathBuf,
    _t: PhantomData<T>,
}

impl<T: Serialize + Send + 'static> JsonlWriter<T> {
    /// Creates (truncates) `path` and starts the writer thread.
    pub fn create(path: &Path) -> Result<Self, WriteError> {
        let err = |source| WriteError {
            path: path.to_path_buf(),
            source,
        };
        let file = File::create(path).map_err(err)?;
        let (tx, rx) = mpsc::channel::<T>();
        let handle = std::thread::Builder::new()
            .name("caplab-record-writer".into())
            .spawn(move || write_all(rx, BufWriter::with_capacity(1 << 16, file)))
            .map_err(err)?;
        Ok(JsonlWriter {
            sink: Some(RecordSink { tx }),
            handle: Some(handle),
            path: path.to_path_buf(),
            _t: PhantomData,
        })
    }

    /// A sending handle for tasks.
    pub fn sink(&self) -> RecordSink<T> {
        match &self.sink {
            Some(s) => s.clone(),
            // Unreachable while `self` exists: `finish` consumes it. A closed channel keeps the
            // signature infallible anyway.
            None => RecordSink {
                tx: mpsc::channel().0,
            },
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits until every record sent so far (by any sink) is written and flushed, and
    /// returns the number of records written. Sinks still alive elsewhere keep the file open
    /// until they are dropped, so drop them first.
    pub fn finish(mut self) -> Result<u64, WriteError> {
        self.join()
    }

    fn join(&mut self) -> Result<u64, WriteError> {
        self.sink = None;
        let Some(handle) = self.handle.take() else {
            return Ok(0);
        };
        match handle.join() {
            Ok(r) => r.map_err(|source| WriteError {
                path: self.path.clone(),
                source,
            }),
            Err(_) => Err(WriteError {
                path: self.path.clone(),
                source: std::io::Error::other("the writer thread panicked"),
            }),
        }
    }
}

impl<T> Drop for JsonlWriter<T> {
    fn drop(&mut self) {
        // Make sure what was recorded reaches the file even on an early return.
        self.sink = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn write_all<T: Serialize, W: Write>(
    rx: mpsc::Receiver<T>,
    mut out: W,
) -> Result<u64, std::io::Error> {
    let mut written = 0u64;
    let mut last_flush = Instant::now();
    let mut line = Vec::with_capacity(512);
    loop {
        // Poll rather than block: a receiver blocked in `recv` must be woken by every send,
        // which costs the recording tasks a futex wake per record (tens of thousands per
        // second under load). Polling every few milliseconds costs a few hundred wake-ups.
        let mut disconnected = false;
        loop {
            match rx.try_recv() {
                Ok(record) => {
                    line.clear();
                    serde_json::to_writer(&mut line, &record).map_err(std::io::Error::other)?;
                    line.push(b'\n');
                    out.write_all(&line)?;
                    written += 1;
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    disconnected = true;
                    break;
                }
            }
        }
        if disconnected {
            break;
        }
        if last_flush.elapsed() >= FLUSH_EVERY {
            out.flush()?;
            last_flush = Instant::now();
        }
        std::thread::sleep(POLL_EVERY);
    }
    out.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Event, EventKind};

    #[test]
    fn writes_every_record_from_every_sink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let w = JsonlWriter::<Event>::create(&path).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|n| {
                let sink = w.sink();
                std::thread::spawn(move || {
                    for i in 0..250 {
                        sink.record(Event {
                            t_us: i,
                            kind: EventKind::Crash {
                                node: format!("n{n}"),
                            },
                        });
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(w.finish().unwrap(), 1000);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1000);
        for l in text.lines() {
            serde_json::from_str::<Event>(l).unwrap();
        }
    }

    #[test]
    fn records_reach_disk_while_the_run_is_still_going() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let w = JsonlWriter::<Event>::create(&path).unwrap();
        w.sink().record(Event {
            t_us: 1,
            kind: EventKind::Crash { node: "a".into() },
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read_to_string(&path).unwrap().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        drop(w);
    }
}
