//! Publication of the jurisdiction's data (信息发布, R8/R16).
//!
//! An admin publishes the accepted totals of one form and period: a snapshot
//! of this node's totals (the whole jurisdiction, each child division, each
//! industry) with the names and units of the indicators as they stood, stored
//! durably with its audit entry in one transaction. The public pages show
//! only snapshots, never live totals, units or drafts. Publishing the same
//! form and period again stores a new version; earlier versions are kept.
//!
//! Trees:
//! - `publication_by_key // Form 0 Period 0 Version(u32 BE) → Publication`;
//! - `publication_head_by_form_period // Form 0 Period → PublicationHead` (the
//!   latest version, read inside the publishing transaction, where no range
//!   scan is possible).

use std::collections::BTreeMap;

use sha2::Digest;

use super::table::{Breakdown, TotalsRow, totals_table};
use super::{AggregateTrees, Total};
use crate::audit::{AuditEvent, AuditLog};
use crate::clock::Timestamp;
use crate::division::DivisionCode;
use crate::metadata::Form;
use crate::store::{Record, Store, StoreError, Tree, TxError};

/// An indicator as it was named when published.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublishedIndicator {
    /// `cod_emit`.
    pub key: String,
    /// `G101-15`.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Measurement unit (吨).
    pub unit: String,
}

/// One published row (a division or an industry).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublishedRow {
    /// Division or industry code.
    pub key: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Indicator key → total.
    pub totals: BTreeMap<String, Total>,
}

impl From<TotalsRow> for PublishedRow {
    fn from(row: TotalsRow) -> PublishedRow {
        PublishedRow {
            key: row.key,
            name_zh: row.name_zh,
            name_en: row.name_en,
            totals: row.totals,
        }
    }
}

/// A published snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Publication {
    /// Form code.
    pub form: String,
    /// Form name (Chinese).
    pub form_name_zh: String,
    /// Form name (English).
    pub form_name_en: String,
    /// Period.
    pub period: String,
    /// 1, 2, … per form and period.
    pub version: u32,
    /// The node's division.
    pub division: String,
    /// Its name.
    pub division_name: String,
    /// When (ms).
    pub published_at_ms: i64,
    /// Which admin.
    pub published_by: String,
    /// Indicators with totals, in the form's order.
    pub indicators: Vec<PublishedIndicator>,
    /// The jurisdiction's totals.
    pub total: BTreeMap<String, Total>,
    /// Per child division.
    pub by_division: Vec<PublishedRow>,
    /// Per industry (those with totals).
    pub by_industry: Vec<PublishedRow>,
}

impl Record for Publication {
    const FORMAT_VERSION: u8 = 1;
}

/// The latest version of a form and period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublicationHead {
    /// Latest version.
    pub version: u32,
}

impl Record for PublicationHead {
    const FORMAT_VERSION: u8 = 1;
}

/// The publication trees.
#[derive(Debug, Clone)]
pub struct PublicationTrees {
    /// Every version.
    pub publications: Tree<Publication>,
    /// The latest version per form and period.
    pub heads: Tree<PublicationHead>,
}

impl PublicationTrees {
    /// Opens the trees.
    pub fn open(store: &Store) -> Result<PublicationTrees, StoreError> {
        Ok(PublicationTrees {
            publications: store.tree("publication_by_key")?,
            heads: store.tree("publication_head_by_form_period")?,
        })
    }
}

/// Why a publication was refused.
#[derive(Debug, thiserror::Error)]
pub enum PublicationError {
    /// Nothing of this form and period is in the totals yet.
    #[error(
        "{form} {period} 尚无已验收的数据，无可发布 / nothing of {form} {period} has been accepted yet: nothing to publish"
    )]
    NothingAccepted {
        /// Form.
        form: String,
        /// Period.
        period: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn head_key(form: &str, period: &str) -> Vec<u8> {
    format!("{form}\0{period}").into_bytes()
}

fn publication_key(form: &str, period: &str, version: u32) -> Vec<u8> {
    let mut key = format!("{form}\0{period}\0").into_bytes();
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// The snapshot `publish` would store now (version 0 until stored).
pub fn snapshot(
    trees: &AggregateTrees,
    form: &Form,
    period: &str,
    division: DivisionCode,
    by: &str,
    now: Timestamp,
) -> Result<Publication, StoreError> {
    let code = form.code.as_str();
    let by_division = totals_table(trees, code, period, division, Breakdown::Division, None)?;
    let by_industry = totals_table(trees, code, period, division, Breakdown::Industry, None)?;
    let indicators = form
        .indicators
        .iter()
        .filter(|indicator| by_division.total.contains_key(indicator.key.as_str()))
        .map(|indicator| PublishedIndicator {
            key: indicator.key.as_str().to_string(),
            code: indicator.code.as_str().to_string(),
            name_zh: indicator.name_zh.clone(),
            name_en: indicator.name_en.clone(),
            unit: indicator.unit.clone(),
        })
        .collect();
    Ok(Publication {
        form: code.to_string(),
        form_name_zh: form.name_zh.clone(),
        form_name_en: form.name_en.clone(),
        period: period.to_string(),
        version: 0,
        division: division.to_string(),
        division_name: division.name_zh().to_string(),
        published_at_ms: now.0,
        published_by: by.to_string(),
        indicators,
        total: by_division.total,
        by_division: by_division.rows.into_iter().map(Into::into).collect(),
        by_industry: by_industry.rows.into_iter().map(Into::into).collect(),
    })
}

/// SHA-256 of the published content (what the audit entry names).
fn content_hash(publication: &Publication) -> String {
    let bytes = serde_json::to_vec(publication).unwrap_or_default();
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Stores `snapshot` as the next version of its form and period, with its
/// audit entry, in one transaction. The caller makes it durable.
pub fn publish(
    store: &Store,
    trees: &PublicationTrees,
    audit: &AuditLog,
    snapshot: Publication,
    now: Timestamp,
) -> Result<Publication, PublicationError> {
    if snapshot.total.is_empty() {
        return Err(PublicationError::NothingAccepted {
            form: snapshot.form,
            period: snapshot.period,
        });
    }
    let head = head_key(&snapshot.form, &snapshot.period);
    let stored = store.transaction(&[&trees.publications, &trees.heads, &audit.entries], |tx| {
        let version = tx
            .get(&trees.heads, &head)?
            .map_or(1, |head| head.version + 1);
        let mut publication = snapshot.clone();
        publication.version = version;
        tx.insert(
            &trees.publications,
            &publication_key(&publication.form, &publication.period, version),
            &publication,
        )?;
        tx.insert(&trees.heads, &head, &PublicationHead { version })?;
        crate::audit::append(
            tx,
            audit,
            &AuditEvent {
                actor: &publication.published_by,
                action: "totals.publish",
                subject: format!(
                    "{}/{}/{} v{version}",
                    publication.division, publication.form, publication.period
                ),
                content_hash: Some(content_hash(&publication)),
            },
            now,
        )?;
        Ok::<Publication, TxError<PublicationError>>(publication)
    })?;
    Ok(stored)
}

/// The latest publication of a form and period, if any.
pub fn latest(
    trees: &PublicationTrees,
    form: &str,
    period: &str,
) -> Result<Option<Publication>, StoreError> {
    let Some(head) = trees.heads.get(&head_key(form, period))? else {
        return Ok(None);
    };
    trees
        .publications
        .get(&publication_key(form, period, head.version))
}

/// Every publication, every version, by form, period and version.
pub fn all(trees: &PublicationTrees) -> Result<Vec<Publication>, StoreError> {
    trees
        .publications
        .scan_prefix(&[])
        .map(|entry| entry.map(|(_, publication)| publication))
        .collect()
}
