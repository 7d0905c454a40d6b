//! The real `keywarden` binary on a prepared database, for tests of what
//! only a whole process shows (signals, a proxy in front).

use super::{DEMO_PASSWORD, Engine, PRODUCTION_VERIFIER};
use app::backend::{Db, db, keys};
use app::domain::{ApiToken, Environment, KeyPrefix, RateLimit};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A migrated database with the demo org.
pub async fn prepared_database(engine: &Engine) -> (String, Db) {
    let url = engine.fresh_database().await;
    let pool = db::connect(&url).await.unwrap();
    db::migrate(&pool).await.unwrap();
    server::demo::seed(&pool, DEMO_PASSWORD, &Default::default(), &Default::default())
        .await
        .unwrap();
    (url, pool)
}

/// Adds a production key to `acme`; returns its id and secret.
pub async fn insert_key(
    pool: &Db,
    name: &str,
    key_type: &str,
    permissions: &[&str],
    limit: u32,
) -> (String, ApiToken) {
    let (org_id,): (String,) =
        sqlx::query_as("SELECT id FROM orgs WHERE slug = 'acme'").fetch_one(pool).await.unwrap();
    let (owner,): (String,) =
        sqlx::query_as("SELECT id FROM users LIMIT 1").fetch_one(pool).await.unwrap();
    let token = ApiToken::generate(&KeyPrefix::default(), Environment::Production);
    let permissions: Vec<String> = permissions.iter().map(|p| p.to_string()).collect();
    let mut conn = pool.acquire().await.unwrap();
    let id = keys::insert(
        &mut conn,
        keys::NewKey {
            org_id: &org_id,
            name,
            environment: Environment::Production,
            key_type,
            permissions: &permissions,
            token: &token,
            expires_at: None,
            rate_limit: RateLimit { limit, window_secs: 60 },
            options: &Default::default(),
            created_by: Some(&owner),
        },
    )
    .await
    .unwrap();
    (id, token)
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `keywarden` on `url`; killed when dropped.
pub struct Running {
    pub child: Child,
    pub addr: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `keywarden` on `url` with a production service token and `env`,
/// and waits until it listens.
pub fn start(url: &str, env: &[(&str, &str)]) -> Running {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_keywarden"));
    command
        .args(["--addr", &addr, "--database-url", url])
        .env("KEYWARDEN_SERVICE_TOKENS", format!("production:{PRODUCTION_VERIFIER}"))
        .env("KEYWARDEN_SITE_ROOT", std::env::temp_dir())
        .env_remove("KEYWARDEN_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("start keywarden");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    loop {
        let line = lines.next().expect("keywarden printed its address").unwrap();
        if line.contains("Keywarden is listening on") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "keywarden did not start");
    }
    // Keep reading: a closed pipe would fail the server's next log line.
    std::thread::spawn(move || lines.for_each(drop));
    Running { child, addr }
}

/// One HTTP/1.1 request over a fresh connection; the whole raw answer.
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    // A server that hangs fails the test instead of blocking it for good.
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    // Compressed bodies are not text: read bytes, keep the head readable.
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("an answer within 60 s");
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status code of a raw HTTP answer.
pub fn status(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"))
}

/// The value of header `name` in a raw HTTP answer.
pub fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    answer.split("\r\n\r\n").next()?.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}
