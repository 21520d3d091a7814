//! County work in pages (R34): a county user's page `/registry/county` lists
//! the county's units with a small form each to propose one change
//! (suspension with its reason, resumption, closure, key-industry in or out)
//! and the county's proposals with their state; a city admin's page
//! `/registry/proposals` lists the pending proposals with confirm and reject.
//! Both call [`crate::registry::flow::propose_changes`],
//! [`crate::registry::flow::proposals_within`] and
//! [`crate::web::unit_admin::decide_proposal_as`], as the API does.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};

use super::i18n::{Lang, catalogue, format_time};
use super::units::{REASON_WORDS, change_from_form, change_label, status_label};
use super::{Chrome, OrPage, Page, PageError, check_csrf, field, message_of, render};

use crate::clock::Timestamp;

use crate::node::NodeState;
use crate::registry::county::CountyProposal;
use crate::registry::store::UnitFilter;
use crate::web::auth::{Admin, CountyUser};
use crate::web::error::ApiError;
use crate::web::registry::parse_period;

/// The county pages' routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/registry/county", get(county_page).post(propose_from_page))
        .route("/registry/proposals", get(proposals_page))
        .route("/registry/proposals/{id}", post(decide_from_page))
}

/// A unit of the county with its proposal form.
#[derive(Debug)]
struct CountyUnitRow {
    code: String,
    name: String,
    status: String,
    key_industry: bool,
}

/// A proposal as the pages list it.
#[derive(Debug)]
struct ProposalRow {
    id: String,
    unit: String,
    unit_name: String,
    change: String,
    why: String,
    proposed_by: String,
    proposed_at: String,
    /// `pending`, `confirmed` or `rejected` (a CSS class and a catalogue key).
    state: &'static str,
    /// The state in the page language.
    state_label: String,
    note: String,
}

/// A select option.
#[derive(Debug)]
struct ActionChoice {
    value: &'static str,
    label: String,
}

/// The county page.
#[derive(Debug, Template)]
#[template(path = "county.html")]
struct CountyTemplate {
    chrome: Chrome,
    period: String,
    units: Vec<CountyUnitRow>,
    actions: Vec<ActionChoice>,
    reasons: Vec<ActionChoice>,
    proposals: Vec<ProposalRow>,
}

/// The city admin's proposals page.
#[derive(Debug, Template)]
#[template(path = "proposals.html")]
struct ProposalsTemplate {
    chrome: Chrome,
    proposals: Vec<ProposalRow>,
}

/// Query of both pages.
#[derive(Debug, Default, serde::Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

const ACTION_WORDS: [&str; 5] = [
    "suspend",
    "resume",
    "close",
    "key_industry_in",
    "key_industry_out",
];

fn proposal_rows(state: &NodeState, lang: Lang, proposals: &[CountyProposal]) -> Vec<ProposalRow> {
    proposals
        .iter()
        .map(|proposal| {
            let unit_name = crate::registry::UnitCode::parse(&proposal.unit)
                .ok()
                .and_then(|code| state.registry.current_unit(&code).ok().flatten())
                .map(|current| current.unit.name)
                .unwrap_or_default();
            let (state_word, note) = match &proposal.decision {
                None => ("pending", String::new()),
                Some(decision) if decision.confirmed => ("confirmed", decision.note.clone()),
                Some(decision) => ("rejected", decision.note.clone()),
            };
            ProposalRow {
                id: proposal.id.clone(),
                unit: proposal.unit.clone(),
                unit_name,
                change: change_label(lang, &proposal.change),
                why: proposal.why.clone(),
                proposed_by: proposal.proposed_by.clone(),
                proposed_at: format_time(proposal.proposed_at_ms),
                state: state_word,
                state_label: catalogue(lang.language)
                    .t(&format!("proposals.state_{state_word}"))
                    .to_string(),
                note,
            }
        })
        .collect()
}

fn county_template(
    state: &NodeState,
    lang: Lang,
    who: &CountyUser,
) -> Result<CountyTemplate, ApiError> {
    let (signed_in, county) = (&who.signed_in, who.county);
    let catalogue = catalogue(lang.language);
    let period = parse_period(state, None)?;
    let units = state
        .registry
        .list(period, Some(&UnitFilter::within(county)))?
        .into_iter()
        .filter(|entry| entry.unit.status != crate::registry::UnitStatus::Closed)
        .map(|entry| CountyUnitRow {
            code: entry.unit.code.as_str().to_string(),
            name: entry.unit.name.clone(),
            status: status_label(lang, &entry.unit.status),
            key_industry: entry.unit.key_industry,
        })
        .collect();
    let proposals = crate::registry::flow::proposals_within(state, county, false)?;
    Ok(CountyTemplate {
        chrome: Chrome::signed_in(state, lang, signed_in, "county.title", "nav.county"),
        period: period.to_string(),
        units,
        actions: ACTION_WORDS
            .iter()
            .map(|word| ActionChoice {
                value: word,
                label: catalogue.t(&format!("change.{word}")).to_string(),
            })
            .collect(),
        reasons: REASON_WORDS
            .iter()
            .map(|word| ActionChoice {
                value: word,
                label: catalogue.t(&format!("reason.{word}")).to_string(),
            })
            .collect(),
        proposals: proposal_rows(state, lang, &proposals),
    })
}

/// # `GET /registry/county`
/// County users: the county's units, a proposal form per unit, and the county's proposals.
async fn county_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<CountyUser>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let mut page = county_template(&state, lang, &who).or_page(lang)?;
    if query.notice.as_deref() == Some("proposed") {
        page.chrome.notice = Some(catalogue(lang.language).t("county.proposed").to_string());
    }
    render(lang, &page)
}

/// # `POST /registry/county` (`csrf`, `period`, `unit`, `action`, `reason`, `other_reason`, `why`)
/// County users: one proposal through `propose_changes`; a refusal re-shows
/// the page with the reason in the page language.
async fn propose_from_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<CountyUser>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_csrf(&who.signed_in, field(&form, "csrf")).or_page(lang)?;
    let county = who.county;
    let outcome = async {
        let period = parse_period(
            &state,
            field(&form, "period").filter(|text| !text.is_empty()),
        )?;
        let change = change_from_form(&form)?;
        let proposed = crate::registry::flow::ProposedChange {
            unit: field(&form, "unit").unwrap_or_default().to_string(),
            change,
            why: field(&form, "why").unwrap_or_default().to_string(),
        };
        crate::registry::flow::propose_changes(
            &state,
            county,
            period,
            vec![proposed],
            &who.signed_in.account.username,
            Timestamp::now_from_system_clock(),
        )
        .await
        .map_err(ApiError::from)
    }
    .await;
    match outcome {
        Ok(_) => Ok(super::see_other("/registry/county?notice=proposed")),
        Err(error) => {
            let status = error.status_and_code().0;
            if status.is_server_error() {
                return Err(PageError::new(lang, error));
            }
            let mut page = county_template(&state, lang, &who).or_page(lang)?;
            page.chrome.error = Some(message_of(&error, lang));
            super::render_with_status(lang, status, &page)
        }
    }
}

fn proposals_template(
    state: &NodeState,
    lang: Lang,
    admin: &Admin,
) -> Result<ProposalsTemplate, ApiError> {
    let pending = crate::registry::flow::proposals_within(state, state.config.division, true)?;
    Ok(ProposalsTemplate {
        chrome: Chrome::signed_in(state, lang, &admin.0, "proposals.title", "nav.proposals"),
        proposals: proposal_rows(state, lang, &pending),
    })
}

/// # `GET /registry/proposals`
/// City admins: the counties' pending proposals with confirm and reject.
async fn proposals_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Admin>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let mut page = proposals_template(&state, lang, &who).or_page(lang)?;
    let key = match query.notice.as_deref() {
        Some("confirmed") => Some("proposals.confirmed"),
        Some("rejected") => Some("proposals.rejected"),
        _ => None,
    };
    if let Some(key) = key {
        page.chrome.notice = Some(catalogue(lang.language).t(key).to_string());
    }
    render(lang, &page)
}

/// # `POST /registry/proposals/{id}` (`csrf`, `decision` = confirm | reject, `note`)
/// City admins: confirms (the change is made and travels up) or rejects with a note.
async fn decide_from_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Admin>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_csrf(&who.0, field(&form, "csrf")).or_page(lang)?;
    let confirm = match field(&form, "decision") {
        Some("confirm") => Ok(true),
        Some("reject") => Ok(false),
        _ => Err(ApiError::BadRequest {
            field: Some("decision".to_string()),
            message: "请选择确认或退回 / choose confirm or reject".to_string(),
        }),
    };
    let outcome = match confirm {
        Ok(confirm) => crate::web::unit_admin::decide_proposal_as(
            &state,
            &id,
            confirm,
            field(&form, "note").unwrap_or_default(),
            &who.0.account.username,
        )
        .await
        .map(|decided| decided.decision.is_some_and(|decision| decision.confirmed)),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(true) => Ok(super::see_other("/registry/proposals?notice=confirmed")),
        Ok(false) => Ok(super::see_other("/registry/proposals?notice=rejected")),
        Err(error) => {
            let status = error.status_and_code().0;
            if status.is_server_error() {
                return Err(PageError::new(lang, error));
            }
            let mut page = proposals_template(&state, lang, &who).or_page(lang)?;
            page.chrome.error = Some(message_of(&error, lang));
            super::render_with_status(lang, status, &page)
        }
    }
}
