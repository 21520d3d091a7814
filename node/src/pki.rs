//! The federation CA as an operator keeps it: a folder with the CA key, a
//! ledger of every certificate issued, and the revocation list.
//!
//! Layout of a CA folder:
//! - `ca.pem` — the national root certificate (give it to every node);
//! - `ca.key` — its private key (mode 0600; keep this folder offline);
//! - `ledger.json` — the serial counter and every issued certificate, so
//!   serials never repeat and a revocation can name what it revokes;
//! - `crl.pem` — the current revocation list (give it to every node).
//!
//! Node certificates carry the node identity as the SAN URI
//! `zhibao://node/{level}/{division}` (what peers authorise by), plus the DNS
//! names and IP addresses the node is reached at, and both ServerAuth and
//! ClientAuth (a node serves its children and calls its parent).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use zhibao_certs::{
    CertificateAuthority, IssuedCertificate, LeafRequest, LeafUsage, RevokedSerial,
};
use zhibao_federation_protocol::NodeIdentity;

use crate::clock::Timestamp;

const DAY_SECONDS: i64 = 86_400;
/// Root CA validity: 20 years (replaced by a planned ceremony, not by expiry surprise).
const CA_VALIDITY_DAYS: i64 = 20 * 365;
/// How long a published CRL is valid before nodes should expect a new one.
const CRL_VALIDITY_DAYS: i64 = 30;

/// Errors of the CA folder.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A certificate operation failed.
    #[error(transparent)]
    Certs(#[from] zhibao_certs::CertsError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The ledger is not readable.
    #[error("{path}: the CA ledger is damaged: {reason}")]
    Ledger {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// `init-ca` on a folder that already holds a CA.
    #[error("{0} already holds a CA (ca.key exists); refusing to overwrite it")]
    AlreadyExists(PathBuf),
    /// Revoking a serial that was never issued.
    #[error("serial {0} was never issued by this CA (see ledger.json)")]
    UnknownSerial(u64),
}

/// One issued certificate, as the ledger remembers it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LedgerEntry {
    /// Serial number.
    pub serial: u64,
    /// Common name.
    pub common_name: String,
    /// SAN URIs (the node identity, for node certificates).
    pub san_uris: Vec<String>,
    /// Issued at (unix seconds).
    pub issued_at: i64,
    /// Valid until (unix seconds).
    pub not_after: i64,
    /// Revoked at (unix seconds), if revoked.
    pub revoked_at: Option<i64>,
}

/// The CA ledger (`ledger.json`).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Ledger {
    /// Format version of this file.
    pub version: u32,
    /// The last serial handed out; the next is one more.
    pub last_serial: u64,
    /// The last CRL number published.
    pub last_crl_number: u64,
    /// Every certificate issued.
    pub issued: Vec<LedgerEntry>,
}

/// An opened CA folder.
#[derive(Debug)]
pub struct CaFolder {
    dir: PathBuf,
    authority: CertificateAuthority,
    ledger: Ledger,
}

fn read_file(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl CaFolder {
    /// Creates a new root CA in `dir` (which may exist but must not hold a CA).
    pub fn init(dir: &Path, common_name: &str, now: Timestamp) -> Result<CaFolder, PkiError> {
        if dir.join("ca.key").exists() {
            return Err(PkiError::AlreadyExists(dir.to_path_buf()));
        }
        std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let not_before = now.unix_seconds() - DAY_SECONDS;
        let authority = CertificateAuthority::generate(
            common_name,
            not_before,
            now.unix_seconds() + CA_VALIDITY_DAYS * DAY_SECONDS,
        )?;
        zhibao_certs::write_private_pem(&dir.join("ca.key"), authority.key_pem())?;
        zhibao_certs::write_public_pem(&dir.join("ca.pem"), authority.cert_pem())?;
        let mut folder = CaFolder {
            dir: dir.to_path_buf(),
            authority,
            ledger: Ledger {
                version: 1,
                ..Ledger::default()
            },
        };
        folder.save_ledger()?;
        folder.publish_crl(now)?;
        Ok(folder)
    }

    /// Opens an existing CA folder.
    pub fn open(dir: &Path) -> Result<CaFolder, PkiError> {
        let authority = CertificateAuthority::from_pem(
            &read_file(&dir.join("ca.pem"))?,
            &read_file(&dir.join("ca.key"))?,
        )?;
        let ledger_path = dir.join("ledger.json");
        let ledger: Ledger =
            serde_json::from_str(&read_file(&ledger_path)?).map_err(|error| PkiError::Ledger {
                path: ledger_path.clone(),
                reason: error.to_string(),
            })?;
        Ok(CaFolder {
            dir: dir.to_path_buf(),
            authority,
            ledger,
        })
    }

    /// Path of the CA certificate.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Path of the current CRL.
    pub fn crl_path(&self) -> PathBuf {
        self.dir.join("crl.pem")
    }

    /// The CA certificate PEM.
    pub fn ca_cert_pem(&self) -> &str {
        self.authority.cert_pem()
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn save_ledger(&self) -> Result<(), PkiError> {
        let path = self.dir.join("ledger.json");
        let text =
            serde_json::to_string_pretty(&self.ledger).map_err(|error| PkiError::Ledger {
                path: path.clone(),
                reason: error.to_string(),
            })?;
        // why: the ledger is what keeps serials unique; written atomically like the keys
        zhibao_certs::write_public_pem(&path, &text)?;
        Ok(())
    }

    fn next_serial(&mut self) -> u64 {
        self.ledger.last_serial += 1;
        self.ledger.last_serial
    }

    /// Issues a node certificate for `identity`, reachable at `hosts` (DNS
    /// names or IP addresses), and records it in the ledger.
    pub fn issue_node(
        &mut self,
        identity: &NodeIdentity,
        hosts: &[String],
        validity_days: i64,
        now: Timestamp,
    ) -> Result<IssuedCertificate, PkiError> {
        let (ip_addresses, dns_names): (Vec<String>, Vec<String>) = hosts
            .iter()
            .cloned()
            .partition(|host| host.parse::<IpAddr>().is_ok());
        let request = LeafRequest {
            common_name: identity.conventional_name(),
            san_uris: vec![identity.to_uri()],
            dns_names,
            ip_addresses: ip_addresses
                .iter()
                .filter_map(|ip| ip.parse().ok())
                .collect(),
            serial: self.next_serial(),
            not_before: now.unix_seconds() - DAY_SECONDS,
            not_after: now.unix_seconds() + validity_days * DAY_SECONDS,
            usage: LeafUsage::Node,
        };
        self.issue_and_record(&request, now)
    }

    /// Issues a certificate from a full request (the serial is assigned here).
    pub fn issue_leaf(
        &mut self,
        mut request: LeafRequest,
        now: Timestamp,
    ) -> Result<IssuedCertificate, PkiError> {
        request.serial = self.next_serial();
        self.issue_and_record(&request, now)
    }

    fn issue_and_record(
        &mut self,
        request: &LeafRequest,
        now: Timestamp,
    ) -> Result<IssuedCertificate, PkiError> {
        let issued = self.authority.issue(request)?;
        self.ledger.issued.push(LedgerEntry {
            serial: request.serial,
            common_name: request.common_name.clone(),
            san_uris: request.san_uris.clone(),
            issued_at: now.unix_seconds(),
            not_after: request.not_after,
            revoked_at: None,
        });
        // The ledger is saved before the certificate is handed out, so a serial is never reused.
        self.save_ledger()?;
        Ok(issued)
    }

    /// Revokes a serial and publishes a new CRL.
    pub fn revoke(&mut self, serial: u64, now: Timestamp) -> Result<(), PkiError> {
        let entry = self
            .ledger
            .issued
            .iter_mut()
            .find(|entry| entry.serial == serial)
            .ok_or(PkiError::UnknownSerial(serial))?;
        entry.revoked_at.get_or_insert(now.unix_seconds());
        self.save_ledger()?;
        self.publish_crl(now)
    }

    /// Writes a fresh `crl.pem` listing every revoked serial.
    pub fn publish_crl(&mut self, now: Timestamp) -> Result<(), PkiError> {
        let revoked: Vec<RevokedSerial> = self
            .ledger
            .issued
            .iter()
            .filter_map(|entry| {
                entry.revoked_at.map(|revoked_at| RevokedSerial {
                    serial: entry.serial,
                    revoked_at,
                })
            })
            .collect();
        self.ledger.last_crl_number += 1;
        let crl = self.authority.revocation_list(
            &revoked,
            self.ledger.last_crl_number,
            now.unix_seconds() - 60,
            now.unix_seconds() + CRL_VALIDITY_DAYS * DAY_SECONDS,
        )?;
        self.save_ledger()?;
        zhibao_certs::write_public_pem(&self.crl_path(), &crl)?;
        Ok(())
    }
}

/// Writes an issued certificate as `{dir}/{stem}.pem` and `{dir}/{stem}.key` (0600).
pub fn write_issued(
    dir: &Path,
    stem: &str,
    issued: &IssuedCertificate,
) -> Result<(PathBuf, PathBuf), PkiError> {
    std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let cert_path = dir.join(format!("{stem}.pem"));
    let key_path = dir.join(format!("{stem}.key"));
    zhibao_certs::write_public_pem(&cert_path, &issued.cert_pem)?;
    zhibao_certs::write_private_pem(&key_path, &issued.key_pem)?;
    Ok((cert_path, key_path))
}
