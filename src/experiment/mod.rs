//! Experiment files: TOML in, a validated [`Experiment`] out.
//!
//! Three steps, each in its own module: `raw` mirrors the file with serde (unknown keys are
//! rejected), `validate` turns it into the typed [`model`], and `error` says what went wrong
//! with the file name, the key, the rule and, where known, the line and column.
//!
//! A `[sweep]` section is only checked for its shape here (keys and types); the sweep
//! planner (`crate::sweep::load`) checks the rest and validates every point, so callers that
//! may meet sweep files load through it.
//!
//! Deliberately left out: running anything. The CLI applies overrides (`--seed`,
//! `--duration`) through [`Overrides`] before validation, so the saved `experiment.toml` of a
//! run is exactly what was run.

pub mod error;
pub mod model;
pub mod raw;
mod validate;

pub use error::ExperimentError;
pub use model::*;
pub use raw::RawExperiment;

use std::path::Path;
use std::time::Duration;

/// Command-line overrides applied to the raw file before validation.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub seed: Option<u64>,
    pub duration: Option<Duration>,
    /// `--engine`: replaces the file's `engine`.
    pub engine: Option<Engine>,
}

/// An experiment file after loading: the (overridden, seed-filled) raw form, which can be
/// saved back as TOML, and the validated experiment.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub raw: RawExperiment,
    pub experiment: Experiment,
}

impl Loaded {
    /// The resolved experiment as TOML (seed included), for `<run>/experiment.toml`.
    pub fn to_toml(&self) -> Result<String, ExperimentError> {
        self.raw.to_toml()
    }
}

/// Reads, parses and validates an experiment file. A missing `seed` is filled with a fresh
/// random one so that the run can be repeated from its saved `experiment.toml`.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Loaded, ExperimentError> {
    let source = std::fs::read_to_string(path).map_err(|source| ExperimentError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&source, &path.display().to_string(), overrides)
}

/// Parses and validates experiment text; `origin` names it in errors (usually the path).
pub fn parse(source: &str, origin: &str, overrides: &Overrides) -> Result<Loaded, ExperimentError> {
    validate::parse_and_validate(source, origin, overrides)
}
