//! Writing what verification recorded: usage counts and request-log rows,
//! flushed in batches by the writers (`super::writer`), and the log's
//! retention purge, which takes turns with them.

use super::Verifier;
use super::usage::{self, LogWay};
use super::writer;
use app::backend::Db;
use app::backend::log_copy::LogCopy;
use app::backend::usage_writes::{self, Purged};
use std::sync::atomic::Ordering;

impl Verifier {
    /// Removes request-log entries and hourly counts older than `days` days
    /// (see [`usage_writes::purge_before`]), taking turns with the log's
    /// writers.
    pub async fn purge_log_older_than(&self, days: u32) -> Result<Purged, sqlx::Error> {
        let cutoff = app::backend::db::now_ms() - i64::from(days) * 86_400_000;
        self.purge_log_before(cutoff).await
    }

    /// Makes today's and tomorrow's request-log tables when missing, taking
    /// turns with the log's writers.
    pub async fn ensure_log_days_ahead(&self) -> Result<(), sqlx::Error> {
        let _turn = self.write_turn.lock().await;
        app::backend::log_segments::ensure_ahead(&self.db).await
    }

    /// As [`Verifier::purge_log_older_than`], from before `cutoff_ms`.
    pub async fn purge_log_before(&self, cutoff_ms: i64) -> Result<Purged, sqlx::Error> {
        usage_writes::purge_before(&self.db, cutoff_ms, &self.write_turn).await
    }

    /// Forgets rate-limit state that has fully refilled (bounds memory).
    pub fn sweep(&self) {
        self.limiter.sweep(self.epoch.elapsed());
    }

    /// Writes everything recorded so far (counts and the request log) now,
    /// after any flush under way: what the writers had taken is written or
    /// put back first. For shutdown and tests.
    pub async fn flush(&self) -> Result<usage::Flushed, sqlx::Error> {
        let _alone = self.flushing.write().await;
        self.give_back_leases(&self.db).await;
        let keys = self.write_counts(&self.db).await?;
        let way = self.log_file.as_ref().map_or(LogWay::Pool, LogWay::File);
        let (log_entries, rejected) = self.write_log(&self.db, way, false).await?;
        Ok(usage::Flushed { keys, log_entries, rejected })
    }

    /// Gives back unspent usage-limit leases and writes the counts, over
    /// `db` (the usage writer's own connection); returns for how many keys.
    pub async fn flush_counts_to(&self, db: &Db) -> Result<usize, sqlx::Error> {
        let _shared = self.flushing.read().await;
        self.give_back_leases(db).await;
        self.write_counts(db).await
    }

    /// Writes the request-log entries recorded so far over `db` (on a
    /// SQLite file, over the log's own connection instead); returns how
    /// many were written and how many the database refused. With
    /// `yield_when_behind` (the low-priority writer) it stops between
    /// chunks once [`writer::LOG_BACKLOG`] entries wait or the
    /// catch-up writer is at work, and holds the rest back for
    /// it: a low-priority chunk must not hold up a catch-up.
    pub async fn flush_log_to(
        &self,
        db: &Db,
        yield_when_behind: bool,
    ) -> Result<(usize, usize), sqlx::Error> {
        self.flush_log_via(db, None, yield_when_behind).await
    }

    /// As [`Verifier::flush_log_to`], on PostgreSQL with `COPY` over `copy`
    /// (a connection of the calling runtime) when given.
    pub async fn flush_log_via(
        &self,
        db: &Db,
        copy: Option<&LogCopy>,
        yield_when_behind: bool,
    ) -> Result<(usize, usize), sqlx::Error> {
        let way = match (&self.log_file, copy) {
            (Some(file), _) => LogWay::File(file),
            (None, Some(copy)) => LogWay::Copy(copy),
            (None, None) => LogWay::Pool,
        };
        let _shared = self.flushing.read().await;
        self.write_log(db, way, yield_when_behind).await
    }

    async fn give_back_leases(&self, db: &Db) {
        if let Err(e) = self.quotas.give_back(db).await {
            tracing::warn!(error = %e, "usage-limit leases could not be given back");
        }
    }

    async fn write_counts(&self, db: &Db) -> Result<usize, sqlx::Error> {
        let done = {
            let _turn = self.write_turn.lock().await;
            self.usage.flush_counts(db).await
        };
        match &done {
            Ok(_) => {
                self.metrics.last_flush_ms.store(app::backend::db::now_ms(), Ordering::Relaxed)
            }
            Err(_) => _ = self.metrics.flush_failures.fetch_add(1, Ordering::Relaxed),
        }
        done
    }

    async fn write_log(
        &self,
        db: &Db,
        way: LogWay<'_>,
        yield_when_behind: bool,
    ) -> Result<(usize, usize), sqlx::Error> {
        let keep_going = || {
            !yield_when_behind
                || (self.usage.pending_entries() < writer::LOG_BACKLOG
                    && !self.log_catching_up.load(Ordering::Relaxed))
        };
        let rows = if yield_when_behind {
            writer::LOW_PRIORITY_ROWS
        } else {
            // Flushes that do not yield hold off the low-priority writer's
            // chunks meanwhile (see `keep_going`); only one runs at a time,
            // as [`Verifier::flush`] holds `flushing` alone.
            self.log_catching_up.store(true, Ordering::Relaxed);
            writer::CATCH_UP_ROWS
        };
        let done = self
            .usage
            .flush_log(db, way, &self.log_days, &self.write_turn, &keep_going, rows)
            .await;
        if !yield_when_behind {
            self.log_catching_up.store(false, Ordering::Relaxed);
        }
        match &done {
            Ok((written, rejected)) => {
                let m = &self.metrics;
                m.log_entries_written.fetch_add(*written as u64, Ordering::Relaxed);
                m.log_entries_rejected.fetch_add(*rejected as u64, Ordering::Relaxed);
            }
            Err(_) => _ = self.metrics.flush_failures.fetch_add(1, Ordering::Relaxed),
        }
        done
    }
}
