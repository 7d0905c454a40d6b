//! The shapes key server functions take and return.

use crate::domain::{Environment, KeyStatus, RateLimit, UnixTime};
use serde::{Deserialize, Serialize};

/// Days without use after which a key is marked stale.
pub const STALE_AFTER_DAYS: i64 = 90;

/// One key as the list and the detail page show it. Never holds the secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    /// Display prefix, e.g. `kw_live_5Gf0`; the UI appends `••••`.
    pub start: String,
    pub environment: Environment,
    pub key_type: String,
    pub permissions: Vec<String>,
    pub status: KeyStatus,
    pub rate_limit: RateLimit,
    pub created_at: UnixTime,
    pub created_by: Option<String>,
    pub expires_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
    pub request_count: i64,
    /// When the previous secret stops working, while a grace period runs.
    pub previous_expires_at: Option<UnixTime>,
    /// Unused for [`STALE_AFTER_DAYS`] days (or never used since then).
    pub stale: bool,
    /// Older than the operator's rotation period since creation or the
    /// last regenerate.
    pub rotation_due: bool,
}

/// How the list is sorted: newest first by creation or by last use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySort {
    #[default]
    Created,
    LastUsed,
}

/// Filters, search and page of the key list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyQuery {
    pub environment: Option<Environment>,
    pub status: Option<KeyStatus>,
    #[serde(default)]
    pub search: String,
    #[serde(default)]
    pub sort: KeySort,
    /// 1-based.
    #[serde(default)]
    pub page: u32,
}

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
}

/// How long the old secret keeps working after a regenerate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grace {
    #[default]
    None,
    OneHour,
    OneDay,
    SevenDays,
}

impl Grace {
    pub const ALL: [Grace; 4] = [Grace::None, Grace::OneHour, Grace::OneDay, Grace::SevenDays];

    pub fn secs(self) -> i64 {
        match self {
            Grace::None => 0,
            Grace::OneHour => 3600,
            Grace::OneDay => 86_400,
            Grace::SevenDays => 7 * 86_400,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Grace::None => "Stop the old secret now",
            Grace::OneHour => "Keep the old secret for 1 hour",
            Grace::OneDay => "Keep the old secret for 24 hours",
            Grace::SevenDays => "Keep the old secret for 7 days",
        }
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
        f.debug_struct("RevealedKey")
            .field("key", &self.key)
            .field("token", &"…")
            .finish()
    }
}

/// One audit entry as the UI shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AuditView {
    pub at_ms: i64,
    pub actor: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    pub changes: Option<String>,
    pub client_ip: Option<String>,
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
