//! `[[faults]]`: timing inside the run, the keys each kind takes, node and DC references,
//! partitions (every node exactly once) and random-fault generators.
//!
//! Deliberately left out: how faults overlap at run time (the fault scheduler's job).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::*;
use crate::experiment::error::KeyPath;

impl Validator {
    pub(super) fn faults(
        &mut self,
        raw: &[RawFault],
        names: &Names,
        duration: Option<Duration>,
        cooldown: Option<Duration>,
    ) -> Option<Vec<Fault>> {
        if raw.len() > MAX_FAULTS {
            self.issue(
                &KeyPath::root().key("faults"),
                format!(
                    "{} faults; at most {MAX_FAULTS} are supported (a random fault generates \
                     many)",
                    raw.len()
                ),
            );
            return None;
        }
        let mut faults = Vec::with_capacity(raw.len());
        let mut ok = true;
        for (i, f) in raw.iter().enumerate() {
            let path = KeyPath::root().key("faults").index(i);
            match self.fault(&path, f, names, duration, cooldown) {
                Some(fault) => faults.push(fault),
                None => ok = false,
            }
        }
        ok.then_some(())?;
        // Random faults start as a Poisson process over their window (see
        // `crate::faults::plan`): bound the expected total.
        let mut expected = 0.0;
        let mut first = None;
        for (i, f) in faults.iter().enumerate() {
            if let (FaultAction::Random(r), Some(run)) = (&f.action, duration) {
                let end = f.duration.map_or(run, |d| f.at.saturating_add(d).min(run));
                let window = end.saturating_sub(f.at).as_secs_f64();
                expected += window / r.mean_interval.as_secs_f64();
                first.get_or_insert(i);
            }
        }
        if let Some(i) = first.filter(|_| expected > MAX_GENERATED_FAULTS) {
            self.issue(
                &KeyPath::root().key("faults").index(i).key("mean_interval"),
                format!(
                    "random faults would generate about {expected:.0} faults (window / \
                     mean_interval, over every random fault); at most {MAX_GENERATED_FAULTS:.0} \
                     are supported"
                ),
            );
            return None;
        }
        Some(faults)
    }

    pub(super) fn fault(
        &mut self,
        path: &KeyPath,
        raw: &RawFault,
        names: &Names,
        run_duration: Option<Duration>,
        cooldown: Option<Duration>,
    ) -> Option<Fault> {
        let kind = raw.kind;
        let allowed = allowed_keys(kind);
        let mut ok = true;
        for key in present_keys(raw) {
            if !allowed.contains(&key) {
                self.issue(
                    &path.key(key),
                    format!(
                        "not used by kind = {:?} (it takes {})",
                        kind.as_str(),
                        allowed.join(", ")
                    ),
                );
                ok = false;
            }
        }

        let at = self.duration(&path.key("at"), &raw.at);
        let duration = match &raw.duration {
            Some(d) => self.positive_duration(&path.key("duration"), d).map(Some),
            None if kind == RawFaultKind::Pause => {
                self.issue(
                    &path.key("duration"),
                    "is required for a pause: nothing else would resume the node",
                );
                None
            }
            None => Some(None),
        };
        if let (Some(at), Some(run)) = (at, run_duration) {
            if at >= run {
                self.issue(
                    &path.key("at"),
                    format!(
                        "must be less than duration ({}): faults start inside the measured window",
                        humantime::format_duration(run)
                    ),
                );
                ok = false;
            } else if let (Some(Some(d)), Some(cooldown)) = (duration, cooldown) {
                let end = at.saturating_add(d);
                let limit = run.saturating_add(cooldown);
                if end > limit {
                    self.issue(
                        &path.key("duration"),
                        format!(
                            "the fault would end at {}, after the end of the run (duration {} + \
                             cooldown {} = {})",
                            humantime::format_duration(end),
                            humantime::format_duration(run),
                            humantime::format_duration(cooldown),
                            humantime::format_duration(limit)
                        ),
                    );
                    ok = false;
                }
            }
        }

        let action = match kind {
            RawFaultKind::Partition => self.partition(path, raw, names).map(FaultAction::Partition),
            RawFaultKind::Crash => self.target(path, raw, names).map(FaultAction::Crash),
            RawFaultKind::Pause => self.target(path, raw, names).map(FaultAction::Pause),
            RawFaultKind::ClockSkew => {
                let target = self.target(path, raw, names);
                let offset = self.clock_offset(&path.key("offset"), raw.offset.as_deref());
                Some(FaultAction::ClockSkew {
                    target: target?,
                    offset_us: offset?,
                })
            }
            RawFaultKind::Latency => {
                let from = self.required_dc(&path.key("from"), raw.from.as_deref(), names);
                let to = self.required_dc(&path.key("to"), raw.to.as_deref(), names);
                let delay = match &raw.delay {
                    Some(d) => self.delay(&path.key("delay"), d),
                    None => {
                        self.issue(
                            &path.key("delay"),
                            "is required for a latency fault, e.g. delay = { dist = \"constant\", \
                             value = \"200ms\" }",
                        );
                        None
                    }
                };
                Some(FaultAction::Latency {
                    from: from?,
                    to: to?,
                    both_ways: raw.both_ways.unwrap_or(true),
                    delay: delay?,
                })
            }
            RawFaultKind::Loss => {
                let from = match &raw.from {
                    Some(dc) => self.dc_ref(&path.key("from"), dc, names).map(Some),
                    None => Some(None),
                };
                let to = match &raw.to {
                    Some(dc) => self.dc_ref(&path.key("to"), dc, names).map(Some),
                    None => Some(None),
                };
                let rate = match raw.rate {
                    Some(r) if r > 0.0 && r <= 1.0 => Some(r),
                    Some(_) => {
                        self.issue(&path.key("rate"), "must be greater than 0 and at most 1");
                        None
                    }
                    None => {
                        self.issue(
                            &path.key("rate"),
                            "is required for a loss fault, e.g. rate = 0.2",
                        );
                        None
                    }
                };
                Some(FaultAction::Loss {
                    from: from?,
                    to: to?,
                    both_ways: raw.both_ways.unwrap_or(true),
                    rate: rate?,
                })
            }
            RawFaultKind::Random => self.random(path, raw).map(FaultAction::Random),
        };

        ok.then_some(())?;
        Some(Fault {
            at: at?,
            duration: duration?,
            action: action?,
        })
    }

    pub(super) fn required_dc(
        &mut self,
        path: &KeyPath,
        name: Option<&str>,
        names: &Names,
    ) -> Option<DcIdx> {
        match name {
            Some(name) => self.dc_ref(path, name, names),
            None => {
                self.issue(path, format!("is required ({})", names.dc_list()));
                None
            }
        }
    }

    /// `node = "eu-1" | "random" | "leader"`.
    pub(super) fn target(
        &mut self,
        path: &KeyPath,
        raw: &RawFault,
        names: &Names,
    ) -> Option<NodeTarget> {
        let p = path.key("node");
        match raw.node.as_deref() {
            None => {
                self.issue(&p, "is required: a node name, \"random\" or \"leader\"");
                None
            }
            Some("random") => Some(NodeTarget::Random),
            Some("leader") => Some(NodeTarget::Leader),
            Some(name) => {
                let nodes = names.nodes.as_ref()?;
                match nodes.iter().position(|n| n == name) {
                    Some(i) => Some(NodeTarget::Node(i)),
                    None => {
                        self.issue(
                            &p,
                            format!(
                                "unknown node {name:?} ({}; or \"random\", \"leader\")",
                                names.node_list()
                            ),
                        );
                        None
                    }
                }
            }
        }
    }

    /// A signed offset such as `"+2s"` or `"-500ms"`, in microseconds, not zero.
    pub(super) fn clock_offset(&mut self, path: &KeyPath, raw: Option<&str>) -> Option<i64> {
        let Some(text) = raw else {
            self.issue(
                path,
                "is required for a clock-skew fault, e.g. offset = \"+2s\" or \"-500ms\"",
            );
            return None;
        };
        let trimmed = text.trim();
        let (negative, magnitude) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        let d = match humantime::parse_duration(magnitude.trim()) {
            Ok(d) => d,
            Err(e) => {
                self.issue(path, format!("invalid offset {text:?}: {e}"));
                return None;
            }
        };
        if d > MAX_DURATION {
            self.issue(
                path,
                format!("must be at most 24h either way, got {text:?}"),
            );
            return None;
        }
        let Ok(us) = i64::try_from(d.as_micros()) else {
            self.issue(path, "is too large");
            return None;
        };
        if us == 0 {
            self.issue(
                path,
                "must not be 0 (at least 1us either way): a skew of 0 changes nothing",
            );
            return None;
        }
        Some(if negative { -us } else { us })
    }

    pub(super) fn partition(
        &mut self,
        path: &KeyPath,
        raw: &RawFault,
        names: &Names,
    ) -> Option<Partition> {
        let given: Vec<&str> = [
            ("isolate_dc", raw.isolate_dc.is_some()),
            ("groups", raw.groups.is_some()),
            ("split", raw.split.is_some()),
            ("one_way", raw.one_way.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, present)| present.then_some(k))
        .collect();
        if given.len() != 1 {
            let got = if given.is_empty() {
                "none".to_owned()
            } else {
                given.join(" and ")
            };
            self.issue(
                path,
                format!(
                    "a partition needs exactly one of isolate_dc, groups, split, one_way (got {got})"
                ),
            );
            return None;
        }
        let node_count = names.nodes.as_ref().map_or(0, Vec::len);

        if let Some(dc) = &raw.isolate_dc {
            let p = path.key("isolate_dc");
            let idx = self.dc_ref(&p, dc, names)?;
            if names.dcs.len() < 2 {
                self.issue(
                    &p,
                    "isolating the only DC cuts nothing (needs at least 2 DCs)",
                );
                return None;
            }
            return Some(Partition::IsolateDc(idx));
        }
        if let Some(groups) = &raw.groups {
            return self.groups(&path.key("groups"), groups, names);
        }
        if let Some(split) = raw.split {
            let p = path.key("split");
            names.nodes.as_ref()?;
            return match split {
                RawSplit::Halves if node_count < 2 => {
                    self.issue(
                        &p,
                        format!("halves needs at least 2 nodes (there are {node_count})"),
                    );
                    None
                }
                RawSplit::Halves => Some(Partition::Halves),
                RawSplit::MajoritiesRing if node_count < 4 => {
                    self.issue(
                        &p,
                        format!(
                            "majorities-ring needs at least 4 nodes (there are {node_count}); \
                             with fewer, every node's majority is every node"
                        ),
                    );
                    None
                }
                RawSplit::MajoritiesRing => Some(Partition::MajoritiesRing),
            };
        }
        if let Some(one_way) = &raw.one_way {
            let p = path.key("one_way");
            let mut seen = BTreeMap::new();
            let from = self.node_set(&p.key("from"), &one_way.from, names, &mut seen);
            let to = self.node_set(&p.key("to"), &one_way.to, names, &mut seen);
            return Some(Partition::OneWay {
                from: from?,
                to: to?,
            });
        }
        None
    }

    /// A non-empty list of distinct nodes; `seen` maps node to the key path that listed it,
    /// so that a node listed in two places is reported with both.
    pub(super) fn node_set(
        &mut self,
        path: &KeyPath,
        raw: &[String],
        names: &Names,
        seen: &mut BTreeMap<NodeIdx, KeyPath>,
    ) -> Option<Vec<NodeIdx>> {
        if raw.is_empty() {
            self.issue(path, "must list at least one node");
            return None;
        }
        let mut ok = true;
        let mut out = Vec::with_capacity(raw.len());
        for (i, name) in raw.iter().enumerate() {
            let p = path.index(i);
            let Some(idx) = self.node_ref(&p, name, names) else {
                ok = false;
                continue;
            };
            if let Some(first) = seen.get(&idx) {
                self.issue(
                    &p,
                    format!("node {name:?} is listed twice (also at {first})"),
                );
                ok = false;
                continue;
            }
            seen.insert(idx, p);
            out.push(idx);
        }
        ok.then_some(out)
    }

    pub(super) fn groups(
        &mut self,
        path: &KeyPath,
        raw: &[Vec<String>],
        names: &Names,
    ) -> Option<Partition> {
        if raw.len() < 2 {
            self.issue(path, "needs at least 2 groups");
            return None;
        }
        let nodes = names.nodes.as_ref()?;
        let mut seen = BTreeMap::new();
        let mut groups = Vec::with_capacity(raw.len());
        let mut ok = true;
        for (i, group) in raw.iter().enumerate() {
            match self.node_set(&path.index(i), group, names, &mut seen) {
                Some(g) => groups.push(g),
                None => ok = false,
            }
        }
        let listed: BTreeSet<NodeIdx> = seen.keys().copied().collect();
        let missing: Vec<&str> = (0..nodes.len())
            .filter(|i| !listed.contains(i))
            .map(|i| nodes[i].as_str())
            .collect();
        if ok && !missing.is_empty() {
            self.issue(
                path,
                format!(
                    "must list every node exactly once (put nodes that stay together in one \
                     group); missing: {}",
                    missing.join(", ")
                ),
            );
            ok = false;
        }
        ok.then_some(Partition::Groups(groups))
    }

    pub(super) fn random(&mut self, path: &KeyPath, raw: &RawFault) -> Option<RandomFaults> {
        let required = |v: &mut Self, key: &str, text: Option<&DurationText>| match text {
            Some(t) => v.positive_duration(&path.key(key), t),
            None => {
                v.issue(
                    &path.key(key),
                    "is required for a random fault, e.g. \"10s\"",
                );
                None
            }
        };
        let mean_interval = required(self, "mean_interval", raw.mean_interval.as_ref());
        let mean_duration = required(self, "mean_duration", raw.mean_duration.as_ref());
        let p = path.key("kinds");
        let kinds = match &raw.kinds {
            None => {
                self.issue(
                    &p,
                    "is required for a random fault, e.g. kinds = [\"partition\", \"crash\"]",
                );
                None
            }
            Some(kinds) if kinds.is_empty() => {
                self.issue(&p, "must list at least one kind");
                None
            }
            Some(kinds) => {
                let mut out = Vec::with_capacity(kinds.len());
                let mut ok = true;
                for (i, k) in kinds.iter().enumerate() {
                    let kind = match k {
                        RawFaultKind::Partition => RandomFaultKind::Partition,
                        RawFaultKind::Crash => RandomFaultKind::Crash,
                        RawFaultKind::Pause => RandomFaultKind::Pause,
                        RawFaultKind::Latency => RandomFaultKind::Latency,
                        RawFaultKind::Loss => RandomFaultKind::Loss,
                        RawFaultKind::ClockSkew => RandomFaultKind::ClockSkew,
                        RawFaultKind::Random => {
                            self.issue(&p.index(i), "a random fault cannot generate random faults");
                            ok = false;
                            continue;
                        }
                    };
                    if out.contains(&kind) {
                        self.issue(&p.index(i), format!("{:?} is listed twice", k.as_str()));
                        ok = false;
                        continue;
                    }
                    out.push(kind);
                }
                ok.then_some(out)
            }
        };
        Some(RandomFaults {
            mean_interval: mean_interval?,
            mean_duration: mean_duration?,
            kinds: kinds?,
        })
    }
}

/// Keys a fault of `kind` may have besides `at` and `kind`.
fn allowed_keys(kind: RawFaultKind) -> &'static [&'static str] {
    match kind {
        RawFaultKind::Partition => &["duration", "isolate_dc", "groups", "split", "one_way"],
        RawFaultKind::Crash | RawFaultKind::Pause => &["duration", "node"],
        RawFaultKind::ClockSkew => &["duration", "node", "offset"],
        RawFaultKind::Latency => &["duration", "from", "to", "both_ways", "delay"],
        RawFaultKind::Loss => &["duration", "from", "to", "both_ways", "rate"],
        RawFaultKind::Random => &["duration", "mean_interval", "mean_duration", "kinds"],
    }
}

/// The optional keys a raw fault actually has.
fn present_keys(raw: &RawFault) -> Vec<&'static str> {
    [
        ("duration", raw.duration.is_some()),
        ("isolate_dc", raw.isolate_dc.is_some()),
        ("groups", raw.groups.is_some()),
        ("split", raw.split.is_some()),
        ("one_way", raw.one_way.is_some()),
        ("node", raw.node.is_some()),
        ("offset", raw.offset.is_some()),
        ("from", raw.from.is_some()),
        ("to", raw.to.is_some()),
        ("both_ways", raw.both_ways.is_some()),
        ("delay", raw.delay.is_some()),
        ("rate", raw.rate.is_some()),
        ("mean_interval", raw.mean_interval.is_some()),
        ("mean_duration", raw.mean_duration.is_some()),
        ("kinds", raw.kinds.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, present)| present.then_some(k))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{assert_rejected, errors, Rejected, FULL};

    #[test]
    fn partition_rules() {
        let isolate = |replace, want| Rejected {
            base: FULL,
            find: "isolate_dc = \"asia\"",
            replace,
            want,
        };
        assert_rejected(&[
            isolate(
                "groups = [[\"eu-1\"], [\"eu-2\"]]",
                "faults[0].groups: must list every node exactly once (put nodes that stay together in one group); missing: asia-1, us-1, us-2",
            ),
            isolate(
                "groups = [[\"eu-1\", \"eu-2\", \"us-1\", \"us-2\", \"asia-1\"]]",
                "faults[0].groups: needs at least 2 groups",
            ),
            isolate(
                "split = \"halves\"\nisolate_dc = \"eu\"",
                "faults[0]: a partition needs exactly one of isolate_dc, groups, split, one_way (got isolate_dc and split)",
            ),
            isolate(
                "one_way = { from = [\"eu-1\"], to = [\"eu-1\"] }",
                "faults[0].one_way.to[0]: node \"eu-1\" is listed twice (also at faults[0].one_way.from[0])",
            ),
        ]);
        // Two edits at once: too few nodes for the majorities ring.
        let small = FULL
            .replace(
                "[topology.dcs.eu]\nnodes = 2",
                "[topology.dcs.eu]\nnodes = 1",
            )
            .replace(
                "[topology.dcs.us]\nnodes = 2",
                "[topology.dcs.us]\nnodes = 1",
            );
        let err = errors(&small);
        assert!(
            err.contains("faults[2].split: majorities-ring needs at least 4 nodes (there are 3)"),
            "{err}"
        );
    }

    #[test]
    fn fault_timing_rules() {
        let kinds = |want| Rejected {
            base: FULL,
            find: "kinds = [\"partition\", \"clock-skew\"]",
            replace: "kinds = [\"random\", \"crash\", \"crash\"]",
            want,
        };
        assert_rejected(&[
            Rejected {
                base: FULL,
                find: "at = \"10s\"\nduration = \"20s\"",
                replace: "at = \"10s\"\nduration = \"26s\"",
                want: "faults[9].duration: the fault would end at 36s, after the end of the run (duration 30s + cooldown 5s = 35s)",
            },
            Rejected {
                base: FULL,
                find: "offset = \"-1.5s\"",
                replace: "offset = \"soon\"",
                want: "faults[8].offset: invalid offset \"soon\"",
            },
            kinds("faults[9].kinds[0]: a random fault cannot generate random faults"),
            kinds("faults[9].kinds[2]: \"crash\" is listed twice"),
        ]);
    }
}
