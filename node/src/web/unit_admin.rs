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
    let entry = change_unit_of(
        &state,
        &code,
        &body.period,
        body.change,
        &body.why,
        &admin.account.username,
    )
    .await?;
    Ok(Json(serde_json::json!({
        "unit": entry.unit.code.as_str(), "period": entry.period.to_string(),
        "status": entry.unit.status, "classes": entry.unit.classes,
        "key_industry": entry.unit.key_industry, "history": entry.history,
    })))
}

/// One registry change by a city admin, as `POST /api/v1/units/{code}/changes`
/// and the unit page make it: a city node only, a unit of its registry, the
/// registry's refusal as `REG003`.
pub async fn change_unit_of(
    state: &NodeState,
    code: &str,
    period: &str,
    change: crate::registry::change::UnitChange,
    why: &str,
    by: &str,
) -> Result<crate::registry::RegistryEntry, ApiError> {
    if state.config.level() != zhibao_federation_protocol::NodeLevel::City {
        return Err(ApiError::UnitCertificate(
            crate::unit_certs::UnitCertError::NotACity,
        ));
    }
    let code = in_registry(state, code)?;
    let period = PeriodId::parse(period).map_err(|error| ApiError::BadRequest {
        field: Some("period".to_string()),
        message: format!("period：{error}"),
    })?;
    crate::registry::flow::change_unit(state, period, &code, change, why, by, now())
        .await
        .map_err(|error| match error {
            crate::registry::flow::RegistryFlowError::Registry(
                RegistryStoreError::NoSuchEntry { .. },
            ) => ApiError::NotFound {
                path: format!("/api/v1/units/{}?period={period}", code.as_str()),
            },
            crate::registry::flow::RegistryFlowError::Registry(RegistryStoreError::Change(
                refused,
            )) => ApiError::RegistryChange(refused),
            other => ApiError::from(other),
        })
}

/// Revokes every certificate of a unit in force, as the API and the unit page
/// do; nothing to revoke is a refusal.
pub async fn revoke_certificates_of(
    state: &NodeState,
    code: &str,
    by: &str,
) -> Result<Vec<u64>, ApiError> {
    let code = in_registry(state, code)?;
    if state.unit_certificates.is_none() {
        return Err(crate::unit_certs::UnitCertError::NotACity.into());
    }
    let revoked = crate::unit_certs::revoke_all_of_unit(state, code.as_str(), by, now()).await?;
    if revoked.is_empty() {
        return Err(
            crate::unit_certs::UnitCertError::NothingToRevoke(code.as_str().to_string()).into(),
        );
    }
    Ok(revoked)
}

/// Issues a unit a login certificate, as the API and the unit page do.
pub async fn issue_certificate_of(
    state: &NodeState,
    code: &str,
    by: &str,
) -> Result<crate::unit_certs::IssuedUnitCertificate, ApiError> {
    let code = in_registry(state, code)?;
    Ok(crate::unit_certs::issue(state, code.as_str(), by, now()).await?)
}

/// # `POST /api/v1/units/{code}/certificate`
/// City admins: a new login certificate for the unit; the private key is in
/// this answer only (hand it over on a USB key), never stored.
async fn issue_certificate(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    Path(code): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let issued = issue_certificate_of(&state, &code, &admin.account.username).await?;
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
    let revoked = revoke_certificates_of(&state, &code, &admin.account.username).await?;
    Ok(Json(serde_json::json!({"unit": code, "revoked": revoked})))
}

/// The county routes (R34).
pub fn county_routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route(
            "/api/v1/registry/proposals",
            get(list_proposals).post(propose),
        )
        .route(
            "/api/v1/registry/proposals/{id}/confirm",
            post(confirm_proposal),
        )
        .route(
            "/api/v1/registry/proposals/{id}/reject",
            post(reject_proposal),
        )
}

/// Body of `POST /api/v1/registry/proposals`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalsBody {
    /// The period, e.g. `2026Q3`.
    period: String,
    /// The changes.
    changes: Vec<crate::registry::flow::ProposedChange>,
}

/// # `POST /api/v1/registry/proposals`
/// County users: this quarter's changes of the key-industry list and of the
/// suspended units of the county, all accepted or none; the city confirms.
async fn propose(
    State(state): State<Arc<NodeState>>,
    super::auth::CountyUser {
        signed_in: caller,
        county,
    }: super::auth::CountyUser,
    ApiJson(body): ApiJson<ProposalsBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if body.changes.is_empty() || body.changes.len() > 1000 {
        return Err(ApiError::BadRequest {
            field: Some("changes".to_string()),
            message: "changes：1 到 1000 项 / changes: 1 to 1000 items".to_string(),
        });
    }
    let period = PeriodId::parse(&body.period).map_err(|error| ApiError::BadRequest {
        field: Some("period".to_string()),
        message: format!("period：{error}"),
    })?;
    let proposals = crate::registry::flow::propose_changes(
        &state,
        county,
        period,
        body.changes,
        &caller.account.username,
        now(),
    )
    .await?;
    Ok(Json(
        serde_json::json!({"count": proposals.len(), "proposals": proposals}),
    ))
}

/// Query of `GET /api/v1/registry/proposals`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalsQuery {
    /// `true`: only those waiting for the city.
    pending: Option<bool>,
}

/// # `GET /api/v1/registry/proposals?pending=true`
/// A county user its county's proposals; city bureau users all of them.
async fn list_proposals(
    State(state): State<Arc<NodeState>>,
    BureauUser(caller): BureauUser,
    super::ApiQuery(query): super::ApiQuery<ProposalsQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let within = match &caller.account.role {
        crate::accounts::Role::County { county } => *county,
        crate::accounts::Role::Admin
        | crate::accounts::Role::Reviewer
        | crate::accounts::Role::Enterprise { .. }
        | crate::accounts::Role::Group { .. }
        | crate::accounts::Role::Supervision { .. } => state.config.division,
    };
    let proposals =
        crate::registry::flow::proposals_within(&state, within, query.pending.unwrap_or(false))?;
    Ok(Json(
        serde_json::json!({"count": proposals.len(), "proposals": proposals}),
    ))
}

/// Body of confirm and reject.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    note: Option<String>,
}

async fn decide(
    state: &NodeState,
    admin: &crate::web::auth::SignedIn,
    id: &str,
    confirm: bool,
    body: &[u8],
) -> Result<Json<serde_json::Value>, ApiError> {
    let body: DecisionBody = super::reports::optional_json(body)?;
    let decided = decide_proposal_as(
        state,
        id,
        confirm,
        body.note.as_deref().unwrap_or_default(),
        &admin.account.username,
    )
    .await?;
    Ok(Json(serde_json::json!({"proposal": decided})))
}

/// A city admin confirms or rejects a county proposal, as the API and the
/// proposals page do.
pub async fn decide_proposal_as(
    state: &NodeState,
    id: &str,
    confirm: bool,
    note: &str,
    by: &str,
) -> Result<crate::registry::county::CountyProposal, ApiError> {
    Ok(crate::registry::flow::decide_proposal(state, id, confirm, note, by, now()).await?)
}

/// # `POST /api/v1/registry/proposals/{id}/confirm`
/// City admins: the change is made (and travels up) and the proposal marked, together.
async fn confirm_proposal(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    decide(&state, &admin, &id, true, &body).await
}

/// # `POST /api/v1/registry/proposals/{id}/reject` `{note}`
/// City admins: rejected, with a note for the county.
async fn reject_proposal(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    decide(&state, &admin, &id, false, &body).await
}
