//! The public pages (信息发布, R8/R16): no login. `/public` lists what this
//! node published; `/public/{form}/{period}` shows one published snapshot
//! (the latest version, or `?version=`): totals of the jurisdiction, per
//! child division and per industry. They read only
//! [`crate::aggregate::publication`] snapshots — never live totals, units,
//! reports or drafts — so nothing unpublished can leak through them.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;

use super::dashboard::measure_in;
use super::i18n::{Lang, Language, catalogue, format_number, format_time};
use super::{Chrome, OrPage, PageError, render};
use crate::aggregate::Total;
use crate::aggregate::publication::{self, Publication, PublishedIndicator, PublishedRow};
use crate::aggregate::table::MAIN_POLLUTANTS;
use crate::node::NodeState;
use crate::web::error::ApiError;

/// The public routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/public", get(publications_page))
        .route("/public/{form}/{period}", get(publication_page))
}

/// One line of the list.
#[derive(Debug)]
struct ListedPublication {
    href: String,
    form: String,
    form_name: String,
    period: String,
    version: u32,
    published_at: String,
}

/// The list page.
#[derive(Debug, Template)]
#[template(path = "public_list.html")]
struct ListTemplate {
    chrome: Chrome,
    division: String,
    publications: Vec<ListedPublication>,
}

fn form_name(lang: Lang, publication: &Publication) -> String {
    match lang.language {
        Language::Zh => publication.form_name_zh.clone(),
        Language::En => publication.form_name_en.clone(),
    }
}

/// # `GET /public`
/// What this node published, latest version of each form and period first by period.
async fn publications_page(
    State(state): State<Arc<NodeState>>,
    lang: Lang,
) -> Result<Response, PageError> {
    let all = publication::all(&state.publications).or_page(lang)?;
    let mut latest: BTreeMap<(String, String), Publication> = BTreeMap::new();
    for publication in all {
        let key = (publication.period.clone(), publication.form.clone());
        if latest
            .get(&key)
            .is_none_or(|known| known.version < publication.version)
        {
            latest.insert(key, publication);
        }
    }
    let publications = latest
        .into_values()
        .rev()
        .map(|publication| ListedPublication {
            href: format!("/public/{}/{}", publication.form, publication.period),
            form_name: form_name(lang, &publication),
            form: publication.form,
            period: publication.period,
            version: publication.version,
            published_at: format_time(publication.published_at_ms),
        })
        .collect();
    let page = ListTemplate {
        chrome: Chrome::bare(lang, "public.title"),
        division: state.config.division.name_zh().to_string(),
        publications,
    };
    render(lang, &page)
}

/// A column of a published table.
#[derive(Debug)]
struct Column {
    name: String,
    measure: String,
}

/// A row of a published table.
#[derive(Debug)]
struct Row {
    key: String,
    name: String,
    values: Vec<String>,
}

/// One published snapshot.
#[derive(Debug, Template)]
#[template(path = "public.html")]
struct PublicationTemplate {
    chrome: Chrome,
    division: String,
    form: String,
    form_name: String,
    period: String,
    version: u32,
    versions: Vec<(u32, String)>,
    published_at: String,
    columns: Vec<Column>,
    by_division: Vec<Row>,
    by_industry: Vec<Row>,
    total: Row,
    all_indicators: Vec<Row>,
}

/// Query of `/public/{form}/{period}`.
#[derive(Debug, Default, serde::Deserialize)]
struct PublicationQuery {
    version: Option<u32>,
}

fn values(columns: &[&PublishedIndicator], totals: &BTreeMap<String, Total>) -> Vec<String> {
    columns
        .iter()
        .map(|indicator| {
            totals
                .get(&indicator.key)
                .map(|total| format_number(&total.sum))
                .unwrap_or_default()
        })
        .collect()
}

fn rows(lang: Lang, columns: &[&PublishedIndicator], published: &[PublishedRow]) -> Vec<Row> {
    published
        .iter()
        .filter(|row| !row.totals.is_empty())
        .map(|row| Row {
            key: row.key.clone(),
            name: match lang.language {
                Language::Zh => row.name_zh.clone(),
                Language::En => row.name_en.clone(),
            },
            values: values(columns, &row.totals),
        })
        .collect()
}

/// # `GET /public/{form}/{period}?version=`
/// One published snapshot; 404 when nothing of that form and period was published.
async fn publication_page(
    State(state): State<Arc<NodeState>>,
    lang: Lang,
    Path((form, period)): Path<(String, String)>,
    Query(query): Query<PublicationQuery>,
) -> Result<Response, PageError> {
    let catalogue = catalogue(lang.language);
    let not_published = || ApiError::NotFound {
        path: format!("/public/{form}/{period}"),
    };
    let all_versions: Vec<Publication> = publication::all(&state.publications)
        .or_page(lang)?
        .into_iter()
        .filter(|publication| publication.form == form && publication.period == period)
        .collect();
    let shown = match query.version {
        Some(version) => all_versions
            .iter()
            .find(|publication| publication.version == version)
            .cloned(),
        None => publication::latest(&state.publications, &form, &period).or_page(lang)?,
    }
    .ok_or_else(not_published)
    .or_page(lang)?;
    let main: Vec<&PublishedIndicator> = MAIN_POLLUTANTS
        .iter()
        .filter_map(|key| {
            shown
                .indicators
                .iter()
                .find(|indicator| indicator.key == *key)
        })
        .collect();
    let columns = main
        .iter()
        .map(|indicator| Column {
            name: match lang.language {
                Language::Zh => indicator.name_zh.clone(),
                Language::En => indicator.name_en.clone(),
            },
            measure: measure_in(catalogue, &indicator.unit),
        })
        .collect();
    let all_indicators = shown
        .indicators
        .iter()
        .map(|indicator| Row {
            key: indicator.code.clone(),
            name: format!(
                "{}{}",
                match lang.language {
                    Language::Zh => &indicator.name_zh,
                    Language::En => &indicator.name_en,
                },
                if indicator.unit.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", measure_in(catalogue, &indicator.unit))
                }
            ),
            values: vec![
                shown
                    .total
                    .get(&indicator.key)
                    .map(|total| format_number(&total.sum))
                    .unwrap_or_default(),
            ],
        })
        .collect();
    let mut chrome = Chrome::bare(lang, "public.title");
    chrome.title = format!(
        "{} {} · {}",
        shown.division_name,
        shown.period,
        form_name(lang, &shown)
    );
    let page = PublicationTemplate {
        division: shown.division_name.clone(),
        form: shown.form.clone(),
        form_name: form_name(lang, &shown),
        period: shown.period.clone(),
        version: shown.version,
        versions: all_versions
            .iter()
            .map(|publication| {
                (
                    publication.version,
                    format_time(publication.published_at_ms),
                )
            })
            .collect(),
        published_at: format_time(shown.published_at_ms),
        by_division: rows(lang, &main, &shown.by_division),
        by_industry: rows(lang, &main, &shown.by_industry),
        total: Row {
            key: shown.division.clone(),
            name: catalogue.t("public.total").to_string(),
            values: values(&main, &shown.total),
        },
        columns,
        all_indicators,
        chrome,
    };
    render(lang, &page)
}
