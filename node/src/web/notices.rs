//! Notices and urging over HTTP: `GET /api/v1/notices` (the caller's notice
//! area: a unit's own, or its bureau's) and `POST /api/v1/urge` (催报: a
//! city its units, a province or the nation the bureaus below).

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::ApiJson;
use super::auth::{BureauUser, Caller};
use super::error::ApiError;
use crate::accounts::Role;
use crate::clock::Timestamp;
use crate::node::NodeState;
use crate::urging::Audience;
use crate::urging::flow::UrgeError;
use zhibao_federation_protocol::messages::MOST_REMINDER_TEXT_CHARS;

/// The routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/api/v1/notices", get(notices))
        .route("/api/v1/urge", post(urge))
}

/// Who sees which notices: a unit its own; bureau users their node's;
/// read-only overseers (group companies, supervision centres) none.
pub fn audience_of(role: &Role) -> Option<Audience> {
    match role {
        Role::Enterprise { unit } => Some(Audience::Unit(unit.clone())),
        Role::Admin | Role::Reviewer | Role::County { .. } => Some(Audience::Bureau),
        Role::Group { .. } | Role::Supervision { .. } => None,
    }
}

/// Query of `GET /api/v1/notices`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticesQuery {
    limit: Option<usize>,
}

/// # `GET /api/v1/notices?limit=`
/// The caller's notices, newest first (at most 200).
async fn notices(
    State(state): State<Arc<NodeState>>,
    Caller(caller): Caller,
    super::ApiQuery(query): super::ApiQuery<NoticesQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = query.limit.unwrap_or(50).min(200);
    let notices = match audience_of(&caller.account.role) {
        Some(audience) => crate::urging::flow::notices_for(&state, &audience, limit)?,
        None => Vec::new(),
    };
    Ok(Json(
        serde_json::json!({"count": notices.len(), "notices": notices}),
    ))
}

/// Body of `POST /api/v1/urge`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrgeBody {
    form: String,
    period: String,
    /// At a city: the units to urge; absent: every unit that still owes the report.
    units: Option<Vec<String>>,
    /// At a province or the nation: the child divisions to urge; absent:
    /// every child whose units still owe the report.
    divisions: Option<Vec<String>>,
    /// The bureau's words; absent: the standard text.
    message: Option<String>,
}

/// # `POST /api/v1/urge`
/// Bureau users urge (催报), recorded in the audit log. At a city (a county
/// user: its county) the units get a notice; at a province or the nation
/// each child bureau urged gets a reminder over the federation.
async fn urge(
    State(state): State<Arc<NodeState>>,
    BureauUser(caller): BureauUser,
    ApiJson(body): ApiJson<UrgeBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (units, divisions) = urge_as(
        &state,
        &caller,
        &body.form,
        &body.period,
        body.units,
        body.divisions,
        body.message.as_deref(),
        Timestamp::now_from_system_clock(),
    )
    .await?;
    Ok(Json(serde_json::json!({
        "count": units.len() + divisions.len(), "units": units, "divisions": divisions,
    })))
}

/// Urging as a bureau user does it, from the API or the progress page: at a
/// city the units (a county user: of its county; none listed: every unit that
/// still owes), above it the child bureaus (none listed: the late ones).
/// Answers the units and the divisions urged.
#[allow(clippy::too_many_arguments)] // why: who, what report, whom, in which words, when
pub async fn urge_as(
    state: &NodeState,
    caller: &super::auth::SignedIn,
    form: &str,
    period: &str,
    units: Option<Vec<String>>,
    divisions: Option<Vec<String>>,
    message: Option<&str>,
    now: Timestamp,
) -> Result<(Vec<String>, Vec<String>), ApiError> {
    let at_a_city = state.config.level() == zhibao_federation_protocol::NodeLevel::City;
    if at_a_city && divisions.is_some() {
        return Err(UrgeError::NotThisLevel(
            "市级节点催报本市单位（units），下级局由省级、国家级催报 / a city bureau urges its units; bureaus below are urged by a province or the nation",
        )
        .into());
    }
    if !at_a_city && units.is_some() {
        return Err(UrgeError::NotThisLevel(
            "单位由所在市级局催报；省级、国家级催报下级局（divisions） / units are urged by their city bureau; a province or the nation urges the bureaus below (divisions)",
        )
        .into());
    }
    // Form and period must be ones this node reports.
    crate::report::service::checked_key(state, "-", form, period)?;
    if message.is_some_and(|text| text.chars().count() > MOST_REMINDER_TEXT_CHARS) {
        return Err(ApiError::BadRequest {
            field: Some("message".to_string()),
            message: "message：不超过 500 字 / message: at most 500 characters".to_string(),
        });
    }
    let by = caller.account.username.as_str();
    if !at_a_city {
        let urged =
            crate::urging::flow::urge_bureaus(state, form, period, divisions, message, by, now)
                .await?;
        return Ok((Vec::new(), urged.iter().map(ToString::to_string).collect()));
    }
    let within = match &caller.account.role {
        Role::County { county } => *county,
        Role::Admin
        | Role::Reviewer
        | Role::Enterprise { .. }
        | Role::Group { .. }
        | Role::Supervision { .. } => state.config.division,
    };
    let urged =
        crate::urging::flow::urge_units(state, form, period, units, message, within, by, now)
            .await?;
    Ok((urged, Vec::new()))
}
