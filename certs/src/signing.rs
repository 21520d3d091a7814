//! Signatures with node keys, and checking a certificate outside a TLS handshake.
//!
//! Federation envelopes are signed with the key the node's certificate
//! certifies, and carry that certificate; the receiver checks the certificate
//! exactly as its TLS listener would (chain to the CA, validity, CRL) and then
//! the signature. That is what lets a national node check a city's signature
//! inside a batch the province forwarded.

use std::sync::Arc;
use std::time::Duration;

use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, UnparsedPublicKey,
};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::{CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::details::certificate_details;
use crate::pem::{parse_certificates_pem, parse_private_key_pem};
use crate::{CertificateDetails, CertsError, UnixSeconds};

/// Signs bytes with a node's private key (ECDSA P-256, SHA-256, ASN.1 DER signature).
pub struct NodeSigner {
    key_pair: EcdsaKeyPair,
    random: SystemRandom,
    certificate_pem: String,
}

impl std::fmt::Debug for NodeSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("NodeSigner").finish_non_exhaustive()
    }
}

impl NodeSigner {
    /// A signer for the key in `key_pem` (PKCS#8), whose certificate is `certificate_pem`.
    pub fn new(certificate_pem: &str, key_pem: &str) -> Result<NodeSigner, CertsError> {
        let key = parse_private_key_pem(key_pem)?;
        let PrivateKeyDer::Pkcs8(pkcs8) = key else {
            return Err(CertsError::InvalidPem {
                what: "signing key",
                reason: "expected a PKCS#8 private key (BEGIN PRIVATE KEY)".to_string(),
            });
        };
        let random = SystemRandom::new();
        let key_pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            pkcs8.secret_pkcs8_der(),
            &random,
        )
        .map_err(|error| CertsError::InvalidPem {
            what: "signing key",
            reason: format!("not an ECDSA P-256 key: {error}"),
        })?;
        parse_certificates_pem(certificate_pem)?;
        Ok(NodeSigner {
            key_pair,
            random,
            certificate_pem: certificate_pem.to_string(),
        })
    }

    /// The certificate that certifies this key (PEM).
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// Signs `bytes`.
    pub fn sign(&self, bytes: &[u8]) -> Result<Vec<u8>, CertsError> {
        self.key_pair
            .sign(&self.random, bytes)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|_| CertsError::Generate("ECDSA signing failed".to_string()))
    }
}

/// Checks certificates of this federation outside a TLS handshake, with the
/// same verifier (chain, validity, ClientAuth, CRL) the federation listener uses.
#[derive(Debug, Clone)]
pub struct CertificateChecker {
    verifier: Arc<dyn ClientCertVerifier>,
}

impl CertificateChecker {
    /// A checker trusting only `ca_pem`, with these CRLs.
    pub fn new(
        ca_pem: &str,
        crls: Vec<CertificateRevocationListDer<'static>>,
    ) -> Result<CertificateChecker, CertsError> {
        let mut roots = rustls::RootCertStore::empty();
        for certificate in parse_certificates_pem(ca_pem)? {
            roots.add(certificate).map_err(|source| CertsError::Tls {
                what: "CA certificate",
                source,
            })?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .with_crls(crls)
            .build()
            .map_err(CertsError::ClientVerifier)?;
        Ok(CertificateChecker { verifier })
    }

    /// Checks that `certificate_pem` chains to the CA, is valid at `now` and is
    /// not revoked; returns what it says about itself.
    pub fn check(
        &self,
        certificate_pem: &str,
        now: UnixSeconds,
    ) -> Result<CertificateDetails, CertsError> {
        let chain = parse_certificates_pem(certificate_pem)?;
        let (leaf, intermediates) = chain.split_first().ok_or(CertsError::InvalidPem {
            what: "certificate",
            reason: "no certificate".to_string(),
        })?;
        let seconds = u64::try_from(now).unwrap_or(0);
        self.verifier
            .verify_client_cert(
                leaf,
                intermediates,
                UnixTime::since_unix_epoch(Duration::from_secs(seconds)),
            )
            .map_err(|source| CertsError::Tls {
                what: "certificate check",
                source,
            })?;
        certificate_details(leaf.as_ref())
    }
}

/// Checks that `signature` over `bytes` was made by the key of `certificate_pem`.
/// (Whether the certificate itself is trustworthy is [`CertificateChecker::check`]'s job.)
pub fn verify_signature(
    certificate_pem: &str,
    bytes: &[u8],
    signature: &[u8],
) -> Result<(), CertsError> {
    let chain = parse_certificates_pem(certificate_pem)?;
    let leaf = chain.first().ok_or(CertsError::InvalidPem {
        what: "certificate",
        reason: "no certificate".to_string(),
    })?;
    let (_, parsed) = X509Certificate::from_der(leaf.as_ref()).map_err(|error| {
        CertsError::InvalidCertificate {
            what: "signer certificate",
            reason: error.to_string(),
        }
    })?;
    let public_key = parsed.public_key().subject_public_key.data.to_vec();
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key)
        .verify(bytes, signature)
        .map_err(|_| CertsError::BadSignature)
}
