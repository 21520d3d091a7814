//! Demo survey units: realistic names, real counties, valid credit codes.
//!
//! Used by `zhibao demo` and the tests. Deterministic for a seed, so a demo
//! federation started twice shows the same units. Every control class and
//! every combination of classes appears (given enough units), some units are
//! key-industry, a few are suspended with a reason and one is closed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::division::{DivisionCode, DivisionKind};

use super::codes::{
    CREDIT_CODE_CHARACTERS, CreditCode, IndustryCode, UnitCode, credit_code_check_character,
    org_code_check_character,
};
use super::unit::{
    Contact, ControlClass, ControlClasses, SurveyUnit, SuspensionReason, UnitStatus,
    is_registrable_county,
};

/// Industries the demo uses, each with trade words that fit it in a company name.
const TRADES: [(&str, &[&str]); 20] = [
    ("06", &["煤业", "矿业"]),
    ("13", &["粮油", "饲料"]),
    ("15", &["酒业", "啤酒"]),
    ("17", &["印染", "纺织"]),
    ("22", &["造纸", "纸业"]),
    ("25", &["石化", "焦化"]),
    ("26", &["化工", "精细化工", "化学"]),
    ("27", &["制药", "药业"]),
    ("28", &["化纤"]),
    ("29", &["橡胶", "塑业"]),
    ("30", &["水泥", "建材", "玻璃"]),
    ("31", &["钢铁", "特钢"]),
    ("32", &["铝业", "铜业"]),
    ("33", &["电镀", "金属制品"]),
    ("36", &["汽车"]),
    ("39", &["电子"]),
    ("42", &["再生资源"]),
    ("44", &["热电", "发电", "电力"]),
    ("45", &["燃气"]),
    ("46", &["水务", "污水处理"]),
];

/// Brand words that make names distinct and plausible.
const BRAND_WORDS: [&str; 24] = [
    "恒盛", "华强", "宏达", "金源", "鑫泰", "新城", "永固", "盛和", "天宇", "中兴", "东方", "长江",
    "扬子", "明珠", "瑞丰", "昌隆", "海峰", "正大", "博远", "润华", "兴业", "嘉诚", "宝丰", "荣盛",
];

const LEGAL_FORMS: [&str; 3] = ["有限公司", "股份有限公司", "有限责任公司"];

const SURNAMES: [&str; 16] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
];
const GIVEN_NAMES: [&str; 16] = [
    "伟", "芳", "敏", "静", "磊", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "建华",
    "晓东",
];

const ROAD_WORDS: [&str; 10] = [
    "工业",
    "建设",
    "滨江",
    "科技",
    "开发",
    "化工园",
    "经济",
    "新港",
    "中山",
    "环城",
];

/// Group companies some demo units belong to (R41), by industry.
const GROUPS: [(&str, &str); 4] = [
    ("44", "中国华能集团有限公司"),
    ("25", "中国石油化工集团有限公司"),
    ("31", "中国宝武钢铁集团有限公司"),
    ("30", "中国建材集团有限公司"),
];

/// Every non-empty combination of the four classes (15), singles first.
fn all_class_combinations() -> Vec<ControlClasses> {
    let mut combinations: Vec<ControlClasses> = (1u8..16)
        .filter_map(|mask| {
            ControlClasses::new(
                ControlClass::ALL
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| mask & (1 << bit) != 0)
                    .map(|(_, class)| *class),
            )
        })
        .collect();
    combinations.sort_by_key(|classes| classes.iter().count());
    combinations
}

/// The county-level divisions under `division` (itself if it is one).
fn registrable_counties(division: DivisionCode) -> Vec<DivisionCode> {
    if is_registrable_county(division) {
        return vec![division];
    }
    let mut counties = Vec::new();
    for child in division.children() {
        counties.extend(registrable_counties(*child));
    }
    counties
}

/// The county's name without its 区/县/市 suffix, when that leaves two or more characters.
fn place_word(county: DivisionCode) -> String {
    let name = county.name_zh();
    let stem = name
        .strip_suffix("自治县")
        .or_else(|| name.strip_suffix('区'))
        .or_else(|| name.strip_suffix('县'))
        .or_else(|| name.strip_suffix('市'))
        .unwrap_or(name);
    if stem.chars().count() >= 2 {
        stem.to_string()
    } else {
        name.to_string()
    }
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A valid credit code registered in `county`: `91` (market regulator,
/// company) + county + `MA` + 6 random characters + organisation check + credit check.
fn credit_code_in(county: DivisionCode, rng: &mut StdRng) -> Option<CreditCode> {
    // Organisation-code body characters must also be credit-code characters.
    let alphabet: Vec<char> = CREDIT_CODE_CHARACTERS.chars().collect();
    let random_part: String = (0..6).map(|_| *pick(rng, &alphabet)).collect();
    let org_body = format!("MA{random_part}");
    let org_check = org_code_check_character(&org_body)?;
    let body = format!("91{county}{org_body}{org_check}");
    let check = credit_code_check_character(&body)?;
    CreditCode::parse(&format!("{body}{check}")).ok()
}

fn person_name(rng: &mut StdRng) -> String {
    format!("{}{}", pick(rng, &SURNAMES), pick(rng, &GIVEN_NAMES))
}

fn mobile_phone(rng: &mut StdRng) -> String {
    let prefix = pick(
        rng,
        &["139", "138", "137", "150", "151", "158", "186", "189"],
    );
    format!("{prefix}{:08}", rng.random_range(0..100_000_000u32))
}

/// The status of the unit at `index`: a few suspended with reasons, one closed.
fn status_for(index: usize, count: usize) -> UnitStatus {
    let seasonal = count.saturating_sub(2);
    let all_year = count.saturating_sub(3);
    let remediation = count.saturating_sub(4);
    let closed = count.saturating_sub(1);
    match index {
        _ if count < 5 => UnitStatus::Active,
        _ if index == closed => UnitStatus::Closed,
        _ if index == seasonal => UnitStatus::Suspended {
            reason: SuspensionReason::SeasonalStop,
        },
        _ if index == all_year => UnitStatus::Suspended {
            reason: SuspensionReason::StoppedAllYear,
        },
        _ if index == remediation && count >= 20 => UnitStatus::Suspended {
            reason: SuspensionReason::StoppedForRemediation,
        },
        _ => UnitStatus::Active,
    }
}

/// `count` demo units spread over the real counties of `city` (any division
/// works: a province spreads over all its counties, a county keeps them in
/// itself). The first 15 units carry the 15 combinations of control classes;
/// the last ones are suspended (季节性停产, 全年停产, 停产整治) and closed.
/// Names and codes are distinct. Deterministic for `seed`.
pub fn sample_units(city: DivisionCode, count: usize, seed: u64) -> Vec<SurveyUnit> {
    let mut rng = StdRng::seed_from_u64(seed);
    let counties = registrable_counties(city);
    let combinations = all_class_combinations();
    let mut used_names = std::collections::HashSet::new();
    let mut used_codes = std::collections::HashSet::new();
    let mut units = Vec::with_capacity(count);
    let city_name = if city.kind() == DivisionKind::City {
        city.name_zh().to_string()
    } else {
        String::new()
    };
    for index in 0..count {
        let Some(county) = counties.get(index % counties.len().max(1)).copied() else {
            break;
        };
        let (industry_text, trade_words) = TRADES[index % TRADES.len()];
        let Ok(industry) = IndustryCode::parse(industry_text) else {
            continue;
        };
        let name = distinct_name(&mut rng, county, trade_words, &mut used_names);
        let Some(code) = (0..100)
            .filter_map(|_| credit_code_in(county, &mut rng))
            .find(|code| used_codes.insert(code.clone()))
        else {
            continue;
        };
        let classes = match combinations.get(index) {
            Some(classes) => classes.clone(),
            None => weighted_classes(&mut rng),
        };
        let address = format!(
            "{city_name}{}{}路{}号",
            county.name_zh(),
            pick(&mut rng, &ROAD_WORDS),
            rng.random_range(1..400u32)
        );
        let group_company = GROUPS
            .iter()
            .find(|(group_industry, _)| *group_industry == industry_text)
            .filter(|_| rng.random_bool(0.5))
            .map(|(_, group)| (*group).to_string());
        let email = rng
            .random_bool(0.6)
            .then(|| format!("hb{:04}@example.cn", index + 1));
        units.push(SurveyUnit {
            code: UnitCode::Credit(code),
            name,
            address,
            county,
            industry,
            classes,
            key_industry: index % 3 == 0,
            contact: Contact {
                person: person_name(&mut rng),
                phone: mobile_phone(&mut rng),
                email,
            },
            liaison: (index % 4 != 3).then(|| person_name(&mut rng)),
            group_company,
            status: status_for(index, count),
        });
    }
    units
}

/// Mostly single classes, as in real registries.
fn weighted_classes(rng: &mut StdRng) -> ControlClasses {
    let roll = rng.random_range(0..10u8);
    let class = match roll {
        0..=2 => ControlClass::National,
        3..=4 => ControlClass::Provincial,
        5..=7 => ControlClass::City,
        _ => ControlClass::Other,
    };
    if roll == 9 {
        ControlClasses::new([ControlClass::National, ControlClass::City])
            .unwrap_or_else(|| ControlClasses::single(class))
    } else {
        ControlClasses::single(class)
    }
}

fn distinct_name(
    rng: &mut StdRng,
    county: DivisionCode,
    trade_words: &[&str],
    used_names: &mut std::collections::HashSet<String>,
) -> String {
    let place = place_word(county);
    let trade = pick(rng, trade_words);
    let legal_form = pick(rng, &LEGAL_FORMS);
    for _ in 0..BRAND_WORDS.len() {
        let brand = pick(rng, &BRAND_WORDS);
        let name = format!("{place}{brand}{trade}{legal_form}");
        if used_names.insert(name.clone()) {
            return name;
        }
    }
    // Every brand taken for this place and trade: number the works.
    let mut works = 2usize;
    loop {
        let name = format!("{place}{trade}第{works}厂{legal_form}");
        if used_names.insert(name.clone()) {
            return name;
        }
        works += 1;
    }
}
