//! Keys for the platform's customers (docs/design.md#verify-api, #rest-api): allowed IPs, a
//! customer id, metadata and usage limits with refills, through the page's
//! server functions, the REST API, verify and forward auth, on SQLite and
//! PostgreSQL.

use crate::common::keys::{create_with, key_input, verify_as};
use crate::common::{Client, Engine, PRODUCTION_VERIFIER, Reply, TestApp, concurrently};
use app::api::key_types::KeyInput;
use app::api::keys::{CreateKey, SetKeyEnabled, UpdateKey};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

/// A Write key in production with the options given.
fn input(name: &str, ips: &str, customer: &str, meta: &str, usage: (&str, &str)) -> KeyInput {
    KeyInput {
        ip_allowlist: ips.into(),
        customer: customer.into(),
        meta: meta.into(),
        usage_limit: usage.0.into(),
        usage_refill: usage.1.into(),
        ..key_input(name, "production", "Write", "")
    }
}

async fn verify(app: &TestApp, key: &str, ip: Option<&str>) -> Value {
    let mut body = json!({ "key": key, "permissions": ["events:write"] });
    if let Some(ip) = ip {
        body["ip"] = ip.into();
    }
    verify_as(app, PRODUCTION_VERIFIER, body).await.json()
}

async fn authorize(app: &TestApp, key: &str, ip: &str) -> Reply {
    let req = Request::get("/v1/authorize")
        .header("x-original-method", "POST")
        .header("x-original-uri", "/v1/events")
        .header("x-real-ip", ip)
        .header("x-api-key", key)
        .body(Body::empty())
        .unwrap();
    app.send(req, [10, 0, 0, 2]).await
}

/// The balance as stored, after this instance gave its leases back.
async fn stored_remaining(app: &TestApp, id: &str) -> i64 {
    app.verifier.flush().await.unwrap();
    let pool = app::backend::db::connect(&app.url).await.unwrap();
    let (left,): (i64,) = sqlx::query_as("SELECT usage_remaining FROM api_keys WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    left
}

async fn edit(admin: &mut Client, id: &str, mut input: KeyInput) -> Reply {
    input.expiry = "keep".into();
    admin.call_fn(UpdateKey { slug: "acme".into(), id: id.into(), input }).await
}

async fn the_options_reach_verify_and_the_list(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let options = input(
        "Customer SDK",
        "203.0.113.0/24\n2001:db8::/32\n203.0.113.9",
        "cus_123",
        "{\"plan\": \"pro\", \"seats\": 5}",
        ("4", "none"),
    );
    let (id, key) = create_with(&mut admin, options).await;

    let answer = verify(&app, &key, Some("203.0.113.7")).await;
    assert_eq!(answer["code"], "VALID");
    assert_eq!(answer["customer"], "cus_123");
    assert_eq!(answer["meta"], json!({ "plan": "pro", "seats": 5 }));
    assert_eq!(answer["usage"], json!({ "remaining": 3, "refill": "none", "refills_at": null }));
    assert_eq!(verify(&app, &key, Some("2001:db8::1")).await["code"], "VALID");
    assert_eq!(verify(&app, &key, Some("::ffff:203.0.113.200")).await["code"], "VALID");
    // Refused addresses, and no address at all, fail closed and spend nothing.
    for ip in [Some("198.51.100.7"), Some("2001:db9::1"), Some("not an ip"), None] {
        let answer = verify(&app, &key, ip).await;
        assert_eq!(answer["code"], "IP_NOT_ALLOWED", "{ip:?}");
        assert_eq!(answer["valid"], false);
        assert_eq!(answer["usage"], Value::Null, "no use is spent");
    }
    let last = verify(&app, &key, Some("203.0.113.9")).await;
    assert_eq!(
        (last["code"].as_str(), last["usage"]["remaining"].as_i64()),
        (Some("VALID"), Some(0))
    );
    let spent = verify(&app, &key, Some("203.0.113.9")).await;
    assert_eq!(spent["code"], "USAGE_EXCEEDED");
    assert_eq!(spent["valid"], false);
    assert_eq!(stored_remaining(&app, &id).await, 0);

    // The list shows the customer, the balance and the rate limit; the
    // customer filter finds exactly their keys.
    let other = input("Other customer", "", "cus_999", "", ("", "none"));
    create_with(&mut admin, other).await;
    let list = admin
        .call_json("keys/list", json!({ "slug": "acme", "query": { "customer": "cus_123" } }))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let keys = list.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["customer"], "cus_123");
    assert_eq!(keys[0]["usage"]["remaining"], 0);
    assert_eq!(keys[0]["ip_allowlist"], json!(["203.0.113.0/24", "2001:db8::/32", "203.0.113.9"]));
    let page = admin.page("/orgs/acme/settings/api-keys?customer=cus_123").await;
    assert!(page.body.contains("0 left"), "the row shows the balance");
    assert!(page.body.contains("6000 / min"), "the Rate limit column");
    assert!(!page.body.contains("Other customer"));

    // Bad entries are refused with the entry named; nothing is created.
    for (bad, words) in [
        (input("Bad", "10.0.0.0/33", "", "", ("", "")), "10.0.0.0/33"),
        (input("Bad", "", "", "{\"plan\": ", ("", "")), "valid JSON"),
        (input("Bad", "", "", "[1, 2]", ("", "")), "JSON object"),
        (input("Bad", "", "", "", ("0", "")), "usage limit"),
        (input("Bad", "", "", "", ("", "daily")), "usage limit"),
        (input("Bad", "", &"c".repeat(256), "", ("", "")), "customer ID"),
    ] {
        admin.call_fn(CreateKey { slug: "acme".into(), input: bad }).await.assert_invalid(words);
    }
}

async fn new_codes_come_in_their_order(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (id, key) =
        create_with(&mut admin, input("Ordered", "10.0.0.0/8", "", "", ("5", "none"))).await;

    // A disabled key from a refused address is DISABLED (earlier in §5.1).
    let off =
        admin.call_fn(SetKeyEnabled { slug: "acme".into(), id: id.clone(), enabled: false }).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(verify(&app, &key, Some("192.0.2.1")).await["code"], "DISABLED");
    let on =
        admin.call_fn(SetKeyEnabled { slug: "acme".into(), id: id.clone(), enabled: true }).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    // A refused address before a missing permission.
    let body = json!({ "key": key, "permissions": ["keys:write"], "ip": "192.0.2.1" });
    assert_eq!(verify_as(&app, PRODUCTION_VERIFIER, body).await.json()["code"], "IP_NOT_ALLOWED");
    let body = json!({ "key": key, "permissions": ["keys:write"], "ip": "10.0.0.1" });
    assert_eq!(
        verify_as(&app, PRODUCTION_VERIFIER, body).await.json()["code"],
        "INSUFFICIENT_PERMISSIONS"
    );

    // A rate-limited call spends no use: 2 per minute, 5 uses.
    let mut limited = input("Limited", "", "", "", ("5", "none"));
    limited.rate_limit = "2".into();
    let (limited_id, limited_key) = create_with(&mut admin, limited).await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(verify(&app, &limited_key, None).await["code"].as_str().unwrap().to_string());
    }
    assert_eq!(codes, ["VALID", "VALID", "RATE_LIMITED", "RATE_LIMITED"]);
    assert_eq!(stored_remaining(&app, &limited_id).await, 3);
}

async fn a_usage_limit_holds_under_concurrency(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (id, key) = create_with(&mut admin, input("Fifty", "", "", "", ("50", "none"))).await;
    let tasks = concurrently(50, |_| {
        let (app, key) = (app.clone(), key.clone());
        async move {
            let mut codes = Vec::new();
            for _ in 0..4 {
                codes.push(verify(&app, &key, None).await["code"].as_str().unwrap().to_string());
            }
            codes
        }
    })
    .await;
    let mut valid = 0;
    let mut exceeded = 0;
    for codes in tasks {
        for code in codes {
            match code.as_str() {
                "VALID" => valid += 1,
                "USAGE_EXCEEDED" => exceeded += 1,
                other => panic!("unexpected {other}"),
            }
        }
    }
    assert_eq!((valid, exceeded), (50, 150));
    assert_eq!(stored_remaining(&app, &id).await, 0);
}

async fn refills_come_at_the_boundary(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (daily_id, daily) =
        create_with(&mut admin, input("Daily", "", "", "", ("2", "daily"))).await;
    let (_, once) = create_with(&mut admin, input("Once", "", "", "", ("1", "none"))).await;

    let now = app.verifier.now();
    let midnight = (now.div_euclid(86_400) + 1) * 86_400;
    // Just before midnight UTC.
    app.verifier.clock_offset_secs.store(midnight - 2 - now, Ordering::Relaxed);
    assert_eq!(verify(&app, &daily, None).await["usage"]["refills_at"], midnight * 1000);
    assert_eq!(authorize(&app, &daily, "10.0.0.1").await.status, StatusCode::OK);
    let spent = authorize(&app, &daily, "10.0.0.1").await;
    assert_eq!(spent.status, StatusCode::TOO_MANY_REQUESTS, "spent until the refill");
    assert_eq!(spent.json()["error"]["code"], "USAGE_EXCEEDED");
    let wait: i64 = spent.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait} runs to midnight");
    // No refill: refused for good.
    assert_eq!(authorize(&app, &once, "10.0.0.1").await.status, StatusCode::OK);
    let gone = authorize(&app, &once, "10.0.0.1").await;
    assert_eq!(gone.status, StatusCode::FORBIDDEN);
    assert_eq!(gone.json()["error"]["code"], "USAGE_EXCEEDED");
    assert!(gone.headers.get(header::RETRY_AFTER).is_none());

    // At midnight the balance is the limit again.
    app.verifier.clock_offset_secs.store(midnight - now, Ordering::Relaxed);
    let refilled = verify(&app, &daily, None).await;
    assert_eq!(refilled["code"], "VALID");
    assert_eq!(refilled["usage"]["remaining"], 1);
    assert_eq!(refilled["usage"]["refills_at"], (midnight + 86_400) * 1000);
    assert_eq!(verify(&app, &once, None).await["code"], "USAGE_EXCEEDED");
    app.verifier.clock_offset_secs.store(0, Ordering::Relaxed);
    let _ = daily_id;
}

async fn editing_the_limit_starts_the_balance_over(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let first = input("Metered", "", "cus_1", "", ("2", "none"));
    let (id, key) = create_with(&mut admin, first.clone()).await;
    assert_eq!(verify(&app, &key, None).await["code"], "VALID");
    assert_eq!(verify(&app, &key, None).await["code"], "VALID");
    assert_eq!(verify(&app, &key, None).await["code"], "USAGE_EXCEEDED");

    // Saving the same limit (an unrelated edit) keeps the balance.
    let mut renamed = first.clone();
    renamed.customer = "cus_2".into();
    assert_eq!(edit(&mut admin, &id, renamed.clone()).await.status, StatusCode::OK);
    assert_eq!(verify(&app, &key, None).await["code"], "USAGE_EXCEEDED");
    // A new limit is a new balance, and says so in the audit log.
    let mut raised = renamed;
    raised.usage_limit = "5".into();
    raised.usage_refill = "monthly".into();
    raised.ip_allowlist = "10.0.0.0/8".into();
    let reply = edit(&mut admin, &id, raised).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let answer = verify(&app, &key, Some("10.1.1.1")).await;
    assert_eq!(answer["code"], "VALID");
    assert_eq!(answer["usage"]["remaining"], 4);
    assert_eq!(answer["customer"], "cus_2");

    let pool = app::backend::db::connect(&app.url).await.unwrap();
    let changes: Vec<(String,)> = sqlx::query_as(
        "SELECT changes FROM audit_log WHERE target_id = $1 AND action = 'key.updated' ORDER BY at_ms",
    )
    .bind(&id)
    .fetch_all(&pool)
    .await
    .unwrap();
    let last: Value = serde_json::from_str(&changes.last().unwrap().0).unwrap();
    assert_eq!(
        last["usage_limit"],
        json!({ "before": "2, no refill", "after": "5, refilled monthly" })
    );
    assert_eq!(last["allowed_ips"], json!({ "before": "", "after": "10.0.0.0/8" }));
    let first_edit: Value = serde_json::from_str(&changes[0].0).unwrap();
    assert_eq!(first_edit["customer"], json!({ "before": "cus_1", "after": "cus_2" }));
}

async fn the_rest_api_sets_and_filters_the_options(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (_, ci) = create_with(&mut admin, key_input("CI", "production", "Admin", "")).await;
    let body = json!({ "name": "Partner", "type": "Write", "ip_allowlist": ["198.51.100.0/24"],
        "customer": "cus_42", "meta": { "tier": "gold" }, "usage_limit": { "remaining": 1000, "refill": "daily" } });
    let created = app.bearer("POST", "/v1/keys", Some(&ci), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let key = created.json()["key"].clone();
    assert_eq!(key["ip_allowlist"], json!(["198.51.100.0/24"]));
    assert_eq!(key["customer"], "cus_42");
    assert_eq!(key["meta"], json!({ "tier": "gold" }));
    assert_eq!(key["usage_limit"]["limit"], 1000);
    assert_eq!(key["usage_limit"]["remaining"], 1000);
    assert_eq!(key["usage_limit"]["refill"], "daily");
    let id = key["id"].as_str().unwrap().to_string();

    let listed = app.bearer("GET", "/v1/keys?customer=cus_42", Some(&ci), None).await.json();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["keys"][0]["id"], id.as_str());
    assert_eq!(
        app.bearer("GET", "/v1/keys?customer=nobody", Some(&ci), None).await.json()["total"],
        0
    );

    // PATCH: absent keeps, null clears.
    let path = format!("/v1/keys/{id}");
    let patched = app
        .bearer("PATCH", &path, Some(&ci), Some(json!({ "meta": null, "ip_allowlist": [] })))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let key = patched.json();
    assert_eq!((key["meta"].clone(), key["ip_allowlist"].clone()), (Value::Null, json!([])));
    assert_eq!(key["customer"], "cus_42");
    assert_eq!(key["usage_limit"]["limit"], 1000);
    let cleared = app
        .bearer("PATCH", &path, Some(&ci), Some(json!({ "usage_limit": null, "customer": null })))
        .await
        .json();
    assert_eq!(
        (cleared["usage_limit"].clone(), cleared["customer"].clone()),
        (Value::Null, Value::Null)
    );

    for (bad, words) in [
        (json!({ "ip_allowlist": ["10.0.0.0/33"] }), "10.0.0.0/33"),
        (json!({ "meta": [1] }), "JSON object"),
        (json!({ "meta": { "x": "a".repeat(5000) } }), "4 KiB"),
        (json!({ "usage_limit": { "remaining": 0 } }), "usage limit"),
        (json!({ "usage_limit": { "remaining": 5, "refill": "weekly" } }), "refills"),
        (json!({ "customer": "" }), "customer"),
    ] {
        app.bearer("PATCH", &path, Some(&ci), Some(bad)).await.assert_invalid(words);
    }
}

async fn forward_auth_refuses_addresses_outside_the_list(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (_, key) =
        create_with(&mut admin, input("Office only", "10.0.0.0/8", "", "", ("", ""))).await;
    assert_eq!(authorize(&app, &key, "10.9.9.9").await.status, StatusCode::OK);
    let refused = authorize(&app, &key, "192.0.2.1").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json()["error"]["code"], "IP_NOT_ALLOWED");
    assert_eq!(refused.headers["x-keywarden-code"], "IP_NOT_ALLOWED");
}

on_both_engines!(
    the_options_reach_verify_and_the_list,
    new_codes_come_in_their_order,
    a_usage_limit_holds_under_concurrency,
    refills_come_at_the_boundary,
    editing_the_limit_starts_the_balance_over,
    the_rest_api_sets_and_filters_the_options,
    forward_auth_refuses_addresses_outside_the_list,
);
