#![recursion_limit = "256"]

//! Keywarden's application: domain types, server functions and the Leptos UI,
//! shared by the server (feature `ssr`) and the browser (feature `hydrate`).

pub mod api;
pub mod components;
pub mod domain;
pub mod error;
mod pages;
mod routes;

#[cfg(feature = "ssr")]
pub mod backend;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{Lazy, SsrMode, path};

pub use error::AppError;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // Versioned asset URLs, cached for good; a new build changes them.
    #[cfg(feature = "ssr")]
    let root = use_context::<backend::AppState>()
        .map(|s| s.settings.asset_version.clone())
        .filter(|v| !v.is_empty())
        .map(|v| format!("/v/{v}"))
        .unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let root = String::new();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="stylesheet" id="leptos" href=format!("{root}/pkg/keywarden.css") />
                <HydrationScripts options root />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The routes of the UI. Every route renders completely on the server
/// (`SsrMode::Async`) so pages and plain forms work without JavaScript and
/// redirects are real HTTP redirects.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let ssr = SsrMode::Async;
    view! {
        <Title formatter=|title: String| format!("{title} · Keywarden") />
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/") view=pages::Home ssr=ssr.clone() />
                <Route path=path!("/login") view=pages::LoginPage ssr=ssr.clone() />
                <Route path=path!("/login/verify") view=pages::LoginVerifyPage ssr=ssr.clone() />
                <Route path=path!("/account") view={Lazy::<routes::Account>::new()} ssr=ssr.clone() />
                <Route path=path!("/setup") view=pages::SetupPage ssr=ssr.clone() />
                <Route path=path!("/signup") view=pages::SignupPage ssr=ssr.clone() />
                <Route path=path!("/invite/:token") view=pages::InvitePage ssr=ssr.clone() />
                <Route path=path!("/portal/:token") view=pages::PortalPage ssr=ssr.clone() />
                <Route path=path!("/admin") view={Lazy::<routes::Admin>::new()} ssr=ssr.clone() />
                <ParentRoute
                    path=path!("/orgs/:slug/settings")
                    view=pages::SettingsLayout
                    ssr=ssr.clone()
                >
                    <Route
                        path=path!("")
                        view=|| view! { <Redirect path="api-keys" /> }
                        ssr=ssr.clone()
                    />
                    <Route path=path!("api-keys") view=pages::ApiKeysPage ssr=ssr.clone() />
                    <Route path=path!("api-keys/:id") view={Lazy::<routes::KeyDetail>::new()} ssr=ssr.clone() />
                    <Route path=path!("members") view={Lazy::<routes::Members>::new()} ssr=ssr.clone() />
                    <Route path=path!("audit-log") view={Lazy::<routes::AuditLog>::new()} ssr=ssr.clone() />
                    <Route path=path!("logs") view={Lazy::<routes::RequestLog>::new()} ssr=ssr.clone() />
                    <Route path=path!("organization") view={Lazy::<routes::Organization>::new()} ssr=ssr.clone() />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
