//! The reporting period a registry version belongs to: a year (`2026`) or a
//! quarter (`2026Q3`, for the quarterly key-industry list, R26/R34).
//!
//! Defined here because the registry is the first domain keyed by period; the
//! metadata domain may move it next to `Period` later.

use std::fmt;
use std::str::FromStr;

/// A reporting period id: `2026` (annual) or `2026Q1`–`2026Q4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeriodId {
    year: u16,
    /// 0 for the whole year, 1–4 for a quarter. Orders a year before its quarters.
    quarter: u8,
}

/// Why a text is not a period id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "报告期“{0}”格式错误，应为年份（如 2026）或季度（如 2026Q3） / period '{0}' is malformed: expected a year (2026) or a quarter (2026Q3)"
)]
pub struct PeriodError(pub String);

impl PeriodId {
    /// The annual period of a year (2000–2099).
    pub fn year(year: u16) -> Result<PeriodId, PeriodError> {
        if (2000..=2099).contains(&year) {
            Ok(PeriodId { year, quarter: 0 })
        } else {
            Err(PeriodError(year.to_string()))
        }
    }

    /// Parses `2026` or `2026Q3` (also `2026q3`).
    pub fn parse(text: &str) -> Result<PeriodId, PeriodError> {
        let malformed = || PeriodError(text.to_string());
        let trimmed = text.trim();
        let (year_text, quarter) = match trimmed.get(4..) {
            Some("") => (trimmed, 0),
            Some(rest) => {
                let quarter_digit = rest
                    .strip_prefix(['Q', 'q'])
                    .and_then(|digit| digit.parse::<u8>().ok())
                    .filter(|digit| (1..=4).contains(digit))
                    .ok_or_else(malformed)?;
                (trimmed.get(..4).ok_or_else(malformed)?, quarter_digit)
            }
            None => return Err(malformed()),
        };
        if !year_text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(malformed());
        }
        let year: u16 = year_text.parse().map_err(|_| malformed())?;
        let annual = PeriodId::year(year).map_err(|_| malformed())?;
        Ok(PeriodId { quarter, ..annual })
    }

    /// The calendar year.
    pub fn calendar_year(self) -> u16 {
        self.year
    }

    /// The quarter (1–4), or `None` for an annual period.
    pub fn quarter(self) -> Option<u8> {
        (self.quarter != 0).then_some(self.quarter)
    }

    /// The period before: last year for a year, the quarter before for a quarter
    /// (2026Q1 → 2025Q4); `None` before 2000.
    pub fn previous(self) -> Option<PeriodId> {
        match self.quarter {
            0 => PeriodId::year(self.year.checked_sub(1)?).ok(),
            1 => PeriodId::year(self.year.checked_sub(1)?)
                .ok()
                .map(|year| PeriodId { quarter: 4, ..year }),
            quarter => Some(PeriodId {
                quarter: quarter - 1,
                ..self
            }),
        }
    }

    /// Fixed-width key bytes that sort like the periods: `2026` → `20260`, `2026Q3` → `20263`.
    pub fn key_bytes(self) -> [u8; 5] {
        let mut bytes = [b'0'; 5];
        let year_digits = format!("{:04}", self.year);
        for (slot, digit) in bytes.iter_mut().zip(year_digits.bytes()) {
            *slot = digit;
        }
        bytes[4] = b'0' + self.quarter;
        bytes
    }
}

impl fmt::Display for PeriodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.quarter() {
            None => write!(f, "{}", self.year),
            Some(quarter) => write!(f, "{}Q{quarter}", self.year),
        }
    }
}

impl FromStr for PeriodId {
    type Err = PeriodError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PeriodId::parse(text)
    }
}

impl serde::Serialize for PeriodId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PeriodId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PeriodId::parse(&text).map_err(serde::de::Error::custom)
    }
}
