//! A suspended organisation stays as it was: no one joins it by any way in
//! (an invitation made before the suspension, a portal link made before
//! it, a new portal link from the operator API), each refusal is clear and
//! audited, and all of it works again once the org is resumed. Also the
//! portal page's question when someone is signed in already.

use crate::common::{Engine, Reply, TestApp};
use app::api::platform::PortalPeek;
use app::backend::Settings;
use app::domain::{Email, Role};
use axum::http::StatusCode;
use serde_json::json;
use server::operator::auth::OperatorTokens;
use server::startup::VerifierSettings;

const OPERATOR: &str = "operator-token-for-suspension-tests-0123";

async fn app_with_operator(engine: &Engine) -> TestApp {
    let gateway = VerifierSettings {
        operator_tokens: OperatorTokens::parse(OPERATOR).unwrap(),
        ..crate::common::test_gateway()
    };
    TestApp::demo_behind(engine, Settings::default(), gateway).await
}

async fn portal_link(app: &TestApp, email: &str) -> String {
    let (org_id,): (String,) = app.row("SELECT id FROM orgs WHERE slug = 'acme'", &[]).await;
    let email = Email::parse(email).unwrap();
    app::backend::portal::create(&app.state.db, &org_id, &email, Role::Member, None)
        .await
        .unwrap()
        .0
}

/// A portal link for `email` as `role`, asked of the operator API.
async fn operator_link(app: &TestApp, email: &str, role: &str) -> Reply {
    let body = json!({ "email": email, "role": role });
    app.bearer("POST", "/v1/orgs/acme/portal-sessions", Some(OPERATOR), Some(body)).await
}

async fn members(app: &TestApp) -> i64 {
    app.row::<(i64,)>(
        "SELECT COUNT(*) FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE o.slug = 'acme'",
        &[],
    )
    .await
    .0
}

async fn a_suspended_org_gains_no_member(engine: Engine) {
    let app = app_with_operator(&engine).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let invite = owner.invite("acme", "late@example.test", "viewer").await;
    let invitation =
        invite.json()["link"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let portal = portal_link(&app, "jo@customer.test").await;
    // A portal user who is a member already (they have no password: the
    // platform's link is their only way in).
    let kim_first = portal_link(&app, "kim@customer.test").await;
    assert_eq!(app.client().portal_enter(&kim_first).await.status, StatusCode::OK);
    let before = members(&app).await;

    assert_eq!(owner.admin_suspend_org("acme", true).await.status, StatusCode::OK);

    // The invitation made before: refused, with the reason in words.
    let mut late = app.client();
    let r = late.accept_invitation(&invitation, "a good long password").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("This organisation is suspended"), "{}", r.body);
    // The portal link made before: refused, and not spent.
    let mut jo = app.client();
    let r = jo.portal_enter(&portal).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("This organisation is suspended"), "{}", r.body);
    // A new portal link from the operator API: refused.
    let r = operator_link(&app, "new@customer.test", "member").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "ORG_SUSPENDED");

    assert_eq!(members(&app).await, before, "nobody joined");

    // Kim, a member, still signs in while it is suspended, through a new
    // link from the operator API too, keeping their role.
    let r = operator_link(&app, "kim@customer.test", "admin").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let link = r.json()["url"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let mut kim = app.client();
    assert_eq!(kim.portal_enter(&link).await.status, StatusCode::OK);
    assert_eq!(kim.org_context("acme").await.json()["role"], "member", "no role changes");
    let (users,): (i64,) = app
        .row(
            "SELECT COUNT(*) FROM users WHERE email IN ('late@example.test', 'jo@customer.test')",
            &[],
        )
        .await;
    assert_eq!(users, 0, "no account was made either");
    let refused: Vec<(String, String)> = app
        .rows(
            "SELECT a.target_label, a.changes FROM audit_log a JOIN orgs o ON o.id = a.org_id \
             WHERE o.slug = 'acme' AND a.action = 'member.join_refused' ORDER BY a.at_ms",
            &[],
        )
        .await;
    let refused: Vec<(String, serde_json::Value)> =
        refused.into_iter().map(|(who, c)| (who, serde_json::from_str(&c).unwrap())).collect();
    assert_eq!(
        refused,
        [
            ("late@example.test".into(), json!({ "reason": "suspended", "via": "invitation" })),
            ("jo@customer.test".into(), json!({ "reason": "suspended", "via": "portal link" })),
            ("new@customer.test".into(), json!({ "reason": "suspended", "via": "operator API" })),
        ]
    );

    // Resumed: the same invitation and link work.
    assert_eq!(owner.admin_suspend_org("acme", false).await.status, StatusCode::OK);
    let r = late.accept_invitation(&invitation, "a good long password").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = jo.portal_enter(&portal).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(members(&app).await, before + 2);
    let kim_joined: Vec<(String,)> = app
        .rows(
            "SELECT action FROM audit_log WHERE target_label = 'kim@customer.test' ORDER BY at_ms",
            &[],
        )
        .await;
    let actions: Vec<&str> = kim_joined.iter().map(|(a,)| a.as_str()).collect();
    assert_eq!(actions, ["member.joined", "member.portal_signed_in"], "no refusal for a member");
}

async fn a_portal_link_asks_before_replacing_a_session(engine: Engine) {
    let app = app_with_operator(&engine).await;
    let link = portal_link(&app, "jo@customer.test").await;
    // Nobody signed in: the page continues by itself (no question).
    let mut fresh = app.client();
    let r = fresh.form_fn(PortalPeek { token: link.clone() }).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["signed_in_as"], serde_json::Value::Null, "{}", r.body);
    let page = fresh.page(&format!("/portal/{link}")).await.body;
    assert!(page.contains("Sign in to Acme Inc."), "{page}");
    assert!(!page.contains("Cancel"));

    // Someone signed in: the page asks, naming both, with Continue and Cancel.
    let mut admin = app.signed_in("admin@acme.test").await;
    let r = admin.form_fn(PortalPeek { token: link.clone() }).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["signed_in_as"], "admin@acme.test");
    let page = admin.page(&format!("/portal/{link}")).await.body;
    assert!(page.contains("Continue as jo@customer.test in Acme Inc.?"), "{page}");
    assert!(page.contains("You will be signed out of <strong>admin@acme.test"), "{page}");
    assert!(page.contains(">Continue<") && page.contains(">Cancel<"), "{page}");
    // Looking spends nothing: the link still signs in once.
    let r = admin.portal_enter(&link).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

on_both_engines!(a_suspended_org_gains_no_member, a_portal_link_asks_before_replacing_a_session);
