//! Can a variant's record be trusted? The checks that decide whether a verdict may say
//! `met` at all.
//!
//! | finding | verdict |
//! |---|---|
//! | a `lab_error` event (caplab itself failed: sockets, pacer, recorder) | `invalid` |
//! | an op id recorded twice, or not in `schedule.jsonl` | `invalid` |
//! | an operation whose `scheduled_us` is not its schedule entry's offset | `invalid` |
//! | fewer history records than the runner counted (records dropped) | `invalid` |
//! | an empty history from a variant that ran to its end | `invalid` |
//! | acknowledged writes but an empty `events.jsonl` (every write is applied somewhere) | `invalid` |
//! | the variant is still `running` in `run.json` (killed, e.g. `kill -9`) | `incomplete` |
//! | a cut-off last line in `history.jsonl` or `events.jsonl` | `incomplete` |
//! | `events.jsonl` missing | `incomplete` |
//! | an empty history after an interruption | `incomplete` |
//!
//! `invalid` wins over `incomplete`. Either way the claim is not judged (`met` is `null`):
//! what the checks found on the partial or corrupt record is kept in the reasons, and such a
//! run is never counted as an anomaly or as unavailability of the system.
//!
//! Deliberately left out: repairing a record (e.g. dropping duplicates) and checking each
//! operation's fields against its schedule entry beyond its time.

use super::history::VariantHistory;
use super::load::{EventsFile, ScheduleOffsets};
use crate::run_dir::manifest::VariantStatus;

/// How many lab errors a verdict quotes before "and N more".
const QUOTED_LAB_ERRORS: usize = 3;

/// What is wrong with a record, in words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Integrity {
    /// Reasons the record cannot be trusted at all.
    pub invalid: Vec<String>,
    /// Reasons the record is only a part of the run.
    pub incomplete: Vec<String>,
}

/// What is known about a variant besides its history.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub status: VariantStatus,
    pub events: EventsFile,
    /// `schedule.jsonl`, when the run directory has it.
    pub schedule: Option<&'a ScheduleOffsets>,
    /// Operations of the schedule (`run.json`'s `operations`).
    pub scheduled: usize,
    /// Operations the runner counted (`run.json`'s `outcome.operations`), once it ended.
    pub counted: Option<u64>,
    /// Start of the measured window, if known.
    pub window_start_us: Option<u64>,
}

impl Integrity {
    pub fn is_clean(&self) -> bool {
        self.invalid.is_empty() && self.incomplete.is_empty()
    }
}

/// The start of the measured window recovered from the history: an operation's
/// `scheduled_us` minus its offset in the schedule (for a variant killed before `run.json`
/// recorded its outcome).
pub fn recover_window_start(h: &VariantHistory, schedule: &ScheduleOffsets) -> Option<u64> {
    h.ops.iter().find_map(|op| {
        let at = *schedule.at_us.get(usize::try_from(op.id).ok()?)?;
        op.scheduled_us.checked_sub(at)
    })
}

/// Judges the record of one variant.
pub fn assess(h: &VariantHistory, facts: &Facts) -> Integrity {
    let mut out = Integrity::default();
    lab_errors(h, &mut out);
    ids(h, facts, &mut out);
    if let Some(counted) = facts.counted {
        let recorded = h.ops.len() as u64;
        if recorded < counted {
            out.invalid.push(format!(
                "history.jsonl has {recorded} operations but the runner completed {counted}: \
                 {} records were dropped",
                counted - recorded
            ));
        }
    }
    let acked = h.ops.iter().filter(|o| o.is_acked_write()).count();
    match facts.events {
        EventsFile::Missing => out
            .incomplete
            .push("events.jsonl is missing: faults, applies and lab errors are unknown".into()),
        EventsFile::Empty if acked > 0 => out.invalid.push(format!(
            "events.jsonl is empty although {acked} writes were acknowledged (every \
             acknowledged write is applied by some replica)"
        )),
        EventsFile::Empty | EventsFile::Events(_) => {}
    }
    if h.truncated_lines > 0 {
        out.incomplete.push(format!(
            "{} cut-off last line(s) skipped: the run was killed while writing",
            h.truncated_lines
        ));
    }
    match facts.status {
        VariantStatus::Running => out.incomplete.push(
            "run.json still says running: the run was killed (or is still going) during \
             this variant; only what reached the files is analysed"
                .into(),
        ),
        VariantStatus::Interrupted if h.ops.is_empty() => out
            .incomplete
            .push("interrupted before any operation completed: the history is empty".into()),
        _ if h.ops.is_empty() => out.invalid.push(if facts.scheduled == 0 {
            "the history is empty: the schedule has no operation, nothing was measured".into()
        } else {
            format!(
                "the history is empty although the variant ran to its end and {} operations \
                 were scheduled",
                facts.scheduled
            )
        }),
        _ => {}
    }
    out
}

fn lab_errors(h: &VariantHistory, out: &mut Integrity) {
    for e in h.lab_errors.iter().take(QUOTED_LAB_ERRORS) {
        out.invalid.push(format!(
            "lab error at {:.3}s ({}): {}",
            e.t_us as f64 / 1e6,
            e.source,
            e.detail
        ));
    }
    if h.lab_errors.len() > QUOTED_LAB_ERRORS {
        out.invalid.push(format!(
            "and {} more lab errors",
            h.lab_errors.len() - QUOTED_LAB_ERRORS
        ));
    }
}

/// Duplicate op ids, ids outside the schedule, and operations at the wrong scheduled time.
fn ids(h: &VariantHistory, facts: &Facts, out: &mut Integrity) {
    let len = facts.schedule.map_or(facts.scheduled, |s| s.at_us.len());
    let mut seen = vec![false; len];
    let (mut duplicates, mut unknown, mut misplaced) = (0u64, 0u64, 0u64);
    let (mut first_dup, mut first_unknown, mut first_misplaced) = (None, None, None);
    for op in &h.ops {
        let Some(slot) = usize::try_from(op.id).ok().and_then(|i| seen.get_mut(i)) else {
            unknown += 1;
            first_unknown.get_or_insert(op.id);
            continue;
        };
        if std::mem::replace(slot, true) {
            duplicates += 1;
            first_dup.get_or_insert(op.id);
        }
        let expected = facts
            .schedule
            .zip(facts.window_start_us)
            .and_then(|(s, w)| Some(w + *s.at_us.get(op.id as usize)?));
        if expected.is_some_and(|t| t != op.scheduled_us) {
            misplaced += 1;
            first_misplaced.get_or_insert(op.id);
        }
    }
    let source = if facts.schedule.is_some() {
        "schedule.jsonl"
    } else {
        "the schedule (run.json's operations)"
    };
    if let Some(id) = first_dup {
        out.invalid.push(format!(
            "{duplicates} operation records repeat an op id already recorded (first: #{id})"
        ));
    }
    if let Some(id) = first_unknown {
        out.invalid.push(format!(
            "{unknown} operations have op ids outside {source}, which has {len} (first: #{id})"
        ));
    }
    if let Some(id) = first_misplaced {
        out.invalid.push(format!(
            "{misplaced} operations were scheduled at another time than schedule.jsonl says \
             (first: #{id})"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Device, Event, EventKind, OpKind, OpRecord, Outcome};

    fn op(id: u64, kind: OpKind, scheduled_us: u64) -> OpRecord {
        OpRecord {
            id,
            client: "alice/phone".into(),
            user: "alice".into(),
            device: Device::Phone,
            dc: "eu".into(),
            node: Some("eu-1".into()),
            kind,
            key: "alice".into(),
            value: Some("alice#1".into()),
            bytes: 1,
            scheduled_us,
            invoke_us: scheduled_us,
            complete_us: scheduled_us + 10,
            outcome: Outcome::Ok,
            version: None,
            error: None,
        }
    }

    fn apply() -> Event {
        Event {
            t_us: 5,
            kind: EventKind::Apply {
                node: "eu-1".into(),
                key: "alice".into(),
                value: "alice#1".into(),
            },
        }
    }

    fn facts(schedule: &ScheduleOffsets) -> Facts<'_> {
        Facts {
            status: VariantStatus::Ok,
            events: EventsFile::Events(1),
            schedule: Some(schedule),
            scheduled: schedule.at_us.len(),
            counted: Some(2),
            window_start_us: Some(1000),
        }
    }

    #[test]
    fn a_clean_record_is_clean() {
        let s = ScheduleOffsets {
            at_us: vec![0, 100],
        };
        let h = VariantHistory::from_records(
            [op(0, OpKind::Write, 1000), op(1, OpKind::Read, 1100)],
            [apply()],
        );
        assert_eq!(assess(&h, &facts(&s)), Integrity::default());
        assert_eq!(recover_window_start(&h, &s), Some(1000));
    }

    #[test]
    fn duplicate_unknown_and_misplaced_ids_make_it_invalid() {
        let s = ScheduleOffsets {
            at_us: vec![0, 100],
        };
        let h = VariantHistory::from_records(
            [
                op(0, OpKind::Write, 1000),
                op(0, OpKind::Write, 1000),
                op(7, OpKind::Read, 1100),
                op(1, OpKind::Read, 1200),
            ],
            [apply()],
        );
        let i = assess(&h, &facts(&s));
        assert_eq!(i.invalid.len(), 3, "{i:?}");
        assert!(i.invalid[0].contains("repeat an op id") && i.invalid[0].contains("#0"));
        assert!(i.invalid[1].contains("outside schedule.jsonl") && i.invalid[1].contains("#7"));
        assert!(i.invalid[2].contains("another time") && i.invalid[2].contains("#1"));
    }

    #[test]
    fn lab_errors_dropped_records_and_empty_events_make_it_invalid() {
        let s = ScheduleOffsets {
            at_us: vec![0, 100, 200, 300, 400],
        };
        let lab = |i| Event {
            t_us: 2_000_000,
            kind: EventKind::LabError {
                source: "net".into(),
                detail: format!("accept failed {i}"),
            },
        };
        let h = VariantHistory::from_records([op(0, OpKind::Write, 1000)], (0..5).map(lab));
        let mut f = facts(&s);
        f.counted = Some(3);
        let i = assess(&h, &f);
        assert!(i.invalid[0].contains("lab error at 2.000s (net): accept failed 0"));
        assert!(i.invalid.iter().any(|r| r == "and 2 more lab errors"));
        assert!(i
            .invalid
            .iter()
            .any(|r| r.contains("2 records were dropped")));
        let h = VariantHistory::from_records([op(0, OpKind::Write, 1000)], []);
        f.events = EventsFile::Empty;
        f.counted = Some(1);
        let i = assess(&h, &f);
        assert!(
            i.invalid
                .iter()
                .any(|r| r.contains("events.jsonl is empty")),
            "{i:?}"
        );
    }

    #[test]
    fn empty_histories_are_never_clean() {
        let s = ScheduleOffsets::default();
        let h = VariantHistory::new();
        let mut f = facts(&s);
        f.counted = Some(0);
        f.events = EventsFile::Empty;
        assert!(assess(&h, &f).invalid[0].contains("the schedule has no operation"));
        f.status = VariantStatus::Interrupted;
        let i = assess(&h, &f);
        assert!(
            i.invalid.is_empty() && i.incomplete[0].contains("interrupted"),
            "{i:?}"
        );
    }

    #[test]
    fn killed_runs_cut_lines_and_missing_events_make_it_incomplete() {
        let s = ScheduleOffsets { at_us: vec![0] };
        let mut h = VariantHistory::from_records([op(0, OpKind::Read, 1000)], []);
        h.truncated_lines = 1;
        let mut f = facts(&s);
        f.status = VariantStatus::Running;
        f.counted = None;
        f.events = EventsFile::Missing;
        let i = assess(&h, &f);
        assert!(i.invalid.is_empty(), "{i:?}");
        assert_eq!(i.incomplete.len(), 3, "{i:?}");
    }
}
