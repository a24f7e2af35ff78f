//! Parameter sweeps: an experiment file with a `[sweep]` section runs once per value (or
//! pair of values) of one or two of its own keys, and the chosen metrics are charted
//! against the swept parameter.
//!
//! ```toml
//! [sweep]
//! metrics = ["stable_p99_ms", "friend_stale_share", "messages_per_op"]
//! [[sweep.parameters]]
//! key = "variants.gossip.gossip_interval"
//! values = ["50ms", "100ms", "200ms", "400ms", "800ms"]
//! ```
//!
//! # Layout
//!
//! - [`path`]: a dotted key names one value of the file and is set by editing the TOML
//!   document, so each point is validated like a hand-written file;
//! - [`values`]: `values` lists and `range`s, and where a value sits on the x axis;
//! - [`metric`]: the catalogue of metric names, units and how each is read from an
//!   analysed variant;
//! - [`plan`]: the file -> a validated [`SweepPlan`] with one experiment per point;
//! - [`record`]: `sweep.json` and `sweep.csv`;
//! - [`stats`]: a metric over a point's repetitions (`seeds = N`): mean and 95% interval;
//! - [`theory`]: gossip's predicted time to reach every node, for charts over node counts.
//!
//! Running the points is the CLI's job (each point is an ordinary run directory inside the
//! sweep directory); the sweep charts and the sweep part of the report are in
//! `report::sweep`. The format is documented in `docs/experiment-format.md`.
//!
//! Every point can run several times with derived seeds (`seeds = N`, or `caplab run
//! --seeds N`, which also repeats a plain file as a sweep of one point without parameters);
//! charts and tables then show the mean with its 95% confidence interval.
//!
//! Deliberately left out: more than two parameters, adaptive sampling (a fixed number of
//! repetitions, not "until the interval is narrow"), and running points in parallel (they
//! share the machine and would disturb each other's latencies).

pub mod metric;
pub mod path;
pub mod plan;
pub mod record;
pub mod stats;
pub mod theory;
pub mod values;

pub use metric::Metric;
pub use plan::{
    load, load_repeated, parse, parse_repeated, Parameter, Plan, Point, Repetition, SweepPlan,
};
pub use record::SweepRecord;
