//! Reading what verification recorded: hourly counts per key and outcome,
//! and the request log (written in batches by the verifier, see
//! [`super::usage_writes`]).

use super::db::{Db, Filter};
use super::log_segments::{self, Segment};
use crate::domain::RequestView;
use crate::error::AppError;

const REQUEST_COLUMNS: &str =
    "r.at_ms, r.key_id, k.name AS key_name, r.code, r.path, r.ip, r.user_agent";

/// (hour, code, count) of key `key_id` from hour `from` (Unix seconds).
pub async fn hourly_counts(
    db: &Db,
    key_id: &str,
    from: i64,
) -> Result<Vec<(i64, String, i64)>, AppError> {
    Ok(sqlx::query_as(
        "SELECT hour, code, CAST(SUM(count) AS BIGINT) FROM key_usage \
         WHERE key_id = $1 AND hour >= $2 GROUP BY hour, code",
    )
    .bind(key_id)
    .bind(from)
    .fetch_all(db)
    .await?)
}

/// The latest `limit` requests of key `key_id`, newest first.
pub async fn recent_requests(
    db: &Db,
    org_id: &str,
    key_id: &str,
    limit: i64,
) -> Result<Vec<RequestView>, AppError> {
    let filter = Filter::default().text("r.org_id = ?", org_id).text("r.key_id = ?", key_id);
    let mut entries = Vec::new();
    for segment in log_segments::segments_since(db, i64::MIN).await? {
        let need = limit - entries.len() as i64;
        if need <= 0 {
            break;
        }
        entries.extend(rows_of(db, segment, &filter, need, 0).await?);
    }
    Ok(entries)
}

/// Up to `limit` entries of `segment` matching `filter`, newest first,
/// after the first `offset`.
async fn rows_of(
    db: &Db,
    segment: Segment,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> Result<Vec<RequestView>, AppError> {
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM {} r LEFT JOIN api_keys k ON k.id = r.key_id \
         WHERE {} ORDER BY r.at_ms DESC, r.id DESC LIMIT {limit} OFFSET {offset}",
        segment.table(),
        filter.sql()
    );
    Ok(filter.bind(sqlx::query_as(&sql)).fetch_all(db).await?)
}

/// How many entries of `segment` match `filter`, counting up to `limit`.
async fn count_of(db: &Db, segment: Segment, filter: &Filter, limit: i64) -> Result<i64, AppError> {
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM {} r WHERE {} LIMIT {limit}) AS counted",
        segment.table(),
        filter.sql()
    );
    let (n,): (i64,) = filter.bind(sqlx::query_as(&sql)).fetch_one(db).await?;
    Ok(n)
}

/// Which request-log entries to list.
#[derive(Debug)]
pub struct LogFilter<'a> {
    pub org_id: &'a str,
    /// Unix milliseconds.
    pub from_ms: i64,
    pub key_id: Option<&'a str>,
    pub code: Option<&'a str>,
}

/// The most request-log entries a page counts: past it the page says "more
/// than" (counting ten million entries took over half a second).
pub const LOG_COUNT_LIMIT: i64 = 10_000;

/// One page (from 1) of the org's request log, newest first; how many
/// entries match in all, up to [`LOG_COUNT_LIMIT`] + 1 (more than the
/// limit); and whether any come after this page.
pub async fn log_page(
    db: &Db,
    filter: &LogFilter<'_>,
    page: u32,
    per_page: u32,
) -> Result<(Vec<RequestView>, i64, bool), AppError> {
    let mut where_ =
        Filter::default().text("r.org_id = ?", filter.org_id).int("r.at_ms >= ?", filter.from_ms);
    if let Some(key_id) = filter.key_id {
        where_ = where_.text("r.key_id = ?", key_id);
    }
    if let Some(code) = filter.code {
        // Without a key, a refused outcome goes into the statement as it is
        // (it is one of a fixed list) with the partial index's own
        // condition beside it: a planner uses that index only where it sees
        // the condition. With a key, the key's index serves better (SQLite,
        // without statistics, would take the outcome's: half a second for
        // a common one at ten million entries).
        let indexed = filter.key_id.is_none() && code != "VALID";
        match crate::domain::OUTCOMES.iter().find(|o| **o == code && indexed) {
            Some(refused) => {
                where_ = where_.plain(&format!("r.code = '{refused}' AND r.code <> 'VALID'"))
            }
            None => where_ = where_.text("r.code = ?", code),
        }
    }
    // The segments hold disjoint days, newest first: a page is read from
    // the first segments that reach it, skipping the entries of earlier
    // pages segment by segment.
    let segments = log_segments::segments_since(db, filter.from_ms).await?;
    let mut skip = i64::from(page.max(1) - 1) * i64::from(per_page);
    // One more than a page: whether a next page exists.
    let mut need = i64::from(per_page) + 1;
    let mut entries: Vec<RequestView> = Vec::new();
    for &segment in &segments {
        if need == 0 {
            break;
        }
        if skip > 0 {
            let here = count_of(db, segment, &where_, skip).await?;
            if here < skip {
                skip -= here;
                continue;
            }
        }
        let rows = rows_of(db, segment, &where_, need, skip).await?;
        need -= rows.len() as i64;
        skip = 0;
        entries.extend(rows);
    }
    let next = entries.len() > per_page as usize;
    entries.truncate(per_page as usize);
    let mut total = 0;
    for &segment in &segments {
        if total > LOG_COUNT_LIMIT {
            break;
        }
        total += count_of(db, segment, &where_, LOG_COUNT_LIMIT + 1 - total).await?;
    }
    Ok((entries, total, next))
}

/// (id, name) of the org's keys for the log's key filter, by name.
pub async fn key_names(db: &Db, org_id: &str) -> Result<Vec<(String, String)>, AppError> {
    Ok(sqlx::query_as(
        "SELECT id, name FROM api_keys WHERE org_id = $1 ORDER BY name, id LIMIT 500",
    )
    .bind(org_id)
    .fetch_all(db)
    .await?)
}
