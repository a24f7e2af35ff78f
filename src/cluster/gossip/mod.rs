//! The eventually consistent profile store: LWW registers replicated by gossip.
//!
//! `core` is the protocol as a pure state machine; the driver that runs it on the simulated
//! network is added beside it.

pub mod core;
