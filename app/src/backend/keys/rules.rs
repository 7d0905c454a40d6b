//! The rules of key changes that need no database: what an edit changed
//! (for the audit log), when a regenerated key's old secret stops, and
//! that a revoked key changes no more.

use super::store::{Editable, KeyRow};
use crate::domain::{CustomerId, IpAllowlist, KeyMeta, KeyOptions, UnixTime, UsageLimit};
use crate::error::AppError;

/// What an edit changed, as the audit log records it: `{field: {before,
/// after}}` for each field that differs, or `None` when nothing did. A new
/// usage limit also records that the balance starts over.
pub fn edit_changes(before: &KeyRow, after: &Editable<'_>) -> Option<serde_json::Value> {
    let old = before.options();
    let new = after.options;
    let words = |list: &IpAllowlist| list.entries().join(", ");
    let usage = |u: Option<UsageLimit>| u.map(|u| u.label());
    let meta = |m: &Option<KeyMeta>| m.as_ref().map(|m| m.as_str().to_string());
    let customer = |c: &Option<CustomerId>| c.as_ref().map(|c| c.as_str().to_string());
    let fields: [(&str, serde_json::Value, serde_json::Value); 9] = [
        ("name", before.name.clone().into(), after.name.into()),
        ("type", before.key_type.clone().into(), after.key_type.into()),
        ("permissions", before.permission_list().into(), after.permissions.to_vec().into()),
        ("rate_limit", before.rate().label().into(), after.rate_limit.label().into()),
        ("expires_at", before.expires_at.into(), after.expires_at.into()),
        ("allowed_ips", words(&old.ip_allowlist).into(), words(&new.ip_allowlist).into()),
        ("customer", customer(&old.customer).into(), customer(&new.customer).into()),
        ("meta", meta(&old.meta).into(), meta(&new.meta).into()),
        ("usage_limit", usage(old.usage_limit).into(), usage(new.usage_limit).into()),
    ];
    crate::backend::audit::diff(fields)
}

/// Whether an edit sets the usage balance back to the limit: when the limit
/// or its refill changes.
pub fn resets_usage(before: &KeyRow, after: &KeyOptions) -> bool {
    before.options().usage_limit != after.usage_limit
}

/// When a regenerated key's old secret stops: now (`None`) or after
/// `grace_secs`, never after the key's own expiry.
pub fn grace_until(
    now: UnixTime,
    grace_secs: i64,
    expires_at: Option<UnixTime>,
) -> Result<Option<UnixTime>, AppError> {
    let until = (grace_secs > 0).then(|| now + grace_secs);
    if let (Some(until), Some(expires)) = (until, expires_at)
        && until > expires
    {
        return Err(AppError::Invalid(
            "The grace period would outlive the key's expiry. Choose a shorter one.".into(),
        ));
    }
    Ok(until)
}

/// Refuses changes to a revoked key (only delete remains).
pub fn not_revoked(row: &KeyRow) -> Result<(), AppError> {
    if row.revoked_at.is_some() {
        return Err(AppError::Conflict("This key is revoked; it can only be deleted.".into()));
    }
    Ok(())
}
