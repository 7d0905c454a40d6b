//! The platform (docs/design.md#roles, #platform-and-portal) on the real router, on SQLite and
//! PostgreSQL: the operator API, portal sessions, suspension, the admin
//! console's server functions and open sign-up.

use crate::common::calls::NewOrg;
use crate::common::keys::{code, create};
use crate::common::{Engine, PRODUCTION_VERIFIER, Reply, TestApp};
use app::api::keys::ListKeys;
use app::backend::Settings;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use server::operator::auth::OperatorTokens;
use server::startup::VerifierSettings;
use std::time::{Duration, Instant};

const OPERATOR: &str = "operator-token-for-tests-0123456789";

pub(crate) async fn platform_app(engine: &Engine, settings: Settings) -> TestApp {
    let gateway = VerifierSettings {
        operator_tokens: OperatorTokens::parse(OPERATOR).unwrap(),
        ..crate::common::test_gateway()
    };
    TestApp::demo_behind(engine, settings, gateway).await
}

/// An operator API call with `token` (`None`: no Authorization header).
/// The operator API, with the operator's token.
pub(crate) async fn operator(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Reply {
    app.bearer(method, path, Some(OPERATOR), body).await
}

fn error_code(reply: &Reply) -> String {
    reply.json()["error"]["code"].as_str().unwrap_or_default().to_string()
}

async fn the_operator_api_provisions_organisations(engine: Engine) {
    let app = platform_app(&engine, Settings::default()).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (_, org_key) = create(&mut admin, "CI", "production", "Admin", "").await;

    // Only operator tokens open it: not a service token, not an org key.
    for token in
        [None, Some("wrong-operator-token-0123456789"), Some(PRODUCTION_VERIFIER), Some(&org_key)]
    {
        let r = app.bearer("GET", "/v1/orgs", token, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(error_code(&r), "UNAUTHORIZED");
    }
    // Nor does an operator token open the verify API or the keys API.
    let r = crate::common::keys::verify_as(&app, OPERATOR, json!({ "key": org_key })).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = operator(&app, "GET", "/v1/keys", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let r = operator(
        &app,
        "POST",
        "/v1/orgs",
        Some(json!({ "slug": "initech", "name": "Initech", "owner_email": "Boss@Initech.test" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let created = r.json();
    assert_eq!(created["org"]["slug"], "initech");
    assert_eq!(created["org"]["members"], 0);
    assert_eq!(created["org"]["suspended"], false);
    let link = created["invitation_url"].as_str().unwrap().to_string();
    assert!(link.starts_with("http://keys.example/invite/"), "{link}");

    for (body, status, code) in [
        (json!({ "slug": "initech", "name": "Again" }), StatusCode::CONFLICT, "CONFLICT"),
        (json!({ "slug": "Bad Slug!", "name": "X" }), StatusCode::BAD_REQUEST, "INVALID"),
        (json!({ "slug": "ok-slug", "name": "" }), StatusCode::BAD_REQUEST, "INVALID"),
        (
            json!({ "slug": "ok-slug", "name": "X", "owner_email": "nope" }),
            StatusCode::BAD_REQUEST,
            "INVALID",
        ),
        (
            json!({ "slug": "ok-slug", "name": "X", "plan": "gold" }),
            StatusCode::BAD_REQUEST,
            "INVALID",
        ),
        (json!([]), StatusCode::BAD_REQUEST, "INVALID"),
    ] {
        let r = operator(&app, "POST", "/v1/orgs", Some(body.clone())).await;
        assert_eq!((r.status, error_code(&r).as_str()), (status, code), "{body}: {}", r.body);
    }

    let r = operator(&app, "GET", "/v1/orgs", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let slugs: Vec<String> = r.json()["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(slugs, ["acme", "globex", "initech"], "by name");
    let r = operator(&app, "GET", "/v1/orgs?search=INIT&page=1", None).await;
    assert_eq!(r.json()["total"], 1);
    let r = operator(&app, "GET", "/v1/orgs/acme", None).await;
    assert_eq!(r.json()["members"], 4, "one per role");
    let r = operator(&app, "GET", "/v1/orgs/nope", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r =
        operator(&app, "PATCH", "/v1/orgs/initech", Some(json!({ "name": "Initech Corp." }))).await;
    assert_eq!((r.status, r.json()["name"].clone()), (StatusCode::OK, json!("Initech Corp.")));
    let r = operator(&app, "PATCH", "/v1/orgs/initech", Some(json!({ "name": "" }))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = operator(&app, "PATCH", "/v1/orgs/nope", Some(json!({ "suspended": true }))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The owner's link works: they choose a password and own the org.
    let token = link.rsplit('/').next().unwrap();
    let mut boss = app.client();
    let r = boss.accept_invitation(token, "a good long password").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = boss.org_context("initech").await;
    assert_eq!(r.json()["role"], "owner", "{}", r.body);

    let actions = app.audit_actions("initech").await;
    assert_eq!(&actions[..4], ["org.created", "member.invited", "org.renamed", "member.joined"]);
    let (actor,): (Option<String>,) = app
        .row(
            "SELECT a.actor_email FROM audit_log a JOIN orgs o ON o.id = a.org_id \
         WHERE o.slug = 'initech' AND a.action = 'org.created'",
            &[],
        )
        .await;
    assert_eq!(actor.as_deref(), Some("operator"));
}

async fn a_suspended_org_reads_but_changes_nothing(engine: Engine) {
    let app = platform_app(&engine, Settings::default()).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let (id, key) = create(&mut owner, "Ingest", "production", "Write", "").await;
    let (_, rest_key) = create(&mut owner, "CI", "production", "Admin", "").await;
    assert_eq!(code(&app, &key, &[]).await, "VALID");

    let r = operator(&app, "PATCH", "/v1/orgs/acme", Some(json!({ "suspended": true }))).await;
    assert_eq!((r.status, r.json()["suspended"].clone()), (StatusCode::OK, json!(true)));
    // The very next verification, though the answer was cached.
    assert_eq!(code(&app, &key, &[]).await, "DISABLED");
    let auth = Request::get("/v1/authorize")
        .header("x-original-method", "POST")
        .header("x-original-uri", "/v1/events")
        .header("x-api-key", key.as_str())
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(auth, [10, 0, 0, 2]).await.status, StatusCode::UNAUTHORIZED);
    let rest = Request::get("/v1/keys")
        .header(header::AUTHORIZATION, format!("Bearer {rest_key}"))
        .body(Body::empty())
        .unwrap();
    let r = app.send(rest, [10, 0, 0, 2]).await;
    assert_eq!((r.status, error_code(&r).as_str()), (StatusCode::UNAUTHORIZED, "DISABLED"));

    // Every role reads; no change goes through, with words that say why.
    for who in ["owner@acme.test", "admin@acme.test", "member@acme.test", "viewer@acme.test"] {
        let mut client = app.signed_in(who).await;
        let list =
            client.call_fn(ListKeys { slug: "acme".into(), query: Default::default() }).await;
        assert_eq!(list.status, StatusCode::OK, "{who}");
        assert_eq!(list.json()["can_manage"], false, "{who}");
        let ctx = client.org_context("acme").await.json();
        assert_eq!(ctx["suspended"], true);
        let page = client.page("/orgs/acme/settings/api-keys").await;
        assert!(page.body.contains("This organisation is suspended"), "{who}");
    }
    let input = json!({ "name": "New", "environment": "production", "key_type": "Read", "permissions": [],
        "expiry": "never", "expiry_date": "", "rate_limit": "", "rate_window_secs": "" });
    for (endpoint, body) in [
        ("keys/create", json!({ "slug": "acme", "input": input })),
        ("keys/revoke", json!({ "slug": "acme", "id": id })),
        ("keys/delete", json!({ "slug": "acme", "id": id })),
        ("keys/set_enabled", json!({ "slug": "acme", "id": id, "enabled": false })),
        ("keys/regenerate", json!({ "slug": "acme", "id": id, "grace": "none" })),
    ] {
        let r = owner.call_json(endpoint, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{endpoint}: {}", r.body);
        assert!(r.body.contains("Suspended"), "{endpoint}: {}", r.body);
    }
    let r = owner.invite("acme", "new@acme.test", "member").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Suspended"));
    let member_id = app.user_id("member@acme.test").await;
    let r = owner.remove_member("acme", &member_id).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Resuming restores all of it at once.
    let r = operator(&app, "PATCH", "/v1/orgs/acme", Some(json!({ "suspended": false }))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(code(&app, &key, &[]).await, "VALID");
    let list = owner.call_fn(ListKeys { slug: "acme".into(), query: Default::default() }).await;
    assert_eq!(list.json()["can_manage"], true);
    let actions = app.audit_actions("acme").await;
    assert!(actions.ends_with(&["org.suspended".into(), "org.resumed".into()]), "{actions:?}");
}

async fn the_console_is_for_instance_admins_only(engine: Engine) {
    let app = platform_app(&engine, Settings::default()).await;
    // Not an instance admin: the console does not exist for them.
    let mut admin = app.signed_in("admin@acme.test").await;
    let r = admin.admin_orgs("", 1).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for (endpoint, form) in [
        ("admin/create_org", vec![("name", "X"), ("slug", "xx"), ("owner_email", "")]),
        ("admin/suspend_org", vec![("slug", "acme"), ("suspended", "true")]),
        ("admin/rename_org", vec![("slug", "acme"), ("name", "Mine")]),
    ] {
        let r = admin.call(endpoint, &form).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{endpoint}");
    }
    assert_eq!(admin.page("/admin").await.status, StatusCode::NOT_FOUND);
    let anonymous = app.client().page("/admin").await;
    assert!(anonymous.headers[header::LOCATION].to_str().unwrap().starts_with("/login"));

    // The demo's instance admin sees every org, with counts only.
    let mut root = app.signed_in("owner@acme.test").await;
    let r = root.admin_orgs("", 1).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let page = r.json();
    assert_eq!(page["total"], 2);
    assert_eq!(page["orgs"][0]["slug"], "acme");
    assert!(!r.body.contains("kw_") && !r.body.contains("@acme.test"), "no keys or members");
    let r = root.admin_create_org("Initech", "initech", "boss@initech.test").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["invitation_link"].as_str().unwrap().contains("/invite/"));
    let r = root.admin_create_org("Again", "initech", "").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = root.admin_rename_org("initech", "Initech Corp.").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = root.admin_suspend_org("initech", true).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = root.admin_orgs("initech", 1).await.json();
    assert_eq!(r["orgs"][0]["name"], "Initech Corp.");
    assert!(r["orgs"][0]["suspended_at"].is_i64());
    // Not a member of initech: no way in through the console.
    let r = root.org_context("initech").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let page = root.page("/admin?q=init").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Initech Corp.") && page.body.contains("Suspended"));
}

async fn sign_up_is_open_only_when_configured(engine: Engine) {
    let app = platform_app(&engine, Settings::default()).await;
    let hooli = || NewOrg("Hooli", "hooli", "gavin@hooli.test", "a long enough password");
    assert_eq!(app.client().sign_up(hooli()).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.client().page("/signup").await.status, StatusCode::NOT_FOUND);

    let open = Settings { open_signup: true, ..Settings::default() };
    let app = platform_app(&engine, open).await;
    assert_eq!(app.client().page("/signup").await.status, StatusCode::OK);
    let mut gavin = app.client();
    let r = gavin.sign_up(hooli()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers[header::LOCATION], "/orgs/hooli/settings/api-keys");
    let ctx = gavin.org_context("hooli").await.json();
    assert_eq!(ctx["role"], "owner");
    assert_eq!(ctx["is_admin"], false, "only /setup makes an instance admin");
    // The same validation as /setup.
    let r = app.client().sign_up(NewOrg("X", "hooli", "b@c.test", "a long enough password")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app.client().sign_up(NewOrg("X", "fine", "b@c.test", "short")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

async fn a_suspension_reaches_every_instance_at_once(engine: Engine) {
    if !matches!(engine, Engine::Postgres(_)) {
        return; // one SQLite file serves one instance
    }
    let a = platform_app(&engine, Settings::default()).await;
    let b = a.another_instance().await;
    let mut owner = a.signed_in("owner@acme.test").await;
    let (_, key) = create(&mut owner, "Ingest", "production", "Write", "").await;
    assert_eq!(code(&b, &key, &[]).await, "VALID");
    assert_eq!(code(&b, &key, &[]).await, "VALID", "cached on B");
    let r = operator(&a, "PATCH", "/v1/orgs/acme", Some(json!({ "suspended": true }))).await;
    assert_eq!(r.status, StatusCode::OK);
    let committed = Instant::now();
    loop {
        if code(&b, &key, &[]).await == "DISABLED" {
            break;
        }
        assert!(committed.elapsed() < Duration::from_millis(100), "B still accepts the key");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    eprintln!("suspension seen by B after {:?}", committed.elapsed());
    operator(&a, "PATCH", "/v1/orgs/acme", Some(json!({ "suspended": false }))).await;
    let resumed = Instant::now();
    while code(&b, &key, &[]).await != "VALID" {
        assert!(resumed.elapsed() < Duration::from_millis(100), "B still refuses the key");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

on_both_engines!(
    the_operator_api_provisions_organisations,
    a_suspended_org_reads_but_changes_nothing,
    the_console_is_for_instance_admins_only,
    sign_up_is_open_only_when_configured,
    a_suspension_reaches_every_instance_at_once,
);
