//! The key list on the real router, on SQLite and PostgreSQL: filters,
//! search, sort and pages, and the hints that follow the clock.

use super::keys::{as_role, create, input, list, regenerate};
use crate::common::{Engine, TestApp};
use app::api::keys::RevokeKey;
use serde_json::{Value, json};

async fn the_list_filters_searches_sorts_and_pages(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = as_role(&app, "admin").await;
    let mut ids = Vec::new();
    for i in 0..60 {
        let mut key = input(&format!("Batch {i:02}"), if i % 2 == 0 { "Read" } else { "Write" });
        key["environment"] = json!(["production", "staging", "development"][i % 3]);
        let id = create(&mut admin, key).await.0;
        // Distinct creation times (a batch like this lands within a second).
        sqlx::query("UPDATE api_keys SET created_at = $1 WHERE id = $2")
            .bind(app::backend::db::now() + 1 + i as i64)
            .bind(&id)
            .execute(&app.state.db)
            .await
            .unwrap();
        ids.push(id);
    }
    admin
        .call_json("keys/set_enabled", json!({ "slug": "acme", "id": ids[0], "enabled": false }))
        .await;
    admin.call_fn(RevokeKey { slug: "acme".into(), id: ids[1].to_string() }).await;
    sqlx::query("UPDATE api_keys SET expires_at = 1 WHERE id = $1")
        .bind(&ids[2])
        .execute(&app.state.db)
        .await
        .unwrap();
    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
        .bind(app::backend::db::now())
        .bind(&ids[3])
        .execute(&app.state.db)
        .await
        .unwrap();

    let all = list(&mut admin, json!({})).await;
    assert_eq!(all["total"], 63, "60 plus the 3 demo keys");
    assert_eq!(all["keys"].as_array().unwrap().len(), 25);
    assert_eq!(all["keys"][0]["name"], "Batch 59", "newest first");
    let third = list(&mut admin, json!({ "page": 3 })).await;
    assert_eq!(third["keys"].as_array().unwrap().len(), 13);

    let search = list(&mut admin, json!({ "search": "batch 1" })).await;
    assert_eq!(search["total"], 10, "Batch 10–19, case-insensitive");
    let wildcard = list(&mut admin, json!({ "search": "%" })).await;
    assert_eq!(wildcard["total"], 0, "wildcards are literal");

    let staging = list(&mut admin, json!({ "environment": "staging", "search": "Batch" })).await;
    assert_eq!(staging["total"], 20);
    for (status, expected) in [("Disabled", 1), ("Revoked", 1), ("Expired", 1), ("Active", 60)] {
        let page = list(&mut admin, json!({ "status": status })).await;
        assert_eq!(page["total"], expected, "{status}");
        for key in page["keys"].as_array().unwrap() {
            assert_eq!(key["status"], status, "the filter and the computed status agree");
        }
    }
    let used = list(&mut admin, json!({ "sort": "last_used" })).await;
    assert_eq!(used["keys"][0]["id"], ids[3].as_str(), "recently used first, never-used after");
}

async fn stale_and_rotation_hints_follow_the_clock(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = as_role(&app, "admin").await;
    let (old, _) = create(&mut admin, input("Old and idle", "Read")).await;
    let (used, _) = create(&mut admin, input("Old but busy", "Read")).await;
    let (fresh, _) = create(&mut admin, input("Fresh", "Read")).await;
    let day = 86_400;
    let now = app::backend::db::now();
    for (id, created, last_used) in
        [(&old, now - 91 * day, None), (&used, now - 91 * day, Some(now - day))]
    {
        sqlx::query("UPDATE api_keys SET created_at = $1, last_used_at = $2 WHERE id = $3")
            .bind(created)
            .bind(last_used)
            .bind(id)
            .execute(&app.state.db)
            .await
            .unwrap();
    }
    let hints = |page: &Value, id: &str| {
        let key = page["keys"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap().clone();
        (key["hints"]["stale"].as_bool().unwrap(), key["hints"]["rotation_due"].as_bool().unwrap())
    };
    let page = list(&mut admin, json!({})).await;
    assert_eq!(hints(&page, &old), (true, true));
    assert_eq!(hints(&page, &used), (false, true));
    assert_eq!(hints(&page, &fresh), (false, false));
    // Regenerating resets the rotation clock; a revoked key needs no hints.
    regenerate(&mut admin, &used, "none").await;
    admin.call_fn(RevokeKey { slug: "acme".into(), id: old.to_string() }).await;
    let page = list(&mut admin, json!({})).await;
    assert_eq!(hints(&page, &used), (false, false));
    assert_eq!(hints(&page, &old), (false, false));
}

on_both_engines!(
    the_list_filters_searches_sorts_and_pages,
    stale_and_rotation_hints_follow_the_clock,
);
