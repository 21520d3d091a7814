//! Cross totals: province × industry, and a province's cities × industry,
//! for every indicator of a form and period at once.
//!
//! The single-dimension totals answer "Jiangsu's COD" with one read, but the
//! national summary (31 provinces × every industry × every indicator) would
//! need a total that does not exist. So each accepted report is also added to
//! two *cells*, in the same transaction as the other totals: its province ×
//! industry and its city (the province's child on its division chain) ×
//! industry. A cell holds the sums of all indicators, so the national summary
//! is one prefix scan of about 31 × 41 records, and a province's drill-down
//! one scan of its cities' cells.
//!
//! The single-dimension totals of the parent module are cells of the same
//! record type, [`TotalsCell`], keyed by dimension.
//!
//! A cell is read in bulk, so it is stored in a binary layout rather than
//! JSON ([`Record::encode_body`]): decoding 76,000 JSON decimal strings would
//! cost more than the scan itself. Indicators are numbered per form and
//! period in the order they were first counted (the *slots*); a cell stores
//! one exact `rust_decimal` sum and one report count per slot, and a slot
//! missing from an older, shorter cell is zero.
//!
//! Trees:
//! - `aggregate_cross_total_by_key // Form 0 Period 0 "P" 0 Province 0 Industry → TotalsCell`
//!   and `… 0 "C" 0 Province 0 City 0 Industry → TotalsCell` (the `P` cells sort
//!   together, so the national summary never walks over city cells);
//! - `aggregate_cross_slots_by_form_period // Form 0 Period → IndicatorSlots`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{AggregateTrees, Contribution, numeric};
use crate::division::{DivisionCode, DivisionKind};
use crate::store::{Record, StoreError, Transaction, Tree, TxFailure};

const CELL_TREE: &str = "aggregate_cross_total_by_key";

/// The sums of every indicator of one cell: a dimension (division, industry,
/// class) or a cross of them (province × industry, city × industry).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TotalsCell {
    /// How many reports are counted in the cell.
    pub reports: u64,
    /// Per slot: the exact sum and how many reports gave a number for it.
    pub slots: Vec<SlotTotal>,
}

/// One indicator's total inside a cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlotTotal {
    /// The exact sum.
    pub sum: Decimal,
    /// How many reports contribute a number.
    pub reports: u32,
}

/// Bytes per slot in the binary layout: rust_decimal's 16-byte form and a u32 count.
const SLOT_BYTES: usize = 20;

impl Record for TotalsCell {
    const FORMAT_VERSION: u8 = 1;

    /// `reports: u64 LE`, then per slot `Decimal::serialize()` (16 bytes) and `reports: u32 LE`.
    fn encode_body(&self) -> Result<Vec<u8>, String> {
        let mut bytes = Vec::with_capacity(8 + self.slots.len() * SLOT_BYTES);
        bytes.extend_from_slice(&self.reports.to_le_bytes());
        for slot in &self.slots {
            bytes.extend_from_slice(&slot.sum.serialize());
            bytes.extend_from_slice(&slot.reports.to_le_bytes());
        }
        Ok(bytes)
    }

    fn decode_body(body: &[u8]) -> Result<Self, String> {
        let (head, rest) = body
            .split_first_chunk::<8>()
            .ok_or_else(|| format!("a cross cell needs 8 bytes, found {}", body.len()))?;
        if rest.len() % SLOT_BYTES != 0 {
            return Err(format!(
                "a cross cell's slots take {SLOT_BYTES} bytes each, found {} bytes",
                rest.len()
            ));
        }
        let mut slots = Vec::with_capacity(rest.len() / SLOT_BYTES);
        for chunk in rest.chunks_exact(SLOT_BYTES) {
            let (sum, count) = chunk.split_at(16);
            let sum: [u8; 16] = sum
                .try_into()
                .map_err(|_| "a slot sum needs 16 bytes".to_string())?;
            let count: [u8; 4] = count
                .try_into()
                .map_err(|_| "a slot count needs 4 bytes".to_string())?;
            slots.push(SlotTotal {
                sum: Decimal::deserialize(sum),
                reports: u32::from_le_bytes(count),
            });
        }
        Ok(TotalsCell {
            reports: u64::from_le_bytes(*head),
            slots,
        })
    }
}

/// The indicator keys of a form and period, in slot order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndicatorSlots {
    /// Indicator keys; a key's position is its slot.
    pub indicators: Vec<String>,
}

impl Record for IndicatorSlots {
    const FORMAT_VERSION: u8 = 1;
}

/// Where a report counts in the cross totals.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    province: DivisionCode,
    city: Option<DivisionCode>,
    industry: String,
}

/// Reads the province, city and industry out of a contribution's dimensions.
/// A report of a unit with no known division has no place (as it has no
/// division totals either).
fn place_of(dimensions: &[String]) -> Option<Place> {
    let mut province = None;
    let mut city = None;
    let mut industry = None;
    for dimension in dimensions {
        if let Some(code) = dimension.strip_prefix("division:") {
            if let Ok(division) = DivisionCode::parse(code) {
                match division.kind() {
                    DivisionKind::Province => province = Some(division),
                    DivisionKind::City => city = Some(division),
                    DivisionKind::Nation | DivisionKind::County => {}
                }
            }
        } else if let Some(code) = dimension.strip_prefix("industry:") {
            industry = Some(code.to_string());
        }
    }
    Some(Place {
        province: province?,
        city,
        industry: industry?,
    })
}

fn slots_key(form: &str, period: &str) -> Vec<u8> {
    format!("{form}\0{period}").into_bytes()
}

fn province_prefix(form: &str, period: &str) -> Vec<u8> {
    format!("{form}\0{period}\0P\0").into_bytes()
}

fn city_prefix(form: &str, period: &str, province: DivisionCode) -> Vec<u8> {
    format!("{form}\0{period}\0C\0{province}\0").into_bytes()
}

/// `Form 0 Period 0 Dimension`: the key of a single-dimension cell.
pub fn dimension_key(form: &str, period: &str, dimension: &str) -> Vec<u8> {
    format!("{form}\0{period}\0{dimension}").into_bytes()
}

/// The keys of the cross cells a report with these dimensions counts in.
pub(super) fn cross_keys(form: &str, period: &str, dimensions: &[String]) -> Vec<Vec<u8>> {
    let Some(place) = place_of(dimensions) else {
        return Vec::new();
    };
    let mut keys = Vec::with_capacity(2);
    let mut province_key = province_prefix(form, period);
    province_key.extend_from_slice(format!("{}\0{}", place.province, place.industry).as_bytes());
    keys.push(province_key);
    if let Some(city) = place.city {
        let mut city_key = city_prefix(form, period, place.province);
        city_key.extend_from_slice(format!("{city}\0{}", place.industry).as_bytes());
        keys.push(city_key);
    }
    keys
}

fn cell_failure(reason: &str) -> TxFailure {
    TxFailure::Store(StoreError::Encode {
        tree: CELL_TREE.to_string(),
        reason: reason.to_string(),
    })
}

/// A contribution's numeric values by slot, giving a slot to each indicator
/// seen for the first time in this form and period. Inside the counting
/// transaction.
pub(super) fn slot_values(
    tx: &Transaction<'_>,
    trees: &AggregateTrees,
    form: &str,
    period: &str,
    contribution: &Contribution,
) -> Result<SlotValues, TxFailure> {
    let values = numeric(&contribution.values);
    let slots_key = slots_key(form, period);
    let mut slots = tx.get(&trees.cross_slots, &slots_key)?.unwrap_or_default();
    let n_known = slots.indicators.len();
    let mut by_slot: Vec<(usize, Decimal)> = Vec::with_capacity(values.len());
    for (indicator, value) in values {
        let slot = match slots
            .indicators
            .iter()
            .position(|known| *known == indicator)
        {
            Some(slot) => slot,
            None => {
                slots.indicators.push(indicator);
                slots.indicators.len() - 1
            }
        };
        by_slot.push((slot, value));
    }
    if slots.indicators.len() != n_known {
        tx.insert(&trees.cross_slots, &slots_key, &slots)?;
    }
    Ok(SlotValues {
        n_slots: slots.indicators.len(),
        by_slot,
    })
}

/// A contribution's numeric values, by slot.
#[derive(Debug, Clone)]
pub(super) struct SlotValues {
    n_slots: usize,
    by_slot: Vec<(usize, Decimal)>,
}

/// Adds (`sign` > 0) or removes one contribution's values in one cell.
pub(super) fn adjust_cell(
    tx: &Transaction<'_>,
    tree: &Tree<TotalsCell>,
    cell_key: &[u8],
    values: &SlotValues,
    sign: i8,
) -> Result<(), TxFailure> {
    let mut cell = tx.get(tree, cell_key)?.unwrap_or_default();
    if cell.slots.len() < values.n_slots {
        cell.slots.resize(values.n_slots, SlotTotal::default());
    }
    cell.reports = if sign > 0 {
        cell.reports + 1
    } else {
        cell.reports.saturating_sub(1)
    };
    for &(slot, value) in &values.by_slot {
        let total = cell
            .slots
            .get_mut(slot)
            .ok_or_else(|| cell_failure("a slot beyond the form's indicators"))?;
        total.sum = if sign > 0 {
            total.sum.checked_add(value)
        } else {
            total.sum.checked_sub(value)
        }
        .ok_or_else(|| cell_failure("a total exceeds 28 significant digits"))?;
        total.reports = if sign > 0 {
            total.reports + 1
        } else {
            total.reports.saturating_sub(1)
        };
    }
    tx.insert(tree, cell_key, &cell)
}

/// One row of a cross table: a division × industry with every indicator's total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossRow {
    /// The province (national summary) or the province's child (drill-down).
    pub division: DivisionCode,
    /// GB/T 4754 major category, e.g. `26`.
    pub industry: String,
    /// How many reports are counted in the row.
    pub reports: u64,
    /// Per indicator of [`CrossTable::indicators`], in that order.
    pub totals: Vec<SlotTotal>,
}

/// Totals of one form and period by division × industry, every indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossTable {
    /// Form code.
    pub form: String,
    /// Period.
    pub period: String,
    /// The indicator keys, in the order of each row's `totals`.
    pub indicators: Vec<String>,
    /// Rows in division, then industry order; only cells that have counted a report.
    pub rows: Vec<CrossRow>,
}

impl CrossTable {
    /// Folds the industries away: one row per division (e.g. a province's
    /// cities' totals), with the same indicator order.
    pub fn by_division(&self) -> Vec<(DivisionCode, u64, Vec<SlotTotal>)> {
        let mut folded: Vec<(DivisionCode, u64, Vec<SlotTotal>)> = Vec::new();
        for row in &self.rows {
            let fresh = folded.last().is_none_or(|last| last.0 != row.division);
            if fresh {
                folded.push((
                    row.division,
                    0,
                    vec![SlotTotal::default(); self.indicators.len()],
                ));
            }
            if let Some((_, reports, totals)) = folded.last_mut() {
                *reports += row.reports;
                for (into, from) in totals.iter_mut().zip(&row.totals) {
                    // why: a sum of cells is at most the nation's total, which was stored
                    into.sum = into.sum.saturating_add(from.sum);
                    into.reports += from.reports;
                }
            }
        }
        folded
    }

    /// The total of one indicator in one row, if the indicator is known.
    pub fn total(&self, row: &CrossRow, indicator: &str) -> Option<SlotTotal> {
        let slot = self.indicators.iter().position(|key| key == indicator)?;
        Some(row.totals.get(slot).copied().unwrap_or_default())
    }
}

fn read_table(
    trees: &AggregateTrees,
    form: &str,
    period: &str,
    prefix: &[u8],
) -> Result<CrossTable, StoreError> {
    let indicators = indicator_slots(trees, form, period)?;
    let mut rows = Vec::new();
    for entry in trees.cross_cells.scan_prefix(prefix) {
        let (key, mut cell) = entry?;
        if cell.reports == 0 {
            continue;
        }
        let malformed = || StoreError::Decode {
            tree: CELL_TREE.to_string(),
            reason: format!("malformed key {}", String::from_utf8_lossy(&key)),
        };
        let rest = key.get(prefix.len()..).ok_or_else(malformed)?;
        let text = std::str::from_utf8(rest).map_err(|_| malformed())?;
        let (division, industry) = text.split_once('\0').ok_or_else(malformed)?;
        let division = DivisionCode::parse(division).map_err(|_| malformed())?;
        cell.slots.resize(indicators.len(), SlotTotal::default());
        rows.push(CrossRow {
            division,
            industry: industry.to_string(),
            reports: cell.reports,
            totals: cell.slots,
        });
    }
    Ok(CrossTable {
        form: form.to_string(),
        period: period.to_string(),
        indicators,
        rows,
    })
}

/// The national summary: every province × industry, every indicator. One
/// read of the slots and one prefix scan.
pub fn province_industry_table(
    trees: &AggregateTrees,
    form: &str,
    period: &str,
) -> Result<CrossTable, StoreError> {
    read_table(trees, form, period, &province_prefix(form, period))
}

/// The drill-down of one province: its cities (its children on the division
/// chain, including a group of directly administered counties) × industry.
/// [`CrossTable::by_division`] gives the cities' totals.
pub fn city_industry_table(
    trees: &AggregateTrees,
    form: &str,
    period: &str,
    province: DivisionCode,
) -> Result<CrossTable, StoreError> {
    read_table(trees, form, period, &city_prefix(form, period, province))
}

/// The indicator keys of a form and period, in slot order.
pub fn indicator_slots(
    trees: &AggregateTrees,
    form: &str,
    period: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(trees
        .cross_slots
        .get(&slots_key(form, period))?
        .unwrap_or_default()
        .indicators)
}

/// A cell's content in a comparable shape: indicator → (sum, reports), with
/// empty slots left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellTally {
    /// Reports counted in the cell.
    pub reports: u64,
    /// Indicator key → (normalised sum, reports).
    pub indicators: BTreeMap<String, (Decimal, u64)>,
}

/// Adds one report's values to a tally (the rebuild).
pub(super) fn tally(
    tallies: &mut BTreeMap<Vec<u8>, CellTally>,
    cell_key: Vec<u8>,
    values: &BTreeMap<String, Decimal>,
) {
    let tally = tallies.entry(cell_key).or_default();
    tally.reports += 1;
    for (indicator, value) in values {
        let entry = tally
            .indicators
            .entry(indicator.clone())
            .or_insert((Decimal::ZERO, 0));
        entry.0 += *value;
        entry.1 += 1;
    }
}

/// Every form and period's slots, keyed `Form 0 Period`.
pub(super) fn all_slots(
    trees: &AggregateTrees,
) -> Result<BTreeMap<Vec<u8>, Vec<String>>, StoreError> {
    trees
        .cross_slots
        .scan_prefix(&[])
        .map(|entry| entry.map(|(key, slots)| (key, slots.indicators)))
        .collect()
}

/// Every cell of a tree as a tally (cells with no report and slots with
/// neither a sum nor a report left out), to compare with a rebuild.
pub(super) fn tallies_of_tree(
    tree: &Tree<TotalsCell>,
    slots: &BTreeMap<Vec<u8>, Vec<String>>,
) -> Result<BTreeMap<Vec<u8>, CellTally>, StoreError> {
    let mut tallies = BTreeMap::new();
    for entry in tree.scan_prefix(&[]) {
        let (key, cell) = entry?;
        let mut parts = key.splitn(3, |byte| *byte == 0);
        let form = parts.next().unwrap_or_default();
        let period = parts.next().unwrap_or_default();
        let mut form_period = form.to_vec();
        form_period.push(0);
        form_period.extend_from_slice(period);
        let indicators = slots
            .get(&form_period)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut tally = CellTally {
            reports: cell.reports,
            indicators: BTreeMap::new(),
        };
        for (slot, total) in cell.slots.iter().enumerate() {
            if total.reports == 0 && total.sum.is_zero() {
                continue;
            }
            let indicator = indicators
                .get(slot)
                .cloned()
                .unwrap_or_else(|| format!("slot {slot}"));
            tally
                .indicators
                .insert(indicator, (total.sum.normalize(), u64::from(total.reports)));
        }
        if tally.reports > 0 || !tally.indicators.is_empty() {
            tallies.insert(key, tally);
        }
    }
    Ok(tallies)
}
