//! The usage writers: what verification recorded goes to the database from
//! three threads of their own, each with its own runtime and its own database
//! connection (on a SQLite file the request log is written through the
//! verifier's log connection, on the writing thread), so no flush runs on
//! a thread that serves requests.
//!
//! - The **counts writer**, at normal priority, writes every period what
//!   must not lag: request counts, last use and the hourly counts (a row per
//!   busy key, however many calls), and gives back usage-limit leases.
//! - The **log writer** writes the request log (a row per call) at nice
//!   [`LOG_WRITER_NICE`]: on a busy core it takes the time requests leave,
//!   so writing the log does not hold up answers. It writes
//!   [`LOW_PRIORITY_ROWS`] rows per transaction, so while it waits to be scheduled it never holds
//!   the database's write lock for long.
//! - Past [`LOG_BACKLOG`] unwritten entries (a core so busy that the log
//!   writer falls behind), the log writer stops after its current chunk and
//!   holds the rest back, and the **catch-up writer** writes the log at nice
//!   [`CATCH_UP_NICE`], so nothing is dropped: the log keeps up at the cost
//!   of answers. Its nice value gives it about a quarter of a saturated
//!   core, about what the log needs there, so the scheduler hands it the
//!   core less often than a normal-priority writer (each turn holds up
//!   answers for the scheduler's whole 4 ms tick). The writers take turns
//!   for each transaction in the process, not in SQLite's busy handler,
//!   which sleeps between tries.
//!
//! Any thread may lower its own priority, but raising it again needs
//! `CAP_SYS_NICE`, which services seldom have: hence another thread takes
//! over rather than the log writer raising its own. `SCHED_IDLE` was tried
//! first: a writer that is never scheduled while it holds SQLite's write
//! lock made key changes wait; at nice 10 a transaction of 10,000 rows still
//! ends within a fraction of a second on a saturated core.

use super::Verifier;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The log writer's nice value (Linux; elsewhere it runs at normal priority).
pub const LOG_WRITER_NICE: i32 = 10;

/// The catch-up writer's nice value: weight 335 against a request
/// thread's 1024, about a quarter of a saturated core.
pub const CATCH_UP_NICE: i32 = 5;

/// Unwritten request-log entries past which the catch-up writer writes the
/// log (about two seconds of calls on a saturated core).
pub const LOG_BACKLOG: usize = 100_000;

/// Request-log rows per transaction at low priority: the write lock is
/// never held long by a thread that may wait to be scheduled (about 40 ms
/// of CPU), and each per-key index page goes to the WAL once for several
/// rows of its key.
pub const LOW_PRIORITY_ROWS: usize = 10_000;

/// Request-log rows per transaction when catching up: each index page goes
/// to the WAL once for many rows, not once per small transaction.
pub const CATCH_UP_ROWS: usize = 50_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Counts,
    Log,
    CatchUp,
}

/// Starts the three writers for `verifier`, each flushing every `period` on
/// a connection of its own to `database_url`; the counts writer also
/// sweeps the rate limiter about once a minute.
pub fn spawn(verifier: Arc<Verifier>, database_url: String, period: Duration) {
    for (role, name) in [
        (Role::Counts, "keywarden-usage-writer"),
        (Role::Log, "keywarden-log-writer"),
        (Role::CatchUp, "keywarden-catch-up-writer"),
    ] {
        let (verifier, database_url) = (verifier.clone(), database_url.clone());
        let started = std::thread::Builder::new().name(name.into()).spawn(move || {
            // Before connecting: the writing runs on this thread (on a
            // SQLite file) or the database driver's thread, which inherits
            // the priority.
            match role {
                Role::Log => lower_priority(LOG_WRITER_NICE),
                Role::CatchUp => lower_priority(CATCH_UP_NICE),
                Role::Counts => {}
            }
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime.block_on(run(role, verifier, database_url, period)),
                Err(e) => tracing::error!(error = %e, "a usage writer has no runtime"),
            }
        });
        if let Err(e) = started {
            tracing::error!(error = %e, "a usage writer could not start");
        }
    }
}

/// Lowers the calling thread's priority (on Linux, `setpriority` with
/// `PRIO_PROCESS` and 0 names the calling thread alone).
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority reads only its integer arguments.
        let failed = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0;
        if failed {
            tracing::warn!(
                nice,
                "a request-log writer runs at normal priority (setpriority failed)"
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

async fn run(role: Role, verifier: Arc<Verifier>, database_url: String, period: Duration) {
    // The log writer on a SQLite file writes through the verifier's own
    // connection to it, on this thread; it needs no pool connection.
    let own_log_file = role != Role::Counts && verifier.writes_log_to_file();
    let db = if own_log_file || app::backend::db::is_in_memory(&database_url) {
        verifier.db.clone()
    } else {
        loop {
            match app::backend::db::connect_writer(&database_url).await {
                Ok(db) => break db,
                Err(e) => {
                    tracing::warn!(error = %e, "a usage writer cannot connect; will retry");
                    tokio::time::sleep(period).await;
                }
            }
        }
    };
    // On PostgreSQL the log goes by COPY over a connection of this thread's
    // runtime (the pool's statement when it cannot be had).
    let copy = app::backend::log_copy::LogCopy::for_pool(&db).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the request log is written through the pool");
        None
    });
    // The first write one interval after start, as every later one.
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut swept = Instant::now();
    loop {
        every.tick().await;
        if role == Role::Counts {
            if let Err(e) = verifier.flush_counts_to(&db).await {
                tracing::warn!(error = %e, "writing usage counts failed; will retry");
            }
            if swept.elapsed() >= Duration::from_secs(60) {
                verifier.sweep();
                swept = Instant::now();
            }
        }
        let behind = verifier.usage.pending_entries() >= LOG_BACKLOG;
        let done = match role {
            Role::Log if !behind => Some(verifier.flush_log_via(&db, copy.as_ref(), true).await),
            Role::CatchUp if behind => {
                Some(verifier.flush_log_via(&db, copy.as_ref(), false).await)
            }
            _ => None,
        };
        if let Some(Err(e)) = done {
            tracing::warn!(error = %e, "writing the request log failed; will retry");
        }
    }
}
