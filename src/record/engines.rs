//! Do the two engines agree? Two runs of the same experiment and seed, one per engine,
//! side by side: per variant, latency medians and tails, stale share, availability and the
//! verdict, each with whether the sim run is within tolerance of the real one.
//!
//! Tolerances (the issue's): latencies within 5% of the real value or 2 ms, whichever is
//! larger (p50 is judged; p99 is shown, as tails depend on the real machine's scheduling
//! noise that the sim engine does not have); shares within 2 percentage points; the same
//! verdict. `caplab compare REAL SIM` prints this table and writes it as `engines.json`
//! into the comparison folder; `scripts/engines.sh` runs experiments both ways and compares.
//!
//! Deliberately left out: judging tails and costs (messages, bytes): shown, not judged.

use serde::Serialize;

use crate::analysis::{RunSummary, VariantEntry};
use crate::experiment::Engine;
use crate::sweep::metric::{Metric, Unit};

/// The metrics shown, and whether each is judged.
const ROWS: [(Metric, bool); 8] = [
    (Metric::ReadP50Ms, true),
    (Metric::ReadP99Ms, false),
    (Metric::WriteP50Ms, true),
    (Metric::WriteP99Ms, false),
    (Metric::StaleShare, true),
    (Metric::Availability, true),
    (Metric::ConvergenceP50Ms, false),
    (Metric::MessagesPerOp, false),
];

/// Latency tolerance: relative part.
const REL: f64 = 0.05;
/// Latency tolerance: absolute floor, in ms.
const ABS_MS: f64 = 2.0;
/// Share tolerance (2 percentage points).
const SHARE: f64 = 0.02;

/// One metric of one variant in both engines.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub variant: String,
    pub metric: &'static str,
    pub real: Option<f64>,
    pub sim: Option<f64>,
    /// `None` when the metric is shown, not judged, or missing on a side.
    pub agree: Option<bool>,
}

/// The comparison of a real and a sim run.
#[derive(Debug, Clone, Serialize)]
pub struct EngineComparison {
    pub experiment: String,
    pub seed: Option<u64>,
    pub rows: Vec<Row>,
    /// Per variant: (real verdict, sim verdict).
    pub verdicts: Vec<(String, String, String)>,
    /// Every judged metric and every verdict agrees.
    pub agree: bool,
}

/// Compares `a` and `b` when they are the same experiment and seed on different engines;
/// `None` otherwise.
pub fn compare(a: &RunSummary, b: &RunSummary) -> Option<EngineComparison> {
    let (real, sim) = match (a.engine, b.engine) {
        (Engine::Real, Engine::Sim) => (a, b),
        (Engine::Sim, Engine::Real) => (b, a),
        _ => return None,
    };
    if real.experiment != sim.experiment || real.seed != sim.seed {
        return None;
    }
    let mut rows = Vec::new();
    let mut verdicts = Vec::new();
    let mut agree = true;
    for (name, r) in &real.variants {
        let Some((_, s)) = sim.variants.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let (VariantEntry::Analysed(r), VariantEntry::Analysed(s)) = (r, s) else {
            continue;
        };
        for (metric, judged) in ROWS {
            let (rv, sv) = (metric.value(r), metric.value(s));
            let ok = match (judged, rv, sv) {
                (true, Some(x), Some(y)) => Some(within(metric.unit(), x, y)),
                _ => None,
            };
            agree &= ok != Some(false);
            rows.push(Row {
                variant: name.clone(),
                metric: metric.name(),
                real: rv,
                sim: sv,
                agree: ok,
            });
        }
        let (rv, sv) = (r.verdict.status.as_str(), s.verdict.status.as_str());
        agree &= rv == sv;
        verdicts.push((name.clone(), rv.to_string(), sv.to_string()));
    }
    Some(EngineComparison {
        experiment: real.experiment.clone(),
        seed: real.seed,
        rows,
        verdicts,
        agree,
    })
}

fn within(unit: Unit, real: f64, sim: f64) -> bool {
    let d = (real - sim).abs();
    match unit {
        Unit::Share => d <= SHARE + 1e-12,
        _ => d <= (real.abs() * REL).max(ABS_MS) + 1e-9,
    }
}

impl EngineComparison {
    /// The terminal table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "engines: {} (seed {}), real vs sim\n{:<14} {:<20} {:>10} {:>10}  agree\n",
            self.experiment,
            self.seed.map_or("?".into(), |s| s.to_string()),
            "variant",
            "metric",
            "real",
            "sim"
        );
        let num = |v: Option<f64>, m: &str| match v {
            None => "-".to_string(),
            Some(x) if m.ends_with("share") || m == "availability" => {
                format!("{:.1}%", x * 100.0)
            }
            Some(x) => format!("{x:.1}"),
        };
        for r in &self.rows {
            out.push_str(&format!(
                "{:<14} {:<20} {:>10} {:>10}  {}\n",
                r.variant,
                r.metric,
                num(r.real, r.metric),
                num(r.sim, r.metric),
                match r.agree {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => "(shown)",
                }
            ));
        }
        for (v, r, s) in &self.verdicts {
            out.push_str(&format!(
                "{v:<14} {:<20} {r:>10} {s:>10}  {}\n",
                "verdict",
                if r == s { "yes" } else { "NO" }
            ));
        }
        out.push_str(if self.agree {
            "the engines agree (latency p50 within 5% or 2 ms, shares within 2 points, same verdicts)\n"
        } else {
            "the engines DISAGREE on the rows marked NO\n"
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances() {
        assert!(within(Unit::Ms, 100.0, 104.9));
        assert!(!within(Unit::Ms, 100.0, 105.5));
        assert!(within(Unit::Ms, 1.0, 2.9));
        assert!(!within(Unit::Ms, 1.0, 3.1));
        assert!(within(Unit::Share, 0.10, 0.119));
        assert!(!within(Unit::Share, 0.10, 0.121));
    }
}
