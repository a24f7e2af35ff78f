//! Reading a run directory: `run.json` (the [`RunManifest`] the recorder wrote),
//! `experiment.toml`, `schedule.jsonl`, and each variant's `history.jsonl`, `events.jsonl`
//! and `net.json` (layout in `docs/history-format.md`).
//!
//! JSON Lines files are streamed line by line into a [`VariantHistory`], so memory holds
//! the compact form only. A last line without its newline that does not parse (a run killed
//! mid-write) is skipped and counted (the variant is then judged `incomplete`); any other
//! malformed line is an error naming the file and line. Of `schedule.jsonl` only each
//! operation's offset is kept, to check the history's op ids against it.
//!
//! Deliberately left out: anything the analyses do not use, and judging what was read
//! (see `integrity`).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::cost::NetReport;
use super::error::AnalysisError;
use super::history::{LabError, VariantHistory};
use crate::experiment::{self, Experiment, Overrides};
use crate::history::{Event, EventKind, OpRecord};
use crate::run_dir::manifest::{ManifestError, RunManifest};

/// The run-level files of a run directory.
#[derive(Debug, Clone)]
pub struct RunFiles {
    pub dir: PathBuf,
    pub manifest: RunManifest,
    pub experiment: Experiment,
    /// `schedule.jsonl`, if the run directory has one.
    pub schedule: Option<ScheduleOffsets>,
}

/// Every operation's offset into the measured window, by op id (`schedule.jsonl`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleOffsets {
    pub at_us: Vec<u64>,
}

/// What a variant's `events.jsonl` looked like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventsFile {
    Missing,
    /// Present, without a single event.
    Empty,
    /// This many events.
    Events(u64),
}

/// A variant's files as read.
#[derive(Debug)]
pub struct VariantFiles {
    pub history: VariantHistory,
    pub events: EventsFile,
}

pub fn read_run(dir: &Path) -> Result<RunFiles, AnalysisError> {
    let manifest = RunManifest::read(dir).map_err(|e| match e {
        ManifestError::Read { path, source } | ManifestError::Write { path, source } => {
            AnalysisError::Read { path, source }
        }
        ManifestError::Parse { path, source } => AnalysisError::Parse {
            path,
            line: 0,
            source,
        },
    })?;
    let loaded = experiment::load(&dir.join("experiment.toml"), &Overrides::default())?;
    Ok(RunFiles {
        dir: dir.to_path_buf(),
        manifest,
        experiment: loaded.experiment,
        schedule: read_schedule(dir)?,
    })
}

/// The offsets of `<run>/schedule.jsonl`; `None` if the file does not exist. Every line's
/// `id` must be its position.
pub fn read_schedule(dir: &Path) -> Result<Option<ScheduleOffsets>, AnalysisError> {
    #[derive(Deserialize)]
    struct Line {
        id: u64,
        at_us: u64,
    }
    let path = dir.join("schedule.jsonl");
    if !path.exists() {
        return Ok(None);
    }
    let mut offsets = ScheduleOffsets::default();
    let mut misplaced = None;
    let truncated = for_each_line::<Line>(&path, |l| {
        if l.id != offsets.at_us.len() as u64 && misplaced.is_none() {
            misplaced = Some((offsets.at_us.len(), l.id));
        }
        offsets.at_us.push(l.at_us);
    })?;
    let problem = match (misplaced, truncated) {
        (Some((line, id)), _) => Some(format!("line {} has id {id}", line + 1)),
        (None, 1..) => Some("the last line is cut off".to_string()),
        (None, 0) => None,
    };
    match problem {
        Some(p) => Err(AnalysisError::Invalid {
            path,
            message: format!("not the schedule the recorder writes: {p}"),
        }),
        None => Ok(Some(offsets)),
    }
}

/// Reads `<variant dir>/history.jsonl` (required) and `events.jsonl`.
pub fn read_variant(dir: &Path) -> Result<VariantFiles, AnalysisError> {
    let mut h = VariantHistory::new();
    let mut truncated = for_each_line::<OpRecord>(&dir.join("history.jsonl"), |r| h.push_op(&r))?;
    let path = dir.join("events.jsonl");
    let mut count = 0u64;
    let events = if path.exists() {
        truncated += for_each_line::<Event>(&path, |e| {
            count += 1;
            h.push_event(e)
        })?;
        if count == 0 {
            EventsFile::Empty
        } else {
            EventsFile::Events(count)
        }
    } else {
        EventsFile::Missing
    };
    h.truncated_lines = truncated;
    h.finish();
    Ok(VariantFiles { history: h, events })
}

/// The `lab_error` events of `<variant dir>/events.jsonl` (none if the file is missing),
/// without building a history: only lines that mention `lab_error` are parsed.
pub fn read_lab_errors(dir: &Path) -> Result<Vec<LabError>, AnalysisError> {
    let path = dir.join("events.jsonl");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let read_err = |source| AnalysisError::Read {
        path: path.clone(),
        source,
    };
    let mut reader = BufReader::with_capacity(1 << 20, File::open(&path).map_err(read_err)?);
    let mut line = String::new();
    let mut out = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(read_err)? == 0 {
            return Ok(out);
        }
        if !line.contains("lab_error") {
            continue;
        }
        if let Ok(Event {
            t_us,
            kind: EventKind::LabError { source, detail },
        }) = serde_json::from_str::<Event>(line.trim_end())
        {
            out.push(LabError {
                t_us,
                source,
                detail,
            });
        }
    }
}

/// Reads `<variant dir>/net.json`; `None` if the file does not exist.
pub fn read_net(dir: &Path) -> Result<Option<NetReport>, AnalysisError> {
    let path = dir.join("net.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = read_to_string(&path)?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| AnalysisError::Parse {
            path,
            line: 0,
            source,
        })
}

fn read_to_string(path: &Path) -> Result<String, AnalysisError> {
    std::fs::read_to_string(path).map_err(|source| AnalysisError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses each line of a JSON Lines file; returns how many partial last lines were skipped.
fn for_each_line<T: DeserializeOwned>(
    path: &Path,
    mut each: impl FnMut(T),
) -> Result<u64, AnalysisError> {
    let read_err = |source| AnalysisError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(read_err)? == 0 {
            return Ok(0);
        }
        number += 1;
        let text = line.trim_end();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(text) {
            Ok(v) => each(v),
            Err(_) if !line.ends_with('\n') => return Ok(1),
            Err(source) => {
                return Err(AnalysisError::Parse {
                    path: path.to_path_buf(),
                    line: number,
                    source,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_errors_are_read_without_building_a_history() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_lab_errors(dir.path()).unwrap().is_empty());
        std::fs::write(
            dir.path().join("events.jsonl"),
            "{\"t_us\":1,\"type\":\"crash\",\"node\":\"eu-1\"}\n\
             {\"t_us\":7,\"type\":\"lab_error\",\"source\":\"pacer\",\"detail\":\"12 ms behind\"}\n",
        )
        .unwrap();
        assert_eq!(
            read_lab_errors(dir.path()).unwrap(),
            [LabError {
                t_us: 7,
                source: "pacer".into(),
                detail: "12 ms behind".into()
            }]
        );
    }

    #[test]
    fn a_schedule_whose_ids_are_not_positions_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_schedule(dir.path()).unwrap(), None);
        let path = dir.path().join("schedule.jsonl");
        std::fs::write(&path, "{\"id\":0,\"at_us\":5}\n{\"id\":1,\"at_us\":9}\n").unwrap();
        assert_eq!(
            read_schedule(dir.path()).unwrap(),
            Some(ScheduleOffsets { at_us: vec![5, 9] })
        );
        std::fs::write(&path, "{\"id\":0,\"at_us\":5}\n{\"id\":3,\"at_us\":9}\n").unwrap();
        let e = read_schedule(dir.path()).unwrap_err();
        assert!(e.to_string().contains("line 2 has id 3"), "{e}");
    }
}
