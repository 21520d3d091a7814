//! Logging in and out, and changing one's password.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::ApiJson;
use super::auth::{SESSION_COOKIE, SignedIn};
use super::error::ApiError;
use crate::accounts::{
    self, AccountError, MAX_PASSWORD_CHARS, Session, check_password_policy, decide_login,
    password_matches,
};
use crate::clock::Timestamp;
use crate::node::NodeState;

/// The session routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/api/v1/session", post(log_in).delete(log_out))
        .route("/api/v1/session/password", post(change_password))
}

/// `POST /api/v1/session` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

/// `POST /api/v1/session` answer.
#[derive(Debug, serde::Serialize)]
pub struct LoginAnswer {
    token: String,
    must_change_password: bool,
    role: &'static str,
    unit: Option<String>,
}

/// The `Set-Cookie` value carrying a session token (HttpOnly, Secure, SameSite=Strict).
pub fn session_cookie(token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        accounts::SESSION_MAX_SECONDS
    ))
    .ok()
}

/// The `Set-Cookie` value that ends the browser's session cookie.
pub fn expired_session_cookie() -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0"
    ))
    .ok()
}

/// A session begun by [`begin_session`].
#[derive(Debug)]
pub struct BegunSession {
    /// The bearer token (also the cookie value).
    pub token: String,
    /// The account, after the login was recorded.
    pub account: accounts::Account,
}

/// Checks a username and password (lockout, timing-safe for unknown names),
/// records the attempt and begins a durable session. The one login path of
/// the API and the pages.
/// `certificate` is the verified client certificate of the certificate-login
/// listener (none on the ordinary address): there, only the enterprise
/// account of the unit the certificate names may log in.
pub async fn begin_session(
    state: &NodeState,
    username: &str,
    password: &str,
    certificate: Option<&crate::tls::VerifiedPeer>,
    now: Timestamp,
) -> Result<BegunSession, ApiError> {
    if username.len() > 128 || password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(ApiError::Account(AccountError::WrongCredentials));
    }
    let Some(account) = state.accounts.accounts.get(username.as_bytes())? else {
        // Spend the same effort as a real check, so timing does not reveal which names exist.
        let password = password.to_string();
        let _ = tokio::task::spawn_blocking(move || password_matches(&password, &DUMMY_HASH)).await;
        return Err(ApiError::Account(AccountError::WrongCredentials));
    };
    let stored_hash = account.password_hash.clone();
    let password = password.to_string();
    let matched = tokio::task::spawn_blocking(move || password_matches(&password, &stored_hash))
        .await
        .map_err(|error| ApiError::Internal(format!("password check task: {error}")))?;
    let (account, outcome) = decide_login(account, matched, now);
    state
        .accounts
        .accounts
        .insert(account.username.as_bytes(), &account)?;
    if let Err(refusal) = outcome {
        state.store.commit_durable().await?;
        return Err(ApiError::Account(refusal));
    }
    // SECURITY: a certificate of one unit never opens another account.
    if let Some(certificate) = certificate
        && !crate::unit_certs::certificate_matches_account(
            certificate.common_name.as_deref(),
            &account.role,
        )
    {
        state.store.commit_durable().await?;
        return Err(ApiError::CertificateOfAnotherAccount);
    }
    let token = accounts::new_session_token();
    let session = Session::begin(&account.username, now);
    state
        .accounts
        .sessions
        .insert(&accounts::session_key(&token), &session)?;
    state.store.commit_durable().await?;
    Ok(BegunSession { token, account })
}

/// # `POST /api/v1/session`
/// Logs in; answers a bearer token (and sets the session cookie for browsers).
async fn log_in(
    State(state): State<Arc<NodeState>>,
    certificate: Option<axum::Extension<crate::tls::VerifiedPeer>>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let now = Timestamp::now_from_system_clock();
    let certificate = certificate.map(|axum::Extension(peer)| peer);
    let BegunSession { token, account } = begin_session(
        &state,
        &request.username,
        &request.password,
        certificate.as_ref(),
        now,
    )
    .await?;
    let mut headers = HeaderMap::new();
    if let Some(cookie) = session_cookie(&token) {
        headers.insert(header::SET_COOKIE, cookie);
    }
    let answer = LoginAnswer {
        token,
        must_change_password: account.must_change_password,
        role: account.role.name(),
        unit: account.role.unit().map(str::to_string),
    };
    Ok((headers, Json(answer)).into_response())
}

/// A real argon2id hash of a random string, so unknown-user logins cost as much as real ones.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    accounts::hash_password(&accounts::generate_initial_password()).unwrap_or_default()
});

/// # `DELETE /api/v1/session`
/// Logs out (ends this session).
async fn log_out(
    State(state): State<Arc<NodeState>>,
    signed_in: SignedIn,
) -> Result<Response, ApiError> {
    state.accounts.sessions.remove(&signed_in.session_key)?;
    state.store.commit_durable().await?;
    let mut headers = HeaderMap::new();
    if let Some(expired) = expired_session_cookie() {
        headers.insert(header::SET_COOKIE, expired);
    }
    Ok((headers, Json(serde_json::json!({"ok": true}))).into_response())
}

/// `POST /api/v1/session/password` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    old_password: String,
    new_password: String,
}

/// # `POST /api/v1/session/password`
/// Changes the caller's password (allowed, and required, when it is due).
async fn change_password(
    State(state): State<Arc<NodeState>>,
    signed_in: SignedIn,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let now = Timestamp::now_from_system_clock();
    change_own_password(
        &state,
        signed_in,
        change.old_password,
        change.new_password,
        now,
    )
    .await?;
    Ok(Json(
        serde_json::json!({"ok": true, "must_change_password": false}),
    ))
}

/// Changes the signed-in user's password after checking the old one and the
/// policy; clears the forced change. Shared by the API and the pages.
pub async fn change_own_password(
    state: &NodeState,
    signed_in: SignedIn,
    old_password: String,
    new_password: String,
    now: Timestamp,
) -> Result<(), ApiError> {
    let username = signed_in.account.username.clone();
    check_password_policy(&username, &new_password).map_err(ApiError::Account)?;
    if new_password == old_password {
        return Err(ApiError::Account(AccountError::WeakPassword {
            reason_zh: "新密码不能与旧密码相同",
            reason_en: "the new password must differ from the old one",
        }));
    }
    let stored_hash = signed_in.account.password_hash.clone();
    let (old_matches, new_hash) = tokio::task::spawn_blocking(move || {
        let matches = password_matches(&old_password, &stored_hash);
        let new_hash = if matches {
            Some(accounts::hash_password(&new_password))
        } else {
            None
        };
        (matches, new_hash)
    })
    .await
    .map_err(|error| ApiError::Internal(format!("password task: {error}")))?;
    if !old_matches {
        return Err(ApiError::Account(AccountError::WrongCredentials));
    }
    let Some(new_hash) = new_hash else {
        return Err(ApiError::Account(AccountError::WrongCredentials));
    };
    let mut account = signed_in.account;
    account.password_hash = new_hash.map_err(ApiError::Account)?;
    account.must_change_password = false;
    state
        .accounts
        .accounts
        .insert(username.as_bytes(), &account)?;
    state
        .accounts
        .record_event(&username, "password_changed", &username, now)?;
    state.store.commit_durable().await?;
    Ok(())
}
