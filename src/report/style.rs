//! The look shared by every chart: the bundled font, the variant palette, sizes, and the
//! shaded fault bands.
//!
//! Charts render without fontconfig or system fonts: DejaVu Sans is compiled into the
//! binary and registered with plotters' `ab_glyph` text renderer on first use (licence in
//! `assets/fonts/DejaVuSans-LICENSE.txt`). SVG files name the family `sans-serif`, so a
//! browser draws their text with its own sans-serif font.
//!
//! Deliberately left out: themes and user-chosen colours.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, RGBColor};

use super::data::Band;

/// DejaVu Sans, bundled so charts render on a machine without system fonts.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the bundled font as `sans-serif` (normal and bold) once per process.
pub fn register_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            plotters::style::register_font("sans-serif", style, FONT)
                .map_err(|_| "the bundled font DejaVuSans.ttf could not be parsed".to_string())?;
        }
        Ok(())
    })
    .clone()
}

/// Chart width in pixels (PNG) and user units (SVG).
pub const WIDTH: u32 = 1280;
/// Height of one panel.
pub const PANEL_HEIGHT: u32 = 420;
/// Height of the title strip.
pub const TITLE_HEIGHT: u32 = 56;

pub const TITLE_SIZE: u32 = 30;
pub const CAPTION_SIZE: u32 = 22;
pub const LABEL_SIZE: u32 = 19;
pub const TICK_SIZE: u32 = 16;

/// Tableau 10: distinguishable, print-friendly, and the same variant always gets the same
/// colour (its position in the run or comparison).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(214, 39, 40),
];

/// The colour of the `i`-th variant.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The colour of `i` as CSS (`#1f77b4`).
pub fn css_color(i: usize) -> String {
    let RGBColor(r, g, b) = color(i);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Failed operations in the latency chart.
pub const FAIL_COLOR: RGBColor = RGBColor(200, 30, 30);
/// Operations with an unknown outcome (timeouts).
pub const UNKNOWN_COLOR: RGBColor = RGBColor(60, 60, 60);
/// Fault bands.
const BAND_COLOR: RGBColor = RGBColor(255, 170, 0);

/// Line width of column `i` of `n`: earlier columns are drawn wider, so a line that a later
/// one covers (both at 100%, say) still shows at its edges.
pub fn line_width(i: usize, n: usize) -> u32 {
    2 + n.saturating_sub(i + 1).min(3) as u32
}

pub fn text(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&BLACK)
}

/// A fresh root area, white, with `title` drawn on top; returns the area below the title.
pub fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    root.titled(
        title,
        ("sans-serif", TITLE_SIZE)
            .into_font()
            .style(FontStyle::Bold),
    )
}

/// Draws fault bands over a chart whose x axis is seconds, from `y0` to `y1`, each labelled
/// at the top. Open-ended bands run to `x_end`.
pub fn draw_bands<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    bands: &[Band],
    x_end: f64,
    (y0, y1): (f64, f64),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart.draw_series(bands.iter().map(|b| {
        Rectangle::new(
            [(b.start_s, y0), (b.end_s.unwrap_or(x_end), y1)],
            BAND_COLOR.mix(0.16).filled(),
        )
    }))?;
    chart.draw_series(bands.iter().map(|b| {
        Text::new(
            format!(" {}", b.label),
            (b.start_s, y1),
            ("sans-serif", TICK_SIZE)
                .into_font()
                .color(&RGBColor(150, 90, 0)),
        )
    }))?;
    Ok(())
}

/// Legend box in the upper right.
pub fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font(text(TICK_SIZE))
        .draw()
}

/// Milliseconds, printed briefly (`0.25`, `3`, `120`, `1.5k`).
pub fn ms_label(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{}s", trim(ms / 1000.0))
    } else {
        trim(ms)
    }
}

fn trim(x: f64) -> String {
    let s = if x >= 10.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.1}")
    } else if x >= 0.1 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_are_short() {
        assert_eq!(ms_label(0.25), "0.25");
        assert_eq!(ms_label(3.0), "3");
        assert_eq!(ms_label(2.5), "2.5");
        assert_eq!(ms_label(120.0), "120");
        assert_eq!(ms_label(1500.0), "1.5s");
    }

    #[test]
    fn the_bundled_font_registers() {
        assert_eq!(register_font(), Ok(()));
        assert_eq!(css_color(0), "#1f77b4");
    }
}
