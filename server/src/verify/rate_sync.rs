//! Rate limits across instances sharing one PostgreSQL (DESIGN.md §5.4):
//! every [`INTERVAL`] this instance tells the others what it admitted per
//! key and counts what they admitted against its own limiter. Decisions
//! stay local (nothing on the request path); across N instances a key gets
//! at most its limit plus what the others admitted in one interval.

use super::Verifier;
use app::backend::rate_sync;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How often admissions are exchanged.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// Runs the exchange until the process ends.
pub fn spawn(verifier: Arc<Verifier>) {
    verifier.limiter.syncing.store(true, Ordering::Relaxed);
    tokio::spawn(async move {
        // Each key's total over all instances, as last read.
        let mut seen: HashMap<String, i64> = HashMap::new();
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
pub async fn sync_once(
    verifier: &Verifier,
    seen: &mut HashMap<String, i64>,
) -> Result<(), sqlx::Error> {
    let now = verifier.elapsed();
    let mine = verifier.limiter.take_unsynced(now);
    let totals = match rate_sync::exchange(&verifier.db, &mine).await {
        Ok(totals) => totals,
        Err(e) => {
            // Told next time instead.
            for (key, n) in mine {
                verifier.limiter.give_back_unsynced(&key, n);
            }
            return Err(e);
        }
    };
    let mine: HashMap<String, u64> = mine.into_iter().collect();
    let now = verifier.elapsed();
    for (key, total) in totals {
        let own = mine.get(&key).copied().unwrap_or(0) as i64;
        if let Some(before) = seen.insert(key.clone(), total) {
            let others = total - before - own;
            if others > 0 {
                verifier.limiter.charge(&key, others as u64, now);
            }
        }
    }
    // Forget keys no longer in use here.
    seen.retain(|key, _| mine.contains_key(key));
    Ok(())
}
