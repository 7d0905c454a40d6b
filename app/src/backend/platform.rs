//! The platform's side of organisations (docs/design.md#roles, #platform-and-portal): list, create
//! (with the first owner's invitation), rename, suspend and resume. The
//! admin console, the command line and the operator API all go through
//! these, so each change is checked, audited and propagated the same way.

use super::audit::{self, AuditEntry};
use super::db::{self, Db};
use super::invites::{self, Inviter};
use super::state::AppState;
use super::{orgs, users};
use crate::domain::{Email, Founding, NewOwnedOrg, OrgName, OrgOverview, OrgPage, Role, Slug};
use crate::error::AppError;

/// Organisations per page of the console and `GET /v1/orgs`.
pub const ORGS_PER_PAGE: u32 = 25;

/// Who made a platform change, as the audit log names them.
#[derive(Clone, Copy, Debug)]
pub enum PlatformActor<'a> {
    /// An instance admin in the console: (user id, email).
    Admin(&'a str, &'a str),
    /// The platform's backend over the operator API.
    Operator,
    /// `keywarden org …` on the server.
    CommandLine,
    /// The org's owner on its Organisation page: (user id, email).
    Owner(&'a str, &'a str),
}

impl PlatformActor<'_> {
    fn audit(&self) -> (Option<&str>, &str) {
        match *self {
            PlatformActor::Admin(id, email) | PlatformActor::Owner(id, email) => (Some(id), email),
            PlatformActor::Operator => (None, "operator"),
            PlatformActor::CommandLine => (None, "operator (command line)"),
        }
    }

    fn inviter(&self) -> Inviter<'_> {
        match *self {
            PlatformActor::Admin(id, _) | PlatformActor::Owner(id, _) => Inviter::User(id),
            _ => Inviter::Operator(self.audit().1),
        }
    }
}

const OVERVIEW: &str = "SELECT o.slug, o.name, \
     (SELECT COUNT(*) FROM memberships m WHERE m.org_id = o.id), \
     (SELECT COUNT(*) FROM api_keys k WHERE k.org_id = o.id AND k.revoked_at IS NULL \
        AND k.disabled = 0 AND (k.expires_at IS NULL OR k.expires_at > $1)), \
     (SELECT COUNT(*) FROM api_keys k WHERE k.org_id = o.id), \
     (SELECT CAST(COALESCE(SUM(u.count), 0) AS BIGINT) FROM key_usage u JOIN api_keys k ON k.id = u.key_id \
        WHERE k.org_id = o.id AND u.hour >= $2), \
     o.created_at, o.suspended_at FROM orgs o";

type OverviewRow = (String, String, i64, i64, i64, i64, i64, Option<i64>);

fn overview(row: OverviewRow) -> OrgOverview {
    let (slug, name, members, active_keys, keys, verifications_24h, created_at, suspended_at) = row;
    OrgOverview {
        slug,
        name,
        members,
        active_keys,
        keys,
        verifications_24h,
        created_at,
        suspended_at,
    }
}

/// The hour from which "the last 24 hours" of usage are counted.
fn day_ago(now: i64) -> i64 {
    let from = now - 24 * 3600;
    from - from.rem_euclid(3600)
}

/// One page (from 1) of organisations whose slug or name contains
/// `search` (any case), by name.
pub async fn list(db: &Db, search: &str, page: u32) -> Result<OrgPage, AppError> {
    let page = page.max(1);
    let pattern = super::keys::store::like_pattern(search);
    let matches = |n: u8| {
        format!("(LOWER(o.slug) LIKE ${n} ESCAPE '\\' OR LOWER(o.name) LIKE ${n} ESCAPE '\\')")
    };
    let now = db::now();
    let rows: Vec<OverviewRow> = sqlx::query_as(&format!(
        "{OVERVIEW} WHERE {} ORDER BY o.name, o.slug LIMIT $4 OFFSET $5",
        matches(3)
    ))
    .bind(now)
    .bind(day_ago(now))
    .bind(&pattern)
    .bind(i64::from(ORGS_PER_PAGE))
    .bind(i64::from(page - 1) * i64::from(ORGS_PER_PAGE))
    .fetch_all(db)
    .await?;
    let (total,): (i64,) =
        sqlx::query_as(&format!("SELECT COUNT(*) FROM orgs o WHERE {}", matches(1)))
            .bind(&pattern)
            .fetch_one(db)
            .await?;
    Ok(OrgPage {
        orgs: rows.into_iter().map(overview).collect(),
        total,
        page,
        per_page: ORGS_PER_PAGE,
    })
}

/// The organisation called `slug`.
pub async fn find(db: &Db, slug: &str) -> Result<Option<OrgOverview>, AppError> {
    let now = db::now();
    let row: Option<OverviewRow> = sqlx::query_as(&format!("{OVERVIEW} WHERE o.slug = $3"))
        .bind(now)
        .bind(day_ago(now))
        .bind(slug)
        .fetch_optional(db)
        .await?;
    Ok(row.map(overview))
}

/// The answer to a first-run setup once Keywarden is set up.
pub fn already_set_up() -> AppError {
    AppError::Conflict("Keywarden is already set up. Sign in instead.".into())
}

/// A new account that owns a new organisation, in one transaction; returns
/// the user's id and the org's slug.
pub async fn found(
    state: &AppState,
    org: NewOwnedOrg,
    how: Founding,
    client_ip: Option<&str>,
) -> Result<(String, Slug), AppError> {
    let NewOwnedOrg { name, slug, email, password } = org;
    let hash = super::password::hash(&state.hashing, password).await?;
    let mut tx = db::begin(&state.db).await?;
    // Claimed inside the transaction: of two first-run forms racing, the
    // second fails here (or sees the first's user) and creates nothing.
    if how == Founding::FirstRun && !users::claim_setup(&mut tx).await? {
        return Err(already_set_up());
    }
    let user_id = users::insert(&mut tx, &email, &hash).await?;
    let org_id = orgs::insert(&mut tx, &slug, &name).await?;
    orgs::add_member(&mut tx, &org_id, &user_id, Role::Owner).await?;
    audit::record(
        &mut tx,
        AuditEntry {
            org_id: &org_id,
            actor_id: Some(&user_id),
            actor_email: Some(email.as_str()),
            action: "org.created",
            target_type: "org",
            target_id: Some(&org_id),
            target_label: Some(name.as_str()),
            changes: None,
            client_ip,
        },
    )
    .await?;
    if how == Founding::FirstRun {
        users::make_admin(&mut tx, &user_id).await?;
    }
    tx.commit().await?;
    Ok((user_id, slug))
}

/// The id of the organisation called `slug`.
pub async fn org_id(db: &Db, slug: &str) -> Result<Option<String>, AppError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT id FROM orgs WHERE slug = $1").bind(slug).fetch_optional(db).await?;
    Ok(row.map(|(id,)| id))
}

/// A new organisation and, when `owner` is named, the token of their
/// one-time invitation as its owner (the link is `/invite/<token>`).
pub async fn create(
    db: &Db,
    actor: PlatformActor<'_>,
    slug: &Slug,
    name: &OrgName,
    owner: Option<&Email>,
    invitation_ttl_secs: i64,
    client_ip: Option<&str>,
) -> Result<(OrgOverview, Option<String>), AppError> {
    let mut tx = db::begin(db).await?;
    let org_id = orgs::insert(&mut tx, slug, name).await?;
    record(&mut tx, actor, &org_id, "org.created", name.as_str(), None, client_ip).await?;
    let token = match owner {
        Some(email) => {
            let (id, token) = invites::insert(
                &mut tx,
                &org_id,
                email,
                Role::Owner,
                actor.inviter(),
                invitation_ttl_secs,
            )
            .await?;
            let changes = serde_json::json!({ "role": { "after": Role::Owner.as_str() } });
            let (actor_id, actor_email) = actor.audit();
            audit::record(
                &mut tx,
                AuditEntry {
                    org_id: &org_id,
                    actor_id,
                    actor_email: Some(actor_email),
                    action: "member.invited",
                    target_type: "invitation",
                    target_id: Some(&id),
                    target_label: Some(email.as_str()),
                    changes: Some(changes),
                    client_ip,
                },
            )
            .await?;
            Some(token)
        }
        None => None,
    };
    tx.commit().await?;
    let org = find(db, slug.as_str()).await?.ok_or(AppError::NotFound)?;
    Ok((org, token))
}

async fn record(
    conn: &mut sqlx::AnyConnection,
    actor: PlatformActor<'_>,
    org_id: &str,
    action: &'static str,
    label: &str,
    changes: Option<serde_json::Value>,
    client_ip: Option<&str>,
) -> Result<(), AppError> {
    let (actor_id, actor_email) = actor.audit();
    audit::record(
        conn,
        AuditEntry {
            org_id,
            actor_id,
            actor_email: Some(actor_email),
            action,
            target_type: "org",
            target_id: Some(org_id),
            target_label: Some(label),
            changes,
            client_ip,
        },
    )
    .await?;
    Ok(())
}

/// What the platform changes about an org; `None` keeps it.
#[derive(Debug, Default)]
pub struct OrgChange<'a> {
    pub name: Option<&'a OrgName>,
    /// `true` suspends, `false` resumes.
    pub suspended: Option<bool>,
}

impl<'a> OrgChange<'a> {
    /// A new name (the slug stays).
    pub fn renaming(name: &'a OrgName) -> Self {
        OrgChange { name: Some(name), suspended: None }
    }

    /// A suspension (`true`) or its end.
    pub fn suspending(suspended: bool) -> Self {
        OrgChange { name: None, suspended: Some(suspended) }
    }
}

/// Renames, suspends or resumes the org called `slug`, all in one
/// transaction. A suspension (or its end) queues one change notice for the
/// org, so every instance drops its keys' cached answers when it commits;
/// the caller tells its own instance. Returns the org's id and whether its
/// suspension changed.
pub async fn change(
    db: &Db,
    instance: &str,
    actor: PlatformActor<'_>,
    slug: &str,
    change: OrgChange<'_>,
    client_ip: Option<&str>,
) -> Result<(String, bool), AppError> {
    let mut tx = db::begin(db).await?;
    let (org_id, before, was): (String, String, Option<i64>) =
        sqlx::query_as("SELECT id, name, suspended_at FROM orgs WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(AppError::NotFound)?;
    let mut name = before.clone();
    if let Some(new) = change.name.filter(|n| n.as_str() != before) {
        sqlx::query("UPDATE orgs SET name = $1 WHERE id = $2")
            .bind(new.as_str())
            .bind(&org_id)
            .execute(&mut *tx)
            .await?;
        let changes = serde_json::json!({ "name": { "before": before, "after": new.as_str() } });
        record(&mut tx, actor, &org_id, "org.renamed", new.as_str(), Some(changes), client_ip)
            .await?;
        name = new.as_str().to_string();
    }
    let suspension = change.suspended.filter(|s| was.is_some() != *s);
    if let Some(suspended) = suspension {
        sqlx::query("UPDATE orgs SET suspended_at = $1 WHERE id = $2")
            .bind(suspended.then(db::now))
            .bind(&org_id)
            .execute(&mut *tx)
            .await?;
        let action = if suspended { "org.suspended" } else { "org.resumed" };
        record(&mut tx, actor, &org_id, action, &name, None, client_ip).await?;
        super::keys::notify_org_change(&mut tx, db::Engine::of(db), instance, &org_id).await?;
    }
    tx.commit().await?;
    Ok((org_id, suspension.is_some()))
}

/// Makes the user with `email` an instance admin (or not); `false` when
/// no such user exists.
pub async fn set_instance_admin(db: &Db, email: &str, admin: bool) -> Result<bool, AppError> {
    let done = sqlx::query("UPDATE users SET is_admin = $1 WHERE email = $2")
        .bind(i64::from(admin))
        .bind(email.trim().to_lowercase())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_day_starts_on_the_hour() {
        assert_eq!(day_ago(1_700_000_000), 1_699_912_800);
        assert_eq!(day_ago(1_700_000_000) % 3600, 0);
    }
}
