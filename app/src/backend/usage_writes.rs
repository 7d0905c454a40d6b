//! Writing what verification recorded, in batches (DESIGN.md §5.3): per-key
//! counts and last use, counts per hour and outcome, and request-log rows.
//! Each table is written with one statement and one JSON parameter per
//! batch (the log in transactions of a few thousand rows); retention
//! deletes old rows.

use super::db::{self, Db, Engine};

/// Request-log rows per INSERT (one JSON parameter each; see
/// [`json_rows`]).
/// Binding values one by one was the first design: SQLite looks up each
/// numbered parameter by a linear scan, so 500-row statements spent a third
/// of the server's time binding, and small ones still most of the flush.
const ROWS_PER_INSERT: usize = 2000;

/// Request-log ids that sort by time (they break ties between calls of one
/// millisecond): the milliseconds, a random tag per flush (ids from several
/// instances never clash), a counter. One per flush, across its chunks.
pub struct LogIds {
    tag: u32,
    counter: u32,
}

impl Default for LogIds {
    fn default() -> Self {
        Self::new()
    }
}

impl LogIds {
    pub fn new() -> Self {
        LogIds { tag: rand::random(), counter: 0 }
    }

    fn next(&mut self, at_ms: i64) -> String {
        let mut id = String::with_capacity(29);
        self.next_into(at_ms, &mut id);
        id
    }

    /// Writes the next id over `id` (a buffer kept between rows).
    pub(super) fn next_into(&mut self, at_ms: i64, id: &mut String) {
        use std::fmt::Write;
        self.counter = self.counter.wrapping_add(1);
        id.clear();
        let _ = write!(id, "{at_ms:013}{:08x}{:08x}", self.tag, self.counter);
    }
}

/// The rows of a JSON array of arrays, bound as one parameter, as a
/// subquery with `columns` (name, SQL type): each engine parses the JSON
/// itself, so a batch of thousands of rows is one statement with one
/// parameter instead of thousands of bound values.
fn json_rows(postgres: bool, columns: &[(&str, &str)]) -> String {
    let fields: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| {
            if postgres {
                format!("(e->>{i})::{ty} AS {name}")
            } else {
                format!("value->>{i} AS {name}")
            }
        })
        .collect();
    let source = if postgres { "json_array_elements($1::json) AS e" } else { "json_each($1)" };
    format!("SELECT {} FROM {source}", fields.join(", "))
}

/// One verification's request-log row.
#[derive(Debug)]
pub struct LogRow<'a> {
    pub org_id: &'a str,
    pub key_id: &'a str,
    pub at_ms: i64,
    pub code: &'a str,
    pub path: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Writes one batch of counts in one transaction: `usage` (key id,
/// requests, last use in Unix seconds) and `outcomes` (key id, hour, code,
/// count, unique within the batch).
pub async fn write_counts(
    db: &Db,
    usage: &[(&str, i64, i64)],
    outcomes: &[(&str, i64, &str, i64)],
) -> Result<(), sqlx::Error> {
    let pg = Engine::of(db) == Engine::Postgres;
    let mut tx = db::begin(db).await?;

    // Counts and last use per key; a deleted key simply matches no row.
    let rows = json_rows(pg, &[("id", "text"), ("n", "bigint"), ("t", "bigint")]);
    sqlx::query(&format!(
        "UPDATE api_keys SET request_count = request_count + j.n, \
         last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < j.t THEN j.t ELSE last_used_at END \
         FROM ({rows}) AS j WHERE api_keys.id = j.id"
    ))
    .bind(serde_json::to_string(usage).unwrap_or_default())
    .execute(&mut *tx)
    .await?;

    // Counts per key, hour and outcome (unique within a batch).
    let rows =
        json_rows(pg, &[("key_id", "text"), ("hour", "bigint"), ("code", "text"), ("n", "bigint")]);
    sqlx::query(&format!(
        "INSERT INTO key_usage (key_id, hour, code, count) \
         SELECT key_id, hour, code, n FROM ({rows}) AS j WHERE true \
         ON CONFLICT (key_id, hour, code) DO UPDATE SET count = key_usage.count + excluded.count"
    ))
    .bind(serde_json::to_string(outcomes).unwrap_or_default())
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Writes request-log rows in one transaction ([`ROWS_PER_INSERT`] to a
/// statement; the caller chooses how many to a transaction) and returns
/// how many the database refused for their content (dropped). Ids follow the order of
/// `log` (they break ties between calls of one millisecond, newest last);
/// rows go in the per-key index's order, so each key's index pages are
/// visited once per chunk, not once per row.
pub async fn write_log_chunk(
    db: &Db,
    log: &[LogRow<'_>],
    ids: &mut LogIds,
) -> Result<usize, sqlx::Error> {
    let mut rows: Vec<(String, &LogRow)> =
        log.iter().map(|hit| (ids.next(hit.at_ms), hit)).collect();
    rows.sort_unstable_by(|(_, a), (_, b)| (a.key_id, a.at_ms).cmp(&(b.key_id, b.at_ms)));
    insert_log(db, &rows).await
}

/// Inserts `rows` in one transaction; returns how many the database
/// refused for their content (dropped).
async fn insert_log(db: &Db, rows: &[(String, &LogRow<'_>)]) -> Result<usize, sqlx::Error> {
    let pg = Engine::of(db) == Engine::Postgres;
    let columns = json_rows(
        pg,
        &[
            ("id", "text"),
            ("org_id", "text"),
            ("key_id", "text"),
            ("at_ms", "bigint"),
            ("code", "text"),
            ("path", "text"),
            ("ip", "text"),
            ("user_agent", "text"),
        ],
    );
    let insert = format!(
        "INSERT INTO request_log (id, org_id, key_id, at_ms, code, path, ip, user_agent) \
         SELECT id, org_id, key_id, at_ms, code, path, ip, user_agent FROM ({columns}) AS j"
    );
    let mut tx = db::begin(db).await?;
    // Each statement under a savepoint: a part the database refuses is
    // rolled back alone and split until the refused rows stand alone.
    let mut rejected = 0;
    let mut todo: Vec<_> = rows.chunks(ROWS_PER_INSERT).rev().collect();
    while let Some(part) = todo.pop() {
        let entries: Vec<_> = part
            .iter()
            .map(|(id, hit)| {
                (id, hit.org_id, hit.key_id, hit.at_ms, hit.code, hit.path, hit.ip, hit.user_agent)
            })
            .collect();
        let mut savepoint = sqlx::Acquire::begin(&mut *tx).await?;
        let done = sqlx::query(&insert)
            .bind(serde_json::to_string(&entries).unwrap_or_default())
            .execute(&mut *savepoint)
            .await;
        match done {
            Ok(_) => savepoint.commit().await?,
            // Only an error about a row's content splits the part; anything
            // else (disk full, a timeout) fails it, and it is kept.
            Err(sqlx::Error::Database(e)) if refuses_content(e.as_ref()) => {
                savepoint.rollback().await?;
                if part.len() == 1 {
                    tracing::warn!(error = %e, "request-log entry refused by the database; dropped");
                    rejected += 1;
                } else {
                    let (a, b) = part.split_at(part.len() / 2);
                    todo.extend([b, a]);
                }
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit().await?;
    Ok(rejected)
}

/// Whether the database refused a row for what it holds: invalid data
/// (SQLSTATE class 22, e.g. a NUL in text on PostgreSQL) or a constraint.
fn refuses_content(e: &dyn sqlx::error::DatabaseError) -> bool {
    !matches!(e.kind(), sqlx::error::ErrorKind::Other)
        || e.code().is_some_and(|c| c.starts_with("22"))
}

/// Request-log rows deleted per statement: purging a busy instance's day
/// is many short deletes, each through the (org, time) index, never one
/// that holds the database for minutes.
pub const PURGE_CHUNK: u32 = 5000;

/// Deletes request-log entries and hourly counts older than `days` days, a
/// chunk at a time with a pause between chunks (so the usage writer gets
/// its turn); returns how many log entries went.
pub async fn purge_older_than(db: &Db, days: u32) -> Result<u64, sqlx::Error> {
    let cutoff_ms = db::now_ms() - i64::from(days) * 86_400_000;
    let chunk = match db::Engine::of(db) {
        db::Engine::Sqlite => format!(
            "DELETE FROM request_log WHERE rowid IN (SELECT rowid FROM request_log \
             WHERE org_id = $1 AND at_ms < $2 LIMIT {PURGE_CHUNK})"
        ),
        db::Engine::Postgres => format!(
            "DELETE FROM request_log WHERE ctid = ANY(ARRAY(SELECT ctid FROM request_log \
             WHERE org_id = $1 AND at_ms < $2 LIMIT {PURGE_CHUNK}))"
        ),
    };
    let orgs: Vec<(String,)> = sqlx::query_as("SELECT id FROM orgs").fetch_all(db).await?;
    let mut deleted = 0;
    for (org_id,) in orgs {
        loop {
            let done = sqlx::query(&chunk).bind(&org_id).bind(cutoff_ms).execute(db).await?;
            deleted += done.rows_affected();
            if done.rows_affected() < u64::from(PURGE_CHUNK) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    sqlx::query("DELETE FROM key_usage WHERE hour < $1")
        .bind(cutoff_ms / 1000 - 3600)
        .execute(db)
        .await?;
    Ok(deleted)
}
