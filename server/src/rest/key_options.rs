//! Allowed IPs, customer id, metadata and usage limit as the REST API takes
//! and shows them (docs/design.md#rest-api), parsed by the same domain types as the
//! page's dialogs.

use super::error::RestError;
use app::domain::{CustomerId, IpAllowlist, KeyMeta, Refill, UsageLimit, UsageView};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// A usage limit to set: `remaining` VALID verifications, refilled to that
/// number daily or monthly (00:00 UTC), or never.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"remaining": 1000, "refill": "monthly"}))]
pub struct UsageLimitBody {
    pub remaining: i64,
    /// `none` (default), `daily` or `monthly`.
    #[serde(default)]
    pub refill: Option<String>,
}

/// A key's usage limit and balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageResource {
    pub limit: i64,
    /// Uses left until the next refill.
    pub remaining: i64,
    /// `none`, `daily` or `monthly`.
    pub refill: String,
    /// Unix seconds of the next refill; `null` when it never refills.
    pub refills_at: Option<i64>,
}

impl From<UsageView> for UsageResource {
    fn from(u: UsageView) -> Self {
        UsageResource {
            limit: u.limit,
            remaining: u.remaining,
            refill: u.refill.as_str().into(),
            refills_at: u.refills_at,
        }
    }
}

/// `Some(value)` for a field that is present, `null` included, so a
/// PATCH can tell "clear it" (`null`) from "keep it" (absent).
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

pub fn allowlist(entries: &[String]) -> Result<IpAllowlist, RestError> {
    if entries.len() > IpAllowlist::MAX {
        return Err(RestError::invalid("ip_allowlist holds at most 100 entries."));
    }
    IpAllowlist::parse(&entries.join("\n")).map_err(RestError::invalid)
}

pub fn customer(raw: Option<&str>) -> Result<Option<CustomerId>, RestError> {
    match raw {
        None => Ok(None),
        Some(raw) if raw.trim().is_empty() => {
            Err(RestError::invalid("customer must be 1–255 characters, or null."))
        }
        Some(raw) => CustomerId::parse(raw).map_err(RestError::invalid),
    }
}

pub fn meta(value: Option<serde_json::Value>) -> Result<Option<KeyMeta>, RestError> {
    value.map(KeyMeta::from_value).transpose().map_err(RestError::invalid)
}

pub fn usage_limit(body: Option<UsageLimitBody>) -> Result<Option<UsageLimit>, RestError> {
    body.map(|b| {
        let refill = Refill::parse(b.refill.as_deref().unwrap_or("none"))?;
        UsageLimit::new(b.remaining, refill)
    })
    .transpose()
    .map_err(RestError::invalid)
}
