//! Data-driven tests of the rule engine: each national rule with a passing
//! case, a failing case and its edge (tolerance boundary, zero, no previous
//! period, stopped unit), plus the extension examples and compile errors.
//!
//! Every case starts from [`baseline`], a consistent report of a normal
//! national-class unit that passes all rules, and changes a few values.

use std::str::FromStr;
use std::sync::LazyLock;

use rust_decimal::Decimal;

use super::*;
use crate::metadata::{EffectiveMetadata, Extension, NationalStandard};

const PROVINCE_320000: &str = include_str!("../../data/examples/province-320000.toml");
const CITY_320500: &str = include_str!("../../data/examples/city-320500.toml");

/// A normal year of a unit with wastewater, boilers and waste; passes every rule.
const BASELINE: &[(&str, &str)] = &[
    ("output_value", "5000.0"),
    ("production_hours", "7200"),
    ("production_status", "normal"),
    ("water_total", "100000"),
    ("water_fresh", "40000"),
    ("water_reused", "60000"),
    ("ww_discharged", "30000"),
    ("ww_direct", "10000"),
    ("ww_to_plant", "20000"),
    ("ww_facilities", "1"),
    ("ww_capacity", "200"),
    ("ww_treated", "30000"),
    ("ww_opex", "12.5"),
    ("cod_gen", "20.000"),
    ("cod_emit", "3.000"),
    ("nh3n_gen", "2.000"),
    ("nh3n_emit", "0.300"),
    ("tn_emit", "0.500"),
    ("tp_emit", "0.050"),
    ("oil_emit", "0.010"),
    ("phenol_emit", "0.100"),
    ("cyanide_emit", "0.050"),
    ("hg_emit", "0.001"),
    ("cd_emit", "0.002"),
    ("cr6_emit", "0.000"),
    ("cr_emit", "0.010"),
    ("pb_emit", "0.020"),
    ("as_emit", "0.003"),
    ("gas_volume", "50000"),
    ("boilers", "2"),
    ("kilns", "1"),
    ("desulf_facilities", "1"),
    ("denox_facilities", "1"),
    ("dust_facilities", "2"),
    ("so2_gen", "150.000"),
    ("so2_emit", "15.000"),
    ("nox_gen", "60.000"),
    ("nox_emit", "30.000"),
    ("pm_gen", "500.000"),
    ("pm_emit", "5.000"),
    ("voc_emit", "2.000"),
    ("coal_use", "10000.0"),
    ("coal_sulfur", "1.00"),
    ("oil_use", "10.0"),
    ("gas_use", "5.0"),
    ("sw_gen", "1000.0"),
    ("sw_used", "700.0"),
    ("sw_used_old", "50.0"),
    ("sw_disposed", "250.0"),
    ("sw_disposed_old", "0.0"),
    ("sw_stored", "100.0"),
    ("sw_dumped", "0.0"),
    ("hw_gen", "10.000"),
    ("hw_used", "4.000"),
    ("hw_disposed", "5.000"),
    ("hw_stored", "3.000"),
    ("remarks", ""),
];

/// A unit stopped all year: no production, no generation, no emissions.
const STOPPED: &[(&str, &str)] = &[
    ("production_status", "stopped"),
    ("production_hours", "0"),
    ("output_value", "0"),
    ("water_total", "0"),
    ("water_fresh", "0"),
    ("water_reused", "0"),
    ("ww_discharged", "0"),
    ("ww_direct", "0"),
    ("ww_to_plant", "0"),
    ("ww_treated", "0"),
    ("cod_gen", "0"),
    ("cod_emit", "0"),
    ("nh3n_gen", "0"),
    ("nh3n_emit", "0"),
    ("tn_emit", "0"),
    ("tp_emit", "0"),
    ("oil_emit", "0"),
    ("phenol_emit", "0"),
    ("cyanide_emit", "0"),
    ("hg_emit", "0"),
    ("cd_emit", "0"),
    ("cr6_emit", "0"),
    ("cr_emit", "0"),
    ("pb_emit", "0"),
    ("as_emit", "0"),
    ("gas_volume", "0"),
    ("so2_gen", "0"),
    ("so2_emit", "0"),
    ("nox_gen", "0"),
    ("nox_emit", "0"),
    ("pm_gen", "0"),
    ("pm_emit", "0"),
    ("voc_emit", "0"),
    ("coal_use", "0"),
    ("sw_gen", "0"),
    ("sw_used", "0"),
    ("sw_used_old", "0"),
    ("sw_disposed", "0"),
    ("sw_stored", "0"),
    ("hw_gen", "0"),
    ("hw_used", "0"),
    ("hw_disposed", "0"),
];

const BASELINE_ROWS: &str = "desulf,denox,dust,dust";

fn value(text: &str) -> IndicatorValue {
    match Decimal::from_str(text) {
        Ok(number) => IndicatorValue::Number(number),
        Err(_) => IndicatorValue::Text(text.to_string()),
    }
}

fn values_with(changes: &[(&str, &str)]) -> ReportValues {
    let mut values: ReportValues = BASELINE
        .iter()
        .map(|(key, text)| (key.to_string(), value(text)))
        .collect();
    for (key, text) in changes {
        if text.is_empty() {
            values.remove(*key);
        } else {
            values.insert(key.to_string(), value(text));
        }
    }
    values
}

fn rows_of_kinds(kinds: &str) -> Vec<ReportValues> {
    kinds
        .split(',')
        .filter(|kind| !kind.is_empty())
        .enumerate()
        .map(|(index, kind)| {
            [
                (
                    "facility_name",
                    IndicatorValue::Text(format!("设施{index}")),
                ),
                ("kind", IndicatorValue::Text(kind.to_string())),
                ("capacity", value("12.5")),
                ("hours", value("7000")),
            ]
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect()
        })
        .collect()
}

/// The baseline's quarterly reports: a quarter of each annual figure.
fn quarters_with(changes: &[(&str, &str)]) -> Vec<ReportValues> {
    let quarter = |key: &str| {
        let annual = values_with(changes)
            .get(key)
            .and_then(IndicatorValue::as_number);
        annual.unwrap_or_default() / Decimal::from(4)
    };
    (0..4)
        .map(|_| {
            [
                "cod_emit",
                "nh3n_emit",
                "so2_emit",
                "nox_emit",
                "pm_emit",
                "ww_discharged",
            ]
            .into_iter()
            .map(|key| (key.to_string(), IndicatorValue::Number(quarter(key))))
            .collect()
        })
        .collect()
}

/// Compiled once for all tests (compiling parses 22 rules).
static NATIONAL_RULES: LazyLock<RuleSet> = LazyLock::new(|| {
    let national = NationalStandard::default_standard().unwrap();
    let effective = EffectiveMetadata::compose(&national, None, None).unwrap();
    RuleSet::for_form(&effective, &FormCode::parse("G101").unwrap()).unwrap()
});

static EXTENDED_RULES: LazyLock<RuleSet> = LazyLock::new(|| {
    let national = NationalStandard::default_standard().unwrap();
    let province = Extension::from_toml(PROVINCE_320000).unwrap();
    let city = Extension::from_toml(CITY_320500).unwrap();
    let effective = EffectiveMetadata::compose(&national, Some(&province), Some(&city)).unwrap();
    RuleSet::for_form(&effective, &FormCode::parse("G101").unwrap()).unwrap()
});

fn national_rules() -> &'static RuleSet {
    &NATIONAL_RULES
}

fn extended_rules() -> &'static RuleSet {
    &EXTENDED_RULES
}

fn national_unit() -> UnitFacts {
    UnitFacts {
        control_classes: vec![ControlClass::National, ControlClass::Provincial],
        key_industry: false,
        industry: "44".to_string(),
    }
}

/// The ids of the failed rules; the fast path and the interpreter must agree.
fn failed_ids(rule_set: &RuleSet, report: &ReportFacts) -> Vec<String> {
    assert_eq!(
        check(rule_set, report),
        check_with_interpreter(rule_set, report),
        "fast path and interpreter disagree"
    );
    check(rule_set, report)
        .into_iter()
        .map(|finding| {
            assert_eq!(finding.outcome, FindingOutcome::Failed, "{finding:?}");
            finding.rule_id.to_string()
        })
        .collect()
}

/// A report with these changes, no previous period and no quarters (so the
/// rules that need them are skipped).
fn check_alone(changes: &[(&str, &str)], rows: &str, expected: &[&str]) {
    let report = ReportFacts {
        values: values_with(changes),
        rows: rows_of_kinds(rows),
        previous: None,
        quarters: None,
        unit: national_unit(),
    };
    assert_eq!(
        failed_ids(national_rules(), &report),
        expected,
        "{changes:?} rows {rows}"
    );
}

/// A report with a previous period (the baseline plus `previous_changes`).
fn check_with_previous(
    changes: &[(&str, &str)],
    previous_changes: &[(&str, &str)],
    expected: &[&str],
) {
    let report = ReportFacts {
        values: values_with(changes),
        rows: rows_of_kinds(BASELINE_ROWS),
        previous: Some(values_with(previous_changes)),
        quarters: None,
        unit: national_unit(),
    };
    assert_eq!(
        failed_ids(national_rules(), &report),
        expected,
        "{changes:?} previous {previous_changes:?}"
    );
}

/// A report with four quarterly reports (`quarter_cod` gives each quarter's COD).
fn check_with_quarters(
    changes: &[(&str, &str)],
    quarter_cod: [&str; 4],
    classes: &[ControlClass],
    expected: &[&str],
) {
    let mut quarters = quarters_with(changes);
    for (quarter, cod) in quarters.iter_mut().zip(quarter_cod) {
        quarter.insert("cod_emit".to_string(), value(cod));
    }
    let report = ReportFacts {
        values: values_with(changes),
        rows: rows_of_kinds(BASELINE_ROWS),
        previous: None,
        quarters: Some(quarters),
        unit: UnitFacts {
            control_classes: classes.to_vec(),
            ..UnitFacts::default()
        },
    };
    assert_eq!(
        failed_ids(national_rules(), &report),
        expected,
        "{changes:?} quarters {quarter_cod:?}"
    );
}

const ROWS: &str = BASELINE_ROWS;

#[test]
fn the_baseline_passes_every_rule_with_previous_period_and_quarters() {
    check_alone(&[], ROWS, &[]);
    check_with_previous(&[], &[], &[]);
    check_with_quarters(
        &[],
        ["0.75", "0.75", "0.75", "0.75"],
        &[ControlClass::National],
        &[],
    );
}

#[test]
fn n001_water_use_balances_within_one_tonne() {
    check_alone(&[("water_total", "100002")], ROWS, &["N001"]);
    check_alone(&[("water_total", "100001")], ROWS, &[]);
    check_alone(&[("water_total", "99999")], ROWS, &[]);
    check_alone(&[("water_total", "99998")], ROWS, &["N001"]);
    check_alone(
        &[
            ("water_total", ""),
            ("water_fresh", ""),
            ("water_reused", ""),
        ],
        ROWS,
        &[],
    );
}

#[test]
fn n002_wastewater_balances_within_one_tonne() {
    check_alone(&[("ww_discharged", "30002")], ROWS, &["N002"]);
    check_alone(&[("ww_discharged", "30001")], ROWS, &[]);
    check_alone(&[("ww_direct", "")], ROWS, &["N002"]);
}

#[test]
fn n003_emissions_do_not_exceed_generation() {
    check_alone(&[("cod_emit", "20.001")], ROWS, &["N003"]);
    check_alone(&[("cod_emit", "20.000")], ROWS, &[]);
    check_alone(&[("pm_emit", "500.001")], ROWS, &["N003"]);
    check_alone(&[("nh3n_gen", "0"), ("nh3n_emit", "0")], ROWS, &[]);
    check_alone(&[("nox_gen", "")], ROWS, &["N003"]);
}

#[test]
fn n004_no_wastewater_means_no_wastewater_pollutants() {
    let no_wastewater = [
        ("ww_discharged", "0"),
        ("ww_direct", "0"),
        ("ww_to_plant", "0"),
    ];
    let zero_pollutants = [
        ("cod_emit", "0"),
        ("nh3n_emit", "0"),
        ("tn_emit", "0"),
        ("tp_emit", "0"),
        ("oil_emit", "0"),
        ("hg_emit", "0"),
        ("cd_emit", "0"),
        ("cr6_emit", "0"),
        ("cr_emit", "0"),
        ("pb_emit", "0"),
        ("as_emit", "0"),
    ];
    let clean: Vec<(&str, &str)> = no_wastewater
        .iter()
        .chain(&zero_pollutants)
        .copied()
        .collect();
    check_alone(&clean, ROWS, &[]);
    let with_arsenic: Vec<(&str, &str)> = clean
        .iter()
        .copied()
        .chain([("as_emit", "0.001")])
        .collect();
    check_alone(&with_arsenic, ROWS, &["N004"]);
    check_alone(&no_wastewater, ROWS, &["N004"]);
}

#[test]
fn n005_and_n006_cod_with_wastewater() {
    check_alone(&[("cod_emit", "0")], ROWS, &["N005", "N006"]);
    // 1 mg/L exactly: 0.5 t in 500,000 t.
    let half_a_million = [
        ("ww_discharged", "500000"),
        ("ww_direct", "100000"),
        ("ww_to_plant", "400000"),
        ("ww_treated", "0"),
    ];
    let at_lower_bound: Vec<_> = half_a_million
        .iter()
        .copied()
        .chain([("cod_emit", "0.500")])
        .collect();
    check_alone(&at_lower_bound, ROWS, &[]);
    let below_lower_bound: Vec<_> = half_a_million
        .iter()
        .copied()
        .chain([("cod_emit", "0.499")])
        .collect();
    check_alone(&below_lower_bound, ROWS, &["N006"]);
    // 5000 mg/L exactly: 150 t in 30,000 t.
    check_alone(&[("cod_gen", "200"), ("cod_emit", "150.000")], ROWS, &[]);
    check_alone(
        &[("cod_gen", "200"), ("cod_emit", "150.001")],
        ROWS,
        &["N006"],
    );
}

#[test]
fn n007_and_n008_treatment_facilities() {
    check_alone(&[("ww_facilities", "0")], ROWS, &["N007"]);
    check_alone(
        &[
            ("ww_facilities", "0"),
            ("ww_capacity", "0"),
            ("ww_treated", "0"),
        ],
        ROWS,
        &[],
    );
    check_alone(&[("ww_treated", "73200")], ROWS, &[]);
    check_alone(&[("ww_treated", "73201")], ROWS, &["N008"]);
    check_alone(
        &[("ww_capacity", "0"), ("ww_treated", "1")],
        ROWS,
        &["N008"],
    );
}

#[test]
fn n009_and_n010_general_solid_waste() {
    check_alone(
        &[("sw_used_old", "700.1"), ("sw_gen", "349.9")],
        ROWS,
        &["N009"],
    );
    check_alone(&[("sw_used_old", "700.0"), ("sw_gen", "350.0")], ROWS, &[]);
    check_alone(
        &[("sw_disposed_old", "250.1"), ("sw_gen", "749.9")],
        ROWS,
        &["N009"],
    );
    // Balance within 0.5% of generation: 1000 t allows 5 t.
    check_alone(&[("sw_stored", "105.0")], ROWS, &[]);
    check_alone(&[("sw_stored", "105.1")], ROWS, &["N010"]);
    check_alone(&[("sw_stored", "95.0")], ROWS, &[]);
    check_alone(&[("sw_stored", "94.9")], ROWS, &["N010"]);
    let none = [
        ("sw_gen", "0"),
        ("sw_used", "0"),
        ("sw_used_old", "0"),
        ("sw_disposed", "0"),
        ("sw_stored", "0"),
    ];
    check_alone(&none, ROWS, &[]);
}

#[test]
fn n011_hazardous_waste_against_generation_and_last_years_storage() {
    check_with_previous(&[("hw_used", "7.000")], &[("hw_stored", "2.000")], &[]);
    check_with_previous(
        &[("hw_used", "7.001")],
        &[("hw_stored", "2.000")],
        &["N011"],
    );
    check_with_previous(&[("hw_used", "8.000")], &[("hw_stored", "3.000")], &[]);
    // No previous report: the rule is skipped, not failed.
    check_alone(&[("hw_used", "100.000")], ROWS, &[]);
}

#[test]
fn n012_so2_against_the_coal_estimate() {
    // Estimate 1.6 × 10000 t × 1% = 160 t; allowed 80 to 320 t.
    check_alone(&[("so2_gen", "80.000")], ROWS, &[]);
    check_alone(&[("so2_gen", "79.999")], ROWS, &["N012"]);
    check_alone(&[("so2_gen", "320.000")], ROWS, &[]);
    check_alone(&[("so2_gen", "320.001")], ROWS, &["N012"]);
    check_alone(&[("so2_gen", "500"), ("coal_use", "0")], ROWS, &[]);
    check_alone(&[("so2_gen", "500"), ("coal_sulfur", "0")], ROWS, &[]);
}

#[test]
fn n013_and_n014_removal_without_facilities() {
    check_alone(&[("desulf_facilities", "0")], "denox,dust,dust", &["N013"]);
    // Exactly 50% removal is not "more than half".
    check_alone(
        &[
            ("desulf_facilities", "0"),
            ("so2_gen", "30"),
            ("coal_use", "0"),
        ],
        "denox,dust,dust",
        &[],
    );
    // 10 t generated or less: too small to judge.
    check_alone(
        &[
            ("desulf_facilities", "0"),
            ("so2_gen", "10"),
            ("so2_emit", "1"),
            ("coal_use", "0"),
        ],
        "denox,dust,dust",
        &[],
    );
    check_alone(&[("denox_facilities", "0")], "desulf,dust,dust", &["N014"]);
    check_alone(
        &[("denox_facilities", "0"), ("nox_emit", "42")],
        "desulf,dust,dust",
        &[],
    );
    check_alone(
        &[("denox_facilities", "0"), ("nox_emit", "41.999")],
        "desulf,dust,dust",
        &["N014"],
    );
}

#[test]
fn n015_change_against_the_previous_period() {
    check_with_previous(&[("cod_emit", "4.500")], &[], &[]);
    check_with_previous(&[("cod_emit", "4.501")], &[], &["N015"]);
    check_with_previous(&[("cod_emit", "1.500")], &[], &[]);
    check_with_previous(&[("cod_emit", "1.499")], &[], &["N015"]);
    check_with_previous(&[("so2_emit", "100")], &[("so2_emit", "0")], &[]);
    check_with_previous(
        &[("ww_discharged", "60000"), ("ww_to_plant", "50000")],
        &[],
        &["N015"],
    );
    check_alone(&[("cod_emit", "19")], ROWS, &[]);
}

#[test]
fn n016_output_value_growth() {
    check_with_previous(&[("output_value", "15000.0")], &[], &[]);
    check_with_previous(&[("output_value", "15000.1")], &[], &["N016"]);
    check_with_previous(
        &[("output_value", "15000.1")],
        &[("output_value", "0")],
        &[],
    );
    check_alone(&[("output_value", "99999")], ROWS, &[]);
}

#[test]
fn n017_a_stopped_unit_reports_nothing() {
    check_alone(STOPPED, ROWS, &[]);
    let with_hours: Vec<_> = STOPPED
        .iter()
        .copied()
        .chain([("production_hours", "100")])
        .collect();
    check_alone(&with_hours, ROWS, &["N017"]);
    let with_voc: Vec<_> = STOPPED
        .iter()
        .copied()
        .chain([("voc_emit", "0.001")])
        .collect();
    check_alone(&with_voc, ROWS, &["N017"]);
    let with_cod: Vec<_> = STOPPED
        .iter()
        .copied()
        .chain([("cod_emit", "0.001")])
        .collect();
    check_alone(&with_cod, ROWS, &["N003", "N004", "N017"]);
    // A stopped year after a normal one: the change needs an explanation.
    check_with_previous(STOPPED, &[], &["N015"]);
    // Seasonal production with emissions is fine.
    check_alone(&[("production_status", "seasonal")], ROWS, &[]);
}

#[test]
fn n018_values_out_of_range() {
    check_alone(&[("production_hours", "8784")], ROWS, &[]);
    check_alone(&[("production_hours", "8785")], ROWS, &["N018"]);
    check_alone(&[("coal_sulfur", "10.00"), ("coal_use", "0")], ROWS, &[]);
    check_alone(
        &[("coal_sulfur", "10.01"), ("coal_use", "0")],
        ROWS,
        &["N018"],
    );
}

#[test]
fn n019_facility_rows_match_the_counts() {
    check_alone(&[], "desulf,denox,dust", &["N019"]);
    check_alone(&[], "desulf,denox,dust,dust,voc", &[]);
    check_alone(&[], "dust,desulf,dust,denox", &[]);
    check_alone(&[], "", &["N019"]);
    let no_facilities = [
        ("desulf_facilities", "0"),
        ("denox_facilities", "0"),
        ("dust_facilities", "0"),
        ("so2_emit", "150"),
        ("nox_emit", "60"),
    ];
    check_alone(&no_facilities, "", &[]);
    check_alone(&no_facilities, "voc", &[]);
}

#[test]
fn n020_quarters_add_up_for_national_units() {
    let national = [ControlClass::National];
    let cod_20 = [("cod_emit", "20.000"), ("cod_gen", "40.000")];
    check_with_quarters(&cod_20, ["5", "5", "5", "6"], &national, &[]);
    check_with_quarters(&cod_20, ["5", "5", "5", "6.001"], &national, &["N020"]);
    check_with_quarters(&cod_20, ["5", "5", "5", "4"], &national, &[]);
    check_with_quarters(&cod_20, ["5", "5", "5", "3.999"], &national, &["N020"]);
    // Only for units of class National.
    check_with_quarters(
        &cod_20,
        ["1", "1", "1", "1"],
        &[ControlClass::Provincial],
        &[],
    );
    // Without four quarterly reports the rule is skipped.
    check_alone(&cod_20, ROWS, &[]);
}

#[test]
fn extension_rules_js_r1_and_sz_r1_run_with_the_national_ones() {
    let rule_set = extended_rules();
    assert_eq!(rule_set.rules().len(), 22);
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            &[("js_curtailment_days", "10"), ("production_hours", "8784")],
            &["JS-R1"],
        ),
        (
            &[("js_curtailment_days", "10"), ("production_hours", "8000")],
            &[],
        ),
        (
            &[("js_curtailment_days", "0"), ("production_hours", "8784")],
            &[],
        ),
        (&[("production_hours", "8784")], &[]),
        (&[("voc_emit", "50.000")], &[]),
        (&[("voc_emit", "50.001")], &["SZ-R1"]),
        (&[("voc_emit", "0.001"), ("output_value", "0")], &["SZ-R1"]),
        (
            &[("cod_emit", "20.001"), ("voc_emit", "60")],
            &["N003", "SZ-R1"],
        ),
    ];
    for (changes, expected) in cases {
        let report = ReportFacts {
            values: values_with(changes),
            rows: rows_of_kinds(ROWS),
            unit: national_unit(),
            ..ReportFacts::default()
        };
        assert_eq!(failed_ids(rule_set, &report), *expected, "{changes:?}");
    }
}

#[test]
fn findings_carry_the_message_with_values_and_the_owner() {
    let report = ReportFacts {
        values: values_with(&[("water_total", "100002")]),
        rows: rows_of_kinds(ROWS),
        ..ReportFacts::default()
    };
    let findings = check(national_rules(), &report);
    assert_eq!(findings.len(), 1);
    let finding = &findings[0];
    assert_eq!(finding.severity, Severity::Error);
    assert_eq!(finding.owner, Origin::National);
    assert_eq!(
        finding.message_zh,
        "工业用水总量应等于取水量与重复用水量之和（用水总量 100002 吨，取水量 40000 吨，重复用水量 60000 吨，允许误差 1 吨）"
    );
    assert!(
        finding
            .message_en
            .starts_with("Total water use should equal")
    );
    let keys: Vec<&str> = finding
        .indicators
        .iter()
        .map(IndicatorKey::as_str)
        .collect();
    assert_eq!(keys, ["water_total", "water_fresh", "water_reused"]);
}

#[test]
fn placeholders_use_exact_decimals_from_every_source() {
    let report = ReportFacts {
        values: values_with(&[("cod_emit", "0.1"), ("production_status", "stopped")]),
        rows: rows_of_kinds("dust,dust,desulf"),
        previous: Some(values_with(&[("hw_stored", "2.5")])),
        quarters: Some(quarters_with(&[])),
        unit: UnitFacts::default(),
    };
    let cases: &[(&str, &str)] = &[
        ("{cod_emit} 吨", "0.1 吨"),
        ("{prev.hw_stored}", "2.5"),
        ("{rows.dust}/{rows.denox}", "2/0"),
        ("{quarters.cod_emit}", "3"),
        ("{production_status}", "stopped"),
        ("{kilns}", "1"),
        ("{unknown_key}", "0"),
        ("{not a placeholder}", "{not a placeholder}"),
        ("{other.thing}", "{other.thing}"),
        ("unclosed {cod_emit", "unclosed {cod_emit"),
    ];
    for (template, expected) in cases {
        assert_eq!(fill_message(template, &report), *expected, "{template}");
    }
}

fn rule(id: &str, expression: &str) -> AuditRule {
    AuditRule {
        id: RuleId::parse(id).unwrap(),
        owner: Origin::National,
        form: FormCode::parse("G101").unwrap(),
        severity: Severity::Error,
        expression: expression.to_string(),
        message_zh: "测试".to_string(),
        message_en: "test".to_string(),
        indicators: Vec::new(),
    }
}

fn g101() -> Form {
    let national = NationalStandard::default_standard().unwrap();
    national.release.forms.into_iter().next().unwrap()
}

#[test]
fn a_rule_with_a_syntax_error_is_refused_with_its_position() {
    let cases: &[(&str, usize, usize)] = &[
        ("water_total == (water_fresh + ", 1, 31),
        ("water_total > 0.0\n  && && water_fresh > 0.0", 2, 6),
        ("water_total >> 1.0", 1, 14),
    ];
    for (expression, line, column) in cases {
        match compile(&rule("T001", expression), &g101()) {
            Err(RuleCompileError::Syntax {
                line: found_line,
                column: found_column,
                message,
                ..
            }) => {
                assert_eq!(
                    (found_line, found_column),
                    (*line, *column),
                    "{expression:?}: {message}"
                );
                assert!(!message.is_empty());
            }
            other => panic!("{expression:?}: expected a syntax error, got {other:?}"),
        }
    }
}

#[test]
fn rules_are_checked_when_added() {
    let cases: &[(&str, &str)] = &[
        (
            "water_totl > 0.0",
            "'water_totl' is not an indicator of form G101",
        ),
        ("ww_treated <= ww_capacity * 366", "366.0 not 366"),
        ("water_total", "not true or false"),
        ("prev.water_totl > 0.0", "cannot be evaluated"),
        ("count_rows(1) > 0.0", "cannot be evaluated"),
    ];
    for (expression, fragment) in cases {
        let error = compile(&rule("T001", expression), &g101()).unwrap_err();
        assert!(
            error.to_string().contains(fragment),
            "{expression}: {error}"
        );
    }
    let fine = [
        "[cod_emit, nh3n_emit].all(x, x == 0.0) || true",
        "rows.filter(r, r.kind == 'dust').size() >= 0",
        "sum_rows('capacity', 'dust') >= 0.0",
        "unit.key_industry || !unit.key_industry",
        "production_status in ['normal', 'seasonal', 'stopped', '']",
    ];
    for expression in fine {
        assert!(
            compile(&rule("T001", expression), &g101()).is_ok(),
            "{expression}"
        );
    }
    assert!(RuleId::parse("n001").is_err());
    assert!(RuleId::parse("JS-R1").is_ok());
}

#[test]
fn a_rule_that_cannot_be_evaluated_gives_a_finding_not_a_panic() {
    let rule_set = RuleSet::compile(
        &g101(),
        [&rule("T001", "production_status == 'stopped' ? 1.0 : true")],
    )
    .unwrap();
    let report = ReportFacts {
        values: values_with(&[("production_status", "stopped")]),
        ..ReportFacts::default()
    };
    let findings = check(&rule_set, &report);
    assert_eq!(findings.len(), 1);
    assert!(
        matches!(&findings[0].outcome, FindingOutcome::CouldNotEvaluate { reason } if reason.contains("not true or false"))
    );
}

#[test]
fn an_empty_report_evaluates_every_rule() {
    let findings = check(national_rules(), &ReportFacts::default());
    assert!(
        findings
            .iter()
            .all(|finding| finding.outcome == FindingOutcome::Failed),
        "{findings:?}"
    );
}

#[test]
fn every_shipped_rule_runs_on_the_fast_path() {
    for rule in extended_rules().rules() {
        assert!(rule.runs_on_fast_path(), "{}", rule.rule().id);
    }
    let on_interpreter = [
        "rows.filter(r, r.kind == 'dust').size() >= 0",
        "sum_rows('capacity', 'dust') >= 0.0",
        "prev.water_total == 0.0 || has(prev.water_total)",
    ];
    for expression in on_interpreter {
        let compiled = compile(&rule("T001", expression), &g101()).unwrap();
        assert!(!compiled.runs_on_fast_path(), "{expression}");
    }
}

#[test]
fn fast_path_and_interpreter_agree_on_edge_expressions() {
    let expressions = [
        "production_status == 'stopped' ? 1.0 : true",
        "water_total / ww_facilities > 1.0",
        "(water_total * 366 > 0.0) || true",
        "(water_total * 366 > 0.0) && false",
        "(water_total * 366 > 0.0) && true",
        "1 == 1.0 && 2 > 1.5 && -water_total < 0.0",
        "'national' in unit.classes || unit.key_industry || unit.industry == '44'",
        "[1.0, water_total, 'x'].exists(x, x == 'x')",
        "[cod_emit, 2.0].all(x, x > 1.0)",
        "!(prev.cod_emit > cod_emit) && prev.production_status == production_status",
        "count_rows('dust') == 2.0 && count_rows('none') == 0.0",
    ];
    let reports = [
        ReportFacts::default(),
        ReportFacts {
            values: values_with(&[("production_status", "stopped"), ("ww_facilities", "0")]),
            rows: rows_of_kinds(ROWS),
            previous: Some(values_with(&[("cod_emit", "9")])),
            quarters: None,
            unit: national_unit(),
        },
    ];
    let form = g101();
    for expression in expressions {
        let Ok(compiled) = compile(&rule("T001", expression), &form) else {
            continue;
        };
        let uses_fast_path = compiled.runs_on_fast_path();
        let rule_set = RuleSet::compile(&form, [&rule("T001", expression)]).unwrap();
        for report in &reports {
            let outcome = |findings: Vec<Finding>| {
                findings
                    .into_iter()
                    .map(|finding| matches!(finding.outcome, FindingOutcome::Failed))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                outcome(check(&rule_set, report)),
                outcome(check_with_interpreter(&rule_set, report)),
                "{expression} (fast path: {uses_fast_path})"
            );
        }
    }
}

#[test]
fn a_rule_set_can_be_shared_between_request_tasks() {
    fn assert_send_and_sync<T: Send + Sync>() {}
    assert_send_and_sync::<RuleSet>();
    assert_send_and_sync::<SharedRuleSet>();
}

#[test]
fn doubles_can_land_just_past_an_exact_decimal_boundary() {
    // Documented in docs/rules.md: exactly 5000 mg/L in decimals, 5000.000000000001 in doubles.
    let at_boundary = [
        ("cod_gen", "3.000"),
        ("cod_emit", "2.015"),
        ("ww_discharged", "403"),
        ("ww_direct", "3"),
        ("ww_to_plant", "400"),
        ("ww_treated", "0"),
    ];
    check_alone(&at_boundary, ROWS, &["N006"]);
}

#[test]
fn errors_block_and_warnings_block_until_explained() {
    let report = ReportFacts {
        values: values_with(&[("water_total", "100002"), ("ww_treated", "73201")]),
        rows: rows_of_kinds(ROWS),
        ..ReportFacts::default()
    };
    let findings = check(national_rules(), &report);
    let blocking = |explained: &[&str]| -> Vec<String> {
        findings_blocking_submission(&findings, |rule| explained.contains(&rule.as_str()))
            .iter()
            .map(|finding| finding.rule_id.to_string())
            .collect()
    };
    assert_eq!(blocking(&[]), ["N001", "N008"]);
    assert_eq!(blocking(&["N008"]), ["N001"]);
    assert_eq!(blocking(&["N001", "N008"]), ["N001"]);
}
