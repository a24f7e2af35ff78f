//! Sweep keys: a dotted path such as `variants.gossip.gossip_interval` names one scalar
//! value of an experiment file, and `set` replaces that value in the TOML document.
//!
//! Each dot-separated segment is a key of a table, or, inside an array (`[[variants]]`,
//! `[[faults]]`, `[[topology.links]]`, inline arrays), either an index counting from 0 or
//! the `name` of an element (`variants.gossip`). Editing the document (rather than the
//! parsed experiment) means every swept experiment then goes through the normal parse and
//! validation, with the same rules and messages as a file written by hand; only the edited
//! value changes, so lines and columns of the rest of the file stay where they were.
//!
//! Deliberately left out: quoted keys containing dots, adding keys the file does not have
//! (the value in the file is the base the sweep replaces; a key that is not there is an
//! error, which also catches typos), and sweeping tables or arrays as a whole.

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

use crate::experiment::error::KeyPath;
use crate::experiment::raw::SweepValue;

/// A sweep key that does not name a single value of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("{key:?} is not a key path: write keys separated by single dots, e.g. \"workload.rate\" or \"variants.gossip.fanout\"")]
    Syntax { key: String },
    #[error("{at} has no key {segment:?} ({known}); write the key in the file first: its value there is the base the sweep replaces")]
    MissingKey {
        at: String,
        segment: String,
        known: String,
    },
    #[error("{at} has no element {segment:?} ({known})")]
    MissingElement {
        at: String,
        segment: String,
        known: String,
    },
    #[error("{at} is a single value; it has no key {segment:?}")]
    NotATable { at: String, segment: String },
    #[error("{at} is a table or an array; a sweep sets a single value (a string, number or boolean) such as {at}.<key>")]
    NotAValue { at: String },
}

/// Resolves `key` in `doc` without changing it: the index form of the path (e.g.
/// `variants[1].gossip_interval`, as validation errors name keys).
pub(crate) fn resolve(doc: &DocumentMut, key: &str) -> Result<KeyPath, PathError> {
    let mut copy = doc.clone();
    walk(copy.as_table_mut(), key).map(|(path, _)| path)
}

/// Replaces the value at `key` with `value`, keeping the comment and spacing around it;
/// returns the index form of the path.
pub(crate) fn set(
    doc: &mut DocumentMut,
    key: &str,
    value: &SweepValue,
) -> Result<KeyPath, PathError> {
    let (path, slot) = walk(doc.as_table_mut(), key)?;
    let decor = slot.decor().clone();
    *slot = to_toml(value);
    *slot.decor_mut() = decor;
    Ok(path)
}

/// A sweep value as a TOML value.
pub fn to_toml(value: &SweepValue) -> Value {
    match value {
        SweepValue::String(s) => Value::from(s.as_str()),
        SweepValue::Integer(i) => Value::from(*i),
        SweepValue::Float(x) => Value::from(*x),
        SweepValue::Boolean(b) => Value::from(*b),
    }
}

/// Where the walk is.
enum Cursor<'a> {
    Table(&'a mut Table),
    Inline(&'a mut InlineTable),
    Tables(&'a mut ArrayOfTables),
    Array(&'a mut Array),
    Scalar(&'a mut Value),
}

impl<'a> Cursor<'a> {
    fn of_item(item: &'a mut Item) -> Option<Self> {
        match item {
            Item::Table(t) => Some(Cursor::Table(t)),
            Item::ArrayOfTables(a) => Some(Cursor::Tables(a)),
            Item::Value(v) => Some(Cursor::of_value(v)),
            Item::None => None,
        }
    }

    fn of_value(value: &'a mut Value) -> Self {
        match value {
            Value::InlineTable(t) => Cursor::Inline(t),
            Value::Array(a) => Cursor::Array(a),
            v => Cursor::Scalar(v),
        }
    }
}

fn walk<'a>(root: &'a mut Table, key: &str) -> Result<(KeyPath, &'a mut Value), PathError> {
    let segments: Vec<&str> = key.split('.').collect();
    if key.trim().is_empty()
        || segments
            .iter()
            .any(|s| s.trim().is_empty() || *s != s.trim())
    {
        return Err(PathError::Syntax {
            key: key.to_owned(),
        });
    }
    let mut path = KeyPath::root();
    let mut cursor = Cursor::Table(root);
    for segment in segments {
        let at = if path == KeyPath::root() {
            "the file".to_owned()
        } else {
            path.to_string()
        };
        let missing_key = |known: Vec<String>| PathError::MissingKey {
            at: at.clone(),
            segment: segment.to_owned(),
            known: list("keys are", known),
        };
        let missing_element = |known: String| PathError::MissingElement {
            at: at.clone(),
            segment: segment.to_owned(),
            known,
        };
        cursor = match cursor {
            Cursor::Table(t) => {
                let known: Vec<String> = t.iter().map(|(k, _)| k.to_owned()).collect();
                path = path.key(segment);
                match t.get_mut(segment).and_then(Cursor::of_item) {
                    Some(c) => c,
                    None => return Err(missing_key(known)),
                }
            }
            Cursor::Inline(t) => {
                let known: Vec<String> = t.iter().map(|(k, _)| k.to_owned()).collect();
                path = path.key(segment);
                match t.get_mut(segment) {
                    Some(v) => Cursor::of_value(v),
                    None => return Err(missing_key(known)),
                }
            }
            Cursor::Tables(a) => {
                let names: Vec<Option<String>> = a
                    .iter()
                    .map(|t| t.get("name").and_then(|n| n.as_str()).map(str::to_owned))
                    .collect();
                let Some(i) = element(segment, &names) else {
                    return Err(missing_element(elements(&names)));
                };
                path = path.index(i);
                match a.get_mut(i) {
                    Some(t) => Cursor::Table(t),
                    None => return Err(missing_element(elements(&names))),
                }
            }
            Cursor::Array(a) => {
                let names: Vec<Option<String>> = a
                    .iter()
                    .map(|v| {
                        v.as_inline_table()
                            .and_then(|t| t.get("name"))
                            .and_then(|n| n.as_str())
                            .map(str::to_owned)
                    })
                    .collect();
                let Some(i) = element(segment, &names) else {
                    return Err(missing_element(elements(&names)));
                };
                path = path.index(i);
                match a.get_mut(i) {
                    Some(v) => Cursor::of_value(v),
                    None => return Err(missing_element(elements(&names))),
                }
            }
            Cursor::Scalar(_) => {
                return Err(PathError::NotATable {
                    at,
                    segment: segment.to_owned(),
                })
            }
        };
    }
    match cursor {
        Cursor::Scalar(v) => Ok((path, v)),
        _ => Err(PathError::NotAValue {
            at: path.to_string(),
        }),
    }
}

/// The element `segment` names: an index, or the element whose `name` it is.
fn element(segment: &str, names: &[Option<String>]) -> Option<usize> {
    if let Ok(i) = segment.parse::<usize>() {
        return (i < names.len()).then_some(i);
    }
    names.iter().position(|n| n.as_deref() == Some(segment))
}

/// "3 elements: 0 to 2, or by name: raft, gossip".
fn elements(names: &[Option<String>]) -> String {
    let named: Vec<String> = names.iter().flatten().cloned().collect();
    let count = match names.len() {
        0 => return "it is empty".to_owned(),
        1 => "1 element: index 0".to_owned(),
        n => format!("{n} elements: index 0 to {}", n - 1),
    };
    if named.is_empty() {
        count
    } else {
        format!("{count}, or by name: {}", named.join(", "))
    }
}

fn list(what: &str, items: Vec<String>) -> String {
    if items.is_empty() {
        "it is empty".to_owned()
    } else {
        format!("{what} {}", items.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"name = "x"
duration = "10s"   # measured

[workload]
rate = 100.0
readers = { phone = 0.1, friend = 0.9 }

[[topology.links]]
from = "eu"
to = "us"
delay = { dist = "normal", mean = "40ms", stddev = "2ms" }

[[variants]]
name = "raft"
kind = "raft"

[[variants]]
name = "gossip"
kind = "gossip"
gossip_interval = "200ms"  # between rounds

[[faults]]
at = "2s"
kind = "pause"
duration = "1s"
"#;

    fn doc() -> DocumentMut {
        DOC.parse().unwrap()
    }

    fn set_to_string(key: &str, value: SweepValue) -> Result<String, PathError> {
        let mut d = doc();
        set(&mut d, key, &value)?;
        Ok(d.to_string())
    }

    #[test]
    fn variants_are_addressed_by_name_or_index() {
        let text = set_to_string(
            "variants.gossip.gossip_interval",
            SweepValue::String("50ms".into()),
        )
        .unwrap();
        assert!(
            text.contains("gossip_interval = \"50ms\"  # between rounds\n"),
            "{text}"
        );
        assert_eq!(
            resolve(&doc(), "variants.1.gossip_interval")
                .unwrap()
                .to_string(),
            "variants[1].gossip_interval"
        );
    }

    #[test]
    fn only_the_value_changes_so_lines_stay_put() {
        for (key, value) in [
            ("workload.rate", SweepValue::Integer(250)),
            ("faults.0.duration", SweepValue::String("3s".into())),
            (
                "topology.links.0.delay.mean",
                SweepValue::String("80ms".into()),
            ),
            ("workload.readers.friend", SweepValue::Float(0.5)),
            ("duration", SweepValue::String("4s".into())),
        ] {
            let text = set_to_string(key, value.clone()).unwrap();
            assert_eq!(text.lines().count(), DOC.lines().count(), "{key}");
            let changed: Vec<_> = text
                .lines()
                .zip(DOC.lines())
                .filter(|(a, b)| a != b)
                .collect();
            assert_eq!(changed.len(), 1, "{key}: {changed:?}");
            assert!(changed[0].0.contains(&value.to_string()), "{changed:?}");
        }
        let text = set_to_string("duration", SweepValue::String("4s".into())).unwrap();
        assert!(text.contains("duration = \"4s\"   # measured"), "{text}");
    }

    #[test]
    fn keys_that_are_not_there_are_errors_naming_what_is() {
        let err = resolve(&doc(), "variants.gossip.gossip_intervall").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "variants[1] has no key \"gossip_intervall\" (keys are name, kind, gossip_interval)"
            ),
            "{err}"
        );
        let err = resolve(&doc(), "variants.paxos.fanout").unwrap_err();
        assert_eq!(
            err.to_string(),
            "variants has no element \"paxos\" (2 elements: index 0 to 1, or by name: raft, gossip)"
        );
        let err = resolve(&doc(), "faults.3.duration").unwrap_err();
        assert!(err.to_string().contains("1 element: index 0"), "{err}");
        let err = resolve(&doc(), "workload.rate.x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "workload.rate is a single value; it has no key \"x\""
        );
        let err = resolve(&doc(), "workload.readers").unwrap_err();
        assert!(matches!(err, PathError::NotAValue { .. }), "{err}");
        let err = resolve(&doc(), "seed").unwrap_err();
        assert!(err.to_string().starts_with("the file has no key \"seed\""));
        for bad in ["", "workload..rate", ".rate", "workload. rate"] {
            assert!(
                matches!(resolve(&doc(), bad), Err(PathError::Syntax { .. })),
                "{bad:?}"
            );
        }
    }
}
