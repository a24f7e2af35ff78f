//! Summaries of a metric over the repetitions of one sweep point: the mean and its 95%
//! confidence interval.
//!
//! The interval is Student's t interval of the mean: `mean ± t(0.975, n - 1) · s / √n`,
//! with `s` the sample standard deviation (divisor `n - 1`) and the quantile from `statrs`.
//! It assumes the repetitions are independent draws of a roughly normal quantity; a p99
//! over a few seconds is not quite that, so the band is a guide to noise, not a test.
//! Repetitions without a value (a metric with nothing to measure, a repetition that
//! failed) are left out: the mean is over the others and `n` says how many there were.
//! One value gives a mean without an interval.
//!
//! Deliberately left out: other confidence levels, bootstrap intervals, and outlier
//! rejection (every repetition counts).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Confidence level of every interval.
pub const CONFIDENCE: f64 = 0.95;

/// One metric over the repetitions of a point (and a variant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricStats {
    /// Mean of the values present (`null`: no repetition had a value).
    pub mean: Option<f64>,
    /// Lower end of the 95% interval of the mean (`null` with fewer than two values).
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// How many repetitions had a value.
    pub n: usize,
    /// Per repetition, in repetition order (`null`: no value).
    pub values: Vec<Option<f64>>,
}

impl MetricStats {
    /// The mean and interval of `values` (missing ones skipped), each rounded to 6
    /// decimals like the other recorded numbers.
    pub fn of(values: Vec<Option<f64>>) -> MetricStats {
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        let n = present.len();
        let (mean, ci) = match mean_ci(&present) {
            Some((m, ci)) => (Some(m), ci),
            None => (None, None),
        };
        MetricStats {
            mean: mean.map(round6),
            ci_low: ci.map(|c| round6(c.0)),
            ci_high: ci.map(|c| round6(c.1)),
            n,
            values,
        }
    }

    /// Half the interval's width (`None` without an interval).
    pub fn half_width(&self) -> Option<f64> {
        Some((self.ci_high? - self.ci_low?) / 2.0)
    }
}

/// The mean of `xs` and its 95% t interval (`None` for fewer than two values); `None`
/// for no values.
pub fn mean_ci(xs: &[f64]) -> Option<(f64, Option<(f64, f64)>)> {
    let n = xs.len();
    if n == 0 {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Some((mean, None));
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t_quantile(n - 1)? * (var / n as f64).sqrt();
    Some((mean, Some((mean - half, mean + half))))
}

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom, i.e.
/// `t(0.975, df)` (12.706 for 1, 1.96 as `df` grows); `None` for `df = 0`.
pub fn t_quantile(df: usize) -> Option<f64> {
    let t = StudentsT::new(0.0, 1.0, df as f64).ok()?;
    Some(t.inverse_cdf(1.0 - (1.0 - CONFIDENCE) / 2.0))
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn t_quantiles_match_the_published_table() {
        // Two-sided 95% critical values from any t table.
        for (df, t) in [
            (1, 12.706),
            (2, 4.303),
            (3, 3.182),
            (4, 2.776),
            (9, 2.262),
            (29, 2.045),
            (99, 1.984),
        ] {
            let q = t_quantile(df).unwrap();
            assert!(close(q, t, 5e-4), "df {df}: {q} vs {t}");
        }
        assert!(close(t_quantile(100_000).unwrap(), 1.960, 1e-3));
        assert_eq!(t_quantile(0), None);
    }

    #[test]
    fn the_interval_of_known_data() {
        // 2, 4, 6: mean 4, s = 2, half width = 4.303 * 2 / sqrt(3) = 4.9687.
        let (mean, ci) = mean_ci(&[2.0, 4.0, 6.0]).unwrap();
        assert_eq!(mean, 4.0);
        let (lo, hi) = ci.unwrap();
        assert!(close(lo, 4.0 - 4.9687, 1e-3), "{lo}");
        assert!(close(hi, 4.0 + 4.9687, 1e-3), "{hi}");
        // Equal values: no spread, a zero-width interval.
        assert_eq!(mean_ci(&[5.0, 5.0]), Some((5.0, Some((5.0, 5.0)))));
        assert_eq!(mean_ci(&[7.0]), Some((7.0, None)));
        assert_eq!(mean_ci(&[]), None);
    }

    #[test]
    fn missing_values_are_left_out_and_counted() {
        let s = MetricStats::of(vec![Some(10.0), None, Some(14.0)]);
        assert_eq!(s.n, 2);
        assert_eq!(s.mean, Some(12.0));
        // s = 2.828, half = 12.706 * 2.828 / sqrt(2) = 25.412.
        assert!(close(s.half_width().unwrap(), 25.412, 1e-2), "{s:?}");
        assert_eq!(s.values, [Some(10.0), None, Some(14.0)]);
        let one = MetricStats::of(vec![None, Some(3.0)]);
        assert_eq!((one.mean, one.ci_low, one.n), (Some(3.0), None, 1));
        let none = MetricStats::of(vec![None, None]);
        assert_eq!((none.mean, none.half_width(), none.n), (None, None, 0));
    }
}
