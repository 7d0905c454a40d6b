//! `/docs`: the OpenAPI document rendered by Redoc, served from the binary
//! itself (no CDN). Redoc styles itself with inline `<style>` elements and
//! searches in a worker made from a blob, so this page alone relaxes the
//! CSP for those two; scripts still come only from this origin.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

static REDOC: &[u8] = include_bytes!("../assets/redoc.standalone.js");

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `GET /docs`.
pub async fn page() -> Response {
    let html = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Keywarden API</title>
</head>
<body>
<redoc spec-url="/v1/openapi.json" hide-download-button="false"></redoc>
<script src="/docs/redoc.standalone.js"></script>
</body>
</html>"#;
    let mut res = Html(html).into_response();
    res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    res
}

/// `GET /docs/redoc.standalone.js`.
pub async fn redoc() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        REDOC,
    )
        .into_response()
}
