//! Kept only so that `tests/raft_cluster.rs` and `tests/raft_linearizability.rs` (changed on
//! another branch) still compile with `mod common;`: it re-exports the cluster harness of
//! `tests/support`. New tests use `mod support;` instead; once those two files do, this
//! module goes.
#![allow(dead_code, unused_imports)]

#[path = "../support/mod.rs"]
mod support;

pub use support::cluster::{three_dcs, Harness};
