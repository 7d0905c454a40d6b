//! What verification saw, kept in memory on the request path and written in
//! batches (about once a second, and on shutdown), so a request never waits
//! for a database write: per-key request counts and last use, counts per
//! hour and outcome for the usage chart, and request-log entries.

use super::code::Code;
use app::backend::Db;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Request-log entries held at most between two flushes; beyond this (a
/// database too slow for the load) entries are dropped and counted, while
/// counts stay exact.
pub const MAX_PENDING_ENTRIES: usize = 200_000;
/// Request-log rows per INSERT (one JSON parameter each; see [`json_rows`]).
/// Binding values one by one was the first design: SQLite looks up each
/// numbered parameter by a linear scan, so 500-row statements spent a third
/// of the server's time binding, and small ones still most of the flush.
const ROWS_PER_INSERT: usize = 2000;

/// One verification of a known key.
#[derive(Clone, Debug)]
pub struct Hit {
    pub key_id: Arc<str>,
    pub org_id: Arc<str>,
    pub code: Code,
    pub at_ms: i64,
    pub path: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Clone, Copy, Default, Debug)]
struct Usage {
    requests: i64,
    last_used: i64,
}

#[derive(Default)]
struct Pending {
    usage: HashMap<Arc<str>, Usage>,
    /// (key id, hour, code) → count.
    outcomes: HashMap<(Arc<str>, i64, Code), i64>,
    log: Vec<Hit>,
}

/// Usage and request-log entries not yet written.
#[derive(Default)]
pub struct UsageBuffer {
    pending: Mutex<Pending>,
    /// Request-log entries dropped because the buffer was full.
    pub dropped: AtomicU64,
}

/// What one flush wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flushed {
    pub keys: usize,
    pub log_entries: usize,
    /// Request-log entries the database refused; dropped, not retried.
    pub rejected: usize,
}

impl UsageBuffer {
    /// Counts one verification and queues its request-log entry.
    pub fn record(&self, hit: Hit) {
        let now = hit.at_ms / 1000;
        let hour = now - now.rem_euclid(3600);
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let usage = pending.usage.entry(hit.key_id.clone()).or_default();
        usage.requests += 1;
        usage.last_used = usage.last_used.max(now);
        *pending
            .outcomes
            .entry((hit.key_id.clone(), hour, hit.code))
            .or_default() += 1;
        if pending.log.len() < MAX_PENDING_ENTRIES {
            pending.log.push(hit);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Request-log entries waiting to be written.
    pub fn pending_entries(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .log
            .len()
    }

    /// Writes everything recorded so far in one transaction. Request-log
    /// rows the database refuses (it judges their content) are dropped and
    /// counted, so one bad row cannot stop every later flush; on any other
    /// failure (the database unreachable) everything is kept for the next.
    pub async fn flush(&self, db: &Db) -> Result<Flushed, sqlx::Error> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if batch.usage.is_empty() {
            return Ok(Flushed::default());
        }
        match write(db, &batch).await {
            Ok(rejected) => Ok(Flushed {
                keys: batch.usage.len(),
                log_entries: batch.log.len() - rejected,
                rejected,
            }),
            Err(e) => {
                self.restore(batch);
                Err(e)
            }
        }
    }

    fn restore(&self, batch: Pending) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for (id, usage) in batch.usage {
            let p = pending.usage.entry(id).or_default();
            p.requests += usage.requests;
            p.last_used = p.last_used.max(usage.last_used);
        }
        for (k, n) in batch.outcomes {
            *pending.outcomes.entry(k).or_default() += n;
        }
        let room = MAX_PENDING_ENTRIES.saturating_sub(pending.log.len());
        let lost = batch.log.len().saturating_sub(room);
        pending.log.extend(batch.log.into_iter().take(room));
        self.dropped.fetch_add(lost as u64, Ordering::Relaxed);
    }
}

/// Request-log ids that sort by time, so inserts append to the primary-key
/// index instead of landing at random places in it: the milliseconds, this
/// process's random tag (ids from several instances never clash), a counter.
struct LogIds {
    tag: u32,
    counter: u32,
}

impl LogIds {
    fn new() -> Self {
        LogIds {
            tag: rand::random(),
            counter: 0,
        }
    }

    fn next(&mut self, at_ms: i64) -> String {
        self.counter = self.counter.wrapping_add(1);
        format!("{at_ms:013}{:08x}{:08x}", self.tag, self.counter)
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
    let source = if postgres {
        "json_array_elements($1::json) AS e"
    } else {
        "json_each($1)"
    };
    format!("SELECT {} FROM {source}", fields.join(", "))
}

async fn write(db: &Db, batch: &Pending) -> Result<usize, sqlx::Error> {
    let mut ids = LogIds::new();
    let mut tx = db.begin().await?;
    let pg = tx.backend_name() == "PostgreSQL";

    // Counts and last use per key; a deleted key simply matches no row.
    let usage: Vec<(&str, i64, i64)> = batch
        .usage
        .iter()
        .map(|(id, u)| (&**id, u.requests, u.last_used))
        .collect();
    let rows = json_rows(pg, &[("id", "text"), ("n", "bigint"), ("t", "bigint")]);
    sqlx::query(&format!(
        "UPDATE api_keys SET request_count = request_count + j.n, \
         last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < j.t THEN j.t ELSE last_used_at END \
         FROM ({rows}) AS j WHERE api_keys.id = j.id"
    ))
    .bind(serde_json::to_string(&usage).unwrap_or_default())
    .execute(&mut *tx)
    .await?;

    // Counts per key, hour and outcome (unique within a batch).
    let outcomes: Vec<(&str, i64, &str, i64)> = batch
        .outcomes
        .iter()
        .map(|((id, hour, code), n)| (&**id, *hour, code.as_str(), *n))
        .collect();
    let rows = json_rows(
        pg,
        &[
            ("key_id", "text"),
            ("hour", "bigint"),
            ("code", "text"),
            ("n", "bigint"),
        ],
    );
    sqlx::query(&format!(
        "INSERT INTO key_usage (key_id, hour, code, count) \
         SELECT key_id, hour, code, n FROM ({rows}) AS j WHERE true \
         ON CONFLICT (key_id, hour, code) DO UPDATE SET count = key_usage.count + excluded.count"
    ))
    .bind(serde_json::to_string(&outcomes).unwrap_or_default())
    .execute(&mut *tx)
    .await?;

    // The request log.
    let rows = json_rows(
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
         SELECT id, org_id, key_id, at_ms, code, path, ip, user_agent FROM ({rows}) AS j"
    );
    // Each statement under a savepoint: a chunk the database refuses is
    // rolled back alone and split until the refused rows stand alone.
    let mut rejected = 0;
    let mut todo: Vec<&[Hit]> = batch.log.chunks(ROWS_PER_INSERT).rev().collect();
    while let Some(chunk) = todo.pop() {
        let entries: Vec<_> = chunk
            .iter()
            .map(|hit| {
                (
                    ids.next(hit.at_ms),
                    &*hit.org_id,
                    &*hit.key_id,
                    hit.at_ms,
                    hit.code.as_str(),
                    hit.path.as_deref(),
                    hit.ip.as_deref(),
                    hit.user_agent.as_deref(),
                )
            })
            .collect();
        let mut savepoint = sqlx::Acquire::begin(&mut *tx).await?;
        let done = sqlx::query(&insert)
            .bind(serde_json::to_string(&entries).unwrap_or_default())
            .execute(&mut *savepoint)
            .await;
        match done {
            Ok(_) => savepoint.commit().await?,
            Err(sqlx::Error::Database(e)) => {
                savepoint.rollback().await?;
                if chunk.len() == 1 {
                    tracing::warn!(error = %e, "request-log entry refused by the database; dropped");
                    rejected += 1;
                } else {
                    let (a, b) = chunk.split_at(chunk.len() / 2);
                    todo.extend([b, a]);
                }
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit().await?;
    Ok(rejected)
}

/// Deletes request-log entries and hourly counts older than `days` days;
/// returns how many log entries went.
pub async fn purge_older_than(db: &Db, days: u32) -> Result<u64, sqlx::Error> {
    let cutoff_ms = app::backend::db::now_ms() - i64::from(days) * 86_400_000;
    let done = sqlx::query("DELETE FROM request_log WHERE at_ms < $1")
        .bind(cutoff_ms)
        .execute(db)
        .await?;
    sqlx::query("DELETE FROM key_usage WHERE hour < $1")
        .bind(cutoff_ms / 1000 - 3600)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
