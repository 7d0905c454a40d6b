//! Middleware for every response: cross-site request refusal, security
//! headers, the first-run redirect, and request spans that never carry a
//! secret.

use app::backend::AppState;
use app::backend::csp::{self, NonceSlot};
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// Refuses state-changing requests that a browser marks as coming from
/// another site (`Sec-Fetch-Site`), or whose `Origin` is not this host.
/// Requests with neither header are not from a browser form and pass.
pub async fn refuse_cross_site(req: Request, next: Next) -> Response {
    if is_safe_method(req.method()) || same_site(&req) {
        return next.run(req).await;
    }
    tracing::warn!(method = %req.method(), "refused cross-site request");
    crate::error_body::json_error(
        StatusCode::FORBIDDEN,
        "CROSS_SITE_REQUEST",
        "Cross-site requests are refused.",
    )
}

fn is_safe_method(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn same_site(req: &Request) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// Adds `nosniff`, a referrer policy and frame denial to every response,
/// `Cache-Control: no-store` to pages (`no-cache, no-store`) and API
/// answers, and the Content-Security-Policy (`app::backend::csp`): every
/// HTML answer a render made gets the page policy with the nonce that render
/// used, whatever else set a header; an HTML answer no render made (the API
/// docs) keeps its own or gets the page policy with a nonce nothing uses;
/// every other answer gets the locked-down API policy unless it set one.
pub async fn security_headers(mut req: Request, next: Next) -> Response {
    let private = req.uri().path().starts_with("/api/") || req.uri().path().starts_with("/v1/");
    // Only the site renders pages: the APIs (verification's hot path
    // among them) pay for no slot.
    let slot = (!private).then(NonceSlot::default);
    if let Some(slot) = &slot {
        req.extensions_mut().insert(slot.clone());
    }
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    // Pages and API answers may show what only this user may see: no
    // browser or proxy keeps them. Static files are left to their handler.
    let page =
        headers.get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if (private || page) && !headers.contains_key(header::CACHE_CONTROL) {
        let never = if page { "no-cache, no-store" } else { "no-store" };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(never));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let policy = match (page, slot.and_then(|s| s.nonce())) {
        (true, Some(nonce)) => Some(csp::page_policy(&nonce)),
        _ if headers.contains_key(header::CONTENT_SECURITY_POLICY) => None,
        (true, None) => Some(csp::page_policy(&app::backend::secret::random_token())),
        (false, _) => Some(csp::API_POLICY.to_string()),
    };
    if let Some(value) = policy.and_then(|p| HeaderValue::from_str(&p).ok()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    res
}

/// While no user exists, page requests go to `/setup`.
pub async fn first_run_redirect(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let is_page = req.method() == Method::GET
        && !path.starts_with("/pkg/")
        && !path.starts_with("/v/")
        && !path.starts_with("/api/")
        && !path.starts_with("/v1/")
        && !path.starts_with("/docs/")
        && !matches!(
            path,
            "/setup" | "/healthz" | "/readyz" | "/metrics" | "/favicon.ico" | "/docs"
        );
    if is_page {
        match state.is_set_up().await {
            Ok(false) => return Redirect::to("/setup").into_response(),
            Ok(true) => {}
            Err(e) => tracing::error!(error = %e, "checking for first run"),
        }
    }
    next.run(req).await
}

/// Server-function answers whose arguments could not be read at all (a
/// missing field, a body of the wrong shape) are the caller's fault: 400,
/// not the 500 Leptos gives every error that did not set a status. Only
/// `/api/` answers of status 500 are looked at, so this costs nothing on
/// any other path.
pub async fn server_fn_input_errors(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    if matches!(serde_json::from_slice::<app::AppError>(&bytes), Ok(app::AppError::Request(_))) {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Paths whose rest may hold a secret: invitation, portal, password-reset
/// and email-verification tokens, and the forwarded original path of
/// `/v1/authorize/…` (the platform's own URLs, which may carry its tokens).
const SECRET_TAILS: [&str; 5] =
    ["/invite/", "/portal/", "/reset/", "/verify-email/", "/v1/authorize/"];

/// The path as it may appear in logs: everything after a prefix of
/// [`SECRET_TAILS`] is cut. Every log line that names a request's path goes
/// through here (the request span, the hedge); queries and headers are
/// never logged.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match SECRET_TAILS.iter().find(|p| path.starts_with(*p)) {
        Some(prefix) => format!("{prefix}…").into(),
        None => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn tokens_never_reach_the_log() {
        let token = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        for prefix in ["/invite/", "/portal/", "/reset/", "/verify-email/"] {
            assert_eq!(loggable_path(&format!("{prefix}{token}")), format!("{prefix}…"));
        }
        assert_eq!(loggable_path("/v1/authorize/files?sig=secret"), "/v1/authorize/…");
        assert_eq!(loggable_path("/v1/authorize"), "/v1/authorize");
        assert_eq!(loggable_path("/orgs/acme/settings/members"), "/orgs/acme/settings/members");
    }
}
