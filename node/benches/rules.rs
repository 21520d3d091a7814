//! The audit-rule benchmark: the full effective rule set of G101 (20 national
//! rules, JS-R1, SZ-R1) on one report and on 100,000 varied reports, against
//! the same checks hand-written in plain Rust.
//!
//! Run: `cargo bench -p zhibao --bench rules`. A summary with per-report times
//! and the ratio is printed first; divan's statistics follow.
//! Budget: < 50 µs per report, and within 3× of the hand-written checks.
//! `RULES_BENCH_PER_RULE=1` also prints each rule's cost alone, and
//! `RULES_BENCH_VARIANTS=1` the cost of a few ways to write one check.

// why: a benchmark is a tool, not server code; a broken shipped standard should stop it loudly
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use zhibao_node::metadata::{
    EffectiveMetadata, Extension, FormCode, IndicatorValue, NationalStandard, ReportValues,
};
use zhibao_node::rules::{
    ControlClass, Finding, FindingOutcome, ReportFacts, RuleSet, UnitFacts, check,
    check_with_interpreter, fill_message, number_for_rules,
};

const PROVINCE_320000: &str = include_str!("../data/examples/province-320000.toml");
const CITY_320500: &str = include_str!("../data/examples/city-320500.toml");
const N_REPORTS: usize = 100_000;

fn effective_rule_set() -> RuleSet {
    let national = NationalStandard::default_standard().expect("national standard");
    let province = Extension::from_toml(PROVINCE_320000).expect("province extension");
    let city = Extension::from_toml(CITY_320500).expect("city extension");
    let effective =
        EffectiveMetadata::compose(&national, Some(&province), Some(&city)).expect("composition");
    RuleSet::for_form(&effective, &FormCode::parse("G101").expect("form code"))
        .expect("rules compile")
}

// ---------------------------------------------------------------------------
// Report generation: realistic, varied, mostly consistent, some faulty.

fn number(places: u32, value: f64) -> IndicatorValue {
    let mut decimal = Decimal::from_f64_retain(value.max(0.0)).unwrap_or_default();
    decimal = decimal.round_dp(places);
    decimal.rescale(places);
    IndicatorValue::Number(decimal)
}

/// A draw from `low..usual_high`, or with probability `wide_chance` from `low..wide_high`.
fn range_sometimes_wider(
    random: &mut StdRng,
    low: f64,
    wide_chance: f64,
    wide_high: f64,
    usual_high: f64,
) -> f64 {
    let high = if random.random_bool(wide_chance) {
        wide_high
    } else {
        usual_high
    };
    random.random_range(low..high)
}

fn insert(values: &mut ReportValues, key: &str, value: IndicatorValue) {
    values.insert(key.to_string(), value);
}

/// One unit-year: sizes drawn at random, balances kept, and now and then a
/// typical mistake (an unbalanced sum, emissions above generation, a stopped
/// unit with figures, a wild change from last year).
fn generated_report(random: &mut StdRng) -> ReportFacts {
    let scale: f64 = random.random_range(0.05..20.0);
    let stopped = random.random_bool(0.03);
    let mut values = ReportValues::new();
    let status = if stopped {
        "stopped"
    } else if random.random_bool(0.1) {
        "seasonal"
    } else {
        "normal"
    };
    insert(
        &mut values,
        "production_status",
        IndicatorValue::Text(status.to_string()),
    );
    let factor = if stopped { 0.0 } else { scale };
    insert(&mut values, "output_value", number(1, 5000.0 * factor));
    insert(
        &mut values,
        "production_hours",
        number(
            0,
            if stopped {
                0.0
            } else {
                random.random_range(2000.0..8784.0)
            },
        ),
    );
    let fresh = (40_000.0 * factor).round();
    let reused = (60_000.0 * factor).round();
    insert(
        &mut values,
        "water_total",
        number(
            0,
            fresh + reused + if random.random_bool(0.02) { 10.0 } else { 0.0 },
        ),
    );
    insert(&mut values, "water_fresh", number(0, fresh));
    insert(&mut values, "water_reused", number(0, reused));
    let direct = (10_000.0 * factor).round();
    let to_plant = (20_000.0 * factor).round();
    insert(&mut values, "ww_discharged", number(0, direct + to_plant));
    insert(&mut values, "ww_direct", number(0, direct));
    insert(&mut values, "ww_to_plant", number(0, to_plant));
    insert(&mut values, "ww_facilities", number(0, 1.0));
    insert(
        &mut values,
        "ww_capacity",
        number(0, (200.0 * scale).round()),
    );
    insert(
        &mut values,
        "ww_treated",
        number(0, (30_000.0 * factor).round()),
    );
    insert(&mut values, "ww_opex", number(1, 12.5 * factor));
    let cod_gen = 20.0 * factor * random.random_range(0.8..1.2);
    let cod_emit = cod_gen * range_sometimes_wider(random, 0.1, 0.02, 1.3, 0.2);
    insert(&mut values, "cod_gen", number(3, cod_gen));
    insert(&mut values, "cod_emit", number(3, cod_emit));
    insert(&mut values, "nh3n_gen", number(3, 2.0 * factor));
    insert(&mut values, "nh3n_emit", number(3, 0.3 * factor));
    for (key, base) in [
        ("tn_emit", 0.5),
        ("tp_emit", 0.05),
        ("oil_emit", 0.01),
        ("phenol_emit", 0.1),
        ("cyanide_emit", 0.05),
        ("hg_emit", 0.001),
        ("cd_emit", 0.002),
        ("cr6_emit", 0.0),
        ("cr_emit", 0.01),
        ("pb_emit", 0.02),
        ("as_emit", 0.003),
    ] {
        insert(&mut values, key, number(3, base * factor));
    }
    insert(&mut values, "gas_volume", number(0, 50_000.0 * factor));
    insert(&mut values, "boilers", number(0, 2.0));
    insert(&mut values, "kilns", number(0, 1.0));
    let desulf = 1.0;
    let denox = if random.random_bool(0.05) { 0.0 } else { 1.0 };
    let dust = 2.0;
    insert(&mut values, "desulf_facilities", number(0, desulf));
    insert(&mut values, "denox_facilities", number(0, denox));
    insert(&mut values, "dust_facilities", number(0, dust));
    let coal = 10_000.0 * factor;
    let sulfur = random.random_range(0.5..2.0);
    let so2_gen = 1.6 * coal * sulfur / 100.0 * range_sometimes_wider(random, 0.7, 0.03, 3.0, 1.4);
    insert(&mut values, "coal_use", number(1, coal));
    insert(&mut values, "coal_sulfur", number(2, sulfur));
    insert(&mut values, "so2_gen", number(3, so2_gen));
    insert(&mut values, "so2_emit", number(3, so2_gen * 0.1));
    insert(&mut values, "nox_gen", number(3, 60.0 * factor));
    insert(&mut values, "nox_emit", number(3, 30.0 * factor));
    insert(&mut values, "pm_gen", number(3, 500.0 * factor));
    insert(&mut values, "pm_emit", number(3, 5.0 * factor));
    insert(
        &mut values,
        "voc_emit",
        number(
            3,
            2.0 * factor * if random.random_bool(0.02) { 40.0 } else { 1.0 },
        ),
    );
    insert(&mut values, "oil_use", number(1, 10.0 * factor));
    insert(&mut values, "gas_use", number(1, 5.0 * factor));
    let sw_used = (700.0 * factor).round();
    let sw_disposed = (250.0 * factor).round();
    let sw_stored = (100.0 * factor).round();
    insert(
        &mut values,
        "sw_gen",
        number(
            1,
            sw_used - 50.0 * factor.min(1.0) + sw_disposed + sw_stored,
        ),
    );
    insert(&mut values, "sw_used", number(1, sw_used));
    insert(
        &mut values,
        "sw_used_old",
        number(1, 50.0 * factor.min(1.0)),
    );
    insert(&mut values, "sw_disposed", number(1, sw_disposed));
    insert(&mut values, "sw_disposed_old", number(1, 0.0));
    insert(&mut values, "sw_stored", number(1, sw_stored));
    insert(&mut values, "sw_dumped", number(1, 0.0));
    insert(&mut values, "hw_gen", number(3, 10.0 * factor));
    insert(&mut values, "hw_used", number(3, 4.0 * factor));
    insert(&mut values, "hw_disposed", number(3, 5.0 * factor));
    insert(&mut values, "hw_stored", number(3, 3.0 * factor));
    insert(
        &mut values,
        "js_curtailment_days",
        number(0, if random.random_bool(0.2) { 15.0 } else { 0.0 }),
    );

    let rows = ["desulf", "denox", "dust", "dust"]
        .iter()
        .filter(|kind| denox > 0.0 || **kind != "denox")
        .enumerate()
        .map(|(index, kind)| {
            let mut row = ReportValues::new();
            insert(
                &mut row,
                "facility_name",
                IndicatorValue::Text(format!("设施{index}")),
            );
            insert(&mut row, "kind", IndicatorValue::Text(kind.to_string()));
            insert(&mut row, "capacity", number(1, 12.5 * scale));
            insert(&mut row, "hours", number(0, 7000.0));
            row
        })
        .collect();
    let previous = random.random_bool(0.8).then(|| {
        let change: f64 = range_sometimes_wider(random, 0.7, 0.05, 3.0, 1.3);
        values
            .iter()
            .map(|(key, value)| {
                let scaled = match value {
                    IndicatorValue::Number(decimal) => {
                        let places = decimal.scale();
                        number(places, decimal.to_f64().unwrap_or_default() * change)
                    }
                    other => other.clone(),
                };
                (key.clone(), scaled)
            })
            .collect::<ReportValues>()
    });
    let national_class = random.random_bool(0.3);
    let quarters = national_class.then(|| {
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
                .map(|key| {
                    let annual = values
                        .get(key)
                        .and_then(IndicatorValue::as_number)
                        .unwrap_or_default();
                    (
                        key.to_string(),
                        IndicatorValue::Number(annual / Decimal::from(4)),
                    )
                })
                .collect::<ReportValues>()
            })
            .collect()
    });
    ReportFacts {
        values,
        rows,
        previous,
        quarters,
        unit: UnitFacts {
            control_classes: if national_class {
                vec![ControlClass::National]
            } else {
                vec![ControlClass::City]
            },
            key_industry: random.random_bool(0.2),
            industry: "44".to_string(),
        },
    }
}

fn generated_reports(count: usize) -> Vec<ReportFacts> {
    let mut random = StdRng::seed_from_u64(20_261_204);
    (0..count).map(|_| generated_report(&mut random)).collect()
}

// ---------------------------------------------------------------------------
// The same 22 checks hand-written in Rust (f64, like the CEL path).

struct G101Numbers<'a> {
    values: &'a ReportValues,
}

impl G101Numbers<'_> {
    fn get(&self, key: &str) -> f64 {
        match self.values.get(key) {
            Some(IndicatorValue::Number(number)) => number_for_rules(*number),
            _ => 0.0,
        }
    }

    fn text(&self, key: &str) -> &str {
        match self.values.get(key) {
            Some(IndicatorValue::Text(text)) => text,
            _ => "",
        }
    }
}

fn hand_written_failures(report: &ReportFacts) -> Vec<&'static str> {
    let v = G101Numbers {
        values: &report.values,
    };
    let mut failed = Vec::new();
    let mut rule = |id: &'static str, passed: bool| {
        if !passed {
            failed.push(id);
        }
    };
    rule(
        "N001",
        (v.get("water_total") - (v.get("water_fresh") + v.get("water_reused"))).abs() <= 1.0,
    );
    rule(
        "N002",
        (v.get("ww_discharged") - (v.get("ww_direct") + v.get("ww_to_plant"))).abs() <= 1.0,
    );
    rule(
        "N003",
        [
            ("cod_emit", "cod_gen"),
            ("nh3n_emit", "nh3n_gen"),
            ("so2_emit", "so2_gen"),
            ("nox_emit", "nox_gen"),
            ("pm_emit", "pm_gen"),
        ]
        .iter()
        .all(|(emitted, generated)| v.get(emitted) <= v.get(generated)),
    );
    let ww = v.get("ww_discharged");
    rule(
        "N004",
        ww > 0.0
            || [
                "cod_emit",
                "nh3n_emit",
                "tn_emit",
                "tp_emit",
                "oil_emit",
                "hg_emit",
                "cd_emit",
                "cr6_emit",
                "cr_emit",
                "pb_emit",
                "as_emit",
            ]
            .iter()
            .all(|key| v.get(key) == 0.0),
    );
    rule("N005", ww <= 0.0 || v.get("cod_emit") > 0.0);
    let concentration = v.get("cod_emit") * 1e6 / ww;
    rule("N006", ww <= 0.0 || (1.0..=5000.0).contains(&concentration));
    rule(
        "N007",
        v.get("ww_facilities") > 0.0 || (v.get("ww_capacity") == 0.0 && v.get("ww_treated") == 0.0),
    );
    rule("N008", v.get("ww_treated") <= v.get("ww_capacity") * 366.0);
    rule(
        "N009",
        v.get("sw_used_old") <= v.get("sw_used")
            && v.get("sw_disposed_old") <= v.get("sw_disposed"),
    );
    let balance = (v.get("sw_used") - v.get("sw_used_old"))
        + (v.get("sw_disposed") - v.get("sw_disposed_old"))
        + v.get("sw_stored")
        + v.get("sw_dumped");
    rule(
        "N010",
        (v.get("sw_gen") - balance).abs() <= 0.005 * v.get("sw_gen"),
    );
    let previous = report
        .previous
        .as_ref()
        .map(|values| G101Numbers { values });
    if let Some(p) = &previous {
        rule(
            "N011",
            v.get("hw_used") + v.get("hw_disposed") <= v.get("hw_gen") + p.get("hw_stored"),
        );
    }
    let (coal, sulfur, so2_gen) = (v.get("coal_use"), v.get("coal_sulfur"), v.get("so2_gen"));
    let estimate = 1.6 * coal * sulfur / 100.0;
    rule(
        "N012",
        !(coal > 0.0 && sulfur > 0.0) || (so2_gen >= 0.5 * estimate && so2_gen <= 2.0 * estimate),
    );
    rule(
        "N013",
        !((so2_gen - v.get("so2_emit")) > 0.5 * so2_gen && so2_gen > 10.0)
            || v.get("desulf_facilities") > 0.0,
    );
    let nox_gen = v.get("nox_gen");
    rule(
        "N014",
        !((nox_gen - v.get("nox_emit")) > 0.3 * nox_gen && nox_gen > 10.0)
            || v.get("denox_facilities") > 0.0,
    );
    if let Some(p) = &previous {
        rule(
            "N015",
            [
                "cod_emit",
                "nh3n_emit",
                "so2_emit",
                "nox_emit",
                "pm_emit",
                "ww_discharged",
            ]
            .iter()
            .all(|key| p.get(key) <= 0.0 || (v.get(key) / p.get(key) - 1.0).abs() <= 0.5),
        );
        rule(
            "N016",
            p.get("output_value") <= 0.0 || v.get("output_value") <= 3.0 * p.get("output_value"),
        );
    }
    let stopped_figures = [
        "ww_discharged",
        "cod_gen",
        "cod_emit",
        "nh3n_gen",
        "nh3n_emit",
        "tn_emit",
        "tp_emit",
        "oil_emit",
        "phenol_emit",
        "cyanide_emit",
        "hg_emit",
        "cd_emit",
        "cr6_emit",
        "cr_emit",
        "pb_emit",
        "as_emit",
        "gas_volume",
        "so2_gen",
        "so2_emit",
        "nox_gen",
        "nox_emit",
        "pm_gen",
        "pm_emit",
        "voc_emit",
        "sw_gen",
        "hw_gen",
    ];
    rule(
        "N017",
        v.text("production_status") != "stopped"
            || (v.get("production_hours") == 0.0
                && stopped_figures.iter().all(|key| v.get(key) == 0.0)),
    );
    rule(
        "N018",
        v.get("production_hours") <= 8784.0 && v.get("coal_sulfur") <= 10.0,
    );
    let count = |kind: &str| {
        report
            .rows
            .iter()
            .filter(
                |row| matches!(row.get("kind"), Some(IndicatorValue::Text(text)) if text == kind),
            )
            .count() as f64
    };
    rule(
        "N019",
        count("desulf") == v.get("desulf_facilities")
            && count("denox") == v.get("denox_facilities")
            && count("dust") == v.get("dust_facilities"),
    );
    if let Some(quarters) = &report.quarters {
        let national = report
            .unit
            .control_classes
            .contains(&ControlClass::National);
        let sum = |key: &str| {
            quarters
                .iter()
                .map(|values| G101Numbers { values }.get(key))
                .sum::<f64>()
        };
        rule(
            "N020",
            !national
                || ["cod_emit", "nh3n_emit", "so2_emit", "nox_emit"]
                    .iter()
                    .all(|key| (sum(key) - v.get(key)).abs() <= 0.05 * v.get(key)),
        );
    }
    rule(
        "JS-R1",
        v.get("js_curtailment_days") <= 0.0 || v.get("production_hours") < 8784.0,
    );
    rule("SZ-R1", v.get("voc_emit") <= 0.01 * v.get("output_value"));
    failed
}

/// Hand-written checks producing the same findings (messages filled) as `check`.
fn hand_written_check(rule_set: &RuleSet, report: &ReportFacts) -> Vec<Finding> {
    hand_written_failures(report)
        .into_iter()
        .filter_map(|id| {
            rule_set
                .rules()
                .iter()
                .find(|rule| rule.rule().id.as_str() == id)
        })
        .map(|compiled| {
            let rule = compiled.rule();
            Finding {
                rule_id: rule.id.clone(),
                owner: rule.owner,
                severity: rule.severity,
                message_zh: fill_message(&rule.message_zh, report),
                message_en: fill_message(&rule.message_en, report),
                indicators: rule.indicators.clone(),
                outcome: FindingOutcome::Failed,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------

fn main() {
    print_summary();
    divan::main();
}

fn per_report_microseconds(
    reports: &[ReportFacts],
    mut run: impl FnMut(&ReportFacts) -> usize,
) -> (f64, usize) {
    let started = Instant::now();
    let mut findings = 0;
    for report in reports {
        findings += black_box(run(black_box(report)));
    }
    let elapsed = started.elapsed();
    (elapsed.as_secs_f64() * 1e6 / reports.len() as f64, findings)
}

fn print_summary() {
    let started = Instant::now();
    let rule_set = effective_rule_set();
    let compile_ms = started.elapsed().as_secs_f64() * 1e3;
    let reports = generated_reports(N_REPORTS);
    // All three paths must agree on every report, or the comparison means nothing.
    let ids = |findings: Vec<Finding>| -> Vec<String> {
        findings
            .iter()
            .map(|finding| finding.rule_id.to_string())
            .collect()
    };
    let mut disagreements = 0;
    for report in &reports {
        let by_engine = ids(check(&rule_set, report));
        let by_interpreter = ids(check_with_interpreter(&rule_set, report));
        let by_hand = ids(hand_written_check(&rule_set, report));
        if by_engine != by_hand || by_engine != by_interpreter {
            disagreements += 1;
            if disagreements <= 3 {
                eprintln!(
                    "disagreement: engine {by_engine:?} interpreter {by_interpreter:?} hand-written {by_hand:?}"
                );
            }
        }
    }
    let (cel_us, cel_findings) =
        per_report_microseconds(&reports, |report| check(&rule_set, report).len());
    let (interpreter_us, interpreter_findings) = per_report_microseconds(&reports, |report| {
        check_with_interpreter(&rule_set, report).len()
    });
    let (hand_us, hand_findings) = per_report_microseconds(&reports, |report| {
        hand_written_check(&rule_set, report).len()
    });
    let single = &reports[0];
    let (cel_single_us, _) = per_report_microseconds(&vec![single.clone(); 10_000], |report| {
        check(&rule_set, report).len()
    });
    println!(
        "== rules benchmark: {} rules on G101 ==",
        rule_set.rules().len()
    );
    println!("compiling the effective rule set: {compile_ms:.1} ms");
    println!(
        "{N_REPORTS} generated reports: {cel_findings} findings (engine), {interpreter_findings} (cel interpreter only), {hand_findings} (hand-written), {disagreements} reports where they disagree"
    );
    println!(
        "engine (CEL, compiled fast path): {cel_us:8.2} µs per report ({:.2} s for {N_REPORTS})",
        cel_us * N_REPORTS as f64 / 1e6
    );
    println!(
        "cel interpreter only            : {interpreter_us:8.2} µs per report ({:.2} s for {N_REPORTS})",
        interpreter_us * N_REPORTS as f64 / 1e6
    );
    println!(
        "hand-written Rust               : {hand_us:8.2} µs per report ({:.2} s for {N_REPORTS})",
        hand_us * N_REPORTS as f64 / 1e6
    );
    println!(
        "ratio engine / hand-written     : {:8.2}×   (interpreter / hand-written: {:.2}×)",
        cel_us / hand_us,
        interpreter_us / hand_us
    );
    println!("one report, engine              : {cel_single_us:8.2} µs (same report 10,000 times)");
    println!(
        "budget: < 50 µs per report {}, within 3× of hand-written {}",
        verdict(cel_us < 50.0),
        verdict(cel_us / hand_us <= 3.0)
    );
    if std::env::var_os("RULES_BENCH_VARIANTS").is_some() {
        print_expression_variants(&reports[..10_000]);
    }
    if std::env::var_os("RULES_BENCH_PER_RULE").is_some() {
        print_per_rule_costs(&reports[..10_000]);
    }
    println!();
}

/// Each rule alone (scope for its needs + evaluation), to see where time goes.
fn print_per_rule_costs(reports: &[ReportFacts]) {
    let national = NationalStandard::default_standard().expect("national standard");
    let province = Extension::from_toml(PROVINCE_320000).expect("province extension");
    let city = Extension::from_toml(CITY_320500).expect("city extension");
    let effective =
        EffectiveMetadata::compose(&national, Some(&province), Some(&city)).expect("composition");
    let form_code = FormCode::parse("G101").expect("form code");
    let form = effective.form(&form_code).expect("G101");
    let empty = RuleSet::compile(form, []).expect("empty set");
    let (scope_us, _) = per_report_microseconds(reports, |report| check(&empty, report).len());
    println!("scope only (no rules): {scope_us:.2} µs");
    for rule in effective.rules_for_form(&form_code) {
        let alone = RuleSet::compile(form, [rule]).expect("rule compiles");
        let (rule_us, _) = per_report_microseconds(reports, |report| check(&alone, report).len());
        println!("  {:6} {rule_us:8.2} µs", rule.id.as_str());
    }
}

/// Costs of a few ways to write the same check (RULES_BENCH_VARIANTS=1).
fn print_expression_variants(reports: &[ReportFacts]) {
    use zhibao_node::metadata::Origin;
    use zhibao_node::rules::{AuditRule, RuleId, Severity};
    let national = NationalStandard::default_standard().expect("national standard");
    let form = national.release.forms[0].clone();
    let variants = [
        "true",
        "water_total <= water_fresh",
        "water_total - water_fresh <= 1.0",
        "abs(water_total - (water_fresh + water_reused)) <= 1.0",
        "water_total - (water_fresh + water_reused) <= 1.0 && (water_fresh + water_reused) - water_total <= 1.0",
        "prev.cod_emit <= 0.0 || abs(cod_emit / prev.cod_emit - 1.0) <= 0.5",
        "prev.cod_emit <= 0.0 || (cod_emit <= 1.5 * prev.cod_emit && cod_emit >= 0.5 * prev.cod_emit)",
        "[cod_emit, nh3n_emit, tn_emit, tp_emit, oil_emit].all(x, x == 0.0) || true",
        "(cod_emit == 0.0 && nh3n_emit == 0.0 && tn_emit == 0.0 && tp_emit == 0.0 && oil_emit == 0.0) || true",
        "count_rows('desulf') == desulf_facilities",
    ];
    for expression in variants {
        let rule = AuditRule {
            id: RuleId::parse("X001").expect("id"),
            owner: Origin::National,
            form: form.code.clone(),
            severity: Severity::Warning,
            expression: expression.to_string(),
            message_zh: String::new(),
            message_en: String::new(),
            indicators: Vec::new(),
        };
        let alone = RuleSet::compile(&form, [&rule]).expect("variant compiles");
        let (us, _) = per_report_microseconds(reports, |report| check(&alone, report).len());
        println!("  {us:6.2} µs  {expression}");
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "NOT MET" }
}

#[divan::bench]
fn cel_one_report(bencher: divan::Bencher) {
    let rule_set = effective_rule_set();
    let report = generated_reports(1).remove(0);
    bencher.bench_local(|| check(black_box(&rule_set), black_box(&report)));
}

#[divan::bench]
fn interpreter_one_report(bencher: divan::Bencher) {
    let rule_set = effective_rule_set();
    let report = generated_reports(1).remove(0);
    bencher.bench_local(|| check_with_interpreter(black_box(&rule_set), black_box(&report)));
}

#[divan::bench]
fn hand_written_one_report(bencher: divan::Bencher) {
    let rule_set = effective_rule_set();
    let report = generated_reports(1).remove(0);
    bencher.bench_local(|| hand_written_check(black_box(&rule_set), black_box(&report)));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn cel_100_000_reports(bencher: divan::Bencher) {
    let rule_set = effective_rule_set();
    let reports = generated_reports(N_REPORTS);
    bencher.bench_local(|| {
        reports
            .iter()
            .map(|report| check(&rule_set, report).len())
            .sum::<usize>()
    });
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn hand_written_100_000_reports(bencher: divan::Bencher) {
    let rule_set = effective_rule_set();
    let reports = generated_reports(N_REPORTS);
    bencher.bench_local(|| {
        reports
            .iter()
            .map(|report| hand_written_check(&rule_set, report).len())
            .sum::<usize>()
    });
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn compile_effective_rule_set() -> RuleSet {
    effective_rule_set()
}
