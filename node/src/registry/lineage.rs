//! Lineage (R28): when a unit's organisation code or name changes between
//! periods, its entry in this period is linked to the previous period's, so
//! its history stays whole and previous-period rules ("change against last
//! year") compare the right numbers.
//!
//! [`suggest_links`] proposes links between units that disappeared from the
//! previous period and units that are new in the current one; a bureau user
//! confirms them ([`confirm_link`]) or links by hand. [`history_chain`] walks
//! confirmed links from a code back to its oldest predecessors.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::clock::Timestamp;

use super::codes::UnitCode;
use super::unit::SurveyUnit;

/// Least bigram similarity of two names for [`LinkReason::SimilarNameSameAddress`].
pub const SIMILAR_NAME_THRESHOLD: f64 = 0.8;

/// Why two units are suggested as the same organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkReason {
    /// The previous code's organisation code equals characters 9–17 of the new
    /// credit code (the usual case: an organisation code replaced by a credit code).
    SameOrgCodeInCreditCode,
    /// Same name apart from whitespace and legal form (有限公司, 股份…).
    SameName,
    /// Names at least 80 % alike (character bigrams) at the same address.
    SimilarNameSameAddress,
}

/// A proposed link from a previous-period unit to a current one.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LinkSuggestion {
    /// The unit in the previous period's registry.
    pub previous: UnitCode,
    /// The unit in the current registry.
    pub current: UnitCode,
    /// The strongest reason found.
    pub reason: LinkReason,
    /// Confidence between 0 and 1; suggestions are sorted by it, highest first.
    pub score: f64,
}

/// What a confirmed link means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// Same organisation, new name.
    Renamed,
    /// Same organisation, new code (organisation code → credit code, re-registration).
    Recoded,
    /// Several previous units became this one.
    Merged,
    /// One previous unit became several.
    Split,
}

/// A confirmed link: `current` continues `previous`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineageLink {
    /// The earlier unit.
    pub previous: UnitCode,
    /// The later unit.
    pub current: UnitCode,
    /// What happened.
    pub kind: LinkKind,
    /// Login name of the user who confirmed it.
    pub confirmed_by: String,
    /// When.
    pub at: Timestamp,
}

/// Why a link cannot be confirmed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineageError {
    /// A unit cannot continue itself.
    #[error("不能把单位 {0} 关联到它自己 / unit {0} cannot be linked to itself")]
    SameUnit(UnitCode),
    /// No user named.
    #[error("确认人不能为空 / the confirming user must be named")]
    MissingConfirmedBy,
    /// The link would make a unit its own predecessor.
    #[error(
        "关联会形成循环：{current} 已是 {previous} 的前身 / the link would make a cycle: {current} is already a predecessor of {previous}"
    )]
    Cycle {
        /// The earlier unit of the refused link.
        previous: UnitCode,
        /// The later unit of the refused link.
        current: UnitCode,
    },
}

/// Builds a confirmed link, refusing a self-link or one that closes a cycle
/// with the `existing` links.
pub fn confirm_link(
    existing: &[LineageLink],
    previous: UnitCode,
    current: UnitCode,
    kind: LinkKind,
    confirmed_by: &str,
    at: Timestamp,
) -> Result<LineageLink, LineageError> {
    if previous == current {
        return Err(LineageError::SameUnit(previous));
    }
    if confirmed_by.trim().is_empty() {
        return Err(LineageError::MissingConfirmedBy);
    }
    if history_chain(existing, &previous).contains(&current) {
        return Err(LineageError::Cycle { previous, current });
    }
    Ok(LineageLink {
        previous,
        current,
        kind,
        confirmed_by: confirmed_by.trim().to_string(),
        at,
    })
}

/// The unit and its predecessors through confirmed links, newest to oldest
/// (breadth first: after a merge, all merged units come before their own
/// predecessors). Starts with `code` itself; a cycle is walked only once.
pub fn history_chain(links: &[LineageLink], code: &UnitCode) -> Vec<UnitCode> {
    let mut predecessors: HashMap<&UnitCode, Vec<&UnitCode>> = HashMap::new();
    for link in links {
        predecessors
            .entry(&link.current)
            .or_default()
            .push(&link.previous);
    }
    let mut chain = vec![code.clone()];
    let mut seen: HashSet<UnitCode> = HashSet::from([code.clone()]);
    let mut queue: VecDeque<&UnitCode> = VecDeque::from([code]);
    while let Some(next) = queue.pop_front() {
        let mut earlier = predecessors.get(next).cloned().unwrap_or_default();
        earlier.sort();
        for previous in earlier {
            if seen.insert(previous.clone()) {
                chain.push(previous.clone());
                queue.push_back(previous);
            }
        }
    }
    chain
}

/// Suggests links between units gone from the previous period and units new
/// in the current one (units whose code is in both need no link). At most one
/// suggestion per pair, with its strongest reason; highest score first.
pub fn suggest_links(
    previous_period_units: &[SurveyUnit],
    current_units: &[SurveyUnit],
) -> Vec<LinkSuggestion> {
    let previous_codes: HashSet<&UnitCode> = previous_period_units
        .iter()
        .map(|unit| &unit.code)
        .collect();
    let current_codes: HashSet<&UnitCode> = current_units.iter().map(|unit| &unit.code).collect();
    let gone: Vec<&SurveyUnit> = previous_period_units
        .iter()
        .filter(|unit| !current_codes.contains(&unit.code))
        .collect();
    let new: Vec<&SurveyUnit> = current_units
        .iter()
        .filter(|unit| !previous_codes.contains(&unit.code))
        .collect();

    let new_by_org_code = index_by(&new, |unit| unit.code.org_code_text().to_string());
    let new_by_name = index_by(&new, |unit| normalize_name(&unit.name));
    let new_by_address = index_by(&new, |unit| normalize_address(&unit.address));

    let mut best: HashMap<(UnitCode, UnitCode), LinkSuggestion> = HashMap::new();
    for previous in gone {
        let previous_name = normalize_name(&previous.name);
        let candidates = new_by_org_code
            .get(previous.code.org_code_text())
            .into_iter()
            .flatten()
            .map(|current| (*current, LinkReason::SameOrgCodeInCreditCode, 1.0));
        let same_name = new_by_name
            .get(&previous_name)
            .into_iter()
            .flatten()
            .map(|current| {
                let exact = current.name.trim() == previous.name.trim();
                (
                    *current,
                    LinkReason::SameName,
                    if exact { 0.95 } else { 0.9 },
                )
            });
        let similar_name_same_address = new_by_address
            .get(&normalize_address(&previous.address))
            .into_iter()
            .flatten()
            .filter_map(|current| {
                let similarity = name_similarity(&previous_name, &normalize_name(&current.name));
                (similarity >= SIMILAR_NAME_THRESHOLD).then_some((
                    *current,
                    LinkReason::SimilarNameSameAddress,
                    0.85 * similarity,
                ))
            });
        for (current, reason, score) in candidates.chain(same_name).chain(similar_name_same_address)
        {
            let key = (previous.code.clone(), current.code.clone());
            let better = best.get(&key).is_none_or(|existing| score > existing.score);
            if better {
                best.insert(
                    key,
                    LinkSuggestion {
                        previous: previous.code.clone(),
                        current: current.code.clone(),
                        reason,
                        score,
                    },
                );
            }
        }
    }
    let mut suggestions: Vec<LinkSuggestion> = best.into_values().collect();
    suggestions.sort_by(|left, right| {
        right
            .score
            .total_cmp(&left.score)
            .then_with(|| left.previous.cmp(&right.previous))
            .then_with(|| left.current.cmp(&right.current))
    });
    suggestions
}

fn index_by<'a>(
    units: &[&'a SurveyUnit],
    key: impl Fn(&SurveyUnit) -> String,
) -> HashMap<String, Vec<&'a SurveyUnit>> {
    let mut index: HashMap<String, Vec<&'a SurveyUnit>> = HashMap::new();
    for unit in units {
        let unit_key = key(unit);
        if !unit_key.is_empty() {
            index.entry(unit_key).or_default().push(unit);
        }
    }
    index
}

/// Legal-form words that do not tell two organisations apart, longest first.
const LEGAL_FORM_WORDS: [&str; 5] = ["有限责任公司", "股份有限公司", "有限公司", "股份", "公司"];

/// Full-width ASCII (ＡＢＣ１２３) to ASCII; other characters unchanged.
fn to_half_width(character: char) -> char {
    match character {
        '\u{FF01}'..='\u{FF5E}' => {
            char::from_u32(u32::from(character) - 0xFEE0).unwrap_or(character)
        }
        '\u{3000}' => ' ',
        other => other,
    }
}

/// A name reduced to what identifies the organisation: no whitespace,
/// punctuation or legal form, half-width, lower case.
pub fn normalize_name(name: &str) -> String {
    let mut reduced: String = name
        .chars()
        .map(to_half_width)
        .filter(|character| !character.is_whitespace() && !is_punctuation(*character))
        .flat_map(char::to_lowercase)
        .collect();
    for word in LEGAL_FORM_WORDS {
        reduced = reduced.replace(word, "");
    }
    reduced
}

fn is_punctuation(character: char) -> bool {
    character.is_ascii_punctuation()
        || matches!(
            character,
            '（' | '）' | '·' | '、' | '，' | '。' | '“' | '”' | '《' | '》' | '【' | '】'
        )
}

/// An address reduced for comparison: no whitespace or punctuation, half-width.
pub fn normalize_address(address: &str) -> String {
    address
        .chars()
        .map(to_half_width)
        .filter(|character| !character.is_whitespace() && !is_punctuation(*character))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Dice coefficient of the character bigrams of two (normalized) names:
/// 1.0 for equal names, 0.0 for names sharing no pair of adjacent characters.
pub fn name_similarity(left: &str, right: &str) -> f64 {
    if left == right {
        return 1.0;
    }
    let left_bigrams = bigrams(left);
    let mut right_bigrams = bigrams(right);
    let total = left_bigrams.len() + right_bigrams.len();
    if total == 0 {
        return 0.0;
    }
    let mut shared = 0usize;
    for bigram in &left_bigrams {
        if let Some(position) = right_bigrams.iter().position(|other| other == bigram) {
            right_bigrams.swap_remove(position);
            shared += 1;
        }
    }
    (2 * shared) as f64 / total as f64
}

fn bigrams(text: &str) -> Vec<(char, char)> {
    let characters: Vec<char> = text.chars().collect();
    if let [only] = characters.as_slice() {
        return vec![(*only, *only)];
    }
    characters
        .windows(2)
        .map(|pair| (pair[0], pair[1]))
        .collect()
}
