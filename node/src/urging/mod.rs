//! Reminders and urging (催报, R11, R20, R31, R35): what is due when, and who
//! is told. Pure: the calendar, the units' report states and the clock come
//! in as parameters; `store.rs` keeps the notices, `flow.rs` runs the ticks
//! and the "urge" action.
//!
//! A deadline event is a moment of the calendar: seven days and one day
//! before a window closes, and the moment it closes. A tick handles every
//! event in `(last tick, now]`, so a node that was down over a deadline does
//! the deadline's work when it starts, and running a tick twice changes
//! nothing: each notice has an id made from its event, and the same id is the
//! same stored notice.
//!
//! Urging goes down one level at a time: a city bureau urges its units
//! (a notice each), a province its cities and the nation its provinces (a
//! `Reminder` message each, kept by the receiving node as a notice for its
//! bureau users, [`reminder_notice`]). A reminder is not passed further
//! down: the bureau urged decides whom to urge in turn.

pub mod flow;
pub mod store;
pub mod webhook;

use zhibao_federation_protocol::messages::Reminder;

use crate::clock::Timestamp;
use crate::division::DivisionCode;
use crate::metadata::FormCode;
use crate::metadata::period::{PeriodCalendar, PeriodId, Stage, beijing_time_text};
use crate::report::ReportState;

/// Days before a window closes when reminders go out.
pub const REMINDER_DAYS_BEFORE_CLOSE: [i64; 2] = [7, 1];

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Who a notice is for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "unit")]
pub enum Audience {
    /// The enterprise users of one unit.
    Unit(String),
    /// The bureau users (admins, reviewers) of this node.
    Bureau,
}

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A window closes soon.
    DeadlineAhead,
    /// A window has closed with work still outstanding.
    WindowClosed,
    /// A returned report is past its correction deadline.
    ReturnOverdue,
    /// A bureau urged (催报).
    Urged,
    /// The bureau above sent a reminder.
    ReminderFromAbove,
}

/// One message in a user's notice area.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    /// Made from the event, so the same event is the same notice.
    pub id: String,
    /// Who it is for.
    pub audience: Audience,
    /// What it is about.
    pub kind: NoticeKind,
    /// The form concerned.
    pub form: String,
    /// The period concerned.
    pub period: String,
    /// The text in Chinese.
    pub text_zh: String,
    /// The text in English.
    pub text_en: String,
    /// The moment of the event (ms).
    pub at_ms: i64,
    /// The account that urged, for urging.
    pub by: Option<String>,
}

/// A step before or at the close of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineStep {
    /// `n` days before the window closes.
    DaysBefore(i64),
    /// The window has just closed.
    Closed,
}

/// A moment of the calendar that calls for reminders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineEvent {
    /// The period.
    pub period: PeriodId,
    /// The form.
    pub form: FormCode,
    /// The stage whose window it is.
    pub stage: Stage,
    /// When the window closes.
    pub closes_at: Timestamp,
    /// When the event happens.
    pub moment: Timestamp,
    /// Before or at the close.
    pub step: DeadlineStep,
}

impl DeadlineEvent {
    /// A stable name: `2025/G101/unit_entry/7d` or `…/closed`.
    pub fn id(&self) -> String {
        let step = match self.step {
            DeadlineStep::DaysBefore(days) => format!("{days}d"),
            DeadlineStep::Closed => "closed".to_string(),
        };
        let stage = match self.stage {
            Stage::UnitEntry => "unit_entry",
            Stage::CityReview => "city_review",
            Stage::ProvinceReview => "province_review",
            Stage::NationalReview => "national_review",
        };
        format!("{}/{}/{stage}/{step}", self.period, self.form)
    }
}

/// Every deadline event of the calendar in `(after, until]`, oldest first.
pub fn deadline_events(
    calendar: &PeriodCalendar,
    after: Timestamp,
    until: Timestamp,
) -> Vec<DeadlineEvent> {
    let mut events = Vec::new();
    for schedule in &calendar.schedules {
        for window in &schedule.windows {
            let mut steps: Vec<(Timestamp, DeadlineStep)> = REMINDER_DAYS_BEFORE_CLOSE
                .iter()
                .map(|days| {
                    (
                        Timestamp(window.closes_at.0 - days * DAY_MS),
                        DeadlineStep::DaysBefore(*days),
                    )
                })
                // A reminder before the window even opened would confuse.
                .filter(|(moment, _)| *moment > window.opens_at)
                .collect();
            steps.push((window.closes_at, DeadlineStep::Closed));
            for (moment, step) in steps {
                if after < moment && moment <= until {
                    events.push(DeadlineEvent {
                        period: schedule.period,
                        form: schedule.form.clone(),
                        stage: window.stage,
                        closes_at: window.closes_at,
                        moment,
                        step,
                    });
                }
            }
        }
    }
    events.sort_by_key(|event| event.moment);
    events
}

/// Whether a unit with a report in this state still owes its submission.
pub fn still_owes_submission(state: Option<ReportState>) -> bool {
    match state {
        None | Some(ReportState::Draft) | Some(ReportState::Returned) => true,
        Some(ReportState::Submitted)
        | Some(ReportState::Approved)
        | Some(ReportState::FeedbackReceived) => false,
    }
}

/// The notices of a unit-entry deadline event for one unit that still owes its report.
pub fn unit_deadline_notice(event: &DeadlineEvent, unit: &str) -> Notice {
    let closes = beijing_time_text(event.closes_at);
    let (kind, text_zh, text_en) = match event.step {
        DeadlineStep::DaysBefore(days) => (
            NoticeKind::DeadlineAhead,
            format!(
                "{} {} 将于 {closes}（北京时间）截止填报，还有 {days} 天，请尽快填写并提交。",
                event.period.name_zh(),
                event.form
            ),
            format!(
                "{} {} closes for entry on {closes} (Beijing time), in {days} day(s): please fill it in and submit.",
                event.form, event.period
            ),
        ),
        DeadlineStep::Closed => (
            NoticeKind::WindowClosed,
            format!(
                "{} {} 已于 {closes}（北京时间）截止填报，贵单位尚未提交：请尽快联系所在市生态环境局。",
                event.period.name_zh(),
                event.form
            ),
            format!(
                "{} {} closed for entry on {closes} (Beijing time) and your unit has not submitted: contact your city bureau.",
                event.form, event.period
            ),
        ),
    };
    Notice {
        id: event.id(),
        audience: Audience::Unit(unit.to_string()),
        kind,
        form: event.form.to_string(),
        period: event.period.to_string(),
        text_zh,
        text_en,
        at_ms: event.moment.0,
        by: None,
    }
}

/// The bureau's notice of a deadline event: how much is outstanding.
pub fn bureau_deadline_notice(event: &DeadlineEvent, outstanding: usize) -> Notice {
    let closes = beijing_time_text(event.closes_at);
    let what_zh = if event.stage == Stage::UnitEntry {
        format!("{outstanding} 家单位尚未提交")
    } else {
        format!("{outstanding} 份报表尚待本级审核")
    };
    let what_en = if event.stage == Stage::UnitEntry {
        format!("{outstanding} unit(s) have not submitted")
    } else {
        format!("{outstanding} report(s) await this level's review")
    };
    let (kind, text_zh, text_en) = match event.step {
        DeadlineStep::DaysBefore(days) => (
            NoticeKind::DeadlineAhead,
            format!(
                "{} {} 的{}将于 {closes}（北京时间）截止，还有 {days} 天；{what_zh}。",
                event.period.name_zh(),
                event.form,
                event.stage.name_zh()
            ),
            format!(
                "The {} window of {} {} closes on {closes} (Beijing time), in {days} day(s); {what_en}.",
                event.stage.name_en(),
                event.form,
                event.period
            ),
        ),
        DeadlineStep::Closed => (
            NoticeKind::WindowClosed,
            format!(
                "{} {} 的{}已于 {closes}（北京时间）截止；{what_zh}。",
                event.period.name_zh(),
                event.form,
                event.stage.name_zh()
            ),
            format!(
                "The {} window of {} {} closed on {closes} (Beijing time); {what_en}.",
                event.stage.name_en(),
                event.form,
                event.period
            ),
        ),
    };
    Notice {
        id: event.id(),
        audience: Audience::Bureau,
        kind,
        form: event.form.to_string(),
        period: event.period.to_string(),
        text_zh,
        text_en,
        at_ms: event.moment.0,
        by: None,
    }
}

/// A returned report past its correction deadline: one notice for the unit,
/// one for the bureau, both named after the return's deadline.
pub fn overdue_return_notices(unit: &str, form: &str, period: &str, due: Timestamp) -> [Notice; 2] {
    let due_text = beijing_time_text(due);
    let id = format!("{period}/{form}/overdue/{unit}/{}", due.0);
    [
        Notice {
            id: id.clone(),
            audience: Audience::Unit(unit.to_string()),
            kind: NoticeKind::ReturnOverdue,
            form: form.to_string(),
            period: period.to_string(),
            text_zh: format!(
                "退回的 {form} {period} 报表整改期限（{due_text}，北京时间）已过，请立即修改并重新提交。"
            ),
            text_en: format!(
                "The correction deadline of the returned {form} {period} report ({due_text}, Beijing time) has passed: correct and resubmit it now."
            ),
            at_ms: due.0,
            by: None,
        },
        Notice {
            id,
            audience: Audience::Bureau,
            kind: NoticeKind::ReturnOverdue,
            form: form.to_string(),
            period: period.to_string(),
            text_zh: format!(
                "单位 {unit} 的 {form} {period} 报表逾期未整改（期限 {due_text}，北京时间）。"
            ),
            text_en: format!(
                "Unit {unit} has not corrected its returned {form} {period} report by {due_text} (Beijing time)."
            ),
            at_ms: due.0,
            by: None,
        },
    ]
}

/// A bureau urges a unit (催报): the bureau's own words, or the standard text.
pub fn urge_notice(
    unit: &str,
    form: &str,
    period: &str,
    message: Option<&str>,
    by: &str,
    now: Timestamp,
) -> Notice {
    let (text_zh, text_en) = match message.map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => (text.to_string(), text.to_string()),
        None => (
            format!("请尽快填写并提交 {form} {period} 报表。"),
            format!("Please fill in and submit your {form} {period} report as soon as possible."),
        ),
    };
    Notice {
        id: format!("{period}/{form}/urge/{}/{by}", now.0),
        audience: Audience::Unit(unit.to_string()),
        kind: NoticeKind::Urged,
        form: form.to_string(),
        period: period.to_string(),
        text_zh: format!("催报：{text_zh}"),
        text_en: format!("Reminder from your bureau: {text_en}"),
        at_ms: now.0,
        by: Some(by.to_string()),
    }
}

/// The reminder a province or the nation sends down to one child bureau
/// (`to`), in the bureau's own words or the standard text.
#[allow(clippy::too_many_arguments)] // why: who urges, whom, about what, in which words, by whom and when
pub fn reminder_for(
    from_level: zhibao_federation_protocol::NodeLevel,
    from_division: DivisionCode,
    to: DivisionCode,
    form: &str,
    period: &str,
    message: Option<&str>,
    by: &str,
    now: Timestamp,
) -> Reminder {
    Reminder {
        from_level: from_level.as_str().to_string(),
        from_division: from_division.to_string(),
        to_divisions: vec![to.to_string()],
        form: form.to_string(),
        period: period.to_string(),
        text: message
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_string),
        by: by.to_string(),
        at_ms: now.0,
    }
}

/// The sending bureau as a notice names it, in Chinese and in English.
fn bureau_above_names(level: &str, division: DivisionCode) -> Result<(String, String), String> {
    match level {
        "national" => Ok((
            "生态环境部".to_string(),
            "the Ministry of Ecology and Environment".to_string(),
        )),
        "province" => Ok((
            format!("{}生态环境部门", division.name_zh()),
            format!("the provincial bureau of {division}"),
        )),
        other => Err(format!(
            "from_level: {other} is not a level that urges (province or national)"
        )),
    }
}

/// A reminder from above as its receiver keeps it: a notice for the bureau
/// users, or what is wrong with it (a refusal reason). The notice's id is
/// made from the reminder, so a redelivered reminder is the same notice.
pub fn reminder_notice(reminder: &Reminder) -> Result<Notice, String> {
    if let Some(problem) = reminder.shape_problem() {
        return Err(problem);
    }
    let division = |field: &str, code: &str| {
        DivisionCode::parse(code).map_err(|error| format!("{field}: {error}"))
    };
    let from = division("from_division", &reminder.from_division)?;
    let urged = reminder
        .to_divisions
        .iter()
        .map(|code| division("to_divisions[]", code))
        .collect::<Result<Vec<_>, String>>()?;
    FormCode::parse(&reminder.form).map_err(|error| format!("form: {error}"))?;
    let period = PeriodId::parse(&reminder.period).map_err(|error| format!("period: {error}"))?;
    let (from_zh, from_en) = bureau_above_names(&reminder.from_level, from)?;
    let urged_zh = urged
        .iter()
        .map(|code| code.name_zh())
        .collect::<Vec<_>>()
        .join("、");
    let urged_en = urged
        .iter()
        .map(DivisionCode::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let form = &reminder.form;
    let (text_zh, text_en) = match reminder.text.as_deref() {
        Some(text) => (
            format!(
                "{from_zh}催报（{} {form}，{urged_zh}）：{text}",
                period.name_zh()
            ),
            format!("Reminder from {from_en} ({form} {period}, {urged_en}): {text}"),
        ),
        None => (
            format!(
                "{from_zh}催报：{urged_zh}尚有单位未提交 {} {form} 报表，请督促尽快提交。",
                period.name_zh()
            ),
            format!(
                "Reminder from {from_en}: units of {urged_en} still owe their {form} {period} report; please urge them to submit."
            ),
        ),
    };
    Ok(Notice {
        id: format!(
            "{}/{form}/reminder/{from}/{}/{}",
            reminder.period, reminder.at_ms, reminder.by
        ),
        audience: Audience::Bureau,
        kind: NoticeKind::ReminderFromAbove,
        form: form.clone(),
        period: reminder.period.clone(),
        text_zh,
        text_en,
        at_ms: reminder.at_ms,
        by: Some(reminder.by.clone()),
    })
}

/// Which stage a node's own reviewers work in.
pub fn review_stage_of(level: zhibao_federation_protocol::NodeLevel) -> Stage {
    match level {
        zhibao_federation_protocol::NodeLevel::City => Stage::CityReview,
        zhibao_federation_protocol::NodeLevel::Province => Stage::ProvinceReview,
        zhibao_federation_protocol::NodeLevel::National => Stage::NationalReview,
    }
}

#[cfg(test)]
mod tests;
