//! `keywarden org …` and `keywarden admin …`: the platform's command line
//! (docs/design.md#platform-and-portal). Each prints its answer on stdout, or a message on
//! stderr with a non-zero exit for bad input; never a panic.
//!
//! On PostgreSQL a suspension reaches running instances at once (the same
//! change notice the console sends). A SQLite file has one server, which
//! hears nothing from this separate process: its cached answers follow
//! within the cache's minute; use the console or the operator API there
//! when it must be immediate.

use crate::config::{AdminCommand, Config, OrgCommand};
use app::AppError;
use app::backend::platform::{self, PlatformActor};
use app::backend::{Db, db};
use app::domain::time::format_date;
use app::domain::{Email, OrgName, OrgOverview, Slug};
use std::process::ExitCode;

async fn connect(config: &Config) -> Result<Db, String> {
    let pool = db::connect(&config.database_url)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    db::migrate(&pool).await.map_err(|e| format!("cannot migrate the database: {e}"))?;
    Ok(pool)
}

fn finish(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("keywarden: {message}");
            ExitCode::FAILURE
        }
    }
}

fn words(e: AppError) -> String {
    match e {
        AppError::NotFound => "no such organisation".into(),
        other => other.to_string(),
    }
}

/// Runs `keywarden org …`.
pub async fn org(config: &Config, command: OrgCommand) -> ExitCode {
    finish(run_org(config, command).await)
}

async fn run_org(config: &Config, command: OrgCommand) -> Result<String, String> {
    match command {
        OrgCommand::Create { slug, name, owner } => {
            let slug = Slug::parse(&slug)?;
            let name = OrgName::parse(&name)?;
            let owner = owner.as_deref().map(Email::parse).transpose()?;
            let db = connect(config).await?;
            let ttl = i64::from(config.invitation_ttl_hours) * 3600;
            let (org, token) = platform::create(
                &db,
                PlatformActor::CommandLine,
                &slug,
                &name,
                owner.as_ref(),
                ttl,
                None,
            )
            .await
            .map_err(words)?;
            let mut out = format!("Created {} ({}).", org.name, org.slug);
            if let (Some(token), Some(owner)) = (token, owner) {
                let origin =
                    config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.addr));
                out.push_str(&format!(
                    "\nInvitation link for {owner} (owner, works once, expires in {} hours):\n{}/invite/{token}",
                    config.invitation_ttl_hours,
                    origin.trim_end_matches('/')
                ));
            }
            Ok(out)
        }
        OrgCommand::List { search } => {
            let db = connect(config).await?;
            let search = search.unwrap_or_default();
            let mut orgs = Vec::new();
            for page in 1.. {
                let batch = platform::list(&db, &search, page).await.map_err(words)?;
                let done = (page as i64) * i64::from(batch.per_page) >= batch.total;
                orgs.extend(batch.orgs);
                if done {
                    break;
                }
            }
            Ok(table(&orgs))
        }
        OrgCommand::Suspend { slug } => suspend(config, &slug, true).await,
        OrgCommand::Resume { slug } => suspend(config, &slug, false).await,
    }
}

async fn suspend(config: &Config, slug: &str, suspended: bool) -> Result<String, String> {
    let db = connect(config).await?;
    let instance = db::new_id();
    let suspending = platform::OrgChange::suspending(suspended);
    let (_, changed) =
        platform::change(&db, &instance, PlatformActor::CommandLine, slug, suspending, None)
            .await
            .map_err(words)?;
    let state = if suspended { "suspended" } else { "active" };
    Ok(if changed {
        format!("{slug} is now {state}.")
    } else {
        format!("{slug} was already {state}.")
    })
}

/// The organisations as an aligned text table.
fn table(orgs: &[OrgOverview]) -> String {
    let header = [
        "SLUG",
        "NAME",
        "MEMBERS",
        "KEYS (ACTIVE/TOTAL)",
        "VERIFICATIONS 24H",
        "CREATED",
        "STATUS",
    ];
    let rows: Vec<[String; 7]> = orgs
        .iter()
        .map(|o| {
            [
                o.slug.clone(),
                o.name.clone(),
                o.members.to_string(),
                format!("{}/{}", o.active_keys, o.keys),
                o.verifications_24h.to_string(),
                format_date(o.created_at),
                o.status().to_string(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(rows.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    out.push(format!("{} organisations", orgs.len()));
    out.join("\n")
}

/// Runs `keywarden admin …`.
pub async fn admin(config: &Config, command: AdminCommand) -> ExitCode {
    let (email, grant) = match &command {
        AdminCommand::Grant { email } => (email, true),
        AdminCommand::Revoke { email } => (email, false),
    };
    let result = async {
        let email = Email::parse(email)?;
        let db = connect(config).await?;
        if !platform::set_instance_admin(&db, email.as_str(), grant).await.map_err(words)? {
            return Err(format!("no user with the email {email}"));
        }
        Ok(if grant {
            format!("{email} is now an instance admin.")
        } else {
            format!("{email} is no longer an instance admin.")
        })
    }
    .await;
    finish(result)
}
