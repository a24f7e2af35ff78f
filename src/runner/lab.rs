//! The lab's own failures, kept apart from the system's: the open-file budget of a run and
//! the recorder of `lab_error` events.
//!
//! A run on loopback TCP needs a file descriptor per listener and two per connection (the
//! connecting and the accepted socket live in the same process). [`ensure_files`] raises
//! the soft open-file limit to the hard limit, estimates what the variant needs
//! ([`files_needed`]) and refuses to start when it cannot fit, instead of letting sockets
//! fail mid-run where the losses would look like unavailability.
//!
//! Whatever still goes wrong in the lab during a run (a socket, bind, accept or connect
//! failure in the link layer, an operation the lab could not send, a pacer far behind its
//! schedule, a history record that never reached the file) is handed to the
//! [`LabRecorder`], which writes it as a `lab_error` event into the variant's
//! `events.jsonl` (the analysis turns any of them into the verdict `invalid`) and counts it
//! for the runner's [`super::VariantOutcome`].
//!
//! Deliberately left out: retrying what the lab failed to do (a retried operation would not
//! be the open-loop schedule any more), and budgets other than open files (memory, ports:
//! their failures are recorded when they happen).

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use rlimit::Resource;

use crate::history::{Event, EventKind, RecordSink, RunClock};

/// `lab_error` events written per source at most; later ones are only counted (a full
/// accept queue can fail thousands of times a second) and summed up in one last event.
pub const EVENTS_PER_SOURCE: u64 = 20;

/// File descriptors reserved beyond the estimate: record files, the delay-line and pacer
/// threads' handles, the tokio runtime, a crash's old connections closing late.
const SPARE_FILES: u64 = 64;

/// The open-file limit cannot hold the run.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error(
        "this variant needs about {need} open files ({nodes} nodes, {clients} client \
         endpoints, {open} already open) but the open-file limit is {soft} (hard limit \
         {hard}); raise it (e.g. `ulimit -n {need}` as a user allowed to) or run fewer \
         nodes or users"
    )]
    TooFewFiles {
        need: u64,
        soft: u64,
        hard: u64,
        nodes: u64,
        clients: u64,
        open: u64,
    },
    #[error("reading or raising the open-file limit: {0}")]
    Os(#[from] std::io::Error),
}

/// File descriptors a variant with `nodes` nodes and `clients` client endpoints needs at
/// most, beyond those already open: one listener per endpoint; a connection (two
/// descriptors) per directed node-to-node link; two connections per client (requests to
/// its node, answers back, as each client talks to one node); per node a few files of
/// durable state; and [`SPARE_FILES`].
pub fn files_needed(nodes: u64, clients: u64) -> u64 {
    let listeners = nodes + clients;
    let node_links = 2 * nodes * nodes.saturating_sub(1);
    let client_links = 2 * 2 * clients;
    let durable = 4 * nodes;
    listeners + node_links + client_links + durable + SPARE_FILES
}

/// Raises the soft open-file limit to the hard limit and checks that a variant of this
/// size fits; returns the soft limit now in force.
pub fn ensure_files(nodes: u64, clients: u64) -> Result<u64, LimitError> {
    let (soft, hard) = Resource::NOFILE.get()?;
    let soft = if soft < hard {
        Resource::NOFILE.set(hard, hard)?;
        hard
    } else {
        soft
    };
    let open = open_files();
    let need = open + files_needed(nodes, clients);
    if need > soft {
        return Err(LimitError::TooFewFiles {
            need,
            soft,
            hard,
            nodes,
            clients,
            open,
        });
    }
    Ok(soft)
}

/// Descriptors this process has open now (0 where `/proc` cannot tell).
fn open_files() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

/// What the recorder saw, for the variant's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabTally {
    /// Every lab error, recorded as an event or not.
    pub total: u64,
    /// `source: detail` of those recorded as events.
    pub recorded: Vec<String>,
}

#[derive(Default)]
struct State {
    sink: Option<RecordSink<Event>>,
    per_source: BTreeMap<String, u64>,
    tally: LabTally,
}

/// Writes the lab's failures as `lab_error` events; cheap to clone, callable from any task
/// or thread.
#[derive(Clone)]
pub struct LabRecorder {
    clock: RunClock,
    state: Arc<Mutex<State>>,
}

impl LabRecorder {
    pub fn new(events: RecordSink<Event>, clock: RunClock) -> Self {
        LabRecorder {
            clock,
            state: Arc::new(Mutex::new(State {
                sink: Some(events),
                ..State::default()
            })),
        }
    }

    /// Records one failure of the lab (`source` names the part that failed, e.g.
    /// `net.connect` or `runner.pacer`).
    pub fn record(&self, source: &str, detail: String) {
        let mut st = self.state.lock();
        st.tally.total += 1;
        let n = st.per_source.entry(source.to_string()).or_insert(0);
        *n += 1;
        if *n > EVENTS_PER_SOURCE {
            return;
        }
        st.tally.recorded.push(format!("{source}: {detail}"));
        if let Some(sink) = &st.sink {
            sink.record(Event {
                t_us: self.clock.now_us(),
                kind: EventKind::LabError {
                    source: source.to_string(),
                    detail,
                },
            });
        }
    }

    /// Writes one summary event per source whose failures were only counted, lets go of
    /// the events file (so that it can be finished) and returns the tally. Failures
    /// recorded later are counted but not written.
    pub fn close(&self) -> LabTally {
        let mut st = self.state.lock();
        let mut over: Vec<(String, u64)> = st
            .per_source
            .iter()
            .filter(|(_, n)| **n > EVENTS_PER_SOURCE)
            .map(|(s, n)| (s.clone(), *n))
            .collect();
        over.sort();
        if let Some(sink) = st.sink.take() {
            for (source, n) in over {
                sink.record(Event {
                    t_us: self.clock.now_us(),
                    kind: EventKind::LabError {
                        detail: format!(
                            "{} more failures of this kind were counted but not recorded \
                             one by one ({n} in all)",
                            n - EVENTS_PER_SOURCE
                        ),
                        source,
                    },
                });
            }
        }
        st.tally.clone()
    }

    /// A recording function that does not keep the recorder (and so the events file)
    /// alive: once the recorder is dropped, it does nothing. For hooks held by long-lived
    /// objects such as the network.
    pub fn weak_hook(&self) -> impl Fn(&str, String) + Send + Sync + 'static {
        let clock = self.clock;
        let state = Arc::downgrade(&self.state);
        move |source, detail| {
            if let Some(state) = state.upgrade() {
                LabRecorder { clock, state }.record(source, detail);
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.state.lock().tally.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::JsonlWriter;

    #[test]
    fn the_estimate_grows_with_the_square_of_the_nodes() {
        // 32 nodes need ~2,000 descriptors for their mesh alone: more than a soft limit of
        // 1,024, the case that used to look like 50% unavailability.
        assert!(files_needed(32, 0) > 1024 + 900);
        assert!(files_needed(5, 20) < 400);
        assert_eq!(
            files_needed(3, 2) - files_needed(3, 1),
            1 + 4,
            "a client costs a listener and two connections"
        );
    }

    #[test]
    fn a_limit_too_small_is_refused_with_the_numbers() {
        let err = ensure_files(1_000_000, 0).unwrap_err().to_string();
        assert!(
            err.contains("needs about") && err.contains("1000000 nodes"),
            "{err}"
        );
    }

    #[test]
    fn failures_become_events_and_floods_are_summed_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let writer = JsonlWriter::<Event>::create(&path).unwrap();
        let lab = LabRecorder::new(writer.sink(), RunClock::start());
        lab.record("net.connect", "a -> b: too many open files".into());
        for i in 0..EVENTS_PER_SOURCE + 5 {
            lab.record("net.accept", format!("failure {i}"));
        }
        let tally = lab.close();
        lab.record("runner.pacer", "after close".into());
        writer.finish().unwrap();
        assert_eq!(tally.total, EVENTS_PER_SOURCE + 6);
        let text = std::fs::read_to_string(&path).unwrap();
        let events: Vec<Event> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let lab_errors: Vec<(&str, &str)> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::LabError { source, detail } => Some((source.as_str(), detail.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(lab_errors.len() as u64, 1 + EVENTS_PER_SOURCE + 1);
        assert_eq!(lab_errors[0].0, "net.connect");
        assert!(lab_errors
            .last()
            .unwrap()
            .1
            .contains(&format!("({} in all)", EVENTS_PER_SOURCE + 5)));
    }
}
