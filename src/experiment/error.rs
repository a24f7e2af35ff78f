//! What can go wrong with an experiment file, and where in the file.
//!
//! Every message starts with the file and, where known, `line:column`, then the key path
//! and the rule, compiler style:
//!
//! ```text
//! experiments/x.toml:12:1: topology.dcs.asia.nodes: must be at least 1
//! ```
//!
//! Validation collects every problem, one [`Issue`] per line. Positions come from the spans
//! that `toml` (for syntax and type errors) and `toml_edit` (for validation issues, by
//! walking the issue's key path) keep; when a key is not in the file (a missing key, or a
//! value set by an override) the nearest parent that is present is used instead.
//!
//! Deliberately left out: source snippets with carets. One line per problem keeps the output
//! greppable and stable for tests.

use std::fmt;
use std::ops::Range;

use toml_edit::{ImDocument, Item, Table, Value};

/// An experiment file could not be read, parsed, validated or written.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The file could not be read.
    #[error("{path}: cannot read file: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The text is not TOML, or a value has the wrong type, or a key is unknown or missing.
    #[error("{}", fmt_located(origin, *line_col, key.as_deref(), message))]
    Syntax {
        origin: String,
        /// 1-based line and column (in characters) of the offending text, when known.
        line_col: Option<(usize, usize)>,
        /// Key path of the offending value, when it could be found (e.g. `workload.users`).
        key: Option<String>,
        message: String,
    },
    /// The file is well-formed but breaks one or more rules; one issue per problem.
    #[error("{}", fmt_issues(origin, issues))]
    Invalid { origin: String, issues: Vec<Issue> },
    /// The experiment could not be written as TOML.
    #[error("cannot write experiment as TOML: {0}")]
    Serialize(#[source] toml::ser::Error),
}

/// One broken rule: which key, what is wrong, and where the key is in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Key path such as `topology.dcs.asia.nodes` or `faults[2].node`.
    pub key: String,
    /// The rule that is broken, e.g. `must be at least 1`.
    pub message: String,
    /// 1-based line and column of the key (or of its nearest present parent).
    pub line_col: Option<(usize, usize)>,
}

impl ExperimentError {
    /// The error as separate lines (one per issue for [`ExperimentError::Invalid`]), for
    /// callers that prefix each line, e.g. with `error: `. Joined by newlines, they are the
    /// `Display` output.
    pub fn lines(&self) -> Vec<String> {
        match self {
            ExperimentError::Invalid { origin, issues } => issues
                .iter()
                .map(|i| fmt_located(origin, i.line_col, Some(&i.key), &i.message))
                .collect(),
            other => other.to_string().lines().map(str::to_owned).collect(),
        }
    }

    /// The validation issues, if this is a validation error.
    pub fn issues(&self) -> &[Issue] {
        match self {
            ExperimentError::Invalid { issues, .. } => issues,
            _ => &[],
        }
    }

    /// A syntax or type error from `toml`, located in `source`.
    pub(crate) fn from_toml(origin: &str, source: &str, error: &toml::de::Error) -> Self {
        let span = error.span();
        let line_col = span.as_ref().map(|s| line_col(source, s.start));
        // The document may not be valid TOML at all (then there is no key path to find).
        let key = span.and_then(|s| {
            let doc = ImDocument::parse(source).ok()?;
            key_at(doc.as_table(), &s)
        });
        // `toml` messages may span lines; keep the one-line-per-error promise.
        let message = error.message().trim().replace('\n', "; ");
        ExperimentError::Syntax {
            origin: origin.to_owned(),
            line_col,
            key,
            message,
        }
    }
}

fn fmt_located(
    origin: &str,
    line_col: Option<(usize, usize)>,
    key: Option<&str>,
    message: &str,
) -> String {
    let mut s = origin.to_owned();
    if let Some((line, col)) = line_col {
        s.push_str(&format!(":{line}:{col}"));
    }
    if let Some(key) = key {
        s.push_str(&format!(": {key}"));
    }
    s.push_str(&format!(": {message}"));
    s
}

fn fmt_issues(origin: &str, issues: &[Issue]) -> String {
    let lines: Vec<String> = issues
        .iter()
        .map(|i| fmt_located(origin, i.line_col, Some(&i.key), &i.message))
        .collect();
    lines.join("\n")
}

/// 1-based line and column (counted in characters) of byte offset `offset` in `source`.
fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// A key path such as `faults[2].node`, built while validating.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(Vec<Segment>);

impl KeyPath {
    pub(crate) fn root() -> Self {
        KeyPath(Vec::new())
    }

    pub(crate) fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_owned()));
        p
    }

    pub(crate) fn index(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(index));
        p
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if i == 0 => write!(f, "{}", display_key(k))?,
                Segment::Key(k) => write!(f, ".{}", display_key(k))?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Bare keys as written; anything else quoted, as TOML would need it.
fn display_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

/// Finds where validation issues are in the source text.
pub(crate) struct Locator<'a> {
    source: &'a str,
    doc: Option<ImDocument<&'a str>>,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(source: &'a str) -> Self {
        Locator {
            source,
            doc: ImDocument::parse(source).ok(),
        }
    }

    /// Line and column of the key at `path`, or of its nearest parent present in the file.
    pub(crate) fn locate(&self, path: &KeyPath) -> Option<(usize, usize)> {
        let doc = self.doc.as_ref()?;
        let mut best: Option<usize> = None;
        let mut node = Node::Table(doc.as_table());
        for seg in &path.0 {
            let next = match (seg, node) {
                (Segment::Key(k), Node::Table(t)) => t.get_key_value(k),
                (Segment::Key(k), Node::Inline(t)) => t.get_key_value(k),
                (Segment::Index(i), Node::Tables(a)) => {
                    let Some(t) = a.get(*i) else { break };
                    best = t.span().map(|s| s.start).or(best);
                    node = Node::Table(t);
                    continue;
                }
                (Segment::Index(i), Node::Array(a)) => {
                    let Some(v) = a.get(*i) else { break };
                    best = v.span().map(|s| s.start).or(best);
                    node = Node::of_value(v);
                    continue;
                }
                _ => None,
            };
            let Some((key, item)) = next else { break };
            // Prefer the key; a table header such as `[topology.dcs.asia]` has the span of
            // the header, an implicit parent table none at all.
            best = key.span().or_else(|| item.span()).map(|s| s.start).or(best);
            node = Node::of_item(item);
        }
        best.map(|offset| line_col(self.source, offset))
    }
}

/// Where the key-path walk currently is.
#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a Table),
    Inline(&'a toml_edit::InlineTable),
    Tables(&'a toml_edit::ArrayOfTables),
    Array(&'a toml_edit::Array),
    Leaf,
}

impl<'a> Node<'a> {
    fn of_item(item: &'a Item) -> Self {
        match item {
            Item::Table(t) => Node::Table(t),
            Item::ArrayOfTables(a) => Node::Tables(a),
            Item::Value(v) => Node::of_value(v),
            Item::None => Node::Leaf,
        }
    }

    fn of_value(value: &'a Value) -> Self {
        match value {
            Value::InlineTable(t) => Node::Inline(t),
            Value::Array(a) => Node::Array(a),
            _ => Node::Leaf,
        }
    }
}

/// The key path of the deepest key or value whose span contains `span.start`.
fn key_at(root: &Table, span: &Range<usize>) -> Option<String> {
    fn contains(s: Option<Range<usize>>, at: usize) -> bool {
        s.is_some_and(|s| s.start <= at && at < s.end.max(s.start + 1))
    }
    fn walk(node: Node<'_>, path: &KeyPath, at: usize) -> Option<KeyPath> {
        let mut children: Vec<(KeyPath, Option<Range<usize>>, Node<'_>)> = Vec::new();
        match node {
            Node::Table(t) => {
                for (k, _) in t.iter() {
                    if let Some((key, item)) = t.get_key_value(k) {
                        children.push((path.key(k), key.span(), Node::of_item(item)));
                        children.push((path.key(k), item.span(), Node::Leaf));
                    }
                }
            }
            Node::Inline(t) => {
                for (k, _) in t.iter() {
                    if let Some((key, item)) = t.get_key_value(k) {
                        children.push((path.key(k), key.span(), Node::of_item(item)));
                        children.push((path.key(k), item.span(), Node::Leaf));
                    }
                }
            }
            Node::Tables(a) => {
                for (i, t) in a.iter().enumerate() {
                    children.push((path.index(i), t.span(), Node::Table(t)));
                }
            }
            Node::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    children.push((path.index(i), v.span(), Node::of_value(v)));
                }
            }
            Node::Leaf => {}
        }
        // A deeper match wins over the key or value that contains it.
        for (child_path, _, child) in &children {
            if let Some(found) = walk(*child, child_path, at) {
                return Some(found);
            }
        }
        children
            .into_iter()
            .find(|(_, s, _)| contains(s.clone(), at))
            .map(|(p, _, _)| p)
    }
    let found = walk(Node::Table(root), &KeyPath::root(), span.start)?;
    (!found.0.is_empty()).then(|| found.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_in_characters() {
        let s = "a = 1\nbé = 2\n";
        assert_eq!(line_col(s, 0), (1, 1));
        assert_eq!(line_col(s, 6), (2, 1));
        assert_eq!(line_col(s, s.find('=').unwrap_or(0)), (1, 3));
        assert_eq!(line_col(s, 10), (2, 4));
    }

    #[test]
    fn key_paths_display_like_toml() {
        let p = KeyPath::root().key("faults").index(2).key("node");
        assert_eq!(p.to_string(), "faults[2].node");
        assert_eq!(KeyPath::root().key("a b").to_string(), "\"a b\"");
    }

    #[test]
    fn locate_walks_tables_arrays_and_falls_back_to_parents() {
        let src = "name = \"x\"\n\n[topology.dcs.asia]\nnodes = 0\n\n[[faults]]\nat = \"1s\"\n\n[[faults]]\nnode = \"eu-9\"\n";
        let loc = Locator::new(src);
        let p = KeyPath::root()
            .key("topology")
            .key("dcs")
            .key("asia")
            .key("nodes");
        assert_eq!(loc.locate(&p), Some((4, 1)));
        let p = KeyPath::root().key("faults").index(1).key("node");
        assert_eq!(loc.locate(&p), Some((10, 1)));
        // Missing key: the nearest parent present (the second [[faults]] header).
        let p = KeyPath::root().key("faults").index(1).key("duration");
        assert_eq!(loc.locate(&p), Some((9, 1)));
        let p = KeyPath::root().key("name");
        assert_eq!(loc.locate(&p), Some((1, 1)));
    }
}
