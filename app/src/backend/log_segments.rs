//! The request log in day segments: one table per UTC day
//! (`request_log_20261206`), each with its own indexes. Retention drops a
//! whole day (`DROP TABLE`, a moment) where deleting its rows took minutes
//! of the core on a busy instance, and the day being written has indexes a
//! day's size. Rows go to the table of their own time, so segments never
//! overlap: the log's pages read them newest first ([`super::usage`]).
//!
//! A view named `request_log` unions the segments for reading by hand
//! (and by the tests); it is rebuilt whenever a segment comes or goes.
//! Rows written before segments existed stay in [`LEGACY`], read as the
//! oldest segment and purged row by row until it is empty, then dropped.
//!
//! The SQL here runs over the pool (PostgreSQL, in-memory SQLite, the
//! purge) or over the request log's own SQLite connection
//! ([`super::log_file`]); both take it from [`ensure_statements`].

use super::db::{self, Db, Engine};
use crate::domain::calendar::{civil_from_days, days_from_civil};
use std::collections::HashSet;
use std::sync::Mutex;

/// The table of the rows written before day segments (migration 0011).
pub const LEGACY: &str = "request_log_legacy";

/// The columns of every segment, in the view's order.
const COLUMNS: &str = "id, org_id, key_id, at_ms, code, path, ip, user_agent";

/// Lists the tables of the log (day segments and [`LEGACY`]), in any order.
const LIST_SQLITE: &str = "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'request\\_log\\_%' ESCAPE '\\'";
const LIST_POSTGRES: &str = "SELECT CAST(tablename AS TEXT) FROM pg_tables \
     WHERE schemaname = current_schema() AND tablename LIKE 'request\\_log\\_%'";

/// Serialises segment changes between instances on PostgreSQL (two
/// instances creating one day's table at once would clash); SQLite's write
/// lock does the same there.
const POSTGRES_LOCK: &str = "SELECT pg_advisory_xact_lock(7231040501)";

/// A UTC day, as days since 1970-01-01: the span of one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i64);

impl Day {
    /// The day of Unix milliseconds `at_ms`.
    pub fn of_ms(at_ms: i64) -> Day {
        Day(at_ms.div_euclid(86_400_000))
    }

    /// Its first millisecond.
    pub fn start_ms(self) -> i64 {
        self.0 * 86_400_000
    }

    /// The first millisecond of the next day.
    pub fn end_ms(self) -> i64 {
        (self.0 + 1) * 86_400_000
    }

    /// Its segment's table, `request_log_YYYYMMDD`.
    pub fn table(self) -> String {
        let (y, m, d) = civil_from_days(self.0);
        format!("request_log_{y:04}{m:02}{d:02}")
    }

    /// The day of a segment's table name; `None` for any other name.
    pub fn of_table(name: &str) -> Option<Day> {
        let digits = name.strip_prefix("request_log_")?;
        if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (y, m, d) = (&digits[..4], &digits[4..6], &digits[6..]);
        let (y, m, d) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        let day = Day(days_from_civil(y, m, d));
        (day.table() == name).then_some(day)
    }
}

/// One table of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    Day(Day),
    Legacy,
}

impl Segment {
    /// Its table's name.
    pub fn table(self) -> String {
        match self {
            Segment::Day(day) => day.table(),
            Segment::Legacy => LEGACY.to_string(),
        }
    }

    /// Whether it may hold rows from `from_ms` on.
    fn reaches(self, from_ms: i64) -> bool {
        match self {
            Segment::Day(day) => day.end_ms() > from_ms,
            Segment::Legacy => true,
        }
    }
}

/// The segments among table names `names`, newest first ([`LEGACY`] last).
fn segments_of(names: impl IntoIterator<Item = String>) -> Vec<Segment> {
    let mut days = Vec::new();
    let mut legacy = false;
    for name in names {
        match Day::of_table(&name) {
            Some(day) => days.push(day),
            None => legacy |= name == LEGACY,
        }
    }
    days.sort_unstable_by(|a, b| b.cmp(a));
    let mut segments: Vec<Segment> = days.into_iter().map(Segment::Day).collect();
    if legacy {
        segments.push(Segment::Legacy);
    }
    segments
}

/// The statement listing the log's tables on `engine`.
pub fn list_sql(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => LIST_SQLITE,
        Engine::Postgres => LIST_POSTGRES,
    }
}

/// The log's segments that may hold rows from `from_ms` on, newest first.
pub async fn segments_since(db: &Db, from_ms: i64) -> Result<Vec<Segment>, sqlx::Error> {
    let names: Vec<(String,)> = sqlx::query_as(list_sql(Engine::of(db))).fetch_all(db).await?;
    let segments = segments_of(names.into_iter().map(|(n,)| n));
    Ok(segments.into_iter().filter(|s| s.reaches(from_ms)).collect())
}

/// What creates `day`'s segment (if missing) and rebuilds the view, given
/// the names of the log's tables now (`existing`): nothing when the day is
/// among them. A day's rows are held to the day by a check, which also
/// lets PostgreSQL skip segments when reading the view.
pub fn ensure_statements(day: Day, existing: &[String]) -> Vec<String> {
    let t = day.table();
    if existing.contains(&t) {
        return Vec::new();
    }
    let (from, to) = (day.start_ms(), day.end_ms());
    let mut statements = vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (\
             id TEXT NOT NULL, \
             org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE, \
             key_id TEXT NOT NULL, \
             at_ms BIGINT NOT NULL CHECK (at_ms >= {from} AND at_ms < {to}), \
             code TEXT NOT NULL, path TEXT, ip TEXT, user_agent TEXT)"
        ),
        format!("CREATE INDEX IF NOT EXISTS {t}_by_org ON {t} (org_id, at_ms)"),
        format!("CREATE INDEX IF NOT EXISTS {t}_by_key ON {t} (key_id, at_ms)"),
        // As `request_log_refused` (migration 0010): refused outcomes by
        // org; valid calls (nearly every row) cost nothing more to write.
        format!(
            "CREATE INDEX IF NOT EXISTS {t}_refused ON {t} (org_id, code, at_ms) \
             WHERE code <> 'VALID'"
        ),
    ];
    let mut tables: Vec<String> = existing.to_vec();
    tables.push(t);
    statements.extend(view_statements(&tables));
    statements
}

/// Rebuilds the `request_log` view over `tables` (the log's tables).
fn view_statements(tables: &[String]) -> Vec<String> {
    let segments = segments_of(tables.iter().cloned());
    let body = if segments.is_empty() {
        // No table at all (every day dropped, no legacy): an empty view
        // with the columns' types.
        "SELECT CAST(NULL AS TEXT) AS id, CAST(NULL AS TEXT) AS org_id, \
         CAST(NULL AS TEXT) AS key_id, CAST(NULL AS BIGINT) AS at_ms, \
         CAST(NULL AS TEXT) AS code, CAST(NULL AS TEXT) AS path, \
         CAST(NULL AS TEXT) AS ip, CAST(NULL AS TEXT) AS user_agent WHERE 1 = 0"
            .to_string()
    } else {
        // SQLite takes at most 500 terms in one compound SELECT: past
        // [`VIEW_GROUP`] tables (more than a year of days), the view joins
        // groups of them, each a subquery.
        let union = |tables: &[Segment]| {
            tables
                .iter()
                .map(|s| format!("SELECT {COLUMNS} FROM {}", s.table()))
                .collect::<Vec<_>>()
                .join(" UNION ALL ")
        };
        if segments.len() <= VIEW_GROUP {
            union(&segments)
        } else {
            segments
                .chunks(VIEW_GROUP)
                .enumerate()
                .map(|(n, group)| format!("SELECT {COLUMNS} FROM ({}) AS g{n}", union(group)))
                .collect::<Vec<_>>()
                .join(" UNION ALL ")
        }
    };
    vec!["DROP VIEW IF EXISTS request_log".into(), format!("CREATE VIEW request_log AS {body}")]
}

/// Tables per compound SELECT in the view (SQLite allows 500 terms).
const VIEW_GROUP: usize = 400;

/// The days whose segments this process knows to exist, so a write runs
/// no DDL (and no listing) but on a new day. A day is forgotten when a
/// write to it fails, so a segment dropped meanwhile is made again.
#[derive(Debug, Default)]
pub struct KnownDays(Mutex<HashSet<Day>>);

impl KnownDays {
    /// Whether `day`'s segment is known to exist.
    pub fn knows(&self, day: Day) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).contains(&day)
    }

    /// Marks `day`'s segment as existing.
    pub fn learn(&self, day: Day) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(day);
    }

    /// Forgets every day (after a failed write).
    pub fn forget(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Makes sure `day`'s segment exists, within `tx` (over the pool).
pub async fn ensure_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    engine: Engine,
    day: Day,
) -> Result<(), sqlx::Error> {
    if engine == Engine::Postgres {
        sqlx::query(POSTGRES_LOCK).execute(&mut **tx).await?;
    }
    let names: Vec<(String,)> = sqlx::query_as(list_sql(engine)).fetch_all(&mut **tx).await?;
    let names: Vec<String> = names.into_iter().map(|(n,)| n).collect();
    for statement in ensure_statements(day, &names) {
        sqlx::query(&statement).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Makes sure `day`'s segment exists (for rows written by hand: imports,
/// the tests).
pub async fn ensure(db: &Db, day: Day) -> Result<(), sqlx::Error> {
    let mut tx = db::begin(db).await?;
    ensure_in(&mut tx, Engine::of(db), day).await?;
    tx.commit().await
}

/// Makes today's and tomorrow's segments when missing, each in a
/// transaction of its own: on start and hourly, so the writers seldom make
/// one inside a transaction that has already written rows (on PostgreSQL a
/// new table's foreign key locks `orgs`, which could deadlock with an org
/// being deleted).
pub async fn ensure_ahead(db: &Db) -> Result<(), sqlx::Error> {
    let today = Day::of_ms(db::now_ms());
    ensure(db, today).await?;
    ensure(db, Day(today.0 + 1)).await
}

/// Drops the day segments wholly before `cutoff_ms` (Unix milliseconds),
/// each in a transaction of its own with the view rebuilt without it first
/// (PostgreSQL refuses to drop a table a view reads); returns how many
/// were dropped.
/// [`LEGACY`] is dropped with them when it is empty. Each transaction
/// takes its `turn` among this process's writers.
pub async fn drop_before(
    db: &Db,
    cutoff_ms: i64,
    turn: &db::WriteTurn,
) -> Result<usize, sqlx::Error> {
    let engine = Engine::of(db);
    let listing = turn.lock().await;
    let mut tx = db::begin(db).await?;
    if engine == Engine::Postgres {
        sqlx::query(POSTGRES_LOCK).execute(&mut *tx).await?;
    }
    let names: Vec<(String,)> = sqlx::query_as(list_sql(engine)).fetch_all(&mut *tx).await?;
    let mut gone = Vec::new();
    for segment in segments_of(names.into_iter().map(|(n,)| n)) {
        let past = match segment {
            Segment::Day(day) => day.end_ms() <= cutoff_ms,
            Segment::Legacy => {
                let any: Option<(i64,)> =
                    sqlx::query_as(&format!("SELECT CAST(1 AS BIGINT) FROM {LEGACY} LIMIT 1"))
                        .fetch_optional(&mut *tx)
                        .await?;
                any.is_none()
            }
        };
        if past {
            gone.push(segment.table());
        }
    }
    tx.commit().await?;
    drop(listing);
    // Each table in a transaction of its own, the view rebuilt without it
    // from the tables there are then (a writer may have made a day since).
    for table in &gone {
        let _turn = turn.lock().await;
        let mut tx = db::begin(db).await?;
        if engine == Engine::Postgres {
            sqlx::query(POSTGRES_LOCK).execute(&mut *tx).await?;
        }
        let names: Vec<(String,)> = sqlx::query_as(list_sql(engine)).fetch_all(&mut *tx).await?;
        let kept: Vec<String> = names.into_iter().map(|(n,)| n).filter(|n| n != table).collect();
        for statement in view_statements(&kept) {
            sqlx::query(&statement).execute(&mut *tx).await?;
        }
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}")).execute(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok(gone.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_name_their_tables_and_back() {
        // 2026-12-06T10:00:00Z
        let day = Day::of_ms(1_796_551_200_000);
        assert_eq!(day.table(), "request_log_20261206");
        assert_eq!(Day::of_table("request_log_20261206"), Some(day));
        assert_eq!(day.start_ms(), 1_796_515_200_000);
        assert_eq!(day.end_ms() - day.start_ms(), 86_400_000);
        assert_eq!(Day::of_ms(day.end_ms() - 1), day);
        assert_ne!(Day::of_ms(day.end_ms()), day);
        for name in ["request_log_2026120", "request_log_20261340", "request_log_legacy", "x"] {
            assert_eq!(Day::of_table(name), None, "{name}");
        }
    }

    #[test]
    fn segments_list_newest_first_with_the_legacy_table_last() {
        let names = ["request_log_20261204", LEGACY, "request_log_20261206", "request_log_x"];
        let tables: Vec<String> =
            segments_of(names.map(String::from)).into_iter().map(Segment::table).collect();
        assert_eq!(tables, ["request_log_20261206", "request_log_20261204", LEGACY]);
    }

    #[test]
    fn the_view_reads_more_tables_than_sqlite_takes_in_one_compound_select() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch("CREATE TABLE orgs (id TEXT PRIMARY KEY)").unwrap();
        let mut names = Vec::new();
        for n in 0..1001 {
            let day = Day(20_000 + n);
            for statement in ensure_statements(day, &names) {
                if statement.starts_with("CREATE TABLE") || n == 1000 {
                    db.execute_batch(&statement).unwrap();
                }
            }
            names.push(day.table());
        }
        db.execute_batch(
            "INSERT INTO orgs VALUES ('o'); INSERT INTO request_log_20241005 \
             (id, org_id, key_id, at_ms, code) VALUES ('i', 'o', 'k', 1728100000000, 'VALID')",
        )
        .unwrap();
        let n: i64 = db.query_row("SELECT COUNT(*) FROM request_log", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_known_day_needs_no_statements_and_a_new_one_rebuilds_the_view() {
        let day = Day::of_ms(1_796_551_200_000);
        assert!(ensure_statements(day, &[day.table()]).is_empty());
        let made = ensure_statements(day, &[LEGACY.to_string()]);
        assert!(made[0].starts_with("CREATE TABLE IF NOT EXISTS request_log_20261206 ("));
        assert!(made[0].contains("CHECK (at_ms >= 1796515200000 AND at_ms < 1796601600000)"));
        assert_eq!(
            made.last().unwrap(),
            "CREATE VIEW request_log AS SELECT id, org_id, key_id, at_ms, code, path, ip, user_agent \
             FROM request_log_20261206 UNION ALL SELECT id, org_id, key_id, at_ms, code, path, ip, \
             user_agent FROM request_log_legacy"
        );
    }
}
