//! The registry over HTTP: listing units within the caller's jurisdiction
//! (as JSON or a CSV / Excel download), one unit, and importing a file of units.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::auth::{Admin, BureauUser, Caller};
use super::error::ApiError;
use super::export::{Cell, ExportFormat, Sheet, download};
use crate::accounts::Role;
use crate::clock::Timestamp;
use crate::division::DivisionCode;
use crate::node::NodeState;
use crate::registry::store::UnitFilter;
use crate::registry::{ControlClass, PeriodId, RegistryEntry, StatusKind, UnitCode};

/// The registry routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/api/v1/units", get(list_units))
        .route(
            "/api/v1/units/import",
            // why: a workbook of 50,000 units is larger than the default 2 MiB body limit
            post(import_units).layer(axum::extract::DefaultBodyLimit::max(
                crate::registry::import::ImportLimits::default().max_bytes,
            )),
        )
        .route("/api/v1/units/export", get(export_units))
        .route("/api/v1/units/{code}", get(one_unit))
        .route(
            "/api/v1/registry/lineage/suggestions",
            get(lineage_suggestions),
        )
        .route("/api/v1/registry/lineage", post(confirm_lineage))
}

/// The annual period being reported at this node (one source: the node's
/// standards), as the registry names periods.
pub fn current_annual_period(state: &NodeState) -> Result<PeriodId, ApiError> {
    let annual = state.standards().annual_period.to_string();
    PeriodId::parse(&annual)
        .map_err(|error| ApiError::Internal(format!("current period {annual}: {error}")))
}

/// The divisions a caller may see: the node's jurisdiction, a county user's county.
pub fn caller_scope(state: &NodeState, role: &Role) -> Result<DivisionCode, ApiError> {
    match role {
        Role::Admin | Role::Reviewer => Ok(state.config.division),
        Role::County { county } => Ok(*county),
        // A group company sees its subsidiaries anywhere in the node's registry.
        Role::Group { .. } => Ok(state.config.division),
        // A supervision centre: its first province unless it names another of them.
        Role::Supervision { provinces } => provinces
            .iter()
            .copied()
            .find(|province| state.config.division.contains(*province))
            .ok_or(ApiError::Forbidden {
                needed: "supervision centre of a province of this node",
            }),
        Role::Enterprise { .. } => Err(ApiError::Forbidden {
            needed: "bureau (admin, reviewer or county)",
        }),
    }
}

/// Query of `GET /api/v1/units`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitQuery {
    division: Option<String>,
    class: Option<String>,
    status: Option<String>,
    period: Option<String>,
}

/// A unit as the API shows it.
#[derive(Debug, serde::Serialize)]
pub struct UnitView {
    credit_code: String,
    name: String,
    address: String,
    county: String,
    county_name: &'static str,
    industry: String,
    industry_name: String,
    classes: Vec<&'static str>,
    key_industry: bool,
    status: &'static str,
    suspension_reason: Option<String>,
    contact: crate::registry::Contact,
    liaison: Option<String>,
    group_company: Option<String>,
}

fn status_word(kind: StatusKind) -> &'static str {
    match kind {
        StatusKind::Active => "active",
        StatusKind::Suspended => "suspended",
        StatusKind::Closed => "closed",
    }
}

fn view(entry: &RegistryEntry) -> UnitView {
    let unit = &entry.unit;
    UnitView {
        credit_code: unit.code.as_str().to_string(),
        name: unit.name.clone(),
        address: unit.address.clone(),
        county: unit.county.to_string(),
        county_name: unit.county.name_zh(),
        industry: unit.industry.as_str().to_string(),
        industry_name: unit.industry.name_zh().to_string(),
        classes: unit.classes.iter().map(ControlClass::code_word).collect(),
        key_industry: unit.key_industry,
        status: status_word(unit.status.kind()),
        suspension_reason: match &unit.status {
            crate::registry::UnitStatus::Suspended { reason } => Some(reason.label_zh()),
            crate::registry::UnitStatus::Active | crate::registry::UnitStatus::Closed => None,
        },
        contact: unit.contact.clone(),
        liaison: unit.liaison.clone(),
        group_company: unit.group_company.clone(),
    }
}

fn bad_query(field: &str, message: String) -> ApiError {
    ApiError::BadRequest {
        field: Some(field.to_string()),
        message,
    }
}

pub fn parse_period(state: &NodeState, text: Option<&str>) -> Result<PeriodId, ApiError> {
    match text {
        None => current_annual_period(state),
        Some(text) => PeriodId::parse(text).map_err(|error| bad_query("period", error.to_string())),
    }
}

/// The filters of a listing, checked: the period and the entries within the caller's scope.
fn filtered_entries(
    state: &NodeState,
    role: &Role,
    division: Option<&str>,
    class: Option<&str>,
    status: Option<&str>,
    period: Option<&str>,
) -> Result<(PeriodId, DivisionCode, Vec<RegistryEntry>), ApiError> {
    let scope = caller_scope(state, role)?;
    let period = parse_period(state, period)?;
    let within = match division {
        None => scope,
        Some(text) => {
            let division = DivisionCode::parse(text)
                .map_err(|error| bad_query("division", error.to_string()))?;
            let supervised = match role {
                Role::Supervision { provinces } => {
                    provinces.iter().any(|province| province.contains(division))
                }
                Role::Admin
                | Role::Reviewer
                | Role::County { .. }
                | Role::Enterprise { .. }
                | Role::Group { .. } => false,
            };
            if !scope.contains(division) && !supervised {
                return Err(ApiError::OutsideJurisdiction {
                    division: division.to_string(),
                });
            }
            division
        }
    };
    let class = match class {
        None => None,
        Some(text) => Some(ControlClass::parse(text).ok_or_else(|| {
            bad_query("class", format!("'{text}' 不是控制类别 / is not a control class: national, provincial, city, other"))
        })?),
    };
    let status = match status {
        None => None,
        Some("active") => Some(StatusKind::Active),
        Some("suspended") => Some(StatusKind::Suspended),
        Some("closed") => Some(StatusKind::Closed),
        Some(other) => {
            return Err(bad_query(
                "status",
                format!("'{other}' 不是状态 / is not a status: active, suspended, closed"),
            ));
        }
    };
    let filter = UnitFilter {
        within,
        class,
        status,
        key_industry: None,
        industry: None,
    };
    let mut entries = state.registry.list(period, Some(&filter))?;
    entries.retain(|entry| super::auth::sees_unit(state, role, &entry.unit));
    Ok((period, within, entries))
}

/// # `GET /api/v1/units?division=&class=&status=&period=`
/// The registry within the caller's jurisdiction, with counts.
async fn list_units(
    State(state): State<Arc<NodeState>>,
    super::auth::RegistryReader(caller): super::auth::RegistryReader,
    super::ApiQuery(query): super::ApiQuery<UnitQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (period, within, entries) = filtered_entries(
        &state,
        &caller.account.role,
        query.division.as_deref(),
        query.class.as_deref(),
        query.status.as_deref(),
        query.period.as_deref(),
    )?;
    // A group company's view is its subsidiaries: the jurisdiction's counts are not its to see.
    let counts = match &caller.account.role {
        Role::Group { .. } => serde_json::Value::Null,
        _ => serde_json::to_value(state.registry.counts(period, within)?)
            .map_err(|error| ApiError::Internal(error.to_string()))?,
    };
    Ok(Json(serde_json::json!({
        "period": period.to_string(),
        "division": within.to_string(),
        "units": entries.iter().map(view).collect::<Vec<_>>(),
        "counts": counts,
    })))
}

/// Query of `GET /api/v1/units/export`: the filters of the listing and `format`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitExportQuery {
    format: Option<String>,
    division: Option<String>,
    class: Option<String>,
    status: Option<String>,
    period: Option<String>,
}

/// The export's columns: `中文 / English`. The Chinese half is a header the
/// import reads, so an exported registry can be imported again.
const UNIT_EXPORT_HEADERS: [&str; 15] = [
    "统一社会信用代码 / Credit code",
    "单位名称 / Name",
    "详细地址 / Address",
    "行政区划代码 / Division code",
    "区县 / County",
    "行业代码 / Industry code",
    "行业 / Industry",
    "控制类别 / Control classes",
    "重点行业 / Key industry",
    "状态 / Status",
    "停报原因 / Suspension reason",
    "联系人 / Contact person",
    "联系电话 / Contact phone",
    "电子邮箱 / Email",
    "联络员 / Liaison",
];

fn export_row(entry: &RegistryEntry) -> Vec<Cell> {
    let unit = &entry.unit;
    let text = |value: &str| Cell::Text(value.to_string());
    vec![
        text(unit.code.as_str()),
        text(&unit.name),
        text(&unit.address),
        text(&unit.county.to_string()),
        text(unit.county.name_zh()),
        text(unit.industry.as_str()),
        text(unit.industry.name_zh()),
        text(
            &unit
                .classes
                .iter()
                .map(ControlClass::label_zh)
                .collect::<Vec<_>>()
                .join("、"),
        ),
        text(if unit.key_industry { "是" } else { "否" }),
        text(status_word(unit.status.kind())),
        text(&match &unit.status {
            crate::registry::UnitStatus::Suspended { reason } => reason.label_zh(),
            crate::registry::UnitStatus::Active | crate::registry::UnitStatus::Closed => {
                String::new()
            }
        }),
        text(&unit.contact.person),
        text(&unit.contact.phone),
        text(unit.contact.email.as_deref().unwrap_or_default()),
        text(unit.liaison.as_deref().unwrap_or_default()),
    ]
}

/// # `GET /api/v1/units/export?format=csv|xlsx&division=&class=&status=&period=`
/// The registry listing as a CSV (UTF-8 with BOM) or Excel download with
/// bilingual headers, within the caller's jurisdiction.
async fn export_units(
    State(state): State<Arc<NodeState>>,
    BureauUser(caller): BureauUser,
    super::ApiQuery(query): super::ApiQuery<UnitExportQuery>,
) -> Result<Response, ApiError> {
    let format = ExportFormat::parse(query.format.as_deref())?;
    let (period, within, entries) = filtered_entries(
        &state,
        &caller.account.role,
        query.division.as_deref(),
        query.class.as_deref(),
        query.status.as_deref(),
        query.period.as_deref(),
    )?;
    let sheet = Sheet {
        name: format!("{within} {period}"),
        headers: UNIT_EXPORT_HEADERS
            .iter()
            .map(|header| header.to_string())
            .collect(),
        rows: entries.iter().map(export_row).collect(),
    };
    download(&sheet, format, &format!("units-{within}-{period}"))
}

/// # `GET /api/v1/units/{code}`
/// One unit: bureau users within their jurisdiction, an enterprise its own.
async fn one_unit(
    State(state): State<Arc<NodeState>>,
    Caller(caller): Caller,
    Path(code): Path<String>,
) -> Result<Json<UnitView>, ApiError> {
    let not_found = || ApiError::NotFound {
        path: format!("/api/v1/units/{code}"),
    };
    let unit_code = UnitCode::parse(&code).map_err(|_| not_found())?;
    let current = state
        .registry
        .current_unit(&unit_code)?
        .ok_or_else(not_found)?;
    let visible = match &caller.account.role {
        Role::Enterprise { unit } => unit == unit_code.as_str(),
        role => super::auth::sees_unit(&state, role, &current.unit),
    };
    // Someone else's unit is "not found", not "forbidden": its existence is not theirs to learn.
    if !visible {
        return Err(not_found());
    }
    let entry = state
        .registry
        .entry(current.latest_period, &unit_code)?
        .ok_or_else(not_found)?;
    Ok(Json(view(&entry)))
}

/// Query of `POST /api/v1/units/import`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    period: Option<String>,
    /// `true` to write; otherwise only check and report.
    commit: Option<bool>,
    /// With problems in some rows: `true` writes the valid rows, otherwise nothing is written.
    accept_valid_rows: Option<bool>,
}

/// # `POST /api/v1/units/import?period=&commit=&accept_valid_rows=`
/// An xlsx or CSV file of units (the body). Answers a per-row report; writes
/// all valid rows, or none, as the admin chooses. New units get logins.
async fn import_units(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    super::ApiQuery(query): super::ApiQuery<ImportQuery>,
    super::ApiBytes(body): super::ApiBytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let period = parse_period(&state, query.period.as_deref())?;
    let (report, outcome) = check_and_import(
        &state,
        period,
        body,
        query.commit.unwrap_or(false),
        query.accept_valid_rows.unwrap_or(false),
        &admin.account.username,
    )
    .await?;
    Ok(Json(serde_json::json!({
        "period": period.to_string(),
        "rows_read": report.rows_read,
        "valid_rows": report.valid.len(),
        "problems": report.problems,
        "written": outcome.is_some(),
        "added": outcome.as_ref().map(|outcome| outcome.summary.added),
        "replaced": outcome.as_ref().map(|outcome| outcome.summary.replaced),
        "new_logins": outcome.map(|outcome| outcome.new_logins).unwrap_or_default(),
    })))
}

/// Reads an uploaded file of units and, when `commit` is set and the file is
/// clean (or `accept_valid_rows`), writes its valid rows — what both
/// `POST /api/v1/units/import` and the import page do. Answers the per-row
/// report and what was written (`None`: nothing).
pub async fn check_and_import(
    state: &NodeState,
    period: PeriodId,
    body: Bytes,
    commit: bool,
    accept_valid_rows: bool,
    by: &str,
) -> Result<
    (
        crate::registry::import::ImportReport,
        Option<crate::registry::flow::ImportOutcome>,
    ),
    ApiError,
> {
    let now = Timestamp::now_from_system_clock();
    let division = state.config.division;
    let report = tokio::task::spawn_blocking(move || {
        crate::registry::import::read_units(
            &body,
            division,
            crate::registry::import::ImportLimits::default(),
        )
    })
    .await
    .map_err(|error| ApiError::Internal(format!("import task: {error}")))?
    .map_err(|error| ApiError::BadRequest {
        field: Some("file".to_string()),
        message: error.to_string(),
    })?;
    let write = commit && (report.problems.is_empty() || accept_valid_rows);
    let mut outcome = None;
    if write && !report.valid.is_empty() {
        let imported =
            crate::registry::flow::import_units(state, period, report.valid.clone(), by, true, now)
                .await?;
        outcome = Some(imported);
    }
    Ok((report, outcome))
}

/// Query of `GET /api/v1/registry/lineage/suggestions`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestionQuery {
    period: Option<String>,
}

/// # `GET /api/v1/registry/lineage/suggestions?period=`
/// Bureau users of a city node: suggested links between this period's new
/// units and the previous period's units that are gone, not yet linked, with
/// the reason and score (R28).
async fn lineage_suggestions(
    State(state): State<Arc<NodeState>>,
    BureauUser(caller): BureauUser,
    super::ApiQuery(query): super::ApiQuery<SuggestionQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let scope = caller_scope(&state, &caller.account.role)?;
    let period = parse_period(&state, query.period.as_deref())?;
    let suggestions = crate::registry::flow::lineage_suggestions(&state, period, scope)?;
    Ok(Json(serde_json::json!({
        "period": period.to_string(),
        "previous_period": period.previous().map(|previous| previous.to_string()),
        "suggestions": suggestions,
    })))
}

/// `POST /api/v1/registry/lineage` body. Fields are read as text so a refusal names the field.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    current: Option<String>,
    previous: Option<String>,
    kind: Option<String>,
}

/// # `POST /api/v1/registry/lineage`
/// A city admin confirms that unit `current` continues `previous`
/// (`kind`: renamed, recoded, merged, split); stored durably with an audit entry.
async fn confirm_lineage(
    State(state): State<Arc<NodeState>>,
    Admin(admin): Admin,
    super::ApiJson(request): super::ApiJson<LinkRequest>,
) -> Result<Json<crate::registry::lineage::LineageLink>, ApiError> {
    let now = Timestamp::now_from_system_clock();
    let link = crate::registry::flow::confirm_lineage(
        &state,
        request.current.as_deref(),
        request.previous.as_deref(),
        request.kind.as_deref(),
        state.config.division,
        &admin.account.username,
        now,
    )
    .await?;
    Ok(Json(link))
}
