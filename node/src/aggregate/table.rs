//! Tables read from the totals: one row per child division, industry or
//! control class, and the units of a division with what each contributed.
//! The API (`GET /api/v1/aggregates`), its export, the totals page and a
//! publication all read through here, so they cannot disagree.

use std::collections::BTreeMap;

use super::{AggregateTrees, Contribution, Total, totals_of};
use crate::division::DivisionCode;
use crate::registry::ControlClass;
use crate::report::ReportKey;
use crate::store::StoreError;

/// The five main pollutants (主要污染物) of the total-emission targets, as
/// indicator keys of the national standard: COD, ammonia nitrogen, SO2, NOx,
/// particulate matter (烟（粉）尘).
pub const MAIN_POLLUTANTS: [&str; 5] = ["cod_emit", "nh3n_emit", "so2_emit", "nox_emit", "pm_emit"];

/// What a table's rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdown {
    /// One row per child division of the division asked for.
    Division,
    /// One row per industry (GB/T 4754 major category) that has totals.
    Industry,
    /// One row per control class.
    Class,
}

impl Breakdown {
    /// Reads `division`, `industry` or `class`.
    pub fn parse(text: &str) -> Option<Breakdown> {
        match text {
            "division" => Some(Breakdown::Division),
            "industry" => Some(Breakdown::Industry),
            "class" => Some(Breakdown::Class),
            _ => None,
        }
    }

    /// The word of the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Breakdown::Division => "division",
            Breakdown::Industry => "industry",
            Breakdown::Class => "class",
        }
    }
}

/// One row of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalsRow {
    /// `320102`, `26` or `national`.
    pub key: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name (division names stay Chinese).
    pub name_en: String,
    /// Indicator key → total.
    pub totals: BTreeMap<String, Total>,
}

/// Totals of one form and period within a division, broken down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalsTable {
    /// Form code.
    pub form: String,
    /// Period.
    pub period: String,
    /// What the rows are.
    pub by: Breakdown,
    /// The division the table covers.
    pub within: DivisionCode,
    /// The division's own totals.
    pub total: BTreeMap<String, Total>,
    /// The rows.
    pub rows: Vec<TotalsRow>,
}

fn keep(totals: BTreeMap<String, Total>, indicators: Option<&[String]>) -> BTreeMap<String, Total> {
    match indicators {
        None => totals,
        Some(wanted) => totals
            .into_iter()
            .filter(|(key, _)| wanted.contains(key))
            .collect(),
    }
}

/// The table of `form` and `period` within `within`, by `by`, keeping only
/// `indicators` when given. Industry rows without totals are left out;
/// division and class rows are always there.
pub fn totals_table(
    trees: &AggregateTrees,
    form: &str,
    period: &str,
    within: DivisionCode,
    by: Breakdown,
    indicators: Option<&[String]>,
) -> Result<TotalsTable, StoreError> {
    let read = |dimension: String| -> Result<BTreeMap<String, Total>, StoreError> {
        Ok(keep(
            totals_of(trees, form, period, &dimension)?,
            indicators,
        ))
    };
    let rows = match by {
        Breakdown::Division => within
            .children()
            .iter()
            .map(|child| {
                Ok(TotalsRow {
                    key: child.to_string(),
                    name_zh: child.name_zh().to_string(),
                    name_en: child.name_zh().to_string(),
                    totals: read(format!("division:{child}"))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?,
        Breakdown::Industry => crate::registry::all_industry_codes()
            .into_iter()
            .map(|industry| {
                Ok(TotalsRow {
                    key: industry.as_str().to_string(),
                    name_zh: industry.name_zh().to_string(),
                    name_en: industry.name_en().to_string(),
                    totals: read(format!("industry:{}", industry.as_str()))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?
            .into_iter()
            .filter(|row| !row.totals.is_empty())
            .collect(),
        Breakdown::Class => ControlClass::ALL
            .into_iter()
            .map(|class| {
                Ok(TotalsRow {
                    key: class.code_word().to_string(),
                    name_zh: class.label_zh().to_string(),
                    name_en: class.code_word().to_string(),
                    totals: read(format!("class:{}", class.code_word()))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?,
    };
    Ok(TotalsTable {
        form: form.to_string(),
        period: period.to_string(),
        by,
        within,
        total: read(format!("division:{within}"))?,
        rows,
    })
}

/// What one unit's counted report contributed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitContribution {
    /// The unit's code.
    pub unit: String,
    /// The version counted.
    pub version: u32,
    /// Indicator key → value as counted.
    pub values: BTreeMap<String, String>,
}

/// The units in `division` whose report of `form` and `period` is in the
/// totals, with what each contributed (the drill-down's last level).
pub fn unit_contributions(
    trees: &AggregateTrees,
    form: &str,
    period: &str,
    division: DivisionCode,
) -> Result<Vec<UnitContribution>, StoreError> {
    let dimension = format!("division:{division}");
    let mut units = Vec::new();
    for entry in trees.contributions.scan_prefix(&[]) {
        let (
            key,
            Contribution {
                version,
                dimensions,
                values,
            },
        ) = entry?;
        let Some(ReportKey {
            unit,
            form: report_form,
            period: report_period,
        }) = ReportKey::from_bytes(&key)
        else {
            continue;
        };
        if report_form == form && report_period == period && dimensions.contains(&dimension) {
            units.push(UnitContribution {
                unit,
                version,
                values,
            });
        }
    }
    Ok(units)
}
