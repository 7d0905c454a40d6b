//! Sign-in, sign-out, first-run setup and the session's identity.

use super::types::{OrgContext, SessionInfo};
use crate::error::AppError;
use leptos::prelude::*;

/// Signs in with email and password, then sends the browser to `next`.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::backend::{password, request, users};
    use crate::domain::{Email, safe_next};
    request::serve(async {
        let state = request::app_state()?;
        // Over-long input gets the generic answer before any work.
        if email.len() > Email::MAX_LEN || password.len() > password::MAX_PASSWORD_BYTES {
            return Err(AppError::InvalidCredentials);
        }
        let ip = request::client_ip(&state);
        // Counted before the password is checked (refunded on success), so
        // concurrent guesses cannot all pass the throttle.
        if let Err(wait) = state.throttle.reserve(&email, ip.as_deref()) {
            return Err(AppError::throttled(wait));
        }
        let user = users::find_by_email(&state.db, &email).await?;
        let (id, stored) = match user {
            Some(u) => (Some(u.id), Some(u.password_hash)),
            None => (None, None),
        };
        let verified = password::verify(&state.hashing, password, stored).await?;
        let Some(user_id) = id.filter(|_| verified) else {
            tracing::info!(ip = ip.as_deref().unwrap_or("-"), "failed sign-in");
            return Err(AppError::InvalidCredentials);
        };
        let next = safe_next(next.as_deref());
        if crate::backend::two_factor::status(&state.db, &user_id).await?.enabled {
            // The attempt is refunded only once the second factor passes,
            // so signing in again never resets the count of wrong codes.
            // No session yet: the second step opens it.
            let token = crate::backend::sign_in::begin(&state.db, &user_id, &next).await?;
            request::set_pending_cookie(&state, Some(&token));
            leptos_axum::redirect("/login/verify");
            return Ok(());
        }
        state.throttle.succeeded(&email, ip.as_deref());
        request::start_session(&state, &user_id).await?;
        leptos_axum::redirect(&next);
        Ok(())
    })
    .await
}

/// The second step of signing in with two-factor on: a code from the
/// authenticator app, or a recovery code. Each code is accepted once;
/// failures are throttled like wrong passwords.
#[server(endpoint = "login/verify")]
pub async fn verify_sign_in(code: String) -> Result<(), AppError> {
    use crate::backend::{request, sign_in, two_factor};
    request::serve(async {
        let state = request::app_state()?;
        let expired =
            || AppError::Invalid("Your sign-in has expired. Sign in again with your password.".into());
        let token = request::presented_pending().ok_or_else(expired)?;
        let pending = sign_in::find(&state.db, &token).await?.ok_or_else(expired)?;
        let ip = request::client_ip(&state);
        if let Err(wait) = state.throttle.reserve(&pending.email, ip.as_deref()) {
            return Err(AppError::throttled(wait));
        }
        if code.len() > 64 {
            return Err(AppError::Invalid("That code is not right.".into()));
        }
        let now = crate::backend::db::now() as u64;
        if !two_factor::accept(&state.db, &pending.user_id, &code, now, true).await? {
            tracing::info!(ip = ip.as_deref().unwrap_or("-"), "failed second factor");
            return Err(AppError::Invalid(
                "That code is not right. Enter the current code from your authenticator app, or a recovery code."
                    .into(),
            ));
        }
        // Used once: of two requests racing on one pending sign-in, one
        // opens a session.
        if !sign_in::finish(&state.db, &token).await? {
            return Err(expired());
        }
        state.throttle.succeeded(&pending.email, ip.as_deref());
        request::set_pending_cookie(&state, None);
        request::start_session(&state, &pending.user_id).await?;
        leptos_axum::redirect(&pending.next);
        Ok(())
    })
    .await
}

/// Whether a password step waits for its second factor (the page asks for
/// a code, or sends the visitor back to sign in).
#[server(endpoint = "login/pending")]
pub async fn sign_in_pending() -> Result<bool, AppError> {
    use crate::backend::{request, sign_in};
    let state = request::app_state()?;
    Ok(match request::presented_pending() {
        Some(token) => sign_in::find(&state.db, &token).await?.is_some(),
        None => false,
    })
}

/// Ends the session and returns to the sign-in page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::backend::request;
    request::serve(async {
        let state = request::app_state()?;
        request::end_session(&state).await?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// Whether Keywarden still needs its first organisation and owner.
#[server(endpoint = "setup_needed")]
pub async fn setup_needed() -> Result<bool, AppError> {
    use crate::backend::request;
    let state = request::app_state()?;
    Ok(!state.is_set_up().await?)
}

/// The signed-in user and their orgs, or `None` when signed out.
#[server(endpoint = "session")]
pub async fn current_session() -> Result<Option<SessionInfo>, AppError> {
    use crate::backend::{orgs, request};
    let state = request::app_state()?;
    match request::signed_in(&state).await {
        Ok(user) => {
            let orgs = orgs::orgs_of(&state.db, &user.id).await?;
            Ok(Some(SessionInfo { email: user.email, orgs, is_admin: user.is_admin }))
        }
        Err(AppError::Unauthenticated) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The org the settings pages show, with the caller's role in it.
#[server(endpoint = "org_context")]
pub async fn get_org_context(slug: String) -> Result<OrgContext, AppError> {
    use crate::backend::{orgs, request};
    request::serve(async {
        let state = request::app_state()?;
        let (user, membership) = request::member_of(&state, &slug).await?;
        let orgs = orgs::orgs_of(&state.db, &user.id).await?;
        Ok(OrgContext {
            slug: membership.org_slug,
            name: membership.org_name,
            role: membership.role,
            email: user.email,
            orgs,
            suspended: membership.suspended,
            is_admin: user.is_admin,
            return_url: user.return_url,
        })
    })
    .await
}
