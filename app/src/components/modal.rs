use leptos::html;
use leptos::prelude::*;

/// A modal dialog: `role="dialog"`, `aria-modal`, labelled by its title.
/// Focus moves into it on open, Tab stays inside it, Escape, the × or a
/// click on the backdrop calls `on_close`, and focus returns to the control
/// that was focused when it opened.
#[component]
pub fn Modal(
    /// The dialog's title, also its accessible name.
    #[prop(into)]
    title: String,
    /// Asked to close (Escape, ×, backdrop); the owner decides.
    on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<html::Div>::new();
    let slug: String = title.chars().filter(char::is_ascii_alphanumeric).collect();
    let title_id = format!("dialog-{}", slug.to_lowercase());
    let labelled_by = title_id.clone();

    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let opener =
            document().active_element().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        Effect::new(move |_| {
            if let Some(el) = dialog.get()
                && let Some(first) = focusables(&el).first()
            {
                let _ = first.focus();
            }
        });
        // On the window, not the dialog: focus may sit on <body> after the
        // dialog's content changes (a step replaced, a button disabled).
        let keys = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.key() == "Escape" {
                ev.prevent_default();
                on_close.run(());
            } else if ev.key() == "Tab"
                && let Some(el) = dialog.get_untracked()
            {
                trap_tab(&el, &ev);
            }
        });
        on_cleanup(move || {
            keys.remove();
            if let Some(opener) = opener {
                let _ = opener.focus();
            }
        });
    }

    view! {
        <div class="modal-backdrop" on:click=move |_| on_close.run(())>
            <div
                class="modal"
                role="dialog"
                aria-modal="true"
                aria-labelledby=labelled_by
                node_ref=dialog
                on:click=|ev| ev.stop_propagation()
            >
                <h2 id=title_id class="modal-title">
                    {title}
                </h2>
                {children()}
                // Last in the DOM so focus starts on the dialog's content.
                <button
                    type="button"
                    class="modal-close"
                    aria-label="Close dialog"
                    on:click=move |_| on_close.run(())
                >
                    "×"
                </button>
            </div>
        </div>
    }
}

#[cfg(feature = "hydrate")]
fn focusables(root: &web_sys::HtmlDivElement) -> Vec<web_sys::HtmlElement> {
    use wasm_bindgen::JsCast;
    let selector = "button:not([disabled]), input:not([disabled]):not([type=hidden]), select, textarea, a[href]";
    let Ok(list) = root.query_selector_all(selector) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
}

/// Keeps Tab inside the dialog, and pulls focus back in from outside.
#[cfg(feature = "hydrate")]
fn trap_tab(root: &web_sys::HtmlDivElement, ev: &leptos::ev::KeyboardEvent) {
    let items = focusables(root);
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        return;
    };
    let active = document().active_element();
    let is = |el: &web_sys::HtmlElement| {
        active.as_ref().is_some_and(|a| a == el.as_ref() as &web_sys::Element)
    };
    let inside = active.as_ref().is_some_and(|a| root.contains(Some(a.as_ref())));
    if !inside {
        ev.prevent_default();
        let _ = first.focus();
    } else if ev.shift_key() && is(first) {
        ev.prevent_default();
        let _ = last.focus();
    } else if !ev.shift_key() && is(last) {
        ev.prevent_default();
        let _ = first.focus();
    }
}
