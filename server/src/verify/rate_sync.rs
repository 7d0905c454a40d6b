//! Rate limits across instances sharing one PostgreSQL (docs/design.md#limits-across-instances):
//! every [`INTERVAL`] this instance tells the others what it admitted per
//! key and counts what they admitted against its own limiter, for every key
//! that moved, whether or not it serves that key yet. Decisions stay local
//! (nothing on the request path); across N instances a key gets at most its
//! limit plus what the others admitted in one interval.

use super::Verifier;
use app::backend::rate_sync;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How often admissions are exchanged.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// Each key's total over all instances, as last read.
pub type Seen = HashMap<String, i64>;

/// Runs the exchange until the process ends.
pub fn spawn(verifier: Arc<Verifier>) {
    verifier.limiter.syncing.store(true, Ordering::Relaxed);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // What was admitted before this instance started is history: count
        // from the totals as they stand.
        let mut seen = loop {
            tick.tick().await;
            match rate_sync::totals(&verifier.db).await {
                Ok(totals) => break totals.into_iter().collect::<Seen>(),
                Err(e) => tracing::warn!(error = %e, "rate-limit sync cannot start yet"),
            }
        };
        loop {
            tick.tick().await;
            if let Err(e) = sync_once(&verifier, &mut seen).await {
                tracing::warn!(error = %e, "rate-limit sync failed");
            }
        }
    });
}

/// One exchange: what this instance admitted goes out, what the others
/// admitted since the last exchange is charged here.
pub async fn sync_once(verifier: &Verifier, seen: &mut Seen) -> Result<(), sqlx::Error> {
    let mine = verifier.limiter.take_unsynced();
    let moved = match rate_sync::exchange(&verifier.db, &mine).await {
        Ok(moved) => moved,
        Err(e) => {
            // Told next time instead.
            for (key, n, _) in mine {
                verifier.limiter.give_back_unsynced(&key, n);
            }
            return Err(e);
        }
    };
    let mine: HashMap<String, u64> = mine.into_iter().map(|(key, n, _)| (key, n)).collect();
    let now = verifier.elapsed();
    for (key, total, interval_ns) in moved {
        let own = mine.get(&key).copied().unwrap_or(0) as i64;
        // A key first written after this instance started began at zero.
        let before = seen.insert(key.clone(), total).unwrap_or(0);
        let others = total - before - own;
        if others > 0 {
            let interval_ns = u64::try_from(interval_ns).unwrap_or(0);
            verifier.limiter.charge(&key, others as u64, interval_ns, now);
        }
    }
    Ok(())
}
