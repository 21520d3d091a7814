//! Review at the upper levels (province and national): reports that a child
//! node approved and forwarded, and this level's decisions on them.
//!
//! ```text
//!  (batch arrives) ─▶ AwaitingReview ──approve──▶ Approved ─▶ (province: forwarded to national;
//!                          ▲   │                                national: Accepted — the direct-report database)
//!                          │   └──feedback──▶ FeedbackSent ─▶ (the city annotates: AwaitingReview again,
//!                          │                                   or returns to the unit: a new version arrives)
//!                          └──────────── a new version or an annotation arrives
//! ```
//!
//! A province also receives the nation's feedback on a report it forwarded
//! (`FeedbackFromAbove`) and passes it down to the city. As at the city, a
//! decision needs a rule run by this level on the exact version (R6). Every
//! version seen is kept, so a reviewer sees what changed since the last one.

pub mod flow;
pub mod store;

use std::collections::BTreeMap;

use zhibao_federation_protocol::messages::ReportOnTheWire;

use crate::clock::Timestamp;
use crate::report::{Comment, FeedbackRecord, ReportError, RuleRun};

/// One recorded state change at this level: who, when, why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReviewTransition {
    /// State before (none on arrival).
    pub from: Option<UpperState>,
    /// State after.
    pub to: UpperState,
    /// Version concerned.
    pub version: u32,
    /// Who (a user, or the child node that sent it).
    pub by: String,
    /// When (ms).
    pub at_ms: i64,
    /// Why, if given.
    pub why: Option<String>,
}

/// Where a forwarded report stands at this (upper) level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpperState {
    /// Arrived, waiting for this level's review.
    AwaitingReview,
    /// This level asked the level below to act.
    FeedbackSent,
    /// The level above sent feedback (province only), passed down to the city.
    FeedbackFromAbove,
    /// Approved here (a province has forwarded it up).
    Approved,
    /// Accepted into the direct-report database (national).
    Accepted,
}

impl UpperState {
    /// The word used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            UpperState::AwaitingReview => "submitted",
            UpperState::FeedbackSent => "feedback_sent",
            UpperState::FeedbackFromAbove => "feedback_from_above",
            UpperState::Approved => "approved",
            UpperState::Accepted => "accepted",
        }
    }
}

/// A forwarded report at an upper level.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceivedReport {
    /// The latest version received.
    pub report: ReportOnTheWire,
    /// Which child node sent it.
    pub from_child: String,
    /// The envelope that brought it: (sender URI, sequence) in `received_envelope_by_origin`.
    pub envelope_sender: String,
    /// Its sequence on that link.
    pub envelope_sequence: u64,
    /// State here.
    pub state: UpperState,
    /// This level's rule run.
    pub rule_run: Option<RuleRun>,
    /// Feedback sent or received about it.
    pub feedback: Vec<FeedbackRecord>,
    /// Every state change here.
    pub history: Vec<ReviewTransition>,
}

/// Values that differ between two versions: key → (before, after).
pub fn changed_values(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> BTreeMap<String, (Option<String>, Option<String>)> {
    let mut changes = BTreeMap::new();
    for key in before.keys().chain(after.keys()) {
        let (old, new) = (before.get(key), after.get(key));
        if old != new {
            changes.insert(key.clone(), (old.cloned(), new.cloned()));
        }
    }
    changes
}

fn transition(
    from: Option<UpperState>,
    to: UpperState,
    version: u32,
    by: &str,
    now: Timestamp,
    why: Option<String>,
) -> ReviewTransition {
    ReviewTransition {
        from,
        to,
        version,
        by: by.to_string(),
        at_ms: now.0,
        why,
    }
}

/// A batch entry arrives: a new report, a new version, or an annotation.
pub fn receive(
    existing: Option<&ReceivedReport>,
    report: ReportOnTheWire,
    from_child: &str,
    envelope_sender: &str,
    envelope_sequence: u64,
    now: Timestamp,
) -> ReceivedReport {
    let version = report.version;
    let why = report
        .annotation
        .clone()
        .map(|text| format!("备注说明 / annotation: {text}"));
    match existing {
        Some(existing) => {
            let mut next = existing.clone();
            next.history.push(transition(
                Some(existing.state),
                UpperState::AwaitingReview,
                version,
                from_child,
                now,
                why,
            ));
            if existing.report.version != version {
                next.rule_run = None;
            }
            next.report = report;
            next.envelope_sender = envelope_sender.to_string();
            next.envelope_sequence = envelope_sequence;
            next.state = UpperState::AwaitingReview;
            next
        }
        None => ReceivedReport {
            report,
            from_child: from_child.to_string(),
            envelope_sender: envelope_sender.to_string(),
            envelope_sequence,
            state: UpperState::AwaitingReview,
            rule_run: None,
            feedback: Vec::new(),
            history: vec![transition(
                None,
                UpperState::AwaitingReview,
                version,
                from_child,
                now,
                why,
            )],
        },
    }
}

/// Records this level's rule run on the version held.
pub fn record_rule_run(
    received: &ReceivedReport,
    errors: usize,
    warnings: usize,
    by: &str,
    now: Timestamp,
) -> ReceivedReport {
    let mut next = received.clone();
    next.rule_run = Some(RuleRun {
        version: received.report.version,
        by: by.to_string(),
        at_ms: now.0,
        errors,
        warnings,
    });
    next
}

fn require_rule_run(received: &ReceivedReport) -> Result<&RuleRun, ReportError> {
    if received.state != UpperState::AwaitingReview {
        return Err(ReportError::WrongState {
            state: received.state.as_str(),
            action: "审核 / decide",
        });
    }
    match &received.rule_run {
        Some(run) if run.version == received.report.version => Ok(run),
        _ => Err(ReportError::RulesNotRun {
            version: received.report.version,
        }),
    }
}

/// This level approves (national: accepts into the database).
pub fn approve(
    received: &ReceivedReport,
    national: bool,
    comment: Option<String>,
    by: &str,
    now: Timestamp,
) -> Result<ReceivedReport, ReportError> {
    let run = require_rule_run(received)?;
    if run.errors > 0 {
        return Err(ReportError::HasErrors {
            version: received.report.version,
            errors: run.errors,
        });
    }
    let to = if national {
        UpperState::Accepted
    } else {
        UpperState::Approved
    };
    let mut next = received.clone();
    next.history.push(transition(
        Some(received.state),
        to,
        received.report.version,
        by,
        now,
        comment,
    ));
    next.state = to;
    Ok(next)
}

/// This level sends feedback down about the version held.
pub fn send_feedback(
    received: &ReceivedReport,
    level: &str,
    comments: Vec<Comment>,
    by: &str,
    now: Timestamp,
) -> Result<(ReceivedReport, FeedbackRecord), ReportError> {
    require_rule_run(received)?;
    if comments
        .iter()
        .all(|comment| comment.text.trim().is_empty())
    {
        return Err(ReportError::BadReturn);
    }
    let record = FeedbackRecord {
        from_level: level.to_string(),
        by: by.to_string(),
        at_ms: now.0,
        version: received.report.version,
        comments,
    };
    let mut next = received.clone();
    next.history.push(transition(
        Some(received.state),
        UpperState::FeedbackSent,
        received.report.version,
        by,
        now,
        None,
    ));
    next.state = UpperState::FeedbackSent;
    next.feedback.push(record.clone());
    Ok((next, record))
}

/// A province receives the nation's feedback on a report it forwarded.
pub fn receive_feedback_from_above(
    received: &ReceivedReport,
    feedback: FeedbackRecord,
    now: Timestamp,
) -> ReceivedReport {
    let mut next = received.clone();
    next.history.push(transition(
        Some(received.state),
        UpperState::FeedbackFromAbove,
        feedback.version,
        &feedback.by,
        now,
        None,
    ));
    next.state = UpperState::FeedbackFromAbove;
    next.feedback.push(feedback);
    next
}
