//! The federation PKI: a root certificate authority, leaf certificates for nodes and
//! clients, certificate revocation lists, PEM files, and the rustls configurations of
//! mutually authenticated TLS.
//!
//! This crate has no domain knowledge: identities are opaque strings (SAN URIs, common
//! names) chosen by the caller. It never reads the clock either: every time is a
//! [`UnixSeconds`] parameter, so that callers and tests control it.
//!
//! Keys are ECDSA P-256; signing and TLS use the `ring` provider.

mod ca;
mod details;
mod error;
mod pem;
mod signing;
mod tls;

#[cfg(test)]
mod tests;

pub use ca::{CertificateAuthority, IssuedCertificate, LeafRequest, LeafUsage, RevokedSerial};
pub use details::{CertificateDetails, certificate_details, certificate_details_from_pem};
pub use error::CertsError;
pub use pem::{
    parse_certificates_pem, parse_crls_pem, parse_private_key_pem, write_private_pem,
    write_public_pem,
};
pub use signing::{CertificateChecker, NodeSigner, verify_signature};
pub use tls::{ClientAuthPolicy, client_config, server_config};

/// Re-exported so that callers name the same DER types as this crate's signatures.
pub use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

/// Unix seconds; this crate never reads the clock: callers pass time in.
pub type UnixSeconds = i64;
