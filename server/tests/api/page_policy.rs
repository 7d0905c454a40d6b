//! Every HTML answer carries the page policy with exactly the nonce its own
//! inline scripts use, however many pages render at once and whatever is
//! answered beside them; every other answer (server functions, static files,
//! the APIs) keeps the locked-down API policy. A page render used to lend
//! its reactive scope to a static file or server function answered beside
//! it, and the file took the page's headers: the page went out with the API
//! policy, dead in the browser (server/src/owner.rs).

use crate::common::{Client, Engine, Reply, TestApp};
use app::api::auth::CurrentSession;
use app::api::keys::ListKeys;
use app::domain::KeyQuery;
use axum::http::{StatusCode, header};

const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Every page kind, as the demo's owner (also an instance admin) sees it.
async fn pages(owner: &mut Client) -> Vec<String> {
    let keys = owner.call_fn(ListKeys { slug: "acme".into(), query: KeyQuery::default() }).await;
    let id = keys.json()["keys"][0]["id"].as_str().expect("a demo key").to_string();
    let org = "/orgs/acme/settings";
    vec![
        format!("{org}/api-keys"),
        format!("{org}/api-keys/{id}"),
        format!("{org}/members"),
        format!("{org}/logs"),
        format!("{org}/audit-log"),
        format!("{org}/organization"),
        "/account".into(),
        "/admin".into(),
        "/login".into(),
    ]
}

/// The nonce of the page policy on `page`, checked against every inline
/// script of its body (there is at least one: hydration).
fn assert_own_nonce(page: &Reply, path: &str) {
    assert!(!page.status.is_server_error(), "{path}: {} {}", page.status, page.body);
    let csp = page.headers.get(header::CONTENT_SECURITY_POLICY).map(|v| v.to_str().unwrap());
    let csp = csp.unwrap_or_else(|| panic!("{path}: no policy"));
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap_or_else(|| panic!("{path}: not the page policy: {csp}"));
    let scripts: Vec<&str> = page.body.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "{path}: no script");
    for script in scripts {
        let tag = script.split('>').next().unwrap_or_default();
        assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "{path}: <script{tag}> against {csp}");
    }
}

fn assert_api_policy(reply: &Reply, what: &str) {
    let csp = reply.headers.get(header::CONTENT_SECURITY_POLICY).map(|v| v.to_str().unwrap());
    assert_eq!(csp, Some(API_POLICY), "{what}");
}

async fn every_page_carries_the_nonce_of_its_own_scripts(engine: Engine) {
    let app = TestApp::demo(&engine).await;
    let mut owner = app.signed_in("owner@acme.test").await;
    let pages = pages(&mut owner).await;
    // A file of the site root, answered by the static-file handler.
    let file = format!("keywarden-test-file-{}.txt", uuid::Uuid::new_v4());
    let site_root = app.state.leptos_options.site_root.to_string();
    std::fs::write(std::path::Path::new(&site_root).join(&file), "a site file").unwrap();

    // One after another: 200 loads of each kind, in turn.
    for round in 0..200 {
        let path = &pages[round % pages.len()];
        assert_own_nonce(&owner.page(path).await, path);
    }

    // At once: 50 loads of each page kind, each beside a static file and a
    // server function, all interleaved on the test's runtime.
    for path in &pages {
        let answers = crate::common::concurrently(50, |_| {
            let (mut client, path, file) = (owner.clone(), path.clone(), file.clone());
            async move {
                let page = client.page(&path).await;
                let asset = client.page(&format!("/{file}")).await;
                let call = client.call_fn(CurrentSession {}).await;
                (page, asset, call)
            }
        })
        .await;
        for (page, asset, call) in answers {
            assert_own_nonce(&page, path);
            assert_eq!(asset.status, StatusCode::OK);
            assert_eq!(asset.body, "a site file");
            assert_api_policy(&asset, "a static file");
            assert_eq!(call.status, StatusCode::OK, "{}", call.body);
            assert_api_policy(&call, "a server function");
        }
    }
    let _ = std::fs::remove_file(std::path::Path::new(&site_root).join(&file));

    // The not-found page is a page; the other answers are not.
    let missing = owner.page("/favicon-missing.png").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert_own_nonce(&missing, "the not-found page");
    for path in ["/healthz", "/v1/openapi.json"] {
        assert_api_policy(&owner.page(path).await, path);
    }
}

on_both_engines!(every_page_carries_the_nonce_of_its_own_scripts);
