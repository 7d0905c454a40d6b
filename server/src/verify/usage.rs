//! What verification saw, kept in memory on the request path and written in
//! batches, so a request never waits for a database write: per-key request
//! counts and last use and counts per hour and outcome for the usage chart
//! (written about once a second), and request-log entries (written by a
//! low-priority writer, see [`super::writer`]).

use super::batch::{Entry, Pending};
use super::code::Code;
use app::backend::Db;
use app::backend::db::WriteTurn;
use app::backend::log_copy::{Copied, LogCopy};
use app::backend::log_file::LogFile;
use app::backend::log_segments::KnownDays;
use app::backend::usage_writes::{self, LogIds, LogRow};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Request-log entries held at most (about ten seconds of calls on a
/// saturated core; the writers take over well before, see
/// [`super::writer::LOG_BACKLOG`]); beyond this (a database too slow for the
/// load) entries are dropped and counted, while counts stay exact.
pub const MAX_PENDING_ENTRIES: usize = 500_000;

/// Bytes of logged text (paths, addresses, user agents) held at most, so
/// calls with the longest fields cannot make the buffer grow past this;
/// beyond it entries are dropped and counted like the above.
pub const MAX_PENDING_TEXT: usize = 128 << 20;

/// One verification of a known key, as asked: [`UsageBuffer::record`]
/// cleans and clips the text fields as it copies them.
#[derive(Clone, Debug)]
pub struct Hit<'a> {
    pub key_id: Arc<str>,
    pub org_id: Arc<str>,
    pub code: Code,
    pub at_ms: i64,
    pub path: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Longest logged path, address and user agent, in characters.
/// The pause between two request-log transactions of one flush. Writers
/// through the pool (key changes, the retention purge) wait for SQLite's
/// write lock in its busy handler, which sleeps up to 100 ms between tries
/// and would seldom find the lock free between back-to-back transactions.
const BETWEEN_LOG_TRANSACTIONS: Duration = Duration::from_millis(20);

const MAX_PATH: usize = 512;
const MAX_IP: usize = 64;
const MAX_USER_AGENT: usize = 256;

/// Usage and request-log entries not yet written.
#[derive(Default)]
pub struct UsageBuffer {
    pending: Mutex<Pending>,
    /// The last written batch, emptied, handed back for reuse so a busy
    /// instance does not grow its buffers anew every second.
    spare: Mutex<Option<Pending>>,
    /// Batches writers took and did not finish (one gave way to the other
    /// writer, or the write failed), each with how many of its entries
    /// were written: the next flush writes the rest first, oldest first.
    /// Only writers touch them, so putting entries back never holds up a
    /// call (copying them back into `pending` held its lock for
    /// milliseconds).
    held: Mutex<Vec<(Pending, usize)>>,
    /// Entries in `held` not yet written, read by the calls for the bound.
    held_entries: AtomicUsize,
    /// Bytes of text in `held`, likewise.
    held_text: AtomicUsize,
    /// Batches taken so far (numbers them).
    taken: AtomicU64,
    /// Request-log entries dropped because the buffer was full.
    pub dropped: AtomicU64,
    /// The request log's ids, in the order entries are written.
    ids: LogIds,
}

/// How a flush writes request-log rows.
#[derive(Clone, Copy, Debug)]
pub enum LogWay<'a> {
    /// Through the pool the flush is given.
    Pool,
    /// Over a SQLite file's own connection.
    File(&'a LogFile),
    /// With PostgreSQL's `COPY`, over a connection of the caller's runtime.
    Copy(&'a LogCopy),
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
    /// Counts one verification and queues its request-log entry: the path
    /// without its query or fragment (where clients sometimes put secrets),
    /// and every text field without control characters, clipped.
    pub fn record(&self, hit: Hit<'_>) {
        self.record_with(hit, true);
    }

    /// [`UsageBuffer::record`] without the cleaning: for tests of what the
    /// database refuses.
    #[doc(hidden)]
    pub fn record_uncleaned(&self, hit: Hit<'_>) {
        self.record_with(hit, false);
    }

    fn record_with(&self, hit: Hit<'_>, clean: bool) {
        let now = hit.at_ms / 1000;
        let hour = now - now.rem_euclid(3600);
        let path = if clean {
            hit.path.map(|p| p.split(['?', '#']).next().unwrap_or(""))
        } else {
            hit.path
        };
        let mut pending = self.lock();
        let counts = match pending.keys.get_mut(&hit.key_id) {
            Some(counts) => counts,
            None => pending.keys.entry(hit.key_id.clone()).or_default(),
        };
        counts.requests += 1;
        counts.last_used = counts.last_used.max(now);
        counts.add(hour, hit.code, 1);
        let held = self.held_entries.load(Ordering::Relaxed);
        let held_text = self.held_text.load(Ordering::Relaxed);
        if pending.log.len() + held < MAX_PENDING_ENTRIES
            && pending.text.len() + held_text < MAX_PENDING_TEXT
        {
            let path = pending.push_text(path, MAX_PATH, clean);
            let ip = pending.push_text(hit.ip, MAX_IP, clean);
            let user_agent = pending.push_text(hit.user_agent, MAX_USER_AGENT, clean);
            let Hit { key_id, org_id, code, at_ms, .. } = hit;
            pending.log.push(Entry { key_id, org_id, code, at_ms, path, ip, user_agent });
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Request-log entries waiting to be written.
    pub fn pending_entries(&self) -> usize {
        self.lock().log.len() + self.held_entries.load(Ordering::Relaxed)
    }

    /// Writes the counts recorded so far (per key, and per hour and
    /// outcome) in one transaction; returns for how many keys. On failure
    /// they are kept for the next flush.
    pub async fn flush_counts(&self, db: &Db) -> Result<usize, sqlx::Error> {
        let keys = std::mem::take(&mut self.lock().keys);
        if keys.is_empty() {
            return Ok(0);
        }
        let usage: Vec<(&str, i64, i64)> =
            keys.iter().map(|(id, c)| (&**id, c.requests, c.last_used)).collect();
        let outcomes: Vec<(&str, i64, &str, i64)> = keys
            .iter()
            .flat_map(|(id, c)| {
                c.outcomes.iter().map(|(hour, code, n)| (&**id, *hour, code.as_str(), *n))
            })
            .collect();
        match usage_writes::write_counts(db, &usage, &outcomes).await {
            Ok(()) => Ok(keys.len()),
            Err(e) => {
                let mut pending = self.lock();
                for (id, counts) in keys {
                    let p = pending.keys.entry(id).or_default();
                    p.requests += counts.requests;
                    p.last_used = p.last_used.max(counts.last_used);
                    for (hour, code, n) in counts.outcomes {
                        p.add(hour, code, n);
                    }
                }
                Err(e)
            }
        }
    }

    /// Writes the request-log entries recorded so far,
    /// `rows_per_transaction` to a transaction, each in its turn
    /// (`turn`: the writers of one process take turns without SQLite's
    /// sleeping busy handler between them) and only while `keep_going`
    /// says so: the rest is held back, to be written first by the next
    /// flush. Returns how many were written and how many the database
    /// refused for their content (dropped and counted, so one bad row
    /// cannot stop every later flush). Entries not written for any other
    /// reason (the database unreachable) are held back too. On a SQLite
    /// file the rows go through `file`, otherwise through `db`.
    pub async fn flush_log(
        &self,
        db: &Db,
        way: LogWay<'_>,
        days: &KnownDays,
        turn: &WriteTurn,
        keep_going: &(dyn Fn() -> bool + Sync),
        rows_per_transaction: usize,
    ) -> Result<(usize, usize), sqlx::Error> {
        let (mut written, mut rejected, mut chunks) = (0, 0, 0);
        // What earlier flushes left goes first, then what came since.
        let mut queue = self.take_held().into_iter();
        let mut took_pending = false;
        loop {
            let (batch, from) = match queue.next() {
                Some(held) => held,
                // A writer that is to give way leaves the calls' entries.
                None if !took_pending && keep_going() => {
                    took_pending = true;
                    (self.take_pending(), 0)
                }
                None => break,
            };
            let rows: Vec<LogRow> = batch.log[from..]
                .iter()
                .map(|e| LogRow {
                    org_id: &e.org_id,
                    key_id: &e.key_id,
                    at_ms: e.at_ms,
                    code: e.code.as_str(),
                    path: batch.text_of(e.path),
                    ip: batch.text_of(e.ip),
                    user_agent: batch.text_of(e.user_agent),
                })
                .collect();
            let mut done = from;
            let mut failed = None;
            for chunk in rows.chunks(rows_per_transaction.max(1)) {
                if chunks > 0 {
                    tokio::time::sleep(BETWEEN_LOG_TRANSACTIONS).await;
                }
                if !keep_going() {
                    break;
                }
                chunks += 1;
                match write_chunk(db, way, days, turn, chunk, &self.ids).await {
                    Ok(refused) => {
                        written += chunk.len() - refused;
                        rejected += refused;
                        done += chunk.len();
                    }
                    Err(e) => {
                        // A day's segment may have gone (dropped by another
                        // instance's purge): the next write looks again.
                        days.forget();
                        failed = Some(e);
                        break;
                    }
                }
            }
            drop(rows);
            if done < batch.log.len() {
                self.hold(batch, done);
                queue.for_each(|(batch, from)| self.hold(batch, from));
                return failed.map_or(Ok((written, rejected)), Err);
            }
            self.recycle(batch);
        }
        Ok((written, rejected))
    }

    /// Takes every entry recorded so far, leaving a reused batch in place.
    fn take_pending(&self) -> Pending {
        let fresh = self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
        let mut pending = self.lock();
        let mut batch = fresh.unwrap_or_default();
        batch.taken = self.taken.fetch_add(1, Ordering::Relaxed);
        std::mem::swap(&mut batch.log, &mut pending.log);
        std::mem::swap(&mut batch.text, &mut pending.text);
        // Room for as much again, so the calls until the next write never
        // copy a growing buffer (untouched capacity costs no memory until
        // used).
        pending.log.reserve(batch.log.len());
        pending.text.reserve(batch.text.len());
        batch
    }

    /// Takes the held batches, oldest first.
    fn take_held(&self) -> Vec<(Pending, usize)> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let mut batches = std::mem::take(&mut *held);
        for (batch, from) in &batches {
            self.held_entries.fetch_sub(batch.log.len() - from, Ordering::Relaxed);
            self.held_text.fetch_sub(batch.text.len(), Ordering::Relaxed);
        }
        batches.sort_by_key(|(batch, _)| batch.taken);
        batches
    }

    /// Holds back `batch`'s entries from `from` on for the next flush, as
    /// many as the bound leaves room for with those held already and those
    /// recorded since (the newest beyond it are dropped and counted).
    fn hold(&self, mut batch: Pending, from: usize) {
        let recorded = self.lock().log.len();
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let room = MAX_PENDING_ENTRIES
            .saturating_sub(recorded + self.held_entries.load(Ordering::Relaxed));
        if batch.log.len() - from > room {
            let lost = batch.log.len() - from - room;
            batch.log.truncate(from + room);
            self.dropped.fetch_add(lost as u64, Ordering::Relaxed);
            if room == 0 {
                return;
            }
        }
        self.held_entries.fetch_add(batch.log.len() - from, Ordering::Relaxed);
        self.held_text.fetch_add(batch.text.len(), Ordering::Relaxed);
        held.push((batch, from));
    }

    /// Keeps a written batch, emptied, for reuse.
    fn recycle(&self, mut batch: Pending) {
        batch.clear();
        *self.spare.lock().unwrap_or_else(|e| e.into_inner()) = Some(batch);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Writes one transaction's rows the `way` asked; returns how many the
/// database refused.
async fn write_chunk(
    db: &Db,
    way: LogWay<'_>,
    days: &KnownDays,
    turn: &WriteTurn,
    chunk: &[LogRow<'_>],
    ids: &LogIds,
) -> Result<usize, sqlx::Error> {
    let _turn = turn.lock().await;
    match way {
        LogWay::File(file) => file.write(chunk, ids, days).await,
        LogWay::Copy(copy) => match copy.write(db, chunk, ids, days).await {
            Ok(Copied::All) => Ok(0),
            // A row refused: the pool's statement writes the rest.
            Ok(Copied::Refused) => usage_writes::write_log_chunk(db, chunk, ids, days).await,
            Err(e) => Err(e),
        },
        LogWay::Pool => usage_writes::write_log_chunk(db, chunk, ids, days).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit<'a>(path: &'a str, user_agent: &'a str) -> Hit<'a> {
        Hit {
            key_id: "k1".into(),
            org_id: "o1".into(),
            code: Code::Valid,
            at_ms: 1_800_000_000_000,
            path: Some(path),
            ip: Some("203.0.113.7"),
            user_agent: Some(user_agent),
        }
    }

    #[test]
    fn text_is_cleaned_clipped_and_kept_in_one_buffer() {
        let buffer = UsageBuffer::default();
        buffer.record(hit("/v1/events?token=secret#x", "curl/8"));
        buffer.record(hit("/v1/\u{0}ev\u{1b}ents", &"ü".repeat(300)));
        let pending = buffer.lock();
        let texts: Vec<_> = pending
            .log
            .iter()
            .map(|e| (pending.text_of(e.path).unwrap(), pending.text_of(e.user_agent).unwrap()))
            .collect();
        assert_eq!(texts[0], ("/v1/events", "curl/8"));
        assert_eq!(texts[1].0, "/v1/events");
        assert_eq!(texts[1].1.chars().count(), MAX_USER_AGENT);
        assert_eq!(pending.keys["k1"].requests, 2);
    }

    #[test]
    fn held_back_entries_come_first_oldest_first_and_count_toward_the_bound() {
        let buffer = UsageBuffer::default();
        let at = |path, at_ms| Hit { at_ms, ..hit(path, "curl/8") };
        buffer.record(at("/a", 1));
        buffer.record(at("/b", 2));
        let older = buffer.take_pending();
        buffer.record(at("/c", 3));
        let newer = buffer.take_pending();
        // Two writers each give back what they did not write, the newer
        // batch first; "/a" was written.
        buffer.hold(newer, 0);
        buffer.hold(older, 1);
        assert_eq!(buffer.pending_entries(), 2);
        let held = buffer.take_held();
        let first: Vec<_> =
            held.iter().map(|(b, from)| b.text_of(b.log[*from].path).unwrap()).collect();
        assert_eq!(first, ["/b", "/c"]);
        assert_eq!(buffer.pending_entries(), 0);

        // Entries held back and entries recorded since share one bound.
        for _ in 0..MAX_PENDING_ENTRIES - 10 {
            buffer.record(hit("/p", "curl/8"));
        }
        let batch = buffer.take_pending();
        buffer.hold(batch, 0);
        for _ in 0..15 {
            buffer.record(hit("/q", "curl/8"));
        }
        assert_eq!(buffer.pending_entries(), MAX_PENDING_ENTRIES);
        assert_eq!(buffer.dropped.load(Ordering::Relaxed), 5);
        let calls = 3 + MAX_PENDING_ENTRIES - 10 + 15;
        assert_eq!(buffer.lock().keys["k1"].requests as usize, calls, "every call counted");
    }

    #[test]
    fn the_longest_fields_cannot_grow_the_buffer_past_its_bound() {
        let buffer = UsageBuffer::default();
        let (path, agent) = ("/".repeat(MAX_PATH), "a".repeat(MAX_USER_AGENT));
        let calls = MAX_PENDING_TEXT / (MAX_PATH + MAX_USER_AGENT) + 1000;
        for _ in 0..calls {
            buffer.record(hit(&path, &agent));
        }
        let pending = buffer.lock();
        assert!(pending.text.len() < MAX_PENDING_TEXT + MAX_PATH + MAX_IP + MAX_USER_AGENT);
        let dropped = buffer.dropped.load(Ordering::Relaxed) as usize;
        assert!(dropped >= 1000, "{dropped}");
        assert_eq!(pending.log.len() + dropped, calls);
        assert_eq!(pending.keys["k1"].requests as usize, calls, "every call counted");
    }
}
