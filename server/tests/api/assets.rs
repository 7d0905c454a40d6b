//! The built site as a browser gets it from a real process: asset URLs that
//! name the build and are kept for good, other files checked again before
//! use, pages never stored, and all of it compressed.

use crate::common::Engine;
use crate::common::binary::{header, http, prepared_database, start, status};

/// A site folder with a bundle whose stylesheet says `css`.
fn site(css: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kw-site-{}", uuid_like()));
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    let js = "export default function init() {}\n".repeat(64);
    std::fs::write(dir.join("pkg/keywarden.js"), js).unwrap();
    std::fs::write(dir.join("pkg/keywarden.wasm"), [0u8, 97, 115, 109, 1, 0, 0, 0].repeat(256))
        .unwrap();
    std::fs::write(dir.join("pkg/keywarden.css"), css.repeat(64)).unwrap();
    // What a release build stores beside the WASM (scripts/precompress.js).
    std::fs::write(dir.join("pkg/keywarden.wasm.br"), STORED_BROTLI).unwrap();
    dir
}

/// The body of the stored brotli WASM of [`site`].
const STORED_BROTLI: &str = "stored brotli";

fn uuid_like() -> String {
    format!("{}-{}", std::process::id(), app::backend::db::new_id())
}

/// The version in the page's asset URLs (`/v/{it}/pkg/keywarden.js`).
fn version_in(page: &str) -> String {
    let end = page.find("/pkg/keywarden.js").expect("the bundle's URL");
    let start = page[..end].rfind("/v/").expect("a versioned asset URL") + 3;
    page[start..end].to_string()
}

async fn assets_are_versioned_compressed_and_cached(engine: Engine) {
    let (url, _pool) = prepared_database(&engine).await;
    let root = site("body { color: black; }\n");
    let server = start(&url, &[("KEYWARDEN_SITE_ROOT", root.to_str().unwrap())]);
    let addr = server.addr.as_str();

    let page = http(addr, "GET", "/login", &[("Accept-Encoding", "identity")], "");
    assert_eq!(status(&page), 200, "{page}");
    let cache = header(&page, "cache-control").unwrap();
    assert!(cache.contains("no-cache") && cache.contains("no-store"), "{cache}");
    let version = version_in(&page);
    assert_eq!(version.len(), 12, "{version}");
    assert!(page.contains(&format!("/v/{version}/pkg/keywarden.css")), "the stylesheet too");

    for file in ["keywarden.js", "keywarden.wasm", "keywarden.css"] {
        let path = format!("/v/{version}/pkg/{file}");
        for encoding in ["br", "gzip"] {
            let answer = http(addr, "GET", &path, &[("Accept-Encoding", encoding)], "");
            assert_eq!(status(&answer), 200, "{path}");
            assert_eq!(header(&answer, "content-encoding"), Some(encoding), "{path} {encoding}");
            assert!(
                header(&answer, "vary").unwrap().to_ascii_lowercase().contains("accept-encoding")
            );
            assert_eq!(
                header(&answer, "cache-control"),
                Some("public, max-age=31536000, immutable"),
                "{path}"
            );
        }
        // The same file without a version, or under another build's, is
        // checked again before each use.
        for path in [format!("/pkg/{file}"), format!("/v/0123456789ab/pkg/{file}")] {
            let answer = http(addr, "GET", &path, &[], "");
            assert_eq!(status(&answer), 200, "{path}");
            assert_eq!(header(&answer, "cache-control"), Some("no-cache"), "{path}");
        }
    }
    // A stored encoding goes out as it is, once, with its own Vary.
    let wasm = format!("/v/{version}/pkg/keywarden.wasm");
    let stored = http(addr, "GET", &wasm, &[("Accept-Encoding", "gzip, br")], "");
    assert!(stored.ends_with(&format!("\r\n\r\n{STORED_BROTLI}")), "{stored}");
    assert_eq!(header(&stored, "content-type"), Some("application/wasm"));
    assert_eq!(
        header(&stored, "vary").map(str::to_ascii_lowercase).as_deref(),
        Some("accept-encoding")
    );
    assert_eq!(status(&http(addr, "GET", &format!("/v/{version}/pkg/nope.js"), &[], "")), 404);
    assert_eq!(status(&http(addr, "GET", &format!("/v/{version}/../Cargo.toml"), &[], "")), 404);

    // A new page chunk alone is a new build too.
    drop(server);
    std::fs::write(root.join("pkg/split_page.wasm"), [0u8, 97, 115, 109, 1, 0, 0, 0]).unwrap();
    let server = start(&url, &[("KEYWARDEN_SITE_ROOT", root.to_str().unwrap())]);
    let page = http(&server.addr, "GET", "/login", &[], "");
    assert_ne!(version_in(&page), version, "a changed chunk gets new URLs");

    // Another build: other URLs.
    drop(server);
    let other = site("body { color: white; }\n");
    let server = start(&url, &[("KEYWARDEN_SITE_ROOT", other.to_str().unwrap())]);
    let page = http(&server.addr, "GET", "/login", &[], "");
    assert_ne!(version_in(&page), version, "a changed bundle gets new URLs");
    for dir in [root, other] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// Serving files does not depend on the database: SQLite is enough.
#[tokio::test]
async fn sqlite_assets_are_versioned_compressed_and_cached() {
    crate::common::within_limit(assets_are_versioned_compressed_and_cached(Engine::Sqlite)).await
}
