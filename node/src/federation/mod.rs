//! The federation listener's router: what other nodes may call.
//!
//! Every handler here takes a [`PeerNode`], which exists only for a request
//! that arrived with a verified client certificate of a configured parent or
//! child, speaking our protocol version. A browser session cannot reach these
//! routes: they are on another listener, and the extractor would refuse it.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};
use zhibao_federation_protocol::{Hello, NodeIdentity, PROTOCOL_VERSION, PROTOCOL_VERSION_HEADER};

use crate::node::NodeState;
use crate::tls::VerifiedPeer;
use crate::web::error::ApiError;

/// The federation listener's router.
pub fn routes(state: Arc<NodeState>) -> Router {
    Router::new()
        .route("/federation/v1/hello", get(hello))
        .fallback(|uri: axum::http::Uri| async move {
            ApiError::NotFound {
                path: uri.path().to_string(),
            }
        })
        .with_state(state)
}

/// A configured peer node, as proven by its client certificate.
#[derive(Debug, Clone)]
pub struct PeerNode {
    /// Who it is.
    pub identity: NodeIdentity,
}

impl FromRequestParts<Arc<NodeState>> for PeerNode {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<NodeState>,
    ) -> Result<Self, Self::Rejection> {
        check_protocol_header(parts)?;
        let verified = parts
            .extensions
            .get::<VerifiedPeer>()
            .ok_or(ApiError::NoClientCertificate)?;
        let identity = verified
            .identity
            .clone()
            .ok_or(ApiError::PeerWithoutIdentity {
                serial: verified.serial,
            })?;
        if state.config.peer(&identity).is_none() {
            tracing::warn!(peer = %identity, serial = verified.serial, "refused a node that is not a configured peer");
            return Err(ApiError::PeerNotConfigured {
                identity: identity.to_uri(),
            });
        }
        Ok(PeerNode { identity })
    }
}

/// A request without the header is treated as our version (hello is also used
/// by operators with curl); a present header must match.
fn check_protocol_header(parts: &Parts) -> Result<(), ApiError> {
    let Some(value) = parts.headers.get(PROTOCOL_VERSION_HEADER) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or_default();
    let theirs: u32 = text
        .trim()
        .parse()
        .map_err(|_| ApiError::BadProtocolHeader(text.to_string()))?;
    zhibao_federation_protocol::check_protocol_version(theirs)?;
    Ok(())
}

/// # `GET /federation/v1/hello`
/// Tells a configured peer who we are and who its certificate says it is.
async fn hello(State(state): State<Arc<NodeState>>, peer: PeerNode) -> Json<Hello> {
    Json(Hello {
        protocol_version: PROTOCOL_VERSION,
        server: state.config.identity.clone(),
        caller: peer.identity,
    })
}
