//! The REST API's one error type and its status mapping. Bodies are
//! `{"error": {"code": "…", "message": "…"}}`; internal details only reach
//! the server log (through [`AppError::internal`]).

pub use crate::error_body::{ErrorBody, ErrorDetail, json_error};
use crate::verify::Code;
use app::AppError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a REST call was refused.
#[derive(Debug)]
pub enum RestError {
    /// A refusal from the app layer (validation, not found, conflict…).
    App(AppError),
    /// No usable API key; the code says why.
    Unauthorized(Code),
    /// No valid operator token (the operator API).
    NoOperatorToken,
    /// The key lacks the scope this endpoint needs.
    MissingScope(&'static str),
    /// Out of the key's reach (another environment's key, more permissions).
    Forbidden(String),
    /// The caller's rate limit is used up; retry after this many seconds.
    RateLimited(u64),
    /// The database could not be read.
    Unavailable,
}

impl RestError {
    /// A 400 for input that does not parse, in the user's words.
    pub fn invalid(message: impl Into<String>) -> Self {
        RestError::App(AppError::Invalid(message.into()))
    }
}

/// The error answers of the OpenAPI document, each described once and
/// named in an endpoint's `responses(…)`.
pub mod answers {
    use super::ErrorBody;
    use utoipa::IntoResponses;

    macro_rules! answers {
        ($($name:ident = $status:tt, $description:tt;)*) => {$(
            #[doc = $description]
            #[derive(IntoResponses)]
            #[response(status = $status, description = $description)]
            pub struct $name(#[allow(dead_code)] ErrorBody);
        )*};
    }

    answers! {
        Invalid = 400, "Invalid input";
        Unauthorized = 401, "Missing or invalid credentials";
        Forbidden = 403, "Not allowed";
        NotFound = 404, "Not found";
        Conflict = 409, "Conflict with the current state";
        RateLimited = 429, "Rate limited; see Retry-After";
    }
}

impl From<AppError> for RestError {
    fn from(e: AppError) -> Self {
        RestError::App(e)
    }
}

impl From<sqlx::Error> for RestError {
    fn from(e: sqlx::Error) -> Self {
        RestError::App(AppError::from(e))
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            RestError::RateLimited(secs) => Some(*secs),
            _ => None,
        };
        let (status, code, message) = match self {
            RestError::App(e) => {
                let code = match &e {
                    AppError::Invalid(_) | AppError::Request(_) => "INVALID",
                    AppError::Forbidden | AppError::NotAllowed(_) => "FORBIDDEN",
                    AppError::Suspended => "ORG_SUSPENDED",
                    AppError::TwoFactorRequired => "TWO_FACTOR_REQUIRED",
                    AppError::NotFound => "NOT_FOUND",
                    AppError::Conflict(_) => "CONFLICT",
                    AppError::Unauthenticated | AppError::InvalidCredentials => "UNAUTHORIZED",
                    AppError::Throttled(_) => "RATE_LIMITED",
                    AppError::Internal => "INTERNAL",
                    AppError::Busy => "UNAVAILABLE",
                };
                (e.status(), code, e.to_string())
            }
            RestError::Unauthorized(code) => (
                StatusCode::UNAUTHORIZED,
                code.as_str(),
                "A valid API key is required (Authorization: Bearer …).".into(),
            ),
            RestError::NoOperatorToken => (
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "A valid operator token is required (Authorization: Bearer …).".into(),
            ),
            RestError::MissingScope(scope) => (
                StatusCode::FORBIDDEN,
                Code::InsufficientPermissions.as_str(),
                format!("This API key needs the {scope} permission."),
            ),
            RestError::Forbidden(message) => (StatusCode::FORBIDDEN, "FORBIDDEN", message),
            RestError::RateLimited(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                Code::RateLimited.as_str(),
                "Rate limit exceeded; retry later.".into(),
            ),
            RestError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "The service is unavailable; try again.".into(),
            ),
        };
        let mut res = json_error(status, code, &message);
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        res
    }
}

/// A JSON body whose rejection (bad JSON, unknown or missing fields) is a
/// [`RestError`] like any other.
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = RestError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, RestError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(body)) => Ok(JsonBody(body)),
            Err(rejection) => Err(RestError::App(AppError::Invalid(format!(
                "The body is not valid: {}",
                rejection.body_text()
            )))),
        }
    }
}
