//! Distributions over time since a write: the visibility curve (P(a read sees the newest
//! picture) for same-DC and other-DC readers) and the CDFs of replica convergence lag and
//! stable latency.
//!
//! Deliberately left out: confidence intervals (bucket read counts are in `visibility.csv`).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::parts::{legend_line, mesh, panel};
use super::{nothing, DrawError};
use crate::report::data::{self, Input, Line, Reader};
use crate::report::style::{self, ms_label};

/// Smallest time drawn on the log axes, ms.
const FLOOR_MS: f64 = 0.1;

fn log_x_max(points: impl Iterator<Item = f64>) -> f64 {
    (points.fold(10.0f64, f64::max) * 2.0).max(FLOOR_MS * 100.0)
}

fn log_x_min(points: impl Iterator<Item = f64>) -> f64 {
    (points.fold(f64::MAX, f64::min) / 2.0).clamp(FLOOR_MS, 100.0)
}

pub fn visibility<DB: DrawingBackend>(
    input: &Input,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawError<DB>> {
    let readers = [
        (Reader::SameDc, "same-DC readers (the owner's laptop)"),
        (Reader::OtherDc, "other-DC readers (friends abroad)"),
    ];
    let measured: Vec<Vec<(f64, f64)>> = readers
        .iter()
        .flat_map(|(r, _)| {
            input
                .columns
                .iter()
                .map(|c| data::visibility_of(c.analysis, *r))
        })
        .collect();
    if measured.iter().all(|c| c.is_empty()) {
        return nothing(area, "no read followed an acknowledged write");
    }
    // One x scale for both panels.
    let xs = || measured.iter().flatten().map(|p| p.0);
    let (x0, x1) = (log_x_min(xs()), log_x_max(xs()));
    let panels = area.split_evenly((1, 2));
    for (panel, (reader, caption)) in panels.iter().zip(readers) {
        visibility_panel(input, panel, reader, caption, (x0, x1))?;
    }
    Ok(())
}

fn visibility_panel<DB: DrawingBackend>(
    input: &Input,
    area: &DrawingArea<DB, Shift>,
    reader: Reader,
    caption: &str,
    (x0, x1): (f64, f64),
) -> Result<(), DrawError<DB>> {
    let mut chart = panel(area, caption, 12, (50, 80))
        .margin_right(24)
        .build_cartesian_2d((x0..x1).log_scale(), -0.02..1.05)?;
    mesh(&mut chart, style::TICK_SIZE, style::TICK_SIZE)
        .x_desc("since the newest picture was acknowledged (ms, log)")
        .y_desc("P(read returns it or newer)")
        .x_label_formatter(&|v| ms_label(*v))
        .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
        .draw()?;
    let n = input.columns.len();
    for col in &input.columns {
        let c = data::visibility_of(col.analysis, reader);
        if c.is_empty() {
            continue;
        }
        let color = legend_line(
            &mut chart,
            c.iter().copied(),
            (col.color, n),
            col.label.clone(),
        )?;
        chart.draw_series(c.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    // The PBS prediction of quorum variants: dotted, with hollow markers in the colour of
    // the variant it predicts.
    let ink = RGBColor(40, 40, 40);
    for col in &input.columns {
        let c = data::pbs_visibility(col, reader);
        if c.is_empty() {
            continue;
        }
        let color = style::color(col.color);
        chart
            .draw_series(DashedLineSeries::new(
                c.iter().copied(),
                3,
                5,
                ink.stroke_width(2),
            ))?
            .label(format!("{}: PBS model", col.label))
            .legend(move |(x, y)| Circle::new((x, y), 5, color.stroke_width(2)));
        chart.draw_series(c.iter().map(|&p| Circle::new(p, 6, color.stroke_width(2))))?;
    }
    style::draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
}

pub fn convergence<DB: DrawingBackend>(
    input: &Input,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawError<DB>> {
    let panels = area.split_evenly((1, 2));
    let cdfs = |samples: &dyn Fn(&crate::analysis::points::Points) -> &[Option<u64>]| -> Vec<Line> {
        input
            .columns
            .iter()
            .map(|c| {
                let cdf = data::cdf(samples(&c.analysis.points), FLOOR_MS);
                (c.color, c.label.clone(), cdf)
            })
            .collect()
    };
    let lag = cdfs(&|p| &p.convergence_lag_us);
    let stable = cdfs(&|p| &p.stable_us);
    cdf_panel(
        &panels[0],
        "replica convergence lag",
        "after acknowledgement until on every replica (ms, log)",
        &lag,
    )?;
    cdf_panel(
        &panels[1],
        "stable latency",
        "after acknowledgement until no read returns older (ms, log)",
        &stable,
    )
}

fn cdf_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    x_desc: &str,
    lines: &[Line],
) -> Result<(), DrawError<DB>> {
    if lines.iter().all(|l| l.2.is_empty()) {
        return nothing(area, &format!("{caption}: no data"));
    }
    let x1 = log_x_max(lines.iter().flat_map(|l| l.2.iter().map(|p| p.0)));
    let mut chart = panel(area, caption, 12, (50, 80))
        .margin_right(24)
        .build_cartesian_2d((FLOOR_MS..x1).log_scale(), -0.02..1.05)?;
    mesh(&mut chart, style::TICK_SIZE, style::TICK_SIZE)
        .x_desc(x_desc)
        .y_desc("share of acknowledged writes")
        .x_label_formatter(&|v| ms_label(*v))
        .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
        .draw()?;
    for (color, label, points) in lines.iter().filter(|l| !l.2.is_empty()) {
        // A step function: the share jumps at each value.
        let mut steps = Vec::with_capacity(points.len() * 2);
        let mut prev = 0.0;
        for &(x, y) in points {
            steps.push((x, prev));
            steps.push((x, y));
            prev = y;
        }
        let never = 1.0 - prev;
        let label = if never > 0.0005 {
            format!("{label} ({:.1}% never)", never * 100.0)
        } else {
            label.clone()
        };
        legend_line(&mut chart, steps, (*color, lines.len()), label)?;
    }
    style::draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
}
