//! The sign-in and first-run setup pages.

use crate::api::auth::{Login, setup_needed};
use crate::api::platform::{FoundOrg, signup_open};
use crate::components::{
    AuthCard, AuthPage, ErrorText, Gate, Submit, action_error, busy, use_hydrated,
};
use crate::domain::Founding;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

/// `/login`: email and password. Works as a plain form without JavaScript.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = action_error(login);
    view! {
        <AuthPage title="Sign in">
            <AuthCard heading="Sign in">
                <ActionForm action=login attr:class="stack">
                    <input type="hidden" name="next" value=next />
                    <label for="login-email">"Email"</label>
                    <input
                        id="login-email"
                        type="email"
                        name="email"
                        autocomplete="username"
                        required
                    />
                    <label for="login-password">"Password"</label>
                    <PasswordInput id="login-password" name="password" autocomplete="current-password" />
                    <ErrorText error />
                    <Submit pending=login.pending() label="Sign in" />
                </ActionForm>
            </AuthCard>
        </AuthPage>
    }
}

/// A password field with a **Show password** toggle (needs JavaScript; the
/// field works without it).
#[component]
pub fn PasswordInput(
    #[prop(into)] id: String,
    name: &'static str,
    autocomplete: &'static str,
    #[prop(optional)] minlength: Option<usize>,
    /// The field may stay empty.
    #[prop(optional)]
    optional: bool,
) -> impl IntoView {
    let visible = RwSignal::new(false);
    let ready = use_hydrated();
    view! {
        <div class="password-field">
            <input
                id=id.clone()
                name=name
                type=move || if visible.get() { "text" } else { "password" }
                autocomplete=autocomplete
                minlength=minlength
                required=!optional
            />
            <button
                type="button"
                class="ghost"
                aria-controls=id
                aria-pressed=move || visible.get().to_string()
                disabled=move || !ready.get()
                aria-busy=busy(ready)
                on:click=move |_| visible.update(|v| *v = !*v)
            >
                {move || if visible.get() { "Hide password" } else { "Show password" }}
            </button>
        </div>
    }
}

/// `/setup`: the first organisation and its owner, only while no user exists.
#[component]
pub fn SetupPage() -> impl IntoView {
    let needed = Resource::new(|| (), |_| setup_needed());
    view! {
        <Gate title="Set up Keywarden" open=needed closed=|| view! { <Redirect path="/login" /> }>
            <AuthCard heading="Set up Keywarden">
                <p class="lede">
                    "Create the first organisation and its owner account. You can invite everyone else afterwards."
                </p>
                <NewOrgForm how=Founding::FirstRun />
            </AuthCard>
        </Gate>
    }
}

/// `/signup` (operator setting `signup = "open"`): a new account and its
/// own organisation. Not found while sign-up is by invitation only.
#[component]
pub fn SignupPage() -> impl IntoView {
    let open = Resource::new(|| (), |_| signup_open());
    view! {
        <Gate title="Sign up" open closed=|| view! { <super::NotFound /> }>
            <AuthCard heading="Create your organisation">
                <NewOrgForm how=Founding::SignUp />
                <p>"Already have an account? " <a href="/login">"Sign in"</a></p>
            </AuthCard>
        </Gate>
    }
}

/// The form of a new organisation and its owner (first-run setup and
/// open sign-up): organisation name, URL name, email and password.
#[component]
fn NewOrgForm(how: Founding) -> impl IntoView {
    let found = ServerAction::<FoundOrg>::new();
    let prefix = match how {
        Founding::FirstRun => "setup",
        Founding::SignUp => "signup",
    };
    let id = move |field: &str| format!("{prefix}-{field}");
    view! {
        <ActionForm action=found attr:class="stack">
            <input type="hidden" name="how" value=how.as_str() />
            <label for=id("org")>"Organisation name"</label>
            <input id=id("org") name="org_name" maxlength="100" required />
            <label for=id("slug")>"URL name"</label>
            <input
                id=id("slug")
                name="slug"
                pattern="[a-z0-9]([a-z0-9\\-]*[a-z0-9])?"
                minlength="2"
                maxlength="40"
                aria-describedby=id("slug-hint")
                required
            />
            <p id=id("slug-hint") class="hint">"Lowercase letters, digits and hyphens, e.g. acme."</p>
            <label for=id("email")>"Email"</label>
            <input id=id("email") type="email" name="email" autocomplete="username" required />
            <label for=id("password")>"Password"</label>
            <PasswordInput
                id=id("password")
                name="password"
                autocomplete="new-password"
                minlength=crate::domain::Password::MIN_CHARS
            />
            <ErrorText error=action_error(found) />
            <Submit pending=found.pending() label="Create organisation" />
        </ActionForm>
    }
}
