//! The real `keywarden` binary, stopped with SIGTERM, writes the usage it
//! counted since its last flush before it exits; while it runs, its usage
//! writer (a thread of its own) writes every interval, so SIGKILL loses
//! at most about one.

use crate::common::binary::{self, Running, http, status};
use crate::common::{Engine, PRODUCTION_VERIFIER};
use app::backend::Db;
use std::process::Command;

/// A running server with one key (its id), flushing every `flush_ms`, that
/// has verified the key `n` times.
async fn verified(engine: &Engine, flush_ms: &str, n: usize) -> (Running, Db, String) {
    let (url, pool) = binary::prepared_database(engine).await;
    let (id, token) = binary::insert_key(&pool, "Counted", "Write", &["events:write"], 1000).await;
    let running = binary::start(&url, &[("KEYWARDEN_USAGE_FLUSH_MS", flush_ms)]);
    let auth = format!("Bearer {PRODUCTION_VERIFIER}");
    let body = format!(r#"{{"key":"{}","path":"/v1/events"}}"#, token.expose());
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    for _ in 0..n {
        let answer = http(&running.addr, "POST", "/v1/keys/verify", &headers, &body);
        assert_eq!(status(&answer), 200);
        assert!(answer.contains("\"VALID\""), "{answer}");
    }
    (running, pool, id)
}

/// What the database holds for key `id`: its request count and its
/// request-log rows.
async fn written(pool: &Db, id: &str) -> (i64, i64) {
    let (counted,): (i64,) = sqlx::query_as("SELECT request_count FROM api_keys WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
    let (logged,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM request_log WHERE key_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
    (counted, logged)
}

/// (name, nice value) of each thread of process `pid`.
fn nice_by_thread(pid: u32) -> Vec<(String, i64)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .filter_map(|task| {
            let dir = task.ok()?.path();
            let name = std::fs::read_to_string(dir.join("comm")).ok()?.trim().to_string();
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            // Fields after the name in parentheses; the nice value is the 19th field.
            let nice = stat.rsplit_once(')')?.1.split_whitespace().nth(16)?.parse().ok()?;
            Some((name, nice))
        })
        .collect()
}

async fn graceful_shutdown_flushes_usage(engine: Engine) {
    // Flushes an hour apart: only the shutdown flush can write these counts.
    let (mut running, pool, id) = verified(&engine, "3600000", 25).await;
    assert_eq!(written(&pool, &id).await, (0, 0), "nothing written yet");

    let killed =
        Command::new("kill").args(["-TERM", &running.child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let exit = running.child.wait().unwrap();
    assert!(exit.success(), "keywarden exited with {exit}");
    assert_eq!(written(&pool, &id).await, (25, 25));
}

async fn the_usage_writer_writes_while_the_server_runs(engine: Engine) {
    let (mut running, pool, id) = verified(&engine, "200", 10).await;
    // Within a few intervals the writer has written them, without any exit.
    let mut waited = 0;
    while written(&pool, &id).await.1 < 10 && waited < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(written(&pool, &id).await, (10, 10), "written within 5 s at a 200 ms interval");
    // The request log is written at a lower priority than requests are
    // answered, the counts at normal priority. On SQLite the log writer
    // writes on its own thread (no driver thread of sqlx's does it); on
    // PostgreSQL the server does the work.
    let threads = nice_by_thread(running.child.id());
    let nice = |name: &str| -> Vec<i64> {
        threads.iter().filter(|(n, _)| n == name).map(|(_, nice)| *nice).collect()
    };
    assert_eq!(nice("keywarden-log-w"), [10], "{threads:?}");
    assert_eq!(nice("keywarden-usage"), [0], "{threads:?}");
    assert_eq!(nice("tokio-rt-worker").iter().max(), Some(&0), "{threads:?}");
    if matches!(engine, Engine::Sqlite) {
        assert!(
            !nice("sqlx-sqlite-wor").contains(&10),
            "no pool connection of its own: {threads:?}"
        );
    }
    // SIGKILL: what was written stays; nothing is written twice.
    running.child.kill().unwrap();
    running.child.wait().unwrap();
    assert_eq!(written(&pool, &id).await, (10, 10));
}

on_both_engines!(graceful_shutdown_flushes_usage, the_usage_writer_writes_while_the_server_runs);
