//! The identifiers of a survey unit and its industry, each checked when built.
//!
//! - [`CreditCode`]: 统一社会信用代码, GB 32100-2015. 18 characters from
//!   `0123456789ABCDEFGHJKLMNPQRTUWXY` (no I, O, S, V, Z); character 1 is the
//!   registering authority, 2 the kind of organisation, 3–8 the division where
//!   it was registered, 9–17 the organisation code, 18 a check character
//!   (weighted sum mod 31).
//! - [`OrgCode`]: 组织机构代码, GB 11714-1997, the legacy 9-character code
//!   (8 body characters + a check character, weighted sum mod 11, `X` for 10)
//!   still found on old records.
//! - [`UnitCode`]: the id of a survey unit, either of the two; serde as the bare
//!   code text, so `"91350100M000100Y43"` and `"D2143569X"` both decode.
//! - [`IndustryCode`]: a GB/T 4754-2017 major category from the shipped table.
//!
//! Errors name the position and character that are wrong, and for a wrong
//! check character the one that would be right, in Chinese and English: a
//! statistician fixing row 17 of a spreadsheet needs exactly that.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

/// The 31 characters of GB 32100-2015, in value order (I, O, S, V, Z are not used).
pub const CREDIT_CODE_CHARACTERS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of characters 1–17 of a credit code (3^(i) mod 31).
const CREDIT_CODE_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Weights of characters 1–8 of an organisation code.
const ORG_CODE_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Length of a unified social credit code.
pub const CREDIT_CODE_LENGTH: usize = 18;

/// Length of an organisation code (without the hyphen sometimes printed before the check character).
pub const ORG_CODE_LENGTH: usize = 9;

/// A message in Chinese (shown by default) and English. Errors that reach a
/// user implement it; their `Display` is `"中文 / English"`.
pub trait Bilingual {
    /// The Chinese message.
    fn message_zh(&self) -> String;
    /// The English message.
    fn message_en(&self) -> String;
}

/// Which alphabet a code position allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeAlphabet {
    /// Credit code: digits and capital letters except I, O, S, V, Z.
    Credit,
    /// Organisation code body: digits and capital letters.
    Org,
}

impl CodeAlphabet {
    fn describe_zh(self) -> &'static str {
        match self {
            CodeAlphabet::Credit => "数字或除 I、O、S、V、Z 外的大写字母",
            CodeAlphabet::Org => "数字或大写字母",
        }
    }

    fn describe_en(self) -> &'static str {
        match self {
            CodeAlphabet::Credit => "a digit or a capital letter other than I, O, S, V, Z",
            CodeAlphabet::Org => "a digit or a capital letter",
        }
    }
}

/// Why a text is not a valid credit code or organisation code. Positions are
/// 1-based, as printed on a business licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    /// Nothing was given.
    Empty,
    /// The length fits neither code.
    WrongLength {
        /// Characters found.
        length: usize,
    },
    /// A character outside the allowed set.
    BadCharacter {
        /// 1-based position.
        position: usize,
        /// The character found.
        character: char,
        /// Which characters are allowed there.
        alphabet: CodeAlphabet,
    },
    /// All characters are allowed but the check character does not match.
    WrongCheckCharacter {
        /// 1-based position of the check character (18 or 9).
        position: usize,
        /// The check character found.
        found: char,
        /// The check character the body requires.
        expected: char,
    },
}

impl Bilingual for CodeError {
    fn message_zh(&self) -> String {
        match self {
            CodeError::Empty => "代码为空".to_string(),
            CodeError::WrongLength { length } => {
                format!("代码长度为 {length} 位，统一社会信用代码应为 18 位，组织机构代码应为 9 位")
            }
            CodeError::BadCharacter {
                position,
                character,
                alphabet,
            } => format!(
                "第 {position} 位字符“{character}”无效，应为{}",
                alphabet.describe_zh()
            ),
            CodeError::WrongCheckCharacter {
                position,
                found,
                expected,
            } => format!("校验位错误，应为 {expected}（第 {position} 位现为 {found}）"),
        }
    }

    fn message_en(&self) -> String {
        match self {
            CodeError::Empty => "the code is empty".to_string(),
            CodeError::WrongLength { length } => format!(
                "the code has {length} characters: a credit code has 18, an organisation code 9"
            ),
            CodeError::BadCharacter {
                position,
                character,
                alphabet,
            } => format!(
                "character {position} '{character}' is invalid: expected {}",
                alphabet.describe_en()
            ),
            CodeError::WrongCheckCharacter {
                position,
                found,
                expected,
            } => format!(
                "check character wrong, expected {expected} (character {position} is {found})"
            ),
        }
    }
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.message_zh(), self.message_en())
    }
}

impl std::error::Error for CodeError {}

/// Value of a character in the credit-code alphabet.
fn credit_character_value(character: char) -> Option<u32> {
    CREDIT_CODE_CHARACTERS
        .chars()
        .position(|allowed| allowed == character)
        .and_then(|index| u32::try_from(index).ok())
}

/// The check character (18th) of a credit code for its first 17 characters.
/// Returns `None` when the body is not 17 characters of the alphabet.
pub fn credit_code_check_character(first_17: &str) -> Option<char> {
    let values: Vec<u32> = first_17
        .chars()
        .map(credit_character_value)
        .collect::<Option<_>>()?;
    if values.len() != 17 {
        return None;
    }
    let sum: u32 = values
        .iter()
        .zip(CREDIT_CODE_WEIGHTS)
        .map(|(value, weight)| value * weight)
        .sum();
    let check_value = (31 - sum % 31) % 31;
    CREDIT_CODE_CHARACTERS.chars().nth(check_value as usize)
}

/// Value of a body character of an organisation code: digits 0–9, letters A–Z 10–35.
fn org_character_value(character: char) -> Option<u32> {
    match character {
        '0'..='9' | 'A'..='Z' => character.to_digit(36),
        _ => None,
    }
}

/// The check character (9th) of an organisation code for its first 8 characters.
/// Returns `None` when the body is not 8 digits or capital letters.
pub fn org_code_check_character(first_8: &str) -> Option<char> {
    let values: Vec<u32> = first_8
        .chars()
        .map(org_character_value)
        .collect::<Option<_>>()?;
    if values.len() != 8 {
        return None;
    }
    let sum: u32 = values
        .iter()
        .zip(ORG_CODE_WEIGHTS)
        .map(|(value, weight)| value * weight)
        .sum();
    match 11 - sum % 11 {
        10 => Some('X'),
        11 => Some('0'),
        digit => char::from_digit(digit, 10),
    }
}

/// Trims and upper-cases what a user typed; drops the hyphen that licences
/// print before an organisation code's check character (`D2143569-X`).
fn normalize_code_text(text: &str) -> String {
    text.trim()
        .chars()
        .filter(|character| *character != '-' && !character.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// A unified social credit code (统一社会信用代码), check character verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses a credit code (trimmed, upper-cased), verifying every character and the check character.
    pub fn parse(text: &str) -> Result<CreditCode, CodeError> {
        let code = normalize_code_text(text);
        let characters: Vec<char> = code.chars().collect();
        if characters.is_empty() {
            return Err(CodeError::Empty);
        }
        if characters.len() != CREDIT_CODE_LENGTH {
            return Err(CodeError::WrongLength {
                length: characters.len(),
            });
        }
        for (index, character) in characters.iter().enumerate() {
            if credit_character_value(*character).is_none() {
                return Err(CodeError::BadCharacter {
                    position: index + 1,
                    character: *character,
                    alphabet: CodeAlphabet::Credit,
                });
            }
        }
        let body: String = characters[..17].iter().collect();
        let expected = credit_code_check_character(&body).ok_or(CodeError::WrongLength {
            length: characters.len(),
        })?;
        let found = characters[17];
        if found != expected {
            return Err(CodeError::WrongCheckCharacter {
                position: CREDIT_CODE_LENGTH,
                found,
                expected,
            });
        }
        Ok(CreditCode(code))
    }

    /// The code text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Characters 3–8: the division where the unit was registered. It may be a
    /// division that no longer exists (codes outlive redistricting), so this is
    /// text; see [`CreditCode::registration_division`].
    pub fn registration_division_text(&self) -> &str {
        self.0.get(2..8).unwrap_or_default()
    }

    /// Characters 3–8 as a division of the current GB/T 2260 table, if it still exists.
    pub fn registration_division(&self) -> Option<crate::division::DivisionCode> {
        crate::division::DivisionCode::parse(self.registration_division_text()).ok()
    }

    /// Characters 9–17: the organisation code embedded in the credit code.
    pub fn org_code_text(&self) -> &str {
        self.0.get(8..17).unwrap_or_default()
    }

    /// The embedded organisation code, when it is itself a valid GB 11714 code
    /// (true for codes issued by market regulators; not guaranteed for all).
    pub fn embedded_org_code(&self) -> Option<OrgCode> {
        OrgCode::parse(self.org_code_text()).ok()
    }
}

/// A legacy organisation code (组织机构代码, GB 11714-1997), check character verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgCode(String);

impl OrgCode {
    /// Parses an organisation code; `D2143569-X` and `D2143569X` are the same code.
    pub fn parse(text: &str) -> Result<OrgCode, CodeError> {
        let code = normalize_code_text(text);
        let characters: Vec<char> = code.chars().collect();
        if characters.is_empty() {
            return Err(CodeError::Empty);
        }
        if characters.len() != ORG_CODE_LENGTH {
            return Err(CodeError::WrongLength {
                length: characters.len(),
            });
        }
        for (index, character) in characters[..8].iter().enumerate() {
            if org_character_value(*character).is_none() {
                return Err(CodeError::BadCharacter {
                    position: index + 1,
                    character: *character,
                    alphabet: CodeAlphabet::Org,
                });
            }
        }
        let body: String = characters[..8].iter().collect();
        let expected = org_code_check_character(&body).ok_or(CodeError::WrongLength {
            length: characters.len(),
        })?;
        let found = characters[8];
        if found != expected {
            return Err(CodeError::WrongCheckCharacter {
                position: ORG_CODE_LENGTH,
                found,
                expected,
            });
        }
        Ok(OrgCode(code))
    }

    /// The code text (9 characters, no hyphen).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of a survey unit: its credit code, or for units still on old
/// records, its organisation code. Serialized as the bare code text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnitCode {
    /// 统一社会信用代码.
    Credit(CreditCode),
    /// 组织机构代码 (legacy).
    Org(OrgCode),
}

impl UnitCode {
    /// Parses either kind, chosen by length (18 → credit code, 9 → organisation code).
    pub fn parse(text: &str) -> Result<UnitCode, CodeError> {
        let code = normalize_code_text(text);
        match code.chars().count() {
            0 => Err(CodeError::Empty),
            CREDIT_CODE_LENGTH => CreditCode::parse(&code).map(UnitCode::Credit),
            ORG_CODE_LENGTH => OrgCode::parse(&code).map(UnitCode::Org),
            length => Err(CodeError::WrongLength { length }),
        }
    }

    /// The code text.
    pub fn as_str(&self) -> &str {
        match self {
            UnitCode::Credit(code) => code.as_str(),
            UnitCode::Org(code) => code.as_str(),
        }
    }

    /// The organisation-code part: the whole code for [`UnitCode::Org`],
    /// characters 9–17 for [`UnitCode::Credit`]. Two codes with the same
    /// organisation part very likely name the same organisation (R28).
    pub fn org_code_text(&self) -> &str {
        match self {
            UnitCode::Credit(code) => code.org_code_text(),
            UnitCode::Org(code) => code.as_str(),
        }
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for OrgCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for UnitCode {
    type Err = CodeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        UnitCode::parse(text)
    }
}

impl serde::Serialize for UnitCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for UnitCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        UnitCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The GB/T 4754-2017 major categories the system covers, shipped in the binary.
const INDUSTRY_CODES_CSV: &str = include_str!("../../data/industry-codes.csv");

/// One row of the industry table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Industry {
    /// Two-digit major-category code, e.g. `44`.
    pub code: String,
    /// Section letter, e.g. `D`.
    pub section: String,
    /// Chinese name, e.g. 电力、热力生产和供应业.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// Reads the shipped table. The CSV is compiled in and its row count is
/// checked by the tests, so a malformed line is skipped, not a reason to abort.
fn load_industries(csv_text: &str) -> Vec<Industry> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    reader
        .records()
        .filter_map(Result::ok)
        .filter_map(|record| {
            Some(Industry {
                code: record.get(0)?.to_string(),
                section: record.get(1)?.to_string(),
                name_zh: record.get(2)?.to_string(),
                name_en: record.get(3)?.to_string(),
            })
        })
        .collect()
}

static INDUSTRIES: LazyLock<Vec<Industry>> = LazyLock::new(|| load_industries(INDUSTRY_CODES_CSV));

static INDUSTRY_BY_CODE: LazyLock<HashMap<&'static str, &'static Industry>> = LazyLock::new(|| {
    INDUSTRIES
        .iter()
        .map(|industry| (industry.code.as_str(), industry))
        .collect()
});

/// Why a text is not an industry code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndustryError {
    /// Not two (to four) digits.
    Malformed(String),
    /// Two digits, but not a category this system covers.
    NotCovered(String),
}

impl Bilingual for IndustryError {
    fn message_zh(&self) -> String {
        match self {
            IndustryError::Malformed(text) => {
                format!("行业代码“{text}”格式错误，应为两位数字（GB/T 4754-2017 大类），如 44")
            }
            IndustryError::NotCovered(major) => {
                format!("行业代码 {major} 不属于采矿业、制造业或电力燃气水的生产供应业（06–46）")
            }
        }
    }

    fn message_en(&self) -> String {
        match self {
            IndustryError::Malformed(text) => format!(
                "industry code '{text}' is malformed: expected two digits (GB/T 4754-2017 major category), e.g. 44"
            ),
            IndustryError::NotCovered(major) => format!(
                "industry code {major} is not a mining, manufacturing or utilities category (06–46)"
            ),
        }
    }
}

impl fmt::Display for IndustryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.message_zh(), self.message_en())
    }
}

impl std::error::Error for IndustryError {}

/// A GB/T 4754-2017 major-category code (行业代码) from the shipped table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndustryCode(&'static str);

impl IndustryCode {
    /// Parses a two-digit code; a finer code (`4411`, `C2614`) is reduced to its major category.
    pub fn parse(text: &str) -> Result<IndustryCode, IndustryError> {
        let trimmed = text.trim();
        let digits = trimmed
            .strip_prefix(|letter: char| letter.is_ascii_uppercase())
            .unwrap_or(trimmed);
        let well_formed =
            (2..=4).contains(&digits.len()) && digits.bytes().all(|byte| byte.is_ascii_digit());
        let major = match digits.get(..2) {
            Some(major) if well_formed => major,
            _ => return Err(IndustryError::Malformed(trimmed.to_string())),
        };
        INDUSTRY_BY_CODE
            .get(major)
            .map(|industry| IndustryCode(industry.code.as_str()))
            .ok_or_else(|| IndustryError::NotCovered(major.to_string()))
    }

    /// The two-digit code.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The table row: section and names.
    pub fn industry(self) -> Option<&'static Industry> {
        INDUSTRY_BY_CODE.get(self.0).copied()
    }

    /// Chinese name, e.g. 化学原料和化学制品制造业.
    pub fn name_zh(self) -> &'static str {
        self.industry()
            .map_or("", |industry| industry.name_zh.as_str())
    }

    /// English name.
    pub fn name_en(self) -> &'static str {
        self.industry()
            .map_or("", |industry| industry.name_en.as_str())
    }
}

/// Every industry code of the table, in code order.
pub fn all_industry_codes() -> Vec<IndustryCode> {
    INDUSTRIES
        .iter()
        .map(|industry| IndustryCode(industry.code.as_str()))
        .collect()
}

impl fmt::Display for IndustryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl serde::Serialize for IndustryCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for IndustryCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        IndustryCode::parse(&text).map_err(serde::de::Error::custom)
    }
}
