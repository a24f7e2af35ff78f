//! Latency charts: every operation over time (one panel per variant), percentile curves on
//! a "nines" axis, and p50/p99 bars by client DC and device.
//!
//! Deliberately left out: latency of failed operations in the percentile and bar charts
//! (they are drawn in the scatter, where their outcome is visible).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::parts::{legend_line, mesh, panel};
use super::{nothing, DrawError};
use crate::history::OpKind;
use crate::report::data::{self, Input};
use crate::report::style::{self, ms_label};

/// Log-scale latency axis bounds covering `values` (ms), with a decade of headroom on top
/// for the legend and fault labels.
fn latency_bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi <= 0.0 {
        return (0.1, 10.0);
    }
    let lo = (lo.max(0.01) / 1.5).max(0.01);
    let hi = (hi * 10.0).max(lo * 100.0);
    (lo, hi)
}

pub fn over_time<DB: DrawingBackend>(
    input: &Input,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawError<DB>> {
    if input.columns.is_empty() {
        return nothing(area, "no variant was analysed");
    }
    let (x0, x1) = input.time_range();
    let x0 = input
        .columns
        .iter()
        .flat_map(|c| c.analysis.points.ops.first())
        .map(|p| (p.t_us as f64 / 1e6).min(0.0))
        .fold(x0, f64::min);
    let series: Vec<_> = input
        .columns
        .iter()
        .map(|c| data::scatter(c.analysis))
        .collect();
    let (y0, y1) = latency_bounds(series.iter().flat_map(|s| s.iter().flatten().map(|p| p.1)));
    let panels = area.split_evenly((input.columns.len(), 1));
    for ((col, s), cell) in input.columns.iter().zip(&series).zip(&panels) {
        let mut chart = panel(cell, &col.label, 8, (44, 80))
            .margin_right(24)
            .build_cartesian_2d(x0..x1, (y0..y1).log_scale())?;
        mesh(&mut chart, style::LABEL_SIZE, style::TICK_SIZE)
            .x_desc("time since the workload started (s)")
            .y_desc("latency (ms, log)")
            .y_label_formatter(&|v| ms_label(*v))
            .draw()?;
        style::draw_bands(&mut chart, &col.bands, x1, (y0, y1))?;
        let color = style::color(col.color);
        chart
            .draw_series(
                s[0].iter()
                    .map(|&p| Circle::new(p, 2, color.mix(0.55).filled())),
            )?
            .label(format!("ok ({})", s[0].len()))
            .legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
        chart
            .draw_series(
                s[1].iter()
                    .map(|&p| Cross::new(p, 3, style::FAIL_COLOR.stroke_width(1))),
            )?
            .label(format!("failed ({})", s[1].len()))
            .legend(|(x, y)| Cross::new((x, y), 4, style::FAIL_COLOR.stroke_width(2)));
        chart
            .draw_series(
                s[2].iter()
                    .map(|&p| TriangleMarker::new(p, 4, style::UNKNOWN_COLOR.mix(0.8).filled())),
            )?
            .label(format!("timed out / unknown ({})", s[2].len()))
            .legend(|(x, y)| TriangleMarker::new((x, y), 5, style::UNKNOWN_COLOR.filled()));
        style::draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }
    Ok(())
}

pub fn percentiles<DB: DrawingBackend>(
    input: &Input,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawError<DB>> {
    let curves: Vec<[Vec<(f64, f64)>; 2]> = input
        .columns
        .iter()
        .map(|col| {
            [
                data::percentile_curve(col.analysis, OpKind::Read),
                data::percentile_curve(col.analysis, OpKind::Write),
            ]
        })
        .collect();
    if curves.iter().flatten().all(|c| c.is_empty()) {
        return nothing(area, "no successful operation");
    }
    // One scale for both panels, so reads and writes compare at a glance.
    let x1 = curves
        .iter()
        .flatten()
        .flat_map(|c| c.last())
        .map(|p| p.0)
        .fold(2.0, f64::max)
        .ceil();
    let bounds = latency_bounds(curves.iter().flatten().flat_map(|c| c.iter().map(|p| p.1)));
    let panels = area.split_evenly((1, 2));
    for (k, (panel, name)) in panels.iter().zip(["reads", "writes"]).enumerate() {
        let lines: Vec<_> = input
            .columns
            .iter()
            .zip(&curves)
            .map(|(col, c)| (col, &c[k]))
            .collect();
        percentile_panel(panel, name, x1, bounds, &lines, input.columns.len())?;
    }
    Ok(())
}

fn percentile_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    x1: f64,
    (y0, y1): (f64, f64),
    lines: &[(&crate::report::data::Column, &Vec<(f64, f64)>)],
    n: usize,
) -> Result<(), DrawError<DB>> {
    let mut chart = panel(area, format!("successful {caption}"), 12, (50, 80))
        .margin_right(24)
        .build_cartesian_2d(0.0..x1, (y0..y1).log_scale())?;
    mesh(&mut chart, style::LABEL_SIZE, style::TICK_SIZE)
        .x_desc("percentile")
        .y_desc("latency (ms, log)")
        .x_labels((x1 as usize + 1) * 2)
        .x_label_formatter(&|x| nines_label(*x))
        .y_label_formatter(&|v| ms_label(*v))
        .draw()?;
    for (col, c) in lines.iter().filter(|l| !l.1.is_empty()) {
        legend_line(
            &mut chart,
            c.iter().copied(),
            (col.color, n),
            col.label.clone(),
        )?;
    }
    style::draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// `0%`, `90%`, `99%`, `99.9%` at 0, 1, 2, 3 nines; other ticks unlabelled.
fn nines_label(x: f64) -> String {
    let p = (1.0 - 10f64.powf(-x)) * 100.0;
    if x.abs() < 1e-6 {
        "0%".into()
    } else if (x - x.round()).abs() < 1e-6 {
        let s = format!("{p:.4}");
        format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
    } else {
        String::new()
    }
}

pub fn by_group<DB: DrawingBackend>(
    input: &Input,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawError<DB>> {
    let groups: Vec<_> = input
        .columns
        .iter()
        .map(|c| data::group_latency(c.analysis))
        .collect();
    let dcs = input.dcs();
    let devices: Vec<String> = data::DEVICES
        .iter()
        .map(|d| d.as_str().to_string())
        .collect();
    let panels = area.split_evenly((1, 2));
    draw_bars(
        input,
        &panels[0],
        "by client DC (dark p50, light p99)",
        &dcs,
        &groups.iter().map(|g| &g.0).collect::<Vec<_>>(),
    )?;
    draw_bars(
        input,
        &panels[1],
        "by device (dark p50, light p99)",
        &devices,
        &groups.iter().map(|g| &g.1).collect::<Vec<_>>(),
    )
}

fn draw_bars<DB: DrawingBackend>(
    input: &Input,
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    names: &[String],
    per_column: &[&data::GroupLatency],
) -> Result<(), DrawError<DB>> {
    let values = per_column
        .iter()
        .flat_map(|g| g.values().flat_map(|&(a, b)| [a, b]));
    let (y0, y1) = latency_bounds(values);
    let n = input.columns.len().max(1) as i32;
    // Each group: one slot per column, one slot of space.
    let slots = n + 1;
    let total = names.len() as i32 * slots;
    let mut chart = panel(area, caption, 12, (44, 80))
        .build_cartesian_2d(0..total.max(1), (y0..y1).log_scale())?;
    let label_of = |x: &i32| -> String {
        // A group's name under its middle slot.
        let g = (*x / slots) as usize;
        if *x % slots == n / 2 {
            names.get(g).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    mesh(&mut chart, style::LABEL_SIZE, style::LABEL_SIZE)
        .disable_x_mesh()
        .x_labels(total as usize + 1)
        .x_label_formatter(&label_of)
        .y_desc("latency (ms, log)")
        .y_label_formatter(&|v| ms_label(*v))
        .draw()?;
    for (ci, (col, g)) in input.columns.iter().zip(per_column).enumerate() {
        let color = style::color(col.color);
        let bars: Vec<(i32, f64, f64)> = names
            .iter()
            .enumerate()
            .filter_map(|(gi, name)| {
                g.get(name)
                    .map(|&(p50, p99)| (gi as i32 * slots + ci as i32, p50, p99))
            })
            .collect();
        chart.draw_series(bars.iter().map(|&(x, _, p99)| {
            Rectangle::new([(x, y0), (x + 1, p99)], color.mix(0.35).filled())
        }))?;
        chart
            .draw_series(
                bars.iter()
                    .map(|&(x, p50, _)| Rectangle::new([(x, y0), (x + 1, p50)], color.filled())),
            )?
            .label(col.label.clone())
            .legend(move |(x, y)| Rectangle::new([(x - 6, y - 6), (x + 6, y + 6)], color.filled()));
    }
    style::draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nines_are_labelled_at_whole_nines() {
        assert_eq!(nines_label(0.0), "0%");
        assert_eq!(nines_label(1.0), "90%");
        assert_eq!(nines_label(2.0), "99%");
        assert_eq!(nines_label(3.0), "99.9%");
        assert_eq!(nines_label(0.5), "");
        assert_eq!(nines_label(1.5), "");
    }

    #[test]
    fn latency_bounds_have_headroom_and_a_floor() {
        let (lo, hi) = latency_bounds([1.0, 100.0].into_iter());
        assert!(lo < 1.0 && lo > 0.5 && hi >= 1000.0);
        assert_eq!(latency_bounds(std::iter::empty()), (0.1, 10.0));
        let (lo, _) = latency_bounds([0.0, 1.0].into_iter());
        assert!(lo >= 0.01);
    }
}
