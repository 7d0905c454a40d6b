//! Rate limits across instances (DESIGN.md §5.4, PostgreSQL): each
//! instance adds what it admitted per key to `rate_admitted` and reads the
//! totals back, in one statement per sync.

use crate::backend::Db;

/// Adds `admitted` (key id, requests admitted here since the last sync) to
/// the totals of all instances; returns each key's new total.
pub async fn exchange(
    db: &Db,
    admitted: &[(String, u64)],
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    if admitted.is_empty() {
        return Ok(Vec::new());
    }
    let batch: Vec<serde_json::Value> =
        admitted.iter().map(|(id, n)| serde_json::json!({ "k": id, "n": n })).collect();
    // One JSON parameter: the Any driver binds no arrays.
    sqlx::query_as(
        "INSERT INTO rate_admitted (key_id, admitted) \
         SELECT x.k, x.n FROM json_to_recordset($1::json) AS x(k TEXT, n BIGINT) \
         ON CONFLICT (key_id) DO UPDATE SET admitted = rate_admitted.admitted + EXCLUDED.admitted \
         RETURNING key_id, admitted",
    )
    .bind(serde_json::Value::Array(batch).to_string())
    .fetch_all(db)
    .await
}
