//! The reporting use cases over the node's state: what the web layer calls.
//! Each function checks, computes with the domain, writes in one transaction
//! and makes the result durable before returning.

use zhibao_federation_protocol::NodeLevel;

use super::facts::{ValueProblem, form_of, parse_content, report_facts};
use super::store::ReportStoreError;
use super::{Comment, Draft, ReportContent, ReportError, ReportKey, ReportStatus, ReportVersion};
use crate::clock::Timestamp;
use crate::metadata::FormCode;
use crate::metadata::period::{PeriodId, Stage, WindowClosed};
use crate::node::NodeState;
use crate::registry::UnitCode;
use crate::review::flow::UnitOnReport;
use crate::rules::{ControlClass, Finding, Severity, UnitFacts};
use crate::store::StoreError;

/// Why a reporting action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReportServiceError {
    /// No such form, period, unit or report here.
    #[error("{0}")]
    NotFound(String),
    /// Values that do not fit their indicators.
    #[error("{} 个数值有误 / {} value(s) do not fit their indicators", .0.len(), .0.len())]
    Values(Vec<ValueProblem>),
    /// Rules failed: errors, or warnings without an explanation.
    #[error(
        "审核未通过：请改正错误，并为每条提示填写说明 / the audit rules failed: fix the errors and explain each warning"
    )]
    RulesFailed(Vec<Finding>),
    /// The window of this stage is closed.
    #[error("{}", .0.message_zh())]
    WindowClosed(WindowClosed),
    /// The report's life does not allow it.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The action belongs to another level (e.g. feedback at a city node).
    #[error("此操作不属于本级 / not an action of this level: {0}")]
    WrongLevel(&'static str),
    /// An uploaded template that gives no draft (nothing was stored).
    #[error(transparent)]
    Upload(#[from] super::workbook::UploadError),
    /// A workbook could not be written.
    #[error(transparent)]
    Workbook(#[from] super::workbook::WorkbookWriteError),
}

impl From<ReportStoreError> for ReportServiceError {
    fn from(error: ReportStoreError) -> Self {
        match error {
            ReportStoreError::Report(report) => ReportServiceError::Report(report),
            ReportStoreError::Store(store) => ReportServiceError::Store(store),
        }
    }
}

/// A parsed report key, checked against this node's forms and periods.
pub fn checked_key(
    state: &NodeState,
    unit: &str,
    form: &str,
    period: &str,
) -> Result<(ReportKey, FormCode, PeriodId), ReportServiceError> {
    let standards = state.standards();
    let form_code =
        FormCode::parse(form).map_err(|error| ReportServiceError::NotFound(error.to_string()))?;
    let form_definition = standards
        .metadata
        .form(&form_code)
        .ok_or_else(|| ReportServiceError::NotFound(format!("没有报表 {form} / no form {form}")))?;
    let period_id =
        PeriodId::parse(period).map_err(|error| ReportServiceError::NotFound(error.to_string()))?;
    if period_id.kind() != form_definition.period_kind {
        return Err(ReportServiceError::NotFound(format!(
            "报表 {form} 不按 {period} 这种报告期填报 / form {form} is not filed for a period like {period}"
        )));
    }
    Ok((
        ReportKey {
            unit: unit.to_string(),
            form: form.to_string(),
            period: period.to_string(),
        },
        form_code,
        period_id,
    ))
}

/// The unit's registry facts for the rules, and for the wire.
pub fn unit_facts(
    state: &NodeState,
    unit: &str,
) -> Result<(UnitFacts, UnitOnReport), ReportServiceError> {
    let code =
        UnitCode::parse(unit).map_err(|error| ReportServiceError::NotFound(error.to_string()))?;
    let current = state
        .registry
        .current_unit(&code)
        .map_err(|error| ReportServiceError::Store(StoreError::Engine(error.to_string())))?
        .ok_or_else(|| {
            ReportServiceError::NotFound(format!(
                "名录库中没有单位 {unit} / no unit {unit} in the registry"
            ))
        })?;
    let classes = current
        .unit
        .classes
        .iter()
        .map(|class| match class {
            crate::registry::ControlClass::National => ControlClass::National,
            crate::registry::ControlClass::Provincial => ControlClass::Provincial,
            crate::registry::ControlClass::City => ControlClass::City,
            crate::registry::ControlClass::Other => ControlClass::Other,
        })
        .collect();
    Ok((
        UnitFacts {
            control_classes: classes,
            key_industry: current.unit.key_industry,
            industry: current.unit.industry.as_str().to_string(),
        },
        UnitOnReport::of(&current.unit),
    ))
}

/// The latest submitted values of a report, parsed (for `prev` and quarters).
fn latest_values(state: &NodeState, key: &ReportKey) -> Option<crate::metadata::ReportValues> {
    let standards = state.standards();
    let content = state.reports.latest_content(key).ok()??;
    let form = form_of(&standards.metadata, &key.form)?;
    parse_content(&standards.metadata, form, &content)
        .ok()
        .map(|(values, _)| values)
}

/// Where a node finds a unit's earlier reports: its own (city), or the
/// versions forwarded to it (province, national).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum History {
    Own,
    Received,
}

fn values_of_report(
    state: &NodeState,
    key: &ReportKey,
    history: History,
) -> Option<crate::metadata::ReportValues> {
    let standards = state.standards();
    match history {
        History::Own => latest_values(state, key),
        History::Received => {
            let received = state.review.received.get(&key.to_bytes()).ok()??;
            let form = form_of(&standards.metadata, &key.form)?;
            let content = ReportContent {
                values: received.report.values,
                rows: received.report.rows,
                explanations: received.report.explanations,
            };
            parse_content(&standards.metadata, form, &content)
                .ok()
                .map(|(values, _)| values)
        }
    }
}

/// The previous period's values for `prev`: the unit's own report, or — when
/// a confirmed lineage link (R28) says it continues other units (a rename, a
/// new code, a merger) — the report of the newest predecessor that has one.
fn previous_values(
    state: &NodeState,
    key: &ReportKey,
    previous_period: PeriodId,
    history: History,
) -> Option<crate::metadata::ReportValues> {
    let predecessors = UnitCode::parse(&key.unit)
        .ok()
        .and_then(|code| state.registry.history_chain(&code).ok())
        .unwrap_or_default();
    std::iter::once(key.unit.clone())
        .chain(
            predecessors
                .into_iter()
                .skip(1)
                .map(|code| code.as_str().to_string()),
        )
        .find_map(|unit| {
            let previous_key = ReportKey {
                unit,
                period: previous_period.to_string(),
                ..key.clone()
            };
            values_of_report(state, &previous_key, history)
        })
}

/// Runs the effective rules of the form on `content` (a unit's draft or a city's version).
pub fn run_rules(
    state: &NodeState,
    key: &ReportKey,
    form: &FormCode,
    period: PeriodId,
    content: &ReportContent,
) -> Result<Vec<Finding>, ReportServiceError> {
    run_rules_with(state, key, form, period, content, History::Own)
}

fn run_rules_with(
    state: &NodeState,
    key: &ReportKey,
    form: &FormCode,
    period: PeriodId,
    content: &ReportContent,
    history: History,
) -> Result<Vec<Finding>, ReportServiceError> {
    let standards = state.standards();
    let metadata = &standards.metadata;
    let form_definition = metadata
        .form(form)
        .ok_or_else(|| ReportServiceError::NotFound(format!("no form {}", form.as_str())))?;
    let (values, rows) =
        parse_content(metadata, form_definition, content).map_err(ReportServiceError::Values)?;
    // A city knows its units; an upper level knows them from registry changes, when they arrived.
    let unit = match history {
        History::Own => unit_facts(state, &key.unit)?.0,
        History::Received => unit_facts(state, &key.unit)
            .map(|(facts, _)| facts)
            .unwrap_or_default(),
    };
    let previous = period
        .previous()
        .and_then(|previous_period| previous_values(state, key, previous_period, history));
    let quarters = if form.as_str() == "G101" {
        period
            .quarters_of_year()
            .iter()
            .map(|quarter| {
                let quarter_key = ReportKey {
                    form: "G101Q".to_string(),
                    period: quarter.to_string(),
                    ..key.clone()
                };
                values_of_report(state, &quarter_key, history)
            })
            .collect::<Option<Vec<_>>>()
    } else {
        None
    };
    let rule_set = standards
        .rule_set(form)
        .ok_or_else(|| ReportServiceError::NotFound(format!("no rules for {}", form.as_str())))?;
    Ok(crate::rules::check(
        rule_set,
        &report_facts(values, rows, previous, quarters, unit),
    ))
}

/// Errors block; warnings block unless the content explains them.
fn blocking(findings: &[Finding], content: &ReportContent) -> bool {
    !crate::rules::findings_blocking_submission(findings, |rule| {
        content
            .explanations
            .get(rule.as_str())
            .is_some_and(|text| !text.trim().is_empty())
    })
    .is_empty()
}

fn counts(findings: &[Finding]) -> (usize, usize) {
    let errors = findings
        .iter()
        .filter(|finding| finding.severity == Severity::Error)
        .count();
    (errors, findings.len() - errors)
}

fn check_window(
    state: &NodeState,
    key: &ReportKey,
    form: &FormCode,
    period: PeriodId,
    stage: Stage,
    now: Timestamp,
) -> Result<(), ReportServiceError> {
    let standards = state.standards();
    standards
        .calendar
        .check_open(period, form, stage, Some(&key.unit), now)
        .map_err(ReportServiceError::WindowClosed)
}

/// The unit saves its draft (values checked against their indicators).
#[allow(clippy::too_many_arguments)] // why: the key, its parsed form and period, the content and revision, who and when
pub async fn save_draft(
    state: &NodeState,
    key: &ReportKey,
    form: &FormCode,
    period: PeriodId,
    content: ReportContent,
    based_on_revision: Option<u64>,
    by: &str,
    now: Timestamp,
) -> Result<Draft, ReportServiceError> {
    let standards = state.standards();
    check_window(state, key, form, period, Stage::UnitEntry, now)?;
    unit_facts(state, &key.unit)?;
    let form_definition = form_of(&standards.metadata, &key.form)
        .ok_or_else(|| ReportServiceError::NotFound(format!("no form {}", key.form)))?;
    parse_content(&standards.metadata, form_definition, &content)
        .map_err(ReportServiceError::Values)?;
    let draft = state
        .reports
        .save_draft(&state.store, key, content, based_on_revision, by, now)?;
    state.store.commit_durable().await?;
    Ok(draft)
}

/// The unit submits its draft: rules run; errors and unexplained warnings refuse it.
pub async fn submit(
    state: &NodeState,
    key: &ReportKey,
    form: &FormCode,
    period: PeriodId,
    submission_id: Option<String>,
    by: &str,
    now: Timestamp,
) -> Result<(ReportVersion, ReportStatus), ReportServiceError> {
    // A retry of a submission that already succeeded answers the same version, even after the window closed.
    if let Some(id) = &submission_id
        && let Some(record) = state.reports.submissions.get(id.as_bytes())?
        && &record.key == key
        && let (Some(version), Some(status)) = (
            state.reports.version(key, record.version)?,
            state.reports.status.get(&key.to_bytes())?,
        )
    {
        return Ok((version, status));
    }
    check_window(state, key, form, period, Stage::UnitEntry, now)?;
    let draft = state
        .reports
        .drafts
        .get(&key.to_bytes())?
        .ok_or(ReportError::NoDraft)?;
    let findings = run_rules(state, key, form, period, &draft.content)?;
    if blocking(&findings, &draft.content) {
        return Err(ReportServiceError::RulesFailed(findings));
    }
    let submitted =
        state
            .reports
            .submit(&state.store, &state.audit, key, submission_id, by, now)?;
    state.store.commit_durable().await?;
    Ok(submitted)
}

/// A reviewer runs the rules on the version this level holds, which is what a
/// decision requires (R6). At a city node: the latest submitted version.
pub async fn reviewer_check(
    state: &NodeState,
    key: &ReportKey,
    form: &FormCode,
    period: PeriodId,
    by: &str,
    now: Timestamp,
) -> Result<Vec<Finding>, ReportServiceError> {
    if state.config.level() == NodeLevel::City {
        let status = state.reports.status.get(&key.to_bytes())?.ok_or_else(|| {
            ReportServiceError::NotFound(
                "报表尚未提交 / the report has not been submitted".to_string(),
            )
        })?;
        let number = status.latest_version.ok_or(ReportError::NoDraft)?;
        let version = state
            .reports
            .version(key, number)?
            .ok_or(ReportError::NoDraft)?;
        let findings = run_rules(state, key, form, period, &version.content)?;
        let (errors, warnings) = counts(&findings);
        state.reports.change_status(
            &state.store,
            &state.audit,
            key,
            "report.rules_run",
            by,
            now,
            |status| super::record_rule_run(status, errors, warnings, by, now),
        )?;
        state.store.commit_durable().await?;
        return Ok(findings);
    }
    let received = state.review.received.get(&key.to_bytes())?.ok_or_else(|| {
        ReportServiceError::NotFound(
            "本级尚未收到该报表 / this level has not received the report".to_string(),
        )
    })?;
    let content = ReportContent {
        values: received.report.values.clone(),
        rows: received.report.rows.clone(),
        explanations: received.report.explanations.clone(),
    };
    let findings = run_rules_with(state, key, form, period, &content, History::Received)?;
    let (errors, warnings) = counts(&findings);
    let next = crate::review::record_rule_run(&received, errors, warnings, by, now);
    state.review.received.insert(&key.to_bytes(), &next)?;
    state.store.commit_durable().await?;
    Ok(findings)
}

/// Approve at this level (city: forwards up; province: forwards with the city's
/// signed batch; national: accepts).
pub async fn approve(
    state: &NodeState,
    key: &ReportKey,
    comment: Option<String>,
    by: &str,
    now: Timestamp,
) -> Result<String, ReportServiceError> {
    if state.config.level() == NodeLevel::City {
        let (_, unit) = unit_facts(state, &key.unit)?;
        let status = crate::review::flow::city_approve(state, key, &unit, comment, by, now).await?;
        Ok(status.state.as_str().to_string())
    } else {
        let received = crate::review::flow::upper_approve(state, key, comment, by, now).await?;
        Ok(received.state.as_str().to_string())
    }
}

/// City: back to the unit with comments and a deadline.
pub async fn return_to_unit(
    state: &NodeState,
    key: &ReportKey,
    comments: Vec<Comment>,
    due: Timestamp,
    by: &str,
    now: Timestamp,
) -> Result<ReportStatus, ReportServiceError> {
    if state.config.level() != NodeLevel::City {
        return Err(ReportServiceError::WrongLevel(
            "return to unit is the city's; upper levels send feedback",
        ));
    }
    let status = state.reports.change_status(
        &state.store,
        &state.audit,
        key,
        "report.return",
        by,
        now,
        |status| super::return_to_unit(status, comments.clone(), due, by, now),
    )?;
    state.store.commit_durable().await?;
    Ok(status)
}

/// Province or national: feedback down to the city.
pub async fn feedback(
    state: &NodeState,
    key: &ReportKey,
    comments: Vec<Comment>,
    by: &str,
    now: Timestamp,
) -> Result<String, ReportServiceError> {
    if state.config.level() == NodeLevel::City {
        return Err(ReportServiceError::WrongLevel(
            "feedback is sent by province and national reviewers",
        ));
    }
    let received = crate::review::flow::upper_feedback(state, key, comments, by, now).await?;
    Ok(received.state.as_str().to_string())
}

/// City: annotate an upper level's feedback and send the report up again.
pub async fn annotate(
    state: &NodeState,
    key: &ReportKey,
    text: &str,
    by: &str,
    now: Timestamp,
) -> Result<ReportStatus, ReportServiceError> {
    if state.config.level() != NodeLevel::City {
        return Err(ReportServiceError::WrongLevel(
            "annotation is the city's answer to feedback",
        ));
    }
    let (_, unit) = unit_facts(state, &key.unit)?;
    Ok(crate::review::flow::city_annotate(state, key, &unit, text, by, now).await?)
}

/// The unit's name in the registry, if the unit is there.
pub fn unit_name(state: &NodeState, unit: &str) -> Option<String> {
    unit_facts(state, unit)
        .ok()
        .map(|(_, on_report)| on_report.name)
}

/// The content a template starts from: the draft, else the latest version.
fn content_to_prefill(
    state: &NodeState,
    key: &ReportKey,
) -> Result<Option<ReportContent>, ReportServiceError> {
    if let Some(draft) = state.reports.drafts.get(&key.to_bytes())? {
        return Ok(Some(draft.content));
    }
    Ok(state.reports.latest_content(key)?)
}

/// The previous period's latest submitted content of the same unit and form.
pub fn previous_period_content(
    state: &NodeState,
    key: &ReportKey,
    period: PeriodId,
) -> Result<Option<ReportContent>, ReportServiceError> {
    let Some(previous_period) = period.previous() else {
        return Ok(None);
    };
    let previous_key = ReportKey {
        period: previous_period.to_string(),
        ..key.clone()
    };
    Ok(state.reports.latest_content(&previous_key)?)
}

fn forms_of_workbook(
    standards: &super::standards::Standards,
    key: &ReportKey,
) -> Result<(crate::metadata::Form, Option<crate::metadata::Form>), ReportServiceError> {
    let form = form_of(&standards.metadata, &key.form)
        .ok_or_else(|| ReportServiceError::NotFound(format!("no form {}", key.form)))?
        .clone();
    let row_form = super::facts::row_form_for(&standards.metadata, &form).cloned();
    Ok((form, row_form))
}

/// The offline-entry template of a report (R37): its indicators, the previous
/// period's values for reference and what the unit has entered so far.
pub fn offline_template(
    state: &NodeState,
    key: &ReportKey,
    period: PeriodId,
) -> Result<Vec<u8>, ReportServiceError> {
    let standards = state.standards();
    let (form, row_form) = forms_of_workbook(&standards, key)?;
    let previous = previous_period_content(state, key, period)?;
    let current = content_to_prefill(state, key)?;
    let unit_name = unit_name(state, &key.unit).unwrap_or_default();
    Ok(super::workbook::write_workbook(
        &super::workbook::WorkbookContents {
            key,
            unit_name: &unit_name,
            form: &form,
            row_form: row_form.as_ref(),
            previous: previous.as_ref(),
            current: current.as_ref(),
            record: None,
        },
    )?)
}

/// A submitted version as a read-only workbook: the unit's copy of record (R40).
pub fn copy_of_record(
    state: &NodeState,
    key: &ReportKey,
    number: u32,
) -> Result<Vec<u8>, ReportServiceError> {
    let standards = state.standards();
    let (form, row_form) = forms_of_workbook(&standards, key)?;
    let version = state.reports.version(key, number)?.ok_or_else(|| {
        ReportServiceError::NotFound(format!("没有第 {number} 版 / there is no version {number}"))
    })?;
    let unit_name = unit_name(state, &key.unit).unwrap_or_default();
    Ok(super::workbook::write_workbook(
        &super::workbook::WorkbookContents {
            key,
            unit_name: &unit_name,
            form: &form,
            row_form: row_form.as_ref(),
            previous: None,
            current: Some(&version.content),
            record: Some(super::workbook::RecordStamp {
                version: version.number,
                submitted_at: crate::metadata::period::beijing_time_text(Timestamp(
                    version.submitted_at_ms,
                )),
                submitted_by: version.submitted_by.clone(),
                content_hash: version.content_hash.clone(),
            }),
        },
    )?)
}

/// The unit uploads a filled template: read and checked as a whole (a file
/// with any wrong cell stores nothing), then saved as the draft exactly like
/// online entry, and the effective rules run on it. The explanations already
/// typed online are kept.
pub async fn save_draft_from_workbook(
    state: &NodeState,
    key: &ReportKey,
    form: &FormCode,
    period: PeriodId,
    bytes: &[u8],
    by: &str,
    now: Timestamp,
) -> Result<(Draft, Vec<Finding>), ReportServiceError> {
    check_window(state, key, form, period, Stage::UnitEntry, now)?;
    let content = {
        let standards = state.standards();
        let (form_definition, row_form) = forms_of_workbook(&standards, key)?;
        let uploaded =
            super::workbook::read_workbook(bytes, key, &form_definition, row_form.as_ref())?;
        let explanations = state
            .reports
            .drafts
            .get(&key.to_bytes())?
            .map(|draft| draft.content.explanations)
            .unwrap_or_default();
        let content = ReportContent {
            values: uploaded.values.clone(),
            rows: uploaded.rows.clone(),
            explanations,
        };
        if let Err(problems) = parse_content(&standards.metadata, &form_definition, &content) {
            return Err(
                super::workbook::UploadError::Cells(uploaded.place_problems(problems)).into(),
            );
        }
        content
    };
    let draft = save_draft(state, key, form, period, content, None, by, now).await?;
    let findings = run_rules(state, key, form, period, &draft.content)?;
    Ok((draft, findings))
}
