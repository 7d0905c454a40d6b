//! The built site (the WASM bundle, its JavaScript and stylesheet, the
//! public files) inside the binary. A release build embeds `target/site` as
//! it was when the server was compiled, so `keywarden` runs from any
//! directory with nothing beside it; a debug build reads that folder from
//! disk instead. A file under the configured site root (`--site-root`) still
//! wins, for development.

use app::backend::AppState;
use app::shell;
use axum::body::Body;
use axum::extract::{Path as AxumPath, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::path::{Component, Path};

#[derive(rust_embed::RustEmbed)]
#[folder = "../target/site"]
#[allow_missing = true]
struct Site;

/// How long a browser may keep a file whose URL names this build.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Other site files: kept, but checked again before each use.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

/// The encodings the release build stores beside each bundle file
/// (`keywarden.wasm.br`, `.gz`; `scripts/precompress.js`), best first.
/// From disk tower-http's `ServeDir` finds them; from the binary, [`serve`].
const PRECOMPRESSED: [(&str, &str); 2] = [("br", "br"), ("gzip", "gz")];

/// The folder of the bundle (the main module, its page chunks, the
/// JavaScript and the stylesheet), whose files' digest is the asset version.
const BUNDLE: &str = "pkg/";

/// Whether `path` (relative, from the URL) names a file under `root`; paths
/// that step outside it never do.
fn on_disk(root: &str, path: &str) -> bool {
    let relative = Path::new(path);
    relative.components().all(|c| matches!(c, Component::Normal(_)))
        && Path::new(root).join(relative).is_file()
}

/// A digest of the bundle as this server serves it (from `root` on disk or
/// from the binary): asset URLs carry it, so a new build gets new URLs and
/// the old ones may be kept for good. Every file counts, the page chunks
/// too (a chunk can change while the main module stays the same); the
/// stored encodings follow from the files. Empty when there is no bundle.
pub fn version(root: &str) -> String {
    let folder = Path::new(root).join(BUNDLE);
    let mut paths: Vec<String> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .map(|name| format!("{BUNDLE}{name}"))
            .collect(),
        Err(_) => Site::iter().filter(|p| p.starts_with(BUNDLE)).map(String::from).collect(),
    };
    paths.retain(|p| !PRECOMPRESSED.iter().any(|(_, ext)| p.ends_with(&format!(".{ext}"))));
    paths.sort();
    let mut digest = Sha256::new();
    let mut found = false;
    for path in &paths {
        let bytes = match on_disk(root, path) {
            true => std::fs::read(Path::new(root).join(path)).ok(),
            false => Site::get(path).map(|f| f.data.into_owned()),
        };
        if let Some(bytes) = bytes {
            digest.update(path.as_bytes());
            digest.update(&bytes);
            found = true;
        }
    }
    if found { hex::encode(&digest.finalize()[..6]) } else { String::new() }
}

/// Serves a site file: from the site root on disk when it holds it, else
/// from the binary, else the app's own "Not found" page. Files are checked
/// again before each use (`no-cache`).
pub async fn site_file(State(state): State<AppState>, req: Request<Body>) -> Response {
    with_cache(serve(state, req).await, REVALIDATE)
}

/// `/v/{version}/{*path}`: a site file under a build's version, kept for
/// good while the version is this build's (`immutable`); an older version's
/// URL gets today's file, checked again before each use.
pub async fn versioned(
    State(state): State<AppState>,
    AxumPath((version, path)): AxumPath<(String, String)>,
    mut req: Request<Body>,
) -> Response {
    let current = !version.is_empty() && version == state.settings.asset_version;
    match format!("/{path}").parse() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return StatusCode::NOT_FOUND.into_response(),
    }
    with_cache(serve(state, req).await, if current { IMMUTABLE } else { REVALIDATE })
}

/// `cache` on a file that was found (pages and errors keep their own).
/// A file sent in a stored encoding says that the encoding depended on
/// the request's `Accept-Encoding` (the compression layer says so for the
/// ones it compresses itself).
fn with_cache(mut res: Response, cache: HeaderValue) -> Response {
    let page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if res.status().is_success() && !page {
        res.headers_mut().insert(header::CACHE_CONTROL, cache);
    }
    if res.headers().contains_key(header::CONTENT_ENCODING) {
        res.headers_mut().append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

/// Whether an `Accept-Encoding` value takes `coding`: named and not
/// refused with `q=0`, or left to a `*` that is not refused.
fn accepts(accept_encoding: &str, coding: &str) -> bool {
    let mut wildcard = false;
    for offer in accept_encoding.split(',') {
        let mut parts = offer.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused = parts.any(|p| {
            p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()).is_some_and(|q| q <= 0.0)
        });
        if name.eq_ignore_ascii_case(coding) {
            return !refused;
        }
        wildcard |= name == "*" && !refused;
    }
    wildcard
}

/// A file from the binary, in the best stored encoding the request takes.
fn embedded(path: &str, accept_encoding: &str) -> Option<Response> {
    let file = Site::get(path)?;
    let mime = HeaderValue::from_str(file.metadata.mimetype())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let stored = PRECOMPRESSED.iter().find_map(|(coding, ext)| {
        let packed = Site::get(&format!("{path}.{ext}"))?;
        accepts(accept_encoding, coding).then_some((*coding, packed))
    });
    Some(match stored {
        Some((coding, packed)) => {
            let coding = HeaderValue::from_static(coding);
            ([(header::CONTENT_TYPE, mime), (header::CONTENT_ENCODING, coding)], packed.data)
                .into_response()
        }
        None => ([(header::CONTENT_TYPE, mime)], file.data).into_response(),
    })
}

async fn serve(state: AppState, req: Request<Body>) -> Response {
    let path = req.uri().path().trim_start_matches('/').to_string();
    let root = state.leptos_options.site_root.to_string();
    let accept_encoding = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !path.is_empty()
        && !on_disk(&root, &path)
        && let Some(res) = embedded(&path, accept_encoding)
    {
        return res;
    }
    let uri = req.uri().clone();
    let handler = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        app::backend::csp::remember_nonce,
        shell,
    );
    // In a scope of its own, never a page render's (crate::owner).
    handler(uri, State(state), req).await
}

#[cfg(test)]
mod tests {
    use super::{accepts, on_disk};

    #[test]
    fn accept_encoding_is_read_with_its_refusals() {
        assert!(accepts("gzip, deflate, br, zstd", "br"));
        assert!(accepts("GZIP;q=0.5", "gzip"));
        assert!(accepts("*", "br"));
        assert!(!accepts("gzip", "br"));
        assert!(!accepts("br;q=0, gzip", "br"));
        assert!(!accepts("br; q=0.0", "br"));
        assert!(!accepts("", "gzip"));
        assert!(!accepts("brotli", "br"));
        assert!(!accepts("br;q=0, *", "br"));
    }

    #[test]
    fn only_plain_relative_paths_reach_the_disk() {
        let root = env!("CARGO_MANIFEST_DIR");
        assert!(on_disk(root, "Cargo.toml"));
        assert!(!on_disk(root, "../Cargo.toml"));
        assert!(!on_disk(root, "/etc/passwd"));
        assert!(!on_disk(root, "src"));
        assert!(!on_disk(root, "no-such-file"));
    }
}
