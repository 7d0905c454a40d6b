//! The shapes shared by every layer that shows keys, members and audit
//! entries: the storage layer fills them, the server functions and the REST
//! API hand them on, the pages render them.

use super::{Environment, KeyStatus, RateLimit, Refill, Role, UnixTime};
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
    /// `None` only in a viewer's list (see [`KeyView::listed_for_viewer`]).
    pub rate_limit: Option<RateLimit>,
    pub created_at: UnixTime,
    pub created_by: Option<String>,
    pub expires_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
    pub request_count: i64,
    /// When the previous secret stops working, while a grace period runs.
    pub previous_expires_at: Option<UnixTime>,
    pub hints: KeyHints,
    /// Allowed IPs and ranges; empty lets any address in.
    pub ip_allowlist: Vec<String>,
    /// The platform's customer the key belongs to.
    pub customer: Option<String>,
    /// Metadata as indented JSON.
    pub meta: Option<String>,
    pub usage: Option<UsageView>,
}

impl KeyView {
    /// The key as a viewer's list shows it (docs/design.md#roles): name,
    /// prefix, type, environment, requests, last used, created, expires and
    /// status, with the flags beside the status. What only members and up
    /// may see (permissions, rate limit, creator, allowed IPs, customer,
    /// metadata, usage limit, the old secret's grace) is left out, not just
    /// unrendered: the page's data reaches the browser whole.
    pub fn listed_for_viewer(self) -> KeyView {
        KeyView {
            permissions: Vec::new(),
            rate_limit: None,
            created_by: None,
            previous_expires_at: None,
            ip_allowlist: Vec::new(),
            customer: None,
            meta: None,
            usage: None,
            ..self
        }
    }
}

/// What the list flags beside a key's status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyHints {
    /// Unused for [`STALE_AFTER_DAYS`] days (or never used since then).
    pub stale: bool,
    /// Older than the operator's rotation period since creation or the
    /// last regenerate.
    pub rotation_due: bool,
    /// Outlives the org's maximum key lifetime (made before the policy).
    pub exceeds_policy: bool,
    /// Disabled by the org's unused-keys policy.
    pub disabled_by_policy: bool,
    /// When the unused-keys policy will disable it, once that is a week
    /// away or less.
    pub disables_at: Option<UnixTime>,
}

/// A usage limit and its balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageView {
    pub limit: i64,
    pub refill: Refill,
    /// VALID verifications left until the next refill.
    pub remaining: i64,
    /// The next refill, or `None` when it never refills.
    pub refills_at: Option<UnixTime>,
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
    /// Only the keys of this customer id (exact); empty for all.
    #[serde(default)]
    pub customer: String,
    #[serde(default)]
    pub sort: KeySort,
    /// 1-based.
    #[serde(default)]
    pub page: u32,
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

/// An organisation the signed-in user belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrgSummary {
    pub slug: String,
    pub name: String,
    pub role: Role,
}

/// One member of an org.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub joined_at: UnixTime,
    pub is_you: bool,
}

/// An invitation not yet accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub expires_at: UnixTime,
    pub invited_by: String,
}

/// One line of the request log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct RequestView {
    pub at_ms: i64,
    pub key_id: String,
    /// `None` once the key was deleted.
    pub key_name: Option<String>,
    pub code: String,
    pub path: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}
