//! Sign-in, sessions, first-run setup and request security, over HTTP on the
//! real router, on SQLite and PostgreSQL.

use crate::common::calls::NewOrg;
use crate::common::{DEMO_PASSWORD, Engine, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};

async fn sign_in_sets_a_hardened_session_cookie(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut client = app.client();
    let reply = client.sign_in("Admin@Acme.test ", DEMO_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let cookie = reply.session_cookie().expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP gets no Secure flag");
    let value = cookie.split(';').next().unwrap().trim_start_matches("kw_session=");
    assert_eq!(value.len(), 43, "256-bit id, base64url");

    let me = client.session().await;
    assert_eq!(me.json()["email"], "admin@acme.test");
    assert_eq!(me.json()["orgs"][0]["slug"], "acme");
    assert_eq!(me.json()["orgs"][0]["role"], "admin");

    // The database holds only the hash of the id.
    let (stored,): (String,) = app.row("SELECT id_hash FROM sessions", &[]).await;
    assert_ne!(stored, value);
    assert_eq!(stored.len(), 64);
}

async fn sessions_are_secure_behind_https(engine: Engine) {
    let settings = app::backend::Settings { force_secure_cookies: true, ..Default::default() };
    let app = TestApp::demo_with(&engine, settings).await;
    let reply = app.client().sign_in("viewer@acme.test", DEMO_PASSWORD).await;
    assert!(reply.session_cookie().unwrap().contains("; Secure"));
}

async fn every_sign_in_failure_gets_the_same_answer(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let wrong_password = app.client().sign_in("member@acme.test", "wrong-password").await;
    let unknown_email = app.client().sign_in("nobody@acme.test", "wrong-password").await;
    let malformed = app.client().sign_in("not an email", "").await;
    for reply in [&wrong_password, &unknown_email, &malformed] {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.body, "\"InvalidCredentials\"");
        assert!(reply.session_cookie().is_none());
    }
}

async fn failed_sign_ins_are_throttled_per_account_and_per_address(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut attacker = app.client();
    attacker.ip = [10, 0, 0, 1];
    for _ in 0..5 {
        let r = attacker.sign_in("owner@acme.test", "guess-guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // The account is locked, even for the right password and from elsewhere.
    let locked = attacker.sign_in("owner@acme.test", DEMO_PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.body.contains("Throttled"), "{}", locked.body);
    let mut elsewhere = app.client();
    elsewhere.ip = [10, 0, 0, 2];
    assert_eq!(
        elsewhere.sign_in("owner@acme.test", DEMO_PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other accounts are unaffected.
    assert_eq!(elsewhere.sign_in("admin@acme.test", DEMO_PASSWORD).await.status, StatusCode::OK);

    // One address spraying many accounts is locked out as an address.
    let mut sprayer = app.client();
    sprayer.ip = [10, 0, 0, 3];
    for i in 0..20 {
        sprayer.sign_in(&format!("user{i}@acme.test"), "guess-guess").await;
    }
    assert_eq!(
        sprayer.sign_in("member@acme.test", DEMO_PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let mut neighbour = app.client();
    neighbour.ip = [10, 0, 0, 4];
    assert_eq!(neighbour.sign_in("member@acme.test", DEMO_PASSWORD).await.status, StatusCode::OK);
}

async fn the_session_id_rotates_at_sign_in(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut client = app.signed_in("member@acme.test").await;
    let before = client.clone();
    client.sign_in("member@acme.test", DEMO_PASSWORD).await;
    assert_ne!(client.cookie, before.cookie, "a new id at every sign-in");
    let mut old = before;
    assert_eq!(old.session().await.body, "null", "the old id is dead");
    assert_eq!(client.session().await.json()["email"], "member@acme.test");
}

async fn sign_out_destroys_the_session(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut client = app.signed_in("viewer@acme.test").await;
    let mut copy = client.clone();
    let reply = client.sign_out().await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.session_cookie().unwrap().contains("Max-Age=0"));
    assert_eq!(copy.session().await.body, "null", "a copied cookie is useless after sign-out");
    assert_eq!(copy.members("acme").await.status, StatusCode::UNAUTHORIZED);
}

async fn first_run_setup_creates_the_owner_once(engine: Engine) {
    let app = TestApp::empty(&engine).await;
    let visitor = app.client();
    let page = visitor.page("/orgs/acme/settings/members").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers[header::LOCATION], "/setup");

    let mut founder = app.client();
    let bad = founder.setup(NewOrg("Initech", "-bad-", "f@initech.test", "long-enough-pw")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("lowercase letters"), "{}", bad.body);

    let initech = NewOrg("Initech", "initech", "f@initech.test", "long-enough-pw");
    let ok = founder.setup(initech).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let me = founder.session().await.json();
    assert_eq!(me["orgs"][0]["role"], "owner");
    assert_eq!(app.audit_actions("initech").await, ["org.created"]);

    let again = app.client().setup(NewOrg("Evil", "evil", "e@evil.test", "long-enough-pw")).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("already set up"));
    let (users,): (i64,) = app.row("SELECT COUNT(*) FROM users", &[]).await;
    assert_eq!(users, 1);
    assert_eq!(
        app.client().page("/login").await.status,
        StatusCode::OK,
        "no more redirects to /setup"
    );
}

async fn cross_site_state_changes_are_refused(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let form = "email=admin%40acme.test&password=keywarden-demo&next=";
    let post = |site: Option<&str>, origin: Option<&str>| {
        let mut req = Request::post("/api/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "127.0.0.1:3000");
        if let Some(site) = site {
            req = req.header("sec-fetch-site", site);
        }
        if let Some(origin) = origin {
            req = req.header(header::ORIGIN, origin);
        }
        req.body(Body::from(form)).unwrap()
    };
    let ip = [127, 0, 0, 1];
    for (site, origin) in [
        (Some("cross-site"), None),
        (Some("same-site"), None),
        (None, Some("https://evil.test")),
        (None, Some("null")),
    ] {
        let reply = app.send(post(site, origin), ip).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{site:?} {origin:?}");
        assert_eq!(reply.json()["error"]["code"], "CROSS_SITE_REQUEST");
        assert!(reply.session_cookie().is_none());
    }
    let same = app.send(post(None, Some("http://127.0.0.1:3000")), ip).await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.body);
    let same = app.send(post(Some("same-origin"), None), ip).await;
    assert_eq!(same.status, StatusCode::OK);
}

async fn pages_carry_security_headers_and_a_nonce_policy(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let page = app.client().page("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(page.headers[header::REFERRER_POLICY], "same-origin");
    let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("a nonce");
    assert!(
        page.body.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries the nonce"
    );
    assert!(!csp.contains("unsafe-inline"));
    let other = app.client().page("/login").await;
    assert_ne!(
        other.headers[header::CONTENT_SECURITY_POLICY],
        page.headers[header::CONTENT_SECURITY_POLICY],
        "a nonce per response"
    );
}

async fn probes_report_health_and_readiness(engine: Engine) {
    let app = TestApp::empty(&engine).await;
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    let health = app.send(get("/healthz"), [127, 0, 0, 1]).await;
    assert_eq!((health.status, health.json()["status"].as_str()), (StatusCode::OK, Some("ok")));
    let ready = app.send(get("/readyz"), [127, 0, 0, 1]).await;
    assert_eq!(ready.status, StatusCode::OK);
    app.state.db.close().await;
    let down = app.send(get("/readyz"), [127, 0, 0, 1]).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
}

on_both_engines!(
    sign_in_sets_a_hardened_session_cookie,
    sessions_are_secure_behind_https,
    every_sign_in_failure_gets_the_same_answer,
    failed_sign_ins_are_throttled_per_account_and_per_address,
    the_session_id_rotates_at_sign_in,
    sign_out_destroys_the_session,
    first_run_setup_creates_the_owner_once,
    cross_site_state_changes_are_refused,
    pages_carry_security_headers_and_a_nonce_policy,
    probes_report_health_and_readiness,
);
