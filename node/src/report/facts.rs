//! From what a unit typed to what the rules see: every value parsed against
//! its indicator (exact decimals, limits, options), the previous period's
//! report of the same unit, the quarters of the year, and the unit's facts.

use std::collections::BTreeMap;

use crate::metadata::{
    EffectiveMetadata, Form, FormCode, RawValue, ReportValues, ValueError, parse_value,
};
use crate::rules::{ReportFacts, UnitFacts};

use super::ReportContent;

/// A value that does not fit its indicator, or a key the form does not have.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ValueProblem {
    /// Indicator key (or `rows[3].capacity` for a row cell).
    pub indicator: String,
    /// What is wrong, in Chinese.
    pub message_zh: String,
    /// What is wrong, in English.
    pub message_en: String,
}

fn problem_of(indicator: String, error: &ValueError) -> ValueProblem {
    ValueProblem {
        indicator,
        message_zh: error.message_zh(),
        message_en: error.message_en(),
    }
}

/// The form a report is on, or `None` if the node has no such form.
pub fn form_of<'a>(metadata: &'a EffectiveMetadata, form: &str) -> Option<&'a Form> {
    FormCode::parse(form)
        .ok()
        .and_then(|code| metadata.form(&code))
}

/// The row form whose columns a form's `rows` use (G103 for G101).
pub fn row_form_for<'a>(metadata: &'a EffectiveMetadata, form: &'a Form) -> Option<&'a Form> {
    if form.code.as_str() == "G101" {
        metadata
            .forms
            .iter()
            .find(|candidate| candidate.code.as_str() == "G103")
    } else if !form.row_columns.is_empty() {
        Some(form)
    } else {
        None
    }
}

/// Parses every value and row cell; collects every problem (not only the first).
pub fn parse_content(
    metadata: &EffectiveMetadata,
    form: &Form,
    content: &ReportContent,
) -> Result<(ReportValues, Vec<ReportValues>), Vec<ValueProblem>> {
    let mut problems = Vec::new();
    let mut values = BTreeMap::new();
    for (key, text) in &content.values {
        match form.indicator(key) {
            None => problems.push(ValueProblem {
                indicator: key.clone(),
                message_zh: format!("表 {} 没有指标 {key}", form.code.as_str()),
                message_en: format!("form {} has no indicator {key}", form.code.as_str()),
            }),
            Some(_) if text.trim().is_empty() => {}
            Some(indicator) => match parse_value(indicator, RawValue::Text(text)) {
                Ok(value) => {
                    values.insert(key.clone(), value);
                }
                Err(error) => problems.push(problem_of(key.clone(), &error)),
            },
        }
    }
    let mut rows = Vec::new();
    if !content.rows.is_empty() {
        match row_form_for(metadata, form) {
            None => problems.push(ValueProblem {
                indicator: "rows".to_string(),
                message_zh: format!("表 {} 没有明细行", form.code.as_str()),
                message_en: format!("form {} has no rows", form.code.as_str()),
            }),
            Some(row_form) => {
                for (index, row) in content.rows.iter().enumerate() {
                    let mut parsed = BTreeMap::new();
                    for (key, text) in row {
                        let place = format!("rows[{index}].{key}");
                        match row_form
                            .row_columns
                            .iter()
                            .find(|column| column.key.as_str() == key)
                        {
                            None => problems.push(ValueProblem {
                                indicator: place,
                                message_zh: format!("明细行没有列 {key}"),
                                message_en: format!("rows have no column {key}"),
                            }),
                            Some(column) => match parse_value(column, RawValue::Text(text)) {
                                Ok(value) => {
                                    parsed.insert(key.clone(), value);
                                }
                                Err(error) => problems.push(problem_of(place, &error)),
                            },
                        }
                    }
                    rows.push(parsed);
                }
            }
        }
    }
    if problems.is_empty() {
        Ok((values, rows))
    } else {
        Err(problems)
    }
}

/// Everything the rules of the form see, given the parsed report and its context.
pub fn report_facts(
    values: ReportValues,
    rows: Vec<ReportValues>,
    previous: Option<ReportValues>,
    quarters: Option<Vec<ReportValues>>,
    unit: UnitFacts,
) -> ReportFacts {
    ReportFacts {
        values,
        rows,
        previous,
        quarters,
        unit,
    }
}
