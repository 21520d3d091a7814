//! The account administration use cases over the node's state: what the web
//! layer (API and pages alike) calls. Each change writes the account, ends
//! its sessions, records an account event and appends to the hash-chained
//! audit log in one transaction, then makes it durable before returning.

use super::admin::{self, AccountAdminError, AccountFilter, within_jurisdiction};
use super::export::{ExportRow, accounts_workbook};
use super::store::{AccountEvent, event_key};
use super::{Account, generate_initial_password, hash_initial_password};
use crate::audit::{self, AuditEvent};
use crate::clock::Timestamp;
use crate::node::NodeState;
use crate::registry::UnitCode;
use crate::store::{StoreError, TxError};

/// Why an account administration action failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountServiceError {
    /// Refused by the rules of account administration.
    #[error(transparent)]
    Admin(#[from] AccountAdminError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing a password or writing the workbook failed (a bug or resource exhaustion).
    #[error("{0}")]
    Internal(String),
}

/// An account as an admin sees it (never its hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountView {
    /// Login name.
    pub username: String,
    /// Role word.
    pub role: &'static str,
    /// The unit of an enterprise account.
    pub unit: Option<String>,
    /// The unit's name, from the registry.
    pub unit_name: Option<String>,
    /// The county of a county user.
    pub county: Option<String>,
    /// Cannot log in.
    pub disabled: bool,
    /// The next login must change the password.
    pub must_change_password: bool,
    /// Locked after wrong passwords, until (ms).
    pub locked_until_ms: Option<i64>,
    /// Last successful login (ms), when known.
    pub last_login_ms: Option<i64>,
    /// When it was made (ms).
    pub created_at_ms: i64,
}

/// The account and its unit's name, if it is this node admin's to manage.
fn managed_view(state: &NodeState, account: &Account) -> Result<Option<AccountView>, StoreError> {
    let unit = match account.role.unit().map(UnitCode::parse) {
        Some(Ok(code)) => state
            .registry
            .current_unit(&code)
            .map_err(|error| StoreError::Engine(error.to_string()))?,
        Some(Err(_)) | None => None,
    };
    let unit_county = unit.as_ref().map(|current| current.unit.county);
    if !within_jurisdiction(account, state.config.division, unit_county) {
        return Ok(None);
    }
    Ok(Some(AccountView {
        username: account.username.clone(),
        role: account.role.name(),
        unit: account.role.unit().map(str::to_string),
        unit_name: unit.map(|current| current.unit.name),
        county: match &account.role {
            super::Role::County { county } => Some(county.to_string()),
            super::Role::Supervision { provinces } => Some(
                provinces
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            super::Role::Group { group } => Some(group.clone()),
            super::Role::Admin | super::Role::Reviewer | super::Role::Enterprise { .. } => None,
        },
        disabled: account.disabled,
        must_change_password: account.must_change_password,
        locked_until_ms: account.locked_until_ms,
        last_login_ms: account.last_login_ms,
        created_at_ms: account.created_at_ms,
    }))
}

fn role_order(role: &str) -> usize {
    admin::ROLE_WORDS
        .iter()
        .position(|word| *word == role)
        .unwrap_or(admin::ROLE_WORDS.len())
}

/// The accounts this node's admin manages that pass the filter: staff first, then units.
pub fn list_accounts(
    state: &NodeState,
    filter: &AccountFilter,
) -> Result<Vec<AccountView>, AccountServiceError> {
    let mut views = Vec::new();
    for entry in state.accounts.accounts.scan_prefix(&[]) {
        let (_, account) = entry?;
        if !filter.matches(&account) {
            continue;
        }
        if let Some(view) = managed_view(state, &account)? {
            views.push(view);
        }
    }
    views.sort_by(|left, right| {
        role_order(left.role)
            .cmp(&role_order(right.role))
            .then_with(|| left.username.cmp(&right.username))
    });
    Ok(views)
}

/// An account this node's admin manages, or "not found".
fn managed_account(state: &NodeState, username: &str) -> Result<Account, AccountServiceError> {
    let not_found = || AccountAdminError::NotFound(username.to_string());
    let account = state
        .accounts
        .accounts
        .get(username.as_bytes())?
        .ok_or_else(not_found)?;
    managed_view(state, &account)?.ok_or_else(not_found)?;
    Ok(account)
}

/// One account change to commit: the account as it must be stored, the
/// sessions to end, and the action word of the event and audit entry.
struct AccountChange {
    account: Account,
    end_sessions: Vec<Vec<u8>>,
    action: &'static str,
    event_key: Vec<u8>,
}

impl AccountChange {
    fn new(
        state: &NodeState,
        account: Account,
        action: &'static str,
        now: Timestamp,
    ) -> Result<AccountChange, StoreError> {
        Ok(AccountChange {
            end_sessions: state.accounts.session_keys_of(&account.username)?,
            account,
            action,
            event_key: event_key(now),
        })
    }
}

/// A summary entry in the audit log (and the account events) next to the changes.
struct Summary {
    action: &'static str,
    subject: String,
    event_key: Vec<u8>,
}

/// Writes the changes (accounts, ended sessions, events, audit entries) in one transaction.
fn commit_changes(
    state: &NodeState,
    changes: &[AccountChange],
    summary: Option<&Summary>,
    by: &str,
    now: Timestamp,
) -> Result<(), AccountServiceError> {
    let trees = &state.accounts;
    state.store.transaction(
        &[
            &trees.accounts,
            &trees.sessions,
            &trees.events,
            &state.audit.entries,
        ],
        |tx| {
            for change in changes {
                let username = &change.account.username;
                tx.insert(&trees.accounts, username.as_bytes(), &change.account)?;
                for key in &change.end_sessions {
                    tx.remove(&trees.sessions, key)?;
                }
                tx.insert(
                    &trees.events,
                    &change.event_key,
                    &AccountEvent::new(by, change.action, username, now),
                )?;
                audit::append(
                    tx,
                    &state.audit,
                    &AuditEvent {
                        actor: by,
                        action: change.action,
                        subject: username.clone(),
                        content_hash: None,
                    },
                    now,
                )?;
            }
            if let Some(summary) = summary {
                tx.insert(
                    &trees.events,
                    &summary.event_key,
                    &AccountEvent::new(by, summary.action, &summary.subject, now),
                )?;
                audit::append(
                    tx,
                    &state.audit,
                    &AuditEvent {
                        actor: by,
                        action: summary.action,
                        subject: summary.subject.clone(),
                        content_hash: None,
                    },
                    now,
                )?;
            }
            Ok::<(), TxError<AccountServiceError>>(())
        },
    )
}

/// Fresh initial passwords and their (light) hashes, computed off the async threads.
async fn new_initial_passwords(count: usize) -> Result<Vec<(String, String)>, AccountServiceError> {
    tokio::task::spawn_blocking(move || {
        (0..count)
            .map(|_| {
                let password = generate_initial_password();
                hash_initial_password(&password).map(|hash| (password, hash))
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|error| AccountServiceError::Internal(format!("password task: {error}")))?
    .map_err(|error| AccountServiceError::Internal(error.to_string()))
}

/// Resets an account's password to a fresh initial one (answered once, never
/// stored in clear): the next login must change it, the lockout is lifted and
/// the account's sessions end.
pub async fn reset_password(
    state: &NodeState,
    username: &str,
    by: &str,
    now: Timestamp,
) -> Result<String, AccountServiceError> {
    let account = managed_account(state, username)?;
    let Some((password, hash)) = new_initial_passwords(1).await?.into_iter().next() else {
        return Err(AccountServiceError::Internal(
            "no password was generated".to_string(),
        ));
    };
    let change = AccountChange::new(
        state,
        admin::reset_password(account, hash),
        "account.password_reset",
        now,
    )?;
    commit_changes(state, &[change], None, by, now)?;
    state.store.commit_durable().await?;
    Ok(password)
}

/// Disables an account (it cannot log in; its sessions end). An admin cannot disable itself.
pub async fn disable(
    state: &NodeState,
    username: &str,
    by: &str,
    now: Timestamp,
) -> Result<AccountView, AccountServiceError> {
    let account = admin::disable(managed_account(state, username)?, by)?;
    let change = AccountChange::new(state, account, "account.disable", now)?;
    commit_changes(state, std::slice::from_ref(&change), None, by, now)?;
    state.store.commit_durable().await?;
    view_of(state, &change.account)
}

/// Enables a disabled account again.
pub async fn enable(
    state: &NodeState,
    username: &str,
    by: &str,
    now: Timestamp,
) -> Result<AccountView, AccountServiceError> {
    let account = admin::enable(managed_account(state, username)?);
    let change = AccountChange {
        end_sessions: Vec::new(),
        account,
        action: "account.enable",
        event_key: event_key(now),
    };
    commit_changes(state, std::slice::from_ref(&change), None, by, now)?;
    state.store.commit_durable().await?;
    view_of(state, &change.account)
}

fn view_of(state: &NodeState, account: &Account) -> Result<AccountView, AccountServiceError> {
    managed_view(state, account)?.ok_or_else(|| {
        AccountServiceError::Admin(AccountAdminError::NotFound(account.username.clone()))
    })
}

/// A finished export.
#[derive(Debug)]
pub struct AccountExport {
    /// The workbook.
    pub workbook: Vec<u8>,
    /// Accounts listed.
    pub accounts: usize,
    /// Accounts reset to a fresh initial password by this export.
    pub passwords_reset: usize,
}

/// The accounts passing `filter` as a workbook. With `with_new_passwords`,
/// every listed account that still must change its password (and is not
/// disabled) is reset to a fresh initial password shown in the sheet; the
/// others get no password (only hashes are stored). The export and each reset
/// go into the audit log, in the transaction that writes the resets.
pub async fn export(
    state: &NodeState,
    filter: &AccountFilter,
    with_new_passwords: bool,
    by: &str,
    now: Timestamp,
) -> Result<AccountExport, AccountServiceError> {
    let views = list_accounts(state, filter)?;
    let due: Vec<&AccountView> = views
        .iter()
        .filter(|view| with_new_passwords && view.must_change_password && !view.disabled)
        .collect();
    let mut passwords = new_initial_passwords(due.len()).await?.into_iter();
    let mut changes = Vec::new();
    let mut new_password_of = std::collections::HashMap::new();
    for view in due {
        let Some((password, hash)) = passwords.next() else {
            break;
        };
        let account = managed_account(state, &view.username)?;
        changes.push(AccountChange::new(
            state,
            admin::reset_password(account, hash),
            "account.password_reset",
            now,
        )?);
        new_password_of.insert(view.username.clone(), password);
    }
    let rows: Vec<ExportRow> = views
        .iter()
        .map(|view| ExportRow {
            username: view.username.clone(),
            role: view.role,
            credit_code: view.unit.clone(),
            unit_name: view.unit_name.clone(),
            new_password: new_password_of.remove(&view.username),
        })
        .collect();
    // The workbook is made before the resets are written: a failure leaves every password as it was.
    let workbook = tokio::task::spawn_blocking(move || accounts_workbook(&rows))
        .await
        .map_err(|error| AccountServiceError::Internal(format!("export task: {error}")))?
        .map_err(AccountServiceError::Internal)?;
    let summary = Summary {
        action: "accounts.export",
        subject: format!(
            "{} 个账户，{} 个新初始密码（角色 {}，单位 {}） / {} accounts, {} new initial passwords (role {}, unit {})",
            views.len(),
            changes.len(),
            filter.role.unwrap_or("*"),
            filter.unit.as_deref().unwrap_or("*"),
            views.len(),
            changes.len(),
            filter.role.unwrap_or("*"),
            filter.unit.as_deref().unwrap_or("*"),
        ),
        event_key: event_key(now),
    };
    commit_changes(state, &changes, Some(&summary), by, now)?;
    state.store.commit_durable().await?;
    Ok(AccountExport {
        workbook,
        accounts: views.len(),
        passwords_reset: changes.len(),
    })
}

/// An admin makes a county user (R34) or another reviewer: a strong initial
/// password answered once, to be changed at first login. The login name is
/// checked free inside the writing transaction.
pub async fn create_account(
    state: &NodeState,
    username: &str,
    role: &str,
    scope: &admin::NewAccountScope<'_>,
    by: &str,
    now: Timestamp,
) -> Result<(AccountView, String), AccountServiceError> {
    let role = admin::new_account_role(username, role, scope, state.config.division)?;
    let Some((password, hash)) = new_initial_passwords(1).await?.into_iter().next() else {
        return Err(AccountServiceError::Internal(
            "no password was generated".to_string(),
        ));
    };
    let account = Account {
        username: username.to_string(),
        password_hash: hash,
        role,
        must_change_password: true,
        disabled: false,
        failed_logins: 0,
        locked_until_ms: None,
        created_at_ms: now.0,
        last_login_ms: None,
    };
    let trees = &state.accounts;
    let event_key = event_key(now);
    state.store.transaction(
        &[&trees.accounts, &trees.events, &state.audit.entries],
        |tx| {
            if tx.get(&trees.accounts, username.as_bytes())?.is_some() {
                return Err(TxError::Abort(AccountServiceError::Admin(
                    AccountAdminError::UsernameTaken(username.to_string()),
                )));
            }
            tx.insert(&trees.accounts, username.as_bytes(), &account)?;
            tx.insert(
                &trees.events,
                &event_key,
                &AccountEvent::new(by, "account.create", username, now),
            )?;
            audit::append(
                tx,
                &state.audit,
                &AuditEvent {
                    actor: by,
                    action: "account.create",
                    subject: format!("{username} ({})", account.role.name()),
                    content_hash: None,
                },
                now,
            )?;
            Ok(())
        },
    )?;
    state.store.commit_durable().await?;
    Ok((view_of(state, &account)?, password))
}
