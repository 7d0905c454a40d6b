//! No single request holds a core: bodies past their bound answer 413
//! without being read, and the allowlist that once took minutes (2 MB of
//! distinct addresses) is refused at once, from the UI's server function
//! and from the REST API, as one item and as many.

use crate::common::keys::create;
use crate::common::{Engine, Reply, TestApp};
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use std::time::{Duration, Instant};

/// 2 MB of distinct addresses, space-separated (about 158,000).
fn huge_allowlist() -> Vec<String> {
    (0..158_000u32).map(|i| std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string()).collect()
}

/// Sends the request `make` builds three times and answers with the last
/// reply and the fastest time: the router's own time, not a busy test
/// machine's pause between tasks.
async fn timed(app: &TestApp, make: impl Fn() -> Request<Body>) -> (Reply, Duration) {
    let mut fastest = Duration::MAX;
    let mut reply = None;
    for _ in 0..3 {
        let req = make();
        let started = Instant::now();
        reply = Some(app.send(req, [10, 0, 0, 9]).await);
        fastest = fastest.min(started.elapsed());
    }
    (reply.unwrap(), fastest)
}

fn json_post(
    path: &str,
    cookie: Option<&str>,
    bearer: Option<&str>,
    body: String,
) -> Request<Body> {
    let mut req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::HOST, "127.0.0.1:3000")
        .header("sec-fetch-site", "same-origin");
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    if let Some(token) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    req.body(Body::from(body)).unwrap()
}

async fn a_huge_allowlist_is_refused_at_once(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let (_, api_key) = create(&mut owner, "Automation", "production", "Admin", "").await;
    let cookie = owner.cookie.clone();
    let huge = huge_allowlist();
    let one = huge.join(" ");
    assert!(one.len() > 1_900_000);
    // Just under the body bound: the allowlist's own length check refuses it.
    let under = huge[..4000].join(" ");
    assert!(under.len() < 60 * 1024);

    let mut input = crate::common::keys::key_input("Flooded", "production", "Read", "");
    for (list, bound) in [(&one, StatusCode::PAYLOAD_TOO_LARGE), (&under, StatusCode::BAD_REQUEST)]
    {
        input.ip_allowlist = list.clone();
        let body = serde_json::json!({ "slug": "acme", "input": input }).to_string();
        let post = || json_post("/api/keys/create", cookie.as_deref(), None, body.clone());
        let (reply, took) = timed(&app, post).await;
        assert_eq!(reply.status, bound, "{}", reply.body);
        // 2 MB is refused from its length alone; 56 KB goes through sign-in
        // and the allowlist's own length check first.
        let within = if bound == StatusCode::PAYLOAD_TOO_LARGE { 50 } else { 500 };
        assert!(took < Duration::from_millis(within), "the server function took {took:?}");
        if bound == StatusCode::BAD_REQUEST {
            assert!(reply.body.contains("at most 100"), "{}", reply.body);
        }
    }

    for (what, allowlist, bound) in [
        ("one item", serde_json::json!([one]), StatusCode::PAYLOAD_TOO_LARGE),
        ("many items", serde_json::json!(huge), StatusCode::PAYLOAD_TOO_LARGE),
        ("one item under the bound", serde_json::json!([under]), StatusCode::BAD_REQUEST),
    ] {
        let body = serde_json::json!({
            "name": "Flooded", "type": "Read", "ip_allowlist": allowlist
        })
        .to_string();
        let (reply, took) =
            timed(&app, || json_post("/v1/keys", None, Some(&api_key), body.clone())).await;
        assert_eq!(reply.status, bound, "REST, {what}: {}", reply.body);
        assert!(reply.json()["error"]["code"].is_string(), "one JSON error body");
        let within = if bound == StatusCode::PAYLOAD_TOO_LARGE { 50 } else { 500 };
        assert!(took < Duration::from_millis(within), "REST, {what}: {took:?}");
    }
    let (count,): (i64,) =
        app.row("SELECT COUNT(*) FROM api_keys WHERE name = 'Flooded'", &[]).await;
    assert_eq!(count, 0, "nothing was made");
}

/// A body that sends `first` bytes and then never ends.
fn endless(first: usize) -> Body {
    let chunk = Bytes::from(vec![b'{'; first]);
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(chunk) })
        .chain(futures::stream::pending());
    Body::from_stream(stream)
}

/// 10 MB in 64 KiB chunks, with no length announced.
fn chunked_ten_mb() -> Body {
    let chunks = (0..160).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'a'; 64 * 1024])));
    Body::from_stream(futures::stream::iter(chunks))
}

use futures::StreamExt;

async fn oversized_bodies_answer_413_unread(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let owner = app.signed_in("owner@acme.test").await;
    let functions: Vec<_> = leptos::server_fn::axum::server_fn_paths().collect();
    assert!(functions.len() >= 20);
    let mut paths: Vec<(String, Method)> =
        functions.iter().map(|(p, m)| (p.to_string(), m.clone())).collect();
    paths.extend([
        ("/v1/keys".to_string(), Method::POST),
        ("/v1/orgs".to_string(), Method::POST),
        ("/v1/keys/verify".to_string(), Method::POST),
    ]);
    for (path, method) in paths {
        // Announced as 10 MB: answered from the header, the body never read
        // (it would never end).
        let mut req = Request::builder()
            .method(method.clone())
            .uri(&path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, 10 * 1024 * 1024)
            .header("sec-fetch-site", "same-origin");
        if let Some(cookie) = &owner.cookie {
            req = req.header(header::COOKIE, cookie.as_str());
        }
        let answer = tokio::time::timeout(
            Duration::from_secs(5),
            app.send(req.body(endless(1024)).unwrap(), [10, 0, 0, 9]),
        )
        .await
        .unwrap_or_else(|_| panic!("{method} {path} waited for the body"));
        assert_eq!(
            answer.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{method} {path}: {}",
            answer.body
        );
        // One JSON error body everywhere, verification included.
        assert_eq!(answer.json()["error"]["code"], "PAYLOAD_TOO_LARGE", "{path}");
    }
    // Streamed without a length: cut at the bound.
    for path in ["/api/keys/create"] {
        let mut req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header("sec-fetch-site", "same-origin");
        if let Some(cookie) = &owner.cookie {
            req = req.header(header::COOKIE, cookie.as_str());
        }
        let answer = app.send(req.body(chunked_ten_mb()).unwrap(), [10, 0, 0, 9]).await;
        assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}: {}", answer.body);
    }
}

on_both_engines!(a_huge_allowlist_is_refused_at_once, oversized_bodies_answer_413_unread);
