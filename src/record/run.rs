//! Recording one run: the resolved experiment, the schedule, then each selected variant in
//! turn on the same schedule and fault plan, with `run.json` rewritten as the run goes.
//!
//! [`Recorder::start`] writes `experiment.toml`, `schedule.jsonl` and a first `run.json`
//! (run `running`, every variant `not-run`); [`Recorder::run`] marks each variant `running`
//! when it starts and `ok`, `interrupted` or `failed` (with its outcome or error, and the
//! `lab_error` events it recorded) when it ends, and the run `ok`, `failed` or `interrupted`
//! at the end. A variant that fails is recorded as failed and the others still run.
//!
//! Deliberately left out: analysis (see `crate::analysis`), and what happens inside a
//! variant (see `crate::runner`).

use std::sync::Arc;

use super::{write_file, Console, RecordError, Session};
use crate::experiment::{Experiment, Loaded, Variant};
use crate::faults::{LeaderMemory, PlannedFault};
use crate::run_dir::manifest::{RunManifest, RunStatus, VariantEntry, VariantStatus};
use crate::run_dir::RunDir;
use crate::runner::{self, VariantPlan};
use crate::workload::Schedule;

/// A run whose files are written and whose variants are about to run.
pub struct Recorder {
    dir: RunDir,
    experiment: Arc<Experiment>,
    schedule: Arc<Schedule>,
    faults: Arc<Vec<PlannedFault>>,
    leaders: LeaderMemory,
    selected: Vec<Variant>,
    manifest: RunManifest,
}

/// How recording a run went.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `ok`, `failed` (a variant could not run) or `interrupted`.
    pub status: RunStatus,
    /// `<variant>: <error>` per variant that failed.
    pub failed: Vec<String>,
    /// `run.json` as written last.
    pub manifest: RunManifest,
}

impl Recorder {
    /// Writes `experiment.toml`, `schedule.jsonl` and the first `run.json` into `dir`.
    pub fn start(
        loaded: &Loaded,
        dir: &RunDir,
        selected: &[Variant],
        console: &dyn Console,
    ) -> Result<Recorder, RecordError> {
        let experiment = Arc::new(loaded.experiment.clone());
        console.say(&format!(
            "experiment {}",
            super::describe_experiment(&experiment)
        ));
        let schedule = Arc::new(Schedule::generate(&experiment));
        let faults = Arc::new(crate::faults::plan(&experiment));
        console.say(&format!(
            "workload: {} operations ({} writes) over {}, {} users",
            schedule.ops.len(),
            schedule.writes(),
            humantime::format_duration(experiment.duration),
            schedule.users.len()
        ));
        console.say(&format!("run directory: {}", dir.path.display()));
        let toml = loaded.to_toml()?;
        write_file(&dir.path.join("experiment.toml"), toml.as_bytes())?;
        write_file(&dir.path.join("schedule.jsonl"), &schedule.to_jsonl())?;
        let manifest = RunManifest {
            experiment: experiment.name.clone(),
            run_id: dir.id.clone(),
            seed: Some(experiment.seed),
            engine: experiment.engine,
            reproducible: (experiment.engine == crate::experiment::Engine::Sim)
                .then_some(super::session::SIM_REPRODUCIBLE),
            status: RunStatus::Running,
            operations: schedule.ops.len(),
            variants: selected
                .iter()
                .map(|v| VariantEntry {
                    name: v.name.clone(),
                    kind: v.kind(),
                    status: VariantStatus::NotRun,
                    error: None,
                    outcome: None,
                    lab_errors: Vec::new(),
                })
                .collect(),
        };
        manifest.write(&dir.path)?;
        Ok(Recorder {
            dir: dir.clone(),
            experiment,
            schedule,
            faults,
            leaders: LeaderMemory::default(),
            selected: selected.to_vec(),
            manifest,
        })
    }

    /// Runs every selected variant in turn on `session`'s runtime.
    pub fn run(
        mut self,
        session: &Session,
        console: &dyn Console,
    ) -> Result<Recorded, RecordError> {
        for i in 0..self.selected.len() {
            if session.interrupted() {
                let entry = &mut self.manifest.variants[i];
                entry.error = Some("interrupted before it started".into());
                continue;
            }
            self.manifest.variants[i].status = VariantStatus::Running;
            self.manifest.write(&self.dir.path)?;
            let entry = session.block_on(self.run_one(i, session, console))?;
            self.manifest.variants[i] = entry;
            self.manifest.write(&self.dir.path)?;
        }
        let failed: Vec<String> = self
            .manifest
            .variants
            .iter()
            .filter(|v| v.status == VariantStatus::Failed)
            .map(|v| format!("{}: {}", v.name, v.error.as_deref().unwrap_or("failed")))
            .collect();
        self.manifest.status = if session.interrupted() {
            RunStatus::Interrupted
        } else if !failed.is_empty() {
            RunStatus::Failed
        } else {
            RunStatus::Ok
        };
        self.manifest.write(&self.dir.path)?;
        Ok(Recorded {
            status: self.manifest.status,
            failed,
            manifest: self.manifest,
        })
    }

    /// Runs variant `i`; its failure is returned in the entry, not propagated, so the
    /// other variants still run.
    async fn run_one(&self, i: usize, session: &Session, console: &dyn Console) -> VariantEntry {
        let variant = &self.selected[i];
        let mut entry = self.manifest.variants[i].clone();
        let vdir = match self.dir.variant_dir(&variant.name) {
            Ok(d) => d,
            Err(e) => {
                console.warn(&format!("error: variant {} failed: {e}", variant.name));
                entry.status = VariantStatus::Failed;
                entry.error = Some(e.to_string());
                return entry;
            }
        };
        let progress = console.progress(&variant.name, self.schedule.ops.len() as u64);
        let plan = VariantPlan {
            experiment: self.experiment.clone(),
            schedule: self.schedule.clone(),
            variant: variant.clone(),
            dir: vdir.clone(),
            faults: self.faults.clone(),
            leaders: self.leaders.clone(),
            cancel: session.stop.clone(),
            progress: progress.clone(),
        };
        let result = runner::run_variant(plan).await;
        progress.finish_and_clear();
        match result {
            Ok(o) => {
                console.say(&format!(
                    "{}: {} operations: {} ok, {} fail, {} unknown{}",
                    variant.name,
                    o.operations,
                    o.ok,
                    o.fail,
                    o.unknown,
                    if o.interrupted { " (interrupted)" } else { "" }
                ));
                entry.status = if o.interrupted {
                    VariantStatus::Interrupted
                } else {
                    VariantStatus::Ok
                };
                entry.outcome = Some(o);
            }
            Err(e) => {
                console.warn(&format!("error: variant {} failed: {e}", variant.name));
                entry.status = VariantStatus::Failed;
                entry.error = Some(e.to_string());
            }
        }
        // caplab's own failures (H5's `lab_error` events) make the variant invalid.
        match crate::analysis::load::read_lab_errors(&vdir) {
            Ok(errors) => {
                entry.lab_errors = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.source, e.detail))
                    .collect();
            }
            Err(e) => entry.lab_errors = vec![format!("recorder: {e}")],
        }
        if let Some(first) = entry.lab_errors.first() {
            console.warn(&format!(
                "warning: variant {}: {} lab errors, the variant is invalid (first: {first})",
                variant.name,
                entry.lab_errors.len()
            ));
        }
        entry
    }
}
