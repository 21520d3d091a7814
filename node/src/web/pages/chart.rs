//! Hand-written SVG bar charts, shared by the totals page and the data
//! report: one horizontal bar per label, scaled to the largest value. The
//! geometry is computed here; the markup is `templates/chart.html`, so every
//! label is escaped like any page text. The figures shown stay exact decimal
//! text; a double is used only for a bar's length.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::i18n::format_number;

/// One bar (geometry computed here, text escaped by the template).
#[derive(Debug)]
pub struct Bar {
    /// What the bar stands for (a division's name).
    pub label: String,
    /// The value as shown, with thousands separators.
    pub value: String,
    /// Top of the bar.
    pub y: u32,
    /// Baseline of the label and value texts.
    pub text_y: u32,
    /// Length of the bar.
    pub width: u32,
    /// Where the value text starts.
    pub value_x: u32,
}

/// A horizontal bar chart of one quantity.
#[derive(Debug)]
pub struct BarChart {
    /// The element id, e.g. `chart-cod_emit`.
    pub id: String,
    /// Caption.
    pub title: String,
    /// Measurement unit, in the page language.
    pub measure: String,
    /// Height of the drawing.
    pub height: u32,
    /// The bars, top to bottom.
    pub bars: Vec<Bar>,
}

/// What one chart shows: labels and exact values.
#[derive(Debug)]
pub struct Series {
    /// The element id.
    pub id: String,
    /// Caption.
    pub title: String,
    /// Measurement unit, in the page language.
    pub measure: String,
    /// (label, value), top to bottom.
    pub values: Vec<(String, Decimal)>,
}

const LABEL_WIDTH: u32 = 110;
const BAR_AREA: u32 = 270;
const ROW_HEIGHT: u32 = 22;

/// The chart of a series; `None` when nothing in it is above zero.
pub fn bar_chart(series: Series) -> Option<BarChart> {
    let largest = series.values.iter().map(|(_, value)| *value).max()?;
    if largest <= Decimal::ZERO {
        return None;
    }
    let bars: Vec<Bar> = series
        .values
        .into_iter()
        .enumerate()
        .map(|(index, (label, value))| {
            let share = (value / largest).to_f64().unwrap_or(0.0).clamp(0.0, 1.0);
            let width = ((share * f64::from(BAR_AREA)).round() as u32).max(1);
            let y = 8 + u32::try_from(index).unwrap_or(0) * ROW_HEIGHT;
            Bar {
                label,
                value: format_number(&value.to_string()),
                y,
                text_y: y + 13,
                width,
                value_x: LABEL_WIDTH + width + 6,
            }
        })
        .collect();
    Some(BarChart {
        id: series.id,
        title: series.title,
        measure: series.measure,
        height: 16 + u32::try_from(bars.len()).unwrap_or(0) * ROW_HEIGHT,
        bars,
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn series(values: &[(&str, &str)]) -> Series {
        Series {
            id: "chart-cod_emit".into(),
            title: "COD".into(),
            measure: "t".into(),
            values: values
                .iter()
                .map(|(label, value)| (label.to_string(), Decimal::from_str(value).unwrap()))
                .collect(),
        }
    }

    #[test]
    fn bars_scale_to_the_largest_and_show_exact_values() {
        let chart = bar_chart(series(&[("玄武区", "1234.5"), ("秦淮区", "617.25")])).unwrap();
        assert_eq!(chart.bars[0].width, BAR_AREA);
        assert_eq!(chart.bars[1].width, BAR_AREA / 2);
        assert_eq!(chart.bars[0].value, "1,234.5");
        assert_eq!(chart.bars[1].value, "617.25");
        assert_eq!(chart.height, 16 + 2 * ROW_HEIGHT);
    }

    #[test]
    fn nothing_above_zero_draws_no_chart() {
        assert!(bar_chart(series(&[("玄武区", "0")])).is_none());
        assert!(bar_chart(series(&[])).is_none());
    }
}
