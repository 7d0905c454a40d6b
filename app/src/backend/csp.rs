//! The Content-Security-Policy of rendered pages, bound to the nonce Leptos
//! puts on its hydration scripts.
//!
//! The server's security layer gives every request a [`NonceSlot`] (in its
//! extensions) and, once the answer is made, sets the policy from it: the
//! page policy with the render's nonce on every HTML answer, whatever the
//! render's timing, and the locked-down API policy on everything else. A
//! render writes its nonce into the slot as soon as Leptos has made it,
//! before anything is rendered ([`remember_nonce`]).

use http::request::Parts;
use leptos::nonce::use_nonce;
use leptos::prelude::use_context;
use std::sync::{Arc, Mutex};

/// The page policy for a given script nonce: scripts only with the nonce
/// (and what they load), WASM compilation, styles and fetches from here.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy of every answer that is not a page.
pub const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Where a request's render leaves the nonce of its scripts. A request
/// rendered twice (`server::hedge`) gives its second render a slot of its
/// own and keeps the nonce of the render whose answer it sends.
#[derive(Clone, Debug, Default)]
pub struct NonceSlot(Arc<Mutex<Option<String>>>);

impl NonceSlot {
    /// The nonce the render used, if a render ran.
    pub fn nonce(&self) -> Option<String> {
        self.0.lock().ok()?.clone()
    }

    /// Records `nonce` as the one the answer's scripts carry.
    pub fn set(&self, nonce: Option<String>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = nonce;
        }
    }
}

/// Writes this render's nonce into the request's [`NonceSlot`]. Given to
/// Leptos as the routes' additional context, so it runs once per render,
/// right after Leptos made the nonce and before the shell renders.
pub fn remember_nonce() {
    let slot = use_context::<Parts>().and_then(|p| p.extensions.get::<NonceSlot>().cloned());
    if let (Some(slot), Some(nonce)) = (slot, use_nonce()) {
        slot.set(Some(nonce.to_string()));
    }
}
