use super::*;
use crate::metadata::period::{PeriodCalendar, Window, beijing_time};

fn calendar_of_a_year() -> PeriodCalendar {
    let mut calendar = PeriodCalendar::new();
    let form = FormCode::parse("G101").unwrap_or_else(|error| panic!("{error}"));
    let quarterly = FormCode::parse("G101Q").unwrap_or_else(|error| panic!("{error}"));
    calendar.set_window(
        PeriodId::annual(2025),
        &form,
        Window {
            stage: Stage::UnitEntry,
            opens_at: beijing_time(2026, 1, 1, 0, 0),
            closes_at: beijing_time(2026, 3, 1, 0, 0),
        },
    );
    calendar.set_window(
        PeriodId::annual(2025),
        &form,
        Window {
            stage: Stage::CityReview,
            opens_at: beijing_time(2026, 1, 1, 0, 0),
            closes_at: beijing_time(2026, 3, 20, 0, 0),
        },
    );
    for quarter in 1..=4u8 {
        let Some(period) = PeriodId::quarterly(2026, quarter) else {
            panic!("quarter {quarter}");
        };
        let month = u32::from(quarter) * 3 + 1;
        let (year, month) = if month > 12 { (2027, 1) } else { (2026, month) };
        calendar.set_window(
            period,
            &quarterly,
            Window {
                stage: Stage::UnitEntry,
                opens_at: beijing_time(year, month, 1, 0, 0),
                // A short window: the 7-day reminder would fall before it opens.
                closes_at: beijing_time(year, month, 5, 0, 0),
            },
        );
    }
    calendar
}

#[test]
fn each_window_gives_reminders_before_it_closes_and_an_event_when_it_closes() {
    let calendar = calendar_of_a_year();
    let events = deadline_events(
        &calendar,
        beijing_time(2025, 12, 1, 0, 0),
        beijing_time(2027, 2, 1, 0, 0),
    );
    let ids: Vec<String> = events.iter().map(DeadlineEvent::id).collect();
    assert!(
        ids.contains(&"2025/G101/unit_entry/7d".to_string()),
        "{ids:?}"
    );
    assert!(ids.contains(&"2025/G101/unit_entry/1d".to_string()));
    assert!(ids.contains(&"2025/G101/unit_entry/closed".to_string()));
    assert!(ids.contains(&"2025/G101/city_review/closed".to_string()));
    // Quarterly windows of four days: a 1-day reminder and the close, no 7-day one.
    assert!(ids.contains(&"2026Q2/G101Q/unit_entry/1d".to_string()));
    assert!(!ids.contains(&"2026Q2/G101Q/unit_entry/7d".to_string()));
    // 3 + 3 (annual entry and city review) + 4 × 2 (quarters).
    assert_eq!(events.len(), 14, "{ids:?}");
    assert!(
        events
            .windows(2)
            .all(|pair| pair[0].moment <= pair[1].moment)
    );
}

#[test]
fn a_year_of_ticks_handles_every_event_once_even_with_downtime() {
    let calendar = calendar_of_a_year();
    let start = beijing_time(2025, 12, 1, 0, 0);
    let end = beijing_time(2027, 2, 1, 0, 0);
    let all = deadline_events(&calendar, start, end);
    // Ticks every ten minutes, except a node down for ten days over the annual deadline
    // and for a day over a quarterly one: the next tick catches up.
    let downtimes = [
        (
            beijing_time(2026, 2, 25, 0, 0),
            beijing_time(2026, 3, 7, 0, 0),
        ),
        (
            beijing_time(2026, 7, 4, 12, 0),
            beijing_time(2026, 7, 5, 12, 0),
        ),
    ];
    let mut handled = Vec::new();
    let mut last = start;
    let mut now = start;
    while now < end {
        now = Timestamp(now.0 + 10 * 60 * 1000);
        if downtimes.iter().any(|(from, to)| *from <= now && now < *to) {
            continue;
        }
        handled.extend(deadline_events(&calendar, last, now));
        last = now;
    }
    handled.extend(deadline_events(&calendar, last, end));
    assert_eq!(handled, all, "every event exactly once, in order");
}

#[test]
fn only_units_that_still_owe_the_report_are_reminded() {
    assert!(still_owes_submission(None));
    assert!(still_owes_submission(Some(ReportState::Draft)));
    assert!(still_owes_submission(Some(ReportState::Returned)));
    assert!(!still_owes_submission(Some(ReportState::Submitted)));
    assert!(!still_owes_submission(Some(ReportState::Approved)));
    assert!(!still_owes_submission(Some(ReportState::FeedbackReceived)));
}

#[test]
fn the_same_event_makes_the_same_notice() {
    let calendar = calendar_of_a_year();
    let events = deadline_events(
        &calendar,
        beijing_time(2026, 2, 1, 0, 0),
        beijing_time(2026, 2, 28, 0, 0),
    );
    let first = unit_deadline_notice(&events[0], "91320102000000001X");
    let again = unit_deadline_notice(&events[0], "91320102000000001X");
    assert_eq!(first, again);
    assert_eq!(
        super::store::notice_key(&first),
        super::store::notice_key(&again)
    );
    assert!(first.text_zh.contains("还有 7 天"), "{}", first.text_zh);
    assert!(first.text_en.contains("in 7 day(s)"), "{}", first.text_en);
    let bureau = bureau_deadline_notice(&events[0], 12);
    assert!(
        bureau.text_zh.contains("12 家单位尚未提交"),
        "{}",
        bureau.text_zh
    );
    assert_ne!(
        super::store::notice_key(&first),
        super::store::notice_key(&bureau),
        "the unit's and the bureau's notices are apart"
    );
}

fn reminder_from_the_nation(text: Option<&str>) -> Reminder {
    reminder_for(
        zhibao_federation_protocol::NodeLevel::National,
        DivisionCode::nation(),
        DivisionCode::parse("320000").unwrap_or_else(|error| panic!("{error}")),
        "G101",
        "2025",
        text,
        "reviewer",
        Timestamp(1_000),
    )
}

#[test]
fn a_reminder_from_above_becomes_one_bureau_notice_in_both_languages() {
    let reminder = reminder_from_the_nation(None);
    assert_eq!(reminder.to_divisions, vec!["320000"]);
    assert_eq!(reminder.text, None);
    let notice = reminder_notice(&reminder).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(notice.audience, Audience::Bureau);
    assert_eq!(notice.kind, NoticeKind::ReminderFromAbove);
    assert_eq!(notice.at_ms, 1_000);
    assert!(
        notice.text_zh.starts_with("生态环境部催报"),
        "{}",
        notice.text_zh
    );
    assert!(notice.text_zh.contains("江苏省"), "{}", notice.text_zh);
    assert!(notice.text_en.contains("320000"), "{}", notice.text_en);
    // The same reminder (a redelivery) is the same notice.
    assert_eq!(
        reminder_notice(&reminder).unwrap_or_else(|error| panic!("{error}")),
        notice
    );
    let worded = reminder_from_the_nation(Some("  请本周内完成  "));
    assert_eq!(worded.text.as_deref(), Some("请本周内完成"));
    let notice = reminder_notice(&worded).unwrap_or_else(|error| panic!("{error}"));
    assert!(
        notice.text_zh.ends_with("：请本周内完成"),
        "{}",
        notice.text_zh
    );
    assert_eq!(reminder_from_the_nation(Some("  ")).text, None);
}

#[test]
fn a_reminder_that_cannot_be_read_is_refused_with_the_field() {
    let check = |change: fn(&mut Reminder), field: &str| {
        let mut reminder = reminder_from_the_nation(None);
        change(&mut reminder);
        let error = reminder_notice(&reminder).err().unwrap_or_default();
        assert!(error.contains(field), "{field}: {error}");
    };
    check(|r| r.to_divisions.clear(), "to_divisions");
    check(
        |r| r.to_divisions = vec!["999999".to_string()],
        "to_divisions[]",
    );
    check(|r| r.from_division = "12".to_string(), "from_division");
    check(|r| r.form = "g 1".to_string(), "form");
    check(|r| r.period = "2025Q9".to_string(), "period");
    check(|r| r.from_level = "city".to_string(), "from_level");
    check(|r| r.text = Some("催".repeat(501)), "text");
}
