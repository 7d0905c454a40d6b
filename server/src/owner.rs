//! Every request Leptos handles sees its own reactive scope, and no other.
//!
//! Leptos keeps its current "owner" (the reactive scope that holds a
//! request's context: its parts, its response options, its nonce) in a
//! thread-local. A page render sets it when it starts and leaves it set;
//! the server-function and static-file handlers make their scope a *child*
//! of whatever owner is current on their worker thread (`Owner::new()`), and
//! the render itself reads the thread-local again after its awaits. So work
//! of one request ran inside another's scope whenever both shared a worker
//! thread: the file handler took the page's response headers for itself
//! (the page went out without its Content-Security-Policy, dead in the
//! browser), a server function lost its own context when the page finished
//! ("request parts missing from context"), and under load a page could
//! wait for good for data registered with another page's render.
//! [`OwnScope`] polls each request with its own owner current (the one it
//! made, if any) and leaves none behind.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use leptos::prelude::Owner;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future polled with only its own Leptos owner current on its thread:
/// none at first, then the one a poll of its made current (a render's
/// root), and none left behind for the next task.
pub struct OwnScope<F> {
    inner: Pin<Box<F>>,
    own: Option<Owner>,
}

impl<F: Future> OwnScope<F> {
    pub fn new(inner: F) -> Self {
        OwnScope { inner: Box::pin(inner), own: None }
    }
}

fn clear() {
    if let Some(current) = Owner::current() {
        current.unset();
    }
}

impl<F: Future> Future for OwnScope<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        match &this.own {
            Some(own) => own.set(),
            None => clear(),
        }
        let answer = this.inner.as_mut().poll(cx);
        if this.own.is_none() {
            // Entered with none current: whatever is current now, this
            // request made (a render's root, on its first poll or later, as
            // the not-found page's after its file lookup).
            this.own = Owner::current();
        }
        clear();
        answer
    }
}

/// Runs every request of the site (pages, server functions, files) in
/// [`OwnScope`].
pub async fn own_scope(req: Request, next: Next) -> Response {
    OwnScope::new(next.run(req)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::prelude::{provide_context, use_context};

    /// What Leptos does: a render's root stays current on its thread, and a
    /// scope made afterwards becomes its child, seeing its context.
    #[test]
    fn a_render_root_stays_current_and_adopts_the_next_scope() {
        let render = Owner::new_root(None);
        render.with(|| provide_context("the page's"));
        let next = Owner::new();
        assert!(next.parent().is_some());
        assert_eq!(next.with(use_context::<&str>), Some("the page's"));
        render.unset();
    }

    #[tokio::test]
    async fn a_scoped_request_starts_a_root_of_its_own() {
        let render = Owner::new_root(None);
        render.with(|| provide_context("the page's"));
        let seen = OwnScope::new(async {
            let own = Owner::new();
            (own.parent().is_none(), own.with(use_context::<&str>))
        })
        .await;
        assert_eq!(seen, (true, None));
        drop(render);
    }

    /// A render reads its own owner after an await, whatever ran on the
    /// thread meanwhile, and leaves none behind.
    #[tokio::test]
    async fn a_render_keeps_its_own_owner_across_awaits() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let render = tokio::spawn(OwnScope::new(async move {
            let root = Owner::new_root(None);
            root.with(|| provide_context("mine"));
            rx.await.unwrap();
            use_context::<&str>()
        }));
        tokio::task::yield_now().await;
        // Another request's render on the same thread in between.
        let other = OwnScope::new(async {
            Owner::new_root(None).with(|| provide_context("theirs"));
        });
        other.await;
        assert!(Owner::current().is_none(), "nothing left behind");
        tx.send(()).unwrap();
        assert_eq!(render.await.unwrap(), Some("mine"));
    }
}
