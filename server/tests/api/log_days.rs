//! The request log's day tables and writers on the real router, on SQLite
//! and PostgreSQL: a table per UTC day, calls across midnight, two
//! instances, a writer that gives way, a failed write.

use super::usage::{create, logs, verify};
use crate::common::{Engine, TestApp};
use app::backend::log_copy::LogCopy;
use app::backend::log_segments::{self, Day, LEGACY, Segment};
use app::backend::usage_writes::{PURGE_CHUNK, Purged};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) async fn seed(
    app: &TestApp,
    table: &str,
    key_id: &str,
    label: &str,
    newest_ms: i64,
    n: u32,
) {
    if let Some(day) = Day::of_table(table) {
        log_segments::ensure(&app.state.db, day).await.unwrap();
    }
    let (org_id,): (String,) =
        app.row("SELECT org_id FROM api_keys WHERE id = $1", &[key_id]).await;
    sqlx::query(&format!(
        "INSERT INTO {table} (id, org_id, key_id, at_ms, code, path) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
         SELECT '{label}' || i, $1, $2, {newest_ms} + 1 - i, 'VALID', '/{label}' || i FROM n"
    ))
    .bind(&org_id)
    .bind(key_id)
    .execute(&app.state.db)
    .await
    .unwrap();
}

/// The request log's tables, newest first.
async fn log_tables(db: &app::backend::Db) -> Vec<String> {
    let segments = log_segments::segments_since(db, i64::MIN).await.unwrap();
    segments.into_iter().map(Segment::table).collect()
}

/// The log is kept in a table per day (the rows of before in a legacy
/// table, read as the oldest): a page runs across them newest first, the
/// count adds them up, and retention drops whole days.
async fn the_log_reads_day_segments_in_order_and_drops_them_whole(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("owner@acme.test").await;
    let (id, _) = create(&mut admin, "Spread").await;
    let today = Day::of_ms(app::backend::db::now_ms());
    let yesterday = Day::of_ms(today.start_ms() - 1);
    let long_ago = Day::of_ms(today.start_ms() - 40 * 86_400_000);
    seed(&app, &today.table(), &id, "t", today.start_ms() + 29, 30).await;
    seed(&app, &yesterday.table(), &id, "y", yesterday.end_ms() - 1, 30).await;
    seed(&app, LEGACY, &id, "l", yesterday.start_ms() - 1, 30).await;
    // Past retention: a day, and rows of the legacy table (two chunks and
    // one more of its row-by-row purge).
    seed(&app, &long_ago.table(), &id, "o", long_ago.end_ms() - 1, 3).await;
    seed(&app, LEGACY, &id, "p", long_ago.end_ms() - 1, 2 * PURGE_CHUNK + 1).await;

    let paths = |page: &Value| -> Vec<String> {
        let entries = page["entries"].as_array().unwrap();
        entries.iter().map(|e| e["path"].as_str().unwrap().to_string()).collect()
    };
    let (_, first) = logs(&mut admin, json!({ "page": 1, "since": "7d" })).await;
    assert_eq!((first["total"].as_i64(), first["next"].as_bool()), (Some(90), Some(true)));
    let first = paths(&first);
    assert_eq!(first.len(), 50);
    assert_eq!((first[0].as_str(), first[29].as_str()), ("/t1", "/t30"));
    assert_eq!((first[30].as_str(), first[49].as_str()), ("/y1", "/y20"));
    let (_, second) = logs(&mut admin, json!({ "page": 2, "since": "7d", "key": id })).await;
    assert_eq!((second["total"].as_i64(), second["next"].as_bool()), (Some(90), Some(false)));
    let second = paths(&second);
    assert_eq!(second.len(), 40);
    assert_eq!((second[0].as_str(), second[9].as_str()), ("/y21", "/y30"));
    assert_eq!((second[10].as_str(), second[39].as_str()), ("/l1", "/l30"));
    let (_, month) = logs(&mut admin, json!({ "page": 1, "since": "30d" })).await;
    assert_eq!(month["total"], 90, "entries before the period are not listed");

    let db = &app.state.db;
    let purged = app.verifier.purge_log_older_than(30).await.unwrap();
    let expected = Purged { segments: 1, legacy_rows: 2 * u64::from(PURGE_CHUNK) + 1 };
    assert_eq!(purged, expected);
    let left = log_tables(db).await;
    assert_eq!(left, [today.table(), yesterday.table(), LEGACY.to_string()]);
    let (viewed,): (i64,) = app.row("SELECT COUNT(*) FROM request_log", &[]).await;
    assert_eq!(viewed, 90, "the view reads the segments left");

    // The legacy table goes once it is empty; the view follows.
    sqlx::query(&format!("DELETE FROM {LEGACY}")).execute(db).await.unwrap();
    let purged = app.verifier.purge_log_older_than(30).await.unwrap();
    assert_eq!(purged, Purged { segments: 1, legacy_rows: 0 });
    let (viewed,): (i64,) = app.row("SELECT COUNT(*) FROM request_log", &[]).await;
    assert_eq!(viewed, 60);
    let (_, week) = logs(&mut admin, json!({ "page": 2, "since": "7d" })).await;
    assert_eq!((week["total"].as_i64(), paths(&week).len()), (Some(60), 10));

    // Tomorrow's table is made ahead (on start and hourly), so a writer
    // seldom makes one mid-transaction.
    log_segments::ensure_ahead(db).await.unwrap();
    let ahead = log_segments::segments_since(db, today.end_ms()).await.unwrap();
    assert_eq!(
        ahead.iter().map(|s| s.table()).collect::<Vec<_>>(),
        [Day::of_ms(today.end_ms()).table()]
    );
}

/// Calls of the same millisecond list newest first, whichever keys they
/// were on (the writer reorders a batch by key for the index's sake).
async fn calls_in_one_millisecond_keep_their_order(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("owner@acme.test").await;
    let (first_id, _) = create(&mut admin, "First").await;
    let (second_id, _) = create(&mut admin, "Second").await;
    let (org_id,): (String,) = app.row("SELECT id FROM orgs WHERE slug = 'acme'", &[]).await;
    let at_ms = app::backend::db::now_ms();
    // Whichever id sorts first, its call comes last.
    let (early, late) =
        if first_id < second_id { (&second_id, &first_id) } else { (&first_id, &second_id) };
    for key in [early, late] {
        app.verifier.usage.record(server::verify::usage::Hit {
            key_id: key.as_str().into(),
            org_id: org_id.as_str().into(),
            code: server::verify::Code::Valid,
            at_ms,
            path: None,
            ip: None,
            user_agent: None,
        });
    }
    app.verifier.flush().await.unwrap();
    let (_, page) = logs(&mut admin, json!({ "page": 1 })).await;
    let listed: Vec<&str> =
        page["entries"].as_array().unwrap().iter().map(|e| e["key_id"].as_str().unwrap()).collect();
    assert_eq!(listed, [late.as_str(), early.as_str()], "{page}");
}

/// Waits, when the next UTC midnight is less than `margin` away, until it
/// has passed: for tests whose calls must all fall on one day.
async fn clear_of_midnight(margin: Duration) {
    let now = app::backend::db::now_ms();
    let left = Day::of_ms(now).end_ms() - now;
    if left < margin.as_millis() as i64 {
        tokio::time::sleep(Duration::from_millis(left as u64 + 10)).await;
    }
}

/// A flush whose calls straddle midnight writes each to its own day's
/// table, making the day it does not know (here yesterday's: the server
/// makes only today's and tomorrow's ahead), by the log writers' way (the
/// log's own connection on SQLite, COPY on PostgreSQL) and by the pool's
/// statement alike.
async fn one_flush_writes_each_call_to_its_days_table(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("owner@acme.test").await;
    let (id, _) = create(&mut admin, "Late").await;
    let (org_id,): (String,) = app.row("SELECT id FROM orgs WHERE slug = 'acme'", &[]).await;
    let db = &app.state.db;
    let today = Day::of_ms(app::backend::db::now_ms());
    let yesterday = Day::of_ms(today.start_ms() - 1);
    let before = log_segments::segments_since(db, yesterday.start_ms()).await.unwrap();
    assert!(!before.contains(&Segment::Day(yesterday)), "{before:?}");
    let record = |at_ms: i64, path: &str| {
        app.verifier.usage.record(server::verify::usage::Hit {
            key_id: id.as_str().into(),
            org_id: org_id.as_str().into(),
            code: server::verify::Code::Valid,
            at_ms,
            path: Some(path),
            ip: None,
            user_agent: None,
        })
    };
    let copy = LogCopy::for_pool(db).unwrap();
    record(yesterday.end_ms() - 2, "/writer/last");
    record(today.start_ms() + 1, "/writer/first");
    assert_eq!(app.verifier.flush_log_via(db, copy.as_ref(), false).await.unwrap(), (2, 0));
    // The pool's statement (on SQLite the log's own connection again).
    record(yesterday.end_ms() - 1, "/pool/last");
    record(today.start_ms(), "/pool/first");
    assert_eq!(app.verifier.flush_log_to(db, false).await.unwrap(), (2, 0));

    for (day, paths) in
        [(yesterday, ["/pool/last", "/writer/last"]), (today, ["/writer/first", "/pool/first"])]
    {
        let rows: Vec<(String,)> =
            sqlx::query_as(&format!("SELECT path FROM {} ORDER BY at_ms DESC", day.table()))
                .fetch_all(db)
                .await
                .unwrap();
        assert_eq!(rows.into_iter().map(|(p,)| p).collect::<Vec<_>>(), paths, "{day:?}");
    }
    let (_, page) = logs(&mut admin, json!({ "page": 1, "since": "7d", "key": id })).await;
    let paths: Vec<&str> =
        page["entries"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/writer/first", "/pool/first", "/pool/last", "/writer/last"], "{page}");
}

/// Two instances making the same days and dropping them at the same time
/// (each on start, hourly, and on a day's first call) neither fail nor
/// leave a day twice or a view over a table that is gone.
async fn two_instances_make_and_drop_the_same_days_at_once(engine: Engine) {
    // `ensure_ahead` reads the clock again.
    clear_of_midnight(Duration::from_secs(30)).await;
    let a = TestApp::empty(&engine).await;
    let b = a.another_instance().await;
    let (da, db) = (&a.state.db, &b.state.db);
    let today = Day::of_ms(app::backend::db::now_ms());
    let old: Vec<Day> = (40..46).map(|n| Day::of_ms(today.start_ms() - n * 86_400_000)).collect();
    for &day in &old {
        let (x, y) = tokio::join!(log_segments::ensure(da, day), log_segments::ensure(db, day));
        x.unwrap();
        y.unwrap();
    }
    let made = log_segments::segments_since(da, i64::MIN).await.unwrap();
    for day in &old {
        assert_eq!(made.iter().filter(|s| **s == Segment::Day(*day)).count(), 1, "{made:?}");
    }
    let cutoff = today.start_ms() - 30 * 86_400_000;
    let (x, y, z) = tokio::join!(
        a.verifier.purge_log_before(cutoff),
        b.verifier.purge_log_before(cutoff),
        log_segments::ensure_ahead(db),
    );
    // Each counts what it listed, and both may have listed a day.
    assert!(x.unwrap().segments + y.unwrap().segments >= old.len());
    z.unwrap();
    let left = log_tables(db).await;
    assert_eq!(left, [Day::of_ms(today.end_ms()).table(), today.table()]);
    for app in [&a, &b] {
        let (viewed,): (i64,) = app.row("SELECT COUNT(*) FROM request_log", &[]).await;
        assert_eq!(viewed, 0);
    }
}

/// A writer that gives way mid-batch (the low-priority one, when the other
/// catches up) holds the rest back: the next flush writes it first, then
/// the calls made since, each once and in order (every call here is of one
/// millisecond, so only the order of writing orders them). Through the
/// pool's statement: the log's own connection on a SQLite file takes the
/// same path in `flush_log`.
async fn a_writer_that_gives_way_holds_the_rest_back(engine: Engine) {
    use server::verify::usage::LogWay;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("owner@acme.test").await;
    let (id, _) = create(&mut admin, "Giving way").await;
    let (org_id,): (String,) = app.row("SELECT id FROM orgs WHERE slug = 'acme'", &[]).await;
    let (db, usage) = (&app.state.db, &app.verifier.usage);
    let at_ms = app::backend::db::now_ms();
    let call = |path: String| {
        usage.record(server::verify::usage::Hit {
            key_id: id.as_str().into(),
            org_id: org_id.as_str().into(),
            code: server::verify::Code::Valid,
            at_ms,
            path: Some(&path),
            ip: None,
            user_agent: None,
        })
    };
    (0..7).for_each(|n| call(format!("/first/{n}")));
    let (days, turn) = (log_segments::KnownDays::default(), tokio::sync::Mutex::new(()));
    // Asked before it takes the calls' entries and before each
    // transaction: two transactions of two rows, then it gives way.
    let chunks = AtomicUsize::new(3);
    let two_chunks =
        || chunks.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok();
    let first = usage.flush_log(db, LogWay::Pool, &days, &turn, &two_chunks, 2).await.unwrap();
    assert_eq!(first, (4, 0));
    assert_eq!(usage.pending_entries(), 3);
    (0..2).for_each(|n| call(format!("/later/{n}")));
    assert_eq!(usage.pending_entries(), 5);
    // A writer told to give way at once takes nothing more.
    assert_eq!(
        usage.flush_log(db, LogWay::Pool, &days, &turn, &|| false, 2).await.unwrap(),
        (0, 0)
    );
    assert_eq!(usage.pending_entries(), 5);
    let rest = usage.flush_log(db, LogWay::Pool, &days, &turn, &|| true, 2).await.unwrap();
    assert_eq!((rest, usage.pending_entries()), ((5, 0), 0));
    let (_, page) = logs(&mut admin, json!({ "page": 1 })).await;
    let paths: Vec<&str> =
        page["entries"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    let expected: Vec<String> = (0..2)
        .rev()
        .map(|n| format!("/later/{n}"))
        .chain((0..7).rev().map(|n| format!("/first/{n}")))
        .collect();
    assert_eq!(paths, expected, "{page}");
}

/// A request-log write that fails (the database unreachable) loses
/// nothing: the entries are kept, ahead of calls made since, and the next
/// write writes them all, each once; the counts are written apart. (On
/// PostgreSQL, written with COPY as the log writers do.)
async fn a_failed_log_write_keeps_its_entries(engine: Engine) {
    // The test makes one day's table fail; calls after midnight would go to
    // the next day's, which the writer would make.
    clear_of_midnight(Duration::from_secs(30)).await;
    let app = TestApp::demo(&engine).await;
    let mut admin = app.signed_in("owner@acme.test").await;
    let (id, token) = create(&mut admin, "Kept").await;
    let copy = LogCopy::for_pool(&app.state.db).unwrap();
    let flush_log = || app.verifier.flush_log_via(&app.state.db, copy.as_ref(), false);
    // A first entry makes the day's table, which the writer then knows.
    assert_eq!(verify(&app, &token, &[], "/first").await, "VALID");
    assert_eq!(flush_log().await.unwrap(), (1, 0));
    let table = Day::of_ms(app::backend::db::now_ms()).table();
    for n in 0..3 {
        assert_eq!(verify(&app, &token, &[], &format!("/before/{n}")).await, "VALID");
    }
    // The day's table gone for a moment: the write fails (on SQLite, on
    // the log's own connection; on PostgreSQL, by COPY).
    sqlx::query(&format!("ALTER TABLE {table} RENAME TO request_log_away"))
        .execute(&app.state.db)
        .await
        .unwrap();
    assert!(flush_log().await.is_err());
    sqlx::query(&format!("ALTER TABLE request_log_away RENAME TO {table}"))
        .execute(&app.state.db)
        .await
        .unwrap();
    assert_eq!(app.verifier.usage.pending_entries(), 3);
    assert_eq!(verify(&app, &token, &[], "/after").await, "VALID");
    assert_eq!(app.verifier.flush_counts_to(&app.state.db).await.unwrap(), 1);
    let (counted,): (i64,) =
        app.row("SELECT request_count FROM api_keys WHERE id = $1", &[&id]).await;
    assert_eq!(counted, 5, "counts are written apart from the log");
    assert_eq!(flush_log().await.unwrap(), (4, 0));
    let (_, page) = logs(&mut admin, json!({ "page": 1 })).await;
    let paths: Vec<&str> =
        page["entries"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/after", "/before/2", "/before/1", "/before/0", "/first"], "{page}");
}

on_both_engines!(
    the_log_reads_day_segments_in_order_and_drops_them_whole,
    calls_in_one_millisecond_keep_their_order,
    a_failed_log_write_keeps_its_entries,
    one_flush_writes_each_call_to_its_days_table,
    two_instances_make_and_drop_the_same_days_at_once,
    a_writer_that_gives_way_holds_the_rest_back,
);
