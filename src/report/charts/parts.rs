//! The plotters shapes every chart repeats: a panel with its caption and label areas, the
//! mesh (light grid, axis descriptions, tick labels in the bundled font) and a line with its
//! legend entry. One place for them keeps the charts alike and each chart's code about
//! what it shows.
//!
//! Deliberately left out: anything a single chart needs (formatters, ranges, markers), and
//! the sweep chart's legend (its lines are drawn in segments, the legend once per line).

use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::DrawError;
use crate::report::style;

/// The grid colour of every mesh.
const GRID: RGBColor = RGBColor(240, 240, 240);

/// A chart builder on `area` with `caption`, a `margin` all round and the given label
/// areas (x below, y on the left), in pixels.
pub fn panel<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: impl AsRef<str>,
    margin: u32,
    (x_label_area, y_label_area): (u32, u32),
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(area);
    b.caption(caption, style::text(style::CAPTION_SIZE))
        .margin(margin)
        .x_label_area_size(x_label_area)
        .y_label_area_size(y_label_area);
    b
}

/// The mesh of `chart`: light grid, axis descriptions in `desc_size` and tick labels in
/// `label_size`. The caller adds descriptions and formatters, then draws it.
pub fn mesh<'a, 'b, X, Y, XT, YT, DB>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    desc_size: u32,
    label_size: u32,
) -> MeshStyle<'a, 'b, X, Y, DB>
where
    X: Ranged<ValueType = XT> + ValueFormatter<XT>,
    Y: Ranged<ValueType = YT> + ValueFormatter<YT>,
    DB: DrawingBackend,
{
    let mut m = chart.configure_mesh();
    m.axis_desc_style(style::text(desc_size))
        .label_style(style::text(label_size))
        .light_line_style(GRID);
    m
}

/// A line through `points` in the colour of index `color` (one of `lines` lines, which
/// sets its width), with `label` in the legend (a short thick stroke of the same colour).
/// Returns the colour, for markers on the line.
pub fn legend_line<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    points: impl IntoIterator<Item = (f64, f64)>,
    (color, lines): (usize, usize),
    label: impl Into<String>,
) -> Result<RGBColor, DrawError<DB>>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    let width = style::line_width(color, lines);
    let color = style::color(color);
    chart
        .draw_series(LineSeries::new(points, color.stroke_width(width)))?
        .label(label)
        .legend(move |(x, y)| {
            PathElement::new(vec![(x - 8, y), (x + 8, y)], color.stroke_width(4))
        });
    Ok(color)
}
