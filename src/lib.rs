//! caplab measures what strong and eventual consistency mean for the people using a system.
//!
//! It runs the same seeded profile workload ("I changed my picture on my phone: does my
//! laptop see it? does my friend abroad?") against clusters spread over simulated data
//! centres on localhost, records every operation, and checks and charts what each user saw.
//!
//! # Layout
//!
//! The modules follow the data flow of a run:
//!
//! - [`experiment`]: experiment file (TOML) -> validated [`experiment::Experiment`].
//! - [`net`]: the simulated WAN: real TCP on 127.0.0.1 through one link layer that applies
//!   each link's delay distribution, loss, partitions and pauses, and counts traffic.
//! - [`workload`]: the seeded, open-loop schedule of profile reads and writes (a pure
//!   function of the experiment and its seed).
//! - [`history`]: the run's monotonic clock and the streamed `history.jsonl` and
//!   `events.jsonl` records.
//! - [`cli`]: the `caplab` command line (parse, then build validated objects, then run).
//!
//! Deliberately left out so far: the Raft and gossip clusters, fault injection at run time,
//! analysis and charts. `caplab run` says so instead of pretending.

pub mod check;
pub mod cli;
pub mod cluster;
pub mod experiment;
pub mod faults;
pub mod history;
pub mod net;
pub mod run_dir;
pub mod runner;
pub mod seed;
pub mod workload;
