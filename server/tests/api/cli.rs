//! `keywarden org …` and `keywarden admin …` as real processes on SQLite
//! and PostgreSQL: output, exit codes, and what they change.

use crate::common::Engine;
use crate::common::binary::prepared_database;
use std::process::{Command, Output};

fn keywarden(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keywarden"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("KEYWARDEN_PUBLIC_URL", "https://keys.example")
        .env_remove("KEYWARDEN_CONFIG")
        .output()
        .expect("run keywarden")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn the_command_line_manages_organisations(engine: Engine) {
    let (url, pool) = prepared_database(&engine).await;

    let out = keywarden(
        &url,
        &[
            "org",
            "create",
            "--slug",
            "initech",
            "--name",
            "Initech",
            "--owner",
            "boss@initech.test",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Created Initech (initech)."), "{stdout}");
    let link = stdout
        .lines()
        .find(|l| l.starts_with("https://keys.example/invite/"))
        .unwrap_or_else(|| panic!("no link in {stdout}"));
    assert_eq!(link.len(), "https://keys.example/invite/".len() + 43);

    // Bad input: a clear message and a non-zero exit, nothing created.
    for (args, message) in [
        (vec!["org", "create", "--slug", "initech", "--name", "Again"], "is taken"),
        (vec!["org", "create", "--slug", "Bad Slug", "--name", "X"], "lowercase letters"),
        (vec!["org", "create", "--slug", "fine", "--name", "X", "--owner", "nope"], "valid email"),
        (vec!["org", "suspend", "nope"], "no such organisation"),
        (vec!["admin", "grant", "nobody@nowhere.test"], "no user"),
        (vec!["admin", "grant", "not an email"], "valid email"),
    ] {
        let out = keywarden(&url, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with("keywarden: ") && stderr.contains(message),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"));
    }
    let out = keywarden(&url, &["org", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2), "clap's usage error");

    let out = keywarden(&url, &["org", "suspend", "initech"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim(), "initech is now suspended.");
    let out = keywarden(&url, &["org", "suspend", "initech"]);
    assert_eq!(text(&out.stdout).trim(), "initech was already suspended.");

    let out = keywarden(&url, &["org", "list"]);
    assert!(out.status.success());
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("SLUG") && lines[0].contains("STATUS"), "{table}");
    assert!(
        lines[1].starts_with("acme ")
            && lines[1].contains("Acme Inc.")
            && lines[1].ends_with("Active"),
        "{table}"
    );
    assert!(lines[3].starts_with("initech") && lines[3].ends_with("Suspended"), "{table}");
    assert_eq!(lines.last(), Some(&"3 organisations"));
    let out = keywarden(&url, &["org", "list", "--search", "glob"]);
    assert!(text(&out.stdout).contains("1 organisations"));

    let out = keywarden(&url, &["org", "resume", "initech"]);
    assert_eq!(text(&out.stdout).trim(), "initech is now active.");
    let (suspended,): (Option<i64>,) =
        sqlx::query_as("SELECT suspended_at FROM orgs WHERE slug = 'initech'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(suspended, None);

    let out = keywarden(&url, &["admin", "grant", "Viewer@Acme.test"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (admin,): (i64,) =
        sqlx::query_as("SELECT is_admin FROM users WHERE email = 'viewer@acme.test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(admin, 1);
    let out = keywarden(&url, &["admin", "revoke", "viewer@acme.test"]);
    assert_eq!(text(&out.stdout).trim(), "viewer@acme.test is no longer an instance admin.");

    let actions: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT a.action, a.actor_email FROM audit_log a JOIN orgs o ON o.id = a.org_id \
         WHERE o.slug = 'initech' ORDER BY a.at_ms, a.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let names: Vec<&str> = actions.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(names, ["org.created", "member.invited", "org.suspended", "org.resumed"]);
    assert!(actions.iter().all(|(_, actor)| actor.as_deref() == Some("operator (command line)")));
}

on_both_engines!(the_command_line_manages_organisations);
