//! Token hash → what the key may do, or "no such key" (negative entries), so
//! repeated and random tokens cost no database work. A key change drops its
//! entries at once; a generation counter keeps a lookup that raced with the
//! change from putting the old state back.

use app::backend::KeyChangeListener;
use app::backend::keys::store::VerificationRow;
use app::domain::{Environment, IpAllowlist, RateLimit, UsageLimit};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What verification needs of a key.
#[derive(Clone, Debug)]
pub struct CachedKey {
    pub id: Arc<str>,
    pub org_id: Arc<str>,
    /// The org's slug.
    pub org: String,
    pub name: String,
    pub key_type: String,
    pub permissions: Vec<String>,
    pub environment: Environment,
    pub expires_at: Option<i64>,
    pub disabled: bool,
    /// The key's org is suspended: it verifies as DISABLED.
    pub org_suspended: bool,
    pub revoked: bool,
    pub rate_limit: RateLimit,
    /// When the presented secret is the previous one of a regenerated key:
    /// the end of its grace period.
    pub grace_until: Option<i64>,
    pub ip_allowlist: IpAllowlist,
    pub customer: Option<String>,
    /// The metadata object, answered as it is stored.
    pub meta: Option<Box<serde_json::value::RawValue>>,
    pub usage_limit: Option<UsageLimit>,
    /// The usage balance's edit count when this was read.
    pub usage_epoch: i64,
    /// What every answer about this key says, serialised on first use
    /// (by `answer`, which reads the cache; the cache reads no answer).
    pub fixed_answer: std::sync::OnceLock<FixedAnswer>,
}

impl CachedKey {
    /// The key as verification reads it; `None` for a row it cannot use.
    pub fn from_row(row: VerificationRow) -> Option<Self> {
        let VerificationRow { key, org_slug, org_suspended_at, is_current, usage_epoch } = row;
        let options = key.options();
        Some(CachedKey {
            environment: key.environment.parse().ok()?,
            permissions: key.permission_list(),
            rate_limit: key.rate(),
            grace_until: (is_current == 0).then(|| key.previous_expires_at.unwrap_or(0)),
            ip_allowlist: options.ip_allowlist,
            customer: options.customer.map(|c| c.as_str().to_owned()),
            meta: key.meta.and_then(|m| serde_json::value::RawValue::from_string(m).ok()),
            usage_limit: options.usage_limit,
            usage_epoch,
            disabled: key.disabled != 0,
            revoked: key.revoked_at.is_some(),
            org_suspended: org_suspended_at.is_some(),
            expires_at: key.expires_at,
            key_type: key.key_type,
            name: key.name,
            org: org_slug,
            id: key.id.into(),
            org_id: key.org_id.into(),
            fixed_answer: Default::default(),
        })
    }
}

/// A key's fixed answer fields as JSON members, without the braces:
/// `head` goes before the rate limit, `tail` after it.
#[derive(Clone, Debug)]
pub struct FixedAnswer {
    pub head: Box<str>,
    pub tail: Box<str>,
}

/// A cached answer of the database.
#[derive(Clone, Debug)]
pub enum Entry {
    Key(Arc<CachedKey>),
    Missing,
}

/// How long answers may be reused without a change notice (a backstop;
/// changes on this instance invalidate at once). Each known key's answer
/// lives between four fifths of this and all of it, at random, so keys
/// cached together (all of them, after a restart) do not all expire and hit
/// the database in the same second.
const KEY_TTL: Duration = Duration::from_secs(60);
/// After its TTL a known key's answer is still served for this long while
/// one request's background read refreshes it (stale-while-revalidate): no
/// request waits for the database because an answer aged.
const STALE_FOR: Duration = Duration::from_secs(60);
/// While a refresh is under way (or after one failed), the stale answer is
/// served this long before another request asks for a new refresh.
const REFRESH_RETRY: Duration = Duration::from_secs(5);
const MISSING_TTL: Duration = Duration::from_secs(300);
/// "No such key" answers held per generation (two generations are kept).
/// Anyone can mint well-formed random keys (the checksum is public), so
/// these live apart from the known keys and a flood of them only ever
/// evicts its own kind.
pub const MISSING_PER_GENERATION: usize = 100_000;
/// Known-key answers come only from real keys; past this many the known
/// keys start over (a backstop against an unforeseen leak, never reached
/// by random input).
const MAX_KEYS: usize = 1_000_000;

/// Negative answers in two generations: when the current one is full it
/// becomes the previous one and the old previous one is dropped, so memory
/// stays bounded and recent answers survive.
#[derive(Default)]
struct MissingSet {
    current: DigestMap<Instant>,
    previous: DigestMap<Instant>,
}

/// Maps keyed by token digests (uniform already, so the fast hasher).
type DigestMap<V> = HashMap<[u8; 32], V, foldhash::fast::RandomState>;

#[derive(Default)]
struct Maps {
    /// The answer, when it is next due a refresh, and when it may no longer
    /// be served at all (fixed when it was read: failed refreshes never
    /// stretch it).
    keys: DigestMap<(Arc<CachedKey>, Instant, Instant)>,
    missing: MissingSet,
}

pub struct KeyCache {
    maps: Mutex<Maps>,
    missing_per_generation: usize,
    generation: AtomicU64,
    /// Set while change notices from other instances cannot be heard: every
    /// request then reads the database.
    deaf: AtomicBool,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::with_missing_capacity(MISSING_PER_GENERATION)
    }
}

impl KeyCache {
    /// A cache holding up to `per_generation` negative answers twice over.
    pub fn with_missing_capacity(per_generation: usize) -> Self {
        KeyCache {
            maps: Mutex::default(),
            missing_per_generation: per_generation.max(1),
            generation: AtomicU64::new(0),
            deaf: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached answer for `hash`, if fresh or (known keys) stale but
    /// within [`STALE_FOR`] of their TTL.
    pub fn get(&self, hash: &[u8; 32]) -> Option<Entry> {
        self.get_or_refresh(hash).map(|(entry, _)| entry)
    }

    /// [`KeyCache::get`], and whether the caller should refresh the answer
    /// in the background: true for one caller per [`REFRESH_RETRY`] once
    /// the answer is past its TTL.
    pub fn get_or_refresh(&self, hash: &[u8; 32]) -> Option<(Entry, bool)> {
        if self.deaf.load(Ordering::Acquire) {
            return None;
        }
        let mut maps = self.lock();
        if let Some((key, until, served_until)) = maps.keys.get_mut(hash) {
            let now = Instant::now();
            if now >= *served_until {
                return None;
            }
            if now < *until {
                return Some((Entry::Key(key.clone()), false));
            }
            // Aged: served while this caller refreshes it; later callers are
            // served without asking again meanwhile.
            *until = now + REFRESH_RETRY;
            return Some((Entry::Key(key.clone()), true));
        }
        let at = maps.missing.current.get(hash).or_else(|| maps.missing.previous.get(hash))?;
        (at.elapsed() < MISSING_TTL).then_some((Entry::Missing, false))
    }

    /// Take before reading the database; pass to [`KeyCache::insert`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores an answer read at generation `seen`, unless a change came in
    /// since (then the answer may be stale and is dropped).
    pub fn insert(&self, hash: [u8; 32], entry: Entry, seen: u64) {
        let mut maps = self.lock();
        if self.generation.load(Ordering::Acquire) != seen || self.deaf.load(Ordering::Acquire) {
            return;
        }
        let now = Instant::now();
        match entry {
            Entry::Key(key) => {
                if maps.keys.len() >= MAX_KEYS {
                    maps.keys.clear();
                }
                let ttl = KEY_TTL.mul_f64(0.8 + rand::random::<f64>() * 0.2);
                maps.keys.insert(hash, (key, now + ttl, now + ttl + STALE_FOR));
            }
            Entry::Missing => {
                // A key deleted (or unknown now) is no longer served stale.
                maps.keys.remove(&hash);
                let missing = &mut maps.missing;
                if missing.current.len() >= self.missing_per_generation {
                    missing.previous = std::mem::take(&mut missing.current);
                }
                missing.current.insert(hash, now);
            }
        }
    }

    /// Drops every entry of key `id`.
    pub fn invalidate(&self, id: &str) {
        let mut maps = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        maps.keys.retain(|_, (key, ..)| &*key.id != id);
    }

    /// Drops every entry of org `org_id`'s keys.
    pub fn invalidate_org(&self, org_id: &str) {
        let mut maps = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        maps.keys.retain(|_, (key, ..)| &*key.org_id != org_id);
    }

    /// Drops every entry (after missed notices, changes are unknown).
    pub fn clear(&self) {
        let mut maps = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        *maps = Maps::default();
    }

    /// While `deaf`, nothing is served from or stored in the cache: changes
    /// made on other instances could not be heard.
    pub fn set_deaf(&self, deaf: bool) {
        self.deaf.store(deaf, Ordering::Release);
        self.clear();
    }

    /// Whether the cache is bypassed for want of change notices.
    pub fn is_deaf(&self) -> bool {
        self.deaf.load(Ordering::Acquire)
    }

    /// Ages every known key's answer past its TTL, as if a minute had gone
    /// by (tests of the background refresh).
    #[doc(hidden)]
    pub fn age_for_tests(&self) {
        let now = Instant::now();
        for (_, until, served_until) in self.lock().keys.values_mut() {
            *served_until = now + (*served_until - *until);
            *until = now;
        }
    }

    /// How many answers are held.
    pub fn held(&self) -> usize {
        let maps = self.lock();
        maps.keys.len() + maps.missing.current.len() + maps.missing.previous.len()
    }
}

impl KeyChangeListener for KeyCache {
    fn key_changed(&self, key_id: &str) {
        self.invalidate(key_id);
    }

    fn org_changed(&self, org_id: &str) {
        self.invalidate_org(org_id);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn key(id: &str) -> Entry {
        Entry::Key(Arc::new(key_named(id)))
    }

    /// A plain production key with id `id`.
    pub(crate) fn key_named(id: &str) -> CachedKey {
        CachedKey {
            id: id.into(),
            org_id: "o1".into(),
            org: "acme".into(),
            name: "k".into(),
            key_type: "Read".into(),
            permissions: vec![],
            environment: Environment::Production,
            expires_at: None,
            disabled: false,
            org_suspended: false,
            revoked: false,
            rate_limit: RateLimit { limit: 1, window_secs: 1 },
            grace_until: None,
            ip_allowlist: IpAllowlist::default(),
            customer: None,
            meta: None,
            usage_limit: None,
            usage_epoch: 0,
            fixed_answer: Default::default(),
        }
    }

    #[test]
    fn keys_cached_together_expire_spread_over_the_last_fifth_of_the_ttl() {
        let cache = KeyCache::default();
        let before = Instant::now();
        for n in 0..500u16 {
            let mut hash = [0u8; 32];
            hash[..2].copy_from_slice(&n.to_be_bytes());
            cache.insert(hash, key(&format!("k{n}")), cache.generation());
        }
        let after = Instant::now();
        let maps = cache.lock();
        let until: Vec<Instant> = maps.keys.values().map(|(_, until, _)| *until).collect();
        assert_eq!(until.len(), 500);
        assert!(until.iter().all(|u| *u >= before + KEY_TTL.mul_f64(0.8)));
        assert!(until.iter().all(|u| *u <= after + KEY_TTL));
        let (first, last) = (until.iter().min().unwrap(), until.iter().max().unwrap());
        assert!(*last - *first > KEY_TTL / 10, "spread over {:?}", *last - *first);
    }

    #[test]
    fn an_aged_answer_is_served_while_one_caller_refreshes_it() {
        let cache = KeyCache::default();
        cache.insert([1; 32], key("a"), cache.generation());
        assert!(matches!(cache.get_or_refresh(&[1; 32]), Some((Entry::Key(_), false))));
        cache.age_for_tests();
        assert!(matches!(cache.get_or_refresh(&[1; 32]), Some((Entry::Key(_), true))));
        // The next callers are served without asking for a second refresh.
        assert!(matches!(cache.get_or_refresh(&[1; 32]), Some((Entry::Key(_), false))));
        // Past the stale window nothing is served: the caller reads itself.
        cache.lock().keys.get_mut(&[1; 32]).unwrap().2 = Instant::now();
        assert!(cache.get_or_refresh(&[1; 32]).is_none());
        // Refreshes that keep failing never stretch how long it is served.
        cache.insert([3; 32], key("c"), cache.generation());
        cache.age_for_tests();
        let served_until = cache.lock().keys[&[3; 32]].2;
        assert!(matches!(cache.get_or_refresh(&[3; 32]), Some((_, true))));
        assert_eq!(cache.lock().keys[&[3; 32]].2, served_until);
        // A refresh that finds the key gone stops serving it at once.
        cache.insert([2; 32], key("b"), cache.generation());
        cache.insert([2; 32], Entry::Missing, cache.generation());
        assert!(matches!(cache.get(&[2; 32]), Some(Entry::Missing)));
    }

    #[test]
    fn a_change_drops_the_keys_entries_and_keeps_others() {
        let cache = KeyCache::default();
        let g = cache.generation();
        cache.insert([1; 32], key("a"), g);
        cache.insert([2; 32], key("a"), g);
        cache.insert([3; 32], key("b"), g);
        cache.insert([4; 32], Entry::Missing, g);
        cache.invalidate("a");
        assert!(cache.get(&[1; 32]).is_none() && cache.get(&[2; 32]).is_none());
        assert!(matches!(cache.get(&[3; 32]), Some(Entry::Key(_))));
        assert!(matches!(cache.get(&[4; 32]), Some(Entry::Missing)));
    }

    #[test]
    fn a_deaf_cache_serves_and_keeps_nothing_until_it_hears_again() {
        let cache = KeyCache::default();
        cache.insert([1; 32], key("a"), cache.generation());
        cache.set_deaf(true);
        assert!(cache.get(&[1; 32]).is_none());
        cache.insert([2; 32], key("b"), cache.generation());
        cache.set_deaf(false);
        assert!(cache.get(&[2; 32]).is_none() && cache.get(&[1; 32]).is_none());
        cache.insert([2; 32], key("b"), cache.generation());
        assert!(cache.get(&[2; 32]).is_some());
    }

    #[test]
    fn a_flood_of_unknown_keys_never_evicts_a_known_one() {
        let cache = KeyCache::default();
        let g = cache.generation();
        cache.insert([0; 32], key("valid"), g);
        for n in 0..300_000u32 {
            let mut hash = [1; 32];
            hash[..4].copy_from_slice(&n.to_le_bytes());
            cache.insert(hash, Entry::Missing, g);
        }
        assert!(matches!(cache.get(&[0; 32]), Some(Entry::Key(_))));
        assert!(cache.held() <= 1 + 2 * MISSING_PER_GENERATION, "bounded");
        // The most recent unknown keys are still remembered.
        let mut recent = [1; 32];
        recent[..4].copy_from_slice(&299_999u32.to_le_bytes());
        assert!(matches!(cache.get(&recent), Some(Entry::Missing)));
    }

    #[test]
    fn a_lookup_that_raced_a_change_is_not_cached() {
        let cache = KeyCache::default();
        let seen = cache.generation();
        cache.invalidate("a"); // committed while the lookup was reading
        cache.insert([1; 32], key("a"), seen);
        assert!(cache.get(&[1; 32]).is_none());
    }
}
