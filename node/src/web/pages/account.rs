//! Logging in and out, and the (forced) password change, as pages.
//! They call the same functions as the JSON API ([`crate::web::session`]).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};

use super::i18n::Lang;
use super::{Chrome, OrPage, Page, PageError, check_csrf, field, home_of, message_of, render};
use crate::clock::Timestamp;
use crate::node::NodeState;
use crate::web::auth::{SameOrigin, SignedIn};
use crate::web::error::ApiError;
use crate::web::session::{
    begin_session, change_own_password, expired_session_cookie, session_cookie,
};

/// The account pages.
pub fn routes() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/", get(root))
        .route("/login", get(login_page).post(log_in))
        .route("/logout", post(log_out))
        .route("/password", get(password_page).post(change_password))
}

/// # `GET /`
/// To the login page, or to the home page of the caller's role.
async fn root(signed_in: Result<Page<SignedIn>, Response>) -> Response {
    match signed_in {
        Ok(page) if page.who.account.must_change_password => super::see_other("/password"),
        Ok(page) => super::see_other(home_of(&page.who.account.role)),
        Err(_) => super::see_other("/login"),
    }
}

/// The login page.
#[derive(Debug, Template)]
#[template(path = "login.html")]
struct LoginTemplate {
    chrome: Chrome,
    username: String,
}

/// # `GET /login`
async fn login_page(lang: Lang) -> Result<Response, PageError> {
    let page = LoginTemplate {
        chrome: Chrome::bare(lang, "login.title"),
        username: String::new(),
    };
    render(lang, &page)
}

/// # `POST /login` (`username`, `password`)
/// Begins a session (the API's login path) and sets the session cookie.
/// Same-origin only, so another site cannot log a browser in.
async fn log_in(
    State(state): State<Arc<NodeState>>,
    Page { lang, .. }: Page<SameOrigin>,
    certificate: Option<axum::Extension<crate::tls::VerifiedPeer>>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let username = field(&form, "username").unwrap_or_default().trim();
    let password = field(&form, "password").unwrap_or_default();
    let now = Timestamp::now_from_system_clock();
    let certificate = certificate.map(|axum::Extension(peer)| peer);
    match begin_session(&state, username, password, certificate.as_ref(), now).await {
        Ok(begun) => {
            let target = if begun.account.must_change_password {
                "/password"
            } else {
                home_of(&begun.account.role)
            };
            Ok(super::see_other_with_cookie(
                target,
                session_cookie(&begun.token),
            ))
        }
        Err(error @ (ApiError::Account(_) | ApiError::BadRequest { .. })) => {
            let mut chrome = Chrome::bare(lang, "login.title");
            chrome.error = Some(message_of(&error, lang));
            let page = LoginTemplate {
                chrome,
                username: username.to_string(),
            };
            super::render_with_status(lang, StatusCode::UNAUTHORIZED, &page)
        }
        Err(error) => Err(PageError::new(lang, error)),
    }
}

/// # `POST /logout`
/// Ends the session and goes back to the login page.
async fn log_out(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<SignedIn>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_csrf(&who, field(&form, "csrf")).or_page(lang)?;
    state
        .accounts
        .sessions
        .remove(&who.session_key)
        .or_page(lang)?;
    state.store.commit_durable().await.or_page(lang)?;
    let mut response = super::see_other("/login");
    if let Some(expired) = expired_session_cookie() {
        response.headers_mut().append(header::SET_COOKIE, expired);
    }
    Ok(response)
}

/// The password page.
#[derive(Debug, Template)]
#[template(path = "password.html")]
struct PasswordTemplate {
    chrome: Chrome,
    forced: bool,
}

fn password_template(state: &NodeState, lang: Lang, who: &SignedIn) -> PasswordTemplate {
    PasswordTemplate {
        chrome: Chrome::signed_in(state, lang, who, "password.title", "nav.password"),
        forced: who.account.must_change_password,
    }
}

/// # `GET /password`
/// The password change; forced after a first login or a reset.
async fn password_page(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<SignedIn>,
) -> Result<Response, PageError> {
    render(lang, &password_template(&state, lang, &who))
}

/// # `POST /password` (`old_password`, `new_password`, `repeat_password`)
async fn change_password(
    State(state): State<Arc<NodeState>>,
    Page { who, lang }: Page<SignedIn>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_csrf(&who, field(&form, "csrf")).or_page(lang)?;
    let old_password = field(&form, "old_password").unwrap_or_default().to_string();
    let new_password = field(&form, "new_password").unwrap_or_default().to_string();
    let repeated = field(&form, "repeat_password").unwrap_or_default();
    let refusal = if new_password != repeated {
        Some(
            super::i18n::catalogue(lang.language)
                .t("password.mismatch")
                .to_string(),
        )
    } else {
        let role = who.account.role.clone();
        let now = Timestamp::now_from_system_clock();
        match change_own_password(&state, who.clone(), old_password, new_password, now).await {
            Ok(()) => return Ok(super::see_other(home_of(&role))),
            Err(error @ ApiError::Account(_)) => Some(message_of(&error, lang)),
            Err(error) => return Err(PageError::new(lang, error)),
        }
    };
    let mut page = password_template(&state, lang, &who);
    page.chrome.error = refusal;
    super::render_with_status(lang, StatusCode::UNPROCESSABLE_ENTITY, &page)
}
