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
