//! Per-second timelines with the fault windows shaded: availability (overall, then one
//! panel per client DC) and the stale-read share.
//!
//! Deliberately left out: smoothing (each point is one second's share; seconds without
//! operations are gaps).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::parts::{legend_line, mesh, panel};
use super::{nothing, DrawError};
use crate::report::data::{self, Band, Input, Line};
use crate::report::style;

/// One panel of shares over time, one line per column.
fn share_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    y_desc: &str,
    bands: &[Band],
    (x0, x1): (f64, f64),
    lines: &[Line],
    legend: bool,
) -> Result<(), DrawError<DB>> {
    let mut chart = panel(area, caption, 8, (44, 80))
        .margin_right(24)
        .build_cartesian_2d(x0..x1, -0.02..1.08)?;
    mesh(&mut chart, style::LABEL_SIZE, style::TICK_SIZE)
        .x_desc("time since the workload started (s)")
        .y_desc(y_desc)
        .y_labels(6)
        .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
        .draw()?;
    style::draw_bands(&mut chart, bands, x1, (-0.02, 1.08))?;
    for (color, label, points) in lines {
        let color = legend_line(
            &mut chart,
            points.iter().copied(),
            (*color, lines.len()),
            label.clone(),
        )?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    if legend {
        style::draw_legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
    }
    Ok(())
}

pub fn availability<DB: DrawingBackend>(
    input: &Input,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawError<DB>> {
    if input.columns.is_empty() {
        return nothing(area, "no variant was analysed");
    }
    let range = input.time_range();
    let bands = input.bands();
    let dcs = input.dcs();
    let rows = 1 + dcs.len().div_ceil(2);
    let (top, rest) = area.split_vertically(area.dim_in_pixel().1 / rows as u32);
    let all: Vec<_> = input
        .columns
        .iter()
        .map(|c| (c.color, c.label.clone(), data::availability(c.analysis)))
        .collect();
    share_panel(
        &top,
        "all clients",
        "ok operations",
        &bands,
        range,
        &all,
        true,
    )?;
    let panels = rest.split_evenly((rows - 1, 2));
    for (dc, panel) in dcs.iter().zip(&panels) {
        let lines: Vec<_> = input
            .columns
            .iter()
            .map(|c| {
                (
                    c.color,
                    c.label.clone(),
                    data::availability_in(c.analysis, dc),
                )
            })
            .collect();
        share_panel(
            panel,
            &format!("clients in {dc}"),
            "ok operations",
            &bands,
            range,
            &lines,
            false,
        )?;
    }
    Ok(())
}

pub fn staleness<DB: DrawingBackend>(
    input: &Input,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawError<DB>> {
    if input.columns.is_empty() {
        return nothing(area, "no variant was analysed");
    }
    let lines: Vec<_> = input
        .columns
        .iter()
        .map(|c| (c.color, c.label.clone(), data::staleness(c.analysis)))
        .collect();
    share_panel(
        area,
        "all successful reads",
        "stale reads",
        &input.bands(),
        input.time_range(),
        &lines,
        true,
    )
}
