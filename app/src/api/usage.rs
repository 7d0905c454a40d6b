//! What verification recorded, for the key detail page (usage by outcome
//! over time, recent requests) and the org's request log. Owners, admins and
//! members only (docs/design.md#roles).

pub use crate::domain::RequestView;
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
        if q == Some("7d") { UsageRange::Week } else { UsageRange::Day }
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
    /// Matching entries, counted up to a limit (10,000).
    pub total: i64,
    /// More than `total` entries match (counting stopped).
    pub more: bool,
    /// Entries come after this page.
    pub next: bool,
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
use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::backend::{db, keys, request, usage};
    pub use crate::domain::{Capability, OUTCOMES};
}

/// One key's verifications over `range`, bucketed, with totals per outcome
/// and its latest requests.
#[server(endpoint = "keys/usage", input = Json)]
pub async fn get_key_usage(
    slug: String,
    id: String,
    range: UsageRange,
) -> Result<KeyUsage, AppError> {
    request::serve(async {
        let request::Caller { state, membership: m, .. } =
            request::caller(&slug, Capability::ViewKeyDetail).await?;
        // The connection goes back before the next query takes one.
        keys::find(&mut *state.db.acquire().await?, &m.org_id, &id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (width, count) = range.buckets();
        let now = db::now();
        let first = now - now.rem_euclid(width) - width * (count as i64 - 1);
        let rows = usage::hourly_counts(&state.db, &id, first).await?;
        let mut buckets: Vec<UsageBucket> = (0..count)
            .map(|i| UsageBucket { start: first + width * i as i64, valid: 0, refused: 0 })
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
        let recent = usage::recent_requests(&state.db, &m.org_id, &id, RECENT_REQUESTS).await?;
        Ok(KeyUsage { range, buckets, totals, recent })
    })
    .await
}

/// The org's request log, newest first, filtered by key, outcome and period.
#[server(endpoint = "requests", input = Json)]
pub async fn request_log(slug: String, query: LogQuery) -> Result<LogPage, AppError> {
    request::serve(async {
        let request::Caller { state, membership: m, .. } =
            request::caller(&slug, Capability::ViewKeyDetail).await?;
        let key = query.key.filter(|k| !k.is_empty());
        let outcome = query.outcome.filter(|o| !o.is_empty());
        if let Some(o) = &outcome
            && !OUTCOMES.contains(&o.as_str())
        {
            return Err(AppError::Invalid(format!("Unknown outcome \u{201c}{o}\u{201d}.")));
        }
        let since = query.since.as_deref().unwrap_or("24h");
        let period = LOG_PERIODS
            .iter()
            .find(|(q, _, _)| *q == since)
            .map(|(_, _, secs)| *secs)
            .ok_or_else(|| AppError::Invalid("Choose a period: 1h, 24h, 7d or 30d.".into()))?;
        let page = query.page.max(1);
        let filter = usage::LogFilter {
            org_id: &m.org_id,
            from_ms: (db::now() - period) * 1000,
            key_id: key.as_deref(),
            code: outcome.as_deref(),
        };
        let (entries, total, next) =
            usage::log_page(&state.db, &filter, page, LOG_PER_PAGE).await?;
        let keys = usage::key_names(&state.db, &m.org_id).await?;
        let more = total > usage::LOG_COUNT_LIMIT;
        let total = total.min(usage::LOG_COUNT_LIMIT);
        Ok(LogPage { entries, total, more, next, page, per_page: LOG_PER_PAGE, keys })
    })
    .await
}
