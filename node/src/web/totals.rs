//! Totals, progress, exports and publication over HTTP:
//! `GET /api/v1/aggregates` (and `/export`), `GET /api/v1/progress`,
//! `GET /api/v1/units/export`, `GET`/`POST /api/v1/publications`, and the
//! data report's workbook `GET /api/v1/data-report`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};

use super::auth::{Admin, BureauUser};
use super::error::ApiError;
use super::export::{Cell, ExportFormat, Sheet, download, download_workbook};
use crate::accounts::Role;
use crate::aggregate::data_report::{ComparisonTable, DataReport, data_report};
use crate::aggregate::progress::Counts;
use crate::aggregate::publication::{self, Publication};
use crate::aggregate::table::{Breakdown, TotalsTable, totals_table};
use crate::clock::Timestamp;
use crate::division::DivisionCode;
use crate::metadata::Form;
use crate::node::NodeState;
use crate::registry::PeriodId;

/// The totals and progress routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/api/v1/aggregates", get(aggregates))
        .route("/api/v1/aggregates/export", get(export_aggregates))
        .route("/api/v1/progress", get(progress))
        .route("/api/v1/data-report", get(export_data_report))
        .route("/api/v1/publications", get(list_publications).post(publish))
}

pub(crate) fn bad(field: &str, message: String) -> ApiError {
    ApiError::BadRequest {
        field: Some(field.to_string()),
        message,
    }
}

/// The division a bureau user sees: the node's, or a county user's county.
pub(crate) fn scope_of(state: &NodeState, role: &Role) -> DivisionCode {
    match role {
        Role::County { county } => *county,
        Role::Admin
        | Role::Reviewer
        | Role::Enterprise { .. }
        | Role::Group { .. }
        | Role::Supervision { .. } => state.config.division,
    }
}

/// The form (default G101) and period (default: the one being reported)
/// of a query, checked against this node's standards.
pub(crate) fn form_and_period(
    state: &NodeState,
    form: Option<&str>,
    period: Option<&str>,
) -> Result<(String, String), ApiError> {
    let standards = state.standards();
    let form = form.unwrap_or("G101").to_string();
    let form_code =
        crate::metadata::FormCode::parse(&form).map_err(|error| bad("form", error.to_string()))?;
    let definition = standards
        .metadata
        .form(&form_code)
        .ok_or_else(|| bad("form", format!("没有报表 {form} / no form {form}")))?;
    let period = match period {
        Some(period) => period.to_string(),
        None => match definition.period_kind {
            crate::metadata::PeriodKind::Annual => standards.annual_period.to_string(),
            crate::metadata::PeriodKind::Quarterly => standards.quarterly_period.to_string(),
        },
    };
    crate::metadata::period::PeriodId::parse(&period)
        .map_err(|error| bad("period", error.to_string()))?;
    Ok((form, period))
}

/// The form's definition at this node.
pub(crate) fn form_definition(state: &NodeState, form: &str) -> Result<Form, ApiError> {
    crate::metadata::FormCode::parse(form)
        .ok()
        .and_then(|code| state.standards().metadata.form(&code).cloned())
        .ok_or_else(|| bad("form", format!("没有报表 {form} / no form {form}")))
}

/// `division=` within the caller's scope (the scope itself when absent).
/// The division a totals or progress query covers: `division=` inside the
/// caller's scope (a supervision centre: inside one of its provinces, by
/// default its first), else the whole scope.
pub(crate) fn scope_for(
    state: &NodeState,
    role: &Role,
    division: Option<&str>,
) -> Result<DivisionCode, ApiError> {
    let Role::Supervision { provinces } = role else {
        return division_within(scope_of(state, role), division);
    };
    let mine = provinces
        .iter()
        .copied()
        .filter(|province| state.config.division.contains(*province));
    match division {
        None | Some("") => mine.into_iter().next().ok_or(ApiError::Forbidden {
            needed: "supervision centre of a province of this node",
        }),
        Some(text) => {
            let wanted =
                DivisionCode::parse(text).map_err(|error| bad("division", error.to_string()))?;
            if mine.into_iter().any(|province| province.contains(wanted)) {
                Ok(wanted)
            } else {
                Err(ApiError::OutsideJurisdiction {
                    division: text.to_string(),
                })
            }
        }
    }
}

pub(crate) fn division_within(
    scope: DivisionCode,
    division: Option<&str>,
) -> Result<DivisionCode, ApiError> {
    match division {
        None | Some("") => Ok(scope),
        Some(text) => {
            let division =
                DivisionCode::parse(text).map_err(|error| bad("division", error.to_string()))?;
            if !scope.contains(division) {
                return Err(ApiError::OutsideJurisdiction {
                    division: text.to_string(),
                });
            }
            Ok(division)
        }
    }
}

/// `by=` (division when absent); by industry or class only for the whole jurisdiction.
pub(crate) fn breakdown(
    state: &NodeState,
    by: Option<&str>,
    within: DivisionCode,
) -> Result<Breakdown, ApiError> {
    let text = by.unwrap_or("division");
    let by = Breakdown::parse(text).ok_or_else(|| {
        bad(
            "by",
            format!(
                "'{text}'：应为 division、industry 或 class / expected division, industry or class"
            ),
        )
    })?;
    if by != Breakdown::Division && within != state.config.division {
        return Err(bad("by", "按行业或类别汇总仅限整个辖区 / totals by industry or class cover the whole jurisdiction only".to_string()));
    }
    Ok(by)
}

/// Query of `GET /api/v1/aggregates`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateQuery {
    form: Option<String>,
    period: Option<String>,
    by: Option<String>,
    indicators: Option<String>,
    division: Option<String>,
}

/// Query of `GET /api/v1/aggregates/export`: the same filters and `format`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateExportQuery {
    format: Option<String>,
    form: Option<String>,
    period: Option<String>,
    by: Option<String>,
    indicators: Option<String>,
    division: Option<String>,
}

/// The table a query of `/api/v1/aggregates` asks for.
fn table_for(
    state: &NodeState,
    caller: &super::auth::SignedIn,
    query: &AggregateQuery,
) -> Result<TotalsTable, ApiError> {
    let (form, period) = form_and_period(state, query.form.as_deref(), query.period.as_deref())?;
    let within = scope_for(state, &caller.account.role, query.division.as_deref())?;
    let indicators: Option<Vec<String>> = query.indicators.as_ref().map(|list| {
        list.split(',')
            .map(|key| key.trim().to_string())
            .filter(|key| !key.is_empty())
            .collect()
    });
    let by = breakdown(state, query.by.as_deref(), within)?;
    Ok(totals_table(
        &state.aggregates,
        &form,
        &period,
        within,
        by,
        indicators.as_deref(),
    )?)
}

/// # `GET /api/v1/aggregates?form=&period=&by=division|industry|class&indicators=&division=`
/// Totals over accepted data in the caller's jurisdiction (exact decimals).
async fn aggregates(
    State(state): State<Arc<NodeState>>,
    super::auth::TotalsReader(caller): super::auth::TotalsReader,
    super::ApiQuery(query): super::ApiQuery<AggregateQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let table = table_for(&state, &caller, &query)?;
    let rows: Vec<serde_json::Value> = table
        .rows
        .iter()
        .map(|row| match table.by {
            Breakdown::Division | Breakdown::Industry => {
                serde_json::json!({"key": row.key, "name": row.name_zh, "totals": row.totals})
            }
            Breakdown::Class => serde_json::json!({"key": row.key, "totals": row.totals}),
        })
        .collect();
    Ok(Json(serde_json::json!({
        "form": table.form, "period": table.period, "by": table.by.as_str(),
        "division": table.within.to_string(), "division_name": table.within.name_zh(),
        "total": table.total, "rows": rows,
    })))
}

/// `中文名（单位） / English name` of an indicator, for export headers.
fn indicator_header(form: &Form, key: &str) -> String {
    match form.indicator(key) {
        Some(indicator) if indicator.unit.is_empty() => {
            format!("{} / {}", indicator.name_zh, indicator.name_en)
        }
        Some(indicator) => format!(
            "{}（{}） / {} ({})",
            indicator.name_zh, indicator.unit, indicator.name_en, indicator.unit
        ),
        None => key.to_string(),
    }
}

/// # `GET /api/v1/aggregates/export?format=csv|xlsx&form=&period=&by=&indicators=&division=`
/// The table of `GET /api/v1/aggregates` as a CSV (UTF-8 with BOM) or Excel
/// download with bilingual headers: one row per division, industry or class
/// and the total, two columns per indicator (sum, reports).
async fn export_aggregates(
    State(state): State<Arc<NodeState>>,
    BureauUser(caller): BureauUser,
    super::ApiQuery(query): super::ApiQuery<AggregateExportQuery>,
) -> Result<Response, ApiError> {
    let format = ExportFormat::parse(query.format.as_deref())?;
    let query = AggregateQuery {
        form: query.form,
        period: query.period,
        by: query.by,
        indicators: query.indicators,
        division: query.division,
    };
    let table = table_for(&state, &caller, &query)?;
    let form = form_definition(&state, &table.form)?;
    let sheet = totals_sheet(&form, &table);
    let stem = format!(
        "totals-{}-{}-{}-{}",
        table.form,
        table.period,
        table.within,
        table.by.as_str()
    );
    download(&sheet, format, &stem)
}

/// The sheet of a totals table: indicators in the form's order.
pub(crate) fn totals_sheet(form: &Form, table: &TotalsTable) -> Sheet {
    let indicators: Vec<&str> = form
        .indicators
        .iter()
        .map(|indicator| indicator.key.as_str())
        .filter(|key| {
            table.total.contains_key(*key)
                || table.rows.iter().any(|row| row.totals.contains_key(*key))
        })
        .collect();
    let key_header = match table.by {
        Breakdown::Division => "行政区划代码 / Division code",
        Breakdown::Industry => "行业代码 / Industry code",
        Breakdown::Class => "控制类别 / Control class",
    };
    let mut headers = vec![
        key_header.to_string(),
        "名称 / Name".to_string(),
        "English name".to_string(),
    ];
    for key in &indicators {
        headers.push(indicator_header(form, key));
        headers.push(format!("{key}: 报表数 / reports"));
    }
    let cells = |totals: &BTreeMap<String, crate::aggregate::Total>| -> Vec<Cell> {
        indicators
            .iter()
            .flat_map(|key| match totals.get(*key) {
                Some(total) => [
                    Cell::Number(total.sum.clone()),
                    Cell::Number(total.reports.to_string()),
                ],
                None => [Cell::Text(String::new()), Cell::Text(String::new())],
            })
            .collect()
    };
    let mut rows: Vec<Vec<Cell>> = table
        .rows
        .iter()
        .map(|row| {
            let mut line = vec![
                Cell::Text(row.key.clone()),
                Cell::Text(row.name_zh.clone()),
                Cell::Text(row.name_en.clone()),
            ];
            line.extend(cells(&row.totals));
            line
        })
        .collect();
    let mut total_line = vec![
        Cell::Text(table.within.to_string()),
        Cell::Text(format!("合计（{}）", table.within.name_zh())),
        Cell::Text("Total".to_string()),
    ];
    total_line.extend(cells(&table.total));
    rows.push(total_line);
    Sheet {
        name: format!("{} {}", table.form, table.period),
        headers,
        rows,
    }
}

/// Query of `GET /api/v1/progress`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressQuery {
    form: Option<String>,
    period: Option<String>,
    city: Option<String>,
    /// A division inside the caller's scope (a supervision centre: one of its provinces).
    division: Option<String>,
}

/// A late unit of a city's summary, as the API shows it.
fn late_unit_json(unit: &crate::progress::SummaryLateUnit) -> serde_json::Value {
    serde_json::json!({
        "unit": unit.unit, "name": unit.name, "county": unit.county.to_string(),
        "state": unit.standing.as_str(), "due_ms": unit.due_ms, "overdue": unit.overdue,
    })
}

/// # `GET /api/v1/progress?form=&period=&city=`
/// Per child division: units expected, not started, draft, submitted,
/// returned, approved, accepted, suspended; at a province or the nation from
/// the cities' progress summaries where they arrived (`source`, `as_of_ms`),
/// live from the registry and the reports this node holds otherwise. Also
/// the late bureaus, and with `city=` the late units of that city's summary.
async fn progress(
    State(state): State<Arc<NodeState>>,
    super::auth::TotalsReader(caller): super::auth::TotalsReader,
    super::ApiQuery(query): super::ApiQuery<ProgressQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (form, period) = form_and_period(&state, query.form.as_deref(), query.period.as_deref())?;
    let scope = scope_for(&state, &caller.account.role, query.division.as_deref())?;
    let registry_period =
        PeriodId::parse(&period).map_err(|error| bad("period", error.to_string()))?;
    let city = query
        .city
        .as_deref()
        .map(|city| DivisionCode::parse(city).map_err(|error| bad("city", error.to_string())))
        .transpose()?;
    let now = Timestamp::now_from_system_clock();
    let view =
        crate::progress::flow::progress_view(&state, &form, &period, registry_period, scope, now)?;
    let rows: Vec<serde_json::Value> = view
        .rows
        .iter()
        .map(|row| {
            serde_json::json!({
                "division": row.division.to_string(), "name": row.division.name_zh(),
                "counts": row.counts, "as_of_ms": row.as_of_ms, "source": row.source,
            })
        })
        .collect();
    let late_bureaus: Vec<serde_json::Value> = view
        .late_bureaus
        .iter()
        .map(|bureau| {
            serde_json::json!({
                "division": bureau.division.to_string(), "name": bureau.division.name_zh(),
                "completion_percent": bureau.completion_percent,
                "rest_percent": bureau.rest_percent, "owing": bureau.owing,
                "below_the_rest": bureau.below_the_rest,
                "owing_after_close": bureau.owing_after_close,
            })
        })
        .collect();
    let city_summary = city
        .and_then(|city| view.summaries.get(&city))
        .map(|summary| {
            serde_json::json!({
                "division": summary.city.to_string(), "name": summary.city.name_zh(),
                "as_of_ms": summary.computed_at_ms, "late_total": summary.late_total,
                "late_units": summary.late.iter().map(late_unit_json).collect::<Vec<_>>(),
            })
        });
    Ok(Json(serde_json::json!({
        "form": form, "period": period, "division": scope.to_string(), "rows": rows,
        "late_bureaus": late_bureaus, "city": city_summary,
    })))
}

/// Body of `POST /api/v1/publications`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    form: String,
    period: String,
}

/// A publication as the list shows it (without its rows).
fn publication_summary(publication: &Publication) -> serde_json::Value {
    serde_json::json!({
        "form": publication.form, "period": publication.period,
        "version": publication.version, "division": publication.division,
        "published_at_ms": publication.published_at_ms,
        "published_by": publication.published_by,
        "url": format!("/public/{}/{}", publication.form, publication.period),
    })
}

/// Publishes this node's accepted totals of a form and period (the admin of
/// the node): a new version of the snapshot, durable, with its audit entry.
/// The page form and the API both call this.
pub(crate) async fn publish_totals(
    state: &NodeState,
    form: &str,
    period: &str,
    by: &str,
    now: Timestamp,
) -> Result<Publication, ApiError> {
    let (form, period) = form_and_period(state, Some(form), Some(period))?;
    let definition = form_definition(state, &form)?;
    let snapshot = publication::snapshot(
        &state.aggregates,
        &definition,
        &period,
        state.config.division,
        by,
        now,
    )?;
    let published = publication::publish(
        &state.store,
        &state.publications,
        &state.audit,
        snapshot,
        now,
    )?;
    state.store.commit_durable().await?;
    Ok(published)
}

/// # `POST /api/v1/publications` `{form, period}`
/// Admins: publishes the period's accepted totals; publishing again makes a
/// new version and keeps the old ones. 409 PUB001 when nothing is accepted.
async fn publish(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    super::ApiJson(request): super::ApiJson<PublishRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let now = Timestamp::now_from_system_clock();
    let published = publish_totals(
        &state,
        &request.form,
        &request.period,
        &admin.account.username,
        now,
    )
    .await?;
    Ok(Json(publication_summary(&published)))
}

/// # `GET /api/v1/publications`
/// Every publication of this node, every version (no login needed: published
/// data is public).
async fn list_publications(
    State(state): State<Arc<NodeState>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let all = publication::all(&state.publications)?;
    Ok(Json(serde_json::json!({
        "publications": all.iter().map(publication_summary).collect::<Vec<_>>()
    })))
}

/// The data report a bureau user asks for (`division` within its
/// jurisdiction, the whole of it when absent), made at `now`, with the
/// coverage: the progress counts of the same division.
pub(crate) fn data_report_for(
    state: &NodeState,
    caller: &super::auth::SignedIn,
    form: Option<&str>,
    period: Option<&str>,
    division: Option<&str>,
    now: Timestamp,
) -> Result<(DataReport, Counts), ApiError> {
    let (form, period) = form_and_period(state, form, period)?;
    let definition = form_definition(state, &form)?;
    let scope = scope_of(state, &caller.account.role);
    let within = division_within(scope, division)?;
    let registry_period =
        PeriodId::parse(&period).map_err(|error| bad("period", error.to_string()))?;
    let view =
        crate::progress::flow::progress_view(state, &form, &period, registry_period, within, now)?;
    let mut coverage = Counts::default();
    for row in &view.rows {
        coverage.add(&row.counts);
    }
    let report = data_report(
        &state.aggregates,
        &definition,
        &period,
        within,
        state.config.division,
        now,
    )?;
    Ok((report, coverage))
}

/// Query of `GET /api/v1/data-report`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataReportQuery {
    form: Option<String>,
    period: Option<String>,
    division: Option<String>,
}

/// # `GET /api/v1/data-report?form=&period=&division=`
/// The data report of a period as an Excel workbook: a summary sheet (the
/// coverage), the main pollutants by child division and by industry, each
/// with the previous period's figure and the change; bilingual headers,
/// exact decimals.
async fn export_data_report(
    State(state): State<Arc<NodeState>>,
    BureauUser(caller): BureauUser,
    super::ApiQuery(query): super::ApiQuery<DataReportQuery>,
) -> Result<Response, ApiError> {
    let now = Timestamp::now_from_system_clock();
    let (report, coverage) = data_report_for(
        &state,
        &caller,
        query.form.as_deref(),
        query.period.as_deref(),
        query.division.as_deref(),
        now,
    )?;
    let stem = format!(
        "data-report-{}-{}-{}",
        report.form, report.period, report.within
    );
    download_workbook(&data_report_sheets(&report, &coverage), &stem)
}

/// The workbook of a data report: the summary, by division, by industry
/// (when the division has industry totals).
pub(crate) fn data_report_sheets(report: &DataReport, coverage: &Counts) -> Vec<Sheet> {
    let item = |zh_en: &str, value: Cell| vec![Cell::Text(zh_en.to_string()), value];
    let count = |n: usize| Cell::Number(n.to_string());
    let summary = Sheet {
        name: "概况 Summary".to_string(),
        headers: vec!["项目 / Item".to_string(), "数值 / Value".to_string()],
        rows: vec![
            item("报表 / Form", Cell::Text(report.form.clone())),
            item("报告期 / Period", Cell::Text(report.period.clone())),
            item(
                "上期 / Previous period",
                Cell::Text(report.previous_period.clone().unwrap_or_default()),
            ),
            item(
                "行政区划 / Division",
                Cell::Text(format!("{} {}", report.within, report.within.name_zh())),
            ),
            item(
                "编制时间 / Made at",
                Cell::Text(crate::web::pages::i18n::format_time(report.made_at.0)),
            ),
            item("应报单位 / Units expected", count(coverage.expected)),
            item("已报送 / Reported", count(coverage.reported())),
            item(
                "本级审核通过 / Approved at this level",
                count(coverage.approved),
            ),
            item("已验收 / Accepted", count(coverage.accepted)),
            item("停报 / Suspended", count(coverage.suspended)),
            item(
                "计入汇总的报表 / Reports in the totals",
                Cell::Number(report.by_division.total.reports.to_string()),
            ),
        ],
    };
    let mut sheets = vec![
        summary,
        comparison_sheet(
            report,
            &report.by_division,
            "按区划 By division",
            "行政区划代码 / Division code",
        ),
    ];
    if let Some(industries) = &report.by_industry {
        sheets.push(comparison_sheet(
            report,
            industries,
            "按行业 By industry",
            "行业代码 / Industry code",
        ));
    }
    sheets
}

/// One comparison table as a sheet: per pollutant this period, the
/// previous period, the change and the change in percent.
fn comparison_sheet(
    report: &DataReport,
    table: &ComparisonTable,
    name: &str,
    key_header: &str,
) -> Sheet {
    let previous = report.previous_period.as_deref();
    let mut headers = vec![
        key_header.to_string(),
        "名称 / Name".to_string(),
        "English name".to_string(),
        "报表数 / Reports".to_string(),
    ];
    for pollutant in &report.pollutants {
        let label = format!(
            "{}（{}） / {} ({})",
            pollutant.name_zh, pollutant.unit, pollutant.name_en, pollutant.unit
        );
        headers.push(format!("{label} {}", report.period));
        if let Some(previous) = previous {
            headers.push(format!("{label} {previous}"));
            headers.push(format!("{}变化量 / change", pollutant.name_zh));
            headers.push(format!("{}变化率（%） / change (%)", pollutant.name_zh));
        }
    }
    let number = |value: Option<rust_decimal::Decimal>| match value {
        Some(value) => Cell::Number(value.to_string()),
        None => Cell::Text(String::new()),
    };
    let line =
        |row: &crate::aggregate::data_report::ReportRow, name_zh: String, name_en: String| {
            let mut cells = vec![
                Cell::Text(row.key.clone()),
                Cell::Text(name_zh),
                Cell::Text(name_en),
                Cell::Number(row.reports.to_string()),
            ];
            for figure in &row.figures {
                cells.push(number(figure.current));
                if previous.is_some() {
                    cells.push(number(figure.previous));
                    cells.push(number(figure.change()));
                    cells.push(number(figure.percent()));
                }
            }
            cells
        };
    let mut rows: Vec<Vec<Cell>> = table
        .rows
        .iter()
        .map(|row| line(row, row.name_zh.clone(), row.name_en.clone()))
        .collect();
    rows.push(line(
        &table.total,
        format!("合计（{}）", report.within.name_zh()),
        "Total".to_string(),
    ));
    Sheet {
        name: name.to_string(),
        headers,
        rows,
    }
}
