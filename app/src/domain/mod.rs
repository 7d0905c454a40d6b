//! Domain types shared by the server and the browser: roles and their rights,
//! and the parsed forms of what people type.

/// `as_str` and `Display` for newtypes over a `String` that their `parse`
/// made valid: the text is shown and stored as it is.
macro_rules! text_type {
    ($($t:ident),+) => {$(
        impl $t {
            /// The text, valid by construction.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}
use text_type;

pub mod calendar;
mod catalog;
mod inputs;
mod ip_allowlist;
mod key_options;
mod keys;
pub mod model;
mod next;
mod outcome;
#[cfg(test)]
mod parsers_are_linear;
mod platform;
mod policy;
mod role;
pub mod time;
mod token;

pub use catalog::{CUSTOM_TYPE, Catalog, KeyType};
pub use inputs::{Email, OrgName, Password, Slug};
pub use ip_allowlist::IpAllowlist;
pub use key_options::{CustomerId, KeyMeta, KeyOptions, Refill, UsageLimit};
pub use keys::{Expiry, KeyName, KeyStatus, RateLimit};
pub use model::{
    AuditView, Grace, InvitationView, KeyHints, KeyQuery, KeySort, KeyView, MemberView, OrgSummary,
    RequestView, STALE_AFTER_DAYS, UsageView,
};
pub use next::safe_next;
pub use outcome::{OUTCOMES, outcome_label};
pub use platform::{Founding, NewOwnedOrg, OrgOverview, OrgPage, ReturnUrl};
pub use policy::{Policies, UNUSED_HINT_DAYS, days_label};
pub use role::{Capability, Role};
#[cfg(feature = "ssr")]
pub use token::TokenHash;
pub use token::{ApiToken, Environment, KeyPrefix, Malformed};

/// Unix time in seconds. Stored as a 64-bit integer so SQLite and PostgreSQL
/// share one schema.
pub type UnixTime = i64;
