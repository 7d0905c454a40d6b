//! Request bodies within bounds (docs/design.md#security-requirements): a body
//! that says it is larger than its route allows is answered 413 before a
//! byte of it is read; one that grows past the bound while it streams is cut
//! there, and its answer becomes 413 too, whatever the handler made of the
//! broken body.

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

/// The most a server function, REST or operator body may hold: a key's
/// fields with room to spare (64 KiB).
pub const API_BODY: BodyLimit = BodyLimit(64 * 1024);

/// A route's bound on request bodies, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// Answers 413 for a body over the bound (see the module).
pub async fn limit_body(
    State(BodyLimit(limit)): State<BodyLimit>,
    req: Request,
    next: Next,
) -> Response {
    if declared_over(&req, limit) {
        return too_large(limit);
    }
    let hit = Arc::new(AtomicBool::new(false));
    let req = req.map(|body| Body::new(Capped { inner: body, left: limit, hit: hit.clone() }));
    let res = next.run(req).await;
    if hit.load(Ordering::Relaxed) { too_large(limit) } else { res }
}

/// Whether `req` says its body is over `limit` bytes.
pub fn declared_over(req: &Request, limit: usize) -> bool {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

/// The 413 answer, in the one JSON error body.
pub fn too_large(limit: usize) -> Response {
    crate::error_body::json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        &format!("The request body is larger than {} KB.", limit / 1024),
    )
}

/// A body that ends in an error past `left` bytes, and says so in `hit`.
struct Capped {
    inner: Body,
    left: usize,
    hit: Arc<AtomicBool>,
}

/// What a capped body reports when it is cut.
#[derive(Debug, thiserror::Error)]
#[error("the request body is over its size limit")]
struct OverLimit;

impl HttpBody for Capped {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        if let Some(data) = frame.data_ref() {
            if data.len() > this.left {
                this.hit.store(true, Ordering::Relaxed);
                this.left = 0;
                return Poll::Ready(Some(Err(axum::Error::new(OverLimit))));
            }
            this.left -= data.len();
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
