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
