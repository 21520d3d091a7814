//! The print view of a report (R33): a page laid out like the official
//! paper form — title, unit and credit code, period, a table per section
//! (code, indicator, unit, value), the facility rows, the unit's
//! explanations, the version's content hash and time, and the signature
//! lines — for the paper archive. `@media print` hides the screen-only bar.
//!
//! The unit prints its draft or any of its versions; bureau users of the
//! unit's jurisdiction (and, above the city, reviewers and admins of a level
//! that received the report) print a version.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;

use super::i18n::{Lang, Language, catalogue, format_number, format_time};
use super::{OrPage, Page, PageError, render};
use crate::accounts::Role;
use crate::metadata::{Form as FormDefinition, Indicator, IndicatorGroup, ValueKind};
use crate::node::NodeState;
use crate::report::service::{self, ReportServiceError};
use crate::report::{ReportContent, ReportKey};
use crate::web::auth::{Caller, SignedIn};
use crate::web::error::ApiError;

/// The print route.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new().route("/reports/{unit}/{form}/{period}/print", get(print_page))
}

/// The link to the print view of a version (or of the draft).
pub fn print_href(key: &ReportKey, version: Option<u32>) -> String {
    let page = format!("/reports/{}/{}/{}/print", key.unit, key.form, key.period);
    match version {
        Some(number) => format!("{page}?version={number}"),
        None => page,
    }
}

/// One line of a section table.
#[derive(Debug)]
struct PrintLine {
    code: String,
    name: String,
    measure: String,
    value: String,
    numeric: bool,
}

/// One section of the paper form.
#[derive(Debug)]
struct PrintSection {
    title: String,
    lines: Vec<PrintLine>,
}

/// The facility rows as printed.
#[derive(Debug)]
struct PrintRows {
    title: String,
    /// (code, name, measure) of each column.
    columns: Vec<(String, String, String)>,
    rows: Vec<Vec<String>>,
}

/// What is printed: a version or the draft.
#[derive(Debug)]
struct Printed {
    content: ReportContent,
    /// `None` for the draft.
    version: Option<u32>,
    content_hash: String,
    /// When submitted (city) or approved by the level below (upper levels).
    time: Option<(&'static str, i64)>,
    unit_name: Option<String>,
}

/// The print page.
#[derive(Debug, Template)]
#[template(path = "print.html")]
struct PrintTemplate {
    lang: Lang,
    catalogue: &'static super::i18n::Catalogue,
    title: String,
    form_code: String,
    period: String,
    unit: String,
    unit_name: String,
    back_href: String,
    is_draft: bool,
    version: String,
    content_hash: String,
    time_label: String,
    time: String,
    sections: Vec<PrintSection>,
    facility_rows: Option<PrintRows>,
    explanations: Vec<(String, String)>,
}

impl PrintTemplate {
    fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.catalogue.t(key)
    }
}

/// `?version=N`.
#[derive(Debug, serde::Deserialize)]
struct PrintQuery {
    version: Option<u32>,
}

/// The value as the paper form shows it: an option's label, a grouped number, or the text.
pub fn printed_value(indicator: &Indicator, value: &str) -> String {
    match &indicator.kind {
        ValueKind::Enum { options } => options
            .iter()
            .find(|option| option.value == value)
            .map_or_else(|| value.to_string(), |option| option.label_zh.clone()),
        ValueKind::Decimal { .. } | ValueKind::Integer => format_number(value),
        ValueKind::Text { .. } => value.to_string(),
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

fn name_in(lang: Lang, zh: &str, en: &str) -> String {
    match lang.language {
        Language::Zh => zh.to_string(),
        Language::En => en.to_string(),
    }
}

/// The sections of the paper form, every indicator in its order.
fn sections_of(lang: Lang, form: &FormDefinition, content: &ReportContent) -> Vec<PrintSection> {
    let catalogue = catalogue(lang.language);
    let mut sections: Vec<PrintSection> = Vec::new();
    for indicator in &form.indicators {
        let line = PrintLine {
            code: indicator.code.as_str().to_string(),
            name: name_in(lang, &indicator.name_zh, &indicator.name_en),
            measure: indicator.unit.clone(),
            value: content
                .values
                .get(indicator.key.as_str())
                .map(|value| printed_value(indicator, value))
                .unwrap_or_default(),
            numeric: indicator.kind.is_numeric(),
        };
        let title = catalogue.t(group_key(indicator.group)).to_string();
        match sections.last_mut() {
            Some(section) if section.title == title => section.lines.push(line),
            _ => sections.push(PrintSection {
                title,
                lines: vec![line],
            }),
        }
    }
    sections
}

/// Who may print which report: the unit its own; bureau users their
/// jurisdiction; above the city, reviewers and admins what they received.
fn check_may_print(state: &NodeState, who: &SignedIn, key: &ReportKey) -> Result<(), ApiError> {
    let upper_holder = matches!(who.account.role, Role::Reviewer | Role::Admin)
        && state.review.received.get(&key.to_bytes())?.is_some();
    if upper_holder {
        return Ok(());
    }
    crate::web::reports::check_access(state, who, &key.unit)
}

/// The version asked for (or the latest), at a city from its own versions,
/// above from the versions it received; the unit's draft when no version is
/// named and the caller is the unit.
fn printed(
    state: &NodeState,
    who: &SignedIn,
    key: &ReportKey,
    version: Option<u32>,
) -> Result<Printed, ApiError> {
    let not_found = || {
        ApiError::Report(ReportServiceError::NotFound(format!(
            "没有这一版本 / no such version of {} {} {}",
            key.unit, key.form, key.period
        )))
    };
    let is_unit = matches!(who.account.role, Role::Enterprise { .. });
    if version.is_none()
        && is_unit
        && let Some(draft) = state.reports.drafts.get(&key.to_bytes())?
    {
        return Ok(Printed {
            content_hash: draft.content.content_hash(),
            content: draft.content,
            version: None,
            time: Some(("print.saved_at", draft.saved_at_ms)),
            unit_name: None,
        });
    }
    let status = state.reports.status.get(&key.to_bytes())?;
    if let Some(number) = version.or(status.and_then(|status| status.latest_version))
        && let Some(own) = state.reports.version(key, number)?
    {
        return Ok(Printed {
            content: own.content,
            version: Some(own.number),
            content_hash: own.content_hash,
            time: Some(("form.submitted_at", own.submitted_at_ms)),
            unit_name: None,
        });
    }
    if is_unit {
        return if version.is_none() {
            Ok(Printed {
                content_hash: ReportContent::default().content_hash(),
                content: ReportContent::default(),
                version: None,
                time: None,
                unit_name: None,
            })
        } else {
            Err(not_found())
        };
    }
    let seen = state.review.versions_of(key)?;
    let wanted = match version {
        Some(number) => seen.into_iter().find(|report| report.version == number),
        None => seen.into_iter().last(),
    };
    let report = wanted.ok_or_else(not_found)?;
    Ok(Printed {
        version: Some(report.version),
        content_hash: report.content_hash,
        time: Some(("print.approved_at", report.approved_at_ms)),
        unit_name: Some(report.unit_name),
        content: ReportContent {
            values: report.values,
            rows: report.rows,
            explanations: report.explanations,
        },
    })
}

/// # `GET /reports/{unit}/{form}/{period}/print?version=N`
/// The report laid out like the official paper form, for printing.
async fn print_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Caller>,
    Path((unit, form, period)): Path<(String, String, String)>,
    Query(query): Query<PrintQuery>,
) -> Result<Response, PageError> {
    let who = who.0;
    let (key, form_code, _) = service::checked_key(&state, &unit, &form, &period).or_page(lang)?;
    check_may_print(&state, &who, &key).or_page(lang)?;
    let printed = printed(&state, &who, &key, query.version).or_page(lang)?;
    let standards = state.standards();
    let definition = standards
        .metadata
        .form(&form_code)
        .ok_or_else(|| ApiError::Report(ReportServiceError::NotFound(format!("no form {form}"))))
        .or_page(lang)?;
    let catalogue = catalogue(lang.language);
    let facility_rows = crate::report::facts::row_form_for(&standards.metadata, definition)
        .filter(|row_form| row_form.code != definition.code || definition.row_form)
        .filter(|_| !printed.content.rows.is_empty())
        .map(|row_form| PrintRows {
            title: format!(
                "{} {}",
                row_form.code.as_str(),
                name_in(lang, &row_form.name_zh, &row_form.name_en)
            ),
            columns: row_form
                .row_columns
                .iter()
                .map(|column| {
                    (
                        column.code.as_str().to_string(),
                        name_in(lang, &column.name_zh, &column.name_en),
                        column.unit.clone(),
                    )
                })
                .collect(),
            rows: printed
                .content
                .rows
                .iter()
                .map(|row| {
                    row_form
                        .row_columns
                        .iter()
                        .map(|column| {
                            row.get(column.key.as_str())
                                .map(|value| printed_value(column, value))
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .collect(),
        });
    let unit_name = printed.unit_name.clone().unwrap_or_else(|| {
        service::unit_facts(&state, &key.unit).map_or_else(|_| key.unit.clone(), |(_, on)| on.name)
    });
    let back_href = match who.account.role {
        Role::Enterprise { .. } => format!("/reports/{}/{}/{}", key.unit, key.form, key.period),
        Role::Reviewer => format!("/review/{}/{}/{}", key.unit, key.form, key.period),
        Role::Admin | Role::County { .. } | Role::Group { .. } | Role::Supervision { .. } => {
            "/".to_string()
        }
    };
    let explanations: BTreeMap<String, String> = printed.content.explanations.clone();
    let page = PrintTemplate {
        lang,
        catalogue,
        title: name_in(lang, &definition.name_zh, &definition.name_en),
        form_code: definition.code.as_str().to_string(),
        period: key.period.clone(),
        unit: key.unit.clone(),
        unit_name,
        back_href,
        is_draft: printed.version.is_none(),
        version: printed
            .version
            .map(|number| number.to_string())
            .unwrap_or_else(|| catalogue.t("print.draft").to_string()),
        content_hash: printed.content_hash.clone(),
        time_label: printed
            .time
            .map(|(label, _)| catalogue.t(label).to_string())
            .unwrap_or_default(),
        time: printed
            .time
            .map(|(_, ms)| format_time(ms))
            .unwrap_or_default(),
        sections: sections_of(lang, definition, &printed.content),
        facility_rows,
        explanations: explanations.into_iter().collect(),
    };
    render(lang, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::NationalStandard;

    #[test]
    fn values_print_as_on_the_paper_form() {
        let standard = NationalStandard::default_standard().unwrap();
        let g101 = standard
            .release
            .forms
            .iter()
            .find(|form| form.code.as_str() == "G101")
            .unwrap();
        let check = |key: &str, value: &str, expected: &str| {
            let indicator = g101.indicator(key).unwrap();
            assert_eq!(printed_value(indicator, value), expected, "{key}={value}");
        };
        check("output_value", "1234567.5", "1,234,567.5");
        check("production_status", "normal", "正常生产");
        check("production_status", "unknown", "unknown");
        let content = ReportContent {
            values: [("output_value".to_string(), "12".to_string())].into(),
            ..ReportContent::default()
        };
        let sections = sections_of(
            Lang {
                language: Language::Zh,
                chosen_now: false,
            },
            g101,
            &content,
        );
        assert_eq!(sections[0].title, "基本情况");
        let titles: Vec<&str> = sections
            .iter()
            .map(|section| section.title.as_str())
            .collect();
        // Remarks (G101-57) close the form, as on paper.
        assert_eq!(
            titles,
            [
                "基本情况",
                "用水及废水",
                "废水污染物",
                "废气",
                "一般工业固体废物",
                "危险废物",
                "基本情况"
            ]
        );
        assert!(
            sections[0]
                .lines
                .iter()
                .any(|line| line.code == "G101-01" && line.value == "12")
        );
    }
}
