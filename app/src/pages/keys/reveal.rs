//! The reveal step shown after create and regenerate: the only time a
//! secret is on screen.

use crate::api::key_types::RevealedKey;
use crate::components::CopyButton;
use crate::domain::Catalog;
use leptos::prelude::*;

/// Shows the secret with **Copy** and **Done**. Any way of closing (Done,
/// Escape, ×, the backdrop: `asked` is set by the dialog for the last three)
/// first asks whether the key was copied, with **Go back** and **Close**.
#[component]
pub fn RevealStep(
    revealed: RevealedKey,
    asked: RwSignal<bool>,
    on_closed: Callback<()>,
) -> impl IntoView {
    let admin = Catalog::is_admin_grade(&revealed.key.permissions);
    let field = NodeRef::<leptos::html::Input>::new();
    // The step replaces the form that had focus: put focus on the key.
    Effect::new(move |_| {
        if let Some(input) = field.get() {
            let _ = input.focus();
            input.select();
        }
    });
    let token = revealed.token;
    let copy_text = Signal::derive({
        let token = token.clone();
        move || token.clone()
    });
    view! {
        <Show
            when=move || asked.get()
            fallback=move || {
                let token = token.clone();
                view! {
                    <p class="warning" role="alert">
                        "Copy this key now. For your security it will not be shown again."
                    </p>
                    {admin
                        .then(|| {
                            view! {
                                <p class="warning">
                                    "This key can manage keys. Use it only on servers: never put it in client-side code such as browsers or mobile apps."
                                </p>
                            }
                        })}
                    <label for="revealed-key">"API key"</label>
                    <div class="copy-row">
                        <input id="revealed-key" class="mono" readonly prop:value=token node_ref=field />
                        <CopyButton text=copy_text />
                    </div>
                    <div class="modal-actions">
                        <button type="button" class="primary" on:click=move |_| asked.set(true)>
                            "Done"
                        </button>
                    </div>
                }
            }
        >
            <p>"Have you copied your key? It will not be shown again."</p>
            <div class="modal-actions">
                <button type="button" class="secondary" on:click=move |_| asked.set(false)>
                    "Go back"
                </button>
                <button type="button" class="primary" on:click=move |_| on_closed.run(())>
                    "Close"
                </button>
            </div>
        </Show>
    }
}
