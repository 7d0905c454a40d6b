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
use super::log_segments::{self, Day, KnownDays};
use super::usage_writes::{LogIds, LogRow};
use std::sync::Mutex;
use std::time::Duration;

/// Rows written between offers of the core to other threads (about a
/// fifth of a millisecond): the writer shares a busy core with the threads
/// that answer requests, and the scheduler would otherwise let it run for a
/// whole time slice (milliseconds) while requests wait.
const ROWS_BETWEEN_YIELDS: usize = 64;

/// How long a write waits for another connection's write lock (as the
/// pool's connections do, sqlx's default).
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// The statement writing a row into `day`'s segment.
fn insert_sql(day: Day) -> String {
    format!(
        "INSERT INTO {} (id, org_id, key_id, at_ms, code, path, ip, user_agent) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        day.table()
    )
}

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
        // Never wait inside SQLite: [`LogFile::write`] waits for the lock
        // itself, without holding up the thread's other tasks.
        connection.busy_timeout(Duration::ZERO).map_err(driver)?;
        Ok(Some(LogFile { connection: Mutex::new(connection) }))
    }

    /// Writes `rows` in one transaction, each into its day's segment (made
    /// when `days` does not know it yet), and returns how many the database
    /// refused for their content (a row of an org deleted meanwhile):
    /// SQLite undoes a refused row's statement alone, so the rest stand.
    /// Ids follow the order of `rows`. While another connection writes, it
    /// waits without blocking the thread (up to [`LOCK_WAIT`]: a flush may
    /// run on a runtime whose other tasks hold the lock). The writing itself
    /// blocks the calling thread: the usage writers' own threads, or the
    /// shutdown flush once the server has stopped serving.
    pub async fn write(
        &self,
        rows: &[LogRow<'_>],
        ids: &LogIds,
        days: &KnownDays,
    ) -> Result<usize, sqlx::Error> {
        let started = std::time::Instant::now();
        loop {
            match self.try_write(rows, ids, days)? {
                Some(refused) => return Ok(refused),
                None if started.elapsed() < LOCK_WAIT => {
                    tokio::time::sleep(Duration::from_millis(1)).await
                }
                None => {
                    return Err(driver(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some("the request log waited too long for the database".into()),
                    )));
                }
            }
        }
    }

    /// One try at [`LogFile::write`]: `None` when another connection holds
    /// the write lock.
    fn try_write(
        &self,
        rows: &[LogRow<'_>],
        ids: &LogIds,
        days: &KnownDays,
    ) -> Result<Option<usize>, sqlx::Error> {
        let mut connection = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        let tx =
            match connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
                Ok(tx) => tx,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(driver(e)),
            };
        let mut refused = 0;
        let mut made = Vec::new();
        {
            let mut insert: Option<(Day, rusqlite::CachedStatement)> = None;
            let mut id = String::with_capacity(29);
            for (n, row) in rows.iter().enumerate() {
                if n % ROWS_BETWEEN_YIELDS == ROWS_BETWEEN_YIELDS - 1 {
                    std::thread::yield_now();
                }
                let day = Day::of_ms(row.at_ms);
                let mut statement = match insert.take() {
                    Some((d, statement)) if d == day => statement,
                    _ => {
                        if !days.knows(day) && !made.contains(&day) {
                            ensure(&tx, day)?;
                            made.push(day);
                        }
                        tx.prepare_cached(&insert_sql(day)).map_err(driver)?
                    }
                };
                ids.next_into(row.at_ms, &mut id);
                let done = statement.execute(rusqlite::params![
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
                    // Anything else (disk full) fails the chunk: rolled
                    // back, it is kept to retry.
                    Err(e) => return Err(driver(e)),
                }
                insert = Some((day, statement));
            }
        }
        tx.commit().map_err(driver)?;
        for day in made {
            days.learn(day);
        }
        Ok(Some(refused))
    }
}

/// Makes `day`'s segment within `tx` when it is missing.
fn ensure(tx: &rusqlite::Transaction, day: Day) -> Result<(), sqlx::Error> {
    let list = log_segments::list_sql(db::Engine::Sqlite);
    let names: Vec<String> = tx
        .prepare(list)
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(driver)?;
    for statement in log_segments::ensure_statements(day, &names) {
        tx.execute_batch(&statement).map_err(driver)?;
    }
    Ok(())
}

fn driver(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::AnyDriverError(Box::new(e))
}
