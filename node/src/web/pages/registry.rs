//! The bureau users' registry page: search this node's units by name, code
//! or address, county, control class and status. Admins of a city node also
//! see the lineage suggestions (R28) with a confirm button, which calls
//! [`crate::registry::flow::confirm_lineage`] as the API does.

use std::collections::BTreeSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use zhibao_federation_protocol::NodeLevel;

use super::i18n::{Lang, catalogue};
use super::{Chrome, OrPage, Page, PageError, check_csrf, field, render, render_with_status};
use crate::accounts::Role;
use crate::clock::Timestamp;
use crate::division::DivisionCode;
use crate::node::NodeState;
use crate::registry::lineage::LinkReason;
use crate::registry::store::{UnitFilter, matches_search};
use crate::registry::{ControlClass, StatusKind};
use crate::web::auth::{Admin, RegistryReader};
use crate::web::error::ApiError;
use crate::web::registry::{caller_scope, parse_period};

/// The registry page routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/registry", get(registry_page))
        .route("/registry/lineage", post(confirm_link))
}

/// The search form.
#[derive(Debug, Default, serde::Deserialize)]
struct RegistryQuery {
    q: Option<String>,
    county: Option<String>,
    class: Option<String>,
    status: Option<String>,
    period: Option<String>,
    notice: Option<String>,
}

/// One unit of the results.
#[derive(Debug)]
struct UnitRow {
    code: String,
    name: String,
    county: String,
    classes: String,
    status: String,
}

/// A choice of a filter.
#[derive(Debug)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// A lineage suggestion with its confirm form.
#[derive(Debug)]
struct SuggestionRow {
    previous: String,
    previous_name: String,
    current: String,
    current_name: String,
    reason: String,
    score: String,
    kinds: Vec<Choice>,
}

/// The page.
#[derive(Debug, Template)]
#[template(path = "registry.html")]
struct RegistryTemplate {
    chrome: Chrome,
    period: String,
    q: String,
    counties: Vec<Choice>,
    classes: Vec<Choice>,
    statuses: Vec<Choice>,
    rows: Vec<UnitRow>,
    count_text: String,
    /// `None` unless the caller is an admin of a city node.
    suggestions: Option<Vec<SuggestionRow>>,
}

/// Rows shown at most (the count says how many matched).
const MAX_ROWS: usize = 1000;

const CLASS_WORDS: [&str; 4] = ["national", "provincial", "city", "other"];
const STATUS_WORDS: [&str; 3] = ["active", "suspended", "closed"];
const KIND_WORDS: [&str; 4] = ["renamed", "recoded", "merged", "split"];

fn bad(field: &str, message: String) -> ApiError {
    ApiError::BadRequest {
        field: Some(field.to_string()),
        message,
    }
}

fn status_of(word: &str) -> Option<StatusKind> {
    match word {
        "active" => Some(StatusKind::Active),
        "suspended" => Some(StatusKind::Suspended),
        "closed" => Some(StatusKind::Closed),
        _ => None,
    }
}

fn status_word(kind: StatusKind) -> &'static str {
    match kind {
        StatusKind::Active => "active",
        StatusKind::Suspended => "suspended",
        StatusKind::Closed => "closed",
    }
}

fn reason_word(reason: LinkReason) -> &'static str {
    match reason {
        LinkReason::SameOrgCodeInCreditCode => "same_org_code_in_credit_code",
        LinkReason::SameName => "same_name",
        LinkReason::SimilarNameSameAddress => "similar_name_same_address",
    }
}

fn choices(words: &[&str], selected: &str, label: impl Fn(&str) -> String) -> Vec<Choice> {
    words
        .iter()
        .map(|word| Choice {
            value: (*word).to_string(),
            label: label(word),
            selected: *word == selected,
        })
        .collect()
}

/// Builds the page: the search results and, for a city admin, the suggestions.
fn registry_template(
    state: &NodeState,
    lang: Lang,
    caller: &RegistryReader,
    query: &RegistryQuery,
) -> Result<RegistryTemplate, ApiError> {
    let catalogue = catalogue(lang.language);
    let chrome = Chrome::signed_in(state, lang, &caller.0, "registry.title", "nav.registry");
    let scope = caller_scope(state, &caller.0.account.role)?;
    let period = parse_period(
        state,
        query.period.as_deref().filter(|text| !text.is_empty()),
    )?;
    let wanted = |text: &Option<String>| text.clone().filter(|text| !text.trim().is_empty());
    let within = match wanted(&query.county) {
        None => scope,
        Some(text) => {
            let county =
                DivisionCode::parse(&text).map_err(|error| bad("county", error.to_string()))?;
            if !scope.contains(county) {
                return Err(ApiError::OutsideJurisdiction {
                    division: county.to_string(),
                });
            }
            county
        }
    };
    let class_word = wanted(&query.class).unwrap_or_default();
    let class = match class_word.as_str() {
        "" => None,
        word => Some(ControlClass::parse(word).ok_or_else(|| {
            bad(
                "class",
                format!("'{word}' 不是控制类别 / is not a control class"),
            )
        })?),
    };
    let status_text = wanted(&query.status).unwrap_or_default();
    let status = match status_text.as_str() {
        "" => None,
        word => Some(
            status_of(word)
                .ok_or_else(|| bad("status", format!("'{word}' 不是状态 / is not a status")))?,
        ),
    };
    let search = query.q.clone().unwrap_or_default();
    let mut all_in_scope = state
        .registry
        .list(period, Some(&UnitFilter::within(scope)))?;
    // A group company sees its subsidiaries only.
    all_in_scope
        .retain(|entry| crate::web::auth::sees_unit(state, &caller.0.account.role, &entry.unit));
    let counties: BTreeSet<DivisionCode> =
        all_in_scope.iter().map(|entry| entry.unit.county).collect();
    let filter = UnitFilter {
        within,
        class,
        status,
        key_industry: None,
        industry: None,
    };
    let matching: Vec<_> = all_in_scope
        .into_iter()
        .filter(|entry| filter.matches(&entry.unit) && matches_search(&entry.unit, &search))
        .collect();
    let class_label = |word: &str| catalogue.t(&format!("class.{word}")).to_string();
    let status_label = |word: &str| catalogue.t(&format!("unit_status.{word}")).to_string();
    let rows = matching
        .iter()
        .take(MAX_ROWS)
        .map(|entry| UnitRow {
            code: entry.unit.code.as_str().to_string(),
            name: entry.unit.name.clone(),
            county: entry.unit.county.name_zh().to_string(),
            classes: entry
                .unit
                .classes
                .iter()
                .map(|class| class_label(class.code_word()))
                .collect::<Vec<_>>()
                .join(", "),
            status: status_label(status_word(entry.unit.status.kind())),
        })
        .collect();
    let is_city_admin =
        matches!(caller.0.account.role, Role::Admin) && state.config.level() == NodeLevel::City;
    let suggestions = if is_city_admin {
        let found = crate::registry::flow::lineage_suggestions(state, period, scope)?;
        Some(
            found
                .into_iter()
                .map(|suggestion| {
                    let default_kind = match suggestion.reason {
                        LinkReason::SameOrgCodeInCreditCode => "recoded",
                        LinkReason::SameName | LinkReason::SimilarNameSameAddress => "renamed",
                    };
                    SuggestionRow {
                        reason: catalogue
                            .t(&format!(
                                "registry.reason_{}",
                                reason_word(suggestion.reason)
                            ))
                            .to_string(),
                        score: format!("{:.2}", suggestion.score),
                        kinds: choices(&KIND_WORDS, default_kind, |word| {
                            catalogue.t(&format!("registry.kind_{word}")).to_string()
                        }),
                        previous: suggestion.previous,
                        previous_name: suggestion.previous_name,
                        current: suggestion.current,
                        current_name: suggestion.current_name,
                    }
                })
                .collect(),
        )
    } else {
        None
    };
    let selected_county = if within == scope {
        String::new()
    } else {
        within.to_string()
    };
    Ok(RegistryTemplate {
        period: period.to_string(),
        q: search,
        counties: counties
            .into_iter()
            .map(|county| Choice {
                value: county.to_string(),
                label: county.name_zh().to_string(),
                selected: county.to_string() == selected_county,
            })
            .collect(),
        classes: choices(&CLASS_WORDS, &class_word, class_label),
        statuses: choices(&STATUS_WORDS, &status_text, status_label),
        count_text: catalogue.count("registry.count", matching.len()),
        rows,
        suggestions,
        chrome,
    })
}

/// # `GET /registry?q=&county=&class=&status=&period=`
/// The registry within the caller's jurisdiction; a city admin also sees lineage suggestions.
async fn registry_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<RegistryReader>,
    Query(query): Query<RegistryQuery>,
) -> Result<Response, PageError> {
    let mut page = registry_template(&state, lang, &who, &query).or_page(lang)?;
    if query.notice.as_deref() == Some("linked") {
        page.chrome.notice = Some(catalogue(lang.language).t("registry.linked").to_string());
    }
    render(lang, &page)
}

/// # `POST /registry/lineage` (`current`, `previous`, `kind`)
/// A city admin confirms a suggested link; refusals re-render the page with the message.
async fn confirm_link(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Admin>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_csrf(&who.0, field(&form, "csrf")).or_page(lang)?;
    let now = Timestamp::now_from_system_clock();
    let outcome = crate::registry::flow::confirm_lineage(
        &state,
        field(&form, "current"),
        field(&form, "previous"),
        field(&form, "kind"),
        state.config.division,
        &who.0.account.username,
        now,
    )
    .await;
    match outcome {
        Ok(_) => Ok(super::see_other("/registry?notice=linked")),
        Err(error) => {
            let error = ApiError::from(error);
            if error.status_and_code().0.is_server_error() {
                return Err(PageError::new(lang, error));
            }
            let caller = RegistryReader(who.0);
            let mut page = registry_template(&state, lang, &caller, &RegistryQuery::default())
                .or_page(lang)?;
            page.chrome.error = Some(super::message_of(&error, lang));
            render_with_status(lang, error.status_and_code().0, &page)
        }
    }
}
