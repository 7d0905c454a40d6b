//! Usage-limit leases (docs/design.md#limits-across-instances). A key's balance lives in
//! `api_keys.usage_remaining`; an instance takes a few uses at a time with
//! one atomic `UPDATE … RETURNING`, spends them in memory and gives back
//! what it did not spend. However many instances serve a key, no more uses
//! leave the balance than it holds; a crashed instance loses only its
//! unspent lease (the key ends with fewer uses, never more).

use crate::backend::db::{Db, Engine};
use crate::domain::UnixTime;

/// Uses taken from a key's balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Lease {
    /// How many uses this lease holds (0: the balance is spent).
    pub taken: i64,
    /// What is left in the balance after it.
    pub left: i64,
    /// The balance's edit count: an edit that resets the balance makes
    /// older leases void.
    pub epoch: i64,
}

/// Takes up to `want` uses of key `id`'s balance for the refill period
/// starting at `period` (a refill due since the last lease happens here,
/// first). `None` when the key has no usage limit.
pub async fn take(
    db: &Db,
    engine: Engine,
    id: &str,
    want: i64,
    period: UnixTime,
) -> Result<Option<Lease>, sqlx::Error> {
    let least = match engine {
        Engine::Postgres => "LEAST",
        Engine::Sqlite => "MIN",
    };
    // Every SET expression sees the row as it was, so the refilled balance
    // is spelled out where it is used.
    let due = "usage_refill <> 'none' AND usage_period < $3";
    let balance = format!(
        "(CASE WHEN {due} THEN usage_limit ELSE COALESCE(usage_remaining, usage_limit) END)"
    );
    let sql = format!(
        "UPDATE api_keys SET usage_taken = {least}($2, {balance}), \
         usage_remaining = {balance} - {least}($2, {balance}), \
         usage_period = CASE WHEN {due} THEN $3 ELSE usage_period END \
         WHERE id = $1 AND usage_limit IS NOT NULL \
         RETURNING usage_taken AS taken, usage_remaining AS left, usage_epoch AS epoch"
    );
    sqlx::query_as(&sql).bind(id).bind(want).bind(period).fetch_optional(db).await
}

/// Gives `unspent` uses of a lease back to key `id`'s balance, unless the
/// balance was reset (an edit) or refilled since the lease was taken.
pub async fn give_back(
    db: &Db,
    id: &str,
    unspent: i64,
    epoch: i64,
    period: UnixTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_keys SET usage_remaining = usage_remaining + $2 \
         WHERE id = $1 AND usage_epoch = $3 AND usage_period = $4",
    )
    .bind(id)
    .bind(unspent)
    .bind(epoch)
    .bind(period)
    .execute(db)
    .await?;
    Ok(())
}
