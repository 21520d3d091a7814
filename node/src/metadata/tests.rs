//! Tests of the metadata standard: the shipped national standard against the
//! reference tables, codes, value parsing, extensions, periods and windows.

use rust_decimal::Decimal;

use super::period::{
    PeriodCalendar, PeriodId, Stage, Window, WindowClosedReason, WindowException, beijing_time,
};
use super::*;

/// G101 as in `shared/data/national-standard.md`: code, key, 中文, unit, type, max.
const G101_REFERENCE: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "G101-01",
        "output_value",
        "工业总产值（当年价格）",
        "万元",
        "dec(1)",
        "",
    ),
    (
        "G101-02",
        "production_hours",
        "年正常生产时间",
        "小时",
        "int",
        "8784",
    ),
    ("G101-03", "production_status", "生产状态", "", "enum", ""),
    ("G101-04", "water_total", "工业用水总量", "吨", "dec(0)", ""),
    ("G101-05", "water_fresh", "其中：取水量", "吨", "dec(0)", ""),
    (
        "G101-06",
        "water_reused",
        "其中：重复用水量",
        "吨",
        "dec(0)",
        "",
    ),
    (
        "G101-07",
        "ww_discharged",
        "工业废水排放量",
        "吨",
        "dec(0)",
        "",
    ),
    (
        "G101-08",
        "ww_direct",
        "其中：直接排入环境的",
        "吨",
        "dec(0)",
        "",
    ),
    (
        "G101-09",
        "ww_to_plant",
        "其中：排入污水处理厂的",
        "吨",
        "dec(0)",
        "",
    ),
    (
        "G101-10",
        "ww_facilities",
        "废水治理设施数",
        "套",
        "int",
        "",
    ),
    (
        "G101-11",
        "ww_capacity",
        "废水治理设施处理能力",
        "吨/日",
        "dec(0)",
        "",
    ),
    (
        "G101-12",
        "ww_treated",
        "废水治理设施处理量",
        "吨",
        "dec(0)",
        "",
    ),
    (
        "G101-13",
        "ww_opex",
        "废水治理设施运行费用",
        "万元",
        "dec(1)",
        "",
    ),
    ("G101-14", "cod_gen", "化学需氧量产生量", "吨", "dec(3)", ""),
    (
        "G101-15",
        "cod_emit",
        "化学需氧量排放量",
        "吨",
        "dec(3)",
        "",
    ),
    ("G101-16", "nh3n_gen", "氨氮产生量", "吨", "dec(3)", ""),
    ("G101-17", "nh3n_emit", "氨氮排放量", "吨", "dec(3)", ""),
    ("G101-18", "tn_emit", "总氮排放量", "吨", "dec(3)", ""),
    ("G101-19", "tp_emit", "总磷排放量", "吨", "dec(3)", ""),
    ("G101-20", "oil_emit", "石油类排放量", "吨", "dec(3)", ""),
    (
        "G101-21",
        "phenol_emit",
        "挥发酚排放量",
        "千克",
        "dec(3)",
        "",
    ),
    (
        "G101-22",
        "cyanide_emit",
        "氰化物排放量",
        "千克",
        "dec(3)",
        "",
    ),
    ("G101-23", "hg_emit", "汞排放量", "千克", "dec(3)", ""),
    ("G101-24", "cd_emit", "镉排放量", "千克", "dec(3)", ""),
    ("G101-25", "cr6_emit", "六价铬排放量", "千克", "dec(3)", ""),
    ("G101-26", "cr_emit", "总铬排放量", "千克", "dec(3)", ""),
    ("G101-27", "pb_emit", "铅排放量", "千克", "dec(3)", ""),
    ("G101-28", "as_emit", "砷排放量", "千克", "dec(3)", ""),
    (
        "G101-29",
        "gas_volume",
        "工业废气排放量",
        "万标立方米",
        "dec(0)",
        "",
    ),
    ("G101-30", "boilers", "工业锅炉数", "台", "int", ""),
    ("G101-31", "kilns", "工业炉窑数", "座", "int", ""),
    (
        "G101-32",
        "desulf_facilities",
        "脱硫设施数",
        "套",
        "int",
        "",
    ),
    ("G101-33", "denox_facilities", "脱硝设施数", "套", "int", ""),
    ("G101-34", "dust_facilities", "除尘设施数", "套", "int", ""),
    ("G101-35", "so2_gen", "二氧化硫产生量", "吨", "dec(3)", ""),
    ("G101-36", "so2_emit", "二氧化硫排放量", "吨", "dec(3)", ""),
    ("G101-37", "nox_gen", "氮氧化物产生量", "吨", "dec(3)", ""),
    ("G101-38", "nox_emit", "氮氧化物排放量", "吨", "dec(3)", ""),
    ("G101-39", "pm_gen", "烟（粉）尘产生量", "吨", "dec(3)", ""),
    ("G101-40", "pm_emit", "烟（粉）尘排放量", "吨", "dec(3)", ""),
    (
        "G101-41",
        "voc_emit",
        "挥发性有机物排放量",
        "吨",
        "dec(3)",
        "",
    ),
    ("G101-42", "coal_use", "燃料煤消耗量", "吨", "dec(1)", ""),
    (
        "G101-43",
        "coal_sulfur",
        "燃料煤平均硫分",
        "%",
        "dec(2)",
        "10",
    ),
    ("G101-44", "oil_use", "燃料油消耗量", "吨", "dec(1)", ""),
    (
        "G101-45",
        "gas_use",
        "天然气消耗量",
        "万立方米",
        "dec(1)",
        "",
    ),
    (
        "G101-46",
        "sw_gen",
        "一般工业固体废物产生量",
        "吨",
        "dec(1)",
        "",
    ),
    (
        "G101-47",
        "sw_used",
        "一般工业固体废物综合利用量",
        "吨",
        "dec(1)",
        "",
    ),
    (
        "G101-48",
        "sw_used_old",
        "其中：综合利用往年贮存量",
        "吨",
        "dec(1)",
        "",
    ),
    (
        "G101-49",
        "sw_disposed",
        "一般工业固体废物处置量",
        "吨",
        "dec(1)",
        "",
    ),
    (
        "G101-50",
        "sw_disposed_old",
        "其中：处置往年贮存量",
        "吨",
        "dec(1)",
        "",
    ),
    (
        "G101-51",
        "sw_stored",
        "一般工业固体废物贮存量",
        "吨",
        "dec(1)",
        "",
    ),
    (
        "G101-52",
        "sw_dumped",
        "一般工业固体废物倾倒丢弃量",
        "吨",
        "dec(1)",
        "",
    ),
    ("G101-53", "hw_gen", "危险废物产生量", "吨", "dec(3)", ""),
    (
        "G101-54",
        "hw_used",
        "危险废物综合利用量",
        "吨",
        "dec(3)",
        "",
    ),
    (
        "G101-55",
        "hw_disposed",
        "危险废物处置量",
        "吨",
        "dec(3)",
        "",
    ),
    ("G101-56", "hw_stored", "危险废物贮存量", "吨", "dec(3)", ""),
    ("G101-57", "remarks", "备注", "", "text", ""),
];

const PROVINCE_320000: &str = include_str!("../../data/examples/province-320000.toml");
const CITY_320500: &str = include_str!("../../data/examples/city-320500.toml");

fn national() -> NationalStandard {
    NationalStandard::default_standard().unwrap()
}

fn form<'a>(standard: &'a NationalStandard, code: &str) -> &'a Form {
    standard
        .release
        .forms
        .iter()
        .find(|form| form.code.as_str() == code)
        .unwrap()
}

fn type_text(kind: &ValueKind) -> String {
    match kind {
        ValueKind::Decimal { places } => format!("dec({places})"),
        ValueKind::Integer => "int".to_string(),
        ValueKind::Enum { .. } => "enum".to_string(),
        ValueKind::Text { .. } => "text".to_string(),
    }
}

#[test]
fn the_shipped_g101_has_the_57_reference_indicators_in_order() {
    let standard = national();
    let g101 = form(&standard, "G101");
    assert_eq!(g101.indicators.len(), 57);
    for (indicator, (code, key, name_zh, unit, kind, max)) in
        g101.indicators.iter().zip(G101_REFERENCE)
    {
        assert_eq!(indicator.code.as_str(), *code);
        assert_eq!(indicator.key.as_str(), *key, "{code}");
        assert_eq!(indicator.name_zh, *name_zh, "{code}");
        assert_eq!(indicator.unit, *unit, "{code}");
        assert_eq!(type_text(&indicator.kind), *kind, "{code}");
        let expected_max = (!max.is_empty()).then(|| max.parse::<Decimal>().unwrap());
        assert_eq!(indicator.max, expected_max, "{code}");
        if indicator.kind.is_numeric() {
            assert_eq!(
                indicator.min,
                Some(Decimal::ZERO),
                "{code}: every number is >= 0"
            );
        }
        assert_eq!(indicator.origin, Origin::National);
    }
}

#[test]
fn the_shipped_g101q_and_g103_match_the_reference() {
    let standard = national();
    let g101 = form(&standard, "G101");
    let g101q = form(&standard, "G101Q");
    assert_eq!(g101q.period_kind, PeriodKind::Quarterly);
    let keys: Vec<(&str, &str)> = g101q
        .indicators
        .iter()
        .map(|indicator| (indicator.code.as_str(), indicator.key.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("G101Q-01", "production_status"),
            ("G101Q-02", "ww_discharged"),
            ("G101Q-03", "cod_emit"),
            ("G101Q-04", "nh3n_emit"),
            ("G101Q-05", "so2_emit"),
            ("G101Q-06", "nox_emit"),
            ("G101Q-07", "pm_emit"),
        ]
    );
    for quarterly in &g101q.indicators {
        let annual = g101.indicator(quarterly.key.as_str()).unwrap();
        assert_eq!(
            (&quarterly.unit, &quarterly.kind),
            (&annual.unit, &annual.kind)
        );
    }
    let g103 = form(&standard, "G103");
    assert!(g103.row_form);
    let columns: Vec<(&str, String)> = g103
        .row_columns
        .iter()
        .map(|column| (column.key.as_str(), type_text(&column.kind)))
        .collect();
    assert_eq!(
        columns,
        [
            ("facility_name", "text".to_string()),
            ("kind", "enum".to_string()),
            ("capacity", "dec(1)".to_string()),
            ("hours", "int".to_string()),
        ]
    );
    assert_eq!(g103.row_columns[3].max, Some(Decimal::from(8784)));
    let ValueKind::Enum { options } = &g103.row_columns[1].kind else {
        panic!("kind is an enum")
    };
    let values: Vec<&str> = options.iter().map(|option| option.value.as_str()).collect();
    assert_eq!(values, ["desulf", "denox", "dust", "voc"]);
}

#[test]
fn the_shipped_standard_has_the_20_national_rules() {
    let standard = national();
    let ids: Vec<String> = standard
        .release
        .rules
        .iter()
        .map(|rule| rule.id.to_string())
        .collect();
    let expected: Vec<String> = (1..=20).map(|number| format!("N{number:03}")).collect();
    assert_eq!(ids, expected);
    let warnings = [
        "N005", "N006", "N008", "N011", "N012", "N013", "N014", "N015", "N016", "N020",
    ];
    for rule in &standard.release.rules {
        let expected_severity = if warnings.contains(&rule.id.as_str()) {
            crate::rules::Severity::Warning
        } else {
            crate::rules::Severity::Error
        };
        assert_eq!(rule.severity, expected_severity, "{}", rule.id);
        assert_eq!(rule.owner, Origin::National);
    }
}

#[test]
fn codes_and_keys_are_checked() {
    let cases: &[(&str, bool, bool, bool)] = &[
        // text, form code ok, indicator code ok, indicator key ok
        ("G101", true, true, false),
        ("G101Q", true, true, false),
        ("G101-15", false, true, false),
        ("JS-01", false, true, false),
        ("g101", false, false, true),
        ("cod_emit", false, false, true),
        ("1G01", false, false, false),
        ("G", false, false, false),
        ("", false, false, false),
        ("G101-", false, false, false),
        ("prev", false, false, false),
        ("unit", false, false, false),
        ("as", false, false, false),
        ("cod-emit", false, false, false),
    ];
    for (text, form_ok, code_ok, key_ok) in cases {
        assert_eq!(
            FormCode::parse(text).is_ok(),
            *form_ok,
            "form code {text:?}"
        );
        assert_eq!(
            IndicatorCode::parse(text).is_ok(),
            *code_ok,
            "indicator code {text:?}"
        );
        assert_eq!(
            IndicatorKey::parse(text).is_ok(),
            *key_ok,
            "indicator key {text:?}"
        );
    }
}

#[test]
fn origins_are_read_and_written() {
    let cases: &[(&str, Option<&str>)] = &[
        ("national", Some("national")),
        ("province:320000", Some("province:320000")),
        ("city:320500", Some("city:320500")),
        ("province:320500", None),
        ("city:320000", None),
        ("city:999999", None),
        ("county:320102", None),
        ("National", None),
    ];
    for (text, expected) in cases {
        let parsed = Origin::parse(text).ok().map(|origin| origin.to_string());
        assert_eq!(parsed.as_deref(), *expected, "{text}");
    }
}

/// One value-parsing case: indicator key, input, Ok(canonical) or Err(fragment of the message).
fn check_value(key: &str, input: RawValue<'_>, expected: Result<&str, &str>) {
    let standard = national();
    let indicator = standard
        .release
        .forms
        .iter()
        .find_map(|form| form.indicator(key))
        .unwrap();
    match (parse_value(indicator, input), expected) {
        (Ok(value), Ok(canonical)) => assert_eq!(value.to_string(), canonical, "{key} {input:?}"),
        (Err(error), Err(fragment)) => {
            let message = error.to_string();
            assert!(message.contains(fragment), "{key} {input:?}: {message}");
            assert!(
                message.contains(indicator.code.as_str()),
                "names the indicator: {message}"
            );
            assert!(message.contains(" / "), "Chinese then English: {message}");
        }
        (outcome, expected) => panic!("{key} {input:?}: got {outcome:?}, expected {expected:?}"),
    }
}

#[test]
fn values_are_parsed_exactly_or_refused_with_a_reason() {
    use RawValue::{Json, Text};
    let number = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    check_value("cod_emit", Text("12.345"), Ok("12.345"));
    check_value("cod_emit", Text("12.5"), Ok("12.500"));
    check_value("cod_emit", Text(" 0 "), Ok("0.000"));
    check_value("cod_emit", Text("12.3450"), Ok("12.345"));
    check_value("cod_emit", Text("12.3456"), Err("小数位数超过 3 位"));
    check_value("cod_emit", Text("-1"), Err("小于下限 0"));
    check_value("cod_emit", Text("abc"), Err("不是数字"));
    check_value("cod_emit", Text("1,000"), Err("不是数字"));
    check_value("cod_emit", Text(""), Err("未填写"));
    check_value("cod_emit", Json(&number("0.1")), Ok("0.100"));
    check_value("cod_emit", Json(&number("\"7.25\"")), Ok("7.250"));
    check_value("cod_emit", Json(&number("1e2")), Ok("100.000"));
    check_value("cod_emit", Json(&number("true")), Err("number or a string"));
    check_value("water_total", Text("100"), Ok("100"));
    check_value("water_total", Text("100.5"), Err("小数位数超过 0 位"));
    check_value("production_hours", Text("8784"), Ok("8784"));
    check_value("production_hours", Text("8785"), Err("超过上限 8784"));
    check_value("production_hours", Text("12.5"), Err("应为整数"));
    check_value("production_hours", Text("12.0"), Ok("12"));
    check_value("coal_sulfur", Text("10"), Ok("10.00"));
    check_value("coal_sulfur", Text("10.01"), Err("above the maximum 10"));
    check_value("production_status", Text("stopped"), Ok("stopped"));
    check_value(
        "production_status",
        Text("closed"),
        Err("stopped（全年停产）"),
    );
    check_value("remarks", Text("全年检修"), Ok("全年检修"));
    check_value("remarks", Text(&"字".repeat(2001)), Err("超过 2000 字"));
    check_value("hours", Text("8785"), Err("超过上限 8784"));
}

#[test]
fn value_errors_split_into_chinese_and_english() {
    let standard = national();
    let indicator = form(&standard, "G101")
        .indicator("production_hours")
        .unwrap();
    let error = parse_value(indicator, RawValue::Text("9000")).unwrap_err();
    assert_eq!(
        error.message_zh(),
        "G101-02 年正常生产时间：9000 超过上限 8784"
    );
    assert_eq!(
        error.message_en(),
        "G101-02 normal production time: 9000 is above the maximum 8784"
    );
}

fn extension(text: &str) -> Extension {
    Extension::from_toml(text).unwrap()
}

#[test]
fn extensions_add_indicators_and_rules_with_their_origin() {
    let province = extension(PROVINCE_320000);
    let city = extension(CITY_320500);
    let effective = EffectiveMetadata::compose(&national(), Some(&province), Some(&city)).unwrap();
    let g101 = effective.form(&FormCode::parse("G101").unwrap()).unwrap();
    assert_eq!(g101.indicators.len(), 58);
    let added = g101.indicator_by_code("JS-01").unwrap();
    assert_eq!(added.origin.to_string(), "province:320000");
    assert_eq!(g101.indicator("cod_emit").unwrap().origin, Origin::National);
    let owners: Vec<(String, String)> = effective
        .rules
        .iter()
        .skip(20)
        .map(|rule| (rule.id.to_string(), rule.owner.to_string()))
        .collect();
    assert_eq!(
        owners,
        [
            ("JS-R1".to_string(), "province:320000".to_string()),
            ("SZ-R1".to_string(), "city:320500".to_string()),
        ]
    );
    assert_eq!(effective.rules.len(), 22);
    assert_eq!(effective.releases.len(), 3);
}

const CITY_REDEFINING_N003: &str = r#"
format_version = 1
origin = "city:320500"
version = 2

[[rules]]
id = "N003"
form = "G101"
severity = "warning"
expression = "true"
message_zh = "已停用"
"#;

const CITY_DISABLING_N003: &str = r#"
format_version = 1
origin = "city:320500"
version = 2
disable_rules = ["N003"]
"#;

const CITY_REDEFINING_COD_EMIT: &str = r#"
format_version = 1
origin = "city:320500"
version = 2

[[indicator_additions]]
form = "G101"

[[indicator_additions.indicators]]
code = "SZ-01"
key = "cod_emit"
name_zh = "化学需氧量排放量"
name_en = "COD"
unit = "千克"
kind = { type = "decimal", places = 0 }
group = "water_pollutants"
"#;

const CITY_CLAIMING_NATIONAL: &str = r#"
format_version = 1
origin = "national"
version = 9
"#;

#[test]
fn a_city_cannot_override_or_disable_n003() {
    let national = national();
    let overriding = extension(CITY_REDEFINING_N003);
    let error = EffectiveMetadata::compose(&national, None, Some(&overriding)).unwrap_err();
    assert!(
        matches!(&error, CompositionError::RuleIdTaken { rule, owned_by: Origin::National, .. } if rule.as_str() == "N003")
    );
    assert!(
        error.to_string().contains("never replace or disable"),
        "{error}"
    );

    let disabling = Extension::from_toml(CITY_DISABLING_N003).unwrap_err();
    assert!(
        matches!(disabling, MetadataError::Unreadable(ref reason) if reason.contains("disable_rules")),
        "{disabling}"
    );

    let redefining = extension(CITY_REDEFINING_COD_EMIT);
    let error = EffectiveMetadata::compose(&national, None, Some(&redefining)).unwrap_err();
    assert!(
        matches!(
            error,
            CompositionError::IndicatorTaken {
                owned_by: Origin::National,
                ..
            }
        ),
        "{error}"
    );

    assert!(matches!(
        Extension::from_toml(CITY_CLAIMING_NATIONAL),
        Err(MetadataError::WrongOrigin { .. })
    ));
}

#[test]
fn extensions_must_sit_in_their_own_slot_and_province() {
    let national = national();
    let province = extension(PROVINCE_320000);
    let city = extension(CITY_320500);
    assert!(matches!(
        EffectiveMetadata::compose(&national, Some(&city), None),
        Err(CompositionError::ExtensionInWrongSlot {
            slot: "province",
            ..
        })
    ));
    assert!(matches!(
        EffectiveMetadata::compose(&national, None, Some(&province)),
        Err(CompositionError::ExtensionInWrongSlot { slot: "city", .. })
    ));
    let zhejiang = extension(&PROVINCE_320000.replace("province:320000", "province:330000"));
    assert!(matches!(
        EffectiveMetadata::compose(&national, Some(&zhejiang), Some(&city)),
        Err(CompositionError::CityOutsideProvince { .. })
    ));
}

#[test]
fn periods_parse_print_and_step_back() {
    let cases: &[(&str, Option<&str>, Option<&str>)] = &[
        // text, printed, previous
        ("2025", Some("2025"), Some("2024")),
        ("2026Q1", Some("2026Q1"), Some("2025Q4")),
        ("2026Q3", Some("2026Q3"), Some("2026Q2")),
        ("2026q4", Some("2026Q4"), Some("2026Q3")),
        ("2000", Some("2000"), None),
        ("2000Q1", Some("2000Q1"), None),
        ("2026Q5", None, None),
        ("2026Q0", None, None),
        ("2026Q", None, None),
        ("26", None, None),
        ("1999", None, None),
        ("2025-1", None, None),
        ("", None, None),
    ];
    for (text, printed, previous) in cases {
        let period = PeriodId::parse(text);
        assert_eq!(
            period.as_ref().ok().map(ToString::to_string).as_deref(),
            *printed,
            "{text}"
        );
        if let Ok(period) = period {
            assert_eq!(
                period.previous().map(|p| p.to_string()).as_deref(),
                *previous,
                "{text}"
            );
        }
    }
    let year = PeriodId::parse("2025").unwrap();
    assert_eq!(year.kind(), PeriodKind::Annual);
    assert_eq!(
        year.quarters_of_year().map(|q| q.to_string()),
        ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    );
    assert_eq!(
        PeriodId::parse("2026Q3").unwrap().name_zh(),
        "2026年第3季度"
    );
}

fn calendar_2025_g101() -> (PeriodCalendar, PeriodId, FormCode) {
    let period = PeriodId::parse("2025").unwrap();
    let form = FormCode::parse("G101").unwrap();
    let mut calendar = PeriodCalendar::new();
    calendar.set_window(
        period,
        &form,
        Window {
            stage: Stage::UnitEntry,
            opens_at: beijing_time(2026, 1, 1, 0, 0),
            closes_at: beijing_time(2026, 3, 1, 0, 0),
        },
    );
    calendar.grant_exception(
        period,
        &form,
        WindowException {
            credit_code: "91320500MA1XXXXX0A".to_string(),
            stage: Stage::UnitEntry,
            until: beijing_time(2026, 3, 8, 0, 0),
            reason: "企业系统故障".to_string(),
            granted_by: "city-320500/admin".to_string(),
        },
    );
    (calendar, period, form)
}

#[test]
fn windows_open_and_close_with_exceptions_for_one_unit() {
    let (calendar, period, form) = calendar_2025_g101();
    let excepted = Some("91320500MA1XXXXX0A");
    let other = Some("91320500MA1YYYYY0B");
    type Case<'a> = (
        Stage,
        Option<&'a str>,
        (i64, u32, u32, u32, u32),
        Result<(), &'a str>,
    );
    let cases: &[Case] = &[
        (
            Stage::UnitEntry,
            other,
            (2025, 12, 31, 23, 59),
            Err(
                "2025年 G101 的企业填报时限尚未开始（2026-01-01 00:00 至 2026-03-01 00:00，北京时间）",
            ),
        ),
        (Stage::UnitEntry, other, (2026, 1, 1, 0, 0), Ok(())),
        (Stage::UnitEntry, other, (2026, 2, 28, 23, 59), Ok(())),
        (
            Stage::UnitEntry,
            other,
            (2026, 3, 1, 0, 0),
            Err(
                "2025年 G101 的企业填报时限已结束（2026-01-01 00:00 至 2026-03-01 00:00，北京时间）",
            ),
        ),
        (Stage::UnitEntry, None, (2026, 3, 2, 0, 0), Err("已结束")),
        (Stage::UnitEntry, excepted, (2026, 3, 7, 23, 59), Ok(())),
        (
            Stage::UnitEntry,
            excepted,
            (2026, 3, 8, 0, 0),
            Err("已结束"),
        ),
        (
            Stage::CityReview,
            excepted,
            (2026, 2, 1, 0, 0),
            Err("2025年 G101 的市级审核时限尚未设置"),
        ),
    ];
    for (stage, unit, (year, month, day, hour, minute), expected) in cases {
        let now = beijing_time(*year, *month, *day, *hour, *minute);
        let outcome = calendar.check_open(period, &form, *stage, *unit, now);
        match (&outcome, expected) {
            (Ok(()), Ok(())) => {}
            (Err(closed), Err(fragment)) => {
                assert!(
                    closed.to_string().contains(fragment),
                    "{closed} / {fragment}"
                )
            }
            _ => panic!(
                "{stage:?} {unit:?} {year}-{month}-{day}: got {outcome:?}, expected {expected:?}"
            ),
        }
    }
    let closed = calendar
        .check_open(
            period,
            &form,
            Stage::UnitEntry,
            None,
            beijing_time(2026, 4, 1, 0, 0),
        )
        .unwrap_err();
    assert_eq!(closed.reason, WindowClosedReason::AlreadyClosed);
    assert_eq!(
        closed.window.map(|window| window.closes_at),
        Some(beijing_time(2026, 3, 1, 0, 0))
    );
    assert!(
        closed
            .message_en()
            .contains("unit entry window for G101 2025 has closed")
    );
}

#[test]
fn a_release_round_trips_through_json_and_keeps_its_origins() {
    let province = extension(PROVINCE_320000);
    let json = serde_json::to_string(&province.release).unwrap();
    let received: MetadataRelease = serde_json::from_str(&json).unwrap();
    assert_eq!(received, province.release);
    let mut smuggled = received.clone();
    smuggled.rules[0].owner = Origin::National;
    let error =
        EffectiveMetadata::compose(&national(), Some(&Extension { release: smuggled }), None)
            .unwrap_err();
    assert!(
        matches!(error, CompositionError::ForeignOrigin { .. }),
        "{error}"
    );
}

#[test]
fn a_drafts_values_are_parsed_together_and_every_problem_reported() {
    let standard = national();
    let g101 = form(&standard, "G101");
    let raw = |json: &str| -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(json).unwrap()
    };
    let values = g101
        .parse_values(&raw(
            r#"{"cod_emit": "1.5", "water_total": 100, "remarks": "", "kilns": null}"#,
        ))
        .unwrap();
    assert_eq!(values.len(), 2);
    assert_eq!(values["cod_emit"].to_string(), "1.500");
    let missing: Vec<&str> = g101
        .missing_required_indicators(&values)
        .iter()
        .map(|indicator| indicator.key.as_str())
        .collect();
    assert_eq!(
        missing,
        ["output_value", "production_hours", "production_status"]
    );

    let problems = g101
        .parse_values(&raw(
            r#"{"cod_emit": "-1", "cod_emitt": "1", "production_hours": "9000"}"#,
        ))
        .unwrap_err();
    let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[0].contains("G101-15"), "{messages:?}");
    assert!(
        messages[1].contains("G101 没有指标 “cod_emitt”"),
        "{messages:?}"
    );
    assert!(messages[2].contains("超过上限 8784"), "{messages:?}");

    let g103 = form(&standard, "G103");
    let row = g103
        .parse_row(&raw(r#"{"facility_name": "1号脱硫塔", "kind": "desulf", "capacity": "12.5", "hours": "7000"}"#))
        .unwrap();
    assert_eq!(row.len(), 4);
    assert!(g103.parse_row(&raw(r#"{"kind": "scrubber"}"#)).is_err());
}

#[tokio::test]
async fn releases_and_the_calendar_are_stored_and_never_overwritten() {
    use super::store::{MetadataStore, ReleaseSaved};
    let folder = tempfile::tempdir().unwrap();
    let store = crate::store::Store::open(folder.path()).unwrap();
    let metadata = MetadataStore::open(&store).unwrap();
    let version_1 = extension(PROVINCE_320000).release;
    let mut version_2 = version_1.clone();
    version_2.version = 2;
    version_2.rules.clear();
    let mut altered_1 = version_1.clone();
    altered_1.rules.clear();
    let cases = [
        (&version_2, ReleaseSaved::Stored),
        (&version_1, ReleaseSaved::Stored),
        (&version_1, ReleaseSaved::AlreadyStored),
        (&altered_1, ReleaseSaved::ConflictsWithStored),
    ];
    for (release, expected) in cases {
        assert_eq!(metadata.save_release(release).unwrap(), expected);
    }
    let origin = version_1.origin;
    let versions: Vec<u32> = metadata
        .releases_of(origin)
        .unwrap()
        .iter()
        .map(|release| release.version)
        .collect();
    assert_eq!(versions, [1, 2]);
    assert_eq!(metadata.latest_release(origin).unwrap(), Some(version_2));
    assert_eq!(metadata.releases_of(Origin::National).unwrap(), []);

    assert_eq!(metadata.calendar().unwrap(), PeriodCalendar::new());
    let (calendar, _, _) = calendar_2025_g101();
    metadata.save_calendar(&calendar).unwrap();
    store.commit_durable().await.unwrap();
    assert_eq!(metadata.calendar().unwrap(), calendar);
}
