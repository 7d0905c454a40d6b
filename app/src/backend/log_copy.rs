//! The request log on PostgreSQL, written with `COPY … FROM STDIN` (text
//! format) into each day's segment, on a connection of the writer's own.
//!
//! Through the pool a chunk is one `INSERT` whose rows travel as one JSON
//! parameter, which PostgreSQL parses and casts row by row; `COPY` sends
//! the rows as tab-separated text that PostgreSQL reads straight into the
//! table. A `COPY` is all or nothing: when PostgreSQL refuses a row's
//! content (an org deleted meanwhile), nothing of the chunk is written and
//! the caller writes it through the pool's statement, which undoes refused
//! rows alone ([`super::usage_writes::write_log_chunk`]).

use super::db::{Db, Engine};
use super::log_segments::{self, Day, KnownDays};
use super::usage_writes::{LogIds, LogRow, in_index_order};
use sqlx::postgres::{PgPool, PgPoolOptions};

/// A connection to the PostgreSQL database behind a pool, for request-log
/// rows. Its connection belongs to the runtime that first uses it: each
/// writer thread opens its own.
#[derive(Debug)]
pub struct LogCopy {
    pool: PgPool,
}

/// What a [`LogCopy::write`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Copied {
    /// Every row was written.
    All,
    /// PostgreSQL refused a row's content; nothing was written.
    Refused,
}

impl LogCopy {
    /// A connection (opened on first use) to the database `db` serves,
    /// when it is PostgreSQL; `None` for SQLite.
    pub fn for_pool(db: &Db) -> Result<Option<LogCopy>, sqlx::Error> {
        if Engine::of(db) != Engine::Postgres {
            return Ok(None);
        }
        let url = db.connect_options().database_url.to_string();
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_lazy(&url)?;
        Ok(Some(LogCopy { pool }))
    }

    /// Writes `rows` in one transaction, one `COPY` per day. A day `days`
    /// does not know yet gets its segment first, over `db` in a transaction
    /// of its own (a new table's foreign key locks `orgs`; made inside this
    /// one, after rows, it could deadlock with an org being deleted). Ids
    /// follow the order of `rows`.
    pub async fn write(
        &self,
        db: &Db,
        rows: &[LogRow<'_>],
        ids: &LogIds,
        days: &KnownDays,
    ) -> Result<Copied, sqlx::Error> {
        let with_ids = in_index_order(rows, ids);
        let by_day =
            || with_ids.chunk_by(|(_, a), (_, b)| Day::of_ms(a.at_ms) == Day::of_ms(b.at_ms));
        for day_rows in by_day() {
            let day = Day::of_ms(day_rows[0].1.at_ms);
            if !days.knows(day) {
                log_segments::ensure(db, day).await?;
                days.learn(day);
            }
        }
        let mut tx = self.pool.begin().await?;
        let mut text = String::new();
        for day_rows in by_day() {
            let day = Day::of_ms(day_rows[0].1.at_ms);
            text.clear();
            for (id, row) in day_rows {
                copy_line(&mut text, id, row);
            }
            let statement = format!(
                "COPY {} (id, org_id, key_id, at_ms, code, path, ip, user_agent) FROM STDIN",
                day.table()
            );
            let copied = async {
                let mut copy = tx.copy_in_raw(&statement).await?;
                copy.send(text.as_bytes()).await?;
                copy.finish().await
            }
            .await;
            match copied {
                Ok(_) => {}
                Err(sqlx::Error::Database(e))
                    if super::usage_writes::refuses_content(e.as_ref()) =>
                {
                    // Let go of the locks at once: the pool's statement
                    // writes the chunk next.
                    tx.rollback().await?;
                    return Ok(Copied::Refused);
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        Ok(Copied::All)
    }
}

/// Appends `row` as a line of `COPY`'s text format.
fn copy_line(out: &mut String, id: &str, row: &LogRow) {
    use std::fmt::Write;
    for field in [Some(id), Some(row.org_id), Some(row.key_id)] {
        copy_field(out, field);
        out.push('\t');
    }
    let _ = write!(out, "{}\t", row.at_ms);
    copy_field(out, Some(row.code));
    for field in [row.path, row.ip, row.user_agent] {
        out.push('\t');
        copy_field(out, field);
    }
    out.push('\n');
}

/// Appends a field of `COPY`'s text format: `\N` for NULL; a backslash,
/// tab, newline or carriage return escaped.
fn copy_field(out: &mut String, field: Option<&str>) {
    let Some(text) = field else {
        out.push_str("\\N");
        return;
    };
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_lines_of_copy_text() {
        let row = LogRow {
            org_id: "o1",
            key_id: "k1",
            at_ms: 1_796_551_200_000,
            code: "VALID",
            path: Some("/a\\b\tc\nd\re"),
            ip: None,
            user_agent: Some("curl/8"),
        };
        let mut out = String::new();
        copy_line(&mut out, "id1", &row);
        assert_eq!(out, "id1\to1\tk1\t1796551200000\tVALID\t/a\\\\b\\tc\\nd\\re\t\\N\tcurl/8\n");
    }
}
