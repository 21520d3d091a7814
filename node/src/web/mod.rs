//! The web and API listener's router: `GET /healthz`, `GET /api/v1/node`,
//! and (as later issues land) the pages and the rest of `/api/v1`.
//!
//! Handlers are thin: extract, call one function, map the result.
//! [`app`] is a plain function so tests can drive it with `oneshot`.

pub mod accounts;
pub mod auth;
pub mod error;
pub mod export;
pub mod notices;
pub mod pages;
pub mod registry;
pub mod reports;
pub mod session;
pub mod standards;
pub mod totals;
pub mod unit_admin;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use crate::node::NodeState;
use error::ApiError;

/// The web listener's router.
pub fn app(state: Arc<NodeState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/node", get(node_description))
        .route("/api/v1/openapi.json", get(openapi_document))
        .route("/api/v1/federation/links", get(federation_links))
        .route("/api/v1/admin/backup", axum::routing::post(back_up))
        .merge(session::routes())
        .merge(accounts::routes())
        .merge(registry::routes())
        .merge(reports::routes())
        .merge(standards::routes())
        .merge(standards::admin_routes())
        .merge(totals::routes())
        .merge(notices::routes())
        .merge(unit_admin::routes())
        .merge(unit_admin::county_routes())
        .merge(pages::routes())
        .fallback(not_found)
        .with_state(state)
}

/// # `GET /healthz`
/// `ok` when the node can write and read back its store; 503 otherwise.
async fn healthz(State(state): State<Arc<NodeState>>) -> impl IntoResponse {
    match state.store.check_read_write().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(error) => {
            tracing::error!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}

/// The hand-written OpenAPI 3.1 description of every route of this router
/// (`tests/integration/openapi.rs` checks that it lists each one).
const OPENAPI_DOCUMENT: &str = include_str!("openapi.json");

/// # `GET /api/v1/openapi.json`
/// The OpenAPI 3.1 document of HTTP API v1; no login needed.
async fn openapi_document() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI_DOCUMENT,
    )
}

/// A peer as `/api/v1/node` shows it.
#[derive(Debug, serde::Serialize)]
struct PeerDescription {
    identity: String,
    level: String,
    division: String,
    name: String,
    url: String,
}

/// `/api/v1/node`'s answer.
#[derive(Debug, serde::Serialize)]
struct NodeDescription {
    name: String,
    level: String,
    division: String,
    division_name: String,
    identity: String,
    parent: Option<PeerDescription>,
    children: Vec<PeerDescription>,
    protocol_version: u32,
    software_version: &'static str,
}

fn describe_peer(peer: &crate::config::PeerConfig) -> PeerDescription {
    let division_name = crate::division::DivisionCode::parse(peer.identity.division())
        .map(|code| code.name_zh().to_string())
        .unwrap_or_default();
    PeerDescription {
        identity: peer.identity.to_uri(),
        level: peer.identity.level().to_string(),
        division: peer.identity.division().to_string(),
        name: division_name,
        url: peer.url.clone(),
    }
}

/// # `GET /api/v1/node`
/// Who this node is: level, division, parent, children, protocol version.
async fn node_description(State(state): State<Arc<NodeState>>) -> Json<NodeDescription> {
    let config = &state.config;
    Json(NodeDescription {
        name: config.name.clone(),
        level: config.level().to_string(),
        division: config.division.to_string(),
        division_name: config.division.name_zh().to_string(),
        identity: config.identity.to_uri(),
        parent: config.parent.as_ref().map(describe_peer),
        children: config.children.iter().map(describe_peer).collect(),
        protocol_version: zhibao_federation_protocol::PROTOCOL_VERSION,
        software_version: env!("CARGO_PKG_VERSION"),
    })
}

/// # `GET /api/v1/federation/links`
/// For each peer: last contact, queued messages, oldest undelivered age, last error.
async fn federation_links(
    State(state): State<Arc<NodeState>>,
    _admin: auth::Admin,
) -> Result<Json<Vec<crate::federation::LinkView>>, ApiError> {
    let now = crate::clock::Timestamp::now_from_system_clock();
    Ok(Json(crate::federation::link_views(&state, now)?))
}

/// JSON body extractor whose refusals are [`ApiError`]s (JSON, stable code,
/// the field and the problem) instead of axum's plain-text rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError::BadRequest {
                field: None,
                message: format!(
                    "请求内容无法读取 / the request body cannot be read: {}",
                    rejection.body_text()
                ),
            }),
        }
    }
}

/// Raw body extractor (uploaded files) whose refusals are [`ApiError`]s: a
/// body over the route's limit is 413 GEN413 in the error envelope, not
/// axum's plain text, and is refused before it is read in full.
#[derive(Debug, Clone, Default)]
pub struct ApiBytes(pub axum::body::Bytes);

impl<S> axum::extract::FromRequest<S> for ApiBytes
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(ApiBytes(bytes)),
            Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::BodyTooLarge)
            }
            Err(rejection) => Err(ApiError::BadRequest {
                field: None,
                message: format!(
                    "请求内容无法读取 / the request body cannot be read: {}",
                    rejection.body_text()
                ),
            }),
        }
    }
}

/// # `POST /api/v1/admin/backup`
/// Admins: writes a backup of the running node's store into `backups/` beside
/// its data folder (the nightly job does the same) and answers where.
async fn back_up(
    State(state): State<Arc<NodeState>>,
    _admin: auth::Admin,
) -> Result<Json<crate::store::backup::BackupSummary>, ApiError> {
    let now = crate::clock::Timestamp::now_from_system_clock();
    let worker = state.clone();
    let summary = tokio::task::spawn_blocking(move || crate::jobs::back_up_now(&worker, now))
        .await
        .map_err(|error| ApiError::Internal(format!("backup task: {error}")))??;
    Ok(Json(summary))
}

/// Query-string extractor whose refusals are [`ApiError`]s (JSON, stable
/// code GEN400), like [`ApiJson`] for bodies: an unknown or mistyped query
/// parameter gets the error envelope of the contract, not plain text.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::BadRequest {
                field: None,
                message: format!(
                    "查询参数有误 / the query string cannot be read: {}",
                    rejection.body_text()
                ),
            }),
        }
    }
}

/// The router's fallback: JSON `GEN404` under `/api/`, a friendly page in
/// the user's language anywhere else.
async fn not_found(lang: pages::i18n::Lang, uri: Uri) -> axum::response::Response {
    let path = uri.path();
    if pages::is_api_path(path) {
        ApiError::NotFound {
            path: path.to_string(),
        }
        .into_response()
    } else {
        pages::not_found_page(lang, path)
    }
}
