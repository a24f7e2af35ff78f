//! One-way delay distributions for simulated links.
//!
//! A [`DelayModel`] is a validated distribution of one-way delays that the link layer samples
//! once per message. Construction checks the parameters (so sampling cannot fail); sampling
//! is a pure function of the caller's RNG, which keeps runs reproducible from a seed.
//!
//! Deliberately left out: correlated delays (each message is sampled independently; per-link
//! FIFO, applied by the link layer, is the only coupling between consecutive messages) and
//! bandwidth limits (a message's size does not change its delay).

use std::fmt;
use std::time::Duration;

use rand::distr::weighted::WeightedIndex;
use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Pareto, Uniform};

/// Why a delay distribution's parameters were rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DelayError {
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> DelayError {
    DelayError::Invalid(msg.into())
}

/// A validated one-way delay distribution. Values are kept in microseconds as `f64`.
#[derive(Debug, Clone, PartialEq)]
pub enum DelayModel {
    /// Always the same delay.
    Constant { us: f64 },
    /// Uniform between `low` and `high` (inclusive).
    Uniform {
        low_us: f64,
        high_us: f64,
        dist: Uniform<f64>,
    },
    /// Normal with the given mean and standard deviation, truncated at zero.
    Normal {
        mean_us: f64,
        stddev_us: f64,
        dist: Normal<f64>,
    },
    /// `offset` plus an exponential with the given mean.
    Exponential {
        offset_us: f64,
        mean_us: f64,
        dist: Exp<f64>,
    },
    /// Pareto with minimum `scale` and tail index `shape` (heavy-tailed WAN delays).
    Pareto {
        scale_us: f64,
        shape: f64,
        dist: Pareto<f64>,
    },
    /// `offset` plus a log-normal whose median is `median` and whose log-space standard
    /// deviation is `sigma`.
    LogNormal {
        offset_us: f64,
        median_us: f64,
        sigma: f64,
        dist: LogNormal<f64>,
    },
    /// A weighted choice between other models (e.g. 95% fast path, 5% slow path).
    Mixture {
        components: Vec<(f64, DelayModel)>,
        index: WeightedIndex<f64>,
    },
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

impl DelayModel {
    /// Zero delay.
    pub fn zero() -> Self {
        DelayModel::Constant { us: 0.0 }
    }

    pub fn constant(value: Duration) -> Self {
        DelayModel::Constant { us: us(value) }
    }

    pub fn uniform(low: Duration, high: Duration) -> Result<Self, DelayError> {
        if low > high {
            return Err(invalid("low must not be greater than high"));
        }
        let dist = Uniform::new_inclusive(us(low), us(high)).map_err(|e| invalid(e.to_string()))?;
        Ok(DelayModel::Uniform {
            low_us: us(low),
            high_us: us(high),
            dist,
        })
    }

    pub fn normal(mean: Duration, stddev: Duration) -> Result<Self, DelayError> {
        let dist = Normal::new(us(mean), us(stddev)).map_err(|e| invalid(e.to_string()))?;
        Ok(DelayModel::Normal {
            mean_us: us(mean),
            stddev_us: us(stddev),
            dist,
        })
    }

    pub fn exponential(mean: Duration, offset: Duration) -> Result<Self, DelayError> {
        if mean.is_zero() {
            return Err(invalid("mean must be greater than 0"));
        }
        let dist = Exp::new(1.0 / us(mean)).map_err(|e| invalid(e.to_string()))?;
        Ok(DelayModel::Exponential {
            offset_us: us(offset),
            mean_us: us(mean),
            dist,
        })
    }

    pub fn pareto(scale: Duration, shape: f64) -> Result<Self, DelayError> {
        if scale.is_zero() {
            return Err(invalid("scale must be greater than 0"));
        }
        if !(shape.is_finite() && shape > 0.0) {
            return Err(invalid("shape must be a positive number"));
        }
        let dist = Pareto::new(us(scale), shape).map_err(|e| invalid(e.to_string()))?;
        Ok(DelayModel::Pareto {
            scale_us: us(scale),
            shape,
            dist,
        })
    }

    pub fn log_normal(median: Duration, sigma: f64, offset: Duration) -> Result<Self, DelayError> {
        if median.is_zero() {
            return Err(invalid("median must be greater than 0"));
        }
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(invalid("sigma must be a non-negative number"));
        }
        let dist = LogNormal::new(us(median).ln(), sigma).map_err(|e| invalid(e.to_string()))?;
        Ok(DelayModel::LogNormal {
            offset_us: us(offset),
            median_us: us(median),
            sigma,
            dist,
        })
    }

    pub fn mixture(components: Vec<(f64, DelayModel)>) -> Result<Self, DelayError> {
        if components.is_empty() {
            return Err(invalid("a mixture needs at least one component"));
        }
        if components
            .iter()
            .any(|(w, _)| !(w.is_finite() && *w >= 0.0))
        {
            return Err(invalid("weights must be non-negative numbers"));
        }
        let index = WeightedIndex::new(components.iter().map(|(w, _)| *w))
            .map_err(|_| invalid("weights must not all be zero"))?;
        Ok(DelayModel::Mixture { components, index })
    }

    /// True when every sample is zero, so the link layer can skip its delay line.
    pub fn is_zero(&self) -> bool {
        matches!(self, DelayModel::Constant { us } if *us <= 0.0)
    }

    /// Draws one delay, in microseconds (never negative).
    pub fn sample_us<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let v = match self {
            DelayModel::Constant { us } => *us,
            DelayModel::Uniform { dist, .. } => dist.sample(rng),
            DelayModel::Normal { dist, .. } => dist.sample(rng),
            DelayModel::Exponential {
                offset_us, dist, ..
            } => offset_us + dist.sample(rng),
            DelayModel::Pareto { dist, .. } => dist.sample(rng),
            DelayModel::LogNormal {
                offset_us, dist, ..
            } => offset_us + dist.sample(rng),
            DelayModel::Mixture { components, index } => {
                components[index.sample(rng)].1.sample_us(rng)
            }
        };
        if v.is_finite() {
            v.max(0.0)
        } else {
            0.0
        }
    }

    /// Draws one delay.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        Duration::from_nanos((self.sample_us(rng) * 1e3) as u64)
    }

    /// The mean delay in microseconds, where it is finite (a Pareto with shape <= 1 has none).
    pub fn mean_us(&self) -> Option<f64> {
        match self {
            DelayModel::Constant { us } => Some(*us),
            DelayModel::Uniform {
                low_us, high_us, ..
            } => Some((low_us + high_us) / 2.0),
            // Truncation at zero is ignored: it matters only when stddev is close to the mean.
            DelayModel::Normal { mean_us, .. } => Some(*mean_us),
            DelayModel::Exponential {
                offset_us, mean_us, ..
            } => Some(offset_us + mean_us),
            DelayModel::Pareto {
                scale_us, shape, ..
            } => (*shape > 1.0).then(|| shape * scale_us / (shape - 1.0)),
            DelayModel::LogNormal {
                offset_us,
                median_us,
                sigma,
                ..
            } => Some(offset_us + median_us * (sigma * sigma / 2.0).exp()),
            DelayModel::Mixture { components, .. } => {
                let total: f64 = components.iter().map(|(w, _)| w).sum();
                let mut mean = 0.0;
                for (w, c) in components {
                    mean += w / total * c.mean_us()?;
                }
                Some(mean)
            }
        }
    }
}

fn fmt_us(f: &mut fmt::Formatter<'_>, v: f64) -> fmt::Result {
    if v >= 1000.0 {
        write!(f, "{}ms", (v / 1000.0 * 1000.0).round() / 1000.0)
    } else {
        write!(f, "{}us", v.round())
    }
}

impl fmt::Display for DelayModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DelayModel::Constant { us } => fmt_us(f, *us),
            DelayModel::Uniform {
                low_us, high_us, ..
            } => {
                write!(f, "uniform(")?;
                fmt_us(f, *low_us)?;
                write!(f, "..")?;
                fmt_us(f, *high_us)?;
                write!(f, ")")
            }
            DelayModel::Normal {
                mean_us, stddev_us, ..
            } => {
                write!(f, "normal(mean ")?;
                fmt_us(f, *mean_us)?;
                write!(f, ", sd ")?;
                fmt_us(f, *stddev_us)?;
                write!(f, ")")
            }
            DelayModel::Exponential {
                offset_us, mean_us, ..
            } => {
                write!(f, "exponential(mean ")?;
                fmt_us(f, *mean_us)?;
                if *offset_us > 0.0 {
                    write!(f, ", +")?;
                    fmt_us(f, *offset_us)?;
                }
                write!(f, ")")
            }
            DelayModel::Pareto {
                scale_us, shape, ..
            } => {
                write!(f, "pareto(scale ")?;
                fmt_us(f, *scale_us)?;
                write!(f, ", shape {shape})")
            }
            DelayModel::LogNormal {
                offset_us,
                median_us,
                sigma,
                ..
            } => {
                write!(f, "lognormal(median ")?;
                fmt_us(f, *median_us)?;
                write!(f, ", sigma {sigma}")?;
                if *offset_us > 0.0 {
                    write!(f, ", +")?;
                    fmt_us(f, *offset_us)?;
                }
                write!(f, ")")
            }
            DelayModel::Mixture { components, .. } => {
                write!(f, "mixture(")?;
                for (i, (w, c)) in components.iter().enumerate() {
                    if i > 0 {
                        write!(f, " | ")?;
                    }
                    write!(f, "{w}: {c}")?;
                }
                write!(f, ")")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn sample_mean(m: &DelayModel, n: usize) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        (0..n).map(|_| m.sample_us(&mut rng)).sum::<f64>() / n as f64
    }

    #[test]
    fn sample_means_match_analytic_means() {
        let models = [
            DelayModel::constant(ms(20)),
            DelayModel::uniform(ms(10), ms(30)).unwrap(),
            DelayModel::normal(ms(40), ms(2)).unwrap(),
            DelayModel::exponential(ms(5), ms(20)).unwrap(),
            DelayModel::pareto(ms(10), 3.0).unwrap(),
            DelayModel::log_normal(ms(30), 0.3, ms(0)).unwrap(),
            DelayModel::mixture(vec![
                (0.9, DelayModel::constant(ms(10))),
                (0.1, DelayModel::constant(ms(110))),
            ])
            .unwrap(),
        ];
        for m in &models {
            let want = m.mean_us().unwrap();
            let got = sample_mean(m, 200_000);
            assert!(
                (got - want).abs() / want < 0.02,
                "{m}: mean {got} want {want}"
            );
        }
    }

    #[test]
    fn samples_are_never_negative() {
        let m = DelayModel::normal(ms(1), ms(5)).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!((0..10_000).all(|_| m.sample_us(&mut rng) >= 0.0));
    }

    #[test]
    fn bad_parameters_are_rejected() {
        assert!(DelayModel::uniform(ms(30), ms(10)).is_err());
        assert!(DelayModel::exponential(ms(0), ms(0)).is_err());
        assert!(DelayModel::pareto(ms(1), 0.0).is_err());
        assert!(DelayModel::log_normal(ms(1), -1.0, ms(0)).is_err());
        assert!(DelayModel::mixture(vec![]).is_err());
        assert!(DelayModel::mixture(vec![(0.0, DelayModel::zero())]).is_err());
    }

    #[test]
    fn display_is_readable() {
        assert_eq!(DelayModel::constant(ms(40)).to_string(), "40ms");
        assert_eq!(
            DelayModel::normal(ms(20), Duration::from_micros(500))
                .unwrap()
                .to_string(),
            "normal(mean 20ms, sd 500us)"
        );
    }
}
