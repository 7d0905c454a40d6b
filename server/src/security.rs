//! Middleware for every response: cross-site request refusal, security
//! headers, the first-run redirect, and request spans that never carry a
//! secret.

use app::backend::AppState;
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
    crate::rest::error::json_error(
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
/// `Cache-Control: no-store` to pages (`no-cache, no-store`) and API answers, and a locked-down
/// CSP to those (non-page) responses that set none.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let private = req.uri().path().starts_with("/api/") || req.uri().path().starts_with("/v1/");
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
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
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

/// The path as it may appear in logs: invitation and portal tokens are cut
/// off.
pub fn loggable_path(path: &str) -> &str {
    if path.starts_with("/invite/") {
        "/invite/…"
    } else if path.starts_with("/portal/") {
        "/portal/…"
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn invitation_tokens_never_reach_the_log() {
        assert_eq!(
            loggable_path("/invite/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
            "/invite/…"
        );
        assert_eq!(
            loggable_path("/portal/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
            "/portal/…"
        );
        assert_eq!(loggable_path("/orgs/acme/settings/members"), "/orgs/acme/settings/members");
    }
}
