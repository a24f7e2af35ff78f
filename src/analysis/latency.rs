//! Distributions of durations in microseconds: latencies, staleness ages, stable latency,
//! convergence lag.
//!
//! [`Durations`] records into an HdrHistogram (3 significant digits: every reported
//! percentile is within 0.1% of the exact value, in constant memory per breakdown) and
//! summarises as [`DurationStats`]: count, mean, p50, p90, p99, p99.9 and max (max exact).
//! [`exact_quantile`] is the nearest-rank percentile of a sorted slice, for the per-second
//! series where each second's samples are few.
//!
//! Deliberately left out: coordinated-omission correction. Latency is `complete_us -
//! invoke_us` as the issue defines it; the schedule's `scheduled_us` is in every record for
//! anyone who wants `complete_us - scheduled_us`.

use hdrhistogram::Histogram;
use serde::Serialize;

use super::error::AnalysisError;

/// Summary of a distribution of durations (microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DurationStats {
    pub count: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

/// A histogram of durations.
#[derive(Debug, Clone)]
pub struct Durations {
    hist: Histogram<u64>,
    /// Exact maximum (the histogram's is rounded up to its bucket).
    max: u64,
}

impl Durations {
    pub fn new() -> Result<Self, AnalysisError> {
        Ok(Durations {
            hist: Histogram::new(3)?,
            max: 0,
        })
    }

    pub fn record(&mut self, us: u64) {
        // The histogram grows as needed (`saturating_record` would clamp instead); only a
        // failed resize falls back to clamping.
        if self.hist.record(us).is_err() {
            self.hist.saturating_record(us);
        }
        self.max = self.max.max(us);
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// `None` when nothing was recorded.
    pub fn stats(&self) -> Option<DurationStats> {
        if self.hist.is_empty() {
            return None;
        }
        let h = &self.hist;
        Some(DurationStats {
            count: h.len(),
            mean: (h.mean() * 10.0).round() / 10.0,
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: self.max,
        })
    }
}

/// Nearest-rank `q`-quantile of an ascending slice (`None` if empty).
pub fn exact_quantile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_known_values() {
        let mut d = Durations::new().unwrap();
        assert!(d.stats().is_none());
        for v in 1..=1000u64 {
            d.record(v * 1000);
        }
        d.record(0);
        let s = d.stats().unwrap();
        assert_eq!(s.count, 1001);
        assert!((s.p50 as f64 - 500_000.0).abs() <= 500.0, "{s:?}");
        assert!((s.p99 as f64 - 990_000.0).abs() <= 1000.0, "{s:?}");
        assert_eq!(s.max, 1_000_000);
    }

    #[test]
    fn nearest_rank() {
        let v = [10, 20, 30, 40];
        assert_eq!(exact_quantile(&v, 0.5), Some(20));
        assert_eq!(exact_quantile(&v, 0.99), Some(40));
        assert_eq!(exact_quantile(&v, 0.0), Some(10));
        assert_eq!(exact_quantile(&[], 0.5), None);
    }
}
