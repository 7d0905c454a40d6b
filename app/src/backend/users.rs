//! Users: lookup by email and creation.

use super::db::{self, Db};
use crate::domain::Email;
use crate::error::AppError;
use sqlx::AnyConnection;

/// A user row with the password hash, for sign-in.
pub struct UserCredentials {
    pub id: String,
    pub email: String,
    pub password_hash: String,
}

/// The user with this (normalised) email, if any.
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<UserCredentials>, AppError> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT id, email, password_hash FROM users WHERE email = $1")
            .bind(email.trim().to_lowercase())
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(id, email, password_hash)| UserCredentials { id, email, password_hash }))
}

/// Creates a user inside the caller's transaction; returns the new id.
/// The password is hashed before the transaction is touched.
pub async fn insert(
    conn: &mut AnyConnection,
    email: &Email,
    password_hash: &str,
) -> Result<String, AppError> {
    let id = db::new_id();
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(email.as_str())
    .bind(password_hash)
    .bind(db::now())
    .execute(conn)
    .await;
    db::on_unique(inserted, || {
        AppError::Conflict("An account with this email already exists.".into())
    })?;
    Ok(id)
}

/// Claims first-run setup inside the caller's transaction: `false` when
/// Keywarden is already set up (another setup claimed it, or users exist).
/// The claim is written before anything is read, so on either engine a
/// racing second setup waits for the first and then fails on the key.
pub async fn claim_setup(conn: &mut AnyConnection) -> Result<bool, AppError> {
    let claimed = sqlx::query("INSERT INTO instance_setup (id, at_ms) VALUES (1, $1)")
        .bind(db::now_ms())
        .execute(&mut *conn)
        .await;
    if let Err(AppError::Conflict(_)) = db::on_unique(claimed, || AppError::Conflict(String::new()))
    {
        return Ok(false);
    }
    let (users,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(&mut *conn).await?;
    Ok(users == 0)
}

/// Sets a user's password hash (a portal user, signed in through their
/// platform, choosing one).
pub async fn set_password(
    conn: &mut AnyConnection,
    user_id: &str,
    password_hash: &str,
) -> Result<(), AppError> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes a user an instance admin inside the caller's transaction (the
/// first user, made at `/setup`).
pub async fn make_admin(conn: &mut AnyConnection, user_id: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE users SET is_admin = 1 WHERE id = $1").bind(user_id).execute(conn).await?;
    Ok(())
}
