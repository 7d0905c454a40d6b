//! The Account page (docs/design.md#user-interface): the signed-in user's password,
//! two-factor sign-in and sessions. Every function acts on the caller's own
//! account only.

use crate::domain::UnixTime;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// One of the user's sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    /// e.g. "Firefox on Linux".
    pub device: String,
    pub ip: Option<String>,
    pub created_at: UnixTime,
    pub last_seen_at: Option<UnixTime>,
    /// The session this page was opened in.
    pub current: bool,
}

/// What the Account page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub email: String,
    pub has_password: bool,
    pub two_factor: bool,
    pub recovery_codes_left: i64,
    pub sessions: Vec<SessionView>,
    pub now: UnixTime,
}

/// A secret being set up, shown once: as text and as a QR code (SVG).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TwoFactorSetup {
    pub secret: String,
    pub qr_svg: String,
}

impl std::fmt::Debug for TwoFactorSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TwoFactorSetup(…)")
    }
}

/// Recovery codes, shown once.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryCodes(pub Vec<String>);

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} codes)", self.0.len())
    }
}

#[cfg(feature = "ssr")]
use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::backend::session::{self, SessionUser};
    pub use crate::backend::{AppState, db, request, two_factor};

    pub async fn me() -> Result<(AppState, SessionUser), crate::AppError> {
        let state = request::app_state()?;
        let user = request::signed_in(&state).await?;
        Ok((state, user))
    }

    pub fn now() -> u64 {
        db::now() as u64
    }

    /// Runs a step that checks a code, counted against the sign-in limits
    /// (a wrong code is a failed attempt).
    pub async fn throttled<T>(
        state: &AppState,
        user: &SessionUser,
        step: impl std::future::Future<Output = Result<T, crate::AppError>>,
    ) -> Result<T, crate::AppError> {
        let ip = request::client_ip(state);
        if let Err(wait) = state.throttle.reserve(&user.email, ip.as_deref()) {
            return Err(crate::AppError::throttled(wait));
        }
        let result = step.await;
        if result.is_ok() {
            state.throttle.succeeded(&user.email, ip.as_deref());
        }
        result
    }
}

/// The caller's account.
#[server(endpoint = "account", input = Json)]
pub async fn get_account() -> Result<AccountInfo, AppError> {
    request::serve(async {
        let (state, user) = me().await?;
        let status = two_factor::status(&state.db, &user.id).await?;
        let sessions = session::list_for(&state.db, &user.id)
            .await?
            .into_iter()
            .map(|s| SessionView {
                current: s.id == user.session_id,
                device: session::device(s.user_agent.as_deref()),
                id: s.id,
                ip: s.ip,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
            })
            .collect();
        Ok(AccountInfo {
            email: user.email,
            has_password: user.has_password,
            two_factor: status.enabled,
            recovery_codes_left: status.recovery_left,
            sessions,
            now: db::now(),
        })
    })
    .await
}

/// Changes the caller's password (the current one is required, failures
/// are throttled like sign-ins); every other session ends.
#[server(endpoint = "account/password")]
pub async fn change_password(current: String, new: String) -> Result<(), AppError> {
    use crate::backend::{password, users};
    use crate::domain::Password;
    request::serve(async {
        let (state, user) = me().await?;
        if !user.has_password {
            return Err(AppError::Conflict(
                "Your account signs in through your platform and has no password here.".into(),
            ));
        }
        let ip = request::client_ip(&state);
        if let Err(wait) = state.throttle.reserve(&user.email, ip.as_deref()) {
            return Err(AppError::throttled(wait));
        }
        let stored = users::find_by_email(&state.db, &user.email).await?.map(|u| u.password_hash);
        if current.len() > password::MAX_PASSWORD_BYTES
            || !password::verify(&state.hashing, current, stored).await?
        {
            return Err(AppError::Invalid("The current password is not right.".into()));
        }
        state.throttle.succeeded(&user.email, ip.as_deref());
        let new = Password::parse(&new).map_err(AppError::Invalid)?;
        let hash = password::hash(&state.hashing, new).await?;
        users::set_password(&mut *state.db.acquire().await?, &user.id, &hash).await?;
        session::destroy_others(&state.db, &user.id, &user.session_id).await?;
        crate::backend::sign_in::forget_user(&state.db, &user.id).await?;
        tracing::info!(user = %user.id, "password changed; other sessions ended");
        Ok(())
    })
    .await
}

/// Starts setting up two-factor sign-in: a new secret, not yet in force.
#[server(endpoint = "account/2fa/start", input = Json)]
pub async fn start_two_factor() -> Result<TwoFactorSetup, AppError> {
    request::serve(async {
        let (state, user) = me().await?;
        let secret = two_factor::begin_setup(&state.db, &user.id).await?;
        crate::backend::request::no_store();
        // Drawing the QR code is CPU work: off the runtime's workers.
        let (base32, email) = (secret.base32(), user.email.clone());
        let qr_svg = tokio::task::spawn_blocking(move || secret.qr_svg(&email)).await??;
        Ok(TwoFactorSetup { secret: base32, qr_svg })
    })
    .await
}

/// Turns two-factor sign-in on with a code from the new secret; returns
/// the ten recovery codes (shown once).
#[server(endpoint = "account/2fa/enable", input = Json)]
pub async fn enable_two_factor(code: String) -> Result<RecoveryCodes, AppError> {
    request::serve(async {
        let (state, user) = me().await?;
        let codes =
            throttled(&state, &user, two_factor::enable(&state.db, &user.id, &code, now())).await?;
        // Sessions opened with the password alone must not count as
        // two-factor ones: they end.
        session::destroy_others(&state.db, &user.id, &user.session_id).await?;
        crate::backend::request::no_store();
        Ok(RecoveryCodes(codes))
    })
    .await
}

/// Turns two-factor sign-in off; needs a code (or a recovery code).
#[server(endpoint = "account/2fa/disable", input = Json)]
pub async fn disable_two_factor(code: String) -> Result<(), AppError> {
    request::serve(async {
        let (state, user) = me().await?;
        throttled(&state, &user, two_factor::disable(&state.db, &user.id, &code, now())).await
    })
    .await
}

/// New recovery codes (the old ones stop working); needs a code.
#[server(endpoint = "account/2fa/recovery", input = Json)]
pub async fn regenerate_recovery_codes(code: String) -> Result<RecoveryCodes, AppError> {
    request::serve(async {
        let (state, user) = me().await?;
        let step = two_factor::regenerate_recovery_codes(&state.db, &user.id, &code, now());
        let codes = throttled(&state, &user, step).await?;
        crate::backend::request::no_store();
        Ok(RecoveryCodes(codes))
    })
    .await
}

/// Signs out one of the caller's other sessions.
#[server(endpoint = "account/sessions/end", input = Json)]
pub async fn end_session(id: String) -> Result<(), AppError> {
    request::serve(async {
        let (state, user) = me().await?;
        if id == user.session_id {
            return Err(AppError::Invalid("Use Sign out in the menu for this session.".into()));
        }
        if !session::destroy_by_id(&state.db, &user.id, &id).await? {
            return Err(AppError::NotFound);
        }
        Ok(())
    })
    .await
}

/// Signs out every session of the caller but this one; returns how many.
#[server(endpoint = "account/sessions/end_others", input = Json)]
pub async fn end_other_sessions() -> Result<u64, AppError> {
    request::serve(async {
        let (state, user) = me().await?;
        session::destroy_others(&state.db, &user.id, &user.session_id).await
    })
    .await
}
