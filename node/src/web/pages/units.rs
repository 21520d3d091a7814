//! A city's registry work in pages (issue 5, item 9): the import page
//! (`/registry/import`: check a file, then import all valid rows or only a
//! clean file — the user uploads the file again with the choice, so no file
//! is kept between requests) and the unit page (`/registry/units/{code}`:
//! the entry and its history; for city admins the changes and the unit's
//! login certificates). Every action calls the service the API calls:
//! [`crate::web::registry::check_and_import`],
//! [`crate::web::unit_admin::change_unit_of`], `issue_certificate_of`,
//! `revoke_certificates_of`.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use zhibao_federation_protocol::NodeLevel;

use super::i18n::{Lang, catalogue, format_time};
use super::{
    Chrome, OrPage, Page, PageError, check_csrf, field, message_of, render, render_with_status,
};
use crate::accounts::Role;
use crate::node::NodeState;
use crate::registry::change::{HistoryEvent, UnitChange};
use crate::registry::{RegistryEntry, SuspensionReason, UnitCode, UnitStatus};
use crate::web::auth::{Admin, BureauUser};
use crate::web::error::ApiError;
use crate::web::registry::{caller_scope, parse_period};

/// The routes of the import and unit pages.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route(
            "/registry/import",
            get(import_page).post(import_file).layer(
                // why: a workbook of 50,000 units is larger than the default 2 MiB body limit
                axum::extract::DefaultBodyLimit::max(
                    crate::registry::import::ImportLimits::default().max_bytes + 64 * 1024,
                ),
            ),
        )
        .route("/registry/units/{code}", get(unit_page))
        .route("/registry/units/{code}/change", post(change_from_page))
        .route("/registry/units/{code}/certificate", post(issue_from_page))
        .route(
            "/registry/units/{code}/certificate/revoke",
            post(revoke_from_page),
        )
}

fn bad(field: &str, message: &str) -> ApiError {
    ApiError::BadRequest {
        field: Some(field.to_string()),
        message: message.to_string(),
    }
}

// ---- Import ----

/// One problem of the per-row report.
#[derive(Debug)]
struct ProblemRow {
    row: usize,
    column: String,
    value: String,
    problem: String,
}

/// A login made by an import, shown once.
#[derive(Debug)]
struct LoginRow {
    unit: String,
    name: String,
    username: String,
    password: String,
}

/// What a run of the import did.
#[derive(Debug)]
struct ImportResult {
    rows_read: usize,
    valid_rows: usize,
    rows_with_problems: usize,
    problems: Vec<ProblemRow>,
    /// More problems than shown.
    more_problems: usize,
    /// `None`: nothing written.
    written: Option<(usize, usize)>,
    logins: Vec<LoginRow>,
}

/// The import page.
#[derive(Debug, Template)]
#[template(path = "registry_import.html")]
struct ImportTemplate {
    chrome: Chrome,
    period: String,
    result: Option<ImportResult>,
}

/// Problems shown at most (the counts say how many there are).
const MAX_PROBLEMS: usize = 1000;

fn import_template(
    state: &NodeState,
    lang: Lang,
    admin: &Admin,
    period: String,
    result: Option<ImportResult>,
) -> ImportTemplate {
    ImportTemplate {
        chrome: Chrome::signed_in(state, lang, &admin.0, "import.title", "nav.registry"),
        period,
        result,
    }
}

/// # `GET /registry/import`
/// Admins: the upload form (file, period; check only or import).
async fn import_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Admin>,
) -> Result<Response, PageError> {
    let period = parse_period(&state, None).or_page(lang)?;
    render(
        lang,
        &import_template(&state, lang, &who, period.to_string(), None),
    )
}

/// The parts of the import form.
#[derive(Debug, Default)]
struct ImportParts {
    csrf: Option<String>,
    period: Option<String>,
    mode: Option<String>,
    file: Vec<u8>,
}

async fn import_parts(mut multipart: axum::extract::Multipart) -> Result<ImportParts, ApiError> {
    let unreadable = |error: axum::extract::multipart::MultipartError| ApiError::BadRequest {
        field: Some("file".to_string()),
        message: format!("上传的文件无法读取 / the uploaded file cannot be read: {error}"),
    };
    let mut parts = ImportParts::default();
    while let Some(part) = multipart.next_field().await.map_err(unreadable)? {
        match part.name() {
            Some("csrf") => parts.csrf = Some(part.text().await.map_err(unreadable)?),
            Some("period") => parts.period = Some(part.text().await.map_err(unreadable)?),
            Some("mode") => parts.mode = Some(part.text().await.map_err(unreadable)?),
            Some("file") => parts.file = part.bytes().await.map_err(unreadable)?.to_vec(),
            _ => {}
        }
    }
    Ok(parts)
}

/// # `POST /registry/import` (multipart: `csrf`, `period`, `file`, `mode` = check | valid_rows | all_or_nothing)
/// Checks the file and shows the per-row report; with `valid_rows` writes the
/// valid rows, with `all_or_nothing` writes only a clean file. New logins are
/// shown once on this answer.
async fn import_file(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Admin>,
    multipart: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let parts = import_parts(multipart).await.or_page(lang)?;
    check_csrf(&who.0, parts.csrf.as_deref()).or_page(lang)?;
    let period_text = parts.period.unwrap_or_default();
    let period = parse_period(
        &state,
        Some(period_text.trim()).filter(|text| !text.is_empty()),
    );
    let (commit, accept_valid_rows) = match parts.mode.as_deref() {
        Some("valid_rows") => (true, true),
        Some("all_or_nothing") => (true, false),
        _ => (false, false),
    };
    let outcome = match period {
        Ok(period) if parts.file.is_empty() => Err((period, bad("file", &empty_file_text()))),
        Ok(period) => crate::web::registry::check_and_import(
            &state,
            period,
            parts.file.into(),
            commit,
            accept_valid_rows,
            &who.0.account.username,
        )
        .await
        .map(|(report, written)| (period, report, written))
        .map_err(|error| (period, error)),
        Err(error) => {
            let period = parse_period(&state, None).or_page(lang)?;
            Err((period, error))
        }
    };
    match outcome {
        Ok((period, report, written)) => {
            let problems: Vec<ProblemRow> = report
                .problems
                .iter()
                .take(MAX_PROBLEMS)
                .map(|problem| ProblemRow {
                    row: problem.row,
                    column: problem.column.clone(),
                    value: problem.value.clone(),
                    problem: match lang.language {
                        super::i18n::Language::Zh => problem.message_zh.clone(),
                        super::i18n::Language::En => problem.message_en.clone(),
                    },
                })
                .collect();
            let result = ImportResult {
                rows_read: report.rows_read,
                valid_rows: report.valid.len(),
                rows_with_problems: report.rows_with_problems(),
                more_problems: report.problems.len().saturating_sub(problems.len()),
                problems,
                written: written
                    .as_ref()
                    .map(|outcome| (outcome.summary.added, outcome.summary.replaced)),
                logins: written
                    .map(|outcome| outcome.new_logins)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|login| LoginRow {
                        unit: login.unit,
                        name: login.name,
                        username: login.username,
                        password: login.password,
                    })
                    .collect(),
            };
            let mut page = import_template(&state, lang, &who, period.to_string(), None);
            let catalogue = catalogue(lang.language);
            if commit && result.written.is_none() {
                page.chrome.error = Some(catalogue.t("import.nothing_written").to_string());
            } else if result.written.is_some() {
                page.chrome.notice = Some(catalogue.t("import.written").to_string());
            }
            page.result = Some(result);
            render(lang, &page)
        }
        Err((period, error)) => {
            let status = error.status_and_code().0;
            if status.is_server_error() {
                return Err(PageError::new(lang, error));
            }
            let mut page = import_template(&state, lang, &who, period.to_string(), None);
            page.chrome.error = Some(message_of(&error, lang));
            render_with_status(lang, status, &page)
        }
    }
}

fn empty_file_text() -> String {
    "请选择要上传的文件 / choose the file to upload".to_string()
}

// ---- Changes, as the pages read them ----

/// The suspension reasons a form offers (and `other` with a text).
pub const REASON_WORDS: [&str; 4] = [
    "seasonal_stop",
    "stopped_all_year",
    "stopped_for_remediation",
    "other",
];

/// A suspension reason from a form: one of [`REASON_WORDS`], `other` with its text.
pub fn reason_from_form(
    word: Option<&str>,
    other: Option<&str>,
) -> Result<SuspensionReason, ApiError> {
    let refused = || {
        bad(
            "reason",
            "请选择停报原因 / choose the reason for the suspension",
        )
    };
    match word.unwrap_or_default() {
        "seasonal_stop" => Ok(SuspensionReason::SeasonalStop),
        "stopped_all_year" => Ok(SuspensionReason::StoppedAllYear),
        "stopped_for_remediation" => Ok(SuspensionReason::StoppedForRemediation),
        "other" => {
            let text = other.unwrap_or_default().trim();
            if text.is_empty() {
                Err(bad(
                    "other_reason",
                    "请填写其他停报原因 / write the other reason for the suspension",
                ))
            } else {
                Ok(SuspensionReason::Other(text.to_string()))
            }
        }
        _ => Err(refused()),
    }
}

/// A change from a form's `action`: `suspend` (with `reason`, `other_reason`),
/// `resume`, `close`, `key_industry_in`, `key_industry_out`.
pub fn change_from_form(form: &[(String, String)]) -> Result<UnitChange, ApiError> {
    match field(form, "action").unwrap_or_default() {
        "suspend" => Ok(UnitChange::Suspend {
            reason: reason_from_form(field(form, "reason"), field(form, "other_reason"))?,
        }),
        "resume" => Ok(UnitChange::Resume),
        "close" => Ok(UnitChange::Close),
        "key_industry_in" => Ok(UnitChange::SetKeyIndustry { key_industry: true }),
        "key_industry_out" => Ok(UnitChange::SetKeyIndustry {
            key_industry: false,
        }),
        _ => Err(bad("action", "请选择变更 / choose the change")),
    }
}

/// A suspension reason in the page language.
pub fn reason_label(lang: Lang, reason: &SuspensionReason) -> String {
    let catalogue = catalogue(lang.language);
    match reason {
        SuspensionReason::SeasonalStop => catalogue.t("reason.seasonal_stop").to_string(),
        SuspensionReason::StoppedAllYear => catalogue.t("reason.stopped_all_year").to_string(),
        SuspensionReason::StoppedForRemediation => {
            catalogue.t("reason.stopped_for_remediation").to_string()
        }
        SuspensionReason::Other(text) => text.clone(),
    }
}

/// A change in the page language.
pub fn change_label(lang: Lang, change: &UnitChange) -> String {
    let catalogue = catalogue(lang.language);
    match change {
        UnitChange::Suspend { reason } => format!(
            "{}: {}",
            catalogue.t("change.suspend"),
            reason_label(lang, reason)
        ),
        UnitChange::Resume => catalogue.t("change.resume").to_string(),
        UnitChange::Close => catalogue.t("change.close").to_string(),
        UnitChange::Reclassify { classes } => format!(
            "{}: {}",
            catalogue.t("change.reclassify"),
            classes
                .iter()
                .map(|class| catalogue
                    .t(&format!("class.{}", class.code_word()))
                    .to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        UnitChange::SetKeyIndustry { key_industry: true } => {
            catalogue.t("change.key_industry_in").to_string()
        }
        UnitChange::SetKeyIndustry {
            key_industry: false,
        } => catalogue.t("change.key_industry_out").to_string(),
        UnitChange::SetLiaison { liaison } => {
            format!("{}: {liaison}", catalogue.t("change.liaison"))
        }
        UnitChange::UpdateContact { .. } => catalogue.t("change.contact").to_string(),
    }
}

/// A unit's status in the page language (with the suspension reason).
pub fn status_label(lang: Lang, status: &UnitStatus) -> String {
    let catalogue = catalogue(lang.language);
    match status {
        UnitStatus::Active => catalogue.t("unit_status.active").to_string(),
        UnitStatus::Suspended { reason } => format!(
            "{} ({})",
            catalogue.t("unit_status.suspended"),
            reason_label(lang, reason)
        ),
        UnitStatus::Closed => catalogue.t("unit_status.closed").to_string(),
    }
}

// ---- The unit page ----

/// A line of the history.
#[derive(Debug)]
struct HistoryRow {
    at: String,
    by: String,
    what: String,
    why: String,
}

/// A certificate of the unit.
#[derive(Debug)]
struct CertificateRow {
    serial: u64,
    issued: String,
    not_after: String,
    issued_by: String,
    /// `None` while in force.
    revoked: Option<String>,
}

/// A suspension reason choice.
#[derive(Debug)]
struct ReasonChoice {
    value: &'static str,
    label: String,
}

/// The unit page.
#[derive(Debug, Template)]
#[template(path = "unit.html")]
struct UnitTemplate {
    chrome: Chrome,
    code: String,
    name: String,
    period: String,
    address: String,
    county: String,
    industry: String,
    classes: String,
    status: String,
    key_industry: bool,
    contact_person: String,
    contact_phone: String,
    contact_email: String,
    liaison: String,
    history: Vec<HistoryRow>,
    /// City admins may change the unit (and it is not closed).
    may_change: bool,
    suspended: bool,
    reasons: Vec<ReasonChoice>,
    /// `None`: no certificates at this node (not a city) or not shown to this user.
    certificates: Option<Vec<CertificateRow>>,
    may_issue: bool,
    in_force: usize,
}

/// Query of the unit page.
#[derive(Debug, Default, serde::Deserialize)]
struct UnitQuery {
    period: Option<String>,
    notice: Option<String>,
}

fn is_city_admin(state: &NodeState, role: &Role) -> bool {
    matches!(role, Role::Admin) && state.config.level() == NodeLevel::City
}

/// The unit's entry of the period (the unit's latest by default), if the caller may see it.
fn visible_entry(
    state: &NodeState,
    role: &Role,
    code: &str,
    period: Option<&str>,
) -> Result<RegistryEntry, ApiError> {
    let not_found = || ApiError::NotFound {
        path: format!("/registry/units/{code}"),
    };
    let unit_code = UnitCode::parse(code).map_err(|_| not_found())?;
    let current = state
        .registry
        .current_unit(&unit_code)?
        .ok_or_else(not_found)?;
    // Someone else's unit is "not found": its existence is not theirs to learn.
    let scope = caller_scope(state, role)?;
    if !scope.contains(current.unit.county) {
        return Err(not_found());
    }
    let period = match period.filter(|text| !text.trim().is_empty()) {
        None => current.latest_period,
        Some(text) => parse_period(state, Some(text.trim()))?,
    };
    state
        .registry
        .entry(period, &unit_code)?
        .ok_or_else(not_found)
}

fn unit_template(
    state: &NodeState,
    lang: Lang,
    caller: &crate::web::auth::SignedIn,
    entry: &RegistryEntry,
) -> Result<UnitTemplate, ApiError> {
    let catalogue = catalogue(lang.language);
    let mut chrome = Chrome::signed_in(state, lang, caller, "unit.title", "nav.registry");
    chrome.title = format!("{} · {}", chrome.title, entry.unit.name);
    let unit = &entry.unit;
    let city_admin = is_city_admin(state, &caller.account.role);
    let certificates = match (&state.unit_certificates, city_admin) {
        (Some(certificates), true) => Some(
            certificates
                .of_unit(unit.code.as_str())?
                .into_iter()
                .map(|record| CertificateRow {
                    serial: record.serial,
                    issued: format_time(record.issued_at_ms),
                    not_after: format_time(record.not_after_ms),
                    issued_by: record.issued_by,
                    revoked: record.revoked_at_ms.map(|at| {
                        format!(
                            "{} ({})",
                            format_time(at),
                            record.revoked_by.unwrap_or_default()
                        )
                    }),
                })
                .collect::<Vec<_>>(),
        ),
        _ => None,
    };
    let in_force = certificates.as_ref().map_or(0, |rows| {
        rows.iter().filter(|row| row.revoked.is_none()).count()
    });
    let closed = unit.status == UnitStatus::Closed;
    Ok(UnitTemplate {
        code: unit.code.as_str().to_string(),
        name: unit.name.clone(),
        period: entry.period.to_string(),
        address: unit.address.clone(),
        county: format!("{} ({})", unit.county.name_zh(), unit.county),
        industry: format!("{} {}", unit.industry.as_str(), unit.industry.name_zh()),
        classes: unit
            .classes
            .iter()
            .map(|class| {
                catalogue
                    .t(&format!("class.{}", class.code_word()))
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join(", "),
        status: status_label(lang, &unit.status),
        key_industry: unit.key_industry,
        contact_person: unit.contact.person.clone(),
        contact_phone: unit.contact.phone.clone(),
        contact_email: unit.contact.email.clone().unwrap_or_default(),
        liaison: unit.liaison.clone().unwrap_or_default(),
        history: entry
            .history
            .iter()
            .rev()
            .map(|record| HistoryRow {
                at: format_time(record.at.0),
                by: record.changed_by.clone(),
                what: match &record.event {
                    HistoryEvent::Registered => catalogue.t("unit.registered").to_string(),
                    HistoryEvent::Reimported => catalogue.t("unit.reimported").to_string(),
                    HistoryEvent::CarriedOver => catalogue.t("unit.carried_over").to_string(),
                    HistoryEvent::Changed { change } => change_label(lang, change),
                },
                why: record.why.clone(),
            })
            .collect(),
        may_change: city_admin && !closed,
        suspended: matches!(unit.status, UnitStatus::Suspended { .. }),
        reasons: REASON_WORDS
            .iter()
            .map(|word| ReasonChoice {
                value: word,
                label: catalogue.t(&format!("reason.{word}")).to_string(),
            })
            .collect(),
        may_issue: certificates.is_some() && !closed,
        in_force,
        certificates,
        chrome,
    })
}

/// # `GET /registry/units/{code}?period=`
/// Bureau users within whose jurisdiction the unit lies: its entry and history;
/// city admins also the change forms and the certificates.
async fn unit_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<BureauUser>,
    Path(code): Path<String>,
    Query(query): Query<UnitQuery>,
) -> Result<Response, PageError> {
    let entry =
        visible_entry(&state, &who.0.account.role, &code, query.period.as_deref()).or_page(lang)?;
    let mut page = unit_template(&state, lang, &who.0, &entry).or_page(lang)?;
    let notice_key = match query.notice.as_deref() {
        Some("changed") => Some("unit.changed"),
        Some("revoked") => Some("unit.revoked_done"),
        _ => None,
    };
    if let Some(key) = notice_key {
        page.chrome.notice = Some(catalogue(lang.language).t(key).to_string());
    }
    render(lang, &page)
}

/// Re-shows the unit page with a refusal (a server failure is the error page).
fn refused_on_unit_page(
    state: &NodeState,
    lang: Lang,
    admin: &Admin,
    code: &str,
    period: Option<&str>,
    error: ApiError,
) -> Result<Response, PageError> {
    let status = error.status_and_code().0;
    if status.is_server_error() || status == StatusCode::NOT_FOUND {
        return Err(PageError::new(lang, error));
    }
    let entry = visible_entry(state, &admin.0.account.role, code, period).or_page(lang)?;
    let mut page = unit_template(state, lang, &admin.0, &entry).or_page(lang)?;
    page.chrome.error = Some(message_of(&error, lang));
    render_with_status(lang, status, &page)
}

/// # `POST /registry/units/{code}/change` (`csrf`, `period`, `action`, `reason`, `other_reason`, `confirm_close`, `why`)
/// City admins: one change through the same service as the API; refusals
/// re-show the page with the reason in the page language.
async fn change_from_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Admin>,
    Path(code): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_csrf(&who.0, field(&form, "csrf")).or_page(lang)?;
    let period = field(&form, "period").unwrap_or_default();
    let change = change_from_form(&form).and_then(|change| {
        if change == UnitChange::Close && field(&form, "confirm_close") != Some("yes") {
            Err(bad(
                "confirm_close",
                "关闭单位前请勾选确认 / tick the confirmation before closing the unit",
            ))
        } else {
            Ok(change)
        }
    });
    let outcome = match change {
        Ok(change) => {
            crate::web::unit_admin::change_unit_of(
                &state,
                &code,
                period,
                change,
                field(&form, "why").unwrap_or_default(),
                &who.0.account.username,
            )
            .await
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(entry) => Ok(super::see_other(&format!(
            "/registry/units/{}?period={}&notice=changed",
            entry.unit.code.as_str(),
            entry.period
        ))),
        Err(error) => refused_on_unit_page(&state, lang, &who, &code, Some(period), error),
    }
}

/// The page that shows a new certificate and its key, once.
#[derive(Debug, Template)]
#[template(path = "certificate.html")]
struct CertificateTemplate {
    chrome: Chrome,
    code: String,
    name: String,
    serial: u64,
    not_after: String,
    certificate_pem: String,
    private_key_pem: String,
    ca_pem: String,
}

/// # `POST /registry/units/{code}/certificate` (`csrf`)
/// City admins: issues a login certificate; the answer shows the certificate
/// and its private key once (never stored, never in a URL), with the warning
/// to hand them over on a USB key.
async fn issue_from_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Admin>,
    Path(code): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_csrf(&who.0, field(&form, "csrf")).or_page(lang)?;
    let entry = visible_entry(&state, &who.0.account.role, &code, None).or_page(lang)?;
    match crate::web::unit_admin::issue_certificate_of(&state, &code, &who.0.account.username).await
    {
        Ok(issued) => {
            let page = CertificateTemplate {
                chrome: Chrome::signed_in(
                    &state,
                    lang,
                    &who.0,
                    "certificate.title",
                    "nav.registry",
                ),
                code: entry.unit.code.as_str().to_string(),
                name: entry.unit.name.clone(),
                serial: issued.record.serial,
                not_after: format_time(issued.record.not_after_ms),
                certificate_pem: issued.certificate_pem.clone(),
                private_key_pem: issued.private_key_pem.clone(),
                ca_pem: issued.ca_pem.clone(),
            };
            let mut response = render(lang, &page)?;
            // The key must not stay in a cache.
            response.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            Ok(response)
        }
        Err(error) => refused_on_unit_page(&state, lang, &who, &code, None, error),
    }
}

/// # `POST /registry/units/{code}/certificate/revoke` (`csrf`)
/// City admins: revokes every certificate of the unit in force (a lost key).
async fn revoke_from_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Admin>,
    Path(code): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_csrf(&who.0, field(&form, "csrf")).or_page(lang)?;
    match crate::web::unit_admin::revoke_certificates_of(&state, &code, &who.0.account.username)
        .await
    {
        Ok(_) => Ok(super::see_other(&format!(
            "/registry/units/{code}?notice=revoked"
        ))),
        Err(error) => refused_on_unit_page(&state, lang, &who, &code, None, error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    /// `expected`: the change, or the field a refusal names.
    fn check(fields: &[(&str, &str)], expected: Result<UnitChange, &str>) {
        let read = change_from_form(&posted(fields));
        match (read, expected) {
            (Ok(change), Ok(wanted)) => assert_eq!(change, wanted, "{fields:?}"),
            (Err(ApiError::BadRequest { field, .. }), Err(wanted)) => {
                assert_eq!(field.as_deref(), Some(wanted), "{fields:?}")
            }
            (other, wanted) => panic!("{fields:?}: {other:?}, wanted {wanted:?}"),
        }
    }

    #[test]
    fn changes_are_read_from_the_posted_form() {
        let suspend = |reason| Ok(UnitChange::Suspend { reason });
        check(
            &[("action", "suspend"), ("reason", "seasonal_stop")],
            suspend(SuspensionReason::SeasonalStop),
        );
        check(
            &[("action", "suspend"), ("reason", "stopped_for_remediation")],
            suspend(SuspensionReason::StoppedForRemediation),
        );
        check(
            &[
                ("action", "suspend"),
                ("reason", "other"),
                ("other_reason", " 搬迁 "),
            ],
            suspend(SuspensionReason::Other("搬迁".to_string())),
        );
        check(
            &[
                ("action", "suspend"),
                ("reason", "other"),
                ("other_reason", " "),
            ],
            Err("other_reason"),
        );
        check(&[("action", "suspend")], Err("reason"));
        check(&[("action", "resume")], Ok(UnitChange::Resume));
        check(&[("action", "close")], Ok(UnitChange::Close));
        check(
            &[("action", "key_industry_in")],
            Ok(UnitChange::SetKeyIndustry { key_industry: true }),
        );
        check(
            &[("action", "key_industry_out")],
            Ok(UnitChange::SetKeyIndustry {
                key_industry: false,
            }),
        );
        check(&[("action", "reclassify")], Err("action"));
        check(&[], Err("action"));
    }
}
