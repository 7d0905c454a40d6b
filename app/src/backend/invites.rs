//! Invitations: a one-time link for an email and a role. Only the token's
//! SHA-256 is stored.

use super::db::{self, Db};
use super::secret;
use crate::domain::{Email, InvitationView, Role};
use crate::error::AppError;
use sqlx::AnyConnection;

/// An invitation that can still be accepted.
#[derive(Clone, Debug)]
pub struct PendingInvitation {
    pub id: String,
    pub org_id: String,
    pub org_slug: String,
    pub org_name: String,
    pub email: String,
    pub role: Role,
    pub expires_at: i64,
}

/// Who made an invitation: a member of the org, or the operator (the admin
/// console's org creation, the CLI, the operator API), named by a label.
#[derive(Clone, Copy, Debug)]
pub enum Inviter<'a> {
    User(&'a str),
    Operator(&'a str),
}

/// Creates an invitation inside the caller's transaction, replacing any
/// pending one for the same email; returns its id and the token (the only
/// time the token exists outside the link).
pub async fn insert(
    conn: &mut AnyConnection,
    org_id: &str,
    email: &Email,
    role: Role,
    invited_by: Inviter<'_>,
    ttl_secs: i64,
) -> Result<(String, String), AppError> {
    let (user, label) = match invited_by {
        Inviter::User(id) => (Some(id), None),
        Inviter::Operator(label) => (None, Some(label)),
    };
    let now = db::now();
    sqlx::query(
        "UPDATE invitations SET revoked_at = $1 WHERE org_id = $2 AND email = $3 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(org_id)
    .bind(email.as_str())
    .execute(&mut *conn)
    .await?;
    let id = db::new_id();
    let token = secret::random_token();
    sqlx::query(
        "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, invited_by_label, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(org_id)
    .bind(email.as_str())
    .bind(role.as_str())
    .bind(secret::sha256_hex(&token))
    .bind(user)
    .bind(label)
    .bind(now)
    .bind(now + ttl_secs)
    .execute(conn)
    .await?;
    Ok((id, token))
}

/// The invitation behind `token` if it is neither used, revoked nor expired.
pub async fn find_pending(db: &Db, token: &str) -> Result<Option<PendingInvitation>, AppError> {
    if token.len() != 43 {
        return Ok(None);
    }
    let row: Option<(String, String, String, String, String, String, i64)> = sqlx::query_as(
        "SELECT i.id, i.org_id, o.slug, o.name, i.email, i.role, i.expires_at \
         FROM invitations i JOIN orgs o ON o.id = i.org_id \
         WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL \
         AND i.expires_at > $2",
    )
    .bind(secret::sha256_hex(token))
    .bind(db::now())
    .fetch_optional(db)
    .await?;
    let Some((id, org_id, org_slug, org_name, email, role, expires_at)) = row else {
        return Ok(None);
    };
    let role = role
        .parse()
        .map_err(|_| AppError::internal(format_args!("unknown role {role:?} in invitation")))?;
    Ok(Some(PendingInvitation { id, org_id, org_slug, org_name, email, role, expires_at }))
}

/// Marks the invitation used; `false` if someone used or revoked it first.
pub async fn mark_accepted(conn: &mut AnyConnection, id: &str) -> Result<bool, AppError> {
    let done = sqlx::query(
        "UPDATE invitations SET accepted_at = $1 WHERE id = $2 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(db::now())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The org's invitations that can still be accepted, newest first.
pub async fn list_pending(db: &Db, org_id: &str) -> Result<Vec<InvitationView>, AppError> {
    let rows: Vec<(String, String, String, i64, String)> = sqlx::query_as(
        "SELECT i.id, i.email, i.role, i.expires_at, \
         COALESCE(u.email, i.invited_by_label, 'operator') FROM invitations i \
         LEFT JOIN users u ON u.id = i.invited_by \
         WHERE i.org_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2 \
         ORDER BY i.created_at DESC",
    )
    .bind(org_id)
    .bind(db::now())
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(id, email, role, expires_at, invited_by)| {
            let role = role.parse().map_err(|_| {
                AppError::internal(format_args!("unknown role {role:?} in invitation"))
            })?;
            Ok(InvitationView { id, email, role, expires_at, invited_by })
        })
        .collect()
}

/// A pending invitation's email and role, inside a transaction.
pub async fn pending_in_org(
    conn: &mut AnyConnection,
    org_id: &str,
    id: &str,
) -> Result<Option<(String, Role)>, AppError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT email, role FROM invitations WHERE org_id = $1 AND id = $2 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(org_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(email, role)| {
        let role = role
            .parse()
            .map_err(|_| AppError::internal(format_args!("unknown role {role:?} in invitation")))?;
        Ok((email, role))
    })
    .transpose()
}

/// Revokes a pending invitation.
pub async fn revoke(conn: &mut AnyConnection, id: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(db::now())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
