//! `/portal/{token}`: a one-time sign-in link from the platform (§11).
//! Opening it shows whose link it is; with JavaScript and no one signed in
//! it continues by itself, without JavaScript the person presses
//! **Continue**. When someone is signed in already, it asks "Continue as
//! …?" with **Continue** and **Cancel**: sending someone your own link
//! must not quietly swap their session for yours. Using it is a POST, so a
//! link scanner fetching the page does not spend it.

use crate::api::platform::{PortalEnter, PortalWelcome, portal_peek};
use crate::components::{
    AuthCard, AuthPage, DeadLink, ErrorText, Loaded, Submit, action_error, path_param,
};
use leptos::prelude::*;

#[component]
pub fn PortalPage() -> impl IntoView {
    let token = path_param("token");
    let welcome = Resource::new(move || token.get(), portal_peek);
    let enter = ServerAction::<PortalEnter>::new();
    let missing = || {
        let text = "Sign-in links work once, within five minutes. This one is unknown, was already used, or has expired. Go back to the platform and open API keys again for a new one.";
        view! { <DeadLink heading="This sign-in link cannot be used" text /> }
    };
    view! {
        <AuthPage title="Signing in">
            <Loaded resource=welcome show=move |w| view! { <Enter w token enter /> } missing />
        </AuthPage>
    }
}

/// Whose link it is, and **Continue**: pressed by itself once hydrated
/// when no one is signed in in this browser; otherwise the person is asked
/// first, since continuing ends the session they have.
#[component]
fn Enter(
    w: PortalWelcome,
    token: Signal<String>,
    enter: ServerAction<PortalEnter>,
) -> impl IntoView {
    let heading;
    let lede;
    if let Some(current) = w.signed_in_as.clone() {
        heading = format!("Continue as {} in {}?", w.email, w.org_name);
        lede = view! {
            <p class="lede">"You will be signed out of " <strong>{current}</strong> "."</p>
        }
        .into_any();
    } else {
        Effect::new(move |_| {
            if enter.version().get_untracked() == 0 && !enter.pending().get_untracked() {
                enter.dispatch(PortalEnter { token: token.get_untracked() });
            }
        });
        heading = format!("Sign in to {}", w.org_name);
        lede =
            view! { <p class="lede">"As " <strong>{w.email.clone()}</strong> "."</p> }.into_any();
    }
    let asking = w.signed_in_as.is_some();
    view! {
        <AuthCard heading>
            {lede}
            <ActionForm action=enter attr:class="stack">
                <input type="hidden" name="token" value=token />
                <ErrorText error=action_error(enter) />
                <Submit pending=enter.pending() label="Continue" />
                {asking.then(|| view! { <a class="cancel-link" href="/">"Cancel"</a> })}
            </ActionForm>
        </AuthCard>
    }
}
