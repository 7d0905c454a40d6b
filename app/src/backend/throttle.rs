//! Failed sign-in throttling per account and per client address, in memory.
//!
//! An attempt is reserved (counted as a failure) before the password is
//! checked and refunded when it succeeds, so concurrent attempts cannot all
//! pass the check before any of them is counted. Accounts and addresses are
//! kept as fixed-size digests, so the maps' memory does not grow with the
//! length of what attackers type.
//!
//! Each instance counts its own failures; behind a load balancer the limit
//! is per instance, which still bounds guessing to a small multiple.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits for failed attempts within one window.
#[derive(Clone, Copy, Debug)]
pub struct ThrottleLimits {
    pub per_account: u32,
    pub per_ip: u32,
    pub window: Duration,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits { per_account: 5, per_ip: 20, window: Duration::from_secs(15 * 60) }
    }
}

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Counts failed sign-ins and says when to refuse further attempts.
pub struct LoginThrottle {
    limits: ThrottleLimits,
    windows: Mutex<HashMap<Slot, Window>>,
}

/// Past this many tracked keys, expired windows are swept out.
const SWEEP_AT: usize = 10_000;

impl LoginThrottle {
    pub fn new(limits: ThrottleLimits) -> Self {
        LoginThrottle { limits, windows: Mutex::new(HashMap::new()) }
    }

    /// Reserves one attempt for the account and the address, counting it
    /// as a failure until [`LoginThrottle::succeeded`] refunds it; or
    /// `Err(wait)` when either has used up its failures. Check and count
    /// happen under one lock: concurrent attempts cannot all slip through.
    pub fn reserve(&self, account: &str, ip: Option<&str>) -> Result<(), Duration> {
        self.reserve_at(account, ip, Instant::now())
    }

    /// A reserved attempt succeeded: the account starts afresh and the
    /// address gets its attempt back.
    pub fn succeeded(&self, account: &str, ip: Option<&str>) {
        let mut windows = self.lock();
        windows.remove(&account_slot(account));
        if let Some(w) = ip.and_then(|ip| windows.get_mut(&ip_slot(ip))) {
            w.failures = w.failures.saturating_sub(1);
        }
    }

    fn reserve_at(&self, account: &str, ip: Option<&str>, now: Instant) -> Result<(), Duration> {
        let mut windows = self.lock();
        if windows.len() > SWEEP_AT {
            let window = self.limits.window;
            windows.retain(|_, w| now.saturating_duration_since(w.started) < window);
        }
        let slots: Vec<(Slot, u32)> =
            std::iter::once((account_slot(account), self.limits.per_account))
                .chain(ip.map(|ip| (ip_slot(ip), self.limits.per_ip)))
                .collect();
        let mut wait = None;
        for (slot, limit) in &slots {
            if let Some(w) = windows.get(slot) {
                let elapsed = now.saturating_duration_since(w.started);
                if elapsed < self.limits.window && w.failures >= *limit {
                    let left = self.limits.window - elapsed;
                    wait = Some(wait.map_or(left, |d: Duration| d.max(left)));
                }
            }
        }
        if let Some(wait) = wait {
            return Err(wait);
        }
        for (slot, _) in slots {
            let w = windows.entry(slot).or_insert(Window { started: now, failures: 0 });
            if now.saturating_duration_since(w.started) >= self.limits.window {
                *w = Window { started: now, failures: 0 };
            }
            w.failures += 1;
        }
        Ok(())
    }

    /// How many accounts and addresses are tracked.
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Slot, Window>> {
        // A panic while holding this lock cannot leave the counts inconsistent.
        self.windows.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A tracked account or address: 128 bits of its digest.
type Slot = [u8; 16];

fn slot(kind: &[u8], value: &str) -> Slot {
    let digest = Sha256::new().chain_update(kind).chain_update(value).finalize();
    let mut slot = [0; 16];
    slot.copy_from_slice(&digest[..16]);
    slot
}

fn account_slot(account: &str) -> Slot {
    slot(b"account:", &account.trim().to_lowercase())
}

fn ip_slot(ip: &str) -> Slot {
    slot(b"ip:", ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(ThrottleLimits {
            per_account: 3,
            per_ip: 5,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn an_account_is_refused_after_its_limit_until_the_window_ends() {
        let t = throttle();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(t.reserve_at("a@x.io", None, start).is_ok());
        }
        let wait = t.reserve_at("A@X.io ", None, start + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(t.reserve_at("b@x.io", None, start).is_ok(), "other accounts unaffected");
        assert!(t.reserve_at("a@x.io", None, start + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn an_address_is_refused_across_accounts() {
        let t = throttle();
        let now = Instant::now();
        for i in 0..5 {
            assert!(t.reserve_at(&format!("user{i}@x.io"), Some("10.0.0.1"), now).is_ok());
        }
        assert!(t.reserve_at("fresh@x.io", Some("10.0.0.1"), now).is_err());
        assert!(t.reserve_at("fresh@x.io", Some("10.0.0.2"), now).is_ok());
    }

    #[test]
    fn success_refunds_the_attempt() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..2 {
            t.reserve_at("a@x.io", Some("10.0.0.1"), now).unwrap();
        }
        t.succeeded("a@x.io", Some("10.0.0.1"));
        for _ in 0..3 {
            assert!(t.reserve_at("a@x.io", None, now).is_ok());
        }
    }

    #[test]
    fn concurrent_attempts_cannot_all_pass() {
        let t = std::sync::Arc::new(throttle());
        let passed: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..64)
                .map(|_| {
                    let t = t.clone();
                    s.spawn(move || t.reserve("a@x.io", None).is_ok())
                })
                .collect();
            handles.into_iter().map(|h| usize::from(h.join().unwrap())).sum()
        });
        assert_eq!(passed, 3);
    }

    #[test]
    fn memory_does_not_grow_with_what_is_typed() {
        let t = throttle();
        let now = Instant::now();
        let _ = t.reserve_at(&"x".repeat(1_000_000), Some(&"y".repeat(1_000_000)), now);
        assert_eq!(t.tracked(), 2);
        assert_eq!(std::mem::size_of::<Slot>(), 16);
    }
}
