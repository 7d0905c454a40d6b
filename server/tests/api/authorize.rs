//! `GET /v1/authorize` (forward auth) and `GET /metrics` on the real router,
//! on SQLite and PostgreSQL. The instance under test has the rules
//! `GET /v1/data=data:read; POST /v1/events=events:write; * /public=`.

use crate::common::keys::create;
use crate::common::{Engine, Reply, TestApp};
use app::api::keys::RevokeKey;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use server::startup::VerifierSettings;
use server::verify::authorize::ForwardAuthProxy;

/// The subrequest nginx makes for `method uri` with these client headers.
async fn authorize(
    app: &TestApp,
    query: &str,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = Request::get(format!("/v1/authorize{query}"))
        .header("x-original-method", method)
        .header("x-original-uri", uri);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    app.send(req.body(Body::empty()).unwrap(), [10, 0, 0, 2]).await
}

fn code(reply: &Reply) -> String {
    reply.json()["error"]["code"].as_str().unwrap_or_default().to_string()
}

async fn forward_auth_answers_as_proxies_expect(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (id, write) = create(&mut admin, "Ingest", "production", "Write", "").await;
    let bearer = format!("Bearer {write}");

    let ok = authorize(&app, "", "POST", "/v1/events?batch=1", &[("authorization", &bearer)]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.headers["x-keywarden-key-id"], id.as_str());
    assert_eq!(ok.headers["x-keywarden-org"], "acme");
    assert!(ok.headers["ratelimit"].to_str().unwrap().starts_with("limit="));

    // X-API-Key works the same.
    let r = authorize(&app, "", "POST", "/v1/events", &[("x-api-key", &write)]).await;
    assert_eq!(r.status, StatusCode::OK);

    // 403: a permission the key lacks, and a path no rule covers (also
    // when dressed up to look covered).
    let r = authorize(&app, "", "GET", "/v1/data", &[("authorization", &bearer)]).await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS".into()));
    assert_eq!(r.headers["x-keywarden-code"], "INSUFFICIENT_PERMISSIONS");
    for uri in ["/admin", "/public/../admin", "/publicity"] {
        let r = authorize(&app, "", "GET", uri, &[("authorization", &bearer)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}");
    }
    let r = authorize(&app, "", "GET", "/public/status", &[("x-api-key", &write)]).await;
    assert_eq!(r.status, StatusCode::OK, "any valid key under * /public");

    // 401: no key, a malformed one, a key of another environment (unless
    // the proxy says it serves that one), a revoked key.
    let r = authorize(&app, "", "POST", "/v1/events", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    let r = authorize(&app, "", "POST", "/v1/events", &[("x-api-key", "kw_live_nope")]).await;
    assert_eq!((r.status, code(&r)), (StatusCode::UNAUTHORIZED, "MALFORMED".into()));
    let (_, staging) = create(&mut admin, "Staging ingest", "staging", "Write", "").await;
    let r = authorize(&app, "", "POST", "/v1/events", &[("x-api-key", &staging)]).await;
    assert_eq!((r.status, code(&r)), (StatusCode::UNAUTHORIZED, "WRONG_ENVIRONMENT".into()));
    let r =
        authorize(&app, "?environment=staging", "POST", "/v1/events", &[("x-api-key", &staging)])
            .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = authorize(&app, "?environment=moon", "POST", "/v1/events", &[("x-api-key", &staging)])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    admin.call_fn(RevokeKey { slug: "acme".into(), id: id.to_string() }).await;
    let r = authorize(&app, "", "POST", "/v1/events", &[("authorization", &bearer)]).await;
    assert_eq!((r.status, code(&r)), (StatusCode::UNAUTHORIZED, "REVOKED".into()));

    // A proxy that forgets the original request is told so.
    let req = Request::get("/v1/authorize")
        .header("x-api-key", write.as_str())
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req, [10, 0, 0, 2]).await.status, StatusCode::BAD_REQUEST);
}

/// An instance behind `proxy`.
async fn behind(engine: &Engine, proxy: ForwardAuthProxy) -> TestApp {
    let gateway = VerifierSettings { forward_auth_headers: proxy, ..crate::common::test_gateway() };
    TestApp::demo_behind(engine, Default::default(), gateway).await
}

async fn envoy_sends_the_original_request_in_its_own(engine: Engine) {
    let app = behind(&engine, ForwardAuthProxy::Envoy).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (_, staging) = create(&mut admin, "Staging ingest", "staging", "Write", "").await;
    // Envoy's ext_authz form: the original method and path in the request
    // itself; a client's own ?environment= changes nothing.
    let (_, fresh) = create(&mut admin, "Envoy ingest", "production", "Write", "").await;
    let envoy = |method: &str, path: &str, key: &str| {
        Request::builder()
            .method(method)
            .uri(format!("/v1/authorize{path}"))
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap()
    };
    let r = app.send(envoy("POST", "/v1/events?environment=staging", &fresh), [10, 0, 0, 3]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r =
        app.send(envoy("POST", "/v1/events?environment=staging", &staging), [10, 0, 0, 3]).await;
    assert_eq!((r.status, code(&r)), (StatusCode::UNAUTHORIZED, "WRONG_ENVIRONMENT".into()));
    let r = app.send(envoy("GET", "/v1/data", &fresh), [10, 0, 0, 3]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.send(envoy("DELETE", "/public/../admin", &fresh), [10, 0, 0, 3]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = app.send(envoy("GET", "/v1/data/%2e%2e/admin", &fresh), [10, 0, 0, 3]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The client address is Envoy's last X-Forwarded-For hop.
    let mut req = envoy("POST", "/v1/events", &fresh);
    req.headers_mut().insert("x-forwarded-for", "10.9.9.9, 203.0.113.77".parse().unwrap());
    assert_eq!(app.send(req, [10, 0, 0, 3]).await.status, StatusCode::OK);
    app.verifier.flush().await.unwrap();
    let ips: Vec<(Option<String>,)> =
        app.rows("SELECT ip FROM request_log WHERE ip = '203.0.113.77'", &[]).await;
    assert_eq!(ips.len(), 1);

    // Headers of the other proxies, or the bare form, are refused.
    for (name, value) in [("x-original-uri", "/v1/events"), ("x-forwarded-uri", "/v1/events")] {
        let mut req = envoy("GET", "/v1/data", &fresh);
        req.headers_mut().insert(name, value.parse().unwrap());
        assert_eq!(app.send(req, [10, 0, 0, 3]).await.status, StatusCode::BAD_REQUEST, "{name}");
    }
    let r = authorize(&app, "", "POST", "/v1/events", &[("x-api-key", &fresh)]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

/// The request Traefik's ForwardAuth makes: the client's own headers
/// copied, its X-Forwarded-* set.
fn traefik(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::get("/v1/authorize")
        .header("x-forwarded-method", method)
        .header("x-forwarded-uri", uri);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(Body::empty()).unwrap()
}

async fn a_client_cannot_choose_the_path_it_is_judged_for(engine: Engine) {
    // Behind Traefik: a Write key asks GET /v1/data/export and adds its own
    // X-Original-* pair naming a path it may use.
    let app = behind(&engine, ForwardAuthProxy::Traefik).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (_, write) = create(&mut admin, "Ingest", "production", "Write", "").await;
    let smuggled = traefik(
        "GET",
        "/v1/data/export",
        &[("x-api-key", &write), ("x-original-method", "POST"), ("x-original-uri", "/v1/events")],
    );
    let r = app.send(smuggled, [10, 0, 0, 2]).await;
    assert_eq!((r.status, code(&r)), (StatusCode::BAD_REQUEST, "BAD_REQUEST".into()));
    // Without the smuggled pair: judged for what it asks, and refused.
    let honest = traefik("GET", "/v1/data/export", &[("x-api-key", &write)]);
    assert_eq!(app.send(honest, [10, 0, 0, 2]).await.status, StatusCode::FORBIDDEN);
    let allowed = traefik(
        "POST",
        "/v1/events",
        &[
            ("x-api-key", &write),
            ("x-forwarded-for", "1.1.1.1, 198.51.100.20"),
            ("x-real-ip", "6.6.6.6"),
        ],
    );
    assert_eq!(app.send(allowed, [10, 0, 0, 2]).await.status, StatusCode::OK);
    app.verifier.flush().await.unwrap();
    let ips: Vec<(Option<String>,)> =
        app.rows("SELECT ip FROM request_log ORDER BY at_ms", &[]).await;
    assert_eq!(
        ips.last().unwrap().0.as_deref(),
        Some("198.51.100.20"),
        "Traefik's own hop, never the client's X-Real-IP"
    );

    // Behind nginx (the default) the same trick the other way round.
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (_, write) = create(&mut admin, "Ingest", "production", "Write", "").await;
    for (extra, status) in [
        ([("x-forwarded-method", "GET"), ("x-forwarded-uri", "/v1/data")], StatusCode::BAD_REQUEST),
        ([("x-forwarded-for", "6.6.6.6"), ("x-real-ip", "198.51.100.30")], StatusCode::OK),
    ] {
        let headers = [&[("x-api-key", write.as_str())][..], &extra].concat();
        let r = authorize(&app, "", "POST", "/v1/events", &headers).await;
        assert_eq!(r.status, status, "{extra:?}");
    }
    // Envoy's form is refused when nginx is configured.
    let req = Request::post("/v1/authorize/v1/events")
        .header("x-api-key", write.as_str())
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req, [10, 0, 0, 2]).await.status, StatusCode::BAD_REQUEST);
    app.verifier.flush().await.unwrap();
    let ips: Vec<(Option<String>,)> = app.rows("SELECT ip FROM request_log", &[]).await;
    assert_eq!(ips, vec![(Some("198.51.100.30".to_string()),)], "X-Real-IP only");
}

async fn paths_are_judged_as_the_upstream_routes_them(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (_, read) = create(&mut admin, "Reader", "production", "Read", "").await;
    let (_, write) = create(&mut admin, "Writer", "production", "Write", "").await;
    let long = format!("/v1/data/{}", "a".repeat(5000));
    // (uri, status for the Write key, which may POST /v1/events and GET /public).
    let cases: &[(&str, &str, StatusCode)] = &[
        ("POST", "/v1/events", StatusCode::OK),
        ("POST", "/v1/events/", StatusCode::OK),
        ("POST", "/v1/./events", StatusCode::OK),
        ("POST", "/v1/data/../events", StatusCode::OK),
        ("POST", "/v1/%65vents", StatusCode::OK),
        ("GET", "/public/../v1/data", StatusCode::FORBIDDEN),
        ("GET", "/public/%2e%2e/v1/data", StatusCode::BAD_REQUEST),
        ("GET", "/public/%2E%2E/v1/data", StatusCode::BAD_REQUEST),
        ("GET", "/public%2F..%2Fv1/data", StatusCode::BAD_REQUEST),
        ("GET", "/public/..;/v1/data", StatusCode::BAD_REQUEST),
        ("GET", "/public;x=1", StatusCode::BAD_REQUEST),
        ("GET", "//public", StatusCode::BAD_REQUEST),
        ("GET", "/public//x", StatusCode::BAD_REQUEST),
        ("GET", "/public\\..\\v1", StatusCode::BAD_REQUEST),
        ("GET", "/public%5C..%5Cv1", StatusCode::BAD_REQUEST),
        ("GET", "/public/%00", StatusCode::BAD_REQUEST),
        ("GET", "/public/%0d%0aX-Evil:1", StatusCode::BAD_REQUEST),
        ("GET", "/public/%ZZ", StatusCode::BAD_REQUEST),
        ("GET", "/public/%C0%AE%C0%AE", StatusCode::BAD_REQUEST),
        ("GET", "/public/caf%C3%A9", StatusCode::OK),
        ("GET", "/PUBLIC/x", StatusCode::FORBIDDEN),
        ("GET", "/Public", StatusCode::FORBIDDEN),
        ("GET", "public", StatusCode::BAD_REQUEST),
        ("GET", "http://evil.example/public", StatusCode::BAD_REQUEST),
        ("GET", &long, StatusCode::BAD_REQUEST),
    ];
    for (method, uri, want) in cases {
        let r = authorize(&app, "", method, uri, &[("x-api-key", &write)]).await;
        assert_eq!(r.status, *want, "{method} {uri}: {}", r.body);
        if *want == StatusCode::BAD_REQUEST {
            assert_eq!(code(&r), "BAD_PATH", "{uri}");
        }
    }
    // Nothing refused as a path reached the request log.
    app.verifier.flush().await.unwrap();
    let paths: Vec<(Option<String>,)> = app.rows("SELECT path FROM request_log", &[]).await;
    assert!(!paths.is_empty());
    for (path,) in paths {
        let path = path.unwrap();
        assert!(
            !path.contains([';', '\\', '%']) && !path.contains("//") && !path.contains(".."),
            "{path}"
        );
    }

    // With route_case_insensitive, /V1/DATA is judged as /v1/data.
    let gateway = VerifierSettings {
        routes: server::verify::authorize::Routes::parse(crate::common::TEST_ROUTES)
            .unwrap()
            .case_insensitive(true),
        ..crate::common::test_gateway()
    };
    let app = TestApp::demo_behind(&engine, Default::default(), gateway).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (_, write) = create(&mut admin, "Writer", "production", "Write", "").await;
    let r = authorize(&app, "", "GET", "/V1/DATA", &[("x-api-key", &write)]).await;
    assert_eq!(code(&r), "INSUFFICIENT_PERMISSIONS", "needs data:read like /v1/data");
    let r = authorize(&app, "", "POST", "/V1/Events", &[("x-api-key", &write)]).await;
    assert_eq!(r.status, StatusCode::OK);
    let _ = read;
}

async fn the_metrics_token_guards_metrics(engine: Engine) {
    let token = "metrics-token-for-tests-0123456789";
    let gateway = VerifierSettings {
        metrics_token: Some(server::verify::service::MetricsToken::parse(token).unwrap()),
        ..crate::common::test_gateway()
    };
    let app = TestApp::demo_behind(&engine, Default::default(), gateway).await;
    let get = |auth: Option<&str>| {
        let mut req = Request::get("/metrics");
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        req.body(Body::empty()).unwrap()
    };
    assert_eq!(app.send(get(None), [127, 0, 0, 1]).await.status, StatusCode::UNAUTHORIZED);
    let wrong = format!("Bearer {token}x");
    assert_eq!(app.send(get(Some(&wrong)), [127, 0, 0, 1]).await.status, StatusCode::UNAUTHORIZED);
    let right = format!("Bearer {token}");
    let r = app.send(get(Some(&right)), [127, 0, 0, 1]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("keywarden_request_log_rejected_total 0"));
}

async fn over_the_limit_is_429_with_retry_after(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (id, read) = create(&mut admin, "Reports", "production", "Read", "2").await;
    let headers = [
        ("x-api-key", read.as_str()),
        ("x-real-ip", "198.51.100.4"),
        ("user-agent", "report-bot/2"),
    ];
    for remaining in ["1", "0"] {
        let r = authorize(&app, "", "GET", "/v1/data/7", &headers).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers["ratelimit-remaining"], remaining);
    }
    let r = authorize(&app, "", "GET", "/v1/data/7", &headers).await;
    assert_eq!((r.status, code(&r)), (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED".into()));
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((29..=30).contains(&retry), "one of 2 a minute frees within 30 s: {retry}");
    assert_eq!(
        r.headers["ratelimit"].to_str().unwrap(),
        format!("limit=2, remaining=0, reset={retry}")
    );
    assert_eq!(r.headers["ratelimit-policy"], "2;w=60");

    // All three are in the request log with the client's address and agent.
    app.verifier.flush().await.unwrap();
    type Logged = (String, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Logged> = app.rows("SELECT code, path, ip, user_agent FROM request_log WHERE key_id = $1 ORDER BY at_ms, code DESC", &[&id]).await;
    let codes: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(codes.iter().filter(|c| **c == "VALID").count(), 2);
    assert!(codes.contains(&"RATE_LIMITED"));
    assert!(rows.iter().all(|r| r.1.as_deref() == Some("/v1/data/7")
        && r.2.as_deref() == Some("198.51.100.4")
        && r.3.as_deref() == Some("report-bot/2")));
}

async fn metrics_count_answers_by_code(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("admin@acme.test").await;
    let (_, read) = create(&mut admin, "Metered", "production", "Read", "").await;
    for _ in 0..3 {
        authorize(&app, "", "GET", "/v1/data", &[("x-api-key", &read)]).await;
    }
    authorize(&app, "", "GET", "/v1/data", &[("x-api-key", "kw_live_bad")]).await;
    app.verifier.flush().await.unwrap();
    let req = Request::get("/metrics").body(Body::empty()).unwrap();
    let reply = app.send(req, [127, 0, 0, 1]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = reply.body;
    for line in [
        "keywarden_verifications_total{code=\"VALID\"} 3\n",
        "keywarden_verifications_total{code=\"MALFORMED\"} 1\n",
        "keywarden_verification_duration_seconds_count 4\n",
        "keywarden_cache_misses_total 1\n",
        "keywarden_cache_hits_total 2\n",
        "keywarden_request_log_entries_written_total 3\n",
        "keywarden_request_log_pending 0\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("# TYPE keywarden_usage_flush_lag_seconds gauge"));
}

on_both_engines!(
    forward_auth_answers_as_proxies_expect,
    envoy_sends_the_original_request_in_its_own,
    a_client_cannot_choose_the_path_it_is_judged_for,
    paths_are_judged_as_the_upstream_routes_them,
    the_metrics_token_guards_metrics,
    over_the_limit_is_429_with_retry_after,
    metrics_count_answers_by_code,
);
