#![recursion_limit = "256"]

//! The hydrate entry: the browser half of Keywarden, compiled to WASM.

/// Hydrates the server-rendered page so its controls become interactive,
/// then marks `<body data-hydrated>` (what end-to-end tests wait for).
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
        let _ = body.set_attribute("data-hydrated", "");
    }
}
