//! API keys over HTTP on the real router, on SQLite and PostgreSQL: every
//! action for every role, validation, storage of hashes only, rotation with
//! and without grace, audit entries, and the list's filters and pages.

use crate::common::{Client, Engine, Reply, TestApp};
use app::api::keys::{DeleteKey, GetKeyDetail, ListKeys, RevokeKey};
use app::backend::secret::sha256_hex;
use app::domain::ApiToken;
use axum::http::{StatusCode, header};
use serde_json::{Value, json};

const ROLES: [&str; 4] = ["owner", "admin", "member", "viewer"];

pub(crate) async fn as_role(app: &TestApp, role: &str) -> Client {
    app.signed_in(&format!("{role}@acme.test")).await
}

pub(crate) fn input(name: &str, key_type: &str) -> Value {
    json!({ "name": name, "environment": "production", "key_type": key_type, "permissions": [],
            "expiry": "never", "expiry_date": "", "rate_limit": "", "rate_window_secs": "" })
}

pub(crate) async fn create(client: &mut Client, input: Value) -> (String, String) {
    let reply = client.call_json("keys/create", json!({ "slug": "acme", "input": input })).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    (body["key"]["id"].as_str().unwrap().to_string(), body["token"].as_str().unwrap().to_string())
}

/// Regenerates key `id` of `acme` with `grace` (`none`, `one_hour`…).
pub(crate) async fn regenerate(client: &mut Client, id: &str, grace: &str) -> Reply {
    client.call_json("keys/regenerate", json!({ "slug": "acme", "id": id, "grace": grace })).await
}

pub(crate) async fn list(client: &mut Client, query: Value) -> Value {
    let reply = client.call_json("keys/list", json!({ "slug": "acme", "query": query })).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

async fn stored_hashes(app: &TestApp, id: &str) -> (String, Option<String>, Option<i64>) {
    app.row(
        "SELECT token_hash, previous_token_hash, previous_expires_at FROM api_keys WHERE id = $1",
        &[id],
    )
    .await
}

async fn creating_reveals_a_well_formed_token_once(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = as_role(&app, "admin").await;
    let reply = admin
        .call_json(
            "keys/create",
            json!({ "slug": "acme", "input": input("Checkout service", "Write") }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    let body = reply.json();
    let token = body["token"].as_str().unwrap();
    let (parsed, env) = ApiToken::parse(token).expect("a valid token");
    assert_eq!(env, app::domain::Environment::Production);
    assert!(token.starts_with("kw_live_") && token.len() == 46, "{token}");
    assert_eq!(body["key"]["start"], parsed.start());
    assert_eq!(body["key"]["permissions"], json!(["events:write"]));
    assert_eq!(body["key"]["status"], "Active");
    assert_eq!(body["key"]["rate_limit"], json!({ "limit": 6000, "window_secs": 60 }));

    // The list never carries the secret.
    let listed = admin.call_fn(ListKeys { slug: "acme".into(), query: Default::default() }).await;
    assert!(!listed.body.contains(token));
    assert!(listed.body.contains(&parsed.start()));
}

async fn every_key_action_follows_the_roles(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = as_role(&app, "owner").await;
    for role in ROLES {
        let mut client = as_role(&app, role).await;
        let manages = matches!(role, "owner" | "admin");
        let expect = |allowed: bool| {
            if allowed { StatusCode::OK } else { StatusCode::FORBIDDEN }
        };
        assert_eq!(list(&mut client, json!({})).await["can_manage"], manages);

        let (id, _) = create(&mut owner, input(&format!("For {role}"), "Read")).await;
        for (made, key_type) in [("made", "Write"), ("admin", "Admin")] {
            let input = input(&format!("{role} {made}"), key_type);
            let reply =
                client.call_json("keys/create", json!({ "slug": "acme", "input": input })).await;
            assert_eq!(reply.status, expect(manages), "{role} create {key_type}");
        }
        let mut edited = input(&format!("For {role} (edited)"), "Read");
        edited["expiry"] = json!("keep");
        let calls = [
            ("keys/update", json!({ "slug": "acme", "id": id, "input": edited })),
            ("keys/regenerate", json!({ "slug": "acme", "id": id, "grace": "none" })),
            ("keys/set_enabled", json!({ "slug": "acme", "id": id, "enabled": false })),
            ("keys/set_enabled", json!({ "slug": "acme", "id": id, "enabled": true })),
            ("keys/revoke", json!({ "slug": "acme", "id": id })),
        ];
        for (endpoint, body) in calls {
            let reply = client.call_json(endpoint, body).await;
            assert_eq!(reply.status, expect(manages), "{role} {endpoint}: {}", reply.body);
        }
        let delete = client.call_fn(DeleteKey { slug: "acme".into(), id: id.to_string() }).await;
        assert_eq!(delete.status, expect(role == "owner"), "{role} delete");
        let detail = client.call_fn(GetKeyDetail { slug: "acme".into(), id: id.to_string() }).await;
        let expected_detail = match role {
            "owner" => StatusCode::NOT_FOUND, // deleted just now
            "viewer" => StatusCode::FORBIDDEN,
            _ => StatusCode::OK,
        };
        assert_eq!(detail.status, expected_detail, "{role} detail");
        let audit = client
            .call_json(
                "audit",
                json!({ "slug": "acme", "action": null, "key_id": null, "page": 1 }),
            )
            .await;
        assert_eq!(audit.status, expect(manages), "{role} audit log");
    }
    assert_eq!(
        app.client()
            .call_fn(ListKeys { slug: "acme".into(), query: Default::default() })
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

async fn another_orgs_key_is_not_found(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = as_role(&app, "owner").await;
    let (id, _) = create(&mut owner, input("Acme only", "Read")).await;
    // A second org with its own owner, who tries acme's key id.
    let mut founder = app.client();
    app.add_org("initech", "Globex", "boss@globex.test", "globex-password").await;
    founder.sign_in("boss@globex.test", "globex-password").await;
    for (endpoint, body) in [
        ("keys/detail", json!({ "slug": "initech", "id": id })),
        ("keys/regenerate", json!({ "slug": "initech", "id": id, "grace": "none" })),
        ("keys/revoke", json!({ "slug": "initech", "id": id })),
        ("keys/delete", json!({ "slug": "initech", "id": id })),
        ("keys/set_enabled", json!({ "slug": "initech", "id": id, "enabled": false })),
    ] {
        assert_eq!(
            founder.call_json(endpoint, body).await.status,
            StatusCode::NOT_FOUND,
            "{endpoint}"
        );
    }
    // And acme's slug is not theirs at all.
    assert_eq!(
        founder.call_fn(ListKeys { slug: "acme".into(), query: Default::default() }).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(stored_hashes(&app, &id).await.1, None, "untouched");
}

async fn bad_input_gets_a_clear_error(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = as_role(&app, "admin").await;
    let attempt = |input: Value| json!({ "slug": "acme", "input": input });
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (input("", "Read"), StatusCode::BAD_REQUEST, "Enter a name"),
        (input(&"n".repeat(101), "Read"), StatusCode::BAD_REQUEST, "at most 100"),
        (input("Production Web SDK", "Read"), StatusCode::CONFLICT, "already exists"),
        (
            {
                let mut i = input("Custom", "Custom");
                i["permissions"] = json!(["root:all"]);
                i
            },
            StatusCode::BAD_REQUEST,
            "Unknown permission",
        ),
        (input("Typo", "Superuser"), StatusCode::BAD_REQUEST, "Unknown key type"),
        (
            {
                let mut i = input("Past", "Read");
                i["expiry"] = json!("date");
                i["expiry_date"] = json!("2020-01-01");
                i
            },
            StatusCode::BAD_REQUEST,
            "in the past",
        ),
        (
            {
                let mut i = input("Limit", "Read");
                i["rate_limit"] = json!("0");
                i["rate_window_secs"] = json!("60");
                i
            },
            StatusCode::BAD_REQUEST,
            "rate limit",
        ),
        (
            {
                let mut i = input("No env", "Read");
                i["environment"] = Value::Null;
                i
            },
            StatusCode::BAD_REQUEST,
            "environment",
        ),
    ];
    for (body, status, message) in cases {
        let reply = admin.call_json("keys/create", attempt(body.clone())).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert!(reply.body.contains(message), "{message:?} not in {}", reply.body);
    }
    // A custom key with a known subset is fine; a revoked key's name is free again.
    let mut custom = input("Custom", "Custom");
    custom["permissions"] = json!(["events:write", "data:read"]);
    let (custom_id, _) = create(&mut admin, custom).await;
    let (old, _) = create(&mut admin, input("Reusable", "Read")).await;
    admin.call_fn(RevokeKey { slug: "acme".into(), id: old.to_string() }).await;
    create(&mut admin, input("Reusable", "Read")).await;

    // A grace period may not outlive the key.
    let mut soon = input("Expires soon", "Read");
    soon["expiry"] = json!("30");
    let (id, _) = create(&mut admin, soon).await;
    let ok = regenerate(&mut admin, &id, "seven_days").await;
    assert_eq!(ok.status, StatusCode::OK);
    sqlx::query("UPDATE api_keys SET expires_at = $1 WHERE id = $2")
        .bind(app::backend::db::now() + 3600 * 2)
        .bind(&id)
        .execute(&app.state.db)
        .await
        .unwrap();
    let too_long = regenerate(&mut admin, &id, "one_day").await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert!(too_long.body.contains("outlive"));
    // Edits validate the same way, and a revoked key cannot be edited.
    let mut rename = input("Production Web SDK", "Custom");
    rename["permissions"] = json!(["data:read"]);
    rename["expiry"] = json!("keep");
    let clash = admin
        .call_json("keys/update", json!({ "slug": "acme", "id": custom_id, "input": rename }))
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    let revoked_edit = admin
        .call_json("keys/update", json!({ "slug": "acme", "id": old, "input": input("x", "Read") }))
        .await;
    assert_eq!(revoked_edit.status, StatusCode::CONFLICT);
}

async fn the_database_never_holds_a_plain_token(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = as_role(&app, "owner").await;
    let (id, first) = create(&mut owner, input("Scanned", "Admin")).await;
    let second =
        regenerate(&mut owner, &id, "one_hour").await.json()["token"].as_str().unwrap().to_string();
    let columns = "id || org_id || name || environment || key_type || permissions || token_hash || start \
        || COALESCE(previous_token_hash, '') || COALESCE(created_by, '')";
    let keys: Vec<(String,)> = sqlx::query_as(&format!("SELECT {columns} FROM api_keys"))
        .fetch_all(&app.state.db)
        .await
        .unwrap();
    let audit: Vec<(String,)> = app.rows("SELECT action || COALESCE(target_label, '') || COALESCE(changes, '') || COALESCE(client_ip, '') FROM audit_log", &[]).await;
    let everything: String = keys.into_iter().chain(audit).map(|(s,)| s).collect();
    for token in [&first, &second] {
        let body = &token[8..token.len() - 6];
        assert!(!everything.contains(body), "a token body is stored");
    }
    assert!(everything.contains(&sha256_hex(&second)), "the hash is what is stored");
}

async fn regenerate_replaces_the_hash_with_or_without_grace(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = as_role(&app, "admin").await;
    let (id, old) = create(&mut admin, input("Rotating", "Write")).await;
    let reply = regenerate(&mut admin, &id, "none").await;
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    let new = reply.json()["token"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    let (hash, previous, until) = stored_hashes(&app, &id).await;
    assert_eq!(hash, sha256_hex(&new));
    assert_eq!((previous, until), (None, None), "without grace the old secret is gone at once");

    let now = app::backend::db::now();
    let graced = regenerate(&mut admin, &id, "one_day").await.json();
    let newest = graced["token"].as_str().unwrap();
    let (hash, previous, until) = stored_hashes(&app, &id).await;
    assert_eq!(hash, sha256_hex(newest));
    assert_eq!(
        previous.as_deref(),
        Some(sha256_hex(&new).as_str()),
        "the old secret is kept for the grace period"
    );
    let until = until.unwrap();
    assert!((now + 86_400..=now + 86_400 + 5).contains(&until));
    assert_eq!(graced["key"]["previous_expires_at"], until);
    assert_eq!(graced["key"]["id"], id, "same key, same id");

    // Revoking ends the grace secret too.
    admin.call_fn(RevokeKey { slug: "acme".into(), id: id.to_string() }).await;
    assert_eq!(stored_hashes(&app, &id).await.1, None);
    let detail =
        admin.call_fn(GetKeyDetail { slug: "acme".into(), id: id.to_string() }).await.json();
    assert_eq!(detail["key"]["status"], "Revoked");
}

async fn every_change_is_audited(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = as_role(&app, "owner").await;
    let (id, _) = create(&mut owner, input("Audited", "Read")).await;
    let mut edit = input("Audited v2", "Read");
    edit["expiry"] = json!("keep");
    edit["rate_limit"] = json!("10");
    edit["rate_window_secs"] = json!("1");
    owner.call_json("keys/update", json!({ "slug": "acme", "id": id, "input": edit })).await;
    regenerate(&mut owner, &id, "none").await;
    owner
        .call_json("keys/set_enabled", json!({ "slug": "acme", "id": id, "enabled": false }))
        .await;
    owner.call_json("keys/set_enabled", json!({ "slug": "acme", "id": id, "enabled": true })).await;
    owner.call_fn(RevokeKey { slug: "acme".into(), id: id.to_string() }).await;
    owner.call_fn(DeleteKey { slug: "acme".into(), id: id.to_string() }).await;
    let log = owner
        .call_json("audit", json!({ "slug": "acme", "action": null, "key_id": id, "page": 1 }))
        .await
        .json();
    let actions: Vec<_> =
        log["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "key.deleted",
            "key.revoked",
            "key.enabled",
            "key.disabled",
            "key.regenerated",
            "key.updated",
            "key.created"
        ]
    );
    let updated = &log["entries"][5];
    assert_eq!(updated["actor"], "owner@acme.test");
    assert_eq!(updated["client_ip"], "127.0.0.1");
    let changes: Value = serde_json::from_str(updated["changes"].as_str().unwrap()).unwrap();
    assert_eq!(changes["name"], json!({ "before": "Audited", "after": "Audited v2" }));
    assert_eq!(changes["rate_limit"], json!({ "before": "600 / minute", "after": "10 / second" }));
    let only = owner
        .call_json(
            "audit",
            json!({ "slug": "acme", "action": "key.revoked", "key_id": null, "page": 1 }),
        )
        .await
        .json();
    assert_eq!(only["total"], 1);
    assert!(only["actions"].as_array().unwrap().iter().any(|a| a == "key.created"));
    // The deleted key is gone from the list.
    let listed = list(&mut owner, json!({ "search": "Audited" })).await;
    assert_eq!(listed["total"], 0);
}

on_both_engines!(
    creating_reveals_a_well_formed_token_once,
    every_key_action_follows_the_roles,
    another_orgs_key_is_not_found,
    bad_input_gets_a_clear_error,
    the_database_never_holds_a_plain_token,
    regenerate_replaces_the_hash_with_or_without_grace,
    every_change_is_audited,
);
