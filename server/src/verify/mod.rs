//! Verification: what the platform's gateway asks on every request
//! (DESIGN.md §5). Checksum first, then an in-memory cache (with negative
//! entries), an in-memory rate limiter, and usage and request-log entries
//! kept in memory and written in batches: no database write on the request
//! path, and no database read for a repeated or malformed key.
//!
//! [`Verifier::decide`] is the one decision; `POST /v1/keys/verify`
//! ([`handler`]), `GET /v1/authorize` ([`authorize`]) and the REST API's key
//! authentication are answers built from it.

pub mod answer;
pub mod authorize;
pub mod cache;
pub mod code;
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
use app::backend::log_copy::LogCopy;
use app::backend::log_file::LogFile;
use app::backend::log_segments::KnownDays;
use app::backend::usage_writes::{self, Purged};
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
use usage::{Hit, LogWay, UsageBuffer};

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

    /// Removes request-log entries and hourly counts older than `days` days
    /// (see [`usage_writes::purge_before`]), taking turns with the log's
    /// writers.
    pub async fn purge_log_older_than(&self, days: u32) -> Result<Purged, sqlx::Error> {
        let cutoff = app::backend::db::now_ms() - i64::from(days) * 86_400_000;
        self.purge_log_before(cutoff).await
    }

    /// Makes today's and tomorrow's request-log tables when missing, taking
    /// turns with the log's writers.
    pub async fn ensure_log_days_ahead(&self) -> Result<(), sqlx::Error> {
        let _turn = self.write_turn.lock().await;
        app::backend::log_segments::ensure_ahead(&self.db).await
    }

    /// As [`Verifier::purge_log_older_than`], from before `cutoff_ms`.
    pub async fn purge_log_before(&self, cutoff_ms: i64) -> Result<Purged, sqlx::Error> {
        usage_writes::purge_before(&self.db, cutoff_ms, &self.write_turn).await
    }

    /// Forgets rate-limit state that has fully refilled (bounds memory).
    pub fn sweep(&self) {
        self.limiter.sweep(self.epoch.elapsed());
    }

    /// Writes everything recorded so far (counts and the request log) now,
    /// after any flush under way: what the writers had taken is written or
    /// put back first. For shutdown and tests.
    pub async fn flush(&self) -> Result<usage::Flushed, sqlx::Error> {
        let _alone = self.flushing.write().await;
        self.give_back_leases(&self.db).await;
        let keys = self.write_counts(&self.db).await?;
        let way = self.log_file.as_ref().map_or(LogWay::Pool, LogWay::File);
        let (log_entries, rejected) = self.write_log(&self.db, way, false).await?;
        Ok(usage::Flushed { keys, log_entries, rejected })
    }

    /// Gives back unspent usage-limit leases and writes the counts, over
    /// `db` (the usage writer's own connection); returns for how many keys.
    pub async fn flush_counts_to(&self, db: &Db) -> Result<usize, sqlx::Error> {
        let _shared = self.flushing.read().await;
        self.give_back_leases(db).await;
        self.write_counts(db).await
    }

    /// Writes the request-log entries recorded so far over `db` (on a
    /// SQLite file, over the log's own connection instead); returns how
    /// many were written and how many the database refused. With
    /// `yield_when_behind` (the low-priority writer) it stops between
    /// chunks once [`writer::LOG_BACKLOG`] entries wait or the
    /// catch-up writer is at work, and holds the rest back for
    /// it: a low-priority chunk must not hold up a catch-up.
    pub async fn flush_log_to(
        &self,
        db: &Db,
        yield_when_behind: bool,
    ) -> Result<(usize, usize), sqlx::Error> {
        self.flush_log_via(db, None, yield_when_behind).await
    }

    /// As [`Verifier::flush_log_to`], on PostgreSQL with `COPY` over `copy`
    /// (a connection of the calling runtime) when given.
    pub async fn flush_log_via(
        &self,
        db: &Db,
        copy: Option<&LogCopy>,
        yield_when_behind: bool,
    ) -> Result<(usize, usize), sqlx::Error> {
        let way = match (&self.log_file, copy) {
            (Some(file), _) => LogWay::File(file),
            (None, Some(copy)) => LogWay::Copy(copy),
            (None, None) => LogWay::Pool,
        };
        let _shared = self.flushing.read().await;
        self.write_log(db, way, yield_when_behind).await
    }

    async fn give_back_leases(&self, db: &Db) {
        if let Err(e) = self.quotas.give_back(db).await {
            tracing::warn!(error = %e, "usage-limit leases could not be given back");
        }
    }

    async fn write_counts(&self, db: &Db) -> Result<usize, sqlx::Error> {
        let done = {
            let _turn = self.write_turn.lock().await;
            self.usage.flush_counts(db).await
        };
        match &done {
            Ok(_) => {
                self.metrics.last_flush_ms.store(app::backend::db::now_ms(), Ordering::Relaxed)
            }
            Err(_) => _ = self.metrics.flush_failures.fetch_add(1, Ordering::Relaxed),
        }
        done
    }

    async fn write_log(
        &self,
        db: &Db,
        way: LogWay<'_>,
        yield_when_behind: bool,
    ) -> Result<(usize, usize), sqlx::Error> {
        let keep_going = || {
            !yield_when_behind
                || (self.usage.pending_entries() < writer::LOG_BACKLOG
                    && !self.log_catching_up.load(Ordering::Relaxed))
        };
        let rows = if yield_when_behind {
            writer::LOW_PRIORITY_ROWS
        } else {
            // Flushes that do not yield hold off the low-priority writer's
            // chunks meanwhile (see `keep_going`); only one runs at a time,
            // as [`Verifier::flush`] holds `flushing` alone.
            self.log_catching_up.store(true, Ordering::Relaxed);
            writer::CATCH_UP_ROWS
        };
        let done = self
            .usage
            .flush_log(db, way, &self.log_days, &self.write_turn, &keep_going, rows)
            .await;
        if !yield_when_behind {
            self.log_catching_up.store(false, Ordering::Relaxed);
        }
        match &done {
            Ok((written, rejected)) => {
                let m = &self.metrics;
                m.log_entries_written.fetch_add(*written as u64, Ordering::Relaxed);
                m.log_entries_rejected.fetch_add(*rejected as u64, Ordering::Relaxed);
            }
            Err(_) => _ = self.metrics.flush_failures.fetch_add(1, Ordering::Relaxed),
        }
        done
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
