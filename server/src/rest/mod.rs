//! Keywarden's own REST API (docs/design.md#rest-api), for automation such as rotating
//! keys from CI. Callers authenticate with one of their org's API keys; that
//! key's environment bounds what they see and change, `keys:read` and
//! `keys:write` gate reading and writing, and a key never grants or reaches
//! a permission it does not hold itself.

pub mod auth;
pub mod error;
pub mod key_options;
pub mod keys;

use crate::verify::Verifier;
use app::backend::AppState;
use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use std::sync::Arc;

/// What the REST handlers need.
#[derive(Clone, FromRef)]
pub struct RestState {
    pub app: AppState,
    pub verifier: Arc<Verifier>,
}

/// `/v1/keys…`.
pub fn router<S: Clone + Send + Sync + 'static>(state: RestState) -> Router<S> {
    Router::new()
        .route("/v1/keys", get(keys::list).post(keys::create))
        .route("/v1/keys/{id}", get(keys::get).patch(keys::update))
        .route("/v1/keys/{id}/regenerate", post(keys::regenerate))
        .route("/v1/keys/{id}/revoke", post(keys::revoke))
        .with_state(state)
}
