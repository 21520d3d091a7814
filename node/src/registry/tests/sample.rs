use std::collections::HashSet;

use super::*;
use crate::registry::sample::sample_units;

#[test]
fn fifty_nanjing_units_are_valid_and_cover_every_class_and_status() {
    let nanjing = division("320100");
    let units = sample_units(nanjing, 50, 7);
    assert_eq!(units.len(), 50);
    for unit in &units {
        let checked = validate_new_unit(&UnitInput::from(unit), nanjing)
            .unwrap_or_else(|errors| panic!("{} is invalid: {errors:?}", unit.name));
        assert_eq!(
            checked,
            SurveyUnit {
                status: UnitStatus::Active,
                ..unit.clone()
            }
        );
        let UnitCode::Credit(credit_code) = &unit.code else {
            panic!("{} has no credit code", unit.name)
        };
        assert_eq!(credit_code.registration_division(), Some(unit.county));
        assert!(unit.name.ends_with("公司"), "{}", unit.name);
    }
    for class in ControlClass::ALL {
        assert!(
            units.iter().any(|unit| unit.classes.contains(class)),
            "{class:?}"
        );
    }
    let combinations: HashSet<ControlClasses> =
        units.iter().map(|unit| unit.classes.clone()).collect();
    assert_eq!(
        combinations.len(),
        15,
        "every combination of the four classes"
    );
    let kinds: HashSet<StatusKind> = units.iter().map(|unit| unit.status.kind()).collect();
    assert_eq!(kinds.len(), 3);
    let closed = units
        .iter()
        .filter(|unit| unit.status == UnitStatus::Closed)
        .count();
    assert_eq!(closed, 1);
    let reasons: HashSet<String> = units
        .iter()
        .filter_map(|unit| match &unit.status {
            UnitStatus::Suspended { reason } => Some(reason.label_zh()),
            _ => None,
        })
        .collect();
    assert!(
        reasons.contains("季节性停产") && reasons.contains("全年停产"),
        "{reasons:?}"
    );
    assert!(units.iter().any(|unit| unit.key_industry));
    assert!(units.iter().any(|unit| !unit.key_industry));
    let counties: HashSet<DivisionCode> = units.iter().map(|unit| unit.county).collect();
    assert_eq!(
        counties.len(),
        nanjing.children().len(),
        "every real county"
    );
    let names: HashSet<&str> = units.iter().map(|unit| unit.name.as_str()).collect();
    assert_eq!(names.len(), 50, "names are distinct");
    let codes: HashSet<&UnitCode> = units.iter().map(|unit| &unit.code).collect();
    assert_eq!(codes.len(), 50, "codes are distinct");
}

#[test]
fn names_fit_the_industry_and_the_place() {
    let units = sample_units(division("320100"), 40, 1);
    let chemical = units
        .iter()
        .find(|unit| unit.industry.as_str() == "26")
        .unwrap();
    assert!(
        ["化工", "化学"]
            .iter()
            .any(|word| chemical.name.contains(word)),
        "{}",
        chemical.name
    );
    let power = units
        .iter()
        .find(|unit| unit.industry.as_str() == "44")
        .unwrap();
    assert!(
        ["热电", "发电", "电力"]
            .iter()
            .any(|word| power.name.contains(word)),
        "{}",
        power.name
    );
    let in_jiangning = units
        .iter()
        .find(|unit| unit.county == division("320115"))
        .unwrap();
    assert!(
        in_jiangning.name.starts_with("江宁"),
        "{}",
        in_jiangning.name
    );
    assert!(
        in_jiangning.address.starts_with("南京市江宁区"),
        "{}",
        in_jiangning.address
    );
}

#[test]
fn the_same_seed_gives_the_same_units() {
    let nanjing = division("320100");
    assert_eq!(sample_units(nanjing, 30, 42), sample_units(nanjing, 30, 42));
    assert_ne!(sample_units(nanjing, 30, 42), sample_units(nanjing, 30, 43));
}

#[test]
fn any_division_works_even_a_city_without_counties() {
    let dongguan = sample_units(division("441900"), 10, 3);
    assert_eq!(dongguan.len(), 10);
    assert!(
        dongguan
            .iter()
            .all(|unit| unit.county == division("441900"))
    );
    let jiangsu = sample_units(division("320000"), 200, 3);
    let cities: HashSet<DivisionCode> = jiangsu
        .iter()
        .filter_map(|unit| unit.county.parent())
        .collect();
    assert!(cities.len() >= 10, "spread over the province: {cities:?}");
    assert!(sample_units(division("320100"), 0, 3).is_empty());
}

#[test]
fn two_thousand_units_stay_distinct() {
    let units = sample_units(division("320100"), 2000, 11);
    let names: HashSet<&str> = units.iter().map(|unit| unit.name.as_str()).collect();
    assert_eq!(units.len(), 2000);
    assert_eq!(names.len(), 2000);
}
