//! `/notices`: every notice of the signed-in user (a unit its own, bureau
//! users their node's): deadline reminders, closes, returns past due, urging.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::{Chrome, NoticeLine, OrPage, Page, PageError, render};
use crate::node::NodeState;
use crate::web::auth::Caller;

/// The most notices the page lists.
const NOTICES_LISTED: usize = 200;

/// The routes.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new().route("/notices", get(notices))
}

/// The notices page.
#[derive(Debug, Template)]
#[template(path = "notices.html")]
struct NoticesTemplate {
    chrome: Chrome,
    lines: Vec<NoticeLine>,
}

/// # `GET /notices`
async fn notices(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<Caller>,
) -> Result<Response, PageError> {
    let signed_in = &who.0;
    let mut chrome = Chrome::signed_in(&state, lang, signed_in, "notices.page_title", "");
    // The page lists them all: the notice area above would repeat the first ones.
    chrome.recent_notices.clear();
    let notices = match crate::web::notices::audience_of(&signed_in.account.role) {
        Some(audience) => {
            crate::urging::flow::notices_for(&state, &audience, NOTICES_LISTED).or_page(lang)?
        }
        None => Vec::new(),
    };
    let lines = notices
        .iter()
        .map(|notice| NoticeLine::of(notice, lang))
        .collect();
    render(lang, &NoticesTemplate { chrome, lines })
}
