use super::store::ReportTrees;
use super::*;

fn key() -> ReportKey {
    ReportKey {
        unit: "91320102MA1XXXXXX1".into(),
        form: "G101".into(),
        period: "2025".into(),
    }
}

fn content(cod: &str) -> ReportContent {
    let mut content = ReportContent::default();
    content.values.insert("cod_emit".into(), cod.into());
    content
}

#[test]
fn the_content_hash_depends_on_content_only() {
    assert_eq!(content("1.5").content_hash(), content("1.5").content_hash());
    assert_ne!(
        content("1.5").content_hash(),
        content("1.50").content_hash()
    );
    assert_eq!(content("1").content_hash().len(), 64);
}

#[test]
fn a_decision_needs_a_rule_run_on_the_latest_version() {
    let now = Timestamp(1_000);
    let (draft, status) = save_draft(None, None, content("1"), None, "unit", now).unwrap();
    let (_, submitted) = submit(&status, &draft, None, "unit", now).unwrap();
    assert_eq!(
        approve(&submitted, None, "reviewer", now),
        Err(ReportError::RulesNotRun { version: 1 })
    );
    let checked = record_rule_run(&submitted, 1, 0, "reviewer", now).unwrap();
    assert_eq!(
        approve(&checked, None, "reviewer", now),
        Err(ReportError::HasErrors {
            version: 1,
            errors: 1
        })
    );
    let clean = record_rule_run(&submitted, 0, 2, "reviewer", now).unwrap();
    let approved = approve(&clean, Some("好".into()), "reviewer", now).unwrap();
    assert_eq!(approved.state, ReportState::Approved);
    assert_eq!(approved.history.len(), 3);
}

#[test]
fn a_return_needs_comments_and_a_future_deadline_and_reopens_the_report() {
    let now = Timestamp(1_000);
    let (draft, status) = save_draft(None, None, content("1"), None, "unit", now).unwrap();
    let (_, submitted) = submit(&status, &draft, None, "unit", now).unwrap();
    let checked = record_rule_run(&submitted, 0, 0, "reviewer", now).unwrap();
    let comment = || {
        vec![Comment {
            indicator: Some("cod_emit".into()),
            text: "请核实".into(),
        }]
    };
    assert_eq!(
        return_to_unit(&checked, comment(), now, "reviewer", now),
        Err(ReportError::BadReturn)
    );
    assert_eq!(
        return_to_unit(&checked, vec![], now.plus_seconds(86_400), "reviewer", now),
        Err(ReportError::BadReturn)
    );
    let returned = return_to_unit(
        &checked,
        comment(),
        now.plus_seconds(86_400),
        "reviewer",
        now,
    )
    .unwrap();
    assert_eq!(returned.state, ReportState::Returned);
    assert!(!is_overdue(&returned, now));
    assert!(is_overdue(&returned, now.plus_seconds(86_401)));
    // The unit edits and submits version 2.
    let (draft2, edited) = save_draft(
        Some(&returned),
        Some(&draft),
        content("2"),
        Some(1),
        "unit",
        now,
    )
    .unwrap();
    let (version2, resubmitted) = submit(&edited, &draft2, None, "unit", now).unwrap();
    assert_eq!(version2.number, 2);
    assert_eq!(resubmitted.state, ReportState::Submitted);
    assert!(
        resubmitted.rule_run.is_none(),
        "a new version needs a new rule run"
    );
}

#[test]
fn concurrent_draft_edits_are_detected() {
    let now = Timestamp(1_000);
    let (first, status) = save_draft(None, None, content("1"), Some(0), "tab-a", now).unwrap();
    assert_eq!(first.revision, 1);
    let conflict = save_draft(
        Some(&status),
        Some(&first),
        content("3"),
        Some(0),
        "tab-b",
        now,
    );
    assert_eq!(
        conflict,
        Err(ReportError::DraftConflict {
            current: 1,
            based_on: 0
        })
    );
}

#[test]
fn a_submitted_report_cannot_be_edited_until_returned() {
    let now = Timestamp(1_000);
    let (draft, status) = save_draft(None, None, content("1"), None, "unit", now).unwrap();
    let (_, submitted) = submit(&status, &draft, None, "unit", now).unwrap();
    assert!(matches!(
        save_draft(
            Some(&submitted),
            Some(&draft),
            content("2"),
            None,
            "unit",
            now
        ),
        Err(ReportError::WrongState { .. })
    ));
    assert!(matches!(
        submit(&submitted, &draft, None, "unit", now),
        Err(ReportError::WrongState { .. })
    ));
}

#[tokio::test]
async fn a_retried_submission_returns_the_same_version() {
    let folder = tempfile::tempdir().unwrap();
    let store = crate::store::Store::open(folder.path()).unwrap();
    let trees = ReportTrees::open(&store).unwrap();
    let audit = crate::audit::AuditLog::open(&store).unwrap();
    let now = Timestamp(5_000);
    trees
        .save_draft(&store, &key(), content("7.25"), None, "unit", now)
        .unwrap();
    let (first, _) = trees
        .submit(
            &store,
            &audit,
            &key(),
            Some("client-retry-1".into()),
            "unit",
            now,
        )
        .unwrap();
    let (again, status) = trees
        .submit(
            &store,
            &audit,
            &key(),
            Some("client-retry-1".into()),
            "unit",
            now,
        )
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(status.latest_version, Some(1));
    assert_eq!(trees.versions_of(&key()).unwrap().len(), 1);
    // Without the id, a second submit of a submitted report is refused (not duplicated).
    assert!(
        trees
            .submit(&store, &audit, &key(), None, "unit", now)
            .is_err()
    );
}
