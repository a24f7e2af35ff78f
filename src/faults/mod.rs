//! Faults ("nemesis"): the experiment's fault schedule, applied identically to every variant.
//!
//! [`plan::plan`] turns the `[[faults]]` of an experiment into concrete faults: `random`
//! generators are expanded and `random` node targets resolved, both from the run's seed, so
//! every variant receives the same faults at the same offsets. [`nemesis::Nemesis::run`] then applies
//! them at run time through the network (cuts, delay, loss) and the cluster's node controls
//! (crash/restart, pause/resume, clock offsets), and records each fault's start and end with
//! exactly what it did in `events.jsonl`.
//!
//! Deliberately left out: faults inside a node (disk corruption, slow disks) and membership
//! changes.

pub mod nemesis;
pub mod plan;

pub use nemesis::{LeaderMemory, Nemesis};
pub use plan::{plan, PlannedFault};
