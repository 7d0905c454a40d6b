//! The usage writer: what verification recorded goes to the database from
//! a thread of its own, with its own runtime and its own database
//! connection, so a flush (serialising a second of calls and, on SQLite,
//! the engine's own work on its connection's thread) never runs on a
//! thread that serves requests.
//!
//! It runs at normal priority. Running it at `SCHED_IDLE` was tried: its
//! transaction holds SQLite's write lock (and on PostgreSQL row locks on
//! `api_keys`), so on a busy core an idle-priority writer made key changes
//! wait for a thread that was not being scheduled, and leaving
//! `SCHED_IDLE` again needs `CAP_SYS_NICE`, which services seldom have.

use super::Verifier;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Starts the writer for `verifier`, flushing every `period` on a
/// connection of its own to `database_url`, and sweeping the rate limiter
/// about once a minute.
pub fn spawn(verifier: Arc<Verifier>, database_url: String, period: Duration) {
    let started =
        std::thread::Builder::new().name("keywarden-usage-writer".into()).spawn(move || {
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime.block_on(run(verifier, database_url, period)),
                Err(e) => tracing::error!(error = %e, "the usage writer has no runtime"),
            }
        });
    if let Err(e) = started {
        tracing::error!(error = %e, "the usage writer could not start");
    }
}

async fn run(verifier: Arc<Verifier>, database_url: String, period: Duration) {
    let db = if app::backend::db::is_in_memory(&database_url) {
        verifier.db.clone()
    } else {
        loop {
            match app::backend::db::connect_writer(&database_url).await {
                Ok(db) => break db,
                Err(e) => {
                    tracing::warn!(error = %e, "the usage writer cannot connect; will retry");
                    tokio::time::sleep(period).await;
                }
            }
        }
    };
    // The first write one interval after start, as every later one.
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut swept = Instant::now();
    loop {
        every.tick().await;
        if let Err(e) = verifier.flush_to(&db).await {
            tracing::warn!(error = %e, "usage flush failed; will retry");
        }
        if swept.elapsed() >= Duration::from_secs(60) {
            verifier.sweep();
            swept = Instant::now();
        }
    }
}
