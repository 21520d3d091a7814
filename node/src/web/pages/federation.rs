//! The admin's page of federation links: for each parent and child, last
//! contact, queued messages and the last error ([`crate::federation::link_views`]).

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::i18n::{catalogue, format_time};
use super::{Chrome, OrPage, Page, PageError, render};
use crate::clock::Timestamp;
use crate::node::NodeState;
use crate::web::auth::Admin;

/// The admin pages.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new().route("/federation", get(links))
}

/// One link as the page shows it.
#[derive(Debug)]
struct LinkRow {
    peer: String,
    relation: String,
    last_contact: String,
    queued: usize,
    last_error: String,
}

/// The links page.
#[derive(Debug, Template)]
#[template(path = "federation.html")]
struct LinksTemplate {
    chrome: Chrome,
    links: Vec<LinkRow>,
}

/// # `GET /federation`
/// This node's links to its parent and children.
async fn links(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Admin>,
) -> Result<Response, PageError> {
    let catalogue = catalogue(lang.language);
    let now = Timestamp::now_from_system_clock();
    let links = crate::federation::link_views(&state, now)
        .or_page(lang)?
        .into_iter()
        .map(|link| LinkRow {
            peer: link.peer,
            relation: catalogue
                .t(&format!("federation.{}", link.relation))
                .to_string(),
            last_contact: link
                .last_contact_ms
                .map_or_else(|| catalogue.t("federation.never").to_string(), format_time),
            queued: link.queued,
            last_error: link.last_error.unwrap_or_default(),
        })
        .collect();
    let page = LinksTemplate {
        chrome: Chrome::signed_in(&state, lang, &who.0, "federation.title", "nav.federation"),
        links,
    };
    render(lang, &page)
}
