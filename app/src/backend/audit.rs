//! The append-only audit trail. Entries are written in the same transaction
//! as the change they describe.

use super::db;
use sqlx::AnyConnection;

/// One audit entry about to be written.
pub struct AuditEntry<'a> {
    pub org_id: &'a str,
    pub actor_id: Option<&'a str>,
    pub actor_email: Option<&'a str>,
    /// e.g. `member.invited`, `member.role_changed`.
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<&'a str>,
    pub target_label: Option<&'a str>,
    /// Before/after of changed fields, as JSON.
    pub changes: Option<serde_json::Value>,
    pub client_ip: Option<&'a str>,
}

/// Appends `entry` to the audit log.
pub async fn record(conn: &mut AnyConnection, entry: AuditEntry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (id, org_id, at_ms, actor_id, actor_email, action, target_type, \
         target_id, target_label, changes, client_ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(db::new_ordered_id())
    .bind(entry.org_id)
    .bind(db::now_ms())
    .bind(entry.actor_id)
    .bind(entry.actor_email)
    .bind(entry.action)
    .bind(entry.target_type)
    .bind(entry.target_id)
    .bind(entry.target_label)
    .bind(entry.changes.map(|c| c.to_string()))
    .bind(entry.client_ip)
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends an entry for a change `actor` made to `target` (type, id, label)
/// in the request being served, with the client's address.
pub async fn record_change(
    conn: &mut AnyConnection,
    state: &super::AppState,
    org_id: &str,
    actor: &super::session::SessionUser,
    action: &'static str,
    target: (&'static str, &str, &str),
    changes: Option<serde_json::Value>,
) -> Result<(), crate::AppError> {
    let client_ip = super::request::client_ip(state);
    let (target_type, target_id, target_label) = target;
    let entry = AuditEntry {
        org_id,
        actor_id: Some(&actor.id),
        actor_email: Some(&actor.email),
        action,
        target_type,
        target_id: Some(target_id),
        target_label: Some(target_label),
        changes,
        client_ip: client_ip.as_deref(),
    };
    record(conn, entry).await?;
    Ok(())
}
