//! Progress summaries (上报进度, version 1): a city's counts of where every
//! unit's report of one form and period stands, per county, and the units
//! still owing one. Sent up by the city; a province relays it to the nation
//! intact (forwarded, still signed by the city), never re-aggregated.

use super::Payload;
use crate::MessageKind;

/// The most late units a summary carries (the counts are always complete).
pub const MOST_LATE_UNITS_ON_THE_WIRE: usize = 500;

/// Where the reports of one county stand. The eight counts of `GET /api/v1/progress`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProgressCounts {
    /// Active units registered: each owes a report.
    pub expected: u64,
    /// No report yet.
    pub not_started: u64,
    /// A draft, never submitted.
    pub draft: u64,
    /// Submitted, waiting for the city's review.
    pub submitted: u64,
    /// Returned to the unit for correction.
    pub returned: u64,
    /// Approved by the city.
    pub approved: u64,
    /// Accepted by the nation.
    pub accepted: u64,
    /// Suspended units (停报), not expected to report.
    pub suspended: u64,
}

/// The counts of one county of the city.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CountyProgress {
    /// The county division (six digits).
    pub county: String,
    /// Its counts.
    pub counts: ProgressCounts,
}

/// A unit that still owes its report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LateUnitOnTheWire {
    /// Its unified social credit code.
    pub credit_code: String,
    /// Its name.
    pub name: String,
    /// Its county division.
    pub county: String,
    /// `not_started`, `draft` or `returned`.
    pub state: String,
    /// When it is due (ms), if known.
    pub due_ms: Option<i64>,
    /// The due time had passed when the summary was computed.
    pub overdue: bool,
}

/// A city's progress on one form and period, as computed at `computed_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProgressSummary {
    /// The city division whose units are counted.
    pub city: String,
    /// Form code.
    pub form: String,
    /// Period.
    pub period: String,
    /// When the city counted (ms). A receiver keeps the newest.
    pub computed_at_ms: i64,
    /// The counts per county.
    pub counties: Vec<CountyProgress>,
    /// Units owing a report, overdue first, at most [`MOST_LATE_UNITS_ON_THE_WIRE`].
    pub late_units: Vec<LateUnitOnTheWire>,
    /// How many units owe a report in all.
    pub late_total: u64,
}

impl ProgressSummary {
    /// What is wrong with the summary's shape, if anything (more late units
    /// than allowed, a county twice): such a summary is refused as malformed.
    pub fn shape_problem(&self) -> Option<String> {
        if self.late_units.len() > MOST_LATE_UNITS_ON_THE_WIRE {
            return Some(format!(
                "{} late units listed, at most {MOST_LATE_UNITS_ON_THE_WIRE} allowed",
                self.late_units.len()
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for county in &self.counties {
            if !seen.insert(county.county.as_str()) {
                return Some(format!("county {} is counted twice", county.county));
            }
        }
        None
    }
}

impl Payload for ProgressSummary {
    const KIND: MessageKind = MessageKind::ProgressSummary;
    const VERSION: u16 = 1;

    fn concerned_divisions(&self) -> Vec<String> {
        let mut divisions = vec![self.city.clone()];
        divisions.extend(self.counties.iter().map(|county| county.county.clone()));
        divisions.extend(self.late_units.iter().map(|unit| unit.county.clone()));
        divisions
    }
}
