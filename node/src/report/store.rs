//! Report trees:
//!
//! - `report_status_by_key          // ReportKey → ReportStatus`
//! - `report_draft_by_key           // ReportKey → Draft`
//! - `report_version_by_key_number  // ReportKey 0x00 Version(u32 BE) → ReportVersion` (never overwritten)
//! - `report_submission_by_id       // SubmissionId → SubmissionRecord` (a retried submit finds its version)
//!
//! Each operation is one transaction over the trees it touches, so a report
//! is never half-saved; the caller makes it durable before answering.

use super::{Draft, ReportContent, ReportError, ReportKey, ReportStatus, ReportVersion};
use crate::audit::{AuditEvent, AuditLog};
use crate::clock::Timestamp;

use crate::store::{Record, Store, StoreError, Tree, TxError};

impl Record for ReportStatus {
    const FORMAT_VERSION: u8 = 1;
}
impl Record for Draft {
    const FORMAT_VERSION: u8 = 1;
}
impl Record for ReportVersion {
    const FORMAT_VERSION: u8 = 1;
}

/// Which version a submission id produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubmissionRecord {
    /// The report.
    pub key: ReportKey,
    /// The version made.
    pub version: u32,
}

impl Record for SubmissionRecord {
    const FORMAT_VERSION: u8 = 1;
}

/// A report action's failure: the domain said no, or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportStoreError {
    /// Refused by the rules of the report's life.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The report trees.
#[derive(Debug, Clone)]
pub struct ReportTrees {
    /// Status per report.
    pub status: Tree<ReportStatus>,
    /// Draft per report.
    pub drafts: Tree<Draft>,
    /// Versions per report.
    pub versions: Tree<ReportVersion>,
    /// Submission ids.
    pub submissions: Tree<SubmissionRecord>,
}

/// `ReportKey 0x00 Version(u32 BE)`.
pub fn version_key(key: &ReportKey, version: u32) -> Vec<u8> {
    let mut bytes = key.to_bytes();
    bytes.push(0);
    bytes.extend_from_slice(&version.to_be_bytes());
    bytes
}

impl ReportTrees {
    /// Opens the trees.
    pub fn open(store: &Store) -> Result<ReportTrees, StoreError> {
        Ok(ReportTrees {
            status: store.tree("report_status_by_key")?,
            drafts: store.tree("report_draft_by_key")?,
            versions: store.tree("report_version_by_key_number")?,
            submissions: store.tree("report_submission_by_id")?,
        })
    }

    /// Every version of a report, oldest first.
    pub fn versions_of(&self, key: &ReportKey) -> Result<Vec<ReportVersion>, StoreError> {
        let mut prefix = key.to_bytes();
        prefix.push(0);
        self.versions
            .scan_prefix(&prefix)
            .map(|entry| entry.map(|(_, version)| version))
            .collect()
    }

    /// One version.
    pub fn version(
        &self,
        key: &ReportKey,
        number: u32,
    ) -> Result<Option<ReportVersion>, StoreError> {
        self.versions.get(&version_key(key, number))
    }

    /// The content of the latest submitted version of a report, if any.
    pub fn latest_content(&self, key: &ReportKey) -> Result<Option<ReportContent>, StoreError> {
        let Some(number) = self
            .status
            .get(&key.to_bytes())?
            .and_then(|status| status.latest_version)
        else {
            return Ok(None);
        };
        Ok(self.version(key, number)?.map(|version| version.content))
    }

    /// Saves a draft (one transaction).
    pub fn save_draft(
        &self,
        store: &Store,
        key: &ReportKey,
        content: ReportContent,
        based_on_revision: Option<u64>,
        by: &str,
        now: Timestamp,
    ) -> Result<Draft, ReportStoreError> {
        let key_bytes = key.to_bytes();
        store.transaction(&[&self.status, &self.drafts], |tx| {
            let status = tx.get(&self.status, &key_bytes)?;
            let current = tx.get(&self.drafts, &key_bytes)?;
            let (draft, next) = super::save_draft(
                status.as_ref(),
                current.as_ref(),
                content.clone(),
                based_on_revision,
                by,
                now,
            )
            .map_err(|error| TxError::Abort(ReportStoreError::Report(error)))?;
            tx.insert(&self.drafts, &key_bytes, &draft)?;
            tx.insert(&self.status, &key_bytes, &next)?;
            Ok(draft)
        })
    }

    /// Submits the draft as the next version, once per submission id: a
    /// retry with the same id returns the version the first attempt made.
    pub fn submit(
        &self,
        store: &Store,
        audit: &AuditLog,
        key: &ReportKey,
        submission_id: Option<String>,
        by: &str,
        now: Timestamp,
    ) -> Result<(ReportVersion, ReportStatus), ReportStoreError> {
        let key_bytes = key.to_bytes();
        store.transaction(
            &[
                &self.status,
                &self.drafts,
                &self.versions,
                &self.submissions,
                &audit.entries,
            ],
            |tx| {
                if let Some(id) = &submission_id
                    && let Some(record) = tx.get(&self.submissions, id.as_bytes())?
                    && &record.key == key
                {
                    let version = tx.get(&self.versions, &version_key(key, record.version))?;
                    let status = tx.get(&self.status, &key_bytes)?;
                    if let (Some(version), Some(status)) = (version, status) {
                        return Ok((version, status));
                    }
                }
                let status = tx.get(&self.status, &key_bytes)?.ok_or(TxError::Abort(
                    ReportStoreError::Report(ReportError::NoDraft),
                ))?;
                let draft = tx.get(&self.drafts, &key_bytes)?.ok_or(TxError::Abort(
                    ReportStoreError::Report(ReportError::NoDraft),
                ))?;
                let (version, next) =
                    super::submit(&status, &draft, submission_id.clone(), by, now)
                        .map_err(|error| TxError::Abort(ReportStoreError::Report(error)))?;
                tx.insert(&self.versions, &version_key(key, version.number), &version)?;
                crate::audit::append(
                    tx,
                    audit,
                    &AuditEvent {
                        actor: by,
                        action: "report.submit",
                        subject: subject(key, version.number),
                        content_hash: Some(version.content_hash.clone()),
                    },
                    now,
                )?;
                tx.insert(&self.status, &key_bytes, &next)?;
                if let Some(id) = &submission_id {
                    tx.insert(
                        &self.submissions,
                        id.as_bytes(),
                        &SubmissionRecord {
                            key: key.clone(),
                            version: version.number,
                        },
                    )?;
                }
                Ok((version, next))
            },
        )
    }

    /// Applies a status change computed by `change` from the current status (one transaction).
    #[allow(clippy::too_many_arguments)] // why: the audit entry needs action, actor and time; a struct would only rename them
    pub fn change_status(
        &self,
        store: &Store,
        audit: &AuditLog,
        key: &ReportKey,
        action: &str,
        by: &str,
        now: Timestamp,
        change: impl Fn(&ReportStatus) -> Result<ReportStatus, ReportError>,
    ) -> Result<ReportStatus, ReportStoreError> {
        let key_bytes = key.to_bytes();
        store.transaction(&[&self.status, &audit.entries], |tx| {
            let status = tx.get(&self.status, &key_bytes)?.ok_or(TxError::Abort(
                ReportStoreError::Report(ReportError::WrongState {
                    state: "未开始 / not started",
                    action: "审核 / review",
                }),
            ))?;
            let next =
                change(&status).map_err(|error| TxError::Abort(ReportStoreError::Report(error)))?;
            tx.insert(&self.status, &key_bytes, &next)?;
            crate::audit::append(
                tx,
                audit,
                &AuditEvent {
                    actor: by,
                    action,
                    subject: subject(key, next.latest_version.unwrap_or(0)),
                    content_hash: None,
                },
                now,
            )?;
            Ok(next)
        })
    }
}

/// How the audit log names a report version: `unit/form/period vN`.
pub fn subject(key: &ReportKey, version: u32) -> String {
    format!("{}/{}/{} v{version}", key.unit, key.form, key.period)
}
