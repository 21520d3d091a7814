//! What a node reports against: the effective metadata (national standard
//! plus level extensions), the period calendar, and the compiled rule sets.

use std::collections::HashMap;

use crate::clock::Timestamp;
use crate::metadata::period::{PeriodCalendar, PeriodId, Stage, Window};
use zhibao_federation_protocol::NodeLevel;

use crate::metadata::store::MetadataStore;
use crate::metadata::{EffectiveMetadata, Extension, FormCode, NationalStandard, Origin};
use crate::rules::RuleSet;

/// The node's standards, built at start.
#[derive(Debug)]
pub struct Standards {
    /// Forms, indicators and rules in force.
    pub metadata: EffectiveMetadata,
    /// Periods and windows.
    pub calendar: PeriodCalendar,
    /// Compiled rules per form code.
    pub rule_sets: HashMap<String, RuleSet>,
    /// The annual period being reported.
    pub annual_period: PeriodId,
    /// The quarter being reported.
    pub quarterly_period: PeriodId,
}

/// Why the standards could not be built (a defect in shipped data).
#[derive(Debug, thiserror::Error)]
pub enum StandardsError {
    /// The metadata did not load or compose.
    #[error("metadata: {0}")]
    Metadata(String),
    /// A shipped rule did not compile.
    #[error("rules: {0}")]
    Rules(String),
}

const DAY_MS: i64 = 86_400_000;

/// The (year, month) of a time, UTC.
fn year_and_month(now: Timestamp) -> (i64, u32) {
    // Civil-from-days (Howard Hinnant), for a day count since 1970-01-01.
    let days = now.0.div_euclid(DAY_MS) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    (
        year_of_era + era * 400 + i64::from(month <= 2),
        u32::try_from(month).unwrap_or(1),
    )
}

/// The periods being reported at `now`: last year, and last quarter.
pub fn periods_being_reported(now: Timestamp) -> (PeriodId, PeriodId) {
    let (year, month) = year_and_month(now);
    let year = u16::try_from(year).unwrap_or(2026);
    let annual = PeriodId::annual(year.saturating_sub(1));
    let quarter_now = u8::try_from((month - 1) / 3 + 1).unwrap_or(1);
    let quarterly = if quarter_now == 1 {
        PeriodId::quarterly(year.saturating_sub(1), 4)
    } else {
        PeriodId::quarterly(year, quarter_now - 1)
    };
    (annual, quarterly.unwrap_or(annual))
}

/// Until the national node releases windows (a later issue), a node opens
/// the periods being reported: entry from 30 days ago for 90 days, and each
/// review stage a little longer than the one below it.
fn default_calendar(
    metadata: &EffectiveMetadata,
    annual: PeriodId,
    quarterly: PeriodId,
    now: Timestamp,
) -> PeriodCalendar {
    let mut calendar = PeriodCalendar::new();
    let opens_at = Timestamp(now.0 - 30 * DAY_MS);
    let stages = [
        (Stage::UnitEntry, 90),
        (Stage::CityReview, 105),
        (Stage::ProvinceReview, 120),
        (Stage::NationalReview, 135),
    ];
    for form in &metadata.forms {
        let period = match form.period_kind {
            crate::metadata::PeriodKind::Annual => annual,
            crate::metadata::PeriodKind::Quarterly => quarterly,
        };
        for (stage, days) in stages {
            calendar.set_window(
                period,
                &form.code,
                Window {
                    stage,
                    opens_at,
                    closes_at: Timestamp(now.0 + days * DAY_MS),
                },
            );
        }
    }
    calendar
}

impl Standards {
    /// The national standard shipped in the binary, no extensions, the
    /// default calendar around `now` (what a node starts with before any release).
    pub fn load(now: Timestamp) -> Result<Standards, StandardsError> {
        let national = NationalStandard::default_standard()
            .map_err(|error| StandardsError::Metadata(error.to_string()))?;
        Standards::build(&national, None, None, PeriodCalendar::new(), now)
    }

    /// What a node runs: the national standard (the newest national release
    /// it holds, else the shipped one), the newest extension of its province
    /// and of its city, and the stored calendar (the default one until the
    /// nation releases windows).
    pub fn load_for(
        config: &crate::config::NodeConfig,
        store: &MetadataStore,
        now: Timestamp,
    ) -> Result<Standards, StandardsError> {
        let storage = |error: crate::store::StoreError| StandardsError::Metadata(error.to_string());
        let national = match store.latest_release(Origin::National).map_err(storage)? {
            Some(release) => NationalStandard { release },
            None => NationalStandard::default_standard()
                .map_err(|error| StandardsError::Metadata(error.to_string()))?,
        };
        let (province, city) = match config.level() {
            NodeLevel::National => (None, None),
            NodeLevel::Province => (Some(config.division), None),
            NodeLevel::City => (config.division.parent(), Some(config.division)),
        };
        let province_extension = match province {
            Some(division) => store
                .latest_release(Origin::Province(division))
                .map_err(storage)?
                .map(|release| Extension { release }),
            None => None,
        };
        let city_extension = match city {
            Some(division) => store
                .latest_release(Origin::City(division))
                .map_err(storage)?
                .map(|release| Extension { release }),
            None => None,
        };
        let calendar = store.calendar().map_err(storage)?;
        Standards::build(
            &national,
            province_extension.as_ref(),
            city_extension.as_ref(),
            calendar,
            now,
        )
    }

    /// Composes and compiles. An empty `calendar` is replaced by the default one.
    pub fn build(
        national: &NationalStandard,
        province_extension: Option<&Extension>,
        city_extension: Option<&Extension>,
        calendar: PeriodCalendar,
        now: Timestamp,
    ) -> Result<Standards, StandardsError> {
        let metadata = EffectiveMetadata::compose(national, province_extension, city_extension)
            .map_err(|error| StandardsError::Metadata(error.to_string()))?;
        let mut rule_sets = HashMap::new();
        for form in &metadata.forms {
            let rule_set = RuleSet::for_form(&metadata, &form.code)
                .map_err(|error| StandardsError::Rules(error.to_string()))?;
            rule_sets.insert(form.code.as_str().to_string(), rule_set);
        }
        let (annual_period, quarterly_period) = periods_being_reported(now);
        let calendar = if calendar.schedules.is_empty() {
            default_calendar(&metadata, annual_period, quarterly_period, now)
        } else {
            calendar
        };
        Ok(Standards {
            metadata,
            calendar,
            rule_sets,
            annual_period,
            quarterly_period,
        })
    }

    /// The compiled rules of a form.
    pub fn rule_set(&self, form: &FormCode) -> Option<&RuleSet> {
        self.rule_sets.get(form.as_str())
    }
}
