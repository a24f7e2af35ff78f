//! Checks of recorded histories: pure functions from `history.jsonl` records to verdicts.
//!
//! - [`linearizability`]: is each key's history that of one atomic register? Per-key
//!   verdicts, an overall verdict, and small counterexamples in plain words.
//!
//! Weaker models are checked elsewhere, next to the measurements they need:
//! read-your-writes and monotonic reads in `crate::analysis::session`, staleness in
//! `crate::analysis::staleness`, convergence after faults in `crate::analysis::availability`.
//!
//! Deliberately left out: reading files (callers hand in records they have already parsed)
//! and other data types than a register (compare-and-set, lists).

pub mod linearizability;
