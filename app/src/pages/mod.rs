//! One module per page (or group of closely related pages).

mod account;
mod admin;
mod audit;
mod auth;
mod invite;
mod keys;
mod login_verify;
mod members;
mod organization;
mod portal;
mod requests;
mod settings;

pub use account::AccountPage;
pub use admin::AdminPage;
pub use audit::AuditLogPage;
pub use auth::{LoginPage, SetupPage, SignupPage};
pub use invite::InvitePage;
pub use keys::{ApiKeysPage, KeyDetailPage};
pub use login_verify::LoginVerifyPage;
pub use members::MembersPage;
pub use organization::OrganizationPage;
pub use portal::PortalPage;
pub use requests::RequestLogPage;
pub use settings::SettingsLayout;

use crate::api::auth::current_session;
use crate::components::{AuthPage, ErrorPanel, Loading, SignOut};
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// `/`: sends a signed-in user to their first organisation, anyone else to
/// the sign-in page.
#[component]
pub fn Home() -> impl IntoView {
    let session = Resource::new(|| (), |_| current_session());
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match session.await {
                    Ok(Some(info)) => {
                        match info.orgs.first() {
                            Some(org) => {
                                let path = format!("/orgs/{}/settings/api-keys", org.slug);
                                view! { <Redirect path=path /> }.into_any()
                            }
                            None => view! { <NoOrganisation email=info.email /> }.into_any(),
                        }
                    }
                    Ok(None) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NoOrganisation(email: String) -> impl IntoView {
    view! {
        <AuthPage title="No organisation">
            <section class="auth-card">
                <h1>"No organisation yet"</h1>
                <p>
                    "You are signed in as " <strong>{email}</strong>
                    ", but you are not a member of any organisation. Ask an owner for an invitation link."
                </p>
                <SignOut />
            </section>
        </AuthPage>
    }
}

/// Any path the router does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <AuthPage title="Not found">
            <ErrorPanel error=crate::AppError::NotFound />
        </AuthPage>
    }
}
