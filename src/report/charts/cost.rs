//! Cost per client operation: messages and kilobytes sent, each bar split into traffic
//! between nodes (dark) and client requests and replies (light).
//!
//! Deliberately left out: traffic over time (`net.json` holds totals only).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::parts::{self, mesh};
use super::{nothing, DrawError};
use crate::report::data::Input;
use crate::report::style;

/// `(column, node-to-node per op, client per op)`, for messages or kilobytes.
pub fn bars(input: &Input, bytes: bool) -> Vec<(usize, f64, f64)> {
    input
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let cost = c.analysis.summary.cost.as_ref()?;
            let ops = cost.operations.max(1) as f64;
            let (total, node) = if bytes {
                (
                    cost.bytes as f64 / 1024.0,
                    cost.node_node_bytes as f64 / 1024.0,
                )
            } else {
                (cost.messages as f64, cost.node_node_messages as f64)
            };
            Some((i, node / ops, (total - node).max(0.0) / ops))
        })
        .collect()
}

/// A bar with some space on either side.
fn bar(
    corners: [(SegmentValue<i32>, f64); 2],
    style: ShapeStyle,
) -> Rectangle<(SegmentValue<i32>, f64)> {
    let mut r = Rectangle::new(corners, style);
    r.set_margin(0, 0, 12, 12);
    r
}

pub fn per_operation<DB: DrawingBackend>(
    input: &Input,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawError<DB>> {
    let panels = area.split_evenly((1, 2));
    panel(input, &panels[0], false)?;
    panel(input, &panels[1], true)
}

fn panel<DB: DrawingBackend>(
    input: &Input,
    area: &DrawingArea<DB, Shift>,
    bytes: bool,
) -> Result<(), DrawError<DB>> {
    let (caption, unit) = if bytes {
        ("kilobytes per operation", "KiB sent per client operation")
    } else {
        (
            "messages per operation",
            "messages sent per client operation",
        )
    };
    let b = bars(input, bytes);
    if b.is_empty() {
        return nothing(area, "no net.json: traffic was not recorded");
    }
    let top = b.iter().map(|x| x.1 + x.2).fold(0.0, f64::max).max(1e-3) * 1.25;
    let n = input.columns.len() as i32;
    let labels: Vec<String> = input.columns.iter().map(|c| c.label.clone()).collect();
    let mut chart = parts::panel(area, caption, 12, (44, 80))
        // `into_segmented` has a segment for each value of the inclusive range.
        .build_cartesian_2d((0..(n - 1).max(1)).into_segmented(), 0.0..top)?;
    mesh(&mut chart, style::LABEL_SIZE, style::LABEL_SIZE)
        .disable_x_mesh()
        .y_desc(unit)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .draw()?;
    for &(i, node, client) in &b {
        let color = style::color(input.columns[i].color);
        let x = i as i32;
        let (l, r) = (|| SegmentValue::Exact(x), || SegmentValue::Exact(x + 1));
        chart.draw_series([
            bar([(l(), 0.0), (r(), node)], color.filled()),
            bar(
                [(l(), node), (r(), node + client)],
                color.mix(0.35).filled(),
            ),
        ])?;
        chart.draw_series([Text::new(
            format!("{:.1}", node + client),
            (SegmentValue::CenterOf(x), node + client + top * 0.02),
            style::text(style::LABEL_SIZE),
        )])?;
    }
    let grey = RGBColor(110, 110, 110);
    chart
        .draw_series(std::iter::empty::<Rectangle<(SegmentValue<i32>, f64)>>())?
        .label("between nodes")
        .legend(move |(x, y)| Rectangle::new([(x - 6, y - 6), (x + 6, y + 6)], grey.filled()));
    chart
        .draw_series(std::iter::empty::<Rectangle<(SegmentValue<i32>, f64)>>())?
        .label("client requests and replies")
        .legend(move |(x, y)| {
            Rectangle::new([(x - 6, y - 6), (x + 6, y + 6)], grey.mix(0.35).filled())
        });
    style::draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
}
