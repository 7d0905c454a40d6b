//! The half-signed-in state between the password and the second factor:
//! a random token in its own short-lived HttpOnly cookie, its SHA-256 in
//! the database, gone after 5 minutes or once used. No session exists
//! until both steps pass.

use super::db::{self, Db};
use super::secret;
use crate::error::AppError;
use http::HeaderMap;
use http::header::HeaderValue;

/// The cookie's name.
pub const COOKIE_NAME: &str = "kw_pending";
/// How long the second step may take.
pub const PENDING_SECS: i64 = 300;

/// Records that `user_id` passed the password step (then going to
/// `next`); returns the token for the cookie.
pub async fn begin(db: &Db, user_id: &str, next: &str) -> Result<String, AppError> {
    let token = secret::random_token();
    sqlx::query("DELETE FROM pending_sign_ins WHERE expires_at <= $1")
        .bind(db::now())
        .execute(db)
        .await?;
    sqlx::query(
        "INSERT INTO pending_sign_ins (token_hash, user_id, next, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(secret::sha256_hex(&token))
    .bind(user_id)
    .bind(next)
    .bind(db::now() + PENDING_SECS)
    .execute(db)
    .await?;
    Ok(token)
}

/// A pending sign-in: the user, their email and where they go next.
pub struct Pending {
    pub user_id: String,
    pub email: String,
    pub next: String,
}

/// The unexpired pending sign-in of `token`.
pub async fn find(db: &Db, token: &str) -> Result<Option<Pending>, AppError> {
    let row: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT p.user_id, u.email, p.next FROM pending_sign_ins p JOIN users u ON u.id = p.user_id \
         WHERE p.token_hash = $1 AND p.expires_at > $2",
    )
    .bind(secret::sha256_hex(token))
    .bind(db::now())
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(user_id, email, next)| Pending { user_id, email, next: next.unwrap_or_default() }))
}

/// Ends a pending sign-in; `false` when it was already gone (used by a
/// racing request).
pub async fn finish(db: &Db, token: &str) -> Result<bool, AppError> {
    let done = sqlx::query("DELETE FROM pending_sign_ins WHERE token_hash = $1")
        .bind(secret::sha256_hex(token))
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every pending sign-in of `user_id` (after a password change).
pub async fn forget_user(db: &Db, user_id: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM pending_sign_ins WHERE user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// The token the request's cookie holds, if any.
pub fn from_headers(headers: &HeaderMap) -> Option<String> {
    secret::token_cookie(headers, COOKIE_NAME)
}

/// `Set-Cookie` for `token` (or, with `None`, removing it).
pub fn cookie(token: Option<&str>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let (value, age) = match token {
        Some(t) => (t, PENDING_SECS),
        None => ("", 0),
    };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={age}{secure}"
    ))
    .expect("cookies are ASCII")
}
