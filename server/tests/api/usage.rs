//! What verification recorded, as the UI reads it, on SQLite and PostgreSQL:
//! usage by outcome for the detail page, the org's request log with its
//! filters and pages, who may see them, and retention.

use super::log_days::seed;
use crate::common::{Client, Engine, PRODUCTION_VERIFIER, TestApp};
use app::api::keys::DeleteKey;
use app::backend::log_segments::Day;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

pub(crate) async fn create(admin: &mut Client, name: &str) -> (String, String) {
    crate::common::keys::create(admin, name, "production", "Write", "1000").await
}

pub(crate) async fn verify(app: &TestApp, key: &str, permissions: &[&str], path: &str) -> String {
    let body = json!({ "key": key, "permissions": permissions, "path": path, "ip": "203.0.113.7", "user_agent": "curl/8" });
    let req = Request::post("/v1/keys/verify")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {PRODUCTION_VERIFIER}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(req, [10, 1, 1, 1]).await.json()["code"].as_str().unwrap().to_string()
}

pub(crate) async fn logs(client: &mut Client, query: Value) -> (StatusCode, Value) {
    let reply = client.call_json("requests", json!({ "slug": "acme", "query": query })).await;
    (reply.status, serde_json::from_str(&reply.body).unwrap_or(Value::Null))
}

async fn usage_by_outcome_and_recent_requests(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (id, token) = create(&mut admin, "Charted").await;
    for _ in 0..3 {
        assert_eq!(verify(&app, &token, &["events:write"], "/v1/events").await, "VALID");
    }
    assert_eq!(verify(&app, &token, &["data:read"], "/v1/data").await, "INSUFFICIENT_PERMISSIONS");
    app.verifier.flush().await.unwrap();

    let mut member = app.signed_in("member@acme.test").await;
    for (range, bars) in [("day", 24), ("week", 7)] {
        let reply = member
            .call_json("keys/usage", json!({ "slug": "acme", "id": id, "range": range }))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let u = reply.json();
        let buckets = u["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), bars);
        let last = buckets.last().unwrap();
        assert_eq!((last["valid"].as_i64(), last["refused"].as_i64()), (Some(3), Some(1)), "{u}");
        assert!(buckets[..bars - 1].iter().all(|b| b["valid"] == 0 && b["refused"] == 0));
        let now = app::backend::db::now();
        assert!(last["start"].as_i64().unwrap() <= now);
        assert_eq!(u["totals"], json!([["VALID", 3], ["INSUFFICIENT_PERMISSIONS", 1]]));
        let recent = u["recent"].as_array().unwrap();
        assert_eq!(recent.len(), 4);
        assert_eq!(recent[0]["code"], "INSUFFICIENT_PERMISSIONS", "newest first");
        assert_eq!(recent[0]["path"], "/v1/data");
        assert_eq!(recent[0]["ip"], "203.0.113.7");
        assert_eq!(recent[0]["user_agent"], "curl/8");
    }

    // The page shows them (server-rendered).
    let page = member.page(&format!("/orgs/acme/settings/api-keys/{id}")).await;
    assert!(page.body.contains("Recent requests"), "{}", page.body);
    assert!(page.body.contains("3 valid, 1 refused"));

    // Viewers see neither; an unknown key is not found.
    let mut viewer = app.signed_in("viewer@acme.test").await;
    let reply =
        viewer.call_json("keys/usage", json!({ "slug": "acme", "id": id, "range": "day" })).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(logs(&mut viewer, json!({ "page": 1 })).await.0, StatusCode::FORBIDDEN);
    let reply = member
        .call_json("keys/usage", json!({ "slug": "acme", "id": "nope", "range": "day" }))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

async fn the_request_log_filters_and_pages(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("owner@acme.test").await;
    let (busy_id, busy) = create(&mut admin, "Busy").await;
    let (quiet_id, quiet) = create(&mut admin, "Quiet").await;
    for _ in 0..55 {
        verify(&app, &busy, &[], "/v1/events").await;
    }
    verify(&app, &quiet, &["keys:write"], "/v1/keys").await;
    app.verifier.flush().await.unwrap();

    let mut member = app.signed_in("member@acme.test").await;
    let (status, page) = logs(&mut member, json!({ "page": 1 })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 56);
    assert_eq!(page["entries"].as_array().unwrap().len(), 50);
    assert_eq!(page["entries"][0]["key_name"], "Quiet", "newest first");
    assert!(page["keys"].as_array().unwrap().iter().any(|k| k[0] == busy_id.as_str()));
    let (_, second) = logs(&mut member, json!({ "page": 2 })).await;
    assert_eq!(second["entries"].as_array().unwrap().len(), 6);

    let (_, by_key) = logs(&mut member, json!({ "page": 1, "key": quiet_id })).await;
    assert_eq!(by_key["total"], 1);
    let (_, key_and_outcome) = logs(
        &mut member,
        json!({ "page": 1, "key": quiet_id, "outcome": "INSUFFICIENT_PERMISSIONS" }),
    )
    .await;
    assert_eq!(key_and_outcome["total"], 1);
    let (_, other_key) = logs(
        &mut member,
        json!({ "page": 1, "key": busy_id, "outcome": "INSUFFICIENT_PERMISSIONS" }),
    )
    .await;
    assert_eq!(other_key["total"], 0);
    let (_, by_outcome) =
        logs(&mut member, json!({ "page": 1, "outcome": "INSUFFICIENT_PERMISSIONS" })).await;
    assert_eq!(by_outcome["total"], 1);
    assert_eq!(by_outcome["entries"][0]["path"], "/v1/keys");
    let (_, valid) =
        logs(&mut member, json!({ "page": 1, "outcome": "VALID", "since": "1h" })).await;
    assert_eq!(valid["total"], 55);
    assert_eq!(
        logs(&mut member, json!({ "page": 1, "since": "5y" })).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        logs(&mut member, json!({ "page": 1, "outcome": "MAYBE" })).await.0,
        StatusCode::BAD_REQUEST
    );

    // A deleted key's requests stay, marked as such; the page renders them.
    admin.call_fn(DeleteKey { slug: "acme".into(), id: quiet_id.to_string() }).await;
    let (_, after) = logs(&mut member, json!({ "page": 1 })).await;
    assert_eq!(after["entries"][0]["key_name"], Value::Null);
    let page = member.page("/orgs/acme/settings/logs?outcome=INSUFFICIENT_PERMISSIONS").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Deleted key") && page.body.contains("Missing permission"),
        "{}",
        page.body
    );
}

/// Writes `n` entries of key `key_id` into the log's table `table` by hand
/// (made first when it is a day's), 1 ms apart from `newest_ms` back, with
/// paths `{label}1`, `{label}2`, … (newest first).
async fn a_log_past_the_count_limit_says_more(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("owner@acme.test").await;
    let (id, _) = create(&mut admin, "Busy").await;
    // 10,060 entries in the last hour (counting stops at 10,000), all of
    // today (a few seconds ahead just after midnight).
    let today = Day::of_ms(app::backend::db::now_ms());
    let newest_ms = app::backend::db::now_ms().max(today.start_ms() + 10_060);
    seed(&app, &today.table(), &id, "bulk", newest_ms, 10_060).await;
    let (_, page) = logs(&mut admin, json!({ "page": 1, "since": "1h" })).await;
    assert_eq!((page["total"].as_i64(), page["more"].as_bool()), (Some(10_000), Some(true)));
    assert_eq!(page["entries"].as_array().unwrap().len(), 50);
    assert_eq!(page["next"].as_bool(), Some(true));
    // Pages past the count are still served, the oldest last, and the last
    // one links to no next page.
    let (_, last) = logs(&mut admin, json!({ "page": 202, "since": "1h" })).await;
    let entries = last["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 10);
    assert_eq!(entries.last().unwrap()["at_ms"].as_i64(), Some(newest_ms - 10_059), "{last}");
    assert_eq!(last["next"].as_bool(), Some(false));
    let shown = admin.page("/orgs/acme/settings/logs?since=1h&page=202").await;
    assert!(
        shown.body.contains("Page 202<") && !shown.body.contains("Next page"),
        "{}",
        shown.body
    );
    let shown = admin.page("/orgs/acme/settings/logs?since=1h").await;
    assert!(
        shown.body.contains("More than 10,000 requests") && shown.body.contains("Page 1 of 200+"),
        "{}",
        shown.body
    );
    // A filter that matches fewer is counted exactly.
    let (_, none) = logs(&mut admin, json!({ "page": 1, "outcome": "REVOKED" })).await;
    assert_eq!((none["total"].as_i64(), none["more"].as_bool()), (Some(0), Some(false)));
}

on_both_engines!(
    a_log_past_the_count_limit_says_more,
    usage_by_outcome_and_recent_requests,
    the_request_log_filters_and_pages,
);
