//! Account security (docs/design.md#user-interface, #security-requirements) on SQLite and PostgreSQL: changing
//! the password ends other sessions, the session list and remote sign-out,
//! two-factor sign-in from set-up to the second step (replay and recovery
//! codes once only, throttling, expiry), and an org requiring it.

use crate::common::{Client, DEMO_PASSWORD, Engine, TestApp, concurrently};
use app::api::account::{
    ChangePassword, DisableTwoFactor, EnableTwoFactor, EndOtherSessions, EndSession, GetAccount,
    RegenerateRecoveryCodes, StartTwoFactor,
};
use app::api::auth::VerifySignIn;
use app::backend::two_factor::TotpSecret;
use axum::http::{StatusCode, header};
use serde_json::Value;

const NEW_PASSWORD: &str = "a-brand-new-passphrase";

fn now() -> u64 {
    app::backend::db::now() as u64
}

async fn account(client: &mut Client) -> Value {
    let reply = client.call_fn(GetAccount {}).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

/// Whether `client`'s session still works.
async fn signed_in(client: &mut Client) -> bool {
    client.session().await.json() != Value::Null
}

/// Turns two-factor sign-in on for `client`; returns its secret and codes.
async fn turn_on(client: &mut Client) -> (TotpSecret, Vec<String>) {
    let setup = client.call_fn(StartTwoFactor {}).await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    assert_eq!(setup.headers[header::CACHE_CONTROL], "no-store");
    let setup = setup.json();
    assert!(setup["qr_svg"].as_str().unwrap().contains("<svg"));
    let secret = TotpSecret::from_base32(setup["secret"].as_str().unwrap()).unwrap();
    let wrong = client.call_fn(EnableTwoFactor { code: "000000".into() }).await;
    wrong.assert_invalid("not right");
    let on = client.call_fn(EnableTwoFactor { code: secret.code_at(now()) }).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let codes: Vec<String> = serde_json::from_value(on.json()).unwrap();
    (secret, codes)
}

async fn changing_the_password_ends_other_sessions(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut here = app.signed_in("owner@acme.test").await;
    let mut there = app.signed_in("owner@acme.test").await;
    let wrong = ChangePassword { current: "not-the-password".into(), new: NEW_PASSWORD.into() };
    here.form_fn(wrong).await.assert_invalid("current password");
    let short = ChangePassword { current: DEMO_PASSWORD.into(), new: "short".into() };
    here.form_fn(short).await.assert_invalid("at least 10");
    let change = ChangePassword { current: DEMO_PASSWORD.into(), new: NEW_PASSWORD.into() };
    assert_eq!(here.form_fn(change).await.status, StatusCode::OK);
    assert!(signed_in(&mut here).await, "this session stays");
    assert!(!signed_in(&mut there).await, "the other one ended");
    let mut fresh = app.client();
    assert_eq!(
        fresh.sign_in("owner@acme.test", DEMO_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(fresh.sign_in("owner@acme.test", NEW_PASSWORD).await.status, StatusCode::OK);
}

async fn guessing_the_current_password_is_throttled(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let mut statuses = Vec::new();
    for n in 0..7 {
        let guess =
            ChangePassword { current: format!("guess-number-{n}"), new: NEW_PASSWORD.into() };
        statuses.push(admin.form_fn(guess).await.status);
    }
    assert_eq!(statuses[0], StatusCode::BAD_REQUEST);
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    // Even the right password waits out the throttle.
    let right = ChangePassword { current: DEMO_PASSWORD.into(), new: NEW_PASSWORD.into() };
    assert_eq!(admin.form_fn(right).await.status, StatusCode::TOO_MANY_REQUESTS);
}

async fn sessions_are_listed_and_ended_remotely(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut here = app.signed_in("admin@acme.test").await;
    let mut phone = app.signed_in("admin@acme.test").await;
    let mut laptop = app.signed_in("admin@acme.test").await;
    let info = account(&mut here).await;
    let sessions = info["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(sessions.iter().all(|s| s["ip"] == "127.0.0.1" && s["device"] == "Unknown device"));
    let phone_id = account(&mut phone).await["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Another user cannot end it; its owner can, effective on the next request.
    let mut other = app.signed_in("member@acme.test").await;
    let foreign = other.call_fn(EndSession { id: phone_id.clone() }).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert!(signed_in(&mut phone).await);
    assert_eq!(here.call_fn(EndSession { id: phone_id }).await.status, StatusCode::OK);
    assert!(!signed_in(&mut phone).await);
    assert!(signed_in(&mut laptop).await);
    let ended = here.call_fn(EndOtherSessions {}).await;
    assert_eq!(ended.json(), 1);
    assert!(!signed_in(&mut laptop).await);
    assert!(signed_in(&mut here).await);
    assert_eq!(account(&mut here).await["sessions"].as_array().unwrap().len(), 1);
}

async fn two_factor_sign_in_from_set_up_to_recovery(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let (secret, codes) = turn_on(&mut owner).await;
    assert_eq!(codes.len(), 10);
    assert_eq!(account(&mut owner).await["two_factor"], true);
    // Only hashes are stored.
    let (stored,): (i64,) =
        app.row("SELECT COUNT(*) FROM recovery_codes WHERE code_hash = $1", &[&codes[0]]).await;
    assert_eq!(stored, 0);

    // The password alone opens no session; the second step does, once.
    let mut browser = app.client();
    let first = browser.sign_in("owner@acme.test", DEMO_PASSWORD).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.headers[header::LOCATION], "/login/verify");
    assert!(browser.cookie.is_none() && browser.pending.is_some());
    assert!(!signed_in(&mut browser).await);
    browser.form_fn(VerifySignIn { code: "123456".into() }).await.assert_invalid("not right");
    // The code used to turn it on was this step's: the next step's works.
    let code = secret.code_at(now() + 30);
    let second = browser.form_fn(VerifySignIn { code: code.clone() }).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert!(signed_in(&mut browser).await);
    assert!(browser.pending.is_none());
    // The same code again, in another sign-in: refused.
    let mut replay = app.client();
    replay.sign_in("owner@acme.test", DEMO_PASSWORD).await;
    replay.form_fn(VerifySignIn { code }).await.assert_invalid("not right");
    // A recovery code works once.
    let recovery = VerifySignIn { code: codes[3].to_uppercase() };
    assert_eq!(replay.form_fn(recovery).await.status, StatusCode::OK);
    assert!(signed_in(&mut replay).await);
    let mut again = app.client();
    again.sign_in("owner@acme.test", DEMO_PASSWORD).await;
    again.form_fn(VerifySignIn { code: codes[3].clone() }).await.assert_invalid("not right");
    assert_eq!(account(&mut owner).await["recovery_codes_left"], 9);

    // Half signed in expires after 5 minutes.
    sqlx::query("UPDATE pending_sign_ins SET expires_at = 0").execute(&app.state.db).await.unwrap();
    again.form_fn(VerifySignIn { code: codes[4].clone() }).await.assert_invalid("expired");

    // New recovery codes replace the old; turning off needs a code.
    let fresh = owner.call_fn(RegenerateRecoveryCodes { code: codes[5].clone() }).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    let fresh: Vec<String> = serde_json::from_value(fresh.json()).unwrap();
    owner.call_fn(DisableTwoFactor { code: codes[6].clone() }).await.assert_invalid("not right");
    assert_eq!(
        owner.call_fn(DisableTwoFactor { code: fresh[0].clone() }).await.status,
        StatusCode::OK
    );
    let mut plain = app.client();
    let r = plain.sign_in("owner@acme.test", DEMO_PASSWORD).await;
    assert_eq!(r.headers[header::LOCATION], "/", "no second step any more");
    assert!(signed_in(&mut plain).await);
}

async fn wrong_second_factors_are_throttled(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    turn_on(&mut owner).await;
    let mut guesser = app.client();
    guesser.sign_in("owner@acme.test", DEMO_PASSWORD).await;
    let mut statuses = Vec::new();
    for n in 0..12 {
        statuses.push(guesser.form_fn(VerifySignIn { code: format!("{n:06}") }).await.status);
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    assert!(!signed_in(&mut guesser).await);
}

async fn an_org_requiring_two_factor_refuses_members_without_it(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let required = crate::common::calls::Policy("", "", "", true);
    assert_eq!(owner.save_policies("acme", required).await.status, StatusCode::OK);
    // The owner without two-factor is refused too (server functions, not
    // only pages), and told why (the page shows the words).
    let mut member = app.signed_in("member@acme.test").await;
    let list =
        member.call_json("keys/list", serde_json::json!({ "slug": "acme", "query": {} })).await;
    assert_eq!(list.status, StatusCode::FORBIDDEN);
    assert!(list.body.contains("TwoFactorRequired"), "{}", list.body);
    assert_eq!(member.org_context("acme").await.status, StatusCode::FORBIDDEN);
    // Their account page still works, so they can turn it on; then the org
    // opens in the same session.
    turn_on(&mut member).await;
    let list =
        member.call_json("keys/list", serde_json::json!({ "slug": "acme", "query": {} })).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
}

/// Two windows turning two-factor on with the same code: one wins, with one
/// set of recovery codes; a set-up started again in between (a new secret)
/// makes the old secret's code useless.
async fn turning_on_races_leave_one_secret_in_force(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let first = owner.call_fn(StartTwoFactor {}).await.json();
    let first = TotpSecret::from_base32(first["secret"].as_str().unwrap()).unwrap();
    // Set-up started again elsewhere: the first secret no longer counts.
    let second = owner.call_fn(StartTwoFactor {}).await.json();
    let second = TotpSecret::from_base32(second["secret"].as_str().unwrap()).unwrap();
    let stale = owner.call_fn(EnableTwoFactor { code: first.code_at(now()) }).await;
    stale.assert_invalid("not right");
    assert_eq!(account(&mut owner).await["two_factor"], false, "{:?}", account(&mut owner).await);

    let code = second.code_at(now());
    let tries = concurrently(4, |_| {
        let (mut client, code) = (owner.clone(), code.clone());
        async move { client.call_fn(EnableTwoFactor { code }).await.status }
    })
    .await;
    let won = tries.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(won, 1, "exactly one window turns it on");
    let (stored,): (i64,) = app
        .row(
            "SELECT COUNT(*) FROM recovery_codes r JOIN users u ON u.id = r.user_id \
             WHERE u.email = $1",
            &["owner@acme.test"],
        )
        .await;
    assert_eq!(stored, 10, "one set of recovery codes");
}

/// Sessions opened before sessions had ids (migration 0007) get one from
/// migration 0008, so "Sign out everywhere else" keeps the current one.
async fn sessions_from_before_ids_keep_the_current_one(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut here = app.signed_in("owner@acme.test").await;
    let mut there = app.signed_in("owner@acme.test").await;
    let db = &app.state.db;
    sqlx::query("UPDATE sessions SET id = NULL").execute(db).await.unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 8").execute(db).await.unwrap();
    app::backend::db::migrate(db).await.unwrap();
    let ended = here.call_fn(EndOtherSessions {}).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert!(signed_in(&mut here).await, "this session stays");
    assert!(!signed_in(&mut there).await, "the other one ended");
}

on_both_engines!(
    sessions_from_before_ids_keep_the_current_one,
    turning_on_races_leave_one_secret_in_force,
    changing_the_password_ends_other_sessions,
    guessing_the_current_password_is_throttled,
    sessions_are_listed_and_ended_remotely,
    two_factor_sign_in_from_set_up_to_recovery,
    wrong_second_factors_are_throttled,
    an_org_requiring_two_factor_refuses_members_without_it,
);
