//! The key dialogs (they need JavaScript). Each change is a Leptos
//! `ServerAction` held in [`KeyActions`]: its `pending` disables the button,
//! its error shows inside the dialog (the form keeps what was typed), and
//! its `version` reloads the list or detail page.

use super::fields::{KeyFields, KeyForm};
use super::reveal::RevealStep;
use crate::api::key_types::{Grace, KeyView, RevealedKey};
use crate::api::keys::{
    CreateKey, DeleteKey, RegenerateKey, RevokeKey, SetKeyEnabled, UpdateKey, get_key_options,
};
use crate::components::{ErrorText, Loading, Modal, action_error, format_date};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

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

/// Shared by the list and the detail page: the org, the open dialog, and
/// one server action per kind of change.
#[derive(Clone, Copy)]
pub struct KeyActions {
    pub slug: Signal<String>,
    pub dialog: RwSignal<Option<KeyDialog>>,
    pub create: ServerAction<CreateKey>,
    pub update: ServerAction<UpdateKey>,
    pub regenerate: ServerAction<RegenerateKey>,
    pub set_enabled: ServerAction<SetKeyEnabled>,
    /// Enable, from the list's inline button (apart from Disable's dialog).
    pub enable: ServerAction<SetKeyEnabled>,
    pub revoke: ServerAction<RevokeKey>,
    pub delete: ServerAction<DeleteKey>,
    /// Called after a key is deleted (the detail page leaves).
    pub on_deleted: Option<Callback<()>>,
}

impl KeyActions {
    pub fn new(slug: Signal<String>, on_deleted: Option<Callback<()>>) -> Self {
        KeyActions {
            slug,
            dialog: RwSignal::new(None),
            create: ServerAction::new(),
            update: ServerAction::new(),
            regenerate: ServerAction::new(),
            set_enabled: ServerAction::new(),
            enable: ServerAction::new(),
            revoke: ServerAction::new(),
            delete: ServerAction::new(),
            on_deleted,
        }
    }

    /// Changes made so far (tracked): the pages reload their data on it.
    pub fn version(&self) -> usize {
        self.create.version().get()
            + self.update.version().get()
            + self.regenerate.version().get()
            + self.set_enabled.version().get()
            + self.enable.version().get()
            + self.revoke.version().get()
            + self.delete.version().get()
    }

    fn close(&self) {
        self.dialog.set(None);
    }

    /// Enables a key at once (no confirmation needed); a refusal shows
    /// through [`KeyActions::enable_error`].
    pub fn enable(&self, key: &KeyView) {
        self.enable.dispatch(SetKeyEnabled {
            slug: self.slug.get_untracked(),
            id: key.id.clone(),
            enabled: true,
        });
    }

    /// Why the last Enable was refused, if it was.
    pub fn enable_error(&self) -> Signal<Option<AppError>> {
        action_error(self.enable)
    }
}

/// Runs `done` once when the action's next answer is a success (an answer
/// left from an earlier dialog is cleared first).
fn on_success<T: Clone + Send + Sync + 'static>(
    value: MappedSignal<Option<Result<T, AppError>>>,
    done: impl Fn(T) + 'static,
) {
    value.set(None);
    Effect::new(move |_| {
        if let Some(Ok(answer)) = value.get() {
            done(answer);
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
    #[prop(into)] pending: Signal<bool>,
    error: Signal<Option<AppError>>,
    on_submit: Callback<()>,
) -> impl IntoView {
    let options = LocalResource::new(move || get_key_options(actions.slug.get()));
    view! {
        <Suspense fallback=Loading>
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
    let (pending, error) = (actions.create.pending(), action_error(actions.create));
    on_success(actions.create.value(), move |r| revealed.set(Some(r)));
    let on_close = Callback::new(move |_| {
        if revealed.read_untracked().is_some() {
            // Escape on the reminder goes back to the key, never closes.
            asked.update(|a| *a = !*a);
        } else {
            actions.close();
        }
    });
    let on_submit = Callback::new(move |_| {
        actions
            .create
            .dispatch(CreateKey { slug: actions.slug.get_untracked(), input: form.input() });
    });
    let on_closed = Callback::new(move |_| {
        // The secret leaves the page's memory with the dialog.
        actions.create.value().set(None);
        actions.close();
    });
    view! {
        <Modal title="Create API key" on_close>
            {move || match revealed.get() {
                Some(r) => view! { <RevealStep revealed=r asked on_closed /> }.into_any(),
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
    let (pending, error) = (actions.update.pending(), action_error(actions.update));
    on_success(actions.update.value(), move |()| actions.close());
    let current_expiry = key.expires_at.map(format_date).unwrap_or_else(|| "never".into());
    let id = key.id.clone();
    let on_submit = Callback::new(move |_| {
        actions.update.dispatch(UpdateKey {
            slug: actions.slug.get_untracked(),
            id: id.clone(),
            input: form.input(),
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
    let action = actions.regenerate;
    let (pending, error) = (action.pending(), action_error(action));
    on_success(action.value(), move |r| revealed.set(Some(r)));
    let on_close = Callback::new(move |_| {
        if revealed.read_untracked().is_some() {
            asked.update(|a| *a = !*a);
        } else {
            actions.close();
        }
    });
    let id = key.id.clone();
    let regenerate = move |_| {
        action.dispatch(RegenerateKey {
            slug: actions.slug.get_untracked(),
            id: id.clone(),
            grace: grace.get_untracked(),
        });
    };
    let on_closed = Callback::new(move |_| {
        action.value().set(None);
        actions.close();
    });
    let name = key.name.clone();
    view! {
        <Modal title=format!("Regenerate {}", key.name) on_close>
            {move || match revealed.get() {
                Some(r) => view! { <RevealStep revealed=r asked on_closed /> }.into_any(),
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

/// A confirmation with one action button: it runs `action` with `input()`,
/// closes on success and shows the error otherwise.
#[component]
fn Confirm<A, F>(
    actions: KeyActions,
    action: ServerAction<A>,
    input: F,
    title: String,
    text: String,
    button: &'static str,
) -> impl IntoView
where
    A: ServerFn<Output = (), Error = AppError> + Clone + Send + Sync + 'static,
    F: Fn() -> A + Send + Sync + 'static,
{
    let (pending, error) = (action.pending(), action_error(action));
    on_success(action.value(), move |()| actions.close());
    view! {
        <Modal title on_close=Callback::new(move |_| actions.close())>
            <p>{text}</p>
            <ErrorText error=error />
            <div class="modal-actions">
                <button type="button" class="secondary" on:click=move |_| actions.close()>
                    "Cancel"
                </button>
                <button type="button" class="danger" disabled=move || pending.get() on:click=move |_| { action.dispatch(input()); }>
                    {button}
                </button>
            </div>
        </Modal>
    }
}

#[component]
fn DisableDialog(actions: KeyActions, key: KeyView) -> impl IntoView {
    let (slug, id) = (actions.slug, key.id.clone());
    let input =
        move || SetKeyEnabled { slug: slug.get_untracked(), id: id.clone(), enabled: false };
    let text =
        format!("Calls using \u{201c}{}\u{201d} will fail until you enable it again.", key.name);
    let title = format!("Disable {}", key.name);
    view! { <Confirm actions action=actions.set_enabled input title text button="Disable" /> }
}

#[component]
fn RevokeDialog(actions: KeyActions, key: KeyView) -> impl IntoView {
    let (slug, id) = (actions.slug, key.id.clone());
    let input = move || RevokeKey { slug: slug.get_untracked(), id: id.clone() };
    let text = format!(
        "Revoke \u{201c}{}\u{201d}? Calls using it fail at once. This cannot be undone; the key stays listed as revoked.",
        key.name
    );
    let title = format!("Revoke {}", key.name);
    view! { <Confirm actions action=actions.revoke input title text button="Revoke" /> }
}

#[component]
fn DeleteDialog(actions: KeyActions, key: KeyView) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let action = actions.delete;
    let (pending, error) = (action.pending(), action_error(action));
    on_success(action.value(), move |()| {
        actions.close();
        if let Some(done) = actions.on_deleted {
            done.run(());
        }
    });
    let name = key.name.clone();
    let matches = move || typed.get() == name;
    let id = key.id.clone();
    let delete = move |_| {
        action.dispatch(DeleteKey { slug: actions.slug.get_untracked(), id: id.clone() });
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
