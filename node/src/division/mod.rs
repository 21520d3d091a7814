//! Administrative divisions (行政区划, GB/T 2260): the nation, its 31
//! provinces, 342 cities and 2,978 counties, with their Chinese names.
//!
//! A [`DivisionCode`] is six digits and is only constructed for codes that
//! exist in the shipped table, so holding one means the division is real.
//! Jurisdiction questions ("does Jiangsu contain Nanjing's Xuanwu district?")
//! are answered by [`DivisionCode::contains`], which walks the parent links of
//! the table rather than comparing digit prefixes: 省直辖县级行政区划 (e.g.
//! 419000) and municipalities' 市辖区 (110100) make prefix rules wrong.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

#[cfg(test)]
mod tests;

/// The GB/T 2260 table, shipped in the binary (a public standard).
const ADMIN_DIVISIONS_CSV: &str = include_str!("../../data/admin-divisions.csv");

/// The code of the nation as a whole (the national node's division).
pub const NATION_CODE: &str = "000000";

/// What kind of division a code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DivisionKind {
    /// 全国.
    Nation,
    /// 省级 (province, autonomous region, municipality).
    Province,
    /// 地级 (city, prefecture, or a province's directly administered group).
    City,
    /// 县级 (county, district, county-level city).
    County,
}

/// One row of the division table.
#[derive(Debug, Clone)]
pub struct Division {
    /// The division's own code.
    pub code: DivisionCode,
    /// Its kind.
    pub kind: DivisionKind,
    /// Chinese name, e.g. 南京市.
    pub name_zh: String,
    /// The division directly above; `None` only for the nation.
    pub parent: Option<DivisionCode>,
    /// A city with no counties under it (东莞市, 中山市, 儋州市) is listed by
    /// GB/T 2260 a second time as its own county-level division.
    pub also_county_level: bool,
}

/// A six-digit GB/T 2260 code that exists in the shipped table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DivisionCode(u32);

/// Why a text is not a division code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivisionError {
    /// Not six ASCII digits.
    #[error("'{0}' is not a division code: expected six digits (GB/T 2260), e.g. 320100")]
    Malformed(String),
    /// Six digits, but no such division in GB/T 2260.
    #[error("division code {0} does not exist in GB/T 2260")]
    Unknown(String),
}

struct DivisionTable {
    by_code: HashMap<DivisionCode, Division>,
    children: HashMap<DivisionCode, Vec<DivisionCode>>,
}

static TABLE: LazyLock<DivisionTable> = LazyLock::new(|| load_table(ADMIN_DIVISIONS_CSV));

fn parse_six_digits(text: &str) -> Option<u32> {
    if text.len() == 6 && text.bytes().all(|byte| byte.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

fn parse_kind(text: &str) -> Option<DivisionKind> {
    match text {
        "province" => Some(DivisionKind::Province),
        "city" => Some(DivisionKind::City),
        "county" => Some(DivisionKind::County),
        _ => None,
    }
}

/// Builds the table from the CSV. The CSV is compiled in and checked by the
/// tests (exact counts per kind), so a malformed line is skipped rather than
/// being a reason to abort a running node.
fn load_table(csv: &str) -> DivisionTable {
    let nation = DivisionCode(0);
    let mut by_code = HashMap::new();
    by_code.insert(
        nation,
        Division {
            code: nation,
            kind: DivisionKind::Nation,
            name_zh: "全国".to_string(),
            parent: None,
            also_county_level: false,
        },
    );
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.trim().split(',').collect();
        let [code, kind, name, parent] = fields.as_slice() else {
            continue;
        };
        let (Some(code), Some(kind), Some(parent)) = (
            parse_six_digits(code),
            parse_kind(kind),
            parse_six_digits(parent),
        ) else {
            continue;
        };
        if code == parent {
            // The county-level listing of a city without counties: same division.
            if let Some(city) = by_code.get_mut(&DivisionCode(code)) {
                city.also_county_level = true;
            }
            continue;
        }
        by_code.insert(
            DivisionCode(code),
            Division {
                code: DivisionCode(code),
                kind,
                name_zh: name.to_string(),
                parent: Some(DivisionCode(parent)),
                also_county_level: false,
            },
        );
    }
    let mut children: HashMap<DivisionCode, Vec<DivisionCode>> = HashMap::new();
    for division in by_code.values() {
        if let Some(parent) = division.parent {
            children.entry(parent).or_default().push(division.code);
        }
    }
    for list in children.values_mut() {
        list.sort();
    }
    DivisionTable { by_code, children }
}

impl DivisionCode {
    /// The nation (000000).
    pub fn nation() -> DivisionCode {
        DivisionCode(0)
    }

    /// Parses and checks that the division exists.
    pub fn parse(text: &str) -> Result<DivisionCode, DivisionError> {
        let digits =
            parse_six_digits(text).ok_or_else(|| DivisionError::Malformed(text.to_string()))?;
        let code = DivisionCode(digits);
        if TABLE.by_code.contains_key(&code) {
            Ok(code)
        } else {
            Err(DivisionError::Unknown(text.to_string()))
        }
    }

    fn division(self) -> Option<&'static Division> {
        TABLE.by_code.get(&self)
    }

    /// The kind of division (always known: codes are only built for table rows).
    pub fn kind(self) -> DivisionKind {
        self.division()
            .map_or(DivisionKind::County, |division| division.kind)
    }

    /// Chinese name, e.g. 江苏省.
    pub fn name_zh(self) -> &'static str {
        self.division()
            .map_or("", |division| division.name_zh.as_str())
    }

    /// The division directly above; `None` for the nation.
    pub fn parent(self) -> Option<DivisionCode> {
        self.division().and_then(|division| division.parent)
    }

    /// The divisions directly below, in code order.
    pub fn children(self) -> &'static [DivisionCode] {
        TABLE.children.get(&self).map_or(&[], Vec::as_slice)
    }

    /// True when `other` is this division or lies (transitively) inside it.
    pub fn contains(self, other: DivisionCode) -> bool {
        let mut current = Some(other);
        while let Some(code) = current {
            if code == self {
                return true;
            }
            current = code.parent();
        }
        false
    }

    /// The chain from the nation down to this division, e.g. 全国 › 江苏省 › 南京市.
    pub fn path_from_nation(self) -> Vec<DivisionCode> {
        let mut path = Vec::new();
        let mut current = Some(self);
        while let Some(code) = current {
            path.push(code);
            current = code.parent();
        }
        path.reverse();
        path
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl FromStr for DivisionCode {
    type Err = DivisionError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        DivisionCode::parse(text)
    }
}

impl serde::Serialize for DivisionCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DivisionCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DivisionCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Every division of a kind, in code order (e.g. all 31 provinces).
pub fn all_of_kind(kind: DivisionKind) -> Vec<DivisionCode> {
    let mut codes: Vec<DivisionCode> = TABLE
        .by_code
        .values()
        .filter(|division| {
            division.kind == kind || (kind == DivisionKind::County && division.also_county_level)
        })
        .map(|division| division.code)
        .collect();
    codes.sort();
    codes
}
