//! `/v1/keys` handlers: each parses its input, calls the keys service
//! (`app::backend::keys::service`, the same the page uses: checks, audit
//! and commit-and-notify in one transaction) and shapes the answer.

use super::auth::{Caller, ReadKeys, WriteKeys};
use super::error::answers::{Conflict, Forbidden, Invalid, NotFound, RateLimited, Unauthorized};
use super::error::{JsonBody, RestError};
use super::key_options::{self as opts, UsageLimitBody, UsageResource, present};
use app::api::key_types::{Grace, KeyQuery, KeyView};
use app::backend::keys::{self, KeyEdit, KeyRow, NewKeySpec, service};
use app::backend::{AppState, db};
use app::domain::{ApiToken, Environment, KeyName, KeyOptions, KeyStatus, RateLimit};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A rate limit: `limit` requests per `window_secs` seconds.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
pub struct RateLimitBody {
    pub limit: u32,
    pub window_secs: u32,
}

/// An API key as the REST API shows it. Never holds the secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0192f0c3a1b27c3e9d1f4a5b6c7d8e9f", "name": "Nightly export", "prefix": "kw_live_5Gf0",
    "type": "Read", "environment": "production", "permissions": ["data:read"], "status": "active",
    "rate_limit": {"limit": 600, "window_secs": 60}, "created_at": 1767225600, "expires_at": null,
    "last_used_at": null, "request_count": 0, "previous_secret_expires_at": null}))]
pub struct KeyResource {
    pub id: String,
    pub name: String,
    /// The key's visible start, e.g. `kw_live_AbCd`.
    pub prefix: String,
    #[serde(rename = "type")]
    pub key_type: String,
    /// `production`, `staging` or `development`.
    pub environment: String,
    pub permissions: Vec<String>,
    /// `active`, `disabled`, `expired` or `revoked`.
    pub status: String,
    pub rate_limit: RateLimitBody,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub request_count: i64,
    /// While a regenerated key's previous secret still works: until when.
    pub previous_secret_expires_at: Option<i64>,
    /// Addresses and CIDRs it may be used from; empty: any.
    pub ip_allowlist: Vec<String>,
    pub customer: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
    pub usage_limit: Option<UsageResource>,
}

impl From<KeyView> for KeyResource {
    fn from(k: KeyView) -> Self {
        KeyResource {
            id: k.id,
            name: k.name,
            prefix: k.start,
            key_type: k.key_type,
            environment: k.environment.as_str().into(),
            permissions: k.permissions,
            status: k.status.label().to_ascii_lowercase(),
            // The API answers with whole views (never a viewer's list), so
            // a rate limit is always there.
            rate_limit: k.rate_limit.map_or(RateLimitBody { limit: 0, window_secs: 0 }, |r| {
                RateLimitBody { limit: r.limit, window_secs: r.window_secs }
            }),
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            request_count: k.request_count,
            previous_secret_expires_at: k.previous_expires_at,
            ip_allowlist: k.ip_allowlist,
            customer: k.customer,
            meta: k.meta.and_then(|m| serde_json::from_str(&m).ok()),
            usage_limit: k.usage.map(Into::into),
        }
    }
}

/// A page of keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyResource>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// A key with its new secret: shown in this answer only.
#[derive(Serialize, ToSchema)]
pub struct RevealedKeyBody {
    pub key: KeyResource,
    pub token: String,
}

impl std::fmt::Debug for RevealedKeyBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevealedKeyBody").field("key", &self.key).field("token", &"…").finish()
    }
}

/// The query of `GET /v1/keys`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1-based page of 25.
    pub page: Option<u32>,
    /// `active`, `disabled`, `expired` or `revoked`.
    pub status: Option<String>,
    /// Part of a name or prefix.
    pub search: Option<String>,
    /// Only the keys of this customer id.
    pub customer: Option<String>,
}

/// The body of `POST /v1/keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Nightly export", "type": "Read", "rate_limit": {"limit": 60, "window_secs": 60}}))]
pub struct CreateKey {
    pub name: String,
    /// Defaults to the calling key's environment, the only one it may use.
    pub environment: Option<String>,
    /// A key type of the catalog, or `Custom` with `permissions`.
    #[serde(rename = "type")]
    pub key_type: String,
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Unix seconds in the future; absent for a key that never expires.
    pub expires_at: Option<i64>,
    /// Defaults to the key type's.
    pub rate_limit: Option<RateLimitBody>,
    /// IPv4/IPv6 addresses or CIDRs the key may be used from (at most 100);
    /// empty or absent: any.
    #[serde(default)]
    pub ip_allowlist: Vec<String>,
    /// The platform's customer the key belongs to (1–255 characters).
    pub customer: Option<String>,
    /// A JSON object of at most 4 KiB, returned by verify.
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
    pub usage_limit: Option<UsageLimitBody>,
}

/// The body of `PATCH /v1/keys/{id}`; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Nightly export (EU)", "expires_at": null}))]
pub struct UpdateKey {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub key_type: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub rate_limit: Option<RateLimitBody>,
    /// Unix seconds, or `null` for never; absent keeps the current expiry.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub expires_at: Option<Option<i64>>,
    /// Replaces the list; `[]` lets any address in.
    pub ip_allowlist: Option<Vec<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub customer: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Option<serde_json::Value>>,
    /// Sets the limit and starts the balance over; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<UsageLimitBody>)]
    pub usage_limit: Option<Option<UsageLimitBody>>,
}

/// The body of `POST /v1/keys/{id}/regenerate`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"grace": "one_hour"}))]
pub struct RegenerateKey {
    /// How long the old secret keeps working: `none` (default), `one_hour`,
    /// `one_day` or `seven_days`.
    #[serde(default)]
    #[schema(value_type = String)]
    pub grace: Grace,
}

/// The rows as the API shows them (the page's views, in the API's shape).
async fn views(state: &AppState, rows: &[KeyRow]) -> Result<Vec<KeyResource>, RestError> {
    Ok(keys::views(state, rows).await?.into_iter().map(Into::into).collect())
}

async fn view(state: &AppState, row: &KeyRow) -> Result<KeyResource, RestError> {
    Ok(keys::view(state, row).await?.into())
}

fn rate_limit(body: RateLimitBody) -> Result<RateLimit, RestError> {
    if ![1, 60, 3600, 86_400].contains(&body.window_secs) {
        return Err(RestError::invalid("rate_limit.window_secs must be 1, 60, 3600 or 86400."));
    }
    RateLimit::parse(&body.limit.to_string(), &body.window_secs.to_string())
        .map_err(RestError::invalid)
}

/// The org's key `id` if the caller's environment reaches it (the keys
/// service's one rule of reach).
async fn reachable(
    state: &AppState,
    caller: &Caller<impl Send>,
    id: &str,
) -> Result<KeyRow, RestError> {
    Ok(keys::reachable(&mut *state.db.acquire().await?, &caller.by().actor, id).await?)
}

fn future(expires_at: Option<i64>) -> Result<Option<i64>, RestError> {
    match expires_at {
        Some(t) if t <= db::now() => Err(RestError::invalid("expires_at must be in the future.")),
        other => Ok(other),
    }
}

/// The answer that carries a new secret, kept out of caches.
async fn reveal(
    state: &AppState,
    (row, token): (KeyRow, ApiToken),
    status: StatusCode,
) -> Result<Response, RestError> {
    let body = RevealedKeyBody { key: view(state, &row).await?, token: token.expose().to_string() };
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Lists the keys of the caller's org and environment, newest first.
#[utoipa::path(get, path = "/v1/keys", operation_id = "listKeys", tag = "keys", params(ListParams), security(("api_key" = ["keys:read"])),
    responses((status = 200, description = "OK", body = KeyList), Unauthorized, Forbidden, RateLimited))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller<ReadKeys>,
    Query(params): Query<ListParams>,
) -> Result<Json<KeyList>, RestError> {
    let status = match params.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            KeyStatus::ALL.into_iter().find(|k| k.label().eq_ignore_ascii_case(s)).ok_or_else(
                || RestError::invalid("status must be active, disabled, expired or revoked."),
            )?,
        ),
    };
    let query = KeyQuery {
        environment: Some(caller.key.environment),
        status,
        search: params.search.unwrap_or_default(),
        customer: params.customer.unwrap_or_default(),
        sort: Default::default(),
        page: params.page.unwrap_or(1).max(1),
    };
    let (rows, total) = keys::list(&state.db, &caller.key.org_id, &query, db::now()).await?;
    Ok(Json(KeyList {
        keys: views(&state, &rows).await?,
        total,
        page: query.page,
        per_page: keys::PER_PAGE,
    }))
}

/// One key of the caller's org and environment.
#[utoipa::path(get, path = "/v1/keys/{id}", operation_id = "getKey", tag = "keys", params(("id" = String, Path, description = "The key's id")), security(("api_key" = ["keys:read"])),
    responses((status = 200, description = "OK", body = KeyResource), NotFound, Unauthorized, RateLimited))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<ReadKeys>,
    Path(id): Path<String>,
) -> Result<Json<KeyResource>, RestError> {
    let row = reachable(&state, &caller, &id).await?;
    Ok(Json(view(&state, &row).await?))
}

/// Creates a key in the caller's environment and reveals its secret, once.
#[utoipa::path(post, path = "/v1/keys", operation_id = "createKey", tag = "keys", request_body = CreateKey, security(("api_key" = ["keys:write"])),
    responses((status = 201, description = "Created", body = RevealedKeyBody), Invalid, Forbidden, Conflict, Unauthorized, RateLimited))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller<WriteKeys>,
    JsonBody(body): JsonBody<CreateKey>,
) -> Result<Response, RestError> {
    let environment = match body.environment.as_deref() {
        None => caller.key.environment,
        Some(asked) => asked.parse::<Environment>().map_err(RestError::invalid)?,
    };
    let name = KeyName::parse(&body.name).map_err(RestError::invalid)?;
    let catalog = &state.settings.catalog;
    let permissions =
        catalog.resolve(&body.key_type, &body.permissions).map_err(RestError::invalid)?;
    let default = catalog.default_rate_limit(&body.key_type);
    let spec = NewKeySpec {
        name,
        environment,
        key_type: body.key_type,
        permissions,
        rate_limit: body.rate_limit.map(rate_limit).transpose()?.unwrap_or(default),
        expires_at: future(body.expires_at)?,
        options: KeyOptions {
            ip_allowlist: opts::allowlist(&body.ip_allowlist)?,
            customer: opts::customer(body.customer.as_deref())?,
            meta: opts::meta(body.meta)?,
            usage_limit: opts::usage_limit(body.usage_limit)?,
        },
    };
    let created = service::create(&state, caller.by(), spec).await?;
    reveal(&state, created, StatusCode::CREATED).await
}

/// Edits a key's name, type and permissions, rate limit or expiry.
#[utoipa::path(patch, path = "/v1/keys/{id}", operation_id = "updateKey", tag = "keys", params(("id" = String, Path, description = "The key's id")), request_body = UpdateKey, security(("api_key" = ["keys:write"])),
    responses((status = 200, description = "OK", body = KeyResource), Invalid, NotFound, Conflict, Unauthorized, RateLimited))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller<WriteKeys>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateKey>,
) -> Result<Json<KeyResource>, RestError> {
    let grants = if body.key_type.is_some() || body.permissions.is_some() {
        // The type and permissions not sent are the key's current ones.
        let current = reachable(&state, &caller, &id).await?;
        let key_type = body.key_type.unwrap_or_else(|| current.key_type.clone());
        let asked = body.permissions.unwrap_or_else(|| current.permission_list());
        let permissions =
            state.settings.catalog.resolve(&key_type, &asked).map_err(RestError::invalid)?;
        Some((key_type, permissions))
    } else {
        None
    };
    let edit = KeyEdit {
        name: body.name.as_deref().map(KeyName::parse).transpose().map_err(RestError::invalid)?,
        grants,
        rate_limit: body.rate_limit.map(rate_limit).transpose()?,
        expires_at: body.expires_at.map(future).transpose()?,
        ip_allowlist: body.ip_allowlist.as_deref().map(opts::allowlist).transpose()?,
        customer: body.customer.map(|c| opts::customer(c.as_deref())).transpose()?,
        meta: body.meta.map(opts::meta).transpose()?,
        usage_limit: body.usage_limit.map(opts::usage_limit).transpose()?,
    };
    let row = service::update(&state, caller.by(), &id, edit).await?;
    Ok(Json(view(&state, &row).await?))
}

/// Issues a new secret; the old one stops now or after the grace period.
#[utoipa::path(post, path = "/v1/keys/{id}/regenerate", operation_id = "regenerateKey", tag = "keys", params(("id" = String, Path, description = "The key's id")), request_body = RegenerateKey,
    security(("api_key" = ["keys:write"])),
    responses((status = 200, description = "OK", body = RevealedKeyBody), NotFound, Conflict, Unauthorized, RateLimited))]
pub async fn regenerate(
    State(state): State<AppState>,
    caller: Caller<WriteKeys>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, RestError> {
    // The body is optional: none means no grace period.
    let grace = if body.iter().all(u8::is_ascii_whitespace) {
        Grace::None
    } else {
        serde_json::from_slice::<RegenerateKey>(&body)
            .map_err(|e| RestError::invalid(format!("The body is not valid: {e}")))?
            .grace
    };
    let regenerated = service::regenerate(&state, caller.by(), &id, grace.secs()).await?;
    reveal(&state, regenerated, StatusCode::OK).await
}

/// Revokes a key for good; every instance refuses it at once.
#[utoipa::path(post, path = "/v1/keys/{id}/revoke", operation_id = "revokeKey", tag = "keys", params(("id" = String, Path, description = "The key's id")), security(("api_key" = ["keys:write"])),
    responses((status = 200, description = "OK", body = KeyResource), NotFound, Conflict, Unauthorized, RateLimited))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller<WriteKeys>,
    Path(id): Path<String>,
) -> Result<Json<KeyResource>, RestError> {
    let row = service::revoke(&state, caller.by(), &id).await?;
    Ok(Json(view(&state, &row).await?))
}
