//! A second try for a stalled page. Leptos' server-side rendering can,
//! rarely and under load, lose the wake-up of a `<Suspense>`
//! (leptos-rs/leptos#4851, still seen with 0.8.23): that render never
//! finishes, though the same page renders at once when asked again. A GET
//! (rendering a page changes nothing) still unanswered after
//! [`HEDGE_AFTER`] is rendered a second time, and whichever answers first
//! is sent; the stalled one is dropped. Other methods are never repeated.

use app::backend::csp::NonceSlot;
use axum::body::Body;
use axum::http::{Method, Request};
use axum::response::Response;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{Layer, Service, ServiceExt};

/// How long a GET may take before it is tried again: pages render in well
/// under a second, even for an org with 10,000 keys.
pub const HEDGE_AFTER: Duration = Duration::from_secs(4);

/// Wraps a service in [`Hedge`].
#[derive(Clone, Copy, Debug, Default)]
pub struct HedgeLayer;

impl<S> Layer<S> for HedgeLayer {
    type Service = Hedge<S>;

    fn layer(&self, inner: S) -> Hedge<S> {
        Hedge { inner }
    }
}

/// Tries a stalled GET a second time (see the module).
#[derive(Clone, Debug)]
pub struct Hedge<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for Hedge<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        // The clone that was made ready serves this call; a fresh one waits.
        let ready = self.inner.clone();
        let mut first = std::mem::replace(&mut self.inner, ready);
        let Some(again) = (req.method() == Method::GET).then(|| copy(&req)).flatten() else {
            return Box::pin(first.call(req));
        };
        let second = self.inner.clone();
        Box::pin(async move {
            let slot = req.extensions().get::<NonceSlot>().cloned();
            let first = first.call(req);
            tokio::pin!(first);
            tokio::select! {
                answer = &mut first => answer,
                () = tokio::time::sleep(HEDGE_AFTER) => {
                    tracing::warn!(
                        path = ?crate::security::loggable_path(again.uri().path()),
                        "a page render stalled; rendering it again"
                    );
                    // The second render's scripts carry a nonce of their own.
                    let again_slot = NonceSlot::default();
                    let mut again = again;
                    again.extensions_mut().insert(again_slot.clone());
                    tokio::select! {
                        answer = &mut first => answer,
                        answer = second.oneshot(again) => {
                            if let Some(slot) = slot {
                                slot.set(again_slot.nonce());
                            }
                            answer
                        }
                    }
                }
            }
        })
    }
}

/// The same GET again (it has no body), or `None` when it has one.
fn copy(req: &Request<Body>) -> Option<Request<Body>> {
    if req.headers().contains_key(axum::http::header::CONTENT_LENGTH) {
        return None;
    }
    let mut again = Request::new(Body::empty());
    *again.method_mut() = req.method().clone();
    *again.uri_mut() = req.uri().clone();
    *again.version_mut() = req.version();
    *again.headers_mut() = req.headers().clone();
    *again.extensions_mut() = req.extensions().clone();
    Some(again)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A service whose first call never answers.
    fn stalls_once(
        calls: Arc<AtomicUsize>,
    ) -> impl Service<
        Request<Body>,
        Response = Response,
        Error = Infallible,
        Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>,
    > + Clone {
        tower::service_fn(move |_req: Request<Body>| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if n == 0 {
                    std::future::pending::<()>().await;
                }
                Ok::<_, Infallible>(Response::new(Body::from(format!("try {n}"))))
            }) as Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>
        })
    }

    async fn body(res: Response) -> String {
        let bytes = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_get_is_answered_by_a_second_try() {
        let calls = Arc::new(AtomicUsize::new(0));
        let service = HedgeLayer.layer(stalls_once(calls.clone()));
        let req = Request::get("/orgs/acme/settings/api-keys").body(Body::empty()).unwrap();
        let answered = tokio::time::timeout(HEDGE_AFTER * 3, service.oneshot(req)).await;
        let res = answered.expect("the second try answers").unwrap();
        assert_eq!(body(res).await, "try 1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// Renders that record a nonce of their own try, try `n` answering
    /// after `wait(n)` (`None`: never), and which answer and nonce a
    /// hedged GET ends with.
    async fn hedged(wait: fn(usize) -> Option<Duration>) -> (String, Option<String>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let renders = tower::service_fn(move |req: Request<Body>| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            if let Some(slot) = req.extensions().get::<NonceSlot>() {
                slot.set(Some(format!("nonce of try {n}")));
            }
            Box::pin(async move {
                match wait(n) {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => std::future::pending::<()>().await,
                }
                Ok::<_, Infallible>(Response::new(Body::from(format!("try {n}"))))
            }) as Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>
        });
        let slot = NonceSlot::default();
        let mut req = Request::get("/orgs/acme/settings/api-keys").body(Body::empty()).unwrap();
        req.extensions_mut().insert(slot.clone());
        let res = HedgeLayer.layer(renders).oneshot(req).await.unwrap();
        (body(res).await, slot.nonce())
    }

    /// The answer sent is the second render's, so the page policy must name
    /// the second render's nonce, not the first's.
    #[tokio::test(start_paused = true)]
    async fn the_second_renders_nonce_goes_with_its_answer() {
        let (answer, nonce) = hedged(|n| (n > 0).then_some(Duration::ZERO)).await;
        assert_eq!((answer.as_str(), nonce.as_deref()), ("try 1", Some("nonce of try 1")));
    }

    /// A first render that answers after the second has started keeps its
    /// own nonce.
    #[tokio::test(start_paused = true)]
    async fn a_slow_first_render_that_wins_keeps_its_nonce() {
        let (answer, nonce) = hedged(|n| {
            Some(if n == 0 { HEDGE_AFTER + Duration::from_secs(1) } else { HEDGE_AFTER * 10 })
        })
        .await;
        assert_eq!((answer.as_str(), nonce.as_deref()), ("try 0", Some("nonce of try 0")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_post_is_never_sent_twice() {
        let calls = Arc::new(AtomicUsize::new(0));
        let service = HedgeLayer.layer(stalls_once(calls.clone()));
        let req = Request::post("/api/keys/create").body(Body::from("{}")).unwrap();
        let stalled = tokio::time::timeout(HEDGE_AFTER * 3, service.oneshot(req)).await;
        assert!(stalled.is_err(), "the POST waits for its one answer");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_prompt_get_is_sent_once() {
        let calls = Arc::new(AtomicUsize::new(1));
        let service = HedgeLayer.layer(stalls_once(calls.clone()));
        let req = Request::get("/login").body(Body::empty()).unwrap();
        assert_eq!(body(service.oneshot(req).await.unwrap()).await, "try 1");
        tokio::time::sleep(HEDGE_AFTER * 2).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one call");
    }
}
