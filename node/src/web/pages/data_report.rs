//! The data report of a period (数据报告, R8, issue 7): the statistical
//! bulletin a bureau hands its leaders, as a printable page — title, when it
//! was made, the coverage (units expected, reported, approved, accepted,
//! suspended), sentences on the largest changes, a table per main pollutant
//! by child division and by industry with the previous period's figure and
//! the change, a bar chart per pollutant, and notes on what the figures
//! mean. `@media print` lays it out on A4 with a page break between
//! sections; the same report is a workbook at `GET /api/v1/data-report`.
//!
//! Bureau users, within their jurisdiction (a county user its county). The
//! report itself is [`crate::aggregate::data_report`]; this file only puts
//! it into words and markup.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use rust_decimal::Decimal;

use super::chart::{BarChart, Series, bar_chart};
use super::dashboard::{division_label, link, measure_in};
use super::i18n::{Catalogue, Lang, Language, catalogue, format_number, format_time};
use super::{OrPage, Page, PageError, render};
use crate::aggregate::data_report::{
    ComparisonTable, DataReport, Figure, Highlight, Pollutant, ReportRow, highlights,
};
use crate::aggregate::progress::Counts;
use crate::clock::Timestamp;
use crate::node::NodeState;
use crate::web::auth::BureauUser;
use crate::web::totals::data_report_for;
use zhibao_federation_protocol::NodeLevel;

/// The data report route.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new().route("/data-report/{form}/{period}", get(data_report_page))
}

/// `?division=`.
#[derive(Debug, serde::Deserialize)]
struct DataReportQuery {
    division: Option<String>,
}

/// One cell group of a row: this period, the previous, the change.
#[derive(Debug)]
struct FigureCells {
    current: String,
    previous: String,
    change: String,
    percent: String,
    /// `up`, `down` or empty, for the style of the change.
    trend: &'static str,
}

/// One row as shown.
#[derive(Debug)]
struct RowView {
    key: String,
    name: String,
    reports: u64,
    figure: FigureCells,
}

/// One table: a pollutant by division or by industry, with its chart.
#[derive(Debug)]
struct TableView {
    id: String,
    caption: String,
    rows: Vec<RowView>,
    total: RowView,
    chart: Option<BarChart>,
}

/// An item of the coverage.
#[derive(Debug)]
struct CoverageItem {
    id: &'static str,
    label: String,
    value: String,
}

/// The data report page.
#[derive(Debug, Template)]
#[template(path = "data_report.html")]
struct DataReportTemplate {
    lang: Lang,
    catalogue: &'static Catalogue,
    title: String,
    made_at: String,
    back_href: String,
    xlsx_href: String,
    switch_href: String,
    period: String,
    previous_period: String,
    sentences: Vec<String>,
    coverage: Vec<CoverageItem>,
    division_tables: Vec<TableView>,
    industry_tables: Vec<TableView>,
    industry_note: String,
    notes: Vec<String>,
}

impl DataReportTemplate {
    fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.catalogue.t(key)
    }
}

/// `template` with each `{name}` replaced.
fn fill(template: &str, pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .fold(template.to_string(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

fn shown(value: Option<Decimal>) -> String {
    value.map_or_else(String::new, |value| format_number(&value.to_string()))
}

/// `+0.125` / `-0.125` / `0`.
fn signed(value: Option<Decimal>) -> String {
    match value {
        Some(value) if value.is_sign_positive() && !value.is_zero() => {
            format!("+{}", format_number(&value.to_string()))
        }
        other => shown(other),
    }
}

/// `+25.0%` / `-3.2%`; empty without a percentage.
fn signed_percent(figure: Figure) -> String {
    match figure.percent() {
        Some(percent) if percent.is_sign_positive() && !percent.is_zero() => {
            format!("+{percent:.1}%")
        }
        Some(percent) => format!("{percent:.1}%"),
        None => String::new(),
    }
}

/// `3.2%` (no sign; the words say which way).
fn unsigned_percent(figure: Figure) -> String {
    figure
        .percent()
        .map(|percent| format!("{:.1}%", percent.abs()))
        .unwrap_or_default()
}

fn figure_cells(figure: Figure) -> FigureCells {
    let trend = match figure.change() {
        Some(change) if change.is_sign_negative() && !change.is_zero() => "down",
        Some(change) if !change.is_zero() => "up",
        _ => "",
    };
    FigureCells {
        current: shown(figure.current),
        previous: shown(figure.previous),
        change: signed(figure.change()),
        percent: signed_percent(figure),
        trend,
    }
}

fn name_in(lang: Lang, zh: &str, en: &str) -> String {
    match lang.language {
        Language::Zh => zh.to_string(),
        Language::En => en.to_string(),
    }
}

/// The sentence of one highlight, from the catalogue's templates.
fn sentence(
    catalogue: &Catalogue,
    lang: Lang,
    report: &DataReport,
    highlight: &Highlight,
) -> Option<String> {
    let pollutant: &Pollutant = report.pollutants.get(highlight.pollutant)?;
    let total = highlight.total;
    let indicator = name_in(lang, &pollutant.name_zh, &pollutant.name_en);
    let measure = measure_in(catalogue, &pollutant.unit);
    let value = shown(total.current);
    let previous = report.previous_period.clone().unwrap_or_default();
    let change = total
        .change()
        .map(|change| format_number(&change.abs().to_string()))
        .unwrap_or_default();
    let percent = unsigned_percent(total);
    let key = match (total.change(), total.percent()) {
        (None, _) => "data_report.sentence_no_previous",
        (Some(_), None) => "data_report.sentence_previous_zero",
        (Some(change), Some(_)) if change.is_zero() => "data_report.sentence_flat",
        (Some(change), Some(_)) if change.is_sign_negative() => "data_report.sentence_fell",
        (Some(_), Some(_)) => "data_report.sentence_rose",
    };
    let mut text = fill(
        catalogue.t(key),
        &[
            ("indicator", &indicator),
            ("value", &value),
            ("measure", &measure),
            ("previous", &previous),
            ("change", &change),
            ("percent", &percent),
        ],
    );
    if let Some((name, figure)) = &highlight.largest {
        let largest = match figure.change() {
            Some(change) if change.is_sign_negative() => "data_report.largest_fall",
            _ => "data_report.largest_rise",
        };
        text.push_str(catalogue.t("data_report.sentence_join"));
        text.push_str(&fill(
            catalogue.t(largest),
            &[("name", name), ("percent", &unsigned_percent(*figure))],
        ));
    }
    Some(text)
}

/// The sentences of the report's largest changes.
pub fn sentences(lang: Lang, report: &DataReport) -> Vec<String> {
    let catalogue = catalogue(lang.language);
    highlights(report)
        .iter()
        .filter_map(|highlight| sentence(catalogue, lang, report, highlight))
        .collect()
}

/// At most this many industries per table on the page (the workbook has all).
const TOP_INDUSTRIES: usize = 10;

/// One table per pollutant of a comparison table; `top` keeps the largest
/// rows of each pollutant (industries), `charted` draws a chart (divisions).
fn tables(
    lang: Lang,
    report: &DataReport,
    table: &ComparisonTable,
    kind: &str,
    first_number: usize,
    top: Option<usize>,
    charted: bool,
) -> Vec<TableView> {
    let catalogue = catalogue(lang.language);
    let row_view = |row: &ReportRow, index: usize, name: String| RowView {
        key: row.key.clone(),
        name,
        reports: row.reports,
        figure: figure_cells(row.figures.get(index).copied().unwrap_or_default()),
    };
    report
        .pollutants
        .iter()
        .enumerate()
        .map(|(index, pollutant)| {
            let figure_of = |row: &ReportRow| row.figures.get(index).copied().unwrap_or_default();
            let mut rows: Vec<&ReportRow> = table
                .rows
                .iter()
                .filter(|row| {
                    top.is_none() || {
                        let figure = figure_of(row);
                        figure.current.is_some() || figure.previous.is_some()
                    }
                })
                .collect();
            if let Some(top) = top {
                rows.sort_by(|a, b| {
                    let size = |row: &ReportRow| figure_of(row).current.unwrap_or(Decimal::MIN);
                    size(b).cmp(&size(a))
                });
                rows.truncate(top);
            }
            let indicator = name_in(lang, &pollutant.name_zh, &pollutant.name_en);
            let measure = measure_in(catalogue, &pollutant.unit);
            let number = (first_number + index).to_string();
            let chart = charted
                .then(|| {
                    bar_chart(Series {
                        id: format!("chart-{}", pollutant.key),
                        title: indicator.clone(),
                        measure: measure.clone(),
                        values: rows
                            .iter()
                            .filter_map(|row| Some((row.name_zh.clone(), figure_of(row).current?)))
                            .collect(),
                    })
                })
                .flatten();
            TableView {
                id: format!("{kind}-{}", pollutant.key),
                caption: fill(
                    catalogue.t(&format!("data_report.caption_{kind}")),
                    &[
                        ("n", &number),
                        ("indicator", &indicator),
                        ("measure", &measure),
                    ],
                ),
                rows: rows
                    .iter()
                    .map(|row| row_view(row, index, name_in(lang, &row.name_zh, &row.name_en)))
                    .collect(),
                total: row_view(
                    &table.total,
                    index,
                    catalogue.t("data_report.total").to_string(),
                ),
                chart,
            }
        })
        .collect()
}

/// `2025年` / `2025年第1季度` (`2025` / `2025 Q1`).
fn period_label(catalogue: &Catalogue, period: &str) -> String {
    match crate::metadata::period::PeriodId::parse(period) {
        Ok(parsed) => match parsed.quarter() {
            None => fill(
                catalogue.t("data_report.period_annual"),
                &[("year", &parsed.year().to_string())],
            ),
            Some(quarter) => fill(
                catalogue.t("data_report.period_quarter"),
                &[
                    ("year", &parsed.year().to_string()),
                    ("quarter", &quarter.to_string()),
                ],
            ),
        },
        Err(_) => period.to_string(),
    }
}

fn coverage_items(catalogue: &Catalogue, coverage: &Counts, reports: u64) -> Vec<CoverageItem> {
    let item = |id: &'static str, key: &str, value: String| CoverageItem {
        id,
        label: catalogue.t(key).to_string(),
        value,
    };
    vec![
        item(
            "coverage-expected",
            "data_report.expected",
            coverage.expected.to_string(),
        ),
        item(
            "coverage-reported",
            "data_report.reported",
            coverage.reported().to_string(),
        ),
        item(
            "coverage-approved",
            "data_report.approved",
            coverage.approved.to_string(),
        ),
        item(
            "coverage-accepted",
            "data_report.accepted",
            coverage.accepted.to_string(),
        ),
        item(
            "coverage-suspended",
            "data_report.suspended",
            coverage.suspended.to_string(),
        ),
        item(
            "coverage-counted",
            "data_report.counted",
            reports.to_string(),
        ),
    ]
}

/// # `GET /data-report/{form}/{period}?division=`
/// The data report of a period within the caller's jurisdiction (or the
/// division named in it), printable on A4.
async fn data_report_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<BureauUser>,
    Path((form, period)): Path<(String, String)>,
    Query(query): Query<DataReportQuery>,
) -> Result<Response, PageError> {
    let catalogue = catalogue(lang.language);
    let now = Timestamp::now_from_system_clock();
    let division = query.division.filter(|text| !text.is_empty());
    let (report, coverage) = data_report_for(
        &state,
        &who.0,
        Some(&form),
        Some(&period),
        division.as_deref(),
        now,
    )
    .or_page(lang)?;
    let form_code = report.form.clone();
    let division_word = division.clone().unwrap_or_default();
    let division_tables = if report.by_division.rows.is_empty() {
        Vec::new()
    } else {
        tables(
            lang,
            &report,
            &report.by_division,
            "division",
            1,
            None,
            true,
        )
    };
    let industry_tables = report
        .by_industry
        .as_ref()
        .map(|industries| {
            tables(
                lang,
                &report,
                industries,
                "industry",
                division_tables.len() + 1,
                Some(TOP_INDUSTRIES),
                false,
            )
        })
        .unwrap_or_default();
    let level_note = match state.config.level() {
        NodeLevel::National => "data_report.note_totals_national",
        NodeLevel::Province | NodeLevel::City => "data_report.note_totals_below",
    };
    let notes = [
        level_note,
        "data_report.note_accepted",
        "data_report.note_coverage",
        "data_report.note_change",
        "data_report.note_exact",
    ]
    .iter()
    .map(|key| catalogue.t(key).to_string())
    .collect();
    let page = DataReportTemplate {
        lang,
        catalogue,
        title: fill(
            catalogue.t("data_report.heading"),
            &[
                ("period", &period_label(catalogue, &report.period)),
                ("division", &division_label(lang, report.within)),
                ("form", &form_code),
            ],
        ),
        made_at: format_time(report.made_at.0),
        back_href: link(
            "/totals",
            &[
                ("form", &form_code),
                ("period", &report.period),
                ("division", &division_word),
            ],
        ),
        xlsx_href: link(
            "/api/v1/data-report",
            &[
                ("form", &form_code),
                ("period", &report.period),
                ("division", &division_word),
            ],
        ),
        switch_href: link(
            "",
            &[
                ("division", &division_word),
                ("lang", catalogue.t("app.switch_lang")),
            ],
        ),
        period: report.period.clone(),
        previous_period: report.previous_period.clone().unwrap_or_default(),
        sentences: sentences(lang, &report),
        coverage: coverage_items(catalogue, &coverage, report.by_division.total.reports),
        industry_note: if report.by_industry.is_some() {
            fill(
                catalogue.t("data_report.industry_top"),
                &[("n", &TOP_INDUSTRIES.to_string())],
            )
        } else {
            catalogue.t("data_report.industry_none").to_string()
        },
        division_tables,
        industry_tables,
        notes,
    };
    render(lang, &page)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::aggregate::data_report::ReportRow;
    use crate::division::DivisionCode;

    fn figure(current: &str, previous: Option<&str>) -> Figure {
        Figure {
            current: Some(Decimal::from_str(current).unwrap()),
            previous: previous.map(|text| Decimal::from_str(text).unwrap()),
        }
    }

    fn report(total: Figure, rows: Vec<(&str, Figure)>) -> DataReport {
        let row = |key: &str, name: &str, figure: Figure| ReportRow {
            key: key.into(),
            name_zh: name.into(),
            name_en: name.into(),
            reports: 1,
            figures: vec![figure],
        };
        DataReport {
            form: "G101".into(),
            period: "2025".into(),
            previous_period: total.previous.map(|_| "2024".to_string()),
            within: DivisionCode::parse("320100").unwrap(),
            pollutants: vec![Pollutant {
                key: "cod_emit".into(),
                name_zh: "化学需氧量排放量".into(),
                name_en: "COD emitted".into(),
                unit: "吨".into(),
            }],
            by_division: ComparisonTable {
                rows: rows
                    .into_iter()
                    .map(|(name, figure)| row("320102", name, figure))
                    .collect(),
                total: row("320100", "南京市", total),
            },
            by_industry: None,
            made_at: Timestamp(0),
        }
    }

    const ZH: Lang = Lang {
        language: Language::Zh,
        chosen_now: false,
    };
    const EN: Lang = Lang {
        language: Language::En,
        chosen_now: false,
    };

    #[test]
    fn a_fall_names_the_division_that_fell_most() {
        let fell = report(
            figure("1234.5", Some("1275.3")),
            vec![("玄武区", figure("10", Some("20")))],
        );
        assert_eq!(
            sentences(ZH, &fell),
            [
                "化学需氧量排放量 1,234.5 吨，较上期（2024）下降 3.2%（减少 40.8 吨）。降幅最大的是玄武区（下降 50.0%）。"
            ]
        );
        assert_eq!(
            sentences(EN, &fell),
            [
                "COD emitted: 1,234.5 t, down 3.2% on the previous period (2024), 40.8 t less. The largest fall was in 玄武区 (50.0%)."
            ]
        );
    }

    #[test]
    fn a_rise_a_zero_previous_value_and_no_previous_period_read_plainly() {
        let rose = report(
            figure("2", Some("1")),
            vec![("玄武区", figure("2", Some("1")))],
        );
        assert_eq!(
            sentences(ZH, &rose),
            [
                "化学需氧量排放量 2 吨，较上期（2024）上升 100.0%（增加 1 吨）。增幅最大的是玄武区（上升 100.0%）。"
            ]
        );
        let from_zero = report(figure("2", Some("0")), vec![]);
        assert_eq!(
            sentences(ZH, &from_zero),
            ["化学需氧量排放量 2 吨，上期（2024）为零，无法计算变化率。"]
        );
        let flat = report(figure("2.0", Some("2")), vec![]);
        assert_eq!(
            sentences(ZH, &flat),
            ["化学需氧量排放量 2.0 吨，与上期（2024）持平。"]
        );
        let first = report(figure("0.125", None), vec![]);
        assert_eq!(
            sentences(EN, &first),
            ["COD emitted: 0.125 t; the previous period has no figures to compare with."]
        );
    }

    #[test]
    fn cells_are_signed_and_grouped() {
        let cells = figure_cells(figure("1234.5", Some("1275.3")));
        assert_eq!(
            (
                cells.current.as_str(),
                cells.previous.as_str(),
                cells.change.as_str(),
                cells.percent.as_str(),
                cells.trend
            ),
            ("1,234.5", "1,275.3", "-40.8", "-3.2%", "down")
        );
        let cells = figure_cells(figure("2000", Some("0")));
        assert_eq!(
            (cells.change.as_str(), cells.percent.as_str(), cells.trend),
            ("+2,000", "", "up")
        );
        let cells = figure_cells(figure("5", None));
        assert_eq!((cells.change.as_str(), cells.trend), ("", ""));
    }

    #[test]
    fn periods_read_as_words() {
        let zh = catalogue(Language::Zh);
        assert_eq!(period_label(zh, "2025"), "2025年");
        assert_eq!(period_label(zh, "2025Q3"), "2025年第3季度");
        assert_eq!(period_label(catalogue(Language::En), "2025Q3"), "2025 Q3");
    }
}
