//! The TLS side of both listeners: configs, the accept loop, and the peer
//! identity read from a verified client certificate.
//!
//! SECURITY: this is the one file where TLS is set up. The web listener never
//! asks for a client certificate (people log in with a password); the
//! federation listener requires one chaining to the federation CA, valid now
//! and not on the CRL (`zhibao_certs::ClientAuthPolicy::Required`). The
//! accept loop reads the verified certificate once per connection and
//! attaches a [`VerifiedPeer`] to every request on it; handlers never look
//! at TLS themselves.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use zhibao_certs::ClientAuthPolicy;
use zhibao_federation_protocol::NodeIdentity;

use crate::config::TlsFiles;

/// A handshake that has not finished after this long is dropped (slow-loris guard).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A file could not be read.
    #[error("{field}: cannot read {path}: {source}")]
    Read {
        /// The config field.
        field: &'static str,
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A file was read but is not usable.
    #[error("{field}: {source}")]
    Certs {
        /// The config field.
        field: &'static str,
        /// The cause.
        source: zhibao_certs::CertsError,
    },
}

/// The PEM contents a node's TLS is made from.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    /// Federation CA certificate.
    pub ca_pem: String,
    /// This node's certificate.
    pub cert_pem: String,
    /// This node's key.
    pub key_pem: String,
    /// The revocation list, if any.
    pub crl_pem: Option<String>,
}

fn read_field(field: &'static str, path: &std::path::Path) -> Result<String, TlsSetupError> {
    std::fs::read_to_string(path).map_err(|source| TlsSetupError::Read {
        field,
        path: path.display().to_string(),
        source,
    })
}

impl TlsMaterial {
    /// Reads the files named by the config.
    pub fn read(files: &TlsFiles) -> Result<TlsMaterial, TlsSetupError> {
        Ok(TlsMaterial {
            ca_pem: read_field("tls.ca_cert", &files.ca_cert)?,
            cert_pem: read_field("tls.cert", &files.cert)?,
            key_pem: read_field("tls.key", &files.key)?,
            crl_pem: files
                .crl
                .as_ref()
                .map(|path| read_field("tls.crl", path))
                .transpose()?,
        })
    }

    /// The identity in this node's own certificate.
    pub fn own_identity(&self) -> Result<Option<NodeIdentity>, TlsSetupError> {
        let details =
            zhibao_certs::certificate_details_from_pem(&self.cert_pem).map_err(|source| {
                TlsSetupError::Certs {
                    field: "tls.cert",
                    source,
                }
            })?;
        Ok(identity_from_san_uris(&details.san_uris))
    }

    /// Server config for the web listener: no client certificate requested.
    pub fn web_server_config(&self) -> Result<rustls::ServerConfig, TlsSetupError> {
        zhibao_certs::server_config(
            &self.ca_pem,
            &self.cert_pem,
            &self.key_pem,
            ClientAuthPolicy::None,
        )
        .map_err(|source| TlsSetupError::Certs {
            field: "tls.cert",
            source,
        })
    }

    /// Server config for the federation listener: client certificate of our CA required, CRL checked.
    pub fn federation_server_config(&self) -> Result<rustls::ServerConfig, TlsSetupError> {
        let crls = match &self.crl_pem {
            Some(pem) => {
                zhibao_certs::parse_crls_pem(pem).map_err(|source| TlsSetupError::Certs {
                    field: "tls.crl",
                    source,
                })?
            }
            None => Vec::new(),
        };
        zhibao_certs::server_config(
            &self.ca_pem,
            &self.cert_pem,
            &self.key_pem,
            ClientAuthPolicy::Required { crls },
        )
        .map_err(|source| TlsSetupError::Certs {
            field: "tls.cert",
            source,
        })
    }
}

/// The first `zhibao://node/...` SAN URI of a certificate, as an identity.
pub fn identity_from_san_uris(san_uris: &[String]) -> Option<NodeIdentity> {
    san_uris
        .iter()
        .find_map(|uri| NodeIdentity::from_uri(uri).ok())
}

/// The verified client certificate of a federation connection, attached to
/// each of its requests by the accept loop.
#[derive(Debug, Clone)]
pub struct VerifiedPeer {
    /// The node identity its certificate carries, if it carries one.
    pub identity: Option<NodeIdentity>,
    /// The certificate's serial number.
    pub serial: u64,
    /// The certificate's common name.
    pub common_name: Option<String>,
}

/// A server config that can be replaced while the node runs (a new CRL).
#[derive(Debug, Clone)]
pub struct SwappableServerConfig {
    current: Arc<RwLock<Arc<rustls::ServerConfig>>>,
}

impl SwappableServerConfig {
    /// Wraps a config.
    pub fn new(config: rustls::ServerConfig) -> SwappableServerConfig {
        SwappableServerConfig {
            current: Arc::new(RwLock::new(Arc::new(config))),
        }
    }

    /// The config new connections use.
    pub fn current(&self) -> Arc<rustls::ServerConfig> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the config for connections accepted from now on.
    pub fn replace(&self, config: rustls::ServerConfig) {
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(config);
    }
}

/// Whether the accept loop reads the client certificate into each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerCertificates {
    /// Web listener: there are none.
    Ignore,
    /// Federation listener: attach a [`VerifiedPeer`].
    Attach,
}

/// Serves `router` over TLS on `listener` until `shutdown` turns true, then
/// lets open connections finish their current request.
pub async fn serve(
    listener: TcpListener,
    tls: SwappableServerConfig,
    router: Router,
    peer_certificates: PeerCertificates,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let (tcp, remote) = match accepted {
            Ok(connection) => connection,
            Err(error) => {
                // e.g. too many open files: back off briefly instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = TlsAcceptor::from(tls.current());
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls_stream =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => {
                        tracing::info!(%remote, %error, "TLS handshake refused");
                        return;
                    }
                    Err(_) => {
                        tracing::info!(%remote, "TLS handshake timed out");
                        return;
                    }
                };
            let peer = match peer_certificates {
                PeerCertificates::Ignore => None,
                PeerCertificates::Attach => {
                    verified_peer(tls_stream.get_ref().1.peer_certificates())
                }
            };
            let service =
                router.map_request(move |request: hyper::Request<hyper::body::Incoming>| {
                    let mut request = request.map(axum::body::Body::new);
                    if let Some(peer) = &peer {
                        request.extensions_mut().insert(peer.clone());
                    }
                    request
                });
            let connection = ConnectionBuilder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(
                    TokioIo::new(tls_stream),
                    TowerToHyperService::new(service),
                )
                .into_owned();
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%remote, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Give in-flight requests a bounded time to finish.
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}

fn verified_peer(
    certificates: Option<&[rustls_pki_types::CertificateDer<'static>]>,
) -> Option<VerifiedPeer> {
    let leaf = certificates?.first()?;
    match zhibao_certs::certificate_details(leaf.as_ref()) {
        Ok(details) => Some(VerifiedPeer {
            identity: identity_from_san_uris(&details.san_uris),
            serial: details.serial,
            common_name: details.common_name,
        }),
        Err(error) => {
            tracing::warn!(%error, "verified client certificate could not be read");
            None
        }
    }
}
