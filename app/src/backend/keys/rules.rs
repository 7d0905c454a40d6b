//! The rules of key changes that need no database: what an edit changed
//! (for the audit log), when a regenerated key's old secret stops, and
//! that a revoked key changes no more.

use super::store::KeyRow;
use crate::domain::{RateLimit, UnixTime};
use crate::error::AppError;

/// What an edit changed, as the audit log records it: `{field: {before,
/// after}}` for each field that differs, or `None` when nothing did.
pub fn edit_changes(
    before: &KeyRow,
    name: &str,
    key_type: &str,
    permissions: &[String],
    rate_limit: RateLimit,
    expires_at: Option<UnixTime>,
) -> Option<serde_json::Value> {
    let old_limit =
        RateLimit { limit: before.rate_limit as u32, window_secs: before.rate_window_secs as u32 };
    let fields = [
        ("name", before.name.clone().into(), name.into()),
        ("type", before.key_type.clone().into(), key_type.into()),
        ("permissions", before.permission_list().into(), permissions.to_vec().into()),
        ("rate_limit", old_limit.label().into(), rate_limit.label().into()),
        ("expires_at", before.expires_at.into(), expires_at.into()),
    ];
    let changes: serde_json::Map<String, serde_json::Value> = fields
        .into_iter()
        .filter(|(_, old, new): &(&str, serde_json::Value, serde_json::Value)| old != new)
        .map(|(field, old, new)| {
            (field.to_string(), serde_json::json!({ "before": old, "after": new }))
        })
        .collect();
    (!changes.is_empty()).then_some(serde_json::Value::Object(changes))
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
