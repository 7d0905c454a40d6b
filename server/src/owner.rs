//! Requests that Leptos handles outside a page render start a reactive scope
//! of their own.
//!
//! Leptos keeps its current "owner" (the reactive scope that holds a
//! request's context: its parts, its response options) in a thread-local.
//! A page render sets it when it starts and leaves it set, and the
//! server-function and static-file handlers make their scope a *child* of
//! whatever owner is current on their worker thread (`Owner::new()`). So a
//! server function or a file answered while a page rendered on the same
//! thread became part of that page: the file handler took the page's
//! response headers for itself (the page went out without its
//! Content-Security-Policy, dead in the browser, and the favicon carried
//! it), and a server function lost its own context when the page finished
//! ("request parts missing from context", an error for the caller).
//! [`Unowned`] clears the thread-local before every poll of such a handler,
//! so each starts a root of its own.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use leptos::prelude::Owner;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future polled with no Leptos owner current on its thread.
pub struct Unowned<F>(Pin<Box<F>>);

impl<F: Future> Unowned<F> {
    pub fn new(inner: F) -> Self {
        Unowned(Box::pin(inner))
    }
}

impl<F: Future> Future for Unowned<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if let Some(stranger) = Owner::current() {
            stranger.unset();
        }
        self.0.as_mut().poll(cx)
    }
}

/// Server functions (`/api/…`) run [`Unowned`]; pages render as Leptos
/// renders them (a render makes its own root).
pub async fn unowned_server_fns(req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/api/") {
        Unowned::new(next.run(req)).await
    } else {
        next.run(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Leptos does: a render's root stays current on its thread, and a
    /// scope made afterwards becomes its child, seeing its context.
    #[test]
    fn a_render_root_stays_current_and_adopts_the_next_scope() {
        let render = Owner::new_root(None);
        render.with(|| leptos::prelude::provide_context("the page's"));
        let next = Owner::new();
        assert!(next.parent().is_some());
        assert_eq!(next.with(leptos::prelude::use_context::<&str>), Some("the page's"));
        render.unset();
    }

    #[tokio::test]
    async fn an_unowned_future_starts_a_root_of_its_own() {
        let render = Owner::new_root(None);
        render.with(|| leptos::prelude::provide_context("the page's"));
        let seen = Unowned::new(async {
            let own = Owner::new();
            (own.parent().is_none(), own.with(leptos::prelude::use_context::<&str>))
        })
        .await;
        assert_eq!(seen, (true, None));
        drop(render);
    }
}
