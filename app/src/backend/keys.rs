//! API key storage. Only the SHA-256 of a token and its display prefix are
//! written; the plain token never reaches the database.

use super::db::{self, Db};
use super::secret::sha256_hex;
use crate::api::key_types::{KeyQuery, KeySort, KeyView, STALE_AFTER_DAYS};
use crate::domain::{ApiToken, Environment, KeyStatus, RateLimit, UnixTime};
use crate::error::AppError;
use sqlx::AnyConnection;

/// Keys per page of the list.
pub const PER_PAGE: u32 = 25;

/// A key row as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct KeyRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub environment: String,
    pub key_type: String,
    pub permissions: String,
    pub start: String,
    pub expires_at: Option<i64>,
    pub rate_limit: i64,
    pub rate_window_secs: i64,
    pub disabled: i64,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
    pub created_by_email: Option<String>,
    pub rotated_at: Option<i64>,
    pub previous_expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub request_count: i64,
}

const COLUMNS: &str = "k.id, k.org_id, k.name, k.environment, k.key_type, k.permissions, k.start, \
    k.expires_at, k.rate_limit, k.rate_window_secs, k.disabled, k.revoked_at, k.created_at, \
    u.email AS created_by_email, k.rotated_at, k.previous_expires_at, k.last_used_at, k.request_count";
const FROM: &str = "api_keys k LEFT JOIN users u ON u.id = k.created_by";

impl KeyRow {
    pub fn status(&self, now: UnixTime) -> KeyStatus {
        KeyStatus::of(self.revoked_at, self.disabled != 0, self.expires_at, now)
    }

    pub fn permission_list(&self) -> Vec<String> {
        serde_json::from_str(&self.permissions).unwrap_or_default()
    }

    /// The view the UI gets, with hints computed for `now`.
    pub fn view(&self, now: UnixTime, rotation_days: i64) -> Result<KeyView, AppError> {
        let environment: Environment = self.environment.parse().map_err(|_| {
            AppError::internal(format_args!("bad environment {:?}", self.environment))
        })?;
        let status = self.status(now);
        let live = status == KeyStatus::Active || status == KeyStatus::Disabled;
        let idle_since = self.last_used_at.unwrap_or(self.created_at);
        Ok(KeyView {
            id: self.id.clone(),
            name: self.name.clone(),
            start: self.start.clone(),
            environment,
            key_type: self.key_type.clone(),
            permissions: self.permission_list(),
            status,
            rate_limit: RateLimit {
                limit: self.rate_limit as u32,
                window_secs: self.rate_window_secs as u32,
            },
            created_at: self.created_at,
            created_by: self.created_by_email.clone(),
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            request_count: self.request_count,
            previous_expires_at: self
                .previous_expires_at
                .filter(|t| *t > now && status != KeyStatus::Revoked),
            stale: live && now - idle_since >= STALE_AFTER_DAYS * 86_400,
            rotation_due: live
                && now - self.rotated_at.unwrap_or(self.created_at) >= rotation_days * 86_400,
        })
    }
}

/// What a new key is made of.
pub struct NewKey<'a> {
    pub org_id: &'a str,
    pub name: &'a str,
    pub environment: Environment,
    pub key_type: &'a str,
    pub permissions: &'a [String],
    pub token: &'a ApiToken,
    pub expires_at: Option<UnixTime>,
    pub rate_limit: RateLimit,
    /// The user who made it (`None` when made through the REST API).
    pub created_by: Option<&'a str>,
}

/// The clash message for a taken name.
pub fn name_taken(name: &str) -> AppError {
    AppError::Conflict(format!(
        "A key named \u{201c}{name}\u{201d} already exists. Choose another name."
    ))
}

/// The PostgreSQL channel on which every instance hears of key changes.
pub const CHANGE_CHANNEL: &str = "keywarden_key_changes";

/// On PostgreSQL, queues a notice of key `id`'s change on [`CHANGE_CHANNEL`]
/// inside the transaction, so other instances hear of it exactly when it
/// commits (and never of a change that rolled back). The payload is
/// `"<instance> <key id>"` ([`parse_notice`]). SQLite serves a single
/// instance and needs none.
pub async fn notify_change(
    conn: &mut AnyConnection,
    instance: &str,
    id: &str,
) -> Result<(), AppError> {
    if conn.backend_name() == "PostgreSQL" {
        // Counted so the Any driver never sees pg_notify's `void` column.
        sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS sent")
            .bind(CHANGE_CHANNEL)
            .bind(format!("{instance} {id}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Queues a notice that every key of org `org_id` changed (a suspension
/// or its end), like [`notify_change`]: one notice for the whole org.
pub async fn notify_org_change(
    conn: &mut AnyConnection,
    instance: &str,
    org_id: &str,
) -> Result<(), AppError> {
    notify_change(conn, instance, &format!("{ORG_NOTICE}{org_id}")).await
}

/// Marks an org-wide notice's subject (key ids never start with it).
const ORG_NOTICE: &str = "org:";

/// What a change notice is about.
#[derive(Debug, PartialEq, Eq)]
pub enum Changed<'a> {
    Key(&'a str),
    Org(&'a str),
}

/// The sending instance and the subject of a change notice.
pub fn parse_notice(payload: &str) -> (Option<&str>, Changed<'_>) {
    let (instance, subject) = match payload.split_once(' ') {
        Some((instance, subject)) => (Some(instance), subject),
        None => (None, payload),
    };
    let changed = match subject.strip_prefix(ORG_NOTICE) {
        Some(org_id) => Changed::Org(org_id),
        None => Changed::Key(subject),
    };
    (instance, changed)
}

/// Commits a change to key `id` and tells this instance's verification
/// cache (other instances hear of it through [`notify_change`]), so the next
/// request sees it. Every key change ends here.
pub async fn commit_change(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    state: &super::AppState,
    id: &str,
) -> Result<(), AppError> {
    notify_change(&mut tx, &state.instance, id).await?;
    tx.commit().await?;
    state.key_changed(id);
    Ok(())
}

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
    let old_limit = RateLimit {
        limit: before.rate_limit as u32,
        window_secs: before.rate_window_secs as u32,
    };
    let fields = [
        ("name", before.name.clone().into(), name.into()),
        ("type", before.key_type.clone().into(), key_type.into()),
        (
            "permissions",
            before.permission_list().into(),
            permissions.to_vec().into(),
        ),
        (
            "rate_limit",
            old_limit.label().into(),
            rate_limit.label().into(),
        ),
        ("expires_at", before.expires_at.into(), expires_at.into()),
    ];
    let changes: serde_json::Map<String, serde_json::Value> = fields
        .into_iter()
        .filter(|(_, old, new): &(&str, serde_json::Value, serde_json::Value)| old != new)
        .map(|(field, old, new)| {
            (
                field.to_string(),
                serde_json::json!({ "before": old, "after": new }),
            )
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
        return Err(AppError::Conflict(
            "This key is revoked; it can only be deleted.".into(),
        ));
    }
    Ok(())
}

/// Inserts a key; returns its id.
pub async fn insert(conn: &mut AnyConnection, key: NewKey<'_>) -> Result<String, AppError> {
    let id = db::new_id();
    let inserted = sqlx::query(
        "INSERT INTO api_keys (id, org_id, name, environment, key_type, permissions, token_hash, start, \
         expires_at, rate_limit, rate_window_secs, disabled, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13)",
    )
    .bind(&id)
    .bind(key.org_id)
    .bind(key.name)
    .bind(key.environment.as_str())
    .bind(key.key_type)
    .bind(serde_json::to_string(key.permissions).expect("strings serialise"))
    .bind(sha256_hex(key.token.expose()))
    .bind(key.token.start())
    .bind(key.expires_at)
    .bind(i64::from(key.rate_limit.limit))
    .bind(i64::from(key.rate_limit.window_secs))
    .bind(db::now())
    .bind(key.created_by)
    .execute(conn)
    .await;
    match inserted {
        Ok(_) => Ok(id),
        Err(e) if super::users::is_unique_violation(&e) => Err(name_taken(key.name)),
        Err(e) => Err(e.into()),
    }
}

/// The org's key `id`, or `None` (also for another org's key).
pub async fn find(
    conn: &mut AnyConnection,
    org_id: &str,
    id: &str,
) -> Result<Option<KeyRow>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE k.org_id = $1 AND k.id = $2");
    Ok(sqlx::query_as(&sql)
        .bind(org_id)
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// The SQL condition for a status, consistent with [`KeyStatus::of`]; `$n`
/// is the placeholder bound to "now".
fn status_condition(status: KeyStatus, n: usize) -> String {
    let unexpired = format!("(k.expires_at IS NULL OR k.expires_at > ${n})");
    match status {
        KeyStatus::Revoked => "k.revoked_at IS NOT NULL".into(),
        KeyStatus::Expired => format!("k.revoked_at IS NULL AND k.expires_at <= ${n}"),
        KeyStatus::Disabled => format!("k.revoked_at IS NULL AND {unexpired} AND k.disabled = 1"),
        KeyStatus::Active => format!("k.revoked_at IS NULL AND {unexpired} AND k.disabled = 0"),
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(super) fn like_pattern(search: &str) -> String {
    let mut out = String::from("%");
    for c in search.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// One page of the org's keys matching `query`, and how many match in all.
pub async fn list(
    db: &Db,
    org_id: &str,
    query: &KeyQuery,
    now: UnixTime,
) -> Result<(Vec<KeyRow>, i64), AppError> {
    let mut conditions = vec!["k.org_id = $1".to_string()];
    let mut n = 2;
    // Placeholders are numbered in the order values are bound below.
    if query.environment.is_some() {
        conditions.push(format!("k.environment = ${n}"));
        n += 1;
    }
    if let Some(status) = query.status {
        conditions.push(status_condition(status, n));
        n += 1;
    }
    let search = query.search.trim();
    if !search.is_empty() {
        conditions.push(format!("LOWER(k.name) LIKE ${n} ESCAPE '\\'"));
    }
    let filter = conditions.join(" AND ");
    let order = match query.sort {
        KeySort::Created => "k.created_at DESC, k.id",
        // Never-used keys last on both engines (they order NULLs differently).
        KeySort::LastUsed => {
            "(CASE WHEN k.last_used_at IS NULL THEN 1 ELSE 0 END), k.last_used_at DESC, k.created_at DESC, k.id"
        }
    };
    let page = query.page.max(1);
    let offset = i64::from(page - 1) * i64::from(PER_PAGE);
    let rows_sql = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE {filter} ORDER BY {order} LIMIT {PER_PAGE} OFFSET {offset}"
    );
    let count_sql = format!("SELECT COUNT(*) FROM api_keys k WHERE {filter}");

    macro_rules! bind_all {
        ($q:expr) => {{
            let mut q = $q.bind(org_id);
            if let Some(env) = query.environment {
                q = q.bind(env.as_str());
            }
            if query.status.is_some() {
                q = q.bind(now);
            }
            if !search.is_empty() {
                q = q.bind(like_pattern(search));
            }
            q
        }};
    }
    let rows: Vec<KeyRow> = bind_all!(sqlx::query_as(&rows_sql)).fetch_all(db).await?;
    let (total,): (i64,) = bind_all!(sqlx::query_as(&count_sql)).fetch_one(db).await?;
    Ok((rows, total))
}

/// Whether the org has any key at all.
pub async fn org_has_keys(db: &Db, org_id: &str) -> Result<bool, AppError> {
    let found: Option<(String,)> =
        sqlx::query_as("SELECT id FROM api_keys WHERE org_id = $1 LIMIT 1")
            .bind(org_id)
            .fetch_optional(db)
            .await?;
    Ok(found.is_some())
}

/// Edits name, permissions, type, rate limit and expiry.
pub async fn update(
    conn: &mut AnyConnection,
    id: &str,
    name: &str,
    key_type: &str,
    permissions: &[String],
    rate_limit: RateLimit,
    expires_at: Option<UnixTime>,
) -> Result<(), AppError> {
    let updated = sqlx::query(
        "UPDATE api_keys SET name = $1, key_type = $2, permissions = $3, rate_limit = $4, \
         rate_window_secs = $5, expires_at = $6 WHERE id = $7",
    )
    .bind(name)
    .bind(key_type)
    .bind(serde_json::to_string(permissions).expect("strings serialise"))
    .bind(i64::from(rate_limit.limit))
    .bind(i64::from(rate_limit.window_secs))
    .bind(expires_at)
    .bind(id)
    .execute(conn)
    .await;
    match updated {
        Ok(_) => Ok(()),
        Err(e) if super::users::is_unique_violation(&e) => Err(name_taken(name)),
        Err(e) => Err(e.into()),
    }
}

/// Replaces the secret. With `grace_until`, the old hash keeps working until
/// then; without, it stops at once.
pub async fn rotate(
    conn: &mut AnyConnection,
    id: &str,
    token: &ApiToken,
    grace_until: Option<UnixTime>,
) -> Result<(), AppError> {
    let now = db::now();
    sqlx::query(
        "UPDATE api_keys SET previous_token_hash = CASE WHEN $1 IS NULL THEN NULL ELSE token_hash END, \
         previous_expires_at = $1, token_hash = $2, start = $3, rotated_at = $4 WHERE id = $5",
    )
    .bind(grace_until)
    .bind(sha256_hex(token.expose()))
    .bind(token.start())
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the disabled flag.
pub async fn set_disabled(
    conn: &mut AnyConnection,
    id: &str,
    disabled: bool,
) -> Result<(), AppError> {
    sqlx::query("UPDATE api_keys SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Revokes for good; the grace secret (if any) dies with it.
pub async fn revoke(conn: &mut AnyConnection, id: &str) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE api_keys SET revoked_at = $1, previous_token_hash = NULL, previous_expires_at = NULL \
         WHERE id = $2 AND revoked_at IS NULL",
    )
    .bind(db::now())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Erases the key; its history stays in the audit log.
pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM api_keys WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Changed, like_pattern, parse_notice};

    #[test]
    fn notices_name_their_sender_and_subject() {
        assert_eq!(
            parse_notice("inst1 key9"),
            (Some("inst1"), Changed::Key("key9"))
        );
        assert_eq!(parse_notice("key9"), (None, Changed::Key("key9")));
        assert_eq!(
            parse_notice("inst1 org:o7"),
            (Some("inst1"), Changed::Org("o7"))
        );
    }

    #[test]
    fn search_patterns_escape_wildcards() {
        assert_eq!(like_pattern(" Web SDK "), "%web sdk%");
        assert_eq!(like_pattern("100%_off\\"), "%100\\%\\_off\\\\%");
    }
}
