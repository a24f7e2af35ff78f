//! The values a sweep parameter takes: a `values` list as written, or a `range` expanded
//! into its steps; and how a value is placed on a chart's x axis.
//!
//! Ranges are of numbers (`from = 1, to = 5, step = 1`; integers stay integers, a float
//! anywhere makes every value a float) or of durations written as strings
//! (`from = "50ms", to = "800ms", step = "150ms"`, expanded to strings such as `"200ms"`).
//! The end is included when a step lands on it (floats within a millionth of a step).
//!
//! Deliberately left out: geometric ranges (write a `values` list, e.g.
//! `["50ms", "100ms", "200ms", "400ms"]`), descending ranges, and any check that a value
//! fits the key it is swept into (the experiment's own validation does that per point).

use std::time::Duration;

use crate::experiment::raw::{RawRange, SweepValue};

/// Most values one parameter may take (and points a sweep may have).
pub const MAX_VALUES: usize = 100;

/// Why a parameter's values could not be expanded; `field` is the key under
/// `sweep.parameters[i]` to blame (`values`, `range`, `range.step`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValuesError {
    pub field: &'static str,
    pub message: String,
}

fn err(field: &'static str, message: impl Into<String>) -> ValuesError {
    ValuesError {
        field,
        message: message.into(),
    }
}

/// The values of a parameter, in sweep order.
pub fn expand(
    values: Option<&[SweepValue]>,
    range: Option<&RawRange>,
) -> Result<Vec<SweepValue>, ValuesError> {
    match (values, range) {
        (Some(_), Some(_)) => Err(err("range", "give either values or range, not both")),
        (None, None) => Err(err(
            "values",
            "is required (or range): the values to sweep, e.g. values = [\"50ms\", \"100ms\"] \
             or range = { from = 1, to = 5, step = 1 }",
        )),
        (Some([]), None) => Err(err("values", "must list at least one value")),
        (Some(v), None) if v.len() > MAX_VALUES => Err(err(
            "values",
            format!("{} values; at most {MAX_VALUES} are supported", v.len()),
        )),
        (Some(v), None) => {
            if let Some(i) = (1..v.len()).find(|&i| v[..i].contains(&v[i])) {
                return Err(err("values", format!("{} is listed twice", v[i])));
            }
            Ok(v.to_vec())
        }
        (None, Some(r)) => expand_range(r),
    }
}

fn expand_range(r: &RawRange) -> Result<Vec<SweepValue>, ValuesError> {
    use SweepValue::*;
    match (&r.from, &r.to, &r.step) {
        (Integer(from), Integer(to), Integer(step)) => {
            if *step <= 0 {
                return Err(err(
                    "range.step",
                    format!("must be greater than 0, got {step}"),
                ));
            }
            if from > to {
                return Err(err(
                    "range.to",
                    format!("must be at least from ({from}), got {to}"),
                ));
            }
            // In i128: `to - from` of two i64 may not fit in an i64.
            let count = (i128::from(*to) - i128::from(*from)) / i128::from(*step) + 1;
            check_count(count as u128)?;
            // Every value lies in `from ..= to`, so it fits in an i64 again.
            Ok((0..count)
                .map(|i| Integer((i128::from(*from) + i * i128::from(*step)) as i64))
                .collect())
        }
        (String(from), String(to), String(step)) => {
            let parse = |field, text: &str| {
                humantime::parse_duration(text.trim())
                    .map_err(|e| err(field, format!("invalid duration {text:?}: {e}")))
            };
            let (from, to, step) = (
                parse("range.from", from)?,
                parse("range.to", to)?,
                parse("range.step", step)?,
            );
            if step.is_zero() {
                return Err(err("range.step", "must be greater than 0"));
            }
            if from > to {
                return Err(err("range.to", "must be at least from"));
            }
            let count = (to - from).as_nanos() / step.as_nanos() + 1;
            check_count(count)?;
            Ok((0..count as u32)
                .map(|i| String(humantime::format_duration(from + step * i).to_string()))
                .collect())
        }
        (from, to, step) => {
            let (Some(from), Some(to), Some(step)) = (number(from), number(to), number(step))
            else {
                return Err(err(
                    "range",
                    "from, to and step must all be numbers or all be durations such as \"50ms\"",
                ));
            };
            if step.is_nan() || step <= 0.0 || !step.is_finite() {
                return Err(err(
                    "range.step",
                    format!("must be greater than 0, got {step}"),
                ));
            }
            for (field, v) in [("range.from", from), ("range.to", to)] {
                if !v.is_finite() {
                    return Err(err(field, format!("must be a finite number, got {v}")));
                }
            }
            if from > to {
                return Err(err(
                    "range.to",
                    format!("must be at least from ({from}), got {to}"),
                ));
            }
            let count = ((to - from) / step + 1e-6).floor() + 1.0;
            check_count(count.min(1e12) as u128)?;
            Ok((0..count as usize)
                .map(|i| Float(round9(from + i as f64 * step)))
                .collect())
        }
    }
}

fn check_count(count: u128) -> Result<(), ValuesError> {
    if count > MAX_VALUES as u128 {
        Err(err(
            "range",
            format!("gives {count} values; at most {MAX_VALUES} are supported"),
        ))
    } else {
        Ok(())
    }
}

fn number(v: &SweepValue) -> Option<f64> {
    match v {
        SweepValue::Integer(i) => Some(*i as f64),
        SweepValue::Float(x) => Some(*x),
        _ => None,
    }
}

/// Rounds away the binary noise of repeated addition (0.1 + 2 * 0.1 = 0.30000000000000004).
fn round9(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

/// How a parameter's values are placed on a chart's x axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Numbers as they are.
    Number,
    /// Durations, in milliseconds.
    Duration,
    /// Anything else (names such as `"push-pull"`, booleans, a mix): evenly spaced, in
    /// sweep order.
    Category,
}

impl Axis {
    /// The axis for `values`: numeric only if every value is.
    pub fn of(values: &[SweepValue]) -> Axis {
        if values.iter().all(|v| number(v).is_some()) {
            Axis::Number
        } else if values.iter().all(|v| duration(v).is_some()) {
            Axis::Duration
        } else {
            Axis::Category
        }
    }

    /// Unit of the x axis, if any.
    pub fn unit(self) -> Option<&'static str> {
        match self {
            Axis::Duration => Some("ms"),
            _ => None,
        }
    }

    /// The x coordinate of the `index`-th value.
    pub fn x(self, index: usize, value: &SweepValue) -> f64 {
        match self {
            Axis::Number => number(value).unwrap_or(index as f64),
            Axis::Duration => duration(value).map_or(index as f64, |d| d.as_secs_f64() * 1e3),
            Axis::Category => index as f64,
        }
    }
}

fn duration(v: &SweepValue) -> Option<Duration> {
    match v {
        SweepValue::String(s) => humantime::parse_duration(s.trim()).ok(),
        _ => None,
    }
}

/// A value as a label or file-name part: strings without quotes.
pub fn plain(v: &SweepValue) -> String {
    match v {
        SweepValue::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SweepValue::*;

    fn range(
        from: SweepValue,
        to: SweepValue,
        step: SweepValue,
    ) -> Result<Vec<SweepValue>, ValuesError> {
        expand(None, Some(&RawRange { from, to, step }))
    }

    #[test]
    fn lists_are_kept_as_written() {
        let v = vec![String("50ms".into()), String("1s".into())];
        assert_eq!(expand(Some(&v), None).unwrap(), v);
        assert_eq!(expand(Some(&[]), None).unwrap_err().field, "values");
        let twice = vec![Integer(1), Integer(2), Integer(1)];
        assert_eq!(
            expand(Some(&twice), None).unwrap_err().message,
            "1 is listed twice"
        );
        assert_eq!(expand(None, None).unwrap_err().field, "values");
        let r = RawRange {
            from: Integer(1),
            to: Integer(2),
            step: Integer(1),
        };
        assert_eq!(expand(Some(&v), Some(&r)).unwrap_err().field, "range");
    }

    #[test]
    fn integer_ranges_include_the_end_when_a_step_lands_on_it() {
        assert_eq!(
            range(Integer(1), Integer(5), Integer(2)).unwrap(),
            [Integer(1), Integer(3), Integer(5)]
        );
        assert_eq!(
            range(Integer(1), Integer(6), Integer(2)).unwrap(),
            [Integer(1), Integer(3), Integer(5)]
        );
        assert_eq!(
            range(Integer(3), Integer(3), Integer(1)).unwrap(),
            [Integer(3)]
        );
        assert_eq!(
            range(Integer(1), Integer(5), Integer(0)).unwrap_err().field,
            "range.step"
        );
        assert_eq!(
            range(Integer(5), Integer(1), Integer(1)).unwrap_err().field,
            "range.to"
        );
        assert!(range(Integer(0), Integer(1000), Integer(1))
            .unwrap_err()
            .message
            .contains("1001 values"));
    }

    #[test]
    fn ranges_at_the_ends_of_the_number_types_do_not_overflow() {
        let (min, max) = (i64::MIN + 1, i64::MAX);
        assert_eq!(
            range(Integer(min), Integer(max), Integer(max)).unwrap(),
            [Integer(min), Integer(0), Integer(max)]
        );
        assert!(range(Integer(min), Integer(max), Integer(1))
            .unwrap_err()
            .message
            .contains("18446744073709551615 values"));
        for (from, to, field) in [
            (Float(0.0), Float(f64::INFINITY), "range.to"),
            (Float(f64::NEG_INFINITY), Float(0.0), "range.from"),
            (Float(f64::NAN), Float(1.0), "range.from"),
        ] {
            assert_eq!(range(from, to, Float(1.0)).unwrap_err().field, field);
        }
    }

    #[test]
    fn float_ranges_have_no_binary_noise() {
        assert_eq!(
            range(Float(0.1), Float(0.5), Float(0.1)).unwrap(),
            [Float(0.1), Float(0.2), Float(0.3), Float(0.4), Float(0.5)]
        );
        assert_eq!(range(Integer(0), Float(1.0), Float(0.25)).unwrap().len(), 5);
        assert_eq!(
            range(Float(0.0), Float(1.0), Float(-0.5))
                .unwrap_err()
                .field,
            "range.step"
        );
    }

    #[test]
    fn duration_ranges_expand_to_duration_strings() {
        let v = range(
            String("50ms".into()),
            String("800ms".into()),
            String("250ms".into()),
        )
        .unwrap();
        assert_eq!(
            v,
            ["50ms", "300ms", "550ms", "800ms"].map(|s| String(s.into()))
        );
        let e = range(
            String("50ms".into()),
            String("soon".into()),
            String("1ms".into()),
        )
        .unwrap_err();
        assert_eq!(e.field, "range.to");
        let e = range(Integer(1), String("2s".into()), Integer(1)).unwrap_err();
        assert_eq!(e.field, "range");
    }

    #[test]
    fn axes_follow_the_values() {
        let ms = ["50ms", "1s"].map(|s| String(s.into()));
        assert_eq!(Axis::of(&ms), Axis::Duration);
        assert_eq!(Axis::Duration.x(1, &ms[1]), 1000.0);
        assert_eq!(Axis::of(&[Integer(1), Float(2.5)]), Axis::Number);
        let names = ["push", "pull"].map(|s| String(s.into()));
        assert_eq!(Axis::of(&names), Axis::Category);
        assert_eq!(Axis::Category.x(1, &names[1]), 1.0);
        assert_eq!(Axis::of(&[Boolean(true), Boolean(false)]), Axis::Category);
        assert_eq!(plain(&names[0]), "push");
    }
}
