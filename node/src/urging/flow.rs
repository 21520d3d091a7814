//! The deadline tick and the "urge" action over the node's state. Each
//! writes its notices in one transaction and returns once they are durable.

use zhibao_federation_protocol::NodeLevel;

use super::{
    Audience, DeadlineEvent, Notice, bureau_deadline_notice, deadline_events,
    overdue_return_notices, review_stage_of, still_owes_submission, unit_deadline_notice,
    urge_notice,
};
use crate::clock::Timestamp;
use crate::division::DivisionCode;
use crate::federation::outbound::{self, OutgoingMessage};
use crate::metadata::period::Stage;
use crate::node::NodeState;
use crate::registry::{StatusKind, UnitCode, store::UnitFilter};
use crate::report::ReportKey;
use crate::store::{StoreError, TxError};

/// The name under which the deadline job records how far it got.
pub const DEADLINE_JOB: &str = "deadlines";

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TickSummary {
    /// Calendar events handled.
    pub events: usize,
    /// Notices written (the same notice written again counts again).
    pub notices: usize,
}

/// Why urging was refused.
#[derive(Debug, thiserror::Error)]
pub enum UrgeError {
    /// A form, period or unit this node does not know, or not the caller's;
    /// a division that is not one of this node's children.
    #[error("{0}")]
    NotFound(String),
    /// Not what this level urges (a city urges units, a province or the
    /// nation the bureaus below).
    #[error("{0}")]
    NotThisLevel(&'static str),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn store_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Engine(error.to_string())
}

/// Handles every calendar event since the last tick up to `now`, and flags
/// returned reports past their deadline. The first tick of a node only
/// records `now`: deadlines before a node existed are nobody's news.
pub async fn run_deadline_tick(
    state: &NodeState,
    now: Timestamp,
) -> Result<TickSummary, StoreError> {
    let after = match state.notices.run_through(DEADLINE_JOB)? {
        Some(after) if after >= now => return Ok(TickSummary::default()),
        Some(after) => after,
        None => {
            write_notices(state, &[], Some(now))?;
            state.store.commit_durable().await?;
            return Ok(TickSummary::default());
        }
    };
    let standards = state.standards();
    let events = deadline_events(&standards.calendar, after, now);
    let mut notices = Vec::new();
    for event in &events {
        let row_form = standards
            .metadata
            .form(&event.form)
            .is_none_or(|form| form.row_form);
        if !row_form {
            notices.extend(notices_of_event(state, event)?);
        }
    }
    if state.config.level() == NodeLevel::City {
        notices.extend(overdue_notices(state, now)?);
    }
    write_notices(state, &notices, Some(now))?;
    state.store.commit_durable().await?;
    Ok(TickSummary {
        events: events.len(),
        notices: notices.len(),
    })
}

fn write_notices(
    state: &NodeState,
    notices: &[Notice],
    run_through: Option<Timestamp>,
) -> Result<(), StoreError> {
    state.store.transaction(
        &[&state.notices.notices, &state.notices.run_through],
        |tx| {
            for notice in notices {
                state.notices.put_in(tx, notice)?;
            }
            if let Some(moment) = run_through {
                tx.insert(
                    &state.notices.run_through,
                    DEADLINE_JOB.as_bytes(),
                    &super::store::RunThrough { at_ms: moment.0 },
                )?;
            }
            Ok::<(), TxError<StoreError>>(())
        },
    )
}

/// The active units of the node's jurisdiction (or `within`) registered for a period.
fn active_units(
    state: &NodeState,
    period: &str,
    within: DivisionCode,
) -> Result<Vec<String>, StoreError> {
    let Ok(registry_period) = crate::registry::PeriodId::parse(period) else {
        return Ok(Vec::new());
    };
    let entries = state
        .registry
        .list(registry_period, Some(&UnitFilter::within(within)))
        .map_err(store_error)?;
    Ok(entries
        .into_iter()
        .filter(|entry| entry.unit.status.kind() == StatusKind::Active)
        .map(|entry| entry.unit.code.as_str().to_string())
        .collect())
}

/// The units of the jurisdiction that still owe a report of `form` for `period`.
fn units_owing(
    state: &NodeState,
    form: &str,
    period: &str,
    within: DivisionCode,
) -> Result<Vec<String>, StoreError> {
    let mut owing = Vec::new();
    for unit in active_units(state, period, within)? {
        let key = ReportKey {
            unit: unit.clone(),
            form: form.to_string(),
            period: period.to_string(),
        };
        let report_state = state
            .reports
            .status
            .get(&key.to_bytes())?
            .map(|status| status.state);
        if still_owes_submission(report_state) {
            owing.push(unit);
        }
    }
    Ok(owing)
}

/// Reports of `form` and `period` waiting for this level's decision.
fn awaiting_this_level(state: &NodeState, form: &str, period: &str) -> Result<usize, StoreError> {
    let mut count = 0;
    if state.config.level() == NodeLevel::City {
        for entry in state.reports.status.scan_prefix(&[]) {
            let (key, status) = entry?;
            let Some(key) = ReportKey::from_bytes(&key) else {
                continue;
            };
            if key.form == form
                && key.period == period
                && status.state == crate::report::ReportState::Submitted
            {
                count += 1;
            }
        }
    } else {
        for entry in state.review.received.scan_prefix(&[]) {
            let (_, received) = entry?;
            if received.report.form == form
                && received.report.period == period
                && received.state == crate::review::UpperState::AwaitingReview
            {
                count += 1;
            }
        }
    }
    Ok(count)
}

fn notices_of_event(state: &NodeState, event: &DeadlineEvent) -> Result<Vec<Notice>, StoreError> {
    let form = event.form.to_string();
    let period = event.period.to_string();
    let level = state.config.level();
    let mut notices = Vec::new();
    if event.stage == Stage::UnitEntry && level == NodeLevel::City {
        let owing = units_owing(state, &form, &period, state.config.division)?;
        notices.extend(owing.iter().map(|unit| unit_deadline_notice(event, unit)));
        if !owing.is_empty() {
            notices.push(bureau_deadline_notice(event, owing.len()));
        }
    } else if event.stage == review_stage_of(level) {
        let waiting = awaiting_this_level(state, &form, &period)?;
        if waiting > 0 {
            notices.push(bureau_deadline_notice(event, waiting));
        }
    }
    Ok(notices)
}

fn overdue_notices(state: &NodeState, now: Timestamp) -> Result<Vec<Notice>, StoreError> {
    let mut notices = Vec::new();
    for entry in state.reports.status.scan_prefix(&[]) {
        let (key, status) = entry?;
        let Some(key) = ReportKey::from_bytes(&key) else {
            continue;
        };
        if let Some(returned) = status
            .returned
            .as_ref()
            .filter(|_| crate::report::is_overdue(&status, now))
        {
            notices.extend(overdue_return_notices(
                &key.unit,
                &key.form,
                &key.period,
                Timestamp(returned.due_ms),
            ));
        }
    }
    Ok(notices)
}

/// A city bureau urges units (催报): the listed ones, or every unit of its
/// jurisdiction (`within`) that still owes the report. Recorded in the audit
/// log; answers the units urged.
#[allow(clippy::too_many_arguments)] // why: what to urge, whom, in which words, by whom and when
pub async fn urge_units(
    state: &NodeState,
    form: &str,
    period: &str,
    units: Option<Vec<String>>,
    message: Option<&str>,
    within: DivisionCode,
    by: &str,
    now: Timestamp,
) -> Result<Vec<String>, UrgeError> {
    let targets = match units {
        Some(units) => {
            for unit in &units {
                let in_jurisdiction = UnitCode::parse(unit)
                    .ok()
                    .and_then(|code| state.registry.current_unit(&code).ok().flatten())
                    .is_some_and(|current| within.contains(current.unit.county));
                if !in_jurisdiction {
                    return Err(UrgeError::NotFound(format!(
                        "辖区内没有单位 {unit} / no unit {unit} in this jurisdiction"
                    )));
                }
            }
            units
        }
        None => units_owing(state, form, period, within)?,
    };
    let notices: Vec<Notice> = targets
        .iter()
        .map(|unit| urge_notice(unit, form, period, message, by, now))
        .collect();
    let subject = format!("{form}/{period}: {} unit(s)", targets.len());
    state
        .store
        .transaction(&[&state.notices.notices, &state.audit.entries], |tx| {
            for notice in &notices {
                state.notices.put_in(tx, notice)?;
            }
            crate::audit::append(
                tx,
                &state.audit,
                &crate::audit::AuditEvent {
                    actor: by,
                    action: "report.urge",
                    subject: subject.clone(),
                    content_hash: None,
                },
                now,
            )?;
            Ok::<(), TxError<StoreError>>(())
        })?;
    state.store.commit_durable().await?;
    Ok(targets)
}

/// A province or the nation urges the bureaus directly below it (催报): the
/// listed child divisions, or every child node whose units still owe the
/// report as the progress data shows ([`crate::progress::bureaus_owing`]). One
/// `Reminder` message per child, queued in the transaction of the audit
/// entry; answers the divisions urged once all is durable.
#[allow(clippy::too_many_arguments)] // why: what to urge, whom, in which words, by whom and when
pub async fn urge_bureaus(
    state: &NodeState,
    form: &str,
    period: &str,
    divisions: Option<Vec<String>>,
    message: Option<&str>,
    by: &str,
    now: Timestamp,
) -> Result<Vec<DivisionCode>, UrgeError> {
    let children: Vec<(DivisionCode, zhibao_federation_protocol::NodeIdentity)> = state
        .config
        .children
        .iter()
        .filter_map(|child| {
            DivisionCode::parse(child.identity.division())
                .ok()
                .map(|division| (division, child.identity.clone()))
        })
        .collect();
    let child_divisions: Vec<DivisionCode> =
        children.iter().map(|(division, _)| *division).collect();
    let targets = match divisions {
        Some(listed) => {
            let mut targets = Vec::new();
            for text in &listed {
                let child = DivisionCode::parse(text)
                    .ok()
                    .filter(|division| child_divisions.contains(division))
                    .ok_or_else(|| {
                        UrgeError::NotFound(format!(
                            "下级中没有区划 {text} / no division {text} directly below this bureau"
                        ))
                    })?;
                if !targets.contains(&child) {
                    targets.push(child);
                }
            }
            targets
        }
        None => {
            let Ok(registry_period) = crate::registry::PeriodId::parse(period) else {
                return Err(UrgeError::NotFound(format!(
                    "没有报告期 {period} / no period {period}"
                )));
            };
            let view = crate::progress::flow::progress_view(
                state,
                form,
                period,
                registry_period,
                state.config.division,
                now,
            )
            .map_err(store_error)?;
            crate::progress::bureaus_owing(&view.rows, &child_divisions)
        }
    };
    let mut messages = Vec::new();
    for target in &targets {
        let Some((_, identity)) = children.iter().find(|(division, _)| division == target) else {
            continue;
        };
        let reminder = super::reminder_for(
            state.config.level(),
            state.config.division,
            *target,
            form,
            period,
            message,
            by,
            now,
        );
        messages.push(OutgoingMessage::new(identity.clone(), &reminder, vec![])?);
    }
    let subject = format!(
        "{form}/{period}: {}",
        targets
            .iter()
            .map(DivisionCode::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    let federation = &state.federation.trees;
    let [outbox, next_sequence] = federation.enqueue_handles();
    state
        .store
        .transaction(&[&state.audit.entries, outbox, next_sequence], |tx| {
            crate::audit::append(
                tx,
                &state.audit,
                &crate::audit::AuditEvent {
                    actor: by,
                    action: "report.urge_bureaus",
                    subject: subject.clone(),
                    content_hash: None,
                },
                now,
            )?;
            for outgoing in &messages {
                outbound::enqueue(tx, federation, &state.federation.sealer, outgoing, now)?;
            }
            Ok::<(), TxError<StoreError>>(())
        })?;
    state.store.commit_durable().await?;
    for outgoing in &messages {
        state.federation.wake(&outgoing.to);
    }
    Ok(targets)
}

/// The notices a user sees: a unit's own, or the bureau's.
pub fn notices_for(
    state: &NodeState,
    audience: &Audience,
    limit: usize,
) -> Result<Vec<Notice>, StoreError> {
    state.notices.newest_for(audience, limit)
}
