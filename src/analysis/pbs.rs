//! The PBS model: what a Dynamo-style partial quorum *should* show on the visibility chart.
//!
//! Probabilistically Bounded Staleness (Bailis et al., VLDB 2012) predicts, from the delay
//! distributions of the messages alone, the probability that a read started `t` after a
//! write was acknowledged returns that write (t-visibility). Drawn over the measured
//! visibility curve (see `staleness`), it shows how much of what a run measured the
//! network explains.
//!
//! # The WARS model, as implemented here
//!
//! `n` replicas, a write quorum `w` and a read quorum `r`. One coordinator sends the write
//! to every replica and the read to every replica. Per replica `i` there are four
//! independent one-way delays, each a [`DelayModel`] of its own (so replicas in other data
//! centres can be slower):
//!
//! - **W**<sub>i</sub>: coordinator -> replica `i`, carrying the write;
//! - **A**<sub>i</sub>: replica `i` -> coordinator, acknowledging it;
//! - **R**<sub>i</sub>: coordinator -> replica `i`, carrying the read request;
//! - **S**<sub>i</sub>: replica `i` -> coordinator, carrying its response.
//!
//! Times are measured from the moment the write is sent. The write is **acknowledged** at
//! `ack` = the `w`-th smallest `W_i + A_i` (the coordinator waits for `w` acks). The read is
//! sent at `ack + t`; replica `i` answers it with what it holds when the request arrives, at
//! `ack + t + R_i`, so it **has the write** iff `W_i <= ack + t + R_i` (a write and a read
//! request arriving at the same instant count as "write first"). The coordinator uses the
//! **first `r` responses**, those with the smallest `R_i + S_i` (ties broken by replica
//! index), and returns the newest value among them. The read is **consistent** iff at least
//! one of those `r` replicas had the write; `P(t)` is the probability of that. This is the
//! paper's definition (Section 5): a read is stale exactly when all of the first `r`
//! responders received the read request before the write.
//!
//! Two consequences are tests below: with `r + w > n` every read quorum meets the `w`
//! replicas that acknowledged, each of which had the write at `ack`, so `P = 1`; and with
//! `w = n` every replica had it, so `P = 1` too.
//!
//! # How it is computed
//!
//! Monte Carlo with common random numbers: each trial draws `W`, `A`, `R`, `S` for every
//! replica once, and which `r` replicas respond first does not depend on `t`. So a trial is
//! consistent at `t` iff `t >= t*`, where `t* = min over the first r responders of
//! (W_i - R_i - ack)`, its **threshold**. [`Thresholds::simulate`] keeps the sorted
//! thresholds of all trials; `P(t)` is then the share of thresholds `<= t` (a binary search)
//! and the smallest `t` with `P(t) >= p` is an order statistic, exact for the sample: no
//! grid, no bisection. The cost is O(trials x n) to simulate plus O(trials log trials) to
//! sort, and O(log trials) per queried time; every `t` uses every trial, and the estimated
//! curve is non-decreasing in `t` by construction. (For one fixed `t` the trials are
//! independent draws of the model, so each point is an ordinary Monte Carlo estimate; points
//! at different `t` share their draws, which is what makes the curve smooth.)
//!
//! Deterministic for a seed: one `ChaCha8Rng` (as elsewhere in caplab), drawing per trial
//! `W_0..W_n`, `A_0..A_n`, `R_0..R_n`, `S_0..S_n` in that order.
//!
//! # Coordinator co-located with a replica
//!
//! Not a special case: give that replica zero delays ([`DelayModel::zero`] for its W, A, R
//! and S). It then acknowledges the write at once and answers every read first (unless
//! another replica also has `R + S = 0`, when the lower index wins), which is what a
//! coordinator that is itself a replica does. The model has one coordinator for both
//! operations; a reader in another data centre is modelled by giving it the R and S of its
//! own links, with the caveat that the write's W and A stay those of the writer's links.
//!
//! Deliberately left out: read repair and anti-entropy (a replica gets the write only from
//! the coordinator's message, as in the paper), concurrent or newer writes (there is one
//! write; "returns that write or newer" is "returns that write"), message loss and failures,
//! sloppy quorums and hinted handoff, correlated delays (every sample is independent, as in
//! [`DelayModel`]), and the paper's k-staleness (versions) closed form.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::net::delay::DelayModel;

/// Why a PBS configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PbsError {
    #[error("n (replicas) must be at least 1")]
    NoReplicas,
    #[error("{quorum} must be between 1 and n = {n}, got {value}")]
    Quorum {
        quorum: &'static str,
        value: usize,
        n: usize,
    },
    #[error("{delays} delays: need one per replica (n = {n}), got {len}")]
    Delays {
        delays: &'static str,
        len: usize,
        n: usize,
    },
}

/// A validated partial-quorum configuration with the delay distributions of its messages.
#[derive(Debug, Clone, PartialEq)]
pub struct PbsConfig {
    n: usize,
    r: usize,
    w: usize,
    write: Vec<DelayModel>,
    ack: Vec<DelayModel>,
    read: Vec<DelayModel>,
    response: Vec<DelayModel>,
}

impl PbsConfig {
    /// `n` replicas, read quorum `r`, write quorum `w`, and per replica (index `i` is replica
    /// `i`) the delays W (`write`), A (`ack`), R (`read`) and S (`response`).
    pub fn new(
        n: usize,
        r: usize,
        w: usize,
        write: Vec<DelayModel>,
        ack: Vec<DelayModel>,
        read: Vec<DelayModel>,
        response: Vec<DelayModel>,
    ) -> Result<Self, PbsError> {
        if n == 0 {
            return Err(PbsError::NoReplicas);
        }
        for (quorum, value) in [("r", r), ("w", w)] {
            if !(1..=n).contains(&value) {
                return Err(PbsError::Quorum { quorum, value, n });
            }
        }
        for (delays, v) in [
            ("write (W)", &write),
            ("ack (A)", &ack),
            ("read (R)", &read),
            ("response (S)", &response),
        ] {
            if v.len() != n {
                return Err(PbsError::Delays {
                    delays,
                    len: v.len(),
                    n,
                });
            }
        }
        Ok(PbsConfig {
            n,
            r,
            w,
            write,
            ack,
            read,
            response,
        })
    }

    /// Every replica with the same W, A, R and S distributions.
    pub fn same_delays(
        n: usize,
        r: usize,
        w: usize,
        write: DelayModel,
        ack: DelayModel,
        read: DelayModel,
        response: DelayModel,
    ) -> Result<Self, PbsError> {
        PbsConfig::new(
            n,
            r,
            w,
            vec![write; n],
            vec![ack; n],
            vec![read; n],
            vec![response; n],
        )
    }

    pub fn n(&self) -> usize {
        self.n
    }

    pub fn r(&self) -> usize {
        self.r
    }

    pub fn w(&self) -> usize {
        self.w
    }

    /// W per replica.
    pub fn write(&self) -> &[DelayModel] {
        &self.write
    }

    /// A per replica.
    pub fn ack(&self) -> &[DelayModel] {
        &self.ack
    }

    /// R per replica.
    pub fn read(&self) -> &[DelayModel] {
        &self.read
    }

    /// S per replica.
    pub fn response(&self) -> &[DelayModel] {
        &self.response
    }

    /// True when every read quorum meets every write quorum (`r + w > n`): `P = 1`.
    pub fn strict(&self) -> bool {
        self.r + self.w > self.n
    }
}

/// The thresholds of a Monte Carlo sample of the WARS model: per trial, the smallest time
/// after the acknowledgement (in microseconds, possibly negative) from which the read is
/// consistent. Sorted ascending.
#[derive(Debug, Clone)]
pub struct Thresholds {
    sorted_us: Vec<f64>,
}

impl Thresholds {
    /// Runs `trials` trials (0 is taken as 1: an estimate needs a trial) seeded by `seed`.
    pub fn simulate(cfg: &PbsConfig, trials: usize, seed: u64) -> Thresholds {
        let trials = trials.max(1);
        let n = cfg.n;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut w = vec![0.0; n];
        let mut wa = vec![0.0; n];
        let mut r = vec![0.0; n];
        let mut rs: Vec<(f64, usize)> = vec![(0.0, 0); n];
        let mut sorted_us = Vec::with_capacity(trials);
        for _ in 0..trials {
            for (i, m) in cfg.write.iter().enumerate() {
                w[i] = m.sample_us(&mut rng);
            }
            for (i, m) in cfg.ack.iter().enumerate() {
                wa[i] = w[i] + m.sample_us(&mut rng);
            }
            for (i, m) in cfg.read.iter().enumerate() {
                r[i] = m.sample_us(&mut rng);
            }
            for (i, m) in cfg.response.iter().enumerate() {
                rs[i] = (r[i] + m.sample_us(&mut rng), i);
            }
            // The w-th smallest W + A.
            let (_, &mut ack, _) = wa.select_nth_unstable_by(cfg.w - 1, f64::total_cmp);
            // The first r responders (smallest R + S, then lowest index), in any order.
            rs.select_nth_unstable_by(cfg.r - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let threshold = rs[..cfg.r]
                .iter()
                .map(|&(_, i)| w[i] - r[i] - ack)
                .fold(f64::INFINITY, f64::min);
            sorted_us.push(threshold);
        }
        sorted_us.sort_unstable_by(f64::total_cmp);
        Thresholds { sorted_us }
    }

    pub fn trials(&self) -> usize {
        self.sorted_us.len()
    }

    /// The estimated P(a read started `t_us` after the acknowledgement returns the write).
    pub fn p_consistent(&self, t_us: u64) -> f64 {
        let t = t_us as f64;
        let consistent = self.sorted_us.partition_point(|&x| x <= t);
        consistent as f64 / self.sorted_us.len().max(1) as f64
    }

    /// The smallest whole `t` (microseconds) with `P(t) >= p` in this sample; `None` when
    /// `p` is above 1 or not a number. `p <= 0` gives `Some(0)`.
    pub fn t_visibility(&self, p: f64) -> Option<u64> {
        if p.is_nan() || p > 1.0 {
            return None;
        }
        if p <= 0.0 {
            return Some(0);
        }
        let total = self.sorted_us.len();
        // The fewest consistent trials `need` with need / total >= p, from an estimate
        // corrected against the exact test (rounding in `p * total` may be one off).
        let share = |k: usize| k as f64 / total as f64;
        let mut need = ((p * total as f64).ceil() as usize).clamp(1, total);
        while need > 1 && share(need - 1) >= p {
            need -= 1;
        }
        while need < total && share(need) < p {
            need += 1;
        }
        let threshold = self.sorted_us[need - 1];
        // P(t) >= p iff t >= threshold; the smallest such whole t >= 0 (saturating `as`).
        Some(threshold.max(0.0).ceil() as u64)
    }
}

/// P(a read started `t` after the write's acknowledgement returns it) for each of
/// `times_us`, from `trials` trials of the WARS model seeded by `seed` (same seed, same
/// numbers). All times share the same trials (see the module doc); `trials == 0` is taken
/// as 1.
pub fn p_consistent(cfg: &PbsConfig, times_us: &[u64], trials: usize, seed: u64) -> Vec<f64> {
    let th = Thresholds::simulate(cfg, trials, seed);
    times_us.iter().map(|&t| th.p_consistent(t)).collect()
}

/// The smallest whole `t` in microseconds with `P(t) >= p` (e.g. `p = 0.999`: "99.9% of reads
/// `t` after the acknowledgement see the write"), exact for the sample of `trials` trials
/// (the `p`-quantile of the thresholds, not a grid search). `None` when `p` is above 1 or
/// not a number.
pub fn t_visibility(cfg: &PbsConfig, p: f64, trials: usize, seed: u64) -> Option<u64> {
    Thresholds::simulate(cfg, trials, seed).t_visibility(p)
}

/// First time of [`curve_points`]: 0.1 ms.
pub const CURVE_FROM_US: u64 = 100;
/// Decades [`curve_points`] spans: 0.1 ms to 10 s.
pub const CURVE_DECADES: u32 = 5;
/// Points per decade of [`curve_points`].
pub const CURVE_POINTS_PER_DECADE: u32 = 20;

/// The times of [`curve_points`], in microseconds: log-spaced, [`CURVE_POINTS_PER_DECADE`]
/// a decade, from 0.1 ms to 10 s inclusive (101 points), rounded to whole microseconds.
pub fn curve_times_us() -> Vec<u64> {
    let steps = CURVE_DECADES * CURVE_POINTS_PER_DECADE;
    (0..=steps)
        .map(|k| {
            let decades = f64::from(k) / f64::from(CURVE_POINTS_PER_DECADE);
            (CURVE_FROM_US as f64 * 10f64.powf(decades)).round() as u64
        })
        .collect()
}

/// The predicted curve as `(milliseconds since the write's acknowledgement, P)`, at
/// [`curve_times_us`], in the units of the measured visibility curve (`report::data::
/// visibility`), for a log x axis in milliseconds. `t = 0` is not on it (a log axis cannot
/// show it); ask [`p_consistent`] for `&[0]`.
pub fn curve_points(cfg: &PbsConfig, trials: usize, seed: u64) -> Vec<(f64, f64)> {
    let th = Thresholds::simulate(cfg, trials, seed);
    curve_times_us()
        .into_iter()
        .map(|t| (t as f64 / 1e3, th.p_consistent(t)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use std::time::Duration;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn c(v: u64) -> DelayModel {
        DelayModel::constant(ms(v))
    }

    fn exp(mean_ms: u64) -> DelayModel {
        DelayModel::exponential(ms(mean_ms), Duration::ZERO).unwrap()
    }

    fn grid() -> Vec<u64> {
        vec![
            0, 100, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 1_000_000,
        ]
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let same = |n, r, w| PbsConfig::same_delays(n, r, w, c(1), c(1), c(1), c(1));
        assert_eq!(same(0, 1, 1), Err(PbsError::NoReplicas));
        assert!(matches!(
            same(3, 0, 1),
            Err(PbsError::Quorum { quorum: "r", .. })
        ));
        assert!(matches!(
            same(3, 1, 4),
            Err(PbsError::Quorum { quorum: "w", .. })
        ));
        let wrong = PbsConfig::new(
            3,
            1,
            1,
            vec![c(1); 3],
            vec![c(1); 2],
            vec![c(1); 3],
            vec![c(1); 3],
        );
        assert_eq!(
            wrong,
            Err(PbsError::Delays {
                delays: "ack (A)",
                len: 2,
                n: 3
            })
        );
        assert!(same(3, 3, 3).is_ok());
    }

    /// Section 2 (strict quorums): every read quorum meets the write quorum, whatever the
    /// delays, including heavy-tailed ones.
    #[test]
    fn strict_quorums_always_see_the_write() {
        let pareto = DelayModel::pareto(ms(1), 1.5).unwrap();
        for (n, r, w) in [
            (3, 2, 2),
            (3, 1, 3),
            (3, 3, 1),
            (5, 3, 3),
            (5, 1, 5),
            (5, 4, 2),
        ] {
            let cfg =
                PbsConfig::same_delays(n, r, w, pareto.clone(), exp(5), exp(5), pareto.clone())
                    .unwrap();
            assert!(cfg.strict());
            let p = p_consistent(&cfg, &grid(), 20_000, 1);
            assert!(p.iter().all(|&p| p == 1.0), "n={n} r={r} w={w}: {p:?}");
            assert_eq!(t_visibility(&cfg, 1.0, 20_000, 1), Some(0));
        }
    }

    /// w = n: the write is everywhere when it is acknowledged, even with one reader (r = 1),
    /// and even when replicas differ.
    #[test]
    fn write_all_always_sees_the_write() {
        let far = DelayModel::log_normal(ms(80), 0.5, ms(20)).unwrap();
        let cfg = PbsConfig::new(
            3,
            1,
            3,
            vec![exp(1), far.clone(), far.clone()],
            vec![exp(1), far.clone(), far.clone()],
            vec![c(0), far.clone(), exp(3)],
            vec![c(0), far.clone(), exp(3)],
        )
        .unwrap();
        let p = p_consistent(&cfg, &grid(), 20_000, 2);
        assert!(p.iter().all(|&p| p == 1.0), "{p:?}");
    }

    /// Worked by hand. n = 3, r = 1, w = 1, A = 0. Replica 0 gets the write after 10 ms,
    /// replicas 1 and 2 after 50 ms, so ack = 10 ms. S makes replica 1 answer first
    /// (R + S: 5, 1, 2 ms), and its read request takes R_1 = 0, so it has the write iff
    /// 50 <= 10 + t: P = 0 below t = 40 ms and 1 from it. With R_1 = 15 ms (and S = 20, 0,
    /// 20 ms, so that it still answers first: R + S = 20, 15, 20) the request arrives 15 ms
    /// later, 50 <= 10 + t + 15: the step moves to 25 ms.
    /// r = 2 adds replica 2 (W = 50 too): the same step. r = 3 adds replica 0: always 1.
    #[test]
    fn constant_delays_match_hand_computation() {
        let cfg = |r, read_1: u64, s: [u64; 3]| {
            PbsConfig::new(
                3,
                r,
                1,
                vec![c(10), c(50), c(50)],
                vec![c(0); 3],
                vec![c(0), c(read_1), c(0)],
                s.iter().map(|&v| c(v)).collect(),
            )
            .unwrap()
        };
        let times = [0, 39_999, 40_000, 100_000];
        let step40 = vec![0.0, 0.0, 1.0, 1.0];
        assert_eq!(p_consistent(&cfg(1, 0, [5, 1, 2]), &times, 100, 3), step40);
        assert_eq!(p_consistent(&cfg(2, 0, [5, 1, 2]), &times, 100, 3), step40);
        assert_eq!(
            p_consistent(&cfg(3, 0, [5, 1, 2]), &times, 100, 3),
            vec![1.0; 4]
        );
        let early = cfg(1, 15, [20, 0, 20]);
        assert_eq!(
            p_consistent(&early, &[24_999, 25_000], 100, 3),
            vec![0.0, 1.0]
        );
        assert_eq!(t_visibility(&early, 0.5, 100, 3), Some(25_000));
        assert_eq!(
            t_visibility(&cfg(1, 0, [5, 1, 2]), 1.0, 100, 3),
            Some(40_000)
        );
        // Ties in R + S go to the lower index: all 0 -> replica 0, which has the write.
        assert_eq!(
            p_consistent(&cfg(1, 0, [0, 0, 0]), &times, 100, 3),
            vec![1.0; 4]
        );
    }

    /// The same constant writes, but a read that goes to a uniformly random replica (i.i.d.
    /// continuous S): before 40 ms only replica 0 (1 in 3) has the write; from 40 ms all do.
    #[test]
    fn random_read_target_sees_the_write_one_time_in_three() {
        let s = DelayModel::uniform(ms(1), ms(2)).unwrap();
        let cfg = PbsConfig::new(
            3,
            1,
            1,
            vec![c(10), c(50), c(50)],
            vec![c(0); 3],
            vec![c(0); 3],
            vec![s; 3],
        )
        .unwrap();
        let p = p_consistent(&cfg, &[0, 39_999, 40_000], 60_000, 4);
        // 4.5 standard errors of a share of 1/3 over 60,000 trials.
        let tol = 4.5 * (1.0f64 / 3.0 * 2.0 / 3.0 / 60_000.0).sqrt();
        assert!((p[0] - 1.0 / 3.0).abs() < tol, "{p:?}");
        assert_eq!(p[0], p[1]);
        assert_eq!(p[2], 1.0);
    }

    fn binomial(n: u64, k: u64) -> f64 {
        if k > n {
            return 0.0;
        }
        (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
    }

    /// Closed form. With A = R = 0, W_i = offset + Exp(mean) i.i.d. and a uniformly random
    /// read quorum (i.i.d. continuous S): the w replicas with the smallest W have the write
    /// at ack, and by memorylessness the other n - w have it at ack + Exp(mean) i.i.d. The
    /// read is stale iff all r readers are among those n - w (C(n-w, r) / C(n, r)) and none
    /// of the r has it by t (e^(-r t / mean)):
    /// P(t) = 1 - C(n-w, r) / C(n, r) * e^(-r t / mean).
    #[test]
    fn exponential_writes_match_closed_form() {
        let mean_us = 10_000.0;
        let write = DelayModel::exponential(ms(10), ms(7)).unwrap();
        let s = DelayModel::uniform(ms(1), ms(30)).unwrap();
        let trials = 60_000;
        for (n, r, w) in [(3, 1, 1), (5, 2, 1), (5, 1, 2), (5, 2, 2), (3, 2, 2)] {
            let cfg =
                PbsConfig::same_delays(n, r, w, write.clone(), c(0), c(0), s.clone()).unwrap();
            let times = grid();
            let got = p_consistent(&cfg, &times, trials, 5);
            let stale0 = binomial(n as u64 - w as u64, r as u64) / binomial(n as u64, r as u64);
            for (&t, &p) in times.iter().zip(&got) {
                let want = 1.0 - stale0 * (-(r as f64) * t as f64 / mean_us).exp();
                let tol = 4.5 * (want * (1.0 - want) / trials as f64).sqrt() + 1e-9;
                assert!(
                    (p - want).abs() <= tol,
                    "n={n} r={r} w={w} t={t}: got {p}, want {want}"
                );
            }
        }
    }

    /// The WARS model simulated the slow, obvious way: per time and per trial, fresh draws
    /// of everything, full sorts, and the paper's inequality as written.
    fn brute_force(cfg: &PbsConfig, t_us: u64, trials: usize, rng: &mut impl Rng) -> f64 {
        let n = cfg.n();
        let mut consistent = 0;
        for _ in 0..trials {
            let w: Vec<f64> = cfg.write().iter().map(|m| m.sample_us(rng)).collect();
            let a: Vec<f64> = cfg.ack().iter().map(|m| m.sample_us(rng)).collect();
            let r: Vec<f64> = cfg.read().iter().map(|m| m.sample_us(rng)).collect();
            let s: Vec<f64> = cfg.response().iter().map(|m| m.sample_us(rng)).collect();
            let mut acks: Vec<f64> = (0..n).map(|i| w[i] + a[i]).collect();
            acks.sort_by(|x, y| x.partial_cmp(y).unwrap());
            let ack = acks[cfg.w() - 1];
            let read_at = ack + t_us as f64;
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&i, &j| (r[i] + s[i]).partial_cmp(&(r[j] + s[j])).unwrap());
            if order[..cfg.r()].iter().any(|&i| w[i] <= read_at + r[i]) {
                consistent += 1;
            }
        }
        consistent as f64 / trials as f64
    }

    /// n = 3, r = 1, w = 1 with every delay exponential (and a slower remote replica): the
    /// curve rises monotonically from P(0) to ~1 and agrees with the brute-force simulation.
    #[test]
    fn exponential_wars_matches_brute_force() {
        let cfg = PbsConfig::new(
            3,
            1,
            1,
            vec![exp(2), exp(2), exp(20)],
            vec![exp(2), exp(2), exp(20)],
            vec![exp(2), exp(2), exp(20)],
            vec![exp(2), exp(2), exp(20)],
        )
        .unwrap();
        let times = grid();
        let trials = 40_000;
        let got = p_consistent(&cfg, &times, trials, 6);
        assert!(got.windows(2).all(|p| p[0] <= p[1]), "{got:?}");
        assert!(got[0] < 0.9, "P(0) = {}", got[0]);
        assert!(got[times.len() - 1] > 0.9999, "{got:?}");
        let mut rng = ChaCha8Rng::seed_from_u64(1_000);
        for (&t, &p) in times.iter().zip(&got) {
            let want = brute_force(&cfg, t, trials, &mut rng);
            // Two independent estimates: their difference has twice the variance.
            let var = 2.0 * want * (1.0 - want) / trials as f64;
            let tol = 4.5 * var.sqrt() + 2.0 / trials as f64;
            assert!(
                (p - want).abs() <= tol,
                "t={t}: got {p}, brute force {want}"
            );
        }
    }

    /// A coordinator that is a replica (zero delays for replica 0) acknowledges at once and
    /// reads from itself first: P = 1 with r = w = 1.
    #[test]
    fn local_replica_with_zero_delays_sees_its_own_write() {
        let cfg = PbsConfig::new(
            3,
            1,
            1,
            vec![DelayModel::zero(), exp(30), exp(30)],
            vec![DelayModel::zero(), exp(30), exp(30)],
            vec![DelayModel::zero(), exp(30), exp(30)],
            vec![DelayModel::zero(), exp(30), exp(30)],
        )
        .unwrap();
        let p = p_consistent(&cfg, &grid(), 10_000, 7);
        assert!(p.iter().all(|&p| p == 1.0), "{p:?}");
    }

    fn lognormal_cfg() -> PbsConfig {
        let d = DelayModel::log_normal(ms(5), 1.0, ms(1)).unwrap();
        PbsConfig::same_delays(5, 1, 2, d.clone(), d.clone(), d.clone(), d).unwrap()
    }

    #[test]
    fn same_seed_same_numbers() {
        let cfg = lognormal_cfg();
        let a = p_consistent(&cfg, &grid(), 5_000, 42);
        assert_eq!(a, p_consistent(&cfg, &grid(), 5_000, 42));
        assert_ne!(a, p_consistent(&cfg, &grid(), 5_000, 43));
        assert_eq!(
            t_visibility(&cfg, 0.99, 5_000, 42),
            t_visibility(&cfg, 0.99, 5_000, 42)
        );
        assert_eq!(curve_points(&cfg, 5_000, 42), curve_points(&cfg, 5_000, 42));
    }

    /// t_visibility(p) is the smallest whole t with P(t) >= p on the same sample.
    #[test]
    fn t_visibility_is_the_smallest_t_reaching_p() {
        let cfg = lognormal_cfg();
        let th = Thresholds::simulate(&cfg, 10_000, 8);
        assert_eq!(th.trials(), 10_000);
        let p0 = th.p_consistent(0);
        let ps: Vec<f64> = [0.5, 0.8, 0.9, 0.99, 0.999, 1.0]
            .into_iter()
            .filter(|&p| p > p0)
            .collect();
        assert!(ps.len() >= 4, "P(0) = {p0}");
        for p in ps {
            let t = th.t_visibility(p).unwrap();
            assert!(t > 0, "p={p}");
            assert!(th.p_consistent(t) >= p, "p={p} t={t}");
            assert!(th.p_consistent(t - 1) < p, "p={p} t={t}");
            assert_eq!(t_visibility(&cfg, p, 10_000, 8), Some(t));
        }
        assert_eq!(th.t_visibility(0.0), Some(0));
        assert_eq!(th.t_visibility(th.p_consistent(0)), Some(0));
        assert_eq!(th.t_visibility(1.01), None);
        assert_eq!(th.t_visibility(f64::NAN), None);
        // Zero trials are one trial.
        assert_eq!(p_consistent(&cfg, &[0, 10_000_000], 0, 8).len(), 2);
    }

    #[test]
    fn curve_points_are_log_spaced_from_a_tenth_of_a_ms_to_ten_s() {
        let times = curve_times_us();
        assert_eq!(times.len(), 101);
        assert_eq!(times[0], 100);
        assert_eq!(times[20], 1_000);
        assert_eq!(times[100], 10_000_000);
        assert!(times.windows(2).all(|t| t[1] as f64 / t[0] as f64 > 1.1));
        let cfg = lognormal_cfg();
        let points = curve_points(&cfg, 10_000, 9);
        let p = p_consistent(&cfg, &times, 10_000, 9);
        assert_eq!(points.len(), times.len());
        for ((&(x, y), &t), &q) in points.iter().zip(&times).zip(&p) {
            assert_eq!(x, t as f64 / 1e3);
            assert_eq!(y, q);
        }
        assert_eq!(points[0].0, 0.1);
        assert_eq!(points[100].0, 10_000.0);
        assert!(points.windows(2).all(|w| w[0].1 <= w[1].1));
    }

    /// Not a benchmark: run once in release mode to see the cost of 100,000 trials for 20
    /// times (`cargo test --release --lib pbs -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn timing_100k_trials_20_times() {
        let cfg = PbsConfig::same_delays(3, 1, 1, exp(5), exp(5), exp(5), exp(5)).unwrap();
        let times: Vec<u64> = (0..20).map(|k| k * 1_000).collect();
        let start = std::time::Instant::now();
        let p = p_consistent(&cfg, &times, 100_000, 10);
        let n3 = start.elapsed();
        let cfg5 = PbsConfig::same_delays(5, 2, 2, exp(5), exp(5), exp(5), exp(5)).unwrap();
        let start = std::time::Instant::now();
        let p5 = p_consistent(&cfg5, &times, 100_000, 10);
        let n5 = start.elapsed();
        println!(
            "n=3: {n3:?} (P(0) = {}), n=5: {n5:?} (P(0) = {})",
            p[0], p5[0]
        );
    }
}
