//! Keywarden's REST API on the real router, on SQLite and PostgreSQL: scopes,
//! the environment bound, no escalation, every endpoint's effect (seen by
//! verification at once), audit entries, and the OpenAPI document.

use crate::common::{Client, Engine, PRODUCTION_VERIFIER, Reply, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

async fn create_on_page(
    admin: &mut Client,
    name: &str,
    env: &str,
    key_type: &str,
    permissions: &[&str],
) -> (String, String) {
    let input = app::api::key_types::KeyInput {
        permissions: permissions.iter().map(|p| p.to_string()).collect(),
        rate_window_secs: String::new(),
        ..crate::common::keys::key_input(name, env, key_type, "")
    };
    crate::common::keys::create_with(admin, input).await
}

async fn rest(
    app: &TestApp,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Reply {
    app.bearer(method, path, key, body).await
}

async fn verify_code(app: &TestApp, key: &str) -> String {
    let req = Request::post("/v1/keys/verify")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {PRODUCTION_VERIFIER}"))
        .body(Body::from(json!({ "key": key }).to_string()))
        .unwrap();
    app.send(req, [10, 1, 1, 1]).await.json()["code"].as_str().unwrap().to_string()
}

fn code(reply: &Reply) -> String {
    reply.json()["error"]["code"].as_str().unwrap_or_default().to_string()
}

async fn scopes_and_the_environment_bound_hold(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (_, ci) = create_on_page(&mut admin, "CI", "production", "Admin", &[]).await;
    let (_, reader) =
        create_on_page(&mut admin, "Reader", "production", "Custom", &["keys:read"]).await;
    let (_, sdk) = create_on_page(&mut admin, "SDK", "production", "Write", &[]).await;
    let (staging_id, _) = create_on_page(&mut admin, "Staging CI", "staging", "Admin", &[]).await;

    let r = rest(&app, "GET", "/v1/keys", None, None).await;
    assert_eq!((r.status, code(&r)), (StatusCode::UNAUTHORIZED, "MALFORMED".into()));
    let r = rest(&app, "GET", "/v1/keys", Some("kw_live_notakey"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = rest(&app, "GET", "/v1/keys", Some(&sdk), None).await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS".into()));

    // keys:read lists the production keys only, and reads one of them.
    let r = rest(&app, "GET", "/v1/keys?search=", Some(&reader), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = r.json();
    let keys = list["keys"].as_array().unwrap();
    assert!(keys.len() >= 3);
    assert!(keys.iter().all(|k| k["environment"] == "production"), "{list}");
    assert!(keys.iter().all(|k| k.get("token").is_none() && k["id"] != staging_id.as_str()));
    let id = keys.iter().find(|k| k["name"] == "SDK").unwrap()["id"].as_str().unwrap().to_string();
    let r = rest(&app, "GET", &format!("/v1/keys/{id}"), Some(&reader), None).await;
    assert_eq!(r.json()["permissions"], json!(["events:write"]));
    assert_eq!(r.json()["status"], "active");
    let r = rest(&app, "GET", &format!("/v1/keys/{staging_id}"), Some(&ci), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another environment's key does not exist here");

    // keys:read cannot write; a staging key cannot be made with a production key.
    let new = json!({ "name": "From CI", "type": "Write" });
    let r = rest(&app, "POST", "/v1/keys", Some(&reader), Some(new.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = rest(
        &app,
        "POST",
        "/v1/keys",
        Some(&ci),
        Some(json!({ "name": "X", "type": "Write", "environment": "staging" })),
    )
    .await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "FORBIDDEN".into()));
    let r = rest(&app, "POST", &format!("/v1/keys/{staging_id}/revoke"), Some(&ci), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A key that only manages keys cannot grant what it lacks.
    let (_, manager) =
        create_on_page(&mut admin, "Manager", "production", "Custom", &["keys:read", "keys:write"])
            .await;
    let r = rest(&app, "POST", "/v1/keys", Some(&manager), Some(new.clone())).await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "FORBIDDEN".into()));
    let r = rest(&app, "POST", &format!("/v1/keys/{id}/regenerate"), Some(&manager), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "nor take over a key with more");
}

async fn every_endpoint_changes_what_verification_sees(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("owner@acme.test").await;
    let (_, ci) = create_on_page(&mut admin, "CI", "production", "Admin", &[]).await;

    // Create: the secret once, no caching, valid at once.
    let r = rest(
        &app,
        "POST",
        "/v1/keys",
        Some(&ci),
        Some(json!({ "name": "From CI", "type": "Write",
        "rate_limit": { "limit": 50, "window_secs": 60 } })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let created = r.json();
    let id = created["key"]["id"].as_str().unwrap().to_string();
    let token = created["token"].as_str().unwrap().to_string();
    assert_eq!(created["key"]["environment"], "production");
    assert_eq!(created["key"]["rate_limit"], json!({ "limit": 50, "window_secs": 60 }));
    assert!(token.starts_with(created["key"]["prefix"].as_str().unwrap()));
    assert_eq!(verify_code(&app, &token).await, "VALID");

    // Bad input: a clear 400 or 409, nothing changed.
    for (body, want) in [
        (json!({ "name": "", "type": "Write" }), StatusCode::BAD_REQUEST),
        (json!({ "name": "Y", "type": "Nope" }), StatusCode::BAD_REQUEST),
        (json!({ "name": "Y", "type": "Write", "expires_at": 1 }), StatusCode::BAD_REQUEST),
        (json!({ "name": "Y", "type": "Write", "colour": "red" }), StatusCode::BAD_REQUEST),
        (
            json!({ "name": "Y", "type": "Write", "rate_limit": { "limit": 5, "window_secs": 7 } }),
            StatusCode::BAD_REQUEST,
        ),
        (json!({ "name": "From CI", "type": "Write" }), StatusCode::CONFLICT),
    ] {
        let r = rest(&app, "POST", "/v1/keys", Some(&ci), Some(body.clone())).await;
        assert_eq!(r.status, want, "{body}: {}", r.body);
        assert!(!r.json()["error"]["message"].as_str().unwrap().is_empty());
    }

    // Edit: permissions change what verification answers.
    let r = rest(&app, "PATCH", &format!("/v1/keys/{id}"), Some(&ci),
        Some(json!({ "name": "From CI (read)", "type": "Read", "expires_at": app::backend::db::now() + 3600 }))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["permissions"], json!(["data:read"]));
    assert_eq!(r.json()["rate_limit"]["limit"], 50, "untouched fields stay");
    let r = rest(
        &app,
        "PATCH",
        &format!("/v1/keys/{id}"),
        Some(&ci),
        Some(json!({ "expires_at": null })),
    )
    .await;
    assert_eq!(r.json()["expires_at"], Value::Null);

    // Regenerate with grace: both secrets work; without: only the new.
    let r = rest(
        &app,
        "POST",
        &format!("/v1/keys/{id}/regenerate"),
        Some(&ci),
        Some(json!({ "grace": "one_hour" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let second = r.json()["token"].as_str().unwrap().to_string();
    assert_eq!(verify_code(&app, &token).await, "VALID");
    assert_eq!(verify_code(&app, &second).await, "VALID");
    let r = rest(&app, "POST", &format!("/v1/keys/{id}/regenerate"), Some(&ci), None).await;
    let third = r.json()["token"].as_str().unwrap().to_string();
    assert_eq!(verify_code(&app, &second).await, "NOT_FOUND");
    assert_eq!(verify_code(&app, &third).await, "VALID");

    // Revoke: refused at once; a second revoke is a conflict.
    let r = rest(&app, "POST", &format!("/v1/keys/{id}/revoke"), Some(&ci), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "revoked");
    assert_eq!(verify_code(&app, &third).await, "REVOKED");
    let r = rest(&app, "POST", &format!("/v1/keys/{id}/revoke"), Some(&ci), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // The audit log names the key that acted.
    let rows: Vec<(String, Option<String>)> = app
        .rows(
            "SELECT action, actor_email FROM audit_log WHERE target_id = $1 ORDER BY at_ms, action",
            &[&id],
        )
        .await;
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "key.updated").count(), 2, "{actions:?}");
    for action in ["key.created", "key.regenerated", "key.revoked"] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    assert!(rows.iter().all(|r| r.1.as_deref() == Some("API key \u{201c}CI\u{201d}")));
}

/// Every `$ref` in `value` names a schema the document defines.
fn refs_resolve(value: &Value, doc: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                let name = r.strip_prefix("#/components/schemas/").expect("local schema ref");
                assert!(doc["components"]["schemas"].get(name).is_some(), "dangling {r}");
            }
            map.values().for_each(|v| refs_resolve(v, doc));
        }
        Value::Array(items) => items.iter().for_each(|v| refs_resolve(v, doc)),
        _ => {}
    }
}

async fn the_openapi_document_describes_the_api(engine: Engine) {
    let app = TestApp::empty(&engine).await;
    let r = rest(&app, "GET", "/v1/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for (path, methods) in [
        ("/v1/keys", &["get", "post"][..]),
        ("/v1/keys/{id}", &["get", "patch"]),
        ("/v1/keys/{id}/regenerate", &["post"]),
        ("/v1/keys/{id}/revoke", &["post"]),
    ] {
        for m in methods {
            let op = &doc["paths"][path][m];
            assert!(op.is_object(), "{m} {path} is documented");
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()));
            assert!(op["security"][0]["api_key"].is_array(), "{m} {path} names its scope");
            for status in ["401", "429"] {
                let answer = &op["responses"][status];
                assert!(answer["description"].as_str().is_some_and(|d| !d.is_empty()));
                let schema = &answer["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ErrorBody", "{m} {path} {status}");
            }
        }
    }
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
    let resource = &doc["components"]["schemas"]["KeyResource"]["properties"];
    for field in
        ["id", "name", "prefix", "type", "environment", "permissions", "status", "rate_limit"]
    {
        assert!(resource.get(field).is_some(), "KeyResource.{field}");
    }
    // The customer options, in what the API shows and in what it takes.
    for schema in ["KeyResource", "CreateKey", "UpdateKey"] {
        let properties = &doc["components"]["schemas"][schema]["properties"];
        for field in ["ip_allowlist", "customer", "meta", "usage_limit"] {
            assert!(properties.get(field).is_some(), "{schema}.{field}");
        }
    }
    let verify = &doc["components"]["schemas"]["VerifyResponse"]["properties"];
    for field in ["customer", "meta", "usage"] {
        assert!(verify.get(field).is_some(), "VerifyResponse.{field}");
    }
    refs_resolve(&doc, &doc);
}

on_both_engines!(
    scopes_and_the_environment_bound_hold,
    every_endpoint_changes_what_verification_sees,
    the_openapi_document_describes_the_api,
);
