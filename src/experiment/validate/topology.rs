//! `[topology]`: data centres, the link matrix (each ordered DC pair shaped by exactly one
//! entry, or by `default_link`), and delay distributions.
//!
//! Deliberately left out: measuring anything about the links; a distribution is checked by
//! its parameters alone.

use std::time::Duration;

use super::*;
use crate::experiment::error::KeyPath;
use crate::experiment::model::*;
use crate::experiment::raw::*;
use crate::net::delay::DelayModel;

impl Validator {
    pub(super) fn topology(
        &mut self,
        raw: &RawTopology,
        names: &Names,
        engine: Engine,
    ) -> Option<Topology> {
        let path = KeyPath::root().key("topology");
        let dcs_path = path.key("dcs");
        let mut ok = true;

        if raw.dcs.is_empty() {
            self.issue(
                &dcs_path,
                "at least one data centre is needed, e.g. [topology.dcs.eu]",
            );
            ok = false;
        }
        let mut dcs = Vec::new();
        for (name, dc) in &raw.dcs {
            ok &= self.kebab_name(&dcs_path.key(name), name);
            if dc.nodes == 0 {
                self.issue(&dcs_path.key(name).key("nodes"), "must be at least 1");
                ok = false;
            }
            dcs.push(Dc {
                name: name.clone(),
                nodes: dc.nodes,
            });
        }
        let total = raw
            .dcs
            .values()
            .fold(0usize, |acc, dc| acc.saturating_add(dc.nodes));
        let cap = match engine {
            Engine::Real => MAX_NODES,
            Engine::Sim => MAX_SIM_NODES,
        };
        if total > cap {
            let hint = match engine {
                Engine::Real => {
                    format!(" with engine = \"real\" (engine = \"sim\" allows {MAX_SIM_NODES})")
                }
                Engine::Sim => " with engine = \"sim\"".to_owned(),
            };
            self.issue(
                &dcs_path,
                format!("{total} nodes in total; at most {cap} are supported{hint}"),
            );
            ok = false;
        }
        let nodes: Vec<Node> = match &names.nodes {
            Some(_) => dcs
                .iter()
                .enumerate()
                .flat_map(|(i, dc)| {
                    (1..=dc.nodes).map(move |n| Node {
                        name: format!("{}-{n}", dc.name),
                        dc: i,
                    })
                })
                .collect(),
            None => Vec::new(),
        };

        let client_delay = match &raw.client_delay {
            Some(d) => self.delay(&path.key("client_delay"), d),
            None => Some(DelayModel::constant(DEFAULT_CLIENT_DELAY)),
        };
        let local_delay = match &raw.local_delay {
            Some(d) => self.delay(&path.key("local_delay"), d),
            None => Some(DelayModel::constant(DEFAULT_LOCAL_DELAY)),
        };
        let local_loss = self.loss(&path.key("local_loss"), raw.local_loss);
        let default_link = raw.default_link.as_ref().map(|l| {
            let p = path.key("default_link");
            let delay = self.delay(&p.key("delay"), &l.delay);
            let loss = self.loss(&p.key("loss"), l.loss);
            Some(LinkSpec {
                delay: delay?,
                loss: loss?,
            })
        });
        let links = self.links(raw, names, local_delay.zip(local_loss), default_link);

        ok.then_some(())?;
        Some(Topology {
            dcs,
            nodes,
            client_delay: client_delay?,
            links: links?,
            fifo: raw.fifo.unwrap_or(true),
        })
    }

    /// The `links[from][to]` matrix: the diagonal from `local`, the rest from
    /// `[[topology.links]]`, then `default_link`.
    pub(super) fn links(
        &mut self,
        raw: &RawTopology,
        names: &Names,
        local: Option<(DelayModel, f64)>,
        default_link: Option<Option<LinkSpec>>,
    ) -> Option<Vec<Vec<LinkSpec>>> {
        let path = KeyPath::root().key("topology").key("links");
        let n = names.dcs.len();
        let mut ok = true;
        // An entry naming an unknown DC: which pairs it was meant for is unknown, so missing
        // pairs are not reported (they would mostly repeat the same mistake).
        let mut unresolved = false;
        // Which entry set each ordered pair, and whether it did so as the reverse direction.
        let mut set_by: Vec<Vec<Option<(usize, bool)>>> = vec![vec![None; n]; n];
        let mut specs: Vec<Vec<Option<LinkSpec>>> = vec![vec![None; n]; n];

        for (i, link) in raw.links.iter().enumerate() {
            let p = path.index(i);
            let from = self.dc_ref(&p.key("from"), &link.from, names);
            let to = self.dc_ref(&p.key("to"), &link.to, names);
            let delay = self.delay(&p.key("delay"), &link.delay);
            let loss = self.loss(&p.key("loss"), link.loss);
            let (Some(from), Some(to)) = (from, to) else {
                ok = false;
                unresolved = true;
                continue;
            };
            if from == to {
                self.issue(
                    &p.key("to"),
                    format!(
                        "a link joins two different DCs (inside {} use topology.local_delay and \
                         topology.local_loss)",
                        names.dcs[from]
                    ),
                );
                ok = false;
                continue;
            }
            let both_ways = link.both_ways.unwrap_or(true);
            let mut pairs = vec![(from, to, false)];
            if both_ways {
                pairs.push((to, from, true));
            }
            let conflict = pairs
                .iter()
                .find_map(|&(a, b, reverse)| set_by[a][b].map(|s| (a, b, reverse, s)));
            if let Some((a, b, reverse, (j, prev_reverse))) = conflict {
                let (a, b) = (&names.dcs[a], &names.dcs[b]);
                let message = if !reverse && !prev_reverse {
                    format!("duplicate link: {a} -> {b} is already set by topology.links[{j}]")
                } else {
                    format!(
                        "{a} -> {b} is already set by topology.links[{j}]; an entry sets both \
                         directions unless both_ways = false, so set both_ways = false on both \
                         entries to shape each direction separately"
                    )
                };
                self.issue(&p, message);
                ok = false;
                continue;
            }
            let spec = match (delay, loss) {
                (Some(delay), Some(loss)) => Some(LinkSpec { delay, loss }),
                _ => {
                    ok = false;
                    None
                }
            };
            for (a, b, reverse) in pairs {
                set_by[a][b] = Some((i, reverse));
                specs[a][b] = spec.clone();
            }
        }

        for a in 0..n {
            for b in 0..n {
                if a == b || set_by[a][b].is_some() {
                    continue;
                }
                match &default_link {
                    Some(Some(spec)) => specs[a][b] = Some(spec.clone()),
                    Some(None) => ok = false,
                    None if unresolved => ok = false,
                    None => {
                        // Report a pair missing in both directions once.
                        if set_by[b][a].is_none() && b < a {
                            continue;
                        }
                        let message = if set_by[b][a].is_none() {
                            format!(
                                "no link between {} and {} (in either direction) and no \
                                 topology.default_link",
                                names.dcs[a], names.dcs[b]
                            )
                        } else {
                            format!(
                                "no link from {} to {} and no topology.default_link",
                                names.dcs[a], names.dcs[b]
                            )
                        };
                        self.issue(&path, message);
                        ok = false;
                    }
                }
            }
        }

        let (local_delay, local_loss) = local?;
        ok.then_some(())?;
        let mut links = Vec::with_capacity(n);
        for (a, row) in specs.into_iter().enumerate() {
            let mut out = Vec::with_capacity(n);
            for (b, spec) in row.into_iter().enumerate() {
                if a == b {
                    out.push(LinkSpec {
                        delay: local_delay.clone(),
                        loss: local_loss,
                    });
                } else {
                    out.push(spec?);
                }
            }
            links.push(out);
        }
        Some(links)
    }

    pub(super) fn delay(&mut self, path: &KeyPath, raw: &RawDelay) -> Option<DelayModel> {
        let result = match raw {
            RawDelay::Constant { value } => {
                return self
                    .duration(&path.key("value"), value)
                    .map(DelayModel::constant);
            }
            RawDelay::Uniform { low, high } => {
                let low = self.duration(&path.key("low"), low);
                let high = self.duration(&path.key("high"), high);
                DelayModel::uniform(low?, high?)
            }
            RawDelay::Normal { mean, stddev } => {
                let mean = self.duration(&path.key("mean"), mean);
                let stddev = self.duration(&path.key("stddev"), stddev);
                DelayModel::normal(mean?, stddev?)
            }
            RawDelay::Exponential { mean, offset } => {
                let mean = self.duration(&path.key("mean"), mean);
                let offset = self.duration_or(&path.key("offset"), offset.as_ref(), Duration::ZERO);
                DelayModel::exponential(mean?, offset?)
            }
            RawDelay::Pareto { scale, shape } => {
                let scale = self.duration(&path.key("scale"), scale);
                // Zero, negative and non-finite shapes keep the distribution's own message.
                if *shape > 0.0 && *shape < MIN_PARETO_SHAPE {
                    self.issue(
                        &path.key("shape"),
                        format!(
                            "must be at least {MIN_PARETO_SHAPE}, got {shape:e} (a smaller shape \
                             draws delays too large to represent)"
                        ),
                    );
                    return None;
                }
                DelayModel::pareto(scale?, *shape)
            }
            RawDelay::Lognormal {
                median,
                sigma,
                offset,
            } => {
                let median = self.duration(&path.key("median"), median);
                let offset = self.duration_or(&path.key("offset"), offset.as_ref(), Duration::ZERO);
                if sigma.is_finite() && *sigma > MAX_LOGNORMAL_SIGMA {
                    self.issue(
                        &path.key("sigma"),
                        format!(
                            "must be at most {MAX_LOGNORMAL_SIGMA}, got {sigma:e} (a larger sigma \
                             draws delays too large to represent)"
                        ),
                    );
                    return None;
                }
                DelayModel::log_normal(median?, *sigma, offset?)
            }
            RawDelay::Mixture { components } => {
                let mut parts = Vec::with_capacity(components.len());
                let mut ok = true;
                for (i, c) in components.iter().enumerate() {
                    let p = path.key("components").index(i);
                    let weight = self.weight(&p.key("weight"), c.weight);
                    let delay = self.delay(&p.key("delay"), &c.delay);
                    match (weight, delay) {
                        (Some(w), Some(d)) => parts.push((w, d)),
                        _ => ok = false,
                    }
                }
                ok.then_some(())?;
                DelayModel::mixture(parts)
            }
        };
        match result {
            Ok(model) => {
                // Raft's default heartbeat and the PBS model use the mean; a mean beyond a day
                // (a Pareto shape just above 1, a huge sigma) is no usable link.
                let max_us = MAX_DURATION.as_secs_f64() * 1e6;
                if let Some(mean) = model.mean_us().filter(|m| !m.is_finite() || *m > max_us) {
                    self.issue(
                        path,
                        format!(
                            "the mean delay would be {:.3e}s; at most 24h is supported",
                            mean / 1e6
                        ),
                    );
                    return None;
                }
                Some(model)
            }
            Err(e) => {
                self.issue(path, e.to_string());
                None
            }
        }
    }

    pub(super) fn dc_ref(&mut self, path: &KeyPath, name: &str, names: &Names) -> Option<DcIdx> {
        let found = names.dcs.iter().position(|d| d == name);
        if found.is_none() {
            self.issue(path, format!("unknown DC {name:?} ({})", names.dc_list()));
        }
        found
    }

    pub(super) fn node_ref(
        &mut self,
        path: &KeyPath,
        name: &str,
        names: &Names,
    ) -> Option<NodeIdx> {
        // Over the node cap, nodes are not enumerated and the topology has its own issue.
        let nodes = names.nodes.as_ref()?;
        let found = nodes.iter().position(|n| n == name);
        if found.is_none() {
            self.issue(
                path,
                format!("unknown node {name:?} ({})", names.node_list()),
            );
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{assert_rejected, Rejected, FULL, QUICKSTART};

    #[test]
    fn links_must_not_be_set_twice() {
        assert_rejected(&[
            // The first entry is both ways, so a second eu <-> us entry conflicts, whatever
            // its own both_ways says.
            Rejected {
                base: QUICKSTART,
                find: "[[variants]]\nname = \"raft\"",
                replace: "[[topology.links]]\nfrom = \"us\"\nto = \"eu\"\nboth_ways = false\ndelay = { dist = \"constant\", value = \"1ms\" }\n\n[[variants]]\nname = \"raft\"",
                want: "topology.links[3]: us -> eu is already set by topology.links[0]",
            },
            Rejected {
                base: FULL,
                find: "from = \"us\"\nto = \"eu\"",
                replace: "from = \"eu\"\nto = \"us\"",
                want: "topology.links[1]: duplicate link: eu -> us is already set by topology.links[0]",
            },
            Rejected {
                base: FULL,
                find: "from = \"us\"\nto = \"eu\"",
                replace: "from = \"us\"\nto = \"us\"",
                want: "topology.links[1].to: a link joins two different DCs",
            },
        ]);
    }

    #[test]
    fn delay_parameters_are_checked_where_they_are() {
        assert_rejected(&[
            Rejected {
                base: QUICKSTART,
                find: "low = \"150us\", high = \"350us\"",
                replace: "low = \"350us\", high = \"150us\"",
                want: "topology.local_delay: low must not be greater than high",
            },
            Rejected {
                base: FULL,
                find: "weight = 0.9",
                replace: "weight = -1.0",
                want: "topology.links[0].delay.components[0].weight: must be a number >= 0",
            },
            Rejected {
                base: FULL,
                find: "shape = 3.0",
                replace: "shape = 0.0",
                want: "topology.default_link.delay: shape must be a positive number",
            },
            Rejected {
                base: QUICKSTART,
                find: "value = \"200us\"",
                replace: "value = \"fast\"",
                want: "topology.client_delay.value: invalid duration \"fast\"",
            },
        ]);
    }
}
