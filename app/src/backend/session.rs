//! Server-side sessions: a random id in an HttpOnly cookie, its SHA-256 in the
//! database.

use super::db::{self, Db};
use super::secret;
use crate::error::AppError;
use http::HeaderMap;
use http::header::{COOKIE, HeaderValue};
use std::fmt;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "kw_session";

/// A session id as the browser holds it. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

impl SessionToken {
    /// A new id of 256 random bits from the OS.
    pub fn generate() -> Self {
        SessionToken(secret::random_token())
    }

    /// The token presented in the request's `Cookie` header, if any.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE_NAME)
            .map(|(_, value)| value.trim())
            .filter(|value| value.len() == 43)
            .map(|value| SessionToken(value.to_string()))
    }

    fn hash(&self) -> String {
        secret::sha256_hex(&self.0)
    }

    /// The `Set-Cookie` value that stores this session in the browser.
    pub fn set_cookie(&self, secure: bool, max_age_secs: i64) -> HeaderValue {
        let secure = if secure { "; Secure" } else { "" };
        let value = format!(
            "{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}",
            self.0
        );
        HeaderValue::from_str(&value).expect("session cookies are ASCII")
    }
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .expect("static cookie is ASCII")
}

/// The user a live session belongs to.
#[derive(Clone, Debug, Default)]
pub struct SessionUser {
    pub id: String,
    pub email: String,
    /// An instance admin (DESIGN.md §2).
    pub is_admin: bool,
    /// Where "Back to <platform>" leads, for a session opened from a
    /// portal link.
    pub return_url: Option<String>,
}

/// Starts a session for `user_id` lasting `ttl_secs`.
pub async fn create(
    db: &Db,
    user_id: &str,
    ttl_secs: i64,
    return_url: Option<&str>,
) -> Result<SessionToken, AppError> {
    let token = SessionToken::generate();
    let now = db::now();
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, return_url) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token.hash())
    .bind(user_id)
    .bind(now)
    .bind(now + ttl_secs)
    .bind(return_url)
    .execute(db)
    .await?;
    Ok(token)
}

/// The user of an unexpired session, or `None`.
pub async fn lookup(db: &Db, token: &SessionToken) -> Result<Option<SessionUser>, AppError> {
    let row: Option<(String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT u.id, u.email, u.is_admin, s.return_url FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2",
    )
    .bind(token.hash())
    .bind(db::now())
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(id, email, is_admin, return_url)| SessionUser {
        id,
        email,
        is_admin: is_admin != 0,
        return_url,
    }))
}

/// Ends a session; unknown tokens are ignored.
pub async fn destroy(db: &Db, token: &SessionToken) -> Result<(), AppError> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(token.hash()).execute(db).await?;
    Ok(())
}

/// Deletes expired sessions; returns how many.
pub async fn purge_expired(db: &Db) -> Result<u64, AppError> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(db::now())
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_eq!(a.0.len(), 43);
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "SessionToken(…)");
    }

    #[test]
    fn the_cookie_is_found_among_others_and_flags_are_set() {
        let token = SessionToken::generate();
        let mut headers = HeaderMap::new();
        let cookie = format!("theme=dark; {COOKIE_NAME}={}; other=1", token.0);
        headers.insert(COOKIE, HeaderValue::from_str(&cookie).unwrap());
        assert_eq!(SessionToken::from_headers(&headers), Some(token.clone()));

        let set = token.set_cookie(true, 60);
        let set = set.to_str().unwrap();
        for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=60"] {
            assert!(set.contains(flag), "{set} lacks {flag}");
        }
        assert!(!token.set_cookie(false, 60).to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn malformed_cookies_are_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("kw_session=short"));
        assert_eq!(SessionToken::from_headers(&headers), None);
    }
}
