//! Members, roles and invitations: every action for every role, over HTTP on
//! the real router, on SQLite and PostgreSQL.

use crate::common::{Client, DEMO_PASSWORD, Engine, TestApp};
use app::backend::db;
use axum::http::StatusCode;

const ROLES: [&str; 4] = ["owner", "admin", "member", "viewer"];

async fn as_role(app: &TestApp, role: &str) -> Client {
    app.signed_in(&format!("{role}@acme.test")).await
}

/// Creates the org `initech` with its own owner, for cross-org checks.
async fn add_initech(app: &TestApp) -> String {
    app.add_org("initech", "Globex", "boss@globex.test", "globex-password").await
}

fn link_token(reply: &crate::common::Reply) -> String {
    let link = reply.json()["link"].as_str().expect("a link").to_string();
    link.rsplit('/').next().unwrap().to_string()
}

async fn every_member_sees_the_list(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    for role in ROLES {
        let mut client = as_role(&app, role).await;
        let reply = client.members("acme").await;
        assert_eq!(reply.status, StatusCode::OK, "{role}: {}", reply.body);
        let page = reply.json();
        let emails: Vec<_> = page["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["email"].as_str().unwrap())
            .collect();
        assert_eq!(
            emails,
            ["owner@acme.test", "admin@acme.test", "member@acme.test", "viewer@acme.test"]
        );
        let invitable: Vec<_> = page["invitable_roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let expected: &[&str] = match role {
            "owner" => &["owner", "admin", "member", "viewer"],
            "admin" => &["member", "viewer"],
            _ => &[],
        };
        assert_eq!(invitable, expected, "{role}");
        assert_eq!(page["can_manage"], role == "owner", "{role}");
    }
}

async fn invitations_follow_the_roles(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    for inviter in ROLES {
        let mut client = as_role(&app, inviter).await;
        for invited in ROLES {
            let email = format!("{inviter}-invites-{invited}@example.test");
            let reply = client.invite("acme", &email, invited).await;
            let allowed = match inviter {
                "owner" => true,
                "admin" => matches!(invited, "member" | "viewer"),
                _ => false,
            };
            let expected = if allowed { StatusCode::OK } else { StatusCode::FORBIDDEN };
            assert_eq!(reply.status, expected, "{inviter} inviting {invited}: {}", reply.body);
        }
    }
    let (pending,): (i64,) = app.row("SELECT COUNT(*) FROM invitations", &[]).await;
    assert_eq!(pending, 6, "4 by the owner, 2 by the admin");
}

async fn role_changes_and_removals_are_for_owners(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let viewer = app.user_id("viewer@acme.test").await;
    for role in ["admin", "member", "viewer"] {
        let mut client = as_role(&app, role).await;
        let change = client.change_role("acme", &viewer, "member").await;
        assert_eq!(change.status, StatusCode::FORBIDDEN, "{role} changing a role");
        let remove = client.remove_member("acme", &viewer).await;
        assert_eq!(remove.status, StatusCode::FORBIDDEN, "{role} removing a member");
    }
    let mut owner = as_role(&app, "owner").await;
    let change = owner.change_role("acme", &viewer, "member").await;
    assert_eq!(change.status, StatusCode::OK, "{}", change.body);
    let remove = owner.remove_member("acme", &viewer).await;
    assert_eq!(remove.status, StatusCode::OK, "{}", remove.body);
    assert_eq!(
        app.audit_actions("acme").await,
        ["member.role_changed", "member.removed"],
        "every change is audited, refusals are not"
    );
    let (changes,): (String,) =
        app.row("SELECT changes FROM audit_log WHERE action = 'member.role_changed'", &[]).await;
    assert_eq!(changes, r#"{"role":{"after":"member","before":"viewer"}}"#);
}

async fn the_last_owner_stays(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = as_role(&app, "owner").await;
    let me = app.user_id("owner@acme.test").await;
    let demote = owner.change_role("acme", &me, "admin").await;
    assert_eq!(demote.status, StatusCode::CONFLICT);
    assert!(demote.body.contains("at least one owner"), "{}", demote.body);
    let remove = owner.remove_member("acme", &me).await;
    assert_eq!(remove.status, StatusCode::CONFLICT);

    // With a second owner, either may step down, but not both.
    let admin = app.user_id("admin@acme.test").await;
    assert_eq!(owner.change_role("acme", &admin, "owner").await.status, StatusCode::OK);
    assert_eq!(owner.change_role("acme", &me, "admin").await.status, StatusCode::OK);
    let mut new_owner = as_role(&app, "admin").await;
    let last = new_owner.remove_member("acme", &admin).await;
    assert_eq!(last.status, StatusCode::CONFLICT);
}

async fn a_removed_member_is_refused_at_once(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut member = as_role(&app, "member").await;
    assert_eq!(member.members("acme").await.status, StatusCode::OK);
    let id = app.user_id("member@acme.test").await;
    let mut owner = as_role(&app, "owner").await;
    assert_eq!(owner.remove_member("acme", &id).await.status, StatusCode::OK);
    // Same session, very next request.
    assert_eq!(member.members("acme").await.status, StatusCode::NOT_FOUND);
    assert_eq!(member.org_context("acme").await.status, StatusCode::NOT_FOUND);
}

async fn other_orgs_are_invisible(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let boss = add_initech(&app).await;
    let mut owner = as_role(&app, "owner").await;
    for (endpoint, extra) in
        [("members", None), ("org_context", None), ("invite", Some(("email", "x@example.test")))]
    {
        let mut form = vec![("slug", "initech")];
        if let Some(pair) = extra {
            form.push(pair);
            form.push(("role", "viewer"));
        }
        let reply = owner.call(endpoint, &form).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{endpoint}: {}", reply.body);
    }
    // An initech member's id through acme's slug is not found either.
    let change = owner.change_role("acme", &boss, "viewer").await;
    assert_eq!(change.status, StatusCode::NOT_FOUND);
    let remove = owner.remove_member("acme", &boss).await;
    assert_eq!(remove.status, StatusCode::NOT_FOUND);
    let (role,): (String,) =
        app.row("SELECT role FROM memberships WHERE user_id = $1", &[&boss]).await;
    assert_eq!(role, "owner");
    // Signed out, nothing at all.
    assert_eq!(app.client().members("acme").await.status, StatusCode::UNAUTHORIZED);
}

async fn an_invitation_is_accepted_once(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = as_role(&app, "admin").await;
    let invite = admin.invite("acme", "New@Example.test", "viewer").await;
    assert_eq!(invite.status, StatusCode::OK, "{}", invite.body);
    assert_eq!(invite.json()["email"], "new@example.test");
    let token = link_token(&invite);
    assert!(invite.json()["link"].as_str().unwrap().starts_with("http://127.0.0.1:3000/invite/"));

    let (stored,): (String,) = app.row("SELECT token_hash FROM invitations", &[]).await;
    assert_ne!(stored, token, "only the hash is stored");

    let mut invitee = app.client();
    let details = invitee.invitation(&token).await.json();
    assert_eq!(
        (details["org_name"].as_str(), details["role"].as_str()),
        (Some("Acme Inc."), Some("viewer"))
    );
    assert_eq!(details["account_exists"], false);
    let short = invitee.accept_invitation(&token, "short").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST, "the invitation survives a bad password");
    let joined = invitee.accept_invitation(&token, "a-fine-password").await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.body);
    let me = invitee.session().await.json();
    assert_eq!(
        (me["email"].as_str(), me["orgs"][0]["role"].as_str()),
        (Some("new@example.test"), Some("viewer"))
    );

    let again = app.client().accept_invitation(&token, "another-password").await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(app.client().invitation(&token).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.audit_actions("acme").await, ["member.invited", "member.joined"]);
}

async fn an_existing_account_joins_with_its_own_password(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    add_initech(&app).await;
    let mut owner = as_role(&app, "owner").await;
    let invite = owner.invite("acme", "boss@globex.test", "admin").await;
    let token = link_token(&invite);
    let mut boss = app.client();
    assert_eq!(boss.invitation(&token).await.json()["account_exists"], true);
    let wrong = boss.accept_invitation(&token, DEMO_PASSWORD).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let ok = boss.accept_invitation(&token, "globex-password").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let orgs = boss.session().await.json()["orgs"].clone();
    let slugs: Vec<_> =
        orgs.as_array().unwrap().iter().map(|o| o["slug"].as_str().unwrap().to_string()).collect();
    assert_eq!(slugs, ["acme", "initech"], "one account, two orgs");
}

async fn expired_withdrawn_and_duplicate_invitations_are_refused(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = as_role(&app, "owner").await;
    let existing = owner.invite("acme", "member@acme.test", "viewer").await;
    assert_eq!(existing.status, StatusCode::CONFLICT, "already a member");
    let bad = owner.invite("acme", "nope", "viewer").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let first = link_token(&owner.invite("acme", "a@example.test", "viewer").await);
    let second = link_token(&owner.invite("acme", "a@example.test", "member").await);
    assert_eq!(app.client().invitation(&first).await.status, StatusCode::NOT_FOUND, "replaced");
    sqlx::query("UPDATE invitations SET expires_at = $1 WHERE email = 'a@example.test'")
        .bind(db::now() - 1)
        .execute(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        app.client().accept_invitation(&second, "long-password").await.status,
        StatusCode::NOT_FOUND,
        "expired"
    );

    let third = owner.invite("acme", "b@example.test", "admin").await;
    let token = link_token(&third);
    let listed = owner.members("acme").await.json();
    let id = listed["invitations"][0]["id"].as_str().unwrap().to_string();
    let mut admin = as_role(&app, "admin").await;
    let refused = admin.revoke_invitation("acme", &id).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "admins cannot withdraw an admin invitation");
    let mut member = as_role(&app, "member").await;
    assert_eq!(member.revoke_invitation("acme", &id).await.status, StatusCode::FORBIDDEN);
    assert_eq!(owner.revoke_invitation("acme", &id).await.status, StatusCode::OK);
    assert_eq!(app.client().invitation(&token).await.status, StatusCode::NOT_FOUND, "withdrawn");
}

async fn no_secret_reaches_the_log(engine: Engine) {
    let (sink, _guard) = crate::common::capture_log();

    let app = TestApp::demo(&engine).await;
    let mut owner = app.client();
    owner.sign_in("owner@acme.test", "wrong-password-123").await;
    owner.sign_in("owner@acme.test", DEMO_PASSWORD).await;
    let session = owner.cookie.clone().unwrap();
    let invite = owner.invite("acme", "s@example.test", "viewer").await;
    let token = link_token(&invite);
    owner.page(&format!("/invite/{token}")).await;
    app.client().accept_invitation(&token, "secret-new-password").await;

    let log = sink.text();
    assert!(log.contains("failed sign-in"), "the log was captured:\n{log}");
    let session_id = session.trim_start_matches("kw_session=");
    for secret in
        [DEMO_PASSWORD, "wrong-password-123", "secret-new-password", session_id, token.as_str()]
    {
        assert!(!log.contains(secret), "{secret:?} appears in the log");
    }
}

on_both_engines!(
    every_member_sees_the_list,
    invitations_follow_the_roles,
    role_changes_and_removals_are_for_owners,
    the_last_owner_stays,
    a_removed_member_is_refused_at_once,
    other_orgs_are_invisible,
    an_invitation_is_accepted_once,
    an_existing_account_joins_with_its_own_password,
    expired_withdrawn_and_duplicate_invitations_are_refused,
    no_secret_reaches_the_log,
);
