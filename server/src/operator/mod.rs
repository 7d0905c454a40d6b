//! The operator API (docs/design.md#platform-and-portal): the platform's backend provisions
//! organisations and opens portal sessions, authenticated by operator
//! tokens (`KEYWARDEN_OPERATOR_TOKENS`). With none configured every call
//! answers 401.

pub mod auth;
pub mod orgs;

use app::backend::AppState;
use auth::OperatorTokens;
use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use std::sync::Arc;

/// What the operator handlers need.
#[derive(Clone, FromRef)]
pub struct OperatorState {
    pub app: AppState,
    pub tokens: Arc<OperatorTokens>,
}

/// `/v1/orgs…`.
pub fn router<S: Clone + Send + Sync + 'static>(state: OperatorState) -> Router<S> {
    Router::new()
        .route("/v1/orgs", get(orgs::list).post(orgs::create))
        .route("/v1/orgs/{slug}", get(orgs::get).patch(orgs::update))
        .route("/v1/orgs/{slug}/portal-sessions", post(orgs::portal_session))
        .with_state(state)
}
