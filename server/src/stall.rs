//! A page answer that stops mid-way is ended, not left open. A rendered
//! page goes out whole in its first chunk; what may follow is the data of
//! its loaders for the browser to hydrate with. Leptos can, rarely and under
//! load, lose the wake-up of such a loader (leptos-rs/leptos#4851, the
//! stall `crate::hedge` retries before the first byte): the answer then
//! never ended and the browser's spinner never stopped. An HTML body that
//! sends nothing for [`IDLE`] is ended there, and logged, rather than held
//! open for good: what it sent already is the whole page's HTML. It sits
//! below compression, so a compressed answer still ends whole.

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// How long an HTML answer may send nothing before it is ended.
pub const IDLE: Duration = Duration::from_secs(10);

/// Ends HTML bodies that stall (see the module).
pub async fn end_stalled_pages(req: Request, next: Next) -> Response {
    let uri = req.uri().clone();
    let res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if !html {
        return res;
    }
    let path = crate::security::loggable_path(uri.path()).into_owned();
    res.map(|body| {
        Body::new(Watched { inner: body, idle: Box::pin(tokio::time::sleep(IDLE)), path })
    })
}

/// A body that ends after [`IDLE`] without a frame.
struct Watched {
    inner: Body,
    idle: Pin<Box<tokio::time::Sleep>>,
    path: String,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.idle.as_mut().reset(tokio::time::Instant::now() + IDLE);
                Poll::Ready(frame)
            }
            Poll::Pending => match this.idle.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    tracing::warn!(path = %this.path, "a page's answer stalled; ended it");
                    Poll::Ready(None)
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::middleware::from_fn;
    use axum::routing::get;
    use futures::StreamExt;
    use tower::ServiceExt;

    /// A page whose first chunk comes and whose rest never does.
    fn stalling(content_type: &'static str) -> Router {
        Router::new()
            .route(
                "/",
                get(move || async move {
                    let first = futures::stream::once(async {
                        Ok::<_, std::io::Error>(Bytes::from("<html>whole</html>"))
                    });
                    let body = Body::from_stream(first.chain(futures::stream::pending()));
                    ([(header::CONTENT_TYPE, content_type)], body)
                }),
            )
            .layer(from_fn(end_stalled_pages))
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_page_ends_after_its_first_chunk() {
        let req = Request::get("/").body(Body::empty()).unwrap();
        let res = stalling("text/html; charset=utf-8").oneshot(req).await.unwrap();
        let body = tokio::time::timeout(IDLE * 2, axum::body::to_bytes(res.into_body(), 1 << 20))
            .await
            .expect("the answer ends")
            .unwrap();
        assert_eq!(body, "<html>whole</html>");
    }

    /// Below compression, as the site has it: the compressed stream of a
    /// cut page still ends whole (gzip's trailer holds the length).
    #[tokio::test(start_paused = true)]
    async fn a_cut_page_still_ends_its_compression() {
        let site = stalling("text/html; charset=utf-8")
            .layer(tower_http::compression::CompressionLayer::new().gzip(true));
        let req = Request::get("/").header(header::ACCEPT_ENCODING, "gzip").body(Body::empty());
        let res = site.oneshot(req.unwrap()).await.unwrap();
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
        let body = tokio::time::timeout(IDLE * 2, axum::body::to_bytes(res.into_body(), 1 << 20))
            .await
            .expect("the answer ends")
            .unwrap();
        let size = u32::from_le_bytes(body[body.len() - 4..].try_into().unwrap());
        assert_eq!(size as usize, "<html>whole</html>".len(), "the gzip trailer is there");
    }

    #[tokio::test(start_paused = true)]
    async fn other_answers_are_left_alone() {
        let req = Request::get("/").body(Body::empty()).unwrap();
        let res = stalling("application/json").oneshot(req).await.unwrap();
        let body = tokio::time::timeout(IDLE * 2, axum::body::to_bytes(res.into_body(), 1 << 20));
        assert!(body.await.is_err(), "a stream that is not a page is not cut");
    }
}
