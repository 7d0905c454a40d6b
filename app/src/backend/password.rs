//! argon2id password hashing, always off the async threads and at most a
//! few at a time: each hash takes 19 MiB, so a flood of sign-ins must queue
//! instead of exhausting memory.

use crate::domain::Password;
use crate::error::AppError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Longest password checked at sign-in, in bytes; longer ones are refused
/// before any work.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Permits to hash: one per core. An attempt that waits longer than `wait`
/// for one gets [`AppError::Busy`].
pub struct HashingSlots {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl HashingSlots {
    pub fn new(slots: usize, wait: Duration) -> Self {
        HashingSlots { slots: Arc::new(Semaphore::new(slots.max(1))), wait }
    }

    /// One slot per core, waiting up to 10 seconds.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores, Duration::from_secs(10))
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let permit = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| AppError::Busy)?
            .map_err(|_| AppError::Busy)?;
        // The permit lives as long as the hash itself: a caller that gives
        // up (a dropped connection) does not free a slot while argon2 runs.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await?
    }
}

impl Default for HashingSlots {
    fn default() -> Self {
        Self::per_core()
    }
}

/// argon2id with the parameters docs/design.md#security-requirements asks for (19 MiB, t=2, p=1).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format_args!("argon2 hash: {e}")))
}

/// A hash to verify against when the email is unknown, so that an unknown
/// email costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("keywarden-dummy-password").unwrap_or_default())
}

/// Hashes a new password.
pub async fn hash(slots: &HashingSlots, password: Password) -> Result<String, AppError> {
    slots.run(move || hash_blocking(password.expose())).await
}

/// Checks `password` against `stored`; with no stored hash (unknown user) it
/// does the same work against a dummy hash and answers `false`.
pub async fn verify(
    slots: &HashingSlots,
    password: String,
    stored: Option<String>,
) -> Result<bool, AppError> {
    slots
        .run(move || {
            // Portal users have no password (an empty hash): like an
            // unknown email, they never verify and cost the same time.
            let stored = stored.filter(|s| !s.is_empty());
            let known = stored.is_some();
            let phc = stored.unwrap_or_else(|| dummy_hash().to_string());
            let parsed = PasswordHash::new(&phc)
                .map_err(|e| AppError::internal(format_args!("stored hash unreadable: {e}")))?;
            let matches = hasher().verify_password(password.as_bytes(), &parsed).is_ok();
            Ok(known && matches)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let slots = HashingSlots::per_core();
        let pw = Password::parse("correct horse battery").unwrap();
        let a = hash(&slots, pw.clone()).await.unwrap();
        let b = hash(&slots, pw).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify(&slots, "correct horse battery".into(), Some(a.clone())).await.unwrap());
        assert!(!verify(&slots, "wrong horse battery".into(), Some(a)).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_users_never_verify() {
        let slots = HashingSlots::per_core();
        assert!(!verify(&slots, "keywarden-dummy-password".into(), None).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_gives_up_does_not_free_its_slot_early() {
        let slots = std::sync::Arc::new(HashingSlots::new(1, Duration::from_millis(100)));
        let first = {
            let slots = slots.clone();
            tokio::spawn(async move {
                slots
                    .run(|| {
                        std::thread::sleep(Duration::from_millis(400));
                        Ok(())
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        first.abort(); // the client went away; its hash still runs
        let second = slots.run(|| Ok(())).await;
        assert_eq!(second, Err(AppError::Busy), "the slot is held until the hash ends");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(slots.run(|| Ok(())).await, Ok(()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_runs_a_few_at_a_time_and_waiters_give_up_in_time() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let slots = Arc::new(HashingSlots::new(2, Duration::from_millis(300)));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (slots, running, most) = (slots.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    slots
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(200));
                            running.fetch_sub(1, Ordering::SeqCst);
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        let mut busy = 0;
        for t in tasks {
            if t.await.unwrap() == Err(AppError::Busy) {
                busy += 1;
            }
        }
        assert_eq!(most.load(Ordering::SeqCst), 2, "never more than two at once");
        assert!(busy >= 2, "waiters past the deadline are told to retry ({busy})");
    }
}
