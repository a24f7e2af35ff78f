//! The profile workload: who does what, where and when.
//!
//! [`Schedule::generate`] turns an experiment and its seed into the complete, ordered list
//! of operations of a run: users with a home DC, their phone (updates the picture, sometimes
//! views it, may travel), their laptop (views at home) and friends (view from other DCs).
//! Arrivals are a Poisson process at the configured rate, decided entirely up front, so a
//! slow system cannot slow the generator down (no coordinated omission) and every variant
//! receives exactly the same operations at the same offsets.
//!
//! Deliberately left out: issuing the operations. The runner replays the schedule against a
//! cluster and records what happened; that is where one user's writes are kept in order.

mod schedule;
mod users;

pub use schedule::{Schedule, ScheduledOp};
pub use users::{make_users, user_name, User};
