//! Reading what a certificate says about itself (identity, serial, validity).

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Name};

use crate::{CertsError, UnixSeconds, pem::parse_certificates_pem};

/// What a certificate says about itself, read with x509-parser.
///
/// Nothing here is verified: read details of a peer certificate only after the TLS
/// handshake accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateDetails {
    /// Subject common name, if present and a string.
    pub common_name: Option<String>,
    /// All SAN URIs, in certificate order.
    pub san_uris: Vec<String>,
    /// Serial number.
    pub serial: u64,
    /// Start of validity, unix seconds.
    pub not_before: UnixSeconds,
    /// End of validity, unix seconds.
    pub not_after: UnixSeconds,
    /// Issuer common name, if present and a string.
    pub issuer_common_name: Option<String>,
}

impl CertificateDetails {
    /// `Ok` if `now` lies within the validity period, else [`CertsError::Expired`] or
    /// [`CertsError::NotYetValid`] (e.g. to warn at start-up about a node certificate).
    pub fn check_valid_at(&self, now: UnixSeconds) -> Result<(), CertsError> {
        if now > self.not_after {
            return Err(CertsError::Expired {
                subject: self.common_name.clone(),
                not_after: self.not_after,
            });
        }
        if now < self.not_before {
            return Err(CertsError::NotYetValid {
                subject: self.common_name.clone(),
                not_before: self.not_before,
            });
        }
        Ok(())
    }
}

/// Read the details of one DER certificate.
///
/// Fails on a serial longer than 64 bits (this crate only issues u64 serials).
pub fn certificate_details(cert_der: &[u8]) -> Result<CertificateDetails, CertsError> {
    let (_, cert) =
        X509Certificate::from_der(cert_der).map_err(|error| invalid(error.to_string()))?;
    Ok(CertificateDetails {
        common_name: common_name(cert.subject()),
        san_uris: san_uris(&cert)?,
        serial: serial_u64(cert.raw_serial())?,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        issuer_common_name: common_name(cert.issuer()),
    })
}

/// Read the details of the first certificate of a PEM text.
pub fn certificate_details_from_pem(cert_pem: &str) -> Result<CertificateDetails, CertsError> {
    let certs = parse_certificates_pem(cert_pem)?;
    match certs.first() {
        Some(first) => certificate_details(first),
        None => Err(CertsError::InvalidPem {
            what: "certificate",
            reason: "no CERTIFICATE section".to_owned(),
        }),
    }
}

/// The first common name of a distinguished name, if it is a string.
pub(crate) fn common_name(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
}

fn san_uris(cert: &X509Certificate<'_>) -> Result<Vec<String>, CertsError> {
    let extension = cert
        .subject_alternative_name()
        .map_err(|error| invalid(format!("subject alternative name: {error}")))?;
    let Some(extension) = extension else {
        return Ok(Vec::new());
    };
    let uris = extension
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::URI(uri) => Some((*uri).to_owned()),
            _ => None,
        })
        .collect();
    Ok(uris)
}

/// A DER INTEGER's big-endian bytes as u64 (a leading 0x00 sign byte is allowed).
pub(crate) fn serial_u64(raw: &[u8]) -> Result<u64, CertsError> {
    let significant = match raw.iter().position(|byte| *byte != 0) {
        Some(start) => &raw[start..],
        None => &[],
    };
    if significant.len() > 8 {
        return Err(invalid(format!(
            "serial number has {} bytes, more than the 8 this crate supports",
            significant.len()
        )));
    }
    let mut bytes = [0u8; 8];
    bytes[8 - significant.len()..].copy_from_slice(significant);
    Ok(u64::from_be_bytes(bytes))
}

fn invalid(reason: String) -> CertsError {
    CertsError::InvalidCertificate {
        what: "certificate",
        reason,
    }
}
