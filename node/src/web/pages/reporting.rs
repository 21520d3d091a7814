//! The enterprise's pages: its home (its reports of the periods being
//! reported) and the form page, where it fills, checks and submits a report.
//! Actions are plain form POSTs with an `action` field (`save`, `check`,
//! `submit`) that call [`crate::report::service`].

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};

use super::i18n::{Lang, catalogue, format_number, format_time};
use super::{Chrome, Crumb, OrPage, Page, PageError, check_csrf, field, message_of, render};
use crate::clock::Timestamp;
use crate::metadata::period::PeriodId;
use crate::metadata::{Form as FormDefinition, IndicatorGroup, PeriodKind, ValueKind};
use crate::node::NodeState;
use crate::report::facts::ValueProblem;
use crate::report::service::{self, ReportServiceError};
use crate::report::{ReportContent, ReportKey, ReportState};
use crate::rules::{Finding, Severity};
use crate::web::auth::EnterpriseUser;
use crate::web::error::ApiError;

/// The enterprise pages.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/home", get(home))
        .route(
            "/reports/{unit}/{form}/{period}",
            get(form_page).post(act_on_report),
        )
        .route(
            "/reports/{unit}/{form}/{period}/upload",
            post(upload_workbook).layer(axum::extract::DefaultBodyLimit::max(
                crate::report::workbook::UPLOAD_LIMITS.max_bytes + 64 * 1024,
            )),
        )
}

/// One of the unit's reports on its home page.
#[derive(Debug)]
struct ReportLink {
    href: String,
    form: String,
    form_name: String,
    period: String,
    state: String,
}

/// The enterprise home page.
#[derive(Debug, Template)]
#[template(path = "home.html")]
struct HomeTemplate {
    chrome: Chrome,
    unit: String,
    unit_name: String,
    reports: Vec<ReportLink>,
    /// The unit's reports of earlier periods, newest first: its records (R40).
    earlier: Vec<EarlierReport>,
}

/// A report of an earlier period on the home page.
#[derive(Debug)]
struct EarlierReport {
    form: String,
    period: String,
    state: String,
    version: u32,
    print_href: String,
    record_href: String,
}

/// Every report of the unit outside the periods being reported, newest period first.
fn earlier_reports(
    state: &NodeState,
    lang: Lang,
    unit: &str,
    current: &[ReportLink],
) -> Vec<EarlierReport> {
    let mut prefix = unit.as_bytes().to_vec();
    prefix.push(0);
    let mut earlier: Vec<EarlierReport> = state
        .reports
        .status
        .scan_prefix(&prefix)
        .filter_map(Result::ok)
        .filter_map(|(key_bytes, status)| {
            let key = ReportKey::from_bytes(&key_bytes)?;
            let version = status.latest_version?;
            let is_current = current
                .iter()
                .any(|link| link.form == key.form && link.period == key.period);
            (!is_current).then(|| EarlierReport {
                print_href: format!(
                    "/reports/{}/{}/{}/print?version={version}",
                    key.unit, key.form, key.period
                ),
                record_href: format!(
                    "/api/v1/reports/{}/{}/{}/versions/{version}/record.xlsx",
                    key.unit, key.form, key.period
                ),
                state: state_label(state, lang, &key),
                form: key.form,
                period: key.period,
                version,
            })
        })
        .collect();
    earlier.sort_by(|left, right| {
        right
            .period
            .cmp(&left.period)
            .then(left.form.cmp(&right.form))
    });
    earlier
}

/// The unit's name from the registry (its code when unknown).
fn unit_name(state: &NodeState, unit: &str) -> String {
    service::unit_name(state, unit).unwrap_or_else(|| unit.to_string())
}

/// The translated state of a report at this node.
fn state_label(state: &NodeState, lang: Lang, key: &ReportKey) -> String {
    let word = state
        .reports
        .status
        .get(&key.to_bytes())
        .ok()
        .flatten()
        .map(|status| status.state.as_str())
        .or_else(|| {
            state
                .reports
                .drafts
                .get(&key.to_bytes())
                .ok()
                .flatten()
                .map(|_| "draft")
        })
        .unwrap_or("not_started");
    catalogue(lang.language)
        .t(&format!("state.{word}"))
        .to_string()
}

/// # `GET /home`
/// The unit, and its reports for the periods being reported.
async fn home(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<EnterpriseUser>,
) -> Result<Response, PageError> {
    let mut chrome = Chrome::signed_in(&state, lang, &who.signed_in, "home.title", "nav.home");
    let name = unit_name(&state, &who.unit);
    chrome.crumbs.push(Crumb {
        href: None,
        label: name.clone(),
    });
    let standards = state.standards();
    let reports: Vec<ReportLink> = standards
        .metadata
        .forms
        .iter()
        .filter(|form| !form.row_form)
        .map(|form| {
            let period = match form.period_kind {
                PeriodKind::Annual => standards.annual_period,
                PeriodKind::Quarterly => standards.quarterly_period,
            };
            let key = ReportKey {
                unit: who.unit.clone(),
                form: form.code.as_str().to_string(),
                period: period.to_string(),
            };
            ReportLink {
                href: format!("/reports/{}/{}/{}", key.unit, key.form, key.period),
                form: key.form.clone(),
                form_name: form_name(form, lang),
                period: key.period.clone(),
                state: state_label(&state, lang, &key),
            }
        })
        .collect();
    let earlier = earlier_reports(&state, lang, &who.unit, &reports);
    let page = HomeTemplate {
        chrome,
        unit: who.unit.clone(),
        unit_name: name,
        reports,
        earlier,
    };
    render(lang, &page)
}

fn form_name(form: &FormDefinition, lang: Lang) -> String {
    match lang.language {
        super::i18n::Language::Zh => form.name_zh.clone(),
        super::i18n::Language::En => form.name_en.clone(),
    }
}

/// A finding as a page shows it.
#[derive(Debug, Clone)]
pub struct FindingView {
    /// The rule id (names the explanation field).
    pub rule: String,
    /// 错误 / 提示.
    pub severity: String,
    /// A warning (may be explained) rather than an error.
    pub is_warning: bool,
    /// The rule's message in the page language.
    pub message: String,
    /// The explanation already written.
    pub explanation: String,
}

/// One indicator row of the form page.
#[derive(Debug)]
struct IndicatorRow {
    code: String,
    key: String,
    name: String,
    measure: String,
    value: String,
    previous: String,
    problem: Option<String>,
    findings: Vec<FindingView>,
    /// The reviewer's comments on this indicator (while returned).
    comments: Vec<String>,
    numeric: bool,
    options: Vec<(String, String)>,
}

/// A comment of the reviewer who returned the report.
#[derive(Debug)]
struct ReturnedComment {
    /// `G101-15 化学需氧量排放量` when about one indicator.
    indicator: Option<String>,
    /// `#row-{key}`: the field it concerns, on this page.
    anchor: Option<String>,
    text: String,
}

/// One section of the paper form.
#[derive(Debug)]
struct GroupView {
    title: String,
    rows: Vec<IndicatorRow>,
    /// Kept as hidden fields (the values survive a save) but not shown:
    /// the short path of a unit stopped all year.
    collapsed: bool,
}

/// A column of the facility rows (G103), as the table header shows it.
#[derive(Debug)]
struct ColumnView {
    code: String,
    name: String,
    measure: String,
}

/// One cell of a facility row.
#[derive(Debug)]
struct RowCell {
    /// `r-{index}-{key}` (the label's target).
    id: String,
    /// `r.{index}.{key}` (the posted field).
    name: String,
    /// "第 2 行 设施名称": the cell's label for screen readers.
    label: String,
    value: String,
    numeric: bool,
    options: Vec<(String, String)>,
    /// What is wrong with the value (`rows[i].key` problems).
    problem: Option<String>,
}

/// One facility row: the filled ones, then blanks.
#[derive(Debug)]
struct FacilityRow {
    number: usize,
    cells: Vec<RowCell>,
}

/// The facility rows (G103) filled on the G101 page.
#[derive(Debug)]
struct RowsView {
    title: String,
    columns: Vec<ColumnView>,
    rows: Vec<FacilityRow>,
    /// How many rows the page shows (posted back, so "more rows" adds to it).
    slots: usize,
    /// Kept as hidden fields only (a unit stopped all year).
    collapsed: bool,
}

/// One submitted version, with its copy of record.
#[derive(Debug)]
struct VersionLink {
    number: u32,
    submitted_at: String,
    hash_short: String,
    href: String,
    print_href: String,
}

/// The form page.
#[derive(Debug, Template)]
#[template(path = "form.html")]
struct FormTemplate {
    chrome: Chrome,
    action_url: String,
    /// The JSON API the autosave script PUTs the draft to; `None` when the
    /// report cannot be edited now (submitted, approved): no script then.
    draft_api_url: Option<String>,
    state: String,
    revision: String,
    groups: Vec<GroupView>,
    facility_rows: Option<RowsView>,
    other_findings: Vec<FindingView>,
    returned_due: Option<String>,
    returned_comments: Vec<ReturnedComment>,
    template_url: String,
    print_url: String,
    upload_problems: Vec<String>,
    versions: Vec<VersionLink>,
    stopped_short: bool,
}

/// A finding in the page language.
pub fn finding_view(lang: Lang, finding: &Finding, content: &ReportContent) -> FindingView {
    let catalogue = catalogue(lang.language);
    let is_warning = finding.severity == Severity::Warning;
    FindingView {
        rule: finding.rule_id.as_str().to_string(),
        severity: catalogue
            .t(if is_warning {
                "form.warning"
            } else {
                "form.error"
            })
            .to_string(),
        is_warning,
        message: match lang.language {
            super::i18n::Language::Zh => finding.message_zh.clone(),
            super::i18n::Language::En => finding.message_en.clone(),
        },
        explanation: content
            .explanations
            .get(finding.rule_id.as_str())
            .cloned()
            .unwrap_or_default(),
    }
}

fn group_key(group: IndicatorGroup) -> &'static str {
    match group {
        IndicatorGroup::General => "group.general",
        IndicatorGroup::Water => "group.water",
        IndicatorGroup::WaterPollutants => "group.water_pollutants",
        IndicatorGroup::Air => "group.air",
        IndicatorGroup::SolidWaste => "group.solid_waste",
        IndicatorGroup::HazardousWaste => "group.hazardous_waste",
    }
}

/// The latest submitted values of the previous period, if any.
fn previous_values(
    state: &NodeState,
    key: &ReportKey,
    period: PeriodId,
) -> BTreeMap<String, String> {
    service::previous_period_content(state, key, period)
        .ok()
        .flatten()
        .map(|content| content.values)
        .unwrap_or_default()
}

/// What the form page shows, apart from the key.
struct Shown<'a> {
    content: &'a ReportContent,
    problems: &'a [ValueProblem],
    findings: &'a [Finding],
    notice: Option<String>,
    error: Option<String>,
    /// Every indicator, even when production stopped all year.
    show_all: bool,
    /// What was wrong in an uploaded workbook, one line per cell.
    upload_problems: Vec<String>,
    /// Facility rows asked for (`?rows=`, or "more rows"); at least the
    /// filled ones and [`BLANK_ROWS`] blanks are shown.
    row_slots: usize,
}

/// The most facility rows a page shows or reads: a bound on what one POST
/// can make the node build.
const MAX_ROW_SLOTS: usize = 500;

/// Blank facility rows shown below the filled ones, and added by "more rows".
const BLANK_ROWS: usize = 3;

/// How many facility rows to show: the filled ones and some blanks, or more
/// if asked, never more than [`MAX_ROW_SLOTS`].
fn row_slots(filled: usize, asked: usize) -> usize {
    asked
        .max(filled + BLANK_ROWS)
        .min(MAX_ROW_SLOTS.max(filled))
}

/// The message of a value problem in the page language.
fn problem_text(lang: Lang, problem: &ValueProblem) -> String {
    lang.language
        .pick(&format!("{} / {}", problem.message_zh, problem.message_en))
        .to_string()
}

/// The facility-row table: the content's rows, then blanks up to `slots`.
fn rows_view(
    lang: Lang,
    row_form: &FormDefinition,
    content: &ReportContent,
    problems: &[ValueProblem],
    slots: usize,
    collapsed: bool,
) -> RowsView {
    let catalogue = catalogue(lang.language);
    let slots = row_slots(content.rows.len(), slots);
    let name_of = |column: &crate::metadata::Indicator| match lang.language {
        super::i18n::Language::Zh => column.name_zh.clone(),
        super::i18n::Language::En => column.name_en.clone(),
    };
    let rows = (0..slots)
        .map(|index| {
            let filled = content.rows.get(index);
            let cells = row_form
                .row_columns
                .iter()
                .map(|column| {
                    let key = column.key.as_str();
                    let place = format!("rows[{index}].{key}");
                    RowCell {
                        id: format!("r-{index}-{key}"),
                        name: format!("r.{index}.{key}"),
                        label: format!(
                            "{} {}",
                            catalogue.count("form.row_n", index + 1),
                            name_of(column)
                        ),
                        value: filled
                            .and_then(|row| row.get(key))
                            .cloned()
                            .unwrap_or_default(),
                        numeric: column.kind.is_numeric(),
                        options: options_of(&column.kind),
                        problem: problems
                            .iter()
                            .find(|problem| problem.indicator == place)
                            .map(|problem| problem_text(lang, problem)),
                    }
                })
                .collect();
            FacilityRow {
                number: index + 1,
                cells,
            }
        })
        .collect();
    RowsView {
        title: format!("{} {}", row_form.code.as_str(), form_name(row_form, lang)),
        columns: row_form
            .row_columns
            .iter()
            .map(|column| ColumnView {
                code: column.code.as_str().to_string(),
                name: name_of(column),
                measure: column.unit.clone(),
            })
            .collect(),
        rows,
        slots,
        collapsed,
    }
}

/// The choices of an enumerated indicator (none for other kinds).
fn options_of(kind: &ValueKind) -> Vec<(String, String)> {
    match kind {
        ValueKind::Enum { options } => options
            .iter()
            .map(|option| (option.value.clone(), option.label_zh.clone()))
            .collect(),
        ValueKind::Decimal { .. } | ValueKind::Integer | ValueKind::Text { .. } => Vec::new(),
    }
}

/// Lays out the form page: indicators by section, findings at the fields they concern.
fn form_template(
    state: &NodeState,
    lang: Lang,
    who: &EnterpriseUser,
    key: &ReportKey,
    definition: &FormDefinition,
    period: PeriodId,
    shown: Shown<'_>,
) -> FormTemplate {
    let catalogue = catalogue(lang.language);
    let mut chrome = Chrome::signed_in(state, lang, &who.signed_in, "nav.home", "nav.home");
    chrome.title = format!(
        "{} {} {}",
        definition.code.as_str(),
        form_name(definition, lang),
        key.period
    );
    chrome.crumbs.push(Crumb {
        href: Some("/home".to_string()),
        label: unit_name(state, &key.unit),
    });
    chrome.crumbs.push(Crumb {
        href: None,
        label: format!("{} {}", key.form, key.period),
    });
    chrome.notice = shown.notice;
    chrome.error = shown.error;
    let previous = previous_values(state, key, period);
    // A unit stopped all year fills the general section only (R29); any value
    // it typed before stays in the draft as a hidden field.
    let stopped_short = !shown.show_all
        && shown
            .content
            .values
            .get("production_status")
            .is_some_and(|status| status == "stopped");
    let status = state.reports.status.get(&key.to_bytes()).ok().flatten();
    let editable = status
        .as_ref()
        .is_none_or(|status| matches!(status.state, ReportState::Draft | ReportState::Returned));
    let returned = status
        .as_ref()
        .filter(|status| status.state == ReportState::Returned)
        .and_then(|status| status.returned.clone());
    let mut placed = vec![false; shown.findings.len()];
    let mut groups: Vec<GroupView> = Vec::new();
    for indicator in &definition.indicators {
        let key_text = indicator.key.as_str();
        let mut findings = Vec::new();
        for (index, finding) in shown.findings.iter().enumerate() {
            if !placed[index]
                && finding
                    .indicators
                    .iter()
                    .any(|concerned| concerned.as_str() == key_text)
            {
                placed[index] = true;
                findings.push(finding_view(lang, finding, shown.content));
            }
        }
        let row = IndicatorRow {
            code: indicator.code.as_str().to_string(),
            key: key_text.to_string(),
            name: match lang.language {
                super::i18n::Language::Zh => indicator.name_zh.clone(),
                super::i18n::Language::En => indicator.name_en.clone(),
            },
            measure: indicator.unit.clone(),
            value: shown
                .content
                .values
                .get(key_text)
                .cloned()
                .unwrap_or_default(),
            previous: previous
                .get(key_text)
                .map(String::as_str)
                .map(format_number)
                .unwrap_or_default(),
            problem: shown
                .problems
                .iter()
                .find(|problem| problem.indicator == key_text)
                .map(|problem| problem_text(lang, problem)),
            findings,
            comments: returned
                .iter()
                .flat_map(|returned| &returned.comments)
                .filter(|comment| comment.indicator.as_deref() == Some(key_text))
                .map(|comment| comment.text.clone())
                .collect(),
            numeric: indicator.kind.is_numeric(),
            options: options_of(&indicator.kind),
        };
        let title = catalogue.t(group_key(indicator.group)).to_string();
        match groups.last_mut() {
            Some(group) if group.title == title => group.rows.push(row),
            _ => groups.push(GroupView {
                title,
                rows: vec![row],
                collapsed: stopped_short && indicator.group != IndicatorGroup::General,
            }),
        }
    }
    let facility_rows = crate::report::facts::row_form_for(&state.standards().metadata, definition)
        .filter(|row_form| row_form.code != definition.code)
        .map(|row_form| {
            rows_view(
                lang,
                row_form,
                shown.content,
                shown.problems,
                shown.row_slots,
                stopped_short,
            )
        });
    let other_findings = shown
        .findings
        .iter()
        .zip(&placed)
        .filter(|(_, placed)| !**placed)
        .map(|(finding, _)| finding_view(lang, finding, shown.content))
        .collect();
    let revision = state
        .reports
        .drafts
        .get(&key.to_bytes())
        .ok()
        .flatten()
        .map(|draft| draft.revision.to_string())
        .unwrap_or_default();
    let versions = state
        .reports
        .versions_of(key)
        .unwrap_or_default()
        .into_iter()
        .rev()
        .map(|version| VersionLink {
            number: version.number,
            submitted_at: format_time(version.submitted_at_ms),
            hash_short: version.content_hash.chars().take(16).collect(),
            href: format!(
                "/api/v1/reports/{}/{}/{}/versions/{}/record.xlsx",
                key.unit, key.form, key.period, version.number
            ),
            print_href: super::print::print_href(key, Some(version.number)),
        })
        .collect();
    FormTemplate {
        template_url: format!(
            "/api/v1/reports/{}/{}/{}/template.xlsx",
            key.unit, key.form, key.period
        ),
        upload_problems: shown.upload_problems,
        print_url: super::print::print_href(key, None),
        versions,
        stopped_short,
        chrome,
        action_url: format!("/reports/{}/{}/{}", key.unit, key.form, key.period),
        draft_api_url: editable.then(|| {
            format!(
                "/api/v1/reports/{}/{}/{}/draft",
                key.unit, key.form, key.period
            )
        }),
        state: state_label(state, lang, key),
        revision,
        groups,
        facility_rows,
        other_findings,
        returned_due: returned
            .as_ref()
            .map(|returned| format_time(returned.due_ms)),
        returned_comments: returned
            .map(|returned| {
                returned
                    .comments
                    .into_iter()
                    .map(|comment| {
                        let indicator = comment
                            .indicator
                            .as_deref()
                            .and_then(|key| definition.indicator(key));
                        ReturnedComment {
                            indicator: comment.indicator.as_ref().map(|key| {
                                indicator.map_or_else(
                                    || key.clone(),
                                    |indicator| {
                                        let name = match lang.language {
                                            super::i18n::Language::Zh => &indicator.name_zh,
                                            super::i18n::Language::En => &indicator.name_en,
                                        };
                                        format!("{} {name}", indicator.code.as_str())
                                    },
                                )
                            }),
                            anchor: indicator
                                .map(|indicator| format!("#row-{}", indicator.key.as_str())),
                            text: comment.text,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The parsed key, the form definition and the period, for the caller's own unit only.
fn own_report(
    state: &NodeState,
    who: &EnterpriseUser,
    (unit, form, period): &(String, String, String),
) -> Result<
    (
        ReportKey,
        crate::metadata::FormCode,
        PeriodId,
        FormDefinition,
    ),
    ApiError,
> {
    if &who.unit != unit {
        return Err(ApiError::Report(ReportServiceError::NotFound(format!(
            "没有单位 {unit} 的报表 / no reports of unit {unit} here"
        ))));
    }
    let (key, form_code, period_id) = service::checked_key(state, unit, form, period)?;
    let definition = state
        .standards()
        .metadata
        .form(&form_code)
        .cloned()
        .ok_or_else(|| ApiError::Report(ReportServiceError::NotFound(format!("no form {form}"))))?;
    Ok((key, form_code, period_id, definition))
}

/// The notices a redirect may name.
#[derive(Debug, serde::Deserialize)]
struct FormQuery {
    notice: Option<String>,
    /// `?all=1`: every indicator, even for a unit stopped all year.
    all: Option<String>,
    /// `?rows=N`: show N facility rows (after "more rows").
    rows: Option<usize>,
}

/// # `GET /reports/{unit}/{form}/{period}`
/// The form: the draft (or the latest version), previous-period values, and
/// the findings of the draft at the fields they concern.
async fn form_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<EnterpriseUser>,
    Path(path): Path<(String, String, String)>,
    Query(query): Query<FormQuery>,
) -> Result<Response, PageError> {
    let (key, form_code, period, definition) = own_report(&state, &who, &path).or_page(lang)?;
    let draft = state.reports.drafts.get(&key.to_bytes()).or_page(lang)?;
    let content = match draft {
        Some(draft) => draft.content,
        None => latest_content(&state, &key).unwrap_or_default(),
    };
    let findings =
        service::run_rules(&state, &key, &form_code, period, &content).unwrap_or_default();
    let catalogue = catalogue(lang.language);
    let notice = match query.notice.as_deref() {
        Some("saved") => Some(catalogue.t("form.saved")),
        Some("checked") if findings.is_empty() => Some(catalogue.t("form.no_findings")),
        Some("checked") => Some(catalogue.t("form.checked")),
        Some("submitted") => Some(catalogue.t("form.submitted")),
        Some("uploaded") => Some(catalogue.t("form.uploaded")),
        _ => None,
    }
    .map(str::to_string);
    let shown = Shown {
        content: &content,
        problems: &[],
        findings: &findings,
        notice,
        error: None,
        show_all: query.all.is_some(),
        upload_problems: Vec::new(),
        row_slots: query.rows.unwrap_or_default(),
    };
    render(
        lang,
        &form_template(&state, lang, &who, &key, &definition, period, shown),
    )
}

fn latest_content(state: &NodeState, key: &ReportKey) -> Option<ReportContent> {
    state.reports.latest_content(key).ok().flatten()
}

/// The facility rows of a posted form (`r.{index}.{column}`), in index
/// order: blank cells are left out, blank rows dropped (so the rows are
/// renumbered without gaps), unknown columns and indices past
/// [`MAX_ROW_SLOTS`] ignored.
fn rows_from_form(
    row_columns: &[crate::metadata::Indicator],
    form: &[(String, String)],
) -> Vec<BTreeMap<String, String>> {
    let mut rows: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    for (name, value) in form {
        let Some((index, column)) = name
            .strip_prefix("r.")
            .and_then(|rest| rest.split_once('.'))
        else {
            continue;
        };
        let (Ok(index), Some(column)) = (
            index.parse::<usize>(),
            row_columns
                .iter()
                .find(|known| known.key.as_str() == column),
        ) else {
            continue;
        };
        let value = value.trim();
        if index < MAX_ROW_SLOTS && !value.is_empty() {
            rows.entry(index)
                .or_default()
                .insert(column.key.as_str().to_string(), value.to_string());
        }
    }
    rows.into_values().collect()
}

/// The values (`v.{key}`), facility rows (`r.{index}.{column}`) and
/// explanations (`x.{rule}`) of a posted form.
fn content_from_form(
    definition: &FormDefinition,
    row_form: Option<&FormDefinition>,
    form: &[(String, String)],
) -> ReportContent {
    let mut content = ReportContent::default();
    for indicator in &definition.indicators {
        let name = format!("v.{}", indicator.key.as_str());
        if let Some(value) = field(form, &name)
            .map(str::trim)
            .filter(|value| !value.is_empty())
        {
            content
                .values
                .insert(indicator.key.as_str().to_string(), value.to_string());
        }
    }
    for (name, text) in form {
        if let Some(rule) = name.strip_prefix("x.")
            && !text.trim().is_empty()
        {
            content.explanations.insert(rule.to_string(), text.clone());
        }
    }
    if let Some(row_form) = row_form {
        content.rows = rows_from_form(&row_form.row_columns, form);
    }
    content
}

/// # `POST /reports/{unit}/{form}/{period}` (`action` = `save` | `check` | `submit`)
/// Saves the draft, then checks or submits it. Refusals re-render the form
/// with the messages at the fields.
async fn act_on_report(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<EnterpriseUser>,
    Path(path): Path<(String, String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_csrf(&who.signed_in, field(&form, "csrf")).or_page(lang)?;
    let (key, form_code, period, definition) = own_report(&state, &who, &path).or_page(lang)?;
    let row_form = crate::report::facts::row_form_for(&state.standards().metadata, &definition)
        .filter(|row_form| row_form.code != definition.code)
        .cloned();
    let content = content_from_form(&definition, row_form.as_ref(), &form);
    let revision = field(&form, "revision").and_then(|text| text.parse().ok());
    let action = field(&form, "action").unwrap_or("save");
    // "More rows" saves like "save" and shows more blank rows.
    let shown_slots: usize = field(&form, "row_slots")
        .and_then(|text| text.parse().ok())
        .unwrap_or_default();
    let asked_slots = if action == "more_rows" {
        row_slots(content.rows.len(), shown_slots + BLANK_ROWS)
    } else {
        shown_slots
    };
    let username = who.signed_in.account.username.clone();
    let now = Timestamp::now_from_system_clock();
    let page_url = format!("/reports/{}/{}/{}", key.unit, key.form, key.period);
    let saved = service::save_draft(
        &state,
        &key,
        &form_code,
        period,
        content.clone(),
        revision,
        &username,
        now,
    )
    .await;
    let refusal = match saved {
        Ok(_) if action == "submit" => {
            match service::submit(&state, &key, &form_code, period, None, &username, now).await {
                Ok(_) => return Ok(super::see_other(&format!("{page_url}?notice=submitted"))),
                Err(refusal) => refusal,
            }
        }
        Ok(_) if action == "check" => {
            return Ok(super::see_other(&format!("{page_url}?notice=checked")));
        }
        Ok(_) if action == "more_rows" => {
            return Ok(super::see_other(&format!(
                "{page_url}?notice=saved&rows={asked_slots}"
            )));
        }
        Ok(_) => return Ok(super::see_other(&format!("{page_url}?notice=saved"))),
        Err(refusal) => refusal,
    };
    let (problems, findings) = match &refusal {
        ReportServiceError::Values(problems) => (problems.clone(), Vec::new()),
        ReportServiceError::RulesFailed(findings) => (Vec::new(), findings.clone()),
        _ => (Vec::new(), Vec::new()),
    };
    let error = ApiError::Report(refusal);
    let (status, _) = error.status_and_code();
    if status.is_server_error() {
        return Err(PageError::new(lang, error));
    }
    let shown = Shown {
        content: &content,
        problems: &problems,
        findings: &findings,
        notice: None,
        error: Some(message_of(&error, lang)),
        show_all: false,
        upload_problems: Vec::new(),
        row_slots: asked_slots,
    };
    let page = form_template(&state, lang, &who, &key, &definition, period, shown);
    super::render_with_status(lang, StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// The parts of the upload form: the CSRF token and the workbook.
async fn upload_parts(
    mut multipart: axum::extract::Multipart,
) -> Result<(Option<String>, Vec<u8>), ApiError> {
    let unreadable = |error: axum::extract::multipart::MultipartError| ApiError::BadRequest {
        field: Some("workbook".to_string()),
        message: format!("上传的文件无法读取 / the uploaded file cannot be read: {error}"),
    };
    let (mut csrf, mut workbook) = (None, Vec::new());
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => csrf = Some(field.text().await.map_err(unreadable)?),
            Some("workbook") => workbook = field.bytes().await.map_err(unreadable)?.to_vec(),
            _ => {}
        }
    }
    Ok((csrf, workbook))
}

/// # `POST /reports/{unit}/{form}/{period}/upload` (multipart: `csrf`, `workbook`)
/// Offline entry from the page: the filled template becomes the draft, or
/// the form shows what is wrong in which cell (nothing saved).
async fn upload_workbook(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<EnterpriseUser>,
    Path(path): Path<(String, String, String)>,
    multipart: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let (csrf, workbook) = upload_parts(multipart).await.or_page(lang)?;
    check_csrf(&who.signed_in, csrf.as_deref()).or_page(lang)?;
    let (key, form_code, period, definition) = own_report(&state, &who, &path).or_page(lang)?;
    let page_url = format!("/reports/{}/{}/{}", key.unit, key.form, key.period);
    let username = who.signed_in.account.username.clone();
    let now = Timestamp::now_from_system_clock();
    let refusal = match service::save_draft_from_workbook(
        &state, &key, &form_code, period, &workbook, &username, now,
    )
    .await
    {
        Ok(_) => return Ok(super::see_other(&format!("{page_url}?notice=uploaded"))),
        Err(refusal) => refusal,
    };
    let upload_problems = match &refusal {
        ReportServiceError::Upload(crate::report::workbook::UploadError::Cells(problems)) => {
            problems
                .iter()
                .map(|problem| {
                    lang.language
                        .pick(&format!("{} / {}", problem.message_zh, problem.message_en))
                        .to_string()
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let error = ApiError::Report(refusal);
    let (status, _) = error.status_and_code();
    if status.is_server_error() {
        return Err(PageError::new(lang, error));
    }
    let content = match state.reports.drafts.get(&key.to_bytes()).or_page(lang)? {
        Some(draft) => draft.content,
        None => latest_content(&state, &key).unwrap_or_default(),
    };
    let shown = Shown {
        content: &content,
        problems: &[],
        findings: &[],
        notice: None,
        error: Some(message_of(&error, lang)),
        show_all: false,
        upload_problems,
        row_slots: 0,
    };
    let page = form_template(&state, lang, &who, &key, &definition, period, shown);
    super::render_with_status(lang, StatusCode::BAD_REQUEST, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::NationalStandard;

    fn g103_columns() -> Vec<crate::metadata::Indicator> {
        let standard = NationalStandard::default_standard().unwrap();
        standard
            .release
            .forms
            .iter()
            .find(|form| form.code.as_str() == "G103")
            .unwrap()
            .row_columns
            .clone()
    }

    fn posted(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn check(fields: &[(&str, &str)], expected: &[&[(&str, &str)]]) {
        let rows = rows_from_form(&g103_columns(), &posted(fields));
        let expected: Vec<BTreeMap<String, String>> = expected
            .iter()
            .map(|row| {
                row.iter()
                    .map(|(key, value)| (key.to_string(), value.to_string()))
                    .collect()
            })
            .collect();
        assert_eq!(rows, expected, "{fields:?}");
    }

    #[test]
    fn facility_rows_are_read_from_the_posted_cells() {
        check(&[], &[]);
        check(&[("r.0.facility_name", "  "), ("r.0.kind", "")], &[]);
        check(
            &[("r.0.facility_name", " 1号脱硫塔 "), ("r.0.kind", "desulf")],
            &[&[("facility_name", "1号脱硫塔"), ("kind", "desulf")]],
        );
        // Blank rows between filled ones are dropped; the order is the index order.
        check(
            &[
                ("r.10.hours", "100"),
                ("r.1.facility_name", ""),
                ("r.2.capacity", "12.5"),
            ],
            &[&[("capacity", "12.5")], &[("hours", "100")]],
        );
        // Unknown columns, bad indices and indices past the bound are ignored.
        check(
            &[
                ("r.0.colour", "red"),
                ("r.x.hours", "1"),
                ("r.-1.hours", "1"),
                ("r.500.hours", "1"),
                ("r.0", "1"),
                ("v.hours", "1"),
            ],
            &[],
        );
        // A value that does not parse is kept as typed, for the problem to name it.
        check(&[("r.0.hours", "lots")], &[&[("hours", "lots")]]);
    }

    #[test]
    fn the_page_shows_blank_rows_below_the_filled_ones() {
        assert_eq!(row_slots(0, 0), BLANK_ROWS);
        assert_eq!(row_slots(4, 0), 4 + BLANK_ROWS);
        assert_eq!(row_slots(1, 10), 10);
        assert_eq!(row_slots(0, 100_000), MAX_ROW_SLOTS);
        assert_eq!(row_slots(MAX_ROW_SLOTS + 2, 0), MAX_ROW_SLOTS + 2);
    }
}
