//! The city's progress summary tick: count, compare with what was sent last,
//! and queue a summary upward only when something changed, in the
//! transaction that records what was sent. Safe to run at any time and
//! twice at once: the comparison is inside the transaction.

use zhibao_federation_protocol::NodeLevel;

use super::{CitySummary, store::SentSummary, store::form_period_key, summarize, to_wire};
use crate::aggregate::progress::progress;
use crate::clock::Timestamp;
use crate::federation::outbound::{self, OutgoingMessage};
use crate::node::NodeState;
use crate::store::{StoreError, TxError};

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SummaryTick {
    /// Summaries queued to the parent.
    pub sent: usize,
    /// Forms and periods whose summary had not changed since the last one sent.
    pub unchanged: usize,
}

/// The forms (not row forms) and the period being reported for each.
fn forms_and_periods(state: &NodeState) -> Vec<(String, String)> {
    let standards = state.standards();
    standards
        .metadata
        .forms
        .iter()
        .filter(|form| !form.row_form)
        .map(|form| {
            let period = match form.period_kind {
                crate::metadata::PeriodKind::Annual => standards.annual_period,
                crate::metadata::PeriodKind::Quarterly => standards.quarterly_period,
            };
            (form.code.as_str().to_string(), period.to_string())
        })
        .collect()
}

/// Counts the city's units on every form for the period being reported and
/// queues a summary to the parent for each that changed since the last one
/// sent (nothing at a province or the nation, nor for a form and period with
/// no unit that was never sent). Returns once what it queued is durable.
pub async fn run_progress_summary_tick(
    state: &NodeState,
    now: Timestamp,
) -> Result<SummaryTick, StoreError> {
    let Some(parent) = state
        .config
        .parent
        .as_ref()
        .map(|parent| parent.identity.clone())
    else {
        return Ok(SummaryTick::default());
    };
    if state.config.level() != NodeLevel::City {
        return Ok(SummaryTick::default());
    }
    let mut tick = SummaryTick::default();
    for (form, period) in forms_and_periods(state) {
        let Ok(registry_period) = crate::registry::PeriodId::parse(&period) else {
            continue;
        };
        let report = progress(
            state,
            &form,
            &period,
            registry_period,
            state.config.division,
            now,
        )
        .map_err(|error| StoreError::Engine(error.to_string()))?;
        let summary = summarize(state.config.division, &form, &period, &report, now);
        let message = OutgoingMessage::new(parent.clone(), &to_wire(&summary), vec![])?;
        if queue_if_changed(state, &summary, &message, now)? {
            tick.sent += 1;
        } else {
            tick.unchanged += 1;
        }
    }
    if tick.sent > 0 {
        state.store.commit_durable().await?;
        state.federation.wake(&parent);
    }
    Ok(tick)
}

/// Queues `message` (carrying `summary`) and records it as sent, unless the
/// last summary sent for its form and period has the same content, or there
/// is nothing to count and nothing was ever sent. Returns whether it queued.
fn queue_if_changed(
    state: &NodeState,
    summary: &CitySummary,
    message: &OutgoingMessage,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let content_hash = summary.content_hash();
    let nothing_counted = summary.counties.iter().all(|(_, counts)| counts.is_empty());
    let key = form_period_key(&summary.form, &summary.period);
    let federation = &state.federation.trees;
    let [outbox, next_sequence] = federation.enqueue_handles();
    state
        .store
        .transaction(&[&state.progress.sent, outbox, next_sequence], |tx| {
            let last = tx.get(&state.progress.sent, &key)?;
            let unchanged = match &last {
                Some(last) => last.content_hash == content_hash,
                None => nothing_counted,
            };
            if unchanged {
                return Ok(false);
            }
            outbound::enqueue(tx, federation, &state.federation.sealer, message, now)?;
            tx.insert(
                &state.progress.sent,
                &key,
                &SentSummary {
                    content_hash: content_hash.clone(),
                    computed_at_ms: summary.computed_at_ms,
                    message_id: message.message_id.clone(),
                },
            )?;
            Ok::<bool, TxError<StoreError>>(true)
        })
}

/// What `GET /api/v1/progress` and the `/progress` page show.
#[derive(Debug, Clone)]
pub struct ProgressView {
    /// The live report (late units counted here, per-city counts).
    pub report: crate::aggregate::progress::ProgressReport,
    /// Per child division, the cities' summaries where they arrived.
    pub rows: Vec<super::ProgressRow>,
    /// Child divisions behind.
    pub late_bureaus: Vec<super::LateBureau>,
    /// The summaries held within the scope, by city.
    pub summaries: std::collections::BTreeMap<crate::division::DivisionCode, CitySummary>,
}

/// The progress of `form` and `period` within `scope` at `now`: the live
/// counts, with each city's summary in place of what this node can count
/// itself, and the late bureaus (behind the rest, or owing after the unit
/// entry window closed).
pub fn progress_view(
    state: &NodeState,
    form: &str,
    period: &str,
    registry_period: crate::registry::PeriodId,
    scope: crate::division::DivisionCode,
    now: Timestamp,
) -> Result<ProgressView, crate::registry::store::RegistryStoreError> {
    let report = progress(state, form, period, registry_period, scope, now)?;
    let summaries = super::within(state.progress.of_form_period(form, period)?, scope);
    let listed: Vec<CitySummary> = summaries.values().cloned().collect();
    let rows = super::rows_with_summaries(&report, &listed, now);
    let standards = state.standards();
    let entry_closed = crate::metadata::FormCode::parse(form)
        .ok()
        .zip(crate::metadata::period::PeriodId::parse(period).ok())
        .and_then(|(form, period)| {
            standards
                .calendar
                .window(period, &form, crate::metadata::period::Stage::UnitEntry)
        })
        .is_some_and(|window| now >= window.closes_at);
    let late_bureaus = super::late_bureaus(&rows, entry_closed);
    Ok(ProgressView {
        report,
        rows,
        late_bureaus,
        summaries,
    })
}
