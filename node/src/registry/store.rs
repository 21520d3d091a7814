//! The registry's trees.
//!
//! - `unit_by_code // UnitCode` → [`CurrentUnit`]: the newest registration of
//!   each unit, for look-ups that do not name a period.
//! - `registry_by_period_code // PeriodId (5 bytes, PeriodId::key_bytes) + UnitCode`
//!   → [`RegistryEntry`]: one registry version per period, with the entry's history.
//! - `lineage_by_current // current UnitCode + "/" + previous UnitCode` →
//!   [`LineageLink`]: confirmed links, several per current unit after a merge.
//!
//! Code text is ASCII letters and digits only, so `/` cannot occur inside a
//! code and a prefix scan of `current/` finds exactly that unit's links.
//! Writes that touch several trees (or many units of an import) are one
//! transaction; callers make them durable with `Store::commit_durable`.

use std::collections::BTreeMap;

use crate::clock::Timestamp;
use crate::division::DivisionCode;
use crate::store::{Record, Store, StoreError, Tree, TxError};

use super::change::{ChangeError, ChangeRequest, HistoryEvent, apply_change, register_entry};
use super::codes::{IndustryCode, UnitCode};
use super::lineage::{LineageError, LineageLink, history_chain};
use super::period::PeriodId;
use super::unit::{ControlClass, RegistryEntry, StatusKind, SurveyUnit, UnitStatus};

const UNIT_BY_CODE: &str = "unit_by_code";
const REGISTRY_BY_PERIOD_CODE: &str = "registry_by_period_code";
const LINEAGE_BY_CURRENT: &str = "lineage_by_current";
const COUNTY_PROPOSAL_BY_ID: &str = "county_proposal_by_id";

impl Record for super::county::CountyProposal {
    const FORMAT_VERSION: u8 = 1;
}

/// The newest registration of a unit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CurrentUnit {
    /// The latest period the unit is registered in.
    pub latest_period: PeriodId,
    /// The unit as registered in that period.
    pub unit: SurveyUnit,
}

impl Record for CurrentUnit {
    const FORMAT_VERSION: u8 = 1;
}

impl Record for RegistryEntry {
    const FORMAT_VERSION: u8 = 1;
}

impl Record for LineageLink {
    const FORMAT_VERSION: u8 = 1;
}

/// What can go wrong with a registry write or read.
#[derive(Debug, thiserror::Error)]
pub enum RegistryStoreError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No entry for the unit in that period.
    #[error("{period} 年度名录中没有单位 {code} / unit {code} is not in the registry of {period}")]
    NoSuchEntry {
        /// The period.
        period: PeriodId,
        /// The unit.
        code: UnitCode,
    },
    /// The unit is already registered in the period.
    #[error(
        "单位 {code} 已在 {period} 名录中 / unit {code} is already in the registry of {period}"
    )]
    AlreadyRegistered {
        /// The period.
        period: PeriodId,
        /// The unit.
        code: UnitCode,
    },
    /// The change was refused.
    #[error(transparent)]
    Change(#[from] ChangeError),
    /// The link was refused.
    #[error(transparent)]
    Lineage(#[from] LineageError),
}

/// Which entries a listing returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFilter {
    /// Only units in this division (a jurisdiction, a city, a county).
    pub within: DivisionCode,
    /// Only units carrying this class.
    pub class: Option<ControlClass>,
    /// Only units in this status.
    pub status: Option<StatusKind>,
    /// Only key-industry units (`Some(true)`) or the others (`Some(false)`).
    pub key_industry: Option<bool>,
    /// Only units of this industry.
    pub industry: Option<IndustryCode>,
}

impl UnitFilter {
    /// Every unit in `division`.
    pub fn within(division: DivisionCode) -> UnitFilter {
        UnitFilter {
            within: division,
            class: None,
            status: None,
            key_industry: None,
            industry: None,
        }
    }

    /// True when the unit passes.
    pub fn matches(&self, unit: &SurveyUnit) -> bool {
        self.within.contains(unit.county)
            && self.class.is_none_or(|class| unit.classes.contains(class))
            && self
                .status
                .is_none_or(|status| unit.status.kind() == status)
            && self
                .key_industry
                .is_none_or(|key_industry| unit.key_industry == key_industry)
            && self
                .industry
                .is_none_or(|industry| unit.industry == industry)
    }
}

/// True when a unit's name, code or address contains `text` (case-insensitive;
/// blank text matches every unit): the search of the registry page.
pub fn matches_search(unit: &SurveyUnit, text: &str) -> bool {
    let wanted = text.trim().to_lowercase();
    wanted.is_empty()
        || unit.name.to_lowercase().contains(&wanted)
        || unit.code.as_str().to_lowercase().contains(&wanted)
        || unit.address.to_lowercase().contains(&wanted)
}

/// Counts of a period's registry within a division.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RegistryCounts {
    /// Units registered.
    pub total: usize,
    /// Units carrying each class (a unit with two classes counts in both).
    pub by_class: BTreeMap<ControlClass, usize>,
    /// Units per status.
    pub by_status: BTreeMap<StatusKind, usize>,
    /// Key-industry units.
    pub key_industry: usize,
}

/// What an import wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PutSummary {
    /// Units new to the period.
    pub added: usize,
    /// Units already in the period whose attributes were replaced.
    pub replaced: usize,
}

/// The registry trees of one node.
#[derive(Debug, Clone)]
pub struct RegistryStore {
    store: Store,
    units: Tree<CurrentUnit>,
    entries: Tree<RegistryEntry>,
    links: Tree<LineageLink>,
    /// County proposals (R34) by id (which starts with the county).
    pub proposals: Tree<super::county::CountyProposal>,
}

fn entry_key(period: PeriodId, code: &UnitCode) -> Vec<u8> {
    let mut key = period.key_bytes().to_vec();
    key.extend_from_slice(code.as_str().as_bytes());
    key
}

fn link_key(link: &LineageLink) -> Vec<u8> {
    format!("{}/{}", link.current, link.previous).into_bytes()
}

/// The `unit_by_code` record after writing `entry`, or `None` when an entry of
/// a later period is already the newest.
fn newer_current(existing: Option<CurrentUnit>, entry: &RegistryEntry) -> Option<CurrentUnit> {
    match existing {
        Some(current) if current.latest_period > entry.period => None,
        _ => Some(CurrentUnit {
            latest_period: entry.period,
            unit: entry.unit.clone(),
        }),
    }
}

/// A transaction step of the registry.
pub type TxResult<T> = Result<T, TxError<RegistryStoreError>>;

impl RegistryStore {
    /// Opens the registry trees.
    pub fn open(store: &Store) -> Result<RegistryStore, StoreError> {
        Ok(RegistryStore {
            store: store.clone(),
            units: store.tree(UNIT_BY_CODE)?,
            entries: store.tree(REGISTRY_BY_PERIOD_CODE)?,
            links: store.tree(LINEAGE_BY_CURRENT)?,
            proposals: store.tree(COUNTY_PROPOSAL_BY_ID)?,
        })
    }

    fn write_entry(
        &self,
        transaction: &crate::store::Transaction<'_>,
        entry: &RegistryEntry,
    ) -> TxResult<()> {
        let code_key = entry.unit.code.as_str().as_bytes();
        transaction.insert(
            &self.entries,
            &entry_key(entry.period, &entry.unit.code),
            entry,
        )?;
        let existing = transaction.get(&self.units, code_key)?;
        if let Some(current) = newer_current(existing, entry) {
            transaction.insert(&self.units, code_key, &current)?;
        }
        Ok(())
    }

    /// Registers one new unit in a period; refuses a unit already there.
    pub fn register_unit(
        &self,
        period: PeriodId,
        unit: SurveyUnit,
        registered_by: &str,
        at: Timestamp,
        why: &str,
    ) -> Result<RegistryEntry, RegistryStoreError> {
        let entry = register_entry(
            period,
            unit,
            HistoryEvent::Registered,
            registered_by,
            at,
            why,
        );
        let key = entry_key(period, &entry.unit.code);
        self.store
            .transaction(&[&self.entries, &self.units], |transaction| {
                if transaction.get(&self.entries, &key)?.is_some() {
                    return Err(TxError::Abort(RegistryStoreError::AlreadyRegistered {
                        period,
                        code: entry.unit.code.clone(),
                    }));
                }
                self.write_entry(transaction, &entry)?;
                Ok(())
            })?;
        Ok(entry)
    }

    /// Writes the units of an import into a period in one transaction: all or
    /// nothing. A unit already in the period gets the new attributes but keeps
    /// its status and history (a re-import does not undo a suspension).
    pub fn put_units(
        &self,
        period: PeriodId,
        units: &[SurveyUnit],
        imported_by: &str,
        at: Timestamp,
        why: &str,
    ) -> Result<PutSummary, RegistryStoreError> {
        self.store.transaction(&self.tree_handles(), |transaction| {
            self.put_units_in(transaction, period, units, imported_by, at, why)
        })
    }

    /// The trees a caller's transaction must include to call [`RegistryStore::put_units_in`].
    pub fn tree_handles(&self) -> [&dyn crate::store::TreeHandle; 2] {
        [&self.entries, &self.units]
    }

    /// [`RegistryStore::put_units`] inside a caller's transaction, so the
    /// import, its accounts and its federation messages commit together.
    pub fn put_units_in(
        &self,
        transaction: &crate::store::Transaction<'_>,
        period: PeriodId,
        units: &[SurveyUnit],
        imported_by: &str,
        at: Timestamp,
        why: &str,
    ) -> TxResult<PutSummary> {
        {
            {
                let mut summary = PutSummary::default();
                for unit in units {
                    let key = entry_key(period, &unit.code);
                    let entry = match transaction.get(&self.entries, &key)? {
                        Some(existing) => {
                            summary.replaced += 1;
                            reimported_entry(existing, unit, imported_by, at, why)
                        }
                        None => {
                            summary.added += 1;
                            register_entry(
                                period,
                                unit.clone(),
                                HistoryEvent::Registered,
                                imported_by,
                                at,
                                why,
                            )
                        }
                    };
                    self.write_entry(transaction, &entry)?;
                }
                Ok(summary)
            }
        }
    }

    /// Applies a change to a unit's entry in a period (suspend, close, reclassify…).
    pub fn apply_change(
        &self,
        period: PeriodId,
        code: &UnitCode,
        request: ChangeRequest,
    ) -> Result<RegistryEntry, RegistryStoreError> {
        let key = entry_key(period, code);
        self.store
            .transaction(&[&self.entries, &self.units], |transaction| {
                let entry = transaction.get(&self.entries, &key)?.ok_or_else(|| {
                    TxError::Abort(RegistryStoreError::NoSuchEntry {
                        period,
                        code: code.clone(),
                    })
                })?;
                let changed = apply_change(&entry, request.clone())
                    .map_err(|error| TxError::Abort(RegistryStoreError::Change(error)))?;
                self.write_entry(transaction, &changed)?;
                Ok(changed)
            })
    }

    /// [`RegistryStore::apply_change`] inside a caller's transaction, so the
    /// change, its registry message to the parent and its audit entry commit together.
    pub fn apply_change_in(
        &self,
        transaction: &crate::store::Transaction<'_>,
        period: PeriodId,
        code: &UnitCode,
        request: ChangeRequest,
    ) -> TxResult<RegistryEntry> {
        let key = entry_key(period, code);
        let entry = transaction.get(&self.entries, &key)?.ok_or_else(|| {
            TxError::Abort(RegistryStoreError::NoSuchEntry {
                period,
                code: code.clone(),
            })
        })?;
        let changed = apply_change(&entry, request)
            .map_err(|error| TxError::Abort(RegistryStoreError::Change(error)))?;
        self.write_entry(transaction, &changed)?;
        Ok(changed)
    }

    /// Starts period `to` from period `from`: every unit not closed is carried
    /// over as active (a suspension is for one period). Units already in `to`
    /// are left alone. Returns how many were carried over.
    pub fn carry_over(
        &self,
        from: PeriodId,
        to: PeriodId,
        carried_by: &str,
        at: Timestamp,
    ) -> Result<usize, RegistryStoreError> {
        let previous = self.list(from, None)?;
        self.store
            .transaction(&[&self.entries, &self.units], |transaction| {
                let mut carried = 0usize;
                for entry in &previous {
                    if entry.unit.status == UnitStatus::Closed {
                        continue;
                    }
                    let key = entry_key(to, &entry.unit.code);
                    if transaction.get(&self.entries, &key)?.is_some() {
                        continue;
                    }
                    let unit = SurveyUnit {
                        status: UnitStatus::Active,
                        ..entry.unit.clone()
                    };
                    let why = format!("从 {from} 名录结转 / carried over from {from}");
                    let new_entry =
                        register_entry(to, unit, HistoryEvent::CarriedOver, carried_by, at, &why);
                    self.write_entry(transaction, &new_entry)?;
                    carried += 1;
                }
                Ok(carried)
            })
    }

    /// A unit's entry in a period.
    pub fn entry(
        &self,
        period: PeriodId,
        code: &UnitCode,
    ) -> Result<Option<RegistryEntry>, RegistryStoreError> {
        Ok(self.entries.get(&entry_key(period, code))?)
    }

    /// A unit's newest registration, whatever the period.
    pub fn current_unit(&self, code: &UnitCode) -> Result<Option<CurrentUnit>, RegistryStoreError> {
        Ok(self.units.get(code.as_str().as_bytes())?)
    }

    /// A period's entries that pass the filter (all of them for `None`), in code order.
    pub fn list(
        &self,
        period: PeriodId,
        filter: Option<&UnitFilter>,
    ) -> Result<Vec<RegistryEntry>, RegistryStoreError> {
        let mut entries = Vec::new();
        for item in self.entries.scan_prefix(&period.key_bytes()) {
            let (_, entry) = item?;
            if filter.is_none_or(|filter| filter.matches(&entry.unit)) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Counts by class and status of a period's units within a division.
    pub fn counts(
        &self,
        period: PeriodId,
        within: DivisionCode,
    ) -> Result<RegistryCounts, RegistryStoreError> {
        let mut counts = RegistryCounts::default();
        for entry in self.list(period, Some(&UnitFilter::within(within)))? {
            counts.total += 1;
            for class in entry.unit.classes.iter() {
                *counts.by_class.entry(class).or_default() += 1;
            }
            *counts
                .by_status
                .entry(entry.unit.status.kind())
                .or_default() += 1;
            if entry.unit.key_industry {
                counts.key_industry += 1;
            }
        }
        Ok(counts)
    }

    /// Stores a confirmed link, refusing one that would close a cycle.
    pub fn put_link(&self, link: LineageLink) -> Result<(), RegistryStoreError> {
        let existing = self.links()?;
        if history_chain(&existing, &link.previous).contains(&link.current) {
            return Err(RegistryStoreError::Lineage(LineageError::Cycle {
                previous: link.previous,
                current: link.current,
            }));
        }
        self.links.insert(&link_key(&link), &link)?;
        Ok(())
    }

    /// The tree a caller's transaction must include to call [`RegistryStore::put_link_in`].
    pub fn link_tree_handle(&self) -> &dyn crate::store::TreeHandle {
        &self.links
    }

    /// Stores a confirmed link inside a caller's transaction (with its audit
    /// entry). The caller has checked it with `confirm_link` against the links.
    pub fn put_link_in(
        &self,
        transaction: &crate::store::Transaction<'_>,
        link: &LineageLink,
    ) -> Result<(), crate::store::TxFailure> {
        transaction.insert(&self.links, &link_key(link), link)
    }

    /// Every confirmed link.
    pub fn links(&self) -> Result<Vec<LineageLink>, RegistryStoreError> {
        let mut links = Vec::new();
        for item in self.links.scan_prefix(b"") {
            links.push(item?.1);
        }
        Ok(links)
    }

    /// The links whose current unit is `code` (its direct predecessors).
    pub fn links_to(&self, code: &UnitCode) -> Result<Vec<LineageLink>, RegistryStoreError> {
        let prefix = format!("{code}/");
        let mut links = Vec::new();
        for item in self.links.scan_prefix(prefix.as_bytes()) {
            links.push(item?.1);
        }
        Ok(links)
    }

    /// The unit and its predecessors, newest to oldest (see [`history_chain`]).
    pub fn history_chain(&self, code: &UnitCode) -> Result<Vec<UnitCode>, RegistryStoreError> {
        Ok(history_chain(&self.links()?, code))
    }
}

/// An entry re-imported with new attributes: status and history kept.
fn reimported_entry(
    existing: RegistryEntry,
    unit: &SurveyUnit,
    imported_by: &str,
    at: Timestamp,
    why: &str,
) -> RegistryEntry {
    let mut history = existing.history;
    history.push(super::change::ChangeRecord {
        event: HistoryEvent::Reimported,
        status_before: existing.unit.status.clone(),
        classes_before: existing.unit.classes.clone(),
        changed_by: imported_by.to_string(),
        at,
        why: why.to_string(),
    });
    RegistryEntry {
        period: existing.period,
        unit: SurveyUnit {
            status: existing.unit.status,
            ..unit.clone()
        },
        history,
    }
}
