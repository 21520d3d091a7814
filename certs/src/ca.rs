//! The certificate authority: a self-signed root that issues leaf certificates and CRLs.

use std::fmt;
use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, RevokedCertParams, SanType, SerialNumber, string::Ia5String,
};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{CertsError, UnixSeconds, pem::parse_certificates_pem};

/// A root certificate authority: its certificate, its private key and an rcgen signer.
///
/// The `Debug` output shows the CA certificate's subject only, never the key.
pub struct CertificateAuthority {
    cert_pem: String,
    key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// What to put in a leaf certificate; the key pair is always generated fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRequest {
    /// Subject common name (informative; peers authorise by SAN URI).
    pub common_name: String,
    /// SAN URIs, e.g. a node identity `scheme://...`.
    pub san_uris: Vec<String>,
    /// SAN DNS names the holder serves under (needed for `Node` certificates that serve TLS).
    pub dns_names: Vec<String>,
    /// SAN IP addresses the holder serves under.
    pub ip_addresses: Vec<IpAddr>,
    /// Serial number; must be non-zero and unique per CA (it is what a CRL lists).
    pub serial: u64,
    /// Start of validity, unix seconds.
    pub not_before: UnixSeconds,
    /// End of validity, unix seconds; must be after `not_before`.
    pub not_after: UnixSeconds,
    /// Which TLS roles the certificate may play.
    pub usage: LeafUsage,
}

/// The TLS roles a leaf certificate may play (its extended key usages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafUsage {
    /// EKU ServerAuth and ClientAuth: a node serves its children and calls its parent with one certificate.
    Node,
    /// EKU ClientAuth only: a login certificate that can never serve TLS.
    Client,
}

/// A freshly issued leaf certificate and its private key, both PEM.
///
/// The `Debug` output omits the private key.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The PKCS#8 private key, PEM. Store with [`crate::write_private_pem`].
    pub key_pem: String,
}

/// One entry of a certificate revocation list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokedSerial {
    /// Serial number of the revoked certificate, as given in [`LeafRequest::serial`].
    pub serial: u64,
    /// When the revocation was decided, unix seconds.
    pub revoked_at: UnixSeconds,
}

impl CertificateAuthority {
    /// New self-signed root CA (KeyCertSign + CrlSign, CA basic constraint), ECDSA P-256 key.
    ///
    /// The CA may sign leaves only (path length 0): the federation has a single root
    /// and no intermediates, so a leaked leaf key can never mint certificates.
    pub fn generate(
        common_name: &str,
        not_before: UnixSeconds,
        not_after: UnixSeconds,
    ) -> Result<Self, CertsError> {
        let (not_before, not_after) = validity(not_before, not_after)?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;

        let mut params = CertificateParams::default();
        params.distinguished_name = common_name_dn(common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = not_before;
        params.not_after = not_after;
        // why: our certificate details expose u64 serials; derive one from the key so that
        // two CAs made in the same second still differ.
        params.serial_number = Some(SerialNumber::from(serial_from_key_id(
            &params.key_identifier(&key),
        )));

        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// Reload a CA from the PEM files written earlier.
    ///
    /// Refuses a certificate that is not a CA and a key that does not belong to it, so that
    /// a mix-up of files fails here rather than as unverifiable certificates later.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, CertsError> {
        let key = KeyPair::from_pem(key_pem).map_err(|error| CertsError::InvalidPem {
            what: "CA private key",
            reason: error.to_string(),
        })?;
        let ca_der = first_certificate(cert_pem)?;
        check_is_ca_for_key(&ca_der, &key)?;

        let issuer = Issuer::from_ca_cert_der(&ca_der, key).map_err(|error| {
            CertsError::InvalidCertificate {
                what: "CA certificate",
                reason: error.to_string(),
            }
        })?;
        Ok(Self {
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
            issuer,
        })
    }

    /// The CA certificate, PEM: what every node trusts.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key, PEM. Store with [`crate::write_private_pem`].
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Issue a leaf certificate with a fresh ECDSA P-256 key pair.
    ///
    /// Every field comes from `request`; nothing is copied from elsewhere.
    pub fn issue(&self, request: &LeafRequest) -> Result<IssuedCertificate, CertsError> {
        let params = leaf_params(request)?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCertificate {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A PEM CRL signed by this CA listing the given serials.
    ///
    /// `crl_number` must grow with every CRL published so that peers can tell the newest.
    pub fn revocation_list(
        &self,
        revoked: &[RevokedSerial],
        crl_number: u64,
        this_update: UnixSeconds,
        next_update: UnixSeconds,
    ) -> Result<String, CertsError> {
        let (this_update, next_update) = validity(this_update, next_update)?;
        let revoked_certs = revoked
            .iter()
            .map(revoked_cert_params)
            .collect::<Result<Vec<_>, _>>()?;
        let params = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: SerialNumber::from(crl_number),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&self.issuer)?.pem()?)
    }
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // why: never let a log line carry the CA key.
        f.debug_struct("CertificateAuthority")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// The rcgen parameters of a leaf certificate, checked.
fn leaf_params(request: &LeafRequest) -> Result<CertificateParams, CertsError> {
    if request.serial == 0 {
        return Err(CertsError::InvalidRequest {
            field: "serial",
            reason: "serial numbers must be positive (RFC 5280)".to_owned(),
        });
    }
    let (not_before, not_after) = validity(request.not_before, request.not_after)?;

    let mut params = CertificateParams::default();
    params.distinguished_name = common_name_dn(&request.common_name);
    params.subject_alt_names = subject_alt_names(request)?;
    params.serial_number = Some(SerialNumber::from(request.serial));
    params.not_before = not_before;
    params.not_after = not_after;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = extended_key_usages(request.usage);
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn extended_key_usages(usage: LeafUsage) -> Vec<ExtendedKeyUsagePurpose> {
    match usage {
        LeafUsage::Node => vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
        LeafUsage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
    }
}

fn subject_alt_names(request: &LeafRequest) -> Result<Vec<SanType>, CertsError> {
    let uris = request
        .san_uris
        .iter()
        .map(|uri| ia5("san_uris", uri).map(SanType::URI));
    let dns = request
        .dns_names
        .iter()
        .map(|name| ia5("dns_names", name).map(SanType::DnsName));
    let ips = request
        .ip_addresses
        .iter()
        .map(|ip| Ok(SanType::IpAddress(*ip)));
    uris.chain(dns).chain(ips).collect()
}

/// SAN strings must be IA5 (ASCII); say which field held a non-ASCII one.
fn ia5(field: &'static str, value: &str) -> Result<Ia5String, CertsError> {
    Ia5String::try_from(value).map_err(|error| CertsError::InvalidRequest {
        field,
        reason: format!("{value:?}: {error}"),
    })
}

fn common_name_dn(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

fn revoked_cert_params(revoked: &RevokedSerial) -> Result<RevokedCertParams, CertsError> {
    Ok(RevokedCertParams {
        serial_number: SerialNumber::from(revoked.serial),
        revocation_time: datetime("revoked_at", revoked.revoked_at)?,
        reason_code: None,
        invalidity_date: None,
    })
}

/// Convert a validity window, refusing an empty or reversed one.
fn validity(
    start: UnixSeconds,
    end: UnixSeconds,
) -> Result<(OffsetDateTime, OffsetDateTime), CertsError> {
    if end <= start {
        return Err(CertsError::InvalidRequest {
            field: "not_after",
            reason: format!("end {end} must be after start {start}"),
        });
    }
    Ok((datetime("not_before", start)?, datetime("not_after", end)?))
}

fn datetime(field: &'static str, seconds: UnixSeconds) -> Result<OffsetDateTime, CertsError> {
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|error| CertsError::InvalidRequest {
        field,
        reason: format!("{seconds} is not a representable time: {error}"),
    })
}

/// A positive u64 from the first 8 bytes of a key identifier.
fn serial_from_key_id(key_id: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    for (slot, byte) in bytes.iter_mut().zip(key_id) {
        *slot = *byte;
    }
    // why: keep the top bit clear and the value non-zero, as RFC 5280 wants a positive serial.
    (u64::from_be_bytes(bytes) >> 1).max(1)
}

fn first_certificate(
    cert_pem: &str,
) -> Result<rustls_pki_types::CertificateDer<'static>, CertsError> {
    parse_certificates_pem(cert_pem)?
        .into_iter()
        .next()
        .ok_or(CertsError::InvalidPem {
            what: "CA certificate",
            reason: "no CERTIFICATE section".to_owned(),
        })
}

/// Refuse a non-CA certificate, or a key that is not the certificate's.
fn check_is_ca_for_key(ca_der: &[u8], key: &KeyPair) -> Result<(), CertsError> {
    let (_, cert) =
        X509Certificate::from_der(ca_der).map_err(|error| CertsError::InvalidCertificate {
            what: "CA certificate",
            reason: error.to_string(),
        })?;
    if !cert.is_ca() {
        return Err(CertsError::NotACa {
            subject: crate::details::common_name(cert.subject()),
        });
    }
    if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err(CertsError::KeyMismatch);
    }
    Ok(())
}
