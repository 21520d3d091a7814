use std::collections::BTreeMap;

use super::*;
use crate::aggregate::progress::{Counts, LateUnit, ProgressReport, Standing};

fn code(text: &str) -> DivisionCode {
    DivisionCode::parse(text).unwrap()
}

fn counts(expected: usize, not_started: usize, draft: usize, approved: usize) -> Counts {
    Counts {
        expected,
        not_started,
        draft,
        submitted: expected - not_started - draft - approved,
        approved,
        ..Counts::default()
    }
}

/// A city's report: Xuanwu (320102) 4 units, Qinhuai (320104) 2.
fn nanjing() -> ProgressReport {
    ProgressReport {
        rows: vec![
            (code("320102"), counts(4, 1, 1, 1)),
            (code("320104"), counts(2, 0, 0, 2)),
        ],
        late: vec![LateUnit {
            unit: "91320102000000001X".to_string(),
            name: "某企业".to_string(),
            county: code("320102"),
            standing: Standing::NotStarted,
            due_ms: Some(100),
            overdue: true,
            held_here: false,
        }],
        late_total: 2,
        by_city: BTreeMap::new(),
    }
}

#[test]
fn a_summary_survives_the_wire_and_its_hash_ignores_the_time() {
    let summary = summarize(code("320100"), "G101", "2025", &nanjing(), Timestamp(7));
    assert_eq!(summary.total(), {
        let mut total = counts(4, 1, 1, 1);
        total.add(&counts(2, 0, 0, 2));
        total
    });
    assert_eq!(from_wire(&to_wire(&summary)).unwrap(), summary);
    let later = summarize(code("320100"), "G101", "2025", &nanjing(), Timestamp(8));
    assert_eq!(later.content_hash(), summary.content_hash());
    let mut changed = nanjing();
    changed.rows[0].1 = counts(4, 0, 2, 1);
    let changed = summarize(code("320100"), "G101", "2025", &changed, Timestamp(8));
    assert_ne!(changed.content_hash(), summary.content_hash());
}

#[test]
fn a_summary_from_the_wire_names_what_is_wrong() {
    let summary = summarize(code("320100"), "G101", "2025", &nanjing(), Timestamp(7));
    let check = |edit: fn(&mut ProgressSummary), expected: &str| {
        let mut wire = to_wire(&summary);
        edit(&mut wire);
        let reason = from_wire(&wire).unwrap_err();
        assert!(reason.contains(expected), "{reason} lacks {expected}");
    };
    check(|wire| wire.city = "329999".to_string(), "city");
    check(
        |wire| wire.counties[0].county = "12".to_string(),
        "counties[].county",
    );
    check(
        |wire| wire.late_units[0].state = "lost".to_string(),
        "late_units[].state",
    );
    check(|wire| wire.period = "2025Q9".to_string(), "period");
}

#[test]
fn only_a_strictly_newer_summary_replaces_the_one_held() {
    let held = summarize(code("320100"), "G101", "2025", &nanjing(), Timestamp(10));
    let older = summarize(code("320100"), "G101", "2025", &nanjing(), Timestamp(9));
    let newer = summarize(code("320100"), "G101", "2025", &nanjing(), Timestamp(11));
    assert!(is_newer(None, &older));
    assert!(!is_newer(Some(&held), &older));
    assert!(!is_newer(Some(&held), &held));
    assert!(is_newer(Some(&held), &newer));
}

/// A province's live report: Nanjing and Suzhou, each with what the province
/// can count itself (units not received count as not started).
fn jiangsu_live() -> ProgressReport {
    let nanjing_live = counts(6, 3, 0, 3);
    let suzhou_live = counts(5, 5, 0, 0);
    ProgressReport {
        rows: vec![
            (code("320100"), nanjing_live.clone()),
            (code("320500"), suzhou_live.clone()),
        ],
        late: Vec::new(),
        late_total: 0,
        by_city: [
            (code("320100"), nanjing_live),
            (code("320500"), suzhou_live),
        ]
        .into_iter()
        .collect(),
    }
}

#[test]
fn a_citys_summary_replaces_its_live_counts_and_other_rows_stay_live() {
    let summary = summarize(code("320100"), "G101", "2025", &nanjing(), Timestamp(5));
    let rows = rows_with_summaries(
        &jiangsu_live(),
        std::slice::from_ref(&summary),
        Timestamp(99),
    );
    assert_eq!(rows[0].counts, summary.total());
    assert_eq!(
        (rows[0].as_of_ms, rows[0].source),
        (5, RowSource::Summaries)
    );
    assert_eq!(rows[1].counts, counts(5, 5, 0, 0));
    assert_eq!((rows[1].as_of_ms, rows[1].source), (99, RowSource::Live));
}

#[test]
fn at_the_nation_a_province_sums_its_cities_and_counts_the_rest_live() {
    let live = ProgressReport {
        rows: vec![(code("320000"), {
            let mut both = counts(6, 3, 0, 3);
            both.add(&counts(5, 5, 0, 0));
            both
        })],
        ..jiangsu_live()
    };
    let nanjing_summary = summarize(code("320100"), "G101", "2025", &nanjing(), Timestamp(5));
    let rows = rows_with_summaries(&live, std::slice::from_ref(&nanjing_summary), Timestamp(99));
    let mut expected = nanjing_summary.total();
    expected.add(&counts(5, 5, 0, 0));
    assert_eq!(rows[0].counts, expected);
    assert_eq!((rows[0].as_of_ms, rows[0].source), (5, RowSource::Partial));
    let mut suzhou = nanjing();
    suzhou.rows = vec![(code("320505"), counts(5, 0, 1, 4))];
    let suzhou_summary = summarize(code("320500"), "G101", "2025", &suzhou, Timestamp(3));
    let rows = rows_with_summaries(&live, &[nanjing_summary, suzhou_summary], Timestamp(99));
    assert_eq!(rows[0].counts.draft, 2);
    assert_eq!(rows[0].counts.expected, 11);
    assert_eq!(
        (rows[0].as_of_ms, rows[0].source),
        (3, RowSource::Summaries)
    );
}

fn row(division: &str, counts: Counts) -> ProgressRow {
    ProgressRow {
        division: code(division),
        counts,
        as_of_ms: 0,
        source: RowSource::Live,
    }
}

#[test]
fn a_bureau_is_late_when_behind_the_rest_or_owing_after_the_close() {
    let rows = [
        row("320100", counts(10, 0, 0, 10)),
        row("320200", counts(10, 0, 1, 9)),
        row("320500", counts(10, 5, 0, 2)),
        row("320600", Counts::default()),
    ];
    let open = late_bureaus(&rows, false);
    assert_eq!(
        open.iter()
            .map(|bureau| bureau.division.to_string())
            .collect::<Vec<_>>(),
        vec!["320500"]
    );
    assert_eq!(
        (
            open[0].completion_percent,
            open[0].rest_percent,
            open[0].owing
        ),
        (20, 95, 5)
    );
    let closed = late_bureaus(&rows, true);
    assert_eq!(
        closed
            .iter()
            .map(|bureau| (
                bureau.division.to_string(),
                bureau.below_the_rest,
                bureau.owing_after_close
            ))
            .collect::<Vec<_>>(),
        vec![
            ("320500".to_string(), true, true),
            ("320200".to_string(), false, true)
        ]
    );
}

#[test]
fn the_bureaus_urged_by_default_are_the_child_nodes_whose_units_still_owe() {
    let rows = vec![
        row("320100", counts(4, 1, 1, 1)),
        row("320200", counts(3, 3, 0, 0)),
        row("320500", counts(2, 0, 0, 2)),
        row("320600", counts(5, 0, 0, 0)),
    ];
    let children = [code("320100"), code("320500"), code("320600")];
    // 320200 owes but is no child node; 320500 is complete; 320600 waits for review only.
    assert_eq!(bureaus_owing(&rows, &children), vec![code("320100")]);
    let with_320200 = [code("320100"), code("320200")];
    assert_eq!(
        bureaus_owing(&rows, &with_320200),
        vec![code("320200"), code("320100")],
        "the least complete first"
    );
    assert!(bureaus_owing(&rows, &[]).is_empty());
}
