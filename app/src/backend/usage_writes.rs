//! Writing what verification recorded, in batches (docs/design.md#hot-path): per-key
//! counts and last use, counts per hour and outcome, and request-log rows.
//! Each table is written with one statement and one JSON parameter per
//! batch (the log in transactions of a few thousand rows, into day
//! segments, see [`super::log_segments`]); retention drops old days.

use super::db::{self, Db, Engine};
use super::log_segments::{self, Day, KnownDays, Segment};
use std::sync::atomic::{AtomicU32, Ordering};

/// Request-log rows per INSERT (one JSON parameter each; see
/// [`json_rows`]).
/// Binding values one by one was the first design: SQLite looks up each
/// numbered parameter by a linear scan, so 500-row statements spent a third
/// of the server's time binding, and small ones still most of the flush.
const ROWS_PER_INSERT: usize = 2000;

/// Request-log ids that sort by time (they break ties between calls of one
/// millisecond): the milliseconds, a random tag (ids from several
/// instances never clash), a counter. One per process, so calls of one
/// millisecond written by different flushes (a batch held back, then the
/// calls since) keep the order they were written in.
pub struct LogIds {
    tag: u32,
    counter: AtomicU32,
}

impl Default for LogIds {
    fn default() -> Self {
        Self::new()
    }
}

impl LogIds {
    pub fn new() -> Self {
        LogIds { tag: rand::random(), counter: AtomicU32::new(0) }
    }

    fn next(&self, at_ms: i64) -> String {
        let mut id = String::with_capacity(29);
        self.next_into(at_ms, &mut id);
        id
    }

    /// Writes the next id over `id` (a buffer kept between rows).
    pub(super) fn next_into(&self, at_ms: i64, id: &mut String) {
        use std::fmt::Write;
        let counter = self.counter.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        id.clear();
        let _ = write!(id, "{at_ms:013}{:08x}{counter:08x}", self.tag);
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
    ids: &LogIds,
    days: &KnownDays,
) -> Result<usize, sqlx::Error> {
    insert_log(db, &in_index_order(log, ids), days).await
}

/// `log` with its ids (in the order of `log`), sorted by day, then in the
/// per-key index's order.
pub(super) fn in_index_order<'r, 'a>(
    log: &'r [LogRow<'a>],
    ids: &LogIds,
) -> Vec<(String, &'r LogRow<'a>)> {
    let mut rows: Vec<(String, &LogRow)> =
        log.iter().map(|hit| (ids.next(hit.at_ms), hit)).collect();
    rows.sort_unstable_by_key(|(_, r)| (Day::of_ms(r.at_ms), r.key_id, r.at_ms));
    rows
}

/// Inserts `rows` (in day order) in one transaction, each into its day's
/// segment (made when `days` does not know it yet); returns how many the
/// database refused for their content (dropped).
async fn insert_log(
    db: &Db,
    rows: &[(String, &LogRow<'_>)],
    days: &KnownDays,
) -> Result<usize, sqlx::Error> {
    let engine = Engine::of(db);
    let pg = engine == Engine::Postgres;
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
    let mut tx = db::begin(db).await?;
    let mut made = Vec::new();
    // Each statement under a savepoint: a part the database refuses is
    // rolled back alone and split until the refused rows stand alone.
    let mut rejected = 0;
    let mut todo: Vec<_> = rows
        .chunk_by(|(_, a), (_, b)| Day::of_ms(a.at_ms) == Day::of_ms(b.at_ms))
        .flat_map(|day| day.chunks(ROWS_PER_INSERT))
        .rev()
        .collect();
    while let Some(part) = todo.pop() {
        let day = Day::of_ms(part[0].1.at_ms);
        if !days.knows(day) && !made.contains(&day) {
            log_segments::ensure_in(&mut tx, engine, day).await?;
            made.push(day);
        }
        let insert = format!(
            "INSERT INTO {} (id, org_id, key_id, at_ms, code, path, ip, user_agent) \
             SELECT id, org_id, key_id, at_ms, code, path, ip, user_agent FROM ({columns}) AS j",
            day.table()
        );
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
    for day in made {
        days.learn(day);
    }
    Ok(rejected)
}

/// Whether the database refused a row for what it holds: invalid data
/// (SQLSTATE class 22, e.g. a NUL in text on PostgreSQL) or a constraint.
pub(super) fn refuses_content(e: &dyn sqlx::error::DatabaseError) -> bool {
    !matches!(e.kind(), sqlx::error::ErrorKind::Other)
        || e.code().is_some_and(|c| c.starts_with("22"))
}

/// Rows of [`log_segments::LEGACY`] deleted per statement: purging a busy
/// instance's day is many short deletes, each through the (org, time)
/// index, never one that holds the database for minutes.
pub const PURGE_CHUNK: u32 = 5000;

/// Removes request-log entries and hourly counts from before `cutoff_ms`
/// (Unix milliseconds): the day segments wholly before it go whole (so an
/// entry stays up to a day past it); the rows written before segments are
/// deleted a chunk at a time with a pause between chunks (so the usage
/// writer gets its turn). Returns how many day segments and legacy rows
/// went.
pub async fn purge_before(
    db: &Db,
    cutoff_ms: i64,
    turn: &db::WriteTurn,
) -> Result<Purged, sqlx::Error> {
    let mut purged = Purged::default();
    let legacy = log_segments::segments_since(db, cutoff_ms).await?.contains(&Segment::Legacy);
    if legacy {
        purged.legacy_rows = purge_legacy(db, cutoff_ms, turn).await?;
    }
    purged.segments = log_segments::drop_before(db, cutoff_ms, turn).await?;
    let _turn = turn.lock().await;
    sqlx::query("DELETE FROM key_usage WHERE hour < $1")
        .bind(cutoff_ms / 1000 - 3600)
        .execute(db)
        .await?;
    Ok(purged)
}

/// What a purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    /// Segments dropped: days past retention, and the legacy table once
    /// empty.
    pub segments: usize,
    /// Rows deleted from [`log_segments::LEGACY`].
    pub legacy_rows: u64,
}

async fn purge_legacy(db: &Db, cutoff_ms: i64, turn: &db::WriteTurn) -> Result<u64, sqlx::Error> {
    let table = log_segments::LEGACY;
    let chunk = match db::Engine::of(db) {
        db::Engine::Sqlite => format!(
            "DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} \
             WHERE org_id = $1 AND at_ms < $2 LIMIT {PURGE_CHUNK})"
        ),
        db::Engine::Postgres => format!(
            "DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} \
             WHERE org_id = $1 AND at_ms < $2 LIMIT {PURGE_CHUNK}))"
        ),
    };
    let orgs: Vec<(String,)> = sqlx::query_as("SELECT id FROM orgs").fetch_all(db).await?;
    let mut deleted = 0;
    for (org_id,) in orgs {
        loop {
            let done = {
                let _turn = turn.lock().await;
                sqlx::query(&chunk).bind(&org_id).bind(cutoff_ms).execute(db).await?
            };
            deleted += done.rows_affected();
            if done.rows_affected() < u64::from(PURGE_CHUNK) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    Ok(deleted)
}
