//! What one sweep chart draws: its lines (a metric per variant over the swept values, with
//! the 95% confidence band and the single runs when points repeat), theory curves, the x
//! axis and its scale, titles and captions. Plain data, below both `sweep` (which builds
//! it from `sweep.json`'s record) and `charts::sweep` (which draws it), so neither imports
//! the other.
//!
//! Deliberately left out: building a chart from a record (see `sweep`) and drawing (see
//! `charts::sweep`).

/// How the x axis is scaled.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    Linear,
    /// Logarithmic: the values are positive and span a factor of [`LOG_SPAN`] or more.
    Log,
    /// Evenly spaced names, in sweep order (x is the value's index).
    Categories(Vec<String>),
}

/// Smallest max/min ratio of the x values drawn on a logarithmic axis.
pub const LOG_SPAN: f64 = 8.0;

/// One line of a sweep chart.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepLine {
    pub color: usize,
    pub label: String,
    /// Every measured point (the mean over its repetitions), sorted by x.
    pub points: Vec<(f64, f64)>,
    /// The points in runs without gaps (a failed point or one without a value ends a run).
    pub segments: Vec<Vec<(f64, f64)>>,
    /// The 95% confidence band as `(x, low, high)`, in runs without gaps (a point with
    /// fewer than two values ends a run); empty without repetitions.
    pub bands: Vec<Vec<(f64, f64, f64)>>,
    /// Every single repetition's value, drawn faintly (empty without repetitions).
    pub samples: Vec<(f64, f64)>,
}

/// A curve a model predicts, drawn dashed in its variant's colour.
#[derive(Debug, Clone, PartialEq)]
pub struct TheoryLine {
    pub color: usize,
    /// Says exactly what is drawn, e.g. `gossip theory: (log2(n) + ln(n)) × 200 ms`.
    pub label: String,
    /// Sorted by x.
    pub points: Vec<(f64, f64)>,
}

/// What one sweep chart draws.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepChart {
    /// `sweep-<metric>`.
    pub stem: String,
    pub title: String,
    pub caption: String,
    pub x_desc: String,
    pub y_desc: String,
    pub x_axis: XAxis,
    pub x_range: (f64, f64),
    /// Where the x axis has ticks: at the swept values.
    pub x_ticks: Vec<f64>,
    /// The legend goes top left (the points on the left are lower than on the right).
    pub legend_left: bool,
    /// The metric is a share from 0 to 1 (drawn as a percentage).
    pub share: bool,
    pub lines: Vec<SweepLine>,
    pub theory: Vec<TheoryLine>,
}

impl SweepChart {
    /// The highest value drawn (means, band tops, single runs, theory).
    pub fn top(&self) -> f64 {
        let lines = self.lines.iter().flat_map(|l| {
            l.points
                .iter()
                .map(|p| p.1)
                .chain(l.samples.iter().map(|p| p.1))
                .chain(l.bands.iter().flatten().map(|b| b.2))
        });
        let theory = self
            .theory
            .iter()
            .flat_map(|t| t.points.iter().map(|p| p.1));
        lines.chain(theory).fold(0.0, f64::max)
    }
}

impl SweepChart {
    /// The tick label at `x`.
    pub fn x_label(&self, x: f64) -> String {
        match &self.x_axis {
            XAxis::Categories(names) => {
                let i = x.round();
                if (x - i).abs() > 1e-6 || i < 0.0 {
                    return String::new();
                }
                names.get(i as usize).cloned().unwrap_or_default()
            }
            _ => number_label(x),
        }
    }
}

/// A tick number without noise: `50`, `0.25`, `1200`.
pub fn number_label(x: f64) -> String {
    if x.abs() >= 100.0 || x == x.round() {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
