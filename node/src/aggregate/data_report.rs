//! The data report of a period (数据报告, R8): the statistical bulletin a
//! bureau hands its leaders — the main pollutants' totals by child division
//! and by industry, each beside the previous period's figure with the change
//! (absolute and in percent), and the largest changes picked out for the
//! sentences that open the report.
//!
//! It reads the same totals as the `/totals` page and `GET
//! /api/v1/aggregates` ([`super::table::totals_table`], and for a province
//! or city below the node [`super::cross`]), so the three cannot disagree.
//! Figures stay exact decimals; a percentage is exact decimal arithmetic
//! rounded to one place, and absent when the previous figure is zero or
//! missing. A change is shown only where both periods have a figure: a
//! division without accepted data is "no data", not a fall to zero.
//!
//! The page `/data-report/{form}/{period}` and the workbook `GET
//! /api/v1/data-report` both render one [`DataReport`].

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::cross::{CrossTable, city_industry_table, province_industry_table};
use super::table::{Breakdown, MAIN_POLLUTANTS, totals_table};
use super::{AggregateTrees, Total};
use crate::clock::Timestamp;
use crate::division::{DivisionCode, DivisionKind};
use crate::metadata::Form;
use crate::store::StoreError;

/// A main pollutant of the report, as the form names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pollutant {
    /// Indicator key, e.g. `cod_emit`.
    pub key: String,
    /// Chinese name, e.g. 化学需氧量排放量.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Measurement unit, e.g. 吨.
    pub unit: String,
}

/// One figure of a period beside the previous period's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figure {
    /// This period's total; `None` when nothing accepted gives one.
    pub current: Option<Decimal>,
    /// The previous period's total.
    pub previous: Option<Decimal>,
}

impl Figure {
    /// `current − previous`, when both exist.
    pub fn change(self) -> Option<Decimal> {
        self.current?.checked_sub(self.previous?)
    }

    /// The change in percent of the previous figure, rounded to one decimal
    /// place; `None` when the previous figure is zero or missing.
    pub fn percent(self) -> Option<Decimal> {
        let previous = self.previous?;
        if previous.is_zero() {
            return None;
        }
        let ratio = self.change()?.checked_div(previous)?;
        Some(ratio.checked_mul(Decimal::ONE_HUNDRED)?.round_dp(1))
    }
}

/// One row of a comparison table: a division, an industry or the total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// `320102`, `26`, or the division's code for the total.
    pub key: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name (division names stay Chinese).
    pub name_en: String,
    /// Reports counted this period.
    pub reports: u64,
    /// One figure per pollutant of [`DataReport::pollutants`], in that order.
    pub figures: Vec<Figure>,
}

/// Rows and their total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComparisonTable {
    /// The rows.
    pub rows: Vec<ReportRow>,
    /// The division's own total.
    pub total: ReportRow,
}

/// The data report of one form and period within one division.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataReport {
    /// Form code.
    pub form: String,
    /// Period.
    pub period: String,
    /// The previous period, when it has accepted totals within the division.
    pub previous_period: Option<String>,
    /// The division reported on.
    pub within: DivisionCode,
    /// The main pollutants the form has, in [`MAIN_POLLUTANTS`] order.
    pub pollutants: Vec<Pollutant>,
    /// One row per child division (none below a county).
    pub by_division: ComparisonTable,
    /// One row per industry, the largest emitter of the first pollutant
    /// (COD) first; `None` where no industry totals are kept for the
    /// division (a county, or a city seen from another city's node).
    pub by_industry: Option<ComparisonTable>,
    /// When it was made.
    pub made_at: Timestamp,
}

/// A row's totals as read, before the comparison.
#[derive(Debug, Clone, Default)]
struct RowTotals {
    name_zh: String,
    name_en: String,
    reports: u64,
    sums: BTreeMap<String, Decimal>,
}

fn decimal(sum: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str(sum).map_err(|error| StoreError::Decode {
        tree: "aggregate_dimension_total_by_key".to_string(),
        reason: format!("total '{sum}' is not a decimal: {error}"),
    })
}

fn sums_of(totals: &BTreeMap<String, Total>) -> Result<BTreeMap<String, Decimal>, StoreError> {
    totals
        .iter()
        .map(|(key, total)| Ok((key.clone(), decimal(&total.sum)?)))
        .collect()
}

fn reports_of(totals: &BTreeMap<String, Total>) -> u64 {
    totals
        .values()
        .map(|total| total.reports)
        .max()
        .unwrap_or(0)
}

/// The rows of a dimension table (division or industry) and its total.
fn dimension_rows(
    trees: &AggregateTrees,
    form: &str,
    period: &str,
    within: DivisionCode,
    by: Breakdown,
) -> Result<(BTreeMap<String, RowTotals>, RowTotals), StoreError> {
    let table = totals_table(trees, form, period, within, by, None)?;
    let mut rows = BTreeMap::new();
    for row in &table.rows {
        rows.insert(
            row.key.clone(),
            RowTotals {
                name_zh: row.name_zh.clone(),
                name_en: row.name_en.clone(),
                reports: reports_of(&row.totals),
                sums: sums_of(&row.totals)?,
            },
        );
    }
    let total = RowTotals {
        reports: reports_of(&table.total),
        sums: sums_of(&table.total)?,
        ..RowTotals::default()
    };
    Ok((rows, total))
}

/// The industries of one division from a cross table (province × industry
/// or city × industry).
fn cross_rows(table: &CrossTable, within: DivisionCode) -> BTreeMap<String, RowTotals> {
    let mut rows = BTreeMap::new();
    for row in table.rows.iter().filter(|row| row.division == within) {
        let industry = crate::registry::IndustryCode::parse(&row.industry).ok();
        rows.insert(
            row.industry.clone(),
            RowTotals {
                name_zh: industry
                    .map_or_else(|| row.industry.clone(), |code| code.name_zh().to_string()),
                name_en: industry
                    .map_or_else(|| row.industry.clone(), |code| code.name_en().to_string()),
                reports: row.reports,
                sums: table
                    .indicators
                    .iter()
                    .zip(&row.totals)
                    .filter(|(_, total)| total.reports > 0 || !total.sum.is_zero())
                    .map(|(key, total)| (key.clone(), total.sum))
                    .collect(),
            },
        );
    }
    rows
}

/// The industry rows of `within` in one period, where they are kept: for
/// the node's whole jurisdiction from the industry totals, for a province
/// or city below it from the cross totals.
fn industry_rows(
    trees: &AggregateTrees,
    form: &str,
    period: &str,
    within: DivisionCode,
    jurisdiction: DivisionCode,
) -> Result<Option<BTreeMap<String, RowTotals>>, StoreError> {
    if within == jurisdiction {
        return Ok(Some(
            dimension_rows(trees, form, period, within, Breakdown::Industry)?.0,
        ));
    }
    match (within.kind(), within.parent()) {
        (DivisionKind::Province, _) => Ok(Some(cross_rows(
            &province_industry_table(trees, form, period)?,
            within,
        ))),
        (DivisionKind::City, Some(province)) if jurisdiction.kind() != DivisionKind::City => {
            Ok(Some(cross_rows(
                &city_industry_table(trees, form, period, province)?,
                within,
            )))
        }
        _ => Ok(None),
    }
}

fn compare(
    pollutants: &[Pollutant],
    key: &str,
    current: &RowTotals,
    previous: Option<&RowTotals>,
) -> ReportRow {
    ReportRow {
        key: key.to_string(),
        name_zh: current.name_zh.clone(),
        name_en: current.name_en.clone(),
        reports: current.reports,
        figures: pollutants
            .iter()
            .map(|pollutant| Figure {
                current: current.sums.get(&pollutant.key).copied(),
                previous: previous.and_then(|previous| previous.sums.get(&pollutant.key).copied()),
            })
            .collect(),
    }
}

/// Rows of both periods side by side: every row of this period, then the
/// rows only the previous period has (their figures show as no data now).
fn comparison_rows(
    pollutants: &[Pollutant],
    current: &BTreeMap<String, RowTotals>,
    previous: Option<&BTreeMap<String, RowTotals>>,
    keep_order: &[String],
) -> Vec<ReportRow> {
    let mut keys: Vec<String> = keep_order.to_vec();
    for key in current
        .keys()
        .chain(previous.into_iter().flat_map(|previous| previous.keys()))
    {
        if !keys.contains(key) {
            keys.push(key.clone());
        }
    }
    keys.iter()
        .filter_map(|key| {
            let earlier = previous.and_then(|previous| previous.get(key));
            match (current.get(key), earlier) {
                (Some(now), earlier) => Some(compare(pollutants, key, now, earlier)),
                (None, Some(earlier)) => {
                    let empty = RowTotals {
                        name_zh: earlier.name_zh.clone(),
                        name_en: earlier.name_en.clone(),
                        ..RowTotals::default()
                    };
                    Some(compare(pollutants, key, &empty, Some(earlier)))
                }
                (None, None) => None,
            }
        })
        .collect()
}

/// The first pollutant's current figure, for ordering industries (largest first).
fn first_current(row: &ReportRow) -> Decimal {
    row.figures
        .first()
        .and_then(|figure| figure.current)
        .unwrap_or(Decimal::MIN)
}

/// The data report of `form` and `period` within `within` (which lies in
/// the node's `jurisdiction`), made at `now`.
pub fn data_report(
    trees: &AggregateTrees,
    form: &Form,
    period: &str,
    within: DivisionCode,
    jurisdiction: DivisionCode,
    now: Timestamp,
) -> Result<DataReport, StoreError> {
    let code = form.code.as_str();
    let pollutants: Vec<Pollutant> = MAIN_POLLUTANTS
        .iter()
        .filter_map(|key| form.indicator(key))
        .map(|indicator| Pollutant {
            key: indicator.key.as_str().to_string(),
            name_zh: indicator.name_zh.clone(),
            name_en: indicator.name_en.clone(),
            unit: indicator.unit.clone(),
        })
        .collect();
    let (divisions, mut total) = dimension_rows(trees, code, period, within, Breakdown::Division)?;
    let previous_period = crate::metadata::period::PeriodId::parse(period)
        .ok()
        .and_then(|period| period.previous())
        .map(|period| period.to_string());
    let previous = match &previous_period {
        Some(earlier) => {
            let (rows, earlier_total) =
                dimension_rows(trees, code, earlier, within, Breakdown::Division)?;
            (!earlier_total.sums.is_empty()).then_some((earlier.clone(), rows, earlier_total))
        }
        None => None,
    };
    let name_zh = within.name_zh().to_string();
    total.name_zh.clone_from(&name_zh);
    total.name_en = name_zh;
    let division_order: Vec<String> = within.children().iter().map(ToString::to_string).collect();
    let by_division = ComparisonTable {
        rows: comparison_rows(
            &pollutants,
            &divisions,
            previous.as_ref().map(|(_, rows, _)| rows),
            &division_order,
        ),
        total: compare(
            &pollutants,
            &within.to_string(),
            &total,
            previous.as_ref().map(|(_, _, total)| total),
        ),
    };
    let by_industry = match industry_rows(trees, code, period, within, jurisdiction)? {
        None => None,
        Some(industries) => {
            let earlier = match &previous {
                Some((earlier, _, _)) => industry_rows(trees, code, earlier, within, jurisdiction)?,
                None => None,
            };
            let mut rows = comparison_rows(&pollutants, &industries, earlier.as_ref(), &[]);
            rows.sort_by(|a, b| {
                first_current(b)
                    .cmp(&first_current(a))
                    .then(a.key.cmp(&b.key))
            });
            Some(ComparisonTable {
                rows,
                total: by_division.total.clone(),
            })
        }
    };
    Ok(DataReport {
        form: code.to_string(),
        period: period.to_string(),
        previous_period: previous.map(|(earlier, _, _)| earlier),
        within,
        pollutants,
        by_division,
        by_industry,
        made_at: now,
    })
}

/// The change of one pollutant worth a sentence: the total's, and the row
/// (division) that moved most in the same direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Highlight {
    /// Index into [`DataReport::pollutants`].
    pub pollutant: usize,
    /// The division's total.
    pub total: Figure,
    /// The child division with the largest fall (when the total fell) or
    /// rise (when it rose), by percentage, with its figure.
    pub largest: Option<(String, Figure)>,
}

/// One highlight per pollutant that has a figure this period, the largest
/// changes (by percentage) first, then those without a comparison.
pub fn highlights(report: &DataReport) -> Vec<Highlight> {
    let mut found: Vec<Highlight> = report
        .pollutants
        .iter()
        .enumerate()
        .filter_map(|(index, _)| {
            let total = *report.by_division.total.figures.get(index)?;
            total.current?;
            // +1 when the total rose, −1 when it fell; nothing to name when flat.
            let direction = total
                .change()
                .filter(|change| !change.is_zero())
                .map(|change| {
                    if change.is_sign_negative() {
                        Decimal::NEGATIVE_ONE
                    } else {
                        Decimal::ONE
                    }
                });
            let largest = direction.and_then(|sign| {
                report
                    .by_division
                    .rows
                    .iter()
                    .filter_map(|row| {
                        let figure = *row.figures.get(index)?;
                        // The same direction as the total, by percentage.
                        let size = figure.percent()? * sign;
                        (size > Decimal::ZERO).then_some((row, figure, size))
                    })
                    .max_by(|a, b| a.2.cmp(&b.2).then(b.0.key.cmp(&a.0.key)))
                    .map(|(row, figure, _)| (row.name_zh.clone(), figure))
            });
            Some(Highlight {
                pollutant: index,
                total,
                largest,
            })
        })
        .collect();
    found.sort_by(|a, b| {
        let size = |highlight: &Highlight| highlight.total.percent().map(|percent| percent.abs());
        match (size(a), size(b)) {
            (Some(a), Some(b)) => b.cmp(&a),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then(a.pollutant.cmp(&b.pollutant))
    });
    found
}
