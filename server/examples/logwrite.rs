//! Writes request-log rows into a fresh PostgreSQL database both ways its
//! log writer can: the pool's statement (rows as one JSON parameter) and
//! `COPY`, in alternating chunks of the same rows' shape, and prints the
//! time per row of each and their ratio (for `scripts/bench-log-write`).
//! Each row has its own path, address and user agent, keys at random, as
//! `verify-valid` in `scripts/bench-verify`.
//!
//! Usage: logwrite <postgres url of an empty database> [rows=400000]
//! [keys=1000] [rows per transaction=10000]

use app::backend::log_copy::{Copied, LogCopy};
use app::backend::log_segments::KnownDays;
use app::backend::usage_writes::{self, LogIds, LogRow};
use std::time::{Duration, Instant};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |n: usize, default: usize| args.get(n).map_or(default, |a| a.parse().expect(a));
    let url = args.get(1).expect("a PostgreSQL url");
    let (rows, keys, chunk) = (arg(2, 400_000), arg(3, 1000), arg(4, 10_000));
    let db = app::backend::db::connect(url).await.expect("connect");
    app::backend::db::migrate(&db).await.expect("migrate");
    sqlx::query(
        "INSERT INTO orgs (id, slug, name, created_at) VALUES ('bench', 'bench', 'Bench', 0)",
    )
    .execute(&db)
    .await
    .expect("an org");
    let copy = LogCopy::for_pool(&db).expect("url").expect("a PostgreSQL url");
    let days = KnownDays::default();
    let keys: Vec<String> = (0..keys).map(|k| format!("bench-key-{k:05}")).collect();
    let texts: Vec<(String, String, String)> = (0..chunk)
        .map(|i| {
            (
                format!("/v1/events/{i}"),
                format!("198.51.{}.{}", i / 250 % 250, i % 250),
                format!("bench/{i}"),
            )
        })
        .collect();
    let now_ms = app::backend::db::now_ms();
    let mut random = 0x2545_f491_4f6c_dd1d_u64;
    let (mut spent, mut written) = ([Duration::ZERO; 2], [0; 2]);
    for (n, first) in (0..rows).step_by(chunk).enumerate() {
        let batch: Vec<LogRow> = (first..(first + chunk).min(rows))
            .map(|i| {
                random ^= random << 13;
                random ^= random >> 7;
                random ^= random << 17;
                let (path, ip, user_agent) = &texts[i % chunk];
                LogRow {
                    org_id: "bench",
                    key_id: &keys[(random % keys.len() as u64) as usize],
                    at_ms: now_ms,
                    code: "VALID",
                    path: Some(path),
                    ip: Some(ip),
                    user_agent: Some(user_agent),
                }
            })
            .collect();
        let way = n % 2;
        let ids = LogIds::new();
        let started = Instant::now();
        if way == 0 {
            let refused = usage_writes::write_log_chunk(&db, &batch, &ids, &days).await;
            assert_eq!(refused.expect("JSON write"), 0);
        } else {
            assert_eq!(copy.write(&db, &batch, &ids, &days).await.expect("COPY"), Copied::All);
        }
        spent[way] += started.elapsed();
        written[way] += batch.len();
    }
    let per_row = |way: usize| spent[way].as_secs_f64() * 1e6 / written[way].max(1) as f64;
    println!("pool statement (JSON parameter): {:.2} µs a row ({} rows)", per_row(0), written[0]);
    println!("COPY: {:.2} µs a row ({} rows)", per_row(1), written[1]);
    println!("COPY / JSON: {:.2}", per_row(1) / per_row(0));
}
