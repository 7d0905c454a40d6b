//! The one JSON error body of every API answer (verification, REST,
//! operator, server functions refused before they run):
//! `{"error": {"code": "…", "message": "…"}}`. Below every API module, so
//! each can answer with it without reaching into another.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The one JSON error body of every API answer:
/// `{"error": {"code": "…", "message": "…"}}`.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    (status, axum::Json(body)).into_response()
}

/// An error answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": {"code": "NOT_FOUND", "message": "Not found."}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong, in a stable code and in words.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}
