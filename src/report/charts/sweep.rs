//! One sweep chart: a metric against the swept parameter, one line per variant (and per
//! value of the second parameter, when there is one), a marker on every measured point.
//!
//! The x axis is the parameter's value (milliseconds for durations); it is logarithmic when
//! the values are positive and span a factor of 8 or more, as sweeps over intervals
//! usually do (50 ms .. 800 ms). Names and booleans are placed evenly in sweep order. A
//! point that failed or has no value for the metric is a gap in its line.
//!
//! When points repeat with several seeds, each marker is the mean, a translucent band in
//! the line's colour spans the 95% confidence interval, and every single run is a small
//! faint dot. Theory curves (gossip's predicted convergence against node count) are
//! dashed, in their variant's colour, with a legend entry that says what they compute.
//!
//! Deliberately left out: a second y axis, and whiskers (the band reads better over a
//! few points and keeps the markers clear).

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::parts::{mesh, panel};
use super::{nothing, DrawError};
use crate::report::style;
use crate::report::sweep_chart::{number_label, SweepChart, XAxis};

/// Chart size: one panel, like the other single-panel charts.
pub fn size() -> (u32, u32) {
    (
        style::WIDTH,
        style::TITLE_HEIGHT + style::PANEL_HEIGHT * 3 / 2,
    )
}

/// Draws `chart` onto `root`.
pub fn draw<DB: DrawingBackend>(
    chart: &SweepChart,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), DrawError<DB>> {
    let area = style::titled(root, &chart.title)?;
    if chart.lines.iter().all(|l| l.points.is_empty()) {
        nothing(&area, "no point has a value for this metric")?;
        return root.present();
    }
    let top = chart.top();
    // Room above the highest point for the legend's rows.
    let headroom = 1.15 + 0.05 * chart.lines.len().min(8) as f64;
    let y1 = if chart.share {
        (top * headroom).clamp(0.01, 1.1)
    } else {
        (top * headroom).max(1e-3)
    };
    // A little below zero, so that a line at zero is not hidden by the axis.
    let y = -y1 * 0.02..y1;
    let builder = |area| {
        let mut b = panel(area, &chart.caption, 12, (56, 90));
        b.margin_right(32);
        b
    };
    let ticks = chart.x_ticks.clone();
    let (x0, x1) = chart.x_range;
    match &chart.x_axis {
        XAxis::Log => {
            let x = Ticked {
                inner: LogCoord::from((x0..x1).log_scale()),
                ticks,
            };
            let c = builder(&area).build_cartesian_2d(x, y)?;
            fill(c, chart)?;
        }
        XAxis::Linear | XAxis::Categories(_) => {
            let x = Ticked {
                inner: RangedCoordf64::from(x0..x1),
                ticks,
            };
            let c = builder(&area).build_cartesian_2d(x, y)?;
            fill(c, chart)?;
        }
    }
    root.present()
}

fn fill<'a, DB, X>(
    mut c: ChartContext<'a, DB, Cartesian2d<X, RangedCoordf64>>,
    chart: &SweepChart,
) -> Result<(), DrawError<DB>>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let x_label = |x: &f64| chart.x_label(*x);
    let share = chart.share;
    // Enough decimals that neighbouring ticks differ (0.25%, 1.5%, 40%).
    let y1 = c.y_range().end;
    let decimals = match y1 * 100.0 {
        t if t < 2.0 => 2,
        t if t < 20.0 => 1,
        _ => 0,
    };
    let y_label = move |v: &f64| {
        if share {
            format!("{:.*}%", decimals, v * 100.0)
        } else {
            number_label(*v)
        }
    };
    mesh(&mut c, style::LABEL_SIZE, style::TICK_SIZE)
        .x_desc(&chart.x_desc)
        .y_desc(&chart.y_desc)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .y_labels(8)
        .draw()?;
    let n = chart.lines.len();
    // Bands first, under every line and marker.
    for line in &chart.lines {
        let color = style::color(line.color);
        for band in &line.bands {
            let outline: Vec<(f64, f64)> = band
                .iter()
                .map(|b| (b.0, b.2))
                .chain(band.iter().rev().map(|b| (b.0, b.1)))
                .collect();
            if band.len() == 1 {
                // One point with an interval: a short vertical bar.
                let (x, lo, hi) = band[0];
                c.draw_series(std::iter::once(PathElement::new(
                    vec![(x, lo), (x, hi)],
                    color.mix(0.35).stroke_width(6),
                )))?;
            } else {
                c.draw_series(std::iter::once(Polygon::new(
                    outline,
                    color.mix(0.15).filled(),
                )))?;
            }
        }
        c.draw_series(
            line.samples
                .iter()
                .map(|&p| Circle::new(p, 3, color.mix(0.35).filled())),
        )?;
    }
    for t in &chart.theory {
        let color = style::color(t.color);
        c.draw_series(DashedLineSeries::new(
            t.points.iter().copied(),
            8,
            6,
            color.stroke_width(2),
        ))?
        .label(t.label.clone())
        .legend(move |(x, y)| {
            PathElement::new(vec![(x - 10, y), (x - 3, y)], color.stroke_width(2))
        });
    }
    for (i, line) in chart.lines.iter().enumerate() {
        let color = style::color(line.color);
        let width = style::line_width(i, n);
        let mut first = true;
        for segment in &line.segments {
            let series = c.draw_series(LineSeries::new(
                segment.iter().copied(),
                color.stroke_width(width),
            ))?;
            if first {
                series.label(line.label.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x - 10, y), (x + 10, y)], color.stroke_width(4))
                });
                first = false;
            }
        }
        c.draw_series(
            line.points
                .iter()
                .map(|&p| Circle::new(p, 5, color.filled())),
        )?;
    }
    let position = if chart.legend_left {
        SeriesLabelPosition::UpperLeft
    } else {
        SeriesLabelPosition::UpperRight
    };
    style::draw_legend(&mut c, position)
}

/// An x axis with ticks exactly at the swept values (and no light grid lines between).
struct Ticked<R> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// `chart` as SVG text.
pub fn svg(chart: &SweepChart) -> Result<String, String> {
    style::register_font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size()).into_drawing_area();
        draw(chart, &root).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// `chart` as PNG bytes.
pub fn png(chart: &SweepChart) -> Result<Vec<u8>, String> {
    style::register_font()?;
    let (w, h) = size();
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(chart, &root).map_err(|e| e.to_string())?;
    }
    super::encode_png(&rgb, w, h).map_err(|e| e.to_string())
}
