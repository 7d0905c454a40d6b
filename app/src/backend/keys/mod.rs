//! API keys: storage ([`store`]), the one service every change goes
//! through ([`service`]: the page's server functions and the REST API
//! alike), and the change notices that keep every instance's verification
//! cache honest.

pub mod rules;
pub mod service;
pub mod store;
pub mod views;

pub use rules::{edit_changes, grace_until, not_revoked, resets_usage};
pub use service::{Actor, By, KeyEdit, NewKeySpec, reachable};
pub use store::{KeyRow, NewKey, PER_PAGE, find, insert, list, org_has_keys};
pub use views::{view, views};

use crate::backend::db::Engine;
use crate::error::AppError;
use sqlx::AnyConnection;

/// The PostgreSQL channel on which every instance hears of key changes.
pub const CHANGE_CHANNEL: &str = "keywarden_key_changes";

/// On PostgreSQL, queues a notice of key `id`'s change on [`CHANGE_CHANNEL`]
/// inside the transaction, so other instances hear of it exactly when it
/// commits (and never of a change that rolled back). The payload is
/// `"<instance> <key id>"` ([`parse_notice`]). SQLite serves a single
/// instance and needs none.
pub async fn notify_change(
    conn: &mut AnyConnection,
    engine: Engine,
    instance: &str,
    id: &str,
) -> Result<(), AppError> {
    if engine == Engine::Postgres {
        // Counted so the Any driver never sees pg_notify's `void` column.
        sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS sent")
            .bind(CHANGE_CHANNEL)
            .bind(format!("{instance} {id}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Queues a notice that every key of org `org_id` changed (a suspension
/// or its end), like [`notify_change`]: one notice for the whole org.
pub async fn notify_org_change(
    conn: &mut AnyConnection,
    engine: Engine,
    instance: &str,
    org_id: &str,
) -> Result<(), AppError> {
    notify_change(conn, engine, instance, &format!("{ORG_NOTICE}{org_id}")).await
}

/// Marks an org-wide notice's subject (key ids never start with it).
const ORG_NOTICE: &str = "org:";

/// What a change notice is about.
#[derive(Debug, PartialEq, Eq)]
pub enum Changed<'a> {
    Key(&'a str),
    Org(&'a str),
}

/// The sending instance and the subject of a change notice.
pub fn parse_notice(payload: &str) -> (Option<&str>, Changed<'_>) {
    let (instance, subject) = match payload.split_once(' ') {
        Some((instance, subject)) => (Some(instance), subject),
        None => (None, payload),
    };
    let changed = match subject.strip_prefix(ORG_NOTICE) {
        Some(org_id) => Changed::Org(org_id),
        None => Changed::Key(subject),
    };
    (instance, changed)
}

/// Commits a change to key `id` and tells this instance's verification
/// cache (other instances hear of it through [`notify_change`]), so the next
/// request sees it. Every key change ends here.
pub async fn commit_change(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    state: &super::AppState,
    id: &str,
) -> Result<(), AppError> {
    notify_change(&mut tx, state.engine, &state.instance, id).await?;
    tx.commit().await?;
    state.key_changed(id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Changed, parse_notice};

    #[test]
    fn notices_name_their_sender_and_subject() {
        assert_eq!(parse_notice("inst1 key9"), (Some("inst1"), Changed::Key("key9")));
        assert_eq!(parse_notice("key9"), (None, Changed::Key("key9")));
        assert_eq!(parse_notice("inst1 org:o7"), (Some("inst1"), Changed::Org("o7")));
    }
}
