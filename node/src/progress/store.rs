//! Progress summary trees:
//!
//! - `progress_sent_by_form_period          // Form 0 Period → SentSummary` (a city: what it last queued upward)
//! - `progress_summary_by_form_period_city  // Form 0 Period 0 City → CitySummary` (a province or the nation: the newest from each city)

use super::CitySummary;
use crate::division::DivisionCode;
use crate::store::{Record, Store, StoreError, Transaction, Tree, TreeHandle, TxFailure};

impl Record for CitySummary {
    const FORMAT_VERSION: u8 = 1;
}

/// The last summary a city queued for a form and period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SentSummary {
    /// [`CitySummary::content_hash`] of what was sent.
    pub content_hash: String,
    /// When it was computed (ms).
    pub computed_at_ms: i64,
    /// The message that carried it.
    pub message_id: String,
}

impl Record for SentSummary {
    const FORMAT_VERSION: u8 = 1;
}

/// The progress summary trees.
#[derive(Debug, Clone)]
pub struct ProgressTrees {
    /// What this city sent last, per form and period.
    pub sent: Tree<SentSummary>,
    /// The newest summary received per city, form and period.
    pub received: Tree<CitySummary>,
}

/// `Form 0 Period`.
pub fn form_period_key(form: &str, period: &str) -> Vec<u8> {
    let mut key = form.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(period.as_bytes());
    key
}

/// `Form 0 Period 0 City`.
pub fn form_period_city_key(form: &str, period: &str, city: DivisionCode) -> Vec<u8> {
    let mut key = form_period_key(form, period);
    key.push(0);
    key.extend_from_slice(city.to_string().as_bytes());
    key
}

impl ProgressTrees {
    /// Opens the trees.
    pub fn open(store: &Store) -> Result<ProgressTrees, StoreError> {
        Ok(ProgressTrees {
            sent: store.tree("progress_sent_by_form_period")?,
            received: store.tree("progress_summary_by_form_period_city")?,
        })
    }

    /// Both trees, for a transaction.
    pub fn tree_handles(&self) -> [&dyn TreeHandle; 2] {
        [&self.sent, &self.received]
    }

    /// Keeps `summary` if it is newer than the one held for its city, form
    /// and period (inside the applying transaction). Returns whether it was kept.
    pub fn keep_newest_in(
        &self,
        tx: &Transaction<'_>,
        summary: &CitySummary,
    ) -> Result<bool, TxFailure> {
        let key = form_period_city_key(&summary.form, &summary.period, summary.city);
        let existing = tx.get(&self.received, &key)?;
        if !super::is_newer(existing.as_ref(), summary) {
            return Ok(false);
        }
        tx.insert(&self.received, &key, summary)?;
        Ok(true)
    }

    /// Every summary held of `form` and `period`, by city.
    pub fn of_form_period(&self, form: &str, period: &str) -> Result<Vec<CitySummary>, StoreError> {
        let mut prefix = form_period_key(form, period);
        prefix.push(0);
        self.received
            .scan_prefix(&prefix)
            .map(|entry| entry.map(|(_, summary)| summary))
            .collect()
    }

    /// The summary held of one city's form and period.
    pub fn of_city(
        &self,
        city: DivisionCode,
        form: &str,
        period: &str,
    ) -> Result<Option<CitySummary>, StoreError> {
        self.received.get(&form_period_city_key(form, period, city))
    }
}
