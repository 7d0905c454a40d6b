//! Verification: what the platform's gateway asks on every request
//! (docs/design.md#verification). Checksum first, then an in-memory cache (with negative
//! entries), an in-memory rate limiter, and usage and request-log entries
//! kept in memory and written in batches: no database write on the request
//! path, and no database read for a repeated or malformed key.
//!
//! [`Verifier::decide`] is the one decision; `POST /v1/keys/verify`
//! ([`handler`]), `GET /v1/authorize` ([`authorize`]) and the REST API's key
//! authentication are answers built from it.

pub mod answer;
pub mod authorize;
mod batch;
pub mod cache;
pub mod code;
mod flush;
pub mod handler;
pub mod metrics;
pub mod path;
pub mod propagate;
pub mod proxy;
pub mod quota;
pub mod rate_sync;
pub mod ratelimit;
pub mod service;
pub mod usage;
pub mod writer;

use app::backend::Db;
use app::backend::db::Engine;
use app::backend::keys::store;
use app::backend::log_file::LogFile;
use app::backend::log_segments::KnownDays;
use app::domain::TokenHash;
use app::domain::{ApiToken, Environment, KeyPrefix, RateLimit, Refill};
use cache::{CachedKey, Entry, KeyCache};
pub use code::Code;
use metrics::Metrics;
use ratelimit::RateLimiter;
use serde::Serialize;
use service::ServiceTokens;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use usage::{Hit, UsageBuffer};

/// Everything verification keeps in memory.
pub struct Verifier {
    pub db: Db,
    /// `<operator prefix>_`: tokens of other operators are malformed here.
    token_start: String,
    pub service_tokens: ServiceTokens,
    /// When set, `/metrics` asks for it.
    pub metrics_token: Option<service::MetricsToken>,
    pub cache: Arc<KeyCache>,
    pub limiter: RateLimiter,
    pub quotas: quota::Quotas,
    engine: Engine,
    pub usage: UsageBuffer,
    /// Held shared by each writer's flush and alone by [`Verifier::flush`].
    flushing: tokio::sync::RwLock<()>,
    /// Taken for each write transaction: the writers take turns here, not
    /// in SQLite's busy handler (which sleeps between tries).
    write_turn: app::backend::db::WriteTurn,
    /// The request log's own connection when the database is a SQLite
    /// file (see [`app::backend::log_file`]).
    log_file: Option<LogFile>,
    /// The request log's day segments known to exist.
    log_days: KnownDays,
    /// Set while a flush that does not give way (the catch-up writer's, or
    /// [`Verifier::flush`]) writes the request log.
    log_catching_up: AtomicBool,
    pub metrics: Metrics,
    /// Database lookups made (for tests and metrics).
    pub lookups: AtomicU64,
    epoch: Instant,
    /// Unix milliseconds when this verifier was made.
    pub started_ms: i64,
    /// Seconds added to the clock: tests move time forward (refills).
    pub clock_offset_secs: std::sync::atomic::AtomicI64,
}

/// One question: may the holder of `key` do what needs `permissions`?
#[derive(Debug, Default)]
pub struct Ask<'a, P = String> {
    pub key: &'a str,
    pub permissions: &'a [P],
    /// The environment the asker serves; `None` accepts the key's own (the
    /// REST API, where the key's environment bounds what it reaches).
    pub environment: Option<Environment>,
    /// For the request log.
    pub path: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// The rate-limit part of an answer.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RateLimitInfo {
    pub limit: u32,
    pub remaining: u32,
    pub reset_ms: u64,
}

/// The usage-limit part of an answer.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct UsageInfo {
    /// VALID answers left until the next refill.
    pub remaining: i64,
    /// `none`, `daily` or `monthly`.
    #[schema(value_type = String)]
    pub refill: Refill,
    /// Unix milliseconds of the next refill; `null` when it never refills.
    pub refills_at: Option<i64>,
}

/// The decision: its code, and the key when one was identified and may be
/// described to the asker (not for WRONG_ENVIRONMENT or NOT_FOUND).
#[derive(Clone, Debug)]
pub struct Decision {
    pub code: Code,
    pub key: Option<Arc<CachedKey>>,
    pub ratelimit: Option<RateLimitInfo>,
    /// For a key with a usage limit, once the decision reached it.
    pub usage: Option<UsageInfo>,
}

impl Decision {
    fn bare(code: Code) -> Self {
        Decision { code, key: None, ratelimit: None, usage: None }
    }
}

impl Verifier {
    pub fn new(db: Db, prefix: KeyPrefix, service_tokens: ServiceTokens) -> Self {
        let engine = Engine::of(&db);
        let log_file = LogFile::for_pool(&db).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the request log is written through the pool");
            None
        });
        Verifier {
            log_file,
            log_days: KnownDays::default(),
            db,
            token_start: format!("{}_", prefix.as_str()),
            service_tokens,
            metrics_token: None,
            cache: Arc::new(KeyCache::default()),
            limiter: RateLimiter::default(),
            quotas: quota::Quotas::default(),
            engine,
            usage: UsageBuffer::default(),
            flushing: tokio::sync::RwLock::new(()),
            write_turn: tokio::sync::Mutex::new(()),
            log_catching_up: AtomicBool::new(false),
            metrics: Metrics::default(),
            lookups: AtomicU64::new(0),
            epoch: Instant::now(),
            started_ms: app::backend::db::now_ms(),
            clock_offset_secs: std::sync::atomic::AtomicI64::new(0),
        }
    }

    /// Forgets which request-log day tables exist (after dropping some), so
    /// the next write looks and makes its day's table when it is gone.
    pub fn forget_log_days(&self) {
        self.log_days.forget();
    }

    /// Whether the request log goes to a SQLite file through a connection
    /// of its own (not through the pool given to the flushes).
    pub fn writes_log_to_file(&self) -> bool {
        self.log_file.is_some()
    }

    /// Unix seconds now, as verification sees it.
    pub fn now(&self) -> i64 {
        app::backend::db::now() + self.clock_offset_secs.load(Ordering::Relaxed)
    }

    /// Decides one request in the order of §5.1: MALFORMED, NOT_FOUND,
    /// WRONG_ENVIRONMENT, DISABLED, REVOKED, EXPIRED, IP_NOT_ALLOWED,
    /// INSUFFICIENT_PERMISSIONS, RATE_LIMITED, USAGE_EXCEEDED, VALID. Every decision about
    /// a known key is counted and queued for the request log.
    pub async fn decide<P: AsRef<str>>(&self, ask: &Ask<'_, P>) -> Result<Decision, sqlx::Error> {
        let started = Instant::now();
        let decision = self.decide_uncounted(ask).await?;
        if let Some(key) = &decision.key {
            self.usage.record(Hit {
                key_id: key.id.clone(),
                org_id: key.org_id.clone(),
                code: decision.code,
                at_ms: app::backend::db::now_ms(),
                path: ask.path,
                ip: ask.ip,
                user_agent: ask.user_agent,
            });
        }
        self.metrics.observe(decision.code, started.elapsed());
        if decision.code == Code::WrongEnvironment {
            return Ok(Decision::bare(Code::WrongEnvironment));
        }
        Ok(decision)
    }

    async fn decide_uncounted<P: AsRef<str>>(
        &self,
        ask: &Ask<'_, P>,
    ) -> Result<Decision, sqlx::Error> {
        if ApiToken::check(ask.key).is_err() || !ask.key.starts_with(&self.token_start) {
            return Ok(Decision::bare(Code::Malformed));
        }
        let hash = TokenHash::of(ask.key);
        let entry = match self.cache.get_or_refresh(hash.bytes()) {
            Some((entry, refresh)) => {
                self.metrics.cache_hits.fetch_add(1, Ordering::Relaxed);
                if refresh {
                    self.refresh_in_background(hash);
                }
                entry
            }
            None => {
                self.metrics.cache_misses.fetch_add(1, Ordering::Relaxed);
                self.lookup(hash).await?
            }
        };
        let Entry::Key(key) = entry else {
            return Ok(Decision::bare(Code::NotFound));
        };
        let now = self.now();
        if key.grace_until.is_some_and(|until| until <= now) {
            // The previous secret of a regenerated key, past its grace period.
            return Ok(Decision::bare(Code::NotFound));
        }
        let about = |code| Decision { code, key: Some(key.clone()), ratelimit: None, usage: None };
        if ask.environment.is_some_and(|env| env != key.environment) {
            // Counted for the key's org, but nothing is told to the asker.
            return Ok(about(Code::WrongEnvironment));
        }
        let code = if key.disabled || key.org_suspended {
            Code::Disabled
        } else if key.revoked {
            Code::Revoked
        } else if key.expires_at.is_some_and(|t| t <= now) {
            Code::Expired
        } else if !key.ip_allowlist.allows_text(ask.ip) {
            Code::IpNotAllowed
        } else if !ask.permissions.iter().all(|p| key.permissions.iter().any(|k| k == p.as_ref())) {
            Code::InsufficientPermissions
        } else {
            return self.admit(&key, now).await;
        };
        Ok(about(code))
    }

    /// The last checks, for a key that may do what it asks: its rate limit,
    /// then its usage limit (only an answer that would be VALID spends a
    /// use).
    async fn admit(&self, key: &Arc<CachedKey>, now: i64) -> Result<Decision, sqlx::Error> {
        let RateLimit { limit, window_secs } = key.rate_limit;
        let window = Duration::from_secs(u64::from(window_secs));
        let d = self.limiter.check(&key.id, limit, window, self.epoch.elapsed());
        let ratelimit =
            Some(RateLimitInfo { limit: d.limit, remaining: d.remaining, reset_ms: d.reset_ms });
        let mut decision = Decision {
            code: if d.allowed { Code::Valid } else { Code::RateLimited },
            key: Some(key.clone()),
            ratelimit,
            usage: None,
        };
        if let (true, Some(usage_limit)) = (d.allowed, key.usage_limit) {
            let spent = self
                .quotas
                .spend(&self.db, self.engine, &key.id, key.usage_epoch, usage_limit, now)
                .await?;
            if !spent.allowed {
                decision.code = Code::UsageExceeded;
            }
            decision.usage = Some(UsageInfo {
                remaining: spent.remaining,
                refill: usage_limit.refill,
                refills_at: usage_limit.refill.next_after(now).map(|t| t * 1000),
            });
        }
        Ok(decision)
    }

    /// Time on the limiter's clock.
    pub fn elapsed(&self) -> Duration {
        self.epoch.elapsed()
    }

    async fn lookup(&self, hash: TokenHash) -> Result<Entry, sqlx::Error> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        read_into_cache(&self.db, &self.cache, hash).await
    }

    /// Reads an aged answer anew without holding up the request that found
    /// it (that one, and any until the read lands, get the aged answer).
    fn refresh_in_background(&self, hash: TokenHash) {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let (db, cache) = (self.db.clone(), self.cache.clone());
        tokio::spawn(async move {
            if let Err(e) = read_into_cache(&db, &cache, hash).await {
                tracing::warn!(error = %e, "refreshing a cached key failed; retried later");
            }
        });
    }
}

/// Reads the key stored under `hash` and caches the answer (unless a change
/// came in meanwhile).
async fn read_into_cache(db: &Db, cache: &KeyCache, hash: TokenHash) -> Result<Entry, sqlx::Error> {
    let seen = cache.generation();
    let entry = match store::for_verification(db, &hash).await? {
        None => Entry::Missing,
        Some(row) => CachedKey::from_row(row).map_or(Entry::Missing, |k| Entry::Key(Arc::new(k))),
    };
    cache.insert(*hash.bytes(), entry.clone(), seen);
    Ok(entry)
}
