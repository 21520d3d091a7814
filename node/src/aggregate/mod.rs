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
//! Every total is a *cell*: one record holding the sums of all indicators of
//! a form and period for one dimension (a division, an industry, a class) or
//! one cross of dimensions ([`cross`]: province × industry, city ×
//! industry). Counting a report writes about eight cells, whatever the
//! number of indicators, and a summary reads one record per row.
//!
//! Trees:
//! - `aggregate_dimension_total_by_key // Form 0 Period 0 Dimension → TotalsCell`
//!   where Dimension is `division:320102`, `industry:26` or `class:national`;
//! - the cross cells and the indicator slots of [`cross`];
//! - `aggregate_contribution_by_report // ReportKey → Contribution` (what each report added).
//!
//! Totals used to be kept one record per dimension × indicator in
//! `aggregate_total_by_key` (about 360 writes per report); that tree is no
//! longer read, and [`AggregateTrees::open`] counts the contributions into
//! the cells when it finds contributions but no cells.
//!
//! [`table`] reads tables out of the totals (by division, industry, class;
//! the units of a division), [`progress`] counts where the reports stand,
//! [`data_report`] compares a period with the previous one for the data
//! report, and [`publication`] keeps the published snapshots (R8/R16).

pub mod cross;
pub mod data_report;
pub mod progress;
pub mod publication;
pub mod table;

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::division::DivisionCode;
use crate::report::ReportKey;
use crate::store::{Record, Store, StoreError, Transaction, Tree, TreeHandle, TxFailure};

/// A running total of one indicator, as tables and the API show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Total {
    /// The exact sum, as a decimal string.
    pub sum: String,
    /// How many reports contribute.
    pub reports: u64,
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
    /// Single-dimension cells.
    pub totals: Tree<cross::TotalsCell>,
    /// Contributions per report.
    pub contributions: Tree<Contribution>,
    /// Cross cells (province or city × industry, every indicator).
    pub cross_cells: Tree<cross::TotalsCell>,
    /// Indicator slots of the cross cells per form and period.
    pub cross_slots: Tree<cross::IndicatorSlots>,
}

impl AggregateTrees {
    /// Opens the trees, and counts every contribution into the cells when
    /// the store has contributions but no cells (written before the cells
    /// existed), so totals never silently read as zero.
    pub fn open(store: &Store) -> Result<AggregateTrees, StoreError> {
        let trees = AggregateTrees {
            totals: store.tree("aggregate_dimension_total_by_key")?,
            contributions: store.tree("aggregate_contribution_by_report")?,
            cross_cells: store.tree("aggregate_cross_total_by_key")?,
            cross_slots: store.tree("aggregate_cross_slots_by_form_period")?,
        };
        // The marker is written only after a complete recount: a node killed
        // halfway starts the recount again from empty cells at its next start.
        let marker: Tree<RecountMarker> = store.tree("aggregate_recount_marker")?;
        if marker.get(RECOUNT_MARKER_KEY)?.is_none() {
            if !trees.contributions.is_empty() {
                trees.totals.clear()?;
                trees.cross_cells.clear()?;
                trees.cross_slots.clear()?;
                recount_cells(store, &trees)?;
            }
            marker.insert(RECOUNT_MARKER_KEY, &RecountMarker { complete: true })?;
            store.commit_durable_blocking()?;
        }
        Ok(trees)
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

/// Adds (`sign` > 0) or removes a contribution from every cell it counts in.
fn adjust(
    tx: &Transaction<'_>,
    trees: &AggregateTrees,
    key: &ReportKey,
    contribution: &Contribution,
    sign: i8,
) -> Result<(), TxFailure> {
    let by_slot = cross::slot_values(tx, trees, &key.form, &key.period, contribution)?;
    for dimension in &contribution.dimensions {
        let cell_key = cross::dimension_key(&key.form, &key.period, dimension);
        cross::adjust_cell(tx, &trees.totals, &cell_key, &by_slot, sign)?;
    }
    for cell_key in cross::cross_keys(&key.form, &key.period, &contribution.dimensions) {
        cross::adjust_cell(tx, &trees.cross_cells, &cell_key, &by_slot, sign)?;
    }
    Ok(())
}

const RECOUNT_MARKER_KEY: &[u8] = b"cells";

/// Written once the cells hold every stored contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecountMarker {
    /// Always true: its presence is the message.
    pub complete: bool,
}

impl Record for RecountMarker {
    const FORMAT_VERSION: u8 = 1;
}

/// Counts every stored contribution into empty cells, in transactions of a
/// few hundred reports (the upgrade from the per-indicator layout).
fn recount_cells(store: &Store, trees: &AggregateTrees) -> Result<(), StoreError> {
    let mut batch: Vec<(ReportKey, Contribution)> = Vec::new();
    let mut contributions = trees.contributions.scan_prefix(&[]);
    loop {
        let next = contributions.next().transpose()?;
        let done = next.is_none();
        if let Some((report_key, contribution)) = next
            && let Some(key) = ReportKey::from_bytes(&report_key)
        {
            batch.push((key, contribution));
        }
        if batch.len() >= 500 || (done && !batch.is_empty()) {
            store.transaction(&trees.handles(), |tx| {
                for (key, contribution) in &batch {
                    adjust(tx, trees, key, contribution, 1)?;
                }
                Ok::<(), crate::store::TxError<StoreError>>(())
            })?;
            batch.clear();
        }
        if done {
            return Ok(());
        }
    }
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
    }
    adjust(tx, trees, key, &contribution, 1)?;
    tx.insert(&trees.contributions, &report_key, &contribution)?;
    Ok(())
}

/// The totals of one dimension for a form and period: indicator → total
/// (indicators that no counted report gives a number for are left out).
pub fn totals_of(
    trees: &AggregateTrees,
    form: &str,
    period: &str,
    dimension: &str,
) -> Result<BTreeMap<String, Total>, StoreError> {
    let Some(cell) = trees
        .totals
        .get(&cross::dimension_key(form, period, dimension))?
    else {
        return Ok(BTreeMap::new());
    };
    let indicators = cross::indicator_slots(trees, form, period)?;
    Ok(indicators
        .into_iter()
        .zip(cell.slots)
        .filter(|(_, total)| total.reports > 0 || !total.sum.is_zero())
        .map(|(indicator, total)| {
            (
                indicator,
                Total {
                    sum: total.sum.normalize().to_string(),
                    reports: u64::from(total.reports),
                },
            )
        })
        .collect())
}

/// Every total recomputed from the contributions, in the comparable shape
/// of [`stored_totals`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Single-dimension cells: cell key → tally.
    pub totals: BTreeMap<Vec<u8>, cross::CellTally>,
    /// Cross cells: cell key → tally.
    pub cross: BTreeMap<Vec<u8>, cross::CellTally>,
}

/// Every stored cell in the shape of [`rebuild_from_contributions`].
pub fn stored_totals(trees: &AggregateTrees) -> Result<Rebuilt, StoreError> {
    let slots = cross::all_slots(trees)?;
    Ok(Rebuilt {
        totals: cross::tallies_of_tree(&trees.totals, &slots)?,
        cross: cross::tallies_of_tree(&trees.cross_cells, &slots)?,
    })
}

/// Recomputes every total from the contributions (the check that
/// incremental == rebuilt).
pub fn rebuild_from_contributions(trees: &AggregateTrees) -> Result<Rebuilt, StoreError> {
    let mut rebuilt = Rebuilt::default();
    for entry in trees.contributions.scan_prefix(&[]) {
        let (report_key, contribution) = entry?;
        let Some(ReportKey { form, period, .. }) = ReportKey::from_bytes(&report_key) else {
            continue;
        };
        let values = numeric(&contribution.values);
        for dimension in &contribution.dimensions {
            let cell_key = cross::dimension_key(&form, &period, dimension);
            cross::tally(&mut rebuilt.totals, cell_key, &values);
        }
        for cell_key in cross::cross_keys(&form, &period, &contribution.dimensions) {
            cross::tally(&mut rebuilt.cross, cell_key, &values);
        }
    }
    for tally in rebuilt
        .totals
        .values_mut()
        .chain(rebuilt.cross.values_mut())
    {
        for (sum, _) in tally.indicators.values_mut() {
            *sum = sum.normalize();
        }
    }
    Ok(rebuilt)
}

#[cfg(test)]
mod tests;
