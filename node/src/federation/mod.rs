//! Federation: what crosses links between nodes, and the listener other nodes call.
//!
//! - `store`: the outbox, inbox and link trees;
//! - `outbound`: queue a message inside the transaction that caused it; what is pending; receipts;
//! - `inbound`: check, authorize, apply once, record (plain functions over the store);
//! - `sender`: the per-peer task that pushes the outbox over mutual TLS;
//! - this file: the node's federation state, the [`PeerNode`] extractor and the routes.
//!
//! Every handler here takes a [`PeerNode`], which exists only for a request
//! that arrived with a verified client certificate of a configured parent or
//! child, speaking our protocol version. A browser session cannot reach these
//! routes: they are on another listener, and the extractor would refuse it.

pub mod inbound;
pub mod outbound;
pub mod sender;
pub mod store;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::Notify;
use zhibao_certs::{CertificateChecker, NodeSigner};
use zhibao_federation_protocol::messages::{Delivery, DeliveryReceipt};
use zhibao_federation_protocol::{Hello, NodeIdentity, PROTOCOL_VERSION, PROTOCOL_VERSION_HEADER};

use crate::clock::Timestamp;
use crate::config::NodeConfig;
use crate::node::NodeState;
use crate::store::{Store, StoreError};
use crate::tls::{TlsMaterial, TlsSetupError, VerifiedPeer};
use crate::web::error::ApiError;
use outbound::Sealer;
use store::FederationTrees;

/// A delivery larger than this is refused before it is read (200 envelopes of ordinary batches fit easily).
const MAX_DELIVERY_BYTES: usize = 32 * 1024 * 1024;

/// The node's federation machinery.
#[derive(Debug)]
pub struct FederationState {
    /// The federation trees.
    pub trees: FederationTrees,
    /// Our identity and signing key.
    pub sealer: Sealer,
    checker: RwLock<CertificateChecker>,
    client: RwLock<reqwest::Client>,
    wakeups: HashMap<NodeIdentity, Arc<Notify>>,
    /// One delivery at a time per link: a retry that overtakes a slow
    /// delivery waits for it instead of racing it (correctness does not
    /// depend on this; see `inbound::apply`).
    receiving: HashMap<NodeIdentity, Arc<tokio::sync::Mutex<()>>>,
}

fn certs_error(field: &'static str) -> impl FnOnce(zhibao_certs::CertsError) -> TlsSetupError {
    move |source| TlsSetupError::Certs { field, source }
}

/// The HTTPS client a node calls its peers with: only the federation CA is
/// trusted, the node's own certificate is presented, and the CRL is checked
/// on the server's certificate too.
fn peer_client(material: &TlsMaterial) -> Result<reqwest::Client, TlsSetupError> {
    let as_certs_error = |error: reqwest::Error| TlsSetupError::Certs {
        field: "tls.cert",
        source: zhibao_certs::CertsError::Generate(format!("HTTPS client: {error}")),
    };
    let ca = reqwest::Certificate::from_pem(material.ca_pem.as_bytes()).map_err(as_certs_error)?;
    let identity = reqwest::Identity::from_pem(
        format!("{}\n{}", material.cert_pem, material.key_pem).as_bytes(),
    )
    .map_err(as_certs_error)?;
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([ca])
        .identity(identity)
        .https_only(true)
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(60));
    if let Some(crl) = &material.crl_pem {
        let crls = reqwest::tls::CertificateRevocationList::from_pem_bundle(crl.as_bytes())
            .map_err(as_certs_error)?;
        builder = builder.tls_crls_only(crls);
    }
    builder.build().map_err(as_certs_error)
}

fn certificate_checker(material: &TlsMaterial) -> Result<CertificateChecker, TlsSetupError> {
    let crls = match &material.crl_pem {
        Some(pem) => zhibao_certs::parse_crls_pem(pem).map_err(certs_error("tls.crl"))?,
        None => Vec::new(),
    };
    CertificateChecker::new(&material.ca_pem, crls).map_err(certs_error("tls.ca_cert"))
}

impl FederationState {
    /// Sets up the federation side of a node.
    pub fn new(
        config: &NodeConfig,
        material: &TlsMaterial,
        store: &Store,
    ) -> Result<FederationState, FederationSetupError> {
        let signer = NodeSigner::new(&material.cert_pem, &material.key_pem)
            .map_err(certs_error("tls.key"))?;
        let wakeups = config
            .parent
            .iter()
            .chain(config.children.iter())
            .map(|peer| (peer.identity.clone(), Arc::new(Notify::new())))
            .collect();
        let receiving = config
            .parent
            .iter()
            .chain(config.children.iter())
            .map(|peer| (peer.identity.clone(), Arc::new(tokio::sync::Mutex::new(()))))
            .collect();
        Ok(FederationState {
            receiving,
            trees: FederationTrees::open(store)?,
            sealer: Sealer {
                identity: config.identity.clone(),
                signer,
            },
            checker: RwLock::new(certificate_checker(material)?),
            client: RwLock::new(peer_client(material)?),
            wakeups,
        })
    }

    /// The HTTPS client for peers.
    pub fn client(&self) -> reqwest::Client {
        match self.client.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The certificate checker with the current CRL.
    pub fn checker(&self) -> CertificateChecker {
        match self.checker.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Applies new TLS material (a new CRL) to outgoing calls and signature checks.
    pub fn reload(&self, material: &TlsMaterial) -> Result<(), TlsSetupError> {
        let checker = certificate_checker(material)?;
        let client = peer_client(material)?;
        match self.checker.write() {
            Ok(mut guard) => *guard = checker,
            Err(poisoned) => *poisoned.into_inner() = checker,
        }
        match self.client.write() {
            Ok(mut guard) => *guard = client,
            Err(poisoned) => *poisoned.into_inner() = client,
        }
        Ok(())
    }

    /// Wakes the sender task of `peer` (call after committing a queued message).
    pub fn wake(&self, peer: &NodeIdentity) {
        if let Some(wakeup) = self.wakeups.get(peer) {
            wakeup.notify_one();
        }
    }

    /// The wake-up handle of a peer's sender task.
    pub fn wakeup_of(&self, peer: &NodeIdentity) -> Option<Arc<Notify>> {
        self.wakeups.get(peer).cloned()
    }
}

/// Why the federation side could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FederationSetupError {
    /// Certificates.
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    /// Store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The federation listener's router.
pub fn routes(state: Arc<NodeState>) -> Router {
    Router::new()
        .route("/federation/v1/hello", get(hello))
        .route("/federation/v1/messages", post(receive_delivery))
        .layer(DefaultBodyLimit::max(MAX_DELIVERY_BYTES))
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

/// # `POST /federation/v1/messages`
/// Applies a peer's envelopes in order; answers once the result is on disk.
async fn receive_delivery(
    State(state): State<Arc<NodeState>>,
    peer: PeerNode,
    Json(delivery): Json<Delivery>,
) -> Result<Json<DeliveryReceipt>, ApiError> {
    let standards_changed = delivery.envelopes.iter().any(|envelope| {
        matches!(
            envelope.kind,
            zhibao_federation_protocol::MessageKind::MetadataRelease
                | zhibao_federation_protocol::MessageKind::PeriodRelease
        )
    });
    let link_lock = state.federation.receiving.get(&peer.identity).cloned();
    let _one_delivery_at_a_time = match &link_lock {
        Some(lock) => Some(lock.lock().await),
        None => None,
    };
    let now = Timestamp::now_from_system_clock();
    let checker = state.federation.checker();
    let worker_state = state.clone();
    // why: applying signs relays and checks signatures (CPU) and writes the store (blocking I/O)
    let receipt = tokio::task::spawn_blocking(move || {
        inbound::Inbound {
            config: &worker_state.config,
            store: &worker_state.store,
            trees: &worker_state.federation.trees,
            sealer: &worker_state.federation.sealer,
            checker: &checker,
            reports: &worker_state.reports,
            review: &worker_state.review,
            audit: &worker_state.audit,
            registry: &worker_state.registry,
            metadata: &worker_state.metadata,
            progress: &worker_state.progress,
            notices: &worker_state.notices,
        }
        .accept_delivery(&peer.identity, &delivery, now)
    })
    .await
    .map_err(|join_error| ApiError::Internal(format!("delivery task failed: {join_error}")))??;
    // Nothing is acknowledged before it is on disk.
    state.store.commit_durable().await?;
    if standards_changed && let Err(error) = state.reload_standards(now) {
        tracing::error!(%error, "a received release could not be put in force; the previous standards stay");
    }
    if let Some(parent) = &state.config.parent {
        state.federation.wake(&parent.identity);
    }
    for child in &state.config.children {
        state.federation.wake(&child.identity);
    }
    Ok(Json(receipt))
}

/// Queues messages to one peer in one transaction, makes them durable, and
/// wakes the sender. For changes that have no other state to commit with
/// them; a domain change that causes a message calls [`outbound::enqueue`]
/// inside its own transaction instead.
pub async fn queue_messages(
    state: &NodeState,
    messages: &[outbound::OutgoingMessage],
    now: Timestamp,
) -> Result<(), StoreError> {
    let trees = &state.federation.trees;
    let [outbox, next_sequence] = trees.enqueue_handles();
    state.store.transaction(&[outbox, next_sequence], |tx| {
        for message in messages {
            outbound::enqueue(tx, trees, &state.federation.sealer, message, now)?;
        }
        Ok::<(), crate::store::TxError<StoreError>>(())
    })?;
    state.store.commit_durable().await?;
    for message in messages {
        state.federation.wake(&message.to);
    }
    Ok(())
}

/// One link as the operator page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LinkView {
    /// The peer's identity.
    pub peer: String,
    /// `parent` or `child`.
    pub relation: &'static str,
    /// Its federation URL.
    pub url: String,
    /// Last successful exchange (ms since the epoch).
    pub last_contact_ms: Option<i64>,
    /// Messages waiting to be delivered.
    pub queued: usize,
    /// Age of the oldest undelivered message (ms).
    pub oldest_undelivered_age_ms: Option<i64>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it happened (ms).
    pub last_error_at_ms: Option<i64>,
    /// Messages delivered, in total.
    pub delivered_total: u64,
    /// Messages the peer refused for good, in total.
    pub refused_total: u64,
    /// Highest sequence received from the peer.
    pub received_through: u64,
}

/// The state of every link of this node.
pub fn link_views(state: &NodeState, now: Timestamp) -> Result<Vec<LinkView>, StoreError> {
    let trees = &state.federation.trees;
    let parents = state.config.parent.iter().map(|peer| ("parent", peer));
    let children = state.config.children.iter().map(|peer| ("child", peer));
    parents
        .chain(children)
        .map(|(relation, peer)| {
            let (queued, oldest) = outbound::queue_depth(trees, &peer.identity)?;
            let delivery = outbound::delivery_status(trees, &peer.identity)?;
            let received_through = trees
                .received_through
                .get(peer.identity.to_uri().as_bytes())?
                .unwrap_or_default()
                .0;
            Ok(LinkView {
                peer: peer.identity.to_uri(),
                relation,
                url: peer.url.clone(),
                last_contact_ms: delivery.last_contact_ms,
                queued,
                oldest_undelivered_age_ms: oldest.map(|queued_at| now.0.saturating_sub(queued_at)),
                last_error: delivery.last_error,
                last_error_at_ms: delivery.last_error_at_ms,
                delivered_total: delivery.delivered_total,
                refused_total: delivery.refused_total,
                received_through,
            })
        })
        .collect()
}
