use super::{busy, use_hydrated};
use leptos::prelude::*;

/// A **Copy** button that writes `text` to the clipboard and reads
/// **Copied** for two seconds.
#[component]
pub fn CopyButton(#[prop(into)] text: Signal<String>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let ready = use_hydrated();
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let value = text.get_untracked();
            leptos::task::spawn_local(async move {
                let clipboard = web_sys::window().map(|w| w.navigator().clipboard());
                if let Some(clipboard) = clipboard
                    && wasm_bindgen_futures::JsFuture::from(clipboard.write_text(&value))
                        .await
                        .is_ok()
                {
                    copied.set(true);
                    set_timeout(move || copied.set(false), std::time::Duration::from_secs(2));
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (text, copied);
    };
    view! {
        <button type="button" class="secondary" disabled=move || !ready.get() aria-busy=busy(ready) on:click=on_click>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}
