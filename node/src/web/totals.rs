//! Totals and progress over HTTP: `GET /api/v1/aggregates` and `GET /api/v1/progress`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use super::auth::BureauUser;
use super::error::ApiError;
use crate::accounts::Role;
use crate::aggregate::{Total, totals_of};
use crate::division::{DivisionCode, DivisionKind};
use crate::node::NodeState;
use crate::registry::store::UnitFilter;
use crate::registry::{PeriodId, StatusKind};
use crate::report::ReportKey;

/// The totals and progress routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/api/v1/aggregates", get(aggregates))
        .route("/api/v1/progress", get(progress))
}

fn bad(field: &str, message: String) -> ApiError {
    ApiError::BadRequest {
        field: Some(field.to_string()),
        message,
    }
}

fn scope_of(state: &NodeState, role: &Role) -> DivisionCode {
    match role {
        Role::County { county } => *county,
        Role::Admin | Role::Reviewer | Role::Enterprise { .. } => state.config.division,
    }
}

fn form_and_period(
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

fn filtered(
    totals: BTreeMap<String, Total>,
    indicators: &Option<Vec<String>>,
) -> BTreeMap<String, Total> {
    match indicators {
        None => totals,
        Some(wanted) => totals
            .into_iter()
            .filter(|(key, _)| wanted.contains(key))
            .collect(),
    }
}

/// # `GET /api/v1/aggregates?form=&period=&by=division|industry|class&indicators=&division=`
/// Totals over accepted data in the caller's jurisdiction (exact decimals).
async fn aggregates(
    State(state): State<Arc<NodeState>>,
    BureauUser(caller): BureauUser,
    super::ApiQuery(query): super::ApiQuery<AggregateQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (form, period) = form_and_period(&state, query.form.as_deref(), query.period.as_deref())?;
    let scope = scope_of(&state, &caller.account.role);
    let within = match &query.division {
        None => scope,
        Some(text) => {
            let division =
                DivisionCode::parse(text).map_err(|error| bad("division", error.to_string()))?;
            if !scope.contains(division) {
                return Err(ApiError::OutsideJurisdiction {
                    division: text.clone(),
                });
            }
            division
        }
    };
    let indicators = query.indicators.as_ref().map(|list| {
        list.split(',')
            .map(|key| key.trim().to_string())
            .filter(|key| !key.is_empty())
            .collect()
    });
    let by = query.by.clone().unwrap_or_else(|| "division".to_string());
    let trees = &state.aggregates;
    let rows: Vec<serde_json::Value> = match by.as_str() {
        "division" => within
            .children()
            .iter()
            .map(|child| {
                Ok(serde_json::json!({
                    "key": child.to_string(), "name": child.name_zh(),
                    "totals": filtered(totals_of(trees, &form, &period, &format!("division:{child}"))?, &indicators),
                }))
            })
            .collect::<Result<_, ApiError>>()?,
        "industry" | "class" if within != state.config.division => {
            return Err(bad("by", "按行业或类别汇总仅限整个辖区 / totals by industry or class cover the whole jurisdiction only".to_string()));
        }
        "industry" => crate::registry::all_industry_codes()
            .iter()
            .map(|industry| {
                Ok(serde_json::json!({
                    "key": industry.as_str(), "name": industry.name_zh(),
                    "totals": filtered(totals_of(trees, &form, &period, &format!("industry:{}", industry.as_str()))?, &indicators),
                }))
            })
            .collect::<Result<Vec<_>, ApiError>>()?
            .into_iter()
            .filter(|row| row["totals"].as_object().is_some_and(|totals| !totals.is_empty()))
            .collect(),
        "class" => ["national", "provincial", "city", "other"]
            .iter()
            .map(|class| {
                Ok(serde_json::json!({
                    "key": class,
                    "totals": filtered(totals_of(trees, &form, &period, &format!("class:{class}"))?, &indicators),
                }))
            })
            .collect::<Result<_, ApiError>>()?,
        other => return Err(bad("by", format!("'{other}'：应为 division、industry 或 class / expected division, industry or class"))),
    };
    let total = filtered(
        totals_of(trees, &form, &period, &format!("division:{within}"))?,
        &indicators,
    );
    Ok(Json(serde_json::json!({
        "form": form, "period": period, "by": by,
        "division": within.to_string(), "division_name": within.name_zh(),
        "total": total, "rows": rows,
    })))
}

/// Query of `GET /api/v1/progress`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressQuery {
    form: Option<String>,
    period: Option<String>,
}

/// Counts per child division.
#[derive(Debug, Default, serde::Serialize)]
struct Progress {
    expected: usize,
    not_started: usize,
    draft: usize,
    submitted: usize,
    returned: usize,
    approved: usize,
    accepted: usize,
    suspended: usize,
}

/// The child division of `scope` that holds `county` (or `scope` itself for a county scope).
fn child_holding(scope: DivisionCode, county: DivisionCode) -> Option<DivisionCode> {
    if scope.kind() == DivisionKind::County || scope == county {
        return Some(scope);
    }
    scope
        .children()
        .iter()
        .copied()
        .find(|child| child.contains(county))
}

/// # `GET /api/v1/progress?form=&period=`
/// Per child division: units expected, not started, draft, submitted,
/// returned, approved, accepted, suspended — live from the registry and the
/// reports this node holds.
async fn progress(
    State(state): State<Arc<NodeState>>,
    BureauUser(caller): BureauUser,
    super::ApiQuery(query): super::ApiQuery<ProgressQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (form, period) = form_and_period(&state, query.form.as_deref(), query.period.as_deref())?;
    let scope = scope_of(&state, &caller.account.role);
    let registry_period =
        PeriodId::parse(&period).map_err(|error| bad("period", error.to_string()))?;
    let entries = state
        .registry
        .list(registry_period, Some(&UnitFilter::within(scope)))?;
    let mut by_child: BTreeMap<DivisionCode, Progress> = scope
        .children()
        .iter()
        .map(|child| (*child, Progress::default()))
        .collect();
    if by_child.is_empty() {
        by_child.insert(scope, Progress::default());
    }
    for entry in entries {
        let unit = &entry.unit;
        let Some(child) = child_holding(scope, unit.county) else {
            continue;
        };
        let counts = by_child.entry(child).or_default();
        match unit.status.kind() {
            StatusKind::Suspended => {
                counts.suspended += 1;
                continue;
            }
            StatusKind::Closed => continue,
            StatusKind::Active => counts.expected += 1,
        }
        let key = ReportKey {
            unit: unit.code.as_str().to_string(),
            form: form.clone(),
            period: period.clone(),
        };
        let own = state.reports.status.get(&key.to_bytes())?;
        let received = state.review.received.get(&key.to_bytes())?;
        let word = match (&own, &received) {
            (_, Some(received)) => match received.state {
                crate::review::UpperState::Accepted => "accepted",
                crate::review::UpperState::Approved => "approved",
                crate::review::UpperState::AwaitingReview
                | crate::review::UpperState::FeedbackSent
                | crate::review::UpperState::FeedbackFromAbove => "submitted",
            },
            (Some(status), None) if !status.accepted_by.is_empty() => "accepted",
            (Some(status), None) => match status.state {
                crate::report::ReportState::Draft => "draft",
                crate::report::ReportState::Submitted => "submitted",
                crate::report::ReportState::Returned
                | crate::report::ReportState::FeedbackReceived => "returned",
                crate::report::ReportState::Approved => "approved",
            },
            (None, None) => "not_started",
        };
        match word {
            "accepted" => counts.accepted += 1,
            "approved" => counts.approved += 1,
            "submitted" => counts.submitted += 1,
            "returned" => counts.returned += 1,
            "draft" => counts.draft += 1,
            _ => counts.not_started += 1,
        }
    }
    let rows: Vec<serde_json::Value> = by_child
        .into_iter()
        .map(|(division, counts)| serde_json::json!({"division": division.to_string(), "name": division.name_zh(), "counts": counts}))
        .collect();
    Ok(Json(
        serde_json::json!({"form": form, "period": period, "division": scope.to_string(), "rows": rows}),
    ))
}
