//! A browser as the tests drive one (`Client`: its cookies, same-origin
//! requests, server-function calls) and the answers it gets (`Reply`).

use super::TestApp;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Asserts a 400 whose message holds `words`.
    pub fn assert_invalid(&self, words: &str) {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{words}: {}", self.body);
        assert!(self.body.contains(words), "{words}: {}", self.body);
    }

    /// The session cookie this response sets, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("kw_session="))
            .map(str::to_string)
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

/// A browser: keeps the session cookie and sends same-origin requests.
#[derive(Clone)]
pub struct Client {
    pub app: TestApp,
    pub cookie: Option<String>,
    /// The half-signed-in cookie between the password and the second
    /// factor.
    pub pending: Option<String>,
    pub ip: [u8; 4],
}

impl Client {
    /// Calls a server function the way the hydrated UI does (JSON answer,
    /// real status codes), updating the cookie from the answer.
    pub async fn call(&mut self, endpoint: &str, form: &[(&str, &str)]) -> Reply {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.post(endpoint, FORM, body).await
    }

    /// Posts to a server function, keeping the session cookie it sets.
    async fn post(&mut self, endpoint: &str, content_type: &str, body: String) -> Reply {
        let mut req = Request::post(format!("/api/{endpoint}"))
            .header(header::CONTENT_TYPE, content_type)
            .header(header::ACCEPT, "application/json")
            .header(header::HOST, "127.0.0.1:3000")
            .header("sec-fetch-site", "same-origin");
        let jar: Vec<&str> =
            [&self.cookie, &self.pending].into_iter().flatten().map(String::as_str).collect();
        if !jar.is_empty() {
            req = req.header(header::COOKIE, jar.join("; "));
        }
        let reply = self.app.send(req.body(Body::from(body)).unwrap(), self.ip).await;
        for (name, slot) in [("kw_session", &mut self.cookie), ("kw_pending", &mut self.pending)] {
            let set = reply
                .headers
                .get_all(header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| v.starts_with(&format!("{name}=")));
            if let Some(set) = set {
                let pair = set.split(';').next().unwrap_or_default().to_string();
                *slot = if pair == format!("{name}=") { None } else { Some(pair) };
            }
        }
        reply
    }

    /// Calls a JSON-input server function with its own typed arguments (the
    /// struct `#[server]` generates), so a renamed field fails to compile.
    pub async fn call_fn<S>(&mut self, args: S) -> Reply
    where
        S: leptos::server_fn::ServerFn + serde::Serialize,
    {
        let endpoint = S::PATH.trim_start_matches("/api/");
        let body = serde_json::to_value(&args).expect("arguments serialise");
        self.call_json(endpoint, body).await
    }

    /// Calls a form-input server function with its own argument struct,
    /// encoded as the browser's form is (see [`calls`] for one method each).
    pub async fn form_fn<S>(&mut self, args: S) -> Reply
    where
        S: leptos::server_fn::ServerFn + serde::Serialize,
    {
        let endpoint = S::PATH.trim_start_matches("/api/");
        let body = serde_qs::to_string(&args).expect("arguments encode");
        self.post(endpoint, FORM, body).await
    }

    /// Calls a JSON-input server function (the key dialogs use these).
    pub async fn call_json(&mut self, endpoint: &str, body: serde_json::Value) -> Reply {
        self.post(endpoint, "application/json", body.to_string()).await
    }

    /// A page as a browser navigates to it.
    pub async fn page(&self, path: &str) -> Reply {
        let mut req = Request::get(path).header(header::ACCEPT, "text/html");
        if let Some(cookie) = &self.cookie {
            req = req.header(header::COOKIE, cookie.as_str());
        }
        self.app.send(req.body(Body::empty()).unwrap(), self.ip).await
    }
}

/// Percent-encodes a form value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
