//! The real `keywarden` binary, stopped with SIGTERM, writes the usage it
//! counted since its last flush before it exits.

mod common;

use app::backend::{db, keys};
use app::domain::{ApiToken, Environment, KeyPrefix, RateLimit};
use common::{DEMO_PASSWORD, Engine, PRODUCTION_VERIFIER};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One verification over a plain HTTP/1.1 connection; the answer's body.
fn verify(addr: &str, key: &str) -> String {
    let body = format!(r#"{{"key":"{key}","path":"/v1/events"}}"#);
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "POST /v1/keys/verify HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {PRODUCTION_VERIFIER}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

async fn graceful_shutdown_flushes_usage(engine: Engine) {
    let url = engine.fresh_database().await;
    let pool = db::connect(&url).await.unwrap();
    db::migrate(&pool).await.unwrap();
    server::demo::seed(
        &pool,
        DEMO_PASSWORD,
        &Default::default(),
        &Default::default(),
    )
    .await
    .unwrap();
    let (org_id,): (String,) = sqlx::query_as("SELECT id FROM orgs WHERE slug = 'acme'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (owner,): (String,) = sqlx::query_as("SELECT id FROM users LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let token = ApiToken::generate(&KeyPrefix::default(), Environment::Production);
    let mut conn = pool.acquire().await.unwrap();
    let id = keys::insert(
        &mut conn,
        keys::NewKey {
            org_id: &org_id,
            name: "Counted at exit",
            environment: Environment::Production,
            key_type: "Write",
            permissions: &["events:write".to_string()],
            token: &token,
            expires_at: None,
            rate_limit: RateLimit {
                limit: 1000,
                window_secs: 60,
            },
            created_by: &owner,
        },
    )
    .await
    .unwrap();
    drop(conn);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    // Flushes an hour apart: only the shutdown flush can write these counts.
    let mut child = Command::new(env!("CARGO_BIN_EXE_keywarden"))
        .args(["--addr", &addr, "--database-url", &url])
        .env(
            "KEYWARDEN_SERVICE_TOKENS",
            format!("production:{PRODUCTION_VERIFIER}"),
        )
        .env("KEYWARDEN_USAGE_FLUSH_MS", "3600000")
        .env("KEYWARDEN_SITE_ROOT", std::env::temp_dir())
        .env_remove("KEYWARDEN_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start keywarden");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    loop {
        let line = lines
            .next()
            .expect("keywarden printed its address")
            .unwrap();
        if line.contains("listening") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "keywarden did not start"
        );
    }
    for _ in 0..25 {
        assert!(verify(&addr, token.expose()).contains("\"VALID\""));
    }
    let count = |pool: db::Db, id: String| async move {
        let (n,): (i64,) = sqlx::query_as("SELECT request_count FROM api_keys WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        n
    };
    assert_eq!(
        count(pool.clone(), id.clone()).await,
        0,
        "nothing written yet"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "keywarden exited with {status}");
    assert_eq!(count(pool.clone(), id.clone()).await, 25);
    let (logged,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM request_log WHERE key_id = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(logged, 25);
}

on_both_engines!(graceful_shutdown_flushes_usage);
