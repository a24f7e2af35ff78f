//! What a run records: the one monotonic clock, and the streamed history and event files.
//!
//! - [`clock::RunClock`]: every timestamp of a run, in microseconds since the run started,
//!   from one `Instant` (never the wall clock, which the clock-skew fault may move).
//! - [`record`]: the JSON shape of `history.jsonl` (one line per client operation) and
//!   `events.jsonl` (faults, leader changes, crashes, and per-replica `apply` events). The
//!   format is documented for users in `docs/history-format.md`.
//! - [`writer::JsonlWriter`]: a buffered writer thread per file, so recording never blocks
//!   the workload and an interrupted run keeps everything recorded up to the interruption.
//!
//! Deliberately left out: reading and checking histories (the analysis stage does that).

pub mod clock;
pub mod record;
pub mod writer;

pub use clock::RunClock;
pub use record::{Device, Event, EventKind, OpKind, OpRecord, Outcome};
pub use writer::{JsonlWriter, RecordSink};
