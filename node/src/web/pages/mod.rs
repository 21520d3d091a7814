//! Server-rendered pages (issue 8): the essential flow in a browser without
//! JavaScript. Chinese by default, English on `?lang=en` (see [`i18n`]).
//!
//! Pages are thin like the API handlers: the [`Page`] extractor decides who
//! is calling (a missing session redirects to `/login`, a due password change
//! to `/password`), the handler calls `report::service` or
//! `review::flow`, and a template renders the answer. Every user text goes
//! through askama's HTML escaping. A cookie-signed POST carries the session's
//! CSRF token in a hidden `csrf` field, checked by [`check_csrf`], on top of
//! the same-origin check of [`super::auth`].

pub mod account;
pub mod accounts;
pub mod chart;
pub mod county;
pub mod dashboard;
pub mod data_report;
pub mod federation;
pub mod i18n;
pub mod notices;
pub mod print;
pub mod public;
pub mod registry;
pub mod reporting;
pub mod review;
pub mod units;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use super::auth::SignedIn;
use super::error::ApiError;
use crate::accounts::Role;
use crate::node::NodeState;
use i18n::{Catalogue, Lang, catalogue};

/// The page routes (merged into [`super::app`]).
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/static/zhibao.css", get(stylesheet))
        .route("/static/autosave.js", get(autosave_script))
        .merge(account::routes())
        .merge(reporting::routes())
        .merge(print::routes())
        .merge(review::routes())
        .merge(federation::routes())
        .merge(accounts::routes())
        .merge(registry::routes())
        .merge(units::routes())
        .merge(county::routes())
        .merge(dashboard::routes())
        .merge(data_report::routes())
        .merge(public::routes())
        .merge(notices::routes())
}

/// # `GET /static/zhibao.css`
/// The one stylesheet (responsive, visible focus), compiled into the binary.
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../../../static/zhibao.css"),
    )
        .into_response()
}

/// The autosave script (the form page's only JavaScript, an enhancement).
const AUTOSAVE_JS: &str = include_str!("../../../static/autosave.js");

/// The script's entity tag: a hash of its text, so a browser revalidates
/// (`no-cache`) and gets 304 until a new build changes the script.
static AUTOSAVE_ETAG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(AUTOSAVE_JS.as_bytes());
    let hex: String = digest
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("\"{hex}\"")
});

/// # `GET /static/autosave.js`
/// The form page's autosave script, compiled into the binary; revalidated on
/// every load (`no-cache` with an `ETag`), so an upgrade is never masked by a
/// cached old script.
async fn autosave_script(headers: axum::http::HeaderMap) -> Response {
    let etag = AUTOSAVE_ETAG.as_str();
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    let cache = [(header::CACHE_CONTROL, "no-cache"), (header::ETAG, etag)];
    if unchanged {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        cache,
        AUTOSAVE_JS,
    )
        .into_response()
}

/// A page request: who is calling (any auth extractor) and the page language.
#[derive(Debug)]
pub struct Page<T> {
    /// The caller, as the wrapped extractor decided.
    pub who: T,
    /// The page language.
    pub lang: Lang,
}

impl<T> FromRequestParts<Arc<NodeState>> for Page<T>
where
    T: FromRequestParts<Arc<NodeState>, Rejection = ApiError> + Send,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<NodeState>,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of(parts);
        match T::from_request_parts(parts, state).await {
            Ok(who) => Ok(Page { who, lang }),
            Err(ApiError::NotSignedIn) => Err(Redirect::to("/login").into_response()),
            Err(ApiError::MustChangePassword) => Err(Redirect::to("/password").into_response()),
            Err(error) => Err(PageError::new(lang, error).into_response()),
        }
    }
}

/// An error shown as a friendly page in the user's language.
#[derive(Debug)]
pub struct PageError {
    lang: Lang,
    error: ApiError,
}

impl PageError {
    /// Wraps an error for the page in `lang`.
    pub fn new(lang: Lang, error: impl Into<ApiError>) -> PageError {
        PageError {
            lang,
            error: error.into(),
        }
    }
}

/// Converts a domain or API result to a page result.
pub trait OrPage<T> {
    /// Maps the error to a friendly page in `lang`.
    fn or_page(self, lang: Lang) -> Result<T, PageError>;
}

impl<T, E: Into<ApiError>> OrPage<T> for Result<T, E> {
    fn or_page(self, lang: Lang) -> Result<T, PageError> {
        self.map_err(|error| PageError::new(lang, error))
    }
}

/// The error page.
#[derive(Debug, Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    chrome: Chrome,
    code: &'static str,
}

/// The message of an error in one language; internal details never reach the page.
pub fn message_of(error: &ApiError, lang: Lang) -> String {
    let (status, _) = error.status_and_code();
    if status.is_server_error() {
        return catalogue(lang.language).t("error.unavailable").to_string();
    }
    if matches!(error, ApiError::CrossSiteRequest) {
        return catalogue(lang.language).t("error.csrf").to_string();
    }
    lang.language.pick(&error.to_string()).to_string()
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, code) = self.error.status_and_code();
        if status.is_server_error() {
            tracing::error!(code, error = ?self.error, "page failed");
        } else {
            tracing::info!(code, error = %self.error, "page refused");
        }
        let mut chrome = Chrome::bare(self.lang, "error.title");
        chrome.error = Some(message_of(&self.error, self.lang));
        let page = ErrorTemplate { chrome, code };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(error) => {
                tracing::error!(%error, "error page did not render");
                (status, code).into_response()
            }
        }
    }
}

/// The page of an address that leads nowhere.
#[derive(Debug, Template)]
#[template(path = "not_found.html")]
struct NotFoundTemplate {
    chrome: Chrome,
    path: String,
}

/// Whether a path belongs to the JSON API (its unknown paths answer JSON `GEN404`).
pub fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// A friendly 404 page in the user's language for an unknown page address:
/// what happened, what to do next, a link home.
pub fn not_found_page(lang: Lang, path: &str) -> Response {
    let page = NotFoundTemplate {
        chrome: Chrome::bare(lang, "not_found.title"),
        path: path.to_string(),
    };
    match render_with_status(lang, StatusCode::NOT_FOUND, &page) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// Renders a template as the answer (remembering a `?lang=` choice).
pub fn render(lang: Lang, template: &impl Template) -> Result<Response, PageError> {
    render_with_status(lang, StatusCode::OK, template)
}

/// Renders a template with a status (e.g. 422 when a form is re-shown with errors).
pub fn render_with_status(
    lang: Lang,
    status: StatusCode,
    template: &impl Template,
) -> Result<Response, PageError> {
    let html = template
        .render()
        .map_err(|error| PageError::new(lang, ApiError::Internal(format!("template: {error}"))))?;
    let mut response = (status, Html(html)).into_response();
    if let Some(cookie) = lang.cookie() {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// A redirect after a successful POST (303: the browser GETs the target).
pub fn see_other(target: &str) -> Response {
    Redirect::to(target).into_response()
}

/// A redirect that also sets a cookie.
pub fn see_other_with_cookie(target: &str, cookie: Option<HeaderValue>) -> Response {
    let mut response = see_other(target);
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// A form POST must echo the session's CSRF token.
pub fn check_csrf(signed_in: &SignedIn, submitted: Option<&str>) -> Result<(), ApiError> {
    let expected = signed_in.session.csrf_token.as_bytes();
    let matches = submitted.is_some_and(|token| {
        token.len() == expected.len()
            && token
                .bytes()
                .zip(expected)
                .fold(0u8, |difference, (a, b)| difference | (a ^ b))
                == 0
    });
    if matches {
        Ok(())
    } else {
        Err(ApiError::CrossSiteRequest)
    }
}

/// The value of a field in a posted form.
pub fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// A link of the main navigation.
#[derive(Debug, Clone)]
pub struct NavLink {
    /// Where it goes.
    pub href: &'static str,
    /// Its label (from the catalogue).
    pub label: &'static str,
    /// Whether it is the current section.
    pub current: bool,
}

/// One step of the breadcrumbs.
#[derive(Debug, Clone)]
pub struct Crumb {
    /// Its link; the last step has none.
    pub href: Option<String>,
    /// Its label.
    pub label: String,
}

/// What the base layout shows around every page.
#[derive(Debug)]
pub struct Chrome {
    /// The page language.
    pub lang: Lang,
    /// The page title (already translated).
    pub title: String,
    /// `username (role)` when signed in.
    pub user: Option<String>,
    /// The main navigation.
    pub nav: Vec<NavLink>,
    /// 全国 › 江苏省 › 南京市 › …
    pub crumbs: Vec<Crumb>,
    /// A success message.
    pub notice: Option<String>,
    /// An error message.
    pub error: Option<String>,
    /// The session's CSRF token (empty when not signed in).
    pub csrf: String,
    /// The newest notices of the user (deadlines, returns past due, urging), newest first.
    pub recent_notices: Vec<NoticeLine>,
    catalogue: &'static Catalogue,
}

/// A notice as the notice area shows it.
#[derive(Debug, Clone)]
pub struct NoticeLine {
    /// When (Beijing time).
    pub at: String,
    /// The text in the page language.
    pub text: String,
    /// `deadline_ahead`, `urged`… (a CSS class).
    pub kind: &'static str,
}

/// How many notices the notice area shows, and how far back.
const NOTICE_AREA_COUNT: usize = 3;
const NOTICE_AREA_DAYS: i64 = 30;

impl NoticeLine {
    /// A stored notice in the page language.
    pub fn of(notice: &crate::urging::Notice, lang: Lang) -> NoticeLine {
        NoticeLine {
            at: i18n::format_time(notice.at_ms),
            text: match lang.language {
                i18n::Language::Zh => notice.text_zh.clone(),
                i18n::Language::En => notice.text_en.clone(),
            },
            kind: match notice.kind {
                crate::urging::NoticeKind::DeadlineAhead => "deadline_ahead",
                crate::urging::NoticeKind::WindowClosed => "window_closed",
                crate::urging::NoticeKind::ReturnOverdue => "return_overdue",
                crate::urging::NoticeKind::Urged => "urged",
                crate::urging::NoticeKind::ReminderFromAbove => "reminder_from_above",
            },
        }
    }
}

impl Chrome {
    /// A page without a session (login, errors).
    pub fn bare(lang: Lang, title_key: &str) -> Chrome {
        let catalogue = catalogue(lang.language);
        Chrome {
            lang,
            title: catalogue.t(title_key).to_string(),
            user: None,
            nav: Vec::new(),
            crumbs: Vec::new(),
            notice: None,
            error: None,
            csrf: String::new(),
            recent_notices: Vec::new(),
            catalogue,
        }
    }

    /// A page of a signed-in user at this node; `section` marks the current nav link.
    pub fn signed_in(
        state: &NodeState,
        lang: Lang,
        signed_in: &SignedIn,
        title_key: &str,
        section: &str,
    ) -> Chrome {
        let mut chrome = Chrome::bare(lang, title_key);
        let catalogue = chrome.catalogue;
        let role = &signed_in.account.role;
        chrome.user = Some(format!(
            "{} ({})",
            signed_in.account.username,
            catalogue.t(&format!("role.{}", role.name()))
        ));
        let mut links: Vec<(&'static str, &'static str)> = match role {
            Role::Enterprise { .. } => vec![("/home", "nav.home")],
            Role::Group { .. } | Role::Supervision { .. } => vec![("/registry", "nav.registry")],
            Role::Reviewer => vec![
                ("/review", "nav.review"),
                ("/progress", "nav.progress"),
                ("/totals", "nav.totals"),
                ("/registry", "nav.registry"),
            ],
            Role::Admin => vec![
                ("/federation", "nav.federation"),
                ("/accounts", "nav.accounts"),
                ("/registry", "nav.registry"),
                ("/progress", "nav.progress"),
                ("/totals", "nav.totals"),
            ],
            Role::County { .. } => vec![
                ("/progress", "nav.progress"),
                ("/totals", "nav.totals"),
                ("/registry", "nav.registry"),
            ],
        };
        // The registry work of a city: county proposals and their decisions.
        if state.config.level() == zhibao_federation_protocol::NodeLevel::City {
            match role {
                Role::Admin => links.push(("/registry/proposals", "nav.proposals")),
                Role::County { .. } => links.push(("/registry/county", "nav.county")),
                Role::Reviewer
                | Role::Enterprise { .. }
                | Role::Group { .. }
                | Role::Supervision { .. } => {}
            }
        }
        links.push(("/password", "nav.password"));
        chrome.nav = links
            .into_iter()
            .map(|(href, key)| NavLink {
                href,
                label: catalogue.t(key),
                current: key == section,
            })
            .collect();
        chrome.crumbs = division_crumbs(state, lang);
        chrome.csrf = signed_in.session.csrf_token.clone();
        // The notice area: this user's newest notices of the last weeks (a
        // store failure leaves it empty; the page itself still works).
        let since = crate::clock::Timestamp::now_from_system_clock().0
            - NOTICE_AREA_DAYS * 24 * 3600 * 1000;
        chrome.recent_notices = crate::web::notices::audience_of(role)
            .and_then(|audience| {
                crate::urging::flow::notices_for(state, &audience, NOTICE_AREA_COUNT).ok()
            })
            .unwrap_or_default()
            .iter()
            .filter(|notice| notice.at_ms >= since)
            .map(|notice| NoticeLine::of(notice, lang))
            .collect();
        chrome
    }

    /// The text of a catalogue key in the page language.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.catalogue.t(key)
    }

    /// `?lang=` of the other language.
    pub fn switch_lang(&self) -> &str {
        self.catalogue.t("app.switch_lang")
    }
}

/// 全国 › 江苏省 › 南京市: this node's division and the ones above it.
fn division_crumbs(state: &NodeState, lang: Lang) -> Vec<Crumb> {
    let mut chain = Vec::new();
    let mut division = Some(state.config.division);
    while let Some(code) = division {
        let label = if code.parent().is_none() {
            catalogue(lang.language).t("app.nation").to_string()
        } else {
            code.name_zh().to_string()
        };
        chain.push(Crumb { href: None, label });
        division = code.parent();
    }
    chain.reverse();
    chain
}

/// The home page of a role.
pub fn home_of(role: &Role) -> &'static str {
    match role {
        Role::Enterprise { .. } => "/home",
        Role::Reviewer => "/review",
        Role::Admin => "/federation",
        Role::County { .. } => "/progress",
        Role::Group { .. } | Role::Supervision { .. } => "/registry",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_api_paths_answer_json_when_unknown() {
        for (path, api) in [
            ("/api", true),
            ("/api/", true),
            ("/api/v1/nothing", true),
            ("/apis", false),
            ("/apiary/api/v1", false),
            ("/nothing", false),
            ("/", false),
        ] {
            assert_eq!(is_api_path(path), api, "{path}");
        }
    }

    #[tokio::test]
    async fn an_unknown_page_is_a_friendly_page_in_the_users_language() {
        let english = Lang {
            language: i18n::Language::En,
            chosen_now: false,
        };
        let response = not_found_page(english, "/<script>x</script>");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("Page not found"), "{html}");
        assert!(html.contains("href=\"/\""), "{html}");
        assert!(!html.contains("<script>x"), "{html}");
    }
}
