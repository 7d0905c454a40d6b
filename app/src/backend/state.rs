//! The state handed to every handler and, through context, every server
//! function.

use super::db::{Db, Engine};
use super::password::HashingSlots;
use super::throttle::{LoginThrottle, ThrottleLimits};
use crate::domain::{Catalog, KeyPrefix};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Operator settings the app layer needs at request time.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long a session lasts, in seconds.
    pub session_ttl_secs: i64,
    /// How long an invitation link stays usable, in seconds.
    pub invitation_ttl_secs: i64,
    /// Mark cookies `Secure` even when the request looks like plain HTTP
    /// (for TLS terminated by a proxy that does not send `X-Forwarded-Proto`).
    pub force_secure_cookies: bool,
    /// Believe `X-Forwarded-For` / `X-Forwarded-Proto` (only behind a proxy).
    pub trust_proxy_headers: bool,
    /// Failed sign-in limits.
    pub throttle: ThrottleLimits,
    /// The address people reach Keywarden at, for links such as invitations
    /// (default: taken from the request's `Host`).
    pub public_url: Option<String>,
    /// Permissions and key types offered for keys.
    pub catalog: Catalog,
    /// The prefix of every API key this instance issues.
    pub key_prefix: KeyPrefix,
    /// Keys older than this since creation or regeneration are marked
    /// "rotation due".
    pub rotation_days: i64,
    /// `signup = "open"`: anyone may create an account and an org at
    /// `/signup` (default: invitation only).
    pub open_signup: bool,
    /// A digest of the built bundle; asset URLs carry it (`/v/{it}/pkg/…`)
    /// so browsers may keep them for good. Empty: plain `/pkg/…` URLs.
    pub asset_version: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_ttl_secs: 7 * 24 * 3600,
            invitation_ttl_secs: 7 * 24 * 3600,
            force_secure_cookies: false,
            trust_proxy_headers: false,
            throttle: ThrottleLimits::default(),
            public_url: None,
            catalog: Catalog::default(),
            key_prefix: KeyPrefix::default(),
            rotation_days: 90,
            open_signup: false,
            asset_version: String::new(),
        }
    }
}

/// Told after a key's change is committed (edit, regenerate, disable,
/// enable, revoke, delete), so caches of it are dropped at once.
pub trait KeyChangeListener: Send + Sync {
    fn key_changed(&self, key_id: &str);
    /// Every key of the org changed (suspended or resumed).
    fn org_changed(&self, org_id: &str);
}

struct NoListener;

impl KeyChangeListener for NoListener {
    fn key_changed(&self, _key_id: &str) {}
    fn org_changed(&self, _org_id: &str) {}
}

/// Everything a request needs; cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    /// The engine behind `db`, decided once when the state is made.
    pub engine: Engine,
    pub settings: Arc<Settings>,
    pub throttle: Arc<LoginThrottle>,
    /// Bounds how many passwords are hashed at once.
    pub hashing: Arc<HashingSlots>,
    setup_done: Arc<AtomicBool>,
    key_listener: Arc<dyn KeyChangeListener>,
    /// This process's random name in change notices, so it can skip its
    /// own (it has already applied them).
    pub instance: Arc<str>,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, db: Db, settings: Settings) -> Self {
        AppState {
            leptos_options,
            engine: Engine::of(&db),
            db,
            throttle: Arc::new(LoginThrottle::new(settings.throttle)),
            hashing: Arc::new(HashingSlots::per_core()),
            settings: Arc::new(settings),
            setup_done: Arc::new(AtomicBool::new(false)),
            key_listener: Arc::new(NoListener),
            instance: super::db::new_id().into(),
        }
    }

    /// Routes key-change notices to `listener` (the verification cache).
    pub fn with_key_listener(mut self, listener: Arc<dyn KeyChangeListener>) -> Self {
        self.key_listener = listener;
        self
    }

    /// Announces a committed change to key `key_id`.
    pub fn key_changed(&self, key_id: &str) {
        self.key_listener.key_changed(key_id);
    }

    /// Announces a committed change to every key of org `org_id`.
    pub fn org_changed(&self, org_id: &str) {
        self.key_listener.org_changed(org_id);
    }

    /// Whether any user exists. Once true it stays true (users are never all
    /// deleted), so later calls cost no query.
    pub async fn is_set_up(&self) -> Result<bool, sqlx::Error> {
        if self.setup_done.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(&self.db).await?;
        if count > 0 {
            self.setup_done.store(true, Ordering::Relaxed);
        }
        Ok(count > 0)
    }
}
