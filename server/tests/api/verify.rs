//! `POST /v1/keys/verify` over HTTP on the real router, on SQLite and
//! PostgreSQL: every answer code, service-token binding, rate limits, usage
//! counts, changes taking effect on the next request, and no database work
//! for malformed or repeated keys.

use crate::common::keys::{code, create, regenerate, verify_as};
use crate::common::{Engine, PRODUCTION_VERIFIER, STAGING_VERIFIER, TestApp, concurrently};
use app::api::key_types::Grace;
use app::api::keys::{DeleteKey, RevokeKey};
use app::domain::{ApiToken, Environment, KeyPrefix};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

async fn every_code_comes_from_a_real_request(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (_, write) = create(&mut admin, "Web SDK", "production", "Write", "").await;

    let answer = verify_as(&app, PRODUCTION_VERIFIER, json!({ "key": write, "permissions": ["events:write"], "path": "/v1/events", "ip": "203.0.113.7" })).await.json();
    assert_eq!(answer["valid"], true);
    assert_eq!(answer["code"], "VALID");
    assert_eq!(answer["org"], "acme");
    assert_eq!(answer["name"], "Web SDK");
    assert_eq!(answer["type"], "Write");
    assert_eq!(answer["permissions"], json!(["events:write"]));
    assert_eq!(answer["environment"], "production");
    assert_eq!(answer["expires_at"], Value::Null);
    assert_eq!(answer["ratelimit"]["limit"], 6000);
    assert_eq!(answer["ratelimit"]["remaining"], 5999);

    let mut flipped = write.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'a' { 'b' } else { 'a' });
    assert_eq!(code(&app, &flipped, &[]).await, "MALFORMED", "checksum");
    assert_eq!(code(&app, "not a key", &[]).await, "MALFORMED");
    let other_prefix =
        ApiToken::generate(&KeyPrefix::parse("zz").unwrap(), Environment::Production);
    assert_eq!(
        code(&app, other_prefix.expose(), &[]).await,
        "MALFORMED",
        "another operator's prefix"
    );
    let unknown = ApiToken::generate(&KeyPrefix::default(), Environment::Production);
    assert_eq!(code(&app, unknown.expose(), &[]).await, "NOT_FOUND");
    assert_eq!(code(&app, &write, &["data:read"]).await, "INSUFFICIENT_PERMISSIONS");

    let (_, staging) = create(&mut admin, "Staging job", "staging", "Read", "").await;
    assert_eq!(code(&app, &staging, &[]).await, "WRONG_ENVIRONMENT", "a production verifier");
    let from_staging = verify_as(&app, STAGING_VERIFIER, json!({ "key": staging })).await.json();
    assert_eq!(from_staging["code"], "VALID");
    let wrong = verify_as(&app, STAGING_VERIFIER, json!({ "key": write })).await.json();
    assert_eq!(wrong["code"], "WRONG_ENVIRONMENT", "a staging verifier refuses a production key");

    let (disabled_id, disabled) = create(&mut admin, "Paused", "production", "Read", "").await;
    admin
        .call_json(
            "keys/set_enabled",
            json!({ "slug": "acme", "id": disabled_id, "enabled": false }),
        )
        .await;
    assert_eq!(code(&app, &disabled, &[]).await, "DISABLED");
    let (revoked_id, revoked) = create(&mut admin, "Gone", "production", "Read", "").await;
    admin.call_fn(RevokeKey { slug: "acme".into(), id: revoked_id.to_string() }).await;
    assert_eq!(code(&app, &revoked, &[]).await, "REVOKED");
    let (expired_id, expired) = create(&mut admin, "Old", "production", "Read", "").await;
    sqlx::query("UPDATE api_keys SET expires_at = 1 WHERE id = $1")
        .bind(&expired_id)
        .execute(&app.state.db)
        .await
        .unwrap();
    assert_eq!(code(&app, &expired, &[]).await, "EXPIRED");

    let (_, limited) = create(&mut admin, "Tight", "production", "Read", "3").await;
    for remaining in [2, 1, 0] {
        let a = verify_as(&app, PRODUCTION_VERIFIER, json!({ "key": limited })).await.json();
        assert_eq!(
            (a["code"].as_str(), a["ratelimit"]["remaining"].as_u64()),
            (Some("VALID"), Some(remaining))
        );
    }
    let refused = verify_as(&app, PRODUCTION_VERIFIER, json!({ "key": limited })).await.json();
    assert_eq!(refused["code"], "RATE_LIMITED");
    assert_eq!(refused["valid"], false);
    let reset = refused["ratelimit"]["reset_ms"].as_u64().unwrap();
    assert!(
        (19_000..=20_000).contains(&reset),
        "one of 3 slots a minute frees within 20 s: {reset}"
    );
}

async fn verifiers_must_authenticate_and_send_json(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    for token in ["", "test-production-service-token-0002", "Bearer"] {
        let reply = verify_as(&app, token, json!({ "key": "x" })).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.json()["error"]["code"], "UNAUTHORIZED");
    }
    let req = Request::post("/v1/keys/verify")
        .header(header::AUTHORIZATION, format!("Bearer {PRODUCTION_VERIFIER}"))
        .body(Body::from("{not json"))
        .unwrap();
    let reply = app.send(req, [10, 1, 1, 1]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"]["code"], "BAD_REQUEST");
}

async fn changes_refuse_the_old_secret_on_the_next_request(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("owner@acme.test").await;
    let (id, token) = create(&mut admin, "Cached", "production", "Read", "").await;
    assert_eq!(code(&app, &token, &[]).await, "VALID"); // now cached
    admin
        .call_json("keys/set_enabled", json!({ "slug": "acme", "id": id, "enabled": false }))
        .await;
    assert_eq!(code(&app, &token, &[]).await, "DISABLED");
    admin.call_json("keys/set_enabled", json!({ "slug": "acme", "id": id, "enabled": true })).await;
    assert_eq!(code(&app, &token, &[]).await, "VALID");

    let mut edit = json!({ "name": "Cached", "key_type": "Write", "permissions": [], "expiry": "keep", "expiry_date": "", "rate_limit": "", "rate_window_secs": "" });
    admin
        .call_json("keys/update", json!({ "slug": "acme", "id": id, "input": edit.clone() }))
        .await;
    assert_eq!(
        code(&app, &token, &["data:read"]).await,
        "INSUFFICIENT_PERMISSIONS",
        "an edit is seen at once"
    );
    edit["key_type"] = json!("Read");
    admin.call_json("keys/update", json!({ "slug": "acme", "id": id, "input": edit })).await;

    let new = regenerate(&mut admin, &id, Grace::None).await;
    assert_eq!(code(&app, &token, &[]).await, "NOT_FOUND", "regenerate without grace");
    assert_eq!(code(&app, &new, &[]).await, "VALID");
    let newest = regenerate(&mut admin, &id, Grace::OneHour).await;
    assert_eq!(
        code(&app, &new, &[]).await,
        "VALID",
        "the old secret works during the grace period"
    );
    assert_eq!(code(&app, &newest, &[]).await, "VALID");

    admin.call_fn(RevokeKey { slug: "acme".into(), id: id.to_string() }).await;
    assert_eq!(code(&app, &newest, &[]).await, "REVOKED");
    assert_eq!(code(&app, &new, &[]).await, "NOT_FOUND", "revoking ends the grace secret");
    admin.call_fn(DeleteKey { slug: "acme".into(), id: id.to_string() }).await;
    assert_eq!(code(&app, &newest, &[]).await, "NOT_FOUND", "deleted keys are unknown");
}

async fn usage_counts_are_exact_after_a_flush(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (id, token) = create(&mut admin, "Busy", "production", "Write", "1000000").await;
    concurrently(50, |_| {
        let (app, token) = (app.clone(), token.clone());
        async move {
            for _ in 0..100 {
                let r = verify_as(&app, PRODUCTION_VERIFIER, json!({ "key": token, "path": "/v1/events", "ip": "203.0.113.9", "user_agent": "sdk/1.0" })).await;
                assert_eq!(r.json()["code"], "VALID");
            }
        }
    })
    .await;
    let (before,): (i64,) =
        app.row("SELECT request_count FROM api_keys WHERE id = $1", &[&id]).await;
    assert_eq!(before, 0, "nothing is written on the request path");
    // One refusal too, so outcomes are counted apart.
    let refused = verify_as(
        &app,
        PRODUCTION_VERIFIER,
        json!({ "key": token, "permissions": ["data:read"], "path": "/v1/data?api_key=leaked#frag" }),
    )
    .await;
    assert_eq!(refused.json()["code"], "INSUFFICIENT_PERMISSIONS");
    let done = app.verifier.flush().await.unwrap();
    assert_eq!((done.keys, done.log_entries), (1, 5001));
    let page = admin
        .call_json("keys/list", json!({ "slug": "acme", "query": { "search": "Busy" } }))
        .await
        .json();
    assert_eq!(page["keys"][0]["request_count"], 5001);
    let last_used = page["keys"][0]["last_used_at"].as_i64().unwrap();
    assert!((app::backend::db::now() - last_used).abs() <= 5);
    let by_code: Vec<(String, i64)> = app.rows("SELECT code, CAST(SUM(count) AS BIGINT) FROM key_usage WHERE key_id = $1 GROUP BY code ORDER BY code", &[&id]).await;
    assert_eq!(by_code, [("INSUFFICIENT_PERMISSIONS".to_string(), 1), ("VALID".to_string(), 5000)]);
    type Logged = (String, Option<String>, Option<String>, Option<String>, i64);
    let logged: Vec<Logged> = app.rows("SELECT code, path, ip, user_agent, COUNT(*) FROM request_log WHERE key_id = $1          GROUP BY code, path, ip, user_agent ORDER BY code", &[&id]).await;
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert_eq!(logged[0].0, "INSUFFICIENT_PERMISSIONS");
    assert_eq!(logged[0].1.as_deref(), Some("/v1/data"), "the query is not kept");
    assert_eq!(
        logged[1],
        (
            "VALID".to_string(),
            Some("/v1/events".to_string()),
            Some("203.0.113.9".to_string()),
            Some("sdk/1.0".to_string()),
            5000
        )
    );
    assert_eq!(app.verifier.flush().await.unwrap(), Default::default(), "each use counted once");
}

async fn malformed_and_repeated_keys_cost_no_database_work(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let lookups = || app.verifier.lookups.load(Ordering::Relaxed);
    let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    for _ in 0..1000 {
        // Random strings of the key's shape: the checksum rejects them.
        let body: String = (0..38)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                alphabet[(seed % 62) as usize] as char
            })
            .collect();
        assert_eq!(code(&app, &format!("kw_live_{body}"), &[]).await, "MALFORMED");
    }
    assert_eq!(lookups(), 0);
    let unknown = ApiToken::generate(&KeyPrefix::default(), Environment::Production);
    for _ in 0..500 {
        assert_eq!(code(&app, unknown.expose(), &[]).await, "NOT_FOUND");
    }
    assert_eq!(lookups(), 1, "a negative entry answers the repeats");
}

/// An answer past its cache lifetime is still served at once while one
/// background read refreshes it (a change made behind Keywarden's back,
/// with no notice, shows up after that read); no request waits for it.
async fn aged_answers_are_refreshed_in_the_background(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (id, key) = create(&mut admin, "Before", "production", "Write", "").await;
    let name = |app: &TestApp, key: String| {
        let app = app.clone();
        async move {
            verify_as(&app, PRODUCTION_VERIFIER, json!({ "key": key })).await.json()["name"].clone()
        }
    };
    assert_eq!(name(&app, key.clone()).await, "Before");
    // Renamed in the database directly: no change notice, the cache keeps
    // the old answer until it ages.
    sqlx::query("UPDATE api_keys SET name = 'After' WHERE id = $1")
        .bind(&id)
        .execute(&app.state.db)
        .await
        .unwrap();
    assert_eq!(name(&app, key.clone()).await, "Before");
    let misses = || app.verifier.metrics.cache_misses.load(Ordering::Relaxed);
    let missed = misses();
    app.verifier.cache.age_for_tests();
    // Served from the aged answer; the read runs beside it.
    assert_eq!(name(&app, key.clone()).await, "Before");
    let mut refreshed = false;
    for _ in 0..100 {
        if name(&app, key.clone()).await == "After" {
            refreshed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refreshed, "the background read brought the new name");
    assert_eq!(misses(), missed, "no request read the database itself");
}

/// The benchmark's baseline route exists only with `--bench-routes`, and
/// answers as much as a valid key's answer without deciding anything.
async fn the_benchmark_baseline_is_served_only_when_asked(engine: Engine) {
    let echo = |app: TestApp| async move {
        let body = json!({ "key": "kw_live_anything", "permissions": ["events:write"] });
        let req = Request::post("/bench/echo")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        app.send(req, [127, 0, 0, 1]).await
    };
    let plain = TestApp::demo(&engine).await;
    assert_eq!(echo(plain).await.status, StatusCode::NOT_FOUND);
    let gateway =
        server::startup::VerifierSettings { bench_routes: true, ..crate::common::test_gateway() };
    let bench = TestApp::demo_behind(&engine, Default::default(), gateway).await;
    let mut admin = bench.signed_in("admin@acme.test").await;
    let (_, key) = create(&mut admin, "Bench 0001", "production", "Write", "1000000").await;
    let r = echo(bench.clone()).await;
    assert_eq!(r.status, StatusCode::OK);
    let valid = verify_as(&bench, PRODUCTION_VERIFIER, json!({ "key": key })).await;
    let (echoed, verified) = (r.body.len() as f64, valid.body.len() as f64);
    assert!((echoed / verified - 1.0).abs() < 0.25, "{} vs {}", r.body, valid.body);
    assert_eq!(r.json()["code"], "VALID");
}

/// The body's strings are read without copying when they can be; escaped
/// ones (which must be copied) mean the same, and a non-string is refused.
async fn escaped_strings_in_the_body_mean_what_they_say(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (id, key) = create(&mut admin, "Escaped", "production", "Write", "").await;
    let send = |body: String| {
        let req = Request::post("/v1/keys/verify")
            .header(header::AUTHORIZATION, format!("Bearer {PRODUCTION_VERIFIER}"))
            .body(Body::from(body))
            .unwrap();
        app.send(req, [10, 1, 1, 1])
    };
    let escaped_key = key.replace('_', "\\u005f");
    let body = format!(
        r#"{{"key": "{escaped_key}", "permissions": ["events\u003awrite"], "path": "\/v1\/events", "user_agent": "sdk \"quoted\""}}"#
    );
    let reply = send(body).await;
    assert_eq!(reply.json()["code"], "VALID", "{}", reply.body);
    let reply = send(format!(r#"{{"key": "{key}", "permissions": [7]}}"#)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    app.verifier.flush().await.unwrap();
    let row: (String, String) =
        app.row("SELECT path, user_agent FROM request_log WHERE key_id = $1", &[&id]).await;
    assert_eq!(row, ("/v1/events".into(), "sdk \"quoted\"".into()));
}

on_both_engines!(
    escaped_strings_in_the_body_mean_what_they_say,
    aged_answers_are_refreshed_in_the_background,
    the_benchmark_baseline_is_served_only_when_asked,
    every_code_comes_from_a_real_request,
    verifiers_must_authenticate_and_send_json,
    changes_refuse_the_old_secret_on_the_next_request,
    usage_counts_are_exact_after_a_flush,
    malformed_and_repeated_keys_cost_no_database_work,
);
