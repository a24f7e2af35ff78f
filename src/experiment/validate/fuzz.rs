//! Fuzz-style test: thousands of seeded random experiment documents, biased towards edge
//! values (0, negative, 1e-300, 1e308, inf, NaN, "1ns", "1000y", reserved names, keys of the
//! wrong kind, `[sweep]` lists and ranges), fed to validation through the sweep planner.
//! Validation must answer every one with `Ok` or an error, never a panic; every accepted
//! experiment (each sweep point) must also generate its schedule and fault plan without
//! panicking (the pure steps a run starts with). Each document picks how hostile it is
//! (from none to half its values), so both outcomes are reached; a failure names the seed
//! and prints the document.
//!
//! Deliberately left out: coverage guidance (a plain seeded generator is reproducible and
//! fast) and running anything with sockets.

use std::fmt::Write as _;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::MAX_OPERATIONS;
use crate::experiment::{Loaded, Overrides};
use crate::sweep::Plan;

const CASES: u64 = 2000;

/// Values a careful user writes; `Gen::edge` is the chance of taking one from the hostile
/// list instead.
const FLOATS: &[&str] = &["0.0", "1.0", "0.5", "2.0", "0.05", "3.0", "1.5", "7"];
const EDGE_FLOATS: &[&str] = &[
    "-1.0",
    "0.999",
    "1e-300",
    "-1e-300",
    "1e308",
    "-1e308",
    "inf",
    "-inf",
    "nan",
    "1e9",
    "1.0000000001",
    "100000.0",
    "1e12",
    "0.1",
    "10.0",
    "11.0",
];
const INTS: &[&str] = &["1", "2", "3", "5", "10"];
const EDGE_INTS: &[&str] = &[
    "0",
    "-1",
    "128",
    "129",
    "100000",
    "9223372036854775807",
    "4294967296",
];
const DURATIONS: &[&str] = &["1ms", "40ms", "200ms", "1s", "2s", "5s"];
const EDGE_DURATIONS: &[&str] = &[
    "0s",
    "1ns",
    "1us",
    "999us",
    "23h",
    "24h",
    "25h",
    "1000y",
    "99999999999999999999y",
    "",
    "soon",
    "-1s",
    "1.5s",
];
const RUN_DURATIONS: &[&str] = &["10s", "20s", "1m"];
const FRACTIONS: &[&str] = &["0.0", "0.01", "0.2", "0.5"];
const RATES: &[&str] = &["10.0", "50.0", "200.0"];
const DCS: &[&str] = &["eu", "us", "asia"];
const EDGE_NAMES: &[&str] = &["charts", "Bad Name", "", "x-", "mars", "eu"];
const NODES: &[&str] = &["eu-1", "eu-2", "us-1", "asia-1", "random", "leader"];
const EDGE_NODES: &[&str] = &["eu-9", "", "eu-1"];

/// A seeded document generator; `edge` is the chance that a value is hostile.
struct Gen {
    rng: ChaCha8Rng,
    edge: f64,
}

impl Gen {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let edge = *[0.0, 0.0, 0.02, 0.1, 0.5].choose(&mut rng).unwrap_or(&0.0);
        Gen { rng, edge }
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from.choose(&mut self.rng).copied().unwrap_or("0")
    }
    fn either<'a>(&mut self, sane: &[&'a str], edge: &[&'a str]) -> &'a str {
        if self.rng.random_bool(self.edge) {
            self.pick(edge)
        } else {
            self.pick(sane)
        }
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }
    fn float(&mut self) -> String {
        self.either(FLOATS, EDGE_FLOATS).to_owned()
    }
    fn fraction(&mut self) -> String {
        self.either(FRACTIONS, EDGE_FLOATS).to_owned()
    }
    fn int(&mut self) -> String {
        self.either(INTS, EDGE_INTS).to_owned()
    }
    fn dur(&mut self) -> String {
        format!("{:?}", self.either(DURATIONS, EDGE_DURATIONS))
    }
    fn name(&mut self) -> String {
        format!("{:?}", self.either(DCS, EDGE_NAMES))
    }
    fn node(&mut self) -> String {
        format!("{:?}", self.either(NODES, EDGE_NODES))
    }

    /// An inline delay distribution, nested at most `depth` mixtures deep.
    fn delay(&mut self, depth: u32) -> String {
        match self.rng.random_range(0..if depth == 0 { 6 } else { 7 }) {
            0 => format!("{{ dist = \"constant\", value = {} }}", self.dur()),
            1 => format!(
                "{{ dist = \"uniform\", low = {}, high = {} }}",
                self.dur(),
                self.dur()
            ),
            2 => format!(
                "{{ dist = \"normal\", mean = {}, stddev = {} }}",
                self.dur(),
                self.dur()
            ),
            3 => format!(
                "{{ dist = \"exponential\", mean = {}, offset = {} }}",
                self.dur(),
                self.dur()
            ),
            4 => format!(
                "{{ dist = \"pareto\", scale = {}, shape = {} }}",
                self.dur(),
                self.float()
            ),
            5 => format!(
                "{{ dist = \"lognormal\", median = {}, sigma = {} }}",
                self.dur(),
                self.float()
            ),
            _ => {
                let n = self
                    .rng
                    .random_range(if self.edge > 0.0 { 0 } else { 1 }..4);
                // Equal huge weights are what overflows a sum.
                let shared = self.chance(self.edge).then(|| self.float());
                let parts: Vec<String> = (0..n)
                    .map(|_| {
                        let weight = shared.clone().unwrap_or_else(|| self.float());
                        format!("{{ weight = {weight}, delay = {} }}", self.delay(depth - 1))
                    })
                    .collect();
                format!(
                    "{{ dist = \"mixture\", components = [{}] }}",
                    parts.join(", ")
                )
            }
        }
    }

    fn document(&mut self) -> String {
        let mut d = String::new();
        let name = if self.chance(self.edge) {
            self.name()
        } else {
            "\"fuzz\"".to_owned()
        };
        let _ = writeln!(d, "name = {name}");
        if self.chance(1.0 - self.edge / 2.0) {
            let duration = self.either(RUN_DURATIONS, EDGE_DURATIONS);
            let _ = writeln!(d, "duration = {duration:?}");
        }
        for key in ["warmup", "cooldown"] {
            if self.chance(0.3) {
                let _ = writeln!(d, "{key} = {}", self.dur());
            }
        }
        if self.chance(0.3) {
            let _ = writeln!(d, "seed = {}", self.int());
        }
        d.push_str("\n[topology]\n");
        for key in ["client_delay", "local_delay"] {
            if self.chance(0.3) {
                let _ = writeln!(d, "{key} = {}", self.delay(2));
            }
        }
        if self.chance(0.2) {
            let _ = writeln!(d, "local_loss = {}", self.fraction());
        }
        for dc in ["eu", "us", "asia"] {
            if dc != "asia" || self.chance(0.8) {
                let _ = writeln!(d, "[topology.dcs.{dc}]\nnodes = {}", self.pick(&["1", "2"]));
            }
        }
        if self.chance(self.edge / 4.0) {
            let _ = writeln!(d, "[topology.dcs.big]\nnodes = {}", self.int());
        }
        if self.chance(if self.edge > 0.0 { 0.5 } else { 1.0 }) {
            let _ = writeln!(
                d,
                "[topology.default_link]\ndelay = {}\nloss = {}",
                self.delay(2),
                self.fraction()
            );
        }
        let links = if self.edge > 0.0 { 3 } else { 1 };
        for _ in 0..self.rng.random_range(0..links) {
            let _ = writeln!(
                d,
                "[[topology.links]]\nfrom = {}\nto = {}\ndelay = {}",
                self.name(),
                self.name(),
                self.delay(2)
            );
        }
        for _ in 0..self
            .rng
            .random_range(if self.edge > 0.0 { 0 } else { 1 }..3)
        {
            let kind = self.pick(&["raft", "gossip"]);
            let name = if self.chance(self.edge) {
                self.name()
            } else {
                format!("\"{kind}-{}\"", self.rng.random_range(0..1000))
            };
            let _ = writeln!(d, "[[variants]]\nname = {name}\nkind = \"{kind}\"");
            let raft: &[(&str, u8)] = &[
                ("heartbeat_interval", b'd'),
                ("election_timeout_min", b'd'),
                ("election_timeout_max", b'd'),
                ("rpc_timeout", b'd'),
                ("max_payload_entries", b'i'),
                ("snapshot_after", b'i'),
            ];
            let gossip: &[(&str, u8)] = &[
                ("fanout", b'i'),
                ("rumor_hops", b'i'),
                ("gossip_interval", b'd'),
                ("write_acks", b'i'),
                ("replicas", b'i'),
            ];
            // Keys of the other kind only in hostile documents.
            let (own, other) = if kind == "raft" {
                (raft, gossip)
            } else {
                (gossip, raft)
            };
            let foreign = self.edge / 4.0;
            let keys = own.iter().map(|k| (k, 0.15));
            let keys: Vec<_> = keys.chain(other.iter().map(|k| (k, foreign))).collect();
            for ((key, ty), p) in keys {
                if self.chance(p) {
                    let value = if *ty == b'd' { self.dur() } else { self.int() };
                    let _ = writeln!(d, "{key} = {value}");
                }
            }
            // Keys that only apply with another key: both, or (hostile) one alone.
            if kind == "gossip" && self.chance(0.1) {
                let _ = writeln!(d, "session = \"tokens\"\nsession_wait = {}", self.dur());
            }
            if kind == "gossip" && self.chance(0.1) {
                let (n, r, w) = (self.int(), self.int(), self.int());
                let _ = writeln!(
                    d,
                    "replicas = {n}\nread_quorum = {r}\nwrite_quorum = {w}\nquorum_timeout = {}",
                    self.dur()
                );
            }
            for key in ["read_quorum", "session_wait"] {
                if self.chance(self.edge / 4.0) {
                    let _ = writeln!(d, "{key} = {}", self.int());
                }
            }
        }
        let _ = writeln!(
            d,
            "[workload]\nusers = {}\nrate = {}\nwrite_fraction = {}",
            self.int(),
            self.either(RATES, EDGE_FLOATS),
            self.fraction()
        );
        if self.chance(0.3) {
            let _ = writeln!(d, "popularity = \"zipf\"\nzipf_exponent = {}", self.float());
        }
        if self.chance(0.2) {
            let _ = writeln!(d, "timeout = {}", self.dur());
        }
        for key in ["home_weights", "friend_weights"] {
            if self.chance(0.3) {
                let _ = writeln!(
                    d,
                    "{key} = {{ eu = {}, us = {} }}",
                    self.float(),
                    self.float()
                );
            }
        }
        if self.chance(0.3) {
            let shared = self.chance(self.edge).then(|| self.float());
            let mut weight = || shared.clone().unwrap_or_else(|| self.float());
            let (phone, laptop, friend) = (weight(), weight(), weight());
            let _ = writeln!(
                d,
                "[workload.readers]\nphone = {phone}\nlaptop = {laptop}\nfriend = {friend}"
            );
        }
        if self.chance(0.1) {
            let _ = writeln!(
                d,
                "[workload.travel]\nusers = {}\nto = {}\nat = {}",
                self.int(),
                self.name(),
                self.dur()
            );
        }
        for _ in 0..self.rng.random_range(0..4) {
            self.fault(&mut d);
        }
        if self.chance(0.3) {
            self.sweep(&mut d);
        }
        d
    }

    /// A `[sweep]` over one key, by a list or a range of sane or hostile values.
    fn sweep(&mut self, d: &mut String) {
        // The planner expands values only once the base file is valid, so the sweep is
        // hostile on its own account, whatever the rest of the document is.
        let edge = std::mem::replace(&mut self.edge, 0.5);
        let key = self.pick(&[
            "workload.rate",
            "workload.users",
            "duration",
            "workload.write_fraction",
            "description",
            "topology.dcs.eu.nodes",
        ]);
        let metric = self.either(&["availability", "stale_share"], &["p99_latency", ""]);
        let _ = writeln!(
            d,
            "[sweep]\nmetrics = [\"{metric}\"]\n[[sweep.parameters]]\nkey = \"{key}\""
        );
        let (a, b, step) = match self.rng.random_range(0..3) {
            // Hostile integer ranges reach the ends of i64, where widths overflow.
            0 if self.chance(0.5) => {
                let (min, max) = ("-9223372036854775808", "9223372036854775807");
                let ends = [(min, max), ("-1", max), (min, "1"), (min, "0")];
                let (a, b) = *ends.choose(&mut self.rng).unwrap_or(&ends[0]);
                let step = self.pick(&["1", max]);
                (a.to_owned(), b.to_owned(), step.to_owned())
            }
            0 => (self.int(), self.int(), self.int()),
            1 => (self.float(), self.float(), self.float()),
            _ => (self.dur(), self.dur(), self.dur()),
        };
        if self.chance(0.5) {
            let _ = writeln!(d, "values = [{a}, {b}]");
        } else {
            let _ = writeln!(d, "range = {{ from = {a}, to = {b}, step = {step} }}");
        }
        self.edge = edge;
    }

    fn fault(&mut self, d: &mut String) {
        let kind = self.pick(&[
            "partition",
            "crash",
            "pause",
            "clock-skew",
            "latency",
            "loss",
            "random",
        ]);
        let _ = writeln!(d, "[[faults]]\nat = {}\nkind = \"{kind}\"", self.dur());
        if self.chance(0.7) {
            let duration = self.either(RUN_DURATIONS, EDGE_DURATIONS);
            let _ = writeln!(d, "duration = {duration:?}");
        }
        match kind {
            "partition" => match self.rng.random_range(0..4) {
                0 => {
                    let _ = writeln!(d, "isolate_dc = {}", self.name());
                }
                1 => {
                    let _ = writeln!(
                        d,
                        "groups = [[{}], [{}, {}]]",
                        self.node(),
                        self.node(),
                        self.node()
                    );
                }
                2 => {
                    let split = self.pick(&["halves", "majorities-ring"]);
                    let _ = writeln!(d, "split = \"{split}\"");
                }
                _ => {
                    let _ = writeln!(
                        d,
                        "one_way = {{ from = [{}], to = [{}] }}",
                        self.node(),
                        self.node()
                    );
                }
            },
            "crash" | "pause" => {
                let _ = writeln!(d, "node = {}", self.node());
            }
            "clock-skew" => {
                let offset = self.pick(&["+1s", "-500ms", "0s", "+1000y", "-25h", "x"]);
                let _ = writeln!(d, "node = {}\noffset = \"{offset}\"", self.node());
            }
            "latency" => {
                let _ = writeln!(
                    d,
                    "from = {}\nto = {}\ndelay = {}",
                    self.name(),
                    self.name(),
                    self.delay(1)
                );
            }
            "loss" => {
                let rate = self.either(&["0.3", "1.0"], EDGE_FLOATS);
                let _ = writeln!(d, "to = {}\nrate = {rate}", self.name());
            }
            _ => {
                let _ = writeln!(
                    d,
                    "mean_interval = {}\nmean_duration = {}\nkinds = [\"partition\", \"crash\"]",
                    self.dur(),
                    self.dur()
                );
            }
        }
    }
}

#[test]
fn random_documents_never_panic_validation() {
    let mut accepted = 0;
    let mut rejected = 0;
    for seed in 0..CASES {
        let doc = Gen::new(seed).document();
        let result = std::panic::catch_unwind(|| {
            // Through the sweep planner, which validates the file and then every point.
            let plan = crate::sweep::parse(&doc, "fuzz.toml", &Overrides::default());
            let points: Vec<&Loaded> = match &plan {
                Ok(Plan::Single(loaded)) => vec![loaded],
                Ok(Plan::Sweep(sweep)) => sweep.points.iter().map(|p| &p.loaded).collect(),
                Err(_) => Vec::new(),
            };
            for loaded in points {
                let exp = &loaded.experiment;
                // Validation bounds rate x duration; keep the test fast all the same.
                let ops = exp.workload.rate * exp.duration.as_secs_f64();
                assert!(ops <= MAX_OPERATIONS, "{ops} operations accepted");
                if ops <= 20_000.0 {
                    let _ = crate::workload::Schedule::generate(exp);
                }
                let _ = crate::faults::plan::plan(exp);
                let _ = exp.topology.max_round_trip();
                let _ = loaded.to_toml();
            }
            plan.is_ok()
        });
        match result {
            Ok(true) => accepted += 1,
            Ok(false) => rejected += 1,
            Err(_) => panic!("seed {seed} panicked on:\n{doc}"),
        }
    }
    // The generator must reach both outcomes, or it tests nothing.
    assert!(accepted >= 50, "only {accepted} of {CASES} documents valid");
    assert!(
        rejected >= 50,
        "only {rejected} of {CASES} documents invalid"
    );
}
