//! From an experiment file with a `[sweep]` section to its points: the `[sweep]` section
//! checked, the values expanded, and one validated experiment per value (combination).
//!
//! The file without its sweep is validated first, as any experiment file (its values are
//! the base the sweep replaces). Then `[sweep]` itself is checked (one or two parameters,
//! keys that name a value of the file, values, known metrics), and finally each point's
//! document (the file with the point's values written in) goes through the normal parse
//! and validation. Errors of a point carry the point's values; since only the swept values
//! change, their lines and columns are those of the file.
//!
//! A file without a seed gets one random seed for all points, so every point replays the
//! same schedule; `--seed` and `--duration` apply to every point unless `seed` or
//! `duration` is itself swept (then the swept value wins).
//!
//! # Repetitions
//!
//! With `seeds = N` in `[sweep]` (or `caplab run --seeds N`, which wins over it), every point
//! runs N times. Repetition 1 uses the point's own seed (the file's, or the swept value),
//! so `seeds = 1` is exactly the sweep without repetitions; repetition k >= 2 uses
//! [`repetition_seed`]: `seed::derive(point_seed, "repetition-k")` (top bit cleared), the
//! same derivation every other random stream of a run uses. Each repetition is an ordinary experiment with
//! that seed written in, so its run directory's `experiment.toml` repeats it alone. A plain
//! file (no `[sweep]`) with `--seeds N > 1` becomes a sweep of one point without
//! parameters (see [`repeat`]).
//!
//! Deliberately left out: running anything.

use std::path::Path;

use toml_edit::DocumentMut;

use super::metric::Metric;
use super::path;
use super::values::{self, Axis, MAX_VALUES};
use crate::experiment::error::{Issue, KeyPath, Locator};
use crate::experiment::raw::{RawSweep, SweepValue};
use crate::experiment::{self, ExperimentError, Loaded, Overrides};

/// At most this many parameters are swept.
pub const MAX_PARAMETERS: usize = 2;

/// At most this many repetitions (seeds) per point.
pub const MAX_SEEDS: usize = 100;

/// What an experiment file asks to run.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Plan {
    /// A file without `[sweep]`: one run.
    Single(Loaded),
    /// A file with `[sweep]`: one run per point.
    Sweep(SweepPlan),
}

/// A validated sweep.
#[derive(Debug, Clone)]
pub struct SweepPlan {
    /// The file without its sweep (seed resolved).
    pub base: Loaded,
    pub parameters: Vec<Parameter>,
    pub metrics: Vec<Metric>,
    /// Repetitions of every point (1 to [`MAX_SEEDS`]).
    pub seeds: usize,
    /// Every combination, the first parameter varying slowest (one point without
    /// parameters for a plain file run with `--seeds`).
    pub points: Vec<Point>,
}

/// One swept parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// As written, e.g. `variants.gossip.gossip_interval`.
    pub key: String,
    /// Index form, e.g. `variants[1].gossip_interval`.
    pub path: String,
    pub values: Vec<SweepValue>,
    pub axis: Axis,
}

impl Parameter {
    /// The last segment of the key (`gossip_interval`), for short labels.
    pub fn short(&self) -> &str {
        self.key.rsplit('.').next().unwrap_or(&self.key)
    }
}

/// One run of the sweep.
#[derive(Debug, Clone)]
pub struct Point {
    /// 0-based, in sweep order.
    pub index: usize,
    /// Per parameter: the index of its value.
    pub value_indices: Vec<usize>,
    pub values: Vec<SweepValue>,
    /// Folder name inside the sweep directory, e.g. `p1-gossip_interval-50ms` (empty for
    /// the one point of a plain file run with `--seeds`).
    pub dir_name: String,
    /// The point's experiment with its own seed (its raw form has no `[sweep]`, so its
    /// saved `experiment.toml` runs just this point); the same as the first repetition's.
    pub loaded: Loaded,
    /// One per seed, in order; the first has the point's seed.
    pub repetitions: Vec<Repetition>,
}

/// One run of a point, with one seed.
#[derive(Debug, Clone)]
pub struct Repetition {
    /// 0-based.
    pub index: usize,
    pub seed: u64,
    /// Run directory relative to the sweep directory: the point's folder when the sweep
    /// has one repetition, else `<point folder>/r<k>-seed-<seed>` (just `r<k>-seed-<seed>`
    /// for a plain file).
    pub dir_name: String,
    /// The point's experiment with this repetition's seed.
    pub loaded: Loaded,
}

/// The seed of repetition `index` (0-based) of a point whose own seed is `point_seed`:
/// the point's seed for the first; for the others, `seed::derive(point_seed,
/// "repetition-<k>")` with k the 1-based repetition number and the top bit cleared (an
/// experiment's seed is a signed 64-bit TOML integer). Stable forever, like every derived
/// seed.
pub fn repetition_seed(point_seed: u64, index: usize) -> u64 {
    if index == 0 {
        point_seed
    } else {
        crate::seed::derive(point_seed, &format!("repetition-{}", index + 1)) & i64::MAX as u64
    }
}

/// The metrics a plain file run with `--seeds` summarises: the whole catalogue.
pub const REPEAT_METRICS: [Metric; Metric::ALL.len()] = Metric::ALL;

/// Reads an experiment file and plans it: one run, or a validated sweep.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Plan, ExperimentError> {
    load_repeated(path, overrides, None)
}

/// [`load`] with `--seeds`: `seeds` repetitions of every point (wins over `[sweep]
/// seeds`); a plain file with `seeds > 1` becomes a sweep of one point.
pub fn load_repeated(
    path: &Path,
    overrides: &Overrides,
    seeds: Option<usize>,
) -> Result<Plan, ExperimentError> {
    let source = std::fs::read_to_string(path).map_err(|source| ExperimentError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_repeated(&source, &path.display().to_string(), overrides, seeds)
}

/// [`load`] on text; `origin` names it in errors.
pub fn parse(source: &str, origin: &str, overrides: &Overrides) -> Result<Plan, ExperimentError> {
    parse_repeated(source, origin, overrides, None)
}

/// [`load_repeated`] on text.
pub fn parse_repeated(
    source: &str,
    origin: &str,
    overrides: &Overrides,
    seeds: Option<usize>,
) -> Result<Plan, ExperimentError> {
    if let Some(n) = seeds.filter(|n| !(1..=MAX_SEEDS).contains(n)) {
        return Err(ExperimentError::Invalid {
            origin: origin.to_owned(),
            issues: vec![Issue {
                key: "--seeds".to_owned(),
                message: format!("must be from 1 to {MAX_SEEDS}, got {n}"),
                line_col: None,
            }],
        });
    }
    let mut base = experiment::parse(source, origin, overrides)?;
    let Some(sweep) = base.raw.sweep.take() else {
        return match seeds {
            Some(n) if n > 1 => repeat(base, source, origin, overrides, n).map(Plan::Sweep),
            _ => Ok(Plan::Single(base)),
        };
    };
    // `experiment::parse` accepted the text, so it is TOML.
    let doc: DocumentMut = source.parse().map_err(|_| ExperimentError::Invalid {
        origin: origin.to_owned(),
        issues: vec![Issue {
            key: "sweep".to_owned(),
            message: "the file could not be re-read as TOML".to_owned(),
            line_col: None,
        }],
    })?;
    let locator = Locator::new(source);
    let located = |issues: Issues| ExperimentError::Invalid {
        origin: origin.to_owned(),
        issues: issues
            .into_iter()
            .map(|(path, message)| Issue {
                key: path.to_string(),
                line_col: locator.locate(&path),
                message,
            })
            .collect(),
    };
    let (parameters, metrics, file_seeds) = check_sweep(&sweep, &doc).map_err(located)?;
    let seeds = seeds.unwrap_or(file_seeds);

    let swept = |k: &str| parameters.iter().any(|p| p.key == k);
    let point_overrides = Overrides {
        seed: (!swept("seed")).then_some(base.experiment.seed),
        duration: overrides.duration.filter(|_| !swept("duration")),
        engine: Some(base.experiment.engine),
    };
    let mut points = Vec::new();
    let mut issues = Vec::new();
    let combos = combinations(&parameters);
    let total = combos.len();
    for (index, value_indices) in combos.into_iter().enumerate() {
        let values: Vec<SweepValue> = value_indices
            .iter()
            .zip(&parameters)
            .map(|(&i, p)| p.values[i].clone())
            .collect();
        let mut point_doc = doc.clone();
        for (p, v) in parameters.iter().zip(&values) {
            // Resolved on the same document by `check_sweep`.
            if let Err(e) = path::set(&mut point_doc, &p.key, v) {
                issues.push(Issue {
                    key: p.key.clone(),
                    message: e.to_string(),
                    line_col: None,
                });
            }
        }
        let what = format!(
            "sweep point {} of {total}: {}",
            index + 1,
            parameters
                .iter()
                .zip(&values)
                .map(|(p, v)| format!("{} = {v}", p.key))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let text = point_doc.to_string();
        match experiment::parse(&text, origin, &point_overrides) {
            Ok(mut loaded) => {
                loaded.raw.sweep = None;
                let dir_name = dir_name(index, total, &parameters, &values);
                match repetitions(&loaded, &text, origin, overrides, seeds, &dir_name) {
                    Ok(repetitions) => points.push(Point {
                        index,
                        dir_name,
                        value_indices,
                        values,
                        loaded,
                        repetitions,
                    }),
                    Err(e) => issues.extend(point_issues(e, &what)),
                }
            }
            Err(e) => issues.extend(point_issues(e, &what)),
        }
    }
    if !issues.is_empty() {
        return Err(ExperimentError::Invalid {
            origin: origin.to_owned(),
            issues,
        });
    }
    Ok(Plan::Sweep(SweepPlan {
        base,
        parameters,
        metrics,
        seeds,
        points,
    }))
}

/// A plain file run `seeds` times: a sweep of one point without parameters, charting
/// nothing, summarising the whole metric catalogue.
fn repeat(
    base: Loaded,
    source: &str,
    origin: &str,
    overrides: &Overrides,
    seeds: usize,
) -> Result<SweepPlan, ExperimentError> {
    let repetitions = repetitions(&base, source, origin, overrides, seeds, "")?;
    Ok(SweepPlan {
        points: vec![Point {
            index: 0,
            value_indices: Vec::new(),
            values: Vec::new(),
            dir_name: String::new(),
            loaded: base.clone(),
            repetitions,
        }],
        base,
        parameters: Vec::new(),
        metrics: REPEAT_METRICS.to_vec(),
        seeds,
    })
}

/// The repetitions of a point whose experiment is `loaded`, parsed from `text` (the
/// point's document) again with each derived seed, so each is validated and saved like a
/// hand-written file.
fn repetitions(
    loaded: &Loaded,
    text: &str,
    origin: &str,
    overrides: &Overrides,
    seeds: usize,
    point_dir: &str,
) -> Result<Vec<Repetition>, ExperimentError> {
    let point_seed = loaded.experiment.seed;
    if seeds <= 1 {
        return Ok(vec![Repetition {
            index: 0,
            seed: point_seed,
            dir_name: point_dir.to_owned(),
            loaded: loaded.clone(),
        }]);
    }
    let width = seeds.to_string().len();
    (0..seeds)
        .map(|index| {
            let seed = repetition_seed(point_seed, index);
            let mut loaded = if index == 0 {
                loaded.clone()
            } else {
                let o = Overrides {
                    seed: Some(seed),
                    duration: overrides.duration,
                    engine: Some(loaded.experiment.engine),
                };
                experiment::parse(text, origin, &o)?
            };
            loaded.raw.sweep = None;
            let name = format!("r{:0width$}-seed-{seed}", index + 1);
            Ok(Repetition {
                index,
                seed,
                dir_name: if point_dir.is_empty() {
                    name
                } else {
                    format!("{point_dir}/{name}")
                },
                loaded,
            })
        })
        .collect()
}

/// Problems found, each with the key to blame.
type Issues = Vec<(KeyPath, String)>;

/// The `[sweep]` section's own rules, every problem at once.
fn check_sweep(
    sweep: &RawSweep,
    doc: &DocumentMut,
) -> Result<(Vec<Parameter>, Vec<Metric>, usize), Issues> {
    let root = KeyPath::root().key("sweep");
    let mut issues = Vec::new();
    let params_path = root.key("parameters");
    if sweep.parameters.is_empty() {
        issues.push((
            params_path.clone(),
            "at least one parameter is needed, e.g. [[sweep.parameters]] key = \
             \"workload.rate\" values = [50, 100, 200]"
                .to_owned(),
        ));
    }
    if sweep.parameters.len() > MAX_PARAMETERS {
        issues.push((
            params_path.index(MAX_PARAMETERS),
            format!(
                "at most {MAX_PARAMETERS} parameters can be swept, got {}",
                sweep.parameters.len()
            ),
        ));
    }
    let mut parameters = Vec::new();
    for (i, raw) in sweep.parameters.iter().enumerate() {
        let p = params_path.index(i);
        let key_path = p.key("key");
        let mut ok = true;
        if let Some(j) = sweep.parameters[..i].iter().position(|o| o.key == raw.key) {
            issues.push((
                key_path.clone(),
                format!("{:?} is already swept by sweep.parameters[{j}]", raw.key),
            ));
            ok = false;
        }
        let last = raw.key.rsplit('.').next().unwrap_or_default();
        if raw.key == "sweep" || raw.key.starts_with("sweep.") {
            issues.push((key_path.clone(), "the sweep cannot sweep itself".to_owned()));
            ok = false;
        } else if raw.key == "engine" {
            issues.push((
                key_path.clone(),
                "the engine cannot be swept: every point runs on the sweep's engine (compare \
                 the engines with `caplab compare REAL_RUN SIM_RUN` or scripts/engines.sh)"
                    .to_owned(),
            ));
            ok = false;
        } else if last == "name" {
            issues.push((
                key_path.clone(),
                "names cannot be swept: each point is the same experiment with the same \
                 variants"
                    .to_owned(),
            ));
            ok = false;
        }
        let resolved = if ok {
            match path::resolve(doc, &raw.key) {
                Ok(path) => Some(path),
                Err(e) => {
                    issues.push((key_path.clone(), e.to_string()));
                    None
                }
            }
        } else {
            None
        };
        let expanded = match values::expand(raw.values.as_deref(), raw.range.as_ref()) {
            Ok(v) => Some(v),
            Err(e) => {
                let mut at = p.clone();
                for part in e.field.split('.') {
                    at = at.key(part);
                }
                issues.push((at, e.message));
                None
            }
        };
        if let (Some(path), Some(values)) = (resolved, expanded) {
            parameters.push(Parameter {
                key: raw.key.clone(),
                path: path.to_string(),
                axis: Axis::of(&values),
                values,
            });
        }
    }
    let points: usize = parameters.iter().map(|p| p.values.len()).product();
    if parameters.len() > 1 && points > MAX_VALUES {
        issues.push((
            params_path,
            format!("{points} points; at most {MAX_VALUES} are supported"),
        ));
    }

    let metrics_path = root.key("metrics");
    if sweep.metrics.is_empty() {
        issues.push((
            metrics_path.clone(),
            format!(
                "at least one metric is needed, e.g. metrics = [\"read_p99_ms\"] (metrics are {})",
                Metric::names()
            ),
        ));
    }
    let mut metrics = Vec::new();
    for (i, name) in sweep.metrics.iter().enumerate() {
        match Metric::from_name(name) {
            Some(m) if metrics.contains(&m) => issues.push((
                metrics_path.index(i),
                format!("metric {name:?} is listed twice"),
            )),
            Some(m) => metrics.push(m),
            None => issues.push((
                metrics_path.index(i),
                format!("unknown metric {name:?} (metrics are {})", Metric::names()),
            )),
        }
    }
    let seeds = match sweep.seeds {
        None => 1,
        Some(n) if n >= 1 && n <= MAX_SEEDS as i64 => n as usize,
        Some(n) => {
            issues.push((
                root.key("seeds"),
                format!(
                    "must be from 1 to {MAX_SEEDS} (repetitions of every point, each with its \
                     own seed), got {n}"
                ),
            ));
            1
        }
    };
    if issues.is_empty() {
        Ok((parameters, metrics, seeds))
    } else {
        Err(issues)
    }
}

/// Every combination of value indices, the first parameter varying slowest.
pub fn combinations(parameters: &[Parameter]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new()];
    for p in parameters {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..p.values.len()).map(move |i| {
                    let mut c = prefix.clone();
                    c.push(i);
                    c
                })
            })
            .collect();
    }
    out
}

/// Longest part of a point's directory name taken from one value: a swept `description`
/// may be any length, and file names are at most 255 bytes. The point number keeps names
/// unique.
const MAX_DIR_VALUE_CHARS: usize = 40;

/// `p03-gossip_interval-50ms`: the 1-based point number (zero-padded to sort), then each
/// parameter's last key segment and value (its first 40 characters), with anything but
/// `[A-Za-z0-9._-]` as `_`.
pub fn dir_name(
    index: usize,
    total: usize,
    parameters: &[Parameter],
    values: &[SweepValue],
) -> String {
    let width = total.to_string().len();
    let mut name = format!("p{:0width$}", index + 1);
    for (p, v) in parameters.iter().zip(values) {
        name.push('-');
        name.push_str(p.short());
        name.push('-');
        name.extend(values::plain(v).chars().take(MAX_DIR_VALUE_CHARS));
    }
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A point's experiment error as issues naming the point.
fn point_issues(e: ExperimentError, what: &str) -> Vec<Issue> {
    match e {
        ExperimentError::Invalid { issues, .. } => issues
            .into_iter()
            .map(|i| Issue {
                message: format!("{} ({what})", i.message),
                ..i
            })
            .collect(),
        ExperimentError::Syntax {
            line_col,
            key,
            message,
            ..
        } => vec![Issue {
            key: key.unwrap_or_else(|| "sweep".to_owned()),
            message: format!("{message} ({what})"),
            line_col,
        }],
        other => vec![Issue {
            key: "sweep".to_owned(),
            message: format!("{other} ({what})"),
            line_col: None,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"name = "s"
seed = 3
duration = "2s"

[topology.dcs.eu]
nodes = 1
[topology.dcs.us]
nodes = 2
[topology.default_link]
delay = { dist = "constant", value = "5ms" }

[[variants]]
name = "raft"
kind = "raft"

[[variants]]
name = "gossip"
kind = "gossip"
gossip_interval = "200ms"
fanout = 1

[workload]
users = 6
rate = 50.0
write_fraction = 0.3
"#;

    fn plan(sweep: &str) -> Result<SweepPlan, String> {
        match parse(&format!("{BASE}{sweep}"), "t.toml", &Overrides::default()) {
            Ok(Plan::Sweep(p)) => Ok(p),
            Ok(Plan::Single(_)) => Err("single".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn a_file_without_sweep_is_one_run() {
        assert!(matches!(
            parse(BASE, "t.toml", &Overrides::default()),
            Ok(Plan::Single(_))
        ));
    }

    #[test]
    fn two_parameters_give_the_cartesian_product_in_order() {
        let p = plan(
            r#"
[sweep]
metrics = ["read_p99_ms", "stale_share"]
[[sweep.parameters]]
key = "variants.gossip.gossip_interval"
values = ["50ms", "400ms"]
[[sweep.parameters]]
key = "workload.rate"
range = { from = 20, to = 60, step = 20 }
"#,
        )
        .unwrap();
        assert_eq!(p.points.len(), 6);
        assert_eq!(p.parameters[0].path, "variants[1].gossip_interval");
        assert_eq!(p.parameters[1].axis, Axis::Number);
        let names: Vec<&str> = p.points.iter().map(|x| x.dir_name.as_str()).collect();
        assert_eq!(names[0], "p1-gossip_interval-50ms-rate-20");
        assert_eq!(names[5], "p6-gossip_interval-400ms-rate-60");
        let last = &p.points[5].loaded;
        assert_eq!(last.experiment.workload.rate, 60.0);
        assert_eq!(last.raw.variants[1].gossip_interval, Some("400ms".into()));
        assert!(last.raw.sweep.is_none());
        assert!(p.points.iter().all(|x| x.loaded.experiment.seed == 3));
        assert_eq!(p.metrics, [Metric::ReadP99Ms, Metric::StaleShare]);
    }

    #[test]
    fn a_long_swept_value_gives_a_short_directory_name() {
        let long = "a long description ".repeat(40);
        let source = format!(
            "description = \"base\"\n{BASE}\n[sweep]\nmetrics = [\"availability\"]\n[[sweep.parameters]]\nkey = \"description\"\nvalues = [\"{long}\", \"{long}!\"]\n"
        );
        let Ok(Plan::Sweep(p)) = parse(&source, "t.toml", &Overrides::default()) else {
            panic!("not a valid sweep:\n{source}");
        };
        let names: Vec<&str> = p.points.iter().map(|x| x.dir_name.as_str()).collect();
        assert_eq!(
            names[0],
            "p1-description-a_long_description_a_long_description_a_"
        );
        assert_ne!(names[0], names[1]);
        assert!(names.iter().all(|n| n.len() < 100), "{names:?}");
    }

    #[test]
    fn a_missing_seed_is_drawn_once_for_every_point() {
        let source = format!(
            "{}\n[sweep]\nmetrics = [\"availability\"]\n[[sweep.parameters]]\nkey = \"workload.rate\"\nvalues = [10, 20, 30]\n",
            BASE.replace("seed = 3\n", "")
        );
        let Ok(Plan::Sweep(p)) = parse(&source, "t.toml", &Overrides::default()) else {
            panic!("not a sweep");
        };
        let seed = p.base.experiment.seed;
        assert!(p.points.iter().all(|x| x.loaded.experiment.seed == seed));
    }

    #[test]
    fn sweep_rules_are_reported_with_their_keys_and_lines() {
        let err = plan(
            r#"
[sweep]
metrics = ["p99", "availability"]
[[sweep.parameters]]
key = "variants.gossip.gossip_intervall"
values = ["50ms"]
[[sweep.parameters]]
key = "workload.rate"
values = []
"#,
        )
        .unwrap_err();
        let line = |needle: &str| {
            format!("{BASE}\n[sweep]").lines().count()
                + 1
                + r#"metrics = ["p99", "availability"]
[[sweep.parameters]]
key = "variants.gossip.gossip_intervall"
values = ["50ms"]
[[sweep.parameters]]
key = "workload.rate"
values = []"#
                    .lines()
                    .position(|l| l.starts_with(needle))
                    .unwrap()
        };
        assert!(
            err.contains(&format!(
                "t.toml:{}:1: sweep.parameters[0].key: variants[1] has no key \"gossip_intervall\"",
                line("key = \"variants")
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "t.toml:{}:1: sweep.parameters[1].values: must list at least one value",
                line("values = []")
            )),
            "{err}"
        );
        assert!(
            err.contains("sweep.metrics[0]: unknown metric \"p99\" (metrics are read_p50_ms,"),
            "{err}"
        );
        let err = plan("\n[sweep]\nmetrics = []\n").unwrap_err();
        assert!(
            err.contains("sweep.parameters: at least one parameter"),
            "{err}"
        );
        assert!(err.contains("sweep.metrics: at least one metric"), "{err}");
        let three = "[[sweep.parameters]]\nkey = \"workload.rate\"\nvalues = [1]\n".repeat(3);
        let err = plan(&format!("\n[sweep]\nmetrics = [\"availability\"]\n{three}")).unwrap_err();
        assert!(
            err.contains("sweep.parameters[2]: at most 2 parameters"),
            "{err}"
        );
        assert!(
            err.contains("sweep.parameters[1].key: \"workload.rate\" is already swept"),
            "{err}"
        );
    }

    #[test]
    fn a_value_that_breaks_the_experiment_names_the_point() {
        let err = plan(
            r#"
[sweep]
metrics = ["availability"]
[[sweep.parameters]]
key = "variants.gossip.gossip_interval"
values = ["50ms", "0ms"]
"#,
        )
        .unwrap_err();
        let line = BASE
            .lines()
            .position(|l| l.starts_with("gossip_interval"))
            .unwrap()
            + 1;
        assert_eq!(
            err,
            format!(
                "t.toml:{line}:1: variants[1].gossip_interval: must be greater than 0 (sweep point \
                 2 of 2: variants.gossip.gossip_interval = \"0ms\")"
            )
        );
        let err = plan(
            "\n[sweep]\nmetrics = [\"availability\"]\n[[sweep.parameters]]\nkey = \"workload.users\"\nvalues = [\"many\"]\n",
        )
        .unwrap_err();
        assert!(
            err.contains("workload.users: invalid type: string \"many\""),
            "{err}"
        );
        assert!(
            err.contains("(sweep point 1 of 1: workload.users = \"many\")"),
            "{err}"
        );
    }

    #[test]
    fn seeds_repeat_every_point_with_derived_seeds() {
        let sweep = "\n[sweep]\nseeds = 3\nmetrics = [\"availability\"]\n[[sweep.parameters]]\nkey = \"workload.rate\"\nvalues = [10, 20]\n";
        let p = plan(sweep).unwrap();
        assert_eq!(p.seeds, 3);
        let reps = &p.points[1].repetitions;
        let seeds: Vec<u64> = reps.iter().map(|r| r.seed).collect();
        assert_eq!(seeds, [3, repetition_seed(3, 1), repetition_seed(3, 2)]);
        assert_eq!(reps[0].dir_name, "p2-rate-20/r1-seed-3");
        assert_eq!(reps[2].dir_name, format!("p2-rate-20/r3-seed-{}", seeds[2]));
        // Each repetition is a whole experiment with its seed written in.
        assert!(reps
            .iter()
            .all(|r| r.loaded.experiment.seed == r.seed && r.loaded.raw.seed == Some(r.seed)));
        assert!(reps
            .iter()
            .all(|r| r.loaded.experiment.workload.rate == 20.0));
        assert!(reps.iter().all(|r| r.loaded.raw.sweep.is_none()));
        // Every point repeats the same seeds (the seed is not swept).
        assert_eq!(p.points[0].repetitions[2].seed, seeds[2]);

        // `--seeds` wins; `--seeds 1` is the sweep without repetitions.
        let source = format!("{BASE}{sweep}");
        let Ok(Plan::Sweep(one)) =
            parse_repeated(&source, "t.toml", &Overrides::default(), Some(1))
        else {
            panic!("not a sweep")
        };
        assert_eq!(one.seeds, 1);
        assert_eq!(one.points[0].repetitions.len(), 1);
        assert_eq!(one.points[0].repetitions[0].dir_name, "p1-rate-10");
        assert_eq!(one.points[0].repetitions[0].seed, 3);
    }

    #[test]
    fn a_swept_seed_is_the_base_of_its_repetitions() {
        let p = plan("\n[sweep]\nseeds = 2\nmetrics = [\"availability\"]\n[[sweep.parameters]]\nkey = \"seed\"\nvalues = [7, 8]\n").unwrap();
        assert_eq!(p.points[1].repetitions[0].seed, 8);
        assert_eq!(
            p.points[1].repetitions[1].seed,
            crate::seed::derive(8, "repetition-2") & i64::MAX as u64
        );
    }

    #[test]
    fn a_plain_file_with_seeds_is_one_point_without_parameters() {
        let Ok(Plan::Sweep(p)) = parse_repeated(BASE, "t.toml", &Overrides::default(), Some(4))
        else {
            panic!("not repeated")
        };
        assert!(p.parameters.is_empty());
        assert_eq!(p.points.len(), 1);
        assert_eq!(p.metrics, Metric::ALL);
        let dirs: Vec<&str> = p.points[0]
            .repetitions
            .iter()
            .map(|r| r.dir_name.as_str())
            .collect();
        assert_eq!(dirs[0], "r1-seed-3");
        assert!(dirs[3].starts_with("r4-seed-"), "{dirs:?}");
        assert!(matches!(
            parse_repeated(BASE, "t.toml", &Overrides::default(), Some(1)),
            Ok(Plan::Single(_))
        ));
        let err = parse_repeated(BASE, "t.toml", &Overrides::default(), Some(0))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--seeds: must be from 1 to 100, got 0"),
            "{err}"
        );
    }

    #[test]
    fn seeds_out_of_range_are_errors_with_their_line() {
        for bad in ["0", "101", "-2"] {
            let err = plan(&format!(
                "\n[sweep]\nseeds = {bad}\nmetrics = [\"availability\"]\n[[sweep.parameters]]\nkey = \"workload.rate\"\nvalues = [10]\n"
            ))
            .unwrap_err();
            let line = BASE.lines().count() + 3;
            assert!(
                err.contains(&format!(
                    "t.toml:{line}:1: sweep.seeds: must be from 1 to 100 (repetitions of every \
                     point, each with its own seed), got {bad}"
                )),
                "{err}"
            );
        }
        let err = plan("\n[sweep]\nseeds = \"three\"\nmetrics = [\"availability\"]\n").unwrap_err();
        assert!(err.contains("sweep.seeds: invalid type: string"), "{err}");
    }

    #[test]
    fn unknown_sweep_keys_are_syntax_errors() {
        let err = plan("\n[sweep]\nmetric = [\"availability\"]\n").unwrap_err();
        assert!(
            err.contains("sweep.metric: unknown field `metric`"),
            "{err}"
        );
    }
}
