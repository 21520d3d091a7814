//! The admin's accounts page: the accounts of this node with filters, reset
//! a password (the new one is shown once, on the answer to the POST, never in
//! a URL), disable and enable, and the export links. Every action calls
//! [`crate::accounts::service`], as the API does.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};

use super::i18n::{Lang, catalogue, format_time};
use super::{Chrome, OrPage, Page, PageError, check_csrf, field, render, render_with_status};
use crate::accounts::service::{self, AccountView};
use crate::clock::Timestamp;
use crate::node::NodeState;
use crate::web::accounts::account_filter;
use crate::web::auth::Admin;
use crate::web::error::ApiError;

/// The accounts page routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new().route("/accounts", get(accounts_page).post(act_on_account))
}

/// Filters and notices of the page.
#[derive(Debug, Default, serde::Deserialize)]
struct AccountsQuery {
    role: Option<String>,
    unit: Option<String>,
    notice: Option<String>,
}

/// One account row.
#[derive(Debug)]
struct AccountRow {
    username: String,
    role: String,
    unit: String,
    unit_name: String,
    state: String,
    disabled: bool,
    last_login: String,
    created: String,
}

/// A choice of the role filter.
#[derive(Debug)]
struct RoleChoice {
    value: &'static str,
    label: String,
    selected: bool,
}

/// The page.
#[derive(Debug, Template)]
#[template(path = "accounts.html")]
struct AccountsTemplate {
    chrome: Chrome,
    roles: Vec<RoleChoice>,
    unit: String,
    rows: Vec<AccountRow>,
    count_text: String,
    export_url: String,
    export_new_url: String,
    /// (username, password) just reset: shown this once.
    new_password: Option<(String, String)>,
}

fn row_of(lang: Lang, view: AccountView, now: Timestamp) -> AccountRow {
    let catalogue = catalogue(lang.language);
    let mut states = Vec::new();
    if view.disabled {
        states.push(catalogue.t("accounts.disabled"));
    }
    if view.must_change_password {
        states.push(catalogue.t("accounts.must_change"));
    }
    if view.locked_until_ms.is_some_and(|until| until > now.0) {
        states.push(catalogue.t("accounts.locked"));
    }
    if states.is_empty() {
        states.push(catalogue.t("accounts.active"));
    }
    AccountRow {
        role: catalogue.t(&format!("role.{}", view.role)).to_string(),
        unit: view.unit.unwrap_or_default(),
        unit_name: view.unit_name.or(view.county).unwrap_or_default(),
        state: states.join(", "),
        disabled: view.disabled,
        last_login: view
            .last_login_ms
            .map_or_else(|| catalogue.t("accounts.never").to_string(), format_time),
        created: format_time(view.created_at_ms),
        username: view.username,
    }
}

/// Builds the page for the filters in `query`.
fn accounts_template(
    state: &NodeState,
    lang: Lang,
    admin: &Admin,
    query: &AccountsQuery,
) -> Result<AccountsTemplate, ApiError> {
    let catalogue = catalogue(lang.language);
    let chrome = Chrome::signed_in(state, lang, &admin.0, "accounts.title", "nav.accounts");
    let filter = account_filter(query.role.as_deref(), query.unit.as_deref())?;
    let now = Timestamp::now_from_system_clock();
    let rows: Vec<AccountRow> = service::list_accounts(state, &filter)?
        .into_iter()
        .map(|view| row_of(lang, view, now))
        .collect();
    let mut export_query = Vec::new();
    if let Some(role) = filter.role {
        export_query.push(format!("role={role}"));
    }
    if let Some(unit) = &filter.unit {
        // why: a credit code is letters and digits; anything else would need URL escaping and matches no unit
        let unit: String = unit.chars().filter(char::is_ascii_alphanumeric).collect();
        export_query.push(format!("unit={unit}"));
    }
    let export_url = |extra: Option<&str>| {
        let words: Vec<&str> = export_query
            .iter()
            .map(String::as_str)
            .chain(extra)
            .collect();
        if words.is_empty() {
            "/api/v1/accounts/export.xlsx".to_string()
        } else {
            format!("/api/v1/accounts/export.xlsx?{}", words.join("&"))
        }
    };
    Ok(AccountsTemplate {
        roles: crate::accounts::admin::ROLE_WORDS
            .iter()
            .map(|word| RoleChoice {
                value: word,
                label: catalogue.t(&format!("role.{word}")).to_string(),
                selected: filter.role == Some(*word),
            })
            .collect(),
        unit: filter.unit.clone().unwrap_or_default(),
        count_text: catalogue.count("accounts.count", rows.len()),
        export_new_url: export_url(Some("with_new_passwords=true")),
        export_url: export_url(None),
        rows,
        new_password: None,
        chrome,
    })
}

/// # `GET /accounts?role=&unit=`
/// The accounts of this node.
async fn accounts_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Admin>,
    Query(query): Query<AccountsQuery>,
) -> Result<Response, PageError> {
    let mut page = accounts_template(&state, lang, &who, &query).or_page(lang)?;
    let catalogue = catalogue(lang.language);
    page.chrome.notice = match query.notice.as_deref() {
        Some("disabled") => Some(catalogue.t("accounts.disabled_done")),
        Some("enabled") => Some(catalogue.t("accounts.enabled_done")),
        _ => None,
    }
    .map(str::to_string);
    render(lang, &page)
}

/// # `POST /accounts` (`action` = `reset` | `disable` | `enable`, `username`)
/// A reset answers the page with the new password shown once; disable and
/// enable redirect back to the list. Refusals re-render the page with the message.
async fn act_on_account(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Admin>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_csrf(&who.0, field(&form, "csrf")).or_page(lang)?;
    let username = field(&form, "username").unwrap_or_default().to_string();
    let by = who.0.account.username.clone();
    let now = Timestamp::now_from_system_clock();
    let outcome: Result<Option<&str>, ApiError> = match field(&form, "action").unwrap_or_default() {
        "reset" => match service::reset_password(&state, &username, &by, now).await {
            Ok(password) => {
                let mut page = accounts_template(&state, lang, &who, &AccountsQuery::default())
                    .or_page(lang)?;
                page.chrome.notice = Some(
                    catalogue(lang.language)
                        .t("accounts.reset_done")
                        .to_string(),
                );
                page.new_password = Some((username, password));
                let mut response = render(lang, &page)?;
                response.headers_mut().insert(
                    axum::http::header::CACHE_CONTROL,
                    axum::http::HeaderValue::from_static("no-store"),
                );
                return Ok(response);
            }
            Err(error) => Err(error.into()),
        },
        "disable" => service::disable(&state, &username, &by, now)
            .await
            .map(|_| Some("disabled"))
            .map_err(ApiError::from),
        "enable" => service::enable(&state, &username, &by, now)
            .await
            .map(|_| Some("enabled"))
            .map_err(ApiError::from),
        other => Err(ApiError::BadRequest {
            field: Some("action".to_string()),
            message: format!("未知操作 {other} / unknown action {other}"),
        }),
    };
    match outcome {
        Ok(Some(notice)) => Ok(super::see_other(&format!("/accounts?notice={notice}"))),
        Ok(None) => Ok(super::see_other("/accounts")),
        Err(error) if error.status_and_code().0.is_server_error() => {
            Err(PageError::new(lang, error))
        }
        Err(error) => {
            let mut page =
                accounts_template(&state, lang, &who, &AccountsQuery::default()).or_page(lang)?;
            page.chrome.error = Some(super::message_of(&error, lang));
            render_with_status(lang, error.status_and_code().0, &page)
        }
    }
}
