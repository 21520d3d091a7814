//! The standards over HTTP: forms and their effective indicators, periods and
//! windows, and the effective audit rules with their owning level.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};

use super::auth::Caller;
use super::error::ApiError;
use crate::metadata::FormCode;
use crate::node::NodeState;

/// The standards routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/api/v1/forms", get(forms))
        .route("/api/v1/forms/{form}", get(one_form))
        .route("/api/v1/periods", get(periods))
        .route("/api/v1/rules", get(rules))
}

/// # `GET /api/v1/forms`
/// Every form with its effective indicators (national + level extensions).
async fn forms(State(state): State<Arc<NodeState>>, _caller: Caller) -> Json<serde_json::Value> {
    let standards = state.standards();
    Json(serde_json::json!({
        "releases": standards.metadata.releases,
        "forms": standards.metadata.forms,
    }))
}

/// # `GET /api/v1/forms/{form}`
/// One form.
async fn one_form(
    State(state): State<Arc<NodeState>>,
    _caller: Caller,
    Path(form): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let standards = state.standards();
    let not_found = || ApiError::NotFound {
        path: format!("/api/v1/forms/{form}"),
    };
    let code = FormCode::parse(&form).map_err(|_| not_found())?;
    let definition = standards.metadata.form(&code).ok_or_else(not_found)?;
    Ok(Json(serde_json::to_value(definition).unwrap_or_default()))
}

/// # `GET /api/v1/periods`
/// The periods being reported and the windows of every stage and level.
async fn periods(State(state): State<Arc<NodeState>>, _caller: Caller) -> Json<serde_json::Value> {
    let standards = state.standards();
    Json(serde_json::json!({
        "annual": standards.annual_period.to_string(),
        "quarterly": standards.quarterly_period.to_string(),
        "calendar": standards.calendar,
    }))
}

/// Query of `GET /api/v1/rules`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesQuery {
    form: Option<String>,
}

/// # `GET /api/v1/rules?form=G101`
/// The effective audit rules, each with its owning level.
async fn rules(
    State(state): State<Arc<NodeState>>,
    _caller: Caller,
    super::ApiQuery(query): super::ApiQuery<RulesQuery>,
) -> Json<serde_json::Value> {
    let standards = state.standards();
    let rules: Vec<_> = standards
        .metadata
        .rules
        .iter()
        .filter(|rule| {
            query
                .form
                .as_deref()
                .is_none_or(|form| rule.form.as_str() == form)
        })
        .collect();
    Json(serde_json::json!({"rules": rules}))
}

/// Routes for publishing standards (admins).
pub fn admin_routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route(
            "/api/v1/metadata/releases",
            axum::routing::post(publish_release),
        )
        .route(
            "/api/v1/periods/calendar",
            axum::routing::put(publish_calendar),
        )
        .route(
            "/api/v1/periods/exceptions",
            axum::routing::post(grant_exception),
        )
}

/// Query of `POST /api/v1/metadata/releases`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseQuery {
    /// `true`: check and count the reports it would flag; store nothing.
    dry_run: Option<bool>,
}

/// # `POST /api/v1/metadata/releases?dry_run=`
/// A bureau admin publishes its level's release (the body: the release file,
/// TOML — see `node/data/examples/`). It must compose with the levels above
/// (an extension only adds) and every rule must compile; then it is stored,
/// sent to every child node and put in force here.
async fn publish_release(
    State(state): State<Arc<NodeState>>,
    super::auth::Admin(admin): super::auth::Admin,
    super::ApiQuery(query): super::ApiQuery<ReleaseQuery>,
    body: String,
) -> Result<Json<serde_json::Value>, ApiError> {
    let now = crate::clock::Timestamp::now_from_system_clock();
    let (release, standards) = crate::report::releases::prepare(&state, &body, now)?;
    let dry_run = crate::report::releases::dry_run(&state, &release, &standards)?;
    if query.dry_run.unwrap_or(false) {
        return Ok(Json(
            serde_json::json!({"dry_run": true, "result": dry_run}),
        ));
    }
    crate::report::releases::publish(&state, &release, &admin.account.username, now).await?;
    Ok(Json(
        serde_json::json!({"dry_run": false, "result": dry_run, "in_force": state.standards().metadata.releases}),
    ))
}

/// # `PUT /api/v1/periods/calendar`
/// The national admin sets the windows of every period, form and stage; they
/// are sent down to every node.
async fn publish_calendar(
    State(state): State<Arc<NodeState>>,
    super::auth::Admin(admin): super::auth::Admin,
    super::ApiJson(calendar): super::ApiJson<crate::metadata::period::PeriodCalendar>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let now = crate::clock::Timestamp::now_from_system_clock();
    crate::report::releases::publish_calendar(&state, &calendar, &admin.account.username, now)
        .await?;
    Ok(Json(serde_json::json!({"ok": true})))
}

/// Body of `POST /api/v1/periods/exceptions`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionBody {
    unit: String,
    form: String,
    period: String,
    stage: crate::metadata::period::Stage,
    /// Until when (ms since the epoch).
    until_ms: i64,
    reason: String,
}

/// # `POST /api/v1/periods/exceptions`
/// A bureau admin lets one unit of its jurisdiction report after the window
/// closed, until a time, with a reason (recorded).
async fn grant_exception(
    State(state): State<Arc<NodeState>>,
    super::auth::Admin(admin): super::auth::Admin,
    super::ApiJson(body): super::ApiJson<ExceptionBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let now = crate::clock::Timestamp::now_from_system_clock();
    if body.reason.trim().is_empty() {
        return Err(ApiError::BadRequest {
            field: Some("reason".to_string()),
            message: "reason：须写明理由 / reason: give the reason for the exception".to_string(),
        });
    }
    let (key, form, period) =
        crate::report::service::checked_key(&state, &body.unit, &body.form, &body.period)?;
    crate::report::service::unit_facts(&state, &key.unit)?;
    let exception = crate::metadata::period::WindowException {
        credit_code: key.unit.clone(),
        stage: body.stage,
        until: crate::clock::Timestamp(body.until_ms),
        reason: body.reason,
        granted_by: admin.account.username.clone(),
    };
    crate::report::releases::grant_exception(&state, period, &form, exception, now).await?;
    Ok(Json(serde_json::json!({"ok": true})))
}
