//! Usage limits on the request path (docs/design.md#limits-across-instances): each key's uses are
//! spent from a lease held in memory; only when a lease runs out does a
//! request wait for the database (one `UPDATE … RETURNING`, one request per
//! key at a time). Leases grow while a key is busy and go back to the
//! balance at every flush, so the balance the pages show is never more than
//! a flush interval behind.

use app::backend::Db;
use app::backend::db::Engine;
use app::backend::usage_limits::{self, Lease};
use app::domain::{UnixTime, UsageLimit};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The first lease of a key; each further one within a flush interval is
/// twice the last, up to [`MAX_LEASE`].
const FIRST_LEASE: i64 = 1;
const MAX_LEASE: i64 = 1024;
/// How long a spent balance is believed before the database is asked again
/// (another instance may give uses back).
const SPENT_FOR: Duration = Duration::from_millis(250);

/// One key's lease.
#[derive(Debug, Default)]
struct Held {
    /// Uses of the lease not yet spent.
    available: i64,
    /// The balance after the last lease (for the answer's `remaining`).
    left: i64,
    epoch: i64,
    period: UnixTime,
    next_take: i64,
    spent_until: Option<Instant>,
}

/// The outcome of spending one use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spent {
    pub allowed: bool,
    /// Uses left, as this instance knows.
    pub remaining: i64,
}

/// Every key's lease on this instance.
#[derive(Default)]
pub struct Quotas {
    slots: Mutex<HashMap<Arc<str>, Arc<tokio::sync::Mutex<Held>>>>,
}

impl Quotas {
    fn slot(&self, id: &Arc<str>) -> Arc<tokio::sync::Mutex<Held>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(id.clone()).or_default().clone()
    }

    /// Spends one use of key `id` (whose balance the cache last saw at
    /// `epoch`) at `now`.
    pub async fn spend(
        &self,
        db: &Db,
        engine: Engine,
        id: &Arc<str>,
        epoch: i64,
        limit: UsageLimit,
        now: UnixTime,
    ) -> Result<Spent, sqlx::Error> {
        let slot = self.slot(id);
        let mut held = slot.lock().await;
        let period = limit.refill.period_start(now);
        if epoch > held.epoch || period != held.period {
            // The balance was reset or refilled: what was leased before
            // belongs to the old one and is dropped, never spent.
            *held = Held { epoch, period, next_take: FIRST_LEASE, ..Held::default() };
        }
        if held.available == 0 {
            if held.spent_until.is_some_and(|t| Instant::now() < t) {
                return Ok(Spent { allowed: false, remaining: 0 });
            }
            let want = held.next_take.clamp(FIRST_LEASE, MAX_LEASE);
            let Some(Lease { taken, left, epoch }) =
                usage_limits::take(db, engine, id, want, period).await?
            else {
                // The limit was removed and the notice is on its way.
                return Ok(Spent { allowed: true, remaining: 0 });
            };
            held.epoch = held.epoch.max(epoch);
            held.available = taken;
            held.left = left;
            held.next_take = want * 2;
            if taken == 0 {
                held.spent_until = Some(Instant::now() + SPENT_FOR);
                return Ok(Spent { allowed: false, remaining: 0 });
            }
            held.spent_until = None;
        }
        held.available -= 1;
        Ok(Spent { allowed: true, remaining: held.available + held.left })
    }

    /// Gives every unspent lease back to its key's balance and starts
    /// leases small again (each flush, and at shutdown). A key busy
    /// taking a lease right now keeps its own until the next time.
    pub async fn give_back(&self, db: &Db) -> Result<(), sqlx::Error> {
        let slots: Vec<_> = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            // Keys with nothing held are forgotten (bounds memory), unless a
            // spend has just taken the slot (and may be about to fill it: a
            // lease taken into a forgotten slot would never come back).
            slots.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot.try_lock().map_or(true, |h| h.available > 0 || h.spent_until.is_some())
            });
            slots.iter().map(|(id, slot)| (id.clone(), slot.clone())).collect()
        };
        for (id, slot) in slots {
            let Ok(mut held) = slot.try_lock() else { continue };
            if held.available > 0 {
                usage_limits::give_back(db, &id, held.available, held.epoch, held.period).await?;
                held.available = 0;
            }
            held.next_take = FIRST_LEASE;
            held.spent_until = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slot_a_spend_holds_is_not_forgotten() {
        let quotas = Quotas::default();
        let id: Arc<str> = "key".into();
        // A spend between taking the key's slot and locking it.
        let in_flight = quotas.slot(&id);
        let db = app::backend::db::connect("sqlite::memory:").await.unwrap();
        quotas.give_back(&db).await.unwrap();
        assert!(Arc::ptr_eq(&in_flight, &quotas.slot(&id)), "the spend's slot is still the key's");
        drop(in_flight);
        quotas.give_back(&db).await.unwrap();
        let slots = quotas.slots.lock().unwrap();
        assert!(slots.is_empty(), "an idle key is forgotten");
    }
}
