//! The built site (the WASM bundle, its JavaScript and stylesheet, the
//! public files) inside the binary. A release build embeds `target/site` as
//! it was when the server was compiled, so `keywarden` runs from any
//! directory with nothing beside it; a debug build reads that folder from
//! disk instead. A file under the configured site root (`--site-root`) still
//! wins, for development.

use app::backend::AppState;
use app::shell;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use std::path::{Component, Path};

#[derive(rust_embed::RustEmbed)]
#[folder = "../target/site"]
#[allow_missing = true]
struct Site;

/// Whether `path` (relative, from the URL) names a file under `root`; paths
/// that step outside it never do.
fn on_disk(root: &str, path: &str) -> bool {
    let relative = Path::new(path);
    relative.components().all(|c| matches!(c, Component::Normal(_)))
        && Path::new(root).join(relative).is_file()
}

/// Serves a site file: from the site root on disk when it holds it, else
/// from the binary, else the app's own "Not found" page.
pub async fn site_file(State(state): State<AppState>, req: Request<Body>) -> Response {
    let path = req.uri().path().trim_start_matches('/').to_string();
    let root = state.leptos_options.site_root.to_string();
    if !path.is_empty()
        && !on_disk(&root, &path)
        && let Some(file) = Site::get(&path)
    {
        let mime = HeaderValue::from_str(file.metadata.mimetype())
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        return ([(header::CONTENT_TYPE, mime)], file.data).into_response();
    }
    let uri = req.uri().clone();
    leptos_axum::file_and_error_handler::<AppState, _>(shell)(uri, State(state), req).await
}

#[cfg(test)]
mod tests {
    use super::on_disk;

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
