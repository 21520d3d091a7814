//! Reporting periods (报告期) and their windows (时限).
//!
//! A [`PeriodId`] is `2025` (annual) or `2026Q3` (quarterly). For each period
//! and form, a [`PeriodCalendar`] holds one [`Window`] per [`Stage`]: units
//! enter data, then the city, the province and the nation review. Outside its
//! window a stage is refused with a [`WindowClosed`] that names the window in
//! Chinese; a bureau may grant one unit a [`WindowException`] with a reason.
//!
//! Time is always a parameter ([`Timestamp`]), never read here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{FormCode, PeriodKind};
use crate::clock::Timestamp;

/// Why a text is not a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// Not `YYYY` or `YYYYQn`.
    #[error(
        "'{0}' is not a reporting period: expected a year such as 2025 or a quarter such as 2026Q3"
    )]
    Malformed(String),
    /// A year outside 2000–2999.
    #[error("'{0}' is not a reporting period: the year must be between 2000 and 2999")]
    YearOutOfRange(String),
}

/// A reporting period: a year, or a quarter of a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PeriodId {
    year: u16,
    /// 1 to 4 for a quarter, `None` for the whole year.
    quarter: Option<u8>,
}

const FIRST_YEAR: u16 = 2000;
const LAST_YEAR: u16 = 2999;

impl PeriodId {
    /// Reads `2025` or `2026Q3` (a lower-case `q` is accepted too).
    pub fn parse(text: &str) -> Result<PeriodId, PeriodError> {
        let malformed = || PeriodError::Malformed(text.to_string());
        let (year_text, quarter_text) = match text.find(['Q', 'q']) {
            Some(position) => (&text[..position], Some(&text[position + 1..])),
            None => (text, None),
        };
        if year_text.len() != 4 || !year_text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(malformed());
        }
        let year: u16 = year_text.parse().map_err(|_| malformed())?;
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return Err(PeriodError::YearOutOfRange(text.to_string()));
        }
        let quarter = match quarter_text {
            None => None,
            Some(digit @ ("1" | "2" | "3" | "4")) => Some(digit.parse().map_err(|_| malformed())?),
            Some(_) => return Err(malformed()),
        };
        Ok(PeriodId { year, quarter })
    }

    /// The whole year `year`.
    pub fn annual(year: u16) -> PeriodId {
        PeriodId {
            year,
            quarter: None,
        }
    }

    /// Quarter `quarter` (1–4) of `year`; `None` for another quarter number.
    pub fn quarterly(year: u16, quarter: u8) -> Option<PeriodId> {
        (1..=4).contains(&quarter).then_some(PeriodId {
            year,
            quarter: Some(quarter),
        })
    }

    /// The year the period falls in.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The quarter, for a quarterly period.
    pub fn quarter(self) -> Option<u8> {
        self.quarter
    }

    /// Annual or quarterly.
    pub fn kind(self) -> PeriodKind {
        match self.quarter {
            None => PeriodKind::Annual,
            Some(_) => PeriodKind::Quarterly,
        }
    }

    /// The previous period of the same kind: 2025 → 2024, 2026Q1 → 2025Q4,
    /// 2026Q3 → 2026Q2. `None` before the first supported year.
    pub fn previous(self) -> Option<PeriodId> {
        match self.quarter {
            None => (self.year > FIRST_YEAR).then(|| PeriodId::annual(self.year - 1)),
            Some(1) => (self.year > FIRST_YEAR).then_some(PeriodId {
                year: self.year - 1,
                quarter: Some(4),
            }),
            Some(quarter) => Some(PeriodId {
                year: self.year,
                quarter: Some(quarter - 1),
            }),
        }
    }

    /// The four quarters of this period's year (for an annual period: the
    /// quarterly reports that should add up to it).
    pub fn quarters_of_year(self) -> [PeriodId; 4] {
        [1, 2, 3, 4].map(|quarter| PeriodId {
            year: self.year,
            quarter: Some(quarter),
        })
    }

    /// `2025年` or `2026年第3季度`, for messages.
    pub fn name_zh(self) -> String {
        match self.quarter {
            None => format!("{}年", self.year),
            Some(quarter) => format!("{}年第{}季度", self.year, quarter),
        }
    }
}

impl fmt::Display for PeriodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.quarter {
            None => write!(f, "{}", self.year),
            Some(quarter) => write!(f, "{}Q{}", self.year, quarter),
        }
    }
}

impl FromStr for PeriodId {
    type Err = PeriodError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PeriodId::parse(text)
    }
}

impl TryFrom<String> for PeriodId {
    type Error = PeriodError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        PeriodId::parse(&text)
    }
}

impl From<PeriodId> for String {
    fn from(period: PeriodId) -> String {
        period.to_string()
    }
}

/// A step of the reporting cycle that has its own window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 企业填报: units fill in and submit.
    UnitEntry,
    /// 市级审核: the city bureau reviews.
    CityReview,
    /// 省级审核: the province bureau reviews.
    ProvinceReview,
    /// 国家审核: the national bureau reviews.
    NationalReview,
}

impl Stage {
    /// The window's Chinese name, e.g. 企业填报.
    pub fn name_zh(self) -> &'static str {
        match self {
            Stage::UnitEntry => "企业填报",
            Stage::CityReview => "市级审核",
            Stage::ProvinceReview => "省级审核",
            Stage::NationalReview => "国家审核",
        }
    }

    /// The window's English name.
    pub fn name_en(self) -> &'static str {
        match self {
            Stage::UnitEntry => "unit entry",
            Stage::CityReview => "city review",
            Stage::ProvinceReview => "province review",
            Stage::NationalReview => "national review",
        }
    }
}

/// When a stage is open: from `opens_at` (included) to `closes_at` (excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// The stage.
    pub stage: Stage,
    /// First moment it is open.
    pub opens_at: Timestamp,
    /// First moment it is closed again.
    pub closes_at: Timestamp,
}

impl Window {
    /// Whether `now` falls inside the window.
    pub fn is_open_at(&self, now: Timestamp) -> bool {
        self.opens_at <= now && now < self.closes_at
    }
}

/// A deadline extension for one unit (e.g. its system was down), with the
/// reason and who granted it, kept for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowException {
    /// The unit's unified social credit code.
    pub credit_code: String,
    /// The stage it extends.
    pub stage: Stage,
    /// New closing time for this unit (excluded).
    pub until: Timestamp,
    /// Why (shown to reviewers).
    pub reason: String,
    /// The account that granted it.
    pub granted_by: String,
}

/// Why a stage is not open now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowClosedReason {
    /// No window was set for this period, form and stage.
    NotSet,
    /// The window opens later.
    NotYetOpen,
    /// The window has closed (and no exception covers the unit).
    AlreadyClosed,
}

/// A stage is not open now. Its `Display` is a Chinese sentence naming the
/// window, for the user; [`WindowClosed::message_en`] gives the English one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message_zh())]
pub struct WindowClosed {
    /// The form.
    pub form: FormCode,
    /// The period.
    pub period: PeriodId,
    /// The stage asked for.
    pub stage: Stage,
    /// Not set, not yet open, or closed.
    pub reason: WindowClosedReason,
    /// The window's times, when one is set.
    pub window: Option<Window>,
}

impl WindowClosed {
    /// `（2026-01-01 00:00 至 2026-03-01 00:00，北京时间）`, or nothing.
    fn times_text(&self, word_to: &str, zone: &str) -> String {
        match self.window {
            Some(window) => format!(
                "{} {word_to} {}, {zone}",
                beijing_time_text(window.opens_at),
                beijing_time_text(window.closes_at)
            ),
            None => String::new(),
        }
    }

    /// The Chinese message, e.g. `2025年 G101 的企业填报时限已结束（…，北京时间）`.
    pub fn message_zh(&self) -> String {
        let subject = format!(
            "{} {} 的{}时限",
            self.period.name_zh(),
            self.form,
            self.stage.name_zh()
        );
        let times = self.times_text("至", "北京时间").replace(", ", "，");
        match self.reason {
            WindowClosedReason::NotSet => format!("{subject}尚未设置"),
            WindowClosedReason::NotYetOpen => format!("{subject}尚未开始（{times}）"),
            WindowClosedReason::AlreadyClosed => format!("{subject}已结束（{times}）"),
        }
    }

    /// The same message in English.
    pub fn message_en(&self) -> String {
        let subject = format!(
            "the {} window for {} {}",
            self.stage.name_en(),
            self.form,
            self.period
        );
        let times = self.times_text("to", "Beijing time");
        match self.reason {
            WindowClosedReason::NotSet => format!("{subject} is not set"),
            WindowClosedReason::NotYetOpen => format!("{subject} has not opened yet ({times})"),
            WindowClosedReason::AlreadyClosed => format!("{subject} has closed ({times})"),
        }
    }
}

/// The windows of one period and form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodSchedule {
    /// The period.
    pub period: PeriodId,
    /// The form.
    pub form: FormCode,
    /// One window per stage (a stage without a window is closed).
    pub windows: Vec<Window>,
    /// Extensions granted to single units.
    pub exceptions: Vec<WindowException>,
}

/// All periods' windows known to a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodCalendar {
    /// One schedule per (period, form).
    pub schedules: Vec<PeriodSchedule>,
}

impl PeriodCalendar {
    /// An empty calendar (every stage closed).
    pub fn new() -> PeriodCalendar {
        PeriodCalendar::default()
    }

    /// Sets (or replaces) the window of one stage of one period and form.
    pub fn set_window(&mut self, period: PeriodId, form: &FormCode, window: Window) {
        let schedule = self.schedule_mut(period, form);
        schedule
            .windows
            .retain(|existing| existing.stage != window.stage);
        schedule.windows.push(window);
    }

    /// Grants a unit more time for one stage.
    pub fn grant_exception(
        &mut self,
        period: PeriodId,
        form: &FormCode,
        exception: WindowException,
    ) {
        self.schedule_mut(period, form).exceptions.push(exception);
    }

    /// The window of a stage, if set.
    pub fn window(&self, period: PeriodId, form: &FormCode, stage: Stage) -> Option<&Window> {
        self.schedule(period, form)?
            .windows
            .iter()
            .find(|window| window.stage == stage)
    }

    /// The schedule of one period and form.
    pub fn schedule(&self, period: PeriodId, form: &FormCode) -> Option<&PeriodSchedule> {
        self.schedules
            .iter()
            .find(|schedule| schedule.period == period && &schedule.form == form)
    }

    /// Whether `stage` is open at `now` for this period and form; for the
    /// unit with `credit_code` (when given), an exception for that stage
    /// keeps it open until the exception's `until`.
    pub fn check_open(
        &self,
        period: PeriodId,
        form: &FormCode,
        stage: Stage,
        credit_code: Option<&str>,
        now: Timestamp,
    ) -> Result<(), WindowClosed> {
        let Some(window) = self.window(period, form, stage) else {
            return Err(WindowClosed {
                form: form.clone(),
                period,
                stage,
                reason: WindowClosedReason::NotSet,
                window: None,
            });
        };
        if now < window.opens_at {
            return Err(window_error(period, form, window, false));
        }
        if now < window.closes_at {
            return Ok(());
        }
        let covered_by_exception = credit_code.is_some_and(|credit_code| {
            self.schedule(period, form).is_some_and(|schedule| {
                schedule.exceptions.iter().any(|exception| {
                    exception.credit_code == credit_code
                        && exception.stage == stage
                        && now < exception.until
                })
            })
        });
        if covered_by_exception {
            Ok(())
        } else {
            Err(window_error(period, form, window, true))
        }
    }

    fn schedule_mut(&mut self, period: PeriodId, form: &FormCode) -> &mut PeriodSchedule {
        let position = self
            .schedules
            .iter()
            .position(|schedule| schedule.period == period && &schedule.form == form);
        let index = match position {
            Some(index) => index,
            None => {
                self.schedules.push(PeriodSchedule {
                    period,
                    form: form.clone(),
                    windows: Vec::new(),
                    exceptions: Vec::new(),
                });
                self.schedules.len() - 1
            }
        };
        &mut self.schedules[index]
    }
}

fn window_error(period: PeriodId, form: &FormCode, window: &Window, closed: bool) -> WindowClosed {
    WindowClosed {
        form: form.clone(),
        period,
        stage: window.stage,
        reason: if closed {
            WindowClosedReason::AlreadyClosed
        } else {
            WindowClosedReason::NotYetOpen
        },
        window: Some(*window),
    }
}

/// Beijing time (UTC+8, no daylight saving) as `YYYY-MM-DD HH:MM`.
pub fn beijing_time_text(time: Timestamp) -> String {
    const BEIJING_OFFSET_SECONDS: i64 = 8 * 3600;
    let seconds = time.unix_seconds() + BEIJING_OFFSET_SECONDS;
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_date_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        second_of_day / 3600,
        (second_of_day % 3600) / 60
    )
}

/// The instant `YYYY-MM-DD HH:MM` Beijing time (for setting windows in tests and config).
pub fn beijing_time(year: i64, month: u32, day: u32, hour: u32, minute: u32) -> Timestamp {
    const BEIJING_OFFSET_SECONDS: i64 = 8 * 3600;
    let days = days_from_civil_date(year, month, day);
    let seconds =
        days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 - BEIJING_OFFSET_SECONDS;
    Timestamp(seconds * 1000)
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (y, m, d).
fn civil_date_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// Howard Hinnant's `days_from_civil`: (y, m, d) to days since 1970-01-01.
fn days_from_civil_date(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
