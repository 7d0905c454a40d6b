//! Server-side sessions: a random id in an HttpOnly cookie, its SHA-256 in the
//! database.

use super::db::{self, Db};
use super::secret;
use crate::error::AppError;
use http::HeaderMap;
use http::header::HeaderValue;
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
        secret::token_cookie(headers, COOKIE_NAME).map(SessionToken)
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
    /// An instance admin (docs/design.md#roles).
    pub is_admin: bool,
    /// Where "Back to <platform>" leads, for a session opened from a
    /// portal link.
    pub return_url: Option<String>,
    /// The session's own id (not its secret), as the Account page lists it.
    pub session_id: String,
    /// Two-factor sign-in is on for this user.
    pub two_factor: bool,
    /// The user has a Keywarden password (portal-only users have none).
    pub has_password: bool,
}

impl SessionUser {
    /// Whether an org requiring two-factor sign-in may be used in this
    /// session: with two-factor on, or in a session the platform opened
    /// from a portal link for a user without a password (the platform
    /// signed them in and answers for how).
    pub fn meets_two_factor(&self) -> bool {
        self.two_factor || (self.return_url.is_some() && !self.has_password)
    }
}

/// Where a session was started from (for the Account page).
#[derive(Clone, Copy, Debug, Default)]
pub struct Origin<'a> {
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
}

/// Starts a session for `user_id` lasting `ttl_secs`.
pub async fn create(
    db: &Db,
    user_id: &str,
    ttl_secs: i64,
    return_url: Option<&str>,
    origin: Origin<'_>,
) -> Result<SessionToken, AppError> {
    let token = SessionToken::generate();
    let now = db::now();
    let user_agent: Option<String> =
        origin.user_agent.map(|ua| ua.chars().filter(|c| !c.is_control()).take(256).collect());
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, return_url, id, \
         user_agent, ip, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $3)",
    )
    .bind(token.hash())
    .bind(user_id)
    .bind(now)
    .bind(now + ttl_secs)
    .bind(return_url)
    .bind(db::new_id())
    .bind(user_agent)
    .bind(origin.ip)
    .execute(db)
    .await?;
    Ok(token)
}

/// How long a session's "last seen" may lag (it is written at most this
/// often, not on every request).
const SEEN_EVERY_SECS: i64 = 60;

/// The user of an unexpired session, or `None`.
pub async fn lookup(db: &Db, token: &SessionToken) -> Result<Option<SessionUser>, AppError> {
    type Row =
        (String, String, i64, Option<String>, Option<String>, Option<i64>, String, Option<i64>);
    let now = db::now();
    let row: Option<Row> = sqlx::query_as(
        "SELECT u.id, u.email, u.is_admin, s.return_url, s.id, u.totp_enabled_at, \
         u.password_hash, s.last_seen_at FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2",
    )
    .bind(token.hash())
    .bind(now)
    .fetch_optional(db)
    .await?;
    let Some((id, email, is_admin, return_url, session_id, totp, password_hash, seen)) = row else {
        return Ok(None);
    };
    if seen.is_none_or(|t| t < now - SEEN_EVERY_SECS) {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(token.hash())
            .execute(db)
            .await?;
    }
    Ok(Some(SessionUser {
        id,
        email,
        is_admin: is_admin != 0,
        return_url,
        session_id: session_id.unwrap_or_default(),
        two_factor: totp.is_some(),
        has_password: !password_hash.is_empty(),
    }))
}

/// One of a user's sessions, as the Account page lists it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
}

/// The user's unexpired sessions, most recently seen first.
pub async fn list_for(db: &Db, user_id: &str) -> Result<Vec<SessionRow>, AppError> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(id, '') AS id, user_agent, ip, created_at, last_seen_at FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY COALESCE(last_seen_at, created_at) DESC",
    )
    .bind(user_id)
    .bind(db::now())
    .fetch_all(db)
    .await?)
}

/// Ends the user's session `id` (another user's is not found).
pub async fn destroy_by_id(db: &Db, user_id: &str, id: &str) -> Result<bool, AppError> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id = $2")
        .bind(user_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of the user but `keep` (its id); returns how many.
pub async fn destroy_others(db: &Db, user_id: &str, keep: &str) -> Result<u64, AppError> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND (id IS NULL OR id <> $2)")
        .bind(user_id)
        .bind(keep)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// A user agent in a few words, e.g. "Firefox on Linux".
pub fn device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return "Unknown device".into();
    };
    // The first token the user agent contains names it.
    let first = |names: &[(&str, &'static str)]| {
        names.iter().find(|(token, _)| ua.contains(token)).map(|(_, name)| *name)
    };
    let browser = first(&[
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]);
    let os = first(&[
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.into(),
        (None, Some(o)) => format!("A browser on {o}"),
        (None, None) => ua.chars().take(40).collect(),
    }
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
    use http::header::COOKIE;

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
    fn devices_are_named_from_the_user_agent() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(device(Some(firefox)), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
        assert_eq!(device(Some(chrome)), "Chrome on macOS");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36 Edg/130.0";
        assert_eq!(device(Some(edge)), "Edge on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device(Some(safari)), "Safari on iOS");
        assert_eq!(device(None), "Unknown device");
        assert_eq!(device(Some("curl/8.5.0")), "curl");
    }

    #[test]
    fn malformed_cookies_are_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("kw_session=short"));
        assert_eq!(SessionToken::from_headers(&headers), None);
    }
}
