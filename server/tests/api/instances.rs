//! Two Keywarden instances on one PostgreSQL: a change committed through one
//! is refused by the other within 100 ms, also after the listening
//! connection was cut.

use crate::common::{Client, Engine, TestApp};
use app::api::keys::RevokeKey;
use axum::http::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

use crate::common::keys::code;

async fn create(admin: &mut Client, name: &str) -> (String, String) {
    crate::common::keys::create(admin, name, "production", "Write", "").await
}

async fn revoke(admin: &mut Client, id: &str) {
    let reply = admin.call_fn(RevokeKey { slug: "acme".into(), id: id.to_string() }).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// Asks `app` until it answers `want` for `key`; returns how long that took
/// after the change committed.
async fn until(
    app: &TestApp,
    key: &str,
    permissions: &[&str],
    want: &str,
    limit: Duration,
) -> Duration {
    let committed = Instant::now();
    loop {
        if code(app, key, permissions).await == want {
            return committed.elapsed();
        }
        assert!(
            committed.elapsed() < limit,
            "instance B still does not answer {want} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Asks `app` about `key` until an answer comes from its cache (no database
/// lookup), which must happen within a few tries: the notice of the key's
/// creation may still be on its way and drop the first cached answer.
async fn cached_on(app: &TestApp, key: &str) {
    let lookups = || app.verifier.lookups.load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..20 {
        let before = lookups();
        assert_eq!(code(app, key, &[]).await, "VALID");
        if lookups() == before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the answer never came from the cache");
}

async fn a_change_on_one_instance_is_seen_by_the_other(engine: Engine) {
    let a = TestApp::demo(&engine).await;
    let b = a.another_instance().await;
    let mut admin = a.signed_in("admin@acme.test").await;
    let (id, token) = create(&mut admin, "Shared").await;

    // B answers from its cache, then A revokes the key.
    cached_on(&b, &token).await;
    revoke(&mut admin, &id).await;
    let took = until(&b, &token, &[], "REVOKED", Duration::from_millis(100)).await;
    eprintln!("revocation reached instance B in {took:?}");

    // An edit of permissions through A is what B answers with.
    let (id, token) = create(&mut admin, "Edited").await;
    assert_eq!(code(&b, &token, &["data:read"]).await, "INSUFFICIENT_PERMISSIONS");
    let edit = json!({ "name": "Edited", "key_type": "Read", "permissions": [], "expiry": "keep",
        "expiry_date": "", "rate_limit": "", "rate_window_secs": "" });
    let reply =
        admin.call_json("keys/update", json!({ "slug": "acme", "id": id, "input": edit })).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    until(&b, &token, &["data:read"], "VALID", Duration::from_millis(100)).await;
}

async fn a_cut_listener_reconnects_and_misses_nothing(engine: Engine) {
    let a = TestApp::demo(&engine).await;
    let b = a.another_instance().await;
    let mut admin = a.signed_in("admin@acme.test").await;
    let (id, token) = create(&mut admin, "Through a cut").await;
    assert_eq!(code(&b, &token, &[]).await, "VALID");

    // Cut every listening connection of this database (both instances').
    let (cut,): (i64,) = a
        .row(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            &[],
        )
        .await;
    assert!(cut >= 1, "the listeners were found");

    // Whatever state B's listener is in, a revoke through A is refused by B.
    revoke(&mut admin, &id).await;
    until(&b, &token, &[], "REVOKED", Duration::from_millis(100)).await;

    // And B listens (and caches) again.
    let started = Instant::now();
    while b.verifier.cache.is_deaf() || started.elapsed() < Duration::from_millis(50) {
        assert!(started.elapsed() < Duration::from_secs(10), "B never listened again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, other) = create(&mut admin, "After the cut").await;
    cached_on(&b, &other).await;
}

on_postgres!(
    a_change_on_one_instance_is_seen_by_the_other,
    a_cut_listener_reconnects_and_misses_nothing,
);
