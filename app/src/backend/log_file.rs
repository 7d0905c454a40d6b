//! The request log on a SQLite file, written by the usage writers through a
//! connection of their own: one prepared statement, a row at a time, in one
//! transaction per chunk, on the calling thread (so a writer's priority is
//! the priority the writing runs at).
//!
//! Through the pool, sqlx hands each statement to its connection's worker
//! thread and back, so a batch had to be one statement with its rows as a
//! JSON parameter; SQLite parsing that JSON cost more than inserting the
//! rows. A prepared statement bound row by row skips both the hand-off and
//! the parsing (`scripts/bench-verify` measures the difference). PostgreSQL
//! and in-memory SQLite keep the pool's statement
//! ([`super::usage_writes::write_log_chunk`]).

use super::db::{self, Db};
use super::usage_writes::{LogIds, LogRow};
use std::sync::Mutex;
use std::time::Duration;

const INSERT: &str = "INSERT INTO request_log (id, org_id, key_id, at_ms, code, path, ip, user_agent) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// A connection to the SQLite file behind a pool, for request-log rows.
pub struct LogFile {
    connection: Mutex<rusqlite::Connection>,
}

impl std::fmt::Debug for LogFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogFile")
    }
}

impl LogFile {
    /// Opens the file that `pool` serves, when it is a SQLite file (already
    /// migrated); `None` for PostgreSQL and in-memory SQLite.
    pub fn for_pool(pool: &Db) -> Result<Option<LogFile>, sqlx::Error> {
        let options = pool.connect_options();
        let Some(path) = db::sqlite_file(options.database_url.as_str()) else {
            return Ok(None);
        };
        let connection = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(driver)?;
        // As the pool's connections (sqlx turns foreign keys on): a row
        // for a deleted org is refused.
        for pragma in db::SQLITE_PRAGMAS.iter().chain(&["PRAGMA foreign_keys = ON"]) {
            connection.execute_batch(pragma).map_err(driver)?;
        }
        connection.busy_timeout(Duration::from_secs(5)).map_err(driver)?;
        Ok(Some(LogFile { connection: Mutex::new(connection) }))
    }

    /// Writes `rows` in one transaction and returns how many the database
    /// refused for their content (a row of an org deleted meanwhile):
    /// SQLite undoes a refused row's statement alone, so the rest stand.
    /// Ids follow the order of `rows`. Blocks the calling thread while it
    /// writes.
    pub fn write(&self, rows: &[LogRow<'_>], ids: &mut LogIds) -> Result<usize, sqlx::Error> {
        let mut connection = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        let tx = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(driver)?;
        let mut refused = 0;
        {
            let mut insert = tx.prepare_cached(INSERT).map_err(driver)?;
            let mut id = String::with_capacity(29);
            for row in rows {
                ids.next_into(row.at_ms, &mut id);
                let done = insert.execute(rusqlite::params![
                    id,
                    row.org_id,
                    row.key_id,
                    row.at_ms,
                    row.code,
                    row.path,
                    row.ip,
                    row.user_agent
                ]);
                match done {
                    Ok(_) => {}
                    Err(rusqlite::Error::SqliteFailure(e, _))
                        if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        tracing::warn!(error = %e, "request-log entry refused by the database; dropped");
                        refused += 1;
                    }
                    // Anything else (disk full, the lock not had in time)
                    // fails the chunk: rolled back, it is kept to retry.
                    Err(e) => return Err(driver(e)),
                }
            }
        }
        tx.commit().map_err(driver)?;
        Ok(refused)
    }
}

fn driver(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::AnyDriverError(Box::new(e))
}
