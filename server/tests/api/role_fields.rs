//! Each role receives only the fields docs/design.md#roles gives it, from
//! every list it may call: field by field, for a viewer and a member, with
//! an owner's answer beside them so a field left empty is known to exist.

use crate::common::keys::create_with;
use crate::common::{Client, Engine, TestApp};
use app::api::keys::ListKeys;
use app::domain::KeyQuery;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// The first key of the list `client` gets, with a customer filter when
/// `customer` is given.
async fn listed(client: &mut Client, customer: &str) -> (Value, Value) {
    let query = KeyQuery { customer: customer.into(), ..KeyQuery::default() };
    let page = client.call_fn(ListKeys { slug: "acme".into(), query }).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let page = page.json();
    let key = page["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "Fully dressed")
        .cloned()
        .unwrap_or(Value::Null);
    (page, key)
}

/// The fields of the key list a viewer may see, and those only members and
/// up may.
const LIST_FIELDS: [&str; 12] = [
    "id",
    "name",
    "start",
    "environment",
    "key_type",
    "status",
    "created_at",
    "expires_at",
    "last_used_at",
    "request_count",
    "hints",
    "rate_limit",
];
const DETAIL_FIELDS: [&str; 8] = [
    "permissions",
    "created_by",
    "previous_expires_at",
    "ip_allowlist",
    "customer",
    "meta",
    "usage",
    "rate_limit",
];

async fn each_role_receives_only_its_fields(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let mut input = crate::common::keys::key_input("Fully dressed", "production", "Read", "");
    input.ip_allowlist = "203.0.113.7".into();
    input.customer = "cus_42".into();
    input.meta = r#"{"plan": "pro"}"#.into();
    input.usage_limit = "1000".into();
    create_with(&mut owner, input).await;

    let (_, full) = listed(&mut owner, "").await;
    // (No grace period runs, so the old secret's end is null for all.)
    for field in DETAIL_FIELDS.iter().filter(|f| **f != "previous_expires_at") {
        assert!(!full[field].is_null(), "the owner gets {field}: {full}");
    }

    // A member: every field of the list (they may open the key's page).
    let mut member = app.signed_in("member@acme.test").await;
    let (page, key) = listed(&mut member, "").await;
    assert_eq!(page["can_view_detail"], true);
    for field in LIST_FIELDS.iter().chain(&DETAIL_FIELDS) {
        assert_eq!(key[field], full[field], "a member gets {field}");
    }

    // A viewer: the list's columns, and nothing else.
    let mut viewer = app.signed_in("viewer@acme.test").await;
    let (page, key) = listed(&mut viewer, "").await;
    assert_eq!(page["can_view_detail"], false);
    for field in LIST_FIELDS.iter().filter(|f| **f != "rate_limit") {
        assert_eq!(key[field], full[field], "a viewer gets {field}");
    }
    for (field, empty) in [
        ("permissions", json!([])),
        ("rate_limit", Value::Null),
        ("created_by", Value::Null),
        ("previous_expires_at", Value::Null),
        ("ip_allowlist", json!([])),
        ("customer", Value::Null),
        ("meta", Value::Null),
        ("usage", Value::Null),
    ] {
        assert_eq!(key[field], empty, "a viewer does not get {field}: {key}");
    }
    for secret in ["203.0.113.7", "cus_42", "plan", "owner@acme.test", "data:read"] {
        assert!(!page.to_string().contains(secret), "{secret} reaches a viewer: {page}");
    }
    // Nor can a viewer find keys by a customer id they cannot see.
    let (filtered, _) = listed(&mut viewer, "cus_42").await;
    let (unfiltered, _) = listed(&mut viewer, "").await;
    assert_eq!(filtered["total"], unfiltered["total"], "the customer filter is ignored");
    let (by_member, _) = listed(&mut member, "cus_42").await;
    assert_eq!(by_member["total"], 1);

    // The keys page itself: no rate-limit column for a viewer.
    let html = viewer.page("/orgs/acme/settings/api-keys").await.body;
    assert!(html.contains("Fully dressed"));
    assert!(!html.contains("Rate limit") && !html.contains("203.0.113.7"), "{html}");
    assert!(member.page("/orgs/acme/settings/api-keys").await.body.contains("Rate limit"));

    // The members list: who is in the org, no invitations below an inviter.
    for (client, name) in [(&mut member, "member"), (&mut viewer, "viewer")] {
        let members = client.members("acme").await.json();
        assert_eq!(members["invitations"], json!([]), "{name}");
        assert_eq!(members["invitable_roles"], json!([]), "{name}");
        assert_eq!(members["can_manage"], false, "{name}");
        let fields: Vec<String> =
            members["members"][0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(fields, ["email", "is_you", "joined_at", "role", "user_id"], "{name}");
    }

    // What a viewer may not call at all.
    let id = full["id"].as_str().unwrap().to_string();
    for (endpoint, body) in [
        ("keys/detail", json!({ "slug": "acme", "id": id })),
        ("keys/usage", json!({ "slug": "acme", "id": id, "range": "day" })),
        ("requests", json!({ "slug": "acme", "query": { "page": 1 } })),
        ("audit", json!({ "slug": "acme", "action": null, "key_id": null, "page": 1 })),
        ("org/settings", json!({ "slug": "acme" })),
    ] {
        let reply = viewer.call_json(endpoint, body).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{endpoint}: {}", reply.body);
        assert!(!reply.body.contains("Fully dressed"), "{endpoint}");
    }
}

on_both_engines!(each_role_receives_only_its_fields);
