//! Reports and review over HTTP (api.md): the unit fills, checks and submits;
//! reviewers check, approve, return, send feedback and annotate.
//!
//! Whether a caller may touch a report is decided from the verified caller
//! (extractor) and the unit's registry entry: an enterprise only its own unit,
//! a county user its county, admins and reviewers their node's jurisdiction.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post, put};
use axum::{Json, Router};

use super::ApiJson;
use super::auth::{Caller, EnterpriseUser, Reviewer, SignedIn};
use super::error::{ApiError, findings_json};
use crate::accounts::Role;
use crate::clock::Timestamp;
use crate::node::NodeState;
use crate::report::service::{self, ReportServiceError};
use crate::report::{Comment, ReportContent, ReportKey};

/// The report and review routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/api/v1/reports/{unit}/{form}/{period}", get(report))
        .route(
            "/api/v1/reports/{unit}/{form}/{period}/draft",
            put(save_draft),
        )
        .route("/api/v1/reports/{unit}/{form}/{period}/check", post(check))
        .route(
            "/api/v1/reports/{unit}/{form}/{period}/submit",
            post(submit),
        )
        .route(
            "/api/v1/reports/{unit}/{form}/{period}/versions",
            get(versions),
        )
        .route(
            "/api/v1/reports/{unit}/{form}/{period}/versions/{version}/record.xlsx",
            get(copy_of_record),
        )
        .route(
            "/api/v1/reports/{unit}/{form}/{period}/template.xlsx",
            get(offline_template),
        )
        .route(
            "/api/v1/reports/{unit}/{form}/{period}/draft.xlsx",
            put(upload_workbook).layer(axum::extract::DefaultBodyLimit::max(
                crate::report::workbook::UPLOAD_LIMITS.max_bytes + 1,
            )),
        )
        .route("/api/v1/review/queue", get(queue))
        .route(
            "/api/v1/review/{unit}/{form}/{period}/approve",
            post(approve),
        )
        .route(
            "/api/v1/review/{unit}/{form}/{period}/return",
            post(return_to_unit),
        )
        .route(
            "/api/v1/review/{unit}/{form}/{period}/feedback",
            post(feedback),
        )
        .route(
            "/api/v1/review/{unit}/{form}/{period}/annotate",
            post(annotate),
        )
}

type ReportPath = Path<(String, String, String)>;

fn key_of(
    state: &NodeState,
    (unit, form, period): &(String, String, String),
) -> Result<
    (
        ReportKey,
        crate::metadata::FormCode,
        crate::metadata::period::PeriodId,
    ),
    ApiError,
> {
    Ok(service::checked_key(state, unit, form, period)?)
}

/// May this caller see the unit's reports? Someone else's unit is "not found".
pub(crate) fn check_access(
    state: &NodeState,
    caller: &SignedIn,
    unit: &str,
) -> Result<(), ApiError> {
    let not_found = || {
        ApiError::Report(ReportServiceError::NotFound(format!(
            "没有单位 {unit} 的报表 / no reports of unit {unit} here"
        )))
    };
    match &caller.account.role {
        Role::Enterprise { unit: own } if own == unit => Ok(()),
        Role::Enterprise { .. } => Err(not_found()),
        Role::Admin | Role::Reviewer => {
            // At a city node every registered unit is in the jurisdiction; above, only
            // units whose reports arrived, or that the registry places in the division.
            let in_registry = service::unit_facts(state, unit).is_ok_and(|(_, on_report)| {
                crate::division::DivisionCode::parse(&on_report.division)
                    .is_ok_and(|division| state.config.division.contains(division))
            });
            if in_registry {
                Ok(())
            } else {
                Err(not_found())
            }
        }
        Role::County { county } => {
            let in_county = service::unit_facts(state, unit).is_ok_and(|(_, on_report)| {
                crate::division::DivisionCode::parse(&on_report.division)
                    .is_ok_and(|division| county.contains(division))
            });
            if in_county { Ok(()) } else { Err(not_found()) }
        }
        // Read-only overseers see what the registry gives them, nothing else.
        Role::Group { .. } | Role::Supervision { .. } => {
            let seen = crate::registry::UnitCode::parse(unit)
                .ok()
                .and_then(|code| state.registry.current_unit(&code).ok().flatten())
                .is_some_and(|current| {
                    super::auth::sees_unit(state, &caller.account.role, &current.unit)
                });
            if seen { Ok(()) } else { Err(not_found()) }
        }
    }
}

fn now() -> Timestamp {
    Timestamp::now_from_system_clock()
}

/// # `GET /api/v1/reports/{credit_code}/{form}/{period}`
/// Latest version, state, feedback; the unit also gets its draft.
async fn report(
    State(state): State<Arc<NodeState>>,
    Caller(caller): Caller,
    Path(path): ReportPath,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (key, _, _) = key_of(&state, &path)?;
    check_access(&state, &caller, &key.unit)?;
    let status = state.reports.status.get(&key.to_bytes())?;
    let received = state.review.received.get(&key.to_bytes())?;
    let latest = match status.as_ref().and_then(|status| status.latest_version) {
        Some(number) => state.reports.version(&key, number)?,
        None => None,
    };
    let draft = match &caller.account.role {
        Role::Enterprise { .. } => state.reports.drafts.get(&key.to_bytes())?,
        _ => None,
    };
    let changes = match &received {
        Some(received) => changes_since_previous_version(&state, &key, received)?,
        None => None,
    };
    let report_state = match (&status, &received) {
        (Some(status), _) => status.state.as_str(),
        (None, Some(received)) => received.state.as_str(),
        (None, None) => "not_started",
    };
    Ok(Json(serde_json::json!({
        "unit": key.unit, "form": key.form, "period": key.period,
        "state": report_state,
        "latest_version": latest,
        "draft": draft,
        "status": status,
        "received": received,
        "changes_since_previous_version": changes,
    })))
}

/// A value's change between two versions: key → (before, after).
pub(crate) type Changes = BTreeMap<String, (Option<String>, Option<String>)>;

/// At an upper level: what changed in the received version since the
/// version this level saw before (`None` when it saw no earlier one).
pub(crate) fn changes_since_previous_version(
    state: &NodeState,
    key: &ReportKey,
    received: &crate::review::ReceivedReport,
) -> Result<Option<Changes>, ApiError> {
    Ok(state
        .review
        .previous_version(key, received.report.version)?
        .map(|previous| crate::review::changed_values(&previous.values, &received.report.values)))
}

/// At the city: what changed in version `number` since the unit's previous
/// version (the one the city reviewed, returned or approved before).
pub(crate) fn changes_since_previous_submission(
    state: &NodeState,
    key: &ReportKey,
    number: u32,
) -> Result<Option<(u32, Changes)>, ApiError> {
    let Some(previous_number) = number.checked_sub(1).filter(|previous| *previous > 0) else {
        return Ok(None);
    };
    let (Some(previous), Some(current)) = (
        state.reports.version(key, previous_number)?,
        state.reports.version(key, number)?,
    ) else {
        return Ok(None);
    };
    Ok(Some((
        previous_number,
        crate::review::changed_values(&previous.content.values, &current.content.values),
    )))
}

/// Body of `PUT …/draft`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    #[serde(default)]
    values: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    rows: Vec<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    explanations: BTreeMap<String, String>,
    /// The draft revision the client edited (detects edits from another tab).
    revision: Option<u64>,
}

/// Values travel as decimal strings; numbers are accepted too.
fn as_text(field: &str, value: &serde_json::Value) -> Result<String, ApiError> {
    match value {
        serde_json::Value::String(text) => Ok(text.clone()),
        serde_json::Value::Number(number) => Ok(number.to_string()),
        serde_json::Value::Null => Ok(String::new()),
        other => Err(ApiError::BadRequest {
            field: Some(field.to_string()),
            message: format!(
                "{field}：应为数字或文本，而不是 {other} / {field}: expected a number or text, not {other}"
            ),
        }),
    }
}

fn content_of(body: DraftBody) -> Result<(ReportContent, Option<u64>), ApiError> {
    let values = body
        .values
        .iter()
        .map(|(key, value)| Ok((key.clone(), as_text(key, value)?)))
        .collect::<Result<_, ApiError>>()?;
    let rows = body
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|(key, value)| Ok((key.clone(), as_text(key, value)?)))
                .collect::<Result<_, ApiError>>()
        })
        .collect::<Result<_, ApiError>>()?;
    Ok((
        ReportContent {
            values,
            rows,
            explanations: body.explanations,
        },
        body.revision,
    ))
}

fn require_own_unit(enterprise: &EnterpriseUser, unit: &str) -> Result<(), ApiError> {
    if enterprise.unit == unit {
        Ok(())
    } else {
        Err(ApiError::Report(ReportServiceError::NotFound(format!(
            "没有单位 {unit} 的报表 / no reports of unit {unit} here"
        ))))
    }
}

/// # `PUT /api/v1/reports/{credit_code}/{form}/{period}/draft`
/// The unit saves its draft (durable before the answer).
async fn save_draft(
    State(state): State<Arc<NodeState>>,
    enterprise: EnterpriseUser,
    Path(path): ReportPath,
    ApiJson(body): ApiJson<DraftBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (key, form, period) = key_of(&state, &path)?;
    require_own_unit(&enterprise, &key.unit)?;
    let (content, revision) = content_of(body)?;
    let username = enterprise.signed_in.account.username.clone();
    let draft = service::save_draft(
        &state,
        &key,
        &form,
        period,
        content,
        revision,
        &username,
        now(),
    )
    .await?;
    Ok(Json(
        serde_json::json!({"revision": draft.revision, "saved_at_ms": draft.saved_at_ms}),
    ))
}

/// # `POST /api/v1/reports/{credit_code}/{form}/{period}/check`
/// Runs the effective rules: a unit on its draft; a reviewer on the version
/// this level holds (recorded: a decision requires it).
async fn check(
    State(state): State<Arc<NodeState>>,
    Caller(caller): Caller,
    Path(path): ReportPath,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (key, form, period) = key_of(&state, &path)?;
    check_access(&state, &caller, &key.unit)?;
    let findings = match &caller.account.role {
        Role::Enterprise { .. } => {
            let draft = state
                .reports
                .drafts
                .get(&key.to_bytes())?
                .ok_or(ApiError::Report(ReportServiceError::Report(
                    crate::report::ReportError::NoDraft,
                )))?;
            service::run_rules(&state, &key, &form, period, &draft.content)?
        }
        Role::Reviewer => {
            service::reviewer_check(&state, &key, &form, period, &caller.account.username, now())
                .await?
        }
        Role::Admin | Role::County { .. } | Role::Group { .. } | Role::Supervision { .. } => {
            match state.reports.latest_content(&key)? {
                Some(content) => service::run_rules(&state, &key, &form, period, &content)?,
                None => Vec::new(),
            }
        }
    };
    Ok(Json(
        serde_json::json!({"findings": findings_json(&findings)}),
    ))
}

/// Body of `POST …/submit` (optional).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    /// Idempotency key: a retry with the same id answers the same version.
    submission_id: Option<String>,
}

/// # `POST /api/v1/reports/{credit_code}/{form}/{period}/submit`
/// 200 `{version, state}` once durable; 422 with findings; 409 outside the window.
async fn submit(
    State(state): State<Arc<NodeState>>,
    enterprise: EnterpriseUser,
    Path(path): ReportPath,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let body: SubmitBody = optional_json(&body)?;
    let (key, form, period) = key_of(&state, &path)?;
    require_own_unit(&enterprise, &key.unit)?;
    let header_id = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let submission_id = body.submission_id.or(header_id);
    let username = enterprise.signed_in.account.username.clone();
    let (version, status) =
        service::submit(&state, &key, &form, period, submission_id, &username, now()).await?;
    Ok(Json(serde_json::json!({
        "version": version.number, "state": status.state.as_str(), "content_hash": version.content_hash
    })))
}

/// # `GET /api/v1/reports/{credit_code}/{form}/{period}/versions`
/// Every version with time, author and content hash.
async fn versions(
    State(state): State<Arc<NodeState>>,
    Caller(caller): Caller,
    Path(path): ReportPath,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (key, _, _) = key_of(&state, &path)?;
    check_access(&state, &caller, &key.unit)?;
    let own = state.reports.versions_of(&key)?;
    let listed: Vec<serde_json::Value> = if own.is_empty() {
        state
            .review
            .versions_of(&key)?
            .into_iter()
            .map(|seen| serde_json::json!({"version": seen.version, "content_hash": seen.content_hash, "approved_by": seen.approved_by, "approved_at_ms": seen.approved_at_ms, "values": seen.values}))
            .collect()
    } else {
        own.into_iter()
            .map(|version| serde_json::json!({"version": version.number, "submitted_at_ms": version.submitted_at_ms, "submitted_by": version.submitted_by, "content_hash": version.content_hash, "values": version.content.values, "rows": version.content.rows, "explanations": version.content.explanations}))
            .collect()
    };
    Ok(Json(serde_json::json!({"versions": listed})))
}

/// Query of the review queue.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    form: Option<String>,
    period: Option<String>,
    state: Option<String>,
}

/// # `GET /api/v1/review/queue?form=&period=&state=`
/// Reports waiting for this level (default: submitted, not yet decided).
async fn queue(
    State(state): State<Arc<NodeState>>,
    Reviewer(_reviewer): Reviewer,
    super::ApiQuery(query): super::ApiQuery<QueueQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let wanted_state = query
        .state
        .clone()
        .unwrap_or_else(|| "submitted".to_string());
    let matches_key = |unit: &str, form: &str, period: &str| {
        let _ = unit;
        query.form.as_deref().is_none_or(|wanted| wanted == form)
            && query
                .period
                .as_deref()
                .is_none_or(|wanted| wanted == period)
    };
    let mut items = Vec::new();
    for entry in state.reports.status.scan_prefix(&[]) {
        let (key_bytes, status) = entry?;
        let Some(crate::report::ReportKey { unit, form, period }) =
            crate::report::ReportKey::from_bytes(&key_bytes)
        else {
            continue;
        };
        if status.state.as_str() == wanted_state && matches_key(&unit, &form, &period) {
            items.push(serde_json::json!({
                "unit": unit, "form": form, "period": period, "state": status.state.as_str(),
                "version": status.latest_version, "rules_run": status.rule_run.is_some(),
                "overdue": crate::report::is_overdue(&status, now()),
            }));
        }
    }
    for entry in state.review.received.scan_prefix(&[]) {
        let (_, received) = entry?;
        let report = &received.report;
        if received.state.as_str() == wanted_state
            && matches_key(&report.unit, &report.form, &report.period)
        {
            items.push(serde_json::json!({
                "unit": report.unit, "unit_name": report.unit_name, "form": report.form, "period": report.period,
                "state": received.state.as_str(), "version": report.version, "rules_run": received.rule_run.is_some(),
                "from": received.from_child, "annotation": report.annotation,
            }));
        }
    }
    Ok(Json(
        serde_json::json!({"count": items.len(), "reports": items}),
    ))
}

/// Body of `approve`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    comment: Option<String>,
}

/// # `POST /api/v1/review/{credit_code}/{form}/{period}/approve`
/// Approve at this level (the rules must have been run on this version).
async fn approve(
    State(state): State<Arc<NodeState>>,
    Reviewer(reviewer): Reviewer,
    Path(path): ReportPath,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let body: ApproveBody = optional_json(&body)?;
    let (key, _, _) = key_of(&state, &path)?;
    check_access(&state, &reviewer, &key.unit).or_else(|error| {
        if state.review.received.get(&key.to_bytes())?.is_some() {
            Ok(())
        } else {
            Err(error)
        }
    })?;
    let comment = body.comment;
    let new_state =
        service::approve(&state, &key, comment, &reviewer.account.username, now()).await?;
    Ok(Json(serde_json::json!({"state": new_state})))
}

/// A comment in a request body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    indicator: Option<String>,
    text: String,
}

fn comments_of(comments: Vec<CommentBody>) -> Vec<Comment> {
    comments
        .into_iter()
        .map(|comment| Comment {
            indicator: comment.indicator,
            text: comment.text,
        })
        .collect()
}

/// Body of `return`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    comments: Vec<CommentBody>,
    /// The correction deadline: RFC 3339 / ISO date, or milliseconds since the epoch.
    due: serde_json::Value,
}

pub(crate) fn parse_due(value: &serde_json::Value) -> Result<Timestamp, ApiError> {
    let bad = || {
        ApiError::BadRequest {
        field: Some("due".to_string()),
        message: "due：整改期限应为日期（如 2026-12-31）或毫秒时间戳 / due: a date such as 2026-12-31, or milliseconds since the epoch".to_string(),
    }
    };
    match value {
        serde_json::Value::Number(number) => number.as_i64().map(Timestamp).ok_or_else(bad),
        serde_json::Value::String(text) => {
            let date = text.get(..10).ok_or_else(bad)?;
            let mut parts = date.split('-');
            let (Some(year), Some(month), Some(day)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let (year, month, day): (i64, u32, u32) = (
                year.parse().map_err(|_| bad())?,
                month.parse().map_err(|_| bad())?,
                day.parse().map_err(|_| bad())?,
            );
            if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
                return Err(bad());
            }
            // End of that day in Beijing time.
            Ok(crate::metadata::period::beijing_time(
                year, month, day, 23, 59,
            ))
        }
        _ => Err(bad()),
    }
}

/// # `POST /api/v1/review/{credit_code}/{form}/{period}/return`
/// City reviewers: back to the unit with per-indicator comments and a deadline.
async fn return_to_unit(
    State(state): State<Arc<NodeState>>,
    Reviewer(reviewer): Reviewer,
    Path(path): ReportPath,
    ApiJson(body): ApiJson<ReturnBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (key, _, _) = key_of(&state, &path)?;
    check_access(&state, &reviewer, &key.unit)?;
    let due = parse_due(&body.due)?;
    let status = service::return_to_unit(
        &state,
        &key,
        comments_of(body.comments),
        due,
        &reviewer.account.username,
        now(),
    )
    .await?;
    Ok(Json(
        serde_json::json!({"state": status.state.as_str(), "due_ms": due.0}),
    ))
}

/// Body of `feedback`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    comments: Vec<CommentBody>,
}

/// # `POST /api/v1/review/{credit_code}/{form}/{period}/feedback`
/// Province and national reviewers: feedback sent down to the city.
async fn feedback(
    State(state): State<Arc<NodeState>>,
    Reviewer(reviewer): Reviewer,
    Path(path): ReportPath,
    ApiJson(body): ApiJson<FeedbackBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (key, _, _) = key_of(&state, &path)?;
    if state.review.received.get(&key.to_bytes())?.is_none() {
        return Err(ApiError::Report(ReportServiceError::NotFound(
            "本级尚未收到该报表 / this level has not received the report".to_string(),
        )));
    }
    let new_state = service::feedback(
        &state,
        &key,
        comments_of(body.comments),
        &reviewer.account.username,
        now(),
    )
    .await?;
    Ok(Json(serde_json::json!({"state": new_state})))
}

/// Body of `annotate`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnotateBody {
    text: String,
}

/// # `POST /api/v1/review/{credit_code}/{form}/{period}/annotate`
/// City reviewers: answer feedback and send the report up again.
async fn annotate(
    State(state): State<Arc<NodeState>>,
    Reviewer(reviewer): Reviewer,
    Path(path): ReportPath,
    ApiJson(body): ApiJson<AnnotateBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (key, _, _) = key_of(&state, &path)?;
    check_access(&state, &reviewer, &key.unit)?;
    let status =
        service::annotate(&state, &key, &body.text, &reviewer.account.username, now()).await?;
    Ok(Json(serde_json::json!({"state": status.state.as_str()})))
}

/// A JSON body that may be absent (then the defaults apply).
pub(crate) fn optional_json<T: Default + serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|error| ApiError::BadRequest {
        field: None,
        message: format!("请求内容无法读取 / the request body cannot be read: {error}"),
    })
}

/// An `.xlsx` download named after the report (`{form}-{period}-{unit}{suffix}.xlsx`).
fn report_workbook(bytes: Vec<u8>, key: &ReportKey, suffix: &str) -> axum::response::Response {
    super::export::attachment(
        bytes,
        super::export::ExportFormat::Xlsx,
        &format!("{}-{}-{}{suffix}", key.form, key.period, key.unit),
    )
}

/// # `GET /api/v1/reports/{credit_code}/{form}/{period}/template.xlsx`
/// The offline-entry template (R37), pre-filled with the draft and the previous period's values.
async fn offline_template(
    State(state): State<Arc<NodeState>>,
    Caller(caller): Caller,
    Path(path): ReportPath,
) -> Result<axum::response::Response, ApiError> {
    let (key, _, period) = key_of(&state, &path)?;
    check_access(&state, &caller, &key.unit)?;
    let bytes = service::offline_template(&state, &key, period)?;
    Ok(report_workbook(bytes, &key, ""))
}

/// # `PUT /api/v1/reports/{credit_code}/{form}/{period}/draft.xlsx`
/// The unit uploads a filled template: the same checks as online; a file with
/// any wrong cell stores nothing and answers 400 with a problem per cell.
async fn upload_workbook(
    State(state): State<Arc<NodeState>>,
    enterprise: EnterpriseUser,
    Path(path): ReportPath,
    super::ApiBytes(body): super::ApiBytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (key, form, period) = key_of(&state, &path)?;
    require_own_unit(&enterprise, &key.unit)?;
    let username = enterprise.signed_in.account.username.clone();
    let (draft, findings) =
        service::save_draft_from_workbook(&state, &key, &form, period, &body, &username, now())
            .await?;
    Ok(Json(serde_json::json!({
        "revision": draft.revision, "saved_at_ms": draft.saved_at_ms,
        "values": draft.content.values.len(), "rows": draft.content.rows.len(),
        "findings": findings_json(&findings),
    })))
}

/// # `GET /api/v1/reports/{credit_code}/{form}/{period}/versions/{version}/record.xlsx`
/// A submitted version as a read-only workbook: the unit's copy of record (R40).
async fn copy_of_record(
    State(state): State<Arc<NodeState>>,
    Caller(caller): Caller,
    Path((unit, form, period, version)): Path<(String, String, String, String)>,
) -> Result<axum::response::Response, ApiError> {
    let (key, _, _) = key_of(&state, &(unit, form, period))?;
    check_access(&state, &caller, &key.unit)?;
    let number: u32 = version.parse().map_err(|_| ApiError::BadRequest {
        field: Some("version".to_string()),
        message: format!(
            "version：应为版本号（1、2、3…），而不是 {version} / version: a version number (1, 2, 3…), not {version}"
        ),
    })?;
    let bytes = service::copy_of_record(&state, &key, number)?;
    Ok(report_workbook(bytes, &key, &format!("-v{number}")))
}
