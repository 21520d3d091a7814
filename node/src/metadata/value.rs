//! Checking one typed-in value against its indicator: number or not, decimal
//! places, limits, enum options. Values stay exact decimals from here on.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Indicator, ValueKind};

/// A checked value of one indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorValue {
    /// A decimal or integer indicator's value, exact, at most the allowed
    /// decimal places (travels as a decimal string, `"12.345"`).
    Number(Decimal),
    /// An enum indicator's value or a text indicator's text.
    Text(String),
}

impl IndicatorValue {
    /// The number, if this is one.
    pub fn as_number(&self) -> Option<Decimal> {
        match self {
            IndicatorValue::Number(number) => Some(*number),
            IndicatorValue::Text(_) => None,
        }
    }

    /// The text, if this is one.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            IndicatorValue::Number(_) => None,
            IndicatorValue::Text(text) => Some(text),
        }
    }
}

impl fmt::Display for IndicatorValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndicatorValue::Number(number) => write!(f, "{number}"),
            IndicatorValue::Text(text) => f.write_str(text),
        }
    }
}

/// What a unit sent for one indicator: typed text (a form field, an Excel
/// cell) or a JSON value (the API accepts numbers as well as decimal strings).
#[derive(Debug, Clone, Copy)]
pub enum RawValue<'a> {
    /// Text as typed.
    Text(&'a str),
    /// A JSON value; a number is read from its exact text, never via f64.
    Json(&'a serde_json::Value),
}

/// Why a value was refused. Each variant names the indicator; `Display`
/// gives the Chinese message, then the English one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Empty input.
    #[error("{indicator}：未填写 / {indicator_en}: no value given")]
    Empty {
        /// Code and Chinese name, e.g. `G101-15 化学需氧量排放量`.
        indicator: String,
        /// Code and English name.
        indicator_en: String,
    },
    /// Not a number where a number is needed.
    #[error("{indicator}：“{text}”不是数字 / {indicator_en}: '{text}' is not a number")]
    NotANumber {
        /// Code and Chinese name.
        indicator: String,
        /// Code and English name.
        indicator_en: String,
        /// What was sent.
        text: String,
    },
    /// More decimal places than `dec(n)` allows.
    #[error(
        "{indicator}：“{text}”的小数位数超过 {places} 位 / {indicator_en}: '{text}' has more than {places} decimal places"
    )]
    TooManyDecimalPlaces {
        /// Code and Chinese name.
        indicator: String,
        /// Code and English name.
        indicator_en: String,
        /// What was sent.
        text: String,
        /// Places allowed.
        places: u32,
    },
    /// A fraction where a whole number is needed.
    #[error("{indicator}：“{text}”应为整数 / {indicator_en}: '{text}' must be a whole number")]
    NotAWholeNumber {
        /// Code and Chinese name.
        indicator: String,
        /// Code and English name.
        indicator_en: String,
        /// What was sent.
        text: String,
    },
    /// Below the minimum (usually: negative).
    #[error(
        "{indicator}：{value} 小于下限 {min} / {indicator_en}: {value} is below the minimum {min}"
    )]
    BelowMinimum {
        /// Code and Chinese name.
        indicator: String,
        /// Code and English name.
        indicator_en: String,
        /// The value.
        value: Decimal,
        /// The limit.
        min: Decimal,
    },
    /// Above the maximum (e.g. more than 8784 hours).
    #[error(
        "{indicator}：{value} 超过上限 {max} / {indicator_en}: {value} is above the maximum {max}"
    )]
    AboveMaximum {
        /// Code and Chinese name.
        indicator: String,
        /// Code and English name.
        indicator_en: String,
        /// The value.
        value: Decimal,
        /// The limit.
        max: Decimal,
    },
    /// Not one of the enum's options.
    #[error(
        "{indicator}：“{text}”不是可选值，应为 {options} 之一 / {indicator_en}: '{text}' is not one of {options}"
    )]
    NotAnOption {
        /// Code and Chinese name.
        indicator: String,
        /// Code and English name.
        indicator_en: String,
        /// What was sent.
        text: String,
        /// The options, e.g. `normal（正常生产）, stopped（全年停产）`.
        options: String,
    },
    /// Longer than a text indicator allows.
    #[error(
        "{indicator}：文字超过 {max_chars} 字 / {indicator_en}: text longer than {max_chars} characters"
    )]
    TextTooLong {
        /// Code and Chinese name.
        indicator: String,
        /// Code and English name.
        indicator_en: String,
        /// The limit.
        max_chars: usize,
    },
    /// A JSON value of the wrong type (an object, a list, a boolean).
    #[error(
        "{indicator}：数据类型不对，应为数字或文字 / {indicator_en}: expected a number or a string"
    )]
    WrongJsonType {
        /// Code and Chinese name.
        indicator: String,
        /// Code and English name.
        indicator_en: String,
    },
}

impl ValueError {
    /// The Chinese half of the message.
    pub fn message_zh(&self) -> String {
        let full = self.to_string();
        full.split(" / ").next().unwrap_or_default().to_string()
    }

    /// The English half of the message.
    pub fn message_en(&self) -> String {
        let full = self.to_string();
        full.split_once(" / ")
            .map(|(_, english)| english.to_string())
            .unwrap_or(full)
    }
}

/// Checks one value against its indicator and returns it in canonical form:
/// a decimal rescaled to the indicator's places (`12.5` for dec(3) is stored
/// as `12.500`), an enum's value, or trimmed text.
pub fn parse_value(indicator: &Indicator, raw: RawValue<'_>) -> Result<IndicatorValue, ValueError> {
    let names = IndicatorNames::of(indicator);
    let text = match raw {
        RawValue::Text(text) => text.trim().to_string(),
        RawValue::Json(serde_json::Value::String(text)) => text.trim().to_string(),
        RawValue::Json(serde_json::Value::Number(number)) => number.to_string(),
        RawValue::Json(_) => return Err(names.wrong_json_type()),
    };
    if text.is_empty() {
        return Err(names.empty());
    }
    match &indicator.kind {
        ValueKind::Decimal { places } => {
            let number = parse_decimal(&text, &names)?;
            check_decimal_places(number, *places, &text, &names)?;
            check_limits(indicator, number, &names)?;
            let mut canonical = number;
            canonical.rescale(*places);
            Ok(IndicatorValue::Number(canonical))
        }
        ValueKind::Integer => {
            let number = parse_decimal(&text, &names)?;
            if number.fract() != Decimal::ZERO {
                return Err(names.not_a_whole_number(&text));
            }
            check_limits(indicator, number, &names)?;
            let mut canonical = number;
            canonical.rescale(0);
            Ok(IndicatorValue::Number(canonical))
        }
        ValueKind::Enum { options } => {
            if options.iter().any(|option| option.value == text) {
                Ok(IndicatorValue::Text(text))
            } else {
                let listed = options
                    .iter()
                    .map(|option| format!("{}（{}）", option.value, option.label_zh))
                    .collect::<Vec<_>>()
                    .join(", ");
                Err(names.not_an_option(&text, listed))
            }
        }
        ValueKind::Text { max_chars } => {
            if text.chars().count() > *max_chars {
                Err(names.text_too_long(*max_chars))
            } else {
                Ok(IndicatorValue::Text(text))
            }
        }
    }
}

/// Accepts `12`, `12.345`, `-1` and scientific `1.5e3` (JSON numbers), never via f64.
fn parse_decimal(text: &str, names: &IndicatorNames) -> Result<Decimal, ValueError> {
    let looks_numeric = text
        .chars()
        .all(|character| character.is_ascii_digit() || "+-.eE".contains(character));
    if !looks_numeric {
        return Err(names.not_a_number(text));
    }
    Decimal::from_str_exact(text)
        .or_else(|_| Decimal::from_scientific(text))
        .or_else(|_| Decimal::from_str(text))
        .map_err(|_| names.not_a_number(text))
}

fn check_decimal_places(
    number: Decimal,
    places: u32,
    text: &str,
    names: &IndicatorNames,
) -> Result<(), ValueError> {
    // why: "12.50" for dec(1) is 12.5 written with a trailing zero, not a precision claim
    if number.normalize().scale() > places {
        return Err(ValueError::TooManyDecimalPlaces {
            indicator: names.zh.clone(),
            indicator_en: names.en.clone(),
            text: text.to_string(),
            places,
        });
    }
    Ok(())
}

fn check_limits(
    indicator: &Indicator,
    number: Decimal,
    names: &IndicatorNames,
) -> Result<(), ValueError> {
    if let Some(min) = indicator.min
        && number < min
    {
        return Err(ValueError::BelowMinimum {
            indicator: names.zh.clone(),
            indicator_en: names.en.clone(),
            value: number.normalize(),
            min,
        });
    }
    if let Some(max) = indicator.max
        && number > max
    {
        return Err(ValueError::AboveMaximum {
            indicator: names.zh.clone(),
            indicator_en: names.en.clone(),
            value: number.normalize(),
            max,
        });
    }
    Ok(())
}

/// `G101-15 化学需氧量排放量` and `G101-15 COD discharged`, for messages.
struct IndicatorNames {
    zh: String,
    en: String,
}

impl IndicatorNames {
    fn of(indicator: &Indicator) -> IndicatorNames {
        IndicatorNames {
            zh: format!("{} {}", indicator.code, indicator.name_zh),
            en: format!("{} {}", indicator.code, indicator.name_en),
        }
    }

    fn empty(&self) -> ValueError {
        ValueError::Empty {
            indicator: self.zh.clone(),
            indicator_en: self.en.clone(),
        }
    }

    fn wrong_json_type(&self) -> ValueError {
        ValueError::WrongJsonType {
            indicator: self.zh.clone(),
            indicator_en: self.en.clone(),
        }
    }

    fn not_a_number(&self, text: &str) -> ValueError {
        ValueError::NotANumber {
            indicator: self.zh.clone(),
            indicator_en: self.en.clone(),
            text: text.to_string(),
        }
    }

    fn not_a_whole_number(&self, text: &str) -> ValueError {
        ValueError::NotAWholeNumber {
            indicator: self.zh.clone(),
            indicator_en: self.en.clone(),
            text: text.to_string(),
        }
    }

    fn not_an_option(&self, text: &str, options: String) -> ValueError {
        ValueError::NotAnOption {
            indicator: self.zh.clone(),
            indicator_en: self.en.clone(),
            text: text.to_string(),
            options,
        }
    }

    fn text_too_long(&self, max_chars: usize) -> ValueError {
        ValueError::TextTooLong {
            indicator: self.zh.clone(),
            indicator_en: self.en.clone(),
            max_chars,
        }
    }
}
