//! Reading a run directory: `run.json`, `experiment.toml`, and each variant's
//! `history.jsonl`, `events.jsonl` and `net.json` (layout in `docs/history-format.md`).
//!
//! JSON Lines files are streamed line by line into a [`VariantHistory`], so memory holds
//! the compact form only. A last line without its newline that does not parse (a run killed
//! mid-write) is skipped and counted; any other malformed line is an error naming the file
//! and line.
//!
//! Deliberately left out: `schedule.jsonl` (every operation's schedule is in its history
//! record) and anything the analyses do not use.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::cost::NetReport;
use super::error::AnalysisError;
use super::history::VariantHistory;
use crate::experiment::{self, Experiment, Overrides};
use crate::history::{Event, OpRecord};

/// `run.json`, as far as the analysis needs it.
#[derive(Debug, Clone, Deserialize)]
pub struct RunManifest {
    #[serde(default)]
    pub experiment: String,
    #[serde(default)]
    pub run_id: String,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub variants: Vec<VariantEntry>,
}

/// One variant of `run.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct VariantEntry {
    pub name: String,
    #[serde(default)]
    pub kind: String,
    /// `ok`, `failed`, `interrupted` or `not-run`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub outcome: Option<VariantOutcome>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VariantOutcome {
    #[serde(default)]
    pub window_start_us: u64,
    #[serde(default)]
    pub interrupted: bool,
}

impl VariantEntry {
    /// Whether the variant ran and recorded a history to analyse.
    pub fn recorded(&self) -> bool {
        matches!(self.status.as_str(), "ok" | "interrupted") && self.outcome.is_some()
    }
}

/// The run-level files of a run directory.
#[derive(Debug, Clone)]
pub struct RunFiles {
    pub dir: PathBuf,
    pub manifest: RunManifest,
    pub experiment: Experiment,
}

pub fn read_run(dir: &Path) -> Result<RunFiles, AnalysisError> {
    let manifest_path = dir.join("run.json");
    let text = read_to_string(&manifest_path)?;
    let manifest: RunManifest =
        serde_json::from_str(&text).map_err(|source| AnalysisError::Parse {
            path: manifest_path.clone(),
            line: 0,
            source,
        })?;
    let loaded = experiment::load(&dir.join("experiment.toml"), &Overrides::default())?;
    Ok(RunFiles {
        dir: dir.to_path_buf(),
        manifest,
        experiment: loaded.experiment,
    })
}

/// Reads `<variant dir>/history.jsonl` and `events.jsonl` (the latter may be missing).
pub fn read_variant(dir: &Path) -> Result<VariantHistory, AnalysisError> {
    let mut h = VariantHistory::new();
    let mut truncated = for_each_line::<OpRecord>(&dir.join("history.jsonl"), |r| h.push_op(&r))?;
    let events = dir.join("events.jsonl");
    if events.exists() {
        truncated += for_each_line::<Event>(&events, |e| h.push_event(e))?;
    }
    h.truncated_lines = truncated;
    h.finish();
    Ok(h)
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
