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
    /// Chain, validity and CRL: for "is this certificate good now?".
    verifier: Arc<dyn ClientCertVerifier>,
    /// Chain and validity only: for "was it good when it signed?" (revocation dates checked by hand).
    verifier_without_crls: Arc<dyn ClientCertVerifier>,
    /// (serial, revoked at) from the CRLs.
    revoked: Vec<(u64, UnixSeconds)>,
}

fn verifier(
    roots: &Arc<rustls::RootCertStore>,
    crls: Vec<CertificateRevocationListDer<'static>>,
) -> Result<Arc<dyn ClientCertVerifier>, CertsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    WebPkiClientVerifier::builder_with_provider(roots.clone(), provider)
        .with_crls(crls)
        .build()
        .map_err(CertsError::ClientVerifier)
}

/// (serial, revocation time) of every entry of the CRLs.
fn revoked_entries(
    crls: &[CertificateRevocationListDer<'static>],
) -> Result<Vec<(u64, UnixSeconds)>, CertsError> {
    let mut revoked = Vec::new();
    for crl in crls {
        let (_, parsed) =
            x509_parser::parse_x509_crl(crl.as_ref()).map_err(|error| CertsError::InvalidPem {
                what: "revocation list",
                reason: error.to_string(),
            })?;
        for entry in parsed.iter_revoked_certificates() {
            revoked.push((
                crate::details::serial_u64(entry.raw_serial())?,
                entry.revocation_date.timestamp(),
            ));
        }
    }
    Ok(revoked)
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
        let roots = Arc::new(roots);
        Ok(CertificateChecker {
            revoked: revoked_entries(&crls)?,
            verifier: verifier(&roots, crls)?,
            verifier_without_crls: verifier(&roots, Vec::new())?,
        })
    }

    /// Checks that `certificate_pem` chains to the CA, is valid at `now` and is
    /// not revoked; returns what it says about itself.
    pub fn check(
        &self,
        certificate_pem: &str,
        now: UnixSeconds,
    ) -> Result<CertificateDetails, CertsError> {
        verify_with(&self.verifier, certificate_pem, now)
    }

    /// Checks that `certificate_pem` chained to the CA, was valid at
    /// `signed_at` and had not been revoked by then. This is the test for a
    /// signature made at `signed_at`: a certificate revoked or expired later
    /// does not void its earlier signatures (certificate rotation must not
    /// strand messages already queued). Whether the *connection* may send is
    /// decided separately, by the TLS listener, at the present time.
    pub fn check_at_signing_time(
        &self,
        certificate_pem: &str,
        signed_at: UnixSeconds,
    ) -> Result<CertificateDetails, CertsError> {
        let details = verify_with(&self.verifier_without_crls, certificate_pem, signed_at)?;
        if let Some((_, revoked_at)) = self
            .revoked
            .iter()
            .find(|(serial, revoked_at)| *serial == details.serial && *revoked_at <= signed_at)
        {
            return Err(CertsError::RevokedBefore {
                serial: details.serial,
                revoked_at: *revoked_at,
                signed_at,
            });
        }
        Ok(details)
    }
}

fn verify_with(
    verifier: &Arc<dyn ClientCertVerifier>,
    certificate_pem: &str,
    at: UnixSeconds,
) -> Result<CertificateDetails, CertsError> {
    let chain = parse_certificates_pem(certificate_pem)?;
    let (leaf, intermediates) = chain.split_first().ok_or(CertsError::InvalidPem {
        what: "certificate",
        reason: "no certificate".to_string(),
    })?;
    let seconds = u64::try_from(at).unwrap_or(0);
    verifier
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
