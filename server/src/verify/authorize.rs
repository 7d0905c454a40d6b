//! `GET /v1/authorize` (§5.2): forward auth for nginx `auth_request`,
//! Traefik ForwardAuth and Envoy ext_authz. The proxy forwards the client's
//! headers; the operator's route rules turn the original method and path
//! into required permissions.

use super::handler::{error, unavailable};
pub use super::proxy::ForwardAuthProxy;
use super::{Ask, Code, RateLimitInfo, Verifier, path};
use app::domain::Environment;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// One operator rule: requests whose method matches (`*` for any) and whose
/// path lies under `prefix` need `permissions`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    #[serde(default = "any_method")]
    pub method: String,
    pub prefix: String,
    #[serde(default)]
    pub permissions: Vec<String>,
}

fn any_method() -> String {
    "*".into()
}

/// The operator's rules. The most specific rule wins: the longest prefix,
/// then a named method over `*`. A path no rule covers is refused (403), so
/// a forgotten route fails closed; without any configured rule every path
/// needs just a valid key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routes {
    rules: Vec<RouteRule>,
    /// Match paths ignoring ASCII case (for upstreams that route so).
    case_insensitive: bool,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            rules: vec![RouteRule { method: "*".into(), prefix: "/".into(), permissions: vec![] }],
            case_insensitive: false,
        }
    }
}

impl Routes {
    /// Checks and orders `rules`; an empty list means the default.
    pub fn new(rules: Vec<RouteRule>) -> Result<Self, String> {
        if rules.is_empty() {
            return Ok(Routes::default());
        }
        let mut rules = rules;
        for rule in &mut rules {
            if !rule.prefix.starts_with('/') {
                return Err(format!("route prefix {:?} must start with /", rule.prefix));
            }
            rule.method = rule.method.to_ascii_uppercase();
            if rule.method != "*" && !rule.method.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!("route method {:?} is not a method or *", rule.method));
            }
        }
        rules.sort_by(|a, b| {
            b.prefix
                .len()
                .cmp(&a.prefix.len())
                .then_with(|| (a.method == "*").cmp(&(b.method == "*")))
        });
        Ok(Routes { rules, case_insensitive: false })
    }

    /// The same rules, matched ignoring ASCII case when `yes`
    /// (`route_case_insensitive`, for upstreams that route `/V1/Data` as
    /// `/v1/data`).
    pub fn case_insensitive(mut self, yes: bool) -> Self {
        self.case_insensitive = yes;
        if yes {
            for rule in &mut self.rules {
                rule.prefix.make_ascii_lowercase();
            }
        }
        self
    }

    /// Rules written `METHOD /prefix=perm,perm` and separated by `;`
    /// (`KEYWARDEN_ROUTES`), e.g. `POST /v1/events=events:write;GET /v1=data:read`.
    pub fn parse(compact: &str) -> Result<Self, String> {
        let mut rules = Vec::new();
        for part in compact.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (route, perms) = part.split_once('=').unwrap_or((part, ""));
            let (method, prefix) = route
                .trim()
                .split_once(' ')
                .ok_or_else(|| format!("route {part:?} must read `METHOD /prefix=permissions`"))?;
            rules.push(RouteRule {
                method: method.trim().into(),
                prefix: prefix.trim().into(),
                permissions: perms
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(String::from)
                    .collect(),
            });
        }
        Self::new(rules)
    }

    /// The permissions `method` on `path` needs, or `None` when no rule
    /// covers it. `path` must be normalised ([`path::normalise`]).
    pub fn required(&self, method: &str, path: &str) -> Option<&[String]> {
        let lowered;
        let path = if self.case_insensitive {
            lowered = path.to_ascii_lowercase();
            lowered.as_str()
        } else {
            path
        };
        self.rules
            .iter()
            .find(|r| {
                (r.method == "*" || r.method.eq_ignore_ascii_case(method)) && under(path, &r.prefix)
            })
            .map(|r| r.permissions.as_slice())
    }
}

/// Whether `path` is `prefix` or lies below it (`/v1/data` covers
/// `/v1/data/7` but not `/v1/database`).
fn under(path: &str, prefix: &str) -> bool {
    path == prefix
        || prefix.ends_with('/') && path.starts_with(prefix)
        || path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/')
}

/// The query of `GET /v1/authorize`.
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeQuery {
    /// The environment this proxy serves (default: the operator's setting).
    pub environment: Option<String>,
}

/// What `/v1/authorize` needs besides the verifier.
pub struct Authorizer {
    pub verifier: Arc<Verifier>,
    pub routes: Routes,
    pub environment: Environment,
    /// Which proxy calls, and so which headers are believed.
    pub proxy: ForwardAuthProxy,
}

/// The customer's key: `Authorization: Bearer …` or `X-API-Key`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let value = |name| {
        headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
    };
    value("authorization")
        .and_then(|v| v.strip_prefix("Bearer ").map(str::trim))
        .or_else(|| value("x-api-key"))
}

fn refusal(status: StatusCode, code: Code, message: &str) -> Response {
    let mut res = error(status, code.as_str(), message);
    res.headers_mut().insert(
        HeaderName::from_static("x-keywarden-code"),
        HeaderValue::from_static(code.as_str()),
    );
    res
}

fn rate_limit_headers(res: &mut Response, info: RateLimitInfo, window_secs: u32) {
    let reset = info.reset_ms.div_ceil(1000);
    let h = res.headers_mut();
    let value = |s: String| HeaderValue::from_str(&s).unwrap_or(HeaderValue::from_static("0"));
    h.insert(
        HeaderName::from_static("ratelimit"),
        value(format!("limit={}, remaining={}, reset={reset}", info.limit, info.remaining)),
    );
    h.insert(
        HeaderName::from_static("ratelimit-policy"),
        value(format!("{};w={window_secs}", info.limit)),
    );
    h.insert(HeaderName::from_static("ratelimit-limit"), info.limit.into());
    h.insert(HeaderName::from_static("ratelimit-remaining"), info.remaining.into());
    h.insert(HeaderName::from_static("ratelimit-reset"), reset.into());
}

/// Forward auth for nginx, Traefik and Envoy.
///
/// May the client's request go through? The original method and path come from the
/// configured proxy's headers (`forward_auth_headers`); Envoy's ext_authz
/// calls `/v1/authorize/<original path>` with the original method instead.
#[utoipa::path(get, path = "/v1/authorize", operation_id = "authorizeRequest", tag = "verification",
    params(
        ("environment" = Option<String>, Query, description = "The environment this proxy serves (default: the operator's `authorize_environment`)"),
        ("X-Original-Method" = Option<String>, Header, description = "nginx: the client's method"),
        ("X-Original-URI" = Option<String>, Header, description = "nginx: the client's request target"),
        ("X-Forwarded-Method" = Option<String>, Header, description = "Traefik: the client's method"),
        ("X-Forwarded-Uri" = Option<String>, Header, description = "Traefik: the client's request target"),
        ("X-Real-IP" = Option<String>, Header, description = "nginx: the client's address (request log)"),
        ("X-API-Key" = Option<String>, Header, description = "The client's key, when not sent as a bearer token")),
    security(("customer_key" = []), ("customer_key_header" = [])),
    responses(
        (status = 200, description = "Allowed",
            headers(("X-Keywarden-Key-Id" = String, description = "The key's id"),
                ("X-Keywarden-Org" = String, description = "The key's organisation"),
                ("RateLimit" = String, description = "limit, remaining and reset (seconds)"))),
        (status = 400, description = "The proxy's headers are missing or mixed, or the path is refused", body = crate::error_body::ErrorBody),
        (status = 401, description = "Missing, malformed, unknown, disabled, revoked or expired key, or another environment's",
            headers(("X-Keywarden-Code" = String, description = "The decision code"),
                ("WWW-Authenticate" = String, description = "Bearer")), body = crate::error_body::ErrorBody),
        (status = 403, description = "A missing permission, a path no route rule covers, an address the key's allowed IPs leave out, or a usage limit spent for good",
            headers(("X-Keywarden-Code" = String, description = "The decision code")), body = crate::error_body::ErrorBody),
        (status = 429, description = "Rate limited, or the usage limit spent until its next refill",
            headers(("Retry-After" = u64, description = "Seconds to wait"),
                ("RateLimit" = String, description = "limit, remaining=0 and reset")), body = crate::error_body::ErrorBody),
        (status = 503, description = "The database cannot be read for an uncached key", body = crate::error_body::ErrorBody)))]
pub async fn authorize(
    State(auth): State<Arc<Authorizer>>,
    request_method: Method,
    request_uri: Uri,
    headers: HeaderMap,
) -> Response {
    // Envoy's form carries the client's own path and query: the environment
    // then comes from the operator's setting only, never from the client.
    let embedded =
        request_uri.path().strip_prefix("/v1/authorize/").map(|rest| match request_uri.query() {
            Some(q) => format!("/{rest}?{q}"),
            None => format!("/{rest}"),
        });
    let query = match embedded {
        None => Query::<AuthorizeQuery>::try_from_uri(&request_uri)
            .map(|Query(q)| q)
            .unwrap_or_default(),
        Some(_) => AuthorizeQuery::default(),
    };
    let environment = match query.environment.as_deref().map(str::parse::<Environment>) {
        None => auth.environment,
        Some(Ok(env)) => env,
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "environment must be production, staging or development.",
            );
        }
    };
    let original = match auth.proxy.original(&headers, &request_method, embedded.as_deref()) {
        Ok(original) => original,
        Err(message) => return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", message),
    };
    let Some(key) = presented_key(&headers) else {
        let mut res = refusal(
            StatusCode::UNAUTHORIZED,
            Code::Malformed,
            "An API key is required (Authorization: Bearer … or X-API-Key).",
        );
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return res;
    };
    let path = match path::normalise(original.uri) {
        Ok(path) => path,
        Err(e) => return error(StatusCode::BAD_REQUEST, "BAD_PATH", &e.to_string()),
    };
    let Some(permissions) = auth.routes.required(original.method, &path) else {
        return refusal(
            StatusCode::FORBIDDEN,
            Code::InsufficientPermissions,
            "No route rule allows this request.",
        );
    };
    let ip = original.client_ip;
    let ask = Ask {
        key,
        permissions,
        environment: Some(environment),
        path: Some(&path),
        ip,
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()),
    };
    let decision = match auth.verifier.decide(&ask).await {
        Ok(d) => d,
        Err(e) => return unavailable(&e),
    };
    let window = decision.key.as_ref().map_or(0, |k| k.rate_limit.window_secs);
    let mut res = match decision.code {
        Code::Valid => {
            let key = decision.key.as_deref();
            let mut res = StatusCode::OK.into_response();
            let h = res.headers_mut();
            for (name, value) in [
                ("x-keywarden-key-id", key.map(|k| &*k.id)),
                ("x-keywarden-org", key.map(|k| k.org.as_str())),
            ] {
                if let Some(v) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
                    h.insert(HeaderName::from_static(name), v);
                }
            }
            res
        }
        Code::InsufficientPermissions => refusal(
            StatusCode::FORBIDDEN,
            Code::InsufficientPermissions,
            "This API key lacks a permission this request needs.",
        ),
        Code::IpNotAllowed => refusal(
            StatusCode::FORBIDDEN,
            Code::IpNotAllowed,
            "This API key may not be used from this address.",
        ),
        Code::RateLimited => {
            let mut res = refusal(
                StatusCode::TOO_MANY_REQUESTS,
                Code::RateLimited,
                "Rate limit exceeded; retry later.",
            );
            let wait = decision.ratelimit.map_or(1, |r| r.reset_ms.div_ceil(1000).max(1));
            res.headers_mut().insert(header::RETRY_AFTER, wait.into());
            res
        }
        // Spent until a refill: come back then; spent for good: refused.
        Code::UsageExceeded => match decision.usage.and_then(|u| u.refills_at) {
            Some(refills_at_ms) => {
                let mut res = refusal(
                    StatusCode::TOO_MANY_REQUESTS,
                    Code::UsageExceeded,
                    "This API key's usage limit is spent until its next refill.",
                );
                let wait = (refills_at_ms / 1000 - auth.verifier.now()).max(1);
                res.headers_mut().insert(header::RETRY_AFTER, wait.into());
                res
            }
            None => refusal(
                StatusCode::FORBIDDEN,
                Code::UsageExceeded,
                "This API key's usage limit is spent.",
            ),
        },
        code => {
            let message = match code {
                Code::Disabled => "This API key is disabled.",
                Code::Revoked => "This API key has been revoked.",
                Code::Expired => "This API key has expired.",
                _ => "This API key is not valid here.",
            };
            let mut res = refusal(StatusCode::UNAUTHORIZED, code, message);
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            res
        }
    };
    if let Some(info) = decision.ratelimit {
        rate_limit_headers(&mut res, info, window);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_rule_wins_and_uncovered_paths_fail_closed() {
        let routes =
            Routes::parse("* /v1=data:read; POST /v1/events=events:write; GET /v1/events=")
                .unwrap();
        assert_eq!(
            routes.required("POST", "/v1/events/batch"),
            Some(&["events:write".to_string()][..])
        );
        assert_eq!(routes.required("get", "/v1/events"), Some(&[][..]));
        assert_eq!(routes.required("DELETE", "/v1/events"), Some(&["data:read".to_string()][..]));
        assert_eq!(routes.required("GET", "/v1"), Some(&["data:read".to_string()][..]));
        assert_eq!(routes.required("GET", "/v10"), None, "prefixes end at a segment");
        assert_eq!(routes.required("GET", "/admin"), None);
        assert_eq!(Routes::default().required("PUT", "/anything"), Some(&[][..]));
        assert!(Routes::parse("/v1=x").is_err());
        assert!(Routes::parse("GET v1=x").is_err());
    }
}
