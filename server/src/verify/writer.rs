//! The usage writer: what verification recorded goes to the database from
//! a thread of its own, with its own runtime and its own database
//! connection, at the lowest priority Linux has (`SCHED_IDLE`), so on a
//! busy core it takes the time requests leave idle instead of stalling
//! them. When it falls behind (no write for two intervals, or a large
//! backlog), a watchdog on the server's runtime puts it back at normal
//! priority until its next write: a crash still loses at most about one
//! interval of usage, and a saturated core cannot starve it.

use super::Verifier;
use super::usage::MAX_PENDING_ENTRIES;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A backlog past which the writer runs at normal priority.
const URGENT_BACKLOG: usize = MAX_PENDING_ENTRIES / 4;

/// Starts the writer for `verifier`, flushing every `period` on a
/// connection of its own to `database_url`, and sweeping the rate limiter
/// about once a minute.
pub fn spawn(verifier: Arc<Verifier>, database_url: String, period: Duration) {
    let own = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(watchdog(verifier.clone(), own.clone(), period));
    let started =
        std::thread::Builder::new().name("keywarden-usage-writer".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => {
                    tracing::error!(error = %e, "the usage writer has no runtime");
                    return;
                }
            };
            runtime.block_on(run(verifier, database_url, period, own));
        });
    if let Err(e) = started {
        tracing::error!(error = %e, "the usage writer could not start");
    }
}

/// Whether the writer has fallen behind.
fn behind(verifier: &Verifier, period: Duration) -> bool {
    verifier.usage.pending_entries() >= URGENT_BACKLOG || verifier.since_last_flush() >= period * 2
}

/// Puts the writer's threads back at normal priority when it falls behind.
async fn watchdog(verifier: Arc<Verifier>, own: Arc<Mutex<Vec<priority::Tid>>>, period: Duration) {
    let mut every = tokio::time::interval(period / 2);
    loop {
        every.tick().await;
        if behind(&verifier, period) {
            priority::set_idle(&own.lock().unwrap_or_else(|e| e.into_inner()), false);
        }
    }
}

async fn run(
    verifier: Arc<Verifier>,
    database_url: String,
    period: Duration,
    own: Arc<Mutex<Vec<priority::Tid>>>,
) {
    // The SQLite worker thread made while connecting is the writer's too:
    // it does the writing.
    let before = priority::threads();
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
    let mut threads = priority::threads();
    threads.retain(|&t| !before.contains(&t) && priority::name(t).starts_with("sqlx-sqlite"));
    threads.push(priority::current_thread());
    *own.lock().unwrap_or_else(|e| e.into_inner()) = threads.clone();

    // The first write one interval after start, as every later one.
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut swept = Instant::now();
    loop {
        if !behind(&verifier, period) {
            priority::set_idle(&threads, true);
        }
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

/// Thread scheduling, on Linux; elsewhere the writer runs at the
/// process's priority.
mod priority {
    #[cfg(target_os = "linux")]
    pub type Tid = libc::pid_t;
    #[cfg(not(target_os = "linux"))]
    pub type Tid = u32;

    /// The threads of this process.
    pub fn threads() -> Vec<Tid> {
        std::fs::read_dir("/proc/self/task")
            .map(|dir| dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
            .unwrap_or_default()
    }

    /// The name of thread `tid` of this process.
    pub fn name(tid: Tid) -> String {
        std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap_or_default()
    }

    #[cfg(target_os = "linux")]
    pub fn current_thread() -> Tid {
        // SAFETY: gettid has no preconditions.
        unsafe { libc::gettid() }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn current_thread() -> Tid {
        0
    }

    /// Puts `threads` at the lowest priority (`SCHED_IDLE`) or back to
    /// normal; whether it took.
    #[cfg(target_os = "linux")]
    pub fn set_idle(threads: &[Tid], idle: bool) -> bool {
        let policy = if idle { libc::SCHED_IDLE } else { libc::SCHED_OTHER };
        let param = libc::sched_param { sched_priority: 0 };
        threads.iter().all(|&tid| {
            // SAFETY: `param` is a valid sched_param for the call's duration;
            // a tid that has gone away only makes the call fail.
            unsafe { libc::sched_setscheduler(tid, policy, &param) == 0 }
        })
    }

    #[cfg(not(target_os = "linux"))]
    pub fn set_idle(_threads: &[Tid], _idle: bool) -> bool {
        false
    }
}
