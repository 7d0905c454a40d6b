//! Failed sign-in throttling per account and per client address, in memory.
//!
//! Each instance counts its own failures; behind a load balancer the limit
//! is per instance, which still bounds guessing to a small multiple.

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
        ThrottleLimits {
            per_account: 5,
            per_ip: 20,
            window: Duration::from_secs(15 * 60),
        }
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
    windows: Mutex<HashMap<String, Window>>,
}

/// Past this many tracked keys, expired windows are swept out.
const SWEEP_AT: usize = 10_000;

impl LoginThrottle {
    pub fn new(limits: ThrottleLimits) -> Self {
        LoginThrottle {
            limits,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` when the account or the address has used up its failures.
    pub fn check(&self, account: &str, ip: Option<&str>) -> Result<(), Duration> {
        self.check_at(account, ip, Instant::now())
    }

    /// Records one failed attempt for the account and the address.
    pub fn record_failure(&self, account: &str, ip: Option<&str>) {
        self.record_failure_at(account, ip, Instant::now());
    }

    /// Clears the account's count after a successful sign-in.
    pub fn record_success(&self, account: &str) {
        self.lock().remove(&account_key(account));
    }

    fn check_at(&self, account: &str, ip: Option<&str>, now: Instant) -> Result<(), Duration> {
        let windows = self.lock();
        let keys = [(account_key(account), self.limits.per_account)]
            .into_iter()
            .chain(ip.map(|ip| (ip_key(ip), self.limits.per_ip)));
        let mut wait = None;
        for (key, limit) in keys {
            if let Some(w) = windows.get(&key) {
                let elapsed = now.saturating_duration_since(w.started);
                if elapsed < self.limits.window && w.failures >= limit {
                    let left = self.limits.window - elapsed;
                    wait = Some(wait.map_or(left, |d: Duration| d.max(left)));
                }
            }
        }
        wait.map_or(Ok(()), Err)
    }

    fn record_failure_at(&self, account: &str, ip: Option<&str>, now: Instant) {
        let mut windows = self.lock();
        if windows.len() > SWEEP_AT {
            let window = self.limits.window;
            windows.retain(|_, w| now.saturating_duration_since(w.started) < window);
        }
        let keys = std::iter::once(account_key(account)).chain(ip.map(ip_key));
        for key in keys {
            let w = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.saturating_duration_since(w.started) >= self.limits.window {
                *w = Window {
                    started: now,
                    failures: 0,
                };
            }
            w.failures += 1;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        // A panic while holding this lock cannot leave the counts inconsistent.
        self.windows.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn account_key(account: &str) -> String {
    format!("a:{}", account.trim().to_lowercase())
}

fn ip_key(ip: &str) -> String {
    format!("i:{ip}")
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
            assert!(t.check_at("a@x.io", None, start).is_ok());
            t.record_failure_at("a@x.io", None, start);
        }
        let wait = t
            .check_at("A@X.io ", None, start + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(
            t.check_at("b@x.io", None, start).is_ok(),
            "other accounts unaffected"
        );
        assert!(
            t.check_at("a@x.io", None, start + Duration::from_secs(61))
                .is_ok()
        );
    }

    #[test]
    fn an_address_is_refused_across_accounts() {
        let t = throttle();
        let now = Instant::now();
        for i in 0..5 {
            t.record_failure_at(&format!("user{i}@x.io"), Some("10.0.0.1"), now);
        }
        assert!(t.check_at("fresh@x.io", Some("10.0.0.1"), now).is_err());
        assert!(t.check_at("fresh@x.io", Some("10.0.0.2"), now).is_ok());
    }

    #[test]
    fn success_clears_the_account_count() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..3 {
            t.record_failure_at("a@x.io", None, now);
        }
        t.record_success("a@x.io");
        assert!(t.check_at("a@x.io", None, now).is_ok());
    }
}
