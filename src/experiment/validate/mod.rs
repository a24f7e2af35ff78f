//! From raw TOML to a validated [`Experiment`]: defaults, ranges and cross-references.
//!
//! Validation never stops at the first problem: every section is checked (references to data
//! centres and nodes are resolved from `topology.dcs` even when other parts of the topology
//! are broken) and every issue is reported with its key path, then located in the source.
//! The rules are documented key by key in `docs/experiment-format.md`; decisions worth
//! knowing:
//!
//! - Each ordered DC pair is shaped by exactly one `[[topology.links]]` entry. An entry with
//!   `both_ways = true` (the default) claims both directions, so giving the reverse direction
//!   its own entry is an error unless both entries say `both_ways = false`.
//! - Partition `groups` must list every node exactly once (no implicit extra group).
//! - A missing seed becomes a random 63-bit one (TOML integers are signed 64-bit, and the
//!   seed must survive being saved in the run's `experiment.toml`).
//! - Variant parameters of the other kind (e.g. `fanout` on a Raft variant) are errors.
//! - Validation is total: every number is finite and bounded (durations at most 24 h, the
//!   run too; `rate x duration` at most 2,000,000 operations; weights at most 1e9; delay
//!   parameters such that every sample is finite; fault counts), so that the steps that
//!   follow (schedule, fault plan, timers) cannot overflow, panic or run out of memory on
//!   a value accepted here. The limits are
//!   constants in `defaults` and listed in `docs/experiment-format.md` ("Limits"); a seeded
//!   fuzz test feeds thousands of hostile documents through validation.
//!
//! Deliberately left out: any check that needs a running cluster.
//!
//! # Layout
//!
//! One [`Validator`] collects issues; its methods are split by section of the file, each
//! file an `impl Validator` block:
//!
//! - `defaults`: default values, limits, and the scalar rules every section uses (names,
//!   durations, loss probabilities, weights);
//! - `topology`: data centres, links and delay distributions;
//! - `variants`: Raft and gossip parameters, partial quorums;
//! - `workload`: users, rates, popularity, DC weights, readers, travel;
//! - `faults`: scheduled and random faults.
//!
//! `[sweep]` is checked by `crate::sweep`, which validates every point through here.

mod defaults;
mod faults;
mod topology;
mod variants;
mod workload;

use super::error::{Issue, KeyPath, Locator};
use super::model::*;
use super::raw::*;
use super::{ExperimentError, Loaded, Overrides};

pub(crate) use defaults::*;

pub(crate) fn parse_and_validate(
    source: &str,
    origin: &str,
    overrides: &Overrides,
) -> Result<Loaded, ExperimentError> {
    let mut raw: RawExperiment =
        toml::from_str(source).map_err(|e| ExperimentError::from_toml(origin, source, &e))?;

    let mut overridden = Vec::new();
    if let Some(seed) = overrides.seed {
        raw.seed = Some(seed);
        overridden.push(KeyPath::root().key("seed"));
    }
    if let Some(duration) = overrides.duration {
        raw.duration = Some(DurationText(
            humantime::format_duration(duration).to_string(),
        ));
        overridden.push(KeyPath::root().key("duration"));
    }
    if let Some(engine) = overrides.engine {
        raw.engine = Some(match engine {
            Engine::Real => RawEngine::Real,
            Engine::Sim => RawEngine::Sim,
        });
        overridden.push(KeyPath::root().key("engine"));
    }
    if raw.seed.is_none() {
        raw.seed = Some(rand::random::<u64>() >> 1);
    }

    let mut v = Validator::default();
    let experiment = v.experiment(&raw);
    match experiment {
        Some(experiment) if v.issues.is_empty() => Ok(Loaded { raw, experiment }),
        _ => {
            let locator = Locator::new(source);
            let mut issues: Vec<Issue> = v
                .issues
                .into_iter()
                .map(|(path, message)| {
                    if overridden.contains(&path) {
                        let message = format!("{message} (set on the command line)");
                        Issue {
                            key: path.to_string(),
                            message,
                            line_col: None,
                        }
                    } else {
                        let line_col = locator.locate(&path);
                        Issue {
                            key: path.to_string(),
                            message,
                            line_col,
                        }
                    }
                })
                .collect();
            if issues.is_empty() {
                // Every rule that rejects something records why; this is a safety net.
                issues.push(Issue {
                    key: "(file)".to_owned(),
                    message: "invalid experiment".to_owned(),
                    line_col: None,
                });
            }
            Err(ExperimentError::Invalid {
                origin: origin.to_owned(),
                issues,
            })
        }
    }
}

/// Data centre and node names, derived from `topology.dcs` alone so that references in the
/// workload and the faults can be checked even when the rest of the topology is broken.
pub(super) struct Names {
    pub(super) dcs: Vec<String>,
    /// `None` when the node count is over the cap (nodes are then not enumerated).
    pub(super) nodes: Option<Vec<String>>,
}

impl Names {
    pub(super) fn new(raw: &RawTopology) -> Self {
        let dcs: Vec<String> = raw.dcs.keys().cloned().collect();
        let total = raw
            .dcs
            .values()
            .fold(0usize, |acc, dc| acc.saturating_add(dc.nodes));
        let nodes = (total <= MAX_SIM_NODES).then(|| {
            raw.dcs
                .iter()
                .flat_map(|(name, dc)| (1..=dc.nodes).map(move |n| format!("{name}-{n}")))
                .collect()
        });
        Names { dcs, nodes }
    }

    pub(super) fn dc_list(&self) -> String {
        if self.dcs.is_empty() {
            "there are none".to_owned()
        } else {
            format!("DCs are {}", self.dcs.join(", "))
        }
    }

    pub(super) fn node_list(&self) -> String {
        let Some(nodes) = &self.nodes else {
            return "too many nodes".to_owned();
        };
        const SHOWN: usize = 12;
        if nodes.len() <= SHOWN {
            format!("nodes are {}", nodes.join(", "))
        } else {
            format!(
                "nodes are {}, ... ({} in all)",
                nodes[..SHOWN].join(", "),
                nodes.len()
            )
        }
    }
}

/// Collects issues while building the typed experiment. Every method that returns `None`
/// has recorded at least one issue.

#[derive(Default)]
pub(super) struct Validator {
    issues: Vec<(KeyPath, String)>,
}

impl Validator {
    pub(super) fn issue(&mut self, path: &KeyPath, message: impl Into<String>) {
        self.issues.push((path.clone(), message.into()));
    }

    fn experiment(&mut self, raw: &RawExperiment) -> Option<Experiment> {
        let root = KeyPath::root();
        let names = Names::new(&raw.topology);

        let name_ok = self.kebab_name(&root.key("name"), &raw.name);
        let seed = match raw.seed {
            Some(seed) if seed > i64::MAX as u64 => {
                self.issue(
                    &root.key("seed"),
                    format!(
                        "must be at most {} (TOML integers are signed 64-bit)",
                        i64::MAX
                    ),
                );
                None
            }
            seed => seed,
        };
        let duration = match &raw.duration {
            Some(text) => self.positive_duration(&root.key("duration"), text),
            None => {
                self.issue(
                    &root.key("duration"),
                    "is required: the length of the measured window, e.g. duration = \"30s\"",
                );
                None
            }
        };
        let warmup = self.duration_or(&root.key("warmup"), raw.warmup.as_ref(), DEFAULT_WARMUP);
        let cooldown = self.duration_or(
            &root.key("cooldown"),
            raw.cooldown.as_ref(),
            DEFAULT_COOLDOWN,
        );
        if let (Some(w), Some(d), Some(c)) = (warmup, duration, cooldown) {
            let total = w.saturating_add(d).saturating_add(c);
            if total > MAX_DURATION {
                self.issue(
                    &root.key("duration"),
                    format!(
                        "the run would last {} (warmup {} + duration {} + cooldown {}); at \
                         most 24h is supported",
                        humantime::format_duration(total),
                        humantime::format_duration(w),
                        humantime::format_duration(d),
                        humantime::format_duration(c)
                    ),
                );
            }
        }
        let engine = match raw.engine {
            None | Some(RawEngine::Real) => Engine::Real,
            Some(RawEngine::Sim) => Engine::Sim,
        };
        let topology = self.topology(&raw.topology, &names, engine);
        let variants = self.variants(&raw.variants, &names, topology.as_ref());
        if engine == Engine::Sim {
            for (i, v) in raw.variants.iter().enumerate() {
                if v.storage == Some(RawStorage::Disk) {
                    self.issue(
                        &root.key("variants").index(i).key("storage"),
                        "\"disk\" needs engine = \"real\": the sim engine runs in virtual time \
                         and does not model disk writes or fsync (use storage = \"memory\", \
                         which also survives a simulated crash)",
                    );
                }
            }
        }
        let workload = self.workload(&raw.workload, &names, duration);
        let faults = self.faults(&raw.faults, &names, duration, cooldown);

        name_ok.then_some(())?;
        Some(Experiment {
            name: raw.name.clone(),
            description: raw.description.clone(),
            seed: seed?,
            duration: duration?,
            warmup: warmup?,
            cooldown: cooldown?,
            engine,
            topology: topology?,
            variants: variants?,
            workload: workload?,
            faults: faults?,
        })
    }
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use super::fixtures::{errors, load, ms, FULL, QUICKSTART};
    use crate::experiment::*;
    use crate::net::delay::DelayModel;

    #[test]
    fn quickstart_is_valid() {
        let e = load(QUICKSTART).experiment;
        assert_eq!(e.name, "quickstart");
        assert_eq!(e.seed, 42);
        assert_eq!(e.duration, Duration::from_secs(20));
        let dcs: Vec<_> = e.topology.dcs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(dcs, ["asia", "eu", "us"]);
        let nodes: Vec<_> = e.topology.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(nodes, ["asia-1", "eu-1", "eu-2", "us-1", "us-2"]);
        assert_eq!(e.topology.nodes[2].dc, 1);
        let t = &e.topology;
        let (asia, eu, us) = (0, 1, 2);
        assert_eq!(t.link(eu, us), t.link(us, eu));
        assert_eq!(
            t.link(eu, us).delay,
            DelayModel::normal(ms(40), ms(2)).unwrap()
        );
        assert_eq!(
            t.link(asia, eu).delay,
            DelayModel::normal(ms(110), ms(5)).unwrap()
        );
        assert_eq!(t.link(us, us).delay.to_string(), "uniform(150us..350us)");
        let kinds: Vec<_> = e.variants.iter().map(|v| v.kind()).collect();
        assert_eq!(kinds, [VariantKind::Raft, VariantKind::Gossip]);
        assert_eq!(e.workload.users, 20);
        assert!(e.faults.is_empty());
    }

    #[test]
    fn every_key_is_understood() {
        let e = load(FULL).experiment;
        let t = &e.topology;
        let (asia, eu, us) = (0, 1, 2);
        assert!(matches!(t.link(eu, us).delay, DelayModel::Mixture { .. }));
        assert_eq!(t.link(us, eu).loss, 0.002);
        assert!(matches!(t.link(eu, asia).delay, DelayModel::Pareto { .. }));
        assert_eq!(t.link(asia, us).loss, 0.01);
        assert_eq!(t.link(asia, asia).loss, 0.001);
        let w = &e.workload;
        assert_eq!(w.popularity, Popularity::Zipf { exponent: 1.2 });
        assert_eq!(w.home_weights, [0.0, 2.0, 1.0]);
        assert_eq!(w.friend_weights, [1.0, 0.0, 1.0]);
        assert_eq!(
            w.readers,
            ReaderMix {
                phone: 0.2,
                laptop: 0.0,
                friend: 0.8
            }
        );
        assert_eq!(
            w.travel,
            Some(Travel {
                users: 3,
                to: asia,
                at: ms(10_000)
            })
        );
        let actions: Vec<_> = e.faults.iter().map(|f| f.action.clone()).collect();
        assert_eq!(
            actions[0],
            FaultAction::Partition(Partition::IsolateDc(asia))
        );
        // Nodes: asia-1, eu-1, eu-2, us-1, us-2.
        assert_eq!(
            actions[1],
            FaultAction::Partition(Partition::Groups(vec![vec![1, 3, 0], vec![2, 4]]))
        );
        assert_eq!(
            actions[3],
            FaultAction::Partition(Partition::OneWay {
                from: vec![1],
                to: vec![3, 4]
            })
        );
        assert_eq!(actions[4], FaultAction::Crash(NodeTarget::Leader));
        assert_eq!(e.faults[4].duration, None);
        assert_eq!(
            actions[7],
            FaultAction::Loss {
                from: None,
                to: Some(asia),
                both_ways: true,
                rate: 1.0
            }
        );
        assert_eq!(
            actions[8],
            FaultAction::ClockSkew {
                target: NodeTarget::Node(2),
                offset_us: -1_500_000
            }
        );
        assert_eq!(
            actions[9],
            FaultAction::Random(RandomFaults {
                mean_interval: ms(5000),
                mean_duration: ms(1000),
                kinds: vec![RandomFaultKind::Partition, RandomFaultKind::ClockSkew],
            })
        );
    }

    #[test]
    fn valid_files_round_trip_through_to_toml() {
        for source in [QUICKSTART, FULL] {
            let first = load(source);
            let text = first.to_toml().unwrap();
            let second = load(&text);
            assert_eq!(first.raw, second.raw, "{text}");
            assert_eq!(
                format!("{:?}", first.experiment),
                format!("{:?}", second.experiment)
            );
        }
    }

    #[test]
    fn a_missing_seed_is_filled_and_saved() {
        let source = QUICKSTART.replace("seed = 42\n", "");
        let loaded = load(&source);
        let seed = loaded.experiment.seed;
        assert_eq!(loaded.raw.seed, Some(seed));
        assert!(seed <= i64::MAX as u64);
        assert!(loaded
            .to_toml()
            .unwrap()
            .contains(&format!("seed = {seed}\n")));
        assert_eq!(load(&loaded.to_toml().unwrap()).experiment.seed, seed);
    }

    #[test]
    fn overrides_apply_before_validation() {
        let overrides = Overrides {
            seed: Some(9),
            duration: Some(Duration::from_secs(90)),
            engine: None,
        };
        let loaded = parse(QUICKSTART, "q.toml", &overrides).unwrap();
        assert_eq!(loaded.experiment.seed, 9);
        assert_eq!(loaded.experiment.duration, Duration::from_secs(90));
        let saved = load(&loaded.to_toml().unwrap()).experiment;
        assert_eq!((saved.seed, saved.duration), (9, Duration::from_secs(90)));

        // --duration can supply a duration the file lacks.
        let source = QUICKSTART.replace("duration = \"20s\"\n", "");
        let overrides = Overrides {
            seed: None,
            duration: Some(ms(1500)),
            engine: None,
        };
        assert_eq!(
            parse(&source, "q.toml", &overrides)
                .unwrap()
                .experiment
                .duration,
            ms(1500)
        );
    }

    #[test]
    fn bad_overrides_are_blamed_on_the_command_line() {
        let overrides = Overrides {
            seed: Some(u64::MAX),
            duration: Some(Duration::ZERO),
            engine: None,
        };
        let err = parse(QUICKSTART, "q.toml", &overrides)
            .unwrap_err()
            .to_string();
        assert!(err.contains("q.toml: seed: must be at most"), "{err}");
        assert!(
            err.contains("q.toml: duration: must be greater than 0 (set on the command line)"),
            "{err}"
        );
    }

    #[test]
    fn errors_name_the_key_the_rule_and_the_line() {
        let source = QUICKSTART.replace(
            "[topology.dcs.asia]\nnodes = 1",
            "[topology.dcs.asia]\nnodes = 0",
        );
        let line = source.lines().position(|l| l == "nodes = 0").unwrap() + 1;
        let err = errors(&source);
        assert_eq!(
            err,
            format!("test.toml:{line}:1: topology.dcs.asia.nodes: must be at least 1")
        );
    }

    #[test]
    fn all_issues_are_reported_at_once() {
        let source = QUICKSTART
            .replace("users = 20 ", "users = 0 ")
            .replace("write_fraction = 0.2", "write_fraction = 2.0")
            .replace(
                "kind = \"gossip\"",
                "kind = \"gossip\"\n\n[[variants]]\nname = \"raft\"\nkind = \"gossip\"",
            );
        let err = parse(&source, "test.toml", &Overrides::default()).unwrap_err();
        let keys: Vec<_> = err.issues().iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "variants[2].name",
                "workload.users",
                "workload.write_fraction"
            ]
        );
        assert!(err.issues().iter().all(|i| i.line_col.is_some()));
        assert_eq!(err.lines().len(), 3);
    }

    #[test]
    fn missing_keys_point_at_their_parent() {
        let source = FULL.replace("node = \"random\"\n", "");
        let err = errors(&source);
        let header = source
            .lines()
            .enumerate()
            .filter(|(_, l)| *l == "[[faults]]")
            .nth(5)
            .unwrap()
            .0
            + 1;
        assert!(
            err.contains(&format!(
                "test.toml:{header}:1: faults[5].node: is required"
            )),
            "{err}"
        );
    }

    #[test]
    fn syntax_and_type_errors_are_located() {
        let err = errors("name = \"x\"\nname = \"y\"\n");
        assert!(err.starts_with("test.toml:2:1: "), "{err}");
        let err = errors(&QUICKSTART.replace("seed = 42", "seed = -1"));
        let line = QUICKSTART.lines().position(|l| l == "seed = 42").unwrap() + 1;
        assert!(
            err.starts_with(&format!(
                "test.toml:{line}:8: seed: invalid value: integer `-1`"
            )),
            "{err}"
        );
        let err = errors(&QUICKSTART.replace("dist = \"constant\"", "dist = \"gaussian\""));
        assert!(
            err.contains("topology.client_delay.dist: unknown variant `gaussian`"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1);
    }

    /// The malformed files used by the CLI test fail here too, with the same messages.
    #[test]
    fn malformed_files_fail_with_the_expected_messages() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
        let expected = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
        let mut checked = BTreeSet::new();
        for line in expected
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let (file, want) = line.split_once(": ").unwrap();
            // Through the sweep planner, which also checks `[sweep]` and every point.
            let err = crate::sweep::load(&dir.join(file), &Overrides::default())
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{file}: want {want:?} in\n{err}");
            checked.insert(file.to_owned());
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".toml") {
                assert!(
                    checked.contains(&name),
                    "{name} has no line in expected.txt"
                );
            }
        }
        assert!(checked.len() >= 12);
    }
}
