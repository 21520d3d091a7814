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
        .transaction(&[&trees.totals, &trees.contributions], |tx| {
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
    let mut incremental = BTreeMap::new();
    for entry in trees.totals.scan_prefix(&[]) {
        let (total_key, total) = entry.unwrap();
        let value = Decimal::from_str(&total.sum).unwrap();
        if !value.is_zero() || rebuilt.contains_key(&total_key) {
            incremental.insert(total_key, value);
        }
    }
    let rebuilt: BTreeMap<_, _> = rebuilt
        .into_iter()
        .map(|(key, value)| (key, value.normalize()))
        .collect();
    let incremental: BTreeMap<_, _> = incremental
        .into_iter()
        .map(|(key, value)| (key, value.normalize()))
        .filter(|(key, value)| !value.is_zero() || rebuilt.contains_key(key))
        .collect();
    assert_eq!(incremental, rebuilt);
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
