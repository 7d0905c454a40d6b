//! `/login/verify`: the second step of signing in with two-factor on.

use crate::api::auth::{VerifySignIn, sign_in_pending};
use crate::components::{AuthCard, ErrorText, Gate, Submit, action_error};
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// A code from the authenticator app (or a recovery code), then **Verify**.
/// Without a pending sign-in the visitor goes back to the password step.
#[component]
pub fn LoginVerifyPage() -> impl IntoView {
    let verify = ServerAction::<VerifySignIn>::new();
    let pending = Resource::new(|| (), |_| sign_in_pending());
    let error = action_error(verify);
    view! {
        <Gate title="Two-factor sign-in" open=pending closed=|| view! { <Redirect path="/login" /> }>
            <AuthCard heading="Two-factor sign-in">
                <p>"Enter the code from your authenticator app, or one of your recovery codes."</p>
                <ActionForm action=verify attr:class="stack">
                    <label for="login-code">"Authentication code"</label>
                    <input
                        id="login-code"
                        name="code"
                        autocomplete="one-time-code"
                        maxlength="32"
                        required
                        autofocus
                    />
                    <ErrorText error />
                    <Submit pending=verify.pending() label="Verify" />
                </ActionForm>
                <p class="hint"><a href="/login">"Start over"</a></p>
            </AuthCard>
        </Gate>
    }
}
