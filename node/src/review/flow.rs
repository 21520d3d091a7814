//! The review workflow across levels: each decision changes the report's
//! state and queues the message it causes **in one transaction**, then makes
//! it durable and wakes the sender. Approved data flows up (D2); feedback,
//! returns and acceptance receipts flow down (D3).

use zhibao_federation_protocol::messages::{
    AcceptanceReceipt, CommentOnTheWire, Feedback, ReportBatch, ReportOnTheWire,
};
use zhibao_federation_protocol::{Envelope, NodeIdentity, NodeLevel};

use super::store::ReviewTrees;
use super::{ReceivedReport, UpperState};
use crate::clock::Timestamp;
use crate::federation::outbound::{self, OutgoingMessage};
use crate::federation::store::peer_sequence_key;
use crate::node::NodeState;
use crate::report::store::{ReportStoreError, version_key};
use crate::report::{Comment, ReportError, ReportKey, ReportStatus};
use crate::store::{StoreError, TxError, TxFailure};

/// What the wire needs to know about a unit that the report does not carry.
#[derive(Debug, Clone)]
pub struct UnitOnReport {
    /// County division code.
    pub division: String,
    /// Name.
    pub name: String,
    /// Industry code (for the totals by industry).
    pub industry: String,
    /// Control classes (for the totals by class).
    pub classes: Vec<String>,
}

impl UnitOnReport {
    /// What a registered unit contributes to a report on the wire and to the totals.
    pub fn of(unit: &crate::registry::SurveyUnit) -> UnitOnReport {
        UnitOnReport {
            division: unit.county.to_string(),
            name: unit.name.clone(),
            industry: unit.industry.as_str().to_string(),
            classes: unit
                .classes
                .iter()
                .map(|class| class.code_word().to_string())
                .collect(),
        }
    }
}

/// The unit facts an upper level holds (from registry changes), or what the report carries.
fn unit_at_this_level(state: &NodeState, report: &ReportOnTheWire) -> UnitOnReport {
    let registered = crate::registry::UnitCode::parse(&report.unit)
        .ok()
        .and_then(|code| state.registry.current_unit(&code).ok().flatten());
    match registered {
        Some(current) => UnitOnReport::of(&current.unit),
        None => UnitOnReport {
            division: report.unit_division.clone(),
            name: report.unit_name.clone(),
            industry: String::new(),
            classes: Vec::new(),
        },
    }
}

fn contribution_of(
    unit: &UnitOnReport,
    version: u32,
    values: &std::collections::BTreeMap<String, String>,
) -> crate::aggregate::Contribution {
    crate::aggregate::Contribution {
        version,
        dimensions: crate::aggregate::dimensions(&unit.division, &unit.industry, &unit.classes),
        values: values.clone(),
    }
}

fn abort(error: ReportError) -> TxError<ReportStoreError> {
    TxError::Abort(ReportStoreError::Report(error))
}

fn not_found() -> ReportError {
    ReportError::WrongState {
        state: "未收到 / not received",
        action: "审核 / review",
    }
}

fn to_wire_comments(comments: &[Comment]) -> Vec<CommentOnTheWire> {
    comments
        .iter()
        .map(|comment| CommentOnTheWire {
            indicator: comment.indicator.clone(),
            text: comment.text.clone(),
        })
        .collect()
}

fn message<P: zhibao_federation_protocol::messages::Payload>(
    to: NodeIdentity,
    payload: &P,
    forwarded: Vec<Envelope>,
) -> Result<OutgoingMessage, TxFailure> {
    OutgoingMessage::new(to, payload, forwarded).map_err(TxFailure::Store)
}

async fn durable_and_wake(
    state: &NodeState,
    peer: Option<&NodeIdentity>,
) -> Result<(), StoreError> {
    state.store.commit_durable().await?;
    if let Some(peer) = peer {
        state.federation.wake(peer);
    }
    Ok(())
}

/// City: sends the latest version of a report up, approved (and annotated, if
/// `annotation` is given), in the transaction of `change`.
async fn send_up_from_city(
    state: &NodeState,
    action: &str,
    key: &ReportKey,
    unit: &UnitOnReport,
    by: &str,
    now: Timestamp,
    change: impl Fn(&ReportStatus) -> Result<ReportStatus, ReportError>,
) -> Result<ReportStatus, ReportStoreError> {
    let parent = state
        .config
        .parent
        .as_ref()
        .map(|parent| parent.identity.clone());
    let reports = &state.reports;
    let federation = &state.federation.trees;
    let key_bytes = key.to_bytes();
    let status = state.store.transaction(
        &[
            &reports.status,
            &reports.versions,
            &federation.outbox,
            &federation.next_sequence,
            &state.audit.entries,
            &state.aggregates.totals,
            &state.aggregates.contributions,
            &state.aggregates.cross_cells,
            &state.aggregates.cross_slots,
        ],
        |tx| {
            let status = tx
                .get(&reports.status, &key_bytes)?
                .ok_or_else(|| abort(not_found()))?;
            let next = change(&status).map_err(abort)?;
            log(
                tx,
                state,
                by,
                action,
                key,
                next.latest_version.unwrap_or(0),
                None,
                now,
            )?;
            let number = next.latest_version.unwrap_or(0);
            let version = tx
                .get(&reports.versions, &version_key(key, number))?
                .ok_or_else(|| abort(not_found()))?;
            tx.insert(&reports.status, &key_bytes, &next)?;
            if next.state == crate::report::ReportState::Approved {
                let contribution = contribution_of(unit, version.number, &version.content.values);
                crate::aggregate::count_accepted(tx, &state.aggregates, key, contribution)?;
            }
            if let Some(parent) = &parent {
                let batch = ReportBatch {
                    reports: vec![ReportOnTheWire {
                        unit: key.unit.clone(),
                        unit_division: unit.division.clone(),
                        unit_name: unit.name.clone(),
                        form: key.form.clone(),
                        period: key.period.clone(),
                        version: version.number,
                        values: version.content.values.clone(),
                        rows: version.content.rows.clone(),
                        explanations: version.content.explanations.clone(),
                        content_hash: version.content_hash.clone(),
                        approved_by: by.to_string(),
                        approved_at_ms: now.0,
                        annotation: next.annotation.clone(),
                    }],
                };
                outbound::enqueue(
                    tx,
                    federation,
                    &state.federation.sealer,
                    &message(parent.clone(), &batch, vec![])?,
                    now,
                )?;
            }
            Ok(next)
        },
    )?;
    durable_and_wake(state, parent.as_ref()).await?;
    Ok(status)
}

/// City: approves the latest version and forwards it to the province.
pub async fn city_approve(
    state: &NodeState,
    key: &ReportKey,
    unit: &UnitOnReport,
    comment: Option<String>,
    by: &str,
    now: Timestamp,
) -> Result<ReportStatus, ReportStoreError> {
    send_up_from_city(state, "report.approve", key, unit, by, now, |status| {
        crate::report::approve(status, comment.clone(), by, now)
    })
    .await
}

/// City: answers an upper level's feedback with an annotation and sends the
/// same version up again for the upper level to decide (R32).
pub async fn city_annotate(
    state: &NodeState,
    key: &ReportKey,
    unit: &UnitOnReport,
    text: &str,
    by: &str,
    now: Timestamp,
) -> Result<ReportStatus, ReportStoreError> {
    send_up_from_city(state, "report.annotate", key, unit, by, now, |status| {
        crate::report::annotate(status, text, by, now)
    })
    .await
}

/// The level of this node as the wire names it.
fn level_name(state: &NodeState) -> &'static str {
    state.config.level().as_str()
}

/// Province or national: approves the version held. A province forwards it to
/// the nation with the city's signed batch inside its own; the nation accepts
/// it into the direct-report database and sends the receipt down.
pub async fn upper_approve(
    state: &NodeState,
    key: &ReportKey,
    comment: Option<String>,
    by: &str,
    now: Timestamp,
) -> Result<ReceivedReport, ReportStoreError> {
    let national = state.config.level() == NodeLevel::National;
    let review = &state.review;
    let federation = &state.federation.trees;
    let key_bytes = key.to_bytes();
    let parent = state
        .config
        .parent
        .as_ref()
        .map(|parent| parent.identity.clone());
    let mut woken = None;
    let unit = match review.received.get(&key_bytes)? {
        Some(received) => unit_at_this_level(state, &received.report),
        None => return Err(ReportStoreError::Report(not_found())),
    };
    let received = state.store.transaction(
        &[
            &review.received,
            &federation.received,
            &federation.outbox,
            &federation.next_sequence,
            &state.audit.entries,
            &state.aggregates.totals,
            &state.aggregates.contributions,
            &state.aggregates.cross_cells,
            &state.aggregates.cross_slots,
        ],
        |tx| {
            let received = tx
                .get(&review.received, &key_bytes)?
                .ok_or_else(|| abort(not_found()))?;
            let next =
                super::approve(&received, national, comment.clone(), by, now).map_err(abort)?;
            let contribution =
                contribution_of(&unit, received.report.version, &received.report.values);
            crate::aggregate::count_accepted(tx, &state.aggregates, key, contribution)?;
            let action = if national {
                "review.accept"
            } else {
                "review.approve"
            };
            let hash = Some(received.report.content_hash.clone());
            log(
                tx,
                state,
                by,
                action,
                key,
                received.report.version,
                hash,
                now,
            )?;
            tx.insert(&review.received, &key_bytes, &next)?;
            let child = stored_identity(&received.from_child)?;
            if national {
                let receipt = AcceptanceReceipt {
                    unit: key.unit.clone(),
                    unit_division: received.report.unit_division.clone(),
                    form: key.form.clone(),
                    period: key.period.clone(),
                    version: received.report.version,
                    content_hash: received.report.content_hash.clone(),
                    level: level_name(state).to_string(),
                    at_ms: now.0,
                };
                outbound::enqueue(
                    tx,
                    federation,
                    &state.federation.sealer,
                    &message(child, &receipt, vec![])?,
                    now,
                )?;
            } else if let Some(parent) = &parent {
                let sender = stored_identity(&received.envelope_sender)?;
                let original = tx.get(
                    &federation.received,
                    &peer_sequence_key(&sender, received.envelope_sequence),
                )?;
                let mut report = received.report.clone();
                report.approved_by = by.to_string();
                report.approved_at_ms = now.0;
                let batch = ReportBatch {
                    reports: vec![report],
                };
                outbound::enqueue(
                    tx,
                    federation,
                    &state.federation.sealer,
                    &message(parent.clone(), &batch, original.into_iter().collect())?,
                    now,
                )?;
            }
            Ok(next)
        },
    )?;
    if national {
        woken = NodeIdentity::from_uri(&received.from_child).ok();
    }
    durable_and_wake(state, woken.as_ref().or(parent.as_ref())).await?;
    Ok(received)
}

/// Province or national: sends feedback about the version held down to the
/// child that sent it (D3).
pub async fn upper_feedback(
    state: &NodeState,
    key: &ReportKey,
    comments: Vec<Comment>,
    by: &str,
    now: Timestamp,
) -> Result<ReceivedReport, ReportStoreError> {
    let review = &state.review;
    let federation = &state.federation.trees;
    let key_bytes = key.to_bytes();
    let received = state.store.transaction(
        &[
            &review.received,
            &federation.outbox,
            &federation.next_sequence,
            &state.audit.entries,
        ],
        |tx| {
            let received = tx
                .get(&review.received, &key_bytes)?
                .ok_or_else(|| abort(not_found()))?;
            log(
                tx,
                state,
                by,
                "review.feedback",
                key,
                received.report.version,
                None,
                now,
            )?;
            let (next, record) =
                super::send_feedback(&received, level_name(state), comments.clone(), by, now)
                    .map_err(abort)?;
            tx.insert(&review.received, &key_bytes, &next)?;
            let child = stored_identity(&received.from_child)?;
            let feedback = Feedback {
                unit: key.unit.clone(),
                unit_division: received.report.unit_division.clone(),
                form: key.form.clone(),
                period: key.period.clone(),
                version: record.version,
                from_level: record.from_level.clone(),
                by: by.to_string(),
                at_ms: now.0,
                comments: to_wire_comments(&record.comments),
            };
            outbound::enqueue(
                tx,
                federation,
                &state.federation.sealer,
                &message(child, &feedback, vec![])?,
                now,
            )?;
            Ok(next)
        },
    )?;
    let child = NodeIdentity::from_uri(&received.from_child).ok();
    durable_and_wake(state, child.as_ref()).await?;
    Ok(received)
}

/// Reports at this upper level in a given state (the review queue).
pub fn upper_queue(
    review: &ReviewTrees,
    state_filter: Option<UpperState>,
) -> Result<Vec<ReceivedReport>, StoreError> {
    review
        .received
        .scan_prefix(&[])
        .filter_map(|entry| match entry {
            Ok((_, received)) if state_filter.is_none_or(|wanted| received.state == wanted) => {
                Some(Ok(received))
            }
            Ok(_) => None,
            Err(error) => Some(Err(error)),
        })
        .collect()
}

/// Appends this decision to the audit log (inside the deciding transaction).
#[allow(clippy::too_many_arguments)] // why: one call site per decision; a struct would only rename the arguments
fn log(
    tx: &crate::store::Transaction<'_>,
    state: &NodeState,
    by: &str,
    action: &str,
    key: &ReportKey,
    version: u32,
    content_hash: Option<String>,
    now: Timestamp,
) -> Result<(), TxFailure> {
    crate::audit::append(
        tx,
        &state.audit,
        &crate::audit::AuditEvent {
            actor: by,
            action,
            subject: crate::report::store::subject(key, version),
            content_hash,
        },
        now,
    )?;
    Ok(())
}

/// A node identity kept in a received report (written by this node, so well formed).
fn stored_identity(uri: &str) -> Result<NodeIdentity, TxFailure> {
    NodeIdentity::from_uri(uri).map_err(|error| {
        TxFailure::Store(StoreError::Decode {
            tree: "received_report_by_key".to_string(),
            reason: error.to_string(),
        })
    })
}
