//! The seeded, open-loop operation schedule.
//!
//! Generation, in order, from a `ChaCha8Rng` seeded with `seed::derive(seed, "workload")`:
//! exponential inter-arrival gaps at `rate` per second; for each arrival, write or read
//! (`write_fraction`); whose profile (`popularity`); for a read, which viewer (`readers`)
//! and, for a friend, from which DC (`friend_weights`, never the owner's home DC).
//! Written values are unique labels `<user>#<n>`, numbered per user from 1.
//!
//! Deliberately left out: timing of execution (the runner's job) and think times (arrivals
//! are independent of completions by design).

use std::time::Duration;

use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Zipf};
use serde::Serialize;

use super::users::{make_users, User};
use crate::experiment::{DcIdx, Experiment, Popularity};
use crate::history::{Device, OpKind};

/// One operation of the schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduledOp {
    /// Position in the schedule; also the operation's id in every variant's history.
    pub id: u64,
    /// Offset into the measured window at which the operation is due, in microseconds.
    pub at_us: u64,
    /// Index of the user whose profile is read or written.
    pub user: usize,
    pub device: Device,
    /// The DC the issuing client is in.
    pub dc: DcIdx,
    pub kind: OpKind,
    /// For writes: the unique label of the new picture.
    pub value: Option<String>,
    /// For writes: the picture's size in bytes.
    pub bytes: u64,
}

/// Users and the ordered operations of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub users: Vec<User>,
    pub ops: Vec<ScheduledOp>,
    /// The DC names, for client names and display.
    pub dc_names: Vec<String>,
}

impl Schedule {
    /// The schedule of `exp`: a pure function of the experiment and its seed.
    pub fn generate(exp: &Experiment) -> Schedule {
        let w = &exp.workload;
        let users = make_users(w);
        let dcs = exp.topology.dcs.len();
        let mut rng = ChaCha8Rng::seed_from_u64(crate::seed::derive(exp.seed, "workload"));
        let horizon_us = exp.duration.as_micros() as f64;

        // Validation guarantees rate > 0, at least one positive reader weight and users >= 1;
        // the fallbacks below only keep this function total.
        let gaps = Exp::new(w.rate / 1e6).ok();
        let zipf = match w.popularity {
            Popularity::Zipf { exponent } => Zipf::new(w.users as f64, exponent).ok(),
            Popularity::Uniform => None,
        };
        let readers = weighted_index(&[w.readers.phone, w.readers.laptop, w.readers.friend]);

        let mut ops = Vec::new();
        let mut writes_per_user = vec![0u64; w.users];
        let mut t = 0.0f64;
        while let Some(gaps) = &gaps {
            t += gaps.sample(&mut rng);
            if t >= horizon_us {
                break;
            }
            let at_us = t as u64;
            let is_write = rng.random::<f64>() < w.write_fraction;
            let user = match &zipf {
                Some(z) => (z.sample(&mut rng) as usize).clamp(1, w.users) - 1,
                None => rng.random_range(0..w.users),
            };
            let u = &users[user];
            let id = ops.len() as u64;
            if is_write {
                writes_per_user[user] += 1;
                ops.push(ScheduledOp {
                    id,
                    at_us,
                    user,
                    device: Device::Phone,
                    dc: u.phone_dc(at_us),
                    kind: OpKind::Write,
                    value: Some(format!("{}#{}", u.name, writes_per_user[user])),
                    bytes: w.picture_bytes as u64,
                });
                continue;
            }
            let device = match readers.as_ref().map(|r| r.sample(&mut rng)) {
                Some(0) => Device::Phone,
                Some(1) | None => Device::Laptop,
                _ => Device::Friend,
            };
            let dc = match device {
                Device::Phone => u.phone_dc(at_us),
                Device::Laptop => u.home,
                Device::Friend => friend_dc(&mut rng, &w.friend_weights, u.home, dcs),
            };
            ops.push(ScheduledOp {
                id,
                at_us,
                user,
                device,
                dc,
                kind: OpKind::Read,
                value: None,
                bytes: 0,
            });
        }
        let dc_names = exp.topology.dcs.iter().map(|d| d.name.clone()).collect();
        Schedule {
            users,
            ops,
            dc_names,
        }
    }

    /// The profile key an operation touches.
    pub fn key(&self, op: &ScheduledOp) -> String {
        self.users[op.user].key()
    }

    /// The issuing client's name: `alice/phone`, `alice/laptop`, `alice/friend-asia`.
    pub fn client(&self, op: &ScheduledOp) -> String {
        let user = &self.users[op.user].name;
        match op.device {
            Device::Friend => format!("{user}/friend-{}", self.dc_names[op.dc]),
            d => format!("{user}/{}", d.as_str()),
        }
    }

    /// The offset of an operation as a `Duration`.
    pub fn offset(op: &ScheduledOp) -> Duration {
        Duration::from_micros(op.at_us)
    }

    /// A canonical byte encoding (JSON Lines), for saving and for comparing schedules.
    pub fn to_jsonl(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.ops.len() * 120);
        for op in &self.ops {
            // Serialising plain data into a Vec cannot fail.
            if serde_json::to_writer(&mut out, op).is_ok() {
                out.push(b'\n');
            }
        }
        out
    }

    pub fn writes(&self) -> usize {
        self.ops.iter().filter(|o| o.kind == OpKind::Write).count()
    }
}

/// A friend's DC: weighted over DCs other than `home`; uniform over them if those weights
/// are all zero.
fn friend_dc(rng: &mut ChaCha8Rng, weights: &[f64], home: DcIdx, dcs: usize) -> DcIdx {
    let masked: Vec<f64> = (0..dcs)
        .map(|d| {
            if d == home {
                0.0
            } else {
                weights.get(d).copied().unwrap_or(0.0)
            }
        })
        .collect();
    match weighted_index(&masked) {
        Some(idx) => idx.sample(rng),
        None => {
            // No positive weight outside home: any other DC, uniformly.
            let pick = rng.random_range(0..dcs.saturating_sub(1).max(1));
            if pick >= home && dcs > 1 {
                pick + 1
            } else {
                pick
            }
        }
    }
}

/// A weighted choice over `weights`, or `None` when no weight is positive or the weights are
/// not usable: negative, not finite, or summing to infinity (`WeightedIndex::new` of rand
/// 0.9 panics on an infinite sum instead of returning an error). Validation bounds every
/// weight, so `None` here only keeps generation total.
fn weighted_index(weights: &[f64]) -> Option<WeightedIndex<f64>> {
    let usable = weights.iter().all(|w| w.is_finite() && *w >= 0.0)
        && weights.iter().sum::<f64>().is_finite();
    usable.then(|| WeightedIndex::new(weights).ok()).flatten()
}
