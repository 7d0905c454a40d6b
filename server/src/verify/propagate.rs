//! Change notices between instances sharing one PostgreSQL: every key change
//! commits a `pg_notify` on [`CHANGE_CHANNEL`]; each instance listens and
//! drops its cache entries for that key. While the listening connection is
//! down, notices can be missed, so the cache is bypassed (every request reads
//! the database) until it is listening again, and starts empty.

use super::cache::KeyCache;
use app::backend::keys::{CHANGE_CHANNEL, Changed, parse_notice};
use sqlx::postgres::PgListener;
use std::sync::Arc;
use std::time::Duration;

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Whether `database_url` needs change notices (several instances may share
/// a PostgreSQL; a SQLite file serves one).
pub fn needed(database_url: &str) -> bool {
    database_url.starts_with("postgres:") || database_url.starts_with("postgresql:")
}

/// Listens for change notices until the process ends. The cache is deaf from
/// the start until the first `LISTEN` succeeds; returns once it has (or
/// has failed for the first time), so serving may begin.
/// Notices sent by `instance` (this process) are skipped: it applied its own
/// changes when it committed them.
pub async fn spawn(database_url: String, cache: Arc<KeyCache>, instance: Arc<str>) {
    cache.set_deaf(true);
    let first = connect(&database_url).await;
    let (ready, started) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(run(database_url, cache, instance, first, ready));
    let _ = started.await;
}

async fn connect(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANGE_CHANNEL).await?;
    Ok(listener)
}

async fn run(
    url: String,
    cache: Arc<KeyCache>,
    instance: Arc<str>,
    mut attempt: Result<PgListener, sqlx::Error>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(100);
    loop {
        match attempt {
            Ok(mut listener) => {
                cache.set_deaf(false);
                backoff = Duration::from_millis(100);
                tracing::info!("listening for key changes from other instances");
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                let why = hear(&mut listener, &cache, &instance).await;
                cache.set_deaf(true);
                tracing::warn!(error = %why, "lost the key-change listener; reading the database until it is back");
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for key changes; reading the database until it works");
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        attempt = connect(&url).await;
    }
}

/// Applies notices until the connection fails; returns why.
async fn hear(listener: &mut PgListener, cache: &KeyCache, instance: &str) -> String {
    loop {
        match listener.try_recv().await {
            Ok(Some(notice)) => match parse_notice(notice.payload()) {
                (Some(from), _) if from == instance => {}
                (_, Changed::Key(id)) => cache.invalidate(id),
                (_, Changed::Org(id)) => cache.invalidate_org(id),
            },
            // The connection dropped (try_recv would reconnect silently,
            // but notices sent meanwhile would be lost unnoticed).
            Ok(None) => return "connection closed".into(),
            Err(e) => return e.to_string(),
        }
    }
}
