//! `POST /v1/keys/verify` (§5.1) and `GET /metrics`.

use super::{Ask, Code, Decision, RateLimitInfo, UsageInfo, Verifier};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The request body of §5.1. Its strings borrow from the request body
/// (copied only when JSON escapes them). No `Debug`: it holds a key.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"key": "kw_live_5Gf0q3Yl0m2cXQ8wR1ZbT4nKp7sVd9Ae0h2JkL", "permissions": ["events:write"],
    "path": "/v1/events", "ip": "203.0.113.7", "user_agent": "acme-sdk/2.1"}))]
pub struct VerifyRequest<'a> {
    /// The key the platform's client presented.
    #[serde(borrow)]
    #[schema(value_type = String)]
    pub key: Text<'a>,
    /// Permissions the request needs; all must be held.
    #[serde(default, borrow)]
    #[schema(value_type = Vec<String>)]
    pub permissions: Vec<Text<'a>>,
    /// The path the platform's client asked for (request log).
    #[serde(default, borrow)]
    #[schema(value_type = Option<String>)]
    pub path: Option<Text<'a>>,
    /// The platform's client's address: checked against the key's allowed
    /// IPs (a key with a list refuses a call without it), and logged.
    #[serde(default, borrow)]
    #[schema(value_type = Option<String>)]
    pub ip: Option<Text<'a>>,
    /// The platform's client's user agent (request log).
    #[serde(default, borrow)]
    #[schema(value_type = Option<String>)]
    pub user_agent: Option<Text<'a>>,
}

/// A JSON string borrowed from the body, or copied when it had escapes.
/// (serde's own `Cow<str>` borrows only as a field of its own, never inside
/// an `Option` or a `Vec`.)
pub struct Text<'a>(std::borrow::Cow<'a, str>);

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(s.into()))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(s.to_owned().into()))
            }
            fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(s.into()))
            }
        }
        d.deserialize_str(Visit)
    }
}

/// The answer of §5.1; fields beyond `valid` and `code` only for known keys.
/// Borrows from the decision: nothing is copied to answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"valid": true, "code": "VALID", "key_id": "0192f0c3a1b27c3e9d1f4a5b6c7d8e9f",
    "org": "acme", "name": "Production Web SDK", "type": "Write", "permissions": ["events:write"],
    "environment": "production", "expires_at": null, "ratelimit": {"limit": 100, "remaining": 97, "reset_ms": 420}}))]
pub struct VerifyResponse<'a> {
    /// Whether the request may go ahead (`code` is `VALID`).
    pub valid: bool,
    /// The decision, checked in the order listed.
    pub code: Code,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub key_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    pub permissions: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<&'static str>,
    /// Unix seconds, or `null` for a key that never expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub expires_at: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratelimit: Option<RateLimitInfo>,
    /// The platform's customer the key belongs to, or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub customer: Option<Option<&'a str>>,
    /// The key's metadata object, or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Option<&'a serde_json::value::RawValue>>,
    /// For a key with a usage limit, on VALID and USAGE_EXCEEDED answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageInfo>,
}

impl<'a> VerifyResponse<'a> {
    /// The answer describing `d`.
    pub fn of(d: &'a Decision) -> Self {
        let key = d.key.as_deref();
        VerifyResponse {
            valid: d.code == Code::Valid,
            code: d.code,
            key_id: key.map(|k| &*k.id),
            org: key.map(|k| k.org.as_str()),
            name: key.map(|k| k.name.as_str()),
            key_type: key.map(|k| k.key_type.as_str()),
            permissions: key.map(|k| k.permissions.as_slice()),
            environment: key.map(|k| k.environment.as_str()),
            expires_at: key.map(|k| k.expires_at),
            ratelimit: d.ratelimit,
            customer: key.map(|k| k.customer.as_deref()),
            meta: key.map(|k| k.meta.as_deref()),
            usage: d.usage,
        }
    }
}

pub use crate::error_body::json_error as error;

/// The answer when the database cannot be read (detail to the log only).
pub fn unavailable(e: &sqlx::Error) -> Response {
    tracing::error!(error = %e, "verification lookup failed");
    error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "Verification is unavailable; try again.")
}

/// Verifies a key.
///
/// May its holder do what needs `permissions`? Counted, rate-limited and
/// written to the request log.
#[utoipa::path(post, path = "/v1/keys/verify", operation_id = "verifyKey", tag = "verification",
    request_body = VerifyRequest, security(("service_token" = [])),
    responses(
        (status = 200, description = "The decision (also for refused keys: see `code`)", body = VerifyResponse),
        (status = 400, description = "The body is not the JSON above", body = crate::error_body::ErrorBody),
        (status = 401, description = "Missing or invalid service token", body = crate::error_body::ErrorBody),
        (status = 413, description = "The body is over 64 KB", body = crate::error_body::ErrorBody),
        (status = 503, description = "The database cannot be read for an uncached key", body = crate::error_body::ErrorBody)))]
pub async fn verify(
    State(verifier): State<Arc<Verifier>>,
    headers: HeaderMap,
    VerifyBody(body): VerifyBody,
) -> Response {
    let presented = super::service::bearer(&headers).unwrap_or("");
    let Some(env) = verifier.service_tokens.authenticate(presented) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "A valid service token is required.",
        );
    };
    let req: VerifyRequest = match serde_json::from_slice(&body) {
        Ok(req) => req,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "The body must be JSON like {\"key\": \"…\", \"permissions\": [\"…\"]}.",
            );
        }
    };
    let ask = Ask {
        key: req.key.as_ref(),
        permissions: &req.permissions,
        environment: Some(env),
        path: req.path.as_ref().map(AsRef::as_ref),
        ip: req.ip.as_ref().map(AsRef::as_ref),
        user_agent: req.user_agent.as_ref().map(AsRef::as_ref),
    };
    match verifier.decide(&ask).await {
        Ok(decision) => {
            ([(header::CONTENT_TYPE, "application/json")], super::answer::to_json(&decision))
                .into_response()
        }
        Err(e) => unavailable(&e),
    }
}

/// The verify body, read within 64 KB (`DefaultBodyLimit` on the route):
/// one that says it is larger is refused before a byte of it is read, and
/// either way the refusal is the one JSON error body. An extractor rather
/// than a middleware layer, so the hot path pays for nothing more.
pub struct VerifyBody(axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for VerifyBody {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let limit = crate::limits::API_BODY.0;
        if crate::limits::declared_over(&req, limit) {
            return Err(crate::limits::too_large(limit));
        }
        match axum::body::Bytes::from_request(req, state).await {
            Ok(body) => Ok(VerifyBody(body)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(crate::limits::too_large(limit))
            }
            Err(_) => {
                Err(error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "The body could not be read."))
            }
        }
    }
}

/// `POST /bench/echo` (with `--bench-routes` only): what verification
/// costs beyond HTTP and the middleware every route has. It reads a body
/// and answers as much JSON as a valid key's answer, deciding nothing.
pub async fn bench_echo(body: axum::body::Bytes) -> Response {
    const ANSWER: &str = concat!(
        r#"{"valid":true,"code":"VALID","key_id":"019ab0c3a1b27c3e9d1f4a5b6c7d8e9f","org":"acme","#,
        r#""name":"Bench 0001","type":"Write","permissions":["events:write"],"#,
        r#""environment":"production","expires_at":null,"#,
        r#""ratelimit":{"limit":1000000,"remaining":999999,"reset_ms":59999},"#,
        r#""customer":null,"meta":null}"#
    );
    std::hint::black_box(body);
    ([(header::CONTENT_TYPE, "application/json")], ANSWER).into_response()
}

/// `POST /bench/purge?days=N` (with `--bench-routes` only): runs the
/// request-log retention purge now, as the hourly sweeper would, so a
/// benchmark can show what it costs requests meanwhile. `days=0` purges
/// every entry, today's segment too (which the sweeper never drops; the
/// writers make it again).
pub async fn bench_purge(
    State(verifier): State<Arc<Verifier>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, u32>>,
) -> Response {
    let started = std::time::Instant::now();
    let days = q.get("days").copied().unwrap_or(30);
    let done = if days == 0 {
        let tomorrow = app::backend::log_segments::Day::of_ms(app::backend::db::now_ms()).end_ms();
        let done = verifier.purge_log_before(tomorrow).await;
        // The writers make today's table again on their next write.
        verifier.forget_log_days();
        done
    } else {
        verifier.purge_log_older_than(days).await
    };
    match done {
        Ok(gone) => {
            let took = started.elapsed().as_millis();
            Json(serde_json::json!({
                "segments": gone.segments,
                "legacy_entries": gone.legacy_rows,
                "took_ms": took
            }))
            .into_response()
        }
        Err(e) => unavailable(&e),
    }
}

/// `GET /metrics`: Prometheus text format.
/// With a `metrics_token` configured, only `Authorization: Bearer <it>`.
pub async fn metrics(State(verifier): State<Arc<Verifier>>, headers: HeaderMap) -> Response {
    if let Some(token) = &verifier.metrics_token {
        let presented = super::service::bearer(&headers).unwrap_or("");
        if !token.matches(presented) {
            return error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "A valid metrics token is required.",
            );
        }
    }
    let gauges = [
        (
            "keywarden_cache_entries",
            "Answers held in the verification cache.",
            verifier.cache.held() as f64,
        ),
        (
            "keywarden_cache_bypassed",
            "1 while change notices cannot be heard and every verification reads the database.",
            if verifier.cache.is_deaf() { 1.0 } else { 0.0 },
        ),
        (
            "keywarden_request_log_pending",
            "Request-log entries waiting for the next flush.",
            verifier.usage.pending_entries() as f64,
        ),
        (
            "keywarden_request_log_dropped",
            "Request-log entries dropped because the database fell behind.",
            verifier.usage.dropped.load(std::sync::atomic::Ordering::Relaxed) as f64,
        ),
        ("keywarden_db_connections", "Open database connections.", f64::from(verifier.db.size())),
    ];
    let text = verifier.metrics.render(app::backend::db::now_ms(), verifier.started_ms, &gauges);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
