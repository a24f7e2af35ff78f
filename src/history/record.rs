//! Records of `history.jsonl` and `events.jsonl`.
//!
//! One [`OpRecord`] per client operation and one [`Event`] per thing that happened to the
//! system. Field names are the file format (see `docs/history-format.md`); changing one is a
//! format change. Times are microseconds on the run's [`super::RunClock`].
//!
//! Deliberately left out: picture bytes. A written value is recorded by its unique label
//! (`alice#17`); its size is in `bytes`.

use serde::{Deserialize, Serialize};

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    Write,
    Read,
}

/// Which of a user's devices (or which friend) issued an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// The owner's phone: updates the picture (and sometimes views it), wherever it is.
    Phone,
    /// The owner's laptop, in the owner's home DC: views the picture.
    Laptop,
    /// A friend of the owner, in another DC: views the picture.
    Friend,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Phone => "phone",
            Device::Laptop => "laptop",
            Device::Friend => "friend",
        }
    }
}

/// How an operation ended, from the client's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The system answered with success.
    Ok,
    /// The system answered with a definite failure: the operation did not take effect.
    Fail,
    /// No answer in time (or the connection broke): a write may still take effect.
    Unknown,
}

/// One client operation, as `history.jsonl` stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpRecord {
    /// Position in the workload schedule (the same in every variant of a run).
    pub id: u64,
    /// `<user>/<device>`, e.g. `alice/phone` or `alice/friend-asia`.
    pub client: String,
    /// The user whose profile this is.
    pub user: String,
    pub device: Device,
    /// The client's DC when it issued the operation.
    pub dc: String,
    /// The node the client talked to (`null` if it reached none).
    pub node: Option<String>,
    pub kind: OpKind,
    pub key: String,
    /// Written value, or the value a read returned (`null`: the key had no value).
    pub value: Option<String>,
    /// Size in bytes of the picture written or read.
    pub bytes: u64,
    /// When the open-loop schedule wanted the operation to start.
    pub scheduled_us: u64,
    /// When the client sent it (later than `scheduled_us` only if the client had to wait,
    /// e.g. for the user's previous write).
    pub invoke_us: u64,
    /// When the client got the answer or gave up.
    pub complete_us: u64,
    pub outcome: Outcome,
    /// Where the written value (for a write) or the returned value (for a read) stands in
    /// the system's own order of writes, compared lexicographically (absent when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Vec<u64>>,
    /// Why the operation did not succeed (absent when ok).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One line of `events.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub t_us: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened. Serialised with a `type` field, e.g. `{"t_us":5,"type":"crash","node":"eu-1"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A fault of the schedule began; `detail` says exactly what it did.
    FaultStart {
        fault: usize,
        kind: String,
        detail: String,
    },
    /// A fault of the schedule ended (healed, restarted, resumed, restored).
    FaultEnd {
        fault: usize,
        kind: String,
        detail: String,
    },
    /// A node saw a new leader for `term` (`leader` is `null` when it knows of none).
    LeaderChange {
        node: String,
        term: u64,
        leader: Option<String>,
    },
    /// caplab asked leader `from` to hand leadership to `to` (a Raft variant's `leader`
    /// placement); the `leader_change` events that follow show when it happened.
    LeaderTransfer {
        from: String,
        to: String,
    },
    Crash {
        node: String,
    },
    Restart {
        node: String,
    },
    Pause {
        node: String,
    },
    Resume {
        node: String,
    },
    /// A replica made `value` of `key` visible to its readers.
    Apply {
        node: String,
        key: String,
        value: String,
    },
    /// caplab itself failed during the run (a socket, accept or bind failure in the link
    /// layer, a pacer behind its schedule, a dropped record). `source` names the part of
    /// the lab (`net`, `pacer`, `recorder`, ...), `detail` says what happened. A run with
    /// any lab error is invalid: its numbers describe the lab, not the system under test.
    LabError {
        source: String,
        detail: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_have_the_documented_shape() {
        let op = OpRecord {
            id: 3,
            client: "alice/phone".into(),
            user: "alice".into(),
            device: Device::Phone,
            dc: "eu".into(),
            node: Some("eu-1".into()),
            kind: OpKind::Write,
            key: "profile/alice".into(),
            value: Some("alice#1".into()),
            bytes: 1024,
            scheduled_us: 10,
            invoke_us: 11,
            complete_us: 900,
            outcome: Outcome::Ok,
            version: Some(vec![1, 0, 2]),
            error: None,
        };
        let json = serde_json::to_string(&op).unwrap();
        assert!(json.contains(r#""kind":"write""#));
        assert!(json.contains(r#""outcome":"ok""#));
        assert!(!json.contains("error"));
        assert_eq!(serde_json::from_str::<OpRecord>(&json).unwrap(), op);

        let ev = Event {
            t_us: 5,
            kind: EventKind::Apply {
                node: "us-1".into(),
                key: "k".into(),
                value: "v".into(),
            },
        };
        let json = serde_json::to_string(&ev).unwrap();
        assert_eq!(
            json,
            r#"{"t_us":5,"type":"apply","node":"us-1","key":"k","value":"v"}"#
        );
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), ev);
    }
}
