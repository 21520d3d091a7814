//! Progress summaries (上报进度, R11/R20/R31): how a city's units stand on a
//! form and period, sent upward so the province and the nation see drafts,
//! returns and units not started, which they cannot see from what they
//! receive.
//!
//! - A **city** counts its units ([`crate::aggregate::progress::progress`]),
//!   makes a [`CitySummary`] and queues it to its parent when its
//!   [`CitySummary::content_hash`] differs from the last one sent
//!   ([`flow::run_progress_summary_tick`], every ten minutes and at start).
//! - A **province** keeps the newest summary of each of its cities and relays
//!   the city's signed envelope intact to the nation; it never re-aggregates,
//!   so the nation holds every city's own words, signed by the city.
//! - The **nation** keeps the newest summary of every city.
//! - A newer `computed_at_ms` wins; an older summary arriving late is ignored
//!   ([`is_newer`]).
//!
//! Upper levels read them through [`rows_with_summaries`]: a child
//! division's counts are its cities' summaries, with the live counts standing
//! in for a city that has sent none yet. [`late_bureaus`] names the child
//! divisions behind the rest, or with units still owing after the entry
//! window closed.
//!
//! Everything here is pure; [`store`] keeps the trees and [`flow`] does the
//! tick and the storing inside the inbound transaction.

pub mod flow;
pub mod store;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use zhibao_federation_protocol::messages::{
    CountyProgress, LateUnitOnTheWire, MOST_LATE_UNITS_ON_THE_WIRE, ProgressCounts, ProgressSummary,
};

use crate::aggregate::progress::{Counts, ProgressReport, Standing};
use crate::clock::Timestamp;
use crate::division::DivisionCode;

/// A unit owing its report, as a city summary lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SummaryLateUnit {
    /// Its credit code.
    pub unit: String,
    /// Its name.
    pub name: String,
    /// Its county.
    pub county: DivisionCode,
    /// Not started, draft or returned.
    pub standing: Standing,
    /// When it is due (ms).
    pub due_ms: Option<i64>,
    /// Past due when counted.
    pub overdue: bool,
}

/// A city's progress on one form and period, as the city counted it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CitySummary {
    /// The city.
    pub city: DivisionCode,
    /// Form code.
    pub form: String,
    /// Period.
    pub period: String,
    /// When the city counted (ms).
    pub computed_at_ms: i64,
    /// Counts per county.
    pub counties: Vec<(DivisionCode, Counts)>,
    /// Units owing, overdue first (at most 500).
    pub late: Vec<SummaryLateUnit>,
    /// How many owe in all.
    pub late_total: usize,
}

impl CitySummary {
    /// The city's counts, all counties together.
    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for (_, counts) in &self.counties {
            total.add(counts);
        }
        total
    }

    /// SHA-256 of everything but the time it was computed: equal hashes mean
    /// nothing changed worth sending.
    pub fn content_hash(&self) -> String {
        use sha2::Digest;
        let unchanged_by_time = CitySummary {
            computed_at_ms: 0,
            ..self.clone()
        };
        let canonical = serde_json::to_vec(&unchanged_by_time).unwrap_or_default();
        hex::encode(sha2::Sha256::digest(&canonical))
    }
}

/// The summary of `city`'s progress report (counted per county) at `now`.
pub fn summarize(
    city: DivisionCode,
    form: &str,
    period: &str,
    report: &ProgressReport,
    now: Timestamp,
) -> CitySummary {
    CitySummary {
        city,
        form: form.to_string(),
        period: period.to_string(),
        computed_at_ms: now.0,
        counties: report.rows.clone(),
        late: report
            .late
            .iter()
            .take(MOST_LATE_UNITS_ON_THE_WIRE)
            .map(|unit| SummaryLateUnit {
                unit: unit.unit.clone(),
                name: unit.name.clone(),
                county: unit.county,
                standing: unit.standing,
                due_ms: unit.due_ms,
                overdue: unit.overdue,
            })
            .collect(),
        late_total: report.late_total,
    }
}

/// Whether `incoming` should replace `existing`: only a strictly newer count does.
pub fn is_newer(existing: Option<&CitySummary>, incoming: &CitySummary) -> bool {
    existing.is_none_or(|existing| incoming.computed_at_ms > existing.computed_at_ms)
}

fn as_wire_count(count: usize) -> u64 {
    u64::try_from(count).unwrap_or(u64::MAX)
}

fn from_wire_count(count: u64) -> usize {
    usize::try_from(count).unwrap_or(usize::MAX)
}

/// The summary as it travels.
pub fn to_wire(summary: &CitySummary) -> ProgressSummary {
    ProgressSummary {
        city: summary.city.to_string(),
        form: summary.form.clone(),
        period: summary.period.clone(),
        computed_at_ms: summary.computed_at_ms,
        counties: summary
            .counties
            .iter()
            .map(|(county, counts)| CountyProgress {
                county: county.to_string(),
                counts: ProgressCounts {
                    expected: as_wire_count(counts.expected),
                    not_started: as_wire_count(counts.not_started),
                    draft: as_wire_count(counts.draft),
                    submitted: as_wire_count(counts.submitted),
                    returned: as_wire_count(counts.returned),
                    approved: as_wire_count(counts.approved),
                    accepted: as_wire_count(counts.accepted),
                    suspended: as_wire_count(counts.suspended),
                },
            })
            .collect(),
        late_units: summary
            .late
            .iter()
            .map(|unit| LateUnitOnTheWire {
                credit_code: unit.unit.clone(),
                name: unit.name.clone(),
                county: unit.county.to_string(),
                state: unit.standing.as_str().to_string(),
                due_ms: unit.due_ms,
                overdue: unit.overdue,
            })
            .collect(),
        late_total: as_wire_count(summary.late_total),
    }
}

/// A summary from the wire, or what is wrong with it (a refusal reason).
pub fn from_wire(summary: &ProgressSummary) -> Result<CitySummary, String> {
    if let Some(problem) = summary.shape_problem() {
        return Err(problem);
    }
    let division = |field: &str, code: &str| {
        DivisionCode::parse(code).map_err(|error| format!("{field}: {error}"))
    };
    let city = division("city", &summary.city)?;
    crate::metadata::FormCode::parse(&summary.form).map_err(|error| format!("form: {error}"))?;
    crate::metadata::period::PeriodId::parse(&summary.period)
        .map_err(|error| format!("period: {error}"))?;
    let counties = summary
        .counties
        .iter()
        .map(|county| {
            let counts = &county.counts;
            Ok((
                division("counties[].county", &county.county)?,
                Counts {
                    expected: from_wire_count(counts.expected),
                    not_started: from_wire_count(counts.not_started),
                    draft: from_wire_count(counts.draft),
                    submitted: from_wire_count(counts.submitted),
                    returned: from_wire_count(counts.returned),
                    approved: from_wire_count(counts.approved),
                    accepted: from_wire_count(counts.accepted),
                    suspended: from_wire_count(counts.suspended),
                },
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let late = summary
        .late_units
        .iter()
        .map(|unit| {
            Ok(SummaryLateUnit {
                unit: unit.credit_code.clone(),
                name: unit.name.clone(),
                county: division("late_units[].county", &unit.county)?,
                standing: Standing::parse(&unit.state)
                    .ok_or_else(|| format!("late_units[].state: unknown state {}", unit.state))?,
                due_ms: unit.due_ms,
                overdue: unit.overdue,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(CitySummary {
        city,
        form: summary.form.clone(),
        period: summary.period.clone(),
        computed_at_ms: summary.computed_at_ms,
        counties,
        late,
        late_total: from_wire_count(summary.late_total),
    })
}

/// Where a row's counts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowSource {
    /// Counted here, from what this node holds.
    Live,
    /// Every city of the row sent a summary.
    Summaries,
    /// Some cities sent a summary; the others are counted here.
    Partial,
}

/// One child division's counts, and how fresh they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressRow {
    /// The child division.
    pub division: DivisionCode,
    /// Its counts.
    pub counts: Counts,
    /// When the oldest part of the counts was computed (ms).
    pub as_of_ms: i64,
    /// Where they come from.
    pub source: RowSource,
}

/// The rows of a live progress report with each city's live counts replaced
/// by its summary (`summaries` of the same form and period). A row without
/// any summary stays live, as of `now`.
pub fn rows_with_summaries(
    report: &ProgressReport,
    summaries: &[CitySummary],
    now: Timestamp,
) -> Vec<ProgressRow> {
    report
        .rows
        .iter()
        .map(|(division, live)| {
            let covered: Vec<&CitySummary> = summaries
                .iter()
                .filter(|summary| division.contains(summary.city))
                .collect();
            if covered.is_empty() {
                return ProgressRow {
                    division: *division,
                    counts: live.clone(),
                    as_of_ms: now.0,
                    source: RowSource::Live,
                };
            }
            let mut remainder = live.clone();
            let mut counts = Counts::default();
            for summary in &covered {
                if let Some(live_of_city) = report.by_city.get(&summary.city) {
                    remainder.subtract(live_of_city);
                }
                counts.add(&summary.total());
            }
            let source = if remainder.is_empty() {
                RowSource::Summaries
            } else {
                RowSource::Partial
            };
            counts.add(&remainder);
            ProgressRow {
                division: *division,
                counts,
                as_of_ms: covered
                    .iter()
                    .map(|summary| summary.computed_at_ms)
                    .min()
                    .unwrap_or(now.0),
                source,
            }
        })
        .collect()
}

/// A child division behind in reporting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LateBureau {
    /// The division.
    pub division: DivisionCode,
    /// Approved or accepted, in percent of the expected.
    pub completion_percent: u32,
    /// The rest of the rows together, in percent.
    pub rest_percent: u32,
    /// Units not started, with a draft, or returned.
    pub owing: usize,
    /// Its completion is below the rest's.
    pub below_the_rest: bool,
    /// Units still owe although the unit-entry window has closed.
    pub owing_after_close: bool,
}

/// The rows behind: completion below the other rows together, or units
/// owing after the entry window closed (`entry_closed`). Lowest completion first.
pub fn late_bureaus(rows: &[ProgressRow], entry_closed: bool) -> Vec<LateBureau> {
    let mut all = Counts::default();
    for row in rows {
        all.add(&row.counts);
    }
    let mut late: Vec<LateBureau> = rows
        .iter()
        .filter(|row| row.counts.expected > 0)
        .filter_map(|row| {
            let mut rest = all.clone();
            rest.subtract(&row.counts);
            let completion_percent = row.counts.completion_percent();
            let rest_percent = rest.completion_percent();
            let below_the_rest = rest.expected > 0 && completion_percent < rest_percent;
            let owing = row.counts.owing();
            let owing_after_close = entry_closed && owing > 0;
            (below_the_rest || owing_after_close).then_some(LateBureau {
                division: row.division,
                completion_percent,
                rest_percent,
                owing,
                below_the_rest,
                owing_after_close,
            })
        })
        .collect();
    late.sort_by(|a, b| {
        a.completion_percent
            .cmp(&b.completion_percent)
            .then(a.division.cmp(&b.division))
    });
    late
}

/// The child bureaus to urge when none are named: those of `children`
/// (the configured child nodes) whose row shows units still owing a report
/// (not started, draft or returned), the least complete first, as
/// [`late_bureaus`] ranks them.
pub fn bureaus_owing(rows: &[ProgressRow], children: &[DivisionCode]) -> Vec<DivisionCode> {
    let mut owing: Vec<&ProgressRow> = rows
        .iter()
        .filter(|row| children.contains(&row.division) && row.counts.owing() > 0)
        .collect();
    owing.sort_by(|a, b| {
        a.counts
            .completion_percent()
            .cmp(&b.counts.completion_percent())
            .then(a.division.cmp(&b.division))
    });
    owing.into_iter().map(|row| row.division).collect()
}

/// The summaries of `form` and `period` within `scope`, by city.
pub fn within(
    summaries: Vec<CitySummary>,
    scope: DivisionCode,
) -> BTreeMap<DivisionCode, CitySummary> {
    summaries
        .into_iter()
        .filter(|summary| scope.contains(summary.city))
        .map(|summary| (summary.city, summary))
        .collect()
}
