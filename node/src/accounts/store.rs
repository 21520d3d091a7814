//! Account and session trees:
//!
//! - `account_by_username  // Username → Account`
//! - `session_by_token_hash // SHA-256(token) → Session`
//! - `account_event_by_time // Timestamp(i64 BE) + random → AccountEvent` (exports, resets, disables: who and when)

use super::{
    Account, AccountError, Role, Session, generate_initial_password, hash_password, session_key,
};
use crate::clock::Timestamp;
use crate::store::{Record, Store, StoreError, Tree};

impl Record for Account {
    const FORMAT_VERSION: u8 = 1;
}

impl Record for Session {
    const FORMAT_VERSION: u8 = 1;
}

/// Something done to accounts that must be on record (R43).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountEvent {
    /// When (ms).
    pub at_ms: i64,
    /// Who did it.
    pub by: String,
    /// What: `created`, `password_changed`, `password_reset`, `disabled`, `exported`...
    pub action: String,
    /// Which account(s).
    pub subject: String,
}

impl AccountEvent {
    /// An event of `by` doing `action` to `subject` at `now`.
    pub fn new(by: &str, action: &str, subject: &str, now: Timestamp) -> AccountEvent {
        AccountEvent {
            at_ms: now.0,
            by: by.to_string(),
            action: action.to_string(),
            subject: subject.to_string(),
        }
    }
}

/// A fresh key of `account_event_by_time`: the time, then 8 random bytes (two events in one millisecond).
pub fn event_key(now: Timestamp) -> Vec<u8> {
    let mut key = now.0.to_be_bytes().to_vec();
    key.extend_from_slice(&rand::random::<[u8; 8]>());
    key
}

impl Record for AccountEvent {
    const FORMAT_VERSION: u8 = 1;
}

/// The accounts trees.
#[derive(Debug, Clone)]
pub struct AccountTrees {
    /// Accounts by login name.
    pub accounts: Tree<Account>,
    /// Sessions by token hash.
    pub sessions: Tree<Session>,
    /// Account events in time order.
    pub events: Tree<AccountEvent>,
}

/// A new account and its initial password, to hand to its owner once.
#[derive(Debug, Clone)]
pub struct IssuedAccount {
    /// The account.
    pub account: Account,
    /// The initial password in clear (never stored).
    pub initial_password: String,
}

impl AccountTrees {
    /// Opens the trees.
    pub fn open(store: &Store) -> Result<AccountTrees, StoreError> {
        Ok(AccountTrees {
            accounts: store.tree("account_by_username")?,
            sessions: store.tree("session_by_token_hash")?,
            events: store.tree("account_event_by_time")?,
        })
    }

    /// Records an account event.
    pub fn record_event(
        &self,
        by: &str,
        action: &str,
        subject: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.events.insert(
            &event_key(now),
            &AccountEvent::new(by, action, subject, now),
        )
    }

    /// The keys of every session of `username` (to end them all).
    pub fn session_keys_of(&self, username: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut keys = Vec::new();
        for entry in self.sessions.scan_prefix(&[]) {
            let (key, session) = entry?;
            if session.username == username {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// Creates an account with a random initial password (blocking: hashes).
    /// `must_change_password` is false only for demo accounts.
    pub fn create(
        &self,
        username: &str,
        role: Role,
        must_change_password: bool,
        created_by: &str,
        now: Timestamp,
    ) -> Result<Result<IssuedAccount, AccountError>, StoreError> {
        if self.accounts.get(username.as_bytes())?.is_some() {
            return Ok(Err(AccountError::UsernameTaken(username.to_string())));
        }
        let initial_password = generate_initial_password();
        let password_hash = match hash_password(&initial_password) {
            Ok(hash) => hash,
            Err(error) => return Ok(Err(error)),
        };
        let account = Account {
            username: username.to_string(),
            password_hash,
            role,
            must_change_password,
            disabled: false,
            failed_logins: 0,
            locked_until_ms: None,
            created_at_ms: now.0,
            last_login_ms: None,
        };
        if !self
            .accounts
            .insert_if_absent(username.as_bytes(), &account)?
        {
            return Ok(Err(AccountError::UsernameTaken(username.to_string())));
        }
        self.record_event(created_by, "created", username, now)?;
        Ok(Ok(IssuedAccount {
            account,
            initial_password,
        }))
    }

    /// The live session for `token`, touched; `None` when unknown or expired.
    pub fn session(&self, token: &str, now: Timestamp) -> Result<Option<Session>, StoreError> {
        let key = session_key(token);
        let Some(mut session) = self.sessions.get(&key)? else {
            return Ok(None);
        };
        if session.expired(now) {
            self.sessions.remove(&key)?;
            return Ok(None);
        }
        // Touch at most once a minute: reads stay cheap.
        if now.0 - session.last_used_ms > 60_000 {
            session.last_used_ms = now.0;
            self.sessions.insert(&key, &session)?;
        }
        Ok(Some(session))
    }
}
