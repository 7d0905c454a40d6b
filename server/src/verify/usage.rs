//! What verification saw, kept in memory on the request path and written in
//! batches (about once a second, and on shutdown), so a request never waits
//! for a database write: per-key request counts and last use, counts per
//! hour and outcome for the usage chart, and request-log entries.

use super::code::Code;
use app::backend::Db;
use app::backend::usage_writes::{self, LogRow};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Request-log entries held at most between two flushes; beyond this (a
/// database too slow for the load) entries are dropped and counted, while
/// counts stay exact.
pub const MAX_PENDING_ENTRIES: usize = 200_000;

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
        *pending.outcomes.entry((hit.key_id.clone(), hour, hit.code)).or_default() += 1;
        if pending.log.len() < MAX_PENDING_ENTRIES {
            pending.log.push(hit);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Request-log entries waiting to be written.
    pub fn pending_entries(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).log.len()
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

async fn write(db: &Db, batch: &Pending) -> Result<usize, sqlx::Error> {
    let usage: Vec<(&str, i64, i64)> =
        batch.usage.iter().map(|(id, u)| (&**id, u.requests, u.last_used)).collect();
    let outcomes: Vec<(&str, i64, &str, i64)> = batch
        .outcomes
        .iter()
        .map(|((id, hour, code), n)| (&**id, *hour, code.as_str(), *n))
        .collect();
    let log: Vec<LogRow> = batch
        .log
        .iter()
        .map(|hit| LogRow {
            org_id: &hit.org_id,
            key_id: &hit.key_id,
            at_ms: hit.at_ms,
            code: hit.code.as_str(),
            path: hit.path.as_deref(),
            ip: hit.ip.as_deref(),
            user_agent: hit.user_agent.as_deref(),
        })
        .collect();
    usage_writes::write(db, &usage, &outcomes, &log).await
}

/// Deletes request-log entries and hourly counts older than `days` days;
/// returns how many log entries went.
pub async fn purge_older_than(db: &Db, days: u32) -> Result<u64, sqlx::Error> {
    usage_writes::purge_older_than(db, days).await
}
