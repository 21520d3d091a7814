//! Notices and urging over HTTP: `GET /api/v1/notices` (the caller's notice
//! area: a unit's own, or its bureau's) and `POST /api/v1/urge` (催报).

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

/// The routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/api/v1/notices", get(notices))
        .route("/api/v1/urge", post(urge))
}

/// Who sees which notices: a unit its own; bureau users their node's.
pub fn audience_of(role: &Role) -> Audience {
    match role {
        Role::Enterprise { unit } => Audience::Unit(unit.clone()),
        Role::Admin | Role::Reviewer | Role::County { .. } => Audience::Bureau,
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
    let notices =
        crate::urging::flow::notices_for(&state, &audience_of(&caller.account.role), limit)?;
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
    /// The units to urge; absent: every unit that still owes the report.
    units: Option<Vec<String>>,
    /// The bureau's words; absent: the standard text.
    message: Option<String>,
}

/// # `POST /api/v1/urge`
/// City bureau users (a county user: its county) urge units; recorded.
async fn urge(
    State(state): State<Arc<NodeState>>,
    BureauUser(caller): BureauUser,
    ApiJson(body): ApiJson<UrgeBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if state.config.level() != zhibao_federation_protocol::NodeLevel::City {
        return Err(ApiError::Report(
            crate::report::service::ReportServiceError::WrongLevel(
                "units are urged by their city bureau",
            ),
        ));
    }
    // Form and period must be ones this node reports.
    crate::report::service::checked_key(&state, "-", &body.form, &body.period)?;
    if body
        .message
        .as_deref()
        .is_some_and(|text| text.chars().count() > 500)
    {
        return Err(ApiError::BadRequest {
            field: Some("message".to_string()),
            message: "message：不超过 500 字 / message: at most 500 characters".to_string(),
        });
    }
    let within = match &caller.account.role {
        Role::County { county } => *county,
        Role::Admin | Role::Reviewer | Role::Enterprise { .. } => state.config.division,
    };
    let urged = crate::urging::flow::urge_units(
        &state,
        &body.form,
        &body.period,
        body.units,
        body.message.as_deref(),
        within,
        &caller.account.username,
        Timestamp::now_from_system_clock(),
    )
    .await?;
    Ok(Json(
        serde_json::json!({"count": urged.len(), "units": urged}),
    ))
}
