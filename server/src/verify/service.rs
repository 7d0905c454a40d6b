//! The bearer tokens Keywarden's own callers present: service tokens
//! (verifiers, each bound to one environment), operator tokens (the
//! operator API) and the metrics token. All are kept as SHA-256 digests and
//! compared in constant time; `Debug` never shows one.

use app::domain::{Environment, TokenHash};
use axum::http::{HeaderMap, header};
use std::fmt;

/// Shortest accepted token.
pub const MIN_LEN: usize = 24;

/// The token of `Authorization: Bearer …`, trimmed.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Configured tokens, each with what it grants (`G`).
#[derive(Clone)]
pub struct Tokens<G>(Vec<(TokenHash, G)>);

/// Verifier tokens: each grants one environment.
pub type ServiceTokens = Tokens<Environment>;

impl<G> Default for Tokens<G> {
    fn default() -> Self {
        Tokens(Vec::new())
    }
}

impl<G> fmt::Debug for Tokens<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tokens({} configured)", self.0.len())
    }
}

impl<G: Copy> Tokens<G> {
    /// Comma-separated entries, each split by `entry` into its token and
    /// grant; every token has at least [`MIN_LEN`] characters.
    pub fn parse_with(
        spec: &str,
        what: &str,
        entry: impl Fn(&str) -> Result<(&str, G), String>,
    ) -> Result<Self, String> {
        let mut tokens = Tokens::default();
        for item in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (token, grant) = entry(item)?;
            if token.len() < MIN_LEN {
                return Err(format!("{what} needs at least {MIN_LEN} characters"));
            }
            tokens.add(token, grant);
        }
        Ok(tokens)
    }

    /// Adds one token (demo mode generates them).
    pub fn add(&mut self, token: &str, grant: G) {
        self.0.push((TokenHash::of(token), grant));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// What the presented token grants, comparing against every configured
    /// one in constant time.
    pub fn authenticate(&self, presented: &str) -> Option<G> {
        let presented = TokenHash::of(presented);
        self.0.iter().fold(
            None,
            |found, (hash, grant)| {
                if hash.matches(&presented) { Some(*grant) } else { found }
            },
        )
    }
}

impl ServiceTokens {
    /// Parses `environment:token` pairs separated by commas, e.g.
    /// `production:abc…,staging:def…`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        Self::parse_with(spec, "a service token", |pair| {
            let (env, token) = pair
                .split_once(':')
                .ok_or("service tokens are written environment:token, separated by commas")?;
            Ok((token, env.trim().parse()?))
        })
    }
}

/// The bearer token `/metrics` asks for when the operator sets one
/// (`metrics_token`), kept as a digest and compared in constant time.
#[derive(Clone)]
pub struct MetricsToken(TokenHash);

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

impl MetricsToken {
    /// A token of at least [`MIN_LEN`] characters.
    pub fn parse(token: &str) -> Result<Self, String> {
        if token.trim().len() < MIN_LEN {
            return Err(format!("the metrics token needs at least {MIN_LEN} characters"));
        }
        Ok(MetricsToken(TokenHash::of(token.trim())))
    }

    /// Whether `presented` is this token.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.matches(&TokenHash::of(presented))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_authenticate_to_their_environment_only() {
        let t = ServiceTokens::parse(
            "production:prod-token-0123456789abcdef, staging:stg-token-0123456789abcdefgh",
        )
        .unwrap();
        assert_eq!(t.authenticate("prod-token-0123456789abcdef"), Some(Environment::Production));
        assert_eq!(t.authenticate("stg-token-0123456789abcdefgh"), Some(Environment::Staging));
        assert_eq!(t.authenticate("prod-token-0123456789abcdeX"), None);
        assert_eq!(t.authenticate(""), None);
        assert!(!format!("{t:?}").contains("prod-token"));
    }

    #[test]
    fn bad_specs_are_refused() {
        assert!(ServiceTokens::parse("production").is_err());
        assert!(ServiceTokens::parse("moon:0123456789abcdefghijklmnop").is_err());
        assert!(ServiceTokens::parse("production:short").is_err());
        assert!(ServiceTokens::parse("").unwrap().is_empty());
    }

    #[test]
    fn the_metrics_token_matches_itself_only_and_hides_in_debug() {
        assert!(MetricsToken::parse("short").is_err());
        let t = MetricsToken::parse("metrics-token-0123456789abcdef").unwrap();
        assert!(t.matches("metrics-token-0123456789abcdef"));
        assert!(!t.matches("metrics-token-0123456789abcdeF"));
        assert!(!format!("{t:?}").contains("metrics-token"));
    }
}
