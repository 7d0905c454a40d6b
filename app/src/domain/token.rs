//! The API key format of docs/design.md#key-format-and-storage:
//! `<prefix>_<env>_<body><check>`, e.g. `kw_live_5Gf0…e0h2JkL`.
//!
//! - `prefix`: the operator's, 2–8 chars of `[a-z0-9]`;
//! - `env`: `live`, `stg` or `dev`;
//! - `body`: 32 base62 chars from the OS CSPRNG (≈190 bits), unbiased;
//! - `check`: CRC32 of everything before it, base62, zero-padded to 6 chars.

use serde::{Deserialize, Serialize};
use std::fmt;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Length of the random part.
pub const BODY_LEN: usize = 32;
/// Length of the checksum part.
pub const CHECK_LEN: usize = 6;
/// Body characters shown in the display prefix.
pub const START_BODY_CHARS: usize = 4;
/// Longest token any valid prefix can produce; longer input is rejected unread.
pub const MAX_TOKEN_LEN: usize = 8 + 1 + 4 + 1 + BODY_LEN + CHECK_LEN;

/// The fixed set of environments a key belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Production,
    Staging,
    Development,
}

impl Environment {
    pub const ALL: [Environment; 3] =
        [Environment::Production, Environment::Staging, Environment::Development];

    /// The tag inside tokens: `live`, `stg`, `dev`.
    pub fn tag(self) -> &'static str {
        match self {
            Environment::Production => "live",
            Environment::Staging => "stg",
            Environment::Development => "dev",
        }
    }

    /// The stored and serialised name, e.g. `production`.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Staging => "staging",
            Environment::Development => "development",
        }
    }

    /// The name shown to people, e.g. `Production`.
    pub fn label(self) -> &'static str {
        match self {
            Environment::Production => "Production",
            Environment::Staging => "Staging",
            Environment::Development => "Development",
        }
    }

    fn from_tag(tag: &str) -> Option<Self> {
        Environment::ALL.into_iter().find(|e| e.tag() == tag)
    }
}

impl std::str::FromStr for Environment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Environment::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("Unknown environment \u{201c}{s}\u{201d}."))
    }
}

/// An operator key prefix: 2–8 chars of `[a-z0-9]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if Self::is_valid(raw) {
            Ok(KeyPrefix(raw.to_string()))
        } else {
            Err(format!("key prefix {raw:?} must be 2–8 characters of a–z and 0–9"))
        }
    }
}

impl KeyPrefix {
    /// Whether `raw` would parse (2–8 characters of a–z and 0–9).
    fn is_valid(raw: &str) -> bool {
        (2..=8).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }
}

impl Default for KeyPrefix {
    fn default() -> Self {
        KeyPrefix("kw".into())
    }
}

/// A whole API key. Its `Debug` and `Display` never show the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiToken({}…)", self.start())
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}••••", self.start())
    }
}

/// Why a string is not a well-formed API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    Shape,
    Checksum,
}

impl ApiToken {
    /// A new token for `env` from the OS CSPRNG.
    #[cfg(feature = "ssr")]
    pub fn generate(prefix: &KeyPrefix, env: Environment) -> Self {
        use rand::RngCore;
        let mut rng = rand::rngs::OsRng;
        let mut body = String::with_capacity(BODY_LEN);
        while body.len() < BODY_LEN {
            let mut bytes = [0u8; 64];
            rng.fill_bytes(&mut bytes);
            // Rejection sampling: 248 = 4 × 62, so bytes below it map
            // uniformly onto the alphabet; the rest are discarded.
            for b in bytes.into_iter().filter(|b| *b < 248) {
                if body.len() == BODY_LEN {
                    break;
                }
                body.push(BASE62[(b % 62) as usize] as char);
            }
        }
        Self::assemble(prefix, env, &body)
    }

    #[cfg(any(feature = "ssr", test))]
    fn assemble(prefix: &KeyPrefix, env: Environment, body: &str) -> Self {
        let head = format!("{}_{}_{body}", prefix.as_str(), env.tag());
        let check = base62_padded(crc32(head.as_bytes()));
        ApiToken(head + std::str::from_utf8(&check).expect("base62 is ASCII"))
    }

    /// Parses a presented key: shape first, then the checksum. Cheap and
    /// panic-free on any input; needs no database.
    pub fn parse(raw: &str) -> Result<(Self, Environment), Malformed> {
        let env = Self::check(raw)?;
        Ok((ApiToken(raw.to_string()), env))
    }

    /// [`ApiToken::parse`] without keeping the token: its environment, when
    /// `raw` is a well-formed key (verification, which only hashes it).
    pub fn check(raw: &str) -> Result<Environment, Malformed> {
        if raw.len() > MAX_TOKEN_LEN || !raw.is_ascii() {
            return Err(Malformed::Shape);
        }
        let mut parts = raw.splitn(3, '_');
        let (Some(prefix), Some(tag), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Malformed::Shape);
        };
        let env = Environment::from_tag(tag).ok_or(Malformed::Shape)?;
        if !KeyPrefix::is_valid(prefix)
            || rest.len() != BODY_LEN + CHECK_LEN
            || !rest.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(Malformed::Shape);
        }
        let (head, check) = raw.split_at(raw.len() - CHECK_LEN);
        if base62_padded(crc32(head.as_bytes())) != check.as_bytes() {
            return Err(Malformed::Checksum);
        }
        Ok(env)
    }

    /// The display prefix: `<prefix>_<env>_` and the first 4 body chars.
    pub fn start(&self) -> String {
        let body_at = self.0.match_indices('_').nth(1).map_or(0, |(i, _)| i + 1);
        self.0[..(body_at + START_BODY_CHARS).min(self.0.len())].to_string()
    }

    /// The whole secret, for the one response that reveals it and for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `n` in base62, zero-padded to [`CHECK_LEN`] characters.
fn base62_padded(mut n: u32) -> [u8; CHECK_LEN] {
    let mut out = [b'0'; CHECK_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// CRC-32 (IEEE 802.3, as in zlib), table-driven or with the CPU's own
/// instructions where there are some.
fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// The SHA-256 of a secret token (an API key, a service, operator or
/// metrics token, a session id, an invitation or portal link): what is
/// stored and looked up, never the token itself. The one way such a hash
/// is made, so every writer and reader of a column agrees. A token carries
/// at least 128 bits of entropy, so a fast unsalted hash is enough and can
/// be indexed.
#[cfg(feature = "ssr")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

#[cfg(feature = "ssr")]
impl TokenHash {
    /// The hash of `secret`.
    pub fn of(secret: &str) -> Self {
        use sha2::{Digest, Sha256};
        TokenHash(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The stored form: lowercase hex.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Whether both are the same hash, compared in constant time.
    pub fn matches(&self, other: &TokenHash) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.0[..].ct_eq(&other.0[..]))
    }
}

#[cfg(feature = "ssr")]
impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &self.hex()[..8])
    }
}

#[cfg(feature = "ssr")]
impl ApiToken {
    /// The hash the key is stored and looked up under.
    pub fn hashed(&self) -> TokenHash {
        TokenHash::of(self.expose())
    }
}

super::text_type!(KeyPrefix);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(&base62_padded(0), b"000000");
        assert_eq!(&base62_padded(u32::MAX), b"4gfFC3");
    }

    #[test]
    fn a_known_token_round_trips() {
        let t = ApiToken::assemble(&KeyPrefix::default(), Environment::Production, &"a".repeat(32));
        assert!(t.expose().starts_with("kw_live_aaaa"));
        assert_eq!(t.expose().len(), 8 + 32 + 6);
        assert_eq!(ApiToken::parse(t.expose()), Ok((t.clone(), Environment::Production)));
        assert_eq!(t.start(), "kw_live_aaaa");
        assert_eq!(format!("{t:?}"), "ApiToken(kw_live_aaaa…)");
        assert_eq!(t.to_string(), "kw_live_aaaa••••");
    }

    #[test]
    fn every_single_character_change_is_rejected() {
        let t = ApiToken::assemble(
            &KeyPrefix::default(),
            Environment::Staging,
            "5Gf0q3Yl0m2cXQ8wR1ZbT4nKp7sVd9Ae",
        );
        let s = t.expose();
        for i in 0..s.len() {
            for c in BASE62.iter().chain(b"_-") {
                if s.as_bytes()[i] == *c {
                    continue;
                }
                let mut bytes = s.as_bytes().to_vec();
                bytes[i] = *c;
                let changed = String::from_utf8(bytes).unwrap();
                assert!(ApiToken::parse(&changed).is_err(), "{changed} accepted");
            }
        }
    }

    #[test]
    fn hostile_input_is_rejected_without_panic() {
        let huge = "k".repeat(1 << 20);
        for bad in [
            "",
            "_",
            "__",
            "kw__",
            "kw_live_",
            "kw_prod_aaaa",
            "KW_live_x",
            "kw_live_é",
            &huge,
            "kw_live_\u{0}",
        ] {
            assert_eq!(ApiToken::parse(bad).map(|_| ()), Err(Malformed::Shape), "{bad:.20}");
        }
        let other = ApiToken::assemble(
            &KeyPrefix::parse("acme").unwrap(),
            Environment::Development,
            &"b".repeat(32),
        );
        assert!(
            ApiToken::parse(other.expose()).is_ok(),
            "any valid prefix parses; the verifier compares it"
        );
    }

    #[test]
    fn prefixes_follow_the_operator_rule() {
        assert!(KeyPrefix::parse("kw").is_ok());
        assert!(KeyPrefix::parse("acme2024").is_ok());
        for bad in ["k", "Kw", "kw_", "toolongpx", ""] {
            assert!(KeyPrefix::parse(bad).is_err(), "{bad}");
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn generated_tokens_are_distinct_well_formed_and_unbiased() {
        use std::collections::HashSet;
        let prefix = KeyPrefix::default();
        let mut seen = HashSet::new();
        let mut counts = [0usize; 62];
        for i in 0..10_000 {
            let env = Environment::ALL[i % 3];
            let t = ApiToken::generate(&prefix, env);
            assert_eq!(ApiToken::parse(t.expose()).map(|(_, e)| e), Ok(env));
            assert!(t.expose().starts_with(&format!("kw_{}_", env.tag())));
            let body =
                &t.expose()[t.expose().len() - BODY_LEN - CHECK_LEN..t.expose().len() - CHECK_LEN];
            for b in body.bytes() {
                counts[BASE62.iter().position(|c| *c == b).unwrap()] += 1;
            }
            assert!(seen.insert(t.expose().to_string()), "duplicate token");
        }
        // 320,000 characters: each of the 62 expected ≈5,161 times. A modulo
        // bias (256 % 62 = 8 extra for the first 8) would show as ≈+25%.
        let expected = 320_000.0 / 62.0;
        for (i, n) in counts.iter().enumerate() {
            let ratio = *n as f64 / expected;
            assert!((0.93..1.07).contains(&ratio), "char {} drawn {n} times", BASE62[i] as char);
        }
    }
}
