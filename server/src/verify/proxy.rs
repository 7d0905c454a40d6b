//! Which headers of a forward-auth request are believed (docs/design.md#forward-auth).
//!
//! The proxy in front of Keywarden is the operator's choice, never the
//! client's: Traefik and Caddy copy the client's own headers into the auth
//! request, so a client could otherwise send its own `X-Original-URI` and be
//! judged for a path it is not asking for. Only the configured proxy's pair
//! is read, and a request that also carries the other pair is refused.

use axum::http::{HeaderMap, Method};
use serde::Deserialize;
use std::net::IpAddr;

/// The proxy that calls `/v1/authorize` (`forward_auth_headers`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ForwardAuthProxy {
    /// `auth_request`: `X-Original-Method`, `X-Original-URI`, `X-Real-IP`.
    #[default]
    Nginx,
    /// ForwardAuth (and Caddy's `forward_auth`): `X-Forwarded-Method`,
    /// `X-Forwarded-Uri`, the last `X-Forwarded-For` hop.
    Traefik,
    /// ext_authz (HTTP): `/v1/authorize/<original path>` with the original
    /// method, the last `X-Forwarded-For` hop.
    Envoy,
}

/// The request the client made, as the proxy describes it.
#[derive(Debug, PartialEq, Eq)]
pub struct Original<'a> {
    pub method: &'a str,
    /// The raw request target (path and query).
    pub uri: &'a str,
    /// The client's address, when the proxy's header holds one.
    pub client_ip: Option<&'a str>,
}

const NGINX_PAIR: [&str; 2] = ["x-original-method", "x-original-uri"];
const TRAEFIK_PAIR: [&str; 2] = ["x-forwarded-method", "x-forwarded-uri"];

/// The only value of header `name` (trimmed, non-empty). A header sent
/// twice is ambiguous and counts as an error.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, &'static str> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("A forwarded header was sent more than once.");
    }
    let value = value.to_str().map_err(|_| "A forwarded header is not readable text.")?.trim();
    Ok((!value.is_empty()).then_some(value))
}

fn carries(headers: &HeaderMap, pair: [&str; 2]) -> bool {
    pair.iter().any(|name| headers.contains_key(*name))
}

/// `ip` if it is an address (anything else is not logged as one).
fn address(ip: Option<&str>) -> Option<&str> {
    ip.filter(|ip| ip.parse::<IpAddr>().is_ok())
}

/// The last hop of `X-Forwarded-For`: the one the proxy itself appended.
fn last_forwarded_for(headers: &HeaderMap) -> Option<&str> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    address(last.to_str().ok()?.rsplit(',').next().map(str::trim))
}

impl ForwardAuthProxy {
    /// The original request: from this proxy's headers, or for Envoy from
    /// `embedded` (the path after `/v1/authorize`) and `method`. Refused
    /// (with the message for a 400) when the headers of another proxy come
    /// too, or this proxy's are missing.
    pub fn original<'a>(
        self,
        headers: &'a HeaderMap,
        method: &'a Method,
        embedded: Option<&'a str>,
    ) -> Result<Original<'a>, &'static str> {
        let (own, other) = match self {
            ForwardAuthProxy::Nginx => (NGINX_PAIR, TRAEFIK_PAIR),
            ForwardAuthProxy::Traefik => (TRAEFIK_PAIR, NGINX_PAIR),
            ForwardAuthProxy::Envoy => {
                if carries(headers, NGINX_PAIR) || carries(headers, TRAEFIK_PAIR) {
                    return Err(
                        "This Keywarden serves Envoy: X-Original-* and X-Forwarded-Method/Uri are refused.",
                    );
                }
                let uri = embedded.ok_or(
                    "This Keywarden serves Envoy: call /v1/authorize/<original path> with the original method.",
                )?;
                return Ok(Original {
                    method: method.as_str(),
                    uri,
                    client_ip: last_forwarded_for(headers),
                });
            }
        };
        if carries(headers, other) {
            return Err("The request carries another proxy's forwarded headers and is refused.");
        }
        if embedded.is_some() {
            return Err(
                "The /v1/authorize/<path> form is for Envoy; this Keywarden serves another proxy.",
            );
        }
        let (Some(method), Some(uri)) = (single(headers, own[0])?, single(headers, own[1])?) else {
            return Err(match self {
                ForwardAuthProxy::Nginx => {
                    "The proxy must send X-Original-Method and X-Original-URI."
                }
                _ => "The proxy must send X-Forwarded-Method and X-Forwarded-Uri.",
            });
        };
        let client_ip = match self {
            ForwardAuthProxy::Nginx => address(single(headers, "x-real-ip")?),
            _ => last_forwarded_for(headers),
        };
        Ok(Original { method, uri, client_ip })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ForwardAuthProxy::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn each_proxy_reads_only_its_own_headers() {
        let get = Method::GET;
        let nginx = headers(&[
            ("x-original-method", "POST"),
            ("x-original-uri", "/v1/events"),
            ("x-real-ip", "203.0.113.7"),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(
            Nginx.original(&nginx, &get, None),
            Ok(Original { method: "POST", uri: "/v1/events", client_ip: Some("203.0.113.7") })
        );
        assert!(Traefik.original(&nginx, &get, None).is_err());
        assert!(Envoy.original(&nginx, &get, Some("/v1/events")).is_err());

        let traefik = headers(&[
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/v1/data"),
            ("x-forwarded-for", "1.2.3.4, 203.0.113.9"),
            ("x-real-ip", "1.2.3.4"),
        ]);
        let o = Traefik.original(&traefik, &get, None).unwrap();
        assert_eq!((o.method, o.uri, o.client_ip), ("GET", "/v1/data", Some("203.0.113.9")));
        assert!(Nginx.original(&traefik, &get, None).is_err());

        let post = Method::POST;
        let envoy = headers(&[("x-forwarded-for", "203.0.113.5")]);
        let o = Envoy.original(&envoy, &post, Some("/v1/events")).unwrap();
        assert_eq!((o.method, o.uri, o.client_ip), ("POST", "/v1/events", Some("203.0.113.5")));
        assert!(Envoy.original(&envoy, &post, None).is_err());
        assert!(Nginx.original(&envoy, &post, Some("/v1/events")).is_err());
    }

    #[test]
    fn smuggled_duplicate_and_garbage_headers_are_refused() {
        let get = Method::GET;
        // A client behind Traefik sending nginx's pair to pick its own path.
        let smuggled = headers(&[
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/v1/data/export"),
            ("x-original-method", "POST"),
            ("x-original-uri", "/v1/events"),
        ]);
        assert!(Traefik.original(&smuggled, &get, None).is_err());
        assert!(Nginx.original(&smuggled, &get, None).is_err());
        let twice = headers(&[
            ("x-original-method", "GET"),
            ("x-original-uri", "/v1/data"),
            ("x-original-uri", "/v1/events"),
        ]);
        assert!(Nginx.original(&twice, &get, None).is_err());
        let not_an_ip = headers(&[
            ("x-original-method", "GET"),
            ("x-original-uri", "/v1/data"),
            ("x-real-ip", "<script>"),
        ]);
        assert_eq!(Nginx.original(&not_an_ip, &get, None).unwrap().client_ip, None);
        assert!(Nginx.original(&headers(&[]), &get, None).is_err());
    }
}
