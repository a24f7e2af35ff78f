//! Where a node keeps its latest snapshot so that it survives a crash.
//!
//! The state machine itself is volatile: a restarted node rebuilds it from the latest
//! snapshot plus the committed part of its log. So the snapshot belongs to the durable part
//! of a node, next to its log: a [`SnapshotSlot`] is either kept in memory across simulated
//! crashes (`memory` storage) or a file replaced atomically (write a temporary file, fsync,
//! rename) for `disk` storage.
//!
//! A slot only ever moves forward: saving a snapshot older than the one it holds is ignored,
//! so a late save from a crashed incarnation cannot replace a newer snapshot.
//!
//! Deliberately left out: keeping older snapshots, and streaming (a snapshot is one buffer,
//! fine for profile maps of a few thousand pictures).

use std::fs::{self, File};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::log_file::write_trickled;
use super::types::SnapshotMeta;

/// A snapshot could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("reading the snapshot: {0}")]
    Io(#[from] io::Error),
    #[error("decoding the snapshot: {0}")]
    Decode(#[from] postcard::Error),
}

/// A snapshot: its metadata and the encoded state machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSnapshot {
    pub meta: SnapshotMeta,
    pub data: Vec<u8>,
}

/// The durable home of a node's latest snapshot. Cheap to clone.
#[derive(Debug, Clone)]
pub enum SnapshotSlot {
    Memory(Arc<Mutex<Option<Arc<StoredSnapshot>>>>),
    File(PathBuf),
}

impl SnapshotSlot {
    pub fn memory() -> Self {
        SnapshotSlot::Memory(Arc::new(Mutex::new(None)))
    }

    pub fn file(path: PathBuf) -> Self {
        SnapshotSlot::File(path)
    }

    /// The snapshot last saved, if any.
    pub fn load(&self) -> io::Result<Option<Arc<StoredSnapshot>>> {
        match self {
            SnapshotSlot::Memory(m) => Ok(m.lock().clone()),
            SnapshotSlot::File(path) => match fs::read(path) {
                Ok(bytes) => postcard::from_bytes::<StoredSnapshot>(&bytes)
                    .map(|s| Some(Arc::new(s)))
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// The metadata of the snapshot in the file at `path`, if there is a readable one. The
    /// metadata comes first in the file, so this reads only its beginning (the whole file
    /// if the metadata is longer than that).
    fn held_meta(path: &std::path::Path) -> io::Result<Option<SnapshotMeta>> {
        use std::io::Read;
        let mut head = Vec::new();
        match File::open(path) {
            Ok(f) => f.take(64 << 10).read_to_end(&mut head)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if let Ok((meta, _)) = postcard::take_from_bytes::<SnapshotMeta>(&head) {
            return Ok(Some(meta));
        }
        let whole = fs::read(path)?;
        Ok(postcard::take_from_bytes::<SnapshotMeta>(&whole)
            .ok()
            .map(|(meta, _)| meta))
    }

    /// Makes `snapshot` the durable latest one, unless the slot already holds a newer one.
    /// Blocks on file IO; call it from a blocking context.
    pub fn save(&self, snapshot: Arc<StoredSnapshot>) -> io::Result<()> {
        match self {
            SnapshotSlot::Memory(m) => {
                let mut held = m.lock();
                if held
                    .as_ref()
                    .is_none_or(|h| h.meta.last_log_id <= snapshot.meta.last_log_id)
                {
                    *held = Some(snapshot);
                }
                Ok(())
            }
            SnapshotSlot::File(path) => {
                if let Some(held) = Self::held_meta(path)? {
                    if held.last_log_id > snapshot.meta.last_log_id {
                        return Ok(());
                    }
                }
                let bytes = postcard::to_stdvec(&*snapshot).map_err(io::Error::other)?;
                let tmp = path.with_extension("snapshot-tmp");
                let f = File::create(&tmp)?;
                // Trickled: a megabyte in one burst would queue every node's appends behind
                // it on the one disk they share.
                write_trickled(&f, &bytes, 0)?;
                f.sync_all()?;
                fs::rename(&tmp, path)?;
                if let Some(dir) = path.parent() {
                    // Make the rename itself durable; not every platform allows opening a
                    // directory, and the rename is atomic either way.
                    if let Ok(d) = File::open(dir) {
                        let _ = d.sync_all();
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::raft::types::LeaderId;
    use crate::cluster::raft::types::LogId;
    use openraft::vote::RaftLeaderId as _;

    fn snap(index: u64) -> Arc<StoredSnapshot> {
        Arc::new(StoredSnapshot {
            meta: SnapshotMeta {
                last_log_id: Some(LogId::new(LeaderId::new(1, 0), index)),
                last_membership: Default::default(),
            },
            data: vec![index as u8; 10],
        })
    }

    #[test]
    fn slots_keep_the_newest_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        for slot in [
            SnapshotSlot::memory(),
            SnapshotSlot::file(dir.path().join("n.snapshot")),
        ] {
            assert!(slot.load().unwrap().is_none());
            slot.save(snap(5)).unwrap();
            slot.save(snap(3)).unwrap();
            assert_eq!(slot.load().unwrap().unwrap().data[0], 5);
            slot.save(snap(9)).unwrap();
            let s = slot.load().unwrap().unwrap();
            assert_eq!(
                (s.meta.last_log_id.map(|l| l.index), s.data[0]),
                (Some(9), 9)
            );
        }
    }
}
