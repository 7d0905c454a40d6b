//! Rate limits across instances (docs/design.md#limits-across-instances, PostgreSQL): each
//! instance adds what it admitted per key to `rate_admitted` and reads back
//! every key's total that changed lately, its own or not, so a key that is
//! new to an instance is charged with what the others admitted.

use crate::backend::Db;

/// How far back "lately" reaches, in milliseconds of the database's clock:
/// far more than the time between two syncs, so a change is read at least
/// once even when a sync runs late. Reading one twice costs nothing: what
/// counts is how far each total moved.
const RECENT_MS: i64 = 5_000;

/// The database's clock in milliseconds, so instances with different clocks
/// agree on what is recent.
const NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// Every key's total so far: where an instance starts counting from.
pub async fn totals(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT key_id, admitted FROM rate_admitted").fetch_all(db).await
}

/// Adds `admitted` (key id, requests admitted here since the last sync,
/// one request's share of the key's window in nanoseconds) to the totals
/// of all instances; returns (key id, total, share) of every key whose
/// total changed lately. One transaction: on an error nothing was added,
/// so the caller may send the same admissions again.
pub async fn exchange(
    db: &Db,
    admitted: &[(String, u64, u64)],
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let mut tx = super::db::begin(db).await?;
    if !admitted.is_empty() {
        let batch: Vec<serde_json::Value> = admitted
            .iter()
            .map(|(id, n, interval)| serde_json::json!({ "k": id, "n": n, "i": interval }))
            .collect();
        // One JSON parameter: the Any driver binds no arrays.
        sqlx::query(&format!(
            "INSERT INTO rate_admitted (key_id, admitted, interval_ns, updated_ms) \
             SELECT x.k, x.n, x.i, {NOW_MS} \
             FROM json_to_recordset($1::json) AS x(k TEXT, n BIGINT, i BIGINT) \
             ON CONFLICT (key_id) DO UPDATE SET \
             admitted = rate_admitted.admitted + EXCLUDED.admitted, \
             interval_ns = EXCLUDED.interval_ns, updated_ms = EXCLUDED.updated_ms"
        ))
        .bind(serde_json::Value::Array(batch).to_string())
        .execute(&mut *tx)
        .await?;
    }
    let moved = sqlx::query_as(&format!(
        "SELECT key_id, admitted, interval_ns FROM rate_admitted \
         WHERE updated_ms > {NOW_MS} - $1"
    ))
    .bind(RECENT_MS)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(moved)
}
