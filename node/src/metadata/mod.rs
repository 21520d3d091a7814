//! The metadata standard (元数据标准): which forms exist, which indicators
//! each form has, their codes, units, types and limits, and the audit rules
//! that go with them.
//!
//! - The **national standard** ships in the binary
//!   (`node/data/national-standard.toml`) and is mandatory at every level.
//! - A province or a city publishes an [`Extension`]: it may only **add**
//!   indicators, forms and rules for its own jurisdiction. It cannot change,
//!   replace or disable a national (or a province's) indicator or rule;
//!   [`EffectiveMetadata::compose`] refuses any clash by name.
//! - Every standard or extension is a versioned [`MetadataRelease`]; a node's
//!   effective metadata is the national release plus the province's and the
//!   city's extensions above it.
//! - Values are exact decimals ([`rust_decimal::Decimal`]); [`parse_value`]
//!   turns what a unit typed into a checked [`IndicatorValue`] and says in
//!   Chinese and English what is wrong otherwise.
//!
//! Reporting periods and their windows are in [`period`].

pub mod period;
pub mod store;
mod value;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::division::{DivisionCode, DivisionKind};
use crate::rules::AuditRule;

pub use value::{IndicatorValue, RawValue, ValueError, parse_value};

/// The national standard as shipped (a public reference, see
/// `shared/data/national-standard.md`).
const NATIONAL_STANDARD_TOML: &str = include_str!("../../data/national-standard.toml");

/// The release file format this build reads (`format_version` in the file).
pub const RELEASE_FORMAT_VERSION: u32 = 1;

/// Names a rule expression uses for things other than indicators; an
/// indicator may not take one of them as its key.
pub const RESERVED_RULE_NAMES: &[&str] = &[
    "prev",
    "rows",
    "quarters",
    "unit",
    "count_rows",
    "sum_rows",
    "sum_quarters",
    "abs",
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// What is wrong with a code, a key or a release file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// A form code is not 2–16 upper-case letters and digits starting with a letter.
    #[error(
        "'{0}' is not a form code: expected upper-case letters and digits starting with a letter, e.g. G101 or G101Q"
    )]
    MalformedFormCode(String),
    /// An indicator code is not of the shape `G101-15` / `JS-01`.
    #[error(
        "'{0}' is not an indicator code: expected upper-case letters, digits and '-', e.g. G101-15 or JS-01"
    )]
    MalformedIndicatorCode(String),
    /// An indicator key is not a lower-case identifier usable in a rule.
    #[error(
        "'{0}' is not an indicator key: expected lower-case letters, digits and '_', starting with a letter, e.g. cod_emit"
    )]
    MalformedIndicatorKey(String),
    /// An indicator key is a word the rule language uses itself.
    #[error("'{0}' cannot be an indicator key: the rule language uses this name itself")]
    ReservedIndicatorKey(String),
    /// An origin is not `national`, `province:DDDDDD` or `city:DDDDDD`.
    #[error("'{0}' is not an origin: expected national, province:320000 or city:320500")]
    MalformedOrigin(String),
    /// The origin names a division of the wrong kind (a city code for a province).
    #[error("origin '{origin}' names division {division}, which is not a {expected}")]
    OriginDivisionOfWrongKind {
        /// The origin as written.
        origin: String,
        /// Its division.
        division: String,
        /// What kind it should have been.
        expected: &'static str,
    },
    /// The release file is not valid TOML of the expected shape.
    #[error("metadata release file could not be read: {0}")]
    Unreadable(String),
    /// The release file was written for another format version.
    #[error("metadata release file has format_version {found}; this build reads {supported}")]
    UnsupportedFormatVersion {
        /// In the file.
        found: u32,
        /// What this build reads.
        supported: u32,
    },
    /// The national standard file says it comes from a province or city, or
    /// an extension says it is national.
    #[error("expected a release of {expected}, but the file says its origin is {found}")]
    WrongOrigin {
        /// What the caller asked to load.
        expected: &'static str,
        /// The file's origin.
        found: Origin,
    },
    /// Something inside one release is inconsistent (duplicate code, a
    /// minimum above the maximum, a rule on an unknown form...).
    #[error("{0}")]
    Inconsistent(String),
}

/// A form code such as `G101`, `G101Q` or `G103`: 2 to 16 upper-case ASCII
/// letters and digits, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FormCode(String);

impl FormCode {
    /// Checks and wraps a form code.
    pub fn parse(text: &str) -> Result<FormCode, MetadataError> {
        let well_formed = (2..=16).contains(&text.len())
            && text.starts_with(|first: char| first.is_ascii_uppercase())
            && text
                .chars()
                .all(|character| character.is_ascii_uppercase() || character.is_ascii_digit());
        if well_formed {
            Ok(FormCode(text.to_string()))
        } else {
            Err(MetadataError::MalformedFormCode(text.to_string()))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FormCode {
    type Error = MetadataError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        FormCode::parse(&text)
    }
}

impl From<FormCode> for String {
    fn from(code: FormCode) -> String {
        code.0
    }
}

impl fmt::Display for FormCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for FormCode {
    type Err = MetadataError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        FormCode::parse(text)
    }
}

/// An indicator code as printed on the paper form: `G101-15`, `G101Q-03`,
/// `JS-01`. Upper-case letters, digits and `-`, 2 to 24 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IndicatorCode(String);

impl IndicatorCode {
    /// Checks and wraps an indicator code.
    pub fn parse(text: &str) -> Result<IndicatorCode, MetadataError> {
        let well_formed = (2..=24).contains(&text.len())
            && text.starts_with(|first: char| first.is_ascii_uppercase())
            && !text.ends_with('-')
            && text.chars().all(|character| {
                character.is_ascii_uppercase() || character.is_ascii_digit() || character == '-'
            });
        if well_formed {
            Ok(IndicatorCode(text.to_string()))
        } else {
            Err(MetadataError::MalformedIndicatorCode(text.to_string()))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IndicatorCode {
    type Error = MetadataError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        IndicatorCode::parse(&text)
    }
}

impl From<IndicatorCode> for String {
    fn from(code: IndicatorCode) -> String {
        code.0
    }
}

impl fmt::Display for IndicatorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An indicator's key: the name rules, the API and the Excel template use,
/// e.g. `cod_emit`. Lower-case ASCII letters, digits and `_`, starting with a
/// letter, at most 40 characters, not a word of the rule language.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IndicatorKey(String);

impl IndicatorKey {
    /// Checks and wraps an indicator key.
    pub fn parse(text: &str) -> Result<IndicatorKey, MetadataError> {
        let well_formed = (1..=40).contains(&text.len())
            && text.starts_with(|first: char| first.is_ascii_lowercase())
            && text.chars().all(|character| {
                character.is_ascii_lowercase() || character.is_ascii_digit() || character == '_'
            });
        if !well_formed {
            return Err(MetadataError::MalformedIndicatorKey(text.to_string()));
        }
        if RESERVED_RULE_NAMES.contains(&text) {
            return Err(MetadataError::ReservedIndicatorKey(text.to_string()));
        }
        Ok(IndicatorKey(text.to_string()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IndicatorKey {
    type Error = MetadataError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        IndicatorKey::parse(&text)
    }
}

impl From<IndicatorKey> for String {
    fn from(key: IndicatorKey) -> String {
        key.0
    }
}

impl fmt::Display for IndicatorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who defined a form, an indicator or a rule: the national standard, or a
/// province's or city's extension. Written `national`, `province:320000`,
/// `city:320500`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Origin {
    /// The national standard (mandatory everywhere).
    National,
    /// A province's extension, valid in that province.
    Province(DivisionCode),
    /// A city's extension, valid in that city.
    City(DivisionCode),
}

impl Origin {
    /// Reads `national`, `province:320000` or `city:320500`, checking that the
    /// division is of the named kind.
    pub fn parse(text: &str) -> Result<Origin, MetadataError> {
        if text == "national" {
            return Ok(Origin::National);
        }
        let malformed = || MetadataError::MalformedOrigin(text.to_string());
        let (level, division_text) = text.split_once(':').ok_or_else(malformed)?;
        let division = DivisionCode::parse(division_text).map_err(|_| malformed())?;
        let (origin, expected_kind, expected_name) = match level {
            "province" => (
                Origin::Province(division),
                DivisionKind::Province,
                "province",
            ),
            "city" => (Origin::City(division), DivisionKind::City, "city"),
            _ => return Err(malformed()),
        };
        if division.kind() != expected_kind {
            return Err(MetadataError::OriginDivisionOfWrongKind {
                origin: text.to_string(),
                division: division.to_string(),
                expected: expected_name,
            });
        }
        Ok(origin)
    }

    /// A short Chinese name for UI lists: 国家, 省级（320000）, 市级（320500）.
    pub fn name_zh(self) -> String {
        match self {
            Origin::National => "国家".to_string(),
            Origin::Province(division) => format!("省级（{} {}）", division, division.name_zh()),
            Origin::City(division) => format!("市级（{} {}）", division, division.name_zh()),
        }
    }
}

impl TryFrom<String> for Origin {
    type Error = MetadataError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Origin::parse(&text)
    }
}

impl From<Origin> for String {
    fn from(origin: Origin) -> String {
        origin.to_string()
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::National => f.write_str("national"),
            Origin::Province(division) => write!(f, "province:{division}"),
            Origin::City(division) => write!(f, "city:{division}"),
        }
    }
}

/// How often a form is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// Once a year: periods `2025`.
    Annual,
    /// Once a quarter: periods `2026Q3`.
    Quarterly,
}

/// One allowed value of an enumerated indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumOption {
    /// The stored value, e.g. `stopped`.
    pub value: String,
    /// Its Chinese label, e.g. 全年停产.
    pub label_zh: String,
}

/// The type of an indicator's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueKind {
    /// A decimal number with at most `places` digits after the point (`dec(n)`).
    Decimal {
        /// Digits allowed after the decimal point.
        places: u32,
    },
    /// A whole number (`int`).
    Integer,
    /// One of a fixed list of values (`enum`).
    Enum {
        /// The allowed values, in display order.
        options: Vec<EnumOption>,
    },
    /// Free text (`text`).
    Text {
        /// The most characters accepted.
        max_chars: usize,
    },
}

impl ValueKind {
    /// Whether values of this kind are numbers (rules see them as numbers).
    pub fn is_numeric(&self) -> bool {
        matches!(self, ValueKind::Decimal { .. } | ValueKind::Integer)
    }
}

/// Where an indicator sits on the paper form (its section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorGroup {
    /// 基本情况: output, production time, status, remarks.
    General,
    /// 用水及废水: water use and wastewater.
    Water,
    /// 废水污染物: pollutants in wastewater.
    WaterPollutants,
    /// 废气: waste gas, fuel, air pollutants.
    Air,
    /// 一般工业固体废物: general solid waste.
    SolidWaste,
    /// 危险废物: hazardous waste.
    HazardousWaste,
}

/// One item of a form (指标).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// The printed code, e.g. `G101-15`.
    pub code: IndicatorCode,
    /// The key rules and the API use, e.g. `cod_emit`.
    pub key: IndicatorKey,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Unit of measure (吨, 万元, 小时...); empty when none.
    pub unit: String,
    /// Type and precision.
    pub kind: ValueKind,
    /// Smallest allowed value (numbers only).
    #[serde(default)]
    pub min: Option<Decimal>,
    /// Largest allowed value (numbers only).
    #[serde(default)]
    pub max: Option<Decimal>,
    /// Whether a submitted report must fill it (a separate check from the rules).
    #[serde(default)]
    pub required: bool,
    /// Its section on the paper form.
    pub group: IndicatorGroup,
    /// Who defined it. Stamped from the release that carries it when a
    /// release file is read; `compose` refuses an item whose origin is not
    /// its release's.
    #[serde(default = "origin_national_until_loaded")]
    pub origin: Origin,
}

fn origin_national_until_loaded() -> Origin {
    Origin::National
}

/// A form (报表): a set of indicators filled together for one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// Its code, e.g. `G101`.
    pub code: FormCode,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Annual or quarterly.
    pub period_kind: PeriodKind,
    /// A row form (G103) is filled as a list of rows with `row_columns`.
    #[serde(default)]
    pub row_form: bool,
    /// The form's indicators (empty for a row form).
    #[serde(default)]
    pub indicators: Vec<Indicator>,
    /// The columns of each row (row forms only).
    #[serde(default)]
    pub row_columns: Vec<Indicator>,
    /// Who defined the form. Stamped from the release that carries it.
    #[serde(default = "origin_national_until_loaded")]
    pub owner: Origin,
}

impl Form {
    /// The indicator (or row column) with this key.
    pub fn indicator(&self, key: &str) -> Option<&Indicator> {
        self.indicators
            .iter()
            .chain(self.row_columns.iter())
            .find(|indicator| indicator.key.as_str() == key)
    }

    /// The indicator with this printed code.
    pub fn indicator_by_code(&self, code: &str) -> Option<&Indicator> {
        self.indicators
            .iter()
            .chain(self.row_columns.iter())
            .find(|indicator| indicator.code.as_str() == code)
    }
}

/// One problem with a report's values as sent (a draft, an upload).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportValueProblem {
    /// The key is not an indicator (or row column) of the form.
    #[error("{form} 没有指标 “{key}” / form {form} has no indicator '{key}'")]
    UnknownIndicator {
        /// The form.
        form: FormCode,
        /// The key sent.
        key: String,
    },
    /// The value does not fit its indicator.
    #[error(transparent)]
    Value(#[from] ValueError),
}

impl Form {
    /// Parses a report's values as sent (`{key: "decimal string" | number |
    /// text}`). Empty strings and `null` mean "left empty" and are not
    /// stored. Every problem is reported, not only the first.
    pub fn parse_values(
        &self,
        raw: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<ReportValues, Vec<ReportValueProblem>> {
        parse_values_of(&self.code, &self.indicators, raw)
    }

    /// Parses one row of a row form (G103) against its row columns.
    pub fn parse_row(
        &self,
        raw: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<ReportValues, Vec<ReportValueProblem>> {
        parse_values_of(&self.code, &self.row_columns, raw)
    }

    /// The required indicators a report leaves empty (checked at submission,
    /// apart from the audit rules).
    pub fn missing_required_indicators(&self, values: &ReportValues) -> Vec<&Indicator> {
        self.indicators
            .iter()
            .filter(|indicator| indicator.required && !values.contains_key(indicator.key.as_str()))
            .collect()
    }
}

fn parse_values_of(
    form: &FormCode,
    indicators: &[Indicator],
    raw: &serde_json::Map<String, serde_json::Value>,
) -> Result<ReportValues, Vec<ReportValueProblem>> {
    let mut values = ReportValues::new();
    let mut problems = Vec::new();
    for (key, raw_value) in raw {
        let left_empty = match raw_value {
            serde_json::Value::Null => true,
            serde_json::Value::String(text) => text.trim().is_empty(),
            _ => false,
        };
        if left_empty {
            continue;
        }
        let Some(indicator) = indicators
            .iter()
            .find(|indicator| indicator.key.as_str() == key)
        else {
            problems.push(ReportValueProblem::UnknownIndicator {
                form: form.clone(),
                key: key.clone(),
            });
            continue;
        };
        match parse_value(indicator, RawValue::Json(raw_value)) {
            Ok(value) => {
                values.insert(key.clone(), value);
            }
            Err(error) => problems.push(error.into()),
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    }
}

/// Indicators an extension adds to an existing form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorAddition {
    /// The form they join.
    pub form: FormCode,
    /// The new indicators (new codes and keys only).
    #[serde(default)]
    pub indicators: Vec<Indicator>,
    /// New row columns (for a row form).
    #[serde(default)]
    pub row_columns: Vec<Indicator>,
}

/// One published version of a standard or an extension: what it adds.
/// Releases are immutable; a bureau publishes a new version to change its
/// extension, and a node keeps the versions it has applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataRelease {
    /// Who publishes it.
    pub origin: Origin,
    /// The publisher's release number, counting up from 1.
    pub version: u32,
    /// Whole new forms.
    pub forms: Vec<Form>,
    /// Indicators added to forms defined elsewhere.
    pub indicator_additions: Vec<IndicatorAddition>,
    /// Audit rules (owned by `origin`).
    pub rules: Vec<AuditRule>,
}

/// The file shape of a release (TOML), before origins are stamped in.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseFile {
    format_version: u32,
    origin: Origin,
    version: u32,
    #[serde(default)]
    forms: Vec<Form>,
    #[serde(default)]
    indicator_additions: Vec<IndicatorAddition>,
    #[serde(default)]
    rules: Vec<AuditRuleInFile>,
}

/// A rule as written in a release file: the owner comes from the release.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditRuleInFile {
    id: crate::rules::RuleId,
    form: FormCode,
    severity: crate::rules::Severity,
    expression: String,
    message_zh: String,
    #[serde(default)]
    message_en: String,
    #[serde(default)]
    indicators: Vec<IndicatorKey>,
}

impl MetadataRelease {
    /// Reads a release from its TOML text and stamps its origin on every
    /// form, indicator and rule in it.
    pub fn from_toml(text: &str) -> Result<MetadataRelease, MetadataError> {
        let file: ReleaseFile =
            toml::from_str(text).map_err(|error| MetadataError::Unreadable(error.to_string()))?;
        if file.format_version != RELEASE_FORMAT_VERSION {
            return Err(MetadataError::UnsupportedFormatVersion {
                found: file.format_version,
                supported: RELEASE_FORMAT_VERSION,
            });
        }
        let origin = file.origin;
        let forms = file
            .forms
            .into_iter()
            .map(|form| stamp_form_origin(form, origin))
            .collect();
        let indicator_additions = file
            .indicator_additions
            .into_iter()
            .map(|addition| IndicatorAddition {
                form: addition.form,
                indicators: stamp_indicators_origin(addition.indicators, origin),
                row_columns: stamp_indicators_origin(addition.row_columns, origin),
            })
            .collect();
        let rules = file
            .rules
            .into_iter()
            .map(|rule| AuditRule {
                id: rule.id,
                owner: origin,
                form: rule.form,
                severity: rule.severity,
                expression: rule.expression.trim().to_string(),
                message_zh: rule.message_zh,
                message_en: rule.message_en,
                indicators: rule.indicators,
            })
            .collect();
        let release = MetadataRelease {
            origin,
            version: file.version,
            forms,
            indicator_additions,
            rules,
        };
        check_release_limits(&release)?;
        Ok(release)
    }
}

fn stamp_form_origin(mut form: Form, origin: Origin) -> Form {
    form.owner = origin;
    form.indicators = stamp_indicators_origin(form.indicators, origin);
    form.row_columns = stamp_indicators_origin(form.row_columns, origin);
    form
}

fn stamp_indicators_origin(indicators: Vec<Indicator>, origin: Origin) -> Vec<Indicator> {
    indicators
        .into_iter()
        .map(|mut indicator| {
            indicator.origin = origin;
            indicator
        })
        .collect()
}

/// Checks what can be checked inside one release: limits make sense and an
/// enum has options. Clashes between releases are found by `compose`.
fn check_release_limits(release: &MetadataRelease) -> Result<(), MetadataError> {
    let all_indicators = release
        .forms
        .iter()
        .flat_map(|form| form.indicators.iter().chain(form.row_columns.iter()))
        .chain(release.indicator_additions.iter().flat_map(|addition| {
            addition
                .indicators
                .iter()
                .chain(addition.row_columns.iter())
        }));
    for indicator in all_indicators {
        if let (Some(min), Some(max)) = (indicator.min, indicator.max)
            && min > max
        {
            return Err(MetadataError::Inconsistent(format!(
                "indicator {} has min {min} above max {max}",
                indicator.code
            )));
        }
        if let ValueKind::Enum { options } = &indicator.kind
            && options.is_empty()
        {
            return Err(MetadataError::Inconsistent(format!(
                "indicator {} is an enum without options",
                indicator.code
            )));
        }
    }
    Ok(())
}

/// The national metadata standard: forms, indicators and the mandatory rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NationalStandard {
    /// The release it comes from (origin national).
    pub release: MetadataRelease,
}

impl NationalStandard {
    /// The standard shipped in the binary (`node/data/national-standard.toml`).
    /// A test loads it, so an error here means the file was edited badly.
    pub fn default_standard() -> Result<NationalStandard, MetadataError> {
        NationalStandard::from_toml(NATIONAL_STANDARD_TOML)
    }

    /// Reads a national standard release (e.g. a newer one sent by the
    /// national node).
    pub fn from_toml(text: &str) -> Result<NationalStandard, MetadataError> {
        let release = MetadataRelease::from_toml(text)?;
        if release.origin != Origin::National {
            return Err(MetadataError::WrongOrigin {
                expected: "the national standard",
                found: release.origin,
            });
        }
        Ok(NationalStandard { release })
    }
}

/// A province's or city's additions to the standard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The release it comes from (origin province or city).
    pub release: MetadataRelease,
}

impl Extension {
    /// Reads an extension release; its origin must be a province or a city.
    pub fn from_toml(text: &str) -> Result<Extension, MetadataError> {
        let release = MetadataRelease::from_toml(text)?;
        if release.origin == Origin::National {
            return Err(MetadataError::WrongOrigin {
                expected: "a province or city extension",
                found: release.origin,
            });
        }
        Ok(Extension { release })
    }

    /// Who publishes it.
    pub fn origin(&self) -> Origin {
        self.release.origin
    }
}

/// Why a set of releases cannot be combined. Each names the offending item
/// and the release that owns the original.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompositionError {
    /// The province slot holds a city's extension, or the other way round.
    #[error("the {slot} extension must come from a {slot}, but it comes from {found}")]
    ExtensionInWrongSlot {
        /// `province` or `city`.
        slot: &'static str,
        /// Its actual origin.
        found: Origin,
    },
    /// The city is not inside the province whose extension was given.
    #[error(
        "city {city} is not in province {province}; a city's metadata builds on its own province's"
    )]
    CityOutsideProvince {
        /// The city.
        city: DivisionCode,
        /// The province.
        province: DivisionCode,
    },
    /// A form code is defined twice.
    #[error(
        "form {form} from {added_by} clashes with the form of the same code from {owned_by}; an extension can only add new forms"
    )]
    FormCodeTaken {
        /// The code.
        form: FormCode,
        /// Who defined it first.
        owned_by: Origin,
        /// Who tried again.
        added_by: Origin,
    },
    /// An extension adds indicators to a form nobody defined.
    #[error("{added_by} adds indicators to form {form}, which does not exist")]
    UnknownForm {
        /// The form named.
        form: FormCode,
        /// The extension.
        added_by: Origin,
    },
    /// An indicator code or key is already used in the form.
    #[error(
        "indicator {code} ({key}) from {added_by} clashes with an existing indicator of form {form} owned by {owned_by}; an extension can only add new codes and keys, never change one"
    )]
    IndicatorTaken {
        /// The form.
        form: FormCode,
        /// The new indicator's code.
        code: IndicatorCode,
        /// The new indicator's key.
        key: IndicatorKey,
        /// Who owns the existing one.
        owned_by: Origin,
        /// Who tried to add it.
        added_by: Origin,
    },
    /// A rule id is already used (e.g. a city shipping its own `N003`).
    #[error(
        "rule {rule} from {added_by} clashes with rule {rule} owned by {owned_by}; an extension can only add rules with new ids, never replace or disable one"
    )]
    RuleIdTaken {
        /// The id.
        rule: crate::rules::RuleId,
        /// Who owns the existing one.
        owned_by: Origin,
        /// Who tried to add it.
        added_by: Origin,
    },
    /// An item of a release claims another origin than the release (a
    /// release received from a peer must not smuggle in "national" items).
    #[error(
        "release of {release_origin} carries {item} with origin {item_origin}; every item of a release belongs to its publisher"
    )]
    ForeignOrigin {
        /// The release's origin.
        release_origin: Origin,
        /// The item (form, indicator or rule code).
        item: String,
        /// The origin it claims.
        item_origin: Origin,
    },
    /// A rule is on a form that does not exist.
    #[error("rule {rule} from {added_by} is on form {form}, which does not exist")]
    RuleOnUnknownForm {
        /// The rule.
        rule: crate::rules::RuleId,
        /// The form named.
        form: FormCode,
        /// Who added it.
        added_by: Origin,
    },
}

/// What a node uses: the national standard plus its province's and city's
/// extensions, each item tagged with its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveMetadata {
    /// Every form, with the indicators of every level merged in (national first).
    pub forms: Vec<Form>,
    /// Every rule, national first, then province, then city.
    pub rules: Vec<AuditRule>,
    /// The releases composed: (origin, version).
    pub releases: Vec<(Origin, u32)>,
}

impl EffectiveMetadata {
    /// Combines the national standard with the extensions of a province and
    /// of one of its cities (either may be absent). Refuses any extension that
    /// would change, replace or disable something defined above it.
    pub fn compose(
        national: &NationalStandard,
        province_extension: Option<&Extension>,
        city_extension: Option<&Extension>,
    ) -> Result<EffectiveMetadata, CompositionError> {
        check_extension_slots(province_extension, city_extension)?;
        let mut effective = EffectiveMetadata {
            forms: Vec::new(),
            rules: Vec::new(),
            releases: Vec::new(),
        };
        effective.add_release(&national.release)?;
        for extension in [province_extension, city_extension].into_iter().flatten() {
            effective.add_release(&extension.release)?;
        }
        Ok(effective)
    }

    /// The form with this code.
    pub fn form(&self, code: &FormCode) -> Option<&Form> {
        self.forms.iter().find(|form| &form.code == code)
    }

    /// The rules on one form, national first.
    pub fn rules_for_form<'a>(
        &'a self,
        code: &'a FormCode,
    ) -> impl Iterator<Item = &'a AuditRule> + 'a {
        self.rules.iter().filter(move |rule| &rule.form == code)
    }

    fn add_release(&mut self, release: &MetadataRelease) -> Result<(), CompositionError> {
        check_item_origins(release)?;
        for form in &release.forms {
            self.add_form(form)?;
        }
        for addition in &release.indicator_additions {
            self.add_indicators(addition, release.origin)?;
        }
        for rule in &release.rules {
            self.add_rule(rule)?;
        }
        self.releases.push((release.origin, release.version));
        Ok(())
    }

    fn add_form(&mut self, form: &Form) -> Result<(), CompositionError> {
        if let Some(existing) = self.form(&form.code) {
            return Err(CompositionError::FormCodeTaken {
                form: form.code.clone(),
                owned_by: existing.owner,
                added_by: form.owner,
            });
        }
        // Check the new form's own indicators for duplicates by adding them one by one.
        let mut empty_form = form.clone();
        empty_form.indicators.clear();
        empty_form.row_columns.clear();
        self.forms.push(empty_form);
        let addition = IndicatorAddition {
            form: form.code.clone(),
            indicators: form.indicators.clone(),
            row_columns: form.row_columns.clone(),
        };
        self.add_indicators(&addition, form.owner)
    }

    fn add_indicators(
        &mut self,
        addition: &IndicatorAddition,
        added_by: Origin,
    ) -> Result<(), CompositionError> {
        let Some(form) = self
            .forms
            .iter_mut()
            .find(|form| form.code == addition.form)
        else {
            return Err(CompositionError::UnknownForm {
                form: addition.form.clone(),
                added_by,
            });
        };
        for (indicator, is_row_column) in addition
            .indicators
            .iter()
            .map(|indicator| (indicator, false))
            .chain(
                addition
                    .row_columns
                    .iter()
                    .map(|indicator| (indicator, true)),
            )
        {
            let clash = form
                .indicators
                .iter()
                .chain(form.row_columns.iter())
                .find(|existing| existing.code == indicator.code || existing.key == indicator.key);
            if let Some(existing) = clash {
                return Err(CompositionError::IndicatorTaken {
                    form: form.code.clone(),
                    code: indicator.code.clone(),
                    key: indicator.key.clone(),
                    owned_by: existing.origin,
                    added_by,
                });
            }
            if is_row_column {
                form.row_columns.push(indicator.clone());
            } else {
                form.indicators.push(indicator.clone());
            }
        }
        Ok(())
    }

    fn add_rule(&mut self, rule: &AuditRule) -> Result<(), CompositionError> {
        if let Some(existing) = self.rules.iter().find(|existing| existing.id == rule.id) {
            return Err(CompositionError::RuleIdTaken {
                rule: rule.id.clone(),
                owned_by: existing.owner,
                added_by: rule.owner,
            });
        }
        if self.form(&rule.form).is_none() {
            return Err(CompositionError::RuleOnUnknownForm {
                rule: rule.id.clone(),
                form: rule.form.clone(),
                added_by: rule.owner,
            });
        }
        self.rules.push(rule.clone());
        Ok(())
    }
}

fn check_item_origins(release: &MetadataRelease) -> Result<(), CompositionError> {
    let foreign = |item: String, item_origin: Origin| CompositionError::ForeignOrigin {
        release_origin: release.origin,
        item,
        item_origin,
    };
    for form in &release.forms {
        if form.owner != release.origin {
            return Err(foreign(form.code.to_string(), form.owner));
        }
    }
    let indicators = release
        .forms
        .iter()
        .flat_map(|form| form.indicators.iter().chain(&form.row_columns))
        .chain(
            release
                .indicator_additions
                .iter()
                .flat_map(|addition| addition.indicators.iter().chain(&addition.row_columns)),
        );
    for indicator in indicators {
        if indicator.origin != release.origin {
            return Err(foreign(indicator.code.to_string(), indicator.origin));
        }
    }
    for rule in &release.rules {
        if rule.owner != release.origin {
            return Err(foreign(rule.id.to_string(), rule.owner));
        }
    }
    Ok(())
}

fn check_extension_slots(
    province_extension: Option<&Extension>,
    city_extension: Option<&Extension>,
) -> Result<(), CompositionError> {
    let province = match province_extension.map(Extension::origin) {
        None => None,
        Some(Origin::Province(division)) => Some(division),
        Some(found) => {
            return Err(CompositionError::ExtensionInWrongSlot {
                slot: "province",
                found,
            });
        }
    };
    let city = match city_extension.map(Extension::origin) {
        None => None,
        Some(Origin::City(division)) => Some(division),
        Some(found) => {
            return Err(CompositionError::ExtensionInWrongSlot {
                slot: "city",
                found,
            });
        }
    };
    if let (Some(province), Some(city)) = (province, city)
        && !province.contains(city)
    {
        return Err(CompositionError::CityOutsideProvince { city, province });
    }
    Ok(())
}

/// The keys of a form's numeric indicators, its choice (enum) indicators and
/// its text indicators, for checking what a rule may name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndicatorKeysByKind {
    /// Decimal and integer indicators.
    pub numeric: BTreeSet<String>,
    /// Enum and text indicators.
    pub textual: BTreeSet<String>,
    /// Numeric row columns (row forms).
    pub numeric_row_columns: BTreeSet<String>,
}

impl IndicatorKeysByKind {
    /// Sorts a form's indicator keys by kind.
    pub fn of_form(form: &Form) -> IndicatorKeysByKind {
        let mut keys = IndicatorKeysByKind::default();
        for indicator in &form.indicators {
            let key = indicator.key.as_str().to_string();
            if indicator.kind.is_numeric() {
                keys.numeric.insert(key);
            } else {
                keys.textual.insert(key);
            }
        }
        for column in &form.row_columns {
            if column.kind.is_numeric() {
                keys.numeric_row_columns
                    .insert(column.key.as_str().to_string());
            }
        }
        keys
    }
}

/// The values of one report (or one row), keyed by indicator key, as checked
/// by [`parse_value`]. Missing keys are indicators left empty.
pub type ReportValues = BTreeMap<String, IndicatorValue>;
