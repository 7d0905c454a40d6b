//! Random bearer tokens (sessions, invitations) and the hash they are stored
//! under.

use crate::domain::TokenHash;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// 256 random bits from the OS, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The hex SHA-256 a token is stored and looked up under
/// ([`TokenHash`]'s stored form).
pub fn sha256_hex(token: &str) -> String {
    TokenHash::of(token).hex()
}

/// The value of cookie `name` in the request's `Cookie` headers, when it
/// has the length of a [`random_token`].
pub fn token_cookie(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim())
        .filter(|value| value.len() == 43)
        .map(str::to_string)
}
