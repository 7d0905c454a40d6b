//! The extractor for the calling API key: verified like any other use of
//! the key (counted, rate-limited, logged), with the endpoint's scope as the
//! permission asked for. Instrumented with `skip_all`: no token in a span.

use super::RestState;
use super::error::RestError;
use crate::verify::cache::CachedKey;
use crate::verify::{Ask, Code};
use app::backend::keys::{Actor, By};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use std::marker::PhantomData;
use std::sync::Arc;

/// A permission an endpoint requires.
pub trait Scope: Send + Sync {
    const PERMISSION: &'static str;
}

/// `keys:read`: list and read keys.
pub struct ReadKeys;
impl Scope for ReadKeys {
    const PERMISSION: &'static str = "keys:read";
}

/// `keys:write`: create, edit, regenerate and revoke keys.
pub struct WriteKeys;
impl Scope for WriteKeys {
    const PERMISSION: &'static str = "keys:write";
}

/// The API key a call was made with, holding scope `S`.
pub struct Caller<S> {
    pub key: Arc<CachedKey>,
    /// The client's address (`trust_proxy_headers` respected), for the
    /// audit log.
    pub ip: Option<String>,
    scope: PhantomData<S>,
}

impl<S> Caller<S> {
    /// The calling key as the keys service's actor (bounded to its org, its
    /// environment and its own permissions), from the client's address.
    pub fn by(&self) -> By<'_> {
        let actor = Actor::ApiKey {
            id: &self.key.id,
            name: &self.key.name,
            org_id: &self.key.org_id,
            environment: self.key.environment,
            permissions: &self.key.permissions,
        };
        By { actor, ip: self.ip.as_deref() }
    }
}

impl<S: Scope> FromRequestParts<RestState> for Caller<S> {
    type Rejection = RestError;

    #[tracing::instrument(name = "api_key", skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &RestState) -> Result<Self, RestError> {
        let token = crate::verify::service::bearer(&parts.headers)
            .ok_or(RestError::Unauthorized(Code::Malformed))?;
        let ip = app::backend::request::client_addr(parts, state.app.settings.trust_proxy_headers);
        let permissions = [S::PERMISSION];
        let ask = Ask {
            key: token,
            permissions: &permissions,
            environment: None,
            path: Some(parts.uri.path()),
            ip: ip.as_deref(),
            user_agent: parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()),
        };
        let decision = state.verifier.decide(&ask).await.map_err(|e| {
            tracing::error!(error = %e, "API key lookup failed");
            RestError::Unavailable
        })?;
        match (decision.code, decision.key) {
            (Code::Valid, Some(key)) => Ok(Caller { key, ip, scope: PhantomData }),
            (Code::InsufficientPermissions, _) => Err(RestError::MissingScope(S::PERMISSION)),
            (Code::RateLimited, _) => Err(RestError::RateLimited(
                decision.ratelimit.map_or(1, |r| r.reset_ms.div_ceil(1000).max(1)),
            )),
            (code, _) => Err(RestError::Unauthorized(code)),
        }
    }
}
