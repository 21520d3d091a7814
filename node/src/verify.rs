//! `zhibao verify`: walks a stopped node's store and reports every record
//! that does not match — the audit chain, the content hash of every report
//! version (own and received), and the signature of every envelope received
//! (checked as at the time it was signed).

use zhibao_federation_protocol::SignatureCheck;

use crate::config::NodeConfig;
use crate::store::{Store, StoreError};
use crate::tls::TlsMaterial;

/// What `verify` found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Audit entries walked.
    pub audit_entries: u64,
    /// Report versions checked.
    pub report_versions: usize,
    /// Envelopes whose signatures were checked.
    pub envelopes: usize,
    /// Every problem, as a line for the operator.
    pub problems: Vec<String>,
}

/// Why verification could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The store could not be opened (e.g. the node is running).
    #[error("data_dir: {0} (stop the node first, or verify a restored backup)")]
    Store(#[from] StoreError),
    /// Certificates could not be read.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsSetupError),
}

struct SigningTimeCheck {
    checker: zhibao_certs::CertificateChecker,
}

impl SignatureCheck for SigningTimeCheck {
    fn check(
        &self,
        signer: &zhibao_federation_protocol::NodeIdentity,
        certificate_pem: &str,
        signed_at_ms: i64,
        bytes: &[u8],
        signature: &[u8],
    ) -> Result<(), String> {
        let details = self
            .checker
            .check_at_signing_time(certificate_pem, signed_at_ms.div_euclid(1000))
            .map_err(|error| error.to_string())?;
        if crate::tls::identity_from_san_uris(&details.san_uris).as_ref() != Some(signer) {
            return Err(format!("the certificate is not {signer}'s"));
        }
        zhibao_certs::verify_signature(certificate_pem, bytes, signature)
            .map_err(|error| error.to_string())
    }
}

/// Verifies the (stopped) node of `config`.
pub fn verify_node(config: &NodeConfig) -> Result<VerifyReport, VerifyError> {
    let store = Store::open(&config.data_dir)?;
    verify_store(config, &store)
}

/// Verifies an open store with the certificates of `config`.
pub fn verify_store(config: &NodeConfig, store: &Store) -> Result<VerifyReport, VerifyError> {
    let material = TlsMaterial::read(&config.tls)?;
    let crls = match &material.crl_pem {
        Some(pem) => zhibao_certs::parse_crls_pem(pem).map_err(|source| {
            crate::tls::TlsSetupError::Certs {
                field: "tls.crl",
                source,
            }
        })?,
        None => Vec::new(),
    };
    let checker =
        zhibao_certs::CertificateChecker::new(&material.ca_pem, crls).map_err(|source| {
            crate::tls::TlsSetupError::Certs {
                field: "tls.ca_cert",
                source,
            }
        })?;
    let mut report = VerifyReport::default();

    let audit = crate::audit::AuditLog::open(store)?;
    let (entries, chain_problems) = crate::audit::verify_chain(&audit)?;
    report.audit_entries = entries;
    report
        .problems
        .extend(chain_problems.iter().map(ToString::to_string));

    let reports = crate::report::store::ReportTrees::open(store)?;
    for entry in reports.versions.scan_prefix(&[]) {
        let (_, version) = entry?;
        report.report_versions += 1;
        if version.content.content_hash() != version.content_hash {
            report.problems.push(format!(
                "report version {} by {}: content does not match its hash {}",
                version.number, version.submitted_by, version.content_hash
            ));
        }
    }
    let review = crate::review::store::ReviewTrees::open(store)?;
    for entry in review.versions.scan_prefix(&[]) {
        let (_, received) = entry?;
        report.report_versions += 1;
        let content = crate::report::ReportContent {
            values: received.values.clone(),
            rows: received.rows.clone(),
            explanations: received.explanations.clone(),
        };
        if content.content_hash() != received.content_hash {
            report.problems.push(format!(
                "received report {}/{}/{} v{}: content does not match its hash",
                received.unit, received.form, received.period, received.version
            ));
        }
    }
    let federation = crate::federation::store::FederationTrees::open(store)?;
    let check = SigningTimeCheck { checker };
    for entry in federation.received.scan_prefix(&[]) {
        let (_, envelope) = entry?;
        report.envelopes += 1;
        if let Err(error) = envelope.verify_signatures(&check) {
            report.problems.push(format!(
                "received envelope {}: {error}",
                envelope.message_id
            ));
        }
    }
    Ok(report)
}
