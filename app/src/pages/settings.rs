//! The settings layout shared by the org pages, and the pages that are still
//! placeholders.

use crate::api::auth::get_org_context;
use crate::api::types::OrgContext;
use crate::components::{ErrorPanel, Loading, SignOut};
use crate::domain::Capability;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect};
use leptos_router::hooks::{use_location, use_params_map};

/// `/orgs/{slug}/settings/*`: sidebar navigation, org switcher and user menu
/// around the page. Signed-out visitors go to the sign-in page and come back.
#[component]
pub fn SettingsLayout() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let org = Resource::new(slug, get_org_context);
    let location = use_location();
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match org.await {
                    Ok(ctx) => view! { <Shell ctx /> }.into_any(),
                    Err(AppError::Unauthenticated) => {
                        let here = location.pathname.get_untracked();
                        let path = format!("/login?next={}", crate::components::urlencode(&here));
                        view! { <Redirect path /> }.into_any()
                    }
                    Err(AppError::TwoFactorRequired) => {
                        let path = format!("/account?required={}", crate::components::urlencode(&slug()));
                        view! { <Redirect path /> }.into_any()
                    }
                    Err(error) => view! { <main class="auth-page"><ErrorPanel error /></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Shell(ctx: OrgContext) -> impl IntoView {
    let base = format!("/orgs/{}/settings", ctx.slug);
    let location = use_location();
    let link = move |page: &'static str, label: &'static str| {
        let href = format!("{base}/{page}");
        let current = {
            let href = href.clone();
            move || (location.pathname.get() == href).then_some("page")
        };
        view! {
            <a href=href aria-current=current>
                {label}
            </a>
        }
    };
    let others: Vec<_> = ctx.orgs.iter().filter(|o| o.slug != ctx.slug).cloned().collect();
    view! {
        <div class="app">
            <aside class="sidebar">
                <p class="brand">"Keywarden"</p>
                <div class="org-card">
                    <span class="org-name">{ctx.name.clone()}</span>
                    <span class="badge">{ctx.role.label()}</span>
                </div>
                <nav aria-label="Settings" class="nav">
                    {link("api-keys", "API Keys")}
                    {link("members", "Members")}
                    {ctx.role.can(Capability::ViewKeyDetail).then(|| link("logs", "Request log"))}
                    {ctx.role.can(Capability::ViewAuditLog).then(|| link("audit-log", "Audit log"))}
                    {ctx.role.can(Capability::ViewOrgSettings).then(|| link("organization", "Organisation"))}
                </nav>
                {ctx.is_admin.then(|| view! {
                    <nav aria-label="Platform" class="nav">
                        <a href="/admin">"Admin console"</a>
                    </nav>
                })}
                {ctx.return_url.clone().map(|url| {
                    let host = crate::domain::ReturnUrl::host(&url).to_string();
                    view! { <a class="back-link" href=url>{format!("Back to {host}")}</a> }
                })}
                {(!others.is_empty())
                    .then(|| {
                        view! {
                            <nav aria-label="Switch organisation" class="org-switcher">
                                <p class="nav-heading">"Switch organisation"</p>
                                {others
                                    .into_iter()
                                    .map(|o| {
                                        view! {
                                            <a href=format!("/orgs/{}/settings/api-keys", o.slug)>
                                                {o.name}
                                            </a>
                                        }
                                    })
                                    .collect_view()}
                            </nav>
                        }
                    })}
            </aside>
            <div class="main">
                <header class="topbar">
                    <span class="topbar-title">{ctx.name.clone()} " · Settings"</span>
                    <details class="user-menu">
                        <summary aria-label=format!("Account menu, {}", ctx.email)>{ctx.email.clone()}</summary>
                        <div class="menu">
                            <p class="menu-note">"Signed in as " {ctx.email.clone()}</p>
                            <a href="/account">"Account"</a>
                            <SignOut />
                        </div>
                    </details>
                </header>
                <main class="content">
                    {ctx.suspended.then(|| view! {
                        <p class="banner banner-warning" role="status">
                            "This organisation is suspended. You can look around, but nothing can be changed and its API keys are refused. Contact the platform to resume it."
                        </p>
                    })}
                    <Outlet />
                </main>
            </div>
        </div>
    }
}
