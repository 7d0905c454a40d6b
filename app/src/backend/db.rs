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
    let url = sqlite_url_with_create(url)?;
    // An in-memory SQLite database is private to its connection.
    let max = if is_in_memory(&url) { 1 } else { 10 };
    let pool = pool_options().max_connections(max).connect(&url).await?;
    if url.starts_with("sqlite:") && !is_in_memory(&url) {
        // WAL lets readers proceed while a writer commits; it persists in the file.
        sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
    }
    Ok(pool)
}

/// Whether `url` names an in-memory SQLite database (private to one
/// connection, so it cannot have a second pool).
pub fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Set on every SQLite connection: a 64 MiB page cache keeps the request
/// log's indexes in memory while it grows; in WAL mode NORMAL syncs at
/// checkpoints, not on every commit (SQLite's advice); and the WAL file,
/// which a catch-up transaction can grow to hundreds of megabytes, is cut
/// back to 64 MiB after a checkpoint instead of keeping its largest size.
pub const SQLITE_PRAGMAS: [&str; 3] = [
    "PRAGMA cache_size = -65536",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA journal_size_limit = 67108864",
];

fn pool_options() -> AnyPoolOptions {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new().after_connect(|conn, _| {
        Box::pin(async move {
            if conn.backend_name() == "SQLite" {
                for pragma in SQLITE_PRAGMAS {
                    sqlx::query(pragma).execute(&mut *conn).await?;
                }
            }
            Ok(())
        })
    })
}

/// The usage writer's own connection to the database at `url`: one, kept
/// for the life of the process.
pub async fn connect_writer(url: &str) -> Result<Db, sqlx::Error> {
    pool_options()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect(&sqlite_url_with_create(url)?)
        .await
}

/// Taken by one process's usage writers (counts and request log) and the
/// log's retention purge for each transaction: on SQLite they take turns here, not in
/// SQLite's busy handler, which sleeps between tries and seldom finds the
/// write lock free between another writer's back-to-back transactions (a
/// purge under load waited out its busy timeout and failed).
pub type WriteTurn = tokio::sync::Mutex<()>;

/// Begins a transaction that writes. On SQLite it takes the write lock at
/// once (`BEGIN IMMEDIATE`): a deferred transaction that reads and then
/// writes fails on the spot with "database is locked" when another
/// connection wrote in between, where an immediate one waits its turn.
pub async fn begin(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    match Engine::of(db) {
        Engine::Sqlite => db.begin_with("BEGIN IMMEDIATE").await,
        Engine::Postgres => db.begin().await,
    }
}

/// Applies pending migrations.
pub async fn migrate(db: &Db) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(db).await
}

/// The file a SQLite URL (`sqlite://path`, `sqlite:path`, with any query,
/// percent-encoded as sqlx reads it) names; `None` for PostgreSQL and
/// in-memory databases.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    use std::str::FromStr;
    if !url.starts_with("sqlite:") || is_in_memory(url) {
        return None;
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_path_buf())
}

/// The path in the part of a SQLite URL after `sqlite:`.
fn file_of(rest: &str) -> &str {
    let path = rest.trim_start_matches("//");
    path.split('?').next().unwrap_or(path)
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
    let path = file_of(rest);
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
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// `result`, with a unique-constraint violation (on either engine) turned
/// into `clash()`: the one place such violations are recognised.
pub fn on_unique<T>(
    result: Result<T, sqlx::Error>,
    clash: impl FnOnce() -> crate::AppError,
) -> Result<T, crate::AppError> {
    match result {
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Err(clash()),
        other => Ok(other?),
    }
}

/// Whether the database answers.
pub async fn ping(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(db).await.map(|_| ())
}

/// The database engine behind a pool, decided by the URL it was opened with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine of `db`.
    pub fn of(db: &Db) -> Engine {
        if db.connect_options().database_url.scheme().starts_with("postgres") {
            Engine::Postgres
        } else {
            Engine::Sqlite
        }
    }
}

/// `WHERE` conditions for both engines, whose placeholders are numbered as
/// conditions are added (`?` in a condition stands for the next `$n`) and
/// whose values are bound in the same order. sqlx's `QueryBuilder` cannot
/// number placeholders for the `Any` driver; this is the small part of it
/// the list queries need.
#[derive(Debug, Default)]
pub struct Filter {
    conditions: Vec<String>,
    values: Vec<FilterValue>,
}

#[derive(Debug)]
enum FilterValue {
    Text(String),
    Int(i64),
}

impl Filter {
    /// Adds `condition` with one `?` bound to `value`.
    pub fn text(mut self, condition: &str, value: impl Into<String>) -> Self {
        self.push(condition, FilterValue::Text(value.into()));
        self
    }

    /// Adds `condition` with one `?` bound to `value`.
    pub fn int(mut self, condition: &str, value: i64) -> Self {
        self.push(condition, FilterValue::Int(value));
        self
    }

    /// Adds `condition` with no value.
    pub fn plain(mut self, condition: &str) -> Self {
        self.conditions.push(condition.to_string());
        self
    }

    fn push(&mut self, condition: &str, value: FilterValue) {
        let n = self.values.len() + 1;
        debug_assert_eq!(condition.matches('?').count(), 1, "{condition}");
        self.conditions.push(condition.replacen('?', &format!("${n}"), 1));
        self.values.push(value);
    }

    /// The conditions joined with `AND` (`TRUE` when there are none).
    pub fn sql(&self) -> String {
        if self.conditions.is_empty() { "1 = 1".into() } else { self.conditions.join(" AND ") }
    }

    /// Binds the values to `query`, in order.
    pub fn bind<'q, O>(
        &'q self,
        mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
        for value in &self.values {
            query = match value {
                FilterValue::Text(s) => query.bind(s.as_str()),
                FilterValue::Int(i) => query.bind(*i),
            };
        }
        query
    }
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
    fn filters_number_their_placeholders_in_order() {
        let f = Filter::default()
            .text("k.org_id = ?", "o1")
            .plain("k.revoked_at IS NOT NULL")
            .int("k.expires_at > ?", 5)
            .text("LOWER(k.name) LIKE ? ESCAPE '\\'", "%x%");
        assert_eq!(
            f.sql(),
            "k.org_id = $1 AND k.revoked_at IS NOT NULL AND k.expires_at > $2 AND LOWER(k.name) LIKE $3 ESCAPE '\\'"
        );
        assert_eq!(Filter::default().sql(), "1 = 1");
    }

    #[test]
    fn ordered_ids_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..1000).map(|_| new_ordered_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn sqlite_urls_get_create_mode_and_others_are_untouched() {
        let dir = std::env::temp_dir().join(format!("kw-db-{}", new_id()));
        let url = format!("sqlite://{}/k.db", dir.display());
        assert_eq!(sqlite_url_with_create(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(dir.is_dir());
        assert_eq!(sqlite_url_with_create("sqlite::memory:").unwrap(), "sqlite::memory:");
        let pg = "postgres://u@localhost/kw";
        assert_eq!(sqlite_url_with_create(pg).unwrap(), pg);
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        let file = |url| sqlite_file(url).map(|p| p.to_string_lossy().into_owned());
        assert_eq!(file("sqlite:///var/lib/kw.db?mode=rwc").as_deref(), Some("/var/lib/kw.db"));
        assert_eq!(file("sqlite://data/kw.db").as_deref(), Some("data/kw.db"));
        assert_eq!(file("sqlite:kw.db").as_deref(), Some("kw.db"));
        assert_eq!(file("sqlite:///srv/a%20b/kw.db").as_deref(), Some("/srv/a b/kw.db"));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@localhost/kw"), None);
    }
}
