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
//! - [`cluster`]: the systems under test behind one [`cluster::Cluster`] interface: the
//!   Raft store on openraft ([`cluster::raft`]) and the gossip store ([`cluster::gossip`]).
//! - [`workload`]: the seeded, open-loop schedule of profile reads and writes (a pure
//!   function of the experiment and its seed).
//! - [`faults`]: the fault schedule, planned from the seed and applied by the nemesis.
//! - [`runner`]: one variant end to end: cluster up, schedule replayed by clients, faults
//!   injected, records streamed, cluster down.
//! - [`history`]: the run's monotonic clock and the `history.jsonl` / `events.jsonl` records.
//! - [`check`] and [`analysis`]: from recorded files to verdicts and metrics (latency,
//!   availability, staleness, visibility, sessions, linearizability, lost writes, cost),
//!   written to `summary.json` and CSVs.
//! - [`report`]: charts (PNG and SVG, bundled font) and the reports (`report.html`, one
//!   self-contained file, and `report.md`) of a run or of several runs compared.
//! - [`sweep`]: `[sweep]` sections: one run per value of one or two keys of the file, and
//!   the chosen metrics per point (`sweep.json`, `sweep.csv`, charts in [`report`]).
//! - [`record`]: running an experiment (or a sweep) end to end: the session runtime, each
//!   variant in turn, `run.json` kept up to date as the run goes, signals (Ctrl-C, SIGTERM,
//!   SIGHUP), then analysis and report; callable from tests without the binary.
//! - [`sim`]: the switch between the real engine (loopback TCP, real time) and the sim
//!   engine (the same code on an in-memory network in virtual time).
//! - [`cli`]: the `caplab` command line: parse arguments, call one [`record`] function,
//!   print.
//! - [`seed`] and [`run_dir`]: seed derivation, where a run's files go, and `run.json`
//!   ([`run_dir::manifest`]: one typed manifest, written by [`record`], read by
//!   [`analysis`]).

pub mod analysis;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod experiment;
pub mod faults;
pub mod history;
pub mod net;
pub mod record;
pub mod report;
pub mod run_dir;
pub mod runner;
pub mod seed;
pub mod sim;
pub mod sweep;
pub mod workload;
