#![recursion_limit = "256"]

//! The hydrate entry: the browser half of Keywarden, compiled to WASM.

/// Hydrates the server-rendered page so its controls become interactive,
/// then marks `<body data-hydrated>` (what end-to-end tests wait for).
/// Hydration waits for the page's own code, a lazily loaded WASM chunk
/// (`app::routes`), so it finishes asynchronously.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) else {
        return;
    };
    // The executor drives the reactive system; an error only means it was
    // already started.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async move {
        let owner = leptos::mount::hydrate_from_async(body.clone(), app::App).await;
        owner.forget();
        let _ = body.set_attribute("data-hydrated", "");
    });
}
