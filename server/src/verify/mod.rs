//! `POST /v1/keys/verify`: what the platform's gateway asks on every request
//! (DESIGN.md §5.1). Checksum first, then an in-memory cache (with negative
//! entries), an in-memory rate limiter, and usage counted in memory and
//! written in batches: no database write on the request path, and no
//! database read for a repeated or malformed key.

pub mod cache;
pub mod propagate;
pub mod ratelimit;
pub mod service;
pub mod usage;

use app::backend::Db;
use app::domain::{ApiToken, Environment, KeyPrefix, RateLimit};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cache::{CachedKey, Entry, KeyCache};
use ratelimit::RateLimiter;
use serde::{Deserialize, Serialize};
use service::ServiceTokens;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use usage::UsageBuffer;

/// Everything verification keeps in memory.
pub struct Verifier {
    pub db: Db,
    /// `<operator prefix>_`: tokens of other operators are malformed here.
    token_start: String,
    pub service_tokens: ServiceTokens,
    pub cache: Arc<KeyCache>,
    pub limiter: RateLimiter,
    pub usage: UsageBuffer,
    /// Database lookups made (for tests and metrics).
    pub lookups: AtomicU64,
    epoch: Instant,
}

/// The request body of §5.1.
#[derive(Debug, Deserialize)]
pub struct VerifyRequest {
    pub key: String,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
}

/// The rate-limit part of an answer.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct RateLimitInfo {
    pub limit: u32,
    pub remaining: u32,
    pub reset_ms: u64,
}

/// The answer of §5.1; fields beyond `valid` and `code` only for known keys.
#[derive(Debug, Serialize)]
pub struct VerifyResponse {
    pub valid: bool,
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratelimit: Option<RateLimitInfo>,
}

impl VerifyResponse {
    fn bare(code: &'static str) -> Self {
        VerifyResponse {
            valid: false,
            code,
            key_id: None,
            org: None,
            name: None,
            key_type: None,
            permissions: None,
            environment: None,
            expires_at: None,
            ratelimit: None,
        }
    }

    fn about(code: &'static str, key: &CachedKey, ratelimit: Option<RateLimitInfo>) -> Self {
        VerifyResponse {
            valid: code == "VALID",
            code,
            key_id: Some(key.id.clone()),
            org: Some(key.org.clone()),
            name: Some(key.name.clone()),
            key_type: Some(key.key_type.clone()),
            permissions: Some(key.permissions.clone()),
            environment: Some(key.environment.as_str()),
            expires_at: Some(key.expires_at),
            ratelimit,
        }
    }
}

type KeyRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    i64,
    Option<i64>,
    i64,
    i64,
    String,
    Option<i64>,
);

impl Verifier {
    pub fn new(db: Db, prefix: KeyPrefix, service_tokens: ServiceTokens) -> Self {
        Verifier {
            db,
            token_start: format!("{}_", prefix.as_str()),
            service_tokens,
            cache: Arc::new(KeyCache::default()),
            limiter: RateLimiter::default(),
            usage: UsageBuffer::default(),
            lookups: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// Decides one request for a verifier bound to `env`, in the order of
    /// §5.1: MALFORMED, NOT_FOUND, WRONG_ENVIRONMENT, DISABLED, REVOKED,
    /// EXPIRED, INSUFFICIENT_PERMISSIONS, RATE_LIMITED, VALID.
    pub async fn verify(
        &self,
        req: &VerifyRequest,
        env: Environment,
    ) -> Result<VerifyResponse, sqlx::Error> {
        let Ok((token, _)) = ApiToken::parse(&req.key) else {
            return Ok(VerifyResponse::bare("MALFORMED"));
        };
        if !token.expose().starts_with(&self.token_start) {
            return Ok(VerifyResponse::bare("MALFORMED"));
        }
        let hash: [u8; 32] = Sha256::digest(token.expose().as_bytes()).into();
        let entry = match self.cache.get(&hash) {
            Some(entry) => entry,
            None => self.lookup(hash).await?,
        };
        let Entry::Key(key) = entry else {
            return Ok(VerifyResponse::bare("NOT_FOUND"));
        };
        let now = app::backend::db::now();
        if key.grace_until.is_some_and(|until| until <= now) {
            // The previous secret of a regenerated key, past its grace period.
            return Ok(VerifyResponse::bare("NOT_FOUND"));
        }
        if key.environment != env {
            return Ok(VerifyResponse::bare("WRONG_ENVIRONMENT"));
        }
        self.usage.record(&key.id, now);
        let code = if key.disabled {
            "DISABLED"
        } else if key.revoked {
            "REVOKED"
        } else if key.expires_at.is_some_and(|t| t <= now) {
            "EXPIRED"
        } else if !req.permissions.iter().all(|p| key.permissions.contains(p)) {
            "INSUFFICIENT_PERMISSIONS"
        } else {
            let RateLimit { limit, window_secs } = key.rate_limit;
            let window = Duration::from_secs(u64::from(window_secs));
            let d = self
                .limiter
                .check(&key.id, limit, window, self.epoch.elapsed());
            let info = RateLimitInfo {
                limit: d.limit,
                remaining: d.remaining,
                reset_ms: d.reset_ms,
            };
            let code = if d.allowed { "VALID" } else { "RATE_LIMITED" };
            return Ok(VerifyResponse::about(code, &key, Some(info)));
        };
        Ok(VerifyResponse::about(code, &key, None))
    }

    /// Forgets rate-limit state that has fully refilled (bounds memory).
    pub fn sweep(&self) {
        self.limiter.sweep(self.epoch.elapsed());
    }

    async fn lookup(&self, hash: [u8; 32]) -> Result<Entry, sqlx::Error> {
        let seen = self.cache.generation();
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let hex = hex::encode(hash);
        let row: Option<KeyRow> = sqlx::query_as(
            "SELECT k.id, o.slug, k.name, k.key_type, k.permissions, k.environment, k.expires_at, \
             k.disabled, k.revoked_at, k.rate_limit, k.rate_window_secs, k.token_hash, k.previous_expires_at \
             FROM api_keys k JOIN orgs o ON o.id = k.org_id \
             WHERE k.token_hash = $1 OR k.previous_token_hash = $1",
        )
        .bind(&hex)
        .fetch_optional(&self.db)
        .await?;
        let entry = match row {
            None => Entry::Missing,
            Some((
                id,
                org,
                name,
                key_type,
                permissions,
                environment,
                expires_at,
                disabled,
                revoked_at,
                limit,
                window,
                current,
                grace,
            )) => match environment.parse() {
                Ok(environment) => Entry::Key(Arc::new(CachedKey {
                    id,
                    org,
                    name,
                    key_type,
                    permissions: serde_json::from_str(&permissions).unwrap_or_default(),
                    environment,
                    expires_at,
                    disabled: disabled != 0,
                    revoked: revoked_at.is_some(),
                    rate_limit: RateLimit {
                        limit: limit as u32,
                        window_secs: window as u32,
                    },
                    grace_until: if current == hex {
                        None
                    } else {
                        Some(grace.unwrap_or(0))
                    },
                })),
                Err(_) => Entry::Missing,
            },
        };
        self.cache.insert(hash, entry.clone(), seen);
        Ok(entry)
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    (status, Json(body)).into_response()
}

/// `POST /v1/keys/verify`.
pub async fn verify(
    State(verifier): State<Arc<Verifier>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let Some(env) = verifier.service_tokens.authenticate(presented.trim()) else {
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
    match verifier.verify(&req, env).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "verification lookup failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "Verification is unavailable; try again.",
            )
        }
    }
}
