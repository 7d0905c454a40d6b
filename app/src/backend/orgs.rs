//! Organisations and memberships.

use super::db::{self, Db};
use crate::domain::{Capability, MemberView, OrgName, OrgSummary, Role, Slug};
use crate::error::AppError;
use sqlx::AnyConnection;

/// The caller's membership in one organisation.
#[derive(Clone, Debug)]
pub struct Membership {
    pub org_id: String,
    pub org_slug: String,
    pub org_name: String,
    pub role: Role,
    /// The org is suspended: its members read, nothing changes.
    pub suspended: bool,
    /// The org's policy requires two-factor sign-in.
    pub require_two_factor: bool,
}

impl Membership {
    /// Whether the caller may use `capability` here now: the role allows
    /// it and, in a suspended org, it changes nothing.
    pub fn can(&self, capability: Capability) -> bool {
        self.role.can(capability) && !(self.suspended && capability.changes_something())
    }

    /// [`Membership::can`] as an answer: `Forbidden`, or `Suspended` when
    /// only the suspension stands in the way.
    pub fn allow(&self, capability: Capability) -> Result<(), AppError> {
        if !self.role.can(capability) {
            Err(AppError::Forbidden)
        } else if self.suspended && capability.changes_something() {
            Err(AppError::Suspended)
        } else {
            Ok(())
        }
    }
}

fn parse_role(stored: &str) -> Result<Role, AppError> {
    stored
        .parse()
        .map_err(|_| AppError::internal(format_args!("unknown role {stored:?} in database")))
}

/// `user_id`'s membership in the org called `slug`, if they have one.
pub async fn membership(
    db: &Db,
    user_id: &str,
    slug: &str,
) -> Result<Option<Membership>, AppError> {
    let row: Option<(String, String, String, String, Option<i64>, i64)> = sqlx::query_as(
        "SELECT o.id, o.slug, o.name, m.role, o.suspended_at, o.require_two_factor FROM orgs o \
         JOIN memberships m ON m.org_id = o.id WHERE o.slug = $1 AND m.user_id = $2",
    )
    .bind(slug)
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    row.map(|(org_id, org_slug, org_name, role, suspended_at, require_two_factor)| {
        Ok(Membership {
            org_id,
            org_slug,
            org_name,
            role: parse_role(&role)?,
            suspended: suspended_at.is_some(),
            require_two_factor: require_two_factor != 0,
        })
    })
    .transpose()
}

/// Every org `user_id` belongs to, by name.
pub async fn orgs_of(db: &Db, user_id: &str) -> Result<Vec<OrgSummary>, AppError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT o.slug, o.name, m.role FROM orgs o JOIN memberships m ON m.org_id = o.id \
         WHERE m.user_id = $1 ORDER BY o.name, o.slug",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(slug, name, role)| Ok(OrgSummary { slug, name, role: parse_role(&role)? }))
        .collect()
}

/// Creates an org inside the caller's transaction; returns its id.
pub async fn insert(
    conn: &mut AnyConnection,
    slug: &Slug,
    name: &OrgName,
) -> Result<String, AppError> {
    let id = db::new_id();
    let inserted =
        sqlx::query("INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(slug.as_str())
            .bind(name.as_str())
            .bind(db::now())
            .execute(conn)
            .await;
    db::on_unique(inserted, || {
        AppError::Conflict(format!("The address \u{201c}{slug}\u{201d} is taken; choose another."))
    })?;
    Ok(id)
}

/// Adds a member; an existing membership is left as it is.
pub async fn add_member(
    conn: &mut AnyConnection,
    org_id: &str,
    user_id: &str,
    role: Role,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (org_id, user_id) DO NOTHING",
    )
    .bind(org_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(db::now())
    .execute(conn)
    .await?;
    Ok(())
}

/// The org's members, owners first, then by email.
pub async fn members(db: &Db, org_id: &str, me: &str) -> Result<Vec<MemberView>, AppError> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT u.id, u.email, m.role, m.created_at FROM memberships m \
         JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 ORDER BY u.email",
    )
    .bind(org_id)
    .fetch_all(db)
    .await?;
    let mut members = rows
        .into_iter()
        .map(|(user_id, email, role, joined_at)| {
            Ok(MemberView {
                is_you: user_id == me,
                user_id,
                email,
                role: parse_role(&role)?,
                joined_at,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    members.sort_by(|a, b| a.role.cmp(&b.role).then_with(|| a.email.cmp(&b.email)));
    Ok(members)
}

/// Takes the org's write lock for the rest of the transaction: on PostgreSQL
/// a row lock on the org, on SQLite the database write lock. Member changes
/// take it first so two of them cannot both pass the last-owner check.
pub async fn lock_org(conn: &mut AnyConnection, org_id: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE orgs SET slug = slug WHERE id = $1").bind(org_id).execute(conn).await?;
    Ok(())
}

/// What someone joining a suspended org is told.
pub const SUSPENDED_JOINING: &str =
    "This organisation is suspended: it takes no new members until the platform resumes it.";

/// The refusal of someone joining a suspended org.
pub fn joining_refused() -> AppError {
    AppError::NotAllowed(SUSPENDED_JOINING.into())
}

/// Whether org `org_id` is suspended, read in the caller's transaction:
/// after [`lock_org`], a suspension that commits first always wins.
pub async fn is_suspended(conn: &mut AnyConnection, org_id: &str) -> Result<bool, AppError> {
    let (suspended_at,): (Option<i64>,) =
        sqlx::query_as("SELECT suspended_at FROM orgs WHERE id = $1")
            .bind(org_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(suspended_at.is_some())
}

/// Locks the org `org_id` for a change of its members ([`lock_org`]) and
/// refuses when it is suspended: a suspended org gains no member by any way
/// in (invitation, portal link).
pub async fn lock_open_org(conn: &mut AnyConnection, org_id: &str) -> Result<(), AppError> {
    lock_org(conn, org_id).await?;
    if is_suspended(conn, org_id).await? { Err(joining_refused()) } else { Ok(()) }
}

/// Audits a refused joining of the suspended org `org_id` by `email`
/// (`via`: "invitation", "portal link", "operator API"), outside the
/// refused transaction. A failure to write it is logged, never put in the
/// way of the refusal itself.
pub async fn audit_refused_joining(
    db: &Db,
    org_id: &str,
    email: &str,
    via: &str,
    client_ip: Option<&str>,
) {
    let entry = super::audit::AuditEntry {
        org_id,
        actor_id: None,
        actor_email: Some(email),
        action: "member.join_refused",
        target_type: "member",
        target_id: None,
        target_label: Some(email),
        changes: Some(serde_json::json!({ "reason": "suspended", "via": via })),
        client_ip,
    };
    let written = match db.acquire().await {
        Ok(mut conn) => super::audit::record(&mut conn, entry).await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        tracing::error!(error = %e, via, "auditing a refused joining of a suspended org");
    }
}

/// A member's role and email inside a locked transaction.
pub async fn member_in_tx(
    conn: &mut AnyConnection,
    org_id: &str,
    user_id: &str,
) -> Result<Option<(Role, String)>, AppError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT m.role, u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND m.user_id = $2",
    )
    .bind(org_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    row.map(|(role, email)| Ok((parse_role(&role)?, email))).transpose()
}

/// How many owners the org has, inside a locked transaction.
pub async fn owner_count(conn: &mut AnyConnection, org_id: &str) -> Result<i64, AppError> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'")
            .bind(org_id)
            .fetch_one(conn)
            .await?;
    Ok(n)
}

/// Sets a member's role.
pub async fn set_role(
    conn: &mut AnyConnection,
    org_id: &str,
    user_id: &str,
    role: Role,
) -> Result<(), AppError> {
    sqlx::query("UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3")
        .bind(role.as_str())
        .bind(org_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes a member from the org.
pub async fn remove_member(
    conn: &mut AnyConnection,
    org_id: &str,
    user_id: &str,
) -> Result<(), AppError> {
    sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether someone with `email` is a member of the org.
pub async fn has_member_email(
    conn: &mut AnyConnection,
    org_id: &str,
    email: &str,
) -> Result<bool, AppError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND u.email = $2",
    )
    .bind(org_id)
    .bind(email)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}
