//! The one error type of the HTTP layers, with stable codes.
//!
//! Every variant maps to a status and a code in an exhaustive `match` with no
//! `_` arm, so a new variant forces a decision. Codes are stable: the UI, the
//! docs and other bureaus' scripts cite them. Internal details are logged,
//! never sent to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use zhibao_federation_protocol::VersionMismatch;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No such route or resource.
    #[error("not found: {path}")]
    NotFound {
        /// What was asked for.
        path: String,
    },
    /// The store failed; details are in the log.
    #[error("the node's store is unavailable")]
    StoreUnavailable(#[source] crate::store::StoreError),
    /// A federation request reached a handler without a verified client certificate.
    #[error("a client certificate of this federation is required")]
    NoClientCertificate,
    /// The client certificate does not carry a node identity.
    #[error("the client certificate (serial {serial}) carries no zhibao node identity")]
    PeerWithoutIdentity {
        /// Its serial.
        serial: u64,
    },
    /// A valid node of the federation, but not a configured parent or child of this node.
    #[error("{identity} is not a configured peer of this node")]
    PeerNotConfigured {
        /// Who called.
        identity: String,
    },
    /// The peer speaks another protocol version.
    #[error(transparent)]
    ProtocolVersion(#[from] VersionMismatch),
    /// A federation delivery was refused as a whole (the sender keeps it and retries).
    #[error(transparent)]
    Inbound(#[from] crate::federation::inbound::InboundError),
    /// A bug or an unexpected failure; details are in the log.
    #[error("internal error; the details are in the node's log")]
    Internal(String),
    /// No session, or an expired one.
    #[error("请先登录 / please log in (no session, or it expired)")]
    NotSignedIn,
    /// Login, lockout, password policy.
    #[error(transparent)]
    Account(#[from] crate::accounts::AccountError),
    /// The password must be changed before anything else.
    #[error(
        "首次登录或密码重置后须先修改密码 / change your password first (POST /api/v1/session/password)"
    )]
    MustChangePassword,
    /// The caller's role may not do this.
    #[error("无权执行此操作 / not allowed: this needs the {needed} role")]
    Forbidden {
        /// The role needed.
        needed: &'static str,
    },
    /// A division outside the caller's jurisdiction.
    #[error("{division} 不在您的辖区内 / {division} is outside your jurisdiction")]
    OutsideJurisdiction {
        /// The division asked for.
        division: String,
    },
    /// A cookie-signed change from another site.
    #[error("跨站请求被拒绝 / cross-site request refused")]
    CrossSiteRequest,
    /// The request body or query is malformed.
    #[error("{message}")]
    BadRequest {
        /// Which field, if known.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A reporting action was refused.
    #[error(transparent)]
    Report(#[from] crate::report::service::ReportServiceError),
    /// A standards release was refused.
    #[error(transparent)]
    Release(#[from] crate::report::releases::ReleaseError),
    /// Urging was refused.
    #[error(transparent)]
    Urge(#[from] crate::urging::flow::UrgeError),
    /// A unit certificate action was refused.
    #[error(transparent)]
    UnitCertificate(#[from] crate::unit_certs::UnitCertError),
    /// A registry change was refused by the registry's rules.
    #[error(transparent)]
    RegistryChange(crate::registry::change::ChangeError),
    /// County work (R34) refused.
    #[error(transparent)]
    County(#[from] crate::registry::flow::CountyFlowError),
    /// The body is over the route's limit.
    #[error(
        "上传内容过大，请缩小文件或分批上传 / the upload is too large: make the file smaller or send it in parts"
    )]
    BodyTooLarge,
    /// On the certificate-login address, the certificate names another unit.
    #[error(
        "证书与账户不符：请使用本单位的证书和本单位的账户登录 / the certificate belongs to another unit: log in with your own unit's certificate and account"
    )]
    CertificateOfAnotherAccount,
    /// Account administration refused or failed.
    #[error(transparent)]
    AccountAdmin(#[from] crate::accounts::service::AccountServiceError),
    /// A registry action (lineage) refused or failed.
    #[error(transparent)]
    Lineage(#[from] crate::registry::flow::LineageServiceError),
    /// A publication was refused.
    #[error(transparent)]
    Publication(#[from] crate::aggregate::publication::PublicationError),
    /// The peer's protocol version header is not a number.
    #[error("the zhibao-protocol-version header '{0}' is not a number")]
    BadProtocolHeader(String),
}

impl ApiError {
    /// The HTTP status and stable code of each variant.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "GEN404"),
            ApiError::StoreUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "GEN503"),
            ApiError::NoClientCertificate => (StatusCode::UNAUTHORIZED, "FED001"),
            ApiError::PeerWithoutIdentity { .. } => (StatusCode::FORBIDDEN, "FED002"),
            ApiError::PeerNotConfigured { .. } => (StatusCode::FORBIDDEN, "FED003"),
            ApiError::ProtocolVersion(_) => (StatusCode::BAD_REQUEST, "FED004"),
            ApiError::BadProtocolHeader(_) => (StatusCode::BAD_REQUEST, "FED005"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "GEN500"),
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "GEN400"),
            ApiError::NotSignedIn => (StatusCode::UNAUTHORIZED, "ACC000"),
            ApiError::Account(account) => account_status_and_code(account),
            ApiError::MustChangePassword => (StatusCode::FORBIDDEN, "ACC004"),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "ACC005"),
            ApiError::CrossSiteRequest => (StatusCode::FORBIDDEN, "ACC007"),
            ApiError::OutsideJurisdiction { .. } => (StatusCode::FORBIDDEN, "ACC009"),
            ApiError::Report(report) => report_status_and_code(report),
            ApiError::Release(release) => release_status_and_code(release),
            ApiError::Urge(crate::urging::flow::UrgeError::NotFound(_)) => {
                (StatusCode::NOT_FOUND, "URG404")
            }
            ApiError::Urge(crate::urging::flow::UrgeError::NotThisLevel(_)) => {
                (StatusCode::FORBIDDEN, "RV005")
            }
            ApiError::Urge(crate::urging::flow::UrgeError::Store(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "GEN503")
            }
            ApiError::UnitCertificate(error) => unit_certificate_status_and_code(error),
            ApiError::RegistryChange(_) => (StatusCode::CONFLICT, "REG003"),
            ApiError::County(error) => county_status_and_code(error),
            ApiError::CertificateOfAnotherAccount => (StatusCode::FORBIDDEN, "ACC011"),
            ApiError::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "GEN413"),
            ApiError::Inbound(inbound) => inbound_status_and_code(inbound),
            ApiError::AccountAdmin(admin) => account_admin_status_and_code(admin),
            ApiError::Lineage(lineage) => lineage_status_and_code(lineage),
            ApiError::Publication(publication) => publication_status_and_code(publication),
        }
    }

    /// Details a client can act on (never internal error text).
    fn details(&self) -> serde_json::Value {
        match self {
            ApiError::ProtocolVersion(mismatch) => {
                serde_json::json!({"ours": mismatch.ours, "theirs": mismatch.theirs})
            }
            ApiError::PeerNotConfigured { identity } => serde_json::json!({"identity": identity}),
            ApiError::NotFound { path } => serde_json::json!({"path": path}),
            ApiError::Inbound(crate::federation::inbound::InboundError::Version(mismatch)) => {
                serde_json::json!({"ours": mismatch.ours, "theirs": mismatch.theirs})
            }
            ApiError::BadRequest { field, .. } => serde_json::json!({"field": field}),
            ApiError::Account(crate::accounts::AccountError::Locked { minutes }) => {
                serde_json::json!({"minutes": minutes})
            }
            ApiError::Forbidden { needed } => serde_json::json!({"needed": needed}),
            ApiError::OutsideJurisdiction { division } => serde_json::json!({"division": division}),
            ApiError::Report(report) => report_details(report),
            ApiError::Lineage(lineage) => lineage_details(lineage),
            ApiError::Publication(
                crate::aggregate::publication::PublicationError::NothingAccepted { form, period },
            ) => serde_json::json!({"form": form, "period": period}),
            ApiError::AccountAdmin(crate::accounts::service::AccountServiceError::Admin(
                crate::accounts::admin::AccountAdminError::BadNewAccount { field, .. },
            )) => serde_json::json!({"field": field}),
            ApiError::Release(_)
            | ApiError::Urge(_)
            | ApiError::UnitCertificate(_)
            | ApiError::RegistryChange(_)
            | ApiError::County(_)
            | ApiError::CertificateOfAnotherAccount
            | ApiError::BodyTooLarge
            | ApiError::AccountAdmin(_)
            | ApiError::Publication(_)
            | ApiError::Inbound(_)
            | ApiError::NotSignedIn
            | ApiError::Account(_)
            | ApiError::MustChangePassword
            | ApiError::CrossSiteRequest
            | ApiError::Internal(_)
            | ApiError::StoreUnavailable(_)
            | ApiError::NoClientCertificate
            | ApiError::PeerWithoutIdentity { .. }
            | ApiError::BadProtocolHeader(_) => serde_json::json!({}),
        }
    }
}

fn county_status_and_code(
    error: &crate::registry::flow::CountyFlowError,
) -> (StatusCode, &'static str) {
    use crate::registry::county::ProposalError;
    use crate::registry::flow::CountyFlowError;
    match error {
        CountyFlowError::NotFound(_) => (StatusCode::NOT_FOUND, "GEN404"),
        CountyFlowError::Proposal(ProposalError::AlreadyDecided(_)) => {
            (StatusCode::CONFLICT, "REG004")
        }
        CountyFlowError::Proposal(
            ProposalError::NotACountyChange
            | ProposalError::MissingReason
            | ProposalError::MissingNote,
        ) => (StatusCode::BAD_REQUEST, "GEN400"),
        CountyFlowError::Change(_) => (StatusCode::CONFLICT, "REG003"),
        CountyFlowError::Flow(flow) => registry_flow_status_and_code(flow),
        CountyFlowError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "GEN503"),
    }
}

fn registry_flow_status_and_code(
    error: &crate::registry::flow::RegistryFlowError,
) -> (StatusCode, &'static str) {
    use crate::registry::flow::RegistryFlowError;
    use crate::registry::store::RegistryStoreError;
    match error {
        RegistryFlowError::Store(_) | RegistryFlowError::Registry(RegistryStoreError::Store(_)) => {
            (StatusCode::SERVICE_UNAVAILABLE, "GEN503")
        }
        RegistryFlowError::Registry(RegistryStoreError::NoSuchEntry { .. }) => {
            (StatusCode::NOT_FOUND, "GEN404")
        }
        RegistryFlowError::Registry(RegistryStoreError::Change(_)) => {
            (StatusCode::CONFLICT, "REG003")
        }
        RegistryFlowError::Registry(
            RegistryStoreError::AlreadyRegistered { .. } | RegistryStoreError::Lineage(_),
        )
        | RegistryFlowError::Accounts(_)
        | RegistryFlowError::Certificates(_) => (StatusCode::INTERNAL_SERVER_ERROR, "GEN500"),
    }
}

fn unit_certificate_status_and_code(
    error: &crate::unit_certs::UnitCertError,
) -> (StatusCode, &'static str) {
    use crate::unit_certs::UnitCertError;
    match error {
        UnitCertError::NotACity => (StatusCode::FORBIDDEN, "RV005"),
        UnitCertError::NoSuchUnit(_) => (StatusCode::NOT_FOUND, "GEN404"),
        UnitCertError::UnitClosed(_) => (StatusCode::CONFLICT, "CRT001"),
        UnitCertError::NothingToRevoke(_) => (StatusCode::CONFLICT, "CRT002"),
        UnitCertError::Pki(_) => (StatusCode::INTERNAL_SERVER_ERROR, "GEN500"),
        UnitCertError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "GEN503"),
    }
}

fn release_status_and_code(
    error: &crate::report::releases::ReleaseError,
) -> (StatusCode, &'static str) {
    use crate::report::releases::ReleaseError;
    match error {
        ReleaseError::Invalid(_) => (StatusCode::BAD_REQUEST, "MD001"),
        ReleaseError::NotOurs { .. } => (StatusCode::FORBIDDEN, "MD002"),
        ReleaseError::StaleVersion { .. } => (StatusCode::CONFLICT, "MD003"),
        ReleaseError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "GEN503"),
    }
}

fn publication_status_and_code(
    error: &crate::aggregate::publication::PublicationError,
) -> (StatusCode, &'static str) {
    use crate::aggregate::publication::PublicationError;
    match error {
        PublicationError::NothingAccepted { .. } => (StatusCode::CONFLICT, "PUB001"),
        PublicationError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "GEN503"),
    }
}

fn report_status_and_code(
    error: &crate::report::service::ReportServiceError,
) -> (StatusCode, &'static str) {
    use crate::report::ReportError;
    use crate::report::service::ReportServiceError;
    match error {
        ReportServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "RPT404"),
        ReportServiceError::Values(_) => (StatusCode::BAD_REQUEST, "RPT001"),
        ReportServiceError::RulesFailed(_) => (StatusCode::UNPROCESSABLE_ENTITY, "RPT002"),
        ReportServiceError::WindowClosed(_) => (StatusCode::CONFLICT, "RPT003"),
        ReportServiceError::Report(ReportError::DraftConflict { .. }) => {
            (StatusCode::CONFLICT, "RPT005")
        }
        ReportServiceError::Report(ReportError::WrongState { .. }) => {
            (StatusCode::CONFLICT, "RPT006")
        }
        ReportServiceError::Report(ReportError::NoDraft) => (StatusCode::CONFLICT, "RPT007"),
        ReportServiceError::Report(ReportError::RulesNotRun { .. }) => {
            (StatusCode::CONFLICT, "RV002")
        }
        ReportServiceError::Report(ReportError::HasErrors { .. }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "RV003")
        }
        ReportServiceError::Report(ReportError::BadReturn) => (StatusCode::BAD_REQUEST, "RV004"),
        ReportServiceError::WrongLevel(_) => (StatusCode::FORBIDDEN, "RV005"),
        ReportServiceError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "GEN503"),
        ReportServiceError::Upload(_) => (StatusCode::BAD_REQUEST, "RPT008"),
        ReportServiceError::Workbook(_) => (StatusCode::INTERNAL_SERVER_ERROR, "GEN500"),
    }
}

/// Findings as the API shows them.
pub fn findings_json(findings: &[crate::rules::Finding]) -> serde_json::Value {
    serde_json::Value::Array(
        findings
            .iter()
            .map(|finding| {
                serde_json::json!({
                    "rule": finding.rule_id.as_str(),
                    "severity": finding.severity,
                    "owner": finding.owner,
                    "message": finding.message_zh,
                    "message_en": finding.message_en,
                    "indicators": finding.indicators.iter().map(|key| key.as_str()).collect::<Vec<_>>(),
                    "outcome": finding.outcome,
                })
            })
            .collect(),
    )
}

fn report_details(error: &crate::report::service::ReportServiceError) -> serde_json::Value {
    use crate::report::service::ReportServiceError;
    match error {
        ReportServiceError::Values(problems) => serde_json::json!({"problems": problems}),
        ReportServiceError::RulesFailed(findings) => {
            serde_json::json!({"findings": findings_json(findings)})
        }
        ReportServiceError::WindowClosed(closed) => serde_json::json!({
            "stage": closed.stage, "window": closed.window, "message_en": closed.message_en()
        }),
        ReportServiceError::Upload(crate::report::workbook::UploadError::Cells(problems)) => {
            serde_json::json!({"problems": problems})
        }
        ReportServiceError::NotFound(_)
        | ReportServiceError::Report(_)
        | ReportServiceError::Store(_)
        | ReportServiceError::WrongLevel(_)
        | ReportServiceError::Upload(_)
        | ReportServiceError::Workbook(_) => serde_json::json!({}),
    }
}

fn account_status_and_code(error: &crate::accounts::AccountError) -> (StatusCode, &'static str) {
    use crate::accounts::AccountError;
    match error {
        AccountError::WrongCredentials => (StatusCode::UNAUTHORIZED, "ACC001"),
        AccountError::Locked { .. } => (StatusCode::TOO_MANY_REQUESTS, "ACC002"),
        AccountError::Disabled => (StatusCode::FORBIDDEN, "ACC003"),
        AccountError::WeakPassword { .. } => (StatusCode::BAD_REQUEST, "ACC006"),
        AccountError::UsernameTaken(_) => (StatusCode::CONFLICT, "ACC008"),
        AccountError::Hashing(_) => (StatusCode::INTERNAL_SERVER_ERROR, "GEN500"),
    }
}

fn account_admin_status_and_code(
    error: &crate::accounts::service::AccountServiceError,
) -> (StatusCode, &'static str) {
    use crate::accounts::admin::AccountAdminError;
    use crate::accounts::service::AccountServiceError;
    match error {
        AccountServiceError::Admin(AccountAdminError::NotFound(_)) => {
            (StatusCode::NOT_FOUND, "ACC404")
        }
        AccountServiceError::Admin(AccountAdminError::CannotDisableSelf) => {
            (StatusCode::CONFLICT, "ACC010")
        }
        AccountServiceError::Admin(AccountAdminError::UsernameTaken(_)) => {
            (StatusCode::CONFLICT, "ACC008")
        }
        AccountServiceError::Admin(AccountAdminError::BadNewAccount { .. }) => {
            (StatusCode::BAD_REQUEST, "GEN400")
        }
        AccountServiceError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "GEN503"),
        AccountServiceError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "GEN500"),
    }
}

fn lineage_status_and_code(
    error: &crate::registry::flow::LineageServiceError,
) -> (StatusCode, &'static str) {
    use crate::registry::flow::LineageServiceError;
    use crate::registry::lineage::LineageError;
    match error {
        LineageServiceError::BadField { .. } => (StatusCode::BAD_REQUEST, "GEN400"),
        LineageServiceError::UnitNotFound(_) => (StatusCode::NOT_FOUND, "GEN404"),
        LineageServiceError::NotThisLevel => (StatusCode::FORBIDDEN, "REG002"),
        LineageServiceError::Refused(LineageError::Cycle { .. }) => {
            (StatusCode::CONFLICT, "REG001")
        }
        LineageServiceError::Refused(
            LineageError::SameUnit(_) | LineageError::MissingConfirmedBy,
        ) => (StatusCode::BAD_REQUEST, "GEN400"),
        LineageServiceError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "GEN503"),
    }
}

fn lineage_details(error: &crate::registry::flow::LineageServiceError) -> serde_json::Value {
    use crate::registry::flow::LineageServiceError;
    use crate::registry::lineage::LineageError;
    match error {
        LineageServiceError::BadField { field, .. } => serde_json::json!({"field": field}),
        LineageServiceError::Refused(LineageError::SameUnit(_)) => {
            serde_json::json!({"field": "previous"})
        }
        LineageServiceError::Refused(LineageError::Cycle { previous, current }) => {
            serde_json::json!({"previous": previous.as_str(), "current": current.as_str()})
        }
        LineageServiceError::Refused(LineageError::MissingConfirmedBy)
        | LineageServiceError::UnitNotFound(_)
        | LineageServiceError::NotThisLevel
        | LineageServiceError::Store(_) => serde_json::json!({}),
    }
}

fn inbound_status_and_code(
    error: &crate::federation::inbound::InboundError,
) -> (StatusCode, &'static str) {
    use crate::federation::inbound::InboundError;
    match error {
        InboundError::SenderMismatch { .. } => (StatusCode::FORBIDDEN, "FED006"),
        InboundError::WrongReceiver { .. } => (StatusCode::FORBIDDEN, "FED007"),
        InboundError::Version(_) => (StatusCode::BAD_REQUEST, "FED004"),
        InboundError::Signature(_) => (StatusCode::BAD_REQUEST, "FED011"),
        InboundError::PayloadTooNew(_) => (StatusCode::BAD_REQUEST, "FED012"),
        InboundError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "GEN503"),
    }
}

impl From<crate::registry::store::RegistryStoreError> for ApiError {
    /// A failing store is 503 (details logged); anything else the registry
    /// refuses on these read paths is a defect, so 500.
    fn from(error: crate::registry::store::RegistryStoreError) -> Self {
        match error {
            crate::registry::store::RegistryStoreError::Store(store) => {
                ApiError::StoreUnavailable(store)
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::registry::flow::RegistryFlowError> for ApiError {
    fn from(error: crate::registry::flow::RegistryFlowError) -> Self {
        match error {
            crate::registry::flow::RegistryFlowError::Registry(registry) => {
                ApiError::from(registry)
            }
            crate::registry::flow::RegistryFlowError::Store(store) => {
                ApiError::StoreUnavailable(store)
            }
            crate::registry::flow::RegistryFlowError::Accounts(reason)
            | crate::registry::flow::RegistryFlowError::Certificates(reason) => {
                ApiError::Internal(reason)
            }
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        ApiError::StoreUnavailable(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(code, error = ?self, "request failed");
        } else {
            tracing::info!(code, error = %self, "request refused");
        }
        let body = serde_json::json!({
            "error": {"code": code, "message": self.to_string(), "details": self.details()}
        });
        (status, Json(body)).into_response()
    }
}
