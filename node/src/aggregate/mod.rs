//! Totals (汇总) of accepted data, kept incrementally and exactly.
//!
//! When this level approves (accepts) a report version, its numeric values
//! are added to every total it belongs to — its county, city, province and
//! the nation; its industry; each of its control classes — in the same
//! transaction as the approval. When a corrected version is approved later,
//! the old contribution is subtracted and the new one added (swapped), so a
//! summary is read, never recomputed. Arithmetic is exact decimal
//! (`rust_decimal`): a national total equals the sum of the unit values to
//! the last digit.
//!
//! Trees:
//! - `aggregate_total_by_key        // Form 0 Period 0 Dimension 0 Indicator → Total`
//!   where Dimension is `division:320102`, `industry:26` or `class:national`;
//! - `aggregate_contribution_by_report // ReportKey → Contribution` (what each report added);
//! - the cross totals of [`cross`] (province × industry, city × industry, all
//!   indicators in one record), kept in the same transaction.
//!
//! [`table`] reads tables out of the totals (by division, industry, class;
//! the units of a division), [`progress`] counts where the reports stand, and
//! [`publication`] keeps the published snapshots (R8/R16).

pub mod cross;
pub mod progress;
pub mod publication;
pub mod table;

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::division::DivisionCode;
use crate::report::ReportKey;
use crate::store::{Record, Store, StoreError, Transaction, Tree, TreeHandle, TxFailure};

/// A running total.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Total {
    /// The exact sum, as a decimal string.
    pub sum: String,
    /// How many reports contribute.
    pub reports: u64,
}

impl Record for Total {
    const FORMAT_VERSION: u8 = 1;
}

/// What one report contributed: its dimensions and numeric values.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contribution {
    /// The version counted.
    pub version: u32,
    /// Dimension keys it counts under.
    pub dimensions: Vec<String>,
    /// Indicator key → value (decimal string).
    pub values: BTreeMap<String, String>,
}

impl Record for Contribution {
    const FORMAT_VERSION: u8 = 1;
}

/// The aggregate trees.
#[derive(Debug, Clone)]
pub struct AggregateTrees {
    /// Totals.
    pub totals: Tree<Total>,
    /// Contributions per report.
    pub contributions: Tree<Contribution>,
    /// Cross cells (province or city × industry, every indicator).
    pub cross_cells: Tree<cross::CrossCell>,
    /// Indicator slots of the cross cells per form and period.
    pub cross_slots: Tree<cross::IndicatorSlots>,
}

impl AggregateTrees {
    /// Opens the trees.
    pub fn open(store: &Store) -> Result<AggregateTrees, StoreError> {
        Ok(AggregateTrees {
            totals: store.tree("aggregate_total_by_key")?,
            contributions: store.tree("aggregate_contribution_by_report")?,
            cross_cells: store.tree("aggregate_cross_total_by_key")?,
            cross_slots: store.tree("aggregate_cross_slots_by_form_period")?,
        })
    }

    /// Every aggregate tree, for the tree list of a transaction that counts a report.
    pub fn handles(&self) -> [&dyn TreeHandle; 4] {
        [
            &self.totals,
            &self.contributions,
            &self.cross_cells,
            &self.cross_slots,
        ]
    }
}

/// The dimensions a unit's report counts under.
pub fn dimensions(county: &str, industry: &str, classes: &[String]) -> Vec<String> {
    let mut keys = Vec::new();
    if let Ok(division) = DivisionCode::parse(county) {
        keys.extend(
            division
                .path_from_nation()
                .iter()
                .map(|code| format!("division:{code}")),
        );
    }
    keys.push(format!("industry:{industry}"));
    keys.extend(classes.iter().map(|class| format!("class:{class}")));
    keys
}

/// `Form 0 Period 0 Dimension 0 Indicator`.
pub fn total_key(form: &str, period: &str, dimension: &str, indicator: &str) -> Vec<u8> {
    format!("{form}\0{period}\0{dimension}\0{indicator}").into_bytes()
}

fn numeric(values: &BTreeMap<String, String>) -> BTreeMap<String, Decimal> {
    values
        .iter()
        .filter_map(|(key, text)| {
            Decimal::from_str(text.trim())
                .ok()
                .map(|number| (key.clone(), number))
        })
        .collect()
}

fn adjust(
    tx: &Transaction<'_>,
    trees: &AggregateTrees,
    key: &ReportKey,
    contribution: &Contribution,
    sign: i8,
) -> Result<(), TxFailure> {
    for (indicator, value) in numeric(&contribution.values) {
        for dimension in &contribution.dimensions {
            let total_key = total_key(&key.form, &key.period, dimension, &indicator);
            let mut total = tx.get(&trees.totals, &total_key)?.unwrap_or_default();
            let current = Decimal::from_str(&total.sum).unwrap_or(Decimal::ZERO);
            let next = if sign > 0 {
                current + value
            } else {
                current - value
            };
            total.sum = next.normalize().to_string();
            total.reports = if sign > 0 {
                total.reports + 1
            } else {
                total.reports.saturating_sub(1)
            };
            tx.insert(&trees.totals, &total_key, &total)?;
        }
    }
    Ok(())
}

/// Counts a report version in the totals, replacing what an earlier version
/// of the same report contributed. Inside the approving transaction (which
/// must include every aggregate tree: [`AggregateTrees::handles`]).
pub fn count_accepted(
    tx: &Transaction<'_>,
    trees: &AggregateTrees,
    key: &ReportKey,
    contribution: Contribution,
) -> Result<(), TxFailure> {
    let report_key = key.to_bytes();
    if let Some(previous) = tx.get(&trees.contributions, &report_key)? {
        if previous == contribution {
            return Ok(());
        }
        adjust(tx, trees, key, &previous, -1)?;
        cross::adjust_cells(tx, trees, &key.form, &key.period, &previous, -1)?;
    }
    adjust(tx, trees, key, &contribution, 1)?;
    cross::adjust_cells(tx, trees, &key.form, &key.period, &contribution, 1)?;
    tx.insert(&trees.contributions, &report_key, &contribution)?;
    Ok(())
}

/// The totals of one dimension for a form and period: indicator → total.
pub fn totals_of(
    trees: &AggregateTrees,
    form: &str,
    period: &str,
    dimension: &str,
) -> Result<BTreeMap<String, Total>, StoreError> {
    let prefix = format!("{form}\0{period}\0{dimension}\0").into_bytes();
    trees
        .totals
        .scan_prefix(&prefix)
        .map(|entry| {
            entry.map(|(key, total)| {
                let indicator = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
                (indicator, total)
            })
        })
        .collect()
}

/// Every total recomputed from the contributions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Single-dimension totals: total key → sum.
    pub totals: BTreeMap<Vec<u8>, Decimal>,
    /// Cross cells: cell key → tally (sums normalised), comparable with
    /// [`cross::stored_tallies`].
    pub cross: BTreeMap<Vec<u8>, cross::CellTally>,
}

/// Recomputes every total from the contributions (the rebuild command, and
/// the check that incremental == rebuilt).
pub fn rebuild_from_contributions(trees: &AggregateTrees) -> Result<Rebuilt, StoreError> {
    let mut rebuilt = Rebuilt::default();
    for entry in trees.contributions.scan_prefix(&[]) {
        let (report_key, contribution) = entry?;
        let Some(crate::report::ReportKey { form, period, .. }) =
            crate::report::ReportKey::from_bytes(&report_key)
        else {
            continue;
        };
        for (indicator, value) in numeric(&contribution.values) {
            for dimension in &contribution.dimensions {
                *rebuilt
                    .totals
                    .entry(total_key(&form, &period, dimension, &indicator))
                    .or_default() += value;
            }
        }
        cross::tally_contribution(&mut rebuilt.cross, &form, &period, &contribution);
    }
    for tally in rebuilt.cross.values_mut() {
        for (sum, _) in tally.indicators.values_mut() {
            *sum = sum.normalize();
        }
    }
    Ok(rebuilt)
}

#[cfg(test)]
mod tests;
