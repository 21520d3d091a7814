//! The node's audit log: append-only and hash-chained (R43).
//!
//! Every entry records who did what to which record, when, and the SHA-256
//! of the record's content; each entry's hash covers the previous entry's
//! hash, so changing, removing or reordering any entry breaks the chain from
//! there on. Entries are appended in the same transaction as the change they
//! describe. `zhibao verify` walks the chain and the records it names.
//!
//! Tree: `audit_entry_by_sequence // Sequence(u64 BE) → AuditEntry`; the head
//! (last sequence and hash) is the tree's last entry.

use sha2::Digest;

use crate::clock::Timestamp;
use crate::store::{Record, Store, StoreError, Transaction, Tree, TxFailure};

/// The hash the first entry chains to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One logged action.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3…
    pub sequence: u64,
    /// When (ms).
    pub at_ms: i64,
    /// Who (a username, or a peer node's identity).
    pub actor: String,
    /// What, e.g. `report.submit`, `report.approve`, `review.feedback`.
    pub action: String,
    /// Which record, e.g. `91320102…/G101/2025 v2`.
    pub subject: String,
    /// SHA-256 of the record's content after the action (hex), if it has one.
    pub content_hash: Option<String>,
    /// The previous entry's hash.
    pub previous_hash: String,
    /// SHA-256 over all fields above.
    pub hash: String,
}

impl Record for AuditEntry {
    const FORMAT_VERSION: u8 = 1;
}

/// What to log (the chain fields are filled in by [`append`]).
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    /// Who.
    pub actor: &'a str,
    /// What.
    pub action: &'a str,
    /// Which record.
    pub subject: String,
    /// Content hash after the action.
    pub content_hash: Option<String>,
}

/// The entry's hash: SHA-256 over its fields, length-prefixed.
pub fn entry_hash(entry: &AuditEntry) -> String {
    let mut hasher = sha2::Sha256::new();
    let fields: [&[u8]; 7] = [
        &entry.sequence.to_be_bytes(),
        &entry.at_ms.to_be_bytes(),
        entry.actor.as_bytes(),
        entry.action.as_bytes(),
        entry.subject.as_bytes(),
        entry.content_hash.as_deref().unwrap_or("").as_bytes(),
        entry.previous_hash.as_bytes(),
    ];
    for field in fields {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field);
    }
    hex::encode(hasher.finalize())
}

/// The audit tree.
#[derive(Debug, Clone)]
pub struct AuditLog {
    /// Entries by sequence.
    pub entries: Tree<AuditEntry>,
}

impl AuditLog {
    /// Opens the tree.
    pub fn open(store: &Store) -> Result<AuditLog, StoreError> {
        Ok(AuditLog {
            entries: store.tree("audit_entry_by_sequence")?,
        })
    }
}

/// Appends an entry inside `tx` (which must include `log.entries`).
pub fn append(
    tx: &Transaction<'_>,
    log: &AuditLog,
    event: &AuditEvent<'_>,
    now: Timestamp,
) -> Result<AuditEntry, TxFailure> {
    // The head is kept under the key u64::MAX so it can be read inside a transaction (no range scans there).
    let head = tx.get(&log.entries, &HEAD_KEY)?;
    let (sequence, previous_hash) = match head {
        Some(head) => (head.sequence + 1, head.hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    let mut entry = AuditEntry {
        sequence,
        at_ms: now.0,
        actor: event.actor.to_string(),
        action: event.action.to_string(),
        subject: event.subject.clone(),
        content_hash: event.content_hash.clone(),
        previous_hash,
        hash: String::new(),
    };
    entry.hash = entry_hash(&entry);
    tx.insert(&log.entries, &sequence.to_be_bytes(), &entry)?;
    tx.insert(&log.entries, &HEAD_KEY, &entry)?;
    Ok(entry)
}

const HEAD_KEY: [u8; 8] = u64::MAX.to_be_bytes();

/// A break in the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainProblem {
    /// An entry's stored hash is not the hash of its fields.
    #[error("audit entry {sequence}: its content was changed (hash mismatch)")]
    EntryAltered {
        /// Which entry.
        sequence: u64,
    },
    /// An entry does not chain to the one before it.
    #[error(
        "audit entry {sequence}: does not follow entry {expected_previous} (removed or reordered entries)"
    )]
    ChainBroken {
        /// Which entry.
        sequence: u64,
        /// The sequence it should follow.
        expected_previous: u64,
    },
    /// The head does not match the last entry.
    #[error("audit log head does not match its last entry {sequence}")]
    HeadMismatch {
        /// Last entry.
        sequence: u64,
    },
}

/// Walks the whole chain; returns the number of entries and every problem found.
pub fn verify_chain(log: &AuditLog) -> Result<(u64, Vec<ChainProblem>), StoreError> {
    let mut problems = Vec::new();
    let mut previous_hash = GENESIS_HASH.to_string();
    let mut previous_sequence = 0u64;
    let mut last = None;
    for entry in log.entries.scan_prefix(&[]) {
        let (key, entry) = entry?;
        if key.as_slice() == HEAD_KEY {
            continue;
        }
        if entry_hash(&entry) != entry.hash {
            problems.push(ChainProblem::EntryAltered {
                sequence: entry.sequence,
            });
        }
        if entry.previous_hash != previous_hash || entry.sequence != previous_sequence + 1 {
            problems.push(ChainProblem::ChainBroken {
                sequence: entry.sequence,
                expected_previous: previous_sequence,
            });
        }
        previous_hash = entry.hash.clone();
        previous_sequence = entry.sequence;
        last = Some(entry);
    }
    let head = log.entries.get(&HEAD_KEY)?;
    if head != last {
        problems.push(ChainProblem::HeadMismatch {
            sequence: previous_sequence,
        });
    }
    Ok((previous_sequence, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TxError;

    fn log_some(store: &Store, log: &AuditLog, count: u64) {
        for number in 0..count {
            store
                .transaction(&[&log.entries], |tx| {
                    append(
                        tx,
                        log,
                        &AuditEvent {
                            actor: "reviewer320100-1",
                            action: "report.approve",
                            subject: format!("unit-{number}/G101/2025 v1"),
                            content_hash: Some("ab".repeat(32)),
                        },
                        Timestamp(1_000 + number as i64),
                    )?;
                    Ok::<(), TxError<StoreError>>(())
                })
                .unwrap();
        }
    }

    #[tokio::test]
    async fn an_intact_chain_verifies_and_any_change_is_found() {
        let folder = tempfile::tempdir().unwrap();
        let store = Store::open(folder.path()).unwrap();
        let log = AuditLog::open(&store).unwrap();
        log_some(&store, &log, 10);
        assert_eq!(verify_chain(&log).unwrap(), (10, vec![]));

        // Someone edits entry 4 in place.
        let mut altered = log.entries.get(&4u64.to_be_bytes()).unwrap().unwrap();
        altered.actor = "someone-else".into();
        log.entries.insert(&4u64.to_be_bytes(), &altered).unwrap();
        let (_, problems) = verify_chain(&log).unwrap();
        assert_eq!(problems, vec![ChainProblem::EntryAltered { sequence: 4 }]);

        // Someone removes entry 7 and rehashes it away: the chain breaks at 8.
        log.entries
            .insert(&4u64.to_be_bytes(), &{
                let mut fixed = altered.clone();
                fixed.actor = "reviewer320100-1".into();
                fixed
            })
            .unwrap();
        log.entries.remove(&7u64.to_be_bytes()).unwrap();
        let (_, problems) = verify_chain(&log).unwrap();
        assert_eq!(
            problems,
            vec![ChainProblem::ChainBroken {
                sequence: 8,
                expected_previous: 6
            }]
        );
    }
}
