//! The Content-Security-Policy of rendered pages, bound to the nonce Leptos
//! puts on its hydration scripts.

use http::HeaderValue;
use http::header::CONTENT_SECURITY_POLICY;
use leptos::nonce::use_nonce;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// The page policy for a given script nonce: scripts only with the nonce
/// (and what they load), WASM compilation, styles and fetches from here.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Sends the page policy for this response's nonce. Called while the shell
/// renders, before the first byte of the page goes out.
pub fn send_policy() {
    if let (Some(nonce), Some(res)) = (use_nonce(), use_context::<ResponseOptions>())
        && let Ok(value) = HeaderValue::from_str(&page_policy(&nonce))
    {
        res.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}
