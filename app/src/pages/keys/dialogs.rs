//! The key dialogs. Each calls its server function directly (dialogs need
//! JavaScript); server errors show inside the dialog and the form keeps
//! what was typed.

use super::fields::{KeyFields, KeyForm};
use super::reveal::RevealStep;
use crate::api::key_types::{Grace, KeyView, RevealedKey};
use crate::api::keys::{
    create_key, delete_key, get_key_options, regenerate_key, revoke_key, set_key_enabled,
    update_key,
};
use crate::components::{ErrorText, Modal, format_date};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Which dialog is open on the keys pages.
#[derive(Clone, Debug)]
pub enum KeyDialog {
    Create,
    Edit(KeyView),
    Regenerate(KeyView),
    Disable(KeyView),
    Revoke(KeyView),
    Delete(KeyView),
}

/// Shared by the list and the detail page: the org, the open dialog, and a
/// counter bumped after every change so data reloads.
#[derive(Clone, Copy)]
pub struct KeyActions {
    pub slug: Signal<String>,
    pub dialog: RwSignal<Option<KeyDialog>>,
    pub refresh: RwSignal<u32>,
    /// Called after a key is deleted (the detail page leaves).
    pub on_deleted: Option<Callback<()>>,
}

impl KeyActions {
    fn close(&self) {
        self.dialog.set(None);
    }

    fn changed(&self) {
        self.refresh.update(|n| *n += 1);
    }

    /// Enables a key at once (no confirmation needed).
    pub fn enable(&self, key: &KeyView) {
        let this = *self;
        let (slug, id) = (self.slug.get_untracked(), key.id.clone());
        spawn_local(async move {
            if set_key_enabled(slug, id, true).await.is_ok() {
                this.changed();
            }
        });
    }
}

/// Runs `call`, tracking `pending` and `error`; `done` gets the answer.
fn submit<T: 'static>(
    pending: RwSignal<bool>,
    error: RwSignal<Option<AppError>>,
    call: impl std::future::Future<Output = Result<T, AppError>> + 'static,
    done: impl FnOnce(T) + 'static,
) {
    pending.set(true);
    error.set(None);
    spawn_local(async move {
        let result = call.await;
        pending.set(false);
        match result {
            Ok(value) => done(value),
            Err(e) => error.set(Some(e)),
        }
    });
}

/// The open dialog, if any.
#[component]
pub fn KeyDialogs(actions: KeyActions) -> impl IntoView {
    move || {
        actions.dialog.get().map(|d| match d {
            KeyDialog::Create => view! { <CreateFlow actions /> }.into_any(),
            KeyDialog::Edit(key) => view! { <EditDialog actions key /> }.into_any(),
            KeyDialog::Regenerate(key) => view! { <RegenerateFlow actions key /> }.into_any(),
            KeyDialog::Disable(key) => view! { <DisableDialog actions key /> }.into_any(),
            KeyDialog::Revoke(key) => view! { <RevokeDialog actions key /> }.into_any(),
            KeyDialog::Delete(key) => view! { <DeleteDialog actions key /> }.into_any(),
        })
    }
}

/// The key form once the caller's options are loaded: fields, the server's
/// error, **Cancel** and the submit button. Shared by create and edit.
#[component]
fn KeyFormBody(
    actions: KeyActions,
    form: KeyForm,
    creating: bool,
    #[prop(optional)] current_expiry: Option<String>,
    submit_label: &'static str,
    pending: RwSignal<bool>,
    error: RwSignal<Option<AppError>>,
    on_submit: Callback<()>,
) -> impl IntoView {
    let options = LocalResource::new(move || get_key_options(actions.slug.get()));
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let current_expiry = current_expiry.clone().unwrap_or_else(|| "never".into());
                Suspend::new(async move {
                    match options.await {
                        Ok(options) => {
                            view! {
                                <form
                                    class="key-form"
                                    on:submit=move |ev| {
                                        ev.prevent_default();
                                        on_submit.run(());
                                    }
                                >
                                    <KeyFields form options creating current_expiry />
                                    <ErrorText error=error />
                                    <div class="modal-actions">
                                        <button type="button" class="secondary" on:click=move |_| actions.close()>
                                            "Cancel"
                                        </button>
                                        <button type="submit" class="primary" disabled=move || pending.get()>
                                            {submit_label}
                                        </button>
                                    </div>
                                </form>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <ErrorText error=Signal::stored(Some(e)) /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn CreateFlow(actions: KeyActions) -> impl IntoView {
    let form = KeyForm::new();
    let revealed = RwSignal::new(None::<RevealedKey>);
    let asked = RwSignal::new(false);
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let on_close = Callback::new(move |_| {
        if revealed.read_untracked().is_some() {
            // Escape on the reminder goes back to the key, never closes.
            asked.update(|a| *a = !*a);
        } else {
            actions.close();
        }
    });
    let on_submit = Callback::new(move |_| {
        let call = create_key(actions.slug.get_untracked(), form.input());
        submit(pending, error, call, move |r| {
            actions.changed();
            revealed.set(Some(r));
        });
    });
    view! {
        <Modal title="Create API key" on_close>
            {move || match revealed.get() {
                Some(r) => {
                    view! { <RevealStep revealed=r asked on_closed=Callback::new(move |_| actions.close()) /> }
                        .into_any()
                }
                None => {
                    view! { <KeyFormBody actions form creating=true submit_label="Create" pending error on_submit /> }
                        .into_any()
                }
            }}
        </Modal>
    }
}

#[component]
fn EditDialog(actions: KeyActions, key: KeyView) -> impl IntoView {
    let form = KeyForm::editing(&key);
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let current_expiry = key
        .expires_at
        .map(format_date)
        .unwrap_or_else(|| "never".into());
    let id = key.id.clone();
    let on_submit = Callback::new(move |_| {
        let call = update_key(actions.slug.get_untracked(), id.clone(), form.input());
        submit(pending, error, call, move |()| {
            actions.changed();
            actions.close();
        });
    });
    view! {
        <Modal title=format!("Edit {}", key.name) on_close=Callback::new(move |_| actions.close())>
            <p class="hint">{format!("Environment: {} (fixed for a key)", key.environment.label())}</p>
            <KeyFormBody actions form creating=false current_expiry submit_label="Save" pending error on_submit />
        </Modal>
    }
}

#[component]
fn RegenerateFlow(actions: KeyActions, key: KeyView) -> impl IntoView {
    let grace = RwSignal::new(Grace::None);
    let revealed = RwSignal::new(None::<RevealedKey>);
    let asked = RwSignal::new(false);
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let on_close = Callback::new(move |_| {
        if revealed.read_untracked().is_some() {
            asked.update(|a| *a = !*a);
        } else {
            actions.close();
        }
    });
    let id = key.id.clone();
    let regenerate = move |_| {
        let call = regenerate_key(
            actions.slug.get_untracked(),
            id.clone(),
            grace.get_untracked(),
        );
        submit(pending, error, call, move |r| {
            actions.changed();
            revealed.set(Some(r));
        });
    };
    let name = key.name.clone();
    view! {
        <Modal title=format!("Regenerate {}", key.name) on_close>
            {move || match revealed.get() {
                Some(r) => {
                    view! { <RevealStep revealed=r asked on_closed=Callback::new(move |_| actions.close()) /> }
                        .into_any()
                }
                None => {
                    let regenerate = regenerate.clone();
                    view! {
                        <p>
                            {format!("A new secret replaces the current one of \u{201c}{name}\u{201d}; its name, permissions and limits stay.")}
                        </p>
                        <fieldset class="field">
                            <legend>"When should the old secret stop working?"</legend>
                            {Grace::ALL
                                .into_iter()
                                .map(|g| {
                                    view! {
                                        <label class="check">
                                            <input
                                                type="radio"
                                                name="grace"
                                                prop:checked=move || grace.get() == g
                                                on:change=move |_| grace.set(g)
                                            />
                                            {g.label()}
                                        </label>
                                    }
                                })
                                .collect_view()}
                        </fieldset>
                        <ErrorText error=error />
                        <div class="modal-actions">
                            <button type="button" class="secondary" on:click=move |_| actions.close()>
                                "Cancel"
                            </button>
                            <button type="button" class="primary" disabled=move || pending.get() on:click=regenerate>
                                "Regenerate"
                            </button>
                        </div>
                    }
                        .into_any()
                }
            }}
        </Modal>
    }
}

/// A confirmation with one action button.
#[component]
fn Confirm(
    actions: KeyActions,
    title: String,
    text: String,
    button: &'static str,
    pending: RwSignal<bool>,
    error: RwSignal<Option<AppError>>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    view! {
        <Modal title on_close=Callback::new(move |_| actions.close())>
            <p>{text}</p>
            <ErrorText error=error />
            <div class="modal-actions">
                <button type="button" class="secondary" on:click=move |_| actions.close()>
                    "Cancel"
                </button>
                <button type="button" class="danger" disabled=move || pending.get() on:click=move |_| on_confirm.run(())>
                    {button}
                </button>
            </div>
        </Modal>
    }
}

#[component]
fn DisableDialog(actions: KeyActions, key: KeyView) -> impl IntoView {
    let (pending, error) = (RwSignal::new(false), RwSignal::new(None::<AppError>));
    let id = key.id.clone();
    let on_confirm = Callback::new(move |_| {
        let call = set_key_enabled(actions.slug.get_untracked(), id.clone(), false);
        submit(pending, error, call, move |()| {
            actions.changed();
            actions.close();
        });
    });
    let text = format!(
        "Calls using \u{201c}{}\u{201d} will fail until you enable it again.",
        key.name
    );
    view! { <Confirm actions title=format!("Disable {}", key.name) text button="Disable" pending error on_confirm /> }
}

#[component]
fn RevokeDialog(actions: KeyActions, key: KeyView) -> impl IntoView {
    let (pending, error) = (RwSignal::new(false), RwSignal::new(None::<AppError>));
    let id = key.id.clone();
    let on_confirm = Callback::new(move |_| {
        let call = revoke_key(actions.slug.get_untracked(), id.clone());
        submit(pending, error, call, move |()| {
            actions.changed();
            actions.close();
        });
    });
    let text = format!(
        "Revoke \u{201c}{}\u{201d}? Calls using it fail at once. This cannot be undone; the key stays listed as revoked.",
        key.name
    );
    view! { <Confirm actions title=format!("Revoke {}", key.name) text button="Revoke" pending error on_confirm /> }
}

#[component]
fn DeleteDialog(actions: KeyActions, key: KeyView) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let (pending, error) = (RwSignal::new(false), RwSignal::new(None::<AppError>));
    let name = key.name.clone();
    let matches = move || typed.get() == name;
    let id = key.id.clone();
    let delete = move |_| {
        let call = delete_key(actions.slug.get_untracked(), id.clone());
        submit(pending, error, call, move |()| {
            actions.changed();
            actions.close();
            if let Some(done) = actions.on_deleted {
                done.run(());
            }
        });
    };
    view! {
        <Modal title=format!("Delete {}", key.name) on_close=Callback::new(move |_| actions.close())>
            <p>
                "This erases the key from the list; calls using it fail as unknown. The audit log keeps its history. Type "
                <strong>{key.name.clone()}</strong>
                " to confirm."
            </p>
            <label for="delete-confirm">"Type the key name to confirm"</label>
            <input
                id="delete-confirm"
                autocomplete="off"
                prop:value=move || typed.get()
                on:input=move |ev| typed.set(event_target_value(&ev))
            />
            <ErrorText error=error />
            <div class="modal-actions">
                <button type="button" class="secondary" on:click=move |_| actions.close()>
                    "Cancel"
                </button>
                <button
                    type="button"
                    class="danger"
                    disabled=move || !matches() || pending.get()
                    on:click=delete
                >
                    "Delete"
                </button>
            </div>
        </Modal>
    }
}
