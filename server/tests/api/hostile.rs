//! A corpus of hostile input sent to every server function, every REST and
//! operator endpoint in the OpenAPI document, the verification APIs and the
//! pages, on SQLite and PostgreSQL: nothing answers 5xx (except the
//! documented 503), nothing panics (a panic would fail the request here),
//! and afterwards the service still answers and still writes usage.

use crate::common::keys::{code, create};
use crate::common::{Client, Engine, PRODUCTION_VERIFIER, Reply, TestApp};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

/// Bodies no client should send.
fn corpus() -> Vec<Vec<u8>> {
    let long = "x".repeat(100_000);
    let mut bodies: Vec<Vec<u8>> = [
        "",
        "{",
        "null",
        "[]",
        "\"text\"",
        "0",
        "{}",
        r#"{"slug": "acme", "slug": "other"}"#,
        r#"{"key": "kw_live_a", "key": 7}"#,
        r#"{"slug": 1e999, "page": -1, "id": null}"#,
        r#"{"slug": "acme", "page": 18446744073709551616, "query": {"page": -5}}"#,
        r#"{"slug": "acme", "id": "\u0000", "name": "\u0000\u001b[2J", "input": {"name": []}}"#,
        r#"{"permissions": [1, 2, 3], "rate_limit": {"limit": -1, "window_secs": 0}}"#,
        "slug=acme&slug=other&page=-1&id=%00&name=%FF%FE",
        "email=%00&password=&next=%01&token=..%2F..%2F",
        "slug=%E2%80%AE&org_name=%0A&email=a%40b&password=%00",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    bodies.push(vec![0xff, 0xfe, 0x00, 0x7b]);
    bodies.push(format!(r#"{{"slug": "acme", "name": "{long}", "key": "{long}"}}"#).into_bytes());
    bodies.push(format!("slug=acme&email={long}&password={long}").into_bytes());
    bodies.push(vec![b'a'; 2 * 1024 * 1024]);
    bodies
}

/// A hostile request's answer: anything but a server error (503, "try
/// again", is honest).
fn assert_acceptable(r: &Reply, what: &str) {
    let ok = !r.status.is_server_error() || r.status == StatusCode::SERVICE_UNAVAILABLE;
    assert!(ok, "{what}: {} {}", r.status, r.body);
}

async fn send_raw(
    client: &Client,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
    extra: &[(&str, &str)],
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::HOST, "127.0.0.1:3000")
        .header("sec-fetch-site", "same-origin");
    if let Some(cookie) = &client.cookie {
        req = req.header(header::COOKIE, cookie.as_str());
    }
    for (name, value) in extra {
        req = req.header(*name, *value);
    }
    client.app.send(req.body(Body::from(body)).unwrap(), client.ip).await
}

async fn nothing_hostile_reaches_a_panic_or_a_500(engine: Engine) {
    // With an operator token, so the operator API parses hostile bodies too.
    let operator = "hostile-operator-token-0123456789";
    let gateway = server::startup::VerifierSettings {
        operator_tokens: server::operator::auth::OperatorTokens::parse(operator).unwrap(),
        ..crate::common::test_gateway()
    };
    let app = TestApp::demo_behind(&engine, Default::default(), gateway).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let (_, admin_key) = create(&mut owner, "Automation", "production", "Admin", "1000000").await;
    let (key_id, _) = create(&mut owner, "Target", "production", "Read", "").await;
    let anonymous = app.client();
    let bodies = corpus();
    let mut sent = 0;

    // Every registered server function, signed in and not, JSON and form.
    let functions: Vec<_> = leptos::server_fn::axum::server_fn_paths().collect();
    assert!(functions.len() >= 20, "{functions:?}");
    for (path, method) in &functions {
        if path.ends_with("/logout") {
            // Would end the owner's session for the rest of the run.
            continue;
        }
        for client in [&owner, &anonymous] {
            for content_type in ["application/json", "application/x-www-form-urlencoded"] {
                for body in &bodies {
                    let r = send_raw(client, method.clone(), path, content_type, body.clone(), &[])
                        .await;
                    assert_acceptable(&r, &format!("{method} {path} ({content_type})"));
                    sent += 1;
                }
            }
        }
    }

    // Every path of the OpenAPI document, with real and hostile ids.
    let doc = app
        .send(Request::get("/v1/openapi.json").body(Body::empty()).unwrap(), [127, 0, 0, 1])
        .await
        .json();
    let bearer = format!("Bearer {admin_key}");
    let operator_bearer = format!("Bearer {operator}");
    for (template, operations) in doc["paths"].as_object().unwrap() {
        for id in [key_id.as_str(), "%00", "..%2F..%2Fetc", "%FF%FE", &"9".repeat(5000)] {
            let path = template.replace("{id}", id).replace("{slug}", id);
            for method in operations.as_object().unwrap().keys() {
                let method: Method = method.to_uppercase().parse().unwrap();
                for query in
                    ["", "?page=-1&status=%00&search=%FF", "?page=99999999999999999999&customer="]
                {
                    for body in &bodies {
                        let r = send_raw(
                            &anonymous,
                            method.clone(),
                            &format!("{path}{query}"),
                            "application/json",
                            body.clone(),
                            &[(
                                "authorization",
                                if template.starts_with("/v1/orgs") {
                                    &operator_bearer
                                } else {
                                    &bearer
                                },
                            )],
                        )
                        .await;
                        assert_acceptable(&r, &format!("{method} {path}{query}"));
                        sent += 1;
                    }
                }
            }
        }
    }

    // The verification API and forward auth.
    let service = format!("Bearer {PRODUCTION_VERIFIER}");
    for body in &bodies {
        let r = send_raw(
            &anonymous,
            Method::POST,
            "/v1/keys/verify",
            "application/json",
            body.clone(),
            &[("authorization", &service)],
        )
        .await;
        assert_acceptable(&r, "verify");
    }
    for (name, value) in [
        ("x-original-uri", "/%00"),
        ("x-original-uri", "\\\\server\\share"),
        ("x-original-method", "GET\tPOST"),
        ("x-api-key", "kw_live_\u{e9}"),
        ("authorization", "Bearer "),
        ("x-real-ip", "999.999.999.999"),
    ] {
        let r = send_raw(
            &anonymous,
            Method::GET,
            "/v1/authorize",
            "text/plain",
            Vec::new(),
            &[("x-original-method", "GET"), ("x-original-uri", "/v1/data"), (name, value)],
        )
        .await;
        assert_acceptable(&r, &format!("authorize {name}"));
    }

    // Pages with hostile paths and queries, signed in and not.
    for path in [
        "/orgs/acme/settings/api-keys?page=-1&env=%00&status=%FF&search=%E2%80%AE&sort=x",
        "/orgs/acme/settings/api-keys?page=99999999999999999999",
        "/orgs/acme/settings/api-keys/%00",
        "/orgs/%00/settings/members",
        "/orgs/acme/settings/audit-log?action=%00&page=-3",
        "/orgs/acme/settings/logs?key=..%2F&outcome=%FF&period=9999d&page=-1",
        "/login?next=%01",
        "/invite/%00%FF",
        "/setup",
        &format!("/orgs/acme/settings/api-keys?search={}", "a".repeat(8000)),
    ] {
        for client in [&owner, &anonymous] {
            let r = client.page(path).await;
            assert_acceptable(&r, path);
            sent += 1;
        }
    }
    for body in &bodies {
        let r = send_raw(
            &anonymous,
            Method::POST,
            "/api/logout",
            "application/json",
            body.clone(),
            &[],
        )
        .await;
        assert_acceptable(&r, "logout");
    }
    eprintln!("{sent} hostile requests answered");

    // Still serving, still counting.
    let health =
        app.send(Request::get("/healthz").body(Body::empty()).unwrap(), [127, 0, 0, 1]).await;
    assert_eq!(health.status, StatusCode::OK);
    let (_, write) = create(&mut owner, "After the storm", "production", "Write", "").await;
    assert_eq!(code(&app, &write, &[]).await, "VALID");
    app.verifier.flush().await.expect("usage still flushes");
    let (count,): (i64,) =
        app.row("SELECT request_count FROM api_keys WHERE name = 'After the storm'", &[]).await;
    assert_eq!(count, 1);
}

on_both_engines!(nothing_hostile_reaches_a_panic_or_a_500);
