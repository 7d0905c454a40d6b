//! An organisation's policies: reading and saving them (audited in words),
//! and the job that disables keys left unused past the org's period.

use super::audit::{self, AuditEntry};
use super::db::{self, Db};
use super::keys::commit_change;
use crate::domain::{Policies, UnixTime, days_label};
use crate::error::AppError;
use sqlx::AnyConnection;

/// The policy columns of an org.
#[derive(sqlx::FromRow)]
struct PolicyRow {
    max_key_lifetime_days: Option<i64>,
    rotation_days: Option<i64>,
    disable_unused_after_days: Option<i64>,
    require_two_factor: i64,
}

/// The policies of org `org_id`.
pub async fn of_org(conn: &mut AnyConnection, org_id: &str) -> Result<Policies, AppError> {
    let row: Option<PolicyRow> = sqlx::query_as(
        "SELECT max_key_lifetime_days, rotation_days, disable_unused_after_days, require_two_factor \
         FROM orgs WHERE id = $1",
    )
    .bind(org_id)
    .fetch_optional(conn)
    .await?;
    let row = row.ok_or(AppError::NotFound)?;
    Ok(Policies {
        max_key_lifetime_days: row.max_key_lifetime_days,
        rotation_days: row.rotation_days,
        disable_unused_after_days: row.disable_unused_after_days,
        require_two_factor: row.require_two_factor != 0,
    })
}

/// [`of_org`] on a pooled connection.
pub async fn of_org_in(db: &Db, org_id: &str) -> Result<Policies, AppError> {
    of_org(&mut *db.acquire().await?, org_id).await
}

/// Who changes the org's settings, and from where (for the audit entry).
pub struct ChangedBy<'a> {
    pub user_id: &'a str,
    pub email: &'a str,
    pub ip: Option<&'a str>,
}

/// Saves org `org_id`'s policies; the audit entry names each change in
/// words. Nothing is written when nothing changed.
pub async fn save(
    db: &Db,
    org_id: &str,
    org_name: &str,
    by: ChangedBy<'_>,
    new: Policies,
) -> Result<(), AppError> {
    let mut tx = db::begin(db).await?;
    let old = of_org(&mut tx, org_id).await?;
    let on_off = |b: bool| if b { "On" } else { "Off" }.to_string();
    let fields = [
        (
            "max_key_lifetime",
            days_label(old.max_key_lifetime_days, "None"),
            days_label(new.max_key_lifetime_days, "None"),
        ),
        (
            "rotation_period",
            days_label(old.rotation_days, "Operator default"),
            days_label(new.rotation_days, "Operator default"),
        ),
        (
            "disable_unused_after",
            days_label(old.disable_unused_after_days, "Never"),
            days_label(new.disable_unused_after_days, "Never"),
        ),
        ("require_two_factor", on_off(old.require_two_factor), on_off(new.require_two_factor)),
    ];
    let Some(changes) = audit::diff(fields) else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE orgs SET max_key_lifetime_days = $1, rotation_days = $2, \
         disable_unused_after_days = $3, require_two_factor = $4 WHERE id = $5",
    )
    .bind(new.max_key_lifetime_days)
    .bind(new.rotation_days)
    .bind(new.disable_unused_after_days)
    .bind(i64::from(new.require_two_factor))
    .bind(org_id)
    .execute(&mut *tx)
    .await?;
    let entry = AuditEntry {
        org_id,
        actor_id: Some(by.user_id),
        actor_email: Some(by.email),
        action: "org.policies_changed",
        target_type: "org",
        target_id: Some(org_id),
        target_label: Some(org_name),
        changes: Some(changes),
        client_ip: by.ip,
    };
    audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Disables every key unused for its org's period at `now` (never used:
/// since it was made), each in its own transaction with an audit entry by
/// `policy`, and tells every instance at once. Returns how many.
pub async fn disable_unused_keys(state: &super::AppState, now: UnixTime) -> Result<u64, AppError> {
    let due: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT k.id, k.org_id, k.name, o.disable_unused_after_days FROM api_keys k \
         JOIN orgs o ON o.id = k.org_id \
         WHERE o.disable_unused_after_days IS NOT NULL AND k.revoked_at IS NULL \
         AND k.disabled = 0 AND (k.expires_at IS NULL OR k.expires_at > $1) \
         AND COALESCE(k.last_used_at, k.created_at) <= $1 - o.disable_unused_after_days * 86400 \
         AND COALESCE(k.enabled_at, 0) <= $1 - o.disable_unused_after_days * 86400",
    )
    .bind(now)
    .fetch_all(&state.db)
    .await?;
    let mut disabled = 0;
    for (id, org_id, name, days) in due {
        let mut tx = db::begin(&state.db).await?;
        // Idle still: a key used, or enabled again, since the list above
        // was read keeps working.
        let done = sqlx::query(
            "UPDATE api_keys SET disabled = 1, disabled_by_policy_at = $1 \
             WHERE id = $2 AND disabled = 0 AND revoked_at IS NULL \
             AND COALESCE(last_used_at, created_at) <= $1 - $3 * 86400 \
             AND COALESCE(enabled_at, 0) <= $1 - $3 * 86400",
        )
        .bind(now)
        .bind(&id)
        .bind(days)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            continue;
        }
        let entry = AuditEntry {
            org_id: &org_id,
            actor_id: None,
            actor_email: Some("policy"),
            action: "key.disabled",
            target_type: "key",
            target_id: Some(&id),
            target_label: Some(&name),
            changes: Some(serde_json::json!({ "reason": format!("Unused for {days} days") })),
            client_ip: None,
        };
        audit::record(&mut tx, entry).await?;
        commit_change(tx, state, &id).await?;
        disabled += 1;
    }
    Ok(disabled)
}
