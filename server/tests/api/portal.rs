//! Portal sessions (docs/design.md#platform-and-portal) on the real router,
//! on SQLite and PostgreSQL: one-time links from the operator API that sign
//! a platform's user in to one organisation.

use super::platform::{operator, platform_app};
use crate::common::{Engine, Reply, TestApp};
use app::backend::Settings;
use axum::http::{StatusCode, header};
use serde_json::json;

async fn portal_session(app: &TestApp, email: &str, role: &str) -> Reply {
    operator(app, "POST", "/v1/orgs/acme/portal-sessions", Some(json!({ "email": email, "role": role, "return_url": "https://platform.example/settings" })))
    .await
}

fn token_of(reply: &Reply) -> String {
    let url = reply.json()["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("http://keys.example/portal/"), "{url}");
    url.rsplit('/').next().unwrap().to_string()
}

async fn portal_links_sign_in_once(engine: Engine) {
    let app = platform_app(&engine, Settings::default()).await;
    let r = portal_session(&app, "jo@customer.test", "admin").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let expires_at = r.json()["expires_at"].as_i64().unwrap();
    let now = app::backend::db::now();
    assert!((now + 295..=now + 301).contains(&expires_at), "five minutes");
    let token = token_of(&r);
    // Only the token's hash is stored.
    let (stored,): (String,) = app.row("SELECT token_hash FROM portal_sessions", &[]).await;
    assert_eq!(stored, app::backend::secret::sha256_hex(&token));
    assert_ne!(stored, token);

    // Opening it: the page names the org and email; continuing signs in.
    let mut jo = app.client();
    let page = jo.page(&format!("/portal/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Acme Inc.") && page.body.contains("jo@customer.test"));
    let r = jo.portal_enter(&token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers[header::LOCATION], "/orgs/acme/settings/api-keys");
    let ctx = jo.org_context("acme").await.json();
    assert_eq!(ctx["role"], "admin");
    assert_eq!(ctx["return_url"], "https://platform.example/settings");
    let keys = jo.page("/orgs/acme/settings/api-keys").await;
    assert!(keys.body.contains("Back to platform.example"));
    // A portal user has no password to sign in with.
    let mut guess = app.client();
    let r = guess.sign_in("jo@customer.test", "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // An invitation to a portal user's email never sets their password:
    // whoever opens the link (here its sender, globex's owner) cannot take
    // the account over; only jo, signed in through the portal, accepts.
    let mut globex = app.signed_in("owner@globex.test").await;
    let r = globex.invite("globex", "jo@customer.test", "member").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let invite = r.json()["link"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let r = globex.invitation(&invite).await.json();
    assert_eq!(r["portal_user"], true);
    let mut taker = app.client();
    let r = taker.accept_invitation(&invite, "attacker-password-1").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app.client().sign_in("jo@customer.test", "attacker-password-1").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Signed in through the portal, jo accepts, choosing a password to
    // sign in directly from now on.
    let r = jo.accept_invitation(&invite, "jo-chose-this-one").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ctx = jo.org_context("globex").await.json();
    assert_eq!(ctx["role"], "member");
    let r = app.client().sign_in("jo@customer.test", "jo-chose-this-one").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Once only; an unknown or expired token is refused, page and call.
    let mut again = app.client();
    let r = again.portal_enter(&token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(again.cookie.is_none());
    let page = again.page(&format!("/portal/{token}")).await;
    assert!(page.body.contains("This sign-in link cannot be used"));
    let late = token_of(&portal_session(&app, "late@customer.test", "viewer").await);
    sqlx::query("UPDATE portal_sessions SET expires_at = $1 WHERE used_at IS NULL")
        .bind(app::backend::db::now() - 1)
        .execute(&app.state.db)
        .await
        .unwrap();
    let r = app.client().portal_enter(&late).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.client().portal_enter("x").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Role rules: never an owner; an owner stays owner; others follow.
    let r = portal_session(&app, "jo@customer.test", "owner").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let owner = token_of(&portal_session(&app, "owner@acme.test", "viewer").await);
    let mut o = app.client();
    assert_eq!(o.portal_enter(&owner).await.status, StatusCode::OK);
    let ctx = o.org_context("acme").await.json();
    assert_eq!(ctx["role"], "owner", "a portal session never unmakes an owner");
    let member = token_of(&portal_session(&app, "member@acme.test", "admin").await);
    let mut m = app.client();
    assert_eq!(m.portal_enter(&member).await.status, StatusCode::OK);
    let ctx = m.org_context("acme").await.json();
    assert_eq!(ctx["role"], "admin");
    let audit = app.audit_actions("acme").await;
    assert!(audit.contains(&"member.role_changed".to_string()), "{audit:?}");

    // Bad input.
    for (path, body, status) in [
        (
            "/v1/orgs/acme/portal-sessions",
            json!({ "email": "x@y.test", "role": "admin", "return_url": "javascript:alert(1)" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/orgs/acme/portal-sessions",
            json!({ "email": "nope", "role": "admin" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/orgs/acme/portal-sessions",
            json!({ "email": "x@y.test", "role": "god" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/orgs/nope/portal-sessions",
            json!({ "email": "x@y.test", "role": "admin" }),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let r = operator(&app, "POST", path, Some(body.clone())).await;
        assert_eq!(r.status, status, "{body}");
    }
    let r = app.bearer("POST", "/v1/orgs/acme/portal-sessions", None, Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// The choice for an org that requires two-factor sign-in: a session the
/// platform opened from a portal link, for a user without a Keywarden
/// password, meets it (the platform signed them in); a member signing in
/// here with a password must have two-factor on.
async fn portal_sessions_of_users_without_a_password_meet_the_two_factor_policy(engine: Engine) {
    let app = platform_app(&engine, Settings::default()).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let required = crate::common::calls::Policy("", "", "", true);
    assert_eq!(owner.save_policies("acme", required).await.status, StatusCode::OK);
    let mut jo = app.client();
    let token = token_of(&portal_session(&app, "jo@customer.test", "admin").await);
    assert_eq!(jo.portal_enter(&token).await.status, StatusCode::OK);
    let ctx = jo.org_context("acme").await;
    assert_eq!(ctx.status, StatusCode::OK, "{}", ctx.body);
    let mut member = app.signed_in("member@acme.test").await;
    let refused = member.org_context("acme").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("TwoFactorRequired"), "{}", refused.body);
    let page = member.page("/orgs/acme/settings/api-keys").await;
    assert!(!page.body.contains("Create API key"), "no keys page without two-factor");
}

on_both_engines!(
    portal_sessions_of_users_without_a_password_meet_the_two_factor_policy,
    portal_links_sign_in_once,
);
