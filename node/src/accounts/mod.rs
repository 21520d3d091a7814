//! Accounts (用户) and sessions: who may log in to a node, and as what.
//!
//! Roles: a bureau node has one **admin** (管理用户) and three **reviewers**
//! (审核用户) made at set-up (R5); every survey unit gets an **enterprise**
//! account when it enters the registry (R4); **county** users work inside one
//! county of a city node (R34, R35). Initial passwords are strong and random,
//! and must be changed at first login (demo accounts excepted). Passwords are
//! stored as argon2id hashes; five wrong passwords lock an account for 15
//! minutes; sessions expire after 8 idle hours and are kept in the store, so a
//! restart does not log anyone out.
//!
//! This module is plain functions over values and time; `store.rs` keeps the
//! trees; the web layer's extractors decide who is calling.

pub mod admin;
pub mod export;
pub mod service;
pub mod store;
#[cfg(test)]
mod tests;

use crate::clock::Timestamp;
use crate::division::DivisionCode;

/// Wrong passwords in a row before an account is locked.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long a lock lasts.
pub const LOCKOUT_SECONDS: i64 = 15 * 60;
/// A session ends after this long without use.
pub const SESSION_IDLE_SECONDS: i64 = 8 * 3600;
/// A session ends this long after login, used or not.
pub const SESSION_MAX_SECONDS: i64 = 24 * 3600;
/// Shortest acceptable password.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest accepted password (argon2 input is bounded; refuse early).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// What an account may do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    /// 管理用户: manages the node's accounts, registry and extensions.
    Admin,
    /// 审核用户: reviews reports of the node's jurisdiction.
    Reviewer,
    /// 企业: fills its own unit's forms.
    Enterprise {
        /// The unit's credit code.
        unit: String,
    },
    /// 县级用户: helps the city inside one county.
    County {
        /// The county.
        county: DivisionCode,
    },
    /// 集团公司 (R41): oversees its subsidiaries' reporting, read-only — the
    /// units whose registry entry names this group.
    Group {
        /// The group company's name as the registry records it.
        group: String,
    },
    /// 督查中心 (R42): reviews the data of a set of provinces, read-only.
    Supervision {
        /// The provinces it oversees.
        provinces: Vec<DivisionCode>,
    },
}

impl Role {
    /// The word used in the API and federation.json.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
            Role::Enterprise { .. } => "enterprise",
            Role::County { .. } => "county",
            Role::Group { .. } => "group",
            Role::Supervision { .. } => "supervision",
        }
    }

    /// The unit of an enterprise account.
    pub fn unit(&self) -> Option<&str> {
        match self {
            Role::Enterprise { unit } => Some(unit),
            Role::Admin
            | Role::Reviewer
            | Role::County { .. }
            | Role::Group { .. }
            | Role::Supervision { .. } => None,
        }
    }
}

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    /// Login name.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// What it may do.
    pub role: Role,
    /// Set for initial and reset passwords: the next login must change it.
    pub must_change_password: bool,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
    /// Wrong passwords in a row.
    pub failed_logins: u32,
    /// Locked until (ms), after too many wrong passwords.
    pub locked_until_ms: Option<i64>,
    /// When it was made (ms).
    pub created_at_ms: i64,
    /// The last successful login (ms); absent on accounts stored before it was kept.
    #[serde(default)]
    pub last_login_ms: Option<i64>,
}

/// Why a login or password change failed. Messages are for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// Unknown user or wrong password (never say which).
    #[error("用户名或密码错误 / wrong username or password")]
    WrongCredentials,
    /// Locked after repeated failures.
    #[error(
        "账户因多次密码错误已锁定，请在 {minutes} 分钟后再试，或联系管理员 / account locked after repeated wrong passwords; try again in {minutes} minutes or ask your administrator"
    )]
    Locked {
        /// Minutes left.
        minutes: i64,
    },
    /// Disabled by an admin.
    #[error("账户已停用，请联系管理员 / this account is disabled; ask your administrator")]
    Disabled,
    /// The new password is not acceptable.
    #[error("新密码不符合要求：{reason_zh} / new password refused: {reason_en}")]
    WeakPassword {
        /// Why, in Chinese.
        reason_zh: &'static str,
        /// Why, in English.
        reason_en: &'static str,
    },
    /// A username that exists already.
    #[error("用户名 {0} 已存在 / username {0} already exists")]
    UsernameTaken(String),
    /// Hashing failed (a bug or resource exhaustion).
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Hashes a password with argon2id (CPU-heavy: call from a blocking thread).
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    use argon2::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| AccountError::Hashing(error.to_string()))
}

/// Checks a password against a stored hash (CPU-heavy: call from a blocking thread).
pub fn password_matches(password: &str, stored_hash: &str) -> bool {
    use argon2::PasswordVerifier;
    password.chars().count() <= MAX_PASSWORD_CHARS
        && argon2::Argon2::default()
            .verify_password(password.as_bytes(), stored_hash)
            .is_ok()
}

/// The password policy: 10–128 characters, at least three of lower case,
/// upper case, digits and symbols, and not the username.
pub fn check_password_policy(username: &str, password: &str) -> Result<(), AccountError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword {
            reason_zh: "至少 10 个字符",
            reason_en: "at least 10 characters",
        });
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword {
            reason_zh: "不超过 128 个字符",
            reason_en: "at most 128 characters",
        });
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|present| **present).count() < 3 {
        return Err(AccountError::WeakPassword {
            reason_zh: "须包含小写字母、大写字母、数字、符号中的至少三类",
            reason_en: "use at least three of: lower case, upper case, digits, symbols",
        });
    }
    if password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(AccountError::WeakPassword {
            reason_zh: "不能包含用户名",
            reason_en: "must not contain the username",
        });
    }
    Ok(())
}

/// A strong random initial password: 14 characters from an alphabet without
/// look-alikes (no 0/O, 1/l/I), always with lower, upper, digit and symbol.
pub fn generate_initial_password() -> String {
    use rand::Rng;
    use rand::seq::SliceRandom;
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"#%+=@";
    let mut random = rand::rng();
    let mut pick = |set: &[u8]| char::from(set[random.random_range(0..set.len())]);
    let mut characters: Vec<char> = vec![pick(LOWER), pick(UPPER), pick(DIGITS), pick(SYMBOLS)];
    let all: Vec<u8> = [LOWER, UPPER, DIGITS].concat();
    while characters.len() < 14 {
        characters.push(pick(&all));
    }
    characters.shuffle(&mut rand::rng());
    characters.into_iter().collect()
}

/// Decides a login attempt, given whether the password matched. Returns the
/// account as it must be stored afterwards (counters, lock) and the outcome.
pub fn decide_login(
    mut account: Account,
    password_matched: bool,
    now: Timestamp,
) -> (Account, Result<(), AccountError>) {
    if account.disabled {
        return (account, Err(AccountError::Disabled));
    }
    if let Some(locked_until) = account.locked_until_ms
        && locked_until > now.0
    {
        let minutes = (locked_until - now.0 + 59_999) / 60_000;
        return (account, Err(AccountError::Locked { minutes }));
    }
    if password_matched {
        account.failed_logins = 0;
        account.locked_until_ms = None;
        account.last_login_ms = Some(now.0);
        return (account, Ok(()));
    }
    account.failed_logins += 1;
    if account.failed_logins >= MAX_FAILED_LOGINS {
        account.failed_logins = 0;
        account.locked_until_ms = Some(now.plus_seconds(LOCKOUT_SECONDS).0);
        return (
            account,
            Err(AccountError::Locked {
                minutes: LOCKOUT_SECONDS / 60,
            }),
        );
    }
    (account, Err(AccountError::WrongCredentials))
}

/// A logged-in session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// Whose.
    pub username: String,
    /// When it began (ms).
    pub created_at_ms: i64,
    /// Last use (ms).
    pub last_used_ms: i64,
    /// The CSRF token forms must echo.
    pub csrf_token: String,
}

impl Session {
    /// A new session.
    pub fn begin(username: &str, now: Timestamp) -> Session {
        Session {
            username: username.to_string(),
            created_at_ms: now.0,
            last_used_ms: now.0,
            csrf_token: crate::federation::outbound::new_message_id(),
        }
    }

    /// Whether it has expired at `now`.
    pub fn expired(&self, now: Timestamp) -> bool {
        now.0 - self.last_used_ms > SESSION_IDLE_SECONDS * 1000
            || now.0 - self.created_at_ms > SESSION_MAX_SECONDS * 1000
    }
}

/// A fresh session token (sent to the client once; only its hash is stored).
pub fn new_session_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The key a session is stored under: SHA-256 of the token, so a copy of the
/// database does not hold usable tokens.
pub fn session_key(token: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

/// Login names of a bureau node's set-up accounts: one admin, three reviewers.
pub fn bureau_usernames(division: DivisionCode) -> Vec<(String, Role)> {
    let mut names = vec![(format!("admin{division}"), Role::Admin)];
    for number in 1..=3 {
        names.push((format!("reviewer{division}-{number}"), Role::Reviewer));
    }
    names
}

/// Hashes a *generated* initial password with light argon2id parameters
/// (1 MiB, one pass). Why: a city imports thousands of units at once, and a
/// 14-character random password (≈ 80 bits) cannot be guessed whatever the
/// hash cost; the password the user chooses at first login gets the full cost.
pub fn hash_initial_password(password: &str) -> Result<String, AccountError> {
    use argon2::PasswordHasher;
    let params = argon2::Params::new(1024, 1, 1, None)
        .map_err(|error| AccountError::Hashing(error.to_string()))?;
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| AccountError::Hashing(error.to_string()))
}
