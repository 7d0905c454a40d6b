//! The real `keywarden` binary, stopped with SIGTERM, writes the usage it
//! counted since its last flush before it exits; while it runs, its usage
//! writer (a thread of its own) writes every interval, so SIGKILL loses
//! at most about one.

use crate::common::binary::{self, http, status};
use crate::common::{Engine, PRODUCTION_VERIFIER};
use std::process::Command;

async fn graceful_shutdown_flushes_usage(engine: Engine) {
    let (url, pool) = binary::prepared_database(&engine).await;
    let (id, token) =
        binary::insert_key(&pool, "Counted at exit", "Write", &["events:write"], 1000).await;
    // Flushes an hour apart: only the shutdown flush can write these counts.
    let mut running = binary::start(&url, &[("KEYWARDEN_USAGE_FLUSH_MS", "3600000")]);
    let auth = format!("Bearer {PRODUCTION_VERIFIER}");
    let body = format!(r#"{{"key":"{}","path":"/v1/events"}}"#, token.expose());
    for _ in 0..25 {
        let answer = http(
            &running.addr,
            "POST",
            "/v1/keys/verify",
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            &body,
        );
        assert_eq!(status(&answer), 200);
        assert!(answer.contains("\"VALID\""), "{answer}");
    }
    let count = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT request_count FROM api_keys WHERE id = $1")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
        n
    };
    assert_eq!(count().await, 0, "nothing written yet");

    let killed =
        Command::new("kill").args(["-TERM", &running.child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let exit = running.child.wait().unwrap();
    assert!(exit.success(), "keywarden exited with {exit}");
    assert_eq!(count().await, 25);
    let (logged,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM request_log WHERE key_id = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(logged, 25);
}

async fn the_usage_writer_writes_while_the_server_runs(engine: Engine) {
    let (url, pool) = binary::prepared_database(&engine).await;
    let (id, token) =
        binary::insert_key(&pool, "Counted as it goes", "Write", &["events:write"], 1000).await;
    let mut running = binary::start(&url, &[("KEYWARDEN_USAGE_FLUSH_MS", "200")]);
    let auth = format!("Bearer {PRODUCTION_VERIFIER}");
    let body = format!(r#"{{"key":"{}","path":"/v1/events"}}"#, token.expose());
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    for _ in 0..10 {
        assert_eq!(status(&http(&running.addr, "POST", "/v1/keys/verify", &headers, &body)), 200);
    }
    // Within a few intervals the writer has written them, without any exit.
    let written = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM request_log WHERE key_id = $1")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
        n
    };
    let mut waited = 0;
    while written().await < 10 && waited < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(written().await, 10, "written within 5 s at a 200 ms interval");
    // SIGKILL: what was written stays; nothing is written twice.
    running.child.kill().unwrap();
    running.child.wait().unwrap();
    assert_eq!(written().await, 10);
    let (counted,): (i64,) = sqlx::query_as("SELECT request_count FROM api_keys WHERE id = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(counted, 10);
}

on_both_engines!(graceful_shutdown_flushes_usage, the_usage_writer_writes_while_the_server_runs);
