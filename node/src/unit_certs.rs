//! Survey units' login certificates (R9, R17, R30).
//!
//! A city node keeps its own certificate authority for the units of its
//! registry in `unit-ca/` beside its data folder (made at its first start; the
//! key is 0600), apart from the federation CA: a unit certificate can open the
//! certificate-login address of its city and nothing else. A certificate
//! names the unit's credit code as its subject and in a SAN URI
//! `zhibao://unit/{code}`, with EKU ClientAuth only. Issuing, revoking and
//! closing a unit are recorded (tree `unit_certificate_by_unit_serial` and the
//! audit log). Revoking publishes a new CRL and puts it in force on the
//! certificate-login listener at once.
//!
//! SECURITY: the certificate-login listener (`web.certificate_login_listen`)
//! requires a certificate of this CA, valid and not revoked, in the TLS
//! handshake; the login there also requires the password of the enterprise
//! account of the very unit the certificate names.

use std::path::PathBuf;
use std::sync::Mutex;

use zhibao_certs::{ClientAuthPolicy, LeafRequest, LeafUsage};

use crate::clock::Timestamp;
use crate::node::NodeState;
use crate::pki::{CaFolder, PkiError};
use crate::registry::{StatusKind, UnitCode};
use crate::store::{Record, Store, StoreError, Tree, TxError};
use crate::tls::{SwappableServerConfig, TlsMaterial};

/// How long a unit certificate is valid.
pub const UNIT_CERTIFICATE_VALIDITY_DAYS: i64 = 730;
const DAY_SECONDS: i64 = 24 * 60 * 60;

/// One certificate issued to a unit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnitCertificate {
    /// The unit's credit code.
    pub unit: String,
    /// Serial number (what the CRL lists).
    pub serial: u64,
    /// When issued (ms).
    pub issued_at_ms: i64,
    /// Valid until (ms).
    pub not_after_ms: i64,
    /// Who issued it.
    pub issued_by: String,
    /// When revoked (ms), if revoked.
    pub revoked_at_ms: Option<i64>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
}

impl Record for UnitCertificate {
    const FORMAT_VERSION: u8 = 1;
}

/// A certificate just issued, with its private key: shown once, never stored.
#[derive(Clone)]
pub struct IssuedUnitCertificate {
    /// The record.
    pub record: UnitCertificate,
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The private key, PEM.
    pub private_key_pem: String,
    /// The CA certificate, PEM (to build a PKCS#12 or import into a USB key).
    pub ca_pem: String,
}

impl std::fmt::Debug for IssuedUnitCertificate {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IssuedUnitCertificate")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// Why a certificate action was refused.
#[derive(Debug, thiserror::Error)]
pub enum UnitCertError {
    /// Only city nodes hold units and issue their certificates.
    #[error("单位证书由市级节点签发 / unit certificates are issued by city nodes")]
    NotACity,
    /// No such unit here.
    #[error("名录库中没有单位 {0} / no unit {0} in the registry")]
    NoSuchUnit(String),
    /// The unit is closed.
    #[error("单位 {0} 已关闭，不能签发证书 / unit {0} is closed: no certificate can be issued")]
    UnitClosed(String),
    /// Nothing to revoke.
    #[error("单位 {0} 没有有效的证书 / unit {0} has no certificate in force")]
    NothingToRevoke(String),
    /// The CA folder failed.
    #[error("单位证书机构出错 / the unit certificate authority failed: {0}")]
    Pki(#[from] PkiError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The unit CA of a city node and what it issued.
#[derive(Debug)]
pub struct UnitCertificates {
    /// The CA folder (serials and CRL are files; one issuer at a time).
    pub ca: Mutex<CaFolder>,
    /// Issued certificates by unit and serial.
    pub issued: Tree<UnitCertificate>,
    /// The certificate-login listener's TLS config (its CRL replaced on revocation).
    pub login_tls: SwappableServerConfig,
}

/// Where a node keeps its unit CA: `unit-ca/` beside the data folder.
pub fn unit_ca_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("unit-ca")
}

fn issued_key(unit: &str, serial: u64) -> Vec<u8> {
    let mut key = unit.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&serial.to_be_bytes());
    key
}

fn unit_prefix(unit: &str) -> Vec<u8> {
    let mut key = unit.as_bytes().to_vec();
    key.push(0);
    key
}

/// The certificate-login server config: the node's own certificate, client
/// certificates of the unit CA required, its CRL checked.
pub fn login_server_config(
    material: &TlsMaterial,
    ca: &CaFolder,
) -> Result<rustls::ServerConfig, UnitCertError> {
    let crl_pem = std::fs::read_to_string(ca.crl_path()).map_err(|source| {
        UnitCertError::Pki(PkiError::Io {
            path: ca.crl_path(),
            source,
        })
    })?;
    let crls = zhibao_certs::parse_crls_pem(&crl_pem).map_err(PkiError::from)?;
    Ok(zhibao_certs::server_config(
        ca.ca_cert_pem(),
        &material.cert_pem,
        &material.key_pem,
        ClientAuthPolicy::Required { crls },
    )
    .map_err(PkiError::from)?)
}

impl UnitCertificates {
    /// Opens (or, at a city's first start, creates) the unit CA.
    pub fn open(
        store: &Store,
        data_dir: &std::path::Path,
        division_name: &str,
        material: &TlsMaterial,
        now: Timestamp,
    ) -> Result<UnitCertificates, UnitCertError> {
        let dir = unit_ca_dir(data_dir);
        let ca = if dir.join("ca.key").exists() {
            CaFolder::open(&dir)?
        } else {
            CaFolder::init(
                &dir,
                &format!("{division_name} 调查单位证书 / unit CA"),
                now,
            )?
        };
        let login_tls = SwappableServerConfig::new(login_server_config(material, &ca)?);
        Ok(UnitCertificates {
            ca: Mutex::new(ca),
            issued: store.tree("unit_certificate_by_unit_serial")?,
            login_tls,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CaFolder> {
        match self.ca.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Every certificate issued to a unit, oldest first.
    pub fn of_unit(&self, unit: &str) -> Result<Vec<UnitCertificate>, StoreError> {
        self.issued
            .scan_prefix(&unit_prefix(unit))
            .map(|entry| entry.map(|(_, record)| record))
            .collect()
    }
}

fn unit_certificates(state: &NodeState) -> Result<&UnitCertificates, UnitCertError> {
    state
        .unit_certificates
        .as_ref()
        .ok_or(UnitCertError::NotACity)
}

/// Issues a login certificate to a unit of the registry (not closed). The
/// serial is on the CA's ledger before the certificate is handed out; the
/// record and its audit entry are durable before the answer.
pub async fn issue(
    state: &NodeState,
    unit: &str,
    by: &str,
    now: Timestamp,
) -> Result<IssuedUnitCertificate, UnitCertError> {
    let certificates = unit_certificates(state)?;
    let code = UnitCode::parse(unit).map_err(|_| UnitCertError::NoSuchUnit(unit.to_string()))?;
    let current = state
        .registry
        .current_unit(&code)
        .map_err(|error| StoreError::Engine(error.to_string()))?
        .ok_or_else(|| UnitCertError::NoSuchUnit(unit.to_string()))?;
    if current.unit.status.kind() == StatusKind::Closed {
        return Err(UnitCertError::UnitClosed(unit.to_string()));
    }
    let not_after = now.unix_seconds() + UNIT_CERTIFICATE_VALIDITY_DAYS * DAY_SECONDS;
    let (issued, serial, ca_pem) = {
        let mut ca = certificates.lock();
        let issued = ca.issue_leaf(
            LeafRequest {
                common_name: code.as_str().to_string(),
                san_uris: vec![format!("zhibao://unit/{}", code.as_str())],
                dns_names: Vec::new(),
                ip_addresses: Vec::new(),
                serial: 0,
                not_before: now.unix_seconds() - DAY_SECONDS,
                not_after,
                usage: LeafUsage::Client,
            },
            now,
        )?;
        (
            issued,
            ca.ledger().last_serial,
            ca.ca_cert_pem().to_string(),
        )
    };
    let record = UnitCertificate {
        unit: code.as_str().to_string(),
        serial,
        issued_at_ms: now.0,
        not_after_ms: not_after * 1000,
        issued_by: by.to_string(),
        revoked_at_ms: None,
        revoked_by: None,
    };
    state
        .store
        .transaction(&[&certificates.issued, &state.audit.entries], |tx| {
            tx.insert(
                &certificates.issued,
                &issued_key(&record.unit, serial),
                &record,
            )?;
            crate::audit::append(
                tx,
                &state.audit,
                &crate::audit::AuditEvent {
                    actor: by,
                    action: "unit_certificate.issue",
                    subject: format!("{} serial {serial}", record.unit),
                    content_hash: None,
                },
                now,
            )?;
            Ok::<(), TxError<StoreError>>(())
        })?;
    state.store.commit_durable().await?;
    Ok(IssuedUnitCertificate {
        record,
        certificate_pem: issued.cert_pem,
        private_key_pem: issued.key_pem,
        ca_pem,
    })
}

/// Revokes every certificate of a unit still in force (a unit closed or
/// deleted, a lost key): new CRL, in force on the login listener at once.
/// Returns the serials revoked (none is not an error here: closing a unit
/// without certificates revokes nothing).
pub async fn revoke_all_of_unit(
    state: &NodeState,
    unit: &str,
    by: &str,
    now: Timestamp,
) -> Result<Vec<u64>, UnitCertError> {
    let Some(certificates) = state.unit_certificates.as_ref() else {
        return Ok(Vec::new());
    };
    let in_force: Vec<UnitCertificate> = certificates
        .of_unit(unit)?
        .into_iter()
        .filter(|record| record.revoked_at_ms.is_none())
        .collect();
    if in_force.is_empty() {
        return Ok(Vec::new());
    }
    let config = {
        let mut ca = certificates.lock();
        for record in &in_force {
            ca.revoke(record.serial, now)?;
        }
        login_server_config(
            &TlsMaterial::read(&state.config.tls)
                .map_err(|error| StoreError::Engine(format!("the node's TLS files: {error}")))?,
            &ca,
        )?
    };
    certificates.login_tls.replace(config);
    state
        .store
        .transaction(&[&certificates.issued, &state.audit.entries], |tx| {
            for record in &in_force {
                let revoked = UnitCertificate {
                    revoked_at_ms: Some(now.0),
                    revoked_by: Some(by.to_string()),
                    ..record.clone()
                };
                tx.insert(
                    &certificates.issued,
                    &issued_key(&record.unit, record.serial),
                    &revoked,
                )?;
                crate::audit::append(
                    tx,
                    &state.audit,
                    &crate::audit::AuditEvent {
                        actor: by,
                        action: "unit_certificate.revoke",
                        subject: format!("{} serial {}", record.unit, record.serial),
                        content_hash: None,
                    },
                    now,
                )?;
            }
            Ok::<(), TxError<StoreError>>(())
        })?;
    state.store.commit_durable().await?;
    Ok(in_force.iter().map(|record| record.serial).collect())
}

/// Whether an account may log in on the certificate-login listener with a
/// certificate naming `certificate_unit`: only the enterprise account of that unit.
pub fn certificate_matches_account(
    certificate_unit: Option<&str>,
    role: &crate::accounts::Role,
) -> bool {
    match (certificate_unit, role) {
        (Some(named), crate::accounts::Role::Enterprise { unit }) => named == unit,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;

    #[test]
    fn only_the_unit_named_by_the_certificate_may_log_in_with_it() {
        let own = Role::Enterprise {
            unit: "91320102000000001X".to_string(),
        };
        assert!(certificate_matches_account(
            Some("91320102000000001X"),
            &own
        ));
        assert!(!certificate_matches_account(
            Some("913201020000000028"),
            &own
        ));
        assert!(!certificate_matches_account(None, &own));
        assert!(!certificate_matches_account(
            Some("91320102000000001X"),
            &Role::Admin
        ));
        assert!(!certificate_matches_account(Some("admin"), &Role::Reviewer));
    }

    #[test]
    fn keys_of_a_unit_sort_by_serial_and_stay_apart_from_other_units() {
        let first = issued_key("9132", 2);
        let second = issued_key("9132", 10);
        assert!(first < second);
        assert!(first.starts_with(&unit_prefix("9132")));
        assert!(!issued_key("91321", 1).starts_with(&unit_prefix("9132")));
    }
}
