//! Hostile-but-plausible use of the real router, on SQLite and PostgreSQL:
//! racing sign-ins and setups, hostile `next`, NUL bytes on their way to
//! the request log, floods of random keys, audit and caching rules.

use crate::common::calls::NewOrg;
use crate::common::keys::{create, verify_as};
use crate::common::{Engine, PRODUCTION_VERIFIER, TestApp, concurrently};
use app::api::keys::{GetKeyDetail, ListKeys, UpdateKey};
use app::backend::log_copy::{Copied, LogCopy};
use app::backend::log_segments::KnownDays;
use app::backend::usage_writes::{LogIds, LogRow};
use app::domain::ApiToken;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;
use server::verify::usage::Hit;
use std::sync::atomic::Ordering;

async fn concurrent_sign_ins_cannot_race_the_throttle(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let attempts = concurrently(400, |_| {
        let mut client = app.client();
        async move { client.sign_in("owner@acme.test", "not-the-password").await.status }
    })
    .await;
    let mut checked = 0;
    let mut throttled = 0;
    for status in attempts {
        match status {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => throttled += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        (checked, throttled),
        (5, 395),
        "exactly the account's five attempts reach the password check"
    );
    // The right password is refused too until the window ends.
    let mut owner = app.client();
    let r = owner.sign_in("owner@acme.test", crate::common::DEMO_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

async fn over_long_credentials_are_refused_before_any_work(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut client = app.client();
    let long_email = format!("{}@acme.test", "a".repeat(300));
    let long_password = "p".repeat(1025);
    for (email, password) in [
        (long_email.as_str(), crate::common::DEMO_PASSWORD),
        ("owner@acme.test", long_password.as_str()),
    ] {
        for _ in 0..10 {
            let started = std::time::Instant::now();
            let r = client.sign_in(email, password).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            assert_eq!(r.json()["Invalid"], serde_json::Value::Null);
            assert!(started.elapsed().as_millis() < 500, "no hashing");
        }
    }
    // None of them counted against the account.
    let r = client.sign_in("owner@acme.test", crate::common::DEMO_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn next_after_sign_in_stays_on_this_site(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    for (next, want) in [
        ("/\u{1}", "/"),
        ("/\t/evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/orgs/acme/settings/members", "/orgs/acme/settings/members"),
    ] {
        let mut client = app.client();
        let r = client
            .call(
                "login",
                &[
                    ("email", "viewer@acme.test"),
                    ("password", crate::common::DEMO_PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{next:?}: {}", r.body);
        let location = r.headers.get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(location.as_deref(), Some(want), "{next:?}");
    }
}

async fn racing_setups_create_one_owner(engine: Engine) {
    let app = TestApp::empty(&engine).await;
    let setups = concurrently(4, |n| {
        let mut client = app.client();
        async move {
            let slug = format!("org{n}");
            let email = format!("owner{n}@example.test");
            client.setup(NewOrg("First", &slug, &email, "a long enough password")).await.status
        }
    })
    .await;
    assert_eq!(setups.iter().filter(|s| **s == StatusCode::OK).count(), 1);
    for table in ["orgs", "users", "memberships"] {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&app.state.db)
            .await
            .unwrap();
        assert_eq!(n, 1, "{table}");
    }
}

fn hit<'a>(key_id: &str, org_id: &str, path: &'a str) -> Hit<'a> {
    Hit {
        key_id: key_id.into(),
        org_id: org_id.into(),
        code: server::verify::Code::Valid,
        at_ms: app::backend::db::now_ms(),
        path: Some(path),
        ip: None,
        user_agent: None,
    }
}

async fn control_characters_never_stop_usage_writing(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (id, key) = create(&mut admin, "Ingest", "production", "Write", "").await;
    // NUL and control characters in every logged field of a verification.
    let r = verify_as(
        &app,
        PRODUCTION_VERIFIER,
        json!({ "key": key, "path": "/v1/\u{0}ev\u{1b}[31ments\\n", "ip": "203.0.113.7\u{0}",
                "user_agent": "bot\r\n\u{0}/1" }),
    )
    .await;
    assert_eq!(r.json()["code"], "VALID");
    // On PostgreSQL the log writers use COPY (the flush for shutdown, the
    // pool's statement): both are tried here.
    let copy = LogCopy::for_pool(&app.state.db).unwrap();
    let db = &app.state.db;
    assert_eq!(app.verifier.flush_log_via(db, copy.as_ref(), false).await.unwrap(), (1, 0));
    let row: (String, String, String) =
        app.row("SELECT path, ip, user_agent FROM request_log WHERE key_id = $1", &[&id]).await;
    assert_eq!(row, ("/v1/ev[31ments\\n".into(), "203.0.113.7".into(), "bot/1".into()));

    // A row the database refuses (a NUL that got past the cleaning, on
    // PostgreSQL; an org deleted meanwhile, on both) is dropped and counted;
    // its neighbours and the counts are written, and later flushes are not
    // held up.
    let (org_id,): (String,) = app.row("SELECT org_id FROM api_keys WHERE id = $1", &[&id]).await;
    for n in 0..5 {
        let path = if n == 2 { "/nul\u{0}here" } else { "/fine" };
        let org = if n == 4 { "an-org-deleted-meanwhile" } else { org_id.as_str() };
        app.verifier.usage.record_uncleaned(hit(&id, org, path));
    }
    let refused = if matches!(engine, Engine::Postgres(_)) { 2 } else { 1 };
    let done = app.verifier.flush().await.unwrap();
    assert_eq!((done.log_entries, done.rejected), (5 - refused, refused));
    if let Some(copy) = &copy {
        // COPY itself: all or nothing.
        let row = |org_id| LogRow {
            org_id,
            key_id: &id,
            at_ms: app::backend::db::now_ms(),
            code: "VALID",
            path: Some("/by\\copy"),
            ip: None,
            user_agent: None,
        };
        let (ids, days) = (LogIds::new(), KnownDays::default());
        let fine = [row(&org_id), row(&org_id)];
        assert_eq!(copy.write(db, &fine, &ids, &days).await.unwrap(), Copied::All);
        let one_refused = [row(&org_id), row("an-org-deleted-meanwhile")];
        assert_eq!(copy.write(db, &one_refused, &ids, &days).await.unwrap(), Copied::Refused);
        let (copied,): (i64,) =
            app.row("SELECT COUNT(*) FROM request_log WHERE path = '/by\\copy'", &[]).await;
        assert_eq!(copied, 2);
    }
    for n in 0..5 {
        let org = if n == 1 { "an-org-deleted-meanwhile" } else { org_id.as_str() };
        app.verifier.usage.record_uncleaned(hit(&id, org, "/copied"));
    }
    let copied = app.verifier.flush_log_via(db, copy.as_ref(), false).await.unwrap();
    assert_eq!(copied, (4, 1), "a refused row leaves the rest to the pool's statement");
    let refused = refused + 1;
    app.verifier.usage.record(hit(&id, &org_id, "/after"));
    let done = app.verifier.flush().await.unwrap();
    assert_eq!(done.log_entries, 1);
    let (count,): (i64,) =
        app.row("SELECT request_count FROM api_keys WHERE id = $1", &[&id]).await;
    assert_eq!(count, 12, "every call counted, refused log rows included");
    let metrics =
        app.send(Request::get("/metrics").body(Body::empty()).unwrap(), [127, 0, 0, 1]).await;
    assert!(
        metrics.body.contains(&format!("keywarden_request_log_rejected_total {refused}\n")),
        "{}",
        metrics.body
    );
}

async fn random_keys_never_evict_a_cached_valid_key(engine: Engine) {
    // A small negative cache (500 a generation), flooded four times over:
    // before the fix the whole cache started over when full, and the valid
    // key cost another database read.
    let gateway = server::startup::VerifierSettings {
        missing_cache_per_generation: Some(500),
        ..crate::common::test_gateway()
    };
    let app = TestApp::demo_behind(&engine, Default::default(), gateway).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (_, key) = create(&mut admin, "Ingest", "production", "Write", "").await;
    assert_eq!(crate::common::keys::code(&app, &key, &[]).await, "VALID");
    let lookups = app.verifier.lookups.load(Ordering::Relaxed);
    let floods = 2_000;
    let mut randoms = Vec::new();
    for _ in 0..floods {
        let random = ApiToken::generate(&Default::default(), app::domain::Environment::Production);
        let r = verify_as(&app, PRODUCTION_VERIFIER, json!({ "key": random.expose() })).await;
        assert_eq!(r.json()["code"], "NOT_FOUND");
        randoms.push(random);
    }
    assert_eq!(crate::common::keys::code(&app, &key, &[]).await, "VALID");
    assert_eq!(
        app.verifier.lookups.load(Ordering::Relaxed) - lookups,
        floods,
        "each random key read the database once; the valid key was served from the cache"
    );
    // The latest unknown keys are remembered: asking again costs nothing.
    for random in &randoms[floods as usize - 100..] {
        verify_as(&app, PRODUCTION_VERIFIER, json!({ "key": random.expose() })).await;
    }
    assert_eq!(app.verifier.lookups.load(Ordering::Relaxed) - lookups, floods);
}

async fn members_get_no_key_history(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (id, _) = create(&mut admin, "Ingest", "production", "Write", "").await;
    let detail = |who: &'static str| {
        let app = app.clone();
        let id = id.clone();
        async move {
            let mut client = app.signed_in(who).await;
            client.call_fn(GetKeyDetail { slug: "acme".into(), id: id.to_string() }).await
        }
    };
    let r = detail("member@acme.test").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["audit"].is_null(), "{}", r.body);
    assert!(!r.body.contains("key.created"));
    let r = detail("admin@acme.test").await;
    assert_eq!(r.json()["audit"][0]["action"], "key.created", "{}", r.body);
}

async fn pages_and_answers_are_not_cached(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let page = owner.page("/orgs/acme/settings/api-keys").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-cache, no-store");
    let answer = owner.call_fn(ListKeys { slug: "acme".into(), query: Default::default() }).await;
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store", "{}", answer.body);
    let login = app.client().page("/login").await;
    assert_eq!(login.headers[header::CACHE_CONTROL], "no-cache, no-store");
}

async fn rest_changes_are_audited_with_the_key_and_the_client_address(engine: Engine) {
    let settings = app::backend::Settings { trust_proxy_headers: true, ..Default::default() };
    let app = TestApp::demo_with(&engine, settings).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (admin_key_id, admin_key) = create(&mut admin, "CI", "production", "Admin", "").await;
    let req = Request::post("/v1/keys")
        .header(header::AUTHORIZATION, format!("Bearer {admin_key}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-for", "198.51.100.1, 203.0.113.50")
        .body(Body::from(json!({ "name": "Nightly", "type": "Read" }).to_string()))
        .unwrap();
    let r = app.send(req, [10, 0, 0, 9]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (actor_id, actor, ip): (Option<String>, Option<String>, Option<String>) = app
        .row(
            "SELECT actor_id, actor_email, client_ip FROM audit_log WHERE target_label = 'Nightly'",
            &[],
        )
        .await;
    assert_eq!(actor_id.as_deref(), Some(admin_key_id.as_str()));
    assert_eq!(actor.as_deref(), Some("API key \u{201c}CI\u{201d}"));
    assert_eq!(ip.as_deref(), Some("203.0.113.50"), "the proxy's hop");
}

async fn pages_go_out_compressed_and_the_apis_do_not(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    for (encoding, expected) in [("br", Some("br")), ("gzip", Some("gzip")), ("identity", None)] {
        let req = Request::get("/login")
            .header(header::ACCEPT_ENCODING, encoding)
            .body(Body::empty())
            .unwrap();
        let r = app.send(req, [127, 0, 0, 1]).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap()),
            expected,
            "{encoding}"
        );
        assert!(
            r.headers[header::VARY]
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("accept-encoding")
        );
    }
    let req = Request::post("/v1/keys/verify")
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .header(header::AUTHORIZATION, format!("Bearer {PRODUCTION_VERIFIER}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "key": "kw_live_nope" }).to_string()))
        .unwrap();
    let r = app.send(req, [127, 0, 0, 1]).await;
    assert_eq!(r.json()["code"], "MALFORMED");
    assert!(r.headers.get(header::CONTENT_ENCODING).is_none(), "no work on the hot path");
}

/// Key changes from several members at once, with usage being written
/// between them: each waits its turn for the database, none fails. (On
/// SQLite a change that read before another wrote used to fail on the spot
/// with "database is locked".)
async fn simultaneous_changes_wait_their_turn(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let mut keys = Vec::new();
    for n in 0..8 {
        keys.push(create(&mut admin, &format!("Busy {n}"), "production", "Write", "").await);
    }
    for round in 0..5 {
        let changes: Vec<_> = keys
            .iter()
            .map(|(id, token)| {
                let (mut admin, app, id, token) =
                    (admin.clone(), app.clone(), id.clone(), token.clone());
                tokio::spawn(async move {
                    let body = json!({ "key": token, "permissions": ["events:write"] });
                    verify_as(&app, PRODUCTION_VERIFIER, body).await;
                    let flush = app.verifier.flush();
                    let input = crate::common::keys::key_input(
                        &format!("Busy {id} {round}"),
                        "production",
                        "Write",
                        "",
                    );
                    let update = admin.call_fn(UpdateKey { slug: "acme".into(), id, input });
                    let (flushed, reply) = tokio::join!(flush, update);
                    flushed.expect("usage written");
                    reply
                })
            })
            .collect();
        for change in changes {
            let reply = change.await.unwrap();
            assert_eq!(reply.status, StatusCode::OK, "round {round}: {}", reply.body);
        }
    }
    let updates = app.audit_actions("acme").await.iter().filter(|a| *a == "key.updated").count();
    assert_eq!(updates, 40);
}

on_both_engines!(
    simultaneous_changes_wait_their_turn,
    pages_go_out_compressed_and_the_apis_do_not,
    rest_changes_are_audited_with_the_key_and_the_client_address,
    concurrent_sign_ins_cannot_race_the_throttle,
    over_long_credentials_are_refused_before_any_work,
    next_after_sign_in_stays_on_this_site,
    racing_setups_create_one_owner,
    control_characters_never_stop_usage_writing,
    random_keys_never_evict_a_cached_valid_key,
    members_get_no_key_history,
    pages_and_answers_are_not_cached,
);
