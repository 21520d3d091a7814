//! Upper-level review trees:
//!
//! - `received_report_by_key         // ReportKey → ReceivedReport` (the latest version and its state here)
//! - `received_version_by_key_number // ReportKey 0x00 Version(u32 BE) → ReportOnTheWire` (every version seen)

use zhibao_federation_protocol::messages::ReportOnTheWire;

use super::ReceivedReport;
use crate::report::ReportKey;
use crate::report::store::version_key;
use crate::store::{Record, Store, StoreError, Tree};

impl Record for ReceivedReport {
    const FORMAT_VERSION: u8 = 1;
}

impl Record for ReportOnTheWire {
    const FORMAT_VERSION: u8 = 1;
}

/// The review trees.
#[derive(Debug, Clone)]
pub struct ReviewTrees {
    /// Latest state per report.
    pub received: Tree<ReceivedReport>,
    /// Every version seen.
    pub versions: Tree<ReportOnTheWire>,
}

impl ReviewTrees {
    /// Opens the trees.
    pub fn open(store: &Store) -> Result<ReviewTrees, StoreError> {
        Ok(ReviewTrees {
            received: store.tree("received_report_by_key")?,
            versions: store.tree("received_version_by_key_number")?,
        })
    }

    /// The key of a wire report.
    pub fn key_of(report: &ReportOnTheWire) -> ReportKey {
        ReportKey {
            unit: report.unit.clone(),
            form: report.form.clone(),
            period: report.period.clone(),
        }
    }

    /// The version seen before `version`, if any (for "what changed").
    pub fn previous_version(
        &self,
        key: &ReportKey,
        version: u32,
    ) -> Result<Option<ReportOnTheWire>, StoreError> {
        let mut prefix = key.to_bytes();
        prefix.push(0);
        let mut previous = None;
        for entry in self.versions.scan_prefix(&prefix) {
            let (_, seen) = entry?;
            if seen.version < version {
                previous = Some(seen);
            }
        }
        Ok(previous)
    }

    /// Every version seen of a report, oldest first.
    pub fn versions_of(&self, key: &ReportKey) -> Result<Vec<ReportOnTheWire>, StoreError> {
        let mut prefix = key.to_bytes();
        prefix.push(0);
        self.versions
            .scan_prefix(&prefix)
            .map(|entry| entry.map(|(_, seen)| seen))
            .collect()
    }

    /// `received_version_by_key_number` key of a wire report.
    pub fn version_key_of(report: &ReportOnTheWire) -> Vec<u8> {
        version_key(&Self::key_of(report), report.version)
    }
}
