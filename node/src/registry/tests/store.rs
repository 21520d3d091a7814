use super::*;
use crate::clock::Timestamp;
use crate::registry::lineage::{LineageError, LineageLink, LinkKind};
use crate::registry::sample::sample_units;
use crate::registry::store::{PutSummary, RegistryStore, RegistryStoreError, UnitFilter};
use crate::store::Store;

fn period(text: &str) -> PeriodId {
    PeriodId::parse(text).unwrap()
}

/// A fresh store in a temporary folder (kept alive by the returned guard).
fn temporary_registry() -> (tempfile::TempDir, Store, RegistryStore) {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    let registry = RegistryStore::open(&store).unwrap();
    (folder, store, registry)
}

fn nanjing_units(count: usize) -> Vec<SurveyUnit> {
    sample_units(division("320100"), count, 7)
}

#[tokio::test]
async fn an_import_is_stored_in_one_transaction_and_counted() {
    let (_folder, store, registry) = temporary_registry();
    let units = nanjing_units(50);
    let summary = registry
        .put_units(
            period("2026"),
            &units,
            "city-admin",
            Timestamp(10),
            "年度名录导入",
        )
        .unwrap();
    assert_eq!(
        summary,
        PutSummary {
            added: 50,
            replaced: 0
        }
    );
    store.commit_durable().await.unwrap();

    let counts = registry.counts(period("2026"), division("320100")).unwrap();
    assert_eq!(counts.total, 50);
    for class in ControlClass::ALL {
        let expected = units
            .iter()
            .filter(|unit| unit.classes.contains(class))
            .count();
        assert_eq!(counts.by_class[&class], expected, "{class:?}");
    }
    assert_eq!(counts.by_status[&StatusKind::Closed], 1);
    assert_eq!(
        counts.by_status[&StatusKind::Suspended],
        units
            .iter()
            .filter(|unit| unit.status.kind() == StatusKind::Suspended)
            .count()
    );
    assert_eq!(
        counts.key_industry,
        units.iter().filter(|unit| unit.key_industry).count()
    );
    // Another city, another period: nothing.
    assert_eq!(
        registry
            .counts(period("2026"), division("320500"))
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        registry
            .counts(period("2025"), division("320100"))
            .unwrap()
            .total,
        0
    );

    let first = &units[0];
    let entry = registry
        .entry(period("2026"), &first.code)
        .unwrap()
        .unwrap();
    assert_eq!(&entry.unit, first);
    assert_eq!(entry.history[0].event, HistoryEvent::Registered);
    assert_eq!(entry.history[0].changed_by, "city-admin");
    let current = registry.current_unit(&first.code).unwrap().unwrap();
    assert_eq!(current.latest_period, period("2026"));
}

/// Lists 2026's Nanjing sample with a filter and checks the count against the units themselves.
fn check_list(registry: &RegistryStore, units: &[SurveyUnit], filter: UnitFilter) {
    let listed = registry.list(period("2026"), Some(&filter)).unwrap();
    let expected = units.iter().filter(|unit| filter.matches(unit)).count();
    assert_eq!(listed.len(), expected, "{filter:?}");
    assert!(
        expected > 0,
        "a filter that matches nothing proves little: {filter:?}"
    );
    assert!(listed.iter().all(|entry| filter.matches(&entry.unit)));
}

#[tokio::test]
async fn listings_filter_by_division_class_status_and_flags() {
    let (_folder, _store, registry) = temporary_registry();
    let units = nanjing_units(60);
    registry
        .put_units(period("2026"), &units, "city-admin", Timestamp(10), "导入")
        .unwrap();
    let within = |code: &str| UnitFilter::within(division(code));
    check_list(&registry, &units, within("320000"));
    check_list(&registry, &units, within("320115"));
    check_list(
        &registry,
        &units,
        UnitFilter {
            class: Some(ControlClass::National),
            ..within("320100")
        },
    );
    check_list(
        &registry,
        &units,
        UnitFilter {
            status: Some(StatusKind::Suspended),
            ..within("320100")
        },
    );
    check_list(
        &registry,
        &units,
        UnitFilter {
            key_industry: Some(true),
            class: Some(ControlClass::City),
            ..within("320100")
        },
    );
    check_list(
        &registry,
        &units,
        UnitFilter {
            industry: Some(IndustryCode::parse("44").unwrap()),
            ..within("320100")
        },
    );
    assert_eq!(registry.list(period("2026"), None).unwrap().len(), 60);
    assert!(
        registry
            .list(period("2026"), Some(&within("320500")))
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_reimport_replaces_attributes_but_keeps_status_and_history() {
    let (_folder, _store, registry) = temporary_registry();
    let units = nanjing_units(5);
    registry
        .put_units(period("2026"), &units, "city-admin", Timestamp(10), "导入")
        .unwrap();
    let code = units[0].code.clone();
    registry
        .apply_change(
            period("2026"),
            &code,
            ChangeRequest {
                change: UnitChange::Suspend {
                    reason: SuspensionReason::SeasonalStop,
                },
                changed_by: "county-320102".into(),
                at: Timestamp(20),
                why: "冬季停产，现场核实".into(),
            },
        )
        .unwrap();
    let mut renamed = units.clone();
    renamed[0].name = "南京新名称化工有限公司".into();
    let summary = registry
        .put_units(
            period("2026"),
            &renamed,
            "city-admin",
            Timestamp(30),
            "更正",
        )
        .unwrap();
    assert_eq!(
        summary,
        PutSummary {
            added: 0,
            replaced: 5
        }
    );
    let entry = registry.entry(period("2026"), &code).unwrap().unwrap();
    assert_eq!(entry.unit.name, "南京新名称化工有限公司");
    assert_eq!(entry.unit.status.kind(), StatusKind::Suspended);
    let events: Vec<&HistoryEvent> = entry.history.iter().map(|record| &record.event).collect();
    assert!(matches!(
        events.as_slice(),
        [
            HistoryEvent::Registered,
            HistoryEvent::Changed { .. },
            HistoryEvent::Reimported
        ]
    ));
    assert_eq!(entry.history[1].changed_by, "county-320102");
    // unit_by_code follows the change too.
    assert_eq!(
        registry.current_unit(&code).unwrap().unwrap().unit.name,
        "南京新名称化工有限公司"
    );
}

#[tokio::test]
async fn refused_changes_and_duplicates_write_nothing() {
    let (_folder, _store, registry) = temporary_registry();
    let units = nanjing_units(3);
    let entry = registry
        .register_unit(
            period("2026"),
            units[0].clone(),
            "city-admin",
            Timestamp(1),
            "新增",
        )
        .unwrap();
    let again = registry.register_unit(
        period("2026"),
        units[0].clone(),
        "city-admin",
        Timestamp(2),
        "新增",
    );
    assert!(matches!(
        again,
        Err(RegistryStoreError::AlreadyRegistered { .. })
    ));
    let resume = registry.apply_change(
        period("2026"),
        &units[0].code,
        ChangeRequest {
            change: UnitChange::Resume,
            changed_by: "city-admin".into(),
            at: Timestamp(3),
            why: "误操作".into(),
        },
    );
    assert!(matches!(
        resume,
        Err(RegistryStoreError::Change(ChangeError::NotSuspended))
    ));
    assert_eq!(
        registry
            .entry(period("2026"), &units[0].code)
            .unwrap()
            .unwrap(),
        entry
    );
    let missing = registry.apply_change(
        period("2026"),
        &units[1].code,
        ChangeRequest {
            change: UnitChange::Close,
            changed_by: "city-admin".into(),
            at: Timestamp(3),
            why: "注销".into(),
        },
    );
    assert!(matches!(
        missing,
        Err(RegistryStoreError::NoSuchEntry { .. })
    ));
    assert!(
        missing
            .unwrap_err()
            .to_string()
            .contains("2026 年度名录中没有单位")
    );
}

#[tokio::test]
async fn a_new_year_starts_from_the_last_without_closed_units_and_suspensions() {
    let (folder, store, registry) = temporary_registry();
    let units = nanjing_units(30);
    registry
        .put_units(
            period("2025"),
            &units,
            "city-admin",
            Timestamp(1),
            "2025 名录",
        )
        .unwrap();
    let carried = registry
        .carry_over(period("2025"), period("2026"), "city-admin", Timestamp(2))
        .unwrap();
    assert_eq!(carried, 29, "the closed unit stays behind");
    let counts = registry.counts(period("2026"), division("320100")).unwrap();
    assert_eq!(counts.by_status.get(&StatusKind::Active), Some(&29));
    assert_eq!(counts.by_status.get(&StatusKind::Suspended), None);
    // The old year is untouched, and a second carry-over adds nothing.
    assert_eq!(
        registry
            .counts(period("2025"), division("320100"))
            .unwrap()
            .total,
        30
    );
    assert_eq!(
        registry
            .carry_over(period("2025"), period("2026"), "city-admin", Timestamp(3))
            .unwrap(),
        0
    );
    // A change to the old year does not move a unit's current registration back.
    let code = &units[0].code;
    registry
        .apply_change(
            period("2025"),
            code,
            ChangeRequest {
                change: UnitChange::SetLiaison {
                    liaison: "补录联络员".into(),
                },
                changed_by: "city-admin".into(),
                at: Timestamp(4),
                why: "补录".into(),
            },
        )
        .unwrap();
    let current = registry.current_unit(code).unwrap().unwrap();
    assert_eq!(current.latest_period, period("2026"));
    store.commit_durable().await.unwrap();
    drop(registry);
    drop(store);
    // Everything is still there after reopening.
    let reopened = Store::open(folder.path()).unwrap();
    let registry = RegistryStore::open(&reopened).unwrap();
    assert_eq!(
        registry
            .counts(period("2026"), division("320100"))
            .unwrap()
            .total,
        29
    );
}

#[tokio::test]
async fn lineage_links_are_stored_and_followed() {
    let (_folder, _store, registry) = temporary_registry();
    let oldest = UnitCode::parse("D2143569X").unwrap();
    let middle = UnitCode::parse(&credit_code_for("320102", "D2143569X")).unwrap();
    let other = UnitCode::parse("600037341").unwrap();
    let link = |previous: &UnitCode, current: &UnitCode, kind| LineageLink {
        previous: previous.clone(),
        current: current.clone(),
        kind,
        confirmed_by: "city-admin".into(),
        at: Timestamp(1),
    };
    registry
        .put_link(link(&oldest, &middle, LinkKind::Recoded))
        .unwrap();
    registry
        .put_link(link(&other, &middle, LinkKind::Merged))
        .unwrap();
    assert_eq!(registry.links_to(&middle).unwrap().len(), 2);
    assert!(registry.links_to(&oldest).unwrap().is_empty());
    assert_eq!(
        registry.history_chain(&middle).unwrap(),
        [middle.clone(), other.clone(), oldest.clone()]
    );
    let cycle = registry.put_link(link(&middle, &oldest, LinkKind::Renamed));
    assert!(matches!(
        cycle,
        Err(RegistryStoreError::Lineage(LineageError::Cycle { .. }))
    ));
    assert_eq!(registry.links().unwrap().len(), 2);
}
