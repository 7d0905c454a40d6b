//! A real nginx (Debian's package) with the shipped
//! `examples/nginx-auth-request.conf`, in front of a small upstream and the
//! real `keywarden` binary: a valid key passes, no key is 401, a missing
//! permission 403, over the limit 429 with Retry-After.
//!
//! Skipped with a notice when nginx is not installed, unless
//! `KEYWARDEN_REQUIRE_NGINX` is set (as `scripts/test` does).

use crate::common::Engine;
use crate::common::binary::{self, free_port, header, http, status};
use axum::Router;
use axum::http::HeaderMap;
use axum::routing::any;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NGINX: &str = "/usr/sbin/nginx";

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The shipped example with its three addresses replaced, inside a main
/// configuration that runs as this user in the foreground.
fn start_nginx(dir: &Path, keywarden: &str, upstream: &str, listen: u16) -> Nginx {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/nginx-auth-request.conf"),
    )
    .expect("the shipped example");
    for placeholder in ["127.0.0.1:3000", "127.0.0.1:8080", "listen 8000;"] {
        assert!(example.contains(placeholder), "{placeholder} in the example");
    }
    let site = example
        .replace("127.0.0.1:3000", keywarden)
        .replace("127.0.0.1:8080", upstream)
        .replace("listen 8000;", &format!("listen 127.0.0.1:{listen};"));
    std::fs::write(dir.join("keywarden.conf"), site).unwrap();
    let main = format!(
        "daemon off;\nmaster_process off;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
         events {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n  \
         proxy_temp_path {dir}/proxy;\n  include {dir}/keywarden.conf;\n}}\n",
        dir = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let child = Command::new(NGINX)
        .args(["-p", &dir.display().to_string(), "-c"])
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nginx");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", listen)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "nginx did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Nginx(child)
}

/// The upstream API: echoes who Keywarden said called, and whether the key
/// itself reached it.
async fn upstream() -> String {
    let app = Router::new().fallback(any(|headers: HeaderMap| async move {
        let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
        format!(
            "upstream saw key {} of org {}, x-api-key {:?}",
            get("x-keywarden-key-id"),
            get("x-keywarden-org"),
            get("x-api-key")
        )
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn nginx_asks_keywarden_for_every_request(engine: Engine) {
    if !Path::new(NGINX).exists() {
        assert!(
            std::env::var_os("KEYWARDEN_REQUIRE_NGINX").is_none(),
            "KEYWARDEN_REQUIRE_NGINX is set but {NGINX} is missing"
        );
        eprintln!("skipped: install nginx (Debian's nginx-light) to run this test");
        return;
    }
    let (url, pool) = binary::prepared_database(&engine).await;
    let (id, ingest) = binary::insert_key(&pool, "Ingest", "Write", &["events:write"], 3).await;
    let keywarden = binary::start(
        &url,
        &[("KEYWARDEN_ROUTES", "POST /v1/events=events:write; GET /v1/data=data:read")],
    );
    let upstream = upstream().await;
    let dir: PathBuf =
        std::env::temp_dir().join(format!("kw-nginx-{}", app::backend::db::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let _nginx = start_nginx(&dir, &keywarden.addr, &upstream, port);
    let front = format!("127.0.0.1:{port}");
    let bearer = format!("Bearer {}", ingest.expose());

    let call = |method: &'static str, path: &'static str, headers: Vec<(&'static str, String)>| {
        let front = front.clone();
        tokio::task::spawn_blocking(move || {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            http(&front, method, path, &headers, "")
        })
    };
    let ok = call("POST", "/v1/events", vec![("Authorization", bearer.clone())]).await.unwrap();
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(ok.contains(&format!("upstream saw key {id} of org acme")), "{ok}");

    let ok = call("POST", "/v1/events?x=1", vec![("X-API-Key", ingest.expose().to_string())])
        .await
        .unwrap();
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(ok.contains("x-api-key \"-\""), "the key is not passed on: {ok}");

    let none = call("POST", "/v1/events", vec![]).await.unwrap();
    assert_eq!(status(&none), 401, "{none}");
    assert!(none.contains("\"code\":\"MALFORMED\""), "{none}");
    assert!(!none.contains("upstream saw"));

    let forbidden = call("GET", "/v1/data", vec![("Authorization", bearer.clone())]).await.unwrap();
    assert_eq!(status(&forbidden), 403, "{forbidden}");
    assert!(forbidden.contains("INSUFFICIENT_PERMISSIONS"), "{forbidden}");

    // A client sending Traefik's pair to pick its own path: nginx clears
    // it, and the request is judged for what it really asks.
    let smuggled = call(
        "GET",
        "/v1/data",
        vec![
            ("Authorization", bearer.clone()),
            ("X-Forwarded-Method", "POST".into()),
            ("X-Forwarded-Uri", "/v1/events".into()),
            ("X-Original-URI", "/v1/events".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(status(&smuggled), 403, "{smuggled}");
    assert!(!smuggled.contains("upstream saw"));
    // Paths upstreams read differently are refused, not judged.
    for path in ["/v1/events/..;/data", "/v1/events/%2e%2e/data", "/v1/events%2F..%2Fdata"] {
        let refused = call("GET", path, vec![("Authorization", bearer.clone())]).await.unwrap();
        assert_eq!(status(&refused), 400, "{path}: {refused}");
        assert!(refused.contains("BAD_PATH") && !refused.contains("upstream saw"));
    }

    // The limit is 3 a minute and two were used.
    let third = call("POST", "/v1/events", vec![("Authorization", bearer.clone())]).await.unwrap();
    assert_eq!(status(&third), 200, "{third}");
    let limited =
        call("POST", "/v1/events", vec![("Authorization", bearer.clone())]).await.unwrap();
    assert_eq!(status(&limited), 429, "{limited}");
    let retry: u64 = header(&limited, "retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=20).contains(&retry), "{limited}");
    assert!(header(&limited, "ratelimit").is_some_and(|v| v.contains("remaining=0")), "{limited}");
    assert!(limited.contains("RATE_LIMITED"));

    drop(keywarden);
    let down = call("POST", "/v1/events", vec![("Authorization", bearer)]).await.unwrap();
    assert_eq!(status(&down), 503, "no Keywarden, no entry: {down}");
    let _ = std::fs::remove_dir_all(&dir);
}

on_both_engines!(nginx_asks_keywarden_for_every_request);
