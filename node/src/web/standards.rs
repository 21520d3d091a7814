//! The standards over HTTP: forms and their effective indicators, periods and
//! windows, and the effective audit rules with their owning level.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
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
    Json(serde_json::json!({
        "releases": state.standards.metadata.releases,
        "forms": state.standards.metadata.forms,
    }))
}

/// # `GET /api/v1/forms/{form}`
/// One form.
async fn one_form(
    State(state): State<Arc<NodeState>>,
    _caller: Caller,
    Path(form): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let not_found = || ApiError::NotFound {
        path: format!("/api/v1/forms/{form}"),
    };
    let code = FormCode::parse(&form).map_err(|_| not_found())?;
    let definition = state.standards.metadata.form(&code).ok_or_else(not_found)?;
    Ok(Json(serde_json::to_value(definition).unwrap_or_default()))
}

/// # `GET /api/v1/periods`
/// The periods being reported and the windows of every stage and level.
async fn periods(State(state): State<Arc<NodeState>>, _caller: Caller) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "annual": state.standards.annual_period.to_string(),
        "quarterly": state.standards.quarterly_period.to_string(),
        "calendar": state.standards.calendar,
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
    Query(query): Query<RulesQuery>,
) -> Json<serde_json::Value> {
    let rules: Vec<_> = state
        .standards
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
