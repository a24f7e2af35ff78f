//! Checks of recorded histories: pure functions from `history.jsonl` records to verdicts.
//!
//! - [`linearizability`]: is each key's history that of one atomic register? Per-key
//!   verdicts, an overall verdict, and small counterexamples in plain words.
//!
//! Deliberately left out so far: weaker models (read-your-writes, monotonic reads,
//! convergence) and reading files: callers hand in records they have already parsed.

pub mod linearizability;
