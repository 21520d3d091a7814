//! The one error type of this crate.

use std::path::PathBuf;

use crate::UnixSeconds;

/// Everything that can go wrong while making, reading or using certificates.
///
/// Each variant names what was being handled so that the message tells an
/// operator which file or field to fix.
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    /// A PEM text could not be decoded, or held none of the expected sections.
    #[error("invalid PEM for {what}: {reason}")]
    InvalidPem {
        /// What the PEM was supposed to contain, e.g. "CA certificate".
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// A DER certificate or CRL could not be parsed, or says something this crate cannot represent.
    #[error("invalid {what}: {reason}")]
    InvalidCertificate {
        /// What was being read, e.g. "certificate" or "CA certificate".
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// A request to issue a certificate or a CRL is inconsistent.
    #[error("invalid request, field `{field}`: {reason}")]
    InvalidRequest {
        /// The offending field of the request.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// rcgen failed to generate a key, a certificate or a CRL.
    #[error("certificate generation failed: {0}")]
    Generate(String),

    /// The certificate had been revoked before it signed.
    #[error(
        "certificate serial {serial} was revoked at unix time {revoked_at}, before it signed at {signed_at}"
    )]
    RevokedBefore {
        /// Its serial.
        serial: u64,
        /// When it was revoked.
        revoked_at: i64,
        /// When it signed.
        signed_at: i64,
    },

    /// A signature does not match the signed bytes and the signer's certificate.
    #[error("the signature does not match the signed content and the signer's certificate")]
    BadSignature,

    /// A CA private key does not belong to the CA certificate it was loaded with.
    #[error("the CA private key does not match the public key of the CA certificate")]
    KeyMismatch,

    /// A certificate loaded as a CA is not marked as a CA.
    #[error("certificate {subject:?} is not a CA certificate (basic constraints CA flag not set)")]
    NotACa {
        /// Subject common name of the refused certificate, if any.
        subject: Option<String>,
    },

    /// The certificate's validity period ended before the given time.
    #[error("certificate {subject:?} expired at unix time {not_after}: issue a new one")]
    Expired {
        /// Subject common name, if any.
        subject: Option<String>,
        /// End of validity, unix seconds.
        not_after: UnixSeconds,
    },

    /// The certificate's validity period starts after the given time.
    #[error("certificate {subject:?} is not valid before unix time {not_before}: check the clock")]
    NotYetValid {
        /// Subject common name, if any.
        subject: Option<String>,
        /// Start of validity, unix seconds.
        not_before: UnixSeconds,
    },

    /// Reading or writing a PEM file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file (or its directory) being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// rustls refused the certificate, key or protocol settings of a TLS config.
    #[error("TLS configuration for {what} refused: {source}")]
    Tls {
        /// Which part of the configuration was being built.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: rustls::Error,
    },

    /// The client-certificate verifier could not be built (bad root or CRL).
    #[error("client certificate verifier refused: {0}")]
    ClientVerifier(#[from] rustls::server::VerifierBuilderError),
}

impl From<rcgen::Error> for CertsError {
    fn from(error: rcgen::Error) -> Self {
        Self::Generate(error.to_string())
    }
}
