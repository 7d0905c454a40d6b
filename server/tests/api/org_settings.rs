//! The Organisation page and its policies (docs/design.md#roles, #lifecycle-and-status) on SQLite and
//! PostgreSQL: who may read and change them, the maximum key lifetime in
//! the server functions and REST, the rotation period, and the unused-keys
//! job under a fake clock.

use crate::common::calls::Policy;
use crate::common::keys::{create_with, key_input, verify_as};
use crate::common::{Client, Engine, PRODUCTION_VERIFIER, TestApp};
use app::api::keys::{CreateKey, GetKeyOptions, SetKeyEnabled, UpdateKey};
use app::api::org_settings::{GetOrgSettings, RenameOrg};
use app::backend::policies;
use axum::http::StatusCode;
use serde_json::{Value, json};

const DAY: i64 = 86_400;

fn policies<'a>(lifetime: &'a str, rotation: &'a str, unused: &'a str) -> Policy<'a> {
    Policy(lifetime, rotation, unused, false)
}

/// The key called `name` as the list shows it.
async fn listed(owner: &mut Client, name: &str) -> Value {
    let list =
        owner.call_json("keys/list", json!({ "slug": "acme", "query": { "search": name } })).await;
    list.json()["keys"].as_array().unwrap().iter().find(|k| k["name"] == name).unwrap().clone()
}

async fn sql(app: &TestApp, statement: &str, id: &str, value: i64) {
    sqlx::query(statement).bind(value).bind(id).execute(&app.state.db).await.unwrap();
}

async fn every_role_reads_or_changes_what_it_may(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    for (email, read, change) in [
        ("owner@acme.test", StatusCode::OK, StatusCode::OK),
        ("admin@acme.test", StatusCode::OK, StatusCode::FORBIDDEN),
        ("member@acme.test", StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
        ("viewer@acme.test", StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
    ] {
        let mut client = app.signed_in(email).await;
        let settings = client.call_fn(GetOrgSettings { slug: "acme".into() }).await;
        assert_eq!(settings.status, read, "{email} reads: {}", settings.body);
        if read == StatusCode::OK {
            assert_eq!(settings.json()["can_edit"], change == StatusCode::OK, "{email}");
        }
        let name = format!("Acme ({email})");
        let renamed = client.form_fn(RenameOrg { slug: "acme".into(), name }).await;
        assert_eq!(renamed.status, change, "{email} renames: {}", renamed.body);
        let saved = client.save_policies("acme", policies("90", "30", "60")).await;
        assert_eq!(saved.status, change, "{email} saves policies: {}", saved.body);
        let page = client.page("/orgs/acme/settings/organization").await;
        assert_eq!(page.body.contains("Save policies"), change == StatusCode::OK, "{email}");
    }
    let mut owner = app.signed_in("owner@acme.test").await;
    let settings = owner.call_fn(GetOrgSettings { slug: "acme".into() }).await.json();
    assert_eq!(settings["name"], "Acme (owner@acme.test)");
    assert_eq!(settings["slug"], "acme");
    assert_eq!(
        settings["policies"],
        json!({ "max_key_lifetime_days": 90, "rotation_days": 30, "disable_unused_after_days": 60,
            "require_two_factor": false })
    );
    // Only the offered choices; nothing changes on a refusal.
    owner.save_policies("acme", policies("45", "", "")).await.assert_invalid("30, 90, 180, 365");
    let (changes,): (String,) = app.row("SELECT changes FROM audit_log WHERE action = 'org.policies_changed' ORDER BY at_ms DESC", &[]).await;
    let changes: Value = serde_json::from_str(&changes).unwrap();
    assert_eq!(changes["max_key_lifetime"], json!({ "before": "None", "after": "90 days" }));
    assert_eq!(changes["disable_unused_after"], json!({ "before": "Never", "after": "60 days" }));
    let actions = app.audit_actions("acme").await;
    assert!(actions.contains(&"org.renamed".to_string()), "{actions:?}");
}

async fn the_maximum_lifetime_holds_everywhere(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let mut before = key_input("Made before", "production", "Write", "");
    before.expiry = "never".into();
    let (old_id, _) = create_with(&mut owner, before).await;
    let (_, ci) = create_with(&mut owner, key_input("CI", "production", "Admin", "")).await;
    assert_eq!(owner.save_policies("acme", policies("90", "", "")).await.status, StatusCode::OK);

    let options = owner.call_fn(GetKeyOptions { slug: "acme".into() }).await.json();
    assert_eq!(options["max_lifetime_days"], 90);
    for (expiry, ok) in [("never", false), ("365", false), ("90", true), ("30", true)] {
        let mut input = key_input(&format!("Expires {expiry}"), "production", "Write", "");
        input.expiry = expiry.into();
        let reply = owner.call_fn(CreateKey { slug: "acme".into(), input }).await;
        if ok {
            assert_eq!(reply.status, StatusCode::OK, "{expiry}: {}", reply.body);
        } else {
            reply.assert_invalid("within 90 days");
        }
    }
    // REST: no expiry, or a later one, is refused; within the maximum is not.
    let rest = |body: Value| app.bearer("POST", "/v1/keys", Some(&ci), Some(body));
    rest(json!({ "name": "No expiry", "type": "Read" })).await.assert_invalid("within 90 days");
    let later = app::backend::db::now() + 200 * DAY;
    rest(json!({ "name": "Late", "type": "Read", "expires_at": later }))
        .await
        .assert_invalid("90 days");
    let soon = app::backend::db::now() + 10 * DAY;
    let made = rest(json!({ "name": "Soon", "type": "Read", "expires_at": soon })).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);

    // The key made before is listed as exceeding, kept, and still editable
    // as long as its expiry is kept.
    let list = owner
        .call_json("keys/list", json!({ "slug": "acme", "query": { "search": "Made before" } }))
        .await;
    assert_eq!(list.json()["keys"][0]["hints"]["exceeds_policy"], true);
    let mut rename = key_input("Made before (renamed)", "production", "Write", "");
    rename.expiry = "keep".into();
    let kept = owner
        .call_fn(UpdateKey { slug: "acme".into(), id: old_id.clone(), input: rename.clone() })
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.body);
    rename.expiry = "never".into();
    owner
        .call_fn(UpdateKey { slug: "acme".into(), id: old_id, input: rename })
        .await
        .assert_invalid("within 90 days");
}

async fn the_rotation_period_drives_rotation_due(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let (id, _) = create_with(&mut owner, key_input("Aging", "production", "Write", "")).await;
    sql(
        &app,
        "UPDATE api_keys SET created_at = $1 WHERE id = $2",
        &id,
        app::backend::db::now() - 40 * DAY,
    )
    .await;
    let due = |body: Value| body["keys"][0]["hints"]["rotation_due"].clone();
    let query = json!({ "slug": "acme", "query": { "search": "Aging" } });
    assert_eq!(
        due(owner.call_json("keys/list", query.clone()).await.json()),
        false,
        "operator default 90"
    );
    assert_eq!(owner.save_policies("acme", policies("", "30", "")).await.status, StatusCode::OK);
    assert_eq!(due(owner.call_json("keys/list", query).await.json()), true);
}

async fn unused_keys_are_disabled_by_the_policy(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let now = app::backend::db::now();
    let (idle, idle_key) =
        create_with(&mut owner, key_input("Idle", "production", "Write", "")).await;
    let (soon, _) =
        create_with(&mut owner, key_input("Soon idle", "production", "Write", "")).await;
    let (used, _) = create_with(&mut owner, key_input("Used", "production", "Write", "")).await;
    sql(&app, "UPDATE api_keys SET created_at = $1 WHERE id = $2", &idle, now - 45 * DAY).await;
    sql(&app, "UPDATE api_keys SET created_at = $1 WHERE id = $2", &soon, now - 25 * DAY).await;
    sql(&app, "UPDATE api_keys SET created_at = $1 WHERE id = $2", &used, now - 45 * DAY).await;
    sql(&app, "UPDATE api_keys SET last_used_at = $1 WHERE id = $2", &used, now - DAY).await;
    let code = |key: String| {
        let app = app.clone();
        async move {
            verify_as(&app, PRODUCTION_VERIFIER, json!({ "key": key })).await.json()["code"].clone()
        }
    };
    assert_eq!(code(idle_key.clone()).await, "VALID");

    // Without the policy nothing happens.
    assert_eq!(policies::disable_unused_keys(&app.state, now).await.unwrap(), 0);
    assert_eq!(owner.save_policies("acme", policies("", "", "30")).await.status, StatusCode::OK);
    let list = owner
        .call_json("keys/list", json!({ "slug": "acme", "query": { "search": "Soon idle" } }))
        .await
        .json();
    assert_eq!(
        list["keys"][0]["hints"]["disables_at"],
        now - 25 * DAY + 30 * DAY,
        "the week-ahead hint"
    );
    let page = owner.page("/orgs/acme/settings/api-keys?q=Soon+idle").await;
    // "in 5 days" or, a second later, "in 4 days": the hint, as one text.
    let hint = page.body.split("Disabled by policy in ").nth(1).unwrap_or_default();
    assert!(hint.starts_with('4') || hint.starts_with('5'), "{}", page.body);
    assert!(hint.split('<').next().unwrap_or_default().ends_with(" days unless used"));

    assert_eq!(policies::disable_unused_keys(&app.state, now).await.unwrap(), 1);
    assert_eq!(code(idle_key).await, "DISABLED", "at once");
    let idle_view = listed(&mut owner, "Idle").await;
    assert_eq!(
        (idle_view["status"].clone(), idle_view["hints"]["disabled_by_policy"].clone()),
        (json!("Disabled"), json!(true))
    );
    let (actor, changes): (String, String) = app.row("SELECT actor_email, changes FROM audit_log WHERE action = 'key.disabled' AND target_id = $1", &[&idle]).await;
    let page = owner.page("/orgs/acme/settings/api-keys?q=Idle").await;
    assert!(page.body.contains(">Disabled by policy<"), "the list says so");
    assert_eq!(actor, "policy");
    assert!(changes.contains("Unused for 30 days"), "{changes}");

    // A week later the soon-idle key goes too; the used one stays.
    assert_eq!(policies::disable_unused_keys(&app.state, now + 6 * DAY).await.unwrap(), 1);
    let (disabled_used,): (i64,) =
        app.row("SELECT disabled FROM api_keys WHERE id = $1", &[&used]).await;
    assert_eq!(disabled_used, 0);
    // Enabling clears the mark, and the period starts again from then.
    let on =
        owner.call_fn(SetKeyEnabled { slug: "acme".into(), id: idle.clone(), enabled: true }).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!(listed(&mut owner, "Idle").await["hints"]["disabled_by_policy"], false);
    let later = app::backend::db::now() + DAY;
    assert_eq!(policies::disable_unused_keys(&app.state, later).await.unwrap(), 0);
}

on_both_engines!(
    every_role_reads_or_changes_what_it_may,
    the_maximum_lifetime_holds_everywhere,
    the_rotation_period_drives_rotation_due,
    unused_keys_are_disabled_by_the_policy,
);
