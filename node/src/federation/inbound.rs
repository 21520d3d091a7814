//! Receiving: check, apply once, record, and only then acknowledge.
//!
//! For each envelope of a delivery, in order:
//! 1. it must come from the TLS-verified peer and be addressed to us, in our
//!    protocol version — otherwise the whole delivery is refused;
//! 2. signatures (its own and every forwarded one) must check out against
//!    the federation CA and CRL — otherwise the delivery is refused and the
//!    link waits (nothing is lost: the sender keeps it and the operator sees why);
//! 3. a sequence already handled is acknowledged again and not applied; a gap
//!    stops the delivery at the gap;
//! 4. a message the peer may not send (wrong direction, outside its
//!    jurisdiction, malformed) is refused for good: recorded, logged with the
//!    peer's identity, and the link goes on;
//! 5. otherwise it is applied, and its id and the link's sequence are recorded
//!    in the same transaction.
//!
//! The caller flushes the store before answering with the receipt.

use zhibao_certs::CertificateChecker;
use zhibao_federation_protocol::messages::{
    Delivery, DeliveryReceipt, Payload, PayloadError, Refusal, RegistryChange,
};
use zhibao_federation_protocol::{
    Direction, Envelope, EnvelopeError, MessageKind, NodeIdentity, SignatureCheck,
};

use zhibao_federation_protocol::messages::{
    AcceptanceReceipt, Feedback, MetadataReleasePayload, PeriodReleasePayload, ProgressSummary,
    Reminder, ReportBatch,
};

use super::outbound::{self, OutgoingMessage, Sealer};
use crate::report::ReportKey;
use crate::review::store::ReviewTrees;

use super::store::{Counter, FederationTrees, InboxOutcome, peer_sequence_key};
use crate::clock::Timestamp;
use crate::config::NodeConfig;
use crate::division::DivisionCode;
use crate::store::{Store, StoreError, TxError};

/// Why a whole delivery was refused (the sender keeps the messages and retries).
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    /// An envelope claims a sender other than the TLS-verified peer.
    #[error(
        "message {message_id} claims to come from {claimed}, but the connection is from {peer}"
    )]
    SenderMismatch {
        /// The message.
        message_id: String,
        /// Claimed sender.
        claimed: String,
        /// Verified peer.
        peer: String,
    },
    /// An envelope is addressed to another node.
    #[error("message {message_id} is addressed to {receiver}, not to this node ({us})")]
    WrongReceiver {
        /// The message.
        message_id: String,
        /// Its receiver.
        receiver: String,
        /// This node.
        us: String,
    },
    /// Another protocol version.
    #[error(transparent)]
    Version(#[from] zhibao_federation_protocol::VersionMismatch),
    /// A signature or certificate did not check out.
    #[error(transparent)]
    Signature(#[from] EnvelopeError),
    /// A payload version this node cannot read yet.
    #[error("{0}")]
    PayloadTooNew(PayloadError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the receiving side needs.
#[derive(Debug)]
pub struct Inbound<'a> {
    /// This node's config (identity, peers).
    pub config: &'a NodeConfig,
    /// The store.
    pub store: &'a Store,
    /// Federation trees.
    pub trees: &'a FederationTrees,
    /// For relaying onward.
    pub sealer: &'a Sealer,
    /// Certificates of this federation, with the current CRL.
    pub checker: &'a CertificateChecker,
    /// Reports of this node's own units (city level).
    pub reports: &'a crate::report::store::ReportTrees,
    /// Reports forwarded to this node (province and national levels).
    pub review: &'a crate::review::store::ReviewTrees,
    /// The audit log.
    pub audit: &'a crate::audit::AuditLog,
    /// The registry (upper levels keep the units their children report).
    pub registry: &'a crate::registry::store::RegistryStore,
    /// Metadata releases and the calendar.
    pub metadata: &'a crate::metadata::store::MetadataStore,
    /// Progress summaries received from the cities below.
    pub progress: &'a crate::progress::store::ProgressTrees,
    /// Notices (a reminder from above becomes one).
    pub notices: &'a crate::urging::store::NoticeTrees,
}

/// How far in the future of our clock a signature time may be (clocks drift).
const CLOCK_SKEW_ALLOWED_MS: i64 = 10 * 60 * 1000;

/// Checks signatures against the federation CA and CRL: the certificate must
/// have been good when it signed (a later revocation or expiry does not strand
/// queued messages; the TLS listener already checked the connection now).
struct CertificateSignatureCheck<'a> {
    checker: &'a CertificateChecker,
    now: Timestamp,
}

impl SignatureCheck for CertificateSignatureCheck<'_> {
    fn check(
        &self,
        signer: &NodeIdentity,
        certificate_pem: &str,
        signed_at_ms: i64,
        bytes: &[u8],
        signature: &[u8],
    ) -> Result<(), String> {
        if signed_at_ms > self.now.0 + CLOCK_SKEW_ALLOWED_MS {
            return Err(format!(
                "signed at {signed_at_ms} ms, in the future of this node's clock ({} ms)",
                self.now.0
            ));
        }
        let details = self
            .checker
            .check_at_signing_time(certificate_pem, signed_at_ms.div_euclid(1000))
            .map_err(|error| error.to_string())?;
        let identity = crate::tls::identity_from_san_uris(&details.san_uris);
        if identity.as_ref() != Some(signer) {
            return Err(format!(
                "the certificate (serial {}) is not {signer}'s",
                details.serial
            ));
        }
        zhibao_certs::verify_signature(certificate_pem, bytes, signature)
            .map_err(|error| error.to_string())
    }
}

/// Why a message is refused for good. The codes are stable: they reach the
/// sender's links page and the docs cite them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalCode {
    /// The kind may not travel this way (e.g. feedback sent upward).
    WrongDirection,
    /// It concerns a division outside the sender's jurisdiction.
    OutsideJurisdiction,
    /// The payload cannot be read.
    MalformedPayload,
    /// This node's version does not handle the kind yet.
    KindNotHandled,
}

impl RefusalCode {
    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::WrongDirection => "FED020",
            RefusalCode::OutsideJurisdiction => "FED021",
            RefusalCode::MalformedPayload => "FED022",
            RefusalCode::KindNotHandled => "FED023",
        }
    }
}

/// A message refused for good: code and reason.
struct PermanentRefusal {
    code: RefusalCode,
    reason: String,
}

fn refusal(code: RefusalCode, reason: String) -> PermanentRefusal {
    PermanentRefusal { code, reason }
}

impl Inbound<'_> {
    fn direction_from(&self, peer: &NodeIdentity) -> Direction {
        if self
            .config
            .parent
            .as_ref()
            .is_some_and(|parent| &parent.identity == peer)
        {
            Direction::Down
        } else {
            Direction::Up
        }
    }

    /// Handles a delivery from the verified configured `peer`.
    pub fn accept_delivery(
        &self,
        peer: &NodeIdentity,
        delivery: &Delivery,
        now: Timestamp,
    ) -> Result<DeliveryReceipt, InboundError> {
        let peer_key = peer.to_uri().into_bytes();
        let mut handled_through = self
            .trees
            .received_through
            .get(&peer_key)?
            .unwrap_or_default()
            .0;
        let mut refused = Vec::new();
        for envelope in &delivery.envelopes {
            self.check_addressing(peer, envelope)?;
            if envelope.sequence <= handled_through
                || self
                    .trees
                    .inbox_outcome
                    .get(envelope.message_id.as_bytes())?
                    .is_some()
            {
                // Redelivery: acknowledged again, not applied again.
                handled_through = handled_through.max(envelope.sequence);
                continue;
            }
            if envelope.sequence != handled_through + 1 {
                tracing::warn!(%peer, expected = handled_through + 1, got = envelope.sequence, "sequence gap; asking for a resend");
                break;
            }
            envelope.verify_signatures(&CertificateSignatureCheck {
                checker: self.checker,
                now,
            })?;
            match self.authorize(peer, envelope) {
                Ok(()) => {
                    if !self.apply(peer, envelope, now)? {
                        tracing::debug!(%peer, sequence = envelope.sequence, "applied meanwhile by a concurrent delivery");
                    }
                }
                Err(PermanentRefusalOrRetry::Retry(error)) => return Err(error),
                Err(PermanentRefusalOrRetry::Refuse(permanent)) => {
                    tracing::warn!(%peer, message_id = %envelope.message_id, sequence = envelope.sequence, code = permanent.code.as_str(), reason = %permanent.reason, "refused a message from a peer");
                    self.record_refusal(peer, envelope, &permanent)?;
                    refused.push(Refusal {
                        message_id: envelope.message_id.clone(),
                        sequence: envelope.sequence,
                        code: permanent.code.as_str().to_string(),
                        reason: permanent.reason,
                    });
                }
            }
            handled_through = envelope.sequence;
        }
        Ok(DeliveryReceipt {
            acknowledged_through: handled_through,
            refused,
        })
    }

    fn check_addressing(
        &self,
        peer: &NodeIdentity,
        envelope: &Envelope,
    ) -> Result<(), InboundError> {
        zhibao_federation_protocol::check_protocol_version(envelope.protocol_version)?;
        if &envelope.sender != peer {
            tracing::warn!(%peer, claimed = %envelope.sender, "envelope sender differs from the TLS identity");
            return Err(InboundError::SenderMismatch {
                message_id: envelope.message_id.clone(),
                claimed: envelope.sender.to_uri(),
                peer: peer.to_uri(),
            });
        }
        if envelope.receiver != self.config.identity {
            return Err(InboundError::WrongReceiver {
                message_id: envelope.message_id.clone(),
                receiver: envelope.receiver.to_uri(),
                us: self.config.identity.to_uri(),
            });
        }
        Ok(())
    }

    fn authorize(
        &self,
        peer: &NodeIdentity,
        envelope: &Envelope,
    ) -> Result<(), PermanentRefusalOrRetry> {
        let direction = self.direction_from(peer);
        if !envelope.kind.may_travel(direction) {
            return Err(PermanentRefusalOrRetry::Refuse(refusal(
                RefusalCode::WrongDirection,
                format!(
                    "{} messages may not travel {direction:?} from {peer}",
                    envelope.kind.as_str()
                ),
            )));
        }
        match envelope.kind {
            MessageKind::RegistryChange => {
                self.authorize_payload::<RegistryChange>(peer, direction, envelope)?;
                check_registry_change_readable(envelope)
            }
            MessageKind::ReportBatch => {
                self.authorize_payload::<ReportBatch>(peer, direction, envelope)?;
                check_report_batch_chain(envelope)
            }
            MessageKind::Feedback => self.authorize_payload::<Feedback>(peer, direction, envelope),
            MessageKind::MetadataRelease => {
                self.authorize_payload::<MetadataReleasePayload>(peer, direction, envelope)?;
                check_metadata_release(envelope, &self.config.division)
            }
            MessageKind::PeriodRelease => {
                self.authorize_payload::<PeriodReleasePayload>(peer, direction, envelope)?;
                decode_calendar(envelope).map(|_| ())
            }
            MessageKind::AcceptanceReceipt => {
                self.authorize_payload::<AcceptanceReceipt>(peer, direction, envelope)
            }
            MessageKind::ProgressSummary => {
                self.authorize_payload::<ProgressSummary>(peer, direction, envelope)?;
                check_progress_summary_chain(envelope)
            }
            MessageKind::Reminder => {
                self.authorize_payload::<Reminder>(peer, direction, envelope)?;
                check_reminder(envelope)
            }
            other => Err(PermanentRefusalOrRetry::Refuse(refusal(
                RefusalCode::KindNotHandled,
                format!(
                    "{} messages are not handled by this node's version yet",
                    other.as_str()
                ),
            ))),
        }
    }

    /// The payload's divisions must lie inside the sender's division (upward)
    /// or inside ours (downward); forwarded originals inside their own sender's.
    fn authorize_payload<P: Payload>(
        &self,
        peer: &NodeIdentity,
        direction: Direction,
        envelope: &Envelope,
    ) -> Result<(), PermanentRefusalOrRetry> {
        let scope = match direction {
            Direction::Up => peer.division().to_string(),
            Direction::Down => self.config.identity.division().to_string(),
        };
        check_payload_within::<P>(envelope, &scope)?;
        for inner in envelope.forwarded_recursive() {
            if direction == Direction::Up && !division_within(inner.sender.division(), &scope) {
                return Err(PermanentRefusalOrRetry::Refuse(refusal(
                    RefusalCode::OutsideJurisdiction,
                    format!(
                        "forwarded message {} comes from {}, outside {peer}'s jurisdiction",
                        inner.message_id, inner.sender
                    ),
                )));
            }
            let inner_scope = match direction {
                Direction::Up => inner.sender.division().to_string(),
                Direction::Down => scope.clone(),
            };
            check_payload_within::<P>(inner, &inner_scope)?;
        }
        Ok(())
    }

    fn record_refusal(
        &self,
        peer: &NodeIdentity,
        envelope: &Envelope,
        permanent: &PermanentRefusal,
    ) -> Result<(), StoreError> {
        let trees = self.trees;
        let outcome = InboxOutcome::Refused {
            sender: peer.to_uri(),
            sequence: envelope.sequence,
            code: permanent.code.as_str().to_string(),
            reason: permanent.reason.clone(),
        };
        let peer_key = peer.to_uri().into_bytes();
        self.store
            .transaction(&[&trees.received_through, &trees.inbox_outcome], |tx| {
                // Another delivery of the same link may have handled it meanwhile.
                let handled_through = tx
                    .get(&trees.received_through, &peer_key)?
                    .unwrap_or_default()
                    .0;
                if handled_through >= envelope.sequence {
                    return Ok(());
                }
                tx.insert(
                    &trees.inbox_outcome,
                    envelope.message_id.as_bytes(),
                    &outcome,
                )?;
                tx.insert(
                    &trees.received_through,
                    peer.to_uri().as_bytes(),
                    &Counter(envelope.sequence),
                )?;
                Ok::<(), TxError<StoreError>>(())
            })
    }

    /// Applies one message and records it, in one transaction. Returns false
    /// when another delivery of the same link applied it first (the check is
    /// inside the transaction, so two concurrent deliveries cannot both apply it).
    fn apply(
        &self,
        peer: &NodeIdentity,
        envelope: &Envelope,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let trees = self.trees;
        let mut relays: Vec<OutgoingMessage> =
            self.relay_for(peer, envelope)?.into_iter().collect();
        relays.extend(self.relays_to_every_child(peer, envelope));
        let outcome = InboxOutcome::Applied {
            sender: peer.to_uri(),
            sequence: envelope.sequence,
            applied_at_ms: now.0,
        };
        let peer_key = peer.to_uri().into_bytes();
        self.store.transaction(
            &[
                &trees.received_through,
                &trees.inbox_outcome,
                &trees.received,
                &trees.outbox,
                &trees.next_sequence,
                &self.reports.status,
                &self.review.received,
                &self.review.versions,
                &self.audit.entries,
                self.registry.tree_handles()[0],
                self.registry.tree_handles()[1],
                self.metadata.tree_handles()[0],
                self.metadata.tree_handles()[1],
                self.progress.tree_handles()[0],
                self.progress.tree_handles()[1],
                &self.notices.notices,
            ],
            |tx| {
                let handled_through = tx
                    .get(&trees.received_through, &peer_key)?
                    .unwrap_or_default()
                    .0;
                if handled_through >= envelope.sequence
                    || tx
                        .get(&trees.inbox_outcome, envelope.message_id.as_bytes())?
                        .is_some()
                {
                    return Ok(false);
                }
                tx.insert(
                    &trees.inbox_outcome,
                    envelope.message_id.as_bytes(),
                    &outcome,
                )?;
                tx.insert(
                    &trees.received_through,
                    &peer_key,
                    &Counter(envelope.sequence),
                )?;
                tx.insert(
                    &trees.received,
                    &peer_sequence_key(peer, envelope.sequence),
                    envelope,
                )?;
                self.apply_to_domain(tx, peer, envelope, now)?;
                for relay in &relays {
                    outbound::enqueue(tx, trees, self.sealer, relay, now)?;
                }
                Ok::<bool, TxError<StoreError>>(true)
            },
        )
    }

    /// Appends a received message's effect to the audit log, the peer as actor.
    #[allow(clippy::too_many_arguments)] // why: mirrors the audit entry's fields
    fn log(
        &self,
        tx: &crate::store::Transaction<'_>,
        peer: &NodeIdentity,
        action: &str,
        key: &ReportKey,
        version: u32,
        content_hash: Option<String>,
        now: Timestamp,
    ) -> Result<(), crate::store::TxFailure> {
        crate::audit::append(
            tx,
            self.audit,
            &crate::audit::AuditEvent {
                actor: &peer.to_uri(),
                action,
                subject: crate::report::store::subject(key, version),
                content_hash,
            },
            now,
        )?;
        Ok(())
    }

    /// What a message changes in this node's own records (inside the applying transaction).
    fn apply_to_domain(
        &self,
        tx: &crate::store::Transaction<'_>,
        peer: &NodeIdentity,
        envelope: &Envelope,
        now: Timestamp,
    ) -> Result<(), crate::store::TxFailure> {
        let malformed = |error: zhibao_federation_protocol::messages::PayloadError| {
            crate::store::TxFailure::Store(StoreError::Decode {
                tree: "received_envelope_by_origin".to_string(),
                reason: error.to_string(),
            })
        };
        match envelope.kind {
            MessageKind::MetadataRelease => {
                let release = decode_release(envelope).map_err(|refused| {
                    crate::store::TxFailure::Store(StoreError::Decode {
                        tree: "origin_releases".to_string(),
                        reason: refused.reason,
                    })
                })?;
                let saved = self.metadata.save_release_in(tx, &release)?;
                if saved == crate::metadata::store::ReleaseSaved::ConflictsWithStored {
                    tracing::warn!(%peer, origin = %release.origin, version = release.version, "a different release with this version is stored; kept the stored one");
                }
            }
            MessageKind::PeriodRelease => {
                let (_, calendar) = decode_calendar(envelope).map_err(|refused| {
                    crate::store::TxFailure::Store(StoreError::Decode {
                        tree: "period_calendar".to_string(),
                        reason: refused.reason(),
                    })
                })?;
                // Exceptions granted here stay; the nation's windows replace ours.
                let mut merged = calendar;
                let local = self.metadata.calendar_in(tx)?;
                for schedule in local.schedules {
                    for exception in schedule.exceptions {
                        merged.grant_exception(schedule.period, &schedule.form, exception);
                    }
                }
                self.metadata.save_calendar_in(tx, &merged)?;
            }
            MessageKind::RegistryChange => {
                let change = envelope
                    .decode_payload::<RegistryChange>()
                    .map_err(malformed)?;
                let unit =
                    crate::registry::flow::unit_from_the_wire(&change.unit).map_err(|reason| {
                        crate::store::TxFailure::Store(StoreError::Decode {
                            tree: "received_envelope_by_origin".to_string(),
                            reason,
                        })
                    })?;
                if let Ok(period) = crate::registry::PeriodId::parse(&change.period)
                    && self.config.level() != zhibao_federation_protocol::NodeLevel::City
                {
                    let code = unit.code.clone();
                    let status_below = if change.change
                        == zhibao_federation_protocol::messages::RegistryChangeKind::Close
                    {
                        crate::registry::UnitStatus::Closed
                    } else {
                        unit.status.clone()
                    };
                    self.registry
                        .put_units_in(
                            tx,
                            period,
                            &[unit],
                            &peer.to_uri(),
                            now,
                            "registry change from below",
                        )
                        .map_err(registry_tx_failure)?;
                    follow_status_from_below(
                        tx,
                        self.registry,
                        period,
                        &code,
                        status_below,
                        peer,
                        now,
                    )?;
                }
            }
            MessageKind::ReportBatch => {
                let batch = envelope
                    .decode_payload::<ReportBatch>()
                    .map_err(malformed)?;
                for report in batch.reports {
                    let key = ReviewTrees::key_of(&report);
                    let existing = tx.get(&self.review.received, &key.to_bytes())?;
                    tx.insert(
                        &self.review.versions,
                        &ReviewTrees::version_key_of(&report),
                        &report,
                    )?;
                    self.log(
                        tx,
                        peer,
                        "review.receive",
                        &key,
                        report.version,
                        Some(report.content_hash.clone()),
                        now,
                    )?;
                    let received = crate::review::receive(
                        existing.as_ref(),
                        report,
                        &peer.to_uri(),
                        &envelope.sender.to_uri(),
                        envelope.sequence,
                        now,
                    );
                    tx.insert(&self.review.received, &key.to_bytes(), &received)?;
                }
            }
            MessageKind::Feedback => {
                let feedback = envelope.decode_payload::<Feedback>().map_err(malformed)?;
                let key = ReportKey {
                    unit: feedback.unit.clone(),
                    form: feedback.form.clone(),
                    period: feedback.period.clone(),
                };
                let record = crate::report::FeedbackRecord {
                    from_level: feedback.from_level.clone(),
                    by: feedback.by.clone(),
                    at_ms: feedback.at_ms,
                    version: feedback.version,
                    comments: feedback
                        .comments
                        .iter()
                        .map(|comment| crate::report::Comment {
                            indicator: comment.indicator.clone(),
                            text: comment.text.clone(),
                        })
                        .collect(),
                };
                self.log(
                    tx,
                    peer,
                    "report.feedback_received",
                    &key,
                    feedback.version,
                    None,
                    now,
                )?;
                if let Some(status) = tx.get(&self.reports.status, &key.to_bytes())? {
                    let next = crate::report::receive_feedback(&status, record, now);
                    tx.insert(&self.reports.status, &key.to_bytes(), &next)?;
                } else if let Some(received) = tx.get(&self.review.received, &key.to_bytes())? {
                    let next = crate::review::receive_feedback_from_above(&received, record, now);
                    tx.insert(&self.review.received, &key.to_bytes(), &next)?;
                }
            }
            MessageKind::AcceptanceReceipt => {
                let receipt = envelope
                    .decode_payload::<AcceptanceReceipt>()
                    .map_err(malformed)?;
                let key = ReportKey {
                    unit: receipt.unit.clone(),
                    form: receipt.form.clone(),
                    period: receipt.period.clone(),
                };
                self.log(
                    tx,
                    peer,
                    "report.accepted_above",
                    &key,
                    receipt.version,
                    Some(receipt.content_hash.clone()),
                    now,
                )?;
                if let Some(status) = tx.get(&self.reports.status, &key.to_bytes())? {
                    let next =
                        crate::report::receive_acceptance(&status, &receipt.level, receipt.version);
                    tx.insert(&self.reports.status, &key.to_bytes(), &next)?;
                } else if let Some(mut received) = tx.get(&self.review.received, &key.to_bytes())?
                    && received.report.version == receipt.version
                    && received.state == crate::review::UpperState::Approved
                {
                    received.state = crate::review::UpperState::Accepted;
                    tx.insert(&self.review.received, &key.to_bytes(), &received)?;
                }
            }
            MessageKind::ProgressSummary => {
                let wire = envelope
                    .decode_payload::<ProgressSummary>()
                    .map_err(malformed)?;
                let summary = crate::progress::from_wire(&wire).map_err(|reason| {
                    crate::store::TxFailure::Store(StoreError::Decode {
                        tree: "progress_summary_by_form_period_city".to_string(),
                        reason,
                    })
                })?;
                if !self.progress.keep_newest_in(tx, &summary)? {
                    tracing::debug!(%peer, city = %summary.city, form = %summary.form, period = %summary.period, "an older progress summary arrived late; kept the newer one");
                }
            }
            MessageKind::Reminder => {
                let reminder = envelope.decode_payload::<Reminder>().map_err(malformed)?;
                let notice = crate::urging::reminder_notice(&reminder).map_err(|reason| {
                    crate::store::TxFailure::Store(StoreError::Decode {
                        tree: "notice_by_audience_time".to_string(),
                        reason,
                    })
                })?;
                // The notice's key is made from the reminder: written again, still one.
                self.notices.put_in(tx, &notice)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Registry changes travel on without a decision: a city's go up to the
    /// nation through the province (forwarded intact), and the nation's go down
    /// to the city whose division holds the unit. Feedback and acceptance
    /// receipts from the nation go on down to the city concerned.
    fn relay_for(
        &self,
        peer: &NodeIdentity,
        envelope: &Envelope,
    ) -> Result<Option<OutgoingMessage>, StoreError> {
        let unit_division_going_down = match envelope.kind {
            MessageKind::Feedback => envelope
                .decode_payload::<Feedback>()
                .ok()
                .map(|feedback| feedback.unit_division),
            MessageKind::AcceptanceReceipt => envelope
                .decode_payload::<AcceptanceReceipt>()
                .ok()
                .map(|receipt| receipt.unit_division),
            _ => None,
        };
        if let Some(unit_division) = unit_division_going_down {
            if self.direction_from(peer) != Direction::Down {
                return Ok(None);
            }
            let child = self
                .config
                .children
                .iter()
                .find(|child| division_within(&unit_division, child.identity.division()));
            return Ok(child.map(|child| OutgoingMessage {
                message_id: outbound::new_message_id(),
                to: child.identity.clone(),
                kind: envelope.kind,
                payload_version: envelope.payload_version,
                payload: envelope.payload.clone(),
                forwarded: vec![envelope.clone()],
            }));
        }
        // Progress summaries go up like registry changes: the city's own
        // envelope forwarded intact, never re-aggregated on the way.
        if !matches!(
            envelope.kind,
            MessageKind::RegistryChange | MessageKind::ProgressSummary
        ) {
            return Ok(None);
        }
        let next_hop = match self.direction_from(peer) {
            Direction::Up => self
                .config
                .parent
                .as_ref()
                .map(|parent| parent.identity.clone()),
            Direction::Down => {
                let unit_division = envelope
                    .decode_payload::<RegistryChange>()
                    .ok()
                    .map(|change| change.unit.division);
                self.config
                    .children
                    .iter()
                    .find(|child| {
                        unit_division.as_deref().is_some_and(|division| {
                            division_within(division, child.identity.division())
                        })
                    })
                    .map(|child| child.identity.clone())
            }
        };
        Ok(next_hop.map(|to| OutgoingMessage {
            message_id: outbound::new_message_id(),
            to,
            kind: envelope.kind,
            payload_version: envelope.payload_version,
            payload: envelope.payload.clone(),
            forwarded: vec![envelope.clone()],
        }))
    }
}

enum PermanentRefusalOrRetry {
    Refuse(PermanentRefusal),
    Retry(InboundError),
}

impl From<PermanentRefusal> for PermanentRefusalOrRetry {
    fn from(permanent: PermanentRefusal) -> Self {
        PermanentRefusalOrRetry::Refuse(permanent)
    }
}

fn check_payload_within<P: Payload>(
    envelope: &Envelope,
    scope: &str,
) -> Result<(), PermanentRefusalOrRetry> {
    let payload = match envelope.decode_payload::<P>() {
        Ok(payload) => payload,
        Err(too_new @ PayloadError::UnsupportedVersion { .. }) => {
            return Err(PermanentRefusalOrRetry::Retry(InboundError::PayloadTooNew(
                too_new,
            )));
        }
        Err(other) => {
            return Err(refusal(
                RefusalCode::MalformedPayload,
                format!("message {}: {other}", envelope.message_id),
            )
            .into());
        }
    };
    for division in payload.concerned_divisions() {
        if !division_within(&division, scope) {
            return Err(refusal(
                RefusalCode::OutsideJurisdiction,
                format!(
                    "message {} from {} concerns division {division}, outside {scope}",
                    envelope.message_id, envelope.sender
                ),
            )
            .into());
        }
    }
    Ok(())
}

/// True when `division` is a real division inside `scope` (both six-digit codes).
fn division_within(division: &str, scope: &str) -> bool {
    match (DivisionCode::parse(division), DivisionCode::parse(scope)) {
        (Ok(division), Ok(scope)) => scope.contains(division),
        _ => false,
    }
}

/// A province's report batch must carry, forwarded intact, the city batches
/// that brought each report, with the same content; and every content hash
/// must match its content. So the nation checks every hop, not only the last.
fn check_report_batch_chain(envelope: &Envelope) -> Result<(), PermanentRefusalOrRetry> {
    let batch = match envelope.decode_payload::<ReportBatch>() {
        Ok(batch) => batch,
        Err(error) => return Err(refusal(RefusalCode::MalformedPayload, error.to_string()).into()),
    };
    let originals: Vec<ReportBatch> = envelope
        .originals()
        .into_iter()
        .filter(|original| !std::ptr::eq(*original, envelope))
        .filter_map(|original| original.decode_payload::<ReportBatch>().ok())
        .collect();
    for report in &batch.reports {
        let content = crate::report::ReportContent {
            values: report.values.clone(),
            rows: report.rows.clone(),
            explanations: report.explanations.clone(),
        };
        if content.content_hash() != report.content_hash {
            return Err(refusal(
                RefusalCode::MalformedPayload,
                format!(
                    "report {}/{}/{} v{}: the content does not match its hash",
                    report.unit, report.form, report.period, report.version
                ),
            )
            .into());
        }
        let from_a_city = envelope.sender.level() == zhibao_federation_protocol::NodeLevel::City;
        let vouched_by_original = originals.iter().any(|original| {
            original.reports.iter().any(|inner| {
                inner.unit == report.unit
                    && inner.form == report.form
                    && inner.period == report.period
                    && inner.version == report.version
                    && inner.content_hash == report.content_hash
            })
        });
        if !from_a_city && !vouched_by_original {
            return Err(refusal(
                RefusalCode::OutsideJurisdiction,
                format!(
                    "report {}/{}/{} v{} is not in any forwarded city batch: a province forwards only what its cities sent",
                    report.unit, report.form, report.period, report.version
                ),
            )
            .into());
        }
    }
    Ok(())
}

/// The unit's status as the city below has it (suspended with its reason,
/// resumed, closed) becomes its status here too, recorded in its history; a
/// status already in force changes nothing (a redelivered or relayed change).
#[allow(clippy::too_many_arguments)] // why: the transaction, where, which unit, what status, from whom, when
fn follow_status_from_below(
    tx: &crate::store::Transaction<'_>,
    registry: &crate::registry::store::RegistryStore,
    period: crate::registry::PeriodId,
    code: &crate::registry::UnitCode,
    status_below: crate::registry::UnitStatus,
    peer: &NodeIdentity,
    now: Timestamp,
) -> Result<(), crate::store::TxFailure> {
    use crate::registry::change::{ChangeError, UnitChange};
    let change = match status_below {
        crate::registry::UnitStatus::Active => UnitChange::Resume,
        crate::registry::UnitStatus::Suspended { reason } => UnitChange::Suspend { reason },
        crate::registry::UnitStatus::Closed => UnitChange::Close,
    };
    let request = crate::registry::change::ChangeRequest {
        change,
        changed_by: peer.to_uri(),
        at: now,
        why: "as the city recorded it (registry change from below)".to_string(),
    };
    match registry.apply_change_in(tx, period, code, request) {
        Ok(_)
        | Err(crate::store::TxError::Abort(crate::registry::store::RegistryStoreError::Change(
            ChangeError::UnitClosed | ChangeError::NotSuspended | ChangeError::NothingToChange(_),
        ))) => Ok(()),
        Err(other) => Err(registry_tx_failure(other)),
    }
}

/// A progress summary must be readable (divisions, form, period, states,
/// at most 500 late units) and must be a city's own: a city sends the
/// summary of its division only (the jurisdiction check already holds it
/// inside), and a province only relays, carrying the city's envelope with
/// the same payload, so the nation keeps each city's signed words.
fn check_progress_summary_chain(envelope: &Envelope) -> Result<(), PermanentRefusalOrRetry> {
    let summary = envelope
        .decode_payload::<ProgressSummary>()
        .map_err(|error| refusal(RefusalCode::MalformedPayload, error.to_string()))?;
    crate::progress::from_wire(&summary).map_err(|reason| {
        refusal(
            RefusalCode::MalformedPayload,
            format!("message {}: {reason}", envelope.message_id),
        )
    })?;
    let city_of_its_own = |sender: &NodeIdentity| {
        sender.level() == zhibao_federation_protocol::NodeLevel::City
            && sender.division() == summary.city
    };
    let vouched = city_of_its_own(&envelope.sender)
        || envelope.originals().into_iter().any(|original| {
            !std::ptr::eq(original, envelope)
                && city_of_its_own(&original.sender)
                && original.payload_version == envelope.payload_version
                && original.payload == envelope.payload
        });
    if vouched {
        Ok(())
    } else {
        Err(refusal(
            RefusalCode::OutsideJurisdiction,
            format!(
                "message {}: the progress summary of {} is not that city's own: a city sends its own, a province only relays them",
                envelope.message_id, summary.city
            ),
        )
        .into())
    }
}

/// A reminder must be readable (divisions, form, period, level, text) and
/// must be its sender's own: reminders are not relayed, so the bureau that
/// urged is the node that signed.
fn check_reminder(envelope: &Envelope) -> Result<(), PermanentRefusalOrRetry> {
    let reminder = envelope
        .decode_payload::<Reminder>()
        .map_err(|error| refusal(RefusalCode::MalformedPayload, error.to_string()))?;
    crate::urging::reminder_notice(&reminder).map_err(|reason| {
        refusal(
            RefusalCode::MalformedPayload,
            format!("message {}: {reason}", envelope.message_id),
        )
    })?;
    let own = reminder.from_division == envelope.sender.division()
        && reminder.from_level == envelope.sender.level().as_str();
    if own && envelope.forwarded.is_empty() {
        Ok(())
    } else {
        Err(refusal(
            RefusalCode::OutsideJurisdiction,
            format!(
                "message {}: a reminder from {} {} is not {}'s own: a bureau sends its own reminders, none are relayed",
                envelope.message_id, reminder.from_level, reminder.from_division, envelope.sender
            ),
        )
        .into())
    }
}

fn registry_tx_failure(
    error: TxError<crate::registry::store::RegistryStoreError>,
) -> crate::store::TxFailure {
    match error {
        TxError::Engine(engine) => crate::store::TxFailure::Engine(engine.into_inner()),
        TxError::Abort(refusal) => crate::store::TxFailure::Store(StoreError::Decode {
            tree: "registry_by_period_code".to_string(),
            reason: refusal.to_string(),
        }),
    }
}

/// A registry change whose unit cannot be read is refused for good.
fn check_registry_change_readable(envelope: &Envelope) -> Result<(), PermanentRefusalOrRetry> {
    let change = envelope
        .decode_payload::<RegistryChange>()
        .map_err(|error| refusal(RefusalCode::MalformedPayload, error.to_string()))?;
    crate::registry::flow::unit_from_the_wire(&change.unit).map_err(|reason| {
        refusal(
            RefusalCode::MalformedPayload,
            format!("message {}: {reason}", envelope.message_id),
        )
    })?;
    crate::registry::PeriodId::parse(&change.period).map_err(|error| {
        refusal(
            RefusalCode::MalformedPayload,
            format!("message {}: period: {error}", envelope.message_id),
        )
    })?;
    Ok(())
}

impl Inbound<'_> {
    /// Standards travel down to every child: the national standard and the
    /// calendar through the province to its cities, a province's extension to
    /// its cities — each forwarded intact inside this node's envelope.
    fn relays_to_every_child(
        &self,
        peer: &NodeIdentity,
        envelope: &Envelope,
    ) -> Vec<OutgoingMessage> {
        let travels_on = matches!(
            envelope.kind,
            MessageKind::MetadataRelease | MessageKind::PeriodRelease
        );
        if !travels_on || self.direction_from(peer) != Direction::Down {
            return Vec::new();
        }
        self.config
            .children
            .iter()
            .map(|child| OutgoingMessage {
                message_id: outbound::new_message_id(),
                to: child.identity.clone(),
                kind: envelope.kind,
                payload_version: envelope.payload_version,
                payload: envelope.payload.clone(),
                forwarded: vec![envelope.clone()],
            })
            .collect()
    }
}

fn decode_release(
    envelope: &Envelope,
) -> Result<crate::metadata::MetadataRelease, PermanentRefusal> {
    let payload = envelope
        .decode_payload::<MetadataReleasePayload>()
        .map_err(|error| refusal(RefusalCode::MalformedPayload, error.to_string()))?;
    if payload.body_format != 1 {
        return Err(refusal(
            RefusalCode::MalformedPayload,
            format!(
                "metadata body format {} is not readable here",
                payload.body_format
            ),
        ));
    }
    serde_json::from_str(&payload.body).map_err(|error| {
        refusal(
            RefusalCode::MalformedPayload,
            format!("metadata release: {error}"),
        )
    })
}

/// A release from above must be the nation's or our own province's.
fn check_metadata_release(
    envelope: &Envelope,
    ours: &DivisionCode,
) -> Result<(), PermanentRefusalOrRetry> {
    let release = decode_release(envelope)?;
    let acceptable = match release.origin {
        crate::metadata::Origin::National => true,
        crate::metadata::Origin::Province(province) => province.contains(*ours),
        crate::metadata::Origin::City(_) => false,
    };
    if acceptable {
        Ok(())
    } else {
        Err(refusal(
            RefusalCode::OutsideJurisdiction,
            format!(
                "a metadata release of {} does not apply to {ours}",
                release.origin
            ),
        )
        .into())
    }
}

fn decode_calendar(
    envelope: &Envelope,
) -> Result<(i64, crate::metadata::period::PeriodCalendar), PermanentRefusalOrRetry> {
    let payload = envelope
        .decode_payload::<PeriodReleasePayload>()
        .map_err(|error| refusal(RefusalCode::MalformedPayload, error.to_string()))?;
    let calendar = serde_json::from_str(&payload.body)
        .map_err(|error| refusal(RefusalCode::MalformedPayload, format!("calendar: {error}")))?;
    Ok((payload.set_at_ms, calendar))
}

impl PermanentRefusalOrRetry {
    fn reason(&self) -> String {
        match self {
            PermanentRefusalOrRetry::Refuse(refused) => refused.reason.clone(),
            PermanentRefusalOrRetry::Retry(error) => error.to_string(),
        }
    }
}
