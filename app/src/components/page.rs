//! The frame every page shares: headings, the loading state, a page's data
//! or its error, the sign-in card, the primary button and **Sign out**.

use super::ErrorPanel;
use crate::api::auth::Logout;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Serialize, de::DeserializeOwned};

/// A parameter of the current route's path, e.g. `slug` (empty when absent).
pub fn path_param(name: &'static str) -> Signal<String> {
    let params = use_params_map();
    Signal::derive(move || params.read().get(name).unwrap_or_default())
}

/// The error of `action`'s last run, if it failed, to show beside its form.
pub fn action_error<A>(action: ServerAction<A>) -> Signal<Option<AppError>>
where
    A: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    A::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}

/// A settings page's browser title, heading and one line on what it holds.
#[component]
pub fn PageHeading(title: &'static str, lede: &'static str) -> impl IntoView {
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <p class="lede">{lede}</p>
    }
}

/// Shown while a page's data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading">"Loading…"</p> }
}

/// A page's data once it has loaded, drawn by `show`; `missing` when it is
/// not found (if given), the error panel for any other error.
#[component]
pub fn Loaded<T, F, V>(
    resource: Resource<Result<T, AppError>>,
    show: F,
    #[prop(optional, into)] missing: Option<ViewFn>,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=Loading>
            {move || {
                let (show, missing) = (show.clone(), missing.clone());
                Suspend::new(async move {
                    match (resource.await, missing) {
                        (Ok(value), _) => show(value).into_any(),
                        (Err(AppError::NotFound), Some(missing)) => missing.run(),
                        (Err(error), _) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// A page outside the settings (sign-in, links, not found): its title
/// and the centred frame its card stands in.
#[component]
pub fn AuthPage(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <Title text=title />
        <main class="auth-page">{children()}</main>
    }
}

/// An [`AuthPage`] shown only while `open` loads as `true`; `closed`
/// (a redirect, or not found) otherwise.
#[component]
pub fn Gate<C, V>(
    title: &'static str,
    open: Resource<Result<bool, AppError>>,
    closed: C,
    children: ChildrenFn,
) -> impl IntoView
where
    C: Fn() -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let show = move |open: bool| match open {
        true => {
            let children = children.clone();
            view! { <AuthPage title>{children()}</AuthPage> }.into_any()
        }
        false => closed().into_any(),
    };
    view! { <Loaded resource=open show /> }
}

/// The card of the sign-in pages: the brand, a heading, then the form.
#[component]
pub fn AuthCard(#[prop(into)] heading: String, children: Children) -> impl IntoView {
    view! {
        <section class="auth-card">
            <p class="brand">"Keywarden"</p>
            <h1>{heading}</h1>
            {children()}
        </section>
    }
}

/// A link that cannot be used (unknown, spent or expired): what happened
/// and what to do, optionally with a way to sign in.
#[component]
pub fn DeadLink(
    heading: &'static str,
    text: &'static str,
    #[prop(optional)] sign_in: bool,
) -> impl IntoView {
    view! {
        <section class="panel error-panel">
            <h1>{heading}</h1>
            <p>{text}</p>
            {sign_in.then(|| view! { <a href="/login">"Sign in"</a> })}
        </section>
    }
}

/// A form's primary button, disabled while its action runs.
#[component]
pub fn Submit(#[prop(into)] pending: Signal<bool>, label: &'static str) -> impl IntoView {
    view! {
        <button type="submit" class="primary" disabled=move || pending.get()>
            {label}
        </button>
    }
}

/// A labelled form control: `<label for=id>` and the control (`children`,
/// whose id must be `id`), kept together by the filter and inline forms.
#[component]
pub fn Field(#[prop(into)] id: String, label: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {children()}
        </div>
    }
}

/// **Sign out**: ends this session and returns to the sign-in page.
#[component]
pub fn SignOut() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <ActionForm action=logout>
            <button type="submit" class="secondary">
                "Sign out"
            </button>
        </ActionForm>
    }
}
