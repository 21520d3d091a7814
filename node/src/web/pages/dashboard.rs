//! The bureau dashboards (R7, R11, R20, R31): `/progress` (where every
//! unit's report stands, per child division, and who is late) and `/totals`
//! (the accepted totals with drill-down, year over year, a bar chart of the
//! main pollutants, downloads, and for admins the publish button).
//!
//! Both read through the same domain functions as `GET /api/v1/progress`
//! and `GET /api/v1/aggregates` ([`crate::aggregate::progress`],
//! [`crate::aggregate::table`]), within the caller's jurisdiction only.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use rust_decimal::Decimal;

use super::chart::{BarChart, Series, bar_chart};
use super::i18n::{Catalogue, Lang, Language, catalogue, format_number, format_time};
use super::{Chrome, Crumb, OrPage, Page, PageError, check_csrf, field, render};
use crate::accounts::Role;
use crate::aggregate::Total;
use crate::aggregate::progress::Counts;
use crate::aggregate::table::{Breakdown, MAIN_POLLUTANTS, totals_table, unit_contributions};
use crate::clock::Timestamp;
use crate::division::{DivisionCode, DivisionKind};
use crate::metadata::Form as FormDefinition;
use crate::node::NodeState;
use crate::progress::RowSource;
use crate::progress::flow::progress_view;
use crate::web::auth::{Admin, BureauUser};
use crate::web::totals::{
    bad, breakdown, division_within, form_and_period, form_definition, publish_totals, scope_of,
};

/// The dashboard pages.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/progress", get(progress_page))
        .route("/progress/urge", post(urge_from_page))
        .route("/totals", get(totals_page))
        .route("/totals/publish", post(publish_from_page))
}

/// A choice of a filter.
#[derive(Debug)]
pub struct Choice {
    /// The value sent.
    pub value: String,
    /// What the user reads.
    pub label: String,
    /// Chosen now.
    pub selected: bool,
}

/// The forms of this node as choices.
fn form_choices(state: &NodeState, lang: Lang, selected: &str) -> Vec<Choice> {
    state
        .standards()
        .metadata
        .forms
        .iter()
        .filter(|form| !form.row_form)
        .map(|form| Choice {
            value: form.code.as_str().to_string(),
            label: format!(
                "{} {}",
                form.code.as_str(),
                match lang.language {
                    Language::Zh => &form.name_zh,
                    Language::En => &form.name_en,
                }
            ),
            selected: form.code.as_str() == selected,
        })
        .collect()
}

/// A measurement unit in the page language (吨 → t); as written when unknown.
pub fn measure_in(catalogue: &Catalogue, unit: &str) -> String {
    let key = format!("measure.{unit}");
    let text = catalogue.t(&key);
    if text == key {
        unit.to_string()
    } else {
        text.to_string()
    }
}

/// Appends `?` pairs, URL-encoded, to a path.
pub fn link(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The link to the data report of a period (of `division` when not the
/// caller's whole jurisdiction).
pub fn data_report_href(form: &str, period: &str, division: Option<DivisionCode>) -> String {
    let division = division.map(|code| code.to_string()).unwrap_or_default();
    link(
        &format!("/data-report/{}/{}", encode(form), encode(period)),
        &[("division", &division)],
    )
}

/// The page of a division: its name, or 全国 for the nation.
pub(crate) fn division_label(lang: Lang, division: DivisionCode) -> String {
    if division.parent().is_none() {
        catalogue(lang.language).t("app.nation").to_string()
    } else {
        division.name_zh().to_string()
    }
}

// ---------------------------------------------------------------- progress

/// Query of `/progress`.
#[derive(Debug, Default, serde::Deserialize)]
struct ProgressQuery {
    form: Option<String>,
    period: Option<String>,
    city: Option<String>,
    /// `urged` after the urge form: how many were urged.
    urged: Option<usize>,
}

/// One division row.
#[derive(Debug)]
struct ProgressRow {
    division: String,
    name: String,
    counts: Counts,
    percent: u32,
    /// When the counts were computed, and from where (empty for the total).
    as_of: String,
}

/// A child division behind.
#[derive(Debug)]
struct LateBureauRow {
    division: String,
    name: String,
    percent: u32,
    rest_percent: u32,
    owing: usize,
    reasons: String,
}

/// The late units of one city, from its summary.
#[derive(Debug)]
struct CityLate {
    name: String,
    as_of: String,
    count_text: String,
    units: Vec<LateRow>,
}

/// One late unit.
#[derive(Debug)]
struct LateRow {
    unit: String,
    name: String,
    county: String,
    state: String,
    due: String,
    overdue: bool,
    href: Option<String>,
}

/// The progress page.
#[derive(Debug, Template)]
#[template(path = "progress.html")]
struct ProgressTemplate {
    chrome: Chrome,
    forms: Vec<Choice>,
    period: String,
    rows: Vec<ProgressRow>,
    total: ProgressRow,
    late: Vec<LateRow>,
    late_text: String,
    more_text: Option<String>,
    late_bureaus: Vec<LateBureauRow>,
    cities: Vec<Choice>,
    city_late: Option<CityLate>,
    units_csv: String,
    units_xlsx: String,
    totals_href: String,
    /// What the urge button does at this level.
    urge_help: String,
}

/// # `POST /progress/urge` (`csrf`, `form`, `period`, `message`)
/// Urges from the page what the API's `POST /api/v1/urge` urges with no list:
/// at a city every unit that still owes, above it the late bureaus.
async fn urge_from_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<BureauUser>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_csrf(&who.0, field(&form, "csrf")).or_page(lang)?;
    let form_code = field(&form, "form").unwrap_or_default().to_string();
    let period = field(&form, "period").unwrap_or_default().to_string();
    let message = field(&form, "message")
        .map(str::trim)
        .filter(|text| !text.is_empty());
    let (units, divisions) = crate::web::notices::urge_as(
        &state,
        &who.0,
        &form_code,
        &period,
        None,
        None,
        message,
        Timestamp::now_from_system_clock(),
    )
    .await
    .or_page(lang)?;
    Ok(super::see_other(&link(
        "/progress",
        &[
            ("form", &form_code),
            ("period", &period),
            ("urged", &(units.len() + divisions.len()).to_string()),
        ],
    )))
}

/// # `GET /progress?form=&period=`
/// Where every unit's report of a form and period stands, per child division
/// (at a city: per county), with a completion bar, and the units that still
/// owe a report, overdue first, linking to their review page where this level holds one.
async fn progress_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<BureauUser>,
    Query(query): Query<ProgressQuery>,
) -> Result<Response, PageError> {
    let catalogue = catalogue(lang.language);
    let (form, period) = form_and_period(
        &state,
        query.form.as_deref().filter(|text| !text.is_empty()),
        query.period.as_deref().filter(|text| !text.is_empty()),
    )
    .or_page(lang)?;
    let scope = scope_of(&state, &who.0.account.role);
    let registry_period = crate::registry::PeriodId::parse(&period)
        .map_err(|error| bad("period", error.to_string()))
        .or_page(lang)?;
    let city = query
        .city
        .as_deref()
        .filter(|text| !text.is_empty())
        .map(|text| DivisionCode::parse(text).map_err(|error| bad("city", error.to_string())))
        .transpose()
        .or_page(lang)?;
    let now = Timestamp::now_from_system_clock();
    let view = progress_view(&state, &form, &period, registry_period, scope, now).or_page(lang)?;
    let report = &view.report;
    let mut chrome = Chrome::signed_in(&state, lang, &who.0, "progress.title", "nav.progress");
    chrome.title = format!("{} · {form} {period}", catalogue.t("progress.title"));
    let mut sum = Counts::default();
    let rows: Vec<ProgressRow> = view
        .rows
        .iter()
        .map(|row| {
            sum.add(&row.counts);
            let source = match row.source {
                RowSource::Live => "progress.source_live",
                RowSource::Summaries => "progress.source_summaries",
                RowSource::Partial => "progress.source_partial",
            };
            ProgressRow {
                division: row.division.to_string(),
                name: row.division.name_zh().to_string(),
                percent: row.counts.completion_percent(),
                counts: row.counts.clone(),
                as_of: format!("{} · {}", format_time(row.as_of_ms), catalogue.t(source)),
            }
        })
        .collect();
    let late_bureaus = view
        .late_bureaus
        .iter()
        .map(|bureau| {
            let mut reasons = Vec::new();
            if bureau.below_the_rest {
                reasons.push(catalogue.t("progress.below_the_rest"));
            }
            if bureau.owing_after_close {
                reasons.push(catalogue.t("progress.owing_after_close"));
            }
            LateBureauRow {
                division: bureau.division.to_string(),
                name: bureau.division.name_zh().to_string(),
                percent: bureau.completion_percent,
                rest_percent: bureau.rest_percent,
                owing: bureau.owing,
                reasons: reasons.join(" · "),
            }
        })
        .collect();
    let cities = view
        .summaries
        .keys()
        .map(|code| Choice {
            value: code.to_string(),
            label: format!("{} {code}", code.name_zh()),
            selected: city == Some(*code),
        })
        .collect();
    let city_late = city
        .and_then(|city| view.summaries.get(&city))
        .map(|summary| CityLate {
            name: summary.city.name_zh().to_string(),
            as_of: format_time(summary.computed_at_ms),
            count_text: catalogue.count("progress.late_count", summary.late_total),
            units: summary
                .late
                .iter()
                .map(|unit| LateRow {
                    unit: unit.unit.clone(),
                    name: unit.name.clone(),
                    county: unit.county.name_zh().to_string(),
                    state: catalogue
                        .t(&format!("state.{}", unit.standing.as_str()))
                        .to_string(),
                    due: unit.due_ms.map(format_time).unwrap_or_default(),
                    overdue: unit.overdue,
                    href: None,
                })
                .collect(),
        });
    let late = report
        .late
        .iter()
        .map(|unit| LateRow {
            unit: unit.unit.clone(),
            name: unit.name.clone(),
            county: unit.county.name_zh().to_string(),
            state: catalogue
                .t(&format!("state.{}", unit.standing.as_str()))
                .to_string(),
            due: unit.due_ms.map(format_time).unwrap_or_default(),
            overdue: unit.overdue,
            href: unit
                .held_here
                .then(|| format!("/review/{}/{form}/{period}", unit.unit)),
        })
        .collect();
    let more = report.late_total.saturating_sub(report.late.len());
    if let Some(count) = query.urged {
        chrome.notice = Some(
            catalogue
                .t("progress.urged")
                .replace("{n}", &count.to_string()),
        );
    }
    let page = ProgressTemplate {
        urge_help: catalogue
            .t(
                if state.config.level() == zhibao_federation_protocol::NodeLevel::City {
                    "progress.urge_units"
                } else {
                    "progress.urge_bureaus"
                },
            )
            .to_string(),
        forms: form_choices(&state, lang, &form),
        period: period.clone(),
        total: ProgressRow {
            division: scope.to_string(),
            name: catalogue.t("progress.total").to_string(),
            percent: sum.completion_percent(),
            counts: sum,
            as_of: String::new(),
        },
        rows,
        late,
        late_bureaus,
        cities,
        city_late,
        late_text: catalogue.count("progress.late_count", report.late_total),
        more_text: (more > 0).then(|| catalogue.count("progress.more", more)),
        units_csv: link(
            "/api/v1/units/export",
            &[("format", "csv"), ("period", &period)],
        ),
        units_xlsx: link(
            "/api/v1/units/export",
            &[("format", "xlsx"), ("period", &period)],
        ),
        totals_href: link("/totals", &[("form", &form), ("period", &period)]),
        chrome,
    };
    render(lang, &page)
}

// ---------------------------------------------------------------- totals

/// Query of `/totals`.
#[derive(Debug, Default, serde::Deserialize)]
struct TotalsQuery {
    form: Option<String>,
    period: Option<String>,
    by: Option<String>,
    indicator: Option<String>,
    division: Option<String>,
}

/// A column of the totals table.
#[derive(Debug)]
struct Column {
    key: String,
    name: String,
    measure: String,
}

/// A value cell: the formatted sum and the year-over-year change.
#[derive(Debug)]
struct ValueCell {
    value: String,
    yoy: String,
}

/// A row of the totals table.
#[derive(Debug)]
struct TableRow {
    key: String,
    name: String,
    href: Option<String>,
    reports: u64,
    cells: Vec<ValueCell>,
}

/// The totals page.
#[derive(Debug, Template)]
#[template(path = "totals.html")]
struct TotalsTemplate {
    chrome: Chrome,
    forms: Vec<Choice>,
    breakdowns: Vec<Choice>,
    indicators: Vec<Choice>,
    period: String,
    division: String,
    path: Vec<Crumb>,
    key_header: String,
    columns: Vec<Column>,
    rows: Vec<TableRow>,
    total: TableRow,
    has_yoy: bool,
    previous_period: String,
    units: Vec<TableRow>,
    charts: Vec<BarChart>,
    csv: String,
    xlsx: String,
    report_href: String,
    can_publish: bool,
    form: String,
}

/// `+12.5%` / `-3.0%`; empty when there is nothing to compare with.
fn change(current: Option<&str>, previous: Option<&str>) -> String {
    let (Some(current), Some(previous)) = (current, previous) else {
        return String::new();
    };
    let (Ok(current), Ok(previous)) = (Decimal::from_str(current), Decimal::from_str(previous))
    else {
        return String::new();
    };
    if previous.is_zero() {
        return String::new();
    }
    let percent = ((current - previous) / previous * Decimal::ONE_HUNDRED).round_dp(1);
    if percent.is_sign_negative() {
        format!("{percent:.1}%")
    } else {
        format!("+{percent:.1}%")
    }
}

fn sum_of<'a>(totals: &'a BTreeMap<String, Total>, key: &str) -> Option<&'a str> {
    totals.get(key).map(|total| total.sum.as_str())
}

fn value_cells(
    columns: &[Column],
    totals: &BTreeMap<String, Total>,
    previous: Option<&BTreeMap<String, Total>>,
) -> Vec<ValueCell> {
    columns
        .iter()
        .map(|column| ValueCell {
            value: sum_of(totals, &column.key)
                .map(format_number)
                .unwrap_or_default(),
            yoy: change(
                sum_of(totals, &column.key),
                previous.and_then(|previous| sum_of(previous, &column.key)),
            ),
        })
        .collect()
}

/// One chart per main pollutant of the form, bars per row (division).
fn charts(
    form: &FormDefinition,
    lang: Lang,
    rows: &[(String, BTreeMap<String, Total>)],
) -> Vec<BarChart> {
    let catalogue = catalogue(lang.language);
    MAIN_POLLUTANTS
        .iter()
        .filter_map(|key| form.indicator(key))
        .filter_map(|indicator| {
            let key = indicator.key.as_str();
            bar_chart(Series {
                id: format!("chart-{key}"),
                title: match lang.language {
                    Language::Zh => indicator.name_zh.clone(),
                    Language::En => indicator.name_en.clone(),
                },
                measure: measure_in(catalogue, &indicator.unit),
                values: rows
                    .iter()
                    .filter_map(|(label, totals)| {
                        let sum = sum_of(totals, key)?;
                        Some((label.clone(), Decimal::from_str(sum).ok()?))
                    })
                    .collect(),
            })
        })
        .collect()
}

/// # `GET /totals?form=&period=&by=division|industry|class&indicator=&division=`
/// The accepted totals within the caller's jurisdiction: the main pollutants
/// (or one `indicator`) per child division, industry or class, with the
/// change on the previous period when it has totals. A division row leads to
/// the same page one level down; at a county, the units and their reports.
async fn totals_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<BureauUser>,
    Query(query): Query<TotalsQuery>,
) -> Result<Response, PageError> {
    let catalogue = catalogue(lang.language);
    let nonempty = |text: &Option<String>| text.clone().filter(|text| !text.is_empty());
    let (form, period) = form_and_period(
        &state,
        nonempty(&query.form).as_deref(),
        nonempty(&query.period).as_deref(),
    )
    .or_page(lang)?;
    let definition = form_definition(&state, &form).or_page(lang)?;
    let scope = scope_of(&state, &who.0.account.role);
    let within = division_within(scope, nonempty(&query.division).as_deref()).or_page(lang)?;
    let by = breakdown(&state, nonempty(&query.by).as_deref(), within).or_page(lang)?;
    let indicator = nonempty(&query.indicator);
    if let Some(key) = indicator
        .as_ref()
        .filter(|key| definition.indicator(key).is_none())
    {
        return Err(PageError::new(
            lang,
            bad(
                "indicator",
                format!("{form} 没有指标 {key} / {form} has no indicator {key}"),
            ),
        ));
    }
    let column_keys: Vec<String> = match &indicator {
        Some(key) => vec![key.clone()],
        None => MAIN_POLLUTANTS
            .iter()
            .filter(|key| definition.indicator(key).is_some())
            .map(|key| key.to_string())
            .collect(),
    };
    let columns: Vec<Column> = column_keys
        .iter()
        .filter_map(|key| definition.indicator(key))
        .map(|indicator| Column {
            key: indicator.key.as_str().to_string(),
            name: match lang.language {
                Language::Zh => indicator.name_zh.clone(),
                Language::En => indicator.name_en.clone(),
            },
            measure: measure_in(catalogue, &indicator.unit),
        })
        .collect();
    let table = totals_table(&state.aggregates, &form, &period, within, by, None).or_page(lang)?;
    let previous_period = crate::metadata::period::PeriodId::parse(&period)
        .ok()
        .and_then(|period| period.previous())
        .map(|period| period.to_string())
        .unwrap_or_default();
    let previous = if previous_period.is_empty() {
        None
    } else {
        Some(
            totals_table(&state.aggregates, &form, &previous_period, within, by, None)
                .or_page(lang)?,
        )
    }
    .filter(|previous| !previous.total.is_empty());
    let by_word = by.as_str();
    let indicator_word = indicator.clone().unwrap_or_default();
    let rows: Vec<TableRow> = table
        .rows
        .iter()
        .map(|row| {
            let previous_row = previous.as_ref().and_then(|previous| {
                previous
                    .rows
                    .iter()
                    .find(|candidate| candidate.key == row.key)
                    .map(|candidate| &candidate.totals)
            });
            TableRow {
                key: row.key.clone(),
                name: match lang.language {
                    Language::Zh => row.name_zh.clone(),
                    Language::En => row.name_en.clone(),
                },
                href: (by == Breakdown::Division).then(|| {
                    link(
                        "/totals",
                        &[
                            ("form", &form),
                            ("period", &period),
                            ("indicator", &indicator_word),
                            ("division", &row.key),
                        ],
                    )
                }),
                reports: row
                    .totals
                    .values()
                    .map(|total| total.reports)
                    .max()
                    .unwrap_or(0),
                cells: value_cells(&columns, &row.totals, previous_row),
            }
        })
        .collect();
    let total = TableRow {
        key: within.to_string(),
        name: catalogue.t("totals.total").to_string(),
        href: None,
        reports: table
            .total
            .values()
            .map(|total| total.reports)
            .max()
            .unwrap_or(0),
        cells: value_cells(
            &columns,
            &table.total,
            previous.as_ref().map(|previous| &previous.total),
        ),
    };
    // The drill-down's last level: the units of a county and their reports.
    let units = if within.kind() == DivisionKind::County || within.children().is_empty() {
        let mut units: Vec<TableRow> =
            unit_contributions(&state.aggregates, &form, &period, within)
                .or_page(lang)?
                .into_iter()
                .map(|contribution| {
                    let totals: BTreeMap<String, Total> = contribution
                        .values
                        .iter()
                        .map(|(key, value)| {
                            (
                                key.clone(),
                                Total {
                                    sum: value.clone(),
                                    reports: 1,
                                },
                            )
                        })
                        .collect();
                    let name = crate::registry::UnitCode::parse(&contribution.unit)
                        .ok()
                        .and_then(|code| state.registry.current_unit(&code).ok().flatten())
                        .map_or_else(|| contribution.unit.clone(), |current| current.unit.name);
                    TableRow {
                        href: Some(format!("/review/{}/{form}/{period}", contribution.unit)),
                        key: contribution.unit,
                        name,
                        reports: u64::from(contribution.version),
                        cells: value_cells(&columns, &totals, None),
                    }
                })
                .collect();
        units.sort_by(|a, b| a.key.cmp(&b.key));
        units
    } else {
        Vec::new()
    };
    let chart_rows: Vec<(String, BTreeMap<String, Total>)> = if by == Breakdown::Division {
        table
            .rows
            .iter()
            .map(|row| (row.name_zh.clone(), row.totals.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let path: Vec<Crumb> = within
        .path_from_nation()
        .into_iter()
        .filter(|division| scope.contains(*division))
        .map(|division| Crumb {
            href: (division != within).then(|| {
                link(
                    "/totals",
                    &[
                        ("form", &form),
                        ("period", &period),
                        ("indicator", &indicator_word),
                        ("division", &division.to_string()),
                    ],
                )
            }),
            label: division_label(lang, division),
        })
        .collect();
    let export = |format: &str| {
        link(
            "/api/v1/aggregates/export",
            &[
                ("format", format),
                ("form", &form),
                ("period", &period),
                ("by", by_word),
                ("division", &within.to_string()),
            ],
        )
    };
    let mut chrome = Chrome::signed_in(&state, lang, &who.0, "totals.title", "nav.totals");
    chrome.title = format!(
        "{} · {} · {form} {period}",
        catalogue.t("totals.title"),
        division_label(lang, within)
    );
    let page = TotalsTemplate {
        forms: form_choices(&state, lang, &form),
        breakdowns: ["division", "industry", "class"]
            .iter()
            .map(|word| Choice {
                value: word.to_string(),
                label: catalogue.t(&format!("totals.by_{word}")).to_string(),
                selected: *word == by_word,
            })
            .collect(),
        indicators: definition
            .indicators
            .iter()
            .filter(|indicator| indicator.kind.is_numeric())
            .map(|candidate| Choice {
                value: candidate.key.as_str().to_string(),
                label: format!(
                    "{} {}",
                    candidate.code.as_str(),
                    match lang.language {
                        Language::Zh => &candidate.name_zh,
                        Language::En => &candidate.name_en,
                    }
                ),
                selected: indicator.as_deref() == Some(candidate.key.as_str()),
            })
            .collect(),
        period: period.clone(),
        division: if within == scope {
            String::new()
        } else {
            within.to_string()
        },
        path,
        key_header: catalogue.t(&format!("totals.by_{by_word}")).to_string(),
        has_yoy: previous.is_some(),
        previous_period,
        charts: charts(&definition, lang, &chart_rows),
        csv: export("csv"),
        xlsx: export("xlsx"),
        report_href: data_report_href(&form, &period, (within != scope).then_some(within)),
        can_publish: matches!(who.0.account.role, Role::Admin) && within == state.config.division,
        form: form.clone(),
        columns,
        rows,
        total,
        units,
        chrome,
    };
    render(lang, &page)
}

/// # `POST /totals/publish` (`csrf`, `form`, `period`)
/// The publish button of the totals page (admins): the same as
/// `POST /api/v1/publications`, then the public page.
async fn publish_from_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Admin>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_csrf(&who.0, field(&form, "csrf")).or_page(lang)?;
    let now = Timestamp::now_from_system_clock();
    let published = publish_totals(
        &state,
        field(&form, "form").unwrap_or_default(),
        field(&form, "period").unwrap_or_default(),
        &who.0.account.username,
        now,
    )
    .await
    .or_page(lang)?;
    Ok(super::see_other(&format!(
        "/public/{}/{}",
        published.form, published.period
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_over_year_change_is_exact_and_signed() {
        assert_eq!(change(Some("1.5"), Some("1.2")), "+25.0%");
        assert_eq!(change(Some("0.9"), Some("1.2")), "-25.0%");
        assert_eq!(change(Some("1"), Some("3")), "-66.7%");
        assert_eq!(change(Some("1"), Some("0")), "", "no change on nothing");
        assert_eq!(change(Some("1"), None), "");
    }

    #[test]
    fn links_encode_their_values_and_drop_empty_ones() {
        assert_eq!(
            link(
                "/totals",
                &[("form", "G101"), ("indicator", ""), ("division", "320102")]
            ),
            "/totals?form=G101&division=320102"
        );
        assert_eq!(link("/x", &[("q", "a b&c")]), "/x?q=a%20b%26c");
    }
}
