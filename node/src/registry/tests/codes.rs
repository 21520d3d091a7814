use super::*;

/// `Ok(normalized code)` or `Err(part of the Chinese message)`.
fn check_credit(input: &str, expected: Result<&str, &str>) {
    let outcome = CreditCode::parse(input);
    match (outcome, expected) {
        (Ok(code), Ok(text)) => assert_eq!(code.as_str(), text, "input {input:?}"),
        (Err(error), Err(part)) => assert!(
            error.message_zh().contains(part),
            "input {input:?}: {error} lacks {part:?}"
        ),
        (outcome, expected) => panic!("input {input:?}: got {outcome:?}, expected {expected:?}"),
    }
}

#[test]
fn credit_codes_are_checked_character_by_character() {
    // Real public example codes (their check characters verified independently).
    check_credit("91350100M000100Y43", Ok("91350100M000100Y43"));
    check_credit("91110000600037341L", Ok("91110000600037341L"));
    // Computed with an independent implementation of GB 32100-2015.
    check_credit("91320102MA1MXXXX92", Ok("91320102MA1MXXXX92"));
    check_credit("91320115MA1N2G7L0E", Ok("91320115MA1N2G7L0E"));
    check_credit("91441900MA4UABCD9M", Ok("91441900MA4UABCD9M"));
    check_credit(" 91320102ma1mxxxx92 ", Ok("91320102MA1MXXXX92"));
    check_credit("91350100M000100Y44", Err("校验位错误，应为 3"));
    check_credit("91110000600037341M", Err("校验位错误，应为 L"));
    check_credit("91320115MA1N2G7L00", Err("校验位错误，应为 E"));
    check_credit("91350100M000100Y4", Err("长度为 17 位"));
    check_credit("91350100M000100Y433", Err("长度为 19 位"));
    check_credit("91350100I000100Y43", Err("第 9 位字符“I”无效"));
    check_credit("9135010OM000100Y43", Err("第 8 位字符“O”无效"));
    check_credit("91350100M000100Y4中", Err("第 18 位字符“中”无效"));
    check_credit("", Err("代码为空"));
}

#[test]
fn a_wrong_check_character_names_the_expected_one_in_both_languages() {
    let error = CreditCode::parse("91350100M000100Y44").unwrap_err();
    assert_eq!(
        error,
        CodeError::WrongCheckCharacter {
            position: 18,
            found: '4',
            expected: '3'
        }
    );
    assert!(error.to_string().contains("校验位错误，应为 3"), "{error}");
    assert!(
        error
            .to_string()
            .contains("check character wrong, expected 3"),
        "{error}"
    );
}

#[test]
fn every_other_check_character_is_refused() {
    for body in [
        "91350100M000100Y4",
        "12100000400000624",
        "Y1320102MA1MXXXX9",
    ] {
        let right = credit_code_check_character(body).unwrap();
        for candidate in CREDIT_CODE_CHARACTERS.chars() {
            let outcome = CreditCode::parse(&format!("{body}{candidate}"));
            assert_eq!(outcome.is_ok(), candidate == right, "{body}{candidate}");
        }
    }
}

#[test]
fn credit_code_parts_are_the_division_and_the_organisation_code() {
    let code = CreditCode::parse("91320102MA1MXXXX92").unwrap();
    assert_eq!(code.registration_division_text(), "320102");
    assert_eq!(code.registration_division().unwrap().name_zh(), "玄武区");
    assert_eq!(code.org_code_text(), "MA1MXXXX9");
    assert_eq!(code.embedded_org_code().unwrap().as_str(), "MA1MXXXX9");
    let example = CreditCode::parse("91350100M000100Y43").unwrap();
    assert_eq!(example.org_code_text(), "M000100Y4");
    assert!(example.embedded_org_code().is_some());
}

fn check_org(input: &str, expected: Result<&str, &str>) {
    match (OrgCode::parse(input), expected) {
        (Ok(code), Ok(text)) => assert_eq!(code.as_str(), text, "input {input:?}"),
        (Err(error), Err(part)) => assert!(
            error.message_zh().contains(part),
            "input {input:?}: {error} lacks {part:?}"
        ),
        (outcome, expected) => panic!("input {input:?}: got {outcome:?}, expected {expected:?}"),
    }
}

#[test]
fn organisation_codes_are_checked() {
    check_org("D2143569X", Ok("D2143569X"));
    check_org("D2143569-X", Ok("D2143569X"));
    check_org("600037341", Ok("600037341"));
    check_org("13475596X", Ok("13475596X"));
    check_org("000000000", Ok("000000000"));
    check_org("710931192", Ok("710931192"));
    check_org("D21435690", Err("校验位错误，应为 X"));
    check_org("600037342", Err("校验位错误，应为 1"));
    check_org("D214356", Err("长度为 7 位"));
    check_org("D21#3569X", Err("第 4 位字符“#”无效"));
}

fn check_unit_code(input: &str, expected: Option<&str>) {
    let outcome = UnitCode::parse(input).ok();
    let kind = outcome.as_ref().map(|code| match code {
        UnitCode::Credit(_) => "credit",
        UnitCode::Org(_) => "org",
    });
    assert_eq!(kind, expected, "input {input:?}");
}

#[test]
fn a_unit_code_is_either_kind_by_length() {
    check_unit_code("91350100M000100Y43", Some("credit"));
    check_unit_code("D2143569-X", Some("org"));
    check_unit_code("D2143569X", Some("org"));
    check_unit_code("91350100M000100Y44", None);
    check_unit_code("1234567890", None);
}

#[test]
fn unit_codes_travel_as_bare_strings() {
    let credit: UnitCode = serde_json::from_str("\"91350100M000100Y43\"").unwrap();
    assert_eq!(
        serde_json::to_string(&credit).unwrap(),
        "\"91350100M000100Y43\""
    );
    let org: UnitCode = serde_json::from_str("\"D2143569X\"").unwrap();
    assert!(matches!(org, UnitCode::Org(_)));
    let error = serde_json::from_str::<UnitCode>("\"91350100M000100Y44\"").unwrap_err();
    assert!(error.to_string().contains("expected 3"), "{error}");
}

fn check_industry(input: &str, expected: Result<&str, &str>) {
    match (IndustryCode::parse(input), expected) {
        (Ok(code), Ok(name)) => assert_eq!(code.name_zh(), name, "input {input:?}"),
        (Err(error), Err(part)) => assert!(
            error.message_zh().contains(part),
            "input {input:?}: {error} lacks {part:?}"
        ),
        (outcome, expected) => panic!("input {input:?}: got {outcome:?}, expected {expected:?}"),
    }
}

#[test]
fn industry_codes_come_from_the_shipped_table() {
    check_industry("44", Ok("电力、热力生产和供应业"));
    check_industry("06", Ok("煤炭开采和洗选业"));
    check_industry("46", Ok("水的生产和供应业"));
    check_industry(" 26 ", Ok("化学原料和化学制品制造业"));
    check_industry("4411", Ok("电力、热力生产和供应业"));
    check_industry("C2614", Ok("化学原料和化学制品制造业"));
    check_industry("15", Ok("酒、饮料和精制茶制造业"));
    check_industry("05", Err("不属于"));
    check_industry("47", Err("不属于"));
    check_industry("4a", Err("格式错误"));
    check_industry("", Err("格式错误"));
    check_industry("441100", Err("格式错误"));
}

#[test]
fn the_industry_table_has_every_major_category_from_06_to_46() {
    let codes = all_industry_codes();
    assert_eq!(codes.len(), 41);
    assert_eq!(codes.first().unwrap().as_str(), "06");
    assert_eq!(codes.last().unwrap().as_str(), "46");
    let pharmaceuticals = IndustryCode::parse("27").unwrap();
    assert_eq!(pharmaceuticals.name_en(), "Pharmaceuticals");
    assert_eq!(pharmaceuticals.industry().unwrap().section, "C");
    assert_eq!(
        IndustryCode::parse("15").unwrap().name_en(),
        "Liquor, beverages and refined tea"
    );
}

fn check_period(input: &str, expected: Option<&str>) {
    let outcome = PeriodId::parse(input).ok().map(|period| period.to_string());
    assert_eq!(outcome.as_deref(), expected, "input {input:?}");
}

#[test]
fn periods_are_years_or_quarters() {
    check_period("2026", Some("2026"));
    check_period("2026Q3", Some("2026Q3"));
    check_period("2026q1", Some("2026Q1"));
    check_period(" 2025 ", Some("2025"));
    check_period("2026Q5", None);
    check_period("2026Q0", None);
    check_period("26", None);
    check_period("1999", None);
    check_period("20x6", None);
    check_period("2026-3", None);
}

#[test]
fn periods_and_their_keys_sort_in_time_order() {
    let ordered: Vec<PeriodId> = ["2025", "2025Q4", "2026", "2026Q1", "2026Q2"]
        .iter()
        .map(|text| PeriodId::parse(text).unwrap())
        .collect();
    let mut sorted = ordered.clone();
    sorted.sort();
    assert_eq!(sorted, ordered);
    let keys: Vec<[u8; 5]> = ordered.iter().map(|period| period.key_bytes()).collect();
    let mut sorted_keys = keys.clone();
    sorted_keys.sort();
    assert_eq!(sorted_keys, keys);
    assert_eq!(&PeriodId::parse("2026Q3").unwrap().key_bytes(), b"20263");
}
