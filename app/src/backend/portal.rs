//! Portal sessions (docs/design.md#platform-and-portal): one-time, five-minute sign-in links the
//! platform's backend asks for, so its own users reach their org's keys
//! without a Keywarden password. Only the token's SHA-256 is stored.

use super::audit::{self, AuditEntry};
use super::db::{self, Db};
use super::{orgs, secret};
use crate::domain::{Email, ReturnUrl, Role};
use crate::error::AppError;

/// How long a portal link works.
pub const PORTAL_TTL_SECS: i64 = 5 * 60;

/// The roles a portal session may hand out: never owner.
pub fn portal_role(role: Role) -> Result<Role, String> {
    match role {
        Role::Owner => {
            Err("A portal session cannot make an owner; use admin, member or viewer.".into())
        }
        role => Ok(role),
    }
}

/// A new link's token for `email` as `role` in the org `org_id`; expires
/// `PORTAL_TTL_SECS` from now (returned). A suspended org gets no link
/// (`Suspended`, audited).
pub async fn create(
    db: &Db,
    org_id: &str,
    email: &Email,
    role: Role,
    return_url: Option<&ReturnUrl>,
) -> Result<(String, i64), AppError> {
    let role = portal_role(role).map_err(AppError::Invalid)?;
    let (suspended_at,): (Option<i64>,) =
        sqlx::query_as("SELECT suspended_at FROM orgs WHERE id = $1")
            .bind(org_id)
            .fetch_one(db)
            .await?;
    // A suspended org's members still sign in through the platform; nobody
    // new joins it (the link's use checks again, under the org's lock).
    if suspended_at.is_some()
        && !orgs::has_member_email(&mut *db.acquire().await?, org_id, email.as_str()).await?
    {
        orgs::audit_refused_joining(db, org_id, email.as_str(), "operator API", None).await;
        return Err(AppError::Suspended);
    }
    let token = secret::random_token();
    let now = db::now();
    let expires_at = now + PORTAL_TTL_SECS;
    sqlx::query(
        "INSERT INTO portal_sessions (token_hash, org_id, email, role, return_url, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(secret::sha256_hex(&token))
    .bind(org_id)
    .bind(email.as_str())
    .bind(role.as_str())
    .bind(return_url.map(ReturnUrl::as_str))
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok((token, expires_at))
}

/// The org name and email of a usable link, without using it.
pub async fn peek(db: &Db, token: &str) -> Result<Option<(String, String)>, AppError> {
    if token.len() != 43 {
        return Ok(None);
    }
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT o.name, p.email FROM portal_sessions p JOIN orgs o ON o.id = p.org_id \
         WHERE p.token_hash = $1 AND p.used_at IS NULL AND p.expires_at > $2",
    )
    .bind(secret::sha256_hex(token))
    .bind(db::now())
    .fetch_optional(db)
    .await?;
    Ok(row)
}

/// Who a redeemed link signs in, and where.
#[derive(Debug)]
pub struct Redeemed {
    pub user_id: String,
    pub org_slug: String,
    pub return_url: Option<String>,
}

/// Uses the link behind `token` (once, before it expires): finds or creates
/// the user (without a password), gives them the link's role in the org
/// unless they own it, and audits it as the operator's. `NotFound` for an
/// unknown, used or expired token.
pub async fn redeem(db: &Db, token: &str, client_ip: Option<&str>) -> Result<Redeemed, AppError> {
    if token.len() != 43 {
        return Err(AppError::NotFound);
    }
    let hash = secret::sha256_hex(token);
    let now = db::now();
    let mut tx = db::begin(db).await?;
    let used = sqlx::query(
        "UPDATE portal_sessions SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
         AND expires_at > $1",
    )
    .bind(now)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() != 1 {
        return Err(AppError::NotFound);
    }
    let (org_id, org_slug, email, role, return_url): (
        String,
        String,
        String,
        String,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT p.org_id, o.slug, p.email, p.role, p.return_url FROM portal_sessions p \
             JOIN orgs o ON o.id = p.org_id WHERE p.token_hash = $1",
    )
    .bind(&hash)
    .fetch_one(&mut *tx)
    .await?;
    let role: Role = role
        .parse()
        .map_err(|_| AppError::internal(format_args!("unknown role {role:?} in portal session")))?;
    let email = Email::parse(&email).map_err(AppError::internal)?;
    let existing: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let user_id = match existing {
        Some((id,)) => id,
        // No password: one can be set later through an invitation.
        None => super::users::insert(&mut tx, &email, "").await?,
    };
    orgs::lock_org(&mut tx, &org_id).await?;
    let before = orgs::member_in_tx(&mut tx, &org_id, &user_id).await?;
    // A suspended org gains no member and changes no role; its members
    // still sign in and read.
    let suspended = orgs::is_suspended(&mut tx, &org_id).await?;
    if suspended && before.is_none() {
        // The link stays unused; the refusal is on record.
        tx.rollback().await?;
        orgs::audit_refused_joining(db, &org_id, email.as_str(), "portal link", client_ip).await;
        return Err(orgs::joining_refused());
    }
    let (action, changes) = match before.map(|(r, _)| r) {
        // A portal session never makes or unmakes an owner.
        Some(Role::Owner) => ("member.portal_signed_in", None),
        Some(current) if current == role || suspended => ("member.portal_signed_in", None),
        Some(current) => {
            orgs::set_role(&mut tx, &org_id, &user_id, role).await?;
            let changes = serde_json::json!({ "role": { "before": current.as_str(), "after": role.as_str() } });
            ("member.role_changed", Some(changes))
        }
        None => {
            orgs::add_member(&mut tx, &org_id, &user_id, role).await?;
            ("member.joined", Some(serde_json::json!({ "role": { "after": role.as_str() } })))
        }
    };
    audit::record(
        &mut tx,
        AuditEntry {
            org_id: &org_id,
            actor_id: None,
            actor_email: Some("operator (portal session)"),
            action,
            target_type: "member",
            target_id: Some(&user_id),
            target_label: Some(email.as_str()),
            changes,
            client_ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redeemed { user_id, org_slug, return_url })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_sessions_never_make_owners() {
        assert!(portal_role(Role::Owner).is_err());
        for role in [Role::Admin, Role::Member, Role::Viewer] {
            assert_eq!(portal_role(role), Ok(role));
        }
    }
}
