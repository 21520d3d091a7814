//! Reporting progress (掌握上报情况, R11/R20/R31): per child division (at a
//! city: per county) how many units are expected and where their report of a
//! form and period stands, and the units still owing one, with their
//! deadline. Read live from the registry and the reports this node holds;
//! `GET /api/v1/progress` and the `/progress` page both call [`progress`].
//!
//! At a city every state is known (drafts, returns). A province or the
//! nation only holds what was approved below, so a unit whose report has not
//! arrived counts as `not_started` there.

use std::collections::BTreeMap;

use crate::clock::Timestamp;
use crate::division::{DivisionCode, DivisionKind};
use crate::metadata::FormCode;
use crate::metadata::period::Stage;
use crate::node::NodeState;
use crate::registry::store::{RegistryStoreError, UnitFilter};
use crate::registry::{PeriodId, StatusKind};
use crate::report::{ReportKey, ReportState};
use crate::review::UpperState;

/// The most late units listed (the counts above the list are complete).
pub const MOST_LATE_UNITS: usize = 500;

/// Counts of one division.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Active units registered: each owes a report.
    pub expected: usize,
    /// No report at this level yet.
    pub not_started: usize,
    /// A draft, never submitted.
    pub draft: usize,
    /// Submitted, waiting for review (at upper levels: received, in review).
    pub submitted: usize,
    /// Returned to the unit for correction.
    pub returned: usize,
    /// Approved at this level.
    pub approved: usize,
    /// Accepted by the nation.
    pub accepted: usize,
    /// Suspended units (停报), not expected to report.
    pub suspended: usize,
}

impl Counts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &Counts) {
        self.expected += other.expected;
        self.not_started += other.not_started;
        self.draft += other.draft;
        self.submitted += other.submitted;
        self.returned += other.returned;
        self.approved += other.approved;
        self.accepted += other.accepted;
        self.suspended += other.suspended;
    }

    /// Takes `other` out of these counts (never below zero).
    pub fn subtract(&mut self, other: &Counts) {
        self.expected = self.expected.saturating_sub(other.expected);
        self.not_started = self.not_started.saturating_sub(other.not_started);
        self.draft = self.draft.saturating_sub(other.draft);
        self.submitted = self.submitted.saturating_sub(other.submitted);
        self.returned = self.returned.saturating_sub(other.returned);
        self.approved = self.approved.saturating_sub(other.approved);
        self.accepted = self.accepted.saturating_sub(other.accepted);
        self.suspended = self.suspended.saturating_sub(other.suspended);
    }

    /// Units that reported at least once: submitted, returned, approved or accepted.
    pub fn reported(&self) -> usize {
        self.submitted + self.returned + self.approved + self.accepted
    }

    /// Units that still owe a report: not started, draft or returned.
    pub fn owing(&self) -> usize {
        self.not_started + self.draft + self.returned
    }

    /// No unit counted at all.
    pub fn is_empty(&self) -> bool {
        self == &Counts::default()
    }

    /// Approved here or accepted above, in percent of the expected (0 when none is expected).
    pub fn completion_percent(&self) -> u32 {
        if self.expected == 0 {
            return 0;
        }
        let done = (self.approved + self.accepted).min(self.expected);
        u32::try_from(done * 100 / self.expected).unwrap_or(100)
    }
}

/// Where a unit's report stands at this level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Nothing at this level.
    NotStarted,
    /// A draft.
    Draft,
    /// Submitted or in review.
    Submitted,
    /// Returned to the unit.
    Returned,
    /// Approved here.
    Approved,
    /// Accepted by the nation.
    Accepted,
}

impl Standing {
    /// The word of the API and the page catalogues (`state.*`).
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::NotStarted => "not_started",
            Standing::Draft => "draft",
            Standing::Submitted => "submitted",
            Standing::Returned => "returned",
            Standing::Approved => "approved",
            Standing::Accepted => "accepted",
        }
    }

    /// The standing named by [`Standing::as_str`].
    pub fn parse(text: &str) -> Option<Standing> {
        [
            Standing::NotStarted,
            Standing::Draft,
            Standing::Submitted,
            Standing::Returned,
            Standing::Approved,
            Standing::Accepted,
        ]
        .into_iter()
        .find(|standing| standing.as_str() == text)
    }
}

/// A unit that still owes its report: not submitted, or returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateUnit {
    /// Its code.
    pub unit: String,
    /// Its name.
    pub name: String,
    /// Its county.
    pub county: DivisionCode,
    /// Not started, draft or returned.
    pub standing: Standing,
    /// When it is due: the end of the unit-entry window (or the unit's
    /// extension), or the correction deadline of a return.
    pub due_ms: Option<i64>,
    /// The deadline has passed.
    pub overdue: bool,
    /// This level holds a version of the report (so its review page exists).
    pub held_here: bool,
}

/// Progress of one form and period within a division.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressReport {
    /// Per child division (or the division itself when it has none).
    pub rows: Vec<(DivisionCode, Counts)>,
    /// Units owing a report, overdue first (at most [`MOST_LATE_UNITS`]).
    pub late: Vec<LateUnit>,
    /// How many units owe a report in all.
    pub late_total: usize,
    /// The same units counted per city (the divisions a progress summary
    /// covers), so a row can swap a city's live counts for its summary.
    pub by_city: BTreeMap<DivisionCode, Counts>,
}

/// The city a county belongs to (none for a county directly under a province).
pub fn city_of(county: DivisionCode) -> Option<DivisionCode> {
    county
        .path_from_nation()
        .into_iter()
        .find(|division| division.kind() == DivisionKind::City)
}

/// The child division of `scope` that holds `county` (or `scope` itself for a county scope).
fn child_holding(scope: DivisionCode, county: DivisionCode) -> Option<DivisionCode> {
    if scope.kind() == DivisionKind::County || scope == county {
        return Some(scope);
    }
    scope
        .children()
        .iter()
        .copied()
        .find(|child| child.contains(county))
}

/// When `unit`'s entry window closes (its extension, if later).
fn entry_deadline(state: &NodeState, form: &str, period: &str, unit: &str) -> Option<i64> {
    let standards = state.standards();
    let form = FormCode::parse(form).ok()?;
    let period = crate::metadata::period::PeriodId::parse(period).ok()?;
    let window = standards.calendar.window(period, &form, Stage::UnitEntry)?;
    let extension = standards
        .calendar
        .schedule(period, &form)
        .into_iter()
        .flat_map(|schedule| schedule.exceptions.iter())
        .filter(|exception| exception.credit_code == unit && exception.stage == Stage::UnitEntry)
        .map(|exception| exception.until.0)
        .max();
    Some(extension.map_or(window.closes_at.0, |until| until.max(window.closes_at.0)))
}

/// Counts and late units of `form` and `period` within `scope`, at `now`.
pub fn progress(
    state: &NodeState,
    form: &str,
    period: &str,
    registry_period: PeriodId,
    scope: DivisionCode,
    now: Timestamp,
) -> Result<ProgressReport, RegistryStoreError> {
    let entries = state
        .registry
        .list(registry_period, Some(&UnitFilter::within(scope)))?;
    let mut by_child: BTreeMap<DivisionCode, Counts> = scope
        .children()
        .iter()
        .map(|child| (*child, Counts::default()))
        .collect();
    if by_child.is_empty() {
        by_child.insert(scope, Counts::default());
    }
    let mut late = Vec::new();
    let mut by_city: BTreeMap<DivisionCode, Counts> = BTreeMap::new();
    for entry in entries {
        let unit = &entry.unit;
        let Some(child) = child_holding(scope, unit.county) else {
            continue;
        };
        let mut counts = Counts::default();
        match unit.status.kind() {
            StatusKind::Suspended => {
                counts.suspended += 1;
                by_child.entry(child).or_default().add(&counts);
                if let Some(city) = city_of(unit.county) {
                    by_city.entry(city).or_default().add(&counts);
                }
                continue;
            }
            StatusKind::Closed => continue,
            StatusKind::Active => counts.expected += 1,
        }
        let key = ReportKey {
            unit: unit.code.as_str().to_string(),
            form: form.to_string(),
            period: period.to_string(),
        };
        let own = state.reports.status.get(&key.to_bytes())?;
        let received = state.review.received.get(&key.to_bytes())?;
        let standing = match (&own, &received) {
            (_, Some(received)) => match received.state {
                UpperState::Accepted => Standing::Accepted,
                UpperState::Approved => Standing::Approved,
                UpperState::AwaitingReview
                | UpperState::FeedbackSent
                | UpperState::FeedbackFromAbove => Standing::Submitted,
            },
            (Some(status), None) if !status.accepted_by.is_empty() => Standing::Accepted,
            (Some(status), None) => match status.state {
                ReportState::Draft => Standing::Draft,
                ReportState::Submitted => Standing::Submitted,
                ReportState::Returned | ReportState::FeedbackReceived => Standing::Returned,
                ReportState::Approved => Standing::Approved,
            },
            (None, None) => Standing::NotStarted,
        };
        match standing {
            Standing::Accepted => counts.accepted += 1,
            Standing::Approved => counts.approved += 1,
            Standing::Submitted => counts.submitted += 1,
            Standing::Returned => counts.returned += 1,
            Standing::Draft => counts.draft += 1,
            Standing::NotStarted => counts.not_started += 1,
        }
        by_child.entry(child).or_default().add(&counts);
        if let Some(city) = city_of(unit.county) {
            by_city.entry(city).or_default().add(&counts);
        }
        let due_ms = match standing {
            Standing::NotStarted | Standing::Draft => {
                entry_deadline(state, form, period, unit.code.as_str())
            }
            Standing::Returned => own
                .as_ref()
                .and_then(|status| status.returned.as_ref())
                .map(|returned| returned.due_ms),
            Standing::Submitted | Standing::Approved | Standing::Accepted => continue,
        };
        // A unit with a return has a version here; so does a received report.
        let held_here = received.is_some()
            || own
                .as_ref()
                .is_some_and(|status| status.latest_version.is_some());
        late.push(LateUnit {
            unit: key.unit,
            name: unit.name.clone(),
            county: unit.county,
            standing,
            due_ms,
            overdue: due_ms.is_some_and(|due| now.0 >= due),
            held_here,
        });
    }
    late.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then(a.county.cmp(&b.county))
            .then(a.unit.cmp(&b.unit))
    });
    let late_total = late.len();
    late.truncate(MOST_LATE_UNITS);
    Ok(ProgressReport {
        rows: by_child.into_iter().collect(),
        late,
        late_total,
        by_city,
    })
}
