use super::*;
use crate::clock::Timestamp;
use crate::registry::lineage::{
    LineageError, LineageLink, LinkKind, LinkReason, confirm_link, history_chain, name_similarity,
    normalize_name, suggest_links,
};

/// A valid unit with the given code, name and address.
fn unit(code: &str, name: &str, address: &str) -> SurveyUnit {
    let input = UnitInput {
        code: code.into(),
        name: name.into(),
        address: address.into(),
        ..good_input()
    };
    validate_new_unit(&input, division("320100")).unwrap()
}

fn code(text: &str) -> UnitCode {
    UnitCode::parse(text).unwrap()
}

/// Suggests links from one previous unit to the current ones and checks the
/// (current code, reason) of each suggestion, best first.
fn check(previous: SurveyUnit, current: Vec<SurveyUnit>, expected: &[(&str, LinkReason)]) {
    let suggestions = suggest_links(std::slice::from_ref(&previous), &current);
    let found: Vec<(String, LinkReason)> = suggestions
        .iter()
        .map(|suggestion| (suggestion.current.to_string(), suggestion.reason))
        .collect();
    let expected: Vec<(String, LinkReason)> = expected
        .iter()
        .map(|(text, reason)| (text.to_string(), *reason))
        .collect();
    assert_eq!(found, expected, "from {}", previous.name);
    assert!(
        suggestions
            .iter()
            .all(|suggestion| suggestion.previous == previous.code)
    );
}

const ADDRESS: &str = "南京市玄武区工业路18号";

#[test]
fn links_are_suggested_by_organisation_code_name_and_address() {
    use LinkReason::*;
    let recoded = credit_code_for("320102", "D2143569X");
    let other_a = credit_code_for("320102", "MA1MXXXX9");
    let other_b = credit_code_for("320115", "MA1N2G7L0");
    // An organisation code replaced by a credit code that contains it.
    check(
        unit("D2143569X", "南京金陵化工有限公司", ADDRESS),
        vec![unit(&recoded, "南京金陵化工集团有限公司", "别处")],
        &[(&recoded, SameOrgCodeInCreditCode)],
    );
    // Same name, new code.
    check(
        unit("600037341", "南京扬子热电有限公司", ADDRESS),
        vec![unit(&other_a, "南京扬子热电有限公司", "别处")],
        &[(&other_a, SameName)],
    );
    // Same name apart from the legal form.
    check(
        unit("600037341", "南京扬子热电有限公司", ADDRESS),
        vec![unit(&other_a, "南京扬子热电股份有限公司", "别处")],
        &[(&other_a, SameName)],
    );
    // A similar name at the same address (written with other spacing).
    check(
        unit("600037341", "南京宏达精细化工有限公司", ADDRESS),
        vec![unit(
            &other_a,
            "南京宏达精细化学有限公司",
            "南京市玄武区 工业路 18 号",
        )],
        &[(&other_a, SimilarNameSameAddress)],
    );
    // A similar name elsewhere, or a different name at the same address: nothing.
    check(
        unit("600037341", "南京宏达精细化工有限公司", ADDRESS),
        vec![unit(
            &other_a,
            "南京宏达精细化学有限公司",
            "南京市江宁区科学园路1号",
        )],
        &[],
    );
    check(
        unit("600037341", "南京宏达精细化工有限公司", ADDRESS),
        vec![unit(&other_a, "南京长江水务有限公司", ADDRESS)],
        &[],
    );
    // Several candidates, best first.
    check(
        unit("D2143569X", "南京金陵化工有限公司", ADDRESS),
        vec![
            unit(&other_b, "南京金陵化工有限公司", "别处"),
            unit(&recoded, "南京新金陵化工有限公司", "别处"),
        ],
        &[(&recoded, SameOrgCodeInCreditCode), (&other_b, SameName)],
    );
}

#[test]
fn units_present_in_both_periods_need_no_link() {
    let kept = unit("600037341", "南京扬子热电有限公司", ADDRESS);
    let newcomer = unit(
        &credit_code_for("320102", "MA1MXXXX9"),
        "南京扬子热电有限公司",
        ADDRESS,
    );
    assert!(suggest_links(std::slice::from_ref(&kept), &[kept.clone(), newcomer]).is_empty());
}

#[test]
fn names_are_compared_without_legal_form_and_spacing() {
    assert_eq!(
        normalize_name("南京 扬子（热电）股份有限公司"),
        "南京扬子热电"
    );
    assert_eq!(normalize_name("ＡＢＣ化工有限责任公司"), "abc化工");
    assert_eq!(name_similarity("南京宏达精细化工", "南京宏达精细化工"), 1.0);
    assert!(name_similarity("南京宏达精细化工", "南京宏达精细化学") >= 0.8);
    assert!(name_similarity("南京宏达精细化工", "苏州长江水务") < 0.1);
    assert_eq!(name_similarity("", "甲"), 0.0);
}

fn link(previous: &str, current: &str, kind: LinkKind) -> LineageLink {
    LineageLink {
        previous: code(previous),
        current: code(current),
        kind,
        confirmed_by: "city-admin".into(),
        at: Timestamp(1),
    }
}

#[test]
fn the_history_chain_runs_from_newest_to_oldest() {
    let oldest = "D2143569X";
    let middle = credit_code_for("320102", "D2143569X");
    let newest = credit_code_for("320115", "D2143569X");
    let merged_a = "600037341";
    let merged_b = "710931192";
    let merger = credit_code_for("320102", "MA1MXXXX9");
    let links = vec![
        link(oldest, &middle, LinkKind::Recoded),
        link(&middle, &newest, LinkKind::Renamed),
        link(merged_b, &merger, LinkKind::Merged),
        link(merged_a, &merger, LinkKind::Merged),
        link(oldest, merged_a, LinkKind::Split),
    ];
    let chain = |start: &str| -> Vec<String> {
        history_chain(&links, &code(start))
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(chain(&newest), [newest.as_str(), &middle, oldest]);
    assert_eq!(
        chain(&merger),
        [merger.as_str(), merged_a, merged_b, oldest]
    );
    assert_eq!(chain(oldest), [oldest]);
}

#[test]
fn confirming_refuses_self_links_and_cycles() {
    let first = code("D2143569X");
    let second = code(&credit_code_for("320102", "D2143569X"));
    let links = vec![link("D2143569X", second.as_str(), LinkKind::Recoded)];
    assert_eq!(
        confirm_link(
            &links,
            first.clone(),
            first.clone(),
            LinkKind::Renamed,
            "admin",
            Timestamp(2)
        ),
        Err(LineageError::SameUnit(first.clone()))
    );
    assert_eq!(
        confirm_link(
            &links,
            second.clone(),
            first.clone(),
            LinkKind::Renamed,
            "admin",
            Timestamp(2)
        ),
        Err(LineageError::Cycle {
            previous: second.clone(),
            current: first.clone()
        })
    );
    assert_eq!(
        confirm_link(
            &[],
            first.clone(),
            second.clone(),
            LinkKind::Recoded,
            " ",
            Timestamp(2)
        ),
        Err(LineageError::MissingConfirmedBy)
    );
    let confirmed = confirm_link(
        &[],
        first,
        second,
        LinkKind::Recoded,
        " admin ",
        Timestamp(2),
    )
    .unwrap();
    assert_eq!(confirmed.confirmed_by, "admin");
}

#[test]
fn suggestions_scale_to_a_city_registry() {
    let previous = crate::registry::sample::sample_units(division("320100"), 3000, 1);
    let mut current = previous.clone();
    // Recode 100 units keeping their names.
    for (index, unit) in current.iter_mut().take(100).enumerate() {
        unit.code = code(&credit_code_for(
            "320102",
            &org_code_with_body(&format!("{index:08}")),
        ));
    }
    let suggestions = suggest_links(&previous, &current);
    let same_name = suggestions
        .iter()
        .filter(|suggestion| suggestion.reason == LinkReason::SameName)
        .count();
    assert_eq!(same_name, 100);
}

fn org_code_with_body(body: &str) -> String {
    format!("{body}{}", org_code_check_character(body).unwrap())
}

#[test]
fn the_previous_period_of_a_year_and_of_a_quarter() {
    let cases = [
        ("2026", Some("2025")),
        ("2026Q3", Some("2026Q2")),
        ("2026Q1", Some("2025Q4")),
        ("2000", None),
        ("2000Q1", None),
    ];
    for (period, expected) in cases {
        assert_eq!(
            PeriodId::parse(period)
                .unwrap()
                .previous()
                .map(|previous| previous.to_string()),
            expected.map(str::to_string),
            "{period}"
        );
    }
}

#[test]
fn the_registry_search_looks_at_name_code_and_address() {
    let code_text = credit_code_for("320102", "MA1MXXXX9");
    let searched = unit(&code_text, "南京示例化工有限公司", "玄武区中山路1号");
    for (text, expected) in [
        ("", true),
        ("示例化工", true),
        (&code_text[..10], true),
        (&code_text.to_lowercase(), true),
        ("中山路", true),
        ("苏州", false),
    ] {
        assert_eq!(
            crate::registry::store::matches_search(&searched, text),
            expected,
            "{text}"
        );
    }
}
