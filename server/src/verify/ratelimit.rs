//! Per-key rate limiting in memory with GCRA (the generic cell rate
//! algorithm): `limit` requests per `window`, bursts up to `limit`, one
//! timestamp of state per key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The answer for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    /// Requests still allowed right now.
    pub remaining: u32,
    /// Milliseconds until the next request is allowed (when refused) or until
    /// the full allowance is back (when allowed).
    pub reset_ms: u64,
}

const SHARDS: usize = 64;

/// Key id → its state.
type Shard = HashMap<String, Slot, foldhash::fast::RandomState>;

/// One key's state.
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// The theoretical arrival time, in nanoseconds since the epoch.
    tat: u64,
    /// One request's share of the window, as last checked.
    interval: u64,
    /// Requests admitted here since the last sync with other instances.
    unsynced: u64,
}

/// What one instance admitted for a key since its last sync: (key id,
/// requests, one request's share of the key's window in nanoseconds).
pub type Admitted = (String, u64, u64);

/// Per-key state, sharded so concurrent keys rarely share a lock.
pub struct RateLimiter {
    shards: Vec<Mutex<Shard>>,
    /// Set once admissions are synced with other instances (PostgreSQL).
    pub syncing: AtomicBool,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            syncing: AtomicBool::new(false),
        }
    }
}

impl RateLimiter {
    /// Counts one request for `key` at `now` (time since any fixed epoch).
    pub fn check(&self, key: &str, limit: u32, window: Duration, now: Duration) -> Decision {
        let limit = limit.max(1);
        let window_ns = nanos(window).max(1);
        let interval = (window_ns / u64::from(limit)).max(1);
        let now_ns = nanos(now);
        let mut shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        let slot = shard.get_mut(key);
        let tat = slot.as_deref().map_or(now_ns, |s| s.tat).max(now_ns);
        let new_tat = tat.saturating_add(interval);
        if new_tat - now_ns > window_ns {
            let retry = (new_tat - window_ns).saturating_sub(now_ns);
            return Decision { allowed: false, limit, remaining: 0, reset_ms: ceil_ms(retry) };
        }
        // A key's slot is made once; later calls only update it.
        match slot {
            Some(slot) => {
                slot.tat = new_tat;
                slot.interval = interval;
                slot.unsynced += 1;
            }
            None => {
                shard.insert(key.to_string(), Slot { tat: new_tat, interval, unsynced: 1 });
            }
        }
        let used = new_tat - now_ns;
        let remaining = ((window_ns - used) / interval) as u32;
        Decision { allowed: true, limit, remaining, reset_ms: ceil_ms(used) }
    }

    /// Forgets a key (after it is deleted or its limit changes).
    pub fn forget(&self, key: &str) {
        self.shard(key).lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }

    /// Drops keys whose allowance is full again at `now` and that have
    /// nothing left to sync, to bound memory.
    pub fn sweep(&self, now: Duration) {
        let now_ns = nanos(now);
        let syncing = self.syncing.load(Ordering::Relaxed);
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|_, slot| slot.tat > now_ns || (syncing && slot.unsynced > 0));
        }
    }

    /// Every key that admitted a request here since the last call, with how
    /// many (counting starts afresh) and one request's share of its window
    /// in nanoseconds: what this instance tells the others.
    pub fn take_unsynced(&self) -> Vec<Admitted> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            for (key, slot) in shard.iter_mut().filter(|(_, slot)| slot.unsynced > 0) {
                let interval_ns = slot.interval;
                out.push((key.clone(), std::mem::take(&mut slot.unsynced), interval_ns));
            }
        }
        out
    }

    /// Puts back admissions a failed sync could not tell.
    pub fn give_back_unsynced(&self, key: &str, requests: u64) {
        let mut shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = shard.get_mut(key) {
            slot.unsynced += requests;
        }
    }

    /// Counts `requests` admitted by other instances against `key`, as if
    /// they had come here (at `now`). A key not in use here gets a slot
    /// from the other instance's `interval_ns`, so its first requests here
    /// find the allowance the others already used; the slot is swept once
    /// that allowance is back.
    pub fn charge(&self, key: &str, requests: u64, interval_ns: u64, now: Duration) {
        let now_ns = nanos(now);
        let mut shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        match shard.get_mut(key) {
            Some(slot) => {
                slot.tat =
                    slot.tat.max(now_ns).saturating_add(slot.interval.saturating_mul(requests))
            }
            None if interval_ns > 0 => {
                let interval = interval_ns;
                let tat = now_ns.saturating_add(interval.saturating_mul(requests));
                shard.insert(key.to_string(), Slot { tat, interval, unsynced: 0 });
            }
            None => {}
        }
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        &self.shards[(hash as usize) % SHARDS]
    }
}

/// Nanoseconds as 64 bits (enough for 584 years: 128-bit division cost
/// more than the rest of a check).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn ceil_ms(ns: u64) -> u64 {
    ns.div_ceil(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn exactly_limit_requests_pass_in_a_burst_then_the_rest_wait() {
        let rl = RateLimiter::default();
        let t0 = Duration::from_secs(100);
        for i in 0..10 {
            let d = rl.check("k", 10, SEC, t0);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 9 - i);
        }
        let refused = rl.check("k", 10, SEC, t0);
        assert_eq!((refused.allowed, refused.remaining), (false, 0));
        assert_eq!(refused.reset_ms, 100, "one slot frees every 100 ms");
        // A refusal costs nothing: the next slot opens on time.
        assert!(!rl.check("k", 10, SEC, t0 + Duration::from_millis(99)).allowed);
        assert!(rl.check("k", 10, SEC, t0 + Duration::from_millis(100)).allowed);
        assert!(!rl.check("k", 10, SEC, t0 + Duration::from_millis(100)).allowed);
    }

    #[test]
    fn the_allowance_refills_over_one_window_and_keys_are_independent() {
        let rl = RateLimiter::default();
        let t0 = Duration::from_secs(5);
        for _ in 0..3 {
            assert!(rl.check("a", 3, Duration::from_secs(60), t0).allowed);
        }
        assert!(!rl.check("a", 3, Duration::from_secs(60), t0).allowed);
        assert!(rl.check("b", 3, Duration::from_secs(60), t0).allowed, "another key");
        let later = t0 + Duration::from_secs(60);
        let d = rl.check("a", 3, Duration::from_secs(60), later);
        assert_eq!((d.allowed, d.remaining), (true, 2));
    }

    #[test]
    fn a_steady_rate_at_the_limit_is_never_refused() {
        let rl = RateLimiter::default();
        for i in 0..1000u64 {
            let now = Duration::from_millis(10_000 + i * 10);
            assert!(rl.check("k", 100, SEC, now).allowed, "request {i}");
        }
    }

    #[test]
    fn requests_admitted_elsewhere_use_up_the_allowance_here() {
        let rl = RateLimiter::default();
        let t0 = Duration::from_secs(100);
        for _ in 0..3 {
            assert!(rl.check("k", 10, SEC, t0).allowed);
        }
        let tenth = 100_000_000;
        assert_eq!(rl.take_unsynced(), vec![("k".to_string(), 3, tenth)]);
        assert!(rl.take_unsynced().is_empty(), "counted once");
        // Six more went through other instances: one slot is left here.
        rl.charge("k", 6, tenth, t0);
        assert!(rl.check("k", 10, SEC, t0).allowed);
        assert!(!rl.check("k", 10, SEC, t0).allowed);
        assert_eq!(rl.take_unsynced(), vec![("k".to_string(), 1, tenth)]);
    }

    #[test]
    fn a_key_used_only_elsewhere_starts_here_with_what_is_left() {
        let rl = RateLimiter::default();
        let t0 = Duration::from_secs(100);
        // Another instance admitted 8 of 10 a second; none came here yet.
        rl.charge("k", 8, 100_000_000, t0);
        assert!(rl.take_unsynced().is_empty(), "nothing of its own to tell");
        assert!(rl.check("k", 10, SEC, t0).allowed);
        assert!(rl.check("k", 10, SEC, t0).allowed);
        assert!(!rl.check("k", 10, SEC, t0).allowed, "the other instance used 8");
        // The slot goes once the allowance is back and nothing is unsynced.
        rl.take_unsynced();
        rl.sweep(t0 + Duration::from_secs(2));
        let total: usize = rl.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert_eq!(total, 0);
    }

    #[test]
    fn sweep_and_forget_release_memory() {
        let rl = RateLimiter::default();
        rl.syncing.store(true, Ordering::Relaxed);
        rl.check("a", 1, SEC, SEC);
        rl.check("b", 1, SEC, SEC);
        rl.forget("a");
        assert!(rl.check("a", 1, SEC, SEC).allowed, "forgotten keys start afresh");
        rl.sweep(Duration::from_secs(10));
        let total: usize = rl.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert_eq!(total, 2, "what was admitted is kept until it is synced");
        rl.take_unsynced();
        rl.sweep(Duration::from_secs(10));
        let total: usize = rl.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert_eq!(total, 0);
    }
}
