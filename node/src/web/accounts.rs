//! Account administration over HTTP (admins of this node): list, reset a
//! password, disable, enable, export as xlsx. Handlers only extract and call
//! [`crate::accounts::service`]; accounts outside the node's jurisdiction are
//! "not found" (ACC404).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::ApiQuery;
use super::auth::Admin;
use super::error::ApiError;
use crate::accounts::admin::AccountFilter;
use crate::accounts::service::{self, AccountView};
use crate::clock::Timestamp;
use crate::node::NodeState;

/// The account administration routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/api/v1/accounts", get(list_accounts).post(create_account))
        .route("/api/v1/accounts/export.xlsx", get(export_accounts))
        .route(
            "/api/v1/accounts/{username}/reset-password",
            post(reset_password),
        )
        .route("/api/v1/accounts/{username}/disable", post(disable_account))
        .route("/api/v1/accounts/{username}/enable", post(enable_account))
}

/// Query of `GET /api/v1/accounts`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    role: Option<String>,
    unit: Option<String>,
}

/// Query of `GET /api/v1/accounts/export.xlsx`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    role: Option<String>,
    unit: Option<String>,
    /// `true`: accounts that still must change their password get a fresh initial one in the sheet.
    with_new_passwords: Option<bool>,
}

/// The filter of a query, or 400 naming `role`.
pub fn account_filter(role: Option<&str>, unit: Option<&str>) -> Result<AccountFilter, ApiError> {
    AccountFilter::parse(role, unit).map_err(|message| ApiError::BadRequest {
        field: Some("role".to_string()),
        message,
    })
}

/// # `GET /api/v1/accounts?role=&unit=`
/// The accounts this node's admin manages: staff, county users, units' enterprise logins.
async fn list_accounts(
    State(state): State<Arc<NodeState>>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<AccountQuery>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let filter = account_filter(query.role.as_deref(), query.unit.as_deref())?;
    let accounts: Vec<AccountView> = service::list_accounts(&state, &filter)?;
    Ok(axum::Json(serde_json::json!({
        "count": accounts.len(),
        "accounts": accounts,
    })))
}

/// Body of `POST /api/v1/accounts`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    username: String,
    /// `county` or `reviewer`.
    role: String,
    /// The county of a county user, e.g. `320102`.
    county: Option<String>,
    /// A group company's name (role `group`, R41).
    group: Option<String>,
    /// A supervision centre's provinces (role `supervision`, R42).
    provinces: Option<Vec<String>>,
}

/// # `POST /api/v1/accounts`
/// An admin makes a county user (its county inside the node's division) or
/// another reviewer; the initial password is answered once.
async fn create_account(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    super::ApiJson(body): super::ApiJson<NewAccount>,
) -> Result<Response, ApiError> {
    let now = Timestamp::now_from_system_clock();
    let (view, password) = service::create_account(
        &state,
        body.username.trim(),
        &body.role,
        &crate::accounts::admin::NewAccountScope {
            county: body.county.as_deref(),
            group: body.group.as_deref(),
            provinces: body.provinces.as_deref(),
        },
        &admin.account.username,
        now,
    )
    .await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({"account": view, "password": password})),
    )
        .into_response())
}

/// # `POST /api/v1/accounts/{username}/reset-password`
/// A fresh initial password, answered once; the next login must change it,
/// the lockout is lifted and the account's sessions end.
async fn reset_password(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    let now = Timestamp::now_from_system_clock();
    let password = service::reset_password(&state, &username, &admin.account.username, now).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({
            "username": username,
            "password": password,
            "must_change_password": true,
        })),
    )
        .into_response())
}

/// # `POST /api/v1/accounts/{username}/disable`
/// The account can no longer log in (ACC003) and its sessions end; not one's own.
async fn disable_account(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    Path(username): Path<String>,
) -> Result<axum::Json<AccountView>, ApiError> {
    let now = Timestamp::now_from_system_clock();
    Ok(axum::Json(
        service::disable(&state, &username, &admin.account.username, now).await?,
    ))
}

/// # `POST /api/v1/accounts/{username}/enable`
/// A disabled account may log in again.
async fn enable_account(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    Path(username): Path<String>,
) -> Result<axum::Json<AccountView>, ApiError> {
    let now = Timestamp::now_from_system_clock();
    Ok(axum::Json(
        service::enable(&state, &username, &admin.account.username, now).await?,
    ))
}

/// The media type of an .xlsx workbook.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The workbook as a download (never cached: it may hold passwords).
pub fn workbook_download(export: service::AccountExport, division: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, XLSX_MEDIA_TYPE.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"accounts-{division}.xlsx\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (
                header::HeaderName::from_static("x-zhibao-accounts"),
                export.accounts.to_string(),
            ),
            (
                header::HeaderName::from_static("x-zhibao-passwords-reset"),
                export.passwords_reset.to_string(),
            ),
        ],
        export.workbook,
    )
        .into_response()
}

/// # `GET /api/v1/accounts/export.xlsx?role=&unit=&with_new_passwords=`
/// Usernames, roles, unit credit codes and names as xlsx (Chinese and English
/// headers). With `with_new_passwords=true`, the listed accounts that still
/// must change their password get fresh initial passwords in the sheet; no
/// other password is listed. Recorded in the audit log.
async fn export_accounts(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let now = Timestamp::now_from_system_clock();
    let filter = account_filter(query.role.as_deref(), query.unit.as_deref())?;
    let export = service::export(
        &state,
        &filter,
        query.with_new_passwords.unwrap_or(false),
        &admin.account.username,
        now,
    )
    .await?;
    Ok(workbook_download(
        export,
        &state.config.division.to_string(),
    ))
}
