//! Shared test inputs for the validator's unit tests: the quickstart, a file using every
//! key, and a table runner for "this edit must be rejected with this message".
//!
//! Deliberately left out: tests themselves (each section's file has its own).

use std::time::Duration;

use crate::experiment::{parse, Loaded, Overrides};

pub(super) const QUICKSTART: &str = include_str!("../../../experiments/quickstart.toml");

/// Uses every key of the format at least once.
pub(super) const FULL: &str = r#"
name = "full"
description = "every key"
seed = 7
duration = "30s"
warmup = "1s"
cooldown = "5s"

[topology]
client_delay = { dist = "exponential", mean = "100us", offset = "50us" }
local_delay = { dist = "lognormal", median = "300us", sigma = 0.3, offset = "10us" }
local_loss = 0.001

[topology.dcs.eu]
nodes = 2
[topology.dcs.us]
nodes = 2
[topology.dcs.asia]
nodes = 1

[topology.default_link]
delay = { dist = "pareto", scale = "90ms", shape = 3.0 }
loss = 0.01

[[topology.links]]
from = "eu"
to = "us"
both_ways = false
delay = { dist = "mixture", components = [{ weight = 0.9, delay = { dist = "constant", value = "40ms" } }, { weight = 0.1, delay = { dist = "uniform", low = "60ms", high = "90ms" } }] }

[[topology.links]]
from = "us"
to = "eu"
both_ways = false
loss = 0.002
delay = { dist = "normal", mean = "42ms", stddev = "3ms" }

[[variants]]
name = "raft-a"
kind = "raft"
[[variants]]
name = "gossip-b"
kind = "gossip"

[workload]
users = 50
rate = 300
write_fraction = 0.5
popularity = "zipf"
zipf_exponent = 1.2
picture_bytes = 4096
timeout = "800ms"
home_weights = { eu = 2.0, us = 1.0 }
friend_weights = { asia = 1.0, us = 1.0 }

[workload.readers]
phone = 0.2
friend = 0.8

[workload.travel]
users = 3
to = "asia"
at = "10s"

[[faults]]
at = "1s"
duration = "2s"
kind = "partition"
isolate_dc = "asia"

[[faults]]
at = "2s"
kind = "partition"
groups = [["eu-1", "us-1", "asia-1"], ["eu-2", "us-2"]]

[[faults]]
at = "3s"
duration = "1s"
kind = "partition"
split = "majorities-ring"

[[faults]]
at = "4s"
duration = "1s"
kind = "partition"
one_way = { from = ["eu-1"], to = ["us-1", "us-2"] }

[[faults]]
at = "5s"
kind = "crash"
node = "leader"

[[faults]]
at = "6s"
duration = "1s"
kind = "pause"
node = "random"

[[faults]]
at = "7s"
duration = "10s"
kind = "latency"
from = "eu"
to = "asia"
both_ways = false
delay = { dist = "constant", value = "300ms" }

[[faults]]
at = "8s"
duration = "10s"
kind = "loss"
to = "asia"
rate = 1.0

[[faults]]
at = "9s"
kind = "clock-skew"
node = "eu-2"
offset = "-1.5s"

[[faults]]
at = "10s"
duration = "20s"
kind = "random"
mean_interval = "5s"
mean_duration = "1s"
kinds = ["partition", "clock-skew"]
"#;

pub(super) fn load(source: &str) -> Loaded {
    match parse(source, "test.toml", &Overrides::default()) {
        Ok(loaded) => loaded,
        Err(e) => panic!("should be valid:\n{e}"),
    }
}

pub(super) fn errors(source: &str) -> String {
    match parse(source, "test.toml", &Overrides::default()) {
        Ok(_) => panic!("should be invalid:\n{source}"),
        Err(e) => e.to_string(),
    }
}

pub(super) fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// One rejected edit: in `base`, replace `find` (which must be there, so that the case
/// cannot pass by editing nothing) with `replace`; the errors must contain `want`.
pub(super) struct Rejected {
    pub base: &'static str,
    pub find: &'static str,
    pub replace: &'static str,
    pub want: &'static str,
}

/// Runs a table of [`Rejected`] cases, reporting every failing case at once.
pub(super) fn assert_rejected(cases: &[Rejected]) {
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        assert!(
            c.base.contains(c.find),
            "case {i}: {:?} is not in the base file",
            c.find
        );
        let source = c.base.replacen(c.find, c.replace, 1);
        match parse(&source, "test.toml", &Overrides::default()) {
            Ok(_) => failures.push(format!("case {i} ({:?}): accepted", c.replace)),
            Err(e) => {
                let err = e.to_string();
                if !err.contains(c.want) {
                    failures.push(format!("case {i}: want {:?} in\n{err}", c.want));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
