//! The one error type every server function returns. It crosses the wire as
//! JSON, and its `Display` is the sentence shown to the person.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, in words fit for the person who asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Input that failed validation; the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// No valid session.
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// The one answer for every sign-in failure (docs/design.md#security-requirements).
    #[error("Invalid email or password.")]
    InvalidCredentials,
    /// Too many failed sign-ins for this account or address.
    #[error("Too many failed sign-in attempts. Try again in {0} minutes.")]
    Throttled(u64),
    /// Too many sign-ins are being checked at once; nothing about the
    /// credentials is said.
    #[error("Keywarden is busy. Please try again in a moment.")]
    Busy,
    /// The organisation is suspended by the platform: nothing changes.
    #[error(
        "This organisation is suspended: its keys and members can be viewed but not changed. Contact the platform to resume it."
    )]
    Suspended,
    /// The org requires two-factor sign-in and this session has none.
    #[error(
        "This organisation requires two-factor sign-in. Turn it on on your account page to continue."
    )]
    TwoFactorRequired,
    /// Signed in, but the role does not allow this.
    #[error("You do not have permission to do that.")]
    Forbidden,
    /// Not allowed, with the reason in words.
    #[error("{0}")]
    NotAllowed(String),
    /// Nothing there, or nothing this user may know about.
    #[error("Not found.")]
    NotFound,
    /// The request clashes with the current state; the message says how.
    #[error("{0}")]
    Conflict(String),
    /// A failure on our side; the detail is in the server log.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The request did not reach the server function intact.
    #[error("The request could not be completed ({0}).")]
    Request(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Request(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// "Too many attempts": try again after `wait`, in whole minutes (at
    /// least one).
    pub fn throttled(wait: std::time::Duration) -> Self {
        AppError::Throttled(wait.as_secs().div_ceil(60).max(1))
    }

    /// The HTTP status this error maps to; the single mapping for the app.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            AppError::Invalid(_) | AppError::Request(_) => S::BAD_REQUEST,
            AppError::Unauthenticated | AppError::InvalidCredentials => S::UNAUTHORIZED,
            AppError::Throttled(_) => S::TOO_MANY_REQUESTS,
            AppError::Forbidden
            | AppError::NotAllowed(_)
            | AppError::Suspended
            | AppError::TwoFactorRequired => S::FORBIDDEN,
            AppError::NotFound => S::NOT_FOUND,
            AppError::Conflict(_) => S::CONFLICT,
            AppError::Internal => S::INTERNAL_SERVER_ERROR,
            AppError::Busy => S::SERVICE_UNAVAILABLE,
        }
    }

    /// Logs `detail` on the server and returns the generic internal error.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        AppError::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    /// A value the database refuses as data (SQLSTATE class 22: a NUL byte
    /// in text on PostgreSQL, a number out of range) came from the request:
    /// a 400 in words. Anything else is ours: logged, and a generic 500.
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(d) = &e
            && d.code().is_some_and(|c| c.starts_with("22"))
        {
            return AppError::Invalid(
                "The request contains characters or values Keywarden cannot store.".into(),
            );
        }
        AppError::internal(format_args!("database: {e}"))
    }
}

#[cfg(feature = "ssr")]
impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::internal(format_args!("blocking task: {e}"))
    }
}
