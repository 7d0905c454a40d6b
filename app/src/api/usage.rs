//! What verification recorded, for the key detail page (usage by outcome
//! over time, recent requests) and the org's request log. Owners, admins and
//! members only (DESIGN.md §2).

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// The period a usage chart covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageRange {
    /// 24 hourly bars.
    #[default]
    Day,
    /// 7 daily bars.
    Week,
}

impl UsageRange {
    /// From the page's `?range=` (`24h` or `7d`).
    pub fn from_query(q: Option<&str>) -> Self {
        if q == Some("7d") {
            UsageRange::Week
        } else {
            UsageRange::Day
        }
    }

    pub fn query(self) -> &'static str {
        match self {
            UsageRange::Day => "24h",
            UsageRange::Week => "7d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UsageRange::Day => "Last 24 hours",
            UsageRange::Week => "Last 7 days",
        }
    }

    /// Bar width in seconds, and how many bars.
    pub fn buckets(self) -> (i64, usize) {
        match self {
            UsageRange::Day => (3600, 24),
            UsageRange::Week => (86_400, 7),
        }
    }
}

/// One bar: verifications in `[start, start + width)` by outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsageBucket {
    /// Unix seconds.
    pub start: i64,
    pub valid: i64,
    pub refused: i64,
}

/// One line of the request log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct RequestView {
    pub at_ms: i64,
    pub key_id: String,
    /// `None` once the key was deleted.
    pub key_name: Option<String>,
    pub code: String,
    pub path: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A key's usage for the detail page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyUsage {
    pub range: UsageRange,
    pub buckets: Vec<UsageBucket>,
    /// (outcome code, count) over the range, most frequent first.
    pub totals: Vec<(String, i64)>,
    /// The key's latest requests, newest first.
    pub recent: Vec<RequestView>,
}

/// Filters of the request log page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogQuery {
    pub key: Option<String>,
    pub outcome: Option<String>,
    /// `1h`, `24h`, `7d` or `30d` (default `24h`).
    pub since: Option<String>,
    /// 1-based.
    pub page: u32,
}

/// The time choices of the request log, with their length in seconds.
pub const LOG_PERIODS: [(&str, &str, i64); 4] = [
    ("1h", "Last hour", 3600),
    ("24h", "Last 24 hours", 86_400),
    ("7d", "Last 7 days", 7 * 86_400),
    ("30d", "Last 30 days", 30 * 86_400),
];

/// A page of the request log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogPage {
    pub entries: Vec<RequestView>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    /// Keys to filter by: (id, name).
    pub keys: Vec<(String, String)>,
}

/// Request-log entries per page.
pub const LOG_PER_PAGE: u32 = 50;
/// Latest requests shown on a key's page.
pub const RECENT_REQUESTS: i64 = 20;

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::backend::{db, keys, request};
    pub use crate::domain::{Capability, OUTCOMES};

    pub const REQUEST_COLUMNS: &str =
        "r.at_ms, r.key_id, k.name AS key_name, r.code, r.path, r.ip, r.user_agent";
}

/// A key's verifications by outcome over `range`, and its latest requests.
#[server(endpoint = "keys/usage", input = Json)]
pub async fn get_key_usage(
    slug: String,
    id: String,
    range: UsageRange,
) -> Result<KeyUsage, AppError> {
    use ssr::*;
    let result = async {
        let state = request::app_state()?;
        let (_user, m) = request::member_of(&state, &slug).await?;
        m.allow(Capability::ViewKeyDetail)?;
        let mut conn = state.db.acquire().await?;
        keys::find(&mut conn, &m.org_id, &id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (width, count) = range.buckets();
        let now = db::now();
        let first = now - now.rem_euclid(width) - width * (count as i64 - 1);
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT hour, code, CAST(SUM(count) AS BIGINT) FROM key_usage \
             WHERE key_id = $1 AND hour >= $2 GROUP BY hour, code",
        )
        .bind(&id)
        .bind(first)
        .fetch_all(&mut *conn)
        .await?;
        let mut buckets: Vec<UsageBucket> = (0..count)
            .map(|i| UsageBucket {
                start: first + width * i as i64,
                valid: 0,
                refused: 0,
            })
            .collect();
        let mut totals: Vec<(String, i64)> = Vec::new();
        for (hour, code, n) in rows {
            let Some(bucket) = buckets.get_mut(((hour - first) / width) as usize) else {
                continue;
            };
            if code == "VALID" {
                bucket.valid += n;
            } else {
                bucket.refused += n;
            }
            match totals.iter_mut().find(|(c, _)| *c == code) {
                Some((_, total)) => *total += n,
                None => totals.push((code, n)),
            }
        }
        totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM request_log r LEFT JOIN api_keys k ON k.id = r.key_id \
             WHERE r.org_id = $1 AND r.key_id = $2 ORDER BY r.at_ms DESC, r.id DESC LIMIT {RECENT_REQUESTS}"
        );
        let recent: Vec<RequestView> = sqlx::query_as(&sql)
            .bind(&m.org_id)
            .bind(&id)
            .fetch_all(&mut *conn)
            .await?;
        Ok(KeyUsage {
            range,
            buckets,
            totals,
            recent,
        })
    }
    .await;
    request::respond(result)
}

/// The org's request log, newest first, by key, outcome and time.
#[server(endpoint = "requests", input = Json)]
pub async fn request_log(slug: String, query: LogQuery) -> Result<LogPage, AppError> {
    use ssr::*;
    let result = async {
        let state = request::app_state()?;
        let (_user, m) = request::member_of(&state, &slug).await?;
        m.allow(Capability::ViewKeyDetail)?;
        let key = query.key.filter(|k| !k.is_empty());
        let outcome = query.outcome.filter(|o| !o.is_empty());
        if let Some(o) = &outcome
            && !OUTCOMES.contains(&o.as_str())
        {
            return Err(AppError::Invalid(format!(
                "Unknown outcome \u{201c}{o}\u{201d}."
            )));
        }
        let since = query.since.as_deref().unwrap_or("24h");
        let period = LOG_PERIODS
            .iter()
            .find(|(q, _, _)| *q == since)
            .map(|(_, _, secs)| *secs)
            .ok_or_else(|| AppError::Invalid("Choose a period: 1h, 24h, 7d or 30d.".into()))?;
        let from_ms = (db::now() - period) * 1000;
        let mut filter = "r.org_id = $1 AND r.at_ms >= $2".to_string();
        let mut n = 3;
        if key.is_some() {
            filter.push_str(&format!(" AND r.key_id = ${n}"));
            n += 1;
        }
        if outcome.is_some() {
            filter.push_str(&format!(" AND r.code = ${n}"));
        }
        let page = query.page.max(1);
        let offset = i64::from(page - 1) * i64::from(LOG_PER_PAGE);
        let rows_sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM request_log r LEFT JOIN api_keys k ON k.id = r.key_id \
             WHERE {filter} ORDER BY r.at_ms DESC, r.id DESC LIMIT {LOG_PER_PAGE} OFFSET {offset}"
        );
        let count_sql = format!("SELECT COUNT(*) FROM request_log r WHERE {filter}");
        macro_rules! bind_all {
            ($q:expr) => {{
                let mut q = $q.bind(&m.org_id).bind(from_ms);
                if let Some(k) = &key {
                    q = q.bind(k);
                }
                if let Some(o) = &outcome {
                    q = q.bind(o);
                }
                q
            }};
        }
        let entries: Vec<RequestView> = bind_all!(sqlx::query_as(&rows_sql))
            .fetch_all(&state.db)
            .await?;
        let (total,): (i64,) = bind_all!(sqlx::query_as(&count_sql))
            .fetch_one(&state.db)
            .await?;
        // The filter offers the org's keys by name (bounded for huge orgs;
        // any key can still be chosen through its page's link).
        let keys: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, name FROM api_keys WHERE org_id = $1 ORDER BY name, id LIMIT 500",
        )
        .bind(&m.org_id)
        .fetch_all(&state.db)
        .await?;
        Ok(LogPage {
            entries,
            total,
            page,
            per_page: LOG_PER_PAGE,
            keys,
        })
    }
    .await;
    request::respond(result)
}
