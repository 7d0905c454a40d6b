//! The append-only audit trail. Entries are written in the same transaction
//! as the change they describe.

use super::db::{self, Db, Filter};
use crate::domain::AuditView;
use crate::error::AppError;
use sqlx::AnyConnection;

/// Audit entries per page of the log.
pub const PER_PAGE: u32 = 50;

const VIEW_COLUMNS: &str =
    "at_ms, actor_email AS actor, action, target_type, target_id, target_label, changes, client_ip";

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

/// What changed, as the audit log records it: `{field: {before, after}}`
/// for each `(field, before, after)` whose values differ, or `None` when
/// none does.
pub fn diff<V: Into<serde_json::Value>>(
    fields: impl IntoIterator<Item = (&'static str, V, V)>,
) -> Option<serde_json::Value> {
    let changes: serde_json::Map<String, serde_json::Value> = fields
        .into_iter()
        .map(|(field, before, after)| (field, before.into(), after.into()))
        .filter(|(_, before, after)| before != after)
        .map(|(field, before, after)| {
            (field.to_string(), serde_json::json!({ "before": before, "after": after }))
        })
        .collect();
    (!changes.is_empty()).then_some(serde_json::Value::Object(changes))
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

/// The latest 100 entries about key `key_id` of org `org_id`, newest first.
pub async fn key_history(db: &Db, org_id: &str, key_id: &str) -> Result<Vec<AuditView>, AppError> {
    let filter = Filter::default()
        .text("org_id = ?", org_id)
        .plain("target_type = 'key'")
        .text("target_id = ?", key_id);
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM audit_log WHERE {} ORDER BY at_ms DESC, id DESC LIMIT 100",
        filter.sql()
    );
    Ok(filter.bind(sqlx::query_as(&sql)).fetch_all(db).await?)
}

/// One page (from 1) of the org's log, newest first, optionally only one
/// action and one key's entries; with the total and every action present.
pub async fn page(
    db: &Db,
    org_id: &str,
    action: Option<&str>,
    key_id: Option<&str>,
    page: u32,
) -> Result<(Vec<AuditView>, i64, Vec<String>), AppError> {
    let mut filter = Filter::default().text("org_id = ?", org_id);
    if let Some(action) = action {
        filter = filter.text("action = ?", action);
    }
    if let Some(key_id) = key_id {
        filter = filter.plain("target_type = 'key'").text("target_id = ?", key_id);
    }
    let offset = i64::from(page.max(1) - 1) * i64::from(PER_PAGE);
    let rows_sql = format!(
        "SELECT {VIEW_COLUMNS} FROM audit_log WHERE {} ORDER BY at_ms DESC, id DESC LIMIT {PER_PAGE} OFFSET {offset}",
        filter.sql()
    );
    let count_sql = format!("SELECT COUNT(*) FROM audit_log WHERE {}", filter.sql());
    let entries: Vec<AuditView> = filter.bind(sqlx::query_as(&rows_sql)).fetch_all(db).await?;
    let (total,): (i64,) = filter.bind(sqlx::query_as(&count_sql)).fetch_one(db).await?;
    let actions: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT action FROM audit_log WHERE org_id = $1 ORDER BY action")
            .bind(org_id)
            .fetch_all(db)
            .await?;
    Ok((entries, total, actions.into_iter().map(|(a,)| a).collect()))
}
