//! A city admin's work on single units: registry changes (suspend with a
//! reason, resume, close, reclassify… R26, R29) and login certificates
//! (issue, list, revoke; R9, R17, R30). Closing a unit revokes its certificates.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::ApiJson;
use super::auth::{Admin, BureauUser};
use super::error::ApiError;
use crate::clock::Timestamp;
use crate::node::NodeState;
use crate::registry::store::RegistryStoreError;
use crate::registry::{PeriodId, UnitCode};

/// The routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/api/v1/units/{code}/changes", post(change_unit))
        .route(
            "/api/v1/units/{code}/certificate",
            post(issue_certificate).delete(revoke_certificates),
        )
        .route("/api/v1/units/{code}/certificates", get(list_certificates))
}

fn now() -> Timestamp {
    Timestamp::now_from_system_clock()
}

/// Body of `POST /api/v1/units/{code}/changes`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    /// The period whose registry entry changes, e.g. `2025`.
    period: String,
    /// The change: `{"change": "suspend", "reason": "seasonal_stop"}`, `{"change": "close"}`…
    change: crate::registry::change::UnitChange,
    /// Why (kept in the unit's history and the audit log).
    why: String,
}

fn in_registry(state: &NodeState, code: &str) -> Result<UnitCode, ApiError> {
    let not_found = || ApiError::NotFound {
        path: format!("/api/v1/units/{code}"),
    };
    let parsed = UnitCode::parse(code).map_err(|_| not_found())?;
    match state.registry.current_unit(&parsed)? {
        Some(_) => Ok(parsed),
        None => Err(not_found()),
    }
}

/// # `POST /api/v1/units/{code}/changes`
/// City admins: one change to the unit's entry of a period; travels up to
/// the province and the nation; closing revokes the unit's certificates.
async fn change_unit(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if state.config.level() != zhibao_federation_protocol::NodeLevel::City {
        return Err(ApiError::UnitCertificate(
            crate::unit_certs::UnitCertError::NotACity,
        ));
    }
    let code = in_registry(&state, &code)?;
    let period = PeriodId::parse(&body.period).map_err(|error| ApiError::BadRequest {
        field: Some("period".to_string()),
        message: format!("period：{error}"),
    })?;
    let entry = crate::registry::flow::change_unit(
        &state,
        period,
        &code,
        body.change,
        &body.why,
        &admin.account.username,
        now(),
    )
    .await
    .map_err(|error| match error {
        crate::registry::flow::RegistryFlowError::Registry(RegistryStoreError::NoSuchEntry {
            ..
        }) => ApiError::NotFound {
            path: format!("/api/v1/units/{}?period={}", code.as_str(), body.period),
        },
        crate::registry::flow::RegistryFlowError::Registry(RegistryStoreError::Change(refused)) => {
            ApiError::RegistryChange(refused)
        }
        other => ApiError::from(other),
    })?;
    Ok(Json(serde_json::json!({
        "unit": entry.unit.code.as_str(), "period": entry.period.to_string(),
        "status": entry.unit.status, "classes": entry.unit.classes,
        "key_industry": entry.unit.key_industry, "history": entry.history,
    })))
}

/// # `POST /api/v1/units/{code}/certificate`
/// City admins: a new login certificate for the unit; the private key is in
/// this answer only (hand it over on a USB key), never stored.
async fn issue_certificate(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    Path(code): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let code = in_registry(&state, &code)?;
    let issued =
        crate::unit_certs::issue(&state, code.as_str(), &admin.account.username, now()).await?;
    Ok(Json(serde_json::json!({
        "unit": issued.record.unit, "serial": issued.record.serial,
        "not_after_ms": issued.record.not_after_ms,
        "certificate_pem": issued.certificate_pem,
        "private_key_pem": issued.private_key_pem,
        "ca_pem": issued.ca_pem,
    })))
}

/// # `GET /api/v1/units/{code}/certificates`
/// Bureau users: the unit's certificates, issued and revoked.
async fn list_certificates(
    State(state): State<Arc<NodeState>>,
    BureauUser(_caller): BureauUser,
    Path(code): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let code = in_registry(&state, &code)?;
    let certificates = state
        .unit_certificates
        .as_ref()
        .ok_or(crate::unit_certs::UnitCertError::NotACity)?;
    let records = certificates.of_unit(code.as_str())?;
    Ok(Json(
        serde_json::json!({"unit": code.as_str(), "certificates": records}),
    ))
}

/// # `DELETE /api/v1/units/{code}/certificate`
/// City admins: revoke every certificate of the unit in force (a lost key).
async fn revoke_certificates(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    Path(code): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let code = in_registry(&state, &code)?;
    if state.unit_certificates.is_none() {
        return Err(crate::unit_certs::UnitCertError::NotACity.into());
    }
    let revoked = crate::unit_certs::revoke_all_of_unit(
        &state,
        code.as_str(),
        &admin.account.username,
        now(),
    )
    .await?;
    if revoked.is_empty() {
        return Err(
            crate::unit_certs::UnitCertError::NothingToRevoke(code.as_str().to_string()).into(),
        );
    }
    Ok(Json(
        serde_json::json!({"unit": code.as_str(), "revoked": revoked}),
    ))
}
