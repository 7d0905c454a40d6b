//! Usage counted in memory on the request path and written in batches, so
//! verification never waits for a database write.

use app::backend::Db;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Usage {
    requests: i64,
    last_used: i64,
}

/// Per-key request counts and last-use times not yet written.
#[derive(Default)]
pub struct UsageBuffer {
    pending: Mutex<HashMap<String, Usage>>,
}

impl UsageBuffer {
    /// Counts one verification of key `id` at `now` (Unix seconds).
    pub fn record(&self, id: &str, now: i64) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let usage = pending.entry(id.to_string()).or_default();
        usage.requests += 1;
        usage.last_used = usage.last_used.max(now);
    }

    /// Writes everything counted so far in one transaction; returns how many
    /// keys were updated. On failure the counts are kept for the next flush.
    pub async fn flush(&self, db: &Db) -> Result<usize, sqlx::Error> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if batch.is_empty() {
            return Ok(0);
        }
        match write(db, &batch).await {
            Ok(()) => Ok(batch.len()),
            Err(e) => {
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                for (id, usage) in batch {
                    let p = pending.entry(id).or_default();
                    p.requests += usage.requests;
                    p.last_used = p.last_used.max(usage.last_used);
                }
                Err(e)
            }
        }
    }
}

async fn write(db: &Db, batch: &HashMap<String, Usage>) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for (id, usage) in batch {
        // A deleted key simply matches no row.
        sqlx::query(
            "UPDATE api_keys SET request_count = request_count + $1, \
             last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $2 THEN $2 ELSE last_used_at END \
             WHERE id = $3",
        )
        .bind(usage.requests)
        .bind(usage.last_used)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
