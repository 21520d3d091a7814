use rand::Rng;

use super::*;
use crate::store::TxError;

fn key(unit: &str) -> ReportKey {
    ReportKey {
        unit: unit.into(),
        form: "G101".into(),
        period: "2025".into(),
    }
}

fn contribution(version: u32, county: &str, cod: &str) -> Contribution {
    Contribution {
        version,
        dimensions: dimensions(county, "26", &["national".to_string()]),
        values: BTreeMap::from([
            ("cod_emit".to_string(), cod.to_string()),
            ("remarks".to_string(), "文本".to_string()),
        ]),
    }
}

fn count(store: &Store, trees: &AggregateTrees, unit: &str, contribution: Contribution) {
    store
        .transaction(&trees.handles(), |tx| {
            count_accepted(tx, trees, &key(unit), contribution.clone())?;
            Ok::<(), TxError<StoreError>>(())
        })
        .unwrap();
}

fn nation_total(trees: &AggregateTrees) -> String {
    totals_of(trees, "G101", "2025", "division:000000").unwrap()["cod_emit"]
        .sum
        .clone()
}

#[tokio::test]
async fn totals_are_exact_and_corrections_swap_contributions() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    let trees = AggregateTrees::open(&store).unwrap();
    count(&store, &trees, "a", contribution(1, "320102", "0.1"));
    count(&store, &trees, "b", contribution(1, "320505", "0.2"));
    assert_eq!(
        nation_total(&trees),
        "0.3",
        "exact: not 0.30000000000000004"
    );
    count(&store, &trees, "a", contribution(2, "320102", "1.125"));
    assert_eq!(nation_total(&trees), "1.325");
    assert_eq!(
        totals_of(&trees, "G101", "2025", "division:320100").unwrap()["cod_emit"].sum,
        "1.125"
    );
    assert_eq!(
        totals_of(&trees, "G101", "2025", "division:320500").unwrap()["cod_emit"].sum,
        "0.2"
    );
    assert_eq!(
        totals_of(&trees, "G101", "2025", "class:national").unwrap()["cod_emit"].reports,
        2
    );
    assert!(
        !totals_of(&trees, "G101", "2025", "division:000000")
            .unwrap()
            .contains_key("remarks")
    );
}

#[tokio::test]
async fn rebuild_equals_incremental_after_a_long_random_history() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    let trees = AggregateTrees::open(&store).unwrap();
    let counties = ["320102", "320104", "320505", "320506", "110101"];
    let mut random = rand::rng();
    for step in 0..600u32 {
        let unit = format!("unit-{}", random.random_range(0..60));
        let county = counties[random.random_range(0..counties.len())];
        let cod = format!(
            "{}.{:03}",
            random.random_range(0..500),
            random.random_range(0..1000)
        );
        count(&store, &trees, &unit, contribution(step, county, &cod));
    }
    let rebuilt = rebuild_from_contributions(&trees).unwrap();
    assert!(!rebuilt.totals.is_empty() && !rebuilt.cross.is_empty());
    assert_eq!(stored_totals(&trees).unwrap(), rebuilt);
}

#[tokio::test]
async fn publishing_twice_keeps_both_versions_and_nothing_accepted_is_refused() {
    use crate::aggregate::publication::{self, PublicationError, PublicationTrees};
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    let trees = AggregateTrees::open(&store).unwrap();
    let publications = PublicationTrees::open(&store).unwrap();
    let audit = crate::audit::AuditLog::open(&store).unwrap();
    let standard = crate::metadata::NationalStandard::default_standard().unwrap();
    let form = standard
        .release
        .forms
        .iter()
        .find(|form| form.code.as_str() == "G101")
        .unwrap()
        .clone();
    let city = DivisionCode::parse("320100").unwrap();
    let now = crate::clock::Timestamp(1_000);

    let empty = publication::snapshot(&trees, &form, "2025", city, "admin", now).unwrap();
    let refused = publication::publish(&store, &publications, &audit, empty, now);
    assert!(matches!(
        refused,
        Err(PublicationError::NothingAccepted { .. })
    ));

    count(&store, &trees, "a", contribution(1, "320102", "0.1"));
    let first = publication::snapshot(&trees, &form, "2025", city, "admin", now).unwrap();
    let first = publication::publish(&store, &publications, &audit, first, now).unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.total["cod_emit"].sum, "0.1");
    assert_eq!(first.indicators[0].key, "cod_emit");
    let xuanwu = first
        .by_division
        .iter()
        .find(|row| row.key == "320102")
        .unwrap();
    assert_eq!(xuanwu.totals["cod_emit"].sum, "0.1");

    count(&store, &trees, "b", contribution(1, "320104", "0.25"));
    let second = publication::snapshot(&trees, &form, "2025", city, "admin", now).unwrap();
    let second = publication::publish(&store, &publications, &audit, second, now).unwrap();
    assert_eq!(second.version, 2);
    let latest = publication::latest(&publications, "G101", "2025")
        .unwrap()
        .unwrap();
    assert_eq!(latest.total["cod_emit"].sum, "0.35");
    let all = publication::all(&publications).unwrap();
    assert_eq!(
        all.iter().map(|p| p.version).collect::<Vec<_>>(),
        vec![1, 2],
        "the first version is kept"
    );
    assert_eq!(all[0].total["cod_emit"].sum, "0.1");
    let (entries, problems) = crate::audit::verify_chain(&audit).unwrap();
    assert_eq!(
        (entries, problems),
        (2, vec![]),
        "one audit entry per publication"
    );
}

fn report_of(unit: &str, form: &str, period: &str) -> ReportKey {
    ReportKey {
        unit: unit.into(),
        form: form.into(),
        period: period.into(),
    }
}

fn count_report(
    store: &Store,
    trees: &AggregateTrees,
    key: &ReportKey,
    contribution: Contribution,
) {
    store
        .transaction(&trees.handles(), |tx| {
            count_accepted(tx, trees, key, contribution.clone())?;
            Ok::<(), TxError<StoreError>>(())
        })
        .unwrap();
}

/// A random history of accepts and corrections over two forms, units that
/// move between provinces and industries on correction, indicators that
/// appear late and values that vanish; every cross cell must equal the sum of
/// the counted versions' values computed here independently, to the last digit.
#[tokio::test]
async fn cross_totals_are_exact_after_random_accepts_and_corrections() {
    use rand::SeedableRng;
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    let trees = AggregateTrees::open(&store).unwrap();
    let counties = ["320102", "320104", "320505", "110101", "429004", "440303"];
    let industries = ["26", "44", "13"];
    let indicators = ["cod_emit", "so2_emit", "nox_emit", "late_added"];
    let mut random = rand::rngs::StdRng::seed_from_u64(7);
    // (unit, form) → what was counted last
    let mut counted: BTreeMap<(String, &str), Counted> = BTreeMap::new();
    for step in 0..800u32 {
        let form = if random.random_bool(0.8) {
            "G101"
        } else {
            "G101Q"
        };
        let unit = format!("unit-{}", random.random_range(0..50));
        let county = counties[random.random_range(0..counties.len())].to_string();
        let industry = industries[random.random_range(0..industries.len())].to_string();
        let mut values = BTreeMap::new();
        let n_indicators = if step < 400 { 3 } else { 4 };
        for indicator in &indicators[..n_indicators] {
            if random.random_bool(0.9) {
                let value = format!(
                    "{}{}.{:03}",
                    if random.random_bool(0.05) { "-" } else { "" },
                    random.random_range(0..100_000),
                    random.random_range(0..1000)
                );
                values.insert(indicator.to_string(), value);
            }
        }
        values.insert("remarks".to_string(), "文本".to_string());
        let contribution = Contribution {
            version: step,
            dimensions: dimensions(&county, &industry, &["national".to_string()]),
            values: values.clone(),
        };
        count_report(
            &store,
            &trees,
            &report_of(&unit, form, "2025"),
            contribution,
        );
        counted.insert((unit, form), (county, industry, values));
    }

    for form in ["G101", "G101Q"] {
        let mut expected: BTreeMap<(String, String, String), (Decimal, u32)> = BTreeMap::new();
        for ((_, counted_form), (county, industry, values)) in &counted {
            if *counted_form != form {
                continue;
            }
            let province = DivisionCode::parse(county).unwrap().path_from_nation()[1];
            for (indicator, text) in values {
                let Ok(value) = Decimal::from_str(text) else {
                    continue;
                };
                let entry = expected
                    .entry((province.to_string(), industry.clone(), indicator.clone()))
                    .or_default();
                entry.0 += value;
                entry.1 += 1;
            }
        }
        let table = cross::province_industry_table(&trees, form, "2025").unwrap();
        let mut read = BTreeMap::new();
        for row in &table.rows {
            for (slot, total) in row.totals.iter().enumerate() {
                if total.reports > 0 {
                    read.insert(
                        (
                            row.division.to_string(),
                            row.industry.clone(),
                            table.indicators[slot].clone(),
                        ),
                        (total.sum, total.reports),
                    );
                }
            }
        }
        let normalise = |map: BTreeMap<_, (Decimal, u32)>| -> BTreeMap<_, (String, u32)> {
            map.into_iter()
                .map(|(key, (sum, n))| (key, (sum.normalize().to_string(), n)))
                .collect()
        };
        assert_eq!(normalise(read), normalise(expected), "form {form}");
        assert!(!table.indicators.contains(&"remarks".to_string()));
    }

    // The drill-down of Jiangsu adds up, city by city, to Jiangsu's row.
    let jiangsu = DivisionCode::parse("320000").unwrap();
    let national = cross::province_industry_table(&trees, "G101", "2025").unwrap();
    let drill = cross::city_industry_table(&trees, "G101", "2025", jiangsu).unwrap();
    assert!(drill.rows.iter().all(|row| jiangsu.contains(row.division)));
    assert_eq!(drill.indicators, national.indicators);
    for industry in industries {
        let province_row = national
            .rows
            .iter()
            .find(|row| row.division == jiangsu && row.industry == industry);
        let summed: Vec<SlotTotalSum> = drill
            .rows
            .iter()
            .filter(|row| row.industry == industry)
            .fold(
                vec![(Decimal::ZERO, 0); drill.indicators.len()],
                |mut acc, row| {
                    for (into, total) in acc.iter_mut().zip(&row.totals) {
                        into.0 += total.sum;
                        into.1 += total.reports;
                    }
                    acc
                },
            );
        let from_province: Vec<SlotTotalSum> = province_row
            .map(|row| row.totals.iter().map(|t| (t.sum, t.reports)).collect())
            .unwrap_or_else(|| vec![(Decimal::ZERO, 0); drill.indicators.len()]);
        assert_eq!(summed, from_province, "industry {industry}");
    }
    // The cities' totals equal the single-dimension city totals.
    for (city, _, totals) in drill.by_division() {
        let single = totals_of(&trees, "G101", "2025", &format!("division:{city}")).unwrap();
        for (slot, indicator) in drill.indicators.iter().enumerate() {
            let expected = single
                .get(indicator)
                .map(|total| Decimal::from_str(&total.sum).unwrap())
                .unwrap_or_default();
            assert_eq!(
                totals[slot].sum.normalize(),
                expected.normalize(),
                "{city} {indicator}"
            );
        }
    }

    let rebuilt = rebuild_from_contributions(&trees).unwrap();
    assert_eq!(stored_totals(&trees).unwrap(), rebuilt);
}

type SlotTotalSum = (Decimal, u32);

/// A unit's county, industry and values as last counted.
type Counted = (String, String, BTreeMap<String, String>);

#[test]
fn a_cross_cell_round_trips_through_its_binary_layout() {
    use crate::store::Record;
    let cell = cross::TotalsCell {
        reports: 3,
        slots: vec![
            cross::SlotTotal {
                sum: Decimal::from_str("-12345678901234567890.123").unwrap(),
                reports: 2,
            },
            cross::SlotTotal::default(),
        ],
    };
    let body = cell.encode_body().unwrap();
    assert_eq!(body.len(), 8 + 2 * 20);
    assert_eq!(cross::TotalsCell::decode_body(&body).unwrap(), cell);
    assert!(cross::TotalsCell::decode_body(&body[..body.len() - 1]).is_err());
}

#[tokio::test]
async fn a_store_with_contributions_but_no_cells_is_recounted_at_open() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    let trees = AggregateTrees::open(&store).unwrap();
    count(&store, &trees, "a", contribution(1, "320102", "0.1"));
    count(&store, &trees, "b", contribution(1, "320505", "0.25"));
    let before = stored_totals(&trees).unwrap();
    // As a store written before the cells existed: contributions only, no marker.
    let marker: crate::store::Tree<super::RecountMarker> =
        store.tree("aggregate_recount_marker").unwrap();
    marker.remove(b"cells").unwrap();
    for tree in [&trees.totals, &trees.cross_cells] {
        tree.clear().unwrap();
    }
    assert_eq!(stored_totals(&trees).unwrap().totals.len(), 0);
    let reopened = AggregateTrees::open(&store).unwrap();
    assert_eq!(stored_totals(&reopened).unwrap(), before);
    assert_eq!(nation_total(&reopened), "0.35");
}

#[tokio::test]
async fn a_recount_interrupted_halfway_is_done_again_from_empty_cells() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    let trees = AggregateTrees::open(&store).unwrap();
    count(&store, &trees, "a", contribution(1, "320102", "0.1"));
    count(&store, &trees, "b", contribution(1, "320505", "0.25"));
    let before = stored_totals(&trees).unwrap();
    // Killed during the recount: some cells written, the marker not yet.
    let marker: crate::store::Tree<super::RecountMarker> =
        store.tree("aggregate_recount_marker").unwrap();
    marker.remove(b"cells").unwrap();
    let reopened = AggregateTrees::open(&store).unwrap();
    assert_eq!(
        stored_totals(&reopened).unwrap(),
        before,
        "counted once, not on top of the half-done cells"
    );
    assert_eq!(nation_total(&reopened), "0.35");
    assert!(marker.get(b"cells").unwrap().is_some());
}

mod data_report_tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::aggregate::data_report::{Figure, data_report, highlights};

    fn figure(current: Option<&str>, previous: Option<&str>) -> Figure {
        let parse = |text: &str| Decimal::from_str(text).unwrap();
        Figure {
            current: current.map(parse),
            previous: previous.map(parse),
        }
    }

    #[test]
    fn changes_are_exact_and_percentages_need_a_nonzero_previous_figure() {
        let check = |current, previous, change: Option<&str>, percent: Option<&str>| {
            let figure = figure(current, previous);
            assert_eq!(
                figure.change().map(|change| change.to_string()).as_deref(),
                change,
                "{current:?} on {previous:?}"
            );
            assert_eq!(
                figure
                    .percent()
                    .map(|percent| percent.to_string())
                    .as_deref(),
                percent,
                "{current:?} on {previous:?}"
            );
        };
        check(Some("1.5"), Some("1.2"), Some("0.3"), Some("25.0"));
        check(Some("0.9"), Some("1.2"), Some("-0.3"), Some("-25.0"));
        check(Some("1"), Some("3"), Some("-2"), Some("-66.7"));
        check(Some("0.1"), Some("0.3"), Some("-0.2"), Some("-66.7"));
        check(Some("2"), Some("2"), Some("0"), Some("0"));
        check(Some("1"), Some("0"), Some("1"), None);
        check(Some("0"), Some("0.000"), Some("0.000"), None);
        check(Some("1"), None, None, None);
        check(None, Some("1"), None, None);
        check(
            Some("12345678901234567.891"),
            Some("12345678901234567.890"),
            Some("0.001"),
            Some("0.0"),
        );
    }

    fn counted(
        store: &Store,
        trees: &AggregateTrees,
        unit: &str,
        period: &str,
        county: &str,
        industry: &str,
        cod: &str,
    ) {
        let key = report_of(unit, "G101", period);
        let contribution = Contribution {
            version: 1,
            dimensions: dimensions(county, industry, &["national".to_string()]),
            values: BTreeMap::from([
                ("cod_emit".to_string(), cod.to_string()),
                ("nh3n_emit".to_string(), "0.5".to_string()),
            ]),
        };
        count_report(store, trees, &key, contribution);
    }

    fn g101() -> crate::metadata::Form {
        crate::metadata::NationalStandard::default_standard()
            .unwrap()
            .release
            .forms
            .iter()
            .find(|form| form.code.as_str() == "G101")
            .unwrap()
            .clone()
    }

    #[tokio::test]
    async fn the_report_compares_each_division_and_industry_with_the_previous_period() {
        let folder = tempfile::tempdir().unwrap();
        let store = Store::open(folder.path()).unwrap();
        let trees = AggregateTrees::open(&store).unwrap();
        let city = DivisionCode::parse("320100").unwrap();
        let now = crate::clock::Timestamp(1_000);
        // 2024: 玄武 2.0 (industry 26), 秦淮 1.0 (industry 44).
        counted(&store, &trees, "a", "2024", "320102", "26", "2.0");
        counted(&store, &trees, "b", "2024", "320104", "44", "1.0");
        let first = data_report(&trees, &g101(), "2024", city, city, now).unwrap();
        assert_eq!(first.previous_period, None, "nothing accepted in 2023");
        assert_eq!(first.by_division.total.figures[0].change(), None);
        let empty = data_report(&trees, &g101(), "2025", city, city, now).unwrap();
        assert_eq!(empty.by_division.total.figures[0].current, None);
        assert!(highlights(&empty).is_empty(), "nothing to say yet");
        // 2025: 玄武 1.5 (−25%), 秦淮 1.25 (+25%), 建邺 0.125 (new); industry 44 gone, 17 new.
        counted(&store, &trees, "a", "2025", "320102", "26", "1.5");
        counted(&store, &trees, "b", "2025", "320104", "17", "1.25");
        counted(&store, &trees, "c", "2025", "320105", "26", "0.125");
        let report = data_report(&trees, &g101(), "2025", city, city, now).unwrap();
        assert_eq!(report.previous_period.as_deref(), Some("2024"));
        assert_eq!(report.pollutants[0].key, "cod_emit");
        let total = report.by_division.total.figures[0];
        assert_eq!(total.current.unwrap().to_string(), "2.875");
        assert_eq!(total.previous.unwrap().to_string(), "3");
        assert_eq!(total.change().unwrap().to_string(), "-0.125");
        assert_eq!(total.percent().unwrap().to_string(), "-4.2");
        assert_eq!(report.by_division.total.reports, 3);
        let row = |key: &str| {
            report
                .by_division
                .rows
                .iter()
                .find(|row| row.key == key)
                .unwrap()
                .figures[0]
        };
        assert_eq!(row("320102").percent().unwrap().to_string(), "-25.0");
        assert_eq!(row("320104").percent().unwrap().to_string(), "25.0");
        assert_eq!(row("320105").previous, None, "new this year");
        assert_eq!(
            report.by_division.rows.len(),
            city.children().len(),
            "every district, in the division table's order"
        );
        let industries = report.by_industry.as_ref().unwrap();
        let keys: Vec<&str> = industries.rows.iter().map(|row| row.key.as_str()).collect();
        assert_eq!(keys, ["26", "17", "44"], "largest COD first; gone last");
        assert_eq!(
            industries.rows[0].figures[0].previous.unwrap().to_string(),
            "2"
        );
        assert_eq!(industries.rows[2].figures[0].current, None);
        // The sentences: COD fell; the largest fall was 玄武区.
        let found = highlights(&report);
        let cod = found
            .iter()
            .find(|highlight| highlight.pollutant == 0)
            .unwrap();
        let (name, figure) = cod.largest.clone().unwrap();
        assert_eq!(name, DivisionCode::parse("320102").unwrap().name_zh());
        assert_eq!(figure.percent().unwrap().to_string(), "-25.0");
        let nh3n = found
            .iter()
            .find(|highlight| highlight.pollutant == 1)
            .unwrap();
        assert_eq!(nh3n.total.percent().unwrap().to_string(), "50.0");
        assert_eq!(
            found[0].pollutant, 1,
            "the largest change (+50% ammonia) comes first"
        );
        // A county has no children and no industry totals of its own.
        let county = DivisionCode::parse("320102").unwrap();
        let below = data_report(&trees, &g101(), "2025", county, city, now).unwrap();
        assert!(below.by_division.rows.is_empty());
        assert!(below.by_industry.is_none());
        assert_eq!(
            below.by_division.total.figures[0]
                .current
                .unwrap()
                .to_string(),
            "1.5"
        );
        // The nation reads a city's industries from the cross totals.
        let nation = DivisionCode::nation();
        let seen_above = data_report(&trees, &g101(), "2025", city, nation, now).unwrap();
        let industries = seen_above.by_industry.unwrap();
        assert_eq!(industries.rows[0].key, "26");
        assert_eq!(
            industries.rows[0].figures[0].current.unwrap().to_string(),
            "1.625"
        );
        assert_eq!(
            industries.rows[0].figures[0].previous.unwrap().to_string(),
            "2.0"
        );
    }

    #[test]
    fn a_total_that_did_not_move_names_no_division() {
        let report = crate::aggregate::data_report::DataReport {
            form: "G101".into(),
            period: "2025".into(),
            previous_period: Some("2024".into()),
            within: DivisionCode::parse("320100").unwrap(),
            pollutants: vec![crate::aggregate::data_report::Pollutant {
                key: "cod_emit".into(),
                name_zh: "化学需氧量排放量".into(),
                name_en: "COD emitted".into(),
                unit: "吨".into(),
            }],
            by_division: crate::aggregate::data_report::ComparisonTable {
                rows: vec![crate::aggregate::data_report::ReportRow {
                    key: "320102".into(),
                    name_zh: "玄武区".into(),
                    name_en: "玄武区".into(),
                    reports: 1,
                    figures: vec![figure(Some("1"), Some("2"))],
                }],
                total: crate::aggregate::data_report::ReportRow {
                    key: "320100".into(),
                    name_zh: "南京市".into(),
                    name_en: "南京市".into(),
                    reports: 2,
                    figures: vec![figure(Some("3"), Some("3"))],
                },
            },
            by_industry: None,
            made_at: crate::clock::Timestamp(0),
        };
        let found = highlights(&report);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].largest, None);
    }
}
