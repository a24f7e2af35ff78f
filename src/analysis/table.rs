//! The compact terminal report of `caplab check`: one row per variant, then one line per
//! variant saying whether it met its claim (or that its record is `INVALID` or
//! `INCOMPLETE`, and why), and for anomalies why, with the smallest example.
//!
//! Deliberately left out: colour and breakdowns (they are in `summary.json`).

use std::fmt::Write as _;

use super::latency::DurationStats;
use super::session::Example;
use super::summary::{RunSummary, VariantEntry};
use super::variant::VariantSummary;
use super::verdict::ClaimStatus;
use super::Verdict;
use crate::history::{OpKind, Outcome};

const HEADER: [&str; 13] = [
    "variant",
    "kind",
    "ops",
    "ok",
    "read p50/p99",
    "write p50/p99",
    "stale",
    "friend stale",
    "lin",
    "RYW/MR",
    "lost",
    "conv",
    "msg/op",
];

pub fn render(run: &RunSummary) -> String {
    let mut rows: Vec<Vec<String>> = vec![HEADER.iter().map(|s| s.to_string()).collect()];
    for (name, entry) in &run.variants {
        rows.push(match entry {
            VariantEntry::Analysed(v) => row(name, v),
            VariantEntry::Skipped { kind, status, .. } => {
                let mut r = vec![
                    name.clone(),
                    kind.as_str().to_string(),
                    format!("({status})"),
                ];
                r.resize(HEADER.len(), String::new());
                r
            }
        });
    }
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, &w))| {
                if c < 2 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out.push('\n');
    for (name, entry) in &run.variants {
        match entry {
            VariantEntry::Analysed(v) => verdict_lines(&mut out, name, v),
            VariantEntry::Skipped { status, error, .. } => {
                let _ = writeln!(
                    out,
                    "{name}: not analysed ({status}{})",
                    error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    for r in &run.reasons {
        let _ = writeln!(out, "{r}");
    }
    let _ = writeln!(
        out,
        "verdict: {}",
        match run.verdict {
            Verdict::Consistent => "every variant met the consistency it claims",
            Verdict::Anomaly => "anomaly found",
            Verdict::Incomplete =>
                "INCOMPLETE: only part of the run was recorded; no claim is judged on it",
            Verdict::Invalid =>
                "INVALID: caplab failed or the record is corrupt; the numbers describe the lab, not the system",
        }
    );
    out
}

fn ms(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    if ms < 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

fn pair(l: &Option<DurationStats>) -> String {
    match l {
        Some(s) => format!("{}/{} ms", ms(s.p50), ms(s.p99)),
        None => "-".to_string(),
    }
}

fn pct(f: Option<f64>) -> String {
    match f {
        Some(f) => format!("{:.1}%", f * 100.0),
        None => "-".to_string(),
    }
}

fn yes_no(b: Option<bool>) -> String {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "?",
    }
    .to_string()
}

fn row(name: &str, v: &VariantSummary) -> Vec<String> {
    let friend = v
        .breakdown
        .by_device
        .get("friend")
        .and_then(|g| g.stale_fraction);
    // An untrusted record's numbers are the lab's, not the system's: say so in the row.
    let name = match v.verdict.status {
        ClaimStatus::Invalid | ClaimStatus::Incomplete => {
            format!("{name} [{}]", v.verdict.status.as_str())
        }
        _ => name.to_string(),
    };
    vec![
        name,
        v.kind.clone(),
        v.availability.ops.to_string(),
        pct(v.availability.ok_fraction),
        pair(&v.reads.latency_us),
        pair(&v.writes.latency_us),
        pct(v.reads.stale_fraction),
        pct(friend),
        yes_no(v.linearizable),
        format!(
            "{}/{}",
            v.session.read_your_writes_violations, v.session.monotonic_read_violations
        ),
        v.lost_writes.to_string(),
        match (v.convergence.converged, v.convergence.expected) {
            (Some(c), true) => yes_no(Some(c)),
            (Some(c), false) => format!("{} (cut)", yes_no(Some(c))),
            (None, _) => "?".to_string(),
        },
        v.messages_per_op
            .map_or_else(|| "-".to_string(), |m| format!("{m:.1}")),
    ]
}

fn verdict_lines(out: &mut String, name: &str, v: &VariantSummary) {
    let status = match v.verdict.status {
        ClaimStatus::Met => "met",
        ClaimStatus::NotMet => "NOT MET",
        ClaimStatus::Undecided => "undecided",
        ClaimStatus::Incomplete => "INCOMPLETE record, not judged",
        ClaimStatus::Invalid => "INVALID record, not judged",
    };
    let _ = writeln!(out, "{name}: claims {}: {status}", v.verdict.claim);
    for r in &v.verdict.reasons {
        let _ = writeln!(out, "  {r}");
    }
    if v.lost_writes > 0 && v.lost.unexplained == 0 {
        if let Some(why) = &v.lost.explained_by {
            let _ = writeln!(out, "  {} lost writes, all explained: {why}", v.lost_writes);
        }
    }
    for f in &v.availability.faults {
        let _ =
            writeln!(
            out,
            "  faults[{}] {} at {:.1}s{}: ok {}, stale {} (friends {}), recovered {}, converged {}",
            f.fault,
            f.kind,
            f.start_s,
            f.end_s.map(|e| format!("-{e:.1}s")).unwrap_or_default(),
            pct(f.ok_fraction),
            pct(f.stale_fraction),
            pct(f.stale_by_device.get("friend").and_then(|d| d.stale_fraction)),
            f.recovery_us
                .map_or_else(|| "-".to_string(), |us| format!("after {}s", us / 1_000_000)),
            f.converged_after_us.map_or_else(
                || "-".to_string(),
                |us| format!("{} ms after the end", ms(us))
            ),
        );
    }
    if v.verdict.met == Some(false) {
        let example = v
            .linearizability
            .counterexample
            .as_ref()
            .map(|c| Example {
                explanation: c.explanation.clone(),
                ops: c.ops.clone(),
            })
            .into_iter()
            .chain(v.lost.examples.vanished.iter().cloned())
            .chain(v.lost.examples.inversions.iter().cloned())
            .min_by_key(|e| e.ops.len());
        if let Some(e) = example {
            let _ = writeln!(out, "  smallest example: {}", e.explanation);
            for op in &e.ops {
                let _ = writeln!(
                    out,
                    "    #{} {} {} {} {} [{}, {}] us {}",
                    op.id,
                    op.client,
                    match op.kind {
                        OpKind::Read => "read",
                        OpKind::Write => "write",
                    },
                    op.key,
                    op.value.as_deref().unwrap_or("null"),
                    op.invoke_us,
                    op.complete_us,
                    match op.outcome {
                        Outcome::Ok => "ok",
                        Outcome::Fail => "fail",
                        Outcome::Unknown => "unknown",
                    }
                );
            }
        }
    }
}
