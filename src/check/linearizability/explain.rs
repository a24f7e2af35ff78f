//! Counterexamples and reports in plain words: one sentence per common shape of anomaly,
//! and the operations with their times.
//!
//! Deliberately left out: anything the times and values do not show (no guess at a cause).

use std::fmt;

use super::{Counterexample, Report};
use crate::history::{OpKind, OpRecord, Outcome};

/// Microseconds on the run clock, as seconds.
fn secs(us: u64) -> String {
    format!("{}.{:06} s", us / 1_000_000, us % 1_000_000)
}

fn shown(value: Option<&str>) -> &str {
    value.unwrap_or("no value")
}

/// One sentence on what is wrong with `ops` (sorted by invoke), for the common shapes; a
/// general statement otherwise. Only says what the times and values show.
pub(super) fn explain(ops: &[&OpRecord], related: &[&OpRecord]) -> String {
    let is_read = |op: &&OpRecord| op.kind == OpKind::Read;
    let ok_write = |op: &&OpRecord| op.kind == OpKind::Write && op.outcome == Outcome::Ok;
    let reads: Vec<&OpRecord> = ops.iter().copied().filter(is_read).collect();
    let writes: Vec<&OpRecord> = ops.iter().copied().filter(|op| !is_read(op)).collect();
    let wrote = |w: &OpRecord, r: &OpRecord| w.value.is_some() && w.value == r.value;

    match (writes.as_slice(), reads.as_slice()) {
        ([], [r]) => {
            let label = shown(r.value.as_deref());
            let mut s = format!(
                "op {} read {label}, but no write of {label} to {} took effect",
                r.id, r.key
            );
            if let Some(f) = related.first() {
                s.push_str(&format!(" (op {} tried to write it and failed)", f.id));
            }
            s
        }
        ([w], [r]) if wrote(w, r) && r.complete_us < w.invoke_us => format!(
            "op {} returned {} at {}, before op {} began writing it at {}",
            r.id,
            shown(r.value.as_deref()),
            secs(r.complete_us),
            w.id,
            secs(w.invoke_us)
        ),
        ([w], [r]) if r.value.is_none() && ok_write(w) && w.complete_us < r.invoke_us => {
            format!(
                "stale read: op {} began at {}, after op {}'s write of {} had completed at {}, \
                 yet found no value",
                r.id,
                secs(r.invoke_us),
                w.id,
                shown(w.value.as_deref()),
                secs(w.complete_us)
            )
        }
        ([a, b], [r])
            if ok_write(a)
                && ok_write(b)
                && a.complete_us < b.invoke_us
                && b.complete_us < r.invoke_us
                && wrote(a, r) =>
        {
            format!(
                "stale read: op {} began at {}, after op {}'s write of {} had completed at {} \
                 (and that write began after op {}'s write of {} completed), yet returned the \
                 older {}",
                r.id,
                secs(r.invoke_us),
                b.id,
                shown(b.value.as_deref()),
                secs(b.complete_us),
                a.id,
                shown(a.value.as_deref()),
                shown(r.value.as_deref())
            )
        }
        ([w], [ra, rb]) if rb.value.is_none() && wrote(w, ra) && ra.complete_us < rb.invoke_us => {
            format!(
                "non-monotonic reads: op {} began at {}, after op {} had returned {} at {}, \
                 yet found no value",
                rb.id,
                secs(rb.invoke_us),
                ra.id,
                shown(ra.value.as_deref()),
                secs(ra.complete_us)
            )
        }
        ([a, b], [ra, rb])
            if ok_write(a)
                && a.complete_us < b.invoke_us
                && wrote(b, ra)
                && wrote(a, rb)
                && ra.complete_us < rb.invoke_us =>
        {
            format!(
                "non-monotonic reads: op {} began at {}, after op {} had returned {} at {}, yet \
                 returned the older {} (op {}'s write of {} began after op {}'s write of {} \
                 completed)",
                rb.id,
                secs(rb.invoke_us),
                ra.id,
                shown(ra.value.as_deref()),
                secs(ra.complete_us),
                shown(rb.value.as_deref()),
                b.id,
                shown(b.value.as_deref()),
                a.id,
                shown(a.value.as_deref())
            )
        }
        _ => "no order of these operations both respects their real-time order (an operation \
              that completed before another was invoked comes first) and has every read \
              return the latest value written before it"
            .to_string(),
    }
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "key {}: {} operation{} with no linearization{}:",
            self.key,
            self.ops.len(),
            if self.ops.len() == 1 { "" } else { "s" },
            if self.minimal {
                ""
            } else {
                " (not shrunk to a minimum: time limit)"
            }
        )?;
        for op in &self.ops {
            write_op(f, op)?;
        }
        if !self.related.is_empty() {
            writeln!(f, "  related (never took effect):")?;
            for op in &self.related {
                write_op(f, op)?;
            }
        }
        writeln!(f, "  why: {}", self.explanation)
    }
}

fn write_op(f: &mut fmt::Formatter<'_>, op: &OpRecord) -> fmt::Result {
    let what = match op.kind {
        OpKind::Write => format!("wrote {}", shown(op.value.as_deref())),
        OpKind::Read => format!("read {}", shown(op.value.as_deref())),
    };
    let end = match op.outcome {
        Outcome::Ok => format!("completed {}", secs(op.complete_us)),
        Outcome::Fail => format!("failed at {}", secs(op.complete_us)),
        Outcome::Unknown => format!(
            "no answer, gave up at {} (may have taken effect later)",
            secs(op.complete_us)
        ),
    };
    writeln!(
        f,
        "  op {}: {} {what}, invoked {}, {end}, via {}",
        op.id,
        op.client,
        secs(op.invoke_us),
        op.node.as_deref().unwrap_or("no node")
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.counts();
        let total = self.keys.len();
        let took = format!(
            "{} operations, {total} keys, checked in {:.3} s",
            self.checked_ops,
            self.elapsed.as_secs_f64()
        );
        match self.verdict {
            Some(true) => writeln!(f, "linearizable ({took})")?,
            Some(false) => writeln!(
                f,
                "NOT linearizable: {} of {total} keys ({took}; {} unknown)",
                c.not_linearizable, c.unknown
            )?,
            None => writeln!(
                f,
                "unknown: time limit of {:.3} s reached with {} of {total} keys undecided ({took})",
                self.time_limit.as_secs_f64(),
                c.unknown
            )?,
        }
        for ce in self.counterexamples() {
            write!(f, "{ce}")?;
        }
        Ok(())
    }
}
