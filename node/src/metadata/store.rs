//! The metadata trees.
//!
//! - `origin_releases // key = Origin ("national", "province:320000") + 0x00 + version (u32, big-endian)`
//!   → [`MetadataRelease`]. Releases are immutable: a version once stored is
//!   never overwritten, so a node can always show which rules a past review ran.
//! - `period_calendar // key = "calendar"` → [`PeriodCalendar`] (one small record).

use super::period::PeriodCalendar;
use super::{MetadataRelease, Origin};
use crate::store::{Record, Store, StoreError, Tree};

impl Record for MetadataRelease {
    const FORMAT_VERSION: u8 = 1;
}

impl Record for PeriodCalendar {
    const FORMAT_VERSION: u8 = 1;
}

const CALENDAR_KEY: &[u8] = b"calendar";

/// The node's metadata releases and reporting calendar.
#[derive(Debug, Clone)]
pub struct MetadataStore {
    releases: Tree<MetadataRelease>,
    calendar: Tree<PeriodCalendar>,
}

/// What happened to a release handed to [`MetadataStore::save_release`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseSaved {
    /// It was new and is now stored (durable after `commit_durable`).
    Stored,
    /// The same release was already stored (a repeated delivery).
    AlreadyStored,
    /// A different release with the same origin and version is stored; the
    /// new one was refused (a publisher must bump the version).
    ConflictsWithStored,
}

fn release_key(origin: Origin, version: u32) -> Vec<u8> {
    let mut key = origin_prefix(origin);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

fn origin_prefix(origin: Origin) -> Vec<u8> {
    let mut prefix = origin.to_string().into_bytes();
    prefix.push(0);
    prefix
}

impl MetadataStore {
    /// Opens the metadata trees.
    pub fn open(store: &Store) -> Result<MetadataStore, StoreError> {
        Ok(MetadataStore {
            releases: store.tree("origin_releases")?,
            calendar: store.tree("period_calendar")?,
        })
    }

    /// Stores a release unless that origin and version exist already.
    pub fn save_release(&self, release: &MetadataRelease) -> Result<ReleaseSaved, StoreError> {
        let key = release_key(release.origin, release.version);
        if self.releases.insert_if_absent(&key, release)? {
            return Ok(ReleaseSaved::Stored);
        }
        match self.releases.get(&key)? {
            Some(stored) if &stored == release => Ok(ReleaseSaved::AlreadyStored),
            _ => Ok(ReleaseSaved::ConflictsWithStored),
        }
    }

    /// Every stored release of one publisher, oldest version first.
    pub fn releases_of(&self, origin: Origin) -> Result<Vec<MetadataRelease>, StoreError> {
        self.releases
            .scan_prefix(&origin_prefix(origin))
            .map(|entry| entry.map(|(_, release)| release))
            .collect()
    }

    /// The newest stored release of one publisher.
    pub fn latest_release(&self, origin: Origin) -> Result<Option<MetadataRelease>, StoreError> {
        Ok(self.releases_of(origin)?.pop())
    }

    /// The reporting calendar (empty when none was saved).
    pub fn calendar(&self) -> Result<PeriodCalendar, StoreError> {
        Ok(self.calendar.get(CALENDAR_KEY)?.unwrap_or_default())
    }

    /// Replaces the reporting calendar.
    pub fn save_calendar(&self, calendar: &PeriodCalendar) -> Result<(), StoreError> {
        self.calendar.insert(CALENDAR_KEY, calendar)
    }
}

impl MetadataStore {
    /// The trees a transaction must include to call the `_in` functions.
    pub fn tree_handles(&self) -> [&dyn crate::store::TreeHandle; 2] {
        [&self.releases, &self.calendar]
    }

    /// [`MetadataStore::save_release`] inside a caller's transaction.
    pub fn save_release_in(
        &self,
        tx: &crate::store::Transaction<'_>,
        release: &MetadataRelease,
    ) -> Result<ReleaseSaved, crate::store::TxFailure> {
        let key = release_key(release.origin, release.version);
        match tx.get(&self.releases, &key)? {
            None => {
                tx.insert(&self.releases, &key, release)?;
                Ok(ReleaseSaved::Stored)
            }
            Some(stored) if &stored == release => Ok(ReleaseSaved::AlreadyStored),
            Some(_) => Ok(ReleaseSaved::ConflictsWithStored),
        }
    }

    /// The calendar, read inside a caller's transaction.
    pub fn calendar_in(
        &self,
        tx: &crate::store::Transaction<'_>,
    ) -> Result<PeriodCalendar, crate::store::TxFailure> {
        Ok(tx.get(&self.calendar, CALENDAR_KEY)?.unwrap_or_default())
    }

    /// Replaces the calendar inside a caller's transaction.
    pub fn save_calendar_in(
        &self,
        tx: &crate::store::Transaction<'_>,
        calendar: &PeriodCalendar,
    ) -> Result<(), crate::store::TxFailure> {
        tx.insert(&self.calendar, CALENDAR_KEY, calendar)
    }
}
