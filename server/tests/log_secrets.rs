//! No API key, service token, TOTP secret or code, recovery code,
//! invitation or portal token reaches a log line, whatever path it takes:
//! verification, forward auth, the REST API, create and regenerate,
//! two-factor set-up and sign-in, and a page render that stalls and is
//! tried again (the hedge), which logs the page's path. One test
//! in its own binary, both engines in turn: a thread-local log capture is
//! only reliable when no other test runs beside it.

mod common;

use app::api::account::{DisableTwoFactor, EnableTwoFactor, StartTwoFactor};
use app::api::auth::VerifySignIn;
use app::api::key_types::Grace;
use app::backend::two_factor::TotpSecret;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::keys::{code, create, regenerate};
use common::{Engine, PRODUCTION_VERIFIER, TestApp};
use serde_json::json;

async fn no_key_or_service_token_reaches_the_log_on(engine: Engine) {
    let (sink, _guard) = common::capture_log();
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (id, token) = create(&mut admin, "Logged", "production", "Admin", "").await;
    code(&app, &token, &["events:write"]).await;
    code(&app, &format!("{token}x"), &[]).await;
    for header in ["authorization", "x-api-key"] {
        let value =
            if header == "authorization" { format!("Bearer {token}") } else { token.clone() };
        let req = Request::get("/v1/authorize")
            .header("x-original-method", "GET")
            .header("x-original-uri", "/v1/data")
            .header(header, value)
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.send(req, [10, 0, 0, 1]).await.status, StatusCode::OK);
    }
    let req = Request::post("/v1/keys")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "name": "Made by CI", "type": "Read" }).to_string()))
        .unwrap();
    let made = app.send(req, [10, 0, 0, 1]).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let new_token = made.json()["token"].as_str().unwrap().to_string();
    let new = regenerate(&mut admin, &id, Grace::OneHour).await;
    app.verifier.flush().await.unwrap();

    // Two-factor sign-in: the secret, the codes and the recovery codes.
    let setup = admin.call_fn(StartTwoFactor {}).await.json();
    let totp = setup["secret"].as_str().unwrap().to_string();
    let secret = TotpSecret::from_base32(&totp).unwrap();
    let now = app::backend::db::now() as u64;
    let first_code = secret.code_at(now);
    let on = admin.call_fn(EnableTwoFactor { code: first_code.clone() }).await;
    let recovery: Vec<String> = serde_json::from_value(on.json()).unwrap();
    let mut second = app.client();
    second.sign_in("admin@acme.test", common::DEMO_PASSWORD).await;
    second.form_fn(VerifySignIn { code: "000000".into() }).await;
    second.form_fn(VerifySignIn { code: recovery[0].clone() }).await;
    let later_code = secret.code_at(now + 30);
    admin.call_fn(DisableTwoFactor { code: later_code.clone() }).await;

    // An invitation and a portal link opened while every database
    // connection is taken: both renders stall past the hedge's delay, and
    // the hedge logs the paths it tries again.
    let invite = admin.invite("acme", "stalled@example.test", "viewer").await;
    let invitation =
        invite.json()["link"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let portal = app::backend::portal::create(
        &app.state.db,
        &app.row::<(String,)>("SELECT id FROM orgs WHERE slug = $1", &["acme"]).await.0,
        &app::domain::Email::parse("jo@customer.test").unwrap(),
        app::domain::Role::Viewer,
        None,
    )
    .await
    .unwrap()
    .0;
    // A page first, so the first-run check has its answer and the renders
    // below stall inside the hedge, not before it.
    assert_eq!(app.client().page("/login").await.status, StatusCode::OK);
    let mut held = Vec::new();
    while let Ok(Ok(conn)) =
        tokio::time::timeout(std::time::Duration::from_millis(200), app.state.db.acquire()).await
    {
        held.push(conn);
    }
    let pages = [format!("/invite/{invitation}"), format!("/portal/{portal}")].map(|path| {
        let app = app.clone();
        tokio::spawn(async move {
            app.send(Request::get(path).body(Body::empty()).unwrap(), [10, 0, 0, 2]).await
        })
    });
    tokio::time::sleep(server::hedge::HEDGE_AFTER + std::time::Duration::from_millis(500)).await;
    drop(held);
    for page in pages {
        assert_eq!(page.await.unwrap().status, StatusCode::OK);
    }

    let log = sink.text();
    assert!(log.contains("a page render stalled"), "the hedge logged:\n{log}");
    for path in ["/invite/…", "/portal/…"] {
        assert!(log.contains(path), "{path} was logged, cut:\n{log}");
    }
    for path in ["/v1/keys/verify", "/v1/authorize", "/v1/keys\""] {
        assert!(log.contains(path), "requests to {path} were logged:\n{log}");
    }
    for secret in [
        token.as_str(),
        &token[..token.len() - 6],
        new_token.as_str(),
        new.as_str(),
        PRODUCTION_VERIFIER,
        totp.as_str(),
        &recovery[0],
        &recovery[1],
        &invitation,
        &portal,
    ] {
        assert!(!log.contains(secret), "{secret:?} appears in the log");
    }
}

#[tokio::test]
async fn no_key_or_service_token_reaches_the_log() {
    common::within_limit(no_key_or_service_token_reaches_the_log_within_limit()).await
}

async fn no_key_or_service_token_reaches_the_log_within_limit() {
    no_key_or_service_token_reaches_the_log_on(Engine::Sqlite).await;
    if let Some(engine) = Engine::postgres() {
        no_key_or_service_token_reaches_the_log_on(engine).await;
    }
}
