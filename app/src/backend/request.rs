//! What a server function needs from the request it serves: the app state,
//! the signed-in user and their membership, the client address, cookies,
//! and the HTTP status of its error.

use super::orgs::{self, Membership};
use super::session::{self, SessionToken, SessionUser};
use super::state::AppState;
use crate::error::AppError;
use axum::extract::ConnectInfo;
use http::header::{ACCEPT, HOST, SET_COOKIE};
use http::request::Parts;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use std::net::SocketAddr;

/// The app state provided to server functions through context.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| gone("AppState"))
}

fn parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or_else(|| gone("request parts"))
}

/// A context that is missing: every request provides it, so either the
/// request whose scope this was has ended (a page the browser left
/// mid-render, whose data loads still run) or a scope was crossed
/// (`server::owner` exists to prevent that): worth a line in the log.
fn gone(what: &str) -> AppError {
    tracing::warn!(what, "request context missing (an ended request's work, or a crossed scope)");
    AppError::Internal
}

/// The session token the request presents, if any.
pub fn presented_session() -> Option<SessionToken> {
    parts().ok().and_then(|p| SessionToken::from_headers(&p.headers))
}

/// The pending sign-in token the request presents, if any.
pub fn presented_pending() -> Option<String> {
    parts().ok().and_then(|p| super::sign_in::from_headers(&p.headers))
}

/// Sets (or with `None` removes) the pending sign-in cookie.
pub fn set_pending_cookie(state: &AppState, token: Option<&str>) {
    if let Some(res) = use_context::<ResponseOptions>() {
        res.append_header(SET_COOKIE, super::sign_in::cookie(token, is_https(state)));
    }
}

/// The signed-in user, or `Unauthenticated`.
pub async fn signed_in(state: &AppState) -> Result<SessionUser, AppError> {
    let token = presented_session().ok_or(AppError::Unauthenticated)?;
    session::lookup(&state.db, &token).await?.ok_or(AppError::Unauthenticated)
}

/// The signed-in user and their membership in `slug`. An org the user does
/// not belong to is `NotFound`, exactly like one that does not exist; an
/// org requiring two-factor sign-in refuses a session without it
/// (`TwoFactorRequired`), so every org page and server function does.
pub async fn member_of(
    state: &AppState,
    slug: &str,
) -> Result<(SessionUser, Membership), AppError> {
    let user = signed_in(state).await?;
    let membership =
        orgs::membership(&state.db, &user.id, slug).await?.ok_or(AppError::NotFound)?;
    if membership.require_two_factor && !user.meets_two_factor() {
        return Err(AppError::TwoFactorRequired);
    }
    Ok((user, membership))
}

/// A signed-in member acting in one org, from one address.
pub struct Caller {
    pub state: AppState,
    pub user: SessionUser,
    pub membership: Membership,
    pub ip: Option<String>,
}

/// The member calling in `slug`, refused unless their role has `capability`.
pub async fn caller(slug: &str, capability: crate::domain::Capability) -> Result<Caller, AppError> {
    let state = app_state()?;
    let (user, membership) = member_of(&state, slug).await?;
    membership.allow(capability)?;
    let ip = client_ip(&state);
    Ok(Caller { state, user, membership, ip })
}

/// The client's address: the socket peer, or with `trust_proxy_headers` the
/// last hop recorded in `X-Forwarded-For`.
pub fn client_ip(state: &AppState) -> Option<String> {
    client_addr(&parts().ok()?, state.settings.trust_proxy_headers)
}

/// [`client_ip`] of any request (server functions and REST handlers alike).
pub fn client_addr(parts: &Parts, trust_proxy_headers: bool) -> Option<String> {
    if trust_proxy_headers
        && let Some(last) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
    {
        return Some(last.to_string());
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string())
}

/// Whether the browser reached us over HTTPS, so cookies must be `Secure`.
pub fn is_https(state: &AppState) -> bool {
    state.settings.force_secure_cookies || parts().is_ok_and(|p| https_request(state, &p))
}

fn https_request(state: &AppState, parts: &Parts) -> bool {
    https(state, &parts.headers, &parts.uri)
}

fn https(state: &AppState, headers: &http::HeaderMap, uri: &http::Uri) -> bool {
    state.settings.force_secure_cookies
        || uri.scheme_str() == Some("https")
        || (state.settings.trust_proxy_headers
            && headers
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https")))
}

/// The origin links in the app should use, e.g. `http://127.0.0.1:3000`.
pub fn public_origin(state: &AppState) -> String {
    let parts = parts().unwrap_or_else(|_| http::Request::new(()).into_parts().0);
    origin_of(state, &parts.headers, &parts.uri)
}

/// [`public_origin`] for any request (REST and operator handlers too):
/// `public_url` when set, else the request's `Host`.
pub fn origin_of(state: &AppState, headers: &http::HeaderMap, uri: &http::Uri) -> String {
    if let Some(url) = &state.settings.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| state.leptos_options.site_addr.to_string());
    let scheme = if https(state, headers, uri) { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// Starts a session for `user_id` and sets its cookie, ending the session
/// the request came with (the id is rotated at every sign-in).
pub async fn start_session(state: &AppState, user_id: &str) -> Result<(), AppError> {
    start_session_returning(state, user_id, None).await
}

/// [`start_session`] for a portal link: the pages offer "Back to" `return_url`.
pub async fn start_session_returning(
    state: &AppState,
    user_id: &str,
    return_url: Option<&str>,
) -> Result<(), AppError> {
    if let Some(old) = presented_session() {
        session::destroy(&state.db, &old).await?;
    }
    let ttl = state.settings.session_ttl_secs;
    let ip = client_ip(state);
    let request = parts().ok();
    let user_agent = request
        .as_ref()
        .and_then(|p| p.headers.get(http::header::USER_AGENT))
        .and_then(|v| v.to_str().ok());
    let origin = session::Origin { user_agent, ip: ip.as_deref() };
    let token = session::create(&state.db, user_id, ttl, return_url, origin).await?;
    if let Some(res) = use_context::<ResponseOptions>() {
        res.append_header(SET_COOKIE, token.set_cookie(is_https(state), ttl));
    }
    Ok(())
}

/// Keeps this answer out of every cache: it carries a secret shown once
/// (a new key, recovery codes).
pub fn no_store() {
    if let Some(res) = use_context::<ResponseOptions>() {
        res.insert_header(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    }
}

/// Ends the request's session and clears its cookie.
pub async fn end_session(state: &AppState) -> Result<(), AppError> {
    if let Some(token) = presented_session() {
        session::destroy(&state.db, &token).await?;
    }
    if let Some(res) = use_context::<ResponseOptions>() {
        res.append_header(SET_COOKIE, session::clear_cookie(is_https(state)));
    }
    Ok(())
}

/// Runs a server function's body and answers with its result, the error
/// given its HTTP status ([`respond`]): the one wrapper every server
/// function uses.
pub async fn serve<T>(
    body: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    respond(body.await)
}

/// Passes `result` through, giving an error its HTTP status. A plain form
/// post (no JavaScript) keeps the redirect that carries the error back to
/// the form instead.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result {
        let plain_form = parts().ok().is_some_and(|p| {
            p.headers
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        });
        if !plain_form && let Some(res) = use_context::<ResponseOptions>() {
            res.set_status(e.status());
        }
    }
    result
}

/// The signed-in user if they are an instance admin; anyone else gets
/// `NotFound`, as if the console did not exist.
pub async fn instance_admin(state: &AppState) -> Result<SessionUser, AppError> {
    let user = signed_in(state).await?;
    if user.is_admin { Ok(user) } else { Err(AppError::NotFound) }
}

/// Refuses unless `allowed`.
pub fn require(allowed: bool) -> Result<(), AppError> {
    if allowed { Ok(()) } else { Err(AppError::Forbidden) }
}
