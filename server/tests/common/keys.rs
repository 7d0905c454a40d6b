//! Keys and verifications for tests: create through the page's server
//! function, verify over HTTP.

use super::{Client, PRODUCTION_VERIFIER, Reply, TestApp};
use app::api::key_types::{Grace, KeyInput};
use app::api::keys::{CreateKey, RegenerateKey};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

/// A verification as the verifier holding `service_token`.
pub async fn verify_as(app: &TestApp, service_token: &str, body: Value) -> Reply {
    let req = Request::post("/v1/keys/verify")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {service_token}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(req, [10, 1, 1, 1]).await
}

/// The answer's code for `key` asking for `permissions`, from production.
pub async fn code(app: &TestApp, key: &str, permissions: &[&str]) -> String {
    let reply =
        verify_as(app, PRODUCTION_VERIFIER, json!({ "key": key, "permissions": permissions }))
            .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["code"].as_str().unwrap().to_string()
}

/// The create form's input for a key of `key_type` in `env` (`limit` per
/// minute, empty for the type's default), never expiring.
pub fn key_input(name: &str, env: &str, key_type: &str, limit: &str) -> KeyInput {
    KeyInput {
        name: name.into(),
        environment: env.parse().ok(),
        key_type: key_type.into(),
        permissions: vec![],
        expiry: "never".into(),
        expiry_date: String::new(),
        rate_limit: limit.into(),
        rate_window_secs: "60".into(),
        ..KeyInput::default()
    }
}

/// Creates a key in `acme` through the page's server function; returns its
/// id and secret.
pub async fn create(
    admin: &mut Client,
    name: &str,
    env: &str,
    key_type: &str,
    limit: &str,
) -> (String, String) {
    create_with(admin, key_input(name, env, key_type, limit)).await
}

/// Creates the key `input` describes in `acme`; returns its id and secret.
pub async fn create_with(admin: &mut Client, input: KeyInput) -> (String, String) {
    let reply = admin.call_fn(CreateKey { slug: "acme".into(), input }).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    (body["key"]["id"].as_str().unwrap().into(), body["token"].as_str().unwrap().into())
}

/// Regenerates key `id` with `grace` and returns the new secret.
pub async fn regenerate(admin: &mut Client, id: &str, grace: Grace) -> String {
    let reply = admin.call_fn(RegenerateKey { slug: "acme".into(), id: id.into(), grace }).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["token"].as_str().unwrap().to_string()
}
