//! Notice trees:
//!
//! - `notice_by_audience_time // "bureau" | "unit:{code}", 0, at_ms (i64 BE), id → Notice`
//! - `job_run_through_by_job  // job name → RunThrough` (the last moment a timed job has handled)
//! - `notice_delivered_by_key // notice key → Delivered` (what the webhook has accepted)
//!
//! A notice's key is made from its audience, moment and id, so writing the
//! same notice twice (a tick run again) leaves one record.

use super::{Audience, Notice};
use crate::clock::Timestamp;
use crate::store::{Record, Store, StoreError, Transaction, Tree, TxFailure};

impl Record for Notice {
    const FORMAT_VERSION: u8 = 1;
}

/// Up to when a timed job has done its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunThrough {
    /// Every event at or before this moment (ms) is handled.
    pub at_ms: i64,
}

impl Record for RunThrough {
    const FORMAT_VERSION: u8 = 1;
}

/// A notice handed to the webhook (its key in `notice_delivered_by_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Delivered {
    /// When the webhook accepted it (ms); 0 for notices older than the webhook.
    pub at_ms: i64,
}

impl Record for Delivered {
    const FORMAT_VERSION: u8 = 1;
}

/// The notice trees.
#[derive(Debug, Clone)]
pub struct NoticeTrees {
    /// Notices by audience, newest last.
    pub notices: Tree<Notice>,
    /// How far each timed job got.
    pub run_through: Tree<RunThrough>,
    /// Notices the webhook has accepted, by notice key.
    pub delivered: Tree<Delivered>,
    /// Signalled whenever a notice is written (wakes the webhook sender).
    pub written: std::sync::Arc<tokio::sync::Notify>,
}

fn audience_prefix(audience: &Audience) -> Vec<u8> {
    let mut prefix = match audience {
        Audience::Bureau => b"bureau".to_vec(),
        Audience::Unit(code) => format!("unit:{code}").into_bytes(),
    };
    prefix.push(0);
    prefix
}

/// The key of a notice: audience, moment, id.
pub fn notice_key(notice: &Notice) -> Vec<u8> {
    let mut key = audience_prefix(&notice.audience);
    key.extend_from_slice(&notice.at_ms.to_be_bytes());
    key.push(0);
    key.extend_from_slice(notice.id.as_bytes());
    key
}

impl NoticeTrees {
    /// Opens the trees.
    pub fn open(store: &Store) -> Result<NoticeTrees, StoreError> {
        Ok(NoticeTrees {
            notices: store.tree("notice_by_audience_time")?,
            run_through: store.tree("job_run_through_by_job")?,
            delivered: store.tree("notice_delivered_by_key")?,
            written: std::sync::Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Writes a notice inside a transaction (the same notice again is a no-op).
    pub fn put_in(&self, tx: &Transaction<'_>, notice: &Notice) -> Result<(), TxFailure> {
        tx.insert(&self.notices, &notice_key(notice), notice)?;
        // A permit is kept when nobody waits; a body run again only signals twice.
        self.written.notify_one();
        Ok(())
    }

    /// The newest `limit` notices of an audience, newest first.
    pub fn newest_for(&self, audience: &Audience, limit: usize) -> Result<Vec<Notice>, StoreError> {
        // Keys sort by moment within an audience: the last ones are the newest.
        Ok(self
            .notices
            .scan_prefix_last(&audience_prefix(audience), limit)?
            .into_iter()
            .map(|(_, notice)| notice)
            .collect())
    }

    /// How far a job got, if it ever ran.
    pub fn run_through(&self, job: &str) -> Result<Option<Timestamp>, StoreError> {
        Ok(self
            .run_through
            .get(job.as_bytes())?
            .map(|run| Timestamp(run.at_ms)))
    }
}
