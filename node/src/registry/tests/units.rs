use super::*;
use crate::clock::Timestamp;

/// Varies the good input and checks the outcome: `Ok(())` or the expected
/// (field, part of the Chinese message) of every error.
fn check(
    node: &str,
    vary: impl FnOnce(&mut UnitInput),
    expected: Result<(), &[(UnitField, &str)]>,
) {
    let mut input = good_input();
    vary(&mut input);
    let outcome = validate_new_unit(&input, division(node));
    match (outcome, expected) {
        (Ok(_), Ok(())) => {}
        (Err(errors), Err(expected_errors)) => {
            assert_eq!(errors.len(), expected_errors.len(), "{errors:#?}");
            for ((field, part), error) in expected_errors.iter().zip(&errors) {
                assert_eq!(error.field, *field, "{error:?}");
                assert!(error.message_zh.contains(part), "{error:?} lacks {part:?}");
                assert!(!error.message_en.is_empty());
            }
        }
        (outcome, expected) => panic!("got {outcome:?}, expected {expected:?}"),
    }
}

#[test]
fn new_units_are_checked_field_by_field() {
    use UnitField::*;
    check("320100", |_| {}, Ok(()));
    check("320000", |_| {}, Ok(()));
    check("000000", |_| {}, Ok(()));
    check("320102", |_| {}, Ok(()));
    check("320100", |unit| unit.code = "D2143569-X".into(), Ok(()));
    check(
        "320100",
        |unit| unit.code = "91320102MA1MXXXX93".into(),
        Err(&[(Code, "校验位错误，应为 2")]),
    );
    check(
        "320100",
        |unit| unit.county = "320582".into(),
        Err(&[(
            County,
            "320582（张家港市）不在本节点辖区 320100（南京市）内",
        )]),
    );
    check(
        "320100",
        |unit| unit.county = "320100".into(),
        Err(&[(County, "不是县级行政区划")]),
    );
    check(
        "320100",
        |unit| unit.county = "32010".into(),
        Err(&[(County, "格式错误")]),
    );
    check(
        "320100",
        |unit| unit.county = "329999".into(),
        Err(&[(County, "不存在")]),
    );
    // A city without counties is its own county-level division.
    check("441900", |unit| unit.county = "441900".into(), Ok(()));
    check(
        "320100",
        |unit| unit.industry = "05".into(),
        Err(&[(Industry, "不属于")]),
    );
    check(
        "320100",
        |unit| unit.classes = vec!["国控".into(), "市控".into(), "national".into()],
        Ok(()),
    );
    check(
        "320100",
        |unit| unit.classes = vec![],
        Err(&[(Classes, "至少需要一个控制类别")]),
    );
    check(
        "320100",
        |unit| unit.classes = vec!["省级".into()],
        Err(&[(Classes, "控制类别“省级”无效")]),
    );
    check(
        "320100",
        |unit| unit.name = "  ".into(),
        Err(&[(Name, "单位名称不能为空")]),
    );
    check(
        "320100",
        |unit| unit.name = "化".repeat(101),
        Err(&[(Name, "过长：101 个字，最多 100 个")]),
    );
    check(
        "320100",
        |unit| unit.address = String::new(),
        Err(&[(Address, "不能为空")]),
    );
    check(
        "320100",
        |unit| unit.contact_phone = "025-84681234".into(),
        Ok(()),
    );
    check(
        "320100",
        |unit| unit.contact_phone = "电话打不通".into(),
        Err(&[(ContactPhone, "格式错误")]),
    );
    check(
        "320100",
        |unit| unit.contact_phone = "12345".into(),
        Err(&[(ContactPhone, "格式错误")]),
    );
    check(
        "320100",
        |unit| unit.contact_email = "wang@".into(),
        Err(&[(ContactEmail, "格式错误")]),
    );
    check("320100", |unit| unit.contact_email = String::new(), Ok(()));
    check("320100", |unit| unit.liaison = String::new(), Ok(()));
    check(
        "320100",
        |unit| {
            unit.code = "91320102MA1MXXXX93".into();
            unit.contact_person = String::new();
            unit.contact_phone = "x".into();
        },
        Err(&[
            (Code, "校验位错误"),
            (ContactPerson, "联系人不能为空"),
            (ContactPhone, "格式错误"),
        ]),
    );
}

#[test]
fn a_valid_unit_keeps_what_was_typed_cleaned_up() {
    let mut input = good_input();
    input.name = "  南京玄武恒盛化工\u{3000}有限公司 ".into();
    input.classes = vec!["市控".into(), "国控".into()];
    let unit = validate_new_unit(&input, division("320100")).unwrap();
    assert_eq!(unit.name, "南京玄武恒盛化工 有限公司");
    assert_eq!(unit.classes.labels_zh(), "国控、市控");
    assert_eq!(unit.status, UnitStatus::Active);
    assert_eq!(unit.contact.email.as_deref(), Some("wangwei@example.cn"));
    assert_eq!(unit.liaison.as_deref(), Some("李娟"));
    assert_eq!(unit.group_company, None);
    // And the unit turns back into the same input.
    assert_eq!(
        validate_new_unit(&UnitInput::from(&unit), division("320100")).unwrap(),
        unit
    );
}

#[test]
fn control_classes_are_a_non_empty_set_on_the_wire() {
    let classes: ControlClasses = serde_json::from_str(r#"["city","national","city"]"#).unwrap();
    assert_eq!(
        serde_json::to_string(&classes).unwrap(),
        r#"["national","city"]"#
    );
    assert!(serde_json::from_str::<ControlClasses>("[]").is_err());
    assert!(ControlClasses::new([]).is_none());
}

fn entry_with_status(status: UnitStatus) -> RegistryEntry {
    let mut unit = validate_new_unit(&good_input(), division("320100")).unwrap();
    unit.status = status;
    register_entry(
        PeriodId::parse("2026").unwrap(),
        unit,
        HistoryEvent::Registered,
        "city-admin",
        Timestamp(1),
        "首次登记",
    )
}

fn request(change: UnitChange) -> ChangeRequest {
    ChangeRequest {
        change,
        changed_by: "city-reviewer-1".into(),
        at: Timestamp(1_790_000_000_000),
        why: "县局季度核实".into(),
    }
}

fn suspended(reason: SuspensionReason) -> UnitStatus {
    UnitStatus::Suspended { reason }
}

/// Applies `change` to an entry in `start` and checks the new status or the error.
fn check_change(start: UnitStatus, change: UnitChange, expected: Result<UnitStatus, ChangeError>) {
    let entry = entry_with_status(start.clone());
    let outcome = apply_change(&entry, request(change.clone()));
    match (outcome, expected) {
        (Ok(changed), Ok(status)) => {
            assert_eq!(changed.unit.status, status, "{change:?}");
            let record = changed.history.last().unwrap();
            assert_eq!(record.status_before, start);
            assert_eq!(record.changed_by, "city-reviewer-1");
            assert_eq!(record.why, "县局季度核实");
            assert_eq!(record.event, HistoryEvent::Changed { change });
            assert_eq!(changed.history.len(), 2);
        }
        (Err(error), Err(expected_error)) => assert_eq!(error, expected_error, "{change:?}"),
        (outcome, expected) => panic!("{change:?}: got {outcome:?}, expected {expected:?}"),
    }
}

#[test]
fn statuses_move_only_by_named_changes() {
    use SuspensionReason::*;
    use UnitStatus::*;
    let suspend = |reason| UnitChange::Suspend { reason };
    check_change(Active, suspend(SeasonalStop), Ok(suspended(SeasonalStop)));
    check_change(
        suspended(SeasonalStop),
        suspend(StoppedAllYear),
        Ok(suspended(StoppedAllYear)),
    );
    check_change(
        suspended(SeasonalStop),
        suspend(SeasonalStop),
        Err(ChangeError::NothingToChange(
            "already suspended for this reason",
        )),
    );
    check_change(
        Active,
        suspend(Other(" ".into())),
        Err(ChangeError::EmptyValue("停报原因 / suspension reason")),
    );
    check_change(suspended(StoppedAllYear), UnitChange::Resume, Ok(Active));
    check_change(Active, UnitChange::Resume, Err(ChangeError::NotSuspended));
    check_change(Active, UnitChange::Close, Ok(Closed));
    check_change(suspended(SeasonalStop), UnitChange::Close, Ok(Closed));
    check_change(Closed, UnitChange::Resume, Err(ChangeError::UnitClosed));
    check_change(Closed, suspend(SeasonalStop), Err(ChangeError::UnitClosed));
}

#[test]
fn reclassifying_keeps_the_old_classes_in_the_history() {
    let entry = entry_with_status(UnitStatus::Active);
    let both = ControlClasses::new([ControlClass::National, ControlClass::Provincial]).unwrap();
    let changed = apply_change(
        &entry,
        request(UnitChange::Reclassify {
            classes: both.clone(),
        }),
    )
    .unwrap();
    assert_eq!(changed.unit.classes, both);
    assert_eq!(
        changed.history.last().unwrap().classes_before,
        ControlClasses::single(ControlClass::National)
    );
    let again = apply_change(&changed, request(UnitChange::Reclassify { classes: both }));
    assert_eq!(
        again,
        Err(ChangeError::NothingToChange("same control classes"))
    );
}

#[test]
fn a_change_needs_a_reason_and_a_user() {
    let entry = entry_with_status(UnitStatus::Active);
    let mut without_reason = request(UnitChange::Close);
    without_reason.why = "  ".into();
    assert_eq!(
        apply_change(&entry, without_reason),
        Err(ChangeError::MissingReason)
    );
    let mut without_user = request(UnitChange::Close);
    without_user.changed_by = String::new();
    assert_eq!(
        apply_change(&entry, without_user),
        Err(ChangeError::MissingChangedBy)
    );
    let liaison = apply_change(
        &entry,
        request(UnitChange::SetLiaison {
            liaison: " 赵  敏 ".into(),
        }),
    )
    .unwrap();
    assert_eq!(liaison.unit.liaison.as_deref(), Some("赵 敏"));
    let key_industry = apply_change(
        &entry,
        request(UnitChange::SetKeyIndustry {
            key_industry: false,
        }),
    )
    .unwrap();
    assert!(!key_industry.unit.key_industry);
    let bad_contact = apply_change(
        &entry,
        request(UnitChange::UpdateContact {
            contact: Contact {
                person: "赵敏".into(),
                phone: "打不通".into(),
                email: None,
            },
        }),
    );
    assert!(
        matches!(&bad_contact, Err(ChangeError::InvalidContact(text)) if text.contains("联系电话格式错误")),
        "{bad_contact:?}"
    );
    let new_contact = apply_change(
        &entry,
        request(UnitChange::UpdateContact {
            contact: Contact {
                person: " 赵敏 ".into(),
                phone: "025-84681234".into(),
                email: Some(String::new()),
            },
        }),
    )
    .unwrap();
    assert_eq!(new_contact.unit.contact.person, "赵敏");
    assert_eq!(new_contact.unit.contact.email, None);
}

#[test]
fn entries_travel_through_json_unchanged() {
    let entry = entry_with_status(suspended(SuspensionReason::Other("环保限产".into())));
    let text = serde_json::to_string(&entry).unwrap();
    assert!(text.contains("\"status\":\"suspended\""), "{text}");
    let back: RegistryEntry = serde_json::from_str(&text).unwrap();
    assert_eq!(back, entry);
}
