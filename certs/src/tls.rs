//! rustls server and client configurations for the federation's mutual TLS.
//!
//! Every config carries its own ring provider, so it works whether or not the process
//! installed a default provider.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::CertificateRevocationListDer;

use crate::CertsError;
use crate::pem::{parse_certificates_pem, parse_private_key_pem};

/// Whether and how a TLS server asks its clients for a certificate.
#[derive(Debug, Clone)]
pub enum ClientAuthPolicy {
    /// Web listener: never asks for a client certificate (no browser certificate picker).
    None,
    /// Federation listener: a certificate issued by the CA is required and checked
    /// against these CRLs (an empty list means nothing is revoked).
    Required {
        /// CRLs signed by the CA, e.g. from [`crate::parse_crls_pem`].
        crls: Vec<CertificateRevocationListDer<'static>>,
    },
}

/// A server config presenting `cert_chain_pem` + `key_pem`, offering ALPN `h2` and `http/1.1`.
///
/// With [`ClientAuthPolicy::Required`], clients must present a certificate chaining to
/// `ca_pem` with EKU ClientAuth, valid now and not revoked by `crls`. With
/// [`ClientAuthPolicy::None`], `ca_pem` is not used.
pub fn server_config(
    ca_pem: &str,
    cert_chain_pem: &str,
    key_pem: &str,
    client_auth: ClientAuthPolicy,
) -> Result<ServerConfig, CertsError> {
    let provider = ring_provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls_error("protocol versions"))?;
    let builder = match client_auth {
        // SECURITY: no client authentication at all; only for the web listener, whose
        // users log in at the application layer. Never use it for federation traffic.
        ClientAuthPolicy::None => builder.with_no_client_auth(),
        ClientAuthPolicy::Required { crls } => {
            let verifier = required_client_verifier(ca_pem, crls, provider)?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let chain = parse_certificates_pem(cert_chain_pem)?;
    let key = parse_private_key_pem(key_pem)?;
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(tls_error("server certificate and key"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A client config that trusts only `ca_pem` and, if given, presents `(cert PEM, key PEM)`.
///
/// No ALPN protocols are set; an HTTP client sets its own.
pub fn client_config(
    ca_pem: &str,
    identity: Option<(&str, &str)>,
) -> Result<ClientConfig, CertsError> {
    let builder = ClientConfig::builder_with_provider(ring_provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_error("protocol versions"))?
        .with_root_certificates(root_store(ca_pem)?);
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((cert_pem, key_pem)) => {
            let chain = parse_certificates_pem(cert_pem)?;
            let key = parse_private_key_pem(key_pem)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(tls_error("client certificate and key"))
        }
    }
}

/// The client verifier of the federation listener.
///
/// Revocation uses the webpki defaults on purpose: the whole chain is checked (with a
/// single root that means the leaf), and a certificate whose status no CRL can tell is
/// refused, since every leaf is issued by the one CA whose CRL we hold. Without CRLs no
/// revocation check happens at all, so no loosening is needed for an empty list.
/// Expired certificates and certificates without EKU ClientAuth are refused by webpki.
fn required_client_verifier(
    ca_pem: &str,
    crls: Vec<CertificateRevocationListDer<'static>>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, CertsError> {
    // never `allow_unauthenticated()` here: the federation listener's whole point is that
    // every peer proves its identity.
    Ok(
        WebPkiClientVerifier::builder_with_provider(Arc::new(root_store(ca_pem)?), provider)
            .with_crls(crls)
            .build()?,
    )
}

/// A root store holding exactly the certificates of `ca_pem` (no system roots).
fn root_store(ca_pem: &str) -> Result<RootCertStore, CertsError> {
    let mut roots = RootCertStore::empty();
    for cert in parse_certificates_pem(ca_pem)? {
        roots.add(cert).map_err(tls_error("CA certificate"))?;
    }
    Ok(roots)
}

fn ring_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(what: &'static str) -> impl Fn(rustls::Error) -> CertsError {
    move |source| CertsError::Tls { what, source }
}
