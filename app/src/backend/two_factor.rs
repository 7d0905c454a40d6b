//! Two-factor sign-in (docs/design.md#user-interface, #security-requirements): TOTP codes (RFC 6238: SHA-1, six
//! digits, 30-second steps, one step either side) and ten one-time recovery
//! codes stored as SHA-256 hashes. A code is accepted once: the step of the
//! last accepted TOTP code is kept, and a recovery code is marked used.

use super::db::{self, Db};
use super::secret;
use crate::error::AppError;
use rand::RngCore;
use std::fmt;
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per TOTP step.
const STEP: u64 = 30;
/// Recovery codes per user.
pub const RECOVERY_CODES: usize = 10;

/// A TOTP secret (160 random bits). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// The secret as stored and as authenticator apps take it (base32).
    pub fn base32(&self) -> String {
        Secret::Raw(self.0.clone()).to_encoded().to_string()
    }

    pub fn from_base32(text: &str) -> Option<Self> {
        Secret::Encoded(text.to_string()).to_bytes().ok().map(TotpSecret)
    }

    fn totp(&self, digits: usize) -> TOTP {
        TOTP::new_unchecked(Algorithm::SHA1, digits, 1, STEP, self.0.clone())
    }

    /// The code for `unix_secs`.
    pub fn code_at(&self, unix_secs: u64) -> String {
        self.totp(6).generate(unix_secs)
    }

    /// The step `code` belongs to, if it is the code of the step holding
    /// `unix_secs` or of the one before or after (clock drift).
    pub fn matching_step(&self, code: &str, unix_secs: u64) -> Option<u64> {
        let code = code.trim().replace(' ', "");
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = unix_secs / STEP;
        let totp = self.totp(6);
        [now.saturating_sub(1), now, now + 1].into_iter().find(|step| {
            let expected = totp.generate(step * STEP);
            subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into()
        })
    }

    /// The `otpauth://` link authenticator apps read (from the QR code).
    pub fn otpauth_url(&self, email: &str) -> String {
        let account: String = email
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!(
            "otpauth://totp/Keywarden:{account}?secret={}&issuer=Keywarden&algorithm=SHA1&digits=6&period=30",
            self.base32()
        )
    }

    /// The QR code of [`TotpSecret::otpauth_url`], as SVG made here on the
    /// server.
    pub fn qr_svg(&self, email: &str) -> Result<String, AppError> {
        let code = qrcode::QrCode::new(self.otpauth_url(email).as_bytes())
            .map_err(|e| AppError::internal(format_args!("QR code: {e}")))?;
        Ok(code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build())
    }
}

/// A recovery code as typed, normalised: lower case, no spaces or dashes.
fn normalise_recovery(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

/// Ten new recovery codes, e.g. `k7f2-9qxm-3c8a`.
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 12];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let chars: String =
                bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
            format!("{}-{}-{}", &chars[..4], &chars[4..8], &chars[8..])
        })
        .collect()
}

/// The hash a recovery code is stored under.
pub fn recovery_hash(code: &str) -> String {
    secret::sha256_hex(&normalise_recovery(code))
}

/// A user's two-factor state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    pub enabled: bool,
    /// Recovery codes not used yet.
    pub recovery_left: i64,
}

pub async fn status(db: &Db, user_id: &str) -> Result<Status, AppError> {
    let (enabled,): (Option<i64>,) =
        sqlx::query_as("SELECT totp_enabled_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(db)
            .await?;
    let (left,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(db)
    .await?;
    Ok(Status { enabled: enabled.is_some(), recovery_left: left })
}

/// Starts setting up: a new secret, kept but not in force until a code
/// from it turns two-factor sign-in on.
pub async fn begin_setup(db: &Db, user_id: &str) -> Result<TotpSecret, AppError> {
    let secret = TotpSecret::generate();
    let done = sqlx::query(
        "UPDATE users SET totp_secret = $1, totp_last_step = NULL \
         WHERE id = $2 AND totp_enabled_at IS NULL",
    )
    .bind(secret.base32())
    .bind(user_id)
    .execute(db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict("Two-factor sign-in is already on.".into()));
    }
    Ok(secret)
}

async fn stored_secret(db: &Db, user_id: &str) -> Result<Option<TotpSecret>, AppError> {
    let (stored,): (Option<String>,) =
        sqlx::query_as("SELECT totp_secret FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(db)
            .await?;
    Ok(stored.as_deref().and_then(TotpSecret::from_base32))
}

fn wrong_code() -> AppError {
    AppError::Invalid(
        "That code is not right. Enter the current code from your authenticator app.".into(),
    )
}

/// Accepts `code` (a TOTP code, or with `recovery` a recovery code) once
/// for `user_id` at `now`: the same code is refused the second time.
pub async fn accept(
    db: &Db,
    user_id: &str,
    code: &str,
    now: u64,
    recovery: bool,
) -> Result<bool, AppError> {
    if let Some(secret) = stored_secret(db, user_id).await?
        && let Some(step) = secret.matching_step(code, now)
    {
        let step = step as i64;
        let taken = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 \
             AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(db)
        .await?;
        return Ok(taken.rows_affected() == 1);
    }
    if !recovery {
        return Ok(false);
    }
    let used = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 \
         AND used_at IS NULL",
    )
    .bind(db::now())
    .bind(user_id)
    .bind(recovery_hash(code))
    .execute(db)
    .await?;
    Ok(used.rows_affected() == 1)
}

/// Replaces the user's recovery codes inside the caller's transaction;
/// returns the new ones (shown once).
async fn store_recovery_codes(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
) -> Result<Vec<String>, AppError> {
    let codes = new_recovery_codes();
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for code in &codes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(recovery_hash(code))
            .execute(&mut *conn)
            .await?;
    }
    Ok(codes)
}

/// Turns two-factor sign-in on once `code` from the secret being set up is
/// right; returns the ten recovery codes.
pub async fn enable(db: &Db, user_id: &str, code: &str, now: u64) -> Result<Vec<String>, AppError> {
    if status(db, user_id).await?.enabled {
        return Err(AppError::Conflict("Two-factor sign-in is already on.".into()));
    }
    let (stored,): (Option<String>,) =
        sqlx::query_as("SELECT totp_secret FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(db)
            .await?;
    let Some((stored, secret)) =
        stored.and_then(|s| TotpSecret::from_base32(&s).map(|secret| (s, secret)))
    else {
        return Err(AppError::Conflict("Start the set-up first.".into()));
    };
    let Some(step) = secret.matching_step(code, now) else {
        return Err(wrong_code());
    };
    let mut tx = db::begin(db).await?;
    // On for the very secret the code was checked against, with its step
    // spent, and only while still off: a set-up started again meanwhile (a
    // new secret the person's app does not hold) or a second window cannot
    // slip in between the check and this write.
    let turned_on = sqlx::query(
        "UPDATE users SET totp_enabled_at = $1, totp_last_step = $2 \
         WHERE id = $3 AND totp_secret = $4 AND totp_enabled_at IS NULL \
         AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(db::now())
    .bind(step as i64)
    .bind(user_id)
    .bind(&stored)
    .execute(&mut *tx)
    .await?;
    if turned_on.rows_affected() != 1 {
        return Err(wrong_code());
    }
    let codes = store_recovery_codes(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(codes)
}

/// New recovery codes, for a right `code` (TOTP or a recovery code).
pub async fn regenerate_recovery_codes(
    db: &Db,
    user_id: &str,
    code: &str,
    now: u64,
) -> Result<Vec<String>, AppError> {
    if !status(db, user_id).await?.enabled {
        return Err(AppError::Conflict("Two-factor sign-in is off.".into()));
    }
    if !accept(db, user_id, code, now, true).await? {
        return Err(wrong_code());
    }
    let mut tx = db::begin(db).await?;
    let codes = store_recovery_codes(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Turns two-factor sign-in off, for a right `code`.
pub async fn disable(db: &Db, user_id: &str, code: &str, now: u64) -> Result<(), AppError> {
    if !status(db, user_id).await?.enabled {
        return Err(AppError::Conflict("Two-factor sign-in is already off.".into()));
    }
    if !accept(db, user_id, code, now, true).await? {
        return Err(wrong_code());
    }
    let mut tx = db::begin(db).await?;
    sqlx::query(
        "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL \
         WHERE id = $1",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (eight digits, the RFC's own secret).
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        for (t, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(secret.totp(8).generate(t), expected, "T = {t}");
        }
    }

    #[test]
    fn one_step_either_side_is_accepted_and_no_further() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_015;
        let step = now / STEP;
        assert_eq!(secret.matching_step(&secret.code_at(now), now), Some(step));
        assert_eq!(secret.matching_step(&secret.code_at(now - 30), now), Some(step - 1));
        assert_eq!(secret.matching_step(&secret.code_at(now + 30), now), Some(step + 1));
        assert_eq!(secret.matching_step(&secret.code_at(now - 60), now), None);
        assert_eq!(secret.matching_step(&secret.code_at(now + 60), now), None);
        assert_eq!(secret.matching_step("12345", now), None);
        assert_eq!(secret.matching_step("abcdef", now), None);
        let spaced = format!("{} {}", &secret.code_at(now)[..3], &secret.code_at(now)[3..]);
        assert_eq!(secret.matching_step(&spaced, now), Some(step));
    }

    #[test]
    fn secrets_round_trip_and_hide_in_debug() {
        let secret = TotpSecret::generate();
        assert_eq!(TotpSecret::from_base32(&secret.base32()), Some(secret.clone()));
        assert_eq!(secret.base32().len(), 32);
        assert_eq!(format!("{secret:?}"), "TotpSecret(…)");
        assert!(
            secret.otpauth_url("jo+x@acme.test").contains("Keywarden:jo%2Bx%40acme.test?secret=")
        );
        assert!(secret.qr_svg("jo@acme.test").unwrap().starts_with("<?xml"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_hashed_as_typed_loosely() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        let code = &codes[0];
        assert_eq!(code.len(), 14);
        assert_eq!(recovery_hash(code), recovery_hash(&code.to_uppercase().replace('-', " ")));
        assert_ne!(recovery_hash(code), recovery_hash(&codes[1]));
        assert_eq!(recovery_hash(code).len(), 64);
        assert!(!recovery_hash(code).contains(&normalise_recovery(code)));
    }
}
