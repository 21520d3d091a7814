//! Who is calling: decided here, by extractors, never inside a handler.
//!
//! A request is signed in by `Authorization: Bearer TOKEN` (scripts) or the
//! `zhibao_session` cookie (browsers). A cookie-signed unsafe request must be
//! same-origin (`Sec-Fetch-Site`, or `Origin` against `Host`): that, with the
//! cookie's `SameSite=Strict`, is the CSRF protection of the JSON API.
//!
//! - [`SignedIn`]: any live session, even one that must still change its password;
//! - [`Caller`]: a live session whose password is not due for change;
//! - [`Admin`], [`Reviewer`], [`BureauUser`], [`EnterpriseUser`]: a `Caller` with that role.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};

use super::error::ApiError;
use crate::accounts::{Account, Role, Session, session_key};
use crate::clock::Timestamp;
use crate::node::NodeState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "zhibao_session";

/// A live session, whatever its password state.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The account.
    pub account: Account,
    /// The session.
    pub session: Session,
    /// The stored key of the session (to end it).
    pub session_key: Vec<u8>,
}

/// A signed-in user free to work (password not due for change).
#[derive(Debug, Clone)]
pub struct Caller(pub SignedIn);

/// An admin of this node.
#[derive(Debug, Clone)]
pub struct Admin(pub SignedIn);

/// A reviewer of this node.
#[derive(Debug, Clone)]
pub struct Reviewer(pub SignedIn);

/// Any bureau user of this node: admin, reviewer or county.
#[derive(Debug, Clone)]
pub struct BureauUser(pub SignedIn);

/// An enterprise user, and its unit.
#[derive(Debug, Clone)]
pub struct EnterpriseUser {
    /// The session.
    pub signed_in: SignedIn,
    /// The unit's credit code.
    pub unit: String,
}

fn cookie_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .find_map(|cookie| {
            cookie
                .trim()
                .strip_prefix(SESSION_COOKIE)?
                .strip_prefix('=')
                .map(str::to_string)
        })
}

fn bearer_token(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .map(|token| token.trim().to_string())
}

/// Unsafe methods signed by cookie must come from our own pages.
fn check_same_origin(parts: &Parts) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if let Some(site) = parts
        .headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
    {
        return if site == "same-origin" || site == "none" {
            Ok(())
        } else {
            Err(ApiError::CrossSiteRequest)
        };
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) if origin.split("://").nth(1) == Some(host) => Ok(()),
        _ => Err(ApiError::CrossSiteRequest),
    }
}

impl FromRequestParts<Arc<NodeState>> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<NodeState>,
    ) -> Result<Self, Self::Rejection> {
        let (token, by_cookie) = match bearer_token(parts) {
            Some(token) => (token, false),
            None => (cookie_token(parts).ok_or(ApiError::NotSignedIn)?, true),
        };
        if by_cookie {
            check_same_origin(parts)?;
        }
        let now = Timestamp::now_from_system_clock();
        let session = state
            .accounts
            .session(&token, now)?
            .ok_or(ApiError::NotSignedIn)?;
        let account = state
            .accounts
            .accounts
            .get(session.username.as_bytes())?
            .ok_or(ApiError::NotSignedIn)?;
        if account.disabled {
            return Err(ApiError::Account(crate::accounts::AccountError::Disabled));
        }
        Ok(SignedIn {
            account,
            session,
            session_key: session_key(&token),
        })
    }
}

impl FromRequestParts<Arc<NodeState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<NodeState>,
    ) -> Result<Self, Self::Rejection> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        if signed_in.account.must_change_password {
            return Err(ApiError::MustChangePassword);
        }
        Ok(Caller(signed_in))
    }
}

fn with_role<T>(
    caller: Caller,
    needed: &'static str,
    allowed: impl Fn(&Role) -> bool,
    wrap: impl Fn(SignedIn) -> T,
) -> Result<T, ApiError> {
    if allowed(&caller.0.account.role) {
        Ok(wrap(caller.0))
    } else {
        Err(ApiError::Forbidden { needed })
    }
}

impl FromRequestParts<Arc<NodeState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<NodeState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        with_role(caller, "admin", |role| matches!(role, Role::Admin), Admin)
    }
}

impl FromRequestParts<Arc<NodeState>> for Reviewer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<NodeState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        with_role(
            caller,
            "reviewer",
            |role| matches!(role, Role::Reviewer),
            Reviewer,
        )
    }
}

impl FromRequestParts<Arc<NodeState>> for BureauUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<NodeState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        with_role(
            caller,
            "bureau user (admin, reviewer or county)",
            |role| matches!(role, Role::Admin | Role::Reviewer | Role::County { .. }),
            BureauUser,
        )
    }
}

/// A county user (R34), and its county.
#[derive(Debug, Clone)]
pub struct CountyUser {
    /// The session.
    pub signed_in: SignedIn,
    /// The county.
    pub county: crate::division::DivisionCode,
}

impl FromRequestParts<Arc<NodeState>> for CountyUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<NodeState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.0.account.role {
            Role::County { county } => Ok(CountyUser {
                signed_in: caller.0,
                county,
            }),
            Role::Admin
            | Role::Reviewer
            | Role::Enterprise { .. }
            | Role::Group { .. }
            | Role::Supervision { .. } => Err(ApiError::Forbidden { needed: "county" }),
        }
    }
}

/// Who may read the registry: bureau users and the read-only overseers
/// (group companies, supervision centres); what each sees is [`sees_unit`].
#[derive(Debug, Clone)]
pub struct RegistryReader(pub SignedIn);

impl FromRequestParts<Arc<NodeState>> for RegistryReader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<NodeState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        with_role(
            caller,
            "bureau user or overseer",
            |role| !matches!(role, Role::Enterprise { .. }),
            RegistryReader,
        )
    }
}

/// Who may read totals and progress: bureau users, and supervision centres
/// for their provinces (R42).
#[derive(Debug, Clone)]
pub struct TotalsReader(pub SignedIn);

impl FromRequestParts<Arc<NodeState>> for TotalsReader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<NodeState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        with_role(
            caller,
            "bureau user or supervision centre",
            |role| {
                matches!(
                    role,
                    Role::Admin | Role::Reviewer | Role::County { .. } | Role::Supervision { .. }
                )
            },
            TotalsReader,
        )
    }
}

impl FromRequestParts<Arc<NodeState>> for EnterpriseUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<NodeState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.0.account.role.unit().map(str::to_string) {
            Some(unit) => Ok(EnterpriseUser {
                signed_in: caller.0,
                unit,
            }),
            None => Err(ApiError::Forbidden {
                needed: "enterprise",
            }),
        }
    }
}

/// A request from our own pages (for unsafe methods: same origin), signed in
/// or not: the login form uses it, so another site cannot log a browser in.
#[derive(Debug, Clone, Copy)]
pub struct SameOrigin;

impl<S: Send + Sync> FromRequestParts<S> for SameOrigin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        check_same_origin(parts)?;
        Ok(SameOrigin)
    }
}

/// Whether the caller may see a unit of this node's registry (its entry and
/// its reports): an enterprise its own unit; admins and reviewers the node's
/// jurisdiction; a county user its county; a group company (R41) the units
/// the registry names as its subsidiaries; a supervision centre (R42) the
/// units of its provinces.
pub fn sees_unit(state: &NodeState, role: &Role, unit: &crate::registry::SurveyUnit) -> bool {
    let in_node = state.config.division.contains(unit.county);
    match role {
        Role::Enterprise { unit: own } => own == unit.code.as_str(),
        Role::Admin | Role::Reviewer => in_node,
        Role::County { county } => county.contains(unit.county),
        Role::Group { group } => in_node && unit.group_company.as_deref() == Some(group.as_str()),
        Role::Supervision { provinces } => {
            in_node
                && provinces
                    .iter()
                    .any(|province| province.contains(unit.county))
        }
    }
}
