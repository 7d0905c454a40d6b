//! `/invite/{token}`: accepting an invitation.

use super::auth::PasswordInput;
use crate::api::members::{AcceptInvitation, get_invitation};
use crate::api::types::InvitationDetails;
use crate::components::{
    AuthCard, AuthPage, DeadLink, ErrorText, Loaded, Submit, action_error, path_param,
};
use leptos::prelude::*;

#[component]
pub fn InvitePage() -> impl IntoView {
    let token = path_param("token");
    let details = Resource::new(move || token.get(), get_invitation);
    let accept = ServerAction::<AcceptInvitation>::new();
    let missing = || {
        let text = "The link is invalid, was already used, was withdrawn, or has expired. Ask for a new invitation.";
        view! { <DeadLink heading="This invitation cannot be used" text sign_in=true /> }
    };
    view! {
        <AuthPage title="Invitation">
            <Loaded resource=details show=move |inv| view! { <Accept inv token accept /> } missing />
        </AuthPage>
    }
}

/// The invitation and its password field.
#[component]
fn Accept(
    inv: InvitationDetails,
    token: Signal<String>,
    accept: ServerAction<AcceptInvitation>,
) -> impl IntoView {
    let hint = if inv.portal_user {
        "Your account signs in through your platform: accept while signed in there. Choose a password (at least 10 characters) if you also want to sign in here directly, or leave it empty."
    } else if inv.account_exists {
        "You already have a Keywarden account: confirm with its password."
    } else {
        "Choose a password of at least 10 characters for your new account."
    };
    let autocomplete = if inv.account_exists { "current-password" } else { "new-password" };
    view! {
        <AuthCard heading=format!("Join {}", inv.org_name)>
            <p class="lede">
                "You are invited as " <strong>{inv.role.label()}</strong> " with "
                <strong>{inv.email.clone()}</strong> "."
            </p>
            <ActionForm action=accept attr:class="stack">
                <input type="hidden" name="token" value=token />
                <label for="invite-password">"Password"</label>
                <PasswordInput id="invite-password" name="password" autocomplete optional=inv.portal_user />
                <p class="hint">{hint}</p>
                <ErrorText error=action_error(accept) />
                <Submit pending=accept.pending() label="Accept invitation" />
            </ActionForm>
        </AuthCard>
    }
}
