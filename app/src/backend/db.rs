//! Connecting to SQLite or PostgreSQL through one `AnyPool`, and migrating.

use crate::domain::UnixTime;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use std::time::{SystemTime, UNIX_EPOCH};

/// The pool every query runs on; the engine is chosen by the URL.
pub type Db = sqlx::AnyPool;

/// The schema, embedded in the binary and applied on start.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Opens a pool for `url` (`sqlite://…` or `postgres://…`). A SQLite file and
/// its folder are created when missing.
pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let url = sqlite_url_with_create(url)?;
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    // An in-memory SQLite database is private to its connection.
    let max = if in_memory { 1 } else { 10 };
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        .after_connect(|conn, _| {
            Box::pin(async move {
                if conn.backend_name() == "SQLite" {
                    // A 64 MiB page cache keeps the request log's indexes in
                    // memory while it grows; in WAL mode NORMAL syncs at
                    // checkpoints, not on every commit (SQLite's advice).
                    sqlx::query("PRAGMA cache_size = -65536")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA synchronous = NORMAL")
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    if url.starts_with("sqlite:") && !in_memory {
        // WAL lets readers proceed while a writer commits; it persists in the file.
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&pool)
            .await?;
    }
    Ok(pool)
}

/// Applies pending migrations.
pub async fn migrate(db: &Db) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(db).await
}

/// For a SQLite file URL: adds `mode=rwc` so the file is created, and creates
/// its parent folder.
fn sqlite_url_with_create(url: &str) -> Result<String, sqlx::Error> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(url.to_string());
    };
    if url.contains(":memory:") || url.contains("mode=") {
        return Ok(url.to_string());
    }
    let path = rest.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| sqlx::Error::Configuration(e.into()))?;
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}mode=rwc"))
}

/// The current Unix time in seconds.
pub fn now() -> UnixTime {
    now_ms() / 1000
}

/// The current Unix time in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A new random id for a row.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A new id that sorts after every earlier one made by this process (a
/// UUIDv7: milliseconds, then a counter), for rows listed in the order they
/// were written, such as audit entries made within one millisecond.
pub fn new_ordered_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_ids_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..1000).map(|_| new_ordered_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn sqlite_urls_get_create_mode_and_others_are_untouched() {
        let dir = std::env::temp_dir().join(format!("kw-db-{}", new_id()));
        let url = format!("sqlite://{}/k.db", dir.display());
        assert_eq!(
            sqlite_url_with_create(&url).unwrap(),
            format!("{url}?mode=rwc")
        );
        assert!(dir.is_dir());
        assert_eq!(
            sqlite_url_with_create("sqlite::memory:").unwrap(),
            "sqlite::memory:"
        );
        let pg = "postgres://u@localhost/kw";
        assert_eq!(sqlite_url_with_create(pg).unwrap(), pg);
    }
}
