//! The pages as lazily loaded routes: in the browser each page's code is a
//! WASM chunk of its own (split out by `wasm-split-cli` in
//! `scripts/lib.sh`), fetched the first time the page is shown, so a first
//! visit downloads the shared runtime and one page rather than every page.
//! On the server the views render as any other.

use crate::pages;
use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

/// One unit type per page, each a [`LazyRoute`] whose view is its page.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),+ $(,)?) => {$(
        #[doc = concat!("`", stringify!($page), "`, loaded when first shown.")]
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <pages::$page /> }.into_any()
            }
        }
    )+};
}

// The API keys list (where everyone lands) and the small sign-in pages stay
// in the main module, so a first visit needs no chunk; the other pages are
// chunks. Splitting every page made the keys page pull a hundred small
// chunks (the code it shares with other pages), about as many bytes as no
// splitting at all.
lazy_pages! {
    Account => AccountPage,
    Admin => AdminPage,
    KeyDetail => KeyDetailPage,
    Members => MembersPage,
    AuditLog => AuditLogPage,
    RequestLog => RequestLogPage,
    Organization => OrganizationPage,
}
