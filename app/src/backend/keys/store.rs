//! API key storage: the rows and the SQL. Only the SHA-256 of a token and
//! its display prefix are written; the plain token never reaches the
//! database. Changes go through [`super::service`], not straight here.

use crate::backend::db::{self, Db, Filter};
use crate::domain::model::UsageView;
use crate::domain::{
    ApiToken, CustomerId, Environment, IpAllowlist, KeyHints, KeyMeta, KeyOptions, KeyQuery,
    KeySort, KeyStatus, KeyView, Policies, RateLimit, Refill, STALE_AFTER_DAYS, TokenHash,
    UnixTime, UsageLimit,
};
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
    pub ip_allowlist: Option<String>,
    pub customer: Option<String>,
    pub meta: Option<String>,
    pub usage_limit: Option<i64>,
    pub usage_refill: String,
    pub usage_remaining: Option<i64>,
    pub usage_period: i64,
    pub disabled_by_policy_at: Option<i64>,
    pub enabled_at: Option<i64>,
}

const COLUMNS: &str = "k.id, k.org_id, k.name, k.environment, k.key_type, k.permissions, k.start, \
    k.expires_at, k.rate_limit, k.rate_window_secs, k.disabled, k.revoked_at, k.created_at, \
    u.email AS created_by_email, k.rotated_at, k.previous_expires_at, k.last_used_at, k.request_count, \
    k.ip_allowlist, k.customer, k.meta, k.usage_limit, k.usage_refill, k.usage_remaining, k.usage_period, \
    k.disabled_by_policy_at, k.enabled_at";
const FROM: &str = "api_keys k LEFT JOIN users u ON u.id = k.created_by";

impl KeyRow {
    pub fn status(&self, now: UnixTime) -> KeyStatus {
        KeyStatus::of(self.revoked_at, self.disabled != 0, self.expires_at, now)
    }

    pub fn permission_list(&self) -> Vec<String> {
        serde_json::from_str(&self.permissions).unwrap_or_default()
    }

    pub fn rate(&self) -> RateLimit {
        RateLimit { limit: self.rate_limit as u32, window_secs: self.rate_window_secs as u32 }
    }

    /// Allowed IPs, customer, metadata and usage limit as stored.
    pub fn options(&self) -> KeyOptions {
        KeyOptions {
            ip_allowlist: IpAllowlist::from_stored(self.ip_allowlist.as_deref()),
            customer: self.customer.as_deref().and_then(|c| CustomerId::parse(c).ok().flatten()),
            meta: self.meta.clone().map(KeyMeta::from_stored),
            usage_limit: self.usage_limit.map(|limit| UsageLimit {
                limit,
                refill: Refill::parse(&self.usage_refill).unwrap_or_default(),
            }),
        }
    }

    /// The usage limit's balance at `now`: a refill due since the last
    /// lease counts as done.
    pub fn usage(&self, now: UnixTime) -> Option<UsageView> {
        let UsageLimit { limit, refill } = self.options().usage_limit?;
        let refilled = refill != Refill::None && refill.period_start(now) > self.usage_period;
        let remaining = if refilled { limit } else { self.usage_remaining.unwrap_or(limit) };
        Some(UsageView {
            limit,
            refill,
            remaining: remaining.max(0),
            refills_at: refill.next_after(now),
        })
    }

    /// The view the UI gets, with hints computed for `now` under the org's
    /// `policies` (`rotation_days`: the operator's default period).
    pub fn view(
        &self,
        now: UnixTime,
        rotation_days: i64,
        policies: &Policies,
    ) -> Result<KeyView, AppError> {
        let rotation_days = policies.rotation_days_or(rotation_days);
        let environment: Environment = self.environment.parse().map_err(|_| {
            AppError::internal(format_args!("bad environment {:?}", self.environment))
        })?;
        let status = self.status(now);
        let live = status == KeyStatus::Active || status == KeyStatus::Disabled;
        let idle_since =
            self.last_used_at.unwrap_or(self.created_at).max(self.enabled_at.unwrap_or(0));
        let options = self.options();
        Ok(KeyView {
            ip_allowlist: options.ip_allowlist.entries(),
            customer: self.customer.clone(),
            meta: options.meta.as_ref().map(KeyMeta::pretty),
            usage: self.usage(now),
            id: self.id.clone(),
            name: self.name.clone(),
            start: self.start.clone(),
            environment,
            key_type: self.key_type.clone(),
            permissions: self.permission_list(),
            status,
            rate_limit: Some(self.rate()),
            created_at: self.created_at,
            created_by: self.created_by_email.clone(),
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            request_count: self.request_count,
            previous_expires_at: self
                .previous_expires_at
                .filter(|t| *t > now && status != KeyStatus::Revoked),
            hints: KeyHints {
                stale: live && now - idle_since >= STALE_AFTER_DAYS * 86_400,
                rotation_due: live
                    && now - self.rotated_at.unwrap_or(self.created_at) >= rotation_days * 86_400,
                exceeds_policy: live && policies.exceeded_by(now, self.expires_at),
                disabled_by_policy: status == KeyStatus::Disabled
                    && self.disabled_by_policy_at.is_some(),
                disables_at: (status == KeyStatus::Active)
                    .then(|| policies.disables_soon(idle_since, now))
                    .flatten(),
            },
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
    pub options: &'a KeyOptions,
    /// The user who made it (`None` when made through the REST API).
    pub created_by: Option<&'a str>,
}

/// The clash message for a taken name.
pub fn name_taken(name: &str) -> AppError {
    AppError::Conflict(format!(
        "A key named \u{201c}{name}\u{201d} already exists. Choose another name."
    ))
}

/// Inserts a key; returns its id.
pub async fn insert(conn: &mut AnyConnection, key: NewKey<'_>) -> Result<String, AppError> {
    let id = db::new_id();
    let inserted = sqlx::query(
        "INSERT INTO api_keys (id, org_id, name, environment, key_type, permissions, token_hash, start, \
         expires_at, rate_limit, rate_window_secs, disabled, created_at, created_by, ip_allowlist, \
         customer, meta, usage_limit, usage_refill, usage_remaining, usage_period) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $14, $15, $16, $17, $18, $17, $19)",
    )
    .bind(&id)
    .bind(key.org_id)
    .bind(key.name)
    .bind(key.environment.as_str())
    .bind(key.key_type)
    .bind(serde_json::to_string(key.permissions).expect("strings serialise"))
    .bind(key.token.hashed().hex())
    .bind(key.token.start())
    .bind(key.expires_at)
    .bind(i64::from(key.rate_limit.limit))
    .bind(i64::from(key.rate_limit.window_secs))
    .bind(db::now())
    .bind(key.created_by);
    let inserted = bind_options(inserted, key.options, db::now()).execute(conn).await;
    db::on_unique(inserted, || name_taken(key.name))?;
    Ok(id)
}

/// The org's key `id`, or `None` (also for another org's key).
pub async fn find(
    conn: &mut AnyConnection,
    org_id: &str,
    id: &str,
) -> Result<Option<KeyRow>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE k.org_id = $1 AND k.id = $2");
    Ok(sqlx::query_as(&sql).bind(org_id).bind(id).fetch_optional(conn).await?)
}

/// The SQL condition for a status, consistent with [`KeyStatus::of`]; `?`
/// stands for "now", when the condition needs it.
fn status_condition(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Revoked => "k.revoked_at IS NOT NULL",
        KeyStatus::Expired => "k.revoked_at IS NULL AND k.expires_at <= ?",
        KeyStatus::Disabled => {
            "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?) AND k.disabled = 1"
        }
        KeyStatus::Active => {
            "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?) AND k.disabled = 0"
        }
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_pattern(search: &str) -> String {
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
    let mut filter = Filter::default().text("k.org_id = ?", org_id);
    if let Some(env) = query.environment {
        filter = filter.text("k.environment = ?", env.as_str());
    }
    if let Some(status) = query.status {
        filter = match status_condition(status) {
            c if c.contains('?') => filter.int(c, now),
            c => filter.plain(c),
        };
    }
    let search = query.search.trim();
    if !search.is_empty() {
        filter = filter.text("LOWER(k.name) LIKE ? ESCAPE '\\'", like_pattern(search));
    }
    let customer = query.customer.trim();
    if !customer.is_empty() {
        filter = filter.text("k.customer = ?", customer);
    }
    let filter_sql = filter.sql();
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
        "SELECT {COLUMNS} FROM {FROM} WHERE {filter_sql} ORDER BY {order} LIMIT {PER_PAGE} OFFSET {offset}"
    );
    let count_sql = format!("SELECT COUNT(*) FROM api_keys k WHERE {filter_sql}");
    let rows: Vec<KeyRow> = filter.bind(sqlx::query_as(&rows_sql)).fetch_all(db).await?;
    let (total,): (i64,) = filter.bind(sqlx::query_as(&count_sql)).fetch_one(db).await?;
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

/// A key's changeable fields, as an edit leaves them.
pub struct Editable<'a> {
    pub name: &'a str,
    pub key_type: &'a str,
    pub permissions: &'a [String],
    pub rate_limit: RateLimit,
    pub expires_at: Option<UnixTime>,
    pub options: &'a KeyOptions,
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds allowed IPs, customer, metadata, usage limit, refill and the
/// refill period (in that order; the limit is also the new balance).
fn bind_options<'q>(query: AnyQuery<'q>, options: &KeyOptions, now: UnixTime) -> AnyQuery<'q> {
    let usage = options.usage_limit;
    query
        .bind(options.ip_allowlist.to_stored())
        .bind(options.customer.as_ref().map(|c| c.as_str().to_string()))
        .bind(options.meta.as_ref().map(|m| m.as_str().to_string()))
        .bind(usage.map(|u| u.limit))
        .bind(usage.map_or(Refill::None, |u| u.refill).as_str())
        .bind(usage.map_or(0, |u| u.refill.period_start(now)))
}

/// Edits a key's fields. With `reset_usage`, the usage balance starts over
/// at the (new) limit and leases handed out before are void.
pub async fn update(
    conn: &mut AnyConnection,
    id: &str,
    key: &Editable<'_>,
    reset_usage: bool,
) -> Result<(), AppError> {
    let query = sqlx::query(
        "UPDATE api_keys SET name = $1, key_type = $2, permissions = $3, rate_limit = $4, \
         rate_window_secs = $5, expires_at = $6, ip_allowlist = $8, customer = $9, meta = $10, \
         usage_limit = $11, usage_refill = $12, \
         usage_remaining = CASE WHEN $14 = 1 THEN $11 ELSE usage_remaining END, \
         usage_period = CASE WHEN $14 = 1 THEN $13 ELSE usage_period END, \
         usage_epoch = usage_epoch + $14 WHERE id = $7",
    )
    .bind(key.name)
    .bind(key.key_type)
    .bind(serde_json::to_string(key.permissions).expect("strings serialise"))
    .bind(i64::from(key.rate_limit.limit))
    .bind(i64::from(key.rate_limit.window_secs))
    .bind(key.expires_at)
    .bind(id);
    let updated = bind_options(query, key.options, db::now())
        .bind(i64::from(reset_usage))
        .execute(conn)
        .await;
    db::on_unique(updated, || name_taken(key.name))?;
    Ok(())
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
    .bind(token.hashed().hex())
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
    sqlx::query(
        "UPDATE api_keys SET disabled = $1, disabled_by_policy_at = NULL, \
         enabled_at = CASE WHEN $1 = 0 THEN $3 ELSE enabled_at END WHERE id = $2",
    )
    .bind(i64::from(disabled))
    .bind(id)
    .bind(db::now())
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
    sqlx::query("DELETE FROM api_keys WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn search_patterns_escape_wildcards() {
        assert_eq!(like_pattern(" Web SDK "), "%web sdk%");
        assert_eq!(like_pattern("100%_off\\"), "%100\\%\\_off\\\\%");
    }
}

/// What verification needs of the key stored under `hash` (its current or,
/// during a grace period, its previous secret): the key and its org.
#[derive(Debug, sqlx::FromRow)]
pub struct VerificationRow {
    #[sqlx(flatten)]
    pub key: KeyRow,
    pub org_slug: String,
    pub org_suspended_at: Option<i64>,
    /// Whether `hash` is the key's current secret (not the previous one).
    pub is_current: i64,
    pub usage_epoch: i64,
}

/// The key stored under `hash`, for verification.
pub async fn for_verification(
    db: &Db,
    hash: &TokenHash,
) -> Result<Option<VerificationRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS}, o.slug AS org_slug, o.suspended_at AS org_suspended_at, \
         CASE WHEN k.token_hash = $1 THEN 1 ELSE 0 END AS is_current, k.usage_epoch \
         FROM {FROM} JOIN orgs o ON o.id = k.org_id \
         WHERE k.token_hash = $1 OR k.previous_token_hash = $1"
    ))
    .bind(hash.hex())
    .fetch_optional(db)
    .await
}
