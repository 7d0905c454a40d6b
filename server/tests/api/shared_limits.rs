//! Limits across instances (docs/design.md#limits-across-instances): two real `keywarden`
//! processes on one PostgreSQL, hammered at once. Usage limits are exact
//! (a SIGKILL may strand a lease, never over-grant); rate limits hold
//! within one sync interval.

use crate::common::binary::{self, Running, http, status};
use crate::common::{Engine, PRODUCTION_VERIFIER};
use app::backend::Db;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Sends `n` verifications of `key` to each of `servers` (4 connections
/// each, one request per connection); returns how many were VALID.
fn hammer(servers: &[&Running], key: &str, n: usize) -> usize {
    let valid = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = servers
        .iter()
        .flat_map(|s| std::iter::repeat_n(s.addr.clone(), 4))
        .map(|addr| {
            let (valid, key) = (valid.clone(), key.to_string());
            std::thread::spawn(move || {
                let auth = format!("Bearer {PRODUCTION_VERIFIER}");
                let headers =
                    [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
                let body = format!(r#"{{"key":"{key}","permissions":["events:write"]}}"#);
                for _ in 0..n / 4 {
                    let answer = http(&addr, "POST", "/v1/keys/verify", &headers, &body);
                    if status(&answer) != 200 {
                        // The instance was killed under us.
                        return;
                    }
                    if answer.contains("\"VALID\"") {
                        valid.fetch_add(1, Ordering::Relaxed);
                    } else {
                        assert!(
                            answer.contains("_EXCEEDED") || answer.contains("RATE_LIMITED"),
                            "{answer}"
                        );
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    valid.load(Ordering::Relaxed)
}

async fn limited_key(pool: &Db, name: &str, rate: u32, uses: Option<i64>) -> String {
    let (id, token) = binary::insert_key(pool, name, "Write", &["events:write"], rate).await;
    sqlx::query("UPDATE api_keys SET usage_limit = $1, usage_remaining = $1 WHERE id = $2")
        .bind(uses)
        .bind(&id)
        .execute(pool)
        .await
        .unwrap();
    token.expose().to_string()
}

async fn usage_limits_are_exact_across_instances(engine: Engine) {
    let (url, pool) = binary::prepared_database(&engine).await;
    let key = limited_key(&pool, "Thousand", 1_000_000, Some(1000)).await;
    let flush = [("KEYWARDEN_USAGE_FLUSH_MS", "200")];
    let (a, b) = (binary::start(&url, &flush), binary::start(&url, &flush));
    let first = tokio::task::spawn_blocking({
        let key = key.clone();
        move || {
            let valid = hammer(&[&a, &b], &key, 700);
            (a, b, valid)
        }
    });
    let (a, b, mut valid) = first.await.unwrap();
    assert!(valid <= 1000, "{valid} VALID answers for 1000 uses");
    // Leases left unspent go back at the next flush; then the rest is spent.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let rest = tokio::task::spawn_blocking(move || hammer(&[&a, &b], &key, 200)).await.unwrap();
    valid += rest;
    eprintln!("two instances, 1,800 calls for 1,000 uses: {valid} VALID");
    assert_eq!(valid, 1000);
}

async fn a_killed_instance_never_over_grants(engine: Engine) {
    let (url, pool) = binary::prepared_database(&engine).await;
    let key = limited_key(&pool, "Killed", 1_000_000, Some(300)).await;
    let flush = [("KEYWARDEN_USAGE_FLUSH_MS", "3600000")];
    let (mut a, b) = (binary::start(&url, &flush), binary::start(&url, &flush));
    let before = hammer(&[&a, &b], &key, 100);
    // A holds a lease it never gives back.
    a.child.kill().unwrap();
    let _ = a.child.wait();
    let after = tokio::task::spawn_blocking(move || hammer(&[&b], &key, 800)).await.unwrap();
    let (left,): (i64,) =
        sqlx::query_as("SELECT usage_remaining FROM api_keys WHERE name = 'Killed'")
            .fetch_one(&pool)
            .await
            .unwrap();
    eprintln!(
        "300 uses, one instance killed: {} VALID, {left} left in the balance",
        before + after
    );
    assert!(before + after <= 300, "{} VALID answers for 300 uses", before + after);
    assert!(left >= 0);
}

async fn rate_limits_hold_across_instances_within_a_sync(engine: Engine) {
    let (url, pool) = binary::prepared_database(&engine).await;
    let key = limited_key(&pool, "Hundred a minute", 100, None).await;
    let (a, b) = (binary::start(&url, &[]), binary::start(&url, &[]));
    // Two bursts over about a second: both instances start with the whole
    // allowance, then each counts the other's admissions.
    let started = std::time::Instant::now();
    let first = hammer(&[&a, &b], &key, 200);
    std::thread::sleep(std::time::Duration::from_millis(600));
    let second = hammer(&[&a, &b], &key, 200);
    // The allowance also refills while the test runs: 100 a minute.
    let refilled = (started.elapsed().as_secs_f64() * 100.0 / 60.0).ceil() as usize;
    eprintln!(
        "rate limit 100 / minute, two instances, 800 calls: {first} + {second} = {} VALID",
        first + second
    );
    // At most the limit plus what the other instance admitted before one
    // sync told it (here, its whole allowance), plus the refill meanwhile.
    assert!(first + second <= 200 + refilled, "{} VALID ({refilled} refilled)", first + second);
    assert!(
        second <= 5 + refilled,
        "after a sync the second burst finds the allowance spent: {second}"
    );
}

/// Traffic that moves from one instance to another that never served the
/// key finds the allowance the first one used (before, the second started
/// with the whole allowance: twice the limit in one window).
async fn a_key_new_to_an_instance_finds_what_the_others_used(engine: Engine) {
    let (url, pool) = binary::prepared_database(&engine).await;
    let key = limited_key(&pool, "Moved", 100, None).await;
    let (a, b) = (binary::start(&url, &[]), binary::start(&url, &[]));
    // Each instance counts from the shared totals as it finds them at its
    // first sync (what came before is history): let both read them before
    // A's traffic, or on a busy machine B's first read can fall inside it.
    std::thread::sleep(rate_sync_start());
    let started = std::time::Instant::now();
    let on_a = hammer(&[&a], &key, 160);
    // A few syncs pass; B has not seen the key.
    std::thread::sleep(std::time::Duration::from_millis(1_000));
    let on_b = hammer(&[&b], &key, 160);
    let refilled = (started.elapsed().as_secs_f64() * 100.0 / 60.0).ceil() as usize;
    eprintln!("rate limit 100 / minute: {on_a} VALID on A, then {on_b} on B");
    assert!((100..=100 + refilled).contains(&on_a), "A admits the allowance: {on_a}");
    assert!(on_b <= refilled, "B admits only what refilled since: {on_b} ({refilled} refilled)");
}

/// Long enough for a just-started instance's first rate-limit sync.
fn rate_sync_start() -> std::time::Duration {
    server::verify::rate_sync::INTERVAL * 4
}

on_postgres!(
    usage_limits_are_exact_across_instances,
    a_killed_instance_never_over_grants,
    rate_limits_hold_across_instances_within_a_sync,
    a_key_new_to_an_instance_finds_what_the_others_used,
);
