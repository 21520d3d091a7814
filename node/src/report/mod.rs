//! Reports (基表数据): one unit's filled form for one period, kept as
//! immutable versions.
//!
//! A report is identified by [`ReportKey`] = unit credit code + form + period.
//! The unit edits a **draft** (saved as it types; each save carries the
//! revision it was based on, so two tabs editing at once are detected, not
//! silently merged). **Submitting** turns the draft into a new immutable
//! [`ReportVersion`] with a content hash; a retried submission with the same
//! submission id returns the version it already made (no duplicates).
//!
//! States at the city node (the unit's node), moved only by the named functions:
//!
//! ```text
//!  (none) ──save_draft──▶ Draft ──submit──▶ Submitted ──approve──▶ Approved ─▶ (forwarded up)
//!                           ▲                   │
//!                           └──── Returned ◀────┘ return_to_unit (comments, due date)
//! ```
//!
//! A reviewer's decision needs a rule run by this level on the exact version
//! decided on (R6): `record_rule_run` first, then `approve` / `return_to_unit`.
//! Every transition is kept with who, when and why.

pub mod facts;
pub mod releases;
pub mod service;
pub mod standards;
pub mod store;
#[cfg(test)]
mod tests;
pub mod workbook;

use std::collections::BTreeMap;

use crate::clock::Timestamp;

/// Unit + form + period.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ReportKey {
    /// The unit's credit code.
    pub unit: String,
    /// Form code, e.g. `G101`.
    pub form: String,
    /// Period, e.g. `2025` or `2026Q3`.
    pub period: String,
}

impl ReportKey {
    /// Reads back [`ReportKey::to_bytes`]; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<ReportKey> {
        let mut parts = bytes
            .split(|byte| *byte == 0)
            .map(|part| String::from_utf8(part.to_vec()).ok());
        let (Some(Some(unit)), Some(Some(form)), Some(Some(period)), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(ReportKey { unit, form, period })
    }

    /// `unit 0x00 form 0x00 period`: sorts a unit's reports together.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.unit.len() + self.form.len() + self.period.len() + 2);
        key.extend_from_slice(self.unit.as_bytes());
        key.push(0);
        key.extend_from_slice(self.form.as_bytes());
        key.push(0);
        key.extend_from_slice(self.period.as_bytes());
        key
    }
}

/// What a unit fills in: indicator values (decimal strings), rows of a row
/// form, and explanations of warnings (rule id → text).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportContent {
    /// Indicator key → value as written (decimal string, enum value or text).
    pub values: BTreeMap<String, String>,
    /// Rows (e.g. G103 facilities): column key → value.
    #[serde(default)]
    pub rows: Vec<BTreeMap<String, String>>,
    /// Rule id → the unit's explanation of a warning (强制上报说明).
    #[serde(default)]
    pub explanations: BTreeMap<String, String>,
}

impl ReportContent {
    /// SHA-256 of the canonical JSON (maps are sorted), hex. The same content
    /// always has the same hash, at every node.
    pub fn content_hash(&self) -> String {
        use sha2::Digest;
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(sha2::Sha256::digest(&canonical))
    }
}

/// The unit's working copy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Draft {
    /// The content.
    pub content: ReportContent,
    /// Increases with every save; a save must name the revision it edited.
    pub revision: u64,
    /// Last save (ms).
    pub saved_at_ms: i64,
    /// Who saved.
    pub saved_by: String,
}

/// A submitted version: immutable once written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportVersion {
    /// 1, 2, 3…
    pub number: u32,
    /// What was submitted.
    pub content: ReportContent,
    /// [`ReportContent::content_hash`].
    pub content_hash: String,
    /// When (ms).
    pub submitted_at_ms: i64,
    /// Who.
    pub submitted_by: String,
    /// The client's idempotency key, if it sent one.
    pub submission_id: Option<String>,
}

/// A comment on a report, optionally about one indicator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Comment {
    /// The indicator it is about.
    pub indicator: Option<String>,
    /// The text.
    pub text: String,
}

/// Where a report stands at this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportState {
    /// Being filled in.
    Draft,
    /// Submitted, waiting for the city's review.
    Submitted,
    /// Sent back to the unit with comments and a deadline.
    Returned,
    /// Approved by the city (and forwarded upward).
    Approved,
    /// An upper level sent feedback; the city must annotate or return it to the unit.
    FeedbackReceived,
}

impl ReportState {
    /// The word used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportState::Draft => "draft",
            ReportState::Submitted => "submitted",
            ReportState::Returned => "returned",
            ReportState::Approved => "approved",
            ReportState::FeedbackReceived => "feedback_received",
        }
    }
}

/// A rule run by a reviewer on one version (what a decision requires, R6).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleRun {
    /// The version checked.
    pub version: u32,
    /// Who ran it.
    pub by: String,
    /// When (ms).
    pub at_ms: i64,
    /// Errors found.
    pub errors: usize,
    /// Warnings found.
    pub warnings: usize,
}

/// A return to the unit (限期整改).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReturnToUnit {
    /// The version returned.
    pub version: u32,
    /// Comments, per indicator where given.
    pub comments: Vec<Comment>,
    /// The correction deadline (ms).
    pub due_ms: i64,
    /// Who returned it.
    pub by: String,
    /// When (ms).
    pub at_ms: i64,
}

/// One recorded state change: who, when, why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Transition {
    /// State before (none for the first save).
    pub from: Option<ReportState>,
    /// State after.
    pub to: ReportState,
    /// Version concerned, if any.
    pub version: Option<u32>,
    /// Who.
    pub by: String,
    /// When (ms).
    pub at_ms: i64,
    /// Why (comment), if given.
    pub why: Option<String>,
}

/// The report's standing at this node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportStatus {
    /// Current state.
    pub state: ReportState,
    /// Latest submitted version, if any.
    pub latest_version: Option<u32>,
    /// The last reviewer rule run.
    pub rule_run: Option<RuleRun>,
    /// The current return, while returned.
    pub returned: Option<ReturnToUnit>,
    /// Every state change.
    pub history: Vec<Transition>,
    /// Feedback from upper levels, newest last.
    #[serde(default)]
    pub feedback: Vec<FeedbackRecord>,
    /// Upper levels that accepted a version (receipts): (level, version).
    #[serde(default)]
    pub accepted_by: Vec<(String, u32)>,
    /// The city's latest annotation (answer to feedback).
    #[serde(default)]
    pub annotation: Option<String>,
}

/// Review feedback from an upper level (sent by it, or received from it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeedbackRecord {
    /// `province` or `national`.
    pub from_level: String,
    /// Who wrote it.
    pub by: String,
    /// When (ms).
    pub at_ms: i64,
    /// Version it is about.
    pub version: u32,
    /// Comments.
    pub comments: Vec<Comment>,
}

/// Why a report action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The draft changed since the client loaded it.
    #[error(
        "草稿已被他人或另一窗口修改（当前修订号 {current}，您基于 {based_on}），请重新加载后再保存 / the draft was changed elsewhere (revision {current}, yours {based_on}); reload it before saving"
    )]
    DraftConflict {
        /// Revision stored.
        current: u64,
        /// Revision the client edited.
        based_on: u64,
    },
    /// The action does not fit the report's state.
    #[error("报表当前状态为“{state}”，不能{action} / the report is {state}; cannot {action}")]
    WrongState {
        /// Current state.
        state: &'static str,
        /// What was attempted.
        action: &'static str,
    },
    /// Nothing to submit.
    #[error("没有草稿可提交 / there is no draft to submit")]
    NoDraft,
    /// A decision without a rule run by this level on this version.
    #[error(
        "须先对版本 {version} 运行审核规则，才能作出审核决定 / run the audit rules on version {version} before deciding"
    )]
    RulesNotRun {
        /// The version waiting.
        version: u32,
    },
    /// The rule run found errors: it cannot be approved.
    #[error(
        "版本 {version} 有 {errors} 个错误，不能通过 / version {version} has {errors} errors and cannot be approved"
    )]
    HasErrors {
        /// The version.
        version: u32,
        /// How many errors.
        errors: usize,
    },
    /// A return needs a deadline in the future and at least one comment.
    #[error(
        "退回须写明意见并给出晚于现在的整改期限 / a return needs a comment and a deadline in the future"
    )]
    BadReturn,
}

/// Saves a draft; `based_on_revision` is what the client loaded (0 for none).
pub fn save_draft(
    status: Option<&ReportStatus>,
    current_draft: Option<&Draft>,
    content: ReportContent,
    based_on_revision: Option<u64>,
    by: &str,
    now: Timestamp,
) -> Result<(Draft, ReportStatus), ReportError> {
    let current_revision = current_draft.map_or(0, |draft| draft.revision);
    if let Some(based_on) = based_on_revision
        && based_on != current_revision
    {
        return Err(ReportError::DraftConflict {
            current: current_revision,
            based_on,
        });
    }
    let state = status.map(|status| status.state);
    if matches!(
        state,
        Some(ReportState::Submitted | ReportState::Approved | ReportState::FeedbackReceived)
    ) {
        return Err(ReportError::WrongState {
            state: state.map_or("", ReportState::as_str),
            action: "修改 / edit",
        });
    }
    let draft = Draft {
        content,
        revision: current_revision + 1,
        saved_at_ms: now.0,
        saved_by: by.to_string(),
    };
    let mut next = status.cloned().unwrap_or(ReportStatus {
        state: ReportState::Draft,
        latest_version: None,
        rule_run: None,
        returned: None,
        history: Vec::new(),
        feedback: Vec::new(),
        accepted_by: Vec::new(),
        annotation: None,
    });
    if state.is_none() {
        next.history.push(Transition {
            from: None,
            to: ReportState::Draft,
            version: None,
            by: by.to_string(),
            at_ms: now.0,
            why: None,
        });
    }
    Ok((draft, next))
}

/// Turns the draft into the next version. The caller has run the rules and
/// refused the submission if an error or an unexplained warning remains.
pub fn submit(
    status: &ReportStatus,
    draft: &Draft,
    submission_id: Option<String>,
    by: &str,
    now: Timestamp,
) -> Result<(ReportVersion, ReportStatus), ReportError> {
    if !matches!(status.state, ReportState::Draft | ReportState::Returned) {
        return Err(ReportError::WrongState {
            state: status.state.as_str(),
            action: "提交 / submit",
        });
    }
    let number = status.latest_version.unwrap_or(0) + 1;
    let version = ReportVersion {
        number,
        content_hash: draft.content.content_hash(),
        content: draft.content.clone(),
        submitted_at_ms: now.0,
        submitted_by: by.to_string(),
        submission_id,
    };
    let mut next = status.clone();
    next.history.push(Transition {
        from: Some(status.state),
        to: ReportState::Submitted,
        version: Some(number),
        by: by.to_string(),
        at_ms: now.0,
        why: None,
    });
    next.state = ReportState::Submitted;
    next.latest_version = Some(number);
    next.returned = None;
    next.rule_run = None;
    next.annotation = None;
    Ok((version, next))
}

/// Records a reviewer's rule run on the latest version.
pub fn record_rule_run(
    status: &ReportStatus,
    errors: usize,
    warnings: usize,
    by: &str,
    now: Timestamp,
) -> Result<ReportStatus, ReportError> {
    let Some(version) = status.latest_version else {
        return Err(ReportError::WrongState {
            state: status.state.as_str(),
            action: "审核 / review",
        });
    };
    let mut next = status.clone();
    next.rule_run = Some(RuleRun {
        version,
        by: by.to_string(),
        at_ms: now.0,
        errors,
        warnings,
    });
    Ok(next)
}

fn require_rule_run_on_latest(status: &ReportStatus) -> Result<(u32, &RuleRun), ReportError> {
    if status.state != ReportState::Submitted {
        return Err(ReportError::WrongState {
            state: status.state.as_str(),
            action: "审核 / decide",
        });
    }
    let version = status.latest_version.unwrap_or(0);
    match &status.rule_run {
        Some(run) if run.version == version => Ok((version, run)),
        _ => Err(ReportError::RulesNotRun { version }),
    }
}

/// The city approves the latest version.
pub fn approve(
    status: &ReportStatus,
    comment: Option<String>,
    by: &str,
    now: Timestamp,
) -> Result<ReportStatus, ReportError> {
    let (version, run) = require_rule_run_on_latest(status)?;
    if run.errors > 0 {
        return Err(ReportError::HasErrors {
            version,
            errors: run.errors,
        });
    }
    let mut next = status.clone();
    next.history.push(Transition {
        from: Some(status.state),
        to: ReportState::Approved,
        version: Some(version),
        by: by.to_string(),
        at_ms: now.0,
        why: comment,
    });
    next.state = ReportState::Approved;
    Ok(next)
}

/// The city returns the latest version to the unit with comments and a
/// deadline: after its own review, or to answer an upper level's feedback (R32).
pub fn return_to_unit(
    status: &ReportStatus,
    comments: Vec<Comment>,
    due: Timestamp,
    by: &str,
    now: Timestamp,
) -> Result<ReportStatus, ReportError> {
    let version = if status.state == ReportState::FeedbackReceived {
        status.latest_version.unwrap_or(0)
    } else {
        require_rule_run_on_latest(status)?.0
    };

    if comments
        .iter()
        .all(|comment| comment.text.trim().is_empty())
        || due <= now
    {
        return Err(ReportError::BadReturn);
    }
    let mut next = status.clone();
    let why = comments
        .iter()
        .map(|comment| comment.text.clone())
        .collect::<Vec<_>>()
        .join("；");
    next.history.push(Transition {
        from: Some(status.state),
        to: ReportState::Returned,
        version: Some(version),
        by: by.to_string(),
        at_ms: now.0,
        why: Some(why),
    });
    next.state = ReportState::Returned;
    next.returned = Some(ReturnToUnit {
        version,
        comments,
        due_ms: due.0,
        by: by.to_string(),
        at_ms: now.0,
    });
    Ok(next)
}

/// Whether a returned report is past its correction deadline.
pub fn is_overdue(status: &ReportStatus, now: Timestamp) -> bool {
    status.state == ReportState::Returned
        && status
            .returned
            .as_ref()
            .is_some_and(|returned| returned.due_ms < now.0)
}

/// Feedback from an upper level arrives about an approved version.
pub fn receive_feedback(
    status: &ReportStatus,
    feedback: FeedbackRecord,
    now: Timestamp,
) -> ReportStatus {
    let mut next = status.clone();
    next.history.push(Transition {
        from: Some(status.state),
        to: ReportState::FeedbackReceived,
        version: Some(feedback.version),
        by: format!("{}:{}", feedback.from_level, feedback.by),
        at_ms: now.0,
        why: Some(
            feedback
                .comments
                .iter()
                .map(|comment| comment.text.clone())
                .collect::<Vec<_>>()
                .join("；"),
        ),
    });
    next.state = ReportState::FeedbackReceived;
    next.feedback.push(feedback);
    next
}

/// The city answers feedback with an annotation and sends the same version up
/// again for the upper level to decide (R32).
pub fn annotate(
    status: &ReportStatus,
    text: &str,
    by: &str,
    now: Timestamp,
) -> Result<ReportStatus, ReportError> {
    if status.state != ReportState::FeedbackReceived {
        return Err(ReportError::WrongState {
            state: status.state.as_str(),
            action: "备注说明 / annotate",
        });
    }
    if text.trim().is_empty() {
        return Err(ReportError::BadReturn);
    }
    let mut next = status.clone();
    next.history.push(Transition {
        from: Some(status.state),
        to: ReportState::Approved,
        version: status.latest_version,
        by: by.to_string(),
        at_ms: now.0,
        why: Some(text.to_string()),
    });
    next.state = ReportState::Approved;
    next.annotation = Some(text.to_string());
    Ok(next)
}

/// An upper level's acceptance receipt arrives.
pub fn receive_acceptance(status: &ReportStatus, level: &str, version: u32) -> ReportStatus {
    let mut next = status.clone();
    if !next
        .accepted_by
        .iter()
        .any(|(existing, number)| existing == level && *number == version)
    {
        next.accepted_by.push((level.to_string(), version));
    }
    next
}
