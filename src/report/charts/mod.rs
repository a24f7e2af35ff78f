//! The charts of a run or comparison, each drawn once per backend: PNG (bitmap, encoded
//! with `png`) and SVG.
//!
//! Every chart is a [`Chart`] value; [`draw`] dispatches to the chart's drawing function,
//! which is generic over the plotters backend so the PNG and the SVG show the same thing.
//! The numbers each chart draws come from `report::data`.
//!
//! # Layout
//!
//! - [`latency`]: latency over time, percentile distributions, p50/p99 by DC and device;
//! - [`timeline`]: availability and stale-read share per second;
//! - [`distribution`]: visibility curves and convergence CDFs;
//! - [`cost`]: messages and bytes per operation;
//! - [`parts`]: the shapes they share (panel, mesh, line with its legend entry);
//! - [`sweep`]: a metric against a swept parameter (sweep directories only, drawn from
//!   `sweep.json`, so not a [`Chart`]).
//!
//! Deliberately left out: interactive charts (the report is static, viewable offline).

pub mod cost;
pub mod distribution;
pub mod latency;
pub mod parts;
pub mod sweep;
pub mod timeline;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::Input;
use super::style;

/// One chart of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    LatencyOverTime,
    LatencyPercentiles,
    LatencyByGroup,
    Availability,
    Staleness,
    Visibility,
    Convergence,
    Cost,
}

impl Chart {
    /// Every chart, in report order.
    pub const ALL: [Chart; 8] = [
        Chart::LatencyOverTime,
        Chart::LatencyPercentiles,
        Chart::LatencyByGroup,
        Chart::Availability,
        Chart::Staleness,
        Chart::Visibility,
        Chart::Convergence,
        Chart::Cost,
    ];

    /// File name without extension.
    pub fn file_stem(self) -> &'static str {
        match self {
            Chart::LatencyOverTime => "latency-over-time",
            Chart::LatencyPercentiles => "latency-percentiles",
            Chart::LatencyByGroup => "latency-by-dc-and-device",
            Chart::Availability => "availability",
            Chart::Staleness => "staleness",
            Chart::Visibility => "visibility",
            Chart::Convergence => "convergence",
            Chart::Cost => "cost",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Chart::LatencyOverTime => "Latency of every operation over time",
            Chart::LatencyPercentiles => "Latency percentiles",
            Chart::LatencyByGroup => "Latency p50 / p99 by client DC and device",
            Chart::Availability => "Availability: share of operations that succeeded",
            Chart::Staleness => "Stale reads: share of reads that missed a newer picture",
            Chart::Visibility => "Does the reader see the newest picture?",
            Chart::Convergence => "How long until a new picture is everywhere",
            Chart::Cost => "Cost per operation",
        }
    }

    /// The one line under the chart in the report: what to read from it.
    pub fn caption(self) -> &'static str {
        match self {
            Chart::LatencyOverTime => {
                "Each dot is one operation (log scale); red crosses failed, dark triangles \
                 timed out. Look for the shaded fault: a consistent system slows down or fails \
                 there, an available one stays flat."
            }
            Chart::LatencyPercentiles => {
                "Latency at each percentile of successful reads (left) and writes (right); \
                 the x axis stretches the tail (90%, 99%, 99.9%). Lines far apart at the \
                 right are tail latency."
            }
            Chart::LatencyByGroup => {
                "Dark bars p50, light bars p99 of successful operations, by where the client \
                 was and which device it was. Shows who pays for wide-area round trips."
            }
            Chart::Availability => {
                "Share of operations per second that succeeded, overall and per client DC. \
                 A dip inside the shaded fault is the price of consistency under a partition."
            }
            Chart::Staleness => {
                "Share of successful reads per second that returned an older picture than one \
                 already acknowledged. Zero for a linearizable system; rises in faults for \
                 an eventually consistent one."
            }
            Chart::Visibility => {
                "Probability that a read sees the newest acknowledged picture, by time since \
                 it was acknowledged: same-DC readers (left, e.g. the owner's laptop) and \
                 other-DC readers (right, e.g. a friend abroad). For quorum variants the \
                 dotted line with hollow markers is the PBS model's prediction for the same \
                 reads."
            }
            Chart::Convergence => {
                "CDFs over acknowledged writes: left, until every replica held the picture; \
                 right, until no read returned anything older (stable). A curve that ends \
                 below 100% means some writes never got there."
            }
            Chart::Cost => {
                "Messages and bytes sent per client operation, split into client traffic and \
                 traffic between nodes (replication, gossip, elections)."
            }
        }
    }

    /// Pixel size for `n` columns.
    pub fn size(self, input: &Input) -> (u32, u32) {
        let n = input.columns.len().max(1) as u32;
        let panels = match self {
            Chart::LatencyOverTime => n,
            Chart::Availability => 1 + input.dcs().len().div_ceil(2) as u32,
            _ => 1,
        };
        let h = match self {
            Chart::LatencyOverTime => style::PANEL_HEIGHT * 3 / 4 * panels,
            Chart::Availability => style::PANEL_HEIGHT * 3 / 4 * panels,
            _ => style::PANEL_HEIGHT * 3 / 2,
        };
        (style::WIDTH, style::TITLE_HEIGHT + h)
    }
}

/// The error type of drawing on backend `DB`.
pub type DrawError<DB> = DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>;

/// Draws `chart` onto `root`.
pub fn draw<DB: DrawingBackend>(
    chart: Chart,
    input: &Input,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), DrawError<DB>> {
    let area = style::titled(root, chart.title())?;
    match chart {
        Chart::LatencyOverTime => latency::over_time(input, &area),
        Chart::LatencyPercentiles => latency::percentiles(input, &area),
        Chart::LatencyByGroup => latency::by_group(input, &area),
        Chart::Availability => timeline::availability(input, &area),
        Chart::Staleness => timeline::staleness(input, &area),
        Chart::Visibility => distribution::visibility(input, &area),
        Chart::Convergence => distribution::convergence(input, &area),
        Chart::Cost => cost::per_operation(input, &area),
    }?;
    root.present()
}

/// `chart` as SVG text.
pub fn svg(chart: Chart, input: &Input) -> Result<String, String> {
    style::register_font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, chart.size(input)).into_drawing_area();
        draw(chart, input, &root).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// `chart` as PNG bytes.
pub fn png(chart: Chart, input: &Input) -> Result<Vec<u8>, String> {
    style::register_font()?;
    let (w, h) = chart.size(input);
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(chart, input, &root).map_err(|e| e.to_string())?;
    }
    encode_png(&rgb, w, h).map_err(|e| e.to_string())
}

pub(crate) fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::High);
        let mut writer = enc.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

/// A panel that says there is nothing to draw, so an empty chart is never a blank box.
pub fn nothing<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    why: &str,
) -> Result<(), DrawError<DB>> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        why.to_string(),
        (w as i32 / 2 - (why.len() as i32 * 5), h as i32 / 2),
        style::text(style::CAPTION_SIZE),
    ))
}
