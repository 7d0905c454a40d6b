//! The shapes key server functions take and return.

pub use crate::domain::model::{AuditView, Grace, KeyQuery, KeySort, KeyView, STALE_AFTER_DAYS};
use crate::domain::{Environment, RateLimit, UnixTime};
use serde::{Deserialize, Serialize};

/// One page of keys and what the caller may do with them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyPage {
    pub keys: Vec<KeyView>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    /// Whether the org has any key at all (for the empty state).
    pub org_has_keys: bool,
    pub can_manage: bool,
    pub can_delete: bool,
    pub can_view_detail: bool,
    /// The server's time, so relative times render the same on both sides.
    pub now: UnixTime,
}

/// A key type offered in the create and edit forms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyTypeOption {
    pub name: String,
    pub permissions: Vec<String>,
    pub rate_limit: RateLimit,
    pub server_side_only: bool,
}

/// What the key forms offer this caller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyFormOptions {
    pub key_types: Vec<KeyTypeOption>,
    pub permissions: Vec<String>,
    /// The org's maximum key lifetime in days: the forms offer no longer
    /// expiry (and no "Never").
    pub max_lifetime_days: Option<i64>,
}

/// The fields of the create and edit forms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyInput {
    pub name: String,
    /// Ignored on edit: a key's environment is fixed.
    pub environment: Option<Environment>,
    /// A preset name or `Custom`.
    pub key_type: String,
    /// For `Custom` only.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// `never`, `30`, `90`, `365`, `date`, or `keep` (edit only).
    pub expiry: String,
    #[serde(default)]
    pub expiry_date: String,
    /// Empty for the type's default.
    #[serde(default)]
    pub rate_limit: String,
    #[serde(default)]
    pub rate_window_secs: String,
    /// One address or CIDR per line; empty for any.
    #[serde(default)]
    pub ip_allowlist: String,
    #[serde(default)]
    pub customer: String,
    /// A JSON object, or empty.
    #[serde(default)]
    pub meta: String,
    /// Empty for no limit.
    #[serde(default)]
    pub usage_limit: String,
    /// `none`, `daily` or `monthly`.
    #[serde(default)]
    pub usage_refill: String,
}

impl KeyInput {
    /// Allowed IPs, customer, metadata and usage limit, parsed.
    pub fn options(&self) -> Result<crate::domain::KeyOptions, String> {
        crate::domain::KeyOptions::parse(
            &self.ip_allowlist,
            &self.customer,
            &self.meta,
            &self.usage_limit,
            &self.usage_refill,
        )
    }
}

/// A new secret, shown once: the answer of create and regenerate.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct RevealedKey {
    pub key: KeyView,
    pub token: String,
}

impl std::fmt::Debug for RevealedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevealedKey").field("key", &self.key).field("token", &"…").finish()
    }
}

/// A key's detail page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyDetail {
    pub key: KeyView,
    /// The key's history; `None` for roles that may not see the audit log.
    pub audit: Option<Vec<AuditView>>,
    pub can_manage: bool,
    pub can_delete: bool,
    pub now: UnixTime,
}

/// A page of the org's audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditView>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    /// Actions present in the log, for the filter.
    pub actions: Vec<String>,
}
